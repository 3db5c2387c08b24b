#include "core/units.h"

#include <cmath>

#include <gtest/gtest.h>

namespace fathom::core {
namespace {

double Parse(std::string_view s, Dimension d) {
  QuantityParse p = ParseQuantity(s, d);
  EXPECT_TRUE(p.ok) << s << ": " << p.error;
  return p.value;
}

TEST(ParseQuantity, Bytes) {
  EXPECT_DOUBLE_EQ(Parse("80GiB", Dimension::kBytes), 80.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(Parse("141GB", Dimension::kBytes), 141e9);
  EXPECT_DOUBLE_EQ(Parse(" 2 KiB ", Dimension::kBytes), 2048);
}

// "-0GB" is zero, not a negative size nor a value printed as "-0".
TEST(ParseQuantity, NegativeZeroIsZero) {
  const double v = Parse("-0.0GB", Dimension::kBytes);
  EXPECT_EQ(v, 0);
  EXPECT_FALSE(std::signbit(v));
}

TEST(ParseQuantity, BandwidthBitsAndBytes) {
  EXPECT_DOUBLE_EQ(Parse("400Gbps", Dimension::kBandwidth), 50e9);
  EXPECT_DOUBLE_EQ(Parse("3.35TBps", Dimension::kBandwidth), 3.35e12);
  EXPECT_DOUBLE_EQ(Parse("450GB/s", Dimension::kBandwidth), 450e9);
  EXPECT_DOUBLE_EQ(Parse("400Gb/s", Dimension::kBandwidth), 50e9);
  // Which of the two a value was given in (a key quoted in bytes warns of bits).
  EXPECT_TRUE(ParseQuantity("400Gbps", Dimension::kBandwidth).bits);
  EXPECT_TRUE(ParseQuantity("3.35Tb/s", Dimension::kBandwidth).bits);
  EXPECT_FALSE(ParseQuantity("3.35TBps", Dimension::kBandwidth).bits);
  EXPECT_FALSE(ParseQuantity("450GB/s", Dimension::kBandwidth).bits);
  EXPECT_FALSE(ParseQuantity("3GiBps", Dimension::kBandwidth).bits);
}

// The micro sign (U+00B5) and the Greek small mu (U+03BC) alike.
TEST(ParseQuantity, MicroIsEitherMu) {
  EXPECT_DOUBLE_EQ(Parse("3\xC2\xB5s", Dimension::kTime), 3e-6);
  EXPECT_DOUBLE_EQ(Parse("3\xCE\xBCs", Dimension::kTime), 3e-6);
  EXPECT_DOUBLE_EQ(Parse("2.5 \xCE\xBCs", Dimension::kTime), 2.5e-6);
}

TEST(ParseQuantity, RateTimePower) {
  EXPECT_DOUBLE_EQ(Parse("989TFLOPS", Dimension::kFlopRate), 989e12);
  EXPECT_DOUBLE_EQ(Parse("2us", Dimension::kTime), 2e-6);
  EXPECT_DOUBLE_EQ(Parse("1.5min", Dimension::kTime), 90);
  EXPECT_DOUBLE_EQ(Parse("700W", Dimension::kPower), 700);
  EXPECT_DOUBLE_EQ(Parse("15T", Dimension::kCount), 15e12);
  EXPECT_DOUBLE_EQ(Parse("42", Dimension::kCount), 42);
}

TEST(ParseQuantity, RestatingUnitsChangesNothing) {
  EXPECT_DOUBLE_EQ(Parse("400Gbps", Dimension::kBandwidth), Parse("50GBps", Dimension::kBandwidth));
  EXPECT_DOUBLE_EQ(Parse("1024MiB", Dimension::kBytes), Parse("1GiB", Dimension::kBytes));
  EXPECT_DOUBLE_EQ(Parse("2000ns", Dimension::kTime), Parse("2us", Dimension::kTime));
}

TEST(ParseQuantity, BareNumberIsAnError) {
  QuantityParse p = ParseQuantity("400", Dimension::kBandwidth);
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("bare number"), std::string::npos);
  EXPECT_NE(p.hint.find("Gbps"), std::string::npos);
}

TEST(ParseQuantity, UnknownUnitSuggests) {
  QuantityParse p = ParseQuantity("400Gbs", Dimension::kBandwidth);
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("unknown unit \"Gbs\""), std::string::npos);
  EXPECT_NE(p.hint.find("Gbps"), std::string::npos);
}

// The suggestion compares case-insensitively and keeps the multiplier prefix: a lowercase
// "gbps" is gigabits, not bits per second.
TEST(ParseQuantity, UnknownUnitSuggestsTheSameMultiplier) {
  const struct {
    const char* text;
    Dimension dim;
    const char* guess;
  } cases[] = {
      {"400gbps", Dimension::kBandwidth, "\"Gbps\""},
      {"400tbps", Dimension::kBandwidth, "\"Tbps\""},
      {"400Gps", Dimension::kBandwidth, "\"GBps\""},
      {"400GBs", Dimension::kBandwidth, "\"GBps\""},
      {"400Gbs", Dimension::kBandwidth, "\"Gbps\""},
      {"80gib", Dimension::kBytes, "\"GiB\""},
      {"989tflop", Dimension::kFlopRate, "\"TFLOPS\""},
      {"2Us", Dimension::kTime, "\"us\""},
      {"700kw", Dimension::kPower, "\"kW\""},
  };
  for (const auto& c : cases) {
    QuantityParse p = ParseQuantity(c.text, c.dim);
    EXPECT_FALSE(p.ok) << c.text;
    EXPECT_EQ(p.hint, std::string("did you mean ") + c.guess + "?") << c.text;
  }
}

// A suggestion is of the same dimension and size as the unit meant: a common spelling (a
// table of aliases, "bit" and "byte" written out) before edit distance, which alone picked
// "ms" for "m" (60,000 times smaller than a minute), "GiB/s" for "Gbit/s" (bytes for bits)
// and "W" for "GW".
TEST(ParseQuantity, UnknownUnitSuggestsTheSameSize) {
  const struct {
    const char* text;
    Dimension dim;
    const char* guess;
  } cases[] = {
      {"90m", Dimension::kTime, "min"},
      {"90mins", Dimension::kTime, "min"},
      {"90 minutes", Dimension::kTime, "min"},
      {"2hrs", Dimension::kTime, "h"},
      {"2Hours", Dimension::kTime, "h"},
      {"10sec", Dimension::kTime, "s"},
      {"3days", Dimension::kTime, "d"},
      {"5usec", Dimension::kTime, "us"},
      {"400Gbit/s", Dimension::kBandwidth, "Gb/s"},
      {"400gbit/s", Dimension::kBandwidth, "Gb/s"},
      {"400Gbits/s", Dimension::kBandwidth, "Gb/s"},
      {"100kbit/s", Dimension::kBandwidth, "Kb/s"},
      {"100kb/s", Dimension::kBandwidth, "Kb/s"},
      {"50GBytes/sec", Dimension::kBandwidth, "GB/s"},
      {"400Gbit", Dimension::kBandwidth, "Gbps"},
      {"700watts", Dimension::kPower, "W"},
      {"989TF", Dimension::kFlopRate, "TFLOPS"},
  };
  for (const auto& c : cases) {
    QuantityParse p = ParseQuantity(c.text, c.dim);
    EXPECT_FALSE(p.ok) << c.text;
    EXPECT_EQ(p.hint, std::string("did you mean \"") + c.guess + "\"?") << c.text;
  }
  // A multiplier no unit of the dimension has gets the list, not a unit of another size.
  QuantityParse peta = ParseQuantity("1PW", Dimension::kPower);
  EXPECT_FALSE(peta.ok);
  EXPECT_EQ(peta.hint,
            "the prefix \"P\" (peta) is not supported for power: expected one of W, "
            "kW, MW, GW");
  // Bits where bytes are meant: the list, and why.
  QuantityParse bits = ParseQuantity("80Gbit", Dimension::kBytes);
  EXPECT_FALSE(bits.ok);
  EXPECT_NE(bits.hint.find("sizes are in bytes (8 bits to a byte)"), std::string::npos)
      << bits.hint;
}

// A prefix is read as written where case changes its size, and one the dimension has no
// unit for, or no prefix at all, gets no unit of another size: "5Ms" was "ms" (mega- for
// milli-seconds), "400Zb/s" "b/s", "989XFLOPS" "FLOPS", "5qs" "ns".
TEST(ParseQuantity, UnsupportedPrefixSuggestsNoOtherSize) {
  const struct {
    const char* text;
    Dimension dim;
    const char* hint;
  } cases[] = {
      {"5Ms", Dimension::kTime,
       "the prefix \"M\" (mega) is not supported for time: expected one of ns, us, ms, s, min, "
       "h, d"},
      {"5MS", Dimension::kTime,
       "the prefix \"M\" (mega) is not supported for time: expected one of ns, us, ms, s, min, "
       "h, d"},
      {"5ks", Dimension::kTime,
       "the prefix \"k\" (kilo) is not supported for time: expected one of ns, us, ms, s, min, "
       "h, d"},
      {"5qs", Dimension::kTime,
       "the prefix \"q\" (quecto) is not supported for time: expected one of ns, us, ms, s, min, "
       "h, d"},
      {"400Zb/s", Dimension::kBandwidth,
       "the prefix \"Z\" (zetta) is not supported for bandwidth: expected one of Bps, KBps, "
       "MBps, GBps, TBps, GiBps, bps, Kbps, Mbps, Gbps, Tbps"},
      {"400Xb/s", Dimension::kBandwidth,
       "the prefix \"X\" is not supported for bandwidth: expected one of Bps, KBps, MBps, GBps, "
       "TBps, GiBps, bps, Kbps, Mbps, Gbps, Tbps"},
      {"400Zbit/s", Dimension::kBandwidth,
       "the prefix \"Z\" (zetta) is not supported for bandwidth: expected one of Bps, KBps, "
       "MBps, GBps, TBps, GiBps, bps, Kbps, Mbps, Gbps, Tbps"},
      {"989XFLOPS", Dimension::kFlopRate,
       "the prefix \"X\" is not supported for compute rate: expected one of FLOPS, KFLOPS, "
       "MFLOPS, GFLOPS, TFLOPS, PFLOPS, EFLOPS"},
      {"1EiB", Dimension::kBytes,
       "the prefix \"Ei\" (exbi) is not supported for byte size: expected one of B, KB, MB, GB, "
       "TB, "
       "PB, KiB, MiB, GiB, TiB, PiB"},
      {"5mW", Dimension::kPower,
       "the prefix \"m\" (milli) is not supported for power: expected one of W, kW, MW, GW"},
  };
  for (const auto& c : cases) {
    QuantityParse p = ParseQuantity(c.text, c.dim);
    EXPECT_FALSE(p.ok) << c.text;
    EXPECT_EQ(p.hint, c.hint) << c.text;
  }
  // Where the case cannot change the size, it is fixed: "Us" is "us", "mbps" (no
  // millibits) "Mbps", "KW" "kW".
  EXPECT_EQ(ParseQuantity("2Us", Dimension::kTime).hint, "did you mean \"us\"?");
  EXPECT_EQ(ParseQuantity("400mbps", Dimension::kBandwidth).hint, "did you mean \"Mbps\"?");
  EXPECT_EQ(ParseQuantity("7KW", Dimension::kPower).hint, "did you mean \"kW\"?");
}

// A prefix without its unit is offered the units it may lack, not "B" (1e9 times smaller).
TEST(ParseQuantity, APrefixWithoutItsUnitOffersTheUnitsItMayLack) {
  EXPECT_EQ(ParseQuantity("80G", Dimension::kBytes).hint,
            "a size needs its unit: did you mean \"80GB\" (decimal) or \"80GiB\" (binary)?");
  EXPECT_EQ(ParseQuantity("64k", Dimension::kBytes).hint,
            "a size needs its unit: did you mean \"64KB\" (decimal) or \"64KiB\" (binary)?");
  EXPECT_EQ(ParseQuantity("80Gi", Dimension::kBytes).hint, "did you mean \"80GiB\"?");
  EXPECT_EQ(ParseQuantity("400G", Dimension::kBandwidth).hint,
            "a bandwidth needs its unit: did you mean \"400Gbps\" (bits a second, as links are "
            "sold) or \"400GB/s\" (bytes)?");
  // Each suggestion reads.
  EXPECT_TRUE(ParseQuantity("80GiB", Dimension::kBytes).ok);
  EXPECT_TRUE(ParseQuantity("64KB", Dimension::kBytes).ok);
  EXPECT_TRUE(ParseQuantity("400GB/s", Dimension::kBandwidth).ok);
}

// Weeks, months and years are no unit: the hint says them in days.
TEST(ParseQuantity, WeeksAndYearsHintDays) {
  EXPECT_EQ(ParseQuantity("2w", Dimension::kTime).hint,
            "weeks are not a unit here: write days (1 week = 7d), e.g. \"14d\"");
  EXPECT_EQ(ParseQuantity("2wk", Dimension::kTime).hint,
            "weeks are not a unit here: write days (1 week = 7d), e.g. \"14d\"");
  EXPECT_EQ(ParseQuantity("400y", Dimension::kTime).hint,
            "years are not a unit here: write days (1 year = 365d), e.g. \"146000d\"");
  EXPECT_EQ(ParseQuantity("1.5 Years", Dimension::kTime).hint,
            "years are not a unit here: write days (1 year = 365d), e.g. \"547.5d\"");
  // Months read as 30 days (a deadline's "1mo" was offered "ms").
  EXPECT_EQ(ParseQuantity("1mo", Dimension::kTime).hint,
            "months are not a unit here: write days (1 month = 30d), e.g. \"30d\"");
  EXPECT_EQ(ParseQuantity("3 months", Dimension::kTime).hint,
            "months are not a unit here: write days (1 month = 30d), e.g. \"90d\"");
}

// Gigawatts are a power (a node or a site), and a key's range then says what it allows.
TEST(ParseQuantity, GigawattsAreAPower) {
  EXPECT_DOUBLE_EQ(Parse("1GW", Dimension::kPower), 1e9);
  EXPECT_EQ(FormatPower(1e5), "100 kW");
  EXPECT_EQ(FormatPower(700), "700 W");
  EXPECT_EQ(FormatPower(2.5e9), "2.5 GW");
}

// Counts take K, M, B (as G) and T, and an unknown suffix says so, B included.
TEST(ParseQuantity, CountSuffixesIncludeB) {
  EXPECT_DOUBLE_EQ(Parse("70B", Dimension::kCount), 70e9);
  QuantityParse p = ParseQuantity("1Tokens", Dimension::kCount);
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.hint, "expected one of K, M, B, G, T");
}

