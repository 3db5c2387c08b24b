#include "plan/run.h"

#include <cmath>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "model/test_fixtures.h"
#include "network/test_fixtures.h"
#include "parallel/memory.h"

namespace fathom::plan {
namespace {

// Llama 3 70B on `chips` H100s of the SuperPod: tp 8, pp 4, ZeRO 1, a plan that fits.
estimate::Scenario Llama70BOn(int64_t chips) {
  estimate::Scenario s;
  s.name = "run";
  s.model = model::testing::Llama70B();
  s.cluster = network::testing::SuperPod(chips);
  s.plan.tp = 8;
  s.plan.sequence_parallel = true;
  s.plan.pp = 4;
  s.plan.dp = static_cast<int>(chips / 32);
  s.plan.zero = 1;
  s.plan.recompute = parallel::Recompute::kSelective;
  s.plan.global_batch_size = 1024;
  return s;
}

// Llama 3 70B cut to 4 layers at tp `tp` (ZeRO 1, a global batch of 8): a small job.
estimate::Scenario SmallLlama70B(int tp) {
  estimate::Scenario s;
  s.name = "run";
  s.model = model::testing::Llama70B();
  s.model.layers = 4;
  s.plan.tp = tp;
  s.plan.zero = 1;
  s.plan.global_batch_size = 8;
  return s;
}

// A class of `per` components (nic, link, switch, ...), each failing `per_year` times a year.
FailureConfig PerComponent(const char* name, const char* per, double per_year) {
  FailureConfig f;
  f.name = name;
  f.per = per;
  f.per_component_year = per_year;
  return f;
}

// One job-stopping class per node at `per_1000_node_days`, checkpoints to host then
// storage (the registry's default bandwidths), and the registry's recovery times.
ReliabilityConfig OneClass(double per_1000_node_days) {
  ReliabilityConfig r;
  FailureConfig f;
  f.name = "infrastructure";
  f.per_1000_node_days = per_1000_node_days;
  r.failures.push_back(f);
  r.checkpoint.host_bandwidth = 25e9;
  r.checkpoint.storage_bandwidth = 1e12;
  r.recovery.restart_s = 180;
  r.recovery.load_s = -1;  // auto
  r.recovery.warmup_s = 120;
  return r;
}

TrainingConfig Tokens(double tokens) {
  TrainingConfig t;
  t.tokens = tokens;
  return t;
}

RunOptions Exact() {
  RunOptions o;
  o.monte_carlo = false;
  return o;
}

// A failure domain is the scale-up domain where it spans nodes, a torus's cube where the
// torus is cut in cubes, and at most the cluster.
TEST(ProjectRun, FailureDomainsFollowTheScaleUpDomain) {
  network::ClusterSpec c = network::testing::SuperPod(1024);
  EXPECT_EQ(FailureDomainNodes(c), 1);  // 8 chips a node and a domain
  c.chips_per_node = 4;
  c.domain = 72;
  EXPECT_EQ(FailureDomainNodes(c), 18);  // an NVL72 rack of 4-GPU trays
  c.chips = 16;
  EXPECT_EQ(FailureDomainNodes(c), 4);  // a job on part of a rack
  c.chips = 8960;
  c.domain = 8960;
  c.domain_kind = network::DomainKind::kTorus;
  c.torus_dims = {16, 20, 28};
  c.torus_slice_unit = 4;
  EXPECT_EQ(FailureDomainNodes(c), 16);  // a 4x4x4 cube of 4-chip hosts
  c.torus_slice_unit = 0;
  EXPECT_EQ(FailureDomainNodes(c), 2240);  // a torus without cubes fails whole
}

TEST(ProjectRun, TheScenarioFits) {
  const estimate::Scenario s = Llama70BOn(1024);
  core::Result<estimate::StepReport> step = estimate::Estimate(s);
  ASSERT_TRUE(step.ok()) << step.diagnostics().Format();
  ASSERT_TRUE(step.value().fits);
}

// A step given (a plan search's simulation of it) is the run's step, with its diagnostics,
// in place of predicting it again.
TEST(ProjectRun, AGivenStepIsUsedAsItIs) {
  const estimate::Scenario s = Llama70BOn(1024);
  core::Result<estimate::StepReport> estimated = estimate::Estimate(s);
  ASSERT_TRUE(estimated.ok()) << estimated.diagnostics().Format();
  estimate::StepReport slower = estimated.value();
  slower.step_time_s *= 2;
  core::Diagnostics d;
  d.Warning("plan", "a warning of the given step");
  const core::Result<estimate::StepReport> given(slower, d);
  RunOptions o = Exact();
  o.simulate = true;
  o.step = &given;
  core::Result<RunResult> r = ProjectRun(s, Tokens(1e12), OneClass(6.5), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(r.value().step.step_time_s, slower.step_time_s);
  EXPECT_NE(r.diagnostics().Format().find("a warning of the given step"), std::string::npos);
}

// Counts per component kind follow the cluster (run.h), and each class's rate becomes a
// rate per second over its count.
TEST(ProjectRun, ComponentsAndRatesFollowTheCluster) {
  ReliabilityConfig cfg = OneClass(6.5);
  cfg.failures.push_back(PerComponent("nic", "nic", 0.02));
  FailureConfig link = PerComponent("link", "link", -1);
  link.mtbf_s = 1e7;
  cfg.failures.push_back(link);
  core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const ComponentCounts& n = r.value().counts;
  EXPECT_EQ(n.gpu, 1024);
  EXPECT_EQ(n.node, 128);
  EXPECT_EQ(n.nic, 1024);
  // The DGX SuperPOD of 4 scalable units: 32 rail leaves and 16 spines, 1,024 NIC-leaf and
  // 1,024 leaf-spine cables (network::CountFabric).
  EXPECT_EQ(n.switches, 48);
  EXPECT_EQ(n.link, 2048);
  ASSERT_EQ(n.fabric.tiers.size(), 2u);
  EXPECT_EQ(n.fabric.tiers[0].switches, 32);
  EXPECT_EQ(n.fabric.tiers[1].switches, 16);
  const reliability::RunSpec& spec = r.value().spec;
  EXPECT_EQ(spec.nodes, 128);
  EXPECT_EQ(spec.gpus_per_node, 8);
  ASSERT_EQ(spec.failures.size(), 3u);
  EXPECT_EQ(spec.failures[0].count, 128);
  EXPECT_DOUBLE_EQ(spec.failures[0].rate_per_s, 6.5 / 1000 / 86400);
  EXPECT_EQ(spec.failures[1].count, 1024);
  EXPECT_DOUBLE_EQ(spec.failures[1].rate_per_s, 0.02 / (365.25 * 86400));
  EXPECT_EQ(spec.failures[2].count, 2048);
  EXPECT_DOUBLE_EQ(spec.failures[2].rate_per_s, 1e-7);
  // Steps: the tokens over the tokens of a step, rounded up.
  EXPECT_EQ(spec.steps, std::ceil(1e12 / (1024.0 * 8192)));
  EXPECT_DOUBLE_EQ(r.value().tokens, spec.steps * 1024.0 * 8192);
}

// A job on part of a node runs on that node: per-node classes count it whole. Four of an
// 8-GPU node's chips counted 0.5 nodes ("counted: 4 gpus, 0 nodes", the software class at
// half the rate) while the header said 1 node.
TEST(ProjectRun, AJobOnPartOfANodeCountsTheWholeNode) {
  estimate::Scenario s = SmallLlama70B(4);
  s.plan.recompute = parallel::Recompute::kFull;
  double rate_per_node = 0;
  for (const int64_t chips : {4, 8, 16}) {
    s.cluster = network::testing::DgxH100(chips);
    s.plan.dp = static_cast<int>(chips / 4);
    core::Result<RunResult> r = ProjectRun(s, Tokens(1e9), OneClass(6.5), Exact());
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const double nodes = chips <= 8 ? 1 : 2;
    EXPECT_EQ(r.value().counts.node, nodes) << chips;
    EXPECT_EQ(r.value().spec.nodes, nodes) << chips;
    EXPECT_EQ(r.value().spec.failures[0].count, nodes) << chips;
    const double rate = r.value().analysis.classes[0].rate_per_s / nodes;
    if (chips == 4) rate_per_node = rate;
    EXPECT_DOUBLE_EQ(rate, rate_per_node) << chips;
  }
}

// An automatic spare pool that costs a small job more chip-hours than the waits it saves is
// noted, with the run without it; a large job's pool (a few percent of it) is not.
TEST(ProjectRun, ASparePoolDearerThanItsWaitsIsNoted) {
  estimate::Scenario s = SmallLlama70B(8);
  s.cluster = network::testing::DgxH100(8);
  s.plan.dp = 1;
  ReliabilityConfig repaired = OneClass(6.5);
  repaired.repair_time_s = 86400;
  auto noted = [](const core::Diagnostics& d) {
    for (const core::Diagnostic& x : d.items()) {
      if (x.key == "reliability.spare_pool" && x.severity == core::Severity::kNote) {
        return x.message;
      }
    }
    return std::string();
  };
  core::Result<RunResult> small = ProjectRun(s, Tokens(1e11), repaired, Exact());
  ASSERT_TRUE(small.ok()) << small.diagnostics().Format();
  ASSERT_EQ(small.value().analysis.spare_nodes, 1);
  const std::string said = noted(small.diagnostics());
  EXPECT_EQ(said.rfind("the automatic spare pool (1 node, 100% of the job's chips) costs more than "
                       "the waits it saves: with none the run takes ",
                       0),
            0u)
      << said;
  // Given, the pool is the user's choice: nothing to note.
  ReliabilityConfig given = repaired;
  given.spare_nodes = 1;
  core::Result<RunResult> chosen = ProjectRun(s, Tokens(1e11), given, Exact());
  ASSERT_TRUE(chosen.ok());
  EXPECT_EQ(noted(chosen.diagnostics()), "");
  core::Result<RunResult> large = ProjectRun(Llama70BOn(4096), Tokens(1e12), repaired, Exact());
  ASSERT_TRUE(large.ok()) << large.diagnostics().Format();
  EXPECT_EQ(noted(large.diagnostics()), "");
}

// spare_pool: cheapest keeps the pool, from none up to the confidence's, that trains at the
// fewest chip-hours (the job's and the spares'): no pool of a given size in that range costs
// fewer, and the pool the confidence sizes costs no fewer.
TEST(ProjectRun, TheCheapestSparePoolCostsTheFewestChipHours) {
  const auto chip_hours = [](const RunResult& r) {
    return r.cost.chip_hours + r.cost.spare_chip_hours;
  };
  struct Case {
    estimate::Scenario scenario;
    double tokens;
    double repair_s;
  };
  estimate::Scenario one_node = SmallLlama70B(8);
  one_node.cluster = network::testing::DgxH100(8);
  one_node.plan.dp = 1;
  for (const Case& c : {Case{one_node, 1e11, 86400}, Case{Llama70BOn(4096), 1e12, 86400},
                        Case{Llama70BOn(4096), 1e12, 7 * 86400}}) {
    ReliabilityConfig cfg = OneClass(6.5);
    cfg.repair_time_s = c.repair_s;
    cfg.spare_pool = SparePool::kCheapest;
    core::Result<RunResult> cheapest = ProjectRun(c.scenario, Tokens(c.tokens), cfg, Exact());
    ASSERT_TRUE(cheapest.ok()) << cheapest.diagnostics().Format();
    ASSERT_TRUE(cheapest.value().spare_choice.has_value());
    const SpareChoice& choice = *cheapest.value().spare_choice;
    EXPECT_EQ(cheapest.value().analysis.spare_nodes, choice.spares);
    EXPECT_NEAR(chip_hours(cheapest.value()), choice.chip_hours, 1e-9 * choice.chip_hours);
    cfg.spare_pool = SparePool::kConfidence;
    core::Result<RunResult> confidence = ProjectRun(c.scenario, Tokens(c.tokens), cfg, Exact());
    ASSERT_TRUE(confidence.ok());
    EXPECT_FALSE(confidence.value().spare_choice.has_value());
    EXPECT_EQ(confidence.value().analysis.spare_nodes, choice.confidence_spares);
    EXPECT_LE(chip_hours(cheapest.value()), chip_hours(confidence.value()));
    for (int64_t s = 0; s <= choice.confidence_spares; ++s) {
      cfg.spare_nodes = static_cast<int>(s);
      core::Result<RunResult> given = ProjectRun(c.scenario, Tokens(c.tokens), cfg, Exact());
      if (!given.ok()) continue;  // waits that outlast the failures: no candidate
      EXPECT_GE(chip_hours(given.value()), chip_hours(cheapest.value()) * (1 - 1e-12))
          << s << " spare nodes of " << choice.confidence_spares;
    }
  }
  // The one-node job waits a day for a repair rather than pay for a second node; the large
  // job keeps the confidence's pool, as a wait idles all its chips.
  ReliabilityConfig cfg = OneClass(6.5);
  cfg.repair_time_s = 86400;
  cfg.spare_pool = SparePool::kCheapest;
  core::Result<RunResult> r = ProjectRun(one_node, Tokens(1e11), cfg, Exact());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().analysis.spare_nodes, 0);
  EXPECT_EQ(r.value().spare_choice->confidence_spares, 1);
  core::Result<RunResult> large = ProjectRun(Llama70BOn(4096), Tokens(1e12), cfg, Exact());
  ASSERT_TRUE(large.ok());
  EXPECT_GT(large.value().analysis.spare_nodes, 1);
  EXPECT_EQ(large.value().analysis.spare_nodes, large.value().spare_choice->confidence_spares);
  // A pool given and the cheapest asked for contradict each other.
  cfg.spare_nodes = 2;
  core::Result<RunResult> both = ProjectRun(one_node, Tokens(1e11), cfg, Exact());
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.diagnostics().items()[0].key, "reliability.spare_pool");
}

// spare_unit: domain keeps whole spare domains (racks of 18 four-chip trays here): the pool
// is sized as a node pool is, from the failing domain's view (one more than the report's
// count at an arbitrary moment), priced at the domain's chips, and a smaller pool's waits
// are charged. A spare node count beside it is an error.
TEST(ProjectRun, SpareDomainsAreThePoolWithSpareUnitDomain) {
  estimate::Scenario s = Llama70BOn(1152);
  s.cluster.chips_per_node = 4;
  s.cluster.domain = 72;
  s.plan.global_batch_size = 1152;
  ReliabilityConfig cfg = OneClass(6.5);
  cfg.repair_time_s = 86400;
  core::Result<RunResult> nodes = ProjectRun(s, Tokens(1e12), cfg, Exact());
  ASSERT_TRUE(nodes.ok()) << nodes.diagnostics().Format();
  const reliability::DomainReport& view = nodes.value().analysis.domains;
  ASSERT_TRUE(view.shown);
  EXPECT_EQ(view.domain_nodes, 18);
  EXPECT_EQ(view.job_domains, 16);
  ASSERT_GE(view.spare_domains_needed, 0);
  EXPECT_EQ(nodes.value().cost.spare_chips,
            4.0 * static_cast<double>(nodes.value().analysis.spare_nodes));

  cfg.spare_unit = reliability::SpareUnit::kDomain;
  core::Result<RunResult> domains = ProjectRun(s, Tokens(1e12), cfg, Exact());
  ASSERT_TRUE(domains.ok()) << domains.diagnostics().Format();
  const reliability::RunReport& a = domains.value().analysis;
  EXPECT_EQ(a.spare_nodes, 0);
  EXPECT_EQ(a.domains.spare_domains_needed, view.spare_domains_needed + 1);
  EXPECT_EQ(a.domains.spare_domains, a.domains.spare_domains_needed);
  EXPECT_EQ(domains.value().cost.spare_chips, 72.0 * static_cast<double>(a.domains.spare_domains));
  EXPECT_EQ(a.spare_wait_s, 0);  // the confidence's pool: its rare wait is not charged
  EXPECT_LE(a.p_wait_with_spares, 1 - cfg.spare_confidence);

  // Fewer spare domains than the confidence needs wait, charged; more never run slower.
  double previous = std::numeric_limits<double>::infinity();
  for (int given = 0; given <= static_cast<int>(a.domains.spare_domains_needed); ++given) {
    cfg.spare_domains = given;
    core::Result<RunResult> r = ProjectRun(s, Tokens(1e12), cfg, Exact());
    if (!r.ok()) continue;  // waits that outlast the failures
    const double t = r.value().analysis.expected_time_s;
    EXPECT_LE(t, previous) << given;
    previous = t;
    if (given < a.domains.spare_domains_needed) {
      EXPECT_GT(r.value().analysis.spare_wait_s, 0) << given;
    }
  }
  EXPECT_DOUBLE_EQ(previous, a.expected_time_s);

  cfg.spare_domains = -1;
  cfg.spare_nodes = 2;
  core::Result<RunResult> both = ProjectRun(s, Tokens(1e12), cfg, Exact());
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.diagnostics().items()[0].key, "reliability.spare_nodes");
}

