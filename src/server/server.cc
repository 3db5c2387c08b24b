#include "server/server.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <httplib.h>

#include "core/text.h"
#include "io/config.h"
#include "io/facade.h"
#include "io/html_report.h"
#include "io/plan_search.h"
#include "io/report.h"
#include "io/run.h"
#include "io/sweep.h"

namespace fathom::server {

namespace fs = std::filesystem;

namespace {

// The web UI's own markup and script; the report styles come from io::HtmlStyle().
constexpr std::string_view kAppStyle = R"css(
main { max-width: 1320px; }
.app { display: grid; grid-template-columns: minmax(320px, 430px) 1fr; gap: 24px; }
@media (max-width: 900px) { .app { grid-template-columns: 1fr; } }
.panel { position: sticky; top: 12px; align-self: start; }
#result { min-width: 0; }
textarea { width: 100%; height: 460px; font: 12.5px/1.4 ui-monospace, Menlo, Consolas, monospace;
           border: 1px solid var(--line); border-radius: 6px; padding: 8px; resize: vertical; }
input, select, button { font: inherit; padding: 5px 10px; border-radius: 6px; border: 1px solid var(--line);
                 background: #fff; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
pre.error { white-space: pre-wrap; color: var(--bad); background: #fdf0ef; padding: 10px;
            border-radius: 6px; }
pre.warning { white-space: pre-wrap; color: #8a5a00; background: #fff7e6; padding: 10px;
              border-radius: 6px; }
#status { color: var(--muted); }
)css";

constexpr std::string_view kAppBody = R"html(
<h1>Fathom</h1>
<p class="sub">A digital twin of an AI training cluster. Give a scenario (model, cluster, plan;
YAML with units, as <code>fathom step -s</code> reads it), then predict a step, search the plans
or project the whole run.</p>
<div class="app">
<div class="panel">
  <div class="row">
    <label for="example">example</label>
    <select id="example"><option value="">(choose one)</option></select>
  </div>
  <textarea id="scenario" spellcheck="false" placeholder="name: my-run
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 8}
plan:
  tp: 1
  dp: 8
  global_batch_size: 128"></textarea>
  <div class="row">
    <button id="step">Step</button>
    <select id="engine" title="engine">
      <option value="auto">simulate</option><option value="estimate">estimate</option>
    </select>
    <button id="plan">Plans</button>
    <button id="run">Run</button>
    <span id="status"></span>
  </div>
  <div class="row">
    <button id="sweep">Sweep</button>
    <input id="axes" size="34" placeholder="plan.tp=2,4,8; plan.zero=1,3 (or the sweep section)"
           title="axes: KEY=V1,V2,... separated by ;">
  </div>
  <div class="row">
    <button id="size">Size</button>
    <input id="tokens" size="6" value="15T" title="tokens to train">
    tokens in <input id="days" size="4" value="30" title="deadline, days"> days
    <select id="reliability" title="failures, restarts and checkpoints">
      <option value="">ideal</option><option value="llama3-table5">llama3-table5</option>
      <option value="rsc1">rsc1</option><option value="rsc2">rsc2</option>
    </select>
  </div>
  <p class="hint">Ctrl+Enter predicts the step. Run trains the scenario's <code>training</code>
  section, else the tokens of the Size row. Give catalog names or sections inline: the server reads no
  files. <code>fathom explain</code> documents every key.</p>
</div>
<div id="result"><p class="muted">The report appears here.</p></div>
</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const buttons = ["step", "plan", "run", "size", "sweep"].map($);
async function load() {
  const r = await fetch("/api/examples");
  if (!r.ok) return;
  for (const name of await r.json()) {
    const o = document.createElement("option");
    o.value = o.textContent = name;
    $("example").appendChild(o);
  }
  // A link can name an example and what to do with it: #example=NAME&do=step|plan|run.
  const hash = new URLSearchParams(location.hash.slice(1));
  const saved = localStorage.getItem("fathom.scenario");
  if (hash.get("example")) {
    $("example").value = hash.get("example");
    await loadExample(hash.get("example"));
  } else if (saved) {
    $("scenario").value = saved;
  }
  if (["step", "plan", "run", "size", "sweep"].includes(hash.get("do"))) await evaluate(hash.get("do"));
}
async function loadExample(name) {
  const r = await fetch("/api/examples/" + encodeURIComponent(name));
  if (r.ok) $("scenario").value = await r.text();
}
$("example").addEventListener("change", async (e) => {
  if (e.target.value) await loadExample(e.target.value);
});
async function evaluate(what) {
  const text = $("scenario").value;
  localStorage.setItem("fathom.scenario", text);
  let url = "/api/" + what + "?format=html";
  if (what === "step") url += "&engine=" + $("engine").value;
  if (what === "sweep") {
    for (const axis of $("axes").value.split(";").map((a) => a.trim()).filter((a) => a)) {
      url += "&axis=" + encodeURIComponent(axis);
    }
  }
  // A run trains the scenario's training section, else the tokens given beside Size.
  if (what === "run" && !/^training:/m.test(text)) {
    url += "&tokens=" + encodeURIComponent($("tokens").value);
  }
  if (what === "size") {
    url += "&tokens=" + encodeURIComponent($("tokens").value) + "&days=" +
        encodeURIComponent($("days").value);
    if ($("reliability").value) url += "&reliability=" + $("reliability").value;
  }
  buttons.forEach((b) => (b.disabled = true));
  $("status").textContent = "working...";
  const start = performance.now();
  try {
    const r = await fetch(url, { method: "POST", body: text, headers: { "Content-Type": "application/yaml" } });
    const body = await r.text();
    if (r.ok) {
      $("result").innerHTML = body;
    } else {
      const pre = document.createElement("pre");
      pre.className = "error";
      pre.textContent = body;
      $("result").replaceChildren(pre);
    }
    $("status").textContent = (r.ok ? "" : "error, ") + Math.round(performance.now() - start) + " ms";
  } catch (err) {
    $("status").textContent = "the server did not answer: " + err;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}
$("step").addEventListener("click", () => evaluate("step"));
$("plan").addEventListener("click", () => evaluate("plan"));
$("run").addEventListener("click", () => evaluate("run"));
$("size").addEventListener("click", () => evaluate("size"));
$("sweep").addEventListener("click", () => evaluate("sweep"));
$("scenario").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); evaluate("step"); }
});
load();
</script>
)html";

