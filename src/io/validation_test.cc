#include "io/validation.h"

#include <string>

#include <gtest/gtest.h>

#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::TestCatalog;

std::string Reason(const ValidationTable& t, const std::string& id) {
  for (const auto& [record, reason] : t.unmapped) {
    if (record == id) return reason;
  }
  return "";
}

// A record the catalog's cluster cannot hold, or with numbers out of any model's range, is
// listed as unmapped with its reason (each of these once crashed the engine: a topology not
// derived again for the record's chip count, a vocabulary past an int, pp past the chips);
// the others are predicted.
TEST(PublishedRuns, RecordsAtTheEdgesAreUnmappedWithTheirReason) {
  core::Result<ValidationTable> r = RunPublishedRuns(
      TestCatalog(), FATHOM_SOURCE_DIR "/tests/fixtures/published/edge-records.json");
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const ValidationTable& t = r.value();
  EXPECT_NE(Reason(t, "dgxc_gpt3_175b_BF16_256_vocab_1e12").find("vocab 1e+12"), std::string::npos);
  EXPECT_NE(Reason(t, "mtnlg_530b_2240_pp_1e6").find("is more than the 2240 chips"),
            std::string::npos);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].name, "dgxc_gpt3_175b_BF16_256");
  EXPECT_GT(t.rows[0].predicted_s, 0);
  // PaLM's 6,144 chips are more than a TPU v4 pod holds: two slices of 3,072 over the DCN,
  // as the run was (they were refused, not whole pods of 4,096).
  EXPECT_EQ(t.rows[1].name, "palm_540b");
  EXPECT_GT(t.rows[1].predicted_s, 0);
}

}  // namespace
}  // namespace fathom::io
