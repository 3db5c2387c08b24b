#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "estimate/estimate.h"
#include "io/config.h"
#include "io/facade.h"
#include "io/report.h"
#include "io/schema.h"
#include "io/test_catalog.h"
#include "io/test_scratch.h"

namespace fathom::io {
namespace {

namespace fs = std::filesystem;

using test_support::TestCatalog;

class LoaderTest : public test_support::ScratchDirTest {
 protected:
  LoaderTest() : ScratchDirTest("fathom_loader") {}
};

bool HasDiagnostic(const core::Diagnostics& d, const std::string& key,
                   const std::string& fragment) {
  for (const core::Diagnostic& x : d.items()) {
    if (x.key == key && x.Format().find(fragment) != std::string::npos) return true;
  }
  return false;
}

constexpr const char* kPlan = "plan: {tp: 8, global_batch_size: 8}\n";

// Catalog chips that do not load today, and why. A known bug: remove the entry when fixed
// (the test fails once the chip loads, to keep this list honest).
const std::set<std::string> kBrokenChips = {};

TEST(Catalog, EveryChipLoads) {
  const std::vector<std::string> names = TestCatalog().Names(Section::kChip);
  EXPECT_GE(names.size(), 20u);
  for (const std::string& name : names) {
    core::Result<hardware::ChipSpec> c = LoadChip(TestCatalog(), name);
    if (kBrokenChips.count(name) > 0) {
      EXPECT_FALSE(c.ok()) << name << " loads now: remove it from kBrokenChips";
      continue;
    }
    ASSERT_TRUE(c.ok()) << name << "\n" << c.diagnostics().Format();
    EXPECT_EQ(c.value().name, name);
    EXPECT_GT(c.value().Peak(hardware::Precision::kBf16).value() +
                  c.value().Peak(hardware::Precision::kFp8).value(),
              0)
        << name;
    EXPECT_GT(c.value().hbm_capacity.value(), 0) << name;
    EXPECT_GT(c.value().hbm_bandwidth.value(), 0) << name;
  }
}

TEST(Catalog, EveryClusterLoads) {
  const std::vector<std::string> names = TestCatalog().Names(Section::kCluster);
  EXPECT_GE(names.size(), 10u);
  for (const std::string& name : names) {
    core::Result<network::ClusterSpec> c = LoadCluster(TestCatalog(), name);
    ASSERT_TRUE(c.ok()) << name << "\n" << c.diagnostics().Format();
    EXPECT_EQ(c.value().name, name);
    EXPECT_GT(c.value().chips, 0) << name;
    EXPECT_FALSE(c.value().chip.name.empty()) << name;
    EXPECT_GT(c.value().scale_up.bandwidth.value(), 0) << name;
    // Every catalog fabric is described (an ideal switch only where said so, by block): no
    // warnings (notes say how a torus is cut into slices).
    for (const core::Diagnostic& x : c.diagnostics().items()) {
      EXPECT_EQ(x.severity, core::Severity::kNote) << name << "\n" << c.diagnostics().Format();
    }
  }
}

TEST(Catalog, EveryModelLoads) {
  const std::vector<std::string> names = TestCatalog().Names(Section::kModel);
  EXPECT_GE(names.size(), 20u);
  for (const std::string& name : names) {
    core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), name);
    ASSERT_TRUE(m.ok()) << name << "\n" << m.diagnostics().Format();
    EXPECT_EQ(m.value().name, name);
    EXPECT_GT(m.value().layers, 0) << name;
    EXPECT_GT(m.value().head_dim, 0) << name;
    EXPECT_EQ(m.value().heads % m.value().kv_heads, 0) << name;
  }
}

// A catalog model whose source quotes its Hugging Face max_position_embeddings states it as
// max_positions, with the same value; its training seq_len is within it (no warning); and a
// model with a config.json fixture (tests/fixtures/hf) states the value the importer reads.
TEST(Catalog, ModelsStateTheMaxPositionsTheirSourceGives) {
  const std::regex quoted("max_position_embeddings (?:= seq_length = )?([0-9]+)");
  int stated = 0;
  for (const std::string& name : TestCatalog().Names(Section::kModel)) {
    core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), name);
    ASSERT_TRUE(m.ok()) << name << "\n" << m.diagnostics().Format();
    EXPECT_TRUE(m.diagnostics().empty()) << name << "\n" << m.diagnostics().Format();
    std::smatch match;
    const std::string& source = m.value().source;
    if (std::regex_search(source, match, quoted)) {
      EXPECT_EQ(m.value().max_positions, std::stoi(match[1].str())) << name;
      ++stated;
    }
    if (m.value().max_positions > 0) {
      EXPECT_LE(m.value().seq_len, m.value().max_positions) << name;
    }
    const fs::path fixture = fs::path(FATHOM_SOURCE_DIR) / "tests/fixtures/hf" / (name + ".json");
    if (fs::exists(fixture)) {
      core::Result<model::ModelSpec> hf = LoadModel(TestCatalog(), fixture.string());
      ASSERT_TRUE(hf.ok()) << fixture << "\n" << hf.diagnostics().Format();
      EXPECT_EQ(m.value().max_positions, hf.value().max_positions) << name;
    }
  }
  // The RoPE models of Llama 2/3/3.1, GPT-NeoX, DeepSeek-V3, GPT-OSS, Llama 4, Mixtral and
  // Qwen3, and the learned tables of GPT-3, OPT and the Megatron/Korthikanti models.
  EXPECT_GE(stated, 25);
  core::Result<model::ModelSpec> llama = LoadModel(TestCatalog(), "llama3-70b");
  ASSERT_TRUE(llama.ok());
  EXPECT_EQ(llama.value().position, model::Position::kRoPE);
  EXPECT_EQ(llama.value().max_positions, 8192);
}

// The catalog's MoE models against their published totals and active counts (active
// excludes the input embedding; see model/model_spec.h).
TEST(Catalog, MoeModelsHaveTheirPublishedSizes) {
  struct Case {
    const char* name;
    double total_b, active_b;
  };
  for (const Case& c : {Case{"deepseek-v3", 671, 37}, Case{"qwen3-235b-a22b", 235, 22},
                        Case{"mixtral-8x7b", 46.7, 12.9}, Case{"mixtral-8x22b", 141, 39},
                        Case{"gpt-oss-120b", 116.8, 5.13}, Case{"llama4-maverick", 400, 17},
                        Case{"frontier-moe-1t", 1000, 35}}) {
    core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), c.name);
    ASSERT_TRUE(m.ok()) << c.name << "\n" << m.diagnostics().Format();
    const model::ParameterCount p = model::CountParameters(m.value());
    EXPECT_NEAR(p.total / 1e9 / c.total_b, 1.0, 0.01) << c.name;
    EXPECT_NEAR(p.active / 1e9 / c.active_b, 1.0, 0.06) << c.name;
  }
}

TEST(Catalog, NamesAreSorted) {
  for (Section s : {Section::kChip, Section::kCluster, Section::kModel}) {
    const std::vector<std::string> names = TestCatalog().Names(s);
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  }
}

TEST(Catalog, AliasFindsTheEntry) {
  const std::string by_alias = TestCatalog().Find(Section::kChip, "h100");
  EXPECT_FALSE(by_alias.empty());
  EXPECT_EQ(by_alias, TestCatalog().Find(Section::kChip, "h100-sxm"));
  core::Result<hardware::ChipSpec> c = LoadChip(TestCatalog(), "h100");
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  EXPECT_EQ(c.value().name, "h100-sxm");
  EXPECT_EQ(TestCatalog().Find(Section::kChip, "no-such-chip"), "");
  EXPECT_EQ(TestCatalog().Find(Section::kChip, "../chips/h100-sxm"), "");
}

TEST(Catalog, DefaultHonoursFathomData) {
  ::setenv("FATHOM_DATA", "/some/where", 1);
  EXPECT_EQ(Catalog::Default("fathom").dir(), "/some/where");
  ::setenv("FATHOM_DATA", FATHOM_SOURCE_DIR "/data", 1);
}

