// Internal to io: the key tables with their setters.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "io/plan_search.h"
#include "io/run.h"
#include "io/schema.h"

namespace fathom::io {

// A cluster before its chip is resolved; zero fields take the chip's values.
struct ClusterDraft {
  network::ClusterSpec spec;
  bool kind_given = false;  // scale_up.kind stated (else the chip's, else switch)
  YAML::Node chip;
  YAML::Node tiers;  // scale_out.tiers, walked after `base:` merges (a later list replaces it)
};

struct ScenarioDraft {
  std::string name;
  std::string description;
  YAML::Node model;
  YAML::Node cluster;
  YAML::Node plan;
  YAML::Node training;     // `fathom run` only; absent for `fathom step`
  YAML::Node reliability;  // a preset name, a file or a mapping
  YAML::Node search;       // `fathom plan` and `fathom size` only
  YAML::Node sweep;        // `fathom sweep` only
};

// A reliability section as read: the failures list is walked after the presets merge.
struct ReliabilityDraft {
  ReliabilityConfig config;
  std::string preset;
  YAML::Node failures;
  std::string vendor;  // of the accelerators the failure rates were measured on; "" = not said
  // Set by the mapping being applied: failures given without their vendor are not the
  // preset's (ForgetVendorOfReplacedFailures).
  bool failures_given = false;
  bool vendor_given = false;
};
// Starts a mapping's application (clears the flags); after it, failures given without a
// vendor drop the vendor they replaced.
inline void BeginReliabilityMapping(ReliabilityDraft& r) {
  r.failures_given = r.vendor_given = false;
}
inline void ForgetVendorOfReplacedFailures(ReliabilityDraft& r) {
  if (r.failures_given && !r.vendor_given) r.vendor.clear();
}

struct ValidationCase {
  std::string name;
  std::string source;
  double measured_step_time_s = 0;  // a training-step case
  // A layer case: one transformer layer's forward and backward pass for one micro-batch
  // (0: not measured).
  double measured_layer_forward_s = 0;
  double measured_layer_backward_s = 0;
  double measured_busbw = 0;  // a collective case: nccl-tests bus bandwidth, bytes/s
  bool calibration = false;   // the measurement also set a constant of the model
  std::string how;
  double tolerance = 0.25;  // fraction
  std::vector<std::string> assumptions;
  YAML::Node scenario;
  YAML::Node collective;       // cluster, op, size, group, span, algorithm
  bool is_collective = false;  // collective.cluster was given
  // A kernel case: a measurement file of tools/calibrate and the chip to predict it on.
  std::string kernels_measurements;
  std::string kernels_chip;
};

const std::vector<Field<hardware::ChipSpec>>& ChipFields();
const std::vector<Field<ClusterDraft>>& ClusterFields();
const std::vector<Field<model::ModelSpec>>& ModelFields();
const std::vector<Field<parallel::ParallelPlan>>& PlanFields();
const std::vector<Field<ScenarioDraft>>& ScenarioFields();
const std::vector<Field<ValidationCase>>& ValidationCaseFields();
const std::vector<Field<TrainingConfig>>& TrainingFields();
const std::vector<Field<ReliabilityDraft>>& ReliabilityFields();
const std::vector<Field<FailureConfig>>& FailureClassFields();
const std::vector<Field<network::Tier>>& TierFields();
const std::vector<Field<SearchConfig>>& SearchFields();

// A scenario's `sweep:` section as read; the axes are walked by the sweep's loader.
struct SweepConfig {
  YAML::Node axes;
  std::string engine = "auto";
};
struct SweepAxisConfig {
  std::string key;
  std::vector<std::string> values;
};
const std::vector<Field<SweepConfig>>& SweepFields();
const std::vector<Field<SweepAxisConfig>>& SweepAxisFields();

// Where a key path of a scenario leads: the section instance it is in ("plan",
// "cluster.chip", "cluster.scale_out.tiers[1]"; "" for the scenario's own keys), the path
// within it ("scale_up.bandwidth") and its declaration. "chip.KEY" reads as the cluster's
// chip, "scenario.KEY" as KEY.
struct KeyTarget {
  std::string prefix;
  std::string rel;
  const KeyInfo* info = nullptr;
  std::string list;   // an item of a list: the list's path ("cluster.scale_out.tiers")
  int64_t item = -1;  // and the item's index
  std::string Path() const { return prefix.empty() ? rel : prefix + "." + rel; }
};
// False with `error` and `hint` set for a path that names no key.
bool ResolveKeyPath(const std::string& key, KeyTarget& out, std::string& error, std::string& hint);

// The overrides of one load (config.h's Override), each resolved to its section. The
// loaders apply each section's overrides after the section's own keys (and its `base:` or
// catalog entry), through the same declarations, so every validator runs on them.
class OverrideSet {
 public:
  OverrideSet() = default;
  // `overrides` as ParseOverrides returns them (keys already checked).
  explicit OverrideSet(const std::vector<Override>& overrides);

