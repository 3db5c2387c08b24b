// Writers: the step report as a readable table or as versioned JSON ("fathom.step/2"),
// diagnostics as JSON, catalog listings, `fathom explain` and the generated config reference.
// Output is a pure function of the input: same input, same bytes.
#pragma once

#include <string>
#include <vector>

#include "estimate/estimate.h"
#include "hardware/chip_spec.h"
#include "io/config.h"
#include "network/cluster_spec.h"

namespace fathom::io {

std::string StepReportText(const estimate::StepReport& r);
// The operator table slowest first, ties by name then phase: every writer's order.
std::vector<const estimate::OpSummary*> SlowestFirst(const std::vector<estimate::OpSummary>& ops);
// "fathom.step/2"; `diagnostics`, the warnings and notes of loading and estimating the step
// (null: "diagnostics" is null), as fathom.errors/1's objects.
std::string StepReportJson(const estimate::StepReport& r, const core::Diagnostics* diagnostics);

// `fathom compare`: steps side by side, each against the first.
struct ComparedStep {
  std::string label;                 // the scenario's name, or "NAME + KEY=VALUE; ..."
  std::vector<std::string> changes;  // the overrides that made it, as given
  estimate::StepReport report;
  // The --set overrides the step takes, as given: all of them, but those a variant's --vs
  // of the same key replaces.
  std::vector<std::string> set = {};
};
// The headline figures and the breakdown terms some step has, a column per step with its
// change against the first.
std::string CompareText(const std::vector<ComparedStep>& steps);
// "fathom.compare/2": per step its label, changes, ratios against the first (null for the
// first) and the whole fathom.step/2 report.
std::string CompareJson(const std::vector<ComparedStep>& steps,
                        const core::Diagnostics* diagnostics = nullptr);

// The cluster's topology: domain kind, fabric, and per hierarchy level the switch radix, the
// block, the blocks, the oversubscription above it, the uplink per chip and the latency.
std::string ClusterTopologyText(const network::ClusterSpec& c);

// "fathom.errors/1": the diagnostics of an input that did not load, for a reader that asked
// for JSON (fathom serve's ?format=json). One object per diagnostic, in the order the text
// gives them: severity ("error", "warning" or "note"), file, line, key, message, hint; null
// where the diagnostic has none (no file, line unknown, no key path, no hint).
std::string DiagnosticsJson(const core::Diagnostics& d);

// `fathom catalog chips|clusters|models`: a table, or "fathom.catalog/1" JSON (its section
// and one object per entry, with name); a cluster's entry carries its topology (scale_up
// kind, scale_out tiers, derived hierarchy).
core::Result<std::string> CatalogListing(const Catalog& catalog, Section s, bool json);
// One entry, a catalog name or a file, as fathom.catalog/1 with that entry alone (a
// cluster's resolved topology and hierarchy for scripts), and the diagnostics of loading it.
core::Result<std::string> CatalogEntryJson(const Catalog& catalog, Section s,
                                           const std::string& entry);

// A model as a model file (YAML, every key the model section takes, docs/formats.md): what
// Fathom reads from a catalog entry, a file with `base:`, or a Hugging Face config.json, to
// check or to edit (`fathom catalog models NAME_OR_FILE`). Loading it gives the same model.
std::string ModelFileYaml(const model::ModelSpec& m);

// A chip as a chip file (YAML, every key the chip section takes, each quantity with its unit,
// each section with its source where the chip has one): what Fathom reads from a catalog
// entry or a file with `base:` (`fathom catalog chips NAME_OR_FILE`). Loading it gives the
// same chip.
std::string ChipFileYaml(const hardware::ChipSpec& c);

// Where a cluster's chip comes from: the catalog's entry of its name as it is, that entry
// changed (chip: {base: h100, memory: ...}), or a chip of its own.
enum class ClusterChip { kCatalog, kChanged, kOwn };

// A cluster as Fathom resolved it (`fathom catalog clusters NAME_OR_FILE`): its chips and
// nodes, its chip by name with its peak and memory (and, for the catalog's, the command that
// shows it), each level's fabric, bandwidth, latency and efficiency, its node power, then its
// topology (ClusterTopologyText).
std::string ClusterText(const network::ClusterSpec& c, ClusterChip chip = ClusterChip::kCatalog);

// Documentation of one key ("plan.tp", "cluster.scale_up.bandwidth") or of all keys.
core::Result<std::string> Explain(const std::string& key);

// docs/config-reference.md, generated from the key declarations.
std::string ConfigReferenceMarkdown();

}  // namespace fathom::io