TEST(Catalog, ExampleScenariosLoad) {
  for (const auto& entry : fs::directory_iterator(FATHOM_SOURCE_DIR "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), entry.path().string());
    ASSERT_TRUE(s.ok()) << entry.path() << "\n" << s.diagnostics().Format();
    EXPECT_EQ(s.value().scenario.name, entry.path().stem().string());
    EXPECT_EQ(s.value().scenario.plan.Chips(), s.value().scenario.cluster.chips) << entry.path();
  }
}

TEST_F(LoaderTest, BaseOverridesKeys) {
  const std::string file =
      Write("s.yaml",
            "model: {base: llama3-8b, seq_len: 2048, name: short}\n"
            "cluster: {base: dgx-h100-superpod, chips: 16, scale_out: {bandwidth: 200Gbps}}\n"
            "plan: {tp: 8, global_batch_size: 16}\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  const estimate::Scenario& sc = s.value().scenario;
  EXPECT_EQ(sc.model.name, "short");
  EXPECT_EQ(sc.model.seq_len, 2048);
  EXPECT_EQ(sc.model.layers, 32);   // from the base
  EXPECT_EQ(sc.model.kv_heads, 8);  // from the base
  EXPECT_EQ(sc.cluster.chips, 16);
  EXPECT_DOUBLE_EQ(sc.cluster.scale_out.bandwidth.value(), 200e9 / 8);
  EXPECT_EQ(sc.cluster.name, "dgx-h100-superpod");
  EXPECT_EQ(sc.cluster.chip.name, "h100-sxm");
  EXPECT_EQ(sc.plan.dp, 2);  // chips / (tp x pp x cp)
  EXPECT_EQ(sc.name, "s");   // the file's stem when no name is given
}

// Text values must be UTF-8: a Latin-1 value is an error at its key, from a file (with its
// line), in a list of strings, and from --set, before any report is written.
TEST_F(LoaderTest, TextThatIsNotUtf8IsAnErrorAtItsKey) {
  const std::string file = Write("s.yaml",
                                 "name: \"r\xe9sum\xe9\"\n"
                                 "model: {base: llama3-8b, name: \"ok \xc3\xa9\"}\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n" +
                                     std::string(kPlan));
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasDiagnostic(s.diagnostics(), "name",
                            "s.yaml:1: name: \"r\xef\xbf\xbdsum\xef\xbf\xbd\" is not UTF-8 text: "
                            "byte 0xE9 at offset 1 is not valid UTF-8"))
      << s.diagnostics().Format();
  EXPECT_EQ(s.diagnostics().size(), 1u) << s.diagnostics().Format();  // "ok é" is UTF-8

  core::Result<LoadedScenario> set = LoadScenario(
      TestCatalog(), FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml", {{"name", "ab\xff"}});
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(HasDiagnostic(set.diagnostics(), "name", "--set: name: \"ab\xef\xbf\xbd\""))
      << set.diagnostics().Format();
}

// Tensor parallelism beyond the scale-up domain is allowed but advised against: a warning
// at plan.tp (or plan.order when the order strides tp out), located, with a hint; none
// where the domain holds every group (8-GPU nodes at tp 8, an NVL72 domain at tp 8; at tp 16
// some of its groups straddle two racks).
TEST_F(LoaderTest, TensorParallelismAcrossDomainsIsAWarning) {
  const std::string wide = Write("wide.yaml",
                                 "model: llama3-70b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 1024}\n"
                                 "plan: {tp: 16, dp: 64, global_batch_size: 1024}\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), wide);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  ASSERT_EQ(s.diagnostics().size(), 1u) << s.diagnostics().Format();
  const core::Diagnostic& w = s.diagnostics().items().front();
  EXPECT_EQ(w.severity, core::Severity::kWarning);
  EXPECT_EQ(w.Format(),
            "warning: " + wide +
                ":3: plan.tp: the tensor-parallel group (tp 16) spans 2 scale-up domains of 8 "
                "chips: its collectives, several per layer, cross the scale-out network (its "
                "rings reach 320 GB/s of bus bandwidth, against 369 GB/s for 8 chips inside a "
                "domain; 50 GB/s of scale-out per chip, against 450 GB/s inside a domain); keep "
                "tp within a domain (at most 8 "
                "here) and give the rest to pp, cp or dp, as Megatron-LM's recipes keep tp "
                "within a node");

  const std::string narrow = Write("narrow.yaml",
                                   "model: llama3-70b\n"
                                   "cluster: {base: dgx-h100-superpod, chips: 1024}\n"
                                   "plan: {tp: 8, dp: 128, global_batch_size: 1024}\n");
  core::Result<LoadedScenario> fits = LoadScenario(TestCatalog(), narrow);
  ASSERT_TRUE(fits.ok());
  EXPECT_TRUE(fits.diagnostics().empty()) << fits.diagnostics().Format();
  core::Result<LoadedScenario> strided =
      LoadScenario(TestCatalog(), narrow, {{"plan.order", "dp-tp-cp-ep-pp"}});
  ASSERT_TRUE(strided.ok());
  EXPECT_TRUE(HasDiagnostic(strided.diagnostics(), "plan.order",
                            "--set: plan.order: the tensor-parallel group (tp 8) spans 8"))
      << strided.diagnostics().Format();

  const std::string nvl72 = Write("nvl72.yaml",
                                  "model: llama3-70b\n"
                                  "cluster: {base: gb200-nvl72, chips: 144}\n"
                                  "plan: {tp: 16, dp: 9, global_batch_size: 144}\n");
  core::Result<LoadedScenario> rack = LoadScenario(TestCatalog(), nvl72);
  ASSERT_TRUE(rack.ok()) << rack.diagnostics().Format();
  // 72 is not a multiple of 16: the group at ranks 64..79 has 8 members in each rack.
  EXPECT_TRUE(HasDiagnostic(rack.diagnostics(), "plan.tp",
                            "some tensor-parallel groups (tp 16) straddle two scale-up domains "
                            "of 72 chips, 8 of their members in one"))
      << rack.diagnostics().Format();
  core::Result<LoadedScenario> eight =
      LoadScenario(TestCatalog(), nvl72, {{"plan.tp", "8"}, {"plan.dp", "18"}});
  ASSERT_TRUE(eight.ok()) << eight.diagnostics().Format();
  EXPECT_TRUE(eight.diagnostics().empty()) << eight.diagnostics().Format();
}

TEST_F(LoaderTest, SwitchHopsTakeTheClustersHopLatency) {
  // Tiers without a latency take scale_out.hop_latency; the leaf is crossed once, each
  // tier above twice; a fabric without tiers is one ideal switch, one hop, with a warning.
  const std::string file = Write("c.yaml",
                                 "base: dgx-h100-superpod\n"
                                 "name: c\n"
                                 "chips: 4096\n"
                                 "scale_out:\n"
                                 "  latency: 5us\n"
                                 "  hop_latency: 300ns\n"
                                 "  tiers: [{name: leaf, radix: 64}, {name: spine, radix: 64},\n"
                                 "          {name: core, radix: 64, latency: 1us}]\n");
  core::Result<network::ClusterSpec> c = LoadCluster(TestCatalog(), file);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  const auto& l = c.value().hierarchy.levels;
  ASSERT_EQ(l.size(), 4u);
  EXPECT_NEAR(l[0].latency, 5.3e-6, 1e-12);  // NIC -> leaf -> NIC
  EXPECT_NEAR(l[1].latency, 5.9e-6, 1e-12);  // + up and down a spine
  EXPECT_NEAR(l[2].latency, 7.9e-6, 1e-12);  // + up and down a core (1 us each)
  EXPECT_TRUE(c.diagnostics().empty()) << c.diagnostics().Format();

  const std::string flat = Write("flat.yaml",
                                 "base: dgx-h100-superpod\n"
                                 "name: flat\n"
                                 "chips: 16384\n"
                                 "scale_out: {tiers: []}\n");
  core::Result<network::ClusterSpec> one = LoadCluster(TestCatalog(), flat);
  ASSERT_TRUE(one.ok()) << one.diagnostics().Format();
  EXPECT_NEAR(one.value().hierarchy.levels[0].latency, 5.25e-6, 1e-12);  // the catalog's 250 ns
  EXPECT_TRUE(HasDiagnostic(one.diagnostics(), "scale_out.tiers",
                            "scale-out network of 16384 chips is modelled as one ideal switch"))
      << one.diagnostics().Format();
}

// A cluster derived with `base:` and no description of its own says whose description it
// shows and its own chip count, not the base's "= 1024 GPUs" as its own; one that gives a
// description keeps it, and a chain of bases names the one that wrote the description.
TEST_F(LoaderTest, ADerivedClustersDescriptionSaysItsBase) {
  const std::string superpod = LoadCluster(TestCatalog(), "dgx-h100-superpod").value().description;
  const std::string small = Write("small.yaml", "base: dgx-h100-superpod\nchips: 64\n");
  core::Result<network::ClusterSpec> c = LoadCluster(TestCatalog(), small);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  EXPECT_EQ(c.value().description,
            "based on dgx-h100-superpod, resized to 64 chips (its "
            "description: " +
                superpod + ")");
  const std::string smaller = Write("smaller.yaml", "base: small.yaml\nchips: 32\n");
  c = LoadCluster(TestCatalog(), smaller);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  EXPECT_EQ(c.value().description,
            "based on dgx-h100-superpod, resized to 32 chips (its "
            "description: " +
                superpod + ")");
  const std::string same = Write("same.yaml", "base: dgx-h100-superpod\nname: same\n");
  c = LoadCluster(TestCatalog(), same);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  EXPECT_EQ(c.value().description,
            "based on dgx-h100-superpod (its description: " + superpod + ")");
  const std::string own =
      Write("own.yaml", "base: dgx-h100-superpod\nchips: 64\ndescription: eight nodes\n");
  c = LoadCluster(TestCatalog(), own);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  EXPECT_EQ(c.value().description, "eight nodes");
  const std::string on_own = Write("on_own.yaml", "base: own.yaml\nchips: 16\n");
  c = LoadCluster(TestCatalog(), on_own);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  EXPECT_EQ(c.value().description,
            "based on own.yaml, resized to 16 chips (its description: "
            "eight nodes)");
  // The catalog's own derived entry gives its description.
  EXPECT_EQ(LoadCluster(TestCatalog(), "dgx-h100").value().description.rfind("One NVIDIA", 0), 0u);
}

// Extension fields: a top-level `x-` key of any file holds anchors and is not read; below
// the top level it is an unknown key, whose hint says where x- keys go.
TEST_F(LoaderTest, TopLevelExtensionKeysHoldAnchors) {
  Write("x_model.yaml", "x-sizes: {seq: &seq 4096}\nbase: llama3-8b\nseq_len: *seq\n");
  Write("x_cluster.yaml", "x-note: a cluster of 16\nbase: dgx-h100-superpod\nchips: 16\n");
  Write("x_plan.yaml", "x-batch: &batch 32\ntp: 8\ndp: 2\nglobal_batch_size: *batch\n");
  const std::string file =
      Write("x_scenario.yaml",
            "x-defaults:\n"
            "  fabric: &fabric 800Gbps\n"
            "x-unused: [1, 2, {anything: goes}]\n"
            "model: x_model.yaml\n"
            "cluster: {base: x_cluster.yaml, scale_out: {bandwidth: *fabric}}\n"
            "plan: x_plan.yaml\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_EQ(s.value().scenario.model.seq_len, 4096);
  EXPECT_EQ(s.value().scenario.cluster.chips, 16);
  EXPECT_DOUBLE_EQ(s.value().scenario.cluster.scale_out.bandwidth.value(), 100e9);
  EXPECT_EQ(s.value().scenario.plan.global_batch_size, 32);

  const std::string nested = Write("x_nested.yaml",
                                   "model: {base: llama3-8b, x-note: 1}\n"
                                   "cluster: {base: dgx-h100-superpod, chips: 16}\n"
                                   "plan: {tp: 8, dp: 2, global_batch_size: 32}\n");
  s = LoadScenario(TestCatalog(), nested);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasDiagnostic(s.diagnostics(), "model.x-note", "unknown key \"x-note\""))
      << s.diagnostics().Format();
  EXPECT_NE(s.diagnostics().Format().find("read at a file's top level only"), std::string::npos)
      << s.diagnostics().Format();
  // "X-" and "x_" are no extension keys.
  const std::string upper = Write("x_upper.yaml",
                                  "X-note: 1\nmodel: llama3-8b\n"
                                  "cluster: {base: dgx-h100-superpod, chips: 16}\n"
                                  "plan: {tp: 8, dp: 2, global_batch_size: 32}\n");
  s = LoadScenario(TestCatalog(), upper);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasDiagnostic(s.diagnostics(), "X-note", "unknown key")) << s.diagnostics().Format();
}

TEST_F(LoaderTest, RampsArePerStepAndPerFabric) {
  // The catalog's NVLink 4 ramp was measured on an 8-rank all-reduce: a step's half size is
  // 85 MB / 8, with the low-latency onset of 3 us x 450 GB/s x 0.82; InfiniBand has no
  // measured curve (no ramp beyond the latency term); a send/recv's half size defaults to
  // a step's and can be given.
  const std::string file = Write(
      "s.yaml",
      "model: llama3-8b\n"
      "cluster: {base: dgx-h100-superpod, chips: 16, scale_up: {p2p_half_bandwidth_size: 1MB}}\n"
      "plan: {tp: 8, global_batch_size: 16}\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  const network::ClusterSpec& c = s.value().scenario.cluster;
  EXPECT_DOUBLE_EQ(c.scale_up.half_bandwidth_size.value(), 85e6);
  EXPECT_EQ(c.scale_up.half_bandwidth_ranks, 8);
  EXPECT_DOUBLE_EQ(c.scale_up.StepHalfBandwidthSize().value(), 85e6 / 8);
  EXPECT_DOUBLE_EQ(c.scale_up.low_latency_size.value(), 1.1e6);
  EXPECT_DOUBLE_EQ(c.scale_up.P2pHalfBandwidthSize().value(), 1e6);
  EXPECT_EQ(c.scale_out.half_bandwidth_size.value(), 0);
  EXPECT_DOUBLE_EQ(c.message_overhead.value(), 0.83e-6);
  network::ClusterSpec unset = c;
  unset.scale_up.p2p_half_bandwidth_size = core::Bytes(-1);
  EXPECT_DOUBLE_EQ(unset.scale_up.P2pHalfBandwidthSize().value(), 85e6 / 8);
}

// A scenario of llama3-8b on 8 chips of dgx-h100-superpod whose chip is `chip` inline.
std::string WithChip(const std::string& chip) {
  return "model: llama3-8b\ncluster:\n  base: dgx-h100-superpod\n  chips: 8\n  chip: " + chip +
         "\n" + kPlan;
}

TEST_F(LoaderTest, NestedChipBaseOverride) {
  const std::string file = Write("s.yaml", WithChip("{base: h100, memory: {capacity: 96GB}}"));
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_DOUBLE_EQ(s.value().scenario.cluster.chip.hbm_capacity.value(), 96e9);
  EXPECT_EQ(s.value().scenario.cluster.chip.name, "h100-sxm");
}

// HBM bandwidth is quoted in bytes a second: one given in bits (8 times less) is warned of at
// its key, in a chip file or inline; one in bytes is not.
TEST_F(LoaderTest, AnHbmBandwidthInBitsIsWarnedOf) {
  for (const char* given : {"3.35Tbps", "3350Gb/s"}) {
    const std::string file =
        Write("s.yaml", WithChip(std::string("{base: h100, memory: {bandwidth: ") + given + "}}"));
    core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
    ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
    EXPECT_TRUE(HasDiagnostic(s.diagnostics(), "cluster.chip.memory.bandwidth", "in bits a second"))
        << given << "\n"
        << s.diagnostics().Format();
  }
  const std::string bytes =
      Write("b.yaml", WithChip("{base: h100, memory: {bandwidth: 3.35TBps}}"));
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), bytes);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_FALSE(HasDiagnostic(s.diagnostics(), "cluster.chip.memory.bandwidth", "bits"))
      << s.diagnostics().Format();
}

// A file of another kind given for a section is said as such, once, with where it goes.
TEST_F(LoaderTest, AFileOfAnotherKindIsNamed) {
  const std::string chip = Write("chip.yaml",
                                 "base: h100\nname: mine\nmemory: {capacity: 96GB}\n"
                                 "peak: {bf16: 900TFLOPS}\n");
  const std::string s = Write("s.yaml", "model: llama3-8b\ncluster: " + chip + "\n" + kPlan);
  core::Result<LoadedScenario> r = LoadScenario(TestCatalog(), s);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), "cluster", "is a chip file, not a cluster file"))
      << r.diagnostics().Format();
  EXPECT_EQ(r.diagnostics().size(), 1u) << r.diagnostics().Format();
  // One unknown key is a typo, said as one.
  const std::string typo = Write("t.yaml",
                                 "model: llama3-8b\ncluster: dgx-h100-superpod\n"
                                 "plan: {tp: 8, global_batch_size: 8, tpp: 1}\n");
  r = LoadScenario(TestCatalog(), typo);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), "plan.tpp", "unknown key"))
      << r.diagnostics().Format();
}

