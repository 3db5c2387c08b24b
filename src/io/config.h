// Reading Fathom's inputs: the catalog under data/, YAML/JSON files for chips, clusters,
// models, plans and scenarios, and Hugging Face config.json files. Every key is declared
// once (type, unit, default, help, validator) in keys.cc; that declaration drives
// parsing, validation, `fathom explain` and docs/config-reference.md.
//
// Loading never throws and never exits: it returns the value, or every diagnostic found,
// each with file, line, key path, the bad value, what was expected and a hint.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "estimate/estimate.h"
#include "hardware/chip_spec.h"
#include "model/model_spec.h"
#include "network/cluster_spec.h"
#include "parallel/plan.h"

namespace fathom::io {

enum class Section {
  kChip,
  kCluster,
  kModel,
  kPlan,
  kScenario,
  kValidationCase,
  kTraining,      // a scenario's `training:` section (how much to train)
  kReliability,   // a scenario's `reliability:` section, or a preset in data/reliability/
  kFailureClass,  // one item of reliability.failures
  kTier,          // one item of a cluster's scale_out.tiers
  kSearch,        // a scenario's `search:` section (`fathom plan`, `fathom size`)
};
std::string_view SectionName(Section s);

enum class ValueType {
  kInt,
  kNumber,
  kBool,
  kString,
  kStringList,
  kIntList,  // a list of integers, each within [min, max]
  kEnum,
  kQuantity,
  kRef,
  kMappingList  // a list of mappings, each walked against the keys of section `ref`
};

struct KeyInfo {
  std::string path;  // relative to its section, e.g. "scale_up.bandwidth"
  ValueType type = ValueType::kString;
  core::Dimension dim = core::Dimension::kCount;  // quantities
  std::string default_text;                       // as documented; "" = none
  bool required = false;
  std::string help;
  double min = -1e300;  // inclusive bound, base units
  double max = 1e300;
  bool min_exclusive = false;
  std::vector<std::string> choices;  // enums
  std::string ref;  // kRef: the section referred to ("chip", "model", ...); kMappingList: the
                    // section of each item ("failure class")
  bool allow_auto = false;  // the value may also be "auto" (Value::is_auto; computed later)
};

// All keys of a section, in declaration order.
const std::vector<KeyInfo>& Keys(Section s);
std::string TypeDescription(const KeyInfo& k);

// Where each key of a loaded input came from: "plan.tp" -> ("s.yaml", 7).
struct Location {
  std::string file;
  int line = 0;
};
using SourceMap = std::map<std::string, Location>;

// Adds file and line to diagnostics whose key appears in `where` (longest prefix).
void Locate(core::Diagnostics& diags, const SourceMap& where);

// The shipped catalog: data/chips, data/clusters, data/models, data/reliability.
class Catalog {
 public:
  explicit Catalog(std::string data_dir) : dir_(std::move(data_dir)) {}
  // FATHOM_DATA if set, else the directory the build was configured with, else
  // ../share/fathom/data next to the executable.
  static Catalog Default(const std::string& argv0);

  const std::string& dir() const { return dir_; }
  // Names of the entries of a section ("chips", "clusters", "models", "reliability"),
  // sorted.
  std::vector<std::string> Names(Section s) const;
  // Names plus the aliases the entries declare (for did-you-mean).
  std::vector<std::string> NamesAndAliases(Section s) const;
  // File of a catalog entry by name or alias; "" if none.
  std::string Find(Section s, const std::string& name) const;

 private:
  std::string dir_;
};

struct LoadedScenario {
  estimate::Scenario scenario;
  SourceMap where;
};

// `ref` is a catalog name or a file path (YAML, JSON, or a Hugging Face config.json for
// models).
core::Result<hardware::ChipSpec> LoadChip(const Catalog& catalog, const std::string& ref);
core::Result<network::ClusterSpec> LoadCluster(const Catalog& catalog, const std::string& ref);
core::Result<model::ModelSpec> LoadModel(const Catalog& catalog, const std::string& ref);

// A scenario file holding model, cluster and plan, or the three given separately.
core::Result<LoadedScenario> LoadScenario(const Catalog& catalog, const std::string& file);
core::Result<LoadedScenario> LoadParts(const Catalog& catalog, const std::string& model,
                                       const std::string& cluster, const std::string& plan);
// A model and a cluster with a plan of defaults but for its global batch (sequences): the
// planner's base when no plan is given.
core::Result<LoadedScenario> LoadPartsWithDefaultPlan(const Catalog& catalog,
                                                      const std::string& model,
                                                      const std::string& cluster,
                                                      int64_t global_batch_size);

// A Hugging Face config.json (Llama, Mistral, Qwen2, GPT-NeoX, GPT-2 families; MoE and
// MLA fields are kept).
core::Result<model::ModelSpec> ImportHuggingFace(const std::string& json_text,
                                                 const std::string& file);

// Reads a whole file; diagnostics for a missing, unreadable or oversized file.
core::Result<std::string> ReadFile(const std::string& path);

}  // namespace fathom::io
