// Internal to io: the key tables with their setters.
#pragma once

#include <string>
#include <vector>

#include "io/plan_search.h"
#include "io/run.h"
#include "io/schema.h"

namespace fathom::io {

// A cluster before its chip is resolved; zero fields take the chip's values.
struct ClusterDraft {
  network::ClusterSpec spec;
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
};

// A reliability section as read: the failures list is walked after the presets merge.
struct ReliabilityDraft {
  ReliabilityConfig config;
  std::string preset;
  YAML::Node failures;
};

struct ValidationCase {
  std::string name;
  std::string source;
  double measured_step_time_s = 0;  // a training-step case
  double measured_busbw = 0;        // a collective case: nccl-tests bus bandwidth, bytes/s
  bool calibration = false;         // the measurement also set a constant of the model
  std::string how;
  double tolerance = 0.25;  // fraction
  std::vector<std::string> assumptions;
  YAML::Node scenario;
  YAML::Node collective;       // cluster, op, size, group, span, algorithm
  bool is_collective = false;  // collective.cluster was given
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

// A scenario file, keeping its `training:` and `reliability:` nodes in `draft`.
core::Result<LoadedScenario> LoadScenarioKeepingDraft(const Catalog& catalog,
                                                      const std::string& file,
                                                      ScenarioDraft& draft);

// A scenario given as a mapping inside another file (a validation case).
core::Result<LoadedScenario> LoadScenarioNode(const Catalog& catalog, const YAML::Node& node,
                                              const std::string& file);
// A YAML/JSON file whose top level is a mapping (diagnostics for anything else).
core::Result<YAML::Node> LoadYamlMapping(const std::string& path);

// A validation case file.
core::Result<ValidationCase> LoadValidationCase(const std::string& file);

}  // namespace fathom::io
