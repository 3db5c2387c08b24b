#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <type_traits>

#include <fmt/format.h>

#include "collective/collective.h"
#include "core/text.h"
#include "core/units.h"
#include "io/calibration_file.h"
#include "io/config.h"
#include "io/json_text.h"
#include "io/keys.h"
#include "io/report.h"

#ifndef FATHOM_SOURCE_DATA_DIR
#define FATHOM_SOURCE_DATA_DIR ""
#endif

namespace fathom::io {

namespace fs = std::filesystem;

namespace {

// A number in a message: "1e-300", "0.8", "9e-289" (%.3g).
std::string Short(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

constexpr uintmax_t kMaxFileBytes = 16u << 20;
constexpr int kMaxRefDepth = 8;

std::string SectionDir(Section s) {
  switch (s) {
    case Section::kChip:
      return "chips";
    case Section::kCluster:
      return "clusters";
    case Section::kModel:
      return "models";
    case Section::kReliability:
      return "reliability";
    default:
      return "";
  }
}

struct Document {
  YAML::Node root;
  std::string text;
};

// `catalog`: the texts pinned for inputs read only once (nullptr: none).
core::Result<Document> ParseYamlFile(const std::string& path, const Catalog* catalog = nullptr) {
  const std::string* pinned = catalog != nullptr ? catalog->Pinned(path) : nullptr;
  if (catalog != nullptr) catalog->NoteRead(path);
  core::Result<std::string> text =
      pinned != nullptr ? core::Result<std::string>(*pinned) : ReadFile(path);
  if (!text.ok()) return text.diagnostics();
  core::Diagnostics d;
  Document doc;
  doc.text = std::move(text).value();
  // JSON is YAML, but a broken JSON file is reported as JSON: a .json file (in any case),
  // or one that opens with "{" and is not YAML either.
  std::string extension = fs::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".json") {
    if (std::optional<core::Diagnostic> error = JsonSyntaxError(doc.text, path)) {
      d.Add(*std::move(error));
      return d;
    }
  }
  // A NUL byte is in no text file (yaml-cpp reads it as a bad escape): a binary file, or one
  // in UTF-16 without its byte-order mark (every other byte of ASCII text is 0); with the
  // mark, yaml-cpp reads UTF-16 and UTF-32.
  const bool wide = doc.text.starts_with("\xFF\xFE") || doc.text.starts_with("\xFE\xFF") ||
                    doc.text.starts_with(std::string_view("\0\0\xFE\xFF", 4));
  if (const size_t nul = doc.text.find('\0'); nul != std::string::npos && !wide) {
    const size_t line = 1 + std::count(doc.text.begin(), doc.text.begin() + nul, '\n');
    const size_t start = doc.text.rfind('\n', nul);
    const size_t column = nul - (start == std::string::npos ? 0 : start + 1) + 1;
    d.Add(Error(
        path, static_cast<int>(line), "",
        fmt::format("the file holds a NUL byte (line {}, column {}): it is not text", line, column),
        "give a YAML or JSON file in UTF-8 (a UTF-16 file: iconv -f utf-16 -t utf-8)"));
    return d;
  }
  const size_t first = doc.text.find_first_not_of(" \t\r\n");
  const bool json_like = first != std::string::npos && doc.text[first] == '{';
  try {
    doc.root = YAML::Load(doc.text);
    // A second document (after "---") would be ignored: an error, as an unknown key is.
    if (doc.text.rfind("---", 0) == 0 || doc.text.find("\n---") != std::string::npos ||
        doc.text.find("\n...") != std::string::npos) {
      const std::vector<YAML::Node> all = YAML::LoadAll(doc.text);
      for (size_t i = 1; i < all.size(); ++i) {
        if (all[i].IsNull()) continue;
        d.Add(Error(path, NodeLine(all[i]), "",
                    "a second YAML document (after \"---\"): a file holds one, and the "
                    "rest would be ignored",
                    "merge its keys into the first document, or put it in a file of its own"));
        return d;
      }
    }
  } catch (const YAML::ParserException& e) {
    if (std::optional<core::Diagnostic> error =
            json_like ? JsonSyntaxError(doc.text, path) : std::nullopt) {
      d.Add(*std::move(error));
      return d;
    }
    const std::string msg =
        e.msg == "bad file" ? "nesting too deep, or not a YAML/JSON file" : e.msg;
    // A tab in a line's indentation (YAML indents with spaces only) near the error: said.
    std::string hint = "check the YAML syntax near this line";
    {
      std::istringstream lines(doc.text);
      std::string row;
      for (int n = 1; std::getline(lines, row); ++n) {
        if (e.mark.line >= 0 && n > e.mark.line + 1) break;
        const size_t indent = row.find_first_not_of(" \t");
        if (indent != std::string::npos && row.find('\t') < indent &&
            (e.mark.line < 0 || n >= e.mark.line - 1)) {
          hint = "line " + std::to_string(n) +
                 " is indented with a tab: YAML indents with spaces only";
          break;
        }
      }
    }
    d.Add(Error(path, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", "cannot parse: " + msg, hint));
    return d;
  } catch (const YAML::Exception& e) {
    d.Add(Error(path, 0, "", std::string("cannot parse: ") + e.what()));
    return d;
  }
  if (doc.root.IsNull()) {
    // Nothing but comments, or a document that is null (`~`, `null`): no mapping either way.
    std::string value;  // the first line that is neither blank, a comment nor a marker
    for (size_t at = 0; at < doc.text.size() && value.empty();) {
      const size_t end = std::min(doc.text.find('\n', at), doc.text.size());
      std::string line = doc.text.substr(at, end - at);
      line.erase(0, line.find_first_not_of(" \t\r"));
      line.erase(line.find_last_not_of(" \t\r") + 1);
      if (!line.empty() && line.front() != '#' && line != "---" && line != "...") value = line;
      at = end + 1;
    }
    d.Add(Error(path, 0, "",
                value.empty()     ? std::string("the file is empty")
                : value == "null" ? std::string("the file holds only null")
                                  : "the file holds only " + value.substr(0, 16) + " (null)",
                "expected a mapping of keys"));
    return d;
  }
  if (!doc.root.IsMap()) {
    // Where diagnostics go to someone else (fathom serve), what the file holds is described,
    // not quoted: a file that is no YAML reads as one scalar, the whole of its text.
    const bool quote = catalog == nullptr || catalog->files_root().empty();
    const std::string got =
        quote || !doc.root.IsScalar()
            ? NodeText(doc.root)
            : fmt::format("a scalar of {} characters (not quoted here)", doc.root.Scalar().size());
    d.Add(Error(path, NodeLine(doc.root), "",
                "expected a mapping of keys at the top level, got " + got));
    return d;
  }
  // Extension fields, as docker-compose's: a top-level key `x-NAME` holds YAML anchors for
  // the rest of the file and is otherwise not read (below the top level it is unknown).
  std::vector<std::string> extensions;
  for (const auto& kv : doc.root) {
    if (kv.first.IsScalar() && IsExtensionKey(kv.first.Scalar())) {
      extensions.push_back(kv.first.Scalar());
    }
  }
  for (const std::string& key : extensions) doc.root.remove(key);
  return doc;
}

bool HasKey(const SourceMap& where, const std::string& key) { return where.count(key) > 0; }

std::string Join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// A Hugging Face config.json, whatever the file's name: a JSON object with model_type or
// architectures at the top level, or one whose sizes are under transformers' names
// (hidden_size, num_hidden_layers): none is a key of Fathom's model files. The importer then
// says what is missing (model_type) rather than the loader listing unknown keys.
bool IsHuggingFaceJson(const std::string& text, const YAML::Node& root) {
  return root.IsMap() &&
         (root["model_type"] || root["architectures"] ||
          (root["hidden_size"] && root["num_hidden_layers"])) &&
         IsJsonObject(text);
}

// The first components of a kind's key paths: the keys a file of it has at its top level.
template <class T>
std::set<std::string> TopNames(const std::vector<Field<T>>& fields) {
  std::set<std::string> names;
  for (const Field<T>& f : fields) names.insert(f.info->path.substr(0, f.info->path.find('.')));
  return names;
}

// What a file read as an `expected` holds where its keys say it is another kind of file
// (a chip file given for a cluster, a config.json for a scenario): "a Hugging Face
// config.json (a model)" for one, or "a K file" where two or more of its top-level keys
// are no keys of `expected`'s and every one is a key of K's. "" otherwise: its unknown
// keys are then said one by one, each with its guess.
std::string OtherKindOf(Section expected, const Document& doc) {
  if (!doc.root.IsMap()) return "";
  if (expected != Section::kModel && IsHuggingFaceJson(doc.text, doc.root)) {
    return "a Hugging Face config.json (a model)";
  }
  struct Kind {
    Section section;
    std::set<std::string> names;
  };
  static const std::vector<Kind> kinds = {
      {Section::kScenario, TopNames(ScenarioFields())},
      {Section::kModel, TopNames(ModelFields())},
      {Section::kChip, TopNames(ChipFields())},
      {Section::kCluster, TopNames(ClusterFields())},
      {Section::kPlan, TopNames(PlanFields())},
      {Section::kReliability, TopNames(ReliabilityFields())},
  };
  std::vector<std::string> keys;
  for (const auto& kv : doc.root) {
    if (!kv.first.IsScalar() || kv.first.Scalar() == "base") continue;
    keys.push_back(kv.first.Scalar());
  }
  const auto given = std::find_if(kinds.begin(), kinds.end(),
                                  [&](const Kind& k) { return k.section == expected; });
  if (given == kinds.end()) return "";
  const auto unknown = std::count_if(keys.begin(), keys.end(),
                                     [&](const std::string& k) { return !given->names.count(k); });
  if (unknown < 2) return "";
  for (const Kind& k : kinds) {
    if (k.section == expected) continue;
    if (std::all_of(keys.begin(), keys.end(),
                    [&](const std::string& key) { return k.names.count(key) > 0; })) {
      return "a " + std::string(SectionName(k.section)) + " file";
    }
  }
  return "";
}

// Where a file of kind `what` (OtherKindOf) goes.
std::string WhereItGoes(const std::string& what) {
  if (what.find("model") != std::string::npos) {
    return "give it as the model: `-m FILE`, or `model: FILE` in a scenario";
  }
  if (what.find("chip") != std::string::npos) {
    return "a chip goes in a cluster: `chip: FILE` in a cluster file or in a scenario's "
           "cluster mapping";
  }
  if (what.find("cluster") != std::string::npos) {
    return "give it as the cluster: `-c FILE`, or `cluster: FILE` in a scenario";
  }
  if (what.find("plan") != std::string::npos) {
    return "give it as the plan: `-p FILE`, or `plan: FILE` in a scenario";
  }
  if (what.find("reliability") != std::string::npos) {
    return "give it with `--reliability FILE`, or as `reliability: FILE` in a scenario";
  }
  return "give it as the scenario: `-s FILE`";
}

// What a file of type `t` is, in words ("a character device"); defined below.
std::string FileKind(fs::file_type t);

// Imports a Hugging Face config.json (text, path) into the model being loaded.
using HfImport = std::function<bool(const std::string&, const std::string&)>;

struct Loader {
  explicit Loader(const Catalog& c) : catalog(c) {}

  const Catalog& catalog;
  core::Diagnostics diags;
  SourceMap where;
  std::map<std::string, std::string> section_file;  // prefix -> the file that defined it
  // prefix -> the files its sections derive from with base: (a check blames the user's own
  // key before theirs).
  std::map<std::string, std::set<std::string>> base_files;
  // A Hugging Face config's keys behind a model's values: "model.moe.top_k" -> the file and
  // its key ("num_experts_per_tok"), where the model's checks name them.
  std::map<std::string, std::pair<std::string, HfSource>> hf_keys;
  core::Diagnostics energy;          // LoadedScenario::energy_warnings
  OverrideSet* overrides = nullptr;  // --set, applied after each section
  // The mappings whose `base:` is being loaded, outermost first: their keys are applied
  // after the base's, so they win over it.
  std::vector<YAML::Node> enclosing;
  // prefix -> the base a cluster derives from without a description of its own (the last
  // `base:` of a chain): its name as given, its description and its chips.
  struct ClusterBase {
    std::string name;
    std::string description;
    int64_t chips = 0;
  };
  std::map<std::string, ClusterBase> cluster_bases;

  // Whether `key` (relative to the section) is given over the file being loaded: by a
  // mapping enclosing it or by --set.
  bool GivenAbove(const std::string& prefix, const std::string& key) const {
    if (overrides != nullptr && overrides->Touches(Join(prefix, key))) return true;
    return std::any_of(enclosing.begin(), enclosing.end(),
                       [&](const YAML::Node& n) { return static_cast<bool>(n[key]); });
  }

  template <class T>
  void ApplyOverrides(const std::string& prefix, const std::vector<Field<T>>& fields, T& target) {
    if (overrides != nullptr) overrides->Apply(prefix, fields, target, diags, where);
  }

  std::string FileOf(const std::string& prefix, const std::string& fallback) const {
    auto it = section_file.find(prefix);
    return it == section_file.end() ? fallback : it->second;
  }

  // Resolves a scalar reference to a file: a catalog name or a path (relative to the
  // referring file's directory, then to the working directory).
  std::string Resolve(Section s, const std::string& ref, const std::string& from_file,
                      const std::string& key, int line) {
    if (catalog.files_allowed()) {
      // A model may be given as a Hugging Face checkpoint's directory: its config.json.
      auto file_of = [&](const fs::path& p) -> std::string {
        if (NamesFileToRead(p.string())) return p.string();
        std::error_code ec;
        if (s == Section::kModel && fs::is_directory(p, ec) &&
            NamesFileToRead((p / "config.json").string())) {
          return (p / "config.json").string();
        }
        return "";
      };
      // A file found where files are confined (fathom serve) is read only inside the tree.
      auto confined = [&](const std::string& f) {
        core::Diagnostics outside = OutsideFilesRoot(catalog, from_file, line, key, ref, f);
        diags.Append(outside);
        return outside.HasErrors() ? std::string() : f;
      };
      if (!from_file.empty()) {
        if (std::string f = file_of(fs::path(from_file).parent_path() / ref); !f.empty()) {
          return confined(f);
        }
      }
      if (std::string f = file_of(catalog.FromWorkingDir(ref)); !f.empty()) return confined(f);
    }
    if (!SectionDir(s).empty()) {
      const std::vector<std::string> found = catalog.FindAll(s, ref);
      if (found.size() == 1) return found.front();
      if (found.size() > 1) {
        std::string files;
        for (const std::string& f : found) {
          files += (files.empty() ? "" : ", ") +
                   (catalog.files_allowed() ? f : fs::path(f).filename().string());
        }
        diags.Add(Error(from_file, line, key,
                        "\"" + ref + "\" is an alias of " + std::to_string(found.size()) + " " +
                            std::string(SectionName(s)) + "s in the catalog (" + files + ")",
                        "give one of them by its name, and keep the alias on one entry only"));
        return "";
      }
    }
    if (catalog.files_allowed()) {  // a directory that is no file to read
      std::error_code ec;
      for (const fs::path& p : {fs::path(from_file).parent_path() / ref, fs::path(ref)}) {
        if (from_file.empty() && p != fs::path(ref)) continue;
        if (!fs::is_directory(p, ec)) continue;
        diags.Add(Error(from_file, line, key,
                        "\"" + ref + "\" is a directory, not a " + std::string(SectionName(s)) +
                            " file" +
                            (s == Section::kModel ? " (nor a Hugging Face checkpoint's: it holds "
                                                    "no config.json)"
                                                  : ""),
                        "give the YAML file in it" +
                            std::string(s == Section::kModel ? ", or its config.json" : "")));
        return "";
      }
    }
    std::vector<std::string> names = catalog.NamesAndAliases(s);
    std::vector<std::string_view> views(names.begin(), names.end());
    const std::string guess = core::DidYouMean(ref, views);
    // A name of another kind of entry (a chip given for a cluster) says what it is.
    std::string other;
    for (const Section k : {Section::kChip, Section::kCluster, Section::kModel}) {
      if (k != s && !SectionDir(s).empty() && !catalog.FindAll(k, ref).empty()) {
        other = std::string(SectionName(k));
      }
    }
    std::string hint;
    if (!other.empty()) {
      hint = "\"" + ref + "\" is a " + other + " of the catalog, not a " +
             std::string(SectionName(s)) +
             (s == Section::kCluster && other == "chip"
                  ? ": give a cluster of it, e.g. a file or a scenario's mapping with `base: "
                    "dgx-h100-superpod` and `chip: " +
                        ref + "`"
                  : ": `fathom catalog " + SectionDir(s) + "` lists the " +
                        std::string(SectionName(s)) + "s");
    } else if (!guess.empty()) {
      hint = "did you mean \"" + guess + "\"?";
    } else if (!names.empty()) {
      hint = "`fathom catalog " + SectionDir(s) + "` lists the names";
    } else {
      hint = "give a path to a YAML file";
    }
    if (!catalog.files_allowed()) {
      hint = (guess.empty() ? std::string() : "did you mean \"" + guess + "\"? ") +
             "files are not read here: give a catalog name, or the section inline";
    }
    // Where it was looked for (not where files are not read: the server keeps its paths).
    const std::string searched =
        catalog.files_allowed() && !SectionDir(s).empty()
            ? " (" + (fs::path(catalog.dir()) / SectionDir(s)).string() + ")"
            : "";
    // A section without a catalog (a plan) is a file or nothing.
    const std::string message =
        SectionDir(s).empty()
            ? "no " + std::string(SectionName(s)) + " file \"" + ref +
                  "\" (there is no catalog of " + std::string(SectionName(s)) +
                  "s: a file or the section inline)"
            : "no " + std::string(SectionName(s)) + " named \"" + ref + "\" in the catalog" +
                  searched + (catalog.files_allowed() ? " and no such file" : "");
    diags.Add(Error(from_file, line, key, message, hint));
    return "";
  }

  template <class T>
  bool LoadFile(Section s, const std::string& path, const std::vector<Field<T>>& fields, T& target,
                const std::string& prefix, int depth, const HfImport& hf) {
    core::Result<Document> doc = ParseYamlFile(path, &catalog);
    if (!doc.ok()) {
      diags.Append(doc.diagnostics());
      return false;
    }
    section_file[prefix] = path;
    // A check of the whole section (the plan's chip count) points at its file.
    if (!prefix.empty()) where.emplace(prefix, Location{path, 0});
    if (hf && IsHuggingFaceJson(doc.value().text, doc.value().root)) {
      return hf(doc.value().text, path);
    }
    if (const std::string other = OtherKindOf(s, doc.value()); !other.empty()) {
      diags.Add(Error(path, 0, prefix,
                      "is " + other + ", not a " + std::string(SectionName(s)) + " file",
                      WhereItGoes(other)));
      return false;
    }
    return LoadNode(s, doc.value().root, path, fields, target, prefix, depth, hf);
  }

  template <class T>
  bool LoadNode(Section s, const YAML::Node& node, const std::string& file,
                const std::vector<Field<T>>& fields, T& target, const std::string& prefix,
                int depth, const HfImport& hf = {}) {
    if (depth > kMaxRefDepth) {
      diags.Add(
          Error(file, NodeLine(node), prefix, "references nest too deeply (a cycle of `base:`?)"));
      return false;
    }
    if (node.IsScalar()) {
      const std::string path = Resolve(s, node.Scalar(), file, prefix, NodeLine(node));
      if (path.empty()) return false;
      // A device or a socket named where a file goes: said where it was named.
      std::error_code ec;
      const fs::file_status status = fs::status(path, ec);
      if (path != "-" && !ec && !fs::is_regular_file(status) &&
          status.type() != fs::file_type::fifo) {
        diags.Add(Error(file, NodeLine(node), prefix,
                        "\"" + path + "\" is " + FileKind(status.type()) + ", not a " +
                            std::string(SectionName(s)) + " file",
                        "give the path of a YAML file, or a catalog name"));
        return false;
      }
      return LoadFile(s, path, fields, target, prefix, depth + 1, hf);
    }
    if (!node.IsMap()) {
      diags.Add(Error(file, NodeLine(node), prefix,
                      "expected a name, a path or a mapping, got " + NodeText(node)));
      return false;
    }
    if (const YAML::Node base = node["base"]; base) {
      if (!base.IsScalar()) {
        diags.Add(Error(file, NodeLine(base), Join(prefix, "base"),
                        "expected a catalog name or a file path, got " + NodeText(base)));
        return false;
      }
      const std::string path =
          Resolve(s, base.Scalar(), file, Join(prefix, "base"), NodeLine(base));
      if (path.empty()) return false;
      base_files[prefix].insert(path);
      enclosing.push_back(node);
      const bool loaded = LoadFile(s, path, fields, target, prefix, depth + 1, hf);
      enclosing.pop_back();
      if (!loaded) return false;
      // The base's other names are the base's: a derived chip answers to its own only.
      if constexpr (std::is_same_v<T, hardware::ChipSpec>) {
        if (!node["aliases"]) target.aliases.clear();
      }
      // The base's description describes the base: kept, said to be its (ClusterBase).
      if constexpr (std::is_same_v<T, ClusterDraft>) {
        const auto known = cluster_bases.find(prefix);
        if (node["description"]) {
          cluster_bases.erase(prefix);
        } else if (known == cluster_bases.end() ||
                   known->second.description != target.spec.description) {
          // (A base that inherited its description leaves it to the base that wrote it.)
          cluster_bases[prefix] = {base.Scalar(), target.spec.description, target.spec.chips};
        }
      }
    }
    ParseContext ctx{file, prefix, &diags, &where};
    ApplyMapping(node, fields, target, ctx, {"base"});
    return true;
  }
};

// 1.6 Tb/s: a chip's NIC bandwidth above it is warned of (FinishChip).
constexpr double kMaxPlausibleNic = 1.6e12 / 8;
// 100 GB/s: a chip's memory slower than this is warned of (FinishChip).
constexpr double kMinPlausibleHbm = 100e9;

void FinishChip(hardware::ChipSpec& c, const std::string& prefix, const std::string& file,
                core::Diagnostics& d, const SourceMap& where) {
  if (!c.Supports(hardware::Precision::kBf16) && !c.Supports(hardware::Precision::kFp16) &&
      !c.Supports(hardware::Precision::kFp8)) {
    d.Add(Error(file, 0, Join(prefix, "peak"), "no bf16, fp16 or fp8 peak is given",
                "give at least peak.bf16, e.g. \"989.4TFLOPS\""));
  }
  if (c.Supports(hardware::Precision::kFp8) && c.gemm_efficiency_fp8 <= 0) {
    d.Add(Error(file, 0, Join(prefix, "efficiency.gemm_fp8"),
                "peak.fp8 is given but efficiency.gemm_fp8 is not",
                "add the measured fraction of the fp8 peak a large GEMM reaches"));
  }
  if (c.Supports(hardware::Precision::kFp4) && c.gemm_efficiency_fp8 <= 0 &&
      c.gemm_efficiency_fp4 <= 0) {
    d.Add(Error(file, 0, Join(prefix, "efficiency.gemm_fp4"),
                "peak.fp4 is given but neither efficiency.gemm_fp4 nor efficiency.gemm_fp8 is",
                "add the measured fraction of the fp4 peak a large GEMM reaches"));
  }
  // Narrower formats run at least as fast (fp16 as bf16, fp8 1 to 3.75x bf16, fp4 1 to 3x
  // fp8 on the chips in the catalog): a lower peak is usually a chip derived with `base:`
  // whose bf16 peak was raised and whose fp8 peak was inherited.
  using hardware::Precision;
  const std::pair<Precision, Precision> order[] = {{Precision::kBf16, Precision::kFp8},
                                                   {Precision::kFp8, Precision::kFp4}};
  for (const auto& [wide, narrow] : order) {
    const double w = c.Peak(wide).value(), n = c.Peak(narrow).value();
    if (w <= 0 || n <= 0) continue;
    const std::string key = Join(prefix, "peak." + std::string(hardware::PrecisionName(narrow)));
    const auto at = where.find(key);
    // At most 3.75x on every chip in the catalog (Trainium3's fp8 over its bf16); beyond 4x
    // the peak is usually a sparse one (twice the dense) or a unit slip, and the MFU and
    // step time follow it.
    // Exactly 4x is NVIDIA's sparse fp8 figure beside its dense bf16 one (B200: 9 PFLOP/s
    // over 2.25).
    if (n >= 4 * w) {
      // Enough digits that a ratio above 4 never reads as 4 (4.0004, not "4").
      char ratio[32];
      for (int digits = 3; digits <= 17; ++digits) {
        std::snprintf(ratio, sizeof ratio, "%.*g", digits, n / w);
        if (std::strtod(ratio, nullptr) > 4 || n == 4 * w) break;
      }
      // Where the wider peak was set on the command line and the narrower one was not, the
      // set value is the one to check.
      const std::string wide_key =
          Join(prefix, "peak." + std::string(hardware::PrecisionName(wide)));
      const auto at_wide = where.find(wide_key);
      auto on_command_line = [&](auto it) {
        return it != where.end() && it->second.file.rfind("--", 0) == 0;
      };
      if (on_command_line(at_wide) && !on_command_line(at)) {
        d.Add(core::Diagnostic{
            core::Severity::kWarning, at_wide->second.file, 0, wide_key,
            core::FormatFlopRate(w) + " is 1/" + ratio + " of peak." +
                std::string(hardware::PrecisionName(narrow)) + " (" + core::FormatFlopRate(n) +
                "); no chip in the catalog has more than 3.75x between the two",
            "check the value and unit of " + wide_key + ", and that peak." +
                std::string(hardware::PrecisionName(narrow)) + " is the dense one"});
        continue;
      }
      d.Add(core::Diagnostic{core::Severity::kWarning, at != where.end() ? at->second.file : file,
                             at != where.end() ? at->second.line : 0, key,
                             core::FormatFlopRate(n) + " is " + ratio + "x peak." +
                                 std::string(hardware::PrecisionName(wide)) + " (" +
                                 core::FormatFlopRate(w) +
                                 "); no chip in the catalog has more than 3.75x between the two",
                             "check that " + key +
                                 " is the dense peak (not the sparse one, twice as much) and its "
                                 "unit"});
      continue;
    }
    if (n >= w) continue;
    // The narrower peak from another file than the wider one: a chip derived with `base:`.
    const auto at_wide =
        where.find(Join(prefix, "peak." + std::string(hardware::PrecisionName(wide))));
    const bool inherited =
        at != where.end() && at_wide != where.end() && at->second.file != at_wide->second.file;
    // Close enough to read alike (1.979 below 1.979 PFLOP/s): in TFLOP/s, with the digits
    // that tell them apart.
    std::string below = core::FormatFlopRate(n), above = core::FormatFlopRate(w);
    for (int digits = 1; below == above && digits <= 6; ++digits) {
      below = fmt::format("{:.{}f} TFLOP/s", n / 1e12, digits);
      above = fmt::format("{:.{}f} TFLOP/s", w / 1e12, digits);
    }
    d.Add(core::Diagnostic{
        core::Severity::kWarning, at != where.end() ? at->second.file : file,
        at != where.end() ? at->second.line : 0, key,
        below + " is below peak." + std::string(hardware::PrecisionName(wide)) + " (" + above +
            "): " + std::string(hardware::PrecisionName(narrow)) + " plans will run slower than " +
            std::string(hardware::PrecisionName(wide)) + " ones",
        inherited ? "set " + key + " too (a chip derived with base: keeps its base's other peaks)"
                  : "check the value and unit of " + key});
  }
  // A NIC per chip faster than 1.6 Tb/s (the catalog's fastest: 1.2 Tb/s; a ConnectX-8 is
  // 800 Gb/s) is usually bytes written for bits (800GBps for 800Gbps: 6.4 Tb/s). Said here,
  // at the chip's own key: a cluster compares its own NIC with the chip's, and one that
  // gives none takes this one unchecked.
  if (const double nic = c.scale_out_bandwidth.value(); nic > kMaxPlausibleNic) {
    const std::string key = Join(prefix, "scale_out.bandwidth");
    const auto at = where.find(key);
    d.Add(core::Diagnostic{
        core::Severity::kWarning, at != where.end() ? at->second.file : file,
        at != where.end() ? at->second.line : 0, key,
        core::FormatBandwidth(nic) + fmt::format(" ({:.3g} Tb/s)", nic * 8 / 1e12) +
            " per chip is more than any NIC gives: the catalog's chips have at most 1.2 Tb/s "
            "each, the fastest NICs 800 Gb/s",
        "check the unit: NICs are quoted in bits a second, write Gbps (800Gbps is 100 GB/s); "
        "GBps and GB/s are bytes, 8 times more"});
  }
  // Memory slower than 100 GB/s (above the 10 GB/s the key accepts) is no accelerator's: the
  // catalog's slowest is 204.8 GB/s. A unit slip lands here (800Gbps for 800GBps) and makes
  // every memory-bound operator 8 times slower; a value written in bits is already said.
  const std::string hbm_key = Join(prefix, "memory.bandwidth");
  const bool said_bits = std::any_of(d.items().begin(), d.items().end(), [&](const auto& x) {
    return x.key == hbm_key && x.message.find("in bits a second") != std::string::npos;
  });
  if (const double hbm = c.hbm_bandwidth.value(); hbm > 0 && hbm < kMinPlausibleHbm && !said_bits) {
    const std::string& key = hbm_key;
    const auto at = where.find(key);
    d.Add(core::Diagnostic{
        core::Severity::kWarning, at != where.end() ? at->second.file : file,
        at != where.end() ? at->second.line : 0, key,
        core::FormatBandwidth(hbm) +
            " per chip is slower than any accelerator's memory: the catalog's slowest is "
            "204.8 GB/s, an H100's 3.35 TB/s",
        "check the unit: HBM bandwidth is quoted in bytes a second (TBps, GBps); Gbps is "
        "bits, 8 times less"});
  }
  // A fraction for a precision the chip has no peak for is never used: fp8 plans are refused.
  for (const auto& [precision, name] : {std::pair{Precision::kFp8, "efficiency.gemm_fp8"},
                                        std::pair{Precision::kFp4, "efficiency.gemm_fp4"}}) {
    const std::string key = Join(prefix, name);
    const auto at = where.find(key);
    if (at == where.end() || c.Supports(precision)) continue;
    const std::string p(hardware::PrecisionName(precision));
    d.Add(core::Diagnostic{core::Severity::kWarning, at->second.file, at->second.line, key,
                           "is given but the chip has no peak." + p + ": it is not used, and " + p +
                               " plans are refused",
                           "give peak." + p + " too, or drop " + name});
  }
  // An achievable fraction far below any measured chip's (0.32 to 0.97 in the catalog) is
  // usually a percentage read as a fraction's hundredth or a slipped exponent; every operator
  // of its kind runs at it, so the step follows it wherever it goes.
  const std::pair<const char*, double> fractions[] = {
      {"efficiency.gemm_bf16", c.gemm_efficiency_16bit},
      {"efficiency.gemm_fp8", c.gemm_efficiency_fp8},
      {"efficiency.gemm_fp4", c.gemm_efficiency_fp4},
      {"efficiency.attention", c.attention_efficiency},
      {"efficiency.hbm", c.hbm_efficiency}};
  for (const auto& [name, value] : fractions) {
    if (value <= 0 || value >= 0.1) continue;
    const std::string key = Join(prefix, name);
    const auto at = where.find(key);
    d.Add(core::Diagnostic{core::Severity::kWarning, at != where.end() ? at->second.file : file,
                           at != where.end() ? at->second.line : 0, key,
                           fmt::format("{:g} is far below any measured chip's (0.32 to 0.97 in "
                                       "the catalog): the operators it prices run at it",
                                       value),
                           "give the fraction of the peak reached (0.75 for 75 %), from a "
                           "kernel measurement"});
  }
  // A price's kind and date describe the price given beside them (same file, or both by
  // --set): a price given elsewhere (a chip derived from a catalog one, --set) without its
  // own kind and date has neither.
  const auto price = where.find(Join(prefix, "price.usd_per_chip_hour"));
  if (price != where.end()) {
    auto beside = [&](const std::string& key) {
      const auto it = where.find(Join(prefix, key));
      return it != where.end() && it->second.file == price->second.file &&
             (it->second.line > 0) == (price->second.line > 0);
    };
    if (!beside("price.kind")) c.price_kind.clear();
    if (!beside("price.as_of")) c.price_as_of.clear();
  }
}

}  // namespace

core::Diagnostics FileNotAllowed(const std::string& file, int line, const std::string& key,
                                 const std::string& ref) {
  core::Diagnostics d;
  d.Add(Error(file, line, key, "\"" + ref + "\" names a file, and files are not read here",
              "give the section inline"));
  return d;
}

core::Diagnostics OutsideFilesRoot(const Catalog& catalog, const std::string& file, int line,
                                   const std::string& key, const std::string& ref,
                                   const std::string& path) {
  core::Diagnostics d;
  if (catalog.files_root().empty()) return d;
  if (fs::path(ref).is_absolute()) {
    d.Add(Error(file, line, key,
                "\"" + ref + "\" is an absolute path: files are read here only from the " +
                    "server's working directory, by a path relative to it",
                "give a relative path inside that directory, a catalog name, or the section "
                "inline"));
  } else if (!catalog.InFilesRoot(path)) {
    d.Add(Error(file, line, key,
                "\"" + ref + "\" leads outside the server's working directory (\"..\" and " +
                    "symbolic links followed): files are read here only from its tree",
                "give a path inside that directory, a catalog name, or the section inline"));
  }
  return d;
}

core::Result<YAML::Node> LoadSectionFile(const std::string& scenario, const YAML::Node& ref,
                                         const std::string& key, bool files_allowed,
                                         std::string& file, const Catalog* catalog) {
  const int line = NodeLine(ref);
  if (!files_allowed) return FileNotAllowed(scenario, line, key, ref.Scalar());
  file = (fs::path(scenario).parent_path() / ref.Scalar()).string();
  if (catalog != nullptr && NamesFileToRead(file)) {
    core::Diagnostics outside = OutsideFilesRoot(*catalog, scenario, line, key, ref.Scalar(), file);
    if (outside.HasErrors()) return outside;
  }
  if (!NamesFileToRead(file)) {
    std::error_code ec;
    core::Diagnostics d;
    d.Add(Error(scenario, line, key,
                "\"" + ref.Scalar() + "\" names no file: " + file +
                    (fs::is_directory(file, ec) ? " is a directory" : " does not exist") +
                    " (a path here is relative to the scenario's directory)",
                "give the " + key +
                    " section inline as a mapping, or the path of a YAML file "
                    "that holds it"));
    return d;
  }
  return LoadYamlMapping(file, catalog);
}

core::Result<YAML::Node> LoadYamlMapping(const std::string& path, const Catalog* catalog) {
  core::Result<Document> doc = ParseYamlFile(path, catalog);
  if (!doc.ok()) return doc.diagnostics();
  return doc.value().root;
}

namespace {

std::string FileKind(fs::file_type t) {
  switch (t) {
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::fifo:
      return "a named pipe (FIFO)";
    case fs::file_type::socket:
      return "a socket";
    default:
      return "not a regular file";
  }
}

}  // namespace

bool NamesFileToRead(const std::string& path) {
  if (path == "-") return true;  // standard input
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  return fs::exists(status) && !fs::is_directory(status);
}

bool ReadOnlyOnce(const std::string& path) {
  if (path == "-") return true;
  std::error_code ec;
  return fs::status(path, ec).type() == fs::file_type::fifo;
}

core::Diagnostics PinOnceReadInputs(Catalog& catalog, const std::vector<std::string>& paths) {
  core::Diagnostics d;
  for (const std::string& path : paths) {
    if (path.empty() || catalog.Pinned(path) != nullptr || !ReadOnlyOnce(path)) continue;
    core::Result<std::string> text = ReadFile(path);
    if (!text.ok()) {
      d.Append(text.diagnostics());
      continue;
    }
    catalog.Pin(path, std::move(text).value());
  }
  return d;
}

core::Result<std::string> ReadFile(const std::string& path) {
  core::Diagnostics d;
  std::error_code ec;
  const std::string limit = std::to_string(kMaxFileBytes >> 20) + " MiB";
  // Read at most one byte past the limit, whatever a size said (a file may grow, a pipe
  // has none).
  auto read_all = [&](std::istream& in) -> core::Result<std::string> {
    std::string text;
    char chunk[1 << 16];
    while (text.size() <= kMaxFileBytes && in.read(chunk, sizeof chunk).gcount() > 0) {
      text.append(chunk, static_cast<size_t>(in.gcount()));
    }
    if (text.size() > kMaxFileBytes) {
      core::Diagnostics too_large;
      too_large.Add(Error(path, 0, "", "file is too large (more than " + limit + ")",
                          "inputs are limited to " + limit + " (a config is a few kilobytes)"));
      return too_large;
    }
    return text;
  };
  if (path == "-") return read_all(std::cin);
  // A regular file or a pipe is read; a device (/dev/zero) would be read forever before
  // the size check could stop it, and a socket is not a file.
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    d.Add(Error(path, 0, "", "no such file"));
    return d;
  }
  if (fs::is_directory(status)) {
    d.Add(Error(path, 0, "", "is a directory, not a file"));
    return d;
  }
  if (ec) {
    d.Add(Error(path, 0, "", "cannot read the file: " + ec.message()));
    return d;
  }
  if (!fs::is_regular_file(status) && status.type() != fs::file_type::fifo) {
    d.Add(Error(path, 0, "", "is " + FileKind(status.type()) + ", not a regular file",
                "give the path of a YAML or JSON file, a pipe, or - for standard input: inputs "
                "are read whole, and a device has no end"));
    return d;
  }
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxFileBytes) {
    d.Add(Error(path, 0, "", "file is too large (" + std::to_string(size) + " bytes)",
                "inputs are limited to " + limit + " (a config is a few kilobytes)"));
    return d;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    d.Add(Error(path, 0, "", "cannot read the file"));
    return d;
  }
  return read_all(in);
}

namespace {

// Checks of the plan that combine the values of several keys (parallel::ValidatePlan's):
// where one of them was given on the command line (--set plan.dp=96, a sweep's or a
// compare's axis), the file's line holds another value. The error names that setting; one
// of the whole plan (the chip count, at `plan`: the scenario's `plan:` line) is placed at it.
void BlameSettings(core::Diagnostic& d, const SourceMap& where) {
  struct Combined {
    std::string_view key, says;
    std::initializer_list<const char*> inputs;
  };
  static constexpr std::string_view kChips = " chips, but the cluster has ";
  static constexpr std::string_view kBatch = "must be divisible by micro_batch_size x dp";
  const std::initializer_list<Combined> checks = {
      {"plan", kChips, {"plan.tp", "plan.pp", "plan.dp", "plan.cp", "cluster.chips"}},
      {"plan.global_batch_size", kBatch, {"plan.micro_batch_size", "plan.dp"}},
  };
  for (const Combined& c : checks) {
    if (d.key != c.key || d.message.find(c.says) == std::string::npos) continue;
    std::string settings;
    const Location* first = nullptr;
    for (const char* key : c.inputs) {
      const auto it = where.find(key);
      if (it == where.end() || it->second.setting.empty()) continue;
      if (first == nullptr) first = &it->second;
      settings += (settings.empty() ? "" : ", ") + it->second.setting;
    }
    if (first == nullptr) return;
    if (d.key == "plan") {
      d.file = first->file;
      d.line = first->line;
    }
    d.message += " (after " + settings + ")";
    return;
  }
}

}  // namespace

void Locate(core::Diagnostics& diags, const SourceMap& where) {
  for (core::Diagnostic& d : diags.items()) {
    if (!d.file.empty() || d.key.empty()) continue;
    std::string key = d.key;
    while (!key.empty()) {
      auto it = where.find(key);
      if (it != where.end()) {
        d.file = it->second.file;
        d.line = it->second.line;
        break;
      }
      const size_t dot = key.rfind('.');
      if (dot == std::string::npos) break;
      key.resize(dot);
    }
    BlameSettings(d, where);
  }
}

Catalog Catalog::Default(const std::string& argv0) {
  if (const char* env = std::getenv("FATHOM_DATA"); env != nullptr && *env != '\0') {
    return Catalog(env);
  }
  return Catalog(DefaultDir(argv0));
}

std::string Catalog::DefaultDir(const std::string& argv0) {
  std::error_code ec;
  const std::string built = FATHOM_SOURCE_DATA_DIR;
  if (!built.empty() && fs::is_directory(built, ec)) return built;
  const fs::path exe = fs::path(argv0).parent_path();
  for (const fs::path& candidate :
       {exe / ".." / "share" / "fathom" / "data", exe / "data", fs::path("data")}) {
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return "data";
}

core::Result<Catalog> OpenCatalog(const std::string& data_flag, const std::string& argv0) {
  const char* env = std::getenv("FATHOM_DATA");
  const bool from_env = data_flag.empty() && env != nullptr && *env != '\0';
  const std::string dir = !data_flag.empty() ? data_flag
                          : from_env         ? std::string(env)
                                             : Catalog::DefaultDir(argv0);
  const std::string origin = !data_flag.empty() ? "--data" : from_env ? "FATHOM_DATA" : "";
  const std::string hint =
      "give the directory that holds chips/, clusters/ and models/ with --data DIR or "
      "FATHOM_DATA=DIR (the default is " +
      Catalog::DefaultDir(argv0) + ")";
  const std::string quoted = "\"" + dir + "\"";
  std::string problem;
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) {
    problem = "the catalog directory " + quoted + " does not exist";
  } else if (ec) {
    problem = "cannot read the catalog directory " + quoted + ": " + ec.message();
  } else if (!fs::is_directory(status)) {
    problem = "the catalog directory " + quoted + " is not a directory";
  } else {
    bool holds_catalog = false;
    for (Section s : {Section::kChip, Section::kCluster, Section::kModel, Section::kReliability}) {
      std::error_code sub_ec;
      holds_catalog |= fs::is_directory(fs::path(dir) / SectionDir(s), sub_ec);
    }
    const fs::directory_iterator listing(dir, ec);
    if (ec) {
      problem = "cannot read the catalog directory " + quoted + ": " + ec.message();
    } else if (!holds_catalog) {
      problem = "the catalog directory " + quoted +
                " holds no catalog: none of chips/, clusters/, models/, reliability/";
    }
  }
  if (problem.empty()) return Catalog(dir);
  core::Diagnostics d;
  d.Add(Error("", 0, origin, problem, hint));
  return d;
}

void Catalog::set_files_root(const std::string& dir) {
  if (dir.empty()) {
    files_root_.clear();
    return;
  }
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  files_root_ = (ec ? fs::absolute(dir) : root).lexically_normal().string();
}

bool Catalog::InFilesRoot(const std::string& path) const {
  if (files_root_.empty()) return true;
  std::error_code ec;
  const fs::path file = fs::canonical(path, ec);
  if (ec) return false;  // gone, or a loop of links: nothing to read either way
  const fs::path root(files_root_);
  // Component by component: "/srv/a" does not hold "/srv/ab/x".
  auto r = root.begin();
  auto f = file.begin();
  for (; r != root.end() && !r->empty(); ++r, ++f) {
    if (f == file.end() || *r != *f) return false;
  }
  return true;
}

std::vector<std::string> Catalog::Names(Section s) const {
  std::vector<std::string> names;
  const std::string sub = SectionDir(s);
  if (sub.empty()) return names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / sub, ec)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// A catalog entry's YAML for its aliases, or a null node when it is not a regular file
// (a FIFO would block, a device never end) or not YAML: reported when that entry itself
// is loaded.
YAML::Node CatalogEntry(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return {};
  core::Result<std::string> text = ReadFile(file.string());
  if (!text.ok()) return {};
  try {
    return YAML::Load(text.value());
  } catch (const YAML::Exception&) {
    return {};
  }
}

}  // namespace