// A class rated per switch counts the fabric's switches as built: 16 scalable units of the
// SuperPOD reach the core tier (128 leaves, 128 spines, 64 cores); tiers given by block
// without a radix cannot be counted, which a per-switch class is warned about.
TEST(ProjectRun, SwitchClassesCountTheFabricAsBuilt) {
  ReliabilityConfig cfg = OneClass(6.5);
  cfg.failures.push_back(PerComponent("switch", "switch", 0.05));
  core::Result<RunResult> r = ProjectRun(Llama70BOn(4096), Tokens(1e12), cfg, Exact());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(r.value().counts.switches, 128 + 128 + 64);
  EXPECT_EQ(r.value().counts.link, 3 * 4096);
  EXPECT_EQ(r.value().spec.failures[1].count, 320);
  EXPECT_TRUE(r.diagnostics().empty()) << r.diagnostics().Format();

  estimate::Scenario meta = Llama70BOn(3072);
  meta.cluster = network::testing::MetaRoce(3072 * 2);
  meta.plan.dp = 6144 / 32;
  meta.plan.global_batch_size = 6144 / 32 * 8;
  core::Result<RunResult> m = ProjectRun(meta, Tokens(1e12), cfg, Exact());
  ASSERT_TRUE(m.ok()) << m.diagnostics().Format();
  EXPECT_EQ(m.value().counts.switches, 0);
  EXPECT_NE(m.diagnostics().Format().find("tiers rack, pod, cluster have no radix"),
            std::string::npos)
      << m.diagnostics().Format();
}