std::string JsonString(std::string_view raw) {
  // JSON is UTF-8: a file name that is not (a Latin-1 example) shows U+FFFD.
  const std::string s = core::ValidUtf8(raw);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<int>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonArray(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + JsonString(names[i]);
  return out + "]";
}

// "localhost:8470" -> "localhost", "[::1]:8470" -> "[::1]".
std::string HostName(const std::string& host) {
  if (!host.empty() && host.front() == '[') return host.substr(0, host.find(']') + 1);
  return host.substr(0, host.find(':'));
}

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]";
}

// "%3D" -> "=", "+" -> " "; a malformed escape stays as it is.
std::string DecodeQueryText(std::string_view s) {
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Every value of a repeated query parameter, in order, read from the raw query: a value is
// everything after the first '=' of its pair, so "axis=plan.tp=1,2" is "plan.tp=1,2"
// (httplib keeps only what follows the last '='), as is the encoded "axis=plan.tp%3D1%2C2".
std::vector<std::string> Params(const httplib::Request& req, std::string_view name) {
  std::vector<std::string> values;
  const size_t query = req.target.find('?');
  if (query == std::string::npos) return values;
  std::string_view rest = std::string_view(req.target).substr(query + 1);
  rest = rest.substr(0, rest.find('#'));
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (DecodeQueryText(pair.substr(0, eq)) != name) continue;
    values.push_back(eq == std::string_view::npos ? std::string()
                                                  : DecodeQueryText(pair.substr(eq + 1)));
  }
  return values;
}

// What a request answers: a body and its type, or the diagnostics of a bad input.
struct Answer {
  int status = 200;
  std::string body;
  std::string type = "text/html; charset=utf-8";
  std::string warnings = {};  // a JSON answer's, for the X-Fathom-Warnings header
};

// A JSON answer with the warnings the CLI would print to stderr.
Answer Json(std::string body, const core::Diagnostics& warnings) {
  return {200, std::move(body), "application/json", warnings.Format()};
}

Answer BadInput(const core::Diagnostics& d) {
  return {400, d.Format(), "text/plain; charset=utf-8"};
}

// Warnings go above an HTML report, as the CLI prints them to stderr.
std::string WithWarnings(const core::Diagnostics& d, std::string body) {
  const std::string text = d.Format();
  if (text.empty()) return body;
  return "<pre class=\"warning\">" + io::HtmlEscape(text) + "</pre>\n" + body;
}

}  // namespace

struct Server::Impl {
  io::Catalog catalog;  // the CLI's, with files off unless --allow-files
  ServeOptions options;
  httplib::Server http;
  std::mutex evaluate;  // requests are evaluated one at a time
  std::mutex admission;
  int admitted = 0;                   // evaluating or waiting to
  static constexpr int kThreads = 2;  // a search's, a sweep's and a Monte Carlo's