std::vector<std::string> Catalog::NamesAndAliases(Section s) const {
  std::vector<std::string> names = Names(s);
  const std::string sub = SectionDir(s);
  for (const std::string& entry : Names(s)) {
    const YAML::Node root = CatalogEntry(fs::path(dir_) / sub / (entry + ".yaml"));
    if (!root.IsMap()) continue;
    if (const YAML::Node aliases = root["aliases"]; aliases && aliases.IsSequence()) {
      for (const YAML::Node& a : aliases) {
        if (a.IsScalar()) names.push_back(a.Scalar());
      }
    }
  }
  return names;
}

std::vector<std::string> Catalog::FindAll(Section s, const std::string& name) const {
  const std::string sub = SectionDir(s);
  if (sub.empty() || name.empty() || name.find('/') != std::string::npos) return {};
  const fs::path direct = fs::path(dir_) / sub / (name + ".yaml");
  std::error_code ec;
  if (fs::is_regular_file(direct, ec)) return {direct.string()};
  // Aliases (chips): scan the entries' `aliases` lists.
  std::vector<std::string> found;
  for (const std::string& entry : Names(s)) {
    const fs::path file = fs::path(dir_) / sub / (entry + ".yaml");
    const YAML::Node root = CatalogEntry(file);
    if (!root.IsMap()) continue;
    if (const YAML::Node aliases = root["aliases"]; aliases && aliases.IsSequence()) {
      for (const YAML::Node& a : aliases) {
        if (a.IsScalar() && a.Scalar() == name) {
          found.push_back(file.string());
          break;
        }
      }
    }
  }
  return found;
}