// Checkpoint size and tier times (run.h): every chip writes its shard under ZeRO, one
// replica's ranks otherwise; the blocking time runs up to the blocking tier.
TEST(ProjectRun, CheckpointTiersAddUp) {
  ReliabilityConfig cfg = OneClass(6.5);
  cfg.checkpoint.tiers = {"host", "peers", "storage"};
  cfg.checkpoint.blocking = "peers";
  cfg.checkpoint.data_loader_state = 1e9;
  const estimate::Scenario s = Llama70BOn(1024);
  core::Result<RunResult> r = ProjectRun(s, Tokens(1e12), cfg, Exact());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const CheckpointDerivation& d = r.value().checkpoint;
  EXPECT_DOUBLE_EQ(d.bytes_per_parameter,
                   parallel::kWeightBytes + parallel::OptimizerBytes(s.plan));
  EXPECT_DOUBLE_EQ(d.size_bytes, r.value().step.parameters * d.bytes_per_parameter + 1e9);
  EXPECT_EQ(d.writers, 1024);
  EXPECT_DOUBLE_EQ(d.per_writer_bytes, d.size_bytes / 1024);
  const double peer_bw = s.cluster.scale_out.bandwidth.value();  // not given: the NIC's
  EXPECT_DOUBLE_EQ(d.host_s, d.per_writer_bytes / 25e9);
  EXPECT_DOUBLE_EQ(d.peers_s, d.per_writer_bytes / peer_bw);
  EXPECT_DOUBLE_EQ(d.storage_s, d.size_bytes / 1e12);
  EXPECT_DOUBLE_EQ(d.blocking_s, d.host_s + d.peers_s);
  EXPECT_DOUBLE_EQ(d.persist_s, d.host_s + d.peers_s + d.storage_s);
  EXPECT_DOUBLE_EQ(d.load_s, d.per_writer_bytes / peer_bw);  // peers hold a copy
  EXPECT_DOUBLE_EQ(r.value().spec.recovery.load_s, d.load_s);
  EXPECT_DOUBLE_EQ(r.value().spec.checkpoint.blocking_s, d.blocking_s);

  // Without ZeRO one replica's ranks write; without peers the load is from storage.
  estimate::Scenario plain = s;
  plain.plan.zero = 0;
  ReliabilityConfig two = OneClass(6.5);
  core::Result<RunResult> p = ProjectRun(plain, Tokens(1e12), two, Exact());
  ASSERT_TRUE(p.ok()) << p.diagnostics().Format();
  EXPECT_EQ(p.value().checkpoint.writers, 8 * 4);
  EXPECT_DOUBLE_EQ(p.value().checkpoint.load_s, p.value().checkpoint.size_bytes / 1e12);
  EXPECT_DOUBLE_EQ(p.value().checkpoint.blocking_s, p.value().checkpoint.host_s);
  EXPECT_FALSE(p.value().checkpoint.storage_nic_bound);  // 32 NICs carry 1.6 TB/s

  // A file system faster than the writers' NICs is read and written at theirs.
  two.checkpoint.storage_bandwidth = 2e12;
  core::Result<RunResult> n = ProjectRun(plain, Tokens(1e12), two, Exact());
  ASSERT_TRUE(n.ok()) << n.diagnostics().Format();
  const CheckpointDerivation& nd = n.value().checkpoint;
  const double nics = 32 * s.cluster.scale_out.bandwidth.value();
  EXPECT_TRUE(nd.storage_nic_bound);
  EXPECT_DOUBLE_EQ(nd.storage_bandwidth, nics);
  EXPECT_DOUBLE_EQ(nd.storage_s, nd.size_bytes / nics);
  EXPECT_DOUBLE_EQ(nd.load_s, nd.size_bytes / nics);
}

