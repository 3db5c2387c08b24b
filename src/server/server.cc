#include "server/server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

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
#include "io/trace.h"

namespace fathom::server {

namespace fs = std::filesystem;

namespace {

// The web UI's own markup and script; the report styles come from io::HtmlStyle().
constexpr std::string_view kAppStyle = R"css(
main { max-width: 1320px; }
.app { display: grid; grid-template-columns: minmax(320px, 430px) 1fr; gap: 24px; }
@media (max-width: 900px) { .app { grid-template-columns: 1fr; } .panel { position: static; } }
.panel { position: sticky; top: 12px; align-self: start; }
#result { min-width: 0; }
textarea { width: 100%; height: 460px; font: 12.5px/1.4 ui-monospace, Menlo, Consolas, monospace;
           border: 1px solid var(--line); border-radius: 6px; padding: 8px; resize: vertical; }
input, select, button { font: inherit; padding: 5px 10px; border-radius: 6px; border: 1px solid var(--line);
                 background: #fff; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
label.muted { font-size: 12px; }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
pre.error { white-space: pre-wrap; color: var(--bad); background: #fdf0ef; padding: 10px;
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
  <textarea id="scenario" aria-label="scenario (YAML)" spellcheck="false" placeholder="name: my-run
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 8}
plan:
  tp: 1
  dp: 8
  global_batch_size: 128"></textarea>
  <div class="row">
    <button id="step">Step</button>
    <button id="plan">Plans</button>
    <button id="run">Run</button>
    <label class="muted" for="engine">engine</label>
    <select id="engine" title="the engine of Step and Sweep (Plans simulates its best, Run its step)">
      <option value="auto" title="simulate within the simulator's budget, else estimate">simulate (auto)</option><option value="estimate">estimate</option>
    </select>
    <span id="status" role="status" aria-live="polite"></span>
  </div>
  <div class="row">
    <button id="get-json" class="secondary" title="the step's fathom.step/2 JSON report">step JSON</button>
    <button id="get-trace" class="secondary"
            title="the simulated step as a Chrome trace (.json.gz) for ui.perfetto.dev">Chrome trace</button>
    <input id="trace-stages" aria-label="trace stages" style="width: 72px" placeholder="stages"
           title="pipeline stages the trace keeps: all, or e.g. 0,31,63 (default: as fathom step --trace)">
    <input id="trace-micro-batches" aria-label="trace micro-batches" style="width: 112px" placeholder="micro-batches"
           title="micro-batches the trace keeps: all, or e.g. 0-7 (default: as fathom step --trace)">
  </div>
  <div class="row">
    <button id="sweep">Sweep</button>
    <input id="axes" aria-label="sweep axes" size="34" placeholder="plan.tp=2,4,8; plan.zero=1,3 (or the sweep section)"
           title="axes: KEY=V1,V2,... separated by ;">
  </div>
  <div class="row">
    <button id="size">Size</button>
    <input id="tokens" aria-label="tokens to train" style="width: 56px" value="15T" title="tokens to train (clear it for the scenario's training.tokens)">
    tokens in <input id="days" aria-label="deadline in days" style="width: 44px" value="30" title="deadline, days"> days
    on <input id="chips" aria-label="chip counts" style="width: 110px" placeholder="chips: auto"
              title="chip counts to try, e.g. 4096,8192,16384 (default: one node x 1, 2, 4, ... and the scenario's cluster)">
    <select id="reliability" aria-label="reliability" title="failures, restarts and checkpoints">
      <option value="">the scenario's (else ideal)</option><option value="llama3-table5">llama3-table5</option>
      <option value="rsc1">rsc1</option><option value="rsc2">rsc2</option>
    </select>
  </div>
  <div id="download-note"></div>
  <p class="hint">Ctrl+Enter predicts the step; the engine menu applies to Step, Sweep and
  the step JSON. Run trains the scenario's <code>training</code>
  section, else the tokens of the Size row. The trace keeps what <code>fathom step --trace</code>
  keeps: every stage and micro-batch up to 300,000 events, else a part of them (a warning says
  which). Give catalog names or sections inline: the server reads no files (unless started with
  <code>--allow-files</code>).
  <code>fathom explain</code> documents every key.</p>
</div>
<div id="result" aria-live="polite"><p class="muted">The report appears here.</p></div>
</div>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const buttons = ["step", "plan", "run", "size", "sweep", "get-json", "get-trace"].map($);
let example = "";  // the example the editor's text came from
async function load() {
  // The menu of examples; without it the saved text and the link still work.
  try {
    const r = await fetch("/api/examples");
    if (r.ok) {
      for (const name of await r.json()) {
        const o = document.createElement("option");
        o.value = o.textContent = name;
        $("example").appendChild(o);
      }
    }
  } catch (err) {
    $("status").textContent = "the examples could not be listed: " + err;
  }
  // A link can name an example and what to do with it: #example=NAME&do=step|plan|run.
  const hash = new URLSearchParams(location.hash.slice(1));
  const saved = localStorage.getItem("fathom.scenario");
  if (hash.get("example") && keepsDraft(hash.get("example"))) {
    $("scenario").value = saved;
    example = localStorage.getItem("fathom.example") || "";
    return;  // the draft stays; nothing of the link's is evaluated
  }
  if (hash.get("example")) {
    $("example").value = hash.get("example");
    if (!(await loadExample(hash.get("example")))) return;  // nothing to evaluate
  } else if (saved) {
    $("scenario").value = saved;
    example = localStorage.getItem("fathom.example") || "";
  }
  if (["step", "plan", "run", "size", "sweep"].includes(hash.get("do"))) await evaluate(hash.get("do"));
}
// Whether the user keeps the text typed into the editor (saved since the last example was
// loaded) rather than replace it with example `name`: asked only when there is such text.
function keepsDraft(name) {
  if (localStorage.getItem("fathom.edited") !== "1" || !localStorage.getItem("fathom.scenario")) return false;
  return !confirm("Replace the scenario you edited with the example " + name + "? (Cancel keeps your text.)");
}
// Loads example `name` into the editor; false, with the error shown, when it cannot.
async function loadExample(name) {
  try {
    const r = await fetch("/api/examples/" + encodeURIComponent(name));
    if (!r.ok) {
      showError(await errorText(r));
      return false;
    }
    $("scenario").value = await r.text();
    example = name;
    save();
    localStorage.setItem("fathom.edited", "0");
    return true;
  } catch (err) {
    $("status").textContent = "the server did not answer: " + err;
    return false;
  }
}
// The editor's text and its example, kept for the next visit as they change.
function save() {
  localStorage.setItem("fathom.scenario", $("scenario").value);
  localStorage.setItem("fathom.example", example);
}
$("scenario").addEventListener("input", () => {
  save();
  localStorage.setItem("fathom.edited", "1");
});
$("example").addEventListener("change", async (e) => {
  if (!e.target.value) return;
  if (keepsDraft(e.target.value)) {
    e.target.value = "";
    return;
  }
  await loadExample(e.target.value);
});
// The request for `what`, with the scenario's name when its text gives none.
function request(what, format) {
  const text = $("scenario").value;
  save();
  let url = "/api/" + what + "?" + (format ? "format=" + format : "");
  const add = (key, value) => { url += (url.endsWith("?") ? "" : "&") + key + "=" + encodeURIComponent(value); };
  if (!/^name:/m.test(text) && example) add("name", example);
  // A sweep at the menu's default keeps its sweep section's engine.
  if (what === "step" || (what === "sweep" && $("engine").value !== "auto")) add("engine", $("engine").value);
  if (what === "sweep") {
    for (const axis of $("axes").value.split(";").map((a) => a.trim()).filter((a) => a)) add("axis", axis);
  }
  // A run trains the scenario's training section, else the tokens given beside Size.
  if (what === "run" && !/^training:/m.test(text)) add("tokens", $("tokens").value);
  if (what === "size") {
    if ($("tokens").value.trim()) add("tokens", $("tokens").value.trim());  // cleared: the scenario's
    if ($("days").value.trim()) add("days", $("days").value.trim());  // cleared: no deadline
    if ($("chips").value.trim()) add("chips", $("chips").value.trim());
    if ($("reliability").value) add("reliability", $("reliability").value);
  }
  if (what === "trace") {
    add("gzip", "1");
    if ($("trace-stages").value.trim()) add("stages", $("trace-stages").value.trim());
    if ($("trace-micro-batches").value.trim()) add("micro_batches", $("trace-micro-batches").value.trim());
  }
  return { url, text };
}
// A refusal's text: as it came, or, for a JSON request, its fathom.errors/1 as the text gives it.
async function errorText(r) {
  if (!(r.headers.get("Content-Type") || "").startsWith("application/json")) return r.text();
  const { errors } = await r.json();
  return errors.map((e) => e.severity + ": " + (e.file ? e.file + (e.line ? ":" + e.line : "") + ": " : "") +
    (e.key ? e.key + ": " : "") + e.message + (e.hint ? "; " + e.hint : "")).join("\n") + "\n";
}
function showError(body) {
  const pre = document.createElement("pre");
  pre.className = "error";
  pre.textContent = body;
  $("result").replaceChildren(pre);
  reveal();
}
// On a narrow screen the result is below the editor: bring it into view.
function reveal() {
  if (window.matchMedia("(max-width: 900px)").matches) {
    $("result").scrollIntoView({ behavior: "smooth", block: "start" });
  }
}
async function post(what, format, handle) {
  const { url, text } = request(what, format);
  buttons.forEach((b) => (b.disabled = true));
  $("status").textContent = "working...";
  $("download-note").replaceChildren();
  const start = performance.now();
  try {
    const r = await fetch(url, { method: "POST", body: text, headers: { "Content-Type": "application/yaml" } });
    if (r.ok) {
      await handle(r);
    } else {
      showError(await errorText(r));
    }
    $("status").textContent = (r.ok ? "" : "error, ") + Math.round(performance.now() - start) + " ms";
  } catch (err) {
    $("status").textContent = "the server did not answer: " + err;
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}
async function evaluate(what) {
  await post(what, "html", async (r) => {
    $("result").innerHTML = await r.text();
    reveal();
  });
}
// Saves the answer as a file, named by the server or after the scenario.
async function download(what, format, fallback) {
  await post(what, format, async (r) => {
    const blob = await r.blob();
    const named = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = named ? named[1] : (example || "fathom") + fallback;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    const raw = r.headers.get("X-Fathom-Warnings");
    if (raw) {
      // The header's bytes are UTF-8, which fetch gives as Latin-1 characters.
      const warnings = new TextDecoder().decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
      const pre = document.createElement("pre");
      pre.className = "warning";
      pre.textContent = warnings.split(" | ").join("\n");
      $("download-note").replaceChildren(pre);
    }
  });
}
$("step").addEventListener("click", () => evaluate("step"));
$("plan").addEventListener("click", () => evaluate("plan"));
$("run").addEventListener("click", () => evaluate("run"));
$("size").addEventListener("click", () => evaluate("size"));
$("sweep").addEventListener("click", () => evaluate("sweep"));
$("get-json").addEventListener("click", () => download("step", "json", ".step.json"));
$("get-trace").addEventListener("click", () => download("trace", "", ".trace.json.gz"));
$("scenario").addEventListener("keydown", (e) => {
  // Not while a request runs (the buttons are off): its answer would race this one's.
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    if (!$("step").disabled) evaluate("step");
  }
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
  size_t end = 0;  // past the name
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string::npos) return "";
    end = close + 1;
  } else {
    end = std::min(host.find(':'), host.size());
  }
  // After the name, nothing or ":PORT" ("[::1]evil.com" and "127.0.0.1:evil" name no host).
  const std::string_view rest = std::string_view(host).substr(end);
  if (!rest.empty() && (rest.front() != ':' || rest.size() == 1 ||
                        rest.find_first_not_of("0123456789", 1) != std::string_view::npos)) {
    return "";
  }
  return host.substr(0, end);
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  // 127.0.0.0/8: four decimal parts, the first 127.
  if (host.rfind("127.", 0) != 0) return false;
  int parts = 0;
  for (size_t at = 0; at <= host.size();) {
    const size_t dot = std::min(host.find('.', at), host.size());
    const std::string_view part(host.data() + at, dot - at);
    if (part.empty() || part.size() > 3 ||
        part.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoi(std::string(part)) > 255) {
      return false;
    }
    ++parts;
    at = dot + 1;
  }
  return parts == 4;
}

// A body of one line that holds the keys of several ("model: llama3-8bcluster: dgx-h100"):
// a file whose newlines were dropped (curl -d). One line of YAML with more than one key is a
// flow mapping ({model: ..., cluster: ...}), and one key alone is a line as it was meant.
bool LooksLikeJoinedLines(std::string_view body) {
  if (body.empty() || body.find('\n') != std::string_view::npos) return false;
  const size_t start = body.find_first_not_of(" \t\r");
  if (start == std::string_view::npos || body[start] == '{' || body[start] == '[') return false;
  int keys = 0;
  for (size_t at = body.find(':'); at != std::string_view::npos; at = body.find(':', at + 1)) {
    if (at + 1 == body.size() || body[at + 1] == ' ' || body[at + 1] == '\t') ++keys;
  }
  return keys >= 2;
}

// Whether a request carries a body. Without Content-Length or chunked Transfer-Encoding it
// has none (RFC 9112, 6.3), but httplib would read one until the connection closes or its
// read times out: `curl -X POST` would wait 5 s for its "empty file" error.
bool HasBody(const httplib::Request& req) {
  if (req.has_header("Content-Length")) return true;
  std::string coding = req.get_header_value("Transfer-Encoding");
  std::transform(coding.begin(), coding.end(), coding.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return coding.find("chunked") != std::string::npos;
}

bool IsFileNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Whether `name` may name a scratch file and a download as it is: letters, digits, '.', '_'
// and '-', not first a '.'.
bool IsFileName(std::string_view name) {
  return !name.empty() && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), IsFileNameChar);
}

// The longest scenario name a request may give (it names a scratch file and downloads).
constexpr size_t kMaxName = 128;
// The longest stem FileName gives a download (a scenario's name: may be any length).
constexpr size_t kMaxFileStem = 100;

// A name for a downloaded file: `name` with each run of other characters than IsFileName's
// one '_', none at either end ("Llama 3 · 8B (test)" is "Llama_3_8B_test"), at most
// kMaxFileStem bytes; "fathom" where nothing is left, and before a leading '.'.
std::string FileName(std::string_view name) {
  std::string out;
  bool gap = false;  // characters left out since the last one kept
  for (char c : name) {
    if (!IsFileNameChar(c)) {
      gap = true;
      continue;
    }
    const bool joined = gap && !out.empty();
    if (out.size() + (joined ? 2 : 1) > kMaxFileStem) break;
    if (joined) out += '_';
    out += c;
    gap = false;
  }
  return out.empty() || out.front() == '.' ? "fathom" + out : out;
}

// The first query parameter of /api/WHAT given with an empty value where a value is
// needed ("days=": the page sends it when the field is cleared); "" when none is.
std::string_view EmptyParameter(const httplib::Request& req, std::string_view what) {
  static constexpr std::string_view kSize[] = {"tokens", "days", "chips", "reliability"};
  static constexpr std::string_view kRun[] = {"tokens"};
  const std::span<const std::string_view> keys =
      what == "size"  ? std::span<const std::string_view>(kSize)
      : what == "run" ? std::span<const std::string_view>(kRun)
                      : std::span<const std::string_view>();
  for (std::string_view key : keys) {
    const std::string k(key);
    if (req.has_param(k) && req.get_param_value(k).empty()) return key;
  }
  return {};
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

// The raw query's name=value pairs, in order (empty ones of "a=1&&b=2" included), without
// httplib's decoding: the parameters' own readers below take them apart.
std::vector<std::string_view> QueryPairs(const httplib::Request& req) {
  std::vector<std::string_view> pairs;
  const size_t query = req.target.find('?');
  if (query == std::string::npos) return pairs;
  std::string_view rest = std::string_view(req.target).substr(query + 1);
  rest = rest.substr(0, rest.find('#'));
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    pairs.push_back(rest.substr(0, amp));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  return pairs;
}

// Every value of a repeated query parameter, in order, read from the raw query: a value is
// everything after the first '=' of its pair, so "axis=plan.tp=1,2" is "plan.tp=1,2"
// (httplib keeps only what follows the last '='), as is the encoded "axis=plan.tp%3D1%2C2".
std::vector<std::string> Params(const httplib::Request& req, std::string_view name) {
  std::vector<std::string> values;
  for (const std::string_view pair : QueryPairs(req)) {
    const size_t eq = pair.find('=');
    if (DecodeQueryText(pair.substr(0, eq)) != name) continue;
    values.push_back(eq == std::string_view::npos ? std::string()
                                                  : DecodeQueryText(pair.substr(eq + 1)));
  }
  return values;
}

// Whether the raw query holds a pair without a name ("=" or "=json"), which httplib drops
// unsaid; empty pairs ("a=1&&b=2") are not one.
bool HasNamelessParameter(const httplib::Request& req) {
  for (const std::string_view pair : QueryPairs(req)) {
    if (!pair.empty() && pair.front() == '=') return true;
  }
  return false;
}

// The evaluating endpoints: POST /api/NAME.
constexpr std::array<std::string_view, 6> kEvaluations = {"step",  "trace", "plan",
                                                          "sweep", "size",  "run"};

// What a request answers: a body and its type, or the diagnostics of a bad input.
struct Answer {
  int status = 200;
  std::string body;
  std::string type = "text/html; charset=utf-8";
  std::string warnings = {};        // a JSON answer's, for the X-Fathom-Warnings header
  std::string filename = {};        // a download's name (Content-Disposition)
  core::Diagnostics problems = {};  // a refusal's (status 400 and up), for a JSON answer
};

// A request refused before anything is evaluated: a bad query parameter, a busy server.
Answer Refused(int status, std::string key, std::string message, std::string hint = {}) {
  core::Diagnostics d;
  d.Error(std::move(key), std::move(message), std::move(hint));
  // As the command line prints it, as the scenario's diagnostics are.
  return {status, d.Format(), "text/plain; charset=utf-8", {}, {}, d};
}

// The answer to a request that asked for JSON (format=json): a refusal as fathom.errors/1,
// the diagnostics one by one, with the same status; anything else as it is.
Answer AsAsked(Answer a, bool json) {
  if (!json || a.status < 400) return a;
  if (a.problems.empty()) {
    std::string text = a.body;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    a.problems.Error("", text);
  }
  a.body = io::DiagnosticsJson(a.problems);
  a.type = "application/json";
  return a;
}

// Sets a refusal on `res` (the handlers outside the evaluating routes: the wrong host or
// origin, the wrong method, no such page, a body too large), as JSON when the request asked
// for it (format=json), else as plain text.
void SetRefusal(const httplib::Request& req, httplib::Response& res, int status,
                const std::string& message, const std::string& hint = {}) {
  const bool json = req.has_param("format") && req.get_param_value("format") == "json";
  const Answer a = AsAsked(Refused(status, "", message, hint), json);
  res.status = a.status;
  res.set_content(a.body, a.type);
}

// The largest body a request may send, once decoded, and the refusal of a larger one.
constexpr size_t kMaxBody = 4 << 20;
// A request's headers, all of them, at most (a browser's take 1-2 KiB).
constexpr size_t kMaxHeaderBytes = 8 << 10;
constexpr size_t kMaxDrained = 64 << 20;  // what is read of a larger one before cutting it off
constexpr const char* kTooLarge = "the body is too large: a scenario may be 4 MiB at most";

// Why a request failed, where httplib leaves the body empty: the wrong method for a known
// page (405, with the method it takes), no such page (404, with the API's pages), a body too
// large (413), a request line too long (414), a body httplib could not read (400: what it
// checks) or an encoding it does not read (415), or else the status.
void ExplainFailure(const httplib::Request& req, httplib::Response& res) {
  if (!res.body.empty()) return;
  // A known page asked with the wrong method: 405, with the method it takes.
  const bool api_post =
      std::any_of(kEvaluations.begin(), kEvaluations.end(),
                  [&](std::string_view what) { return req.path == "/api/" + std::string(what); });
  const bool get = req.path == "/" || req.path == "/api/examples" || req.path == "/api/catalog" ||
                   req.path.rfind("/api/examples/", 0) == 0;
  if ((res.status == 404 || res.status == 400) && (api_post || get) &&
      req.method != (api_post ? "POST" : "GET")) {
    const char* allow = api_post ? "POST" : "GET";
    res.set_header("Allow", allow);
    SetRefusal(req, res, 405, fmt::format("{} takes {} only, not {}", req.path, allow, req.method));
    return;
  }
  if (res.status == 413) {
    SetRefusal(req, res, 413, kTooLarge);
  } else if (res.status == 414) {
    // httplib reads no further than the request line: no path, no parameters.
    SetRefusal(req, res, 414,
               fmt::format("the request line is too long: it may be {} bytes at most (the "
                           "path and the query)",
                           core::WithThousands(CPPHTTPLIB_REQUEST_URI_MAX_LENGTH)),
               "give fewer chip counts or axis values, or the axes in the scenario's sweep "
               "section (the body may be 4 MiB)");
  } else if (res.status == 404) {
    SetRefusal(req, res, 404,
               "no such page; the API is /api/step, /api/trace, /api/plan, /api/sweep, "
               "/api/size, /api/run, /api/examples and /api/catalog");
  } else if (res.status == 400 || res.status == 415) {
    // httplib refused what it read before any handler ran: say what it checks.
    const std::string encoding = req.get_header_value("Content-Encoding");
    if (!encoding.empty() && encoding != "gzip" && encoding != "identity") {
      SetRefusal(req, res, 415,
                 fmt::format("Content-Encoding \"{}\" is not read here", encoding.substr(0, 64)),
                 "send the body as it is, or gzipped (Content-Encoding: gzip)");
    } else {
      SetRefusal(
          req, res, res.status,
          fmt::format("the request could not be read (HTTP {}): {} {}", res.status,
                      req.method.substr(0, 16), req.path.substr(0, 64)),
          "check the request: a known method (GET, POST), headers within 8 KiB, a body as long "
          "as its Content-Length or well-formed chunks, and gzip data where Content-Encoding "
          "says gzip");
    }
  } else {
    SetRefusal(req, res, res.status,
               fmt::format("the request failed (HTTP {}): {} {}", res.status,
                           req.method.substr(0, 16), req.path.substr(0, 64)));
  }
}

// `text` with the CLI's flags that the evaluating endpoints take as query parameters named
// as the API names them: "--tokens 15T" is "tokens=15T", "--days" is "days".
std::string AsQueryText(std::string text) {
  constexpr std::array<std::string_view, 6> kFlags = {"tokens",      "days",   "chips",
                                                      "reliability", "engine", "axis"};
  auto word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  };
  // Phrases first, where a flag's value or its command reads otherwise here.
  static constexpr std::pair<std::string_view, std::string_view> kPhrases[] = {
      {"fathom plan --chips N --idle allow", "/api/plan on N chips with search: {idle: allow}"},
      {"(--chips)", "(chips=N,N,...)"},
      {"(--chips;", "(chips=N,N,...;"},
      {"--reliability adds them", "reliability=PRESET adds them"},
      {"--top N", "search.top: N"},
      {"--set ", ""},  // "--set training.cost.power=...": the key, as the scenario gives it
  };
  for (const auto& [phrase, said] : kPhrases) {
    for (size_t at = text.find(phrase); at != std::string::npos; at = text.find(phrase, at)) {
      text.replace(at, phrase.size(), said);
      at += said.size();
    }
  }
  for (std::string_view flag : kFlags) {
    const std::string dashed = "--" + std::string(flag);
    for (size_t at = text.find(dashed); at != std::string::npos; at = text.find(dashed, at)) {
      const size_t end = at + dashed.size();
      if ((at > 0 && word(text[at - 1])) || (end < text.size() && word(text[end]))) {
        at = end;
        continue;
      }
      const bool value = end + 1 < text.size() && text[end] == ' ' && text[end + 1] != '-' &&
                         std::isspace(static_cast<unsigned char>(text[end + 1])) == 0;
      text.replace(at, dashed.size() + (value ? 1 : 0), std::string(flag) + (value ? "=" : ""));
      at += flag.size();
    }
  }
  // Flags the API takes another way: the JSON report is format=json, the exact run
  // monte_carlo=0, the trace's selection its parameters, and the search's axes and options
  // the scenario's search section.
  static constexpr std::pair<std::string_view, std::string_view> kOther[] = {
      {"fathom run --no-monte-carlo", "monte_carlo=0"},
      {"--json", "format=json"},
      {"--no-monte-carlo", "monte_carlo=0"},
      {"--trials", "reliability.monte_carlo.trials"},
      {"--seed", "reliability.monte_carlo.seed"},
      {"--trace-stages", "stages"},
      {"--trace-micro-batches", "micro_batches"},
      {"--trace-window", "window"},
      {"--micro-batch", "search.micro_batch_size"},
      {"--overlap-ep", "search.overlap_ep"},
      {"--simulate-top", "search.simulate_top"},
      {"--global-batch", "plan.global_batch_size"},
      {"--recompute", "search.recompute"},
      {"--schedule", "search.schedule"},
      {"--zero", "search.zero"},
      {"--idle", "search.idle"},
      {"--top", "search.top"},
      {"--etp", "search.etp"},
      {"--tp", "search.tp"},
      {"--pp", "search.pp"},
      {"--vp", "search.vp"},
      {"--cp", "search.cp"},
      {"--ep", "search.ep"},
  };
  for (const auto& [flag, said] : kOther) {
    for (size_t at = text.find(flag); at != std::string::npos; at = text.find(flag, at)) {
      const size_t end = at + flag.size();
      if ((at > 0 && word(text[at - 1])) || (end < text.size() && word(text[end]))) {
        at = end;
        continue;
      }
      text.replace(at, flag.size(), said);
      at += said.size();
    }
  }
  return text;
}

// Diagnostics as the API gives them: flags named as query parameters (AsQueryText).
core::Diagnostics AsQuery(core::Diagnostics d) {
  for (core::Diagnostic& x : d.items()) {
    x.file = AsQueryText(std::move(x.file));  // "--axis": the axis parameter
    x.key = AsQueryText(std::move(x.key));
    x.message = AsQueryText(std::move(x.message));
    x.hint = AsQueryText(std::move(x.hint));
  }
  return d;
}

// Diagnostics of a trace, which needs the simulator: where the CLI's hint offers the closed
// form (--engine estimate), say that the stages, micro_batches and window of the trace do
// not shorten what is simulated, and where the closed form is, without a trace.
core::Diagnostics ForTheTrace(core::Diagnostics d) {
  static constexpr std::string_view kEstimate =
      "the closed-form estimator (--engine estimate) prices the step, without a trace";
  for (core::Diagnostic& x : d.items()) {
    const size_t at = x.hint.find(kEstimate);
    if (at == std::string::npos) continue;
    x.hint.replace(at, kEstimate.size(),
                   "the stages, micro_batches and window of the trace do not shorten it; "
                   "/api/step?engine=estimate predicts the step in closed form, without a trace");
  }
  return d;
}

// A JSON answer with the warnings the CLI would print to stderr.
Answer Json(std::string body, const core::Diagnostics& warnings) {
  return {200, std::move(body), "application/json", AsQuery(warnings).Format()};
}

Answer BadInput(const core::Diagnostics& given) {
  const core::Diagnostics d = AsQuery(given);
  return {400, d.Format(), "text/plain; charset=utf-8", {}, {}, d};
}

// An HTML report's hints (<p class="hint">, a size's verdict among them) with the CLI's
// flags named as query parameters (AsQueryText).
std::string HintsAsQuery(std::string html) {
  constexpr std::string_view kHint = "<p class=\"hint\">";
  for (size_t at = html.find(kHint); at != std::string::npos; at = html.find(kHint, at)) {
    at += kHint.size();
    const size_t end = std::min(html.find("</p>", at), html.size());
    const std::string said = AsQueryText(html.substr(at, end - at));
    html.replace(at, end - at, said);
    at += said.size();
  }
  return html;
}

// Warnings go above an HTML report, as the CLI prints them to stderr.
std::string WithWarnings(const core::Diagnostics& d, std::string body) {
  return io::HtmlWarnings(AsQuery(d)) + HintsAsQuery(std::move(body));
}

// What an evaluation freed, back to the system (every arena's free pages; see
// BoundAllocatorArenas).
void ReleaseFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

// The most connections served at once; beyond, they wait their turn.
constexpr size_t kMaxConnectionThreads = 512;

// The Content-Security-Policy of every answer: nothing from elsewhere, no framing; the
// page's inline styles, and its script where `nonce` names it ("": none runs).
std::string ContentSecurityPolicy(const std::string& nonce) {
  return fmt::format(
      "default-src 'none'; script-src {}; style-src 'unsafe-inline'; connect-src 'self'; "
      "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      nonce.empty() ? "'none'" : "'nonce-" + nonce + "'");
}

// 128 random bits, as 32 hex digits.
std::string Nonce() {
  std::random_device random;
  std::string out;
  for (int i = 0; i < 4; ++i) out += fmt::format("{:08x}", random());
  return out;
}

// httplib's connection threads: one for each connection that no idle thread takes, up to
// `max_threads` (beyond, connections wait their turn); a thread idle for `linger` ends. A
// fixed pool of 64 was held by 64 connections that stalled half-way through their header,
// each until its read timed out, and the page waited behind them.
class ConnectionThreads final : public httplib::TaskQueue {
 public:
  ConnectionThreads(size_t max_threads, std::chrono::milliseconds linger)
      : max_threads_(max_threads), linger_(linger) {}
  ~ConnectionThreads() override { shutdown(); }
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  void enqueue(std::function<void()> fn) override {
    std::vector<std::thread> ended;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(std::move(fn));
      if (jobs_.size() > idle_ && threads_.size() < max_threads_ && !shutdown_) {
        try {
          std::thread t([this] { Work(); });
          const std::thread::id id = t.get_id();
          threads_.emplace(id, std::move(t));
        } catch (const std::system_error&) {
          // No thread to be had (a limit of the system's): the connection waits its turn.
        }
      }
      ended.swap(ended_);
    }
    cond_.notify_one();
    for (std::thread& t : ended) t.join();
  }

  // Runs the connections waiting, then ends every thread; a connection left waiting with no
  // thread to run it (none could be started) runs here.
  void shutdown() override {
    std::vector<std::thread> all;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      shutdown_ = true;
      for (auto& [id, t] : threads_) all.push_back(std::move(t));
      threads_.clear();
      for (std::thread& t : ended_) all.push_back(std::move(t));
      ended_.clear();
    }
    cond_.notify_all();
    for (std::thread& t : all) t.join();
    std::deque<std::function<void()>> left;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      left.swap(jobs_);
    }
    for (std::function<void()>& job : left) job();
  }

 private:
  void Work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      ++idle_;
      const bool woken =
          cond_.wait_for(lock, linger_, [this] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty()) {  // idle too long, or shut down (which then holds this thread)
        if (!woken) {       // joined by the next enqueue, or by shutdown
          if (const auto self = threads_.find(std::this_thread::get_id()); self != threads_.end()) {
            ended_.push_back(std::move(self->second));
            threads_.erase(self);
          }
        }
        return;
      }
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      job = nullptr;  // the connection's state freed outside the lock
      lock.lock();
    }
  }

  const size_t max_threads_;
  const std::chrono::milliseconds linger_;
  std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> jobs_;
  std::map<std::thread::id, std::thread> threads_;  // working or idle
  std::vector<std::thread> ended_;                  // idle too long, to be joined
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace

void BoundAllocatorArenas() {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, 2);
#endif
}

struct Server::Impl {
  io::Catalog catalog;  // the CLI's, with files off unless --allow-files
  ServeOptions options;
  bool examples_given = false;  // options.examples came from --examples, not the default
  httplib::Server http;
  std::mutex evaluate;  // requests are evaluated one at a time
  std::mutex admission;
  int admitted = 0;                     // evaluating or waiting to
  static constexpr int kThreads = 2;    // a search's, a sweep's and a Monte Carlo's
  socket_t listening = INVALID_SOCKET;  // the socket Bind bound
  int port = 0;                         // and its port

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

  Impl(const io::Catalog& c, ServeOptions o)
      : catalog(c), options(std::move(o)), examples_given(!options.examples.empty()) {
    catalog.set_files_allowed(options.allow_files);
    if (options.allow_files) {
      std::error_code ec;
      catalog.set_files_root(options.files_root.empty() ? fs::current_path(ec).string()
                                                        : options.files_root);
    }
    if (options.examples.empty()) {
      options.examples = (fs::path(catalog.dir()) / ".." / "examples").lexically_normal().string();
    }
  }
  // The examples by name (a file's stem) and path: the directory's .yaml files and those of
  // its subdirectories (examples/sweeps/), sorted by name; a name taken twice is the first's.
  std::vector<std::pair<std::string, fs::path>> Examples() const {
    std::vector<std::pair<std::string, fs::path>> files;
    std::error_code ec;
    // A regular .yaml file whose stem the page can send back as a name (IsFileName's
    // characters, no leading '.', not a YAML keyword): others could be listed but not loaded.
    auto add = [&](const fs::directory_entry& e) {
      std::error_code regular;
      const std::string stem = e.path().stem().string();
      if (e.path().extension() != ".yaml" || !e.is_regular_file(regular) || !IsFileName(stem) ||
          !io::ParseOverrides({"name=" + stem}).ok()) {
        return;
      }
      files.emplace_back(stem, e.path());
    };
    for (const auto& entry : fs::directory_iterator(options.examples, ec)) {
      if (std::error_code sub; entry.is_directory(sub) && entry.path().extension() != ".yaml") {
        for (const auto& inner : fs::directory_iterator(entry.path(), sub)) add(inner);
      } else {
        add(entry);
      }
    }
    // By name, a top-level file before a subdirectory's of the same name (fewer parts).
    auto depth = [](const fs::path& p) { return std::distance(p.begin(), p.end()); };
    std::sort(files.begin(), files.end(), [&](const auto& a, const auto& b) {
      return std::make_tuple(a.first, depth(a.second), a.second) <
             std::make_tuple(b.first, depth(b.second), b.second);
    });
    files.erase(std::unique(files.begin(), files.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                files.end());
    return files;
  }

  // The posted scenario as a file the loaders read as they read any scenario, in a private
  // directory of its own that lives as long as the request; its name in every diagnostic is
  // `name`.yaml, the name the request gives it, else "scenario.yaml" (the directory is taken
  // out).
  struct Posted {
    fs::path dir;
    std::string file;
    ~Posted() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  };

  static bool Post(const std::string& text, const std::string& name, Posted& posted,
                   std::string& error) {
    std::error_code ec;
    const fs::path tmp = fs::temp_directory_path(ec);
    std::string pattern = (tmp / "fathom-serve-XXXXXX").string();
    if (ec || mkdtemp(pattern.data()) == nullptr) {
      error = "cannot create a scratch directory under " + tmp.string() +
              " (TMPDIR names where): " + std::strerror(errno);
      return false;
    }
    posted.dir = pattern;
    posted.file = (posted.dir / ((name.empty() ? "scenario" : name) + ".yaml")).string();
    std::ofstream f(posted.file, std::ios::binary);
    f << text;
    if (!f) {
      error = "cannot write the posted scenario to the server's scratch directory";
      return false;
    }
    return true;
  }

  // `text` without the server's directories: the scratch directory and the one files are
  // read from (--allow-files) taken out, the catalog's named by its last part
  // ("/opt/fathom/data/clusters/x.yaml" is "data/clusters/x.yaml").
  std::string Clean(std::string text, const Posted& posted) const {
    const fs::path data = fs::path(catalog.dir()) / "";
    const std::pair<std::string, std::string> prefixes[] = {
        {(posted.dir / "").string(), ""},
        {fs::path(catalog.files_root()).has_relative_path()  // not "" nor "/"
             ? (fs::path(catalog.files_root()) / "").string()
             : "",
         ""},
        {data.string(), (data.parent_path().filename() / "").string()},
    };
    for (const auto& [prefix, said] : prefixes) {
      if (prefix.empty() || prefix == said) continue;
      for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at)) {
        text.replace(at, prefix.size(), said);
        at += said.size();
      }
    }
    return text;
  }

  // The server's directories taken out of the body, the warnings' header and the diagnostics.
  Answer Cleaned(Answer a, const Posted& posted) const {
    a.body = Clean(std::move(a.body), posted);
    a.warnings = Clean(std::move(a.warnings), posted);
    for (core::Diagnostic& d : a.problems.items()) {
      d.file = Clean(std::move(d.file), posted);
      d.message = Clean(std::move(d.message), posted);
      d.hint = Clean(std::move(d.hint), posted);
    }
    return a;
  }

  Answer Step(const std::string& file, const std::vector<io::Override>& name,
              const std::string& engine, bool json) {
    io::StepRequest q;
    q.scenario = file;
    q.overrides = name;
    q.engine = engine;
    q.keep_simulation = !json;  // the HTML report's timeline
    core::Result<io::StepOutcome> r = io::Step(catalog, q);
    if (!r.ok()) return BadInput(r.diagnostics());
    const io::StepOutcome& step = r.value();
    if (json) return Json(io::StepReportJson(step.report, &r.diagnostics()), r.diagnostics());
    const sim::SimResult* simulation = step.simulation ? &*step.simulation : nullptr;
    return {200, WithWarnings(r.diagnostics(), io::StepReportHtmlBody(step.report, simulation))};
  }

  // The simulated step as a Chrome trace, chosen as `fathom step --trace` chooses (the
  // filters, else the event budget), at most kMaxWebTraceEvents events; gzipped on asking.
  static constexpr int64_t kMaxWebTraceEvents = 1000000;
  Answer Trace(const std::string& file, const std::vector<io::Override>& name,
               const io::TraceFilterText& text, bool gzip) {
    core::Result<io::TraceFilter> filter = io::ParseTraceFilter(text);
    if (!filter.ok()) return BadInput(filter.diagnostics());
    io::StepRequest q;
    q.scenario = file;
    q.overrides = name;
    q.need_simulation = true;
    core::Result<io::StepOutcome> r = io::Step(catalog, q);
    if (!r.ok()) return BadInput(ForTheTrace(r.diagnostics()));
    const sim::SimResult& simulation = *r.value().simulation;
    core::Result<io::TraceSelection> selection = io::SelectTrace(simulation, filter.value());
    core::Diagnostics d = r.diagnostics();
    d.Append(selection.diagnostics());
    if (!selection.ok()) return BadInput(d);
    if (selection.value().events > kMaxWebTraceEvents) {
      d.Error("",
              fmt::format("the trace would hold {} events, more than the web UI writes ({})",
                          core::WithThousands(selection.value().events),
                          core::WithThousands(kMaxWebTraceEvents)),
              "choose fewer with stages, micro_batches or window, or write it with fathom step "
              "--trace");
      return BadInput(d);
    }
    Answer a{200, "", gzip ? "application/gzip" : "application/json", d.Format(),
             FileName(simulation.report.scenario) + ".trace.json" + (gzip ? ".gz" : "")};
    if (gzip) {
      io::GzipWriter gz([&a](std::string_view piece) { a.body += piece; });
      io::WriteChromeTrace(simulation, selection.value(),
                           [&gz](std::string_view piece) { gz.Write(piece); });
      gz.Finish();
    } else {
      a.body = io::ChromeTraceJson(simulation, selection.value());
    }
    return a;
  }

  Answer Plan(const std::string& file, const std::vector<io::Override>& name, bool json) {
    io::PlanRequest q;
    q.scenario = file;
    q.overrides = name;
    plan::SearchOptions search;
    search.threads = kThreads;
    core::Result<plan::SearchResult> r = io::Plan(catalog, q, search, {}, kWorkLimits);
    if (!r.ok()) return BadInput(r.diagnostics());
    if (json) return Json(io::SearchJson(r.value(), &r.diagnostics()), r.diagnostics());
    return {200, WithWarnings(r.diagnostics(), io::SearchReportHtmlBody(r.value()))};
  }

  Answer Size(const std::string& file, const std::vector<io::Override>& name, bool json,
              const std::string& tokens, const std::string& days, const std::string& chips,
              const std::string& reliability) {
    io::SizingRequest q;
    q.search.scenario = file;
    q.search.overrides = name;
    q.tokens = tokens;
    q.days = days;
    q.chips = chips;
    q.reliability = reliability;
    plan::SearchOptions search;
    search.threads = kThreads;
    core::Result<std::vector<plan::SizeResult>> r = io::Size(catalog, q, search, {}, kWorkLimits);
    if (!r.ok()) return BadInput(r.diagnostics());
    if (json) return Json(io::SizeJson(r.value(), &r.diagnostics()), r.diagnostics());
    return {200, WithWarnings(r.diagnostics(), io::SizeReportHtmlBody(r.value()))};
  }

  // What one plan or size request may ask: a search simulating 100,000 plans held the
  // server for minutes, the page's other requests waiting behind it.
  static constexpr io::WorkLimits kWorkLimits{.simulate_top = 64, .size_counts = 64};

  // A sweep of at most kMaxWebSweepPoints points: the axes of --axis (each KEY=V1,V2,...),
  // else the scenario's sweep section.
  static constexpr int64_t kMaxWebSweepPoints = 256;
  Answer Sweep(const std::string& file, const std::string& name, bool json,
               std::vector<std::string> axes, const std::string& engine) {
    io::SweepRequest q;
    q.scenario = file;
    q.name = name;
    q.files_allowed = catalog.files_allowed();
    q.axes = std::move(axes);
    q.engine = engine;
    core::Result<io::SweepResult> r = io::SweepAll(catalog, q, kThreads, kMaxWebSweepPoints);
    if (!r.ok()) return BadInput(r.diagnostics());
    if (core::Diagnostics common = io::SweepCommonFailure(catalog, r.value()); common.HasErrors()) {
      return BadInput(common);
    }
    // The points' warnings, as the CLI prints them (the input's come with them).
    core::Diagnostics warnings = r.diagnostics();
    warnings.Append(io::SweepWarnings(r.value()));
    if (json) return Json(io::SweepJson(r.value()), warnings);
    return {200, WithWarnings(warnings, io::SweepReportHtmlBody(r.value()))};
  }

  Answer Run(const std::string& file, const std::vector<io::Override>& name, bool json,
             bool monte_carlo, const std::string& tokens) {
    io::RunRequest q;
    q.scenario = file;
    q.overrides = name;
    q.tokens = tokens;
    io::RunOptions run;
    run.monte_carlo = monte_carlo;
    run.threads = kThreads;
    core::Result<io::RunResult> r = io::Run(catalog, q, run);
    if (!r.ok()) return BadInput(r.diagnostics());
    if (json) return Json(io::RunReportJson(r.value(), &r.diagnostics()), r.diagnostics());
    return {200, WithWarnings(r.diagnostics(), io::RunReportHtmlBody(r.value()))};
  }

  void Routes() {
    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      const std::string page = io::HtmlPage("Fathom", std::string(kAppBody));
      // The app's styles follow the report's.
      std::string html = page;
      const size_t at = html.find("</style>");
      if (at != std::string::npos) html.insert(at, kAppStyle);
      // Its one script runs by a nonce of this answer's: no other (one in a report's markup
      // that escaped escaping, an inline handler) would.
      const std::string nonce = Nonce();
      for (size_t script = html.find("<script>"); script != std::string::npos;
           script = html.find("<script>", script + 1)) {
        html.insert(script + 7, " nonce=\"" + nonce + "\"");
      }
      res.headers.erase("Content-Security-Policy");
      res.set_header("Content-Security-Policy", ContentSecurityPolicy(nonce));
      res.set_content(html, "text/html; charset=utf-8");
    });
    http.Get("/api/examples", [this](const httplib::Request&, httplib::Response& res) {
      std::vector<std::string> names;
      for (const auto& [name, path] : Examples()) names.push_back(name);
      res.set_content(JsonArray(names), "application/json");
    });
    http.Get(R"(/api/examples/([A-Za-z0-9._-]+))", [this](const httplib::Request& req,
                                                          httplib::Response& res) {
      const std::string name = req.matches[1];
      const auto examples = Examples();
      const auto at = std::find_if(examples.begin(), examples.end(),
                                   [&](const auto& e) { return e.first == name; });
      if (at == examples.end()) {
        SetRefusal(req, res, 404,
                   "no example named \"" + (name.size() > 64 ? name.substr(0, 64) + "..." : name) +
                       "\" (GET /api/examples lists them)");
        return;
      }
      core::Result<std::string> text = io::ReadFile(at->second.string());
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
    // The body is read as the scenario's YAML whatever its Content-Type says (curl's default
    // is a form): a handler with a content reader gets it unparsed and whole.
    auto evaluate_route = [this](std::string_view what) {
      return [this, what](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& reader) {
        auto param = [&](const char* name, const char* otherwise) {
          return req.has_param(name) ? req.get_param_value(name) : std::string(otherwise);
        };
        const std::string format = param("format", "html");
        const std::string engine = param("engine", what == "sweep" ? "" : "auto");
        const std::string mc = param("monte_carlo", "1");
        const std::string gzip = param("gzip", "0");
        const std::string name = param("name", "");
        // The query parameters each endpoint reads; any other is a mistake, not a no-op.
        std::vector<std::string_view> known;
        if (what != "trace") known.push_back("format");
        if (what == "step" || what == "sweep") known.push_back("engine");
        if (what == "sweep") known.push_back("axis");
        if (what == "run" || what == "size") known.push_back("tokens");
        if (what == "run") known.push_back("monte_carlo");
        if (what == "size") known.insert(known.end(), {"days", "chips", "reliability"});
        if (what == "trace")
          known.insert(known.end(), {"stages", "micro_batches", "window", "gzip"});
        known.push_back("name");
        // Counted from the raw query: httplib drops a pair given twice alike (format=json twice).
        std::string unknown, repeated;
        size_t repeats = 0;
        for (const auto& [key, value] : req.params) {
          if (std::find(known.begin(), known.end(), key) == known.end()) unknown = key;
          if (key == "axis") continue;
          if (const size_t n = Params(req, key).size(); n > 1) {
            repeated = key;
            repeats = n;
          }
        }
        // The scenario's name, where the page knows it (the example it came from).
        const core::Result<std::vector<io::Override>> named =
            name.empty() ? core::Result<std::vector<io::Override>>(std::vector<io::Override>{})
                         : io::ParseOverrides({"name=" + name});
        std::string body;
        bool too_large = false;
        size_t read = 0;  // bytes of the body read, decoded
        Answer a;
        const std::string length = req.get_header_value("Content-Length");
        const bool digits =
            !length.empty() && length.find_first_not_of("0123456789") == std::string::npos;
        const size_t significant =
            digits ? length.size() - std::min(length.find_first_not_of('0'), length.size()) : 0;
        if (req.has_header("Content-Length") && (!digits || significant > 18)) {
          // RFC 9110, 8.6: one or more digits. httplib reads "abc" as 0, "-5" as 2^64 - 5
          // and 20 digits as what fits (a 5 s wait for a body that never comes); the body's
          // end is unknown, so the connection closes after the answer.
          a = digits ? Refused(413, "Content-Length", kTooLarge)
                     : Refused(400, "Content-Length",
                               "expected the body's length in bytes (digits), got \"" +
                                   core::Abbreviated(length, 32) + "\"",
                               "leave the header to the client (curl --data-binary @FILE)");
          res.set_header("Connection", "close");
        } else if (HasNamelessParameter(req)) {
          std::string names;
          for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
          a = Refused(400, "query", "a query parameter without a name (\"=...\")",
                      "give NAME=VALUE pairs; /api/" + std::string(what) + " takes " + names);
        } else if (!unknown.empty()) {
          std::string names;
          for (std::string_view k : known) names += (names.empty() ? "" : ", ") + std::string(k);
          a = Refused(400, unknown.substr(0, 64),
                      fmt::format("unknown query parameter for /api/{}", what),
                      "it takes " + names);
        } else if (!repeated.empty()) {
          a = Refused(400, repeated.substr(0, 64), fmt::format("given {} times", repeats),
                      "give it once (only axis may repeat)");
        } else if (const std::string_view empty = EmptyParameter(req, what); !empty.empty()) {
          a = Refused(400, std::string(empty), "an empty value",
                      empty == "chips"  ? "give the chip counts (chips=1024,2048), or leave chips "
                                          "out for the automatic counts"
                      : empty == "days" ? "give the deadline (days=30), or leave days out for "
                                          "none (the fewest chips that hold a plan)"
                      : empty == "tokens"
                          ? "give the tokens to train (tokens=15T), or leave tokens out for "
                            "the scenario's training section"
                          : "give a preset (reliability=llama3-table5), or leave reliability "
                            "out for the scenario's section");
        } else if (name.size() > kMaxName) {
          a = Refused(400, "name", fmt::format("{} characters; at most {}", name.size(), kMaxName),
                      "give a shorter name");
        } else if (req.is_multipart_form_data()) {
          a = Refused(415, "",
                      "send the scenario's YAML as the body itself (Content-Type: "
                      "application/yaml), not as a multipart form");
        } else if (HasBody(req) && !reader([&](const char* data, size_t n) {
                     // Bounded here too: a chunked or compressed body has no Content-Length
                     // for httplib's own bound to check. Past the bound the rest is read and
                     // dropped, so that the client, still sending, reads the 413, up to
                     // kMaxDrained: a longer stream is cut off.
                     read += n;
                     too_large = too_large || body.size() + n > kMaxBody;
                     if (!too_large) body.append(data, n);
                     return read <= kMaxDrained;
                   }) &&
                   !too_large) {
          return;  // too large by its length (413) or cut short (400): the error handler says
        } else if (too_large) {
          a = Refused(413, "", kTooLarge);
        } else if (format != "html" && format != "json") {
          a = Refused(400, "format", "expected html or json, got \"" + format.substr(0, 64) + "\"",
                      "format=json for the JSON report, or leave it out for the HTML page");
        } else if (!engine.empty() && engine != "auto" && engine != "simulate" &&
                   engine != "estimate") {
          a = Refused(400, "engine",
                      "expected auto, simulate or estimate, got \"" + engine.substr(0, 64) + "\"",
                      "auto simulates within the simulator's budget, else estimates");
        } else if (mc != "0" && mc != "1") {
          a = Refused(400, "monte_carlo", "expected 0 or 1, got \"" + mc.substr(0, 64) + "\"",
                      "monte_carlo=0 gives the exact (analytic) results only");
        } else if (gzip != "0" && gzip != "1") {
          a = Refused(400, "gzip", "expected 0 or 1, got \"" + gzip.substr(0, 64) + "\"",
                      "gzip=1 sends the trace gzipped (.json.gz)");
        } else if (!name.empty() && (!IsFileName(name) || !named.ok())) {
          a = !IsFileName(name)
                  ? Refused(400, "name",
                            "expected letters, digits, '.', '_' and '-' (an example's name), "
                            "got \"" +
                                name.substr(0, 64) + "\"")
                  : Refused(400, "name",
                            "\"" + name.substr(0, 64) + "\" reads as a YAML value, not a name",
                            "give another, e.g. my-" + name.substr(0, 64));
        } else if (!Admit()) {
          a = Refused(503, "",
                      fmt::format("the server is busy: {} evaluations are running or waiting",
                                  options.max_waiting + 1),
                      "retry shortly");
          res.set_header("Retry-After", "2");
        } else {
          const Admitted leave(*this);
          const std::lock_guard<std::mutex> lock(evaluate);
          Posted posted;
          std::string error;
          if (!Post(body, name, posted, error)) {
            a = Refused(500, "", error);
          } else {
            const bool json = format == "json";
            io::TraceFilterText filter{param("stages", ""),
                                       param("micro_batches", ""),
                                       param("window", ""),
                                       "stages",
                                       "micro_batches",
                                       "window",
                                       "stages=all&micro_batches=all"};
            a = Cleaned(what == "step"    ? Step(posted.file, named.value(), engine, json)
                        : what == "trace" ? Trace(posted.file, named.value(), filter, gzip == "1")
                        : what == "plan"  ? Plan(posted.file, named.value(), json)
                        : what == "sweep"
                            ? Sweep(posted.file, name, json, Params(req, "axis"), engine)
                        : what == "size"
                            ? Size(posted.file, named.value(), json, param("tokens", ""),
                                   param("days", ""), param("chips", ""), param("reliability", ""))
                            : Run(posted.file, named.value(), json, mc == "1", param("tokens", "")),
                        posted);
          }
          ReleaseFreeMemory();
        }
        // curl -d posts a file as a form and drops its newlines: a YAML scenario that came as
        // one line of a form and did not read says so.
        if (a.status == 400 && LooksLikeJoinedLines(body) &&
            req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) ==
                0) {
          const std::string note =
              "the body came as one line of a form (Content-Type: "
              "application/x-www-form-urlencoded) with the keys of several: curl -d drops a "
              "file's newlines; send it with --data-binary @FILE";
          a.body += "note: " + note + "\n";
          if (!a.problems.empty()) a.problems.Add({core::Severity::kNote, "", 0, "", note, ""});
        }
        // A refusal in the form asked for: fathom.errors/1 for format=json, else text.
        a = AsAsked(std::move(a), format == "json");
        res.status = a.status;
        if (!a.warnings.empty()) {
          // One header line: the warnings joined by " | ".
          std::string joined = a.warnings;
          while (!joined.empty() && joined.back() == '\n') joined.pop_back();
          for (size_t at = joined.find('\n'); at != std::string::npos; at = joined.find('\n', at)) {
            joined.replace(at, 1, " | ");
          }
          // Other control characters (a name with a carriage return) would make httplib drop
          // the header: each is a '?'.
          for (char& c : joined) {
            if (core::IsControl(c) && c != '\t') c = '?';
          }
          res.set_header("X-Fathom-Warnings", joined);
        }
        if (!a.filename.empty() && a.status == 200) {
          res.set_header("Content-Disposition", "attachment; filename=\"" + a.filename + "\"");
        }
        res.set_content(a.body, a.type);
      };
    };
    for (std::string_view what : kEvaluations) {
      http.Post("/api/" + std::string(what), evaluate_route(what));
    }
    http.set_payload_max_length(kMaxBody);
    // A slow or stalled upload (or header) holds a thread until its read times out (5 s): a
    // thread for each connection, so that hundreds of them do not hold up the page, the
    // catalog and the other requests (evaluations take turns on `evaluate` anyway).
    http.new_task_queue = [] {
      return new ConnectionThreads(kMaxConnectionThreads, std::chrono::seconds(5));
    };
    http.set_read_timeout(5, 0);
    // Every answer, refusals too: no MIME sniffing, no framing, nothing loaded from elsewhere
    // (the page is whole; GET / adds its script's nonce).
    http.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                              {"X-Frame-Options", "DENY"},
                              {"Content-Security-Policy", ContentSecurityPolicy("")}});
    // A connection waiting for its next request (or its first: one a browser opens ahead)
    // holds a worker as long: a second, so that idle connections do not starve the page.
    http.set_keep_alive_timeout(1);
    // Bound to the loopback interface, the server answers only requests addressed to it by a
    // loopback name: a page elsewhere cannot reach it through a DNS name that resolves to
    // 127.0.0.1 (DNS rebinding).
    // A POST from another origin (a page elsewhere that the browser lets post a "simple"
    // request without asking) is refused too: it could keep the one evaluation slot busy.
    // Browsers send Origin with every cross-origin POST, and it must name this server as
    // the page's own requests do (http://HOST where HOST is the Host header).
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const std::string host = req.get_header_value("Host");
      // httplib bounds each header line, not their number: the whole within 8 KiB, as the
      // refusals say (RFC 6585, 5: a 431).
      size_t header_bytes = 0;
      for (const auto& [name, value] : req.headers) header_bytes += name.size() + value.size() + 4;
      if (header_bytes > kMaxHeaderBytes) {
        SetRefusal(
            req, res, 431,
            fmt::format("the request's headers take {} bytes, more than 8 KiB", header_bytes));
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.get_header_value_count("Content-Length") > 1) {  // RFC 9112, 6.3: a 400
        SetRefusal(req, res, 400, "the request has more than one Content-Length header");
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.get_header_value_count("Host") > 1) {  // RFC 9112, 3.2: a 400
        SetRefusal(req, res, 400, "the request has more than one Host header");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (IsLoopback(options.host) && !IsLoopback(HostName(host))) {
        SetRefusal(req, res, 403,
                   "fathom serve answers requests to localhost, 127.0.0.1 or [::1] only");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.method == "POST" && req.has_header("Origin") &&
          req.get_header_value("Origin") != "http://" + host) {
        SetRefusal(req, res, 403,
                   fmt::format("fathom serve takes evaluations from its own page only "
                               "(http://{}), not from {}",
                               host, req.get_header_value("Origin").substr(0, 200)));
        return httplib::Server::HandlerResponse::Handled;
      }
      // A bodiless POST (PUT, ...) to a page that takes none: answered now, as the error
      // handler answers it, not after httplib waits out its read for a body (HasBody).
      const bool evaluation = std::any_of(
          kEvaluations.begin(), kEvaluations.end(),
          [&](std::string_view what) { return req.path == "/api/" + std::string(what); });
      if (req.method != "GET" && req.method != "HEAD" && (!evaluation || req.method != "POST") &&
          !HasBody(req)) {
        res.status = 404;
        ExplainFailure(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // Say why a request failed where httplib leaves the body empty.
    http.set_error_handler(ExplainFailure);
    // Address reuse (a restart need not wait out TIME_WAIT), but not port sharing: a second
    // server on a busy port is an error, not a silent half of the traffic.
    // The socket is kept for Bind to deepen its backlog.
    http.set_socket_options([this](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listening = sock;
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
  // A directory of examples that is not one would leave the UI's menu empty, unsaid: an
  // error where --examples gave it, a warning where the catalog has none beside it (a
  // catalog copied alone).
  core::Diagnostics warnings;
  if (std::error_code ec; !o.examples.empty() && !fs::is_directory(o.examples, ec)) {
    if (impl_->examples_given) {
      core::Diagnostics d;
      d.Error("--examples", "\"" + o.examples + "\" is not a directory",
              "give a directory of scenario .yaml files, or leave --examples out for the "
              "shipped examples");
      return d;
    }
    warnings.Warning("--examples",
                     "no examples directory beside the catalog (\"" + o.examples +
                         "\"): the page's example menu is empty",
                     "give --examples DIR, a directory of scenario .yaml files");
  }
  const int port = o.port == 0 ? impl_->http.bind_to_any_port(o.host)
                               : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) {
    core::Diagnostics d;
    // A host that names no address of this machine is the host's fault, not the port's.
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const int resolved = getaddrinfo(o.host.c_str(), nullptr, &hints, &found);
    if (found != nullptr) freeaddrinfo(found);
    if (resolved != 0) {
      d.Error("--host", fmt::format("cannot listen on \"{}\": {}", o.host, gai_strerror(resolved)),
              "give an address of this machine, e.g. 127.0.0.1 (the default) or 0.0.0.0");
      return d;
    }
    d.Error("--port", fmt::format("cannot listen on {}:{}", o.host, o.port),
            "is another server using the port? give another with --port, or 0 for any free one");
    return d;
  }
  impl_->port = port;
  // httplib listens with a backlog of 5: connections opened in a burst waited a SYN
  // retransmission (1 s and more) each. Listening again sets the queue's length.
  if (impl_->listening != INVALID_SOCKET) ::listen(impl_->listening, SOMAXCONN);
  if (!IsLoopback(o.host)) {
    warnings.Warning("--host",
                     fmt::format("{} is reachable from the network, and its API has no "
                                 "authentication: anyone who reaches it can run evaluations",
                                 Url()),
                     "bind 127.0.0.1 (the default) unless the network is trusted");
  }
  return core::Result<int>(port, std::move(warnings));
}

std::string Server::Url() const {
  const std::string& host = impl_->options.host;
  return fmt::format("http://{}:{}/", host.find(':') != std::string::npos ? "[" + host + "]" : host,
                     impl_->port);
}

bool Server::Listen() { return impl_->http.listen_after_bind(); }

void Server::Stop() { impl_->http.stop(); }

}  // namespace fathom::server