std::string Catalog::Find(Section s, const std::string& name) const {
  std::vector<std::string> found = FindAll(s, name);
  return found.size() == 1 ? found.front() : "";
}

namespace {

core::Result<model::ModelSpec> FinishModel(model::ModelSpec m, const std::string& prefix,
                                           const std::string& file, core::Diagnostics d,
                                           const SourceMap& where,
                                           const std::set<std::string>& bases) {
  if (!HasKey(where, Join(prefix, "kv_heads")) && m.kv_heads == 0) m.kv_heads = m.heads;
  // A check of several keys is located at the first of `keys` the user gave: on the command
  // line (--set), then in the model's own file (or the scenario's mapping), then in a base it
  // derives from (heads: 33 over a base's kv_heads: 8 is the line to fix, not the base's),
  // else at the model's file.
  const auto section = where.find(prefix);
  const bool has_section = section != where.end() && !prefix.empty();
  // The key of `keys` that check blames (nullptr where none is given).
  auto given_key = [&](std::initializer_list<const char*> keys) -> const char* {
    auto first = [&](auto&& from_here) -> const char* {
      for (const char* key : keys) {
        const auto it = where.find(Join(prefix, key));
        if (it != where.end() && from_here(it->second)) return key;
      }
      return nullptr;
    };
    const char* key = first([](const Location& at) { return at.file.starts_with("--"); });
    if (key == nullptr) key = first([&](const Location& at) { return !bases.contains(at.file); });
    return key != nullptr ? key : first([](const Location&) { return true; });
  };
  auto given_at = [&](std::initializer_list<const char*> keys) {
    if (const char* key = given_key(keys)) return where.at(Join(prefix, key));
    return has_section ? section->second : Location{file, 0};
  };
  auto error = [&](std::initializer_list<const char*> keys, const std::string& key,
                   const std::string& message, const std::string& hint = "") {
    // Named by the key it is located at, the user's (model.heads: 33 over a base's kv_heads).
    const char* blamed = given_key(keys);
    const Location l = given_at(keys);
    d.Add(Error(l.file, l.line, Join(prefix, blamed != nullptr ? blamed : key), message, hint));
  };
  if (m.head_dim == 0 && m.heads > 0) {
    if (m.hidden % m.heads != 0) {
      error({"heads", "hidden"}, "head_dim",
            "hidden (" + std::to_string(m.hidden) + ") is not divisible by heads (" +
                std::to_string(m.heads) + ")",
            "give head_dim explicitly");
    } else {
      m.head_dim = m.hidden / m.heads;
    }
  }
  if (m.kv_heads > 0 && m.heads % m.kv_heads != 0) {
    error({"kv_heads", "heads"}, "kv_heads",
          "heads (" + std::to_string(m.heads) + ") must be a multiple of kv_heads (" +
              std::to_string(m.kv_heads) + ")");
  }
  if (m.position == model::Position::kLearned && m.max_positions > 0 &&
      m.seq_len > m.max_positions) {
    // A learned position table has no row past its last: unlike rotary or ALiBi
    // positions, it cannot be stretched to a longer sequence.
    const char* key = given_key({"seq_len", "max_positions"});
    const Location at = given_at({"seq_len", "max_positions"});
    d.Add(Error(at.file, at.line, Join(prefix, key != nullptr ? key : "seq_len"),
                "seq_len (" + std::to_string(m.seq_len) + ") exceeds max_positions (" +
                    std::to_string(m.max_positions) + "), the rows of model " + m.name +
                    "'s learned position table",
                "use seq_len <= " + std::to_string(m.max_positions) +
                    ", or give max_positions for a model with a longer table"));
  }
  if (m.position == model::Position::kRoPE && m.max_positions > 0 && m.seq_len > m.max_positions) {
    // Rotary positions can be computed at any length: past the longest sequence the model
    // was made for, it may extrapolate poorly unless its RoPE is scaled, but it runs.
    const char* key = given_key({"seq_len", "max_positions"});
    const Location at = given_at({"seq_len", "max_positions"});
    d.Add(core::Diagnostic{
        core::Severity::kWarning, at.file, at.line, Join(prefix, key != nullptr ? key : "seq_len"),
        "seq_len (" + std::to_string(m.seq_len) + ") exceeds max_positions (" +
            std::to_string(m.max_positions) + "), the longest sequence model " + m.name +
            " accepts",
        "rotary positions stretch past it, but the model was not made for it: scale its RoPE "
        "(rope_scaling) or use seq_len <= " +
            std::to_string(m.max_positions)});
  }
  if (m.moe.experts > 0 && (m.moe.top_k < 1 || m.moe.top_k > m.moe.experts)) {
    error({"moe.top_k", "moe.experts"}, "moe.top_k",
          "top_k (" + std::to_string(m.moe.top_k) + ") must be between 1 and experts (" +
              std::to_string(m.moe.experts) + ")");
  }
  // The busiest rank's routed load over the mean cannot pass experts / top_k: that is every
  // token's copy on one expert (ep = experts), the mean share being top_k / experts of them.
  if (m.moe.experts > 0 && m.moe.top_k >= 1 && m.moe.top_k <= m.moe.experts &&
      m.moe.imbalance * m.moe.top_k > m.moe.experts) {
    const double bound = static_cast<double>(m.moe.experts) / m.moe.top_k;
    error({"moe.imbalance", "moe.top_k", "moe.experts"}, "moe.imbalance",
          fmt::format("imbalance ({:g}) exceeds experts / top_k ({} / {} = {:.3g}), the most "
                      "any rank can receive over the mean: every token routing a copy to "
                      "one expert",
                      m.moe.imbalance, m.moe.experts, m.moe.top_k, bound),
          "give the busiest expert-parallel rank's routed tokens over the mean, a value "
          "between 1 and " +
              fmt::format("{:.3g}", bound) +
              ": measured routers stay under 2 (1 + MaxVio of Wang et al. 2024, arXiv "
              "2408.15664: a few hundredths with auxiliary-loss-free balancing, under 1 with a "
              "balancing loss)");
  }
  if (m.moe.experts > 0 && m.moe.expert_ffn_hidden == 0) m.moe.expert_ffn_hidden = m.ffn_hidden;
  if (m.moe.experts == 0 && (m.moe.top_k > 0 || m.moe.shared_experts > 0)) {
    error({"moe.top_k", "moe.shared_experts"}, "moe.experts",
          "moe.top_k or moe.shared_experts is set but moe.experts is 0",
          "give the number of routed experts");
  }
  if (m.moe.experts > 0 && m.moe.first_dense_layers >= m.layers) {
    error({"moe.first_dense_layers", "layers"}, "moe.first_dense_layers",
          "first_dense_layers (" + std::to_string(m.moe.first_dense_layers) +
              ") leaves no MoE layer among the " + std::to_string(m.layers));
  } else if (m.moe.experts > 0 && model::MoeLayersIn(m, 0, m.layers) == 0) {
    // Layer i is MoE when i - first_dense_layers + 1 is a multiple of the frequency.
    error({"moe.layer_frequency", "moe.first_dense_layers", "layers"}, "moe.layer_frequency",
          "layer_frequency (" + std::to_string(m.moe.layer_frequency) +
              ") leaves no MoE layer among the " + std::to_string(m.layers) + " (after " +
              std::to_string(m.moe.first_dense_layers) + " first dense layers)",
          "every layer_frequency-th layer after the first dense ones is MoE: use at most " +
              std::to_string(m.layers - m.moe.first_dense_layers));
  }
  if (m.qk_norm_all_heads && !m.qk_norm) {
    error({"qk_norm_width", "qk_norm"}, "qk_norm_width",
          "all_heads is given, but qk_norm is false: there is no query/key norm to widen",
          "set qk_norm: true, or drop qk_norm_width");
  }
  if (m.sliding_window > 0 && m.attention_chunk > 0) {
    error({"attention_chunk", "sliding_window"}, "attention_chunk",
          "both sliding_window (" + std::to_string(m.sliding_window) + ") and attention_chunk (" +
              std::to_string(m.attention_chunk) + ") are given",
          "a local layer has either a sliding window or chunked attention: give one of them "
          "(set the other to 0)");
  }
  // Keys that say nothing beside another's value: a warning where the user gave them (a base
  // model's own, such as GPT-NeoX's two norms under a --set parallel_attention=false, says
  // what it read).
  auto users_key = [&](const char* key) {
    const auto it = where.find(Join(prefix, key));
    return it != where.end() && !bases.contains(it->second.file);
  };
  auto no_effect = [&](const char* key, const std::string& message, const std::string& hint) {
    const Location l = where.at(Join(prefix, key));
    d.Add(core::Diagnostic{core::Severity::kWarning, l.file, l.line, Join(prefix, key), message,
                           hint});
  };
  if (!m.parallel_attention && m.parallel_norms != 1 && users_key("parallel_norms")) {
    no_effect("parallel_norms",
              "parallel_norms (" + std::to_string(m.parallel_norms) +
                  ") has no effect: parallel_attention is false, and a sequential layer has a "
                  "norm before its attention and one before its MLP",
              "set parallel_attention: true for attention and MLP reading the same input, or "
              "drop parallel_norms");
  }
  if (m.bias && m.attention_bias != model::AttentionBias::kNone && users_key("attention_bias")) {
    no_effect("attention_bias",
              "attention_bias has no effect: bias is true, which puts biases in every linear "
              "layer, the attention's among them",
              "drop attention_bias, or set bias: false for biases in the attention alone");
  }
  if (m.bias && m.mlp_bias && users_key("mlp_bias")) {
    no_effect("mlp_bias",
              "mlp_bias has no effect: bias is true, which puts biases in every linear layer, "
              "the MLPs' among them",
              "drop mlp_bias, or set bias: false for biases in the MLPs alone");
  }
  if (m.global_attention_every > 0 && m.sliding_window == 0 && m.attention_chunk == 0) {
    // A warning, not an error: turning a model's window off (--set model.sliding_window=0)
    // leaves its pattern behind, and every layer attending globally is what was asked.
    const Location l = given_at({"global_attention_every"});
    d.Add(core::Diagnostic{
        core::Severity::kWarning, l.file, l.line, Join(prefix, "global_attention_every"),
        "global_attention_every (" + std::to_string(m.global_attention_every) +
            ") has no effect: no layer has a sliding window or chunked attention, so every "
            "layer attends to the whole sequence",
        "give sliding_window or attention_chunk for the other layers, or drop "
        "global_attention_every"});
  }
  const bool mla_any = m.mla.q_lora_rank > 0 || m.mla.qk_rope_head_dim > 0 ||
                       m.mla.qk_nope_head_dim > 0 || m.mla.v_head_dim > 0;
  if ((mla_any || m.mla.kv_lora_rank > 0) &&
      (m.mla.kv_lora_rank == 0 || m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim == 0 ||
       m.mla.v_head_dim == 0)) {
    error({"mla.kv_lora_rank", "mla.q_lora_rank", "mla.qk_rope_head_dim", "mla.qk_nope_head_dim",
           "mla.v_head_dim"},
          "mla.kv_lora_rank",
          "multi-head latent attention needs kv_lora_rank, qk_nope_head_dim or "
          "qk_rope_head_dim, and v_head_dim",
          "give all of them, or none for standard attention");
  }
  if (d.HasErrors()) return d;
  return core::Result<model::ModelSpec>(std::move(m), std::move(d));
}

bool LoadModelInto(Loader& loader, const YAML::Node& node, const std::string& file,
                   const std::string& prefix, model::ModelSpec& m) {
  const HfImport import = [&](const std::string& text, const std::string& path) {
    // seq_len given beside the config wins over its max_position_embeddings.
    const HfImportOptions options{.seq_len_given = loader.GivenAbove(prefix, "seq_len")};
    HfSources sources;
    core::Result<model::ModelSpec> r = ImportHuggingFace(text, path, options, &sources);
    loader.diags.Append(r.diagnostics());
    if (!r.ok()) return false;
    for (auto& [key, source] : sources) {
      loader.hf_keys[Join(prefix, key)] = {path, std::move(source)};
    }
    m = std::move(r).value();
    // The import sets every required key (seq_len when the config has it); record them as
    // given by that file.
    for (const Field<model::ModelSpec>& f : ModelFields()) {
      if (f.info->required && !(f.info->path == "seq_len" && m.seq_len == 0)) {
        loader.where[Join(prefix, f.info->path)] = {path, 0};
      }
    }
    loader.where[Join(prefix, "kv_heads")] = {path, 0};
    return true;
  };
  return loader.LoadNode(Section::kModel, node, file, ModelFields(), m, prefix, 0, import);
}

}  // namespace