TEST_F(LoaderTest, PathsAreRelativeToTheReferringFile) {
  Write("sub/model.yaml", "base: llama3-8b\nname: mine\nlayers: 16\n");
  Write("sub/plans/plan.yaml", "tp: 8\nglobal_batch_size: 8\n");
  const std::string file = Write("sub/s.yaml",
                                 "model: model.yaml\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan: plans/plan.yaml\n");
  const fs::path cwd = fs::current_path();
  fs::current_path(fs::temp_directory_path());
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  fs::current_path(cwd);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_EQ(s.value().scenario.model.name, "mine");
  EXPECT_EQ(s.value().scenario.model.layers, 16);
  EXPECT_EQ(s.value().scenario.plan.tp, 8);
  // The source map points at the file each key came from.
  const SourceMap& where = s.value().where;
  ASSERT_TRUE(where.count("model.layers"));
  EXPECT_NE(where.at("model.layers").file.find("model.yaml"), std::string::npos);
  EXPECT_EQ(where.at("model.layers").line, 3);
}

TEST_F(LoaderTest, LoadPartsTakesThreeReferences) {
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 8\n");
  core::Result<LoadedScenario> s = LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_EQ(s.value().scenario.plan.dp, 128);
  EXPECT_EQ(s.value().scenario.name, "plan");
}

// Looking an alias up reads only the catalog's regular files: a FIFO among the entries
// (which would block) or a file that is not YAML is passed over.
TEST_F(LoaderTest, AliasLookupReadsOnlyRegularEntries) {
  const fs::path chips = dir_ / "catalog" / "chips";
  fs::create_directories(chips);
  ASSERT_EQ(::mkfifo((chips / "pipe.yaml").c_str(), 0600), 0);
  std::ofstream(chips / "broken.yaml") << "aliases: [unclosed\n";
  std::ofstream(chips / "real.yaml") << "name: real\naliases: [other-name]\n";
  const Catalog catalog((dir_ / "catalog").string());
  EXPECT_EQ(catalog.Find(Section::kChip, "other-name"), (chips / "real.yaml").string());
  EXPECT_EQ(catalog.Find(Section::kChip, "missing"), "");
  const std::vector<std::string> names = catalog.NamesAndAliases(Section::kChip);
  EXPECT_NE(std::find(names.begin(), names.end(), "other-name"), names.end());
}

// An alias two entries declare names neither: the lookup is an error naming both files
// (a chip derived from a catalog one, printed into the catalog, used to take its base's
// aliases and the base's place). A chip derived with `base:` answers to its own name only.
TEST_F(LoaderTest, AnAliasOfTwoEntriesIsAnErrorAndDerivedChipsHaveNone) {
  const fs::path chips = dir_ / "catalog" / "chips";
  fs::create_directories(chips);
  std::ofstream(chips / "one.yaml") << "name: one\naliases: [shared, first]\n";
  std::ofstream(chips / "two.yaml") << "name: two\naliases: [shared]\n";
  const Catalog catalog((dir_ / "catalog").string());
  EXPECT_EQ(catalog.Find(Section::kChip, "shared"), "");
  EXPECT_EQ(
      catalog.FindAll(Section::kChip, "shared"),
      (std::vector<std::string>{(chips / "one.yaml").string(), (chips / "two.yaml").string()}));
  EXPECT_EQ(catalog.Find(Section::kChip, "first"), (chips / "one.yaml").string());
  core::Result<hardware::ChipSpec> shared = LoadChip(catalog, "shared");
  ASSERT_FALSE(shared.ok());
  const std::string message = shared.diagnostics().Format();
  EXPECT_NE(message.find("\"shared\" is an alias of 2 chips"), std::string::npos) << message;
  EXPECT_NE(message.find((chips / "two.yaml").string()), std::string::npos) << message;

  const std::string derived = Write("slow.yaml", "base: h100-sxm\nname: slow\n");
  core::Result<hardware::ChipSpec> slow = LoadChip(TestCatalog(), derived);
  ASSERT_TRUE(slow.ok()) << slow.diagnostics().Format();
  EXPECT_TRUE(slow.value().aliases.empty());
  const std::string named = Write("named.yaml", "base: h100-sxm\nname: n\naliases: [mine]\n");
  core::Result<hardware::ChipSpec> own = LoadChip(TestCatalog(), named);
  ASSERT_TRUE(own.ok()) << own.diagnostics().Format();
  EXPECT_EQ(own.value().aliases, (std::vector<std::string>{"mine"}));
  EXPECT_FALSE(LoadChip(TestCatalog(), "h100-sxm").value().aliases.empty());
}

// A model file may derive from a Hugging Face config.json with `base:`, as a scenario's
// model mapping may (the file's base was read as a Fathom model: 23 unknown keys).
TEST_F(LoaderTest, AModelFilesBaseMayBeAConfigJson) {
  const std::string model = Write("mine.yaml", "base: " FATHOM_SOURCE_DIR
                                               "/tests/fixtures/hf/llama3-8b.json\n"
                                               "name: mine\nseq_len: 4096\n");
  core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), model);
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_EQ(m.value().name, "mine");
  EXPECT_EQ(m.value().seq_len, 4096);
  EXPECT_EQ(m.value().layers, 32);
  EXPECT_TRUE(m.diagnostics().empty()) << m.diagnostics().Format();
}

// A check of two keys blames the one the user gave, not its partner in the base: heads: 33
// over Llama 3 8B's kv_heads: 8 points at the heads line, max_positions: 100 under GPT-3's
// seq_len of 2048 at the max_positions line.
TEST_F(LoaderTest, AChecksLocationIsTheKeyTheUserGaveNotTheBases) {
  const std::string heads = Write("heads.yaml", "base: llama3-8b\nname: mine\nheads: 33\n");
  core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), heads);
  ASSERT_FALSE(m.ok());
  ASSERT_FALSE(m.diagnostics().items().empty());
  EXPECT_EQ(m.diagnostics().items().front().file, heads) << m.diagnostics().Format();
  EXPECT_EQ(m.diagnostics().items().front().line, 3);
  EXPECT_EQ(m.diagnostics().items().front().key, "heads");
  const std::string table =
      Write("table.yaml", "base: gpt3-175b\nname: mine\nmax_positions: 100\n");
  m = LoadModel(TestCatalog(), table);
  ASSERT_FALSE(m.ok());
  ASSERT_FALSE(m.diagnostics().items().empty());
  EXPECT_EQ(m.diagnostics().items().front().file, table) << m.diagnostics().Format();
  EXPECT_EQ(m.diagnostics().items().front().key, "max_positions");
}

// Keys that another's value makes moot warn where the user gave them: two norms of a layer
// that is not parallel, attention or MLP biases under bias: true.
TEST_F(LoaderTest, KeysAnotherMakesMootWarn) {
  const std::string model = Write("moot.yaml",
                                  "base: llama3-8b\nname: mine\nparallel_norms: 2\nbias: true\n"
                                  "attention_bias: all\nmlp_bias: true\n");
  core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), model);
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  const std::string text = m.diagnostics().Format();
  EXPECT_NE(text.find("moot.yaml:3: parallel_norms: parallel_norms (2) has no effect"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("moot.yaml:5: attention_bias: attention_bias has no effect"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("moot.yaml:6: mlp_bias: mlp_bias has no effect"), std::string::npos) << text;
  // With a parallel layer, two norms are what they say.
  const std::string parallel =
      Write("parallel.yaml",
            "base: llama3-8b\nname: mine\nparallel_attention: true\nparallel_norms: 2\n");
  m = LoadModel(TestCatalog(), parallel);
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_TRUE(m.diagnostics().empty()) << m.diagnostics().Format();
}

// A file that is no text, and keys that are no names, say so: a NUL byte at its line and
// column (yaml-cpp said "unknown escape character"), a key of Latin-1 bytes escaped, a YAML
// merge key named as one.
TEST_F(LoaderTest, BytesThatAreNoTextAndMergeKeysSaySo) {
  const std::string scenario = "cluster: {base: dgx-h100-superpod, chips: 8}\n";
  const std::string nul = Write("nul.yaml", std::string("model: llama3-8b\0\n", 18) + scenario);
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), nul);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.diagnostics().Format().find("nul.yaml:1: the file holds a NUL byte (line 1, "
                                          "column 17): it is not text"),
            std::string::npos)
      << s.diagnostics().Format();
  const std::string latin =
      Write("latin.yaml", "model: llama3-8b\n" + scenario + "plan: {tp: 8, \xFF\xFE: 1}\n");
  s = LoadScenario(TestCatalog(), latin);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.diagnostics().Format().find(
                "plan.\\xFF\\xFE: unknown key \"\\xFF\\xFE\": its name is not UTF-8 text"),
            std::string::npos)
      << s.diagnostics().Format();
  EXPECT_EQ(s.diagnostics().Format().find('\xFF'), std::string::npos);
  const std::string merge = Write("merge.yaml", "model: llama3-8b\n" + scenario +
                                                    "plan: {<<: {tp: 8}, global_batch_size: 8}\n");
  s = LoadScenario(TestCatalog(), merge);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.diagnostics().Format().find("plan.<<: a YAML merge key (<<: *anchor): merge keys "
                                          "are not read"),
            std::string::npos)
      << s.diagnostics().Format();
}

// A chip swapped into a cluster keeps the cluster's links, with a warning that says what
// to set to model the chip's own; a link the user sets by --set (or sweeps) is meant as
// given and draws none (it told a sweep of the scale-out bandwidth to set that bandwidth).
TEST_F(LoaderTest, ASwappedChipsLinksWarnUnlessTheUserGaveThem) {
  const std::string file = FATHOM_SOURCE_DIR "/examples/llama3-70b-64-h100-fp8.yaml";
  core::Result<LoadedScenario> swapped =
      LoadScenario(TestCatalog(), file, {{"cluster.chip", "mi300x", "--set"}});
  ASSERT_TRUE(swapped.ok()) << swapped.diagnostics().Format();
  EXPECT_NE(swapped.diagnostics().Format().find(
                "cluster.scale_up.bandwidth: the cluster's 450 GB/s is used, not the mi300x "
                "chip's 448 GB/s; set cluster.scale_up.bandwidth to 448 GB/s to model the chip's "
                "own links"),
            std::string::npos)
      << swapped.diagnostics().Format();
  core::Result<LoadedScenario> given = LoadScenario(
      TestCatalog(), file,
      {{"cluster.chip", "mi300x", "--set"}, {"cluster.scale_up.bandwidth", "450GBps", "--set"}});
  ASSERT_TRUE(given.ok()) << given.diagnostics().Format();
  EXPECT_EQ(given.diagnostics().Format().find("is used, not the"), std::string::npos)
      << given.diagnostics().Format();
}

// A device is never read: /dev/zero has no end. A pipe is read to its end (a scenario
// generated with `<(...)` or piped to /dev/stdin), as is standard input for "-". A file
// over the limit is an error naming the path.
TEST_F(LoaderTest, PipesAreReadAndDevicesAndOversizedFilesRefused) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string text = "model: llama3-8b\n";
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  const std::string pipe_path = "/dev/fd/" + std::to_string(fds[0]);
  core::Result<std::string> piped = ReadFile(pipe_path);
  ::close(fds[0]);
  ASSERT_TRUE(piped.ok()) << piped.diagnostics().Format();
  EXPECT_EQ(piped.value(), text);
  EXPECT_TRUE(NamesFileToRead("-"));

  core::Result<LoadedScenario> zero = LoadScenario(TestCatalog(), "/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(
      zero.diagnostics().Format().find("/dev/zero: is a character device, not a regular file"),
      std::string::npos)
      << zero.diagnostics().Format();

  // A section naming a device: the device is refused, not looked up as a catalog name.
  const std::string scenario =
      Write("s.yaml", "model: /dev/zero\ncluster: {base: dgx-h100-superpod, chips: 8}\n" +
                          std::string(kPlan));
  core::Result<LoadedScenario> named = LoadScenario(TestCatalog(), scenario);
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.diagnostics().Format().find("character device"), std::string::npos)
      << named.diagnostics().Format();

  const fs::path big = dir_ / "big.yaml";
  std::ofstream(big) << "name: big\n";
  fs::resize_file(big, (16u << 20) + 1);  // sparse: nothing is written
  core::Result<std::string> large = ReadFile(big.string());
  ASSERT_FALSE(large.ok());
  EXPECT_NE(large.diagnostics().Format().find("file is too large"), std::string::npos)
      << large.diagnostics().Format();
}

// A check across keys of a model given with -m names the file, and the line of the key
// where the file gives it.
TEST_F(LoaderTest, ModelCrossKeyChecksNameTheFile) {
  const std::string model = Write("m.yaml",
                                  "name: m\nlayers: 2\nhidden: 64\nheads: 1\nkv_heads: 8\n"
                                  "ffn_hidden: 256\nvocab: 100\nseq_len: 16\n");
  const std::string plan = Write("plan.yaml", "tp: 1\nglobal_batch_size: 8\n");
  core::Result<LoadedScenario> s = LoadParts(TestCatalog(), model, "dgx-h100-superpod", plan);
  ASSERT_FALSE(s.ok());
  bool found = false;
  for (const core::Diagnostic& x : s.diagnostics().items()) {
    if (x.key != "model.kv_heads") continue;
    found = true;
    EXPECT_EQ(x.file, model);
    EXPECT_EQ(x.line, 5);
  }
  EXPECT_TRUE(found) << s.diagnostics().Format();
}

