// Writers: the step report as a readable table or as versioned JSON ("fathom.step/1"),
// catalog listings, `fathom explain` and the generated config reference. Output is a
// pure function of the input: same input, same bytes.
#pragma once

#include <string>

#include "estimate/estimate.h"
#include "io/config.h"

namespace fathom::io {

std::string StepReportText(const estimate::StepReport& r);
std::string StepReportJson(const estimate::StepReport& r);

// The cluster's topology: domain kind, fabric, and per hierarchy level the switch radix, the
// block, the blocks, the oversubscription above it, the uplink per chip and the latency.
std::string ClusterTopologyText(const network::ClusterSpec& c);

// `fathom catalog chips|clusters|models`: a table, or a JSON array of objects with name; a
// cluster's JSON carries its topology (scale_up kind, scale_out tiers, derived hierarchy).
core::Result<std::string> CatalogListing(const Catalog& catalog, Section s, bool json);

// Documentation of one key ("plan.tp", "cluster.scale_up.bandwidth") or of all keys.
core::Result<std::string> Explain(const std::string& key);

// docs/config-reference.md, generated from the key declarations.
std::string ConfigReferenceMarkdown();

}  // namespace fathom::io
