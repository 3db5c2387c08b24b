#include "core/text.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "core/diagnostic.h"

namespace fathom::core {
namespace {

TEST(EditDistance, Basics) {
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(EditDistance("TP", "tp"), 0);
  EXPECT_EQ(EditDistance("TP", "tp", /*ignore_case=*/false), 2);
}

TEST(DidYouMean, FindsCloseKeys) {
  EXPECT_EQ(DidYouMean("hiden", {"hidden", "heads", "layers"}), "hidden");
  EXPECT_EQ(DidYouMean("micro_batch", {"micro_batch_size", "global_batch_size"}),
            "micro_batch_size");
  EXPECT_EQ(DidYouMean("zzzzzz", {"hidden", "heads"}), "");
}

TEST(DidYouMean, CaseBreaksTies) {
  EXPECT_EQ(DidYouMean("gbps", {"GBps", "Gbps"}), "Gbps");
  EXPECT_EQ(DidYouMean("GBPS", {"Gbps", "GBps"}), "GBps");
  EXPECT_EQ(DidYouMean("gbps", {"bps", "Gbps"}), "Gbps");
  EXPECT_EQ(DidYouMean("gbps", {"bps", "Gbps"}, /*ignore_case=*/false), "bps");
}

// A long value is cut at a character boundary and says how long it was; a short one stays.
TEST(Abbreviated, CutsLongTextAtACharacter) {
  EXPECT_EQ(Abbreviated("short", 80), "short");
  EXPECT_EQ(Abbreviated(std::string(5000, 'x'), 4), "xxxx... (5,000 bytes)");
  // "é" is two bytes: a cut inside it goes back before it.
  EXPECT_EQ(Abbreviated("ab\xc3\xa9"
                        "cd",
                        3),
            "ab... (6 bytes)");
  Diagnostics d;
  d.Error("key", std::string(100000, 'y'), std::string(100000, 'z'));
  EXPECT_LT(d.items().front().message.size(), Diagnostics::kMaxText + 32);
  EXPECT_LT(d.items().front().hint.size(), Diagnostics::kMaxText + 32);
}

TEST(WithThousands, GroupsDigitsByThree) {
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(1000), "1,000");
  EXPECT_EQ(WithThousands(16384), "16,384");
  EXPECT_EQ(WithThousands(-1234567), "-1,234,567");
  EXPECT_EQ(WithThousands(INT64_MIN), "-9,223,372,036,854,775,808");
}

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_EQ(InvalidUtf8At(""), std::string_view::npos);
  EXPECT_EQ(InvalidUtf8At("plain ascii"), std::string_view::npos);
  EXPECT_EQ(InvalidUtf8At("r\xC3\xA9sum\xC3\xA9"), std::string_view::npos);  // résumé
  EXPECT_EQ(InvalidUtf8At("\xE2\x82\xAC \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(InvalidUtf8At("r\xE9sum\xE9"), 1u);  // Latin-1 résumé
  EXPECT_EQ(InvalidUtf8At("ab\xFF"), 2u);
  EXPECT_EQ(InvalidUtf8At("\xC0\xAF"), 0u);          // overlong "/"
  EXPECT_EQ(InvalidUtf8At("\xED\xA0\x80"), 0u);      // a surrogate
  EXPECT_EQ(InvalidUtf8At("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(InvalidUtf8At("x\xE2\x82"), 1u);         // cut short
}

TEST(Utf8, ReplacesEachInvalidSequenceOnce) {
  EXPECT_EQ(ValidUtf8("r\xC3\xA9sum\xC3\xA9"), "r\xC3\xA9sum\xC3\xA9");
  EXPECT_EQ(ValidUtf8("r\xE9sum\xE9"), "r\xEF\xBF\xBDsum\xEF\xBF\xBD");
  EXPECT_EQ(ValidUtf8("ab\xFF"), "ab\xEF\xBF\xBD");
  // A truncated three-byte sequence is one maximal subpart: one replacement.
  EXPECT_EQ(ValidUtf8("\xE2\x82x"), "\xEF\xBF\xBDx");
  EXPECT_EQ(InvalidUtf8At(ValidUtf8("\xC0\xAF\xED\xA0\x80\xFE")), std::string_view::npos);
}

TEST(Utf8, DescribesTheProblem) {
  EXPECT_EQ(Utf8Problem("fine"), "");
  EXPECT_EQ(Utf8Problem("r\xE9sum\xE9"), "byte 0xE9 at offset 1 is not valid UTF-8");
}

}  // namespace
}  // namespace fathom::core