// A number written "-0.0" is read as 0: a rate of -0 is not printed as "-0.000".
TEST(Schema, NegativeZeroNumberIsZero) {
  KeyInfo rate;
  rate.path = "rate";
  rate.type = ValueType::kNumber;
  rate.min = 0;
  Value v;
  std::string error, hint;
  ASSERT_TRUE(ConvertValue(rate, YAML::Node("-0.0"), v, error, hint)) << error;
  EXPECT_EQ(v.d, 0);
  EXPECT_FALSE(std::signbit(v.d));
}

TEST_F(LoaderTest, MissingRequiredKey) {
  const std::string model =
      Write("m.yaml", "name: m\nlayers: 2\nhidden: 64\nheads: 4\nvocab: 100\nseq_len: 16\n");
  core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), model);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(HasDiagnostic(m.diagnostics(), "ffn_hidden", "missing required key"))
      << m.diagnostics().Format();
}

TEST_F(LoaderTest, UnitErrors) {
  const std::string file = Write("s.yaml",
                                 "model: llama3-8b\n"
                                 "cluster:\n"
                                 "  base: dgx-h100-superpod\n"
                                 "  chips: 8\n"
                                 "  scale_up: {bandwidth: 400, latency: 3GB}\n"
                                 "  scale_out: {bandwidth: 400Gbs}\n" +
                                     std::string(kPlan));
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_FALSE(s.ok());
  const core::Diagnostics& d = s.diagnostics();
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_up.bandwidth", "bare number \"400\"")) << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_up.latency", "\"GB\"")) << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_out.bandwidth", "did you mean \"Gbps\"?"))
      << d.Format();
  for (const core::Diagnostic& x : d.items()) {
    EXPECT_EQ(x.file, file);
    EXPECT_GT(x.line, 0) << x.Format();
  }
}

TEST_F(LoaderTest, UnknownKeySuggestsTheClosest) {
  const std::string file =
      Write("s.yaml",
            "model: {base: llama3-8b, hiden: 4096}\n"
            "cluster: {base: dgx-h100-superpod, chips: 8, scale_up: {bandwith: 1TBps}}\n"
            "plan: {tp: 8, global_batch_size: 8, recompute: ful}\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_FALSE(s.ok());
  const core::Diagnostics& d = s.diagnostics();
  EXPECT_TRUE(HasDiagnostic(d, "model.hiden", "did you mean \"hidden\"?")) << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_up.bandwith", "did you mean \"bandwidth\"?"))
      << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "plan.recompute", "did you mean \"full\"?")) << d.Format();
}

TEST_F(LoaderTest, UnknownCatalogNameSuggestsTheClosest) {
  const std::string file = Write("s.yaml",
                                 "model: llama3-8c\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8, chip: h100-sxn}\n" +
                                     std::string(kPlan));
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_FALSE(s.ok());
  const core::Diagnostics& d = s.diagnostics();
  EXPECT_TRUE(HasDiagnostic(d, "model", "did you mean \"llama3-8b\"?")) << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "cluster.chip", "did you mean \"h100-sxm\"?")) << d.Format();
}

TEST_F(LoaderTest, AllErrorsInAFileAreReportedAtOnce) {
  const std::string file =
      Write("s.yaml",
            "model: {base: llama3-8b, hiden: 4096, layers: -1}\n"
            "cluster: {base: dgx-h100-superpod, chips: 8, scale_out: {bandwidth: 400Gbs}}\n"
            "plan: {tp: eight, global_batch_size: 8, order: tp-pp}\n"
            "extra: 1\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_FALSE(s.ok());
  // The unknown top-level key stops the scenario before its sections are read.
  EXPECT_TRUE(HasDiagnostic(s.diagnostics(), "extra", "unknown key")) << s.diagnostics().Format();

  const std::string file2 =
      Write("s2.yaml",
            "model: {base: llama3-8b, hiden: 4096, layers: -1}\n"
            "cluster: {base: dgx-h100-superpod, chips: 8, scale_out: {bandwidth: 400Gbs}}\n"
            "plan: {tp: eight, global_batch_size: 8}\n");
  core::Result<LoadedScenario> s2 = LoadScenario(TestCatalog(), file2);
  ASSERT_FALSE(s2.ok());
  const core::Diagnostics& d = s2.diagnostics();
  EXPECT_TRUE(HasDiagnostic(d, "model.hiden", "unknown key")) << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "model.layers", "out of range")) << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_out.bandwidth", "unknown unit")) << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "plan.tp", "expected an integer")) << d.Format();
  EXPECT_EQ(d.size(), 4u) << d.Format();
}

TEST_F(LoaderTest, MalformedFiles) {
  struct Case {
    const char* name;
    std::string text;
    const char* fragment;
  };
  const Case cases[] = {
      {"empty.yaml", "", "the file is empty"},
      {"list.yaml", "- a\n- b\n", "expected a mapping of keys at the top level"},
      {"truncated.yaml", "model: llama3-8b\nplan: {tp: 8, ", "cannot parse"},
      {"deep.yaml", "model: " + std::string(5000, '[') + std::string(5000, ']') + "\n",
       "cannot parse"},
      {"scalar.yaml", "42\n", "expected a mapping of keys at the top level"},
  };
  for (const Case& c : cases) {
    core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), Write(c.name, c.text));
    ASSERT_FALSE(s.ok()) << c.name;
    EXPECT_NE(s.diagnostics().Format().find(c.fragment), std::string::npos)
        << c.name << ": " << s.diagnostics().Format();
  }
  core::Result<LoadedScenario> missing = LoadScenario(TestCatalog(), (dir_ / "nope.yaml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.diagnostics().Format().find("no such file"), std::string::npos);
  core::Result<LoadedScenario> directory = LoadScenario(TestCatalog(), dir_.string());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.diagnostics().Format().find("directory"), std::string::npos);
}

TEST_F(LoaderTest, DuplicateKeyIsAnError) {
  const std::string file = Write("s.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan:\n  tp: 8\n  tp: 4\n  global_batch_size: 8\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HasDiagnostic(s.diagnostics(), "plan.tp", "key given twice"))
      << s.diagnostics().Format();
}

TEST_F(LoaderTest, BaseCycleIsReported) {
  const std::string a = Write("a.yaml", "base: b.yaml\nname: a\n");
  Write("b.yaml", "base: a.yaml\nname: b\n");
  core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), a);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.diagnostics().Format().find("nest too deeply"), std::string::npos)
      << m.diagnostics().Format();
}

TEST_F(LoaderTest, ModelDefaults) {
  const std::string model = Write("m.yaml",
                                  "name: m\nlayers: 2\nhidden: 64\nheads: 4\nffn_hidden: 256\n"
                                  "vocab: 100\nseq_len: 16\n");
  core::Result<model::ModelSpec> m = LoadModel(TestCatalog(), model);
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_EQ(m.value().kv_heads, 4);   // heads
  EXPECT_EQ(m.value().head_dim, 16);  // hidden / heads
  EXPECT_EQ(m.value().activation, model::Activation::kSwiGLU);
  EXPECT_FALSE(m.value().tied_embeddings);
}

TEST_F(LoaderTest, PlanDefaults) {
  const std::string file = Write("s.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 32}\n"
                                 "plan: {tp: 8, pp: 2, vp: 2, global_batch_size: 16}\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  const parallel::ParallelPlan& p = s.value().scenario.plan;
  EXPECT_EQ(p.dp, 2);
  EXPECT_EQ(p.schedule, parallel::Schedule::kInterleaved);  // vp > 1 without a schedule
  EXPECT_EQ(p.zero, 1);
  EXPECT_EQ(p.order, "tp-cp-ep-dp-pp");
  EXPECT_EQ(p.precision, hardware::Precision::kBf16);
}

// The derived blocks of every shipped cluster (docs/network.md has the table).
TEST(Catalog, ClusterTopologies) {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"dgx-h100-superpod", {8, 256, 1024}},
      {"eos", {8, 256, 1024, 11616}},
      {"dgx-a100-superpod", {8, 160, 320, 1120}},
      {"meta-24k-h100-roce", {8, 16, 3072, 24576}},
      {"xai-100k-h100", {8, 512, 4096, 100000}},
      {"deepseek-h800", {8, 256, 2048}},
      {"mi300x-rail-1k", {8, 256, 1024}},
      {"h100-tor-fat-tree", {8, 48, 3072}},
      {"gb200-nvl72-superpod", {72, 72, 576}},
      {"tpu-v4-pod", {4096}},
      {"dgx-b200", {8}},
  };
  for (const auto& [name, blocks] : expected) {
    core::Result<network::ClusterSpec> c = LoadCluster(TestCatalog(), name);
    ASSERT_TRUE(c.ok()) << name << ": " << c.diagnostics().Format();
    std::vector<int64_t> got;
    for (const network::HierarchyLevel& l : c.value().hierarchy.levels) got.push_back(l.block);
    EXPECT_EQ(got, blocks) << name;
  }
  core::Result<network::ClusterSpec> meta = LoadCluster(TestCatalog(), "meta-24k-h100-roce");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta.value().fabric_kind, network::FabricKind::kFatTree);
  EXPECT_DOUBLE_EQ(meta.value().tiers[1].oversubscription, 7);
  core::Result<network::ClusterSpec> ds = LoadCluster(TestCatalog(), "deepseek-h800");
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(ds.value().planes, 8);
  core::Result<network::ClusterSpec> tpu = LoadCluster(TestCatalog(), "tpu-v4-pod");
  ASSERT_TRUE(tpu.ok());
  EXPECT_EQ(tpu.value().domain_kind, network::DomainKind::kTorus);
  EXPECT_EQ(tpu.value().torus_dims, (std::vector<int>{16, 16, 16}));
  core::Result<network::ClusterSpec> mi = LoadCluster(TestCatalog(), "mi300x-rail-1k");
  ASSERT_TRUE(mi.ok());
  EXPECT_EQ(mi.value().domain_kind, network::DomainKind::kFullMesh);
}

TEST_F(LoaderTest, TiersReplaceTheBaseList) {
  const std::string file = Write("s.yaml",
                                 "model: llama3-8b\n"
                                 "cluster:\n"
                                 "  base: dgx-h100-superpod\n"
                                 "  chips: 3072\n"
                                 "  scale_out:\n"
                                 "    topology: fat_tree\n"
                                 "    chips_per_nic: 2\n"
                                 "    message_overhead: 2us\n"
                                 "    tiers:\n"
                                 "      - {name: tor, radix: 64, oversubscription: 3}\n"
                                 "      - {name: spine, block: 3072, latency: 300ns}\n" +
                                     std::string(kPlan));
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  const network::ClusterSpec& c = s.value().scenario.cluster;
  ASSERT_EQ(c.tiers.size(), 2u);
  EXPECT_EQ(c.tiers[0].name, "tor");
  EXPECT_DOUBLE_EQ(c.tiers[0].oversubscription, 3);
  EXPECT_EQ(c.tiers[1].radix, 0);  // the default
  EXPECT_DOUBLE_EQ(c.tiers[1].latency.value(), 300e-9);
  EXPECT_DOUBLE_EQ(c.message_overhead.value(), 2e-6);
  // The base's 400Gbps is per NIC port, now shared by 2 chips.
  EXPECT_DOUBLE_EQ(c.NicPerChip(), 50e9 / 2);
  // 48 of 64 ports down, one NIC per 2 chips: 96 chips per ToR.
  ASSERT_EQ(c.hierarchy.levels.size(), 3u);
  EXPECT_EQ(c.hierarchy.levels[1].block, 96);
  EXPECT_EQ(c.hierarchy.levels[2].block, 3072);
}

TEST_F(LoaderTest, ChipsPerNicScalesTheChipDefault) {
  const std::string file = Write("c.yaml",
                                 "name: c\nchip: h100-sxm\nchips: 16\n"
                                 "scale_up: {latency: 3us, efficiency: 0.8}\n"
                                 "scale_out: {latency: 5us, efficiency: 0.8, chips_per_nic: 2}\n");
  core::Result<network::ClusterSpec> c = LoadCluster(TestCatalog(), file);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  EXPECT_DOUBLE_EQ(c.value().scale_out.bandwidth.value(), 2 * 50e9);  // per NIC port
  EXPECT_DOUBLE_EQ(c.value().NicPerChip(), 50e9);                     // per chip, as the chip says
  // Said, with what to set for fewer NICs: the share per chip is unchanged.
  EXPECT_TRUE(HasDiagnostic(c.diagnostics(), "scale_out.chips_per_nic",
                            "note: " + file +
                                ":5: scale_out.chips_per_nic: 2 chips share each NIC "
                                "port, and no scale_out.bandwidth is given"))
      << c.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(c.diagnostics(), "scale_out.chips_per_nic",
                            "set scale_out.bandwidth to 50 GB/s too"))
      << c.diagnostics().Format();
}

