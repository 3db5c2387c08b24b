#include "io/json_text.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace fathom::io {
namespace {

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
