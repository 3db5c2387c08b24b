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
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
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
  kSweep,         // a scenario's `sweep:` section (`fathom sweep`, `fathom-mpi`)
  kSweepAxis,     // one item of sweep.axes
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
  std::string range_hint;   // the hint of an out-of-range error: what the bounds stand for
  // A bandwidth quoted in bytes a second (HBM's): one given in bits is warned of, with this
  // as the hint.
  std::string bits_warning;
  // A required key's hint when it is missing: a typical value, where to start from.
  std::string missing_hint;
};

// All keys of a section, in declaration order.
const std::vector<KeyInfo>& Keys(Section s);
std::string TypeDescription(const KeyInfo& k);
// A key's range in words, as out-of-range errors give it ("between 1 and 1e+08").
std::string Bounds(const KeyInfo& k);

// Where each key of a loaded input came from: "plan.tp" -> ("s.yaml", 7).
struct Location {
  std::string file;
  int line = 0;
  // A value given on the command line, as typed there ("--set plan.dp=96", "--axis
  // plan.dp=96"); "" for a key of a file.
  std::string setting = {};
};
using SourceMap = std::map<std::string, Location>;

// Adds file and line to diagnostics whose key appears in `where` (longest prefix).
void Locate(core::Diagnostics& diags, const SourceMap& where);

// The shipped catalog: data/chips, data/clusters, data/models, data/reliability.
class Catalog {
 public:
  explicit Catalog(std::string data_dir) : dir_(std::move(data_dir)) {}
  // FATHOM_DATA if set, else DefaultDir.
  static Catalog Default(const std::string& argv0);
  // The directory the build was configured with, else ../share/fathom/data (or data/) next
  // to the executable, else ./data.
  static std::string DefaultDir(const std::string& argv0);

  const std::string& dir() const { return dir_; }
  // Whether a scenario may name files (a model, a plan, a search or training section, a
  // reliability preset) or only catalog entries and inline mappings. `fathom serve` turns
  // it off: a posted scenario must not make the server read, and echo, the files it can.
  bool files_allowed() const { return files_allowed_; }
  void set_files_allowed(bool allowed) { files_allowed_ = allowed; }
  // Where the files a scenario names may lie, when it may name files: "" anywhere (the
  // CLI), else the tree of one directory (`fathom serve --allow-files`: its working
  // directory). A path is judged by the file it leads to, symlinks and ".." resolved; an
  // absolute path is refused whatever it leads to. A catalog so confined is one whose
  // diagnostics go to someone else: they describe a file's contents, never quote them.
  const std::string& files_root() const { return files_root_; }
  // `dir` made absolute, its symlinks resolved.
  void set_files_root(const std::string& dir);
  // A relative path `ref` as the working directory's: under files_root where there is one.
  std::string FromWorkingDir(const std::string& ref) const {
    return files_root_.empty() || ref.empty() || ref.front() == '/' ? ref : files_root_ + "/" + ref;
  }
  // Whether `path` (an existing file) lies in files_root's tree; true where there is none.
  bool InFilesRoot(const std::string& path) const;
  // Names of the entries of a section ("chips", "clusters", "models", "reliability"),
  // sorted.
  std::vector<std::string> Names(Section s) const;
  // Names plus the aliases the entries declare (for did-you-mean).
  std::vector<std::string> NamesAndAliases(Section s) const;
  // File of a catalog entry by name or alias; "" if none. An entry's own name wins over
  // the aliases; an alias two entries declare is found in neither (FindAll names them).
  std::string Find(Section s, const std::string& name) const;
  // Every file that answers to `name`: the entry of that name, else each entry that
  // declares it as an alias (sorted).
  std::vector<std::string> FindAll(Section s, const std::string& name) const;
  // An input that can be read only once (standard input "-", a pipe such as `<(generate)`)
  // read by the front end before any loading: the loaders take `text` for `path`, so that
  // a command that loads its scenario again (a sweep's points, compare's variants) sees
  // the same text every time.
  void Pin(const std::string& path, std::string text) { pinned_[path] = std::move(text); }
  // The text pinned for `path`; nullptr if none.
  const std::string* Pinned(const std::string& path) const {
    const auto it = pinned_.find(path);
    return it == pinned_.end() ? nullptr : &it->second;
  }
  // The files the loaders have read through this catalog (scenario sections, `base:`
  // files, catalog entries), for a front end to keep its outputs off them: a report
  // written over a model file that a scenario names would destroy it. Thread-safe (serve
  // loads in parallel); copies of the catalog share the log.
  void NoteRead(const std::string& path) const {
    const std::lock_guard<std::mutex> lock(read_->mutex);
    read_->paths.insert(path);
  }
  std::vector<std::string> FilesRead() const {
    const std::lock_guard<std::mutex> lock(read_->mutex);
    return {read_->paths.begin(), read_->paths.end()};
  }