namespace {

// Loads the model section at `node`; the file names for HF imports are fixed afterwards.
core::Result<model::ModelSpec> LoadModelNode(Loader& loader, const YAML::Node& node,
                                             const std::string& file, const std::string& prefix,
                                             int line) {
  model::ModelSpec m;
  ApplyDefaults(ModelFields(), m);
  m.kv_heads = 0;
  m.head_dim = 0;
  const size_t before = loader.diags.size();
  if (!LoadModelInto(loader, node, file, prefix, m) || loader.diags.HasErrors()) {
    if (loader.diags.size() == before)
      loader.diags.Add(Error(file, line, prefix, "cannot load the model"));
    return loader.diags;
  }
  loader.ApplyOverrides(prefix, ModelFields(), m);
  if (loader.diags.HasErrors()) return loader.diags;
  core::Diagnostics d = loader.diags;  // warnings (a Hugging Face import's)
  CheckRequired(ModelFields(), loader.where, prefix, loader.FileOf(prefix, file),
                loader.section_file.count(prefix) ? 0 : line, d);
  if (d.HasErrors()) return d;
  core::Result<model::ModelSpec> r =
      FinishModel(std::move(m), prefix, loader.FileOf(prefix, file), std::move(d), loader.where,
                  loader.base_files[prefix]);
  // A check of an imported value names the config's key and line, and Fathom's key in its hint.
  for (core::Diagnostic& x : r.diagnostics().items()) {
    const auto it = loader.hf_keys.find(x.key);
    if (it == loader.hf_keys.end()) continue;
    // Not where the value was given elsewhere (--set, a mapping around the config).
    const auto given = loader.where.find(x.key);
    if (given != loader.where.end() && given->second.file != it->second.first) continue;
    const HfSource& source = it->second.second;
    x.file = it->second.first;
    x.hint += std::string(x.hint.empty() ? "" : "; ") + source.key + " is Fathom's " + x.key;
    x.key = source.key;
    x.line = source.line;
  }
  return r;
}

// Reads the chip's `calibration:` (a catalog name under calibrations/, or a file from the
// directory of the file that named it) into c.calibration.
void AttachCalibration(Loader& loader, hardware::ChipSpec& c, const std::string& prefix,
                       const std::string& file, core::Diagnostics& d) {
  c.calibration.reset();
  if (c.calibration_ref.empty()) return;
  const std::string key = Join(prefix, "calibration");
  const auto at = loader.where.find(key);
  const std::string from = at != loader.where.end() ? at->second.file : file;
  const int line = at != loader.where.end() ? at->second.line : 0;
  const fs::path ref(c.calibration_ref);
  const bool name = ref.extension().empty() && ref.filename() == ref;
  std::string path;
  std::error_code ec;
  if (name) {
    path =
        (fs::path(loader.catalog.dir()) / "calibrations" / (c.calibration_ref + ".yaml")).string();
  } else if (!loader.catalog.files_allowed()) {
    d.Add(Error(from, line, key,
                "\"" + c.calibration_ref + "\" is a file, and files are not read here",
                "name one of the catalog's calibrations (data/calibrations), or none"));
    return;
  } else {
    const fs::path near = from.empty() ? ref : fs::path(from).parent_path() / ref;
    path = fs::is_regular_file(near, ec) ? near.string()
                                         : loader.catalog.FromWorkingDir(c.calibration_ref);
    core::Diagnostics outside =
        OutsideFilesRoot(loader.catalog, from, line, key, c.calibration_ref, path);
    if (outside.HasErrors()) {
      d.Append(outside);
      return;
    }
  }
  if (!fs::is_regular_file(path, ec)) {
    std::string known;
    for (const auto& entry :
         fs::directory_iterator(fs::path(loader.catalog.dir()) / "calibrations", ec)) {
      if (entry.path().extension() == ".yaml") {
        known += (known.empty() ? "" : ", ") + entry.path().stem().string();
      }
    }
    d.Add(Error(from, line, key,
                "no calibration \"" + c.calibration_ref + "\"" + (name ? " in the catalog" : ""),
                "give a file made by `fathom calibrate import`" +
                    (known.empty() ? std::string() : ", one of the catalog's (" + known + ")") +
                    ", or none"));
    return;
  }
  core::Result<std::shared_ptr<const hardware::Calibration>> r = ReadCalibrationFile(path, c, key);
  d.Append(r.diagnostics());
  if (!r.ok()) return;
  c.calibration = r.value();
  // A datasheet fraction given by the user (a chip file of theirs, --set) for operators the
  // calibration measured prices nothing: say so.
  const hardware::Calibration& cal = *c.calibration;
  const bool streams =
      std::any_of(cal.stream.begin(), cal.stream.end(), [](const auto& t) { return !t.empty(); });
  const std::string catalog_dir = (fs::path(loader.catalog.dir()) / "").string();
  for (const auto& [efficiency_key, measured, what] :
       {std::tuple{"efficiency.gemm_bf16", cal.HasGemm(hardware::Precision::kBf16), "bf16 GEMMs"},
        std::tuple{"efficiency.gemm_fp8", cal.HasGemm(hardware::Precision::kFp8), "fp8 GEMMs"},
        std::tuple{"efficiency.attention", !cal.attention_forward.empty(), "attention"},
        std::tuple{"efficiency.hbm", streams, "memory-bound operators"}}) {
    const auto given = loader.where.find(Join(prefix, efficiency_key));
    if (!measured || given == loader.where.end() || given->second.file.rfind(catalog_dir, 0) == 0) {
      continue;
    }
    d.Add({core::Severity::kWarning, given->second.file, given->second.line,
           Join(prefix, efficiency_key),
           std::string("the chip's calibration (") + c.calibration_ref + ") measured its " + what +
               ": their measured fractions are used, not this one",
           "set calibration: none to price them by the efficiency section alone"});
  }
}

core::Result<hardware::ChipSpec> LoadChipNode(Loader& loader, const YAML::Node& node,
                                              const std::string& file, const std::string& prefix,
                                              int line) {
  hardware::ChipSpec c;
  ApplyDefaults(ChipFields(), c);
  if (!loader.LoadNode(Section::kChip, node, file, ChipFields(), c, prefix, 0) ||
      loader.diags.HasErrors()) {
    return loader.diags;
  }
  loader.ApplyOverrides(prefix, ChipFields(), c);
  if (loader.diags.HasErrors()) return loader.diags;
  core::Diagnostics d = loader.diags;  // warnings (a bandwidth in bits)
  CheckRequired(ChipFields(), loader.where, prefix, loader.FileOf(prefix, file),
                loader.section_file.count(prefix) ? 0 : line, d);
  FinishChip(c, prefix, loader.FileOf(prefix, file), d, loader.where);
  if (d.HasErrors()) return d;
  AttachCalibration(loader, c, prefix, loader.FileOf(prefix, file), d);
  if (d.HasErrors()) return d;
  // A price given outside the catalog (by --set, in a scenario or a chip file of the user's)
  // is not the catalog's: the reports say where it came from.
  const std::string catalog_dir = (fs::path(loader.catalog.dir()) / "").string();
  if (const auto at = loader.where.find(Join(prefix, "name"));
      at != loader.where.end() && !at->second.file.empty() &&
      at->second.file.rfind(catalog_dir, 0) != 0) {
    c.given_in = at->second.file;
    // A chip of the user's under a catalog chip's name: the reports could not tell the two
    // apart (compare's columns, a run's price).
    // A copy of the entry (`fathom catalog chip h100 > h1.yaml`) is that entry: not said.
    auto copy_of_entry = [&] {
      const core::Result<hardware::ChipSpec> e = LoadChip(loader.catalog, c.name);
      return e.ok() && ChipFileYaml(e.value()) == ChipFileYaml(c);
    };
    if (const std::string entry = loader.catalog.Find(Section::kChip, c.name);
        !entry.empty() && !copy_of_entry()) {
      d.Add({core::Severity::kWarning, at->second.file, at->second.line, Join(prefix, "name"),
             "\"" + c.name + "\" is the name of the catalog's chip (" + entry +
                 "), and this chip is not that entry: the reports will not tell them apart",
             "give it a name of its own, e.g. " + c.name + "-custom"});
    }
  }
  const std::string price_key = Join(prefix, "price.usd_per_chip_hour");
  if (const auto at = loader.where.find(price_key); at != loader.where.end()) {
    if (at->second.file.rfind(catalog_dir, 0) != 0) {
      c.price_given = at->second.line > 0 ? at->second.file + ":" + std::to_string(at->second.line)
                                          : at->second.file + " " + price_key;
    } else if (!c.given_in.empty()) {
      // A chip of the user's derived from a catalog entry (base:) inherits its price: the
      // catalog's, for the entry it came from, not for a chip of this name.
      c.price_given =
          "catalog: " + fs::path(at->second.file).stem().string() + ", inherited by " + c.name;
    }
  }
  return core::Result<hardware::ChipSpec>(std::move(c), std::move(d));
}

// Sorts diagnostics by their place: the files in the order they first appear, each by line
// (a file's own diagnostics, at line 0, first); the order found is kept among equals.
void InFileOrder(core::Diagnostics& d) {
  std::vector<std::string> files;
  for (const core::Diagnostic& x : d.items()) {
    if (std::find(files.begin(), files.end(), x.file) == files.end()) files.push_back(x.file);
  }
  auto rank = [&](const core::Diagnostic& x) {
    return std::find(files.begin(), files.end(), x.file) - files.begin();
  };
  std::stable_sort(d.items().begin(), d.items().end(),
                   [&](const core::Diagnostic& a, const core::Diagnostic& b) {
                     const auto ra = rank(a), rb = rank(b);
                     return ra != rb ? ra < rb : a.line < b.line;
                   });
}

// A power in a message: "700 W", "10.2 kW", "1.5 MW".
std::string Watts(double w) {
  if (w >= 1e6) return Short(w / 1e6) + " MW";
  if (w >= 1e4) return Short(w / 1e3) + " kW";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f W", w);
  return buf;
}

// Where the longest given prefix of `key` was read ("a.b[1].c" -> "a.b[1]" -> "a.b" -> "a").
Location LongestGiven(const SourceMap& where, std::string key, const Location& fallback) {
  while (!key.empty()) {
    auto it = where.find(key);
    if (it != where.end()) return it->second;
    const size_t cut = key.find_last_of(".[");
    if (cut == std::string::npos) break;
    key.resize(cut);
  }
  return fallback;
}

// A cluster's scale_out.tiers list (the last one given, after `base:` merges).
void LoadTiers(Loader& loader, const YAML::Node& list, const std::string& key,
               std::vector<network::Tier>& tiers, core::Diagnostics& d) {
  if (list && !list.IsNull()) {
    const auto it = loader.where.find(key);
    const std::string file = it == loader.where.end() ? "" : it->second.file;
    // A list given by --set has no lines of its own.
    ParseContext ctx{file, key, &d, &loader.where, it == loader.where.end() || it->second.line > 0};
    tiers.assign(list.IsSequence() ? list.size() : 0, network::Tier{});
    for (network::Tier& t : tiers) ApplyDefaults(TierFields(), t);
    WalkMappingList(list, Keys(Section::kTier), ctx, [&](size_t item, size_t k, const Value& v) {
      TierFields()[k].set(tiers[item], v);
    });
  }
  if (loader.overrides != nullptr) {
    loader.overrides->ApplyItems(key, TierFields(), tiers, d, loader.where);
  }
}

core::Result<network::ClusterSpec> LoadClusterNode(Loader& loader, const YAML::Node& node,
                                                   const std::string& file,
                                                   const std::string& prefix, int line);

// A topology error (radix exceeded, a block that does not nest) is found at the key Finalize
// names, often a catalog line the user did not change; when the cluster loads once the
// overrides of its keys are left out, those overrides caused it: the error is placed at
// their origin and names them.
void BlameOverrides(const Loader& loader, const YAML::Node& node, const std::string& file,
                    const std::string& prefix, int line, core::Diagnostics& topology) {
  if (loader.overrides == nullptr) return;
  const std::vector<Override> given = loader.overrides->Touching(prefix);
  if (given.empty()) return;
  Loader plain(loader.catalog);
  // A cluster that fails without the overrides too (another error, or this one) keeps the
  // places Finalize's keys give.
  if (!LoadClusterNode(plain, node, file, prefix, line).ok()) return;
  std::string named;
  for (const Override& o : given) {
    named += (named.empty() ? "" : ", ") + o.origin + " " + o.key + "=" + o.value;
  }
  for (core::Diagnostic& x : topology.items()) {
    if (x.severity != core::Severity::kError) continue;
    // Placed at the override of the key the error names (an --axis of the tiers, not the
    // file's bandwidth axis beside it), else at the first.
    const Override* at = &given.front();
    size_t best = 0;
    for (const Override& o : given) {
      const bool covers =
          x.key.rfind(o.key, 0) == 0 && (x.key.size() == o.key.size() ||
                                         x.key[o.key.size()] == '.' || x.key[o.key.size()] == '[');
      if (covers && o.key.size() > best) at = &o, best = o.key.size();
    }
    x.file = at->origin;
    x.line = 0;
    x.message += " (after " + named + "; the cluster without " +
                 (given.size() == 1 ? "it" : "them") + " has no such error)";
  }
}

core::Result<network::ClusterSpec> LoadClusterNode(Loader& loader, const YAML::Node& node,
                                                   const std::string& file,
                                                   const std::string& prefix, int line) {
  ClusterDraft draft;
  ApplyDefaults(ClusterFields(), draft);
  draft.spec.domain = 0;
  if (!loader.LoadNode(Section::kCluster, node, file, ClusterFields(), draft, prefix, 0)) {
    return loader.diags;
  }
  loader.ApplyOverrides(prefix, ClusterFields(), draft);
  // The cluster's own keys, then its chip and its tiers: each is read even when another has
  // a bad key, so that one run reports every bad key of the section (in file order).
  core::Diagnostics d = std::move(loader.diags);
  loader.diags = {};
  const bool keys_read = !d.HasErrors();
  // With no scale-out network (topology none) its latency and efficiency are never used.
  const bool no_scale_out = draft.spec.fabric_kind == network::FabricKind::kNone;
  if (keys_read) {
    CheckRequired(ClusterFields(), loader.where, prefix, loader.FileOf(prefix, file),
                  loader.section_file.count(prefix) ? 0 : line, d,
                  no_scale_out
                      ? std::vector<std::string>{"scale_out.latency", "scale_out.efficiency"}
                      : std::vector<std::string>{});
  }
  // The chip reference: its file is where the draft's `chip` key was read.
  const std::string chip_key = Join(prefix, "chip");
  const bool chip_read = loader.where.count(chip_key) != 0;
  const Location at = chip_read ? loader.where[chip_key] : Location{};
  std::optional<hardware::ChipSpec> chip;
  if (chip_read) {
    core::Result<hardware::ChipSpec> r =
        LoadChipNode(loader, draft.chip, at.file, chip_key, at.line);
    loader.diags = {};
    d.Append(r.diagnostics());  // its errors, or its warnings
    if (r.ok()) chip = std::move(r).value();
  }
  network::ClusterSpec c = std::move(draft.spec);
  // A cluster derived with `base:` and no description of its own would show its base's
  // ("... = 1024 GPUs" for a cluster of 64): it says whose it is, and the resize.
  if (const auto based = loader.cluster_bases.find(prefix);
      based != loader.cluster_bases.end() && c.description == based->second.description &&
      !c.description.empty()) {
    const Loader::ClusterBase& b = based->second;
    c.description =
        "based on " + b.name +
        (c.chips != b.chips ? ", resized to " + std::to_string(c.chips) + " chips" : "") +
        " (its description: " + b.description + ")";
  }
  if (keys_read || draft.tiers) {
    LoadTiers(loader, draft.tiers, Join(prefix, "scale_out.tiers"), c.tiers, d);
  }
  if (d.HasErrors() || !chip) {
    FATHOM_CHECK(d.HasErrors(), "a cluster without its chip needs an error");
    InFileOrder(d);
    return d;
  }
  c.chip = std::move(*chip);
  // A chip the user changed keeps the cluster's own link figures where the cluster gives
  // them: say so where they differ. Changed: another chip in place of the cluster file's
  // (cluster.chip=b200, a chip named outside that file), or a link key of the chip set by
  // --set or in an inline chip; a change of anything else (its GEMM fraction) says nothing.
  const bool swapped = draft.chip.IsScalar() && at.file != loader.FileOf(prefix, file);
  auto user_set = [&](const std::string& chip_field) {
    const std::string key = Join(chip_key, chip_field);
    if (loader.overrides != nullptr && loader.overrides->Touches(key)) return true;
    const auto it = loader.where.find(key);
    return draft.chip.IsMap() && it != loader.where.end() && it->second.file == at.file;
  };
  {
    struct Link {
      const char* key;  // the cluster's, and the chip's of the same name
      double cluster, chip;
      std::string (*shown)(double);
      bool bandwidth;  // a link's rate (a domain's size is not)
    };
    auto bandwidth = [](double v) { return core::FormatBandwidth(v); };
    auto chips = [](double v) { return std::to_string(static_cast<int64_t>(v)) + " chips"; };
    const double nic = c.chip.scale_out_bandwidth.value() * c.chips_per_nic;
    for (const Link& l :
         {Link{"scale_up.bandwidth", c.scale_up.bandwidth.value(),
               c.chip.scale_up_bandwidth.value(), bandwidth, true},
          Link{"scale_up.domain", static_cast<double>(c.domain),
               static_cast<double>(c.chip.scale_up_domain), chips, false},
          Link{"scale_out.bandwidth", c.scale_out.bandwidth.value(), nic, bandwidth, true}}) {
      // A link 6x or more off its chip's own (8x is a bit/byte slip: 450Gbps for 450GBps;
      // the catalog's clusters are within 4x) is said whoever set it.
      const bool far = l.bandwidth && l.cluster > 0 && l.chip > 0 &&
                       std::max(l.cluster / l.chip, l.chip / l.cluster) >= 6;
      if (far) {
        const std::string key = Join(prefix, l.key);
        const Location w = loader.where.count(key) != 0
                               ? loader.where[key]
                               : Location{loader.FileOf(prefix, file), line};
        d.Add(core::Diagnostic{
            core::Severity::kWarning, w.file, w.line, key,
            l.shown(l.cluster) + " is " +
                (l.cluster > l.chip ? fmt::format("{:.3g}x", l.cluster / l.chip)
                                    : fmt::format("1/{:.3g}", l.chip / l.cluster)) +
                " of the " + c.chip.name + " chip's own " + l.shown(l.chip),
            "check the unit: Gbps and Tbps are bits (450Gbps is 56.25 GB/s), GBps and GB/s "
            "bytes"});
        continue;
      }
      const std::string key = Join(prefix, l.key);
      // A link the user gave by an override (--set, a swept axis) is meant as given (its
      // being 6x off the chip's is said above): the warning would tell them to undo it.
      const bool given = loader.overrides != nullptr && loader.overrides->Touches(key);
      if (l.cluster > 0 && l.chip > 0 && l.cluster != l.chip && !given &&
          (swapped || user_set(l.key))) {
        const Location w = loader.where.count(key) != 0
                               ? loader.where[key]
                               : Location{loader.FileOf(prefix, file), line};
        d.Add(core::Diagnostic{
            core::Severity::kWarning, w.file, w.line, key,
            "the cluster's " + l.shown(l.cluster) + " is used, not the " + c.chip.name +
                " chip's " + l.shown(l.chip),
            "set " + key + " to " + l.shown(l.chip) + " to model the chip's own links"});
      }
    }
  }
  if (c.domain == 0) c.domain = c.chip.scale_up_domain;
  const Location cluster_at{loader.FileOf(prefix, file),
                            loader.section_file.count(prefix) ? 0 : line};
  // A cluster that does not say how its domain is joined takes the chip's (an MI300X's
  // eight are a full mesh, not a switch: 6.5x the bandwidth of a pair's link).
  if (!draft.kind_given && !c.chip.scale_up_kind.empty()) {
    c.domain_kind = DomainKindOf(c.chip.scale_up_kind);
    // A torus needs its extents, which a chip does not give: without them the domain stays a
    // switch, said (a TPU swapped into an NVSwitch cluster by --set cluster.chip).
    if (c.domain_kind == network::DomainKind::kTorus && c.torus_dims.empty() && c.domain > 1) {
      c.domain_kind = network::DomainKind::kSwitch;
      d.Add(core::Diagnostic{
          core::Severity::kWarning, cluster_at.file, cluster_at.line, Join(prefix, "scale_up.kind"),
          "the " + c.chip.name +
              " chip's domain is a torus, but the cluster gives no "
              "scale_up.torus_dims: its " +
              std::to_string(c.domain) +
              " chips are modelled as a switch (each with its full bandwidth to any peer)",
          "give scale_up.kind: torus and scale_up.torus_dims (e.g. [4, 4, 4] for 64 chips) to "
          "model the torus"});
    }
  }
  if (c.scale_up.bandwidth.value() == 0) c.scale_up.bandwidth = c.chip.scale_up_bandwidth;
  auto where_of = [&](const std::string& key) {
    auto it = loader.where.find(Join(prefix, key));
    return it == loader.where.end() ? cluster_at : it->second;
  };
  if (c.scale_out.bandwidth.value() == 0) {
    const double chip_nic = c.chip.scale_out_bandwidth.value();
    c.scale_out.bandwidth = core::BytesPerSec(chip_nic * c.chips_per_nic);
    // The default NIC port is the chip's own times the chips sharing it (docs/network.md), so
    // each chip's share is the chip's: a port shared by more chips is a faster one, not fewer
    // NICs (`--set cluster.scale_out.chips_per_nic=2` alone changed no step).
    if (c.chips_per_nic > 1 && chip_nic > 0 && c.fabric_kind != network::FabricKind::kNone) {
      const Location w = where_of("scale_out.chips_per_nic");
      d.Add(core::Diagnostic{
          core::Severity::kNote, w.file, w.line, Join(prefix, "scale_out.chips_per_nic"),
          std::to_string(c.chips_per_nic) +
              " chips share each NIC port, and no scale_out.bandwidth is given: the port is "
              "the " +
              c.chip.name + " chip's " + core::FormatBandwidth(chip_nic) + " x " +
              std::to_string(c.chips_per_nic) + " = " +
              core::FormatBandwidth(c.scale_out.bandwidth.value()) +
              ", so each chip still has its " + core::FormatBandwidth(chip_nic),
          "for fewer NICs of the chip's speed, set " + Join(prefix, "scale_out.bandwidth") +
              " to " + core::FormatBandwidth(chip_nic) + " too (each chip then has 1/" +
              std::to_string(c.chips_per_nic) + " of it)"});
    }
  }
  if (c.scale_up.fabric.empty()) c.scale_up.fabric = c.chip.scale_up_fabric;
  // Collectives are priced at the links' rates; HBM, which every byte they move crosses
  // (read to send, written on receipt, more for a reduction), does not bound them. Links
  // faster than the chip's HBM (no chip in the catalog comes within 3.8x) are a design point
  // the model misprices: said where it happens.
  if (const double hbm = c.chip.hbm_bandwidth.value();
      hbm > 0 && c.scale_up.bandwidth.value() > hbm) {
    const Location w = where_of("scale_up.bandwidth");
    d.Add(core::Diagnostic{
        core::Severity::kWarning, w.file, w.line, Join(prefix, "scale_up.bandwidth"),
        core::FormatBandwidth(c.scale_up.bandwidth.value()) + " is more than the " + c.chip.name +
            " chip's HBM bandwidth (" + core::FormatBandwidth(hbm) +
            "): collectives are priced at the links' rate, which HBM does not bound here",
        "the scale-up collectives' times are lower bounds; check the figures"});
  }
  // Energy is priced at the node's power over its chips where the cluster gives one, but at
  // least at the chip's TDP (plan::DeriveCost): a chip TDP the user lowered below that share
  // is then not used, as a chip's links are not where the cluster has its own (said to the
  // commands that price energy: LoadedScenario::energy_warnings); and chips whose TDPs add
  // up to more than the node's maximum contradict it (a warning: chips can be power-capped
  // below their TDP), and are priced at their TDP.
  if (c.node_power.value() > 0 && c.chip.tdp.value() > 0 && c.chips_per_node >= 1) {
    const double node_w = c.node_power.value(), tdp = c.chip.tdp.value();
    const double per_chip = node_w / static_cast<double>(c.chips_per_node);
    const double chips_tdp = tdp * static_cast<double>(c.chips_per_node);
    const std::string node_key = Join(prefix, "power.node");
    const std::string tdp_key = Join(chip_key, "power.tdp");
    const bool tdp_given = swapped || user_set("power.tdp");
    const Location node_at = where_of("power.node");
    if (tdp_given && per_chip > tdp) {
      loader.energy.Add(core::Diagnostic{
          core::Severity::kWarning, node_at.file, node_at.line, node_key,
          "the cluster's " + Watts(node_w) + " per node (" + Watts(per_chip) + " per chip over " +
              std::to_string(c.chips_per_node) + " chips) prices energy, not the " + c.chip.name +
              " chip's TDP of " + Watts(tdp),
          "set " + node_key + " (or training.cost.power) to change the power energy is priced at"});
    }
    if (chips_tdp > node_w * (1 + 1e-9)) {
      const auto tdp_at = loader.where.find(tdp_key);
      const bool at_tdp = tdp_given && tdp_at != loader.where.end();
      const Location l = at_tdp ? tdp_at->second : node_at;
      d.Add(core::Diagnostic{
          core::Severity::kWarning, l.file, l.line, at_tdp ? tdp_key : node_key,
          std::to_string(c.chips_per_node) + " chips of " + Watts(tdp) + " TDP (" +
              Watts(chips_tdp) + ") exceed the node's maximum power, " + Watts(node_w) + " (" +
              node_key + ")",
          "a node's power includes its chips' (and its hosts' and NICs'): raise " + node_key +
              ", or check the chip's TDP; energy is priced at the "
              "chip's TDP unless training.cost.power is given"});
    }
  }
  // A link so slow that a 1 GiB collective over it would take more than a year is a slip
  // (an efficiency of 1e-300, a bandwidth in the wrong unit): an error at its key, not a
  // step of 1e300 s found later and blamed on the whole scenario.
  constexpr double kYear = 365.25 * 86400;
  constexpr double kMinLinkBandwidth = static_cast<double>(1 << 30) / kYear;  // ~34 B/s
  constexpr double kMinPlausibleEfficiency = 0.01;
  for (const auto& [level, link] :
       {std::pair<std::string, const network::Level*>{"scale_up", &c.scale_up},
        {"scale_out", &c.scale_out}}) {
    const double bandwidth = link->bandwidth.value(), efficiency = link->efficiency;
    if (bandwidth <= 0 || efficiency <= 0 || bandwidth * efficiency >= kMinLinkBandwidth) continue;
    const bool by_efficiency = efficiency < kMinPlausibleEfficiency;
    const std::string key = level + (by_efficiency ? ".efficiency" : ".bandwidth");
    const Location l = where_of(key);
    d.Add(Error(
        l.file, l.line, Join(prefix, key),
        (by_efficiency ? Short(efficiency) + " of the " + core::FormatBandwidth(bandwidth) + " link"
                       : core::FormatBandwidth(bandwidth) + " at efficiency " + Short(efficiency)) +
            " is out of range: it leaves " + Short(bandwidth * efficiency) + " B/s" +
            ", and a 1 GiB collective would take more than a year",
        by_efficiency ? "an efficiency is the fraction of the link's bandwidth a "
                        "collective reaches (measured: 0.5 to 0.95)"
                      : "give the bandwidth per chip with its unit, e.g. \"450GB/s\" "
                        "or \"400Gbps\""));
  }
  if (c.in_network_reduction && c.in_network_efficiency <= 0) {
    const Location l = where_of("scale_up.in_network_reduction");
    d.Add(Error(
        l.file, l.line, Join(prefix, "scale_up.in_network_efficiency"),
        "in_network_reduction is on but in_network_efficiency is not given",
        "give the measured all-reduce busbw / link bandwidth, e.g. 1.07 for NVLS on H100/H200"));
  }
  if (c.scale_out_in_network_reduction && c.scale_out_in_network_efficiency <= 0) {
    const Location l = where_of("scale_out.in_network_reduction");
    d.Add(Error(l.file, l.line, Join(prefix, "scale_out.in_network_efficiency"),
                "in_network_reduction is on but in_network_efficiency is not given",
                "give the measured all-reduce busbw / NIC bandwidth with SHARP"));
  }
  // The topology: Finalize names keys "cluster.<path>"; place them under this prefix and at
  // the line of the longest given key path ("scale_out.tiers[1].radix", else the tier).
  core::Diagnostics topology = network::Finalize(c);
  for (core::Diagnostic& x : topology.items()) {
    const std::string rel = x.key.rfind("cluster.", 0) == 0 ? x.key.substr(8) : x.key;
    x.key = Join(prefix, rel);
    const Location l = LongestGiven(loader.where, x.key, cluster_at);
    x.file = l.file;
    x.line = l.line;
  }
  if (topology.HasErrors()) BlameOverrides(loader, node, file, prefix, line, topology);
  d.Append(topology);
  if (!topology.HasErrors() && loader.overrides != nullptr) {
    // A taper the user set where no traffic crosses it: the tier whose one switch group holds
    // the whole cluster, or one above it. (The list's top tier: Finalize says so whatever
    // the size.)
    const std::vector<network::HierarchyLevel>& levels = c.hierarchy.levels;
    const size_t listed = c.fabric_kind == network::FabricKind::kDragonfly
                              ? c.tiers.size()
                              : (c.tiers.empty() ? 0 : c.tiers.size() - 1);
    for (size_t k = 0; k < listed; ++k) {
      const std::string key =
          Join(prefix, "scale_out.tiers[" + std::to_string(k) + "].oversubscription");
      // Tier k's level is levels[k + 1]: its taper is felt where a level stands above it.
      if (c.tiers[k].oversubscription == 1 || k + 2 < levels.size() ||
          !loader.overrides->Touches(key)) {
        continue;
      }
      std::string why;
      if (levels.size() < 2) {
        why = "they are one scale-up domain, and no traffic reaches the scale-out tiers";
      } else if (k + 2 == levels.size()) {
        why = "one switch group of this tier holds them all, so no traffic crosses its up ports";
      } else {
        why = "one switch group of tiers[" + std::to_string(levels.size() - 2) + "] (" +
              levels.back().name + ") holds them all, below this tier";
      }
      const Location l = LongestGiven(loader.where, key, cluster_at);
      d.Add(core::Diagnostic{core::Severity::kWarning, l.file, l.line, key,
                             Short(c.tiers[k].oversubscription) + " has no effect on " +
                                 core::WithThousands(c.chips) + " chips: " + why,
                             "a taper matters where traffic leaves a block: set it on a lower "
                             "tier, or grow the cluster"});
    }
  }
  if (d.HasErrors()) return d;
  return core::Result<network::ClusterSpec>(std::move(c), std::move(d));
}

core::Result<parallel::ParallelPlan> LoadPlanNode(Loader& loader, const YAML::Node& node,
                                                  const std::string& file,
                                                  const std::string& prefix, int line,
                                                  int64_t chips) {
  parallel::ParallelPlan p;
  ApplyDefaults(PlanFields(), p);
  p.dp = 0;
  if (!loader.LoadNode(Section::kPlan, node, file, PlanFields(), p, prefix, 0) ||
      loader.diags.HasErrors()) {
    return loader.diags;
  }
  loader.ApplyOverrides(prefix, PlanFields(), p);
  if (loader.diags.HasErrors()) return loader.diags;
  core::Diagnostics d;
  CheckRequired(PlanFields(), loader.where, prefix, loader.FileOf(prefix, file),
                loader.section_file.count(prefix) ? 0 : line, d);
  if (p.dp == 0) {
    const int64_t model_parallel = int64_t{p.tp} * p.pp * p.cp;
    if (chips % model_parallel != 0) {
      // dp: auto given (a file or --set), or not given at all. The fault is the first of
      // tp, pp and cp whose product with those before it does not divide the chips: it is
      // blamed where it was given (a sweep's axis value, not its --set plan.dp=auto).
      const auto given = loader.where.find(Join(prefix, "dp"));
      const bool is_auto = given != loader.where.end();
      std::string key = Join(prefix, "dp");
      std::string at_file = is_auto ? given->second.file : file;
      int at_line = is_auto ? given->second.line : line;
      int64_t product = 1;
      for (const auto& [name, degree] : {std::pair{"tp", p.tp}, {"pp", p.pp}, {"cp", p.cp}}) {
        product *= degree;
        if (chips % product == 0) continue;
        const auto set = loader.where.find(Join(prefix, name));
        if (set != loader.where.end()) {
          key = Join(prefix, name);
          at_file = set->second.file;
          at_line = set->second.line;
        }
        break;
      }
      d.Add(Error(at_file, at_line, key,
                  fmt::format("the cluster's {} chips are not a multiple of tp x pp x cp = {} "
                              "({} x {} x {}), so dp ({}) cannot be derived",
                              core::WithThousands(chips), core::WithThousands(model_parallel), p.tp,
                              p.pp, p.cp, is_auto ? "auto" : "not given"),
                  "make tp x pp x cp divide the chips, or resize the cluster"));
    } else {
      p.dp = static_cast<int>(chips / model_parallel);
    }
  }
  if (!HasKey(loader.where, Join(prefix, "schedule")) && p.vp > 1) {
    p.schedule = parallel::Schedule::kInterleaved;
  }
  if (d.HasErrors()) return d;
  return p;
}

}  // namespace