TEST(ParseQuantity, WrongDimension) {
  QuantityParse p = ParseQuantity("80GB", Dimension::kBandwidth);
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("is a byte size"), std::string::npos);
}

TEST(ParseQuantity, RejectsNanInfNegativeHuge) {
  EXPECT_FALSE(ParseQuantity("nanGB", Dimension::kBytes).ok);
  EXPECT_FALSE(ParseQuantity("infGB", Dimension::kBytes).ok);
  EXPECT_FALSE(ParseQuantity("-1GB", Dimension::kBytes).ok);
  EXPECT_FALSE(ParseQuantity("1e400GB", Dimension::kBytes).ok);
  EXPECT_FALSE(ParseQuantity("1e308PB", Dimension::kBytes).ok);
  EXPECT_FALSE(ParseQuantity("", Dimension::kBytes).ok);
  EXPECT_FALSE(ParseQuantity("GB", Dimension::kBytes).ok);
}

TEST(Format, Readable) {
  EXPECT_EQ(FormatBytes(80.0 * 1024 * 1024 * 1024), "80 GiB");
  EXPECT_EQ(FormatSeconds(0.0025), "2.5 ms");
  EXPECT_EQ(FormatSeconds(9999), "9999 s");
  EXPECT_EQ(FormatSeconds(9999.7), "10,000 s");   // not 1e+04 s
  EXPECT_EQ(FormatSeconds(88314.4), "88,314 s");  // not 8.831e+04 s
  EXPECT_EQ(FormatBandwidth(450e9), "450 GB/s");
}

TEST(FormatDuration, LargestReadableUnit) {
  EXPECT_EQ(FormatDuration(2.84), "2.84 s");
  EXPECT_EQ(FormatDuration(119), FormatSeconds(119));
  EXPECT_EQ(FormatDuration(540), "9.0 min");
  EXPECT_EQ(FormatDuration(25200), "7.00 h");  // a checkpoint write once said "2.52e+04 s"
  EXPECT_EQ(FormatDuration(5.682e6), "65.8 d");
  // Beyond a million days, in powers of ten: "%.1f" printed 300 digits into 48 bytes and
  // cut off the unit.
  EXPECT_EQ(FormatDuration(8.64e304), "1e+300 d");
  EXPECT_EQ(FormatDuration(86400 * 999999.0), "999999.0 d");
}

TEST(Duration, RoundsToNanoseconds) {
  EXPECT_EQ(Duration::FromSeconds(Seconds(1.5e-9)).ns, 2);
  EXPECT_EQ(Duration::FromSeconds(Seconds(2.0)).ns, 2'000'000'000);
}

}  // namespace
}  // namespace fathom::core