 private:
  struct ReadLog {
    std::mutex mutex;
    std::set<std::string> paths;
  };
  std::string dir_;
  bool files_allowed_ = true;
  std::string files_root_;
  std::map<std::string, std::string> pinned_;
  std::shared_ptr<ReadLog> read_ = std::make_shared<ReadLog>();
};

// Whether `path` is read only once: standard input ("-") or a pipe.
bool ReadOnlyOnce(const std::string& path);
// Reads each input of `paths` that ReadOnlyOnce says is one, and pins its text in
// `catalog` (empty paths and catalog names are skipped); diagnostics of a failed read.
core::Diagnostics PinOnceReadInputs(Catalog& catalog, const std::vector<std::string>& paths);

// The catalog a front end reads: `data_flag` (--data) if given, else FATHOM_DATA, else
// Catalog::DefaultDir. An error names the directory, where it came from, and how to give
// another, when the directory is missing, unreadable, or holds none of chips/, clusters/,
// models/ and reliability/.
core::Result<Catalog> OpenCatalog(const std::string& data_flag, const std::string& argv0);

struct LoadedScenario {
  estimate::Scenario scenario;
  SourceMap where;
  // Warnings about what energy is priced at (a chip TDP changed where the cluster's node
  // power prices energy): for the commands that price energy (run, size) to add to their
  // diagnostics; the others (step, compare, plan, sweep) report no energy.
  core::Diagnostics energy_warnings;
};

// `--set KEY=VALUE`: one key of the scenario replaced before validation, as if the file said
// so. KEY is a key path of the scenario as `fathom explain` names it: "plan.tp",
// "cluster.scale_up.bandwidth", "model.seq_len", "training.tokens", a key of the cluster's
// chip ("cluster.chip.memory.capacity", or "chip.memory.capacity" for short), an item of a
// list ("cluster.scale_out.tiers[1].oversubscription", "reliability.failures[0].mtbf"), or a
// whole section ("model=llama3-70b", "cluster.chip=h200-sxm"). VALUE is written as in a YAML
// file, units and all ("4", "400Gbps", "[1f1b, interleaved]", "{base: llama3-8b,
// seq_len: 4096}"). A key inside a section that names a catalog entry or a file overrides
// that entry's key (the section reads as {base: NAME, KEY: VALUE}); a whole section given
// this way replaces the scenario's.
struct Override {
  std::string key;
  std::string value;
  std::string origin = "--set";  // where it came from, as diagnostics name it
  // The value as its key reads it, for telling two spellings of one value apart ("1" and
  // "01", "400Gbps" and "50GBps"): set by CheckOverride for a number, a quantity, a flag or
  // a name; "" for a list or a section (compare `value`).
  std::string meaning = {};
};

// "KEY=VALUE" -> an Override; each key path is checked against the key registry and each
// value against its key's declaration (type, unit, range), all diagnostics at once. The
// same key twice is an error.
// One override checked as ParseOverrides checks each; its key in the canonical form
// ("chip.x" -> "cluster.chip.x").
core::Result<Override> CheckOverride(Override o);
// An override that names a model, cluster, chip or plan (`cluster.chip=h200`, `model=FILE`):
// an error unless the name is in `catalog` or a file to read (relative to the directory of
// `from_file` when given, a scenario whose section gave the value, then to the working
// directory, as the loader looks); nothing for other keys and inline sections (those are
// loaded with the scenario).
core::Diagnostics CheckReference(const Catalog& catalog, const Override& o,
                                 const std::string& from_file = "");
core::Result<std::vector<Override>> ParseOverrides(const std::vector<std::string>& texts,
                                                   const std::string& origin = "--set");