TEST_F(LoaderTest, TopologyErrorsPointAtTheirLine) {
  const std::string file = Write("s.yaml",
                                 "model: llama3-8b\n"
                                 "cluster:\n"
                                 "  base: dgx-h100-superpod\n"
                                 "  chips: 4096\n"
                                 "  scale_out:\n"
                                 "    tiers:\n"
                                 "      - {name: leaf, radix: 64}\n"
                                 "      - {name: spine, block: 1000}\n"
                                 "      - {name: core, radix: 64, colour: red}\n" +
                                     std::string(kPlan));
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file);
  ASSERT_FALSE(s.ok());
  const core::Diagnostics& d = s.diagnostics();
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_out.tiers[2].colour", "s.yaml:9")) << d.Format();
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_out.tiers[2].colour", "unknown key")) << d.Format();

  const std::string nested = Write("n.yaml",
                                   "model: llama3-8b\n"
                                   "cluster:\n"
                                   "  base: dgx-h100-superpod\n"
                                   "  chips: 4096\n"
                                   "  scale_out:\n"
                                   "    tiers:\n"
                                   "      - {name: leaf, radix: 64}\n"
                                   "      - {name: spine, block: 1000}\n" +
                                       std::string(kPlan));
  core::Result<LoadedScenario> n = LoadScenario(TestCatalog(), nested);
  ASSERT_FALSE(n.ok());
  EXPECT_TRUE(HasDiagnostic(n.diagnostics(), "cluster.scale_out.tiers[1].block",
                            "n.yaml:8: cluster.scale_out.tiers[1].block: 1000 chips is not a "
                            "multiple of the level below (leaf, 256 chips)"))
      << n.diagnostics().Format();

  const std::string torus = Write("t.yaml",
                                  "model: llama3-8b\n"
                                  "cluster:\n"
                                  "  base: tpu-v4-pod\n"
                                  "  scale_up: {torus_dims: [16, 16, 16x]}\n" +
                                      std::string(kPlan));
  core::Result<LoadedScenario> t = LoadScenario(TestCatalog(), torus);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(HasDiagnostic(t.diagnostics(), "cluster.scale_up.torus_dims",
                            "expected an integer, got \"16x\""))
      << t.diagnostics().Format();
}

// --- Overrides (--set KEY=VALUE) ---

std::vector<Override> Set(const std::vector<std::string>& texts) {
  core::Result<std::vector<Override>> r = ParseOverrides(texts);
  EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
  return r.ok() ? r.value() : std::vector<Override>{};
}

core::Diagnostics SetErrors(const std::vector<std::string>& texts) {
  core::Result<std::vector<Override>> r = ParseOverrides(texts);
  EXPECT_FALSE(r.ok());
  return r.ok() ? core::Diagnostics{} : r.diagnostics();
}

// A cluster that gives no scale_up.kind takes its chip's: an MI300X's eight are a full mesh
// (a pair has one link), not a switch; a kind given wins; a torus chip without the
// cluster's torus_dims stays a switch, said.
TEST(Cluster, DomainKindComesFromTheChip) {
  auto load = [](const std::vector<std::string>& set) {
    core::Result<network::ClusterSpec> c =
        LoadCluster(TestCatalog(), "dgx-h100-superpod", Set(set));
    EXPECT_TRUE(c.ok()) << c.diagnostics().Format();
    return c;
  };
  EXPECT_EQ(load({}).value().domain_kind, network::DomainKind::kSwitch);
  EXPECT_EQ(load({"cluster.chip=mi300x"}).value().domain_kind, network::DomainKind::kFullMesh);
  EXPECT_EQ(load({"cluster.chip=mi300x", "cluster.scale_up.kind=switch"}).value().domain_kind,
            network::DomainKind::kSwitch);
  const core::Result<network::ClusterSpec> tpu = load({"cluster.chip=tpu-v5p"});
  EXPECT_EQ(tpu.value().domain_kind, network::DomainKind::kSwitch);
  EXPECT_NE(tpu.diagnostics().Format().find(
                "the tpu-v5p chip's domain is a torus, but the cluster gives no "
                "scale_up.torus_dims"),
            std::string::npos)
      << tpu.diagnostics().Format();
  const core::Result<network::ClusterSpec> torus =
      load({"cluster.chip=tpu-v5p", "cluster.scale_up.torus_dims=[2, 2, 2]"});
  EXPECT_EQ(torus.value().domain_kind, network::DomainKind::kTorus);
}

// Values spelled as people write them get the spelling the key takes: a count with
// separators, a suffix or an exponent; a fraction without its percent sign; an enum as
// Hugging Face spells it, or a switch where the key is a choice.
TEST_F(LoaderTest, CommonSpellingsGetTheKeysSpelling) {
  EXPECT_TRUE(HasDiagnostic(SetErrors({"cluster.chips=1,024"}), "cluster.chips",
                            "write it without separators: 1024"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"model.seq_len=8k"}), "model.seq_len",
                            "a count is written out: 8000, or 8192 if 8k is binary"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"cluster.chips=1e9"}), "cluster.chips",
                            "write it out as a whole number: 1000000000"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"reliability.spare_confidence=99"}),
                            "reliability.spare_confidence", "a fraction: 0.99 or 99%"));
  EXPECT_TRUE(
      HasDiagnostic(SetErrors({"plan.precision=bfloat16"}), "plan.precision", "write \"bf16\""));
  EXPECT_TRUE(
      HasDiagnostic(SetErrors({"plan.recompute=false"}), "plan.recompute", "write \"none\""));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"plan.recompute=true"}), "plan.recompute",
                            "the key is a choice, not a switch"));
}

// An out-of-range value's bounds are in the key's unit: a power in W, a fraction also as
// the percentage it may be given as.
TEST_F(LoaderTest, RangeErrorsCarryTheKeysUnit) {
  EXPECT_TRUE(
      HasDiagnostic(SetErrors({"training.cost.power=0W"}), "training.cost.power",
                    "\"0W\" is out of range: expected greater than 0 W and at most 100 kW"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"training.cost.power=1GW"}), "training.cost.power",
                            "expected greater than 0 W and at most 100 kW"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"reliability.spare_confidence=100%"}),
                            "reliability.spare_confidence",
                            "\"100%\" is out of range: expected a fraction greater than 0 and at "
                            "most 0.999999 (99.9999%)"));
  // A plain-number key given a percentage says how to write it.
  const core::Diagnostics pct = SetErrors({"cluster.scale_out.efficiency=80%"});
  ASSERT_FALSE(pct.items().empty());
  EXPECT_NE(pct.items()[0].hint.find("a fraction as 0.99, not 99%"), std::string::npos)
      << pct.Format();
  // A ratio above 1 is no fraction: a PUE of 130% is 1.3 (the hint said "0.99, not 99%").
  const core::Diagnostics pue = SetErrors({"training.cost.pue=130%"});
  ASSERT_FALSE(pue.items().empty());
  EXPECT_EQ(pue.items()[0].hint, "this key takes a plain number, without a unit: 1.3, not 130%")
      << pue.Format();
}

// A chip price given outside the catalog (--set, a scenario's own chip) says where it came
// from, not "catalog".
TEST_F(LoaderTest, AChipPriceGivenOutsideTheCatalogSaysWhere) {
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 1024\n");
  core::Result<LoadedScenario> catalog =
      LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan, {});
  ASSERT_TRUE(catalog.ok()) << catalog.diagnostics().Format();
  EXPECT_EQ(catalog.value().scenario.cluster.chip.price_given, "");
  core::Result<LoadedScenario> set =
      LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan,
                Set({"cluster.chip.price.usd_per_chip_hour=2"}));
  ASSERT_TRUE(set.ok()) << set.diagnostics().Format();
  EXPECT_EQ(set.value().scenario.cluster.chip.price_given,
            "--set cluster.chip.price.usd_per_chip_hour");
  const std::string file = Write("priced.yaml",
                                 "model: llama3-8b\n"
                                 "cluster:\n"
                                 "  base: dgx-h100-superpod\n"
                                 "  chip: {base: h100-sxm, price: {usd_per_chip_hour: 3}}\n"
                                 "plan: {tp: 8, global_batch_size: 1024}\n");
  core::Result<LoadedScenario> inline_chip = LoadScenario(TestCatalog(), file);
  ASSERT_TRUE(inline_chip.ok()) << inline_chip.diagnostics().Format();
  EXPECT_EQ(inline_chip.value().scenario.cluster.chip.price_given, file + ":4");
}

// A chip of the user's derived from a catalog entry inherits its price as that entry's; one
// under a catalog chip's name is warned about; an fp8 fraction without an fp8 peak too.
TEST_F(LoaderTest, AUserChipSaysWhatItTookFromTheCatalog) {
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 1024\n");
  const std::string derived =
      Write("fast.yaml", "base: h100-sxm\nname: h100-fast\nmemory: {bandwidth: 6.7TBps}\n");
  core::Result<LoadedScenario> fast = LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod",
                                                plan, Set({"cluster.chip=" + derived}));
  ASSERT_TRUE(fast.ok()) << fast.diagnostics().Format();
  EXPECT_EQ(fast.value().scenario.cluster.chip.price_given,
            "catalog: h100-sxm, inherited by h100-fast");
  EXPECT_EQ(fast.diagnostics().Format().find("warning"), std::string::npos)
      << fast.diagnostics().Format();
  const std::string same = Write("same.yaml",
                                 "base: h100-sxm\nname: h100-sxm\nmemory: {bandwidth: 6.7TBps}\n"
                                 "efficiency: {gemm_fp4: 0.5}\n");
  core::Result<LoadedScenario> named = LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod",
                                                 plan, Set({"cluster.chip=" + same}));
  ASSERT_TRUE(named.ok()) << named.diagnostics().Format();
  const std::string said = named.diagnostics().Format();
  EXPECT_NE(said.find(same + ":2: cluster.chip.name: \"h100-sxm\" is the name of the catalog's "
                             "chip"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("cluster.chip.efficiency.gemm_fp4: is given but the chip has no peak.fp4"),
            std::string::npos)
      << said;
}

TEST_F(LoaderTest, OverridesReplaceKeysBeforeValidation) {
  const std::string file = Write("s.yaml",
                                 "model: {base: llama3-8b, seq_len: 2048}\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 16}\n"
                                 "plan: {tp: 8, global_batch_size: 16}\n");
  core::Result<LoadedScenario> s =
      LoadScenario(TestCatalog(), file,
                   Set({"plan.tp=4", "cluster.chips=32", "model.seq_len=4096",
                        "cluster.scale_out.bandwidth=200Gbps", "plan.recompute=full"}));
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  const estimate::Scenario& sc = s.value().scenario;
  EXPECT_EQ(sc.plan.tp, 4);
  EXPECT_EQ(sc.cluster.chips, 32);
  EXPECT_EQ(sc.plan.dp, 8);  // chips / (tp x pp x cp), from the overridden values
  EXPECT_EQ(sc.model.seq_len, 4096);
  EXPECT_EQ(sc.model.layers, 32);  // the rest of the base stays
  EXPECT_DOUBLE_EQ(sc.cluster.scale_out.bandwidth.value(), 200e9 / 8);
  EXPECT_EQ(sc.plan.recompute, parallel::Recompute::kFull);
  // The source map says where each overridden key came from: the command line.
  EXPECT_EQ(s.value().where.at("plan.tp").file, "--set");
  EXPECT_EQ(s.value().where.at("plan.tp").line, 0);
  EXPECT_EQ(s.value().where.at("plan.global_batch_size").file, file);
}

TEST_F(LoaderTest, OverridesReachIntoCatalogEntries) {
  // Cluster and chip named by catalog name: their keys are overridden as if the scenario
  // said {base: NAME, KEY: VALUE}.
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 1024\n");
  core::Result<LoadedScenario> s =
      LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan,
                Set({"chip.memory.capacity=96GB", "cluster.scale_out.tiers[1].oversubscription=2",
                     "model.layers=16"}));
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  const estimate::Scenario& sc = s.value().scenario;
  EXPECT_DOUBLE_EQ(sc.cluster.chip.hbm_capacity.value(), 96e9);
  EXPECT_EQ(sc.cluster.chip.name, "h100-sxm");
  ASSERT_EQ(sc.cluster.tiers.size(), 3u);
  EXPECT_DOUBLE_EQ(sc.cluster.tiers[1].oversubscription, 2);
  EXPECT_DOUBLE_EQ(sc.cluster.tiers[0].oversubscription, 1);
  EXPECT_EQ(sc.model.layers, 16);
  EXPECT_EQ(sc.model.name, "llama3-8b");
}

