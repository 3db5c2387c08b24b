#include "core/diagnostic.h"

#include <gtest/gtest.h>

namespace fathom::core {
namespace {

TEST(Diagnostic, FormatsPlaceKeyMessageHint) {
  Diagnostic d{Severity::kError,
               "cluster.yaml",
               14,
               "scale_up.bandwidth",
               "unknown unit \"Gbs\" in \"400Gbs\"",
               "did you mean \"Gbps\"?"};
  EXPECT_EQ(d.Format(),
            "error: cluster.yaml:14: scale_up.bandwidth: unknown unit \"Gbs\" in \"400Gbs\"; "
            "did you mean \"Gbps\"?");
}

TEST(Result, CarriesAllDiagnostics) {
  Diagnostics diags;
  diags.Error("a", "first");
  diags.Error("b", "second");
  Result<int> r(diags);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics().size(), 2u);
  Result<int> ok(3);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), 3);
}

TEST(Diagnostics, PrefixAndFile) {
  Diagnostics diags;
  diags.Error("tp", "bad");
  diags.PrefixKeys("plan");
  diags.SetFile("s.yaml");
  EXPECT_EQ(diags.items()[0].key, "plan.tp");
  EXPECT_EQ(diags.items()[0].file, "s.yaml");
}

TEST(Diagnostics, FirstErrorSkipsWarnings) {
  Diagnostics d;
  EXPECT_EQ(d.FirstError(), "");
  d.Warning("plan.sp", "no effect");
  d.Error("plan.tp", "must divide the heads", "a hint");
  d.Error("plan.pp", "too many stages");
  EXPECT_EQ(d.FirstError(), "plan.tp: must divide the heads");
}

// The same diagnostic reached by two paths is said once; one that differs in any part is
// kept.
TEST(Diagnostics, AppendSaysEachOnce) {
  Diagnostics a;
  a.Warning("reliability", "ETTR below 0.5", "hint");
  Diagnostics b;
  b.Warning("reliability", "ETTR below 0.5", "hint");
  b.Warning("reliability", "ETTR below 0.5", "another hint");
  b.Error("reliability", "ETTR below 0.5", "hint");
  a.Append(b);
  a.Append(b);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(a.Format(),
            "warning: reliability: ETTR below 0.5; hint\n"
            "warning: reliability: ETTR below 0.5; another hint\n"
            "error: reliability: ETTR below 0.5; hint\n");
}

// A copy without a place (a sizing's resized cluster re-stating its file's warning) is the
// same diagnostic as one with it: said once, at the place; two places are two diagnostics.
TEST(Diagnostics, AppendSaysACopyWithoutAPlaceOnce) {
  Diagnostics a;
  a.Warning("cluster.scale_out.tiers[1].oversubscription", "asked 2, built 1.45", "hint");
  Diagnostics b;
  b.Add({Severity::kWarning, "c.yaml", 15, "cluster.scale_out.tiers[1].oversubscription",
         "asked 2, built 1.45", "hint"});
  b.Add({Severity::kWarning, "d.yaml", 3, "cluster.scale_out.tiers[1].oversubscription",
         "asked 2, built 1.45", "hint"});
  a.Append(b);
  a.Append(b);
  Diagnostics c;
  c.Warning("cluster.scale_out.tiers[1].oversubscription", "asked 2, built 1.45", "hint");
  a.Append(c);
  EXPECT_EQ(a.Format(),
            "warning: c.yaml:15: cluster.scale_out.tiers[1].oversubscription: asked 2, built "
            "1.45; hint\n"
            "warning: d.yaml:3: cluster.scale_out.tiers[1].oversubscription: asked 2, built "
            "1.45; hint\n");
}

// A key, message, hint or file that echoes input not in UTF-8 (a key typed in Latin-1) is
// said in UTF-8, the bad byte replaced.
TEST(Diagnostics, InputNotInUtf8IsSaidInUtf8) {
  Diagnostics d;
  d.Error("plan.t\xe9p", "unknown key \"t\xe9p\"", "did you mean \"tp\"?\xff");
  d.items().front().file = "caf\xe9.yaml";
  EXPECT_EQ(d.Format(),
            "error: caf\uFFFD.yaml: plan.t\uFFFDp: unknown key \"t\uFFFDp\"; did you mean "
            "\"tp\"?\uFFFD\n");
}

}  // namespace
}  // namespace fathom::core