  // An evaluation may queue when fewer than max_waiting wait beside the running one.
  bool Admit() {
    const std::lock_guard<std::mutex> lock(admission);
    if (admitted > options.max_waiting) return false;
    ++admitted;
    return true;
  }
  struct Admitted {
    Impl& impl;
    explicit Admitted(Impl& i) : impl(i) {}
    ~Admitted() {
      const std::lock_guard<std::mutex> lock(impl.admission);
      --impl.admitted;
    }
    Admitted(const Admitted&) = delete;
    Admitted& operator=(const Admitted&) = delete;
  };

  Impl(const io::Catalog& c, ServeOptions o) : catalog(c), options(std::move(o)) {
    catalog.set_files_allowed(options.allow_files);
    if (options.examples.empty()) {
      options.examples = (fs::path(catalog.dir()) / ".." / "examples").lexically_normal().string();
    }
  }
  std::vector<std::string> Examples() const {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(options.examples, ec)) {
      if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // The posted scenario as a file the loaders read as they read any scenario, in a private
  // directory of its own that lives as long as the request; its name in every diagnostic is
  // "scenario.yaml" (the directory is taken out).
  struct Posted {
    fs::path dir;
    std::string file;
    ~Posted() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  };

  static bool Post(const std::string& text, Posted& posted, std::string& error) {
    std::error_code ec;
    const fs::path tmp = fs::temp_directory_path(ec);
    std::string pattern = (tmp / "fathom-serve-XXXXXX").string();
    if (ec || mkdtemp(pattern.data()) == nullptr) {
      error = "cannot create a scratch directory under " + tmp.string() +
              " (TMPDIR names where): " + std::strerror(errno);
      return false;
    }
    posted.dir = pattern;
    posted.file = (posted.dir / "scenario.yaml").string();
    std::ofstream f(posted.file, std::ios::binary);
    f << text;
    if (!f) {
      error = "cannot write the posted scenario under " + posted.dir.string();
      return false;
    }
    return true;
  }

  std::string Clean(std::string text, const Posted& posted) const {
    const std::string prefix = (posted.dir / "").string();
    for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at)) {
      text.erase(at, prefix.size());
    }
    return text;
  }

  // The scratch directory taken out of the body and of the warnings' header.
  Answer Cleaned(Answer a, const Posted& posted) const {
    a.body = Clean(std::move(a.body), posted);
    a.warnings = Clean(std::move(a.warnings), posted);
    return a;
  }

  Answer Step(const std::string& file, const std::string& engine, bool json) {
    io::StepRequest q;
    q.scenario = file;
    q.engine = engine;
    q.keep_simulation = !json;  // the HTML report's timeline
    core::Result<io::StepOutcome> r = io::Step(catalog, q);
    if (!r.ok()) return BadInput(r.diagnostics());
    const io::StepOutcome& step = r.value();
    if (json) return Json(io::StepReportJson(step.report), r.diagnostics());
    const sim::SimResult* simulation = step.simulation ? &*step.simulation : nullptr;
    return {200, WithWarnings(r.diagnostics(), io::StepReportHtmlBody(step.report, simulation))};
  }

  Answer Plan(const std::string& file, bool json) {
    io::PlanRequest q;
    q.scenario = file;
    plan::SearchOptions search;
    search.threads = kThreads;
    core::Result<plan::SearchResult> r = io::Plan(catalog, q, search);
    if (!r.ok()) return BadInput(r.diagnostics());
    if (json) return Json(io::SearchJson(r.value()), r.diagnostics());
    return {200, WithWarnings(r.diagnostics(), io::SearchReportHtmlBody(r.value()))};
  }

  Answer Size(const std::string& file, bool json, const std::string& tokens,
              const std::string& days, const std::string& reliability) {
    io::SizingRequest q;
    q.search.scenario = file;
    q.tokens = tokens;
    q.days = days;
    q.reliability = reliability;
    plan::SearchOptions search;
    search.threads = kThreads;
    core::Result<std::vector<plan::SizeResult>> r = io::Size(catalog, q, search);
    if (!r.ok()) return BadInput(r.diagnostics());
    if (json) return Json(io::SizeJson(r.value()), r.diagnostics());
    return {200, WithWarnings(r.diagnostics(), io::SizeReportHtmlBody(r.value()))};
  }

  // A sweep of at most kMaxWebSweepPoints points: the axes of --axis (each KEY=V1,V2,...),
  // else the scenario's sweep section.
  static constexpr int64_t kMaxWebSweepPoints = 256;
  Answer Sweep(const std::string& file, bool json, std::vector<std::string> axes) {
    io::SweepRequest q;
    q.scenario = file;
    q.files_allowed = catalog.files_allowed();
    q.axes = std::move(axes);
    core::Result<io::SweepResult> r = io::SweepAll(catalog, q, kThreads, kMaxWebSweepPoints);
    if (!r.ok()) return BadInput(r.diagnostics());
    if (json) return {200, io::SweepJson(r.value()), "application/json"};
    return {200, io::SweepReportHtmlBody(r.value())};
  }

  Answer Run(const std::string& file, bool json, bool monte_carlo, const std::string& tokens) {
    io::RunRequest q;
    q.scenario = file;
    q.tokens = tokens;
    io::RunOptions run;
    run.monte_carlo = monte_carlo;
    run.threads = kThreads;
    core::Result<io::RunResult> r = io::Run(catalog, q, run);
    if (!r.ok()) return BadInput(r.diagnostics());
    if (json) return Json(io::RunReportJson(r.value()), r.diagnostics());
    return {200, WithWarnings(r.diagnostics(), io::RunReportHtmlBody(r.value()))};
  }

  void Routes() {
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      const std::string page = io::HtmlPage("Fathom", std::string(kAppBody));
      // The app's styles follow the report's.
      std::string html = page;
      const size_t at = html.find("</style>");
      if (at != std::string::npos) html.insert(at, kAppStyle);
      res.set_content(html, "text/html; charset=utf-8");
    });
    http.Get("/api/examples", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(JsonArray(Examples()), "application/json");
    });
    http.Get(R"(/api/examples/([A-Za-z0-9._-]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               const std::string name = req.matches[1];
               const std::vector<std::string> names = Examples();
               if (std::find(names.begin(), names.end(), name) == names.end()) {
                 res.status = 404;
                 res.set_content("no example named \"" + name + "\"\n", "text/plain");
                 return;
               }
               core::Result<std::string> text =
                   io::ReadFile((fs::path(options.examples) / (name + ".yaml")).string());
               if (!text.ok()) {
                 res.status = 500;
                 res.set_content(text.diagnostics().Format(), "text/plain");
                 return;
               }
               res.set_content(text.value(), "application/yaml; charset=utf-8");
             });
    http.Get("/api/catalog", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(fmt::format(R"({{"chips":{},"clusters":{},"models":{}}})",
                                  JsonArray(catalog.Names(io::Section::kChip)),
                                  JsonArray(catalog.Names(io::Section::kCluster)),
                                  JsonArray(catalog.Names(io::Section::kModel))),
                      "application/json");
    });
    auto evaluate_route = [this](std::string_view what) {
      return [this, what](const httplib::Request& req, httplib::Response& res) {
        auto param = [&](const char* name, const char* otherwise) {
          return req.has_param(name) ? req.get_param_value(name) : std::string(otherwise);
        };
        const std::string format = param("format", "html");
        const std::string engine = param("engine", "auto");
        const std::string mc = param("monte_carlo", "1");
        // The query parameters each endpoint reads; any other is a mistake, not a no-op.
        std::vector<std::string_view> known = {"format"};
        if (what == "step") known.push_back("engine");
        if (what == "sweep") known.push_back("axis");
        if (what == "run" || what == "size") known.push_back("tokens");
        if (what == "run") known.push_back("monte_carlo");
        if (what == "size") known.insert(known.end(), {"days", "reliability"});
        std::string unknown;
        for (const auto& [name, value] : req.params) {
          if (std::find(known.begin(), known.end(), name) == known.end()) unknown = name;
        }
        Answer a;
        if (!unknown.empty()) {
          std::string names;
          for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
          a = {400,
               fmt::format("{}: unknown query parameter for /api/{}; it takes {}\n", unknown, what,
                           names),
               "text/plain"};
        } else if (format != "html" && format != "json") {
          a = {400, "format: expected html or json, got \"" + format + "\"\n", "text/plain"};
        } else if (what == "step" && engine != "auto" && engine != "simulate" &&
                   engine != "estimate") {
          a = {400, "engine: expected auto, simulate or estimate, got \"" + engine + "\"\n",
               "text/plain"};
        } else if (mc != "0" && mc != "1") {
          a = {400, "monte_carlo: expected 0 or 1, got \"" + mc + "\"\n", "text/plain"};
        } else if (!Admit()) {
          a = {503,
               fmt::format("busy: {} evaluations are running or waiting; retry shortly\n",
                           options.max_waiting + 1),
               "text/plain"};
          res.set_header("Retry-After", "2");
        } else {
          const Admitted leave(*this);
          const std::lock_guard<std::mutex> lock(evaluate);
          Posted posted;
          std::string error;
          if (!Post(req.body, posted, error)) {
            a = {500, error + "\n", "text/plain"};
          } else {
            const bool json = format == "json";
            a = Cleaned(what == "step"    ? Step(posted.file, engine, json)
                        : what == "plan"  ? Plan(posted.file, json)
                        : what == "sweep" ? Sweep(posted.file, json, Params(req, "axis"))
                        : what == "size"  ? Size(posted.file, json, param("tokens", ""),
                                                 param("days", ""), param("reliability", ""))
                                          : Run(posted.file, json, mc == "1", param("tokens", "")),
                        posted);
          }
        }
        res.status = a.status;
        if (!a.warnings.empty()) {
          // One header line: the warnings joined by " | ".
          std::string joined = a.warnings;
          while (!joined.empty() && joined.back() == '\n') joined.pop_back();
          for (size_t at = joined.find('\n'); at != std::string::npos; at = joined.find('\n', at)) {
            joined.replace(at, 1, " | ");
          }
          res.set_header("X-Fathom-Warnings", joined);
        }
        res.set_content(a.body, a.type);
      };
    };
    http.Post("/api/step", evaluate_route("step"));
    http.Post("/api/plan", evaluate_route("plan"));
    http.Post("/api/run", evaluate_route("run"));
    http.Post("/api/size", evaluate_route("size"));
    http.Post("/api/sweep", evaluate_route("sweep"));
    http.set_payload_max_length(4 << 20);
    // A slow or stalled upload holds a worker until its read times out (5 s): enough workers
    // that a handful of them do not hold up the page, the catalog and the other requests
    // (evaluations take turns on `evaluate` anyway).
    http.new_task_queue = [] { return new httplib::ThreadPool(32); };
    http.set_read_timeout(5, 0);
    // Bound to the loopback interface, the server answers only requests addressed to it by a
    // loopback name: a page elsewhere cannot reach it through a DNS name that resolves to
    // 127.0.0.1 (DNS rebinding).
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!IsLoopback(options.host) || IsLoopback(HostName(req.get_header_value("Host")))) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      res.status = 403;
      res.set_content("fathom serve answers requests to localhost, 127.0.0.1 or [::1] only\n",
                      "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    });
    // Say why a request failed where httplib leaves the body empty.
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      // A known page asked with the wrong method: 405, with the method it takes.
      const bool api_post = req.path == "/api/step" || req.path == "/api/plan" ||
                            req.path == "/api/run" || req.path == "/api/size" ||
                            req.path == "/api/sweep";
      const bool get = req.path == "/" || req.path == "/api/examples" ||
                       req.path == "/api/catalog" || req.path.rfind("/api/examples/", 0) == 0;
      if ((res.status == 404 || res.status == 400) && (api_post || get) &&
          req.method != (api_post ? "POST" : "GET")) {
        const char* allow = api_post ? "POST" : "GET";
        res.status = 405;
        res.set_header("Allow", allow);
        res.set_content(fmt::format("{} takes {} only, not {}\n", req.path, allow, req.method),
                        "text/plain");
        return;
      }
      if (res.status == 413) {
        res.set_content(
            "the body is too large: at most 4 MiB, and a form-encoded body (curl's default "
            "Content-Type) at most 8 KiB; send the scenario with -H 'Content-Type: "
            "application/yaml'\n",
            "text/plain");
      } else if (res.status == 404) {
        res.set_content(
            "no such page; the API is /api/step, /api/plan, /api/sweep, /api/size, "
            "/api/run, /api/examples and /api/catalog\n",
            "text/plain");
      } else {
        res.set_content(
            fmt::format("the request failed (HTTP {}): {} {}\n", res.status, req.method, req.path),
            "text/plain");
      }
    });
    // Address reuse (a restart need not wait out TIME_WAIT), but not port sharing: a second
    // server on a busy port is an error, not a silent half of the traffic.
    http.set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
  }
};

Server::Server(const io::Catalog& catalog, ServeOptions options)
    : impl_(std::make_unique<Impl>(catalog, std::move(options))) {
  impl_->Routes();
}

Server::~Server() = default;

core::Result<int> Server::Bind() {
  const ServeOptions& o = impl_->options;
  const int port = o.port == 0 ? impl_->http.bind_to_any_port(o.host)
                               : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) {
    core::Diagnostics d;
    d.Error("--port", fmt::format("cannot listen on {}:{}", o.host, o.port),
            "is another server using the port? give another with --port, or 0 for any free one");
    return d;
  }
  return port;
}

bool Server::Listen() { return impl_->http.listen_after_bind(); }

void Server::Stop() { impl_->http.stop(); }

}  // namespace fathom::server
