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

// `fathom catalog chips|clusters|models`: a table, or a JSON array of objects with name.
core::Result<std::string> CatalogListing(const Catalog& catalog, Section s, bool json);

// Documentation of one key ("plan.tp", "cluster.scale_up.bandwidth") or of all keys.
core::Result<std::string> Explain(const std::string& key);

// docs/config-reference.md, generated from the key declarations.
std::string ConfigReferenceMarkdown();

}  // namespace fathom::io