// Failures too rare for the trials to sample: the Monte Carlo's figures would leave them out,
// and a warning says so.
TEST(ProjectRun, TooFewSampledFailuresAreWarned) {
  RunOptions o;
  o.trials = 100;
  core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), Tokens(1e9), OneClass(6.5), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_NE(r.diagnostics().Format().find("too few to sample them"), std::string::npos)
      << r.diagnostics().Format();
  core::Result<RunResult> many = ProjectRun(Llama70BOn(1024), Tokens(1e13), OneClass(6.5), o);
  ASSERT_TRUE(many.ok()) << many.diagnostics().Format();
  EXPECT_EQ(many.diagnostics().Format().find("too few to sample"), std::string::npos);
}

// A checkpoint in host memory alone goes with a node sent to repair: an error, unless no
// failure class sends one there.
TEST(ProjectRun, AHostOnlyCheckpointMustOutliveTheNode) {
  ReliabilityConfig cfg = OneClass(6.5);
  cfg.checkpoint.tiers = {"host"};
  core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.diagnostics().Format().find("reliability.checkpoint.tiers: [host]: the checkpoint "
                                          "is kept in host memory only"),
            std::string::npos)
      << r.diagnostics().Format();
  cfg.failures.front().needs_repair = false;  // software: the node and its memory stay
  core::Result<RunResult> software = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  EXPECT_TRUE(software.ok()) << software.diagnostics().Format();
  // Neither a slowdown nor planned maintenance loses the node's memory.
  cfg.failures.front().needs_repair = true;
  cfg.failures.front().effect = reliability::Effect::kPlannedMaintenance;
  EXPECT_TRUE(ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact()).ok());
  cfg.failures.front().effect = reliability::Effect::kFailSlow;
  cfg.failures.front().slowdown = 2;
  cfg.failures.front().slow_duration_s = 3600;
  core::Result<RunResult> slow = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  EXPECT_TRUE(slow.ok()) << slow.diagnostics().Format();
}

