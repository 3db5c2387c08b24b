// Physical quantities as distinct types, and parsing of "80GiB"-style strings.
//
// Quantities hold a double in SI base units (bytes, seconds, FLOP/s, bytes/s, watts).
// Formulas work in doubles; the types keep units from being mixed up at interfaces.
// Simulated time in an event engine is an integer count of nanoseconds (Duration).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fathom::core {

template <class Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(double value) : value_(value) {}
  constexpr double value() const { return value_; }

  constexpr Quantity operator+(Quantity o) const { return Quantity(value_ + o.value_); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(value_ - o.value_); }
  constexpr Quantity operator*(double k) const { return Quantity(value_ * k); }
  constexpr Quantity operator/(double k) const { return Quantity(value_ / k); }
  constexpr double operator/(Quantity o) const { return value_ / o.value_; }
  constexpr Quantity& operator+=(Quantity o) {
    value_ += o.value_;
    return *this;
  }
  constexpr auto operator<=>(const Quantity&) const = default;

 private:
  double value_ = 0.0;
};

struct BytesTag {};
struct SecondsTag {};
struct FlopsTag {};
struct FlopsPerSecTag {};
struct BytesPerSecTag {};
struct WattsTag {};

using Bytes = Quantity<BytesTag>;              // bytes
using Seconds = Quantity<SecondsTag>;          // seconds, for closed-form formulas
using Flops = Quantity<FlopsTag>;              // floating-point operations (FMA = 2)
using FlopsPerSec = Quantity<FlopsPerSecTag>;  // FLOP/s
using BytesPerSec = Quantity<BytesPerSecTag>;  // bytes/s
using Watts = Quantity<WattsTag>;              // W

constexpr Seconds operator/(Bytes b, BytesPerSec r) { return Seconds(b.value() / r.value()); }
constexpr Seconds operator/(Flops f, FlopsPerSec r) { return Seconds(f.value() / r.value()); }

// Simulated time: integer nanoseconds, exact to order, +-292 years of range.
struct Duration {
  int64_t ns = 0;
  static Duration FromSeconds(Seconds s);
  Seconds ToSeconds() const { return Seconds(static_cast<double>(ns) * 1e-9); }
  auto operator<=>(const Duration&) const = default;
};

// What a quantity in an input file measures; selects the accepted unit suffixes.
enum class Dimension { kBytes, kBandwidth, kFlopRate, kTime, kPower, kCount, kFraction };

std::string_view DimensionName(Dimension dim);
// The canonical spellings accepted for a dimension, e.g. {"B", "KB", ..., "GiB"}.
std::vector<std::string_view> UnitNames(Dimension dim);

struct QuantityParse {
  bool ok = false;
  double value = 0.0;  // in SI base units
  std::string error;   // what is wrong, when !ok
  std::string hint;    // did-you-mean or an example, when !ok
  bool bits = false;   // a bandwidth in bits a second ("400Gbps", "3.35Tb/s")
};

// Parses "<number><unit>" (spaces allowed between) such as "80GiB", "3.35 TBps",
// "400Gbps", "989TFLOPS", "2us". A bare number, an unknown unit, a unit of another
// dimension, NaN, infinity or a negative value is an error.
QuantityParse ParseQuantity(std::string_view text, Dimension dim);

// Formats a value in base units with a readable unit, e.g. 8.59e10 bytes -> "80 GiB".
std::string FormatBytes(double bytes);
std::string FormatSeconds(double seconds);
std::string FormatBandwidth(double bytes_per_sec);
std::string FormatFlopRate(double flops_per_sec);
std::string FormatPower(double watts);  // 1e5 -> "100 kW"
// A span of time in the largest readable unit, for runs and their messages: "54.0 d" (from
// 2 days), "7.00 h" (from 2 hours), "9.0 min" (from 2 minutes), else FormatSeconds.
std::string FormatDuration(double seconds);

}  // namespace fathom::core