TEST_F(LoaderTest, OverridesReplaceWholeSections) {
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 1024\n");
  core::Result<LoadedScenario> s =
      LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan,
                Set({"model={base: llama3-70b, seq_len: 4096}", "cluster.chip=h200-sxm"}));
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_EQ(s.value().scenario.model.layers, 80);
  EXPECT_EQ(s.value().scenario.model.seq_len, 4096);
  EXPECT_EQ(s.value().scenario.cluster.chip.name, "h200");
}

TEST_F(LoaderTest, OverrideKeysAreCanonical) {
  const std::vector<Override> o = Set({"chip.memory.capacity=96GB", "scenario.plan.tp=2"});
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o[0].key, "cluster.chip.memory.capacity");
  EXPECT_EQ(o[1].key, "plan.tp");
  EXPECT_EQ(o[0].origin, "--set");
}

TEST_F(LoaderTest, UnknownOverrideKeySuggestsTheClosest) {
  const core::Diagnostics d = SetErrors({"plan.tpp=4"});
  EXPECT_TRUE(HasDiagnostic(d, "plan.tpp", "unknown key \"tpp\""));
  EXPECT_TRUE(HasDiagnostic(d, "plan.tpp", "did you mean \"plan.tp\"?"));
  EXPECT_EQ(d.items()[0].file, "--set");
  EXPECT_TRUE(HasDiagnostic(SetErrors({"clustr.chips=8"}), "clustr.chips", "did you mean"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"plan.overlap=true"}), "plan.overlap", "a group of keys"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"plan.tp.x=1"}), "plan.tp.x", "one key"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"cluster.scale_out.tiers.radix=8"}),
                            "cluster.scale_out.tiers.radix", "is a list"));
  EXPECT_TRUE(
      HasDiagnostic(SetErrors({"tier.radix=8"}), "tier.radix", "cluster.scale_out.tiers[0].radix"));
}

// A misspelt component deep in a path is the one named, below the valid groups before it,
// as a file's unknown key is.
TEST_F(LoaderTest, UnknownOverrideKeyNamesTheBadComponent) {
  struct Case {
    const char* set;
    const char* key;
    const char* message;
    const char* guess;
  };
  for (const Case& c : {
           Case{"cluster.chip.memory.capcity=80GB", "cluster.chip.memory.capcity",
                "unknown key \"capcity\" in cluster.chip.memory", "cluster.chip.memory.capacity"},
           Case{"cluster.scale_out.bandwidht=400Gbps", "cluster.scale_out.bandwidht",
                "unknown key \"bandwidht\" in cluster.scale_out", "cluster.scale_out.bandwidth"},
           Case{"chip.peak.bf17=1PFLOPS", "chip.peak.bf17",
                "unknown key \"bf17\" in cluster.chip.peak", "cluster.chip.peak.bf16"},
           Case{"plan.overlap.tpp=true", "plan.overlap.tpp", "unknown key \"tpp\" in plan.overlap",
                "plan.overlap.tp"},
           Case{"cluster.scale_out.tiers[0].radx=8", "cluster.scale_out.tiers[0].radx",
                "unknown key \"radx\" in cluster.scale_out.tiers[0]",
                "cluster.scale_out.tiers[0].radix"},
           Case{"plan.tpp=4", "plan.tpp", "unknown key \"tpp\" in plan;", "plan.tp"},
       }) {
    const core::Diagnostics d = SetErrors({c.set});
    EXPECT_TRUE(HasDiagnostic(d, c.key, c.message)) << d.Format();
    EXPECT_TRUE(HasDiagnostic(d, c.key, std::string("did you mean \"") + c.guess + "\"?"))
        << d.Format();
  }
}

TEST_F(LoaderTest, BadOverrideValuesAreReportedAllAtOnce) {
  const core::Diagnostics d = SetErrors({"plan.tp=four", "cluster.scale_out.bandwidth=400Gbs",
                                         "cluster.scale_up.bandwidth=400", "plan.recompute=ful",
                                         "plan.pp=0", "plan.tp=", "nokey", "=4"});
  EXPECT_TRUE(HasDiagnostic(d, "plan.tp", "expected an integer, got \"four\""));
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_out.bandwidth", "did you mean \"Gbps\"?"));
  EXPECT_TRUE(HasDiagnostic(d, "cluster.scale_up.bandwidth", "unit"));
  EXPECT_TRUE(HasDiagnostic(d, "plan.recompute", "did you mean \"full\"?"));
  EXPECT_TRUE(HasDiagnostic(d, "plan.pp", "out of range"));
  EXPECT_TRUE(HasDiagnostic(d, "", "\"nokey\" is not KEY=VALUE"));
  EXPECT_TRUE(HasDiagnostic(d, "", "the key is missing"));
  EXPECT_GE(d.size(), 8u) << d.Format();
  EXPECT_TRUE(HasDiagnostic(SetErrors({"plan.tp=2", "plan.tp=4"}), "plan.tp", "given twice"));
  EXPECT_TRUE(HasDiagnostic(SetErrors({"plan.tp=[1"}), "plan.tp", "YAML"));
}

TEST_F(LoaderTest, OverrideErrorsNameTheCommandLine) {
  const std::string file = Write("s.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan: {tp: 8, dp: 1, global_batch_size: 8}\n");
  // Validation after the override: tp 3 does not divide the 32 heads.
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file, Set({"plan.tp=3"}));
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  core::Result<estimate::StepReport> r = estimate::Estimate(s.value().scenario);
  ASSERT_FALSE(r.ok());
  core::Diagnostics d = r.diagnostics();
  Locate(d, s.value().where);
  EXPECT_NE(d.Format().find("error: --set: plan.tp: tp (3) must divide the attention heads"),
            std::string::npos)
      << d.Format();
  // An item beyond the list, a section `fathom step` does not read, a bad chip name.
  auto errors = [&](const std::vector<std::string>& set) {
    core::Result<LoadedScenario> x = LoadScenario(TestCatalog(), file, Set(set));
    EXPECT_FALSE(x.ok());
    return x.ok() ? core::Diagnostics{} : x.diagnostics();
  };
  EXPECT_TRUE(HasDiagnostic(errors({"cluster.scale_out.tiers[3].radix=8"}),
                            "cluster.scale_out.tiers[3].radix", "has 3 (from [0] to [2])"));
  EXPECT_TRUE(HasDiagnostic(errors({"training.tokens=1T"}), "training.tokens",
                            "does not read the training section"));
  const core::Diagnostics chip = errors({"cluster.chip=h10"});
  EXPECT_TRUE(HasDiagnostic(chip, "cluster.chip", "did you mean"));
  EXPECT_EQ(chip.items()[0].Format().rfind("error: --set: cluster.chip: ", 0), 0u) << chip.Format();
}

TEST_F(LoaderTest, DpAutoFollowsTheChips) {
  const std::string file = Write("s.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 16}\n"
                                 "plan: {tp: 8, dp: 2, global_batch_size: 64}\n");
  core::Result<LoadedScenario> s =
      LoadScenario(TestCatalog(), file, Set({"cluster.chips=64", "plan.dp=auto"}));
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_EQ(s.value().scenario.plan.dp, 8);
}

// A changed chip keeps the cluster's own link figures; the loader says which it uses.
TEST_F(LoaderTest, AChangedChipWarnsWhereTheClusterKeepsItsLinks) {
  const std::string file = Write("links.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 64}\n"
                                 "plan: {tp: 8, dp: 8, global_batch_size: 64}\n");
  auto warned = [](const core::Diagnostics& d, const std::string& key) {
    for (const core::Diagnostic& x : d.items()) {
      if (x.severity == core::Severity::kWarning && x.key == key) return true;
    }
    return false;
  };
  core::Result<LoadedScenario> plain = LoadScenario(TestCatalog(), file, {});
  ASSERT_TRUE(plain.ok()) << plain.diagnostics().Format();
  EXPECT_FALSE(warned(plain.diagnostics(), "cluster.scale_up.bandwidth"));
  core::Result<LoadedScenario> faster =
      LoadScenario(TestCatalog(), file, Set({"chip.scale_up.bandwidth=900GBps"}));
  ASSERT_TRUE(faster.ok()) << faster.diagnostics().Format();
  EXPECT_TRUE(warned(faster.diagnostics(), "cluster.scale_up.bandwidth"));
  EXPECT_EQ(faster.value().scenario.cluster.scale_up.bandwidth.value(), 450e9);
  core::Result<LoadedScenario> b200 = LoadScenario(TestCatalog(), file, Set({"cluster.chip=b200"}));
  ASSERT_TRUE(b200.ok()) << b200.diagnostics().Format();
  EXPECT_TRUE(warned(b200.diagnostics(), "cluster.scale_up.bandwidth"));
  EXPECT_FALSE(warned(b200.diagnostics(), "cluster.scale_up.domain"));
  // jean-zay's Omni-Path NICs differ from the A100's own by design: changing the chip's GEMM
  // fraction says nothing of them.
  const std::string bloom = Write("bloom.yaml",
                                  "model: llama3-8b\n"
                                  "cluster: {base: jean-zay-a100, chips: 8}\n"
                                  "plan: {tp: 8, global_batch_size: 8}\n");
  core::Result<LoadedScenario> gemm =
      LoadScenario(TestCatalog(), bloom, Set({"chip.efficiency.gemm_bf16=0.7"}));
  ASSERT_TRUE(gemm.ok()) << gemm.diagnostics().Format();
  EXPECT_FALSE(warned(gemm.diagnostics(), "cluster.scale_out.bandwidth"));
}

// A cluster with several bad keys (its own, its chip's, its tiers') reports them all in one
// run, in file order.
TEST_F(LoaderTest, EveryBadKeyOfAClusterIsReportedAtOnce) {
  const std::string file = Write("typos.yaml",
                                 "model: llama3-8b\n"
                                 "cluster:\n"
                                 "  base: dgx-h100-superpod\n"
                                 "  chips: 64\n"
                                 "  chip: {base: h100-sxm, memory: {capcity: 96GB}}\n"
                                 "  scale_out:\n"
                                 "    bandwidht: 400Gbps\n"
                                 "    tiers:\n"
                                 "      - {name: leaf, radix: 64, oversubscripton: 2}\n"
                                 "      - {name: spine, radx: 64}\n"
                                 "plan: {tp: 8, global_batch_size: 64, tpp: 2}\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file, {});
  ASSERT_FALSE(s.ok());
  const core::Diagnostics& d = s.diagnostics();
  const std::vector<std::pair<std::string, int>> want = {
      {"cluster.chip.memory.capcity", 5},
      {"cluster.scale_out.bandwidht", 7},
      {"cluster.scale_out.tiers[0].oversubscripton", 9},
      {"cluster.scale_out.tiers[1].radx", 10},
      {"plan.tpp", 11}};
  ASSERT_EQ(d.size(), want.size()) << d.Format();
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(d.items()[i].key, want[i].first) << d.Format();
    EXPECT_EQ(d.items()[i].line, want[i].second) << d.Format();
    EXPECT_EQ(d.items()[i].severity, core::Severity::kError);
  }
}

// A topology error that follows from --set is placed at the override and names it, not at
// the catalog line of the key Finalize names; one the cluster has without the overrides
// stays at its line.
// Of several overrides from different places, the error is placed at the one of the key it
// names: a sweep's --axis of the tiers, not the file's bandwidth axis beside it.
TEST_F(LoaderTest, ATopologyErrorIsPlacedAtItsKeysOverride) {
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 1024\n");
  std::vector<Override> overrides = {
      {"cluster.scale_out.bandwidth", "100Gbps", "sweep.yaml:23"},
      {"cluster.scale_out.tiers", "[{name: leaf, radix: 32}]", "--axis"}};
  core::Result<LoadedScenario> s =
      LoadParts(TestCatalog(), "llama3-70b", "dgx-h100-superpod", plan, overrides);
  ASSERT_FALSE(s.ok());
  const core::Diagnostic& e = s.diagnostics().items().front();
  EXPECT_EQ(e.key, "cluster.scale_out.tiers[0].radix") << s.diagnostics().Format();
  EXPECT_EQ(e.file, "--axis") << s.diagnostics().Format();
}