core::Result<hardware::ChipSpec> LoadChip(const Catalog& catalog, const std::string& ref) {
  Loader loader(catalog);
  return LoadChipNode(loader, YAML::Node(ref), "", "", 0);
}

core::Result<network::ClusterSpec> LoadCluster(const Catalog& catalog, const std::string& ref) {
  Loader loader(catalog);
  return LoadClusterNode(loader, YAML::Node(ref), "", "", 0);
}

core::Result<network::ClusterSpec> LoadCluster(const Catalog& catalog, const std::string& ref,
                                               const std::vector<Override>& overrides) {
  if (overrides.empty()) return LoadCluster(catalog, ref);
  Loader loader(catalog);
  OverrideSet set(overrides);
  loader.overrides = &set;
  core::Result<network::ClusterSpec> r = LoadClusterNode(loader, YAML::Node(ref), "", "cluster", 0);
  if (!r.ok()) return r;
  core::Diagnostics d = r.diagnostics();
  set.ReportUnused(d);
  if (d.HasErrors()) return d;
  return core::Result<network::ClusterSpec>(r.value(), std::move(d));
}

core::Result<model::ModelSpec> LoadModel(const Catalog& catalog, const std::string& ref) {
  Loader loader(catalog);
  return LoadModelNode(loader, YAML::Node(ref), "", "", 0);
}

