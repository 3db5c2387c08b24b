// Small text helpers shared by diagnostics and reports: edit distance, did-you-mean,
// number grouping.
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

// Joins with ", ".
std::string JoinComma(const std::vector<std::string_view>& items);

}  // namespace fathom::core
