#include "io/json_text.h"

#include <cstdint>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fathom::io {
namespace {

// A double rounded to 12 significant digits is written in the fewest digits that read back
// to it, where nlohmann's printer gives 17 (0.0071598952660299996); other numbers, integers
// and strings of digits are written as nlohmann writes them.
TEST(JsonText, WritesRoundedNumbersShort) {
  nlohmann::ordered_json j;
  j["share"] = 0.00715989526603;
  j["peak"] = 989400000000000.0;
  j["small"] = 1e-05;
  j["third"] = 1.0 / 3.0;
  j["big"] = 1.2345678901234567e+300;
  j["count"] = int64_t{12345678901234567};
  j["name"] = "0.0071598952660299996";
  EXPECT_EQ(JsonText(j, -1),
            "{\"share\":0.00715989526603,\"peak\":989400000000000.0,\"small\":1e-05,"
            "\"third\":0.3333333333333333,\"big\":1.2345678901234567e+300,"
            "\"count\":12345678901234567,\"name\":\"0.0071598952660299996\"}");
  EXPECT_EQ(nlohmann::ordered_json::parse(JsonText(j))["share"].get<double>(), 0.00715989526603);
}

// JSON readers keep one of two equal keys without a word: each repeated key is an error
// with its path (list indices too) and the line of its second appearance.
TEST(JsonSyntaxError, NamesEveryKeyGivenTwice) {
  const std::string text =
      "{\"name\": \"x\",\n"
      " \"tiers\": [{\"radix\": 64}, {\"radix\": 64,\n"
      "   \"radix\": 32}],\n"
      " \"a\": 1, \"a\": 2}\n";
  const std::optional<core::Diagnostic> d = JsonSyntaxError(text, "c.json");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->key, "tiers[1].radix");
  EXPECT_EQ(d->line, 3);
  EXPECT_EQ(d->message, "key given twice (so are a)");
  // The same key in different objects is no repeat.
  EXPECT_FALSE(JsonSyntaxError("{\"a\": {\"x\": 1}, \"b\": {\"x\": 2}}", "f.json").has_value());
}

// A number beyond a double's range is an error at its line, not an exception.
TEST(JsonSyntaxError, NumberBeyondADouble) {
  const std::optional<core::Diagnostic> d =
      JsonSyntaxError("{\"a\": 1,\n \"b\": -2e999}", "n.json");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->line, 2);
  EXPECT_NE(d->message.find("2e999 is beyond a double's range"), std::string::npos) << d->message;
}

}  // namespace
}  // namespace fathom::io
