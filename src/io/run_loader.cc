// `fathom run` inputs: the training and reliability sections and the presets, parsed into
// plan/run.h's config structs; the projection is plan::ProjectRun.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <utility>

#include "core/text.h"
#include "core/units.h"
#include "io/keys.h"
#include "io/plan_format.h"
#include "io/plan_search.h"
#include "io/run.h"

namespace fathom::io {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxPresetDepth = 8;
const char* const kDefaultPreset = "llama3-table5";
constexpr std::array<std::string_view, 3> kTiers = {"host", "peers", "storage"};

std::string ShortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A key present in the input (a default-constructed node is "null", not absent).
bool Given(const YAML::Node& node) { return node.IsDefined() && !node.IsNull(); }

// How much to train is one of tokens, steps and duration: a section that gives more than
// one contradicts itself, whichever command reads it (`fathom step` checks it too). At
// `file`:`line`, the section's own place. (One that gives none is `fathom run`'s to refuse,
// which --tokens may complete.)
void CheckOneAmount(const TrainingConfig& t, const std::string& file, int line,
                    core::Diagnostics& d) {
  const int given = (t.tokens > 0) + (t.steps > 0) + (t.duration_s > 0);
  if (given <= 1) return;
  d.Add(Error(file, line, "training",
              "gives " + std::to_string(given) + " of tokens, steps and duration",
              "give exactly one, e.g. tokens: \"15T\""));
}

struct RunLoader {
  const Catalog& catalog;
  core::Diagnostics diags;
  SourceMap where;
  std::vector<plan::ReliabilityOrigin> presets;
  OverrideSet* overrides = nullptr;

  // A preset name (data/reliability/NAME.yaml) or a file path, relative to `from_file`'s
  // directory first; `file` says which it was.
  std::string ResolvePreset(const std::string& ref, const std::string& from_file,
                            const std::string& key, int line, bool& file) {
    file = true;
    if (catalog.files_allowed()) {
      // A file found where files are confined (fathom serve) is read only inside the tree.
      auto confined = [&](const std::string& f) {
        core::Diagnostics outside = OutsideFilesRoot(catalog, from_file, line, key, ref, f);
        diags.Append(outside);
        return outside.HasErrors() ? std::string() : f;
      };
      if (!from_file.empty()) {
        const fs::path rel = fs::path(from_file).parent_path() / ref;
        if (NamesFileToRead(rel.string())) return confined(rel.string());
      }
      if (const std::string f = catalog.FromWorkingDir(ref); NamesFileToRead(f)) return confined(f);
    }
    file = false;
    const std::string found = catalog.Find(Section::kReliability, ref);
    if (!found.empty()) return found;
    if (catalog.files_allowed()) {  // a directory is no file to read (it said "no such file")
      std::error_code ec;
      for (const fs::path& p : {fs::path(from_file).parent_path() / ref, fs::path(ref)}) {
        if (from_file.empty() && p != fs::path(ref)) continue;
        if (!fs::is_directory(p, ec)) continue;
        diags.Add(Error(from_file, line, key,
                        "\"" + ref + "\" is a directory, not a reliability file or preset",
                        "give the YAML file in it, or a preset's name"));
        return "";
      }
    }
    std::vector<std::string> names = catalog.Names(Section::kReliability);
    std::vector<std::string_view> views(names.begin(), names.end());
    const std::string guess = core::DidYouMean(ref, views);
    const std::string searched = catalog.files_allowed()
                                     ? " in the catalog (" +
                                           (fs::path(catalog.dir()) / "reliability").string() +
                                           ") and no such file"
                                     : "";
    diags.Add(Error(
        from_file, line, key, "no reliability preset named \"" + ref + "\"" + searched,
        guess.empty() ? "presets: " + core::JoinComma(views) : "did you mean \"" + guess + "\"?"));
    return "";
  }