// The checkpoint holds every trained parameter: with multi-token prediction (DeepSeek-V3),
// the modules' too, which the step report's parameter count leaves out.
TEST(ProjectRun, CheckpointHoldsTheMtpModules) {
  estimate::Scenario s = Llama70BOn(1024);
  s.model.mtp_layers = 1;
  core::Result<RunResult> r = ProjectRun(s, Tokens(1e12), OneClass(6.5), Exact());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const CheckpointDerivation& d = r.value().checkpoint;
  const double mtp = model::CountParameters(s.model).mtp;
  EXPECT_GT(mtp, 0);
  EXPECT_DOUBLE_EQ(d.mtp_parameters, mtp);
  EXPECT_DOUBLE_EQ(d.parameters, r.value().step.parameters + mtp);
  EXPECT_DOUBLE_EQ(d.size_bytes, d.parameters * d.bytes_per_parameter);
  s.model.mtp_layers = 0;
  core::Result<RunResult> plain = ProjectRun(s, Tokens(1e12), OneClass(6.5), Exact());
  ASSERT_TRUE(plain.ok());
  EXPECT_DOUBLE_EQ(plain.value().checkpoint.parameters, plain.value().step.parameters);
}

// Chip-hours over the expected time at the price, energy at the power times PUE,
// electricity at its price.
TEST(ProjectRun, CostAndEnergyFollowTheExpectedTime) {
  TrainingConfig t = Tokens(1e12);
  t.cost = {2.5, 1000, 1.2, 0.1};
  core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), t, OneClass(6.5), Exact());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const CostDerivation& c = r.value().cost;
  const double hours = r.value().analysis.expected_time_s / 3600;
  EXPECT_DOUBLE_EQ(c.chip_hours, 1024 * hours);
  EXPECT_NEAR(c.usd, 1024 * hours * 2.5, 1e-6 * c.usd);
  EXPECT_LT(c.ideal_usd, c.usd);  // failures and checkpoints cost chip-hours
  EXPECT_EQ(c.price_source, "training.cost.usd_per_chip_hour");
  EXPECT_EQ(c.power_source, "training.cost.power");
  const double kwh = 1024 * 1.0 * hours;  // 1 kW per chip
  EXPECT_NEAR(c.it_energy_j / 3.6e6, kwh, 1e-9 * kwh);
  EXPECT_NEAR(c.facility_energy_j / 3.6e6, 1.2 * kwh, 1e-9 * kwh);
  EXPECT_NEAR(c.electricity_usd, 1.2 * kwh * 0.1, 1e-9 * kwh);
}