namespace {

// Advice on where the plan's groups land, a warning at plan.tp (or plan.order, when the
// order string strides tp out of the domain): a tensor-parallel group
// that leaves the scale-up domain runs its collectives, several per layer and on the
// critical path, over the scale-out network (Megatron-LM keeps tp within a node). The
// plan may be meant so: a warning, not an error. Checked here, where the plan meets the
// cluster (parallel::ValidatePlan sees the chip count alone).
void AdvisePlacement(const estimate::Scenario& s, const SourceMap& where, core::Diagnostics& d) {
  const parallel::ParallelPlan& p = s.plan;
  const network::ClusterSpec& c = s.cluster;
  // A plan that does not fill the cluster is an error, as is an order that is no permutation
  // (the groups it would place are not the plan's).
  if (p.tp <= 1 || p.Chips() != c.chips || !parallel::OrderIsPermutation(p.order)) return;
  const int64_t stride = parallel::AxisStride(p, "tp");
  const network::GroupPlacement tp = network::PlaceGroup(c, p.tp, stride);
  core::Diagnostics advice;
  if (tp.InsideDomain()) {
    // Rank 0's group fits, but a domain that is not a multiple of the groups splits some.
    const network::GroupPlacement worst = network::PlaceGroup(c, p.tp, stride, true);
    if (worst.InsideDomain()) return;
    advice.Warning(
        "plan.tp",
        "some tensor-parallel groups (tp " + std::to_string(p.tp) + ") straddle two scale-up " +
            "domains of " + std::to_string(c.domain) + " chips, " +
            std::to_string(worst.members_per_domain) + " of their members in one: their " +
            "collectives cross the scale-out network, and the step waits for them",
        "choose tp dividing " + std::to_string(c.domain) + " so that every group fits in a domain");
    Locate(advice, where);
    d.Append(advice);
    return;
  }
  // The bus bandwidth of the group's rings (before the size ramp) against that of a group
  // of the same size inside one domain (or of the whole domain, where tp is larger): what
  // the hierarchical collectives get over all the members' NICs, not one chip's NIC.
  const double across = collective::AnalyzeGroup(c, tp, {}, collective::kRingTraffic).ring_rate;
  const int inside_size = static_cast<int>(std::min<int64_t>(p.tp, c.domain));
  const network::GroupPlacement one = network::PlaceGroup(c, inside_size, 1);
  const double inside =
      one.InsideDomain() && inside_size > 1
          ? collective::AnalyzeGroup(c, one, {}, collective::kRingTraffic).ring_rate
          : 0;
  std::string rates = core::FormatBandwidth(c.scale_out.bandwidth.value()) +
                      " of scale-out per chip, against " +
                      core::FormatBandwidth(c.scale_up.bandwidth.value()) + " inside a domain";
  if (across > 0 && inside > 0) {
    rates = "its rings reach " + core::FormatBandwidth(across) + " of bus bandwidth, against " +
            core::FormatBandwidth(inside) + " for " + std::to_string(inside_size) +
            " chips inside a domain; " + rates;
  }
  advice.Warning(
      p.tp > c.domain ? "plan.tp" : "plan.order",
      "the tensor-parallel group (tp " + std::to_string(p.tp) + ") spans " +
          std::to_string(tp.domains) + " scale-up domains of " + std::to_string(c.domain) +
          " chips: its collectives, several per layer, cross the scale-out network (" + rates + ")",
      p.tp > c.domain
          ? "keep tp within a domain (at most " + std::to_string(c.domain) +
                " here) and give the rest to pp, cp or dp, as Megatron-LM's recipes keep tp "
                "within a node"
          : "tp's members are " + std::to_string(stride) + " ranks apart under plan.order \"" +
                p.order + "\": put tp first so that its group fills part of one domain");
  Locate(advice, where);
  d.Append(advice);
}

core::Result<LoadedScenario> Assemble(Loader& loader, const ScenarioDraft& draft,
                                      const std::string& file, const SourceMap& at) {
  auto loc = [&](const std::string& key) {
    auto it = at.find(key);
    return it == at.end() ? Location{file, 0} : it->second;
  };
  core::Diagnostics all;  // each section's diagnostics, warnings too
  const Location ml = loc("model");
  core::Result<model::ModelSpec> model =
      LoadModelNode(loader, draft.model, ml.file, "model", ml.line);
  all.Append(model.diagnostics());
  loader.diags = {};
  const Location cl = loc("cluster");
  core::Result<network::ClusterSpec> cluster =
      LoadClusterNode(loader, draft.cluster, cl.file, "cluster", cl.line);
  all.Append(cluster.diagnostics());
  loader.diags = {};
  const Location pl = loc("plan");
  core::Result<parallel::ParallelPlan> plan = LoadPlanNode(
      loader, draft.plan, pl.file, "plan", pl.line, cluster.ok() ? cluster.value().chips : 0);
  all.Append(plan.diagnostics());
  if (all.HasErrors()) {
    InFileOrder(all);
    return all;
  }
  LoadedScenario s;
  s.scenario.name = draft.name;
  s.scenario.description = draft.description;
  s.scenario.model = std::move(model).value();
  s.scenario.cluster = std::move(cluster).value();
  s.scenario.plan = std::move(plan).value();
  s.where = loader.where;
  s.energy_warnings = std::move(loader.energy);
  AdvisePlacement(s.scenario, s.where, all);
  return {std::move(s), std::move(all)};
}

}  // namespace