  bool empty() const { return entries_.empty(); }
  // Whether an override sets a key of the section at `prefix` or below it.
  bool Touches(const std::string& prefix) const;
  // The overrides of a whole section among `sections` (--set reliability=PRESET): an error
  // each, for a command that does not read them (the scenario's own key takes them, so
  // they are never left unused).
  void ReportSectionsNotRead(core::Diagnostics& d, const std::vector<std::string>& sections) const;
  // The overrides of keys below the section at `prefix` (not of the section as a whole),
  // in the order given.
  std::vector<Override> Touching(const std::string& prefix) const;
  // Sets the overrides of the section at `prefix` on `target`, as a file's keys would be;
  // diagnostics and the source map name the override's origin ("--set"), without a line.
  // Returns how many it set.
  template <class T>
  int Apply(const std::string& prefix, const std::vector<Field<T>>& fields, T& target,
            core::Diagnostics& d, SourceMap& where) {
    int applied = 0;
    for (Entry& e : entries_) {
      if (e.used || e.target.info == nullptr || e.target.prefix != prefix) continue;
      e.used = true;
      ++applied;
      ParseContext ctx{e.given.origin, prefix, &d, &where, false};
      ApplyMapping(Mapping(e), fields, target, ctx);
      NoteSetting(e, where);
    }
    return applied;
  }
  // The same for the items of the list at `list` ("cluster.scale_out.tiers"); an item
  // beyond the list's end is an error.
  template <class T>
  void ApplyItems(const std::string& list, const std::vector<Field<T>>& fields,
                  std::vector<T>& items, core::Diagnostics& d, SourceMap& where) {
    for (Entry& e : entries_) {
      if (e.used || e.target.info == nullptr || e.target.list != list) continue;
      e.used = true;
      if (e.target.item >= static_cast<int64_t>(items.size())) {
        ItemMissing(e, items.size(), d);
        continue;
      }
      ParseContext ctx{e.given.origin, e.target.prefix, &d, &where, false};
      ApplyMapping(Mapping(e), fields, items[static_cast<size_t>(e.target.item)], ctx);
      NoteSetting(e, where);
    }
  }
  // An error for each override that no loader applied: its section is not read by this
  // command (training in `fathom step`), or loading stopped before it.
  void ReportUnused(core::Diagnostics& d) const;

 private:
  struct Entry {
    Override given;
    KeyTarget target;
    YAML::Node value;
    bool used = false;
  };
  static YAML::Node Mapping(const Entry& e);
  // Records the override as typed at its key's place (Location::setting).
  static void NoteSetting(const Entry& e, SourceMap& where);
  static void ItemMissing(const Entry& e, size_t items, core::Diagnostics& d);
  std::vector<Entry> entries_;
};

// A scenario file, keeping its `training:` and `reliability:` nodes in `draft`; the
// overrides of the model, cluster and plan (and of the scenario's own keys) applied, those
// of the other sections left to their loaders.
core::Result<LoadedScenario> LoadScenarioKeepingDraft(const Catalog& catalog,
                                                      const std::string& file, ScenarioDraft& draft,
                                                      OverrideSet* overrides = nullptr);
// Checks the sections of `draft` (read from `file`) that a command does not read, among
// "training", "reliability" and "search", as the commands that read them would: their keys,
// types and values, and that training gives at most one of tokens, steps and duration (not
// that it gives one: --tokens may), so that a misspelt key or a contradiction is an error
// whichever command reads the file. Adds their errors to `d`.
void CheckUnreadSections(const Catalog& catalog, const std::string& file,
                         const ScenarioDraft& draft,
                         std::initializer_list<std::string_view> sections, core::Diagnostics& d);
// LoadScenario, with CheckUnreadSections of the training, reliability and search sections:
// for the commands that read the model, cluster and plan alone (step, compare,
// sensitivity).
core::Result<LoadedScenario> LoadScenarioChecked(const Catalog& catalog, const std::string& file,
                                                 const std::vector<Override>& overrides);
// A model, a cluster and a plan file, or a plan of defaults but for its global batch when
// `plan` is "". `draft_out` receives the sections the overrides gave whole (--set
// reliability=rsc1, training={...}), as LoadScenarioKeepingDraft's draft does.
core::Result<LoadedScenario> LoadPartsOverridden(const Catalog& catalog, const std::string& model,
                                                 const std::string& cluster,
                                                 const std::string& plan, int64_t global_batch_size,
                                                 OverrideSet* overrides,
                                                 ScenarioDraft* draft_out = nullptr);

// A scenario given as a mapping inside another file (a validation case).
core::Result<LoadedScenario> LoadScenarioNode(const Catalog& catalog, const YAML::Node& node,
                                              const std::string& file);
// A YAML/JSON file whose top level is a mapping (diagnostics for anything else); the text
// `catalog` pinned for `path`, if any (Catalog::Pin).
core::Result<YAML::Node> LoadYamlMapping(const std::string& path, const Catalog* catalog = nullptr);
// The error for a section given as a file `ref` where files are not read
// (Catalog::files_allowed).
core::Diagnostics FileNotAllowed(const std::string& file, int line, const std::string& key,
                                 const std::string& ref);
// Where the catalog confines files (Catalog::files_root): the error at `key` for a
// reference `ref` that is an absolute path, or whose file `path` lies outside the tree;
// none else.
core::Diagnostics OutsideFilesRoot(const Catalog& catalog, const std::string& file, int line,
                                   const std::string& key, const std::string& ref,
                                   const std::string& path);
// A scenario section given as the path of a file (`sweep:`, `search:`, `training:`):
// `ref`, relative to `scenario`'s directory, read as a mapping; `file` is set to its path.
// Where files are not read, or where the path names no file, the error is at the
// scenario's line of `key`, with the path looked for. `catalog` (if any) notes the read.
core::Result<YAML::Node> LoadSectionFile(const std::string& scenario, const YAML::Node& ref,
                                         const std::string& key, bool files_allowed,
                                         std::string& file, const Catalog* catalog = nullptr);

// The domain kind a scale_up.kind names ("switch", "full_mesh", "torus").
network::DomainKind DomainKindOf(const std::string& s);

// A validation case file.
core::Result<ValidationCase> LoadValidationCase(const std::string& file);

}  // namespace fathom::io