// Not given: the chip's catalog price; power from the node, else the chip's TDP, else none.
TEST(ProjectRun, PriceAndPowerDefaultToTheHardware) {
  estimate::Scenario s = Llama70BOn(1024);
  s.cluster.chip.usd_per_chip_hour = 3;
  s.cluster.chip.tdp = core::Watts(700);
  s.cluster.node_power = core::Watts(10200);
  core::Result<RunResult> node = ProjectRun(s, Tokens(1e12), OneClass(6.5), Exact());
  ASSERT_TRUE(node.ok()) << node.diagnostics().Format();
  EXPECT_EQ(node.value().cost.usd_per_chip_hour, 3);
  EXPECT_EQ(node.value().cost.price_source, "catalog: h100-sxm");
  EXPECT_EQ(node.value().cost.power_source, "node");
  EXPECT_DOUBLE_EQ(node.value().cost.power_w, 10200.0 / 8);
  EXPECT_DOUBLE_EQ(node.value().cost.facility_energy_j, node.value().cost.it_energy_j);

  s.cluster.node_power = core::Watts(0);
  core::Result<RunResult> tdp = ProjectRun(s, Tokens(1e12), OneClass(6.5), Exact());
  ASSERT_TRUE(tdp.ok());
  EXPECT_EQ(tdp.value().cost.power_source, "tdp");
  EXPECT_EQ(tdp.value().cost.power_w, 700);

  s.cluster.chip.tdp = core::Watts(0);
  s.cluster.chip.usd_per_chip_hour = 0;
  core::Result<RunResult> none = ProjectRun(s, Tokens(1e12), OneClass(6.5), Exact());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.value().cost.usd_per_chip_hour, 0);
  EXPECT_EQ(none.value().cost.usd, 0);
  EXPECT_TRUE(none.value().cost.price_source.empty());
  EXPECT_TRUE(none.value().cost.power_source.empty());
  EXPECT_EQ(none.value().cost.it_energy_j, 0);
}

TEST(ProjectRun, MoreFailuresNeverFinishSooner) {
  const estimate::Scenario s = Llama70BOn(1024);
  core::Result<RunResult> low = ProjectRun(s, Tokens(1e12), OneClass(2), Exact());
  core::Result<RunResult> high = ProjectRun(s, Tokens(1e12), OneClass(20), Exact());
  ASSERT_TRUE(low.ok()) << low.diagnostics().Format();
  ASSERT_TRUE(high.ok()) << high.diagnostics().Format();
  EXPECT_LE(low.value().analysis.expected_time_s, high.value().analysis.expected_time_s);
  EXPECT_GE(low.value().analysis.ettr, high.value().analysis.ettr);
}

// A duration window ends when the expected wall time does, whatever slows the run.
TEST(ProjectRun, WindowHoldsEveryCauseOfLoss) {
  ReliabilityConfig cfg = OneClass(6.5);
  FailureConfig slow;
  slow.name = "slow";
  slow.per_1000_node_days = 20;
  slow.effect = reliability::Effect::kFailSlow;
  slow.slowdown = 2;
  slow.slow_duration_s = 6 * 3600;
  cfg.failures.push_back(slow);
  FailureConfig sdc;
  sdc.name = "sdc";
  sdc.per_1000_node_days = 0.1;
  sdc.effect = reliability::Effect::kSilentCorruption;
  sdc.detect_latency_s = 3600;
  cfg.failures.push_back(sdc);
  cfg.checkpoint.retained = 1000;
  TrainingConfig window;
  window.duration_s = 30 * 86400.0;
  core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), window, cfg, Exact());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const reliability::RunReport& a = r.value().analysis;
  EXPECT_NEAR(a.expected_time_s / (30 * 86400.0), 1.0, 0.01);
  EXPECT_LT(a.ettr_all_causes, a.ettr);  // fail-slow and SDC cost beyond fail-stop
}

// A window holds whole steps, those that fit in its useful time: floor(window x ETTR /
// step), and the ideal time is those steps' (a 60 s window of 5.8 s steps "did" 10, rounded
// to the nearest, in 57 s of ideal time; 10 s, 2 steps that take 11.6 s).
TEST(ProjectRun, AWindowHoldsTheWholeStepsThatFit) {
  for (const double steps_held : {2.6, 9.81, 100.5}) {
    core::Result<RunResult> probe =
        ProjectRun(Llama70BOn(1024), Tokens(1e9), OneClass(6.5), Exact());
    ASSERT_TRUE(probe.ok()) << probe.diagnostics().Format();
    const double step = probe.value().spec.step_time_s;
    TrainingConfig window;
    window.duration_s = steps_held * step;
    core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), window, OneClass(6.5), Exact());
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const RunResult& run = r.value();
    const double fits = window.duration_s * run.analysis.ettr_all_causes / step;
    EXPECT_EQ(run.spec.steps, std::floor(run.spec.steps)) << steps_held;
    EXPECT_LE(run.spec.steps, fits + 1e-9) << steps_held;
    EXPECT_GT(run.spec.steps, fits - 1) << steps_held;
    EXPECT_DOUBLE_EQ(run.analysis.ideal_time_s, run.spec.steps * step) << steps_held;
    EXPECT_LE(run.analysis.ideal_time_s, window.duration_s) << steps_held;
    EXPECT_DOUBLE_EQ(run.tokens, run.spec.steps * 1024.0 * 8192) << steps_held;
  }
}

