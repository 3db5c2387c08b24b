#include "core/text.h"

#include <algorithm>
#include <cctype>

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

std::string JoinComma(const std::vector<std::string_view>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  return out;
}

}  // namespace fathom::core
