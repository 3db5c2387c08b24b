#include "core/text.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace fathom::core {

int EditDistance(std::string_view a, std::string_view b, bool ignore_case) {
  std::vector<int> prev(b.size() + 1);
  std::vector<int> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const auto fold = [ignore_case](char ch) {
        return ignore_case ? std::tolower(static_cast<unsigned char>(ch)) : ch;
      };
      const bool same = fold(a[i - 1]) == fold(b[j - 1]);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates,
                       bool ignore_case) {
  // Ties of the case-insensitive distance go to the candidate closer in case ("gbps" is
  // "Gbps" rather than "GBps"), then to the first.
  int best = 1 << 30;
  int best_exact = 1 << 30;
  std::string_view best_word;
  for (std::string_view c : candidates) {
    const int d = EditDistance(word, c, ignore_case);
    const int exact = ignore_case ? EditDistance(word, c, false) : d;
    if (d < best || (d == best && exact < best_exact)) {
      best = d;
      best_exact = exact;
      best_word = c;
    }
  }
  const int limit = std::max(2, static_cast<int>(word.size()) / 3);
  if (!best_word.empty() && best <= limit) return std::string(best_word);
  // A truncated name ("micro_batch" for "micro_batch_size") is a likely slip too.
  if (word.size() >= 4) {
    for (std::string_view c : candidates) {
      if (c.size() > word.size() &&
          EditDistance(c.substr(0, word.size()), word, ignore_case) == 0) {
        return std::string(c);
      }
    }
  }
  return "";
}

std::string WithThousands(long long n) {
  const std::string digits =
      std::to_string(n < 0 ? -(n + 1) + 1ull : static_cast<unsigned long long>(n));
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Abbreviated(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  // Back to the start of a character: a UTF-8 continuation byte is 10xxxxxx.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "... (" +
         WithThousands(static_cast<long long>(text.size())) + " bytes)";
}

std::string JoinComma(const std::vector<std::string_view>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  return out;
}

namespace {

// The UTF-8 sequence starting at text[i]: its length when it is valid (> 0), else minus
// the length of its maximal valid prefix ("maximal subpart", Unicode 15 Sec. 3.9), at
// least 1. Table 3-7 of the Unicode standard gives the well-formed byte ranges.
int SequenceAt(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  int length = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  for (int k = 1; k < length; ++k) {
    if (i + k >= text.size()) return -k;
    const unsigned char b = byte(i + k);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return -k;
  }
  return length;
}

}  // namespace

size_t InvalidUtf8At(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const int n = SequenceAt(text, i);
    if (n < 0) return i;
    i += static_cast<size_t>(n);
  }
  return std::string_view::npos;
}

std::string ValidUtf8(std::string_view text) {
  if (InvalidUtf8At(text) == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    const int n = SequenceAt(text, i);
    if (n > 0) {
      out.append(text.substr(i, static_cast<size_t>(n)));
      i += static_cast<size_t>(n);
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      i += static_cast<size_t>(-n);
    }
  }
  return out;
}

std::string Utf8Problem(std::string_view text) {
  const size_t at = InvalidUtf8At(text);
  if (at == std::string_view::npos) return "";
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[at]));
  return "byte " + std::string(hex) + " at offset " + std::to_string(at) + " is not valid UTF-8";
}

}  // namespace fathom::core