  void LoadReliabilityFile(const std::string& path, bool file, ReliabilityDraft& draft, int depth) {
    core::Result<YAML::Node> root = LoadYamlMapping(path, &catalog);
    if (!root.ok()) {
      diags.Append(root.diagnostics());
      return;
    }
    presets.push_back({file ? path : fs::path(path).stem().string(), file});
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
      bool is_file = false;
      const std::string path =
          ResolvePreset(node.Scalar(), file, "reliability", NodeLine(node), is_file);
      if (!path.empty()) LoadReliabilityFile(path, is_file, draft, depth);
      return;
    }
    if (!node.IsMap()) {
      diags.Add(Error(file, NodeLine(node), "reliability",
                      "expected a preset name, a file or a mapping, got " + NodeText(node)));
      return;
    }
    if (const YAML::Node preset = node["preset"]; preset && preset.IsScalar()) {
      bool is_file = false;
      const std::string path =
          ResolvePreset(preset.Scalar(), file, "reliability.preset", NodeLine(preset), is_file);
      if (!path.empty()) LoadReliabilityFile(path, is_file, draft, depth);
    }
    ParseContext ctx{file, "reliability", &diags, &where};
    BeginReliabilityMapping(draft);
    ApplyMapping(node, ReliabilityFields(), draft, ctx);
    ForgetVendorOfReplacedFailures(draft);
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
    if (f.effect == reliability::Effect::kFailSlow && !(f.slow_duration_s > 0)) {
      diags.Add(Error(file, line, key + ".slow_duration",
                      "effect fail_slow needs a slow_duration above 0 (how long a node runs "
                      "slowly): with none the class does nothing",
                      "e.g. slow_duration: 2h"));
    }
    // A key of another effect would be ignored: an error, as for weibull_shape.
    const struct {
      const char* key;
      reliability::Effect effect;
      const char* effect_name;
    } own[] = {{"slowdown", reliability::Effect::kFailSlow, "fail_slow"},
               {"slow_duration", reliability::Effect::kFailSlow, "fail_slow"},
               {"detect_latency", reliability::Effect::kSilentCorruption, "sdc"}};
    for (const auto& o : own) {
      const auto it = where.find(key + "." + o.key);
      if (it == where.end() || f.effect == o.effect) continue;
      diags.Add(Error(it->second.file, it->second.line, key + "." + o.key,
                      std::string("is given, but it applies to effect ") + o.effect_name +
                          " only and this class's effect is " +
                          std::string(reliability::EffectName(f.effect)) + ": it would be ignored",
                      std::string("add effect: ") + o.effect_name + ", or drop " + o.key));
    }
    if (f.weibull_shape != 1 && f.distribution != reliability::Distribution::kWeibull) {
      const auto it = where.find(key + ".weibull_shape");
      const Location at = it == where.end() ? Location{file, line} : it->second;
      diags.Add(Error(at.file, at.line, key + ".weibull_shape",
                      "= " + ShortNumber(f.weibull_shape) +
                          " is given, but the distribution is exponential, which has no shape: "
                          "it would be ignored",
                      "add distribution: weibull, or drop weibull_shape"));
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
      // A key given with a bad value is reported once, not also as missing.
      core::Diagnostics missing;
      CheckRequired(FailureClassFields(), where, key, file, line, missing);
      for (const core::Diagnostic& m : missing.items()) {
        const bool reported =
            std::any_of(diags.items().begin(), diags.items().end(),
                        [&](const core::Diagnostic& x) { return x.key == m.key; });
        if (!reported) diags.Add(m);
      }
      if (diags.size() > before) continue;
      CheckFailure(classes[i], key, file, line);
      if (std::find(names.begin(), names.end(), classes[i].name) != names.end()) {
        diags.Add(
            Error(file, line, key + ".name", "class \"" + classes[i].name + "\" is given twice"));
      }
      names.push_back(classes[i].name);
    }
    draft.config.failures = std::move(classes);
    draft.config.failures_replaced = file == "--set";
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
    // A checkpoint flows device -> host memory -> a peer's host memory -> storage; a tier
    // may be skipped, not reordered.
    size_t last_rank = 0;
    for (const std::string& t : c.tiers) {
      const size_t rank =
          static_cast<size_t>(std::find(kTiers.begin(), kTiers.end(), t) - kTiers.begin());
      if (rank == kTiers.size()) continue;  // reported above
      if (rank < last_rank) {
        const Location l = loc(tiers_key);
        std::vector<std::string_view> given(c.tiers.begin(), c.tiers.end());
        diags.Add(Error(l.file, l.line, tiers_key,
                        "[" + core::JoinComma(given) + "] is out of order: \"" + t +
                            "\" comes before \"" + std::string(kTiers[last_rank]) +
                            "\" on a checkpoint's way (host, then peers, then storage)",
                        "list the tiers in that order, e.g. [host, storage]"));
        break;
      }
      last_rank = rank;
    }
    if (!c.tiers.empty() &&
        std::find(c.tiers.begin(), c.tiers.end(), c.blocking) == c.tiers.end()) {
      const Location l = loc("reliability.checkpoint.blocking");
      diags.Add(Error(l.file, l.line, "reliability.checkpoint.blocking",
                      "blocking tier \"" + c.blocking + "\" is not among the tiers",
                      "add it to checkpoint.tiers"));
    }
    if (r.failures.empty() && !diags.HasErrors()) {
      const Location l = loc("reliability");
      diags.Add(Error(l.file, l.line, "reliability.failures", "no failure class is given",
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

core::Result<double> ParseTokensFlag(const std::string& text) {
  core::Diagnostics d;
  const core::QuantityParse t = core::ParseQuantity(text, core::Dimension::kCount);
  if (!t.ok || t.value < 1 || t.value > kMaxTokens) {
    d.Error("--tokens",
            "\"" + text + "\": " +
                (!t.ok          ? t.error
                 : t.value <= 0 ? "must be more than 0"
                 : t.value < 1  ? "less than one token"
                                : std::string("more than 1e18 tokens")),  // kMaxTokens
            t.hint.empty() ? "e.g. --tokens 15T" : t.hint);
    return d;
  }
  return t.value;
}

void CheckUnreadSections(const Catalog& catalog, const std::string& file,
                         const ScenarioDraft& draft,
                         std::initializer_list<std::string_view> sections, core::Diagnostics& d) {
  auto wanted = [&](std::string_view s) {
    return std::find(sections.begin(), sections.end(), s) != sections.end();
  };
  core::Diagnostics found;
  SourceMap where;
  // A mapping, or a file beside the scenario that holds it; nullopt (its error added) where
  // the file does not load.
  auto section = [&](const YAML::Node& given, const char* name,
                     std::string& from) -> std::optional<YAML::Node> {
    from = file;
    if (!given.IsScalar()) return given;
    core::Result<YAML::Node> doc =
        LoadSectionFile(file, given, name, catalog.files_allowed(), from, &catalog);
    if (!doc.ok()) {
      found.Append(doc.diagnostics());
      return std::nullopt;
    }
    return doc.value();
  };
  // A section of keys alone, read into `config`; false where it has a bad key or value.
  auto mapping = [&]<typename T>(const YAML::Node& given, const char* name,
                                 const std::vector<Field<T>>& fields, T& config,
                                 std::string& from) {
    const std::optional<YAML::Node> node = section(given, name, from);
    if (!node) return false;
    const size_t before = found.size();
    ParseContext ctx{from, name, &found, &where};
    ApplyMapping(*node, fields, config, ctx);
    return found.size() == before;
  };
  if (wanted("training") && Given(draft.training)) {
    TrainingConfig training;
    std::string from;
    if (mapping(draft.training, "training", TrainingFields(), training, from)) {
      // At the scenario's line of the section, or in the section's own file (as `fathom run`).
      CheckOneAmount(training, from, from == file ? NodeLine(draft.training) : 0, found);
    }
  }
  if (wanted("reliability") && Given(draft.reliability)) {
    RunLoader loader{catalog, {}, {}, {}, nullptr};
    ReliabilityDraft rel;
    ApplyDefaults(ReliabilityFields(), rel);
    loader.LoadReliabilityNode(draft.reliability, file, rel, 0);
    BeginReliabilityMapping(rel);
    ForgetVendorOfReplacedFailures(rel);
    loader.LoadFailures(rel);
    found.Append(loader.diags);
  }
  if (wanted("search") && Given(draft.search)) {
    SearchConfig search;
    std::string from;
    mapping(draft.search, "search", SearchFields(), search, from);
  }
  // Errors only: a warning of a section the command does not use (a checkpoint slower than
  // the failures, for a step) is the reading command's to give. The scenario's own lines
  // in order, then the files the sections name.
  std::vector<core::Diagnostic> errors;
  for (const core::Diagnostic& x : found.items()) {
    if (x.severity == core::Severity::kError) errors.push_back(x);
  }
  std::stable_sort(errors.begin(), errors.end(),
                   [&](const core::Diagnostic& a, const core::Diagnostic& b) {
                     const bool ia = a.file == file, ib = b.file == file;
                     return ia != ib ? ia : (ia && a.line < b.line);
                   });
  for (const core::Diagnostic& x : errors) d.Add(x);
}

core::Result<LoadedScenario> LoadScenarioChecked(const Catalog& catalog, const std::string& file,
                                                 const std::vector<Override>& overrides) {
  ScenarioDraft draft;
  OverrideSet set(overrides);
  core::Result<LoadedScenario> r = LoadScenarioKeepingDraft(catalog, file, draft, &set);
  core::Diagnostics d = r.diagnostics();
  if (r.ok()) {
    set.ReportUnused(d);
    set.ReportSectionsNotRead(d, {"training", "reliability"});
  }
  CheckUnreadSections(catalog, file, draft, {"training", "reliability", "search"}, d);
  if (d.HasErrors()) return d;
  return {std::move(r).value(), std::move(d)};
}

core::Result<LoadedRun> LoadRun(const Catalog& catalog, const RunRequest& request) {
  LoadedRun run;
  ScenarioDraft draft;
  OverrideSet overrides(request.overrides);
  core::Result<LoadedScenario> scenario =
      !request.scenario.empty()
          ? LoadScenarioKeepingDraft(catalog, request.scenario, draft, &overrides)
          : LoadPartsOverridden(catalog, request.model, request.cluster, request.plan,
                                request.plan.empty() ? request.global_batch : 0, &overrides,
                                &draft);
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
    bool read = true;
    if (node.IsScalar()) {
      core::Result<YAML::Node> doc =
          LoadSectionFile(file, node, "training", catalog.files_allowed(), training_file, &catalog);
      read = doc.ok();
      if (!doc.ok()) {
        loader.diags.Append(doc.diagnostics());
      } else {
        node = doc.value();
      }
    }
    if (read) {
      ParseContext ctx{training_file, "training", &loader.diags, &loader.where};
      const size_t before = loader.diags.size();
      ApplyMapping(node, TrainingFields(), t, ctx);
      overrides.Apply("training", TrainingFields(), t, loader.diags, loader.where);
      const int given = (t.tokens > 0) + (t.steps > 0) + (t.duration_s > 0);
      // In the section's own file, the scenario's line of `training:` is not its.
      const int line = training_file == file ? line_of("training") : 0;
      if (!tokens_given && loader.diags.size() == before && given == 0) {
        loader.diags.Add(Error(training_file, line, "training",
                               "says neither tokens, steps nor duration",
                               "give exactly one, e.g. tokens: \"15T\""));
      } else if (!tokens_given && loader.diags.size() == before) {
        CheckOneAmount(t, training_file, line, loader.diags);
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
                               file.empty() ? "give --tokens, e.g. --tokens 15T"
                                            : "add training: {tokens: \"15T\"} to the "
                                              "scenario, or --tokens 15T"));
      }
    }
  }
  // --tokens replaces what the scenario says, not what --set says beside it: both on the
  // command line is a contradiction, not an override.
  const char* set_amount = nullptr;
  for (const char* key : {"training.tokens", "training.steps", "training.duration"}) {
    auto it = loader.where.find(key);
    if (it != loader.where.end() && it->second.file == "--set") set_amount = key;
  }
  if (tokens_given && set_amount != nullptr) {
    loader.diags.Add(Error(
        "--tokens", 0, "",
        "--tokens " + request.tokens + " and --set " + set_amount + " both say how much to train",
        "give one of them"));
  } else if (tokens_given) {
    core::Result<double> tokens = ParseTokensFlag(request.tokens);
    if (!tokens.ok()) {
      loader.diags.Append(tokens.diagnostics());
    } else {
      t.tokens = tokens.value();
      t.steps = 0;
      t.duration_s = 0;
      loader.where["training.tokens"] = {"--tokens", 0};  // diagnostics about it name the flag
    }
  }

  // Reliability: defaults, then the presets, then the keys given.
  ReliabilityDraft rel;
  ApplyDefaults(ReliabilityFields(), rel);
  run.reliability_given =
      !request.reliability.empty() || Given(draft.reliability) || overrides.Touches("reliability");
  if (!request.reliability.empty()) {
    loader.LoadReliabilityNode(YAML::Node(request.reliability), "", rel, 0);
    // The flag replaces the scenario's section: what its file does not give (a checkpoint
    // key left at its default, the section as a whole) is located in that file, or at the
    // flag for a catalog preset, not at the scenario's `reliability:` line.
    const bool from_file = !loader.presets.empty() && loader.presets.front().file;
    loader.where["reliability"] = {from_file ? loader.presets.front().name : "--reliability", 0};
  } else if (Given(draft.reliability)) {
    loader.LoadReliabilityNode(draft.reliability, file, rel, 0);
  } else if (scenario.ok()) {
    run.notes.push_back(std::string("no reliability section: using the preset ") + kDefaultPreset);
    loader.LoadReliabilityNode(YAML::Node(kDefaultPreset), "", rel, 0);
  }
  BeginReliabilityMapping(rel);
  overrides.Apply("reliability", ReliabilityFields(), rel, loader.diags, loader.where);
  ForgetVendorOfReplacedFailures(rel);
  loader.LoadFailures(rel);
  if (!loader.diags.HasErrors()) loader.CheckReliability(rel.config);
  // Rates counted on one vendor's accelerators, applied to another's.
  if (scenario.ok() && !rel.vendor.empty()) {
    const hardware::ChipSpec& chip = scenario.value().scenario.cluster.chip;
    // A chip that names no vendor (a chip file of the user's) may be anyone's: said too.
    if (chip.vendor != rel.vendor) {
      std::string origin;
      for (const plan::ReliabilityOrigin& p : loader.presets) {
        origin += (origin.empty() ? "" : ", ") + p.name;
      }
      const std::string whose = chip.vendor.empty()
                                    ? "the " + chip.name + ", whose vendor is not given,"
                                    : chip.vendor + "'s " + chip.name;
      loader.diags.Warning(
          "reliability",
          "the failure rates" + (origin.empty() ? "" : " (" + origin + ")") + " were counted on " +
              rel.vendor + " accelerators; they are applied to " + whose + " as they are",
          (chip.vendor.empty()
               ? "say the chip's vendor (its vendor: key); if it is not " + rel.vendor + ", give "
               : std::string("give ")) +
              "reliability.failures measured on these chips, or read the run's failure figures "
              "as an assumption");
    }
  }
  if (!loader.diags.HasErrors()) overrides.ReportUnused(loader.diags);
  if (!request.scenario.empty()) {
    CheckUnreadSections(catalog, request.scenario, draft, {"search"}, loader.diags);
  }
  // The scenario's diagnostics (its warnings when it loaded), then the run's.
  core::Diagnostics all = scenario.ok() ? scenario.diagnostics() : core::Diagnostics{};
  // A run prices energy: at the node's power or the chip's TDP unless its power is given.
  if (scenario.ok() && t.cost.power_w < 0) all.Append(scenario.value().energy_warnings);
  all.Append(loader.diags);
  if (all.HasErrors()) return all;
  run.scenario = std::move(scenario).value();
  run.scenario.where = loader.where;
  run.reliability = std::move(rel.config);
  run.reliability.presets = loader.presets;
  return {std::move(run), std::move(all)};
}

core::Result<RunResult> EvaluateRun(const LoadedRun& run, const RunOptions& options) {
  core::Result<RunResult> r =
      plan::ProjectRun(run.scenario.scenario, run.training, run.reliability, options);
  core::Diagnostics d = r.diagnostics();
  Locate(d, run.scenario.where);
  if (!r.ok()) return d;
  RunResult out = std::move(r).value();
  out.notes.insert(out.notes.begin(), run.notes.begin(), run.notes.end());
  // Every note the projection raised is the report's too (text, JSON `notes`, HTML), not
  // only stderr's: the spare pool's "costs more than the waits it saves", as the analysis'
  // own notes (a Weibull class) are, said once.
  for (const core::Diagnostic& x : d.items()) {
    if (x.severity != core::Severity::kNote) continue;
    const std::string note = x.hint.empty() ? x.message : x.message + "; " + x.hint;
    const std::vector<std::string>& analysis = out.analysis.notes;
    if (std::find(analysis.begin(), analysis.end(), x.message) != analysis.end() ||
        std::find(out.notes.begin(), out.notes.end(), note) != out.notes.end()) {
      continue;
    }
    out.notes.push_back(note);
  }
  out.notes.push_back(kPredictionNote);
  return {std::move(out), std::move(d)};
}

}  // namespace fathom::io