TEST_F(LoaderTest, ATopologyErrorFromAnOverrideNamesIt) {
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 4096\n");
  core::Result<LoadedScenario> s =
      LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan,
                Set({"cluster.scale_out.tiers[0].radix=3", "cluster.chips=4096"}));
  ASSERT_FALSE(s.ok());
  const core::Diagnostic& e = s.diagnostics().items().front();
  EXPECT_EQ(e.key, "cluster.scale_out.tiers[2].radix") << s.diagnostics().Format();
  EXPECT_EQ(e.file, "--set");
  EXPECT_EQ(e.line, 0);
  EXPECT_NE(e.message.find("after --set cluster.scale_out.tiers[0].radix=3, --set "
                           "cluster.chips=4096; the cluster without them has no such error"),
            std::string::npos)
      << e.message;
  // The file's own cluster exceeds its radix; an unrelated override does not take the blame.
  const std::string file = Write("small.yaml",
                                 "model: llama3-8b\n"
                                 "cluster:\n"
                                 "  base: dgx-h100-superpod\n"
                                 "  chips: 4096\n"
                                 "  scale_out:\n"
                                 "    tiers:\n"
                                 "      - {name: leaf, radix: 64}\n"
                                 "      - {name: spine, radix: 16}\n"
                                 "plan: {tp: 8, global_batch_size: 4096}\n");
  core::Result<LoadedScenario> own =
      LoadScenario(TestCatalog(), file, Set({"cluster.scale_out.efficiency=0.7"}));
  ASSERT_FALSE(own.ok());
  const core::Diagnostic& o = own.diagnostics().items().front();
  EXPECT_EQ(o.key, "cluster.scale_out.tiers[1].radix") << own.diagnostics().Format();
  EXPECT_EQ(o.file, file);
  EXPECT_EQ(o.line, 8);
  EXPECT_EQ(o.message.find("--set"), std::string::npos) << o.message;
}

// A chip TDP set where the cluster gives its node power does not price energy: the loader
// says so to the commands that price energy (energy_warnings, not the diagnostics every
// command prints: fathom step and compare report no energy), and says when the chips'
// TDPs exceed the node's power.
TEST_F(LoaderTest, AChipTdpUnderANodePowerWarns) {
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 1024\n");
  auto warnings = [&](const std::vector<std::string>& set) {
    core::Result<LoadedScenario> s =
        LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan, Set(set));
    EXPECT_TRUE(s.ok()) << s.diagnostics().Format();
    std::vector<core::Diagnostic> out;
    if (!s.ok()) return out;
    for (const core::Diagnostic& x : s.diagnostics().items()) {
      EXPECT_EQ(x.message.find("prices energy"), std::string::npos) << x.Format();
    }
    core::Diagnostics all = s.diagnostics();
    all.Append(s.value().energy_warnings);
    for (const core::Diagnostic& x : all.items()) {
      if (x.severity == core::Severity::kWarning && x.key.find("power") != std::string::npos) {
        out.push_back(x);
      }
    }
    return out;
  };
  // Another chip in the cluster (--set cluster.chip=h200): the same, for energy only.
  core::Result<LoadedScenario> h200 =
      LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan, Set({"cluster.chip=h200"}));
  ASSERT_TRUE(h200.ok()) << h200.diagnostics().Format();
  EXPECT_EQ(h200.diagnostics().Format().find("prices energy"), std::string::npos)
      << h200.diagnostics().Format();
  EXPECT_NE(h200.value().energy_warnings.Format().find("prices energy, not the h200 chip's TDP"),
            std::string::npos)
      << h200.value().energy_warnings.Format();
  EXPECT_TRUE(warnings({}).empty());
  const std::vector<core::Diagnostic> unused = warnings({"chip.power.tdp=1000W"});
  ASSERT_EQ(unused.size(), 1u);
  EXPECT_EQ(unused[0].key, "cluster.power.node");
  EXPECT_NE(unused[0].message.find("1275 W per chip over 8 chips) prices energy, not the "
                                   "h100-sxm chip's TDP of 1000 W"),
            std::string::npos)
      << unused[0].message;
  const std::vector<core::Diagnostic> over = warnings({"chip.power.tdp=5000W"});
  // The diagnostics' (every command's) only: a TDP above the node's share prices energy
  // itself (plan::DeriveCost), so the node's power does not, and says so in the hint.
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0].key, "cluster.chip.power.tdp");
  EXPECT_EQ(over[0].file, "--set");
  EXPECT_NE(over[0].message.find("8 chips of 5000 W TDP (40 kW) exceed the node's maximum "
                                 "power, 10.2 kW"),
            std::string::npos)
      << over[0].message;
  EXPECT_NE(over[0].hint.find("energy is priced at the chip's TDP"), std::string::npos)
      << over[0].hint;
  // A node power too low for the catalog chip's TDP.
  const std::vector<core::Diagnostic> low = warnings({"cluster.power.node=4kW"});
  ASSERT_EQ(low.size(), 1u);
  EXPECT_EQ(low[0].key, "cluster.power.node");
  EXPECT_NE(low[0].message.find("exceed the node's maximum power, 4000 W"), std::string::npos)
      << low[0].message;
}

// An oversubscription with no effect (the top tier's, or one above the tier that holds the
// whole cluster), or built at another ratio than asked (whole ports), is a warning at its key.
TEST_F(LoaderTest, AnOversubscriptionThatIsNotBuiltWarns) {
  const std::string plan = Write("plan.yaml", "tp: 8\nglobal_batch_size: 1024\n");
  auto warning = [&](const std::string& set, const std::string& key) {
    core::Result<LoadedScenario> s =
        LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan, Set({set}));
    EXPECT_TRUE(s.ok()) << s.diagnostics().Format();
    std::string out;
    for (const core::Diagnostic& x : s.diagnostics().items()) {
      if (x.severity == core::Severity::kWarning && x.key == key) out += x.Format();
    }
    return out;
  };
  const std::string top = warning("cluster.scale_out.tiers[2].oversubscription=4",
                                  "cluster.scale_out.tiers[2].oversubscription");
  EXPECT_NE(top.find("--set: cluster.scale_out.tiers[2].oversubscription: 4 has no effect: core "
                     "is the top tier"),
            std::string::npos)
      << top;
  const std::string ports = warning("cluster.scale_out.tiers[0].oversubscription=8",
                                    "cluster.scale_out.tiers[0].oversubscription");
  EXPECT_NE(ports.find("asked 8, built 7 (56 down, 8 up ports of radix 64)"), std::string::npos)
      << ports;
  // 1,024 chips fit under one spine group: its taper is never crossed.
  const std::string spine = warning("cluster.scale_out.tiers[1].oversubscription=3",
                                    "cluster.scale_out.tiers[1].oversubscription");
  EXPECT_NE(spine.find("3 has no effect on 1,024 chips: one switch group of this tier holds them "
                       "all"),
            std::string::npos)
      << spine;
  // 1:3 on radix 64 is built as asked (48 down, 16 up), and felt at 4,096 chips.
  core::Result<LoadedScenario> felt =
      LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", plan,
                Set({"cluster.scale_out.tiers[0].oversubscription=3", "cluster.chips=4096"}));
  ASSERT_TRUE(felt.ok()) << felt.diagnostics().Format();
  for (const core::Diagnostic& x : felt.diagnostics().items()) {
    EXPECT_EQ(x.key.find("oversubscription"), std::string::npos) << x.Format();
  }
}

// A narrower format's peak below a wider one's (an fp8 peak inherited through base: under
// a raised bf16 peak) is a warning at the narrower peak.
TEST_F(LoaderTest, ANarrowerPeakBelowAWiderOneWarns) {
  const std::string file = Write("peaks.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan: {tp: 8, global_batch_size: 8}\n");
  core::Result<LoadedScenario> s =
      LoadScenario(TestCatalog(), file, Set({"chip.peak.bf16=3957.6TFLOPS"}));
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  bool warned = false;
  for (const core::Diagnostic& x : s.diagnostics().items()) {
    warned = warned || (x.severity == core::Severity::kWarning && x.key == "cluster.chip.peak.fp8");
  }
  EXPECT_TRUE(warned) << s.diagnostics().Format();
}

// A narrower peak more than 4x the wider one (a sparse fp8 peak, a unit slip) is a warning
// at the narrower peak; the catalog's chips, up to 3.75x, load without one.
TEST_F(LoaderTest, ANarrowerPeakFarAboveAWiderOneWarns) {
  const std::string file = Write("peaks.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan: {tp: 8, global_batch_size: 8}\n");
  auto warning = [](const core::Diagnostics& d) {
    std::string out;
    for (const core::Diagnostic& x : d.items()) {
      if (x.severity == core::Severity::kWarning && x.key == "cluster.chip.peak.fp8") {
        out += x.Format();
      }
    }
    return out;
  };
  core::Result<LoadedScenario> sparse =
      LoadScenario(TestCatalog(), file, Set({"chip.peak.fp8=3900TFLOPS"}));
  ASSERT_TRUE(sparse.ok()) << sparse.diagnostics().Format();
  EXPECT_EQ(warning(sparse.diagnostics()), "");  // 3.94x: a chip could
  core::Result<LoadedScenario> slip =
      LoadScenario(TestCatalog(), file, Set({"chip.peak.fp8=197.89PFLOPS"}));
  ASSERT_TRUE(slip.ok()) << slip.diagnostics().Format();
  const std::string w = warning(slip.diagnostics());
  EXPECT_NE(w.find("200x peak.bf16"), std::string::npos) << w;
  // Just over 4x reads as more than 4 ("4.0004x", not "4x", beside "more than 3.75x").
  core::Result<LoadedScenario> edge =
      LoadScenario(TestCatalog(), file, Set({"chip.peak.fp8=3958TFLOPS"}));
  ASSERT_TRUE(edge.ok()) << edge.diagnostics().Format();
  const std::string e = warning(edge.diagnostics());
  EXPECT_NE(e.find(" is 4.0004x peak.bf16"), std::string::npos) << e;
  EXPECT_NE(w.find("dense peak"), std::string::npos) << w;
  // Exactly 4x: NVIDIA's sparse fp8 beside its dense bf16 (B200's 9 PFLOP/s over 2.25).
  core::Result<LoadedScenario> four =
      LoadScenario(TestCatalog(), file, Set({"chip.peak.fp8=3957.6TFLOPS"}));
  ASSERT_TRUE(four.ok()) << four.diagnostics().Format();
  EXPECT_NE(warning(four.diagnostics()).find(" is 4x peak.bf16"), std::string::npos)
      << four.diagnostics().Format();
  // The bf16 peak set on the command line, the fp8 one the catalog's: the warning is at the
  // value set, not at the catalog's line nobody changed.
  core::Result<LoadedScenario> low =
      LoadScenario(TestCatalog(), file, Set({"cluster.chip.peak.bf16=1TFLOPS"}));
  ASSERT_TRUE(low.ok()) << low.diagnostics().Format();
  EXPECT_EQ(warning(low.diagnostics()), "");
  const std::string said = low.diagnostics().Format();
  EXPECT_NE(said.find("warning: --set: cluster.chip.peak.bf16: 1 TFLOP/s is 1/1.98e+03 of "
                      "peak.fp8"),
            std::string::npos)
      << said;
}

// A cluster link 6x or more off its chip's own is a unit slip more likely than a design:
// 450Gbps for NVLink's 450GBps, 400GBps for a 400 Gb/s NIC.
TEST_F(LoaderTest, ALinkFarOffItsChipsOwnWarnsOfItsUnit) {
  const std::string file = Write("links.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan: {tp: 8, global_batch_size: 8}\n");
  for (const char* set :
       {"cluster.scale_up.bandwidth=450Gbps", "cluster.scale_out.bandwidth=400GBps"}) {
    core::Result<LoadedScenario> r = LoadScenario(TestCatalog(), file, Set({set}));
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    EXPECT_NE(r.diagnostics().Format().find("check the unit"), std::string::npos)
        << set << "\n"
        << r.diagnostics().Format();
  }
  core::Result<LoadedScenario> fine =
      LoadScenario(TestCatalog(), file, Set({"cluster.scale_out.bandwidth=200Gbps"}));
  ASSERT_TRUE(fine.ok()) << fine.diagnostics().Format();
  EXPECT_EQ(fine.diagnostics().Format().find("check the unit"), std::string::npos);
}

// Links faster than the chip's HBM: the collectives' times are lower bounds there (HBM,
// which their bytes cross, does not bound them), and the load says so.
TEST_F(LoaderTest, LinksFasterThanHbmWarn) {
  const std::string file = Write("hbm.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan: {tp: 8, global_batch_size: 8}\n");
  core::Result<LoadedScenario> slow_hbm =
      LoadScenario(TestCatalog(), file, Set({"chip.memory.bandwidth=400GBps"}));
  ASSERT_TRUE(slow_hbm.ok()) << slow_hbm.diagnostics().Format();
  EXPECT_NE(slow_hbm.diagnostics().Format().find("HBM does not bound"), std::string::npos)
      << slow_hbm.diagnostics().Format();
  core::Result<LoadedScenario> catalog = LoadScenario(TestCatalog(), file, {});
  ASSERT_TRUE(catalog.ok());
  EXPECT_EQ(catalog.diagnostics().Format().find("HBM does not bound"), std::string::npos);
}

