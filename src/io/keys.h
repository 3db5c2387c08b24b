// Internal to io: the key tables with their setters.
#pragma once

#include <string>
#include <vector>

#include "io/schema.h"

namespace fathom::io {

// A cluster before its chip is resolved; zero fields take the chip's values.
struct ClusterDraft {
  network::ClusterSpec spec;
  YAML::Node chip;
};

struct ScenarioDraft {
  std::string name;
  std::string description;
  YAML::Node model;
  YAML::Node cluster;
  YAML::Node plan;
};

struct ValidationCase {
  std::string name;
  std::string source;
  double measured_step_time_s = 0;
  std::string how;
  double tolerance = 0.25;  // fraction
  std::vector<std::string> assumptions;
  YAML::Node scenario;
};

const std::vector<Field<hardware::ChipSpec>>& ChipFields();
const std::vector<Field<ClusterDraft>>& ClusterFields();
const std::vector<Field<model::ModelSpec>>& ModelFields();
const std::vector<Field<parallel::ParallelPlan>>& PlanFields();
const std::vector<Field<ScenarioDraft>>& ScenarioFields();
const std::vector<Field<ValidationCase>>& ValidationCaseFields();

// A scenario given as a mapping inside another file (a validation case).
core::Result<LoadedScenario> LoadScenarioNode(const Catalog& catalog, const YAML::Node& node,
                                              const std::string& file);
// A validation case file.
core::Result<ValidationCase> LoadValidationCase(const std::string& file);

}  // namespace fathom::io
