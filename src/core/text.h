// Small text helpers shared by diagnostics and reports: edit distance, did-you-mean,
// number grouping, UTF-8 checks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fathom::core {

// Levenshtein distance; case-insensitive unless told otherwise.
int EditDistance(std::string_view a, std::string_view b, bool ignore_case = true);

// The closest candidate to `word` if it is close enough to be a likely typo
// (distance <= max(2, len/3)), else "". Compared case-insensitively, ties go to the
// candidate closest with case, then to the first given.
std::string DidYouMean(std::string_view word, const std::vector<std::string_view>& candidates,
                       bool ignore_case = true);

// An integer with thousands separators: 16384 -> "16,384", -1200 -> "-1,200".
std::string WithThousands(long long n);

// `text` when it has at most `max_bytes` bytes, else its first bytes up to a character
// boundary within `max_bytes`, then "... (N bytes)": a value quoted in a diagnostic, so that
// a 3 MB line is not echoed whole.
std::string Abbreviated(std::string_view text, size_t max_bytes);

// Joins with ", ".
std::string JoinComma(const std::vector<std::string_view>& items);

// The byte offset of the first byte of `text` that does not begin or continue a valid
// UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or
// std::string_view::npos when the whole text is valid UTF-8.
size_t InvalidUtf8At(std::string_view text);

// `text` with each invalid UTF-8 sequence replaced by U+FFFD (the replacement character),
// as a decoder that substitutes maximal subparts would; valid text comes back unchanged.
std::string ValidUtf8(std::string_view text);

// Where `text` stops being UTF-8, for a diagnostic: "byte 0xE9 at offset 2 is not valid
// UTF-8", or "" when it is valid.
std::string Utf8Problem(std::string_view text);

// Whether `c` is an ASCII control character (C0 or DEL): no text a name, a value or a header
// holds, though tab and line breaks are where text may have them.
constexpr bool IsControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

}  // namespace fathom::core
