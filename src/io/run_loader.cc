// `fathom run` inputs: the training and reliability sections, presets, and the RunSpec
// built from them and the step estimate (formulas in io/run.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>

#include "core/text.h"
#include "core/units.h"
#include "io/keys.h"
#include "io/run.h"
#include "parallel/memory.h"

namespace fathom::io {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxPresetDepth = 8;
constexpr double kDay = 86400;
constexpr double kYear = 365.25 * kDay;
const char* const kDefaultPreset = "llama3-table5";
constexpr std::array<std::string_view, 3> kTiers = {"host", "peers", "storage"};

// A key present in the input (a default-constructed node is "null", not absent).
bool Given(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

struct RunLoader {
  const Catalog& catalog;
  core::Diagnostics diags;
  SourceMap where;
  std::vector<std::string> presets;
  OverrideSet* overrides = nullptr;

  // A preset name (data/reliability/NAME.yaml) or a file path, relative to `from_file`'s
  // directory first.
  std::string ResolvePreset(const std::string& ref, const std::string& from_file,
                            const std::string& key, int line) {
    std::error_code ec;
    if (catalog.files_allowed()) {
      if (!from_file.empty()) {
        const fs::path rel = fs::path(from_file).parent_path() / ref;
        if (fs::is_regular_file(rel, ec)) return rel.string();
      }
      if (fs::is_regular_file(ref, ec)) return ref;
    }
    const std::string found = catalog.Find(Section::kReliability, ref);
    if (!found.empty()) return found;
    std::vector<std::string> names = catalog.Names(Section::kReliability);
    std::vector<std::string_view> views(names.begin(), names.end());
    const std::string guess = core::DidYouMean(ref, views);
    diags.Add(Error(
        from_file, line, key, "no reliability preset named \"" + ref + "\" and no such file",
        guess.empty() ? "presets: " + core::JoinComma(views) : "did you mean \"" + guess + "\"?"));
    return "";
  }

  void LoadReliabilityFile(const std::string& path, ReliabilityDraft& draft, int depth) {
    core::Result<YAML::Node> root = LoadYamlMapping(path);
    if (!root.ok()) {
      diags.Append(root.diagnostics());
      return;
    }
    presets.push_back(fs::path(path).stem().string());
    LoadReliabilityNode(root.value(), path, draft, depth + 1);
  }

  // A scalar (preset or file) or a mapping, which may start from `preset:`.
  void LoadReliabilityNode(const YAML::Node& node, const std::string& file, ReliabilityDraft& draft,
                           int depth) {
    if (depth > kMaxPresetDepth) {
      diags.Add(Error(file, NodeLine(node), "reliability.preset",
                      "presets nest too deeply (a cycle of `preset:`?)"));
      return;
    }
    if (node.IsScalar()) {
      const std::string path = ResolvePreset(node.Scalar(), file, "reliability", NodeLine(node));
      if (!path.empty()) LoadReliabilityFile(path, draft, depth);
      return;
    }
    if (!node.IsMap()) {
      diags.Add(Error(file, NodeLine(node), "reliability",
                      "expected a preset name, a file or a mapping, got " + NodeText(node)));
      return;
    }
    if (const YAML::Node preset = node["preset"]; preset && preset.IsScalar()) {
      const std::string path =
          ResolvePreset(preset.Scalar(), file, "reliability.preset", NodeLine(preset));
      if (!path.empty()) LoadReliabilityFile(path, draft, depth);
    }
    ParseContext ctx{file, "reliability", &diags, &where};
    ApplyMapping(node, ReliabilityFields(), draft, ctx);
  }

  void CheckFailure(const FailureConfig& f, const std::string& key, const std::string& file,
                    int line) {
    std::vector<std::string> forms;
    if (f.per_1000_node_days >= 0) forms.emplace_back("per_1000_node_days");
    if (f.per_component_year >= 0) forms.emplace_back("per_component_year");
    if (f.mtbf_s >= 0) forms.emplace_back("mtbf");
    if (forms.empty()) {
      diags.Add(Error(file, line, key, "class \"" + f.name + "\" has no rate",
                      "give one of per_1000_node_days, per_component_year, mtbf"));
    } else if (forms.size() > 1) {
      std::vector<std::string_view> v(forms.begin(), forms.end());
      diags.Add(Error(file, line, key,
                      "class \"" + f.name + "\" gives " + std::to_string(forms.size()) +
                          " rates (" + core::JoinComma(v) + ")",
                      "give exactly one of per_1000_node_days, per_component_year, mtbf"));
    }
    if (f.per_1000_node_days >= 0 && f.per != "node") {
      diags.Add(Error(file, line, key + ".per",
                      "per_1000_node_days counts node-days, but per is \"" + f.per + "\"",
                      "use per: node, or give per_component_year or mtbf"));
    }
    if (f.effect == reliability::Effect::kFailSlow && f.slowdown <= 1) {
      diags.Add(Error(file, line, key + ".slowdown",
                      "effect fail_slow needs a slowdown above 1, e.g. 1.5"));
    }
  }

  void LoadFailures(ReliabilityDraft& draft) {
    if (!Given(draft.failures)) {
      std::vector<FailureConfig> none;
      if (overrides != nullptr) {
        overrides->ApplyItems("reliability.failures", FailureClassFields(), none, diags, where);
      }
      return;
    }
    const auto it = where.find("reliability.failures");
    const std::string file = it == where.end() ? "" : it->second.file;
    // A list given by --set has no lines of its own.
    ParseContext ctx{file, "reliability.failures", &diags, &where,
                     it == where.end() || it->second.line > 0};
    std::vector<FailureConfig> classes(draft.failures.IsSequence() ? draft.failures.size() : 0);
    for (FailureConfig& c : classes) ApplyDefaults(FailureClassFields(), c);
    const size_t before = diags.size();
    WalkMappingList(draft.failures, Keys(Section::kFailureClass), ctx,
                    [&](size_t item, size_t key, const Value& v) {
                      FailureClassFields()[key].set(classes[item], v);
                    });
    if (overrides != nullptr) {
      overrides->ApplyItems("reliability.failures", FailureClassFields(), classes, diags, where);
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < classes.size(); ++i) {
      const std::string key = "reliability.failures[" + std::to_string(i) + "]";
      const int line = where.count(key) ? where[key].line : 0;
      CheckRequired(FailureClassFields(), where, key, file, line, diags);
      if (diags.size() > before) continue;
      CheckFailure(classes[i], key, file, line);
      if (std::find(names.begin(), names.end(), classes[i].name) != names.end()) {
        diags.Add(
            Error(file, line, key + ".name", "class \"" + classes[i].name + "\" is given twice"));
      }
      names.push_back(classes[i].name);
    }
    draft.config.failures = std::move(classes);
  }

  void CheckReliability(const ReliabilityConfig& r) {
    auto loc = [&](const std::string& key) {
      auto it = where.find(key);
      return it == where.end() ? Location{} : it->second;
    };
    const CheckpointConfig& c = r.checkpoint;
    const std::string tiers_key = "reliability.checkpoint.tiers";
    if (c.tiers.empty()) {
      const Location l = loc(tiers_key);
      diags.Add(Error(l.file, l.line, tiers_key, "no checkpoint tier", "e.g. [host, storage]"));
    }
    std::vector<std::string_view> names(kTiers.begin(), kTiers.end());
    for (size_t i = 0; i < c.tiers.size(); ++i) {
      const Location l = loc(tiers_key);
      if (std::find(kTiers.begin(), kTiers.end(), c.tiers[i]) == kTiers.end()) {
        const std::string guess = core::DidYouMean(c.tiers[i], names);
        diags.Add(Error(l.file, l.line, tiers_key,
                        "\"" + c.tiers[i] + "\" is not a tier: expected host, peers or storage",
                        guess.empty() ? "" : "did you mean \"" + guess + "\"?"));
      } else if (std::find(c.tiers.begin(), c.tiers.begin() + static_cast<long>(i), c.tiers[i]) !=
                 c.tiers.begin() + static_cast<long>(i)) {
        diags.Add(Error(l.file, l.line, tiers_key, "tier \"" + c.tiers[i] + "\" is given twice"));
      }
    }
    if (!c.tiers.empty() &&
        std::find(c.tiers.begin(), c.tiers.end(), c.blocking) == c.tiers.end()) {
      const Location l = loc("reliability.checkpoint.blocking");
      diags.Add(Error(l.file, l.line, "reliability.checkpoint.blocking",
                      "blocking tier \"" + c.blocking + "\" is not among the tiers",
                      "add it to checkpoint.tiers"));
    }
    if (r.failures.empty() && !diags.HasErrors()) {
      diags.Add(Error("", 0, "reliability.failures", "no failure class is given",
                      "give failures, or start from a preset (preset: llama3-table5)"));
    }
    bool replica_class = false;
    for (const FailureConfig& f : r.failures) {
      replica_class |= f.effect == reliability::Effect::kStopReplica;
    }
    if (replica_class && !r.replica_fault_tolerance) {
      const Location l = loc("reliability.failures");
      diags.Add(Error(l.file, l.line, "reliability.failures",
                      "a class has effect stop_replica but replica_fault_tolerance is false",
                      "set replica_fault_tolerance: true, or use effect stop_job"));
    }
  }
};

}  // namespace

core::Result<LoadedRun> LoadRun(const Catalog& catalog, const RunRequest& request) {
  LoadedRun run;
  ScenarioDraft draft;
  OverrideSet overrides(request.overrides);
  core::Result<LoadedScenario> scenario =
      !request.scenario.empty()
          ? LoadScenarioKeepingDraft(catalog, request.scenario, draft, &overrides)
          : LoadPartsOverridden(catalog, request.model, request.cluster, request.plan,
                                request.plan.empty() ? request.global_batch : 0, &overrides);
  RunLoader loader{catalog, {}, {}, {}, &overrides};
  if (!scenario.ok()) {
    loader.diags.Append(scenario.diagnostics());
  } else {
    loader.where = scenario.value().where;
  }
  const std::string& file = request.scenario;
  auto line_of = [&](const std::string& key) {
    auto it = loader.where.find(key);
    return it == loader.where.end() ? 0 : it->second.line;
  };

  // Training.
  // Training. --tokens replaces how much to train; the section's cost keys still apply.
  TrainingConfig& t = run.training;
  const bool tokens_given = !request.tokens.empty();
  if (Given(draft.training)) {
    YAML::Node node = draft.training;
    std::string training_file = file;
    if (node.IsScalar()) {
      training_file = (fs::path(file).parent_path() / node.Scalar()).string();
      core::Result<YAML::Node> doc = catalog.files_allowed()
                                         ? LoadYamlMapping(training_file)
                                         : core::Result<YAML::Node>(FileNotAllowed(
                                               file, NodeLine(node), "training", node.Scalar()));
      if (!doc.ok()) {
        loader.diags.Append(doc.diagnostics());
        node = YAML::Node();
      } else {
        node = doc.value();
      }
    }
    if (node) {
      ParseContext ctx{training_file, "training", &loader.diags, &loader.where};
      const size_t before = loader.diags.size();
      ApplyMapping(node, TrainingFields(), t, ctx);
      overrides.Apply("training", TrainingFields(), t, loader.diags, loader.where);
      const int given = (t.tokens > 0) + (t.steps > 0) + (t.duration_s > 0);
      if (!tokens_given && loader.diags.size() == before && given != 1) {
        loader.diags.Add(
            Error(training_file, line_of("training"), "training",
                  given == 0 ? "says neither tokens, steps nor duration"
                             : "gives " + std::to_string(given) + " of tokens, steps and duration",
                  "give exactly one, e.g. tokens: \"15T\""));
      }
    }
  } else {
    // No section: --set may still give its keys.
    const size_t before = loader.diags.size();
    const bool set =
        overrides.Apply("training", TrainingFields(), t, loader.diags, loader.where) > 0;
    const int given = (t.tokens > 0) + (t.steps > 0) + (t.duration_s > 0);
    if (!tokens_given && scenario.ok() && loader.diags.size() == before && given != 1) {
      if (set && given > 1) {
        loader.diags.Add(Error("--set", 0, "training",
                               "gives " + std::to_string(given) + " of tokens, steps and duration",
                               "give exactly one"));
      } else {
        loader.diags.Add(Error(file, 0, "training", "how much to train is not given",
                               "add training: {tokens: \"15T\"} to the scenario, or --tokens 15T"));
      }
    }
  }
  if (tokens_given) {
    const core::QuantityParse q = core::ParseQuantity(request.tokens, core::Dimension::kCount);
    if (!q.ok) {
      loader.diags.Add(Error("", 0, "--tokens", q.error, q.hint));
    } else if (q.value <= 0) {
      loader.diags.Add(Error("", 0, "--tokens", "\"" + request.tokens + "\" is out of range",
                             "expected a count greater than 0, e.g. \"15T\""));
    } else {
      t.tokens = q.value;
      t.steps = 0;
      t.duration_s = 0;
    }
  }

  // Reliability: defaults, then the presets, then the keys given.
  ReliabilityDraft rel;
  ApplyDefaults(ReliabilityFields(), rel);
  run.reliability_given =
      !request.reliability.empty() || Given(draft.reliability) || overrides.Touches("reliability");
  if (!request.reliability.empty()) {
    loader.LoadReliabilityNode(YAML::Node(request.reliability), "", rel, 0);
  } else if (Given(draft.reliability)) {
    loader.LoadReliabilityNode(draft.reliability, file, rel, 0);
  } else if (scenario.ok()) {
    run.notes.push_back(std::string("no reliability section: using the preset ") + kDefaultPreset);
    loader.LoadReliabilityNode(YAML::Node(kDefaultPreset), "", rel, 0);
  }
  overrides.Apply("reliability", ReliabilityFields(), rel, loader.diags, loader.where);
  loader.LoadFailures(rel);
  if (!loader.diags.HasErrors()) loader.CheckReliability(rel.config);
  if (!loader.diags.HasErrors()) overrides.ReportUnused(loader.diags);
  if (loader.diags.HasErrors()) return loader.diags;
  run.scenario = std::move(scenario).value();
  run.scenario.where = loader.where;
  run.reliability = std::move(rel.config);
  run.reliability.presets = loader.presets;
  return run;
}

namespace {

ComponentCounts CountComponents(const network::ClusterSpec& c) {
  ComponentCounts n;
  n.gpu = static_cast<double>(c.chips);
  n.node = static_cast<double>(c.chips) / c.chips_per_node;
  n.nic = n.gpu;
  n.switches = 1.5 * std::ceil(n.nic / 32);
  n.link = 2 * n.nic;
  return n;
}

double CountOf(const ComponentCounts& n, const std::string& per) {
  if (per == "gpu") return n.gpu;
  if (per == "nic") return n.nic;
  if (per == "switch") return n.switches;
  if (per == "link") return n.link;
  return n.node;
}

// The engine names keys after its RunSpec ("reliability.failures[2].rate",
// "reliability.steps"); map them to the input's keys so that Locate finds their line.
void PlaceEngineDiagnostics(core::Diagnostics& d, const SourceMap& where) {
  for (core::Diagnostic& x : d.items()) {
    if (x.key == "reliability.steps") x.key = "training";
    if (x.key.rfind("reliability", 0) != 0 && x.key.rfind("training", 0) != 0) {
      x.key = x.key.empty() ? "reliability" : "reliability." + x.key;
    }
  }
  Locate(d, where);
}

bool Has(const std::vector<std::string>& tiers, const char* tier) {
  return std::find(tiers.begin(), tiers.end(), tier) != tiers.end();
}

// Chip-hours at the rental price and energy at the mean power, over the expected time.
CostDerivation DeriveCost(const CostConfig& in, const network::ClusterSpec& cluster,
                          double expected_s, double ideal_s) {
  const hardware::ChipSpec& chip = cluster.chip;
  const double chips = static_cast<double>(cluster.chips);
  constexpr double kHour = 3600;
  CostDerivation c;
  c.chips = chips;
  c.hours = expected_s / kHour;
  c.ideal_hours = ideal_s / kHour;
  c.chip_hours = chips * c.hours;
  if (in.usd_per_chip_hour >= 0) {
    c.usd_per_chip_hour = in.usd_per_chip_hour;
    c.price_source = "training.cost.usd_per_chip_hour";
  } else if (chip.usd_per_chip_hour > 0) {
    c.usd_per_chip_hour = chip.usd_per_chip_hour;
    c.price_source = "catalog: " + chip.name;
  }
  c.usd = c.chip_hours * c.usd_per_chip_hour;
  c.ideal_usd = chips * c.ideal_hours * c.usd_per_chip_hour;
  if (in.power_w >= 0) {
    c.power_w = in.power_w;
    c.power_source = "training.cost.power";
  } else if (cluster.node_power.value() > 0) {
    c.power_w = cluster.node_power.value() / cluster.chips_per_node;
    c.power_source = "node";
  } else if (chip.tdp.value() > 0) {
    c.power_w = chip.tdp.value();
    c.power_source = "tdp";
  }
  c.pue = in.pue;
  c.it_energy_j = chips * c.power_w * expected_s;
  c.facility_energy_j = c.it_energy_j * c.pue;
  c.usd_per_kwh = in.usd_per_kwh;
  constexpr double kJoulesPerKwh = 3.6e6;
  c.electricity_usd = c.facility_energy_j / kJoulesPerKwh * c.usd_per_kwh;
  return c;
}

}  // namespace

core::Result<RunResult> EvaluateRun(const LoadedRun& run, const RunOptions& options) {
  core::Diagnostics diags;
  core::Result<estimate::StepReport> step = estimate::Estimate(run.scenario.scenario);
  diags.Append(step.diagnostics());
  Locate(diags, run.scenario.where);
  if (!step.ok()) return diags;
  if (!step.value().fits) {
    // A plan that does not fit cannot run at all: projecting its run would mislead.
    diags.Error("plan", "the plan does not fit in memory, so the run cannot be projected",
                "see `fathom step` for the memory breakdown; raise tp or pp, recompute, or "
                "shard more with zero");
    Locate(diags, run.scenario.where);
    return diags;
  }

  RunResult r;
  r.step = std::move(step).value();
  r.training = run.training;
  r.config = run.reliability;
  r.notes = run.notes;
  const ReliabilityConfig& cfg = run.reliability;
  const network::ClusterSpec& cluster = run.scenario.scenario.cluster;
  const parallel::ParallelPlan& plan = run.scenario.scenario.plan;
  r.counts = CountComponents(cluster);

  auto error_at = [&](const std::string& key, std::string message, std::string hint = {}) {
    auto it = run.scenario.where.find(key);
    const Location l = it == run.scenario.where.end() ? Location{} : it->second;
    diags.Add(Error(l.file, l.line, key, std::move(message), std::move(hint)));
  };

  reliability::RunSpec& spec = r.spec;
  spec.step_time_s = r.step.step_time_s;
  // A job on part of a node still runs on one node.
  spec.nodes = std::max<int64_t>(1, std::llround(r.counts.node));
  spec.gpus_per_node = cluster.chips_per_node;
  for (const FailureConfig& f : cfg.failures) {
    reliability::FailureClass c;
    c.name = f.name;
    if (f.per_1000_node_days >= 0) {
      c.count = r.counts.node;
      c.rate_per_s = f.per_1000_node_days / 1000 / kDay;
    } else {
      c.count = CountOf(r.counts, f.per);
      c.rate_per_s = f.per_component_year >= 0 ? f.per_component_year / kYear : 1 / f.mtbf_s;
    }
    c.distribution = f.distribution;
    c.weibull_shape = f.weibull_shape;
    c.effect = f.effect;
    c.slowdown = f.slowdown;
    c.slow_duration_s = f.slow_duration_s;
    c.detect_latency_s = f.detect_latency_s;
    c.needs_repair = f.needs_repair;
    spec.failures.push_back(std::move(c));
  }

  // Checkpoint size and tiers.
  const CheckpointConfig& cp = cfg.checkpoint;
  CheckpointDerivation& d = r.checkpoint;
  d.bytes_per_parameter = parallel::kWeightBytes + parallel::OptimizerBytes(plan);
  d.size_bytes = r.step.parameters * d.bytes_per_parameter + cp.data_loader_state;
  d.writers = plan.zero >= 1 ? static_cast<double>(cluster.chips)
                             : static_cast<double>(int64_t{plan.tp} * plan.pp * plan.cp);
  d.per_writer_bytes = d.size_bytes / d.writers;
  const double peer_bw =
      cp.peer_bandwidth > 0 ? cp.peer_bandwidth : cluster.scale_out.bandwidth.value();
  double elapsed = 0;
  bool blocked = true;
  for (const std::string& tier : cp.tiers) {
    double s = 0;
    if (tier == "host") s = d.host_s = d.per_writer_bytes / cp.host_bandwidth;
    if (tier == "peers") s = d.peers_s = peer_bw > 0 ? d.per_writer_bytes / peer_bw : 0;
    if (tier == "storage") s = d.storage_s = d.size_bytes / cp.storage_bandwidth;
    elapsed += s;
    if (blocked) d.blocking_s = elapsed;
    if (tier == cp.blocking) blocked = false;
  }
  d.persist_s = elapsed;
  if (cp.blocking_time_s >= 0) d.blocking_s = cp.blocking_time_s;
  if (cp.persist_time_s >= 0) d.persist_s = cp.persist_time_s;
  d.persist_s = std::max(d.persist_s, d.blocking_s);
  d.load_s = Has(cp.tiers, "peers") && peer_bw > 0 ? d.per_writer_bytes / peer_bw
             : Has(cp.tiers, "storage")            ? d.size_bytes / cp.storage_bandwidth
                                                   : d.per_writer_bytes / cp.host_bandwidth;
  spec.checkpoint.size_bytes = d.size_bytes;
  spec.checkpoint.blocking_s = d.blocking_s;
  spec.checkpoint.persist_s = d.persist_s;
  spec.checkpoint.interval_s = cp.interval_s;
  spec.checkpoint.retained = cp.retained;
  if (cp.interval_s > 0 && cp.interval_s < r.step.step_time_s) {
    error_at("reliability.checkpoint.interval",
             "checkpoint interval " + core::FormatSeconds(cp.interval_s) +
                 " is shorter than one step (" + core::FormatSeconds(r.step.step_time_s) + ")",
             "checkpoints are taken between steps; use at least one step, or auto");
  }

  spec.recovery = cfg.recovery;
  if (spec.recovery.load_s < 0) spec.recovery.load_s = d.load_s;
  d.load_s = spec.recovery.load_s;
  spec.repair_time_s = cfg.repair_time_s;
  spec.spare_nodes = cfg.spare_nodes;
  spec.spare_confidence = cfg.spare_confidence;
  spec.replicas = cfg.replica_fault_tolerance ? plan.dp : 1;
  spec.slow_node_fraction = cfg.slow_node_fraction;
  spec.slow_node_factor = cfg.slow_node_factor;

  const double tokens_per_step =
      static_cast<double>(plan.global_batch_size) * run.scenario.scenario.model.seq_len;
  if (r.training.tokens > 0) {
    spec.steps = std::ceil(r.training.tokens / tokens_per_step);
  } else if (r.training.steps > 0) {
    spec.steps = r.training.steps;
  } else {
    spec.steps = 1;  // a window: first the ETTR, then the steps that fit in it
  }
  if (diags.HasErrors()) return diags;

  core::Result<reliability::RunReport> analysis = reliability::AnalyzeRun(spec);
  if (analysis.ok() && r.training.duration_s > 0) {
    const reliability::RunReport& a = analysis.value();
    // The window holds the useful time of every cause of loss (ideal / expected time).
    spec.steps = r.training.duration_s * a.ettr_all_causes / spec.step_time_s;
    analysis = reliability::AnalyzeRun(spec);
  }
  core::Diagnostics engine = analysis.diagnostics();
  PlaceEngineDiagnostics(engine, run.scenario.where);
  diags.Append(engine);
  if (!analysis.ok()) return diags;
  r.analysis = std::move(analysis).value();
  r.tokens = spec.steps * tokens_per_step;
  r.cost =
      DeriveCost(r.training.cost, cluster, r.analysis.expected_time_s, r.analysis.ideal_time_s);

  if (options.monte_carlo) {
    const int trials = options.trials.value_or(cfg.trials);
    const uint64_t seed = options.seed.value_or(cfg.seed);
    core::Result<reliability::MonteCarloReport> mc =
        reliability::SimulateRuns(spec, trials, seed, options.threads, options.progress);
    core::Diagnostics mc_diags = mc.diagnostics();
    PlaceEngineDiagnostics(mc_diags, run.scenario.where);
    diags.Append(mc_diags);
    if (!mc.ok()) return diags;
    r.monte_carlo = std::move(mc).value();
  }
  return core::Result<RunResult>(std::move(r), std::move(diags));
}

}  // namespace fathom::io