// fp16 and bf16 are one rate on every chip in the catalog: raising one alone warns in an
// fp16 plan, which runs at its own peak (not in a bf16 plan: a sweep of the bf16 peak).
TEST_F(LoaderTest, Fp16AndBf16PeaksThatDifferWarnInFp16Plans) {
  auto warned = [&](const std::string& precision, std::vector<std::string> set) {
    const std::string file = Write("fp16.yaml",
                                   "model: llama3-8b\n"
                                   "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                   "plan: {tp: 8, global_batch_size: 8, precision: " +
                                       precision + "}\n");
    core::Result<LoadedScenario> loaded = LoadScenario(TestCatalog(), file, Set(set));
    EXPECT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
    if (!loaded.ok()) return false;
    core::Diagnostics d = estimate::Estimate(loaded.value().scenario).diagnostics();
    Locate(d, loaded.value().where);
    const std::string text = d.Format();
    return text.find("differs from the bf16 peak") != std::string::npos &&
           text.find("h100-sxm.yaml") != std::string::npos;
  };
  EXPECT_TRUE(warned("fp16", {"chip.peak.bf16=2000TFLOPS"}));
  EXPECT_FALSE(warned("bf16", {"chip.peak.bf16=2000TFLOPS"}));
  EXPECT_FALSE(warned("fp16", {"chip.peak.bf16=2000TFLOPS", "chip.peak.fp16=2000TFLOPS"}));
}

// An fp8 plan on a chip whose fp8 peak is its bf16 one (TPU v5p) gains nothing and pays
// the casts: a warning, in the step and once in a plan search.
TEST_F(LoaderTest, Fp8OnAChipWithoutFasterFp8Warns) {
  auto warned = [&](const std::string& cluster, const std::string& precision) {
    const std::string file = Write("fp8.yaml", "model: llama3-8b\ncluster: {base: " + cluster +
                                                   ", chips: 8}\nplan: {tp: 8, global_batch_size: "
                                                   "8, precision: " +
                                                   precision + "}\n");
    core::Result<LoadedScenario> loaded = LoadScenario(TestCatalog(), file, {});
    EXPECT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
    if (!loaded.ok()) return false;
    const std::string text = estimate::Estimate(loaded.value().scenario).diagnostics().Format();
    return text.find("tpu-v5p's fp8 peak (459 TFLOP/s) is no higher than its bf16 peak") !=
           std::string::npos;
  };
  EXPECT_TRUE(warned("tpu-v5p-pod", "fp8"));
  EXPECT_FALSE(warned("tpu-v5p-pod", "bf16"));
  EXPECT_FALSE(warned("dgx-h100-superpod", "fp8"));
  // A search of plans in fp8 says it once.
  PlanRequest q;
  q.scenario = Write("fp8-plan.yaml",
                     "model: llama3-8b\ncluster: {base: tpu-v5p-pod, chips: 64}\nplan: "
                     "{global_batch_size: 64, precision: fp8}\n");
  plan::SearchOptions o;
  o.simulate_top = 0;
  core::Result<plan::SearchResult> searched = Plan(TestCatalog(), q, o);
  ASSERT_TRUE(searched.ok()) << searched.diagnostics().Format();
  const std::string text = searched.diagnostics().Format();
  const size_t at = text.find("fp8 peak (459 TFLOP/s) is no higher");
  EXPECT_NE(at, std::string::npos) << text;
  EXPECT_EQ(text.find("fp8 peak (459 TFLOP/s) is no higher", at + 1), std::string::npos) << text;
}

TEST(Keys, EveryDeclarationIsWellFormed) {
  for (Section s :
       {Section::kChip, Section::kCluster, Section::kTier, Section::kModel, Section::kPlan,
        Section::kScenario, Section::kValidationCase, Section::kSweep, Section::kSweepAxis}) {
    std::set<std::string> seen;
    for (const KeyInfo& k : Keys(s)) {
      EXPECT_TRUE(seen.insert(k.path).second) << SectionName(s) << "." << k.path << " twice";
      EXPECT_FALSE(k.help.empty()) << k.path;
      EXPECT_FALSE(k.required && !k.default_text.empty()) << k.path << ": required with a default";
      if (k.type == ValueType::kEnum) {
        EXPECT_FALSE(k.choices.empty()) << k.path;
      }
    }
  }
}

// A global-attention pattern without local layers does nothing: a warning at the key, not
// an error (a model's window turned off with --set leaves its pattern behind).
TEST_F(LoaderTest, AGlobalAttentionPatternWithoutLocalLayersIsAWarning) {
  const std::string file = Write("pattern.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan: {dp: 8, global_batch_size: 8}\n");
  auto warning = [](const core::Diagnostics& d) {
    for (const core::Diagnostic& x : d.items()) {
      if (x.severity == core::Severity::kWarning && x.key == "model.global_attention_every") {
        return x.file;
      }
    }
    return std::string("none");
  };
  core::Result<LoadedScenario> plain = LoadScenario(TestCatalog(), file, {});
  ASSERT_TRUE(plain.ok()) << plain.diagnostics().Format();
  EXPECT_EQ(warning(plain.diagnostics()), "none");
  core::Result<LoadedScenario> pattern =
      LoadScenario(TestCatalog(), file, Set({"model.global_attention_every=2"}));
  ASSERT_TRUE(pattern.ok()) << pattern.diagnostics().Format();
  EXPECT_EQ(warning(pattern.diagnostics()), "--set");
  core::Result<LoadedScenario> windowed = LoadScenario(
      TestCatalog(), file, Set({"model.global_attention_every=2", "model.sliding_window=1024"}));
  ASSERT_TRUE(windowed.ok()) << windowed.diagnostics().Format();
  EXPECT_EQ(warning(windowed.diagnostics()), "none");
}

// An unknown key of the scenario's own does not hide its sections' errors: every error of
// the file is said at once, in the file's order (it said the unknown key alone, then the
// others once it was gone).
TEST_F(LoaderTest, TheFilesOwnErrorsAndItsSectionsAreSaidAtOnce) {
  const std::string file = Write("all.yaml",
                                 "name: all\n"
                                 "model: {base: llama3-8b, hiden: 5}\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8, chipz: 3}\n"
                                 "plan: {global_batch_size: 128, foo: 1}\n"
                                 "extra: 1\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file, {});
  ASSERT_FALSE(s.ok());
  std::vector<std::string> keys;
  for (const core::Diagnostic& x : s.diagnostics().items()) keys.push_back(x.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"model.hiden", "cluster.chipz", "plan.foo", "extra"}))
      << s.diagnostics().Format();
}

// A required key given with a bad value is that error alone, not also "missing".
TEST_F(LoaderTest, ARequiredKeyWithABadValueIsNotAlsoMissing) {
  const std::string file = Write("list.yaml",
                                 "model: llama3-8b\n"
                                 "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                 "plan: [1, 2]\n");
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), file, {});
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(s.diagnostics().size(), 1u) << s.diagnostics().Format();
  EXPECT_EQ(s.diagnostics().items().front().key, "plan");
  EXPECT_EQ(s.diagnostics().items().front().line, 3);
}

// A chip file's own links are checked where no cluster has its own to compare with: a NIC
// in bytes for bits (800GBps, 6.4 Tb/s) and a scale-up link in bits (900Gbps) are warned of
// at their keys; the catalog's figures are not.
constexpr const char* kOwnChip =
    "name: qx1\nvendor: Acme\npeak: {bf16: 2000TFLOPS}\nmemory: {capacity: 192GiB, bandwidth: "
    "6TBps}\nefficiency: {gemm_bf16: 0.8, attention: 0.55, hbm: 0.85}\n";

TEST_F(LoaderTest, AChipFilesLinkUnitSlipsAreWarnedOf) {
  auto load = [&](const std::string& up, const std::string& out) {
    const std::string file =
        Write("qx1.yaml", std::string(kOwnChip) + "scale_up: {bandwidth: " + up +
                              ", domain: 64}\nscale_out: {bandwidth: " + out + "}\n");
    core::Result<hardware::ChipSpec> c = LoadChip(TestCatalog(), file);
    EXPECT_TRUE(c.ok()) << c.diagnostics().Format();
    return c.diagnostics();
  };
  const core::Diagnostics nic = load("900GBps", "800GBps");
  EXPECT_TRUE(HasDiagnostic(nic, "scale_out.bandwidth",
                            "qx1.yaml:7: scale_out.bandwidth: 800 GB/s "
                            "(6.4 Tb/s) per chip is more than any NIC"))
      << nic.Format();
  EXPECT_TRUE(HasDiagnostic(nic, "scale_out.bandwidth", "write Gbps")) << nic.Format();
  const core::Diagnostics up = load("900Gbps", "800Gbps");
  EXPECT_TRUE(HasDiagnostic(up, "scale_up.bandwidth", "\"900Gbps\" is in bits a second"))
      << up.Format();
  EXPECT_FALSE(HasDiagnostic(up, "scale_out.bandwidth", "")) << up.Format();
  EXPECT_TRUE(load("900GBps", "800Gbps").empty()) << load("900GBps", "800Gbps").Format();
}

// A copy of a catalog entry (`fathom catalog chip h100 > h1.yaml`) is that entry: its name is
// not warned of; a copy with a value changed keeps the warning.
TEST_F(LoaderTest, ACopyOfACatalogChipIsNotWarnedOfItsName) {
  core::Result<hardware::ChipSpec> h100 = LoadChip(TestCatalog(), "h100");
  ASSERT_TRUE(h100.ok()) << h100.diagnostics().Format();
  const std::string copy = Write("h1.yaml", ChipFileYaml(h100.value()));
  core::Result<hardware::ChipSpec> same = LoadChip(TestCatalog(), copy);
  ASSERT_TRUE(same.ok()) << same.diagnostics().Format();
  EXPECT_FALSE(HasDiagnostic(same.diagnostics(), "name", "is the name of the catalog's chip"))
      << same.diagnostics().Format();
  hardware::ChipSpec changed = h100.value();
  changed.hbm_capacity = core::Bytes(96e9);
  core::Result<hardware::ChipSpec> other =
      LoadChip(TestCatalog(), Write("h2.yaml", ChipFileYaml(changed)));
  ASSERT_TRUE(other.ok()) << other.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(other.diagnostics(), "name", "is the name of the catalog's chip"))
      << other.diagnostics().Format();
}

// A cluster with no scale-out network needs no scale_out.latency or efficiency; one with a
// network that lacks them is told so at the line of its scale_out: mapping.
TEST_F(LoaderTest, ScaleOutKeysAreRequiredOnlyWithAScaleOutNetwork) {
  const std::string head =
      "name: rack\nchip: gb200\nchips: 72\nscale_up: {domain: 72, latency: 2us, efficiency: "
      "0.85}\n";
  core::Result<network::ClusterSpec> none =
      LoadCluster(TestCatalog(), Write("none.yaml", head + "scale_out:\n  topology: none\n"));
  EXPECT_TRUE(none.ok()) << none.diagnostics().Format();
  core::Result<network::ClusterSpec> fat = LoadCluster(
      TestCatalog(), Write("fat.yaml", head + "scale_out:\n  topology: rail_fat_tree\n"));
  ASSERT_FALSE(fat.ok());
  EXPECT_TRUE(HasDiagnostic(fat.diagnostics(), "scale_out.latency",
                            "fat.yaml:5: scale_out.latency: missing required key"))
      << fat.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(fat.diagnostics(), "scale_out.efficiency",
                            "fat.yaml:5: scale_out.efficiency: missing required key"))
      << fat.diagnostics().Format();
}

}  // namespace
}  // namespace fathom::io

namespace fathom::io {
namespace {

// HBM slower than any accelerator's (a unit slip) is warned of once: by the unit when it was
// written in bits, else by the figure.
TEST_F(LoaderTest, MemorySlowerThanAnyAcceleratorsIsWarnedOfOnce) {
  const std::string slow =
      Write("slow.yaml", "base: h100\nname: slow\nmemory: {bandwidth: 50GBps}\n");
  const core::Result<hardware::ChipSpec> a = LoadChip(TestCatalog(), slow);
  ASSERT_TRUE(a.ok()) << a.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(a.diagnostics(), "memory.bandwidth", "slower than any accelerator"))
      << a.diagnostics().Format();
  const std::string bits =
      Write("bits.yaml", "base: h100\nname: bits\nmemory: {bandwidth: 400Gbps}\n");
  const core::Result<hardware::ChipSpec> b = LoadChip(TestCatalog(), bits);
  ASSERT_TRUE(b.ok()) << b.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(b.diagnostics(), "memory.bandwidth", "in bits a second"))
      << b.diagnostics().Format();
  EXPECT_FALSE(HasDiagnostic(b.diagnostics(), "memory.bandwidth", "slower than any accelerator"));
  const core::Result<hardware::ChipSpec> h100 = LoadChip(TestCatalog(), "h100");
  EXPECT_FALSE(HasDiagnostic(h100.diagnostics(), "memory.bandwidth", "slower"));
}

}  // namespace
}  // namespace fathom::io
