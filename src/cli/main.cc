// fathom: the command-line front end. A thin client of the library: it parses arguments,
// calls io and estimate, prints, and turns results into exit codes (0 success, 2 the
// user's error, 1 a check that failed).
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "estimate/estimate.h"
#include "io/config.h"
#include "io/report.h"
#include "io/validation.h"

namespace {

using fathom::core::Diagnostics;

constexpr int kUserError = 2;

int PrintDiagnostics(const Diagnostics& d) {
  std::cerr << d.Format();
  return d.HasErrors() ? kUserError : 0;
}

struct StepArgs {
  std::string scenario, model, cluster, plan;
  bool json = false;
};

int RunStep(const fathom::io::Catalog& catalog, const StepArgs& a) {
  fathom::core::Result<fathom::io::LoadedScenario> loaded =
      !a.scenario.empty() ? fathom::io::LoadScenario(catalog, a.scenario)
                          : fathom::io::LoadParts(catalog, a.model, a.cluster, a.plan);
  if (!loaded.ok()) return PrintDiagnostics(loaded.diagnostics());
  fathom::core::Result<fathom::estimate::StepReport> report =
      fathom::estimate::Estimate(loaded.value().scenario);
  Diagnostics diags = report.diagnostics();
  fathom::io::Locate(diags, loaded.value().where);
  if (!report.ok()) return PrintDiagnostics(diags);
  std::cerr << diags.Format();
  std::cout << (a.json ? fathom::io::StepReportJson(report.value())
                       : fathom::io::StepReportText(report.value()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fathom: a digital twin of an AI training cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fathom 0.1.0");
  std::string data_dir;
  app.add_option("--data", data_dir,
                 "catalog directory (default: FATHOM_DATA or the shipped data/)");

  StepArgs step;
  CLI::App* step_cmd = app.add_subcommand("step", "predict one training step: time, MFU, memory");
  step_cmd->add_option("-s,--scenario", step.scenario, "scenario file (model, cluster and plan)");
  step_cmd->add_option("-m,--model", step.model,
                       "model: catalog name, YAML file or HF config.json");
  step_cmd->add_option("-c,--cluster", step.cluster, "cluster: catalog name or YAML file");
  step_cmd->add_option("-p,--plan", step.plan, "parallel plan: YAML file");
  step_cmd->add_flag("--json", step.json, "emit the fathom.step/1 JSON report");

  std::string catalog_kind;
  bool catalog_json = false;
  CLI::App* catalog_cmd =
      app.add_subcommand("catalog", "list the shipped chips, clusters or models");
  catalog_cmd->add_option("kind", catalog_kind, "chips, clusters or models")
      ->required()
      ->check(CLI::IsMember({"chips", "clusters", "models"}));
  catalog_cmd->add_flag("--json", catalog_json, "a JSON array of objects");

  std::string explain_key;
  bool explain_markdown = false;
  CLI::App* explain_cmd = app.add_subcommand("explain", "document configuration keys");
  explain_cmd->add_option("key", explain_key, "a key such as plan.tp or cluster.scale_up");
  explain_cmd->add_flag("--markdown", explain_markdown, "print docs/config-reference.md");

  std::string cases_dir, published_runs;
  bool validate_json = false;
  bool validate_strict = false;
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "compare predictions with published training runs");
  validate_cmd->add_option(
      "--cases", cases_dir,
      "a validation case file or a directory of them (default: tests/validation)");
  validate_cmd->add_option("--published-runs", published_runs,
                           "a JSON file in the published-runs schema to map and run");
  validate_cmd->add_flag("--json", validate_json, "emit JSON rows and the summary");
  validate_cmd->add_flag("--strict", validate_strict, "exit 1 if a case is outside its tolerance");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kUserError;
  }

  const fathom::io::Catalog catalog =
      data_dir.empty() ? fathom::io::Catalog::Default(argv[0]) : fathom::io::Catalog(data_dir);

  if (step_cmd->parsed()) {
    const bool parts = !step.model.empty() || !step.cluster.empty() || !step.plan.empty();
    if (step.scenario.empty() == !parts ||
        (parts && (step.model.empty() || step.cluster.empty() || step.plan.empty()))) {
      std::cerr << "error: give either -s SCENARIO or all of -m MODEL -c CLUSTER -p PLAN\n";
      return kUserError;
    }
    return RunStep(catalog, step);
  }
  if (catalog_cmd->parsed()) {
    const fathom::io::Section s = catalog_kind == "chips"      ? fathom::io::Section::kChip
                                  : catalog_kind == "clusters" ? fathom::io::Section::kCluster
                                                               : fathom::io::Section::kModel;
    fathom::core::Result<std::string> out = fathom::io::CatalogListing(catalog, s, catalog_json);
    if (!out.ok()) return PrintDiagnostics(out.diagnostics());
    std::cout << out.value();
    return 0;
  }
  if (explain_cmd->parsed()) {
    if (explain_markdown) {
      std::cout << fathom::io::ConfigReferenceMarkdown();
      return 0;
    }
    fathom::core::Result<std::string> out = fathom::io::Explain(explain_key);
    if (!out.ok()) return PrintDiagnostics(out.diagnostics());
    std::cout << out.value();
    return 0;
  }
  if (validate_cmd->parsed()) {
    fathom::core::Result<fathom::io::ValidationTable> table =
        !published_runs.empty()
            ? fathom::io::RunPublishedRuns(catalog, published_runs)
            : fathom::io::RunValidationDir(catalog, !cases_dir.empty()
                                                        ? cases_dir
                                                        : (std::filesystem::path(catalog.dir()) /
                                                           ".." / "tests" / "validation")
                                                              .lexically_normal()
                                                              .string());
    if (!table.ok()) return PrintDiagnostics(table.diagnostics());
    std::cout << (validate_json ? fathom::io::ValidationJson(table.value())
                                : fathom::io::ValidationText(table.value()));
    if (validate_strict) {
      for (const fathom::io::ValidationRow& r : table.value().rows) {
        if (!r.ok) return 1;
      }
    }
    return 0;
  }
  return 0;
}