// A job on part of a node keeps spare nodes of its own size, billed as the job is: 4 chips
// of an 8-GPU node with one spare node hold 4 spare chips, not 8 (a 1-chip job paid 8 spare
// chips beside its 1, and fathom size found 1 chip dearer than 8 at equal chip-hours).
TEST(ProjectRun, ASpareNodeOfAPartNodeJobIsOfItsSize) {
  for (const int64_t chips : {4, 8, 16}) {
    estimate::Scenario s = SmallLlama70B(4);
    s.plan.recompute = parallel::Recompute::kFull;
    s.cluster = network::testing::DgxH100(chips);
    s.plan.dp = static_cast<int>(chips / 4);
    ReliabilityConfig repaired = OneClass(6.5);
    repaired.repair_time_s = 86400;
    repaired.spare_nodes = 1;
    core::Result<RunResult> r = ProjectRun(s, Tokens(1e11), repaired, Exact());
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    EXPECT_EQ(r.value().cost.spare_chips, chips < 8 ? chips : 8) << chips;
  }
  // The note on a dear automatic pool counts it so, and says so.
  estimate::Scenario s = SmallLlama70B(4);
  s.plan.recompute = parallel::Recompute::kFull;
  s.cluster = network::testing::DgxH100(4);
  s.plan.dp = 1;
  ReliabilityConfig repaired = OneClass(6.5);
  repaired.repair_time_s = 86400;
  core::Result<RunResult> r = ProjectRun(s, Tokens(1e11), repaired, Exact());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_EQ(r.value().analysis.spare_nodes, 1);
  EXPECT_EQ(r.value().cost.spare_chips, 4);
  EXPECT_NE(r.diagnostics().Format().find(
                "the automatic spare pool (1 node of the job's 4 chips, 100% of the job's chips)"),
            std::string::npos)
      << r.diagnostics().Format();
}

TEST(ProjectRun, SameSeedSameResultWhateverTheThreads) {
  RunOptions one;
  one.trials = 64;
  one.seed = 7;
  RunOptions four = one;
  four.threads = 4;
  const estimate::Scenario s = Llama70BOn(1024);
  core::Result<RunResult> a = ProjectRun(s, Tokens(1e12), OneClass(6.5), one);
  core::Result<RunResult> b = ProjectRun(s, Tokens(1e12), OneClass(6.5), four);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a.value().monte_carlo && b.value().monte_carlo);
  EXPECT_EQ(a.value().monte_carlo->trials, 64);
  const reliability::MonteCarloReport& x = *a.value().monte_carlo;
  const reliability::MonteCarloReport& y = *b.value().monte_carlo;
  EXPECT_EQ(x.time_to_train_s.mean, y.time_to_train_s.mean);
  EXPECT_EQ(x.time_to_train_s.p90, y.time_to_train_s.p90);
  EXPECT_EQ(x.interruptions.mean, y.interruptions.mean);
}

// A run that never finishes because the checkpoint load is too slow names the bandwidth the
// load is derived from, not the failure rates; a file system slower than any disk is a
// warning of its own.
TEST(ProjectRun, ASlowCheckpointLoadIsNamedByItsBandwidth) {
  ReliabilityConfig cfg = OneClass(379);  // an MTBF of 30 min on 128 nodes
  cfg.checkpoint.storage_bandwidth = 1e6;
  core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  ASSERT_FALSE(r.ok());
  const core::Diagnostic& e = r.diagnostics().items().back();
  EXPECT_EQ(e.severity, core::Severity::kError);
  EXPECT_EQ(e.key, "reliability.checkpoint.storage_bandwidth");
  EXPECT_NE(e.message.find("the checkpoint load, 919.9 GiB at 1 MB/s, takes 11.4 d of it"),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.hint.find("restore from host memory or peers"), std::string::npos) << e.hint;
  bool warned = false;
  for (const core::Diagnostic& x : r.diagnostics().items()) {
    warned |= x.severity == core::Severity::kWarning &&
              x.key == "reliability.checkpoint.storage_bandwidth" &&
              x.message.find("below 10 MB/s per node") != std::string::npos;
  }
  EXPECT_TRUE(warned) << r.diagnostics().Format();
  // 10 GB/s for 128 nodes is slow but no slip: no warning.
  cfg.checkpoint.storage_bandwidth = 10e9;
  core::Result<RunResult> ok = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  ASSERT_TRUE(ok.ok()) << ok.diagnostics().Format();
  for (const core::Diagnostic& x : ok.diagnostics().items()) {
    EXPECT_NE(x.key, "reliability.checkpoint.storage_bandwidth") << x.message;
  }
}