core::Result<LoadedScenario> LoadScenario(const Catalog& catalog, const std::string& file,
                                          const std::vector<Override>& overrides) {
  ScenarioDraft draft;
  OverrideSet set(overrides);
  core::Result<LoadedScenario> r = LoadScenarioKeepingDraft(catalog, file, draft, &set);
  if (!r.ok()) return r;
  core::Diagnostics d = r.diagnostics();
  set.ReportUnused(d);
  set.ReportSectionsNotRead(d, {"training", "reliability"});
  if (d.HasErrors()) return d;
  return r;
}

core::Result<LoadedScenario> LoadScenarioKeepingDraft(const Catalog& catalog,
                                                      const std::string& file, ScenarioDraft& draft,
                                                      OverrideSet* overrides) {
  core::Result<Document> doc = ParseYamlFile(file, &catalog);
  if (!doc.ok()) return doc.diagnostics();
  Loader loader(catalog);
  loader.overrides = overrides;
  const YAML::Node& root = doc.value().root;
  if (root["measured"] && root["scenario"]) {
    loader.diags.Add(Error(file, 0, "", "this is a validation case, not a scenario",
                           "run `fathom validate --cases " + file + "`"));
    return loader.diags;
  }
  if (const std::string other = OtherKindOf(Section::kScenario, doc.value()); !other.empty()) {
    loader.diags.Add(
        Error(file, 0, "", "is " + other + ", not a scenario file",
              WhereItGoes(other) + " (a scenario gives the model, the cluster and the plan)"));
    return loader.diags;
  }
  ParseContext ctx{file, "", &loader.diags, &loader.where};
  ApplyMapping(root, ScenarioFields(), draft, ctx, {});
  loader.ApplyOverrides("", ScenarioFields(), draft);
  CheckRequired(ScenarioFields(), loader.where, "", file, 0, loader.diags);
  // A scenario without a plan is most often a model and a cluster waiting for one: the hint
  // says how to find it (a scenario's plan is also the plan search's base, so -s cannot).
  for (core::Diagnostic& x : loader.diags.items()) {
    if (x.key != "plan" || x.message != "missing required key") continue;
    auto ref = [](const YAML::Node& n, const char* placeholder) {
      return n.IsDefined() && n.IsScalar() ? n.Scalar() : std::string(placeholder);
    };
    if (!catalog.files_allowed()) {  // no files to emit a plan to, nor to name one
      x.hint +=
          "; to find the best plan, give the batch alone (`plan: {global_batch_size: "
          "SEQUENCES}`) and search the plans, or size the run on a count of chips";
      continue;
    }
    const std::string parts =
        "-m " + ref(draft.model, "MODEL") + " -c " + ref(draft.cluster, "CLUSTER");
    x.hint +=
        "; find the best plan with `fathom plan " + parts +
        " --global-batch SEQUENCES --emit-plan plan.yaml` and add `plan: plan.yaml`, or train "
        "on a count of chips with the best plan: `fathom size " +
        parts + " --global-batch SEQUENCES --chips N`";
  }
  // Unnamed, the scenario takes its file's name; read from standard input (-s -) or a pipe
  // (-s <(...), /dev/fd/63), "stdin" (a descriptor's number would name it by chance).
  if (draft.name.empty()) {
    const bool piped = file == "-" || file.starts_with("/dev/fd/") ||
                       file.starts_with("/proc/self/fd/") || file == "/dev/stdin";
    draft.name = piped ? "stdin" : fs::path(file).stem().string();
  }
  if (loader.diags.HasErrors()) {
    // An error of the file's own keys (an unknown one, a bad name) leaves its sections to
    // read: their errors are said with it, every error of the file at once.
    bool sections = draft.model.IsDefined() && draft.cluster.IsDefined() && draft.plan.IsDefined();
    for (const core::Diagnostic& x : loader.diags.items()) {
      if (x.key == "model" || x.key == "cluster" || x.key == "plan") sections = false;
    }
    if (!sections) return loader.diags;
    core::Diagnostics top = std::move(loader.diags);
    const SourceMap at = loader.where;
    loader.diags = {};
    core::Result<LoadedScenario> rest = Assemble(loader, draft, file, at);
    top.Append(rest.diagnostics());
    InFileOrder(top);
    return top;
  }
  const SourceMap at = loader.where;
  loader.diags = {};
  return Assemble(loader, draft, file, at);
}

core::Result<LoadedScenario> LoadScenarioNode(const Catalog& catalog, const YAML::Node& node,
                                              const std::string& file) {
  // A scenario file's path: from the case's directory, else as given (the working directory).
  if (node.IsScalar()) {
    std::error_code ec;
    const fs::path beside = fs::path(file).parent_path() / node.Scalar();
    const fs::path path = fs::path(node.Scalar()).is_relative() && fs::exists(beside, ec)
                              ? beside
                              : fs::path(node.Scalar());
    if (!fs::is_regular_file(path, ec)) {
      core::Diagnostics d;
      d.Add(Error(file, NodeLine(node), "scenario",
                  "no scenario file \"" + node.Scalar() + "\" (from the case's directory, " +
                      fs::path(file).parent_path().string() + ", or the working directory)",
                  "give a scenario file's path, or the scenario inline (model, cluster, plan)"));
      return d;
    }
    return LoadScenario(catalog, path.string());
  }
  Loader loader(catalog);
  ScenarioDraft draft;
  ParseContext ctx{file, "scenario", &loader.diags, &loader.where};
  ApplyMapping(node, ScenarioFields(), draft, ctx, {});
  CheckRequired(ScenarioFields(), loader.where, "scenario", file, NodeLine(node), loader.diags);
  if (loader.diags.HasErrors()) return loader.diags;
  SourceMap at;
  for (const auto& [k, v] : loader.where) at[k.substr(std::string("scenario.").size())] = v;
  loader.where.clear();
  loader.diags = {};
  return Assemble(loader, draft, file, at);
}

core::Result<ValidationCase> LoadValidationCase(const std::string& file) {
  core::Result<Document> doc = ParseYamlFile(file);
  if (!doc.ok()) return doc.diagnostics();
  core::Diagnostics diags;
  SourceMap where;
  ValidationCase c;
  ApplyDefaults(ValidationCaseFields(), c);
  ParseContext ctx{file, "", &diags, &where};
  ApplyMapping(doc.value().root, ValidationCaseFields(), c, ctx, {});
  CheckRequired(ValidationCaseFields(), where, "", file, 0, diags);
  // A measurement without its source is no validation: the empty text is not one.
  if (const auto at = where.find("source"); at != where.end()) {
    std::string text = c.source;
    text.erase(0, text.find_first_not_of(" \t"));
    if (text.empty()) {
      diags.Add({core::Severity::kError, file, at->second.line, "source",
                 "is empty: a case names where its measurement comes from",
                 "give the paper and its table, or the run's log (source: \"Korthikanti et al., "
                 "MLSys'23, Table 5\")"});
    }
  }
  const bool step = where.count("scenario") > 0;
  const bool coll = where.count("collective.cluster") > 0;
  const bool kernels = where.count("kernels.measurements") > 0 || where.count("kernels.chip") > 0;
  // A key given with a bad value is not also missing (step_time: 1.1 said both).
  auto blamed = [&](std::string_view key) {
    return std::any_of(diags.items().begin(), diags.items().end(), [&](const auto& x) {
      return x.severity == core::Severity::kError && x.key.starts_with(key);
    });
  };
  if (kernels) {
    if (step || coll) {
      diags.Add({core::Severity::kError, file, 0, step ? "scenario" : "collective",
                 "a kernel case (kernels:) has no scenario or collective",
                 "split it into a kernel case and a step or collective case"});
    }
    for (const char* key : {"kernels.measurements", "kernels.chip"}) {
      if (where.count(key) == 0) {
        diags.Add({core::Severity::kError, file, 0, key,
                   "missing required key: a kernel case needs kernels.measurements (a file of "
                   "tools/calibrate/measure.py) and kernels.chip",
                   "see tests/validation/README.md"});
      }
    }
  } else if (step == coll) {
    diags.Add({core::Severity::kError, file, 0, step ? "collective" : "scenario",
               step ? "a case has either a scenario or a collective, not both"
                    : "missing required key: a case needs a scenario (a training step), a "
                      "collective (an nccl-tests measurement) or kernels (measured kernels)",
               "see tests/validation/README.md"});
  } else if (step && where.count("measured.step_time") == 0 &&
             where.count("measured.layer_forward") == 0 &&
             where.count("measured.layer_backward") == 0 && !blamed("measured.")) {
    diags.Add({core::Severity::kError, file, 0, "measured.step_time",
               "missing required key: a training-step case needs the measured step time",
               "or, for a layer case, measured.layer_forward and measured.layer_backward"});
  } else if (step && where.count("measured.step_time") > 0 &&
             (where.count("measured.layer_forward") > 0 ||
              where.count("measured.layer_backward") > 0)) {
    diags.Add({core::Severity::kError, file, 0, "measured.step_time",
               "a case measures a training step or a layer's passes, not both",
               "split it into a step case and a layer case"});
  } else if (coll && !blamed("measured.busbw") && !blamed("collective.size") &&
             (where.count("measured.busbw") == 0 || where.count("collective.size") == 0)) {
    diags.Add({core::Severity::kError, file, 0,
               where.count("measured.busbw") == 0 ? "measured.busbw" : "collective.size",
               "missing required key: a collective case needs measured.busbw and collective.size",
               ""});
  }
  if (diags.HasErrors()) return diags;
  return c;
}

core::Result<LoadedScenario> LoadPartsOverridden(const Catalog& catalog, const std::string& model,
                                                 const std::string& cluster,
                                                 const std::string& plan, int64_t global_batch_size,
                                                 OverrideSet* overrides, ScenarioDraft* draft_out) {
  Loader loader(catalog);
  loader.overrides = overrides;
  ScenarioDraft draft;
  draft.model = YAML::Node(model);
  draft.cluster = YAML::Node(cluster);
  if (!plan.empty()) {
    draft.name = fs::path(plan).stem().string();
    draft.plan = YAML::Node(plan);
  } else {
    draft.name = "plan";
    draft.plan = YAML::Node(YAML::NodeType::Map);
    draft.plan["global_batch_size"] = global_batch_size;
  }
  loader.ApplyOverrides("", ScenarioFields(), draft);
  if (loader.diags.HasErrors()) return loader.diags;
  // The sections a whole-section --set gave (training, reliability, search), for the caller.
  if (draft_out != nullptr) *draft_out = draft;
  const SourceMap at = loader.where;
  return Assemble(loader, draft, "", at);
}

core::Result<LoadedScenario> LoadParts(const Catalog& catalog, const std::string& model,
                                       const std::string& cluster, const std::string& plan,
                                       const std::vector<Override>& overrides) {
  OverrideSet set(overrides);
  core::Result<LoadedScenario> r = LoadPartsOverridden(catalog, model, cluster, plan, 0, &set);
  if (!r.ok()) return r;
  core::Diagnostics d = r.diagnostics();
  set.ReportUnused(d);
  if (d.HasErrors()) return d;
  return r;
}

core::Result<LoadedScenario> LoadPartsWithDefaultPlan(const Catalog& catalog,
                                                      const std::string& model,
                                                      const std::string& cluster,
                                                      int64_t global_batch_size) {
  return LoadPartsOverridden(catalog, model, cluster, "", global_batch_size, nullptr);
}

// --- Overrides (--set KEY=VALUE) ---

namespace {

constexpr Section kKeySections[] = {
    Section::kChip,          Section::kCluster,  Section::kModel,       Section::kPlan,
    Section::kScenario,      Section::kTraining, Section::kReliability, Section::kFailureClass,
    Section::kTier,          Section::kSearch,   Section::kSweep,       Section::kSweepAxis,
    Section::kValidationCase};

// The section a kRef or kMappingList key refers to, by its name ("chip", "failure class").
bool SectionOf(const std::string& name, Section& out) {
  for (Section s : kKeySections) {
    if (SectionName(s) == name) {
      out = s;
      return true;
    }
  }
  return false;
}

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

bool ResolveKeyPath(const std::string& given, KeyTarget& out, std::string& error,
                    std::string& hint) {
  std::string key = given;
  if (StartsWith(key, "scenario.")) key = key.substr(9);
  if (key == "chip" || StartsWith(key, "chip.")) key = "cluster." + key;
  if (StartsWith(key, "tier.") || StartsWith(key, "failure_class.")) {
    const bool tier = key[0] == 't';
    const std::string rest = key.substr(key.find('.') + 1);
    error = std::string("a ") + (tier ? "tier" : "failure class") + " is an item of a list";
    hint = "name the item by its index, e.g. " +
           std::string(tier ? "cluster.scale_out.tiers" : "reliability.failures") + "[0]." + rest;
    return false;
  }
  Section section = Section::kScenario;
  std::string prefix;
  std::string rest = key;
  out = KeyTarget{};
  while (true) {
    const std::vector<KeyInfo>& keys = Keys(section);
    const KeyInfo* best = nullptr;
    for (const KeyInfo& k : keys) {
      const bool whole = rest == k.path;
      const bool below = rest.size() > k.path.size() && StartsWith(rest, k.path) &&
                         (rest[k.path.size()] == '.' || rest[k.path.size()] == '[');
      if ((whole || below) && (best == nullptr || k.path.size() > best->path.size())) best = &k;
    }
    if (best == nullptr) {
      // A group of keys ("plan.overlap"), or an unknown name: suggest the closest path.
      std::vector<std::string> paths;
      bool group = false;
      for (const KeyInfo& k : keys) {
        paths.push_back(Join(prefix, k.path));
        group |= StartsWith(k.path, rest + ".");
      }
      if (group) {
        std::string example;
        for (const KeyInfo& k : keys) {
          if (StartsWith(k.path, rest + ".")) {
            example = Join(prefix, k.path);
            break;
          }
        }
        error = "is a group of keys, not one key";
        hint = "set its keys one at a time, e.g. " + example;
        return false;
      }
      // The bad name is the first component after the longest group of keys the path
      // names: in "memory.capcity" it is "capcity" (memory.* are keys), not "memory".
      std::string group_rel;
      for (size_t dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.', dot + 1)) {
        const std::string head = rest.substr(0, dot);
        if (head.find('[') != std::string::npos) break;
        const bool is_group = std::any_of(keys.begin(), keys.end(), [&](const KeyInfo& k) {
          return StartsWith(k.path, head + ".");
        });
        if (!is_group) break;
        group_rel = head;
      }
      const std::string tail = group_rel.empty() ? rest : rest.substr(group_rel.size() + 1);
      const std::string name = tail.substr(0, tail.find_first_of(".["));
      const std::string where_in = group_rel.empty() ? prefix : Join(prefix, group_rel);
      error =
          "unknown key \"" + name + "\"" + (where_in.empty() ? std::string() : " in " + where_in);
      std::vector<std::string_view> views(paths.begin(), paths.end());
      std::string guess = core::DidYouMean(Join(prefix, rest), views);
      if (guess.empty()) {
        // The names at the bad one's level alone ("plan.tpp.x" is still about plan.tp,
        // "chip.memory.capcity.x" about chip.memory.capacity).
        std::vector<std::string> siblings;
        for (const KeyInfo& k : keys) {
          if (!group_rel.empty() && !StartsWith(k.path, group_rel + ".")) continue;
          const std::string below =
              group_rel.empty() ? k.path : k.path.substr(group_rel.size() + 1);
          siblings.push_back(below.substr(0, below.find('.')));
        }
        std::vector<std::string_view> names(siblings.begin(), siblings.end());
        const std::string near = core::DidYouMean(name, names);
        if (!near.empty()) guess = Join(where_in, near);
      }
      if (!guess.empty()) {
        hint = "did you mean \"" + guess + "\"?";
      } else if (prefix.empty()) {
        hint =
            "a key path starts with model, cluster, plan, training, reliability or search; "
            "`fathom explain` lists the keys";
      } else {
        hint = "`fathom explain " + std::string(SectionName(section)) + "` lists its keys";
      }
      return false;
    }
    const std::string full = Join(prefix, best->path);
    if (rest == best->path) {
      out.prefix = prefix;
      out.rel = best->path;
      out.info = best;
      return true;
    }
    const char next = rest[best->path.size()];
    std::string after = rest.substr(best->path.size() + 1);
    Section inner = section;
    if (best->type == ValueType::kRef && next == '.' && SectionOf(best->ref, inner)) {
      section = inner;
      prefix = full;
      rest = after;
      continue;
    }
    if (best->type == ValueType::kMappingList && next == '[' && SectionOf(best->ref, inner)) {
      const size_t close = after.find(']');
      int64_t item = -1;
      const std::string digits = after.substr(0, close);
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), item);
      if (close == std::string::npos || digits.empty() || ec != std::errc() ||
          end != digits.data() + digits.size() || item < 0 || item > 1000000) {
        error = "\"" + full + "[" + digits + (close == std::string::npos ? "" : "]") +
                "\" does not name an item of the list";
        hint = "give a whole index from 0, e.g. " + full + "[0].KEY";
        return false;
      }
      if (close + 1 >= after.size() || after[close + 1] != '.' || close + 2 >= after.size()) {
        error = "\"" + full + "[" + digits + "]\" is a whole item";
        hint = "set its keys one at a time, e.g. " + full + "[" + digits + "].name";
        return false;
      }
      section = inner;
      prefix = full + "[" + digits + "]";
      out.list = full;
      out.item = item;
      rest = after.substr(close + 2);
      continue;
    }
    if (best->type == ValueType::kMappingList) {
      error = "\"" + full + "\" is a list";
      hint = "name an item by its index, e.g. " + full + "[0]." + after;
      return false;
    }
    error = "\"" + full + "\" is one key (" + TypeDescription(*best) + "), not a section";
    hint = "set it as " + full + "=VALUE";
    return false;
  }
}