// `ref` is a catalog name or a file path (YAML, JSON, or a Hugging Face config.json for
// models).
core::Result<hardware::ChipSpec> LoadChip(const Catalog& catalog, const std::string& ref);
core::Result<network::ClusterSpec> LoadCluster(const Catalog& catalog, const std::string& ref);
// The same with --set overrides of its keys ("cluster.scale_out.bandwidth=800Gbps", and
// "chip.*" for its chip); an override of another section is an error.
core::Result<network::ClusterSpec> LoadCluster(const Catalog& catalog, const std::string& ref,
                                               const std::vector<Override>& overrides);
core::Result<model::ModelSpec> LoadModel(const Catalog& catalog, const std::string& ref);

// A scenario file holding model, cluster and plan, or the three given separately; with
// `overrides` applied (an override of a section the step does not read, such as training,
// is an error).
core::Result<LoadedScenario> LoadScenario(const Catalog& catalog, const std::string& file,
                                          const std::vector<Override>& overrides = {});
core::Result<LoadedScenario> LoadParts(const Catalog& catalog, const std::string& model,
                                       const std::string& cluster, const std::string& plan,
                                       const std::vector<Override>& overrides = {});
// A model and a cluster with a plan of defaults but for its global batch (sequences): the
// planner's base when no plan is given.
core::Result<LoadedScenario> LoadPartsWithDefaultPlan(const Catalog& catalog,
                                                      const std::string& model,
                                                      const std::string& cluster,
                                                      int64_t global_batch_size);

// Where an imported model's value came from: the config's key (with its text_config.
// prefix) and its line (0 when unknown).
struct HfSource {
  std::string key;
  int line = 0;
};
// Fathom's model key ("moe.top_k") -> the config's key that gave it ("num_experts_per_tok").
using HfSources = std::map<std::string, HfSource>;

struct HfImportOptions {
  // The caller gives the training sequence length (a scenario's model.seq_len, --set
  // model.seq_len): max_position_embeddings is then optional, and seq_len is 0 without it.
  bool seq_len_given = false;
};

// A Hugging Face config.json of a decoder-only family (Llama, Mistral, Qwen2/3, GPT-NeoX,
// GPT-2, Falcon, OPT, BLOOM, and the MoE families Mixtral, Qwen2-MoE/Qwen3-MoE,
// DeepSeek-V2/V3, GPT-OSS, Llama 4; MoE and MLA fields are kept). Another model_type
// (encoder-decoder ones such as t5, or none) is an error listing the supported values. A
// multimodal config (LLaVA, Gemma 3, Llama 4, Qwen2-VL) gives its language model, with a
// warning that the vision tower is not costed; the keys its text_config omits take the
// config class's defaults where they are known (Gemma3TextConfig, LlamaConfig), with a
// warning. A missing or null MLP or expert width (intermediate_size, moe_intermediate_size,
// ...) takes the family's config class's default (LlamaConfig's 11008, Qwen3MoeConfig's 768;
// 4 x hidden only where the modelling code computes it: GPT-2, Falcon, BLOOM), with a warning
// naming the key and the value; experts with no width known are an error. sliding_window is
// read only in the families whose attention uses it, and ignored with a warning elsewhere.
// A key read with the wrong JSON type (rope_scaling: "yes") is an error; diagnostics at a key
// the config gives carry its line. Without options.seq_len_given, seq_len is the stated training
// context (initial_context_length, rope_scaling.original_max_position_embeddings) or else
// max_position_embeddings (n_positions, seq_length), the longest sequence the model accepts,
// with a warning naming the key; a config with none of them is an error. max_positions is
// max_position_embeddings. Integral floats (32.0) are read as integers.
core::Result<model::ModelSpec> ImportHuggingFace(const std::string& json_text,
                                                 const std::string& file,
                                                 const HfImportOptions& options = {},
                                                 HfSources* sources = nullptr);

// Reads a whole file of at most 16 MiB: a regular file, a pipe (`<(generate)`, /dev/stdin)
// read to its end, or standard input for "-"; diagnostics for a missing, unreadable or
// oversized file, and for a directory, a device or a socket (never read).
core::Result<std::string> ReadFile(const std::string& path);
// Whether `path` names something a reference to a file means: anything but a directory
// (ReadFile then refuses what is not a regular file, rather than a reference to /dev/zero
// being looked up as a catalog name).
bool NamesFileToRead(const std::string& path);
// Whether a file's top-level key is an extension field ("x-defaults"), a place for YAML
// anchors that is not read, as docker-compose's: a key that starts with "x-".
inline bool IsExtensionKey(std::string_view key) { return key.starts_with("x-"); }

}  // namespace fathom::io