// A checkpoint write made endless by its bandwidth (1e-300 B/s) is the bandwidth's error, with
// its value; it was "reliability.checkpoint.blocking: = inf: must be finite", a key the user
// never gave. The storage tier's is the storage bandwidth's, for the write and the load.
TEST(ProjectRun, AnEndlessCheckpointIsNamedByItsBandwidth) {
  ReliabilityConfig cfg = OneClass(6.5);
  cfg.checkpoint.host_bandwidth = 1e-300;
  core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  ASSERT_FALSE(r.ok());
  const auto has = [](const core::Diagnostics& d, const std::string& key, const std::string& text) {
    for (const core::Diagnostic& x : d.items()) {
      if (x.severity == core::Severity::kError && x.key == key &&
          x.message.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has(r.diagnostics(), "reliability.checkpoint.host_bandwidth",
                  "the checkpoint write to host memory, 919.9 MiB per writer at 1e-300 B/s, "
                  "takes inf s"))
      << r.diagnostics().Format();
  EXPECT_FALSE(has(r.diagnostics(), "reliability.checkpoint.blocking", ""));
  cfg = OneClass(6.5);
  cfg.checkpoint.storage_bandwidth = 1e-300;
  r = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.diagnostics(), "reliability.checkpoint.storage_bandwidth",
                  "the checkpoint write to storage, 919.9 GiB at 1e-300 B/s, takes inf s"))
      << r.diagnostics().Format();
  EXPECT_TRUE(has(r.diagnostics(), "reliability.checkpoint.storage_bandwidth",
                  "the checkpoint load, 919.9 GiB at 1e-300 B/s, takes inf s"));
  EXPECT_FALSE(has(r.diagnostics(), "reliability.checkpoint.persist", ""));
  EXPECT_FALSE(has(r.diagnostics(), "reliability.recovery.load", ""));
  // A blocking time given that leaves no segment between failures is the given key's error,
  // not the blocking tier's (reliability.checkpoint.blocking).
  cfg = OneClass(6.5);
  cfg.checkpoint.blocking_time_s = cfg.checkpoint.persist_time_s = 1e20 * 86400;
  r = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has(r.diagnostics(), "reliability.checkpoint.blocking_time",
                  "the blocking time given, takes 1e+20 d"))
      << r.diagnostics().Format();
  EXPECT_FALSE(has(r.diagnostics(), "reliability.checkpoint.blocking", ""));
}

// A data-loader state beyond kMaxDataLoaderStatePerReplica a replica is most likely a unit
// slip: warned at its key ("1PB" was taken silently, a checkpoint of 909 TiB).
TEST(ProjectRun, AnImplausibleDataLoaderStateIsWarned) {
  ReliabilityConfig cfg = OneClass(6.5);
  const auto warned = [&](double state) {
    cfg.checkpoint.data_loader_state = state;
    core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
    EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
    for (const core::Diagnostic& x : r.diagnostics().items()) {
      if (x.severity == core::Severity::kWarning &&
          x.key == "reliability.checkpoint.data_loader_state" &&
          x.message.find("above 1 GiB a replica") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(warned(1e15));    // 1 PB over 32 replicas
  EXPECT_FALSE(warned(100e6));  // 100 MB
  EXPECT_FALSE(warned(32 * kMaxDataLoaderStatePerReplica));
  EXPECT_TRUE(warned(33 * kMaxDataLoaderStatePerReplica));
}

// With replica-level fault tolerance, more data-parallel replicas than nodes is the plan's
// dp's error: it named reliability.replicas, which is no key.
TEST(ProjectRun, MoreReplicasThanNodesIsThePlansDp) {
  estimate::Scenario small = Llama70BOn(1024);
  small.plan.tp = 1;
  small.plan.sequence_parallel = false;
  small.plan.pp = 1;
  small.plan.dp = 1024;
  small.plan.zero = 3;
  small.plan.global_batch_size = 1024;
  small.model.layers = 4;
  ReliabilityConfig cfg = OneClass(6.5);
  cfg.failures[0].effect = reliability::Effect::kStopReplica;
  cfg.replica_fault_tolerance = true;
  core::Result<RunResult> r = ProjectRun(small, Tokens(1e12), cfg, Exact());
  ASSERT_FALSE(r.ok());
  bool named = false;
  for (const core::Diagnostic& x : r.diagnostics().items()) {
    EXPECT_NE(x.key, "reliability.replicas");
    named |=
        x.key == "plan.dp" &&
        x.message.find("= 1024: more data-parallel replicas than nodes (128)") != std::string::npos;
  }
  EXPECT_TRUE(named) << r.diagnostics().Format();
}

// Diagnostics name the input's keys and carry no file: the caller locates them.
TEST(ProjectRun, ErrorsNameTheInputKeys) {
  estimate::Scenario big = Llama70BOn(1024);
  big.plan.tp = 1;
  big.plan.sequence_parallel = false;
  big.plan.pp = 1;
  big.plan.dp = 1024;
  big.plan.zero = 0;
  core::Result<RunResult> unfit = ProjectRun(big, Tokens(1e12), OneClass(6.5), Exact());
  ASSERT_FALSE(unfit.ok());
  EXPECT_EQ(unfit.diagnostics().FirstError().rfind("plan: the plan does not fit", 0), 0u)
      << unfit.diagnostics().Format();

  ReliabilityConfig cfg = OneClass(6.5);
  cfg.checkpoint.interval_s = 0.001;
  core::Result<RunResult> r = ProjectRun(Llama70BOn(1024), Tokens(1e12), cfg, Exact());
  ASSERT_FALSE(r.ok());
  const core::Diagnostic& e = r.diagnostics().items().back();
  EXPECT_EQ(e.key, "reliability.checkpoint.interval");
  EXPECT_TRUE(e.file.empty());
}

}  // namespace
}  // namespace fathom::plan