namespace {

// A copy of `node` without source marks: a value from the command line has no line, so
// diagnostics about it name its origin alone ("--set: model.layers: ...").
// A value nests at most this deep: an alias of the node it is in (`&a [*a]`) is a cycle,
// which the copy would follow until the stack ran out.
constexpr int kMaxValueDepth = 64;

// And holds at most this many nodes: aliases of aliases ("billion laughs") multiply them.
constexpr int64_t kMaxValueNodes = 100000;

YAML::Node Unmarked(const YAML::Node& node, int depth, int64_t& nodes) {
  if (depth > kMaxValueDepth) {
    throw YAML::Exception(YAML::Mark::null_mark(), "nested deeper than " +
                                                       std::to_string(kMaxValueDepth) +
                                                       " levels (an alias of the node it is in?)");
  }
  if (++nodes > kMaxValueNodes) {
    throw YAML::Exception(YAML::Mark::null_mark(), "more than " + std::to_string(kMaxValueNodes) +
                                                       " values once its aliases are expanded");
  }
  if (node.IsScalar()) return YAML::Node(node.Scalar());
  if (node.IsSequence()) {
    YAML::Node out(YAML::NodeType::Sequence);
    for (const YAML::Node& item : node) out.push_back(Unmarked(item, depth + 1, nodes));
    return out;
  }
  if (node.IsMap()) {
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : node) {
      out[Unmarked(kv.first, depth + 1, nodes)] = Unmarked(kv.second, depth + 1, nodes);
    }
    return out;
  }
  return YAML::Node(node.Type());
}

// The value as a YAML node; false with `error` for text YAML cannot read.
bool ParseValue(const std::string& text, YAML::Node& node, std::string& error) {
  try {
    int64_t nodes = 0;
    node = Unmarked(YAML::Load(text), 0, nodes);
  } catch (const YAML::Exception& e) {
    error = "cannot read \"" + text + "\" as a YAML value: " + e.msg;
    return false;
  }
  return true;
}

}  // namespace

core::Result<Override> CheckOverride(Override o) {
  core::Diagnostics d;
  KeyTarget target;
  std::string error, hint;
  const std::string key = o.key;
  if (key.empty()) {
    d.Add(Error(o.origin, 0, "", "the key is missing in \"=" + o.value + "\"",
                "give KEY=VALUE, e.g. " + o.origin + " plan.tp=4"));
    return d;
  }
  if (!ResolveKeyPath(key, target, error, hint)) {
    // `base:` is where a section starts (its catalog entry or file, loaded before its
    // keys), not one of its keys, as `preset:` is for reliability below.
    const size_t dot = key.rfind('.');
    KeyTarget section;
    std::string e2, h2;
    if (dot != std::string::npos && key.compare(dot, std::string::npos, ".base") == 0 &&
        ResolveKeyPath(key.substr(0, dot), section, e2, h2) &&
        section.info->type == ValueType::kRef) {
      const std::string s = section.Path();
      const std::string& ref = section.info->ref;
      const std::string example = ref == "cluster" ? "chips"
                                  : ref == "model" ? "seq_len"
                                  : ref == "chip"  ? "memory.capacity"
                                  : ref == "plan"  ? "tp"
                                                   : "KEY";
      d.Add(Error(o.origin, 0, key,
                  "base is where a section starts, not one of its keys: the section's own keys "
                  "are applied over it",
                  "give the whole section, " + o.origin + " " + s +
                      "=NAME (a catalog name or a file), and then the keys of the scenario's to "
                      "keep, e.g. " +
                      o.origin + " " + s + "." + example + "=..."));
      return d;
    }
    d.Add(Error(o.origin, 0, key, error, hint));
    return d;
  }
  o.key = target.Path();
  if (o.key == "reliability.preset") {
    d.Add(Error(o.origin, 0, o.key, "a preset is where the section starts, not one of its keys",
                "give the whole section: " + o.origin +
                    " reliability=PRESET (or fathom run "
                    "--reliability PRESET)"));
    return d;
  }
  if (target.prefix == "sweep" || (target.prefix.empty() && target.rel == "sweep") ||
      StartsWith(target.prefix, "sweep.")) {
    d.Add(Error(o.origin, 0, o.key, "the sweep section is not overridden",
                "give the axes with --axis KEY=V1,V2 and the engine with --engine"));
    return d;
  }
  YAML::Node node;
  if (!ParseValue(o.value, node, error)) {
    d.Add(Error(o.origin, 0, o.key, error, "write the value as in a YAML file"));
    return d;
  }
  if (!node.IsDefined() || node.IsNull()) {
    d.Add(Error(o.origin, 0, o.key, "has no value; expected " + TypeDescription(*target.info),
                "e.g. " + o.origin + " " + o.key + "=VALUE"));
    return d;
  }
  Value v;
  if (!ConvertValue(*target.info, node, v, error, hint)) {
    d.Add(Error(o.origin, 0, o.key, error, hint));
    return d;
  }
  switch (target.info->type) {
    case ValueType::kInt:
      o.meaning = v.is_auto ? "auto" : std::to_string(v.i);
      break;
    case ValueType::kNumber:
    case ValueType::kQuantity:
      o.meaning = v.is_auto ? "auto" : fmt::format("{:.17g}", v.d);
      break;
    case ValueType::kBool:
      o.meaning = v.b ? "true" : "false";
      break;
    case ValueType::kString:
    case ValueType::kEnum:
      o.meaning = v.is_auto ? "auto" : v.s;
      break;
    case ValueType::kRef: {
      // A name however quoted, and a section of nothing but its base, are the name; another
      // section is its YAML in one canonical (flow) form.
      const YAML::Node& read = node;  // const: operator[] would insert a missing key
      // (a missing key of a const node is invalid: IsScalar() on it would throw)
      const bool base_only =
          read.IsMap() && read.size() == 1 && read["base"].IsDefined() && read["base"].IsScalar();
      if (read.IsScalar() || base_only) {
        o.meaning = "name " + (base_only ? read["base"].Scalar() : read.Scalar());
      } else {
        YAML::Emitter e;
        e.SetMapFormat(YAML::Flow);
        e.SetSeqFormat(YAML::Flow);
        e << node;
        o.meaning = e.c_str();
      }
      break;
    }
    default:
      break;
  }
  return o;
}

core::Diagnostics CheckReference(const Catalog& catalog, const Override& o,
                                 const std::string& from_file) {
  core::Diagnostics d;
  KeyTarget target;
  std::string error, hint;
  if (!ResolveKeyPath(o.key, target, error, hint) || target.info->type != ValueType::kRef) {
    return d;
  }
  YAML::Node node;
  if (!ParseValue(o.value, node, error)) return d;
  const std::string& kind = target.info->ref;
  const Section s = kind == "model"     ? Section::kModel
                    : kind == "cluster" ? Section::kCluster
                    : kind == "chip"    ? Section::kChip
                                        : Section::kPlan;
  if (kind != "model" && kind != "cluster" && kind != "chip" && kind != "plan") return d;
  if (node.IsMap()) {
    // An inline section's own keys and values, as its point would read them: an unknown key
    // or a bad value is the same at every point, an error before any runs (it was a failed
    // row, the sweep exiting 0). Its base's keys, and the checks of the whole section, are
    // the point's.
    SourceMap where;
    ParseContext ctx{o.origin, target.Path(), &d, &where, /*lines=*/false};
    if (s == Section::kModel) {
      model::ModelSpec m;
      ApplyMapping(node, ModelFields(), m, ctx, {"base"});
    } else if (s == Section::kCluster) {
      ClusterDraft c;
      ApplyMapping(node, ClusterFields(), c, ctx, {"base"});
    } else if (s == Section::kChip) {
      hardware::ChipSpec c;
      ApplyMapping(node, ChipFields(), c, ctx, {"base"});
    } else {
      parallel::ParallelPlan p;
      ApplyMapping(node, PlanFields(), p, ctx, {"base"});
    }
    return d;
  }
  if (!node.IsScalar()) return d;
  const std::string ref = node.Scalar();
  if (catalog.files_allowed()) {
    if (!from_file.empty() && NamesFileToRead((fs::path(from_file).parent_path() / ref).string())) {
      return d;
    }
    if (NamesFileToRead(ref)) return d;
  }
  if (!SectionDir(s).empty() && !catalog.Find(s, ref).empty()) return d;
  std::vector<std::string> names = catalog.NamesAndAliases(s);
  std::vector<std::string_view> views(names.begin(), names.end());
  const std::string guess = core::DidYouMean(ref, views);
  const bool files = catalog.files_allowed();
  d.Add(Error(o.origin, 0, target.Path(),
              SectionDir(s).empty() ? "no " + kind + " file \"" + ref + "\"" +
                                          (files ? "" : ": files are not read here")
                                    : "no " + kind + " named \"" + ref + "\" in the catalog" +
                                          (files ? " and no such file" : ""),
              !guess.empty() ? "did you mean \"" + guess + "\"?"
              : SectionDir(s).empty()
                  ? std::string(files ? "give a path to a YAML file, or the section inline"
                                      : "give the section inline")
                  : "`fathom catalog " + SectionDir(s) + "` lists the names"));
  return d;
}

core::Result<std::vector<Override>> ParseOverrides(const std::vector<std::string>& texts,
                                                   const std::string& origin) {
  core::Diagnostics d;
  std::vector<Override> out;
  for (const std::string& text : texts) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos) {
      d.Add(Error(origin, 0, "", "\"" + text + "\" is not KEY=VALUE",
                  "e.g. " + origin + " plan.tp=4"));
      continue;
    }
    std::string key = text.substr(0, eq);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    while (!key.empty() && key.front() == ' ') key.erase(0, 1);
    core::Result<Override> o = CheckOverride({key, text.substr(eq + 1), origin});
    if (!o.ok()) {
      d.Append(o.diagnostics());
      continue;
    }
    const bool twice = std::any_of(out.begin(), out.end(),
                                   [&](const Override& x) { return x.key == o.value().key; });
    if (twice) {
      d.Add(Error(origin, 0, o.value().key, "is given twice", "give each key once"));
      continue;
    }
    out.push_back(std::move(o).value());
  }
  if (d.HasErrors()) return d;
  return out;
}

OverrideSet::OverrideSet(const std::vector<Override>& overrides) {
  for (const Override& o : overrides) {
    Entry e;
    e.given = o;
    std::string error, hint;
    if (!ResolveKeyPath(o.key, e.target, error, hint)) e.target.info = nullptr;
    if (!ParseValue(o.value, e.value, error)) e.value = YAML::Node();
    entries_.push_back(std::move(e));
  }
}

std::vector<Override> OverrideSet::Touching(const std::string& prefix) const {
  std::vector<Override> out;
  for (const Entry& e : entries_) {
    const std::string path = e.target.Path();
    if (path.size() > prefix.size() && StartsWith(path, prefix) &&
        (path[prefix.size()] == '.' || path[prefix.size()] == '[')) {
      out.push_back(e.given);
    }
  }
  return out;
}

bool OverrideSet::Touches(const std::string& prefix) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    const std::string path = e.target.Path();
    return path == prefix ||
           (StartsWith(path, prefix) && (path[prefix.size()] == '.' || path[prefix.size()] == '['));
  });
}

YAML::Node OverrideSet::Mapping(const Entry& e) {
  // A flat key with dots ("scale_up.bandwidth") is walked as the nested path it names.
  YAML::Node map(YAML::NodeType::Map);
  map[e.target.rel] = e.value;
  return map;
}

void OverrideSet::NoteSetting(const Entry& e, SourceMap& where) {
  const auto it = where.find(e.target.Path());
  if (it == where.end() || it->second.file != e.given.origin) return;  // not set (an error)
  const std::string typed = e.given.key + "=" + e.given.value;
  // A flag's value, or a value of a sweep section's axis (its origin is the axis' line).
  it->second.setting = e.given.origin.starts_with("-") ? e.given.origin + " " + typed
                                                       : "the sweep axis value " + typed;
}

void OverrideSet::ItemMissing(const Entry& e, size_t items, core::Diagnostics& d) {
  d.Add(Error(
      e.given.origin, 0, e.given.key,
      "there is no item [" + std::to_string(e.target.item) + "]: " + e.target.list +
          (items == 0 ? " is empty or not given"
                      : " has " + std::to_string(items) + " (from [0] to [" +
                            std::to_string(items - 1) + "])"),
      "give an index of the list, or replace the whole list with " + e.target.list + "=[...]"));
}

void OverrideSet::ReportSectionsNotRead(core::Diagnostics& d,
                                        const std::vector<std::string>& sections) const {
  for (const Entry& e : entries_) {
    if (e.target.info == nullptr) continue;
    const std::string path = e.target.Path();
    if (std::find(sections.begin(), sections.end(), path) == sections.end()) continue;
    d.Add(Error(e.given.origin, 0, e.given.key,
                "has no effect: this command does not read the " + path + " section",
                "`fathom run` and `fathom size` read it"));
  }
}

void OverrideSet::ReportUnused(core::Diagnostics& d) const {
  for (const Entry& e : entries_) {
    if (e.used) continue;
    if (e.target.info == nullptr) {
      d.Add(
          Error(e.given.origin, 0, e.given.key, "unknown key", "`fathom explain` lists the keys"));
      continue;
    }
    const std::string path = e.target.Path();
    const std::string section = path.substr(0, path.find_first_of(".["));
    std::string reader;
    if (section == "training" || section == "reliability") {
      reader = "`fathom run` and `fathom size` read it";
    }
    if (section == "search") reader = "`fathom plan` and `fathom size` read it";
    d.Add(Error(e.given.origin, 0, e.given.key,
                "has no effect: this command does not read the " + section + " section", reader));
  }
}

}  // namespace fathom::io
