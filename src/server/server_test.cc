#include "server/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "io/test_catalog.h"

namespace fathom::server {
namespace {

std::string Example(const std::string& name) {
  std::ifstream f(FATHOM_SOURCE_DIR "/examples/" + name + ".yaml");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A server on a free port of the loopback interface, serving on a thread of its own.
class ServerTest : public testing::Test {
 protected:
  void SetUp() override {
    ServeOptions o;
    o.port = 0;
    server_ = std::make_unique<Server>(io::test_support::TestCatalog(), o);
    core::Result<int> port = server_->Bind();
    ASSERT_TRUE(port.ok()) << port.diagnostics().Format();
    thread_ = std::thread([this] { server_->Listen(); });
    port_ = port.value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(60, 0);
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  // A connection to the server that sends `head` and no more (a request stalled half-way);
  // its socket, or -1.
  int Stall(const std::string& head) const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
        send(fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size())) {
      close(fd);
      return -1;
    }
    return fd;
  }

  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

TEST_F(ServerTest, ServesTheAppPage) {
  httplib::Result r = client_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("<textarea id=\"scenario\""), std::string::npos);
  EXPECT_NE(r->body.find("/api/examples"), std::string::npos);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  // Size takes the chip counts; the step's JSON and trace download; the engine reaches the
  // sweep; the result comes into view on a narrow screen.
  for (const char* part : {"id=\"chips\"", "id=\"get-json\"", "id=\"get-trace\"",
                           "what === \"sweep\" && $(\"engine\").value !== \"auto\"",
                           "scrollIntoView", "showError(await errorText(r))"}) {
    EXPECT_NE(r->body.find(part), std::string::npos) << part;
  }
  // Every field has a name for a screen reader: a <label for> or an aria-label.
  int fields = 0;
  for (const char* kind : {"<input ", "<select ", "<textarea "}) {
    for (size_t at = r->body.find(kind); at != std::string::npos; at = r->body.find(kind, at + 1)) {
      const std::string tag = r->body.substr(at, r->body.find('>', at) - at);
      const size_t id = tag.find("id=\"");
      ASSERT_NE(id, std::string::npos) << tag;
      const std::string name = tag.substr(id + 4, tag.find('"', id + 4) - id - 4);
      EXPECT_TRUE(tag.find("aria-label=\"") != std::string::npos ||
                  r->body.find("for=\"" + name + "\"") != std::string::npos)
          << name << " has no label";
      ++fields;
    }
  }
  EXPECT_GE(fields, 10);
}

TEST_F(ServerTest, ListsAndServesTheShippedExamples) {
  httplib::Result list = client_->Get("/api/examples");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_NE(list->body.find("\"llama3-8b-dgx-h100\""), std::string::npos);
  httplib::Result one = client_->Get("/api/examples/llama3-8b-dgx-h100");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_EQ(one->body, Example("llama3-8b-dgx-h100"));
  // The sweep example, in examples/sweeps/, is in the menu by its name.
  EXPECT_NE(list->body.find("\"llama3-70b-network\""), std::string::npos) << list->body;
  httplib::Result sweep = client_->Get("/api/examples/llama3-70b-network");
  ASSERT_TRUE(sweep);
  EXPECT_EQ(sweep->status, 200);
  EXPECT_EQ(sweep->body, Example("sweeps/llama3-70b-network"));
  httplib::Result missing = client_->Get("/api/examples/no-such-example");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body.rfind("error: no example named \"no-such-example\"", 0), 0u)
      << missing->body;
  httplib::Result missing_json = client_->Get("/api/examples/no-such-example?format=json");
  ASSERT_TRUE(missing_json);
  EXPECT_EQ(missing_json->get_header_value("Content-Type"), "application/json");
  // Only names: no path leaves the examples directory.
  httplib::Result escape = client_->Get("/api/examples/..%2F..%2Fetc%2Fpasswd");
  ASSERT_TRUE(escape);
  EXPECT_EQ(escape->status, 404);
}

TEST_F(ServerTest, ListsTheCatalog) {
  httplib::Result r = client_->Get("/api/catalog");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"h100-sxm\""), std::string::npos);
  EXPECT_NE(r->body.find("\"llama3-70b\""), std::string::npos);
  EXPECT_NE(r->body.find("\"dgx-h100-superpod\""), std::string::npos);
}

TEST_F(ServerTest, PredictsAStepAsTheCliDoes) {
  const std::string yaml = Example("llama3-8b-dgx-h100");
  httplib::Result html = client_->Post("/api/step", yaml, "application/yaml");
  ASSERT_TRUE(html);
  ASSERT_EQ(html->status, 200) << html->body;
  EXPECT_NE(html->body.find("<h2>Where the time goes</h2>"), std::string::npos);
  EXPECT_NE(html->body.find("<h2>Pipeline timeline</h2>"), std::string::npos);  // simulated
  httplib::Result estimated = client_->Post("/api/step?engine=estimate", yaml, "application/yaml");
  ASSERT_TRUE(estimated);
  ASSERT_EQ(estimated->status, 200);
  EXPECT_EQ(estimated->body.find("<h2>Pipeline timeline</h2>"), std::string::npos);
  httplib::Result json = client_->Post("/api/step?format=json", yaml, "application/yaml");
  ASSERT_TRUE(json);
  ASSERT_EQ(json->status, 200);
  EXPECT_NE(json->body.find("\"schema\": \"fathom.step/2\""), std::string::npos);
  EXPECT_NE(json->body.find("\"scenario\": \"llama3-8b-dgx-h100\""), std::string::npos);
  // Same input, same bytes.
  httplib::Result again = client_->Post("/api/step?format=json", yaml, "application/yaml");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, json->body);
}

TEST_F(ServerTest, SearchesPlansAndProjectsRuns) {
  httplib::Result plan =
      client_->Post("/api/plan", Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->status, 200) << plan->body;
  EXPECT_NE(plan->body.find("<h2>Ranked plans</h2>"), std::string::npos);
  httplib::Result run = client_->Post("/api/run?format=json&monte_carlo=0",
                                      Example("llama3-405b-reliability"), "application/yaml");
  ASSERT_TRUE(run);
  ASSERT_EQ(run->status, 200) << run->body;
  EXPECT_NE(run->body.find("\"schema\": \"fathom.run/3\""), std::string::npos);
}

TEST_F(ServerTest, SizesTheCluster) {
  const std::string yaml = Example("llama3-8b-dgx-h100");
  httplib::Result r = client_->Post("/api/size?tokens=100B&days=30", yaml, "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("<h2>Time to train</h2>"), std::string::npos);
  httplib::Result json =
      client_->Post("/api/size?tokens=100B&days=30&format=json", yaml, "application/yaml");
  ASSERT_TRUE(json);
  ASSERT_EQ(json->status, 200) << json->body;
  EXPECT_NE(json->body.find("\"schema\": \"fathom.size/3\""), std::string::npos);
  httplib::Result missing = client_->Post("/api/size?days=30", yaml, "application/yaml");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  EXPECT_NE(missing->body.find("tokens"), std::string::npos) << missing->body;
}

// The chip counts to try are given as the CLI's --chips gives them, beyond the scenario's
// cluster too.
TEST_F(ServerTest, SizesTheChipCountsAsked) {
  const std::string yaml = Example("llama3-8b-dgx-h100");  // 8 chips
  httplib::Result r = client_->Post("/api/size?tokens=100B&days=30&chips=8,64,512&format=json",
                                    yaml, "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  for (const char* chips : {"\"chips\": 8,", "\"chips\": 64,", "\"chips\": 512,"}) {
    EXPECT_NE(r->body.find(chips), std::string::npos) << chips;
  }
  httplib::Result bad = client_->Post("/api/size?tokens=100B&chips=many", yaml, "application/yaml");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("error: chips: \"many\""), std::string::npos) << bad->body;
}

// The trace of a step, as `fathom step --trace` writes it: the same filters and budget,
// gzipped on asking, named for the scenario.
TEST_F(ServerTest, WritesTheTraceOfAStep) {
  const std::string yaml = Example("llama3-8b-dgx-h100");
  httplib::Result r = client_->Post("/api/trace", yaml, "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(r->get_header_value("Content-Disposition"),
            "attachment; filename=\"llama3-8b-dgx-h100.trace.json\"");
  EXPECT_EQ(r->body.rfind("{\"displayTimeUnit\":\"ms\",\"otherData\":", 0), 0u);
  EXPECT_NE(r->body.find("\"scenario\":\"llama3-8b-dgx-h100\""), std::string::npos);
  httplib::Result gz =
      client_->Post("/api/trace?gzip=1&micro_batches=0-1", yaml, "application/yaml");
  ASSERT_TRUE(gz);
  ASSERT_EQ(gz->status, 200) << gz->body;
  EXPECT_EQ(gz->get_header_value("Content-Type"), "application/gzip");
  EXPECT_NE(gz->get_header_value("Content-Disposition").find(".trace.json.gz"), std::string::npos);
  ASSERT_GT(gz->body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz->body[0]), 0x1f);
  httplib::Result bad = client_->Post("/api/trace?stages=3", yaml, "application/yaml");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("stages: stage 3 is out of range"), std::string::npos) << bad->body;
  // It takes no engine: a trace is the simulator's.
  httplib::Result estimate = client_->Post("/api/trace?engine=estimate", yaml, "application/yaml");
  ASSERT_TRUE(estimate);
  EXPECT_EQ(estimate->status, 400);
}

// A step too long to simulate whole (more micro-batches than the simulator's budget) is
// traced at the last shorter step its figures are extrapolated from, and says so in a note
// and in the trace's metadata (it was a 400 whose hint led to the estimator, which writes no
// trace).
TEST_F(ServerTest, ATraceTooLongToSimulateWholeIsTheShorterStepsItIsExtrapolatedFrom) {
  std::string yaml = Example("llama3-8b-dgx-h100");
  const size_t at = yaml.find("global_batch_size: 128");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 22, "global_batch_size: 1048576");
  httplib::Result r = client_->Post("/api/trace?micro_batches=0", yaml, "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const nlohmann::json trace = nlohmann::json::parse(r->body);
  ASSERT_TRUE(trace["otherData"].contains("timeline")) << trace["otherData"].dump();
  EXPECT_EQ(trace["otherData"]["timeline"].get<std::string>().rfind("a shorter step's, of ", 0),
            0u);
  EXPECT_NE(r->get_header_value("X-Fathom-Warnings").find("the timeline is the shorter step"),
            std::string::npos)
      << r->get_header_value("X-Fathom-Warnings");
}

// A download is named after the scenario: a run of other characters is one '_', and a long
// name is cut short (a 3,000-character name made a 6 KB header).
TEST_F(ServerTest, NamesADownloadShortAndReadable) {
  const std::string example = Example("llama3-8b-dgx-h100");  // its first line is its name
  const std::string rest = example.substr(example.find('\n') + 1);
  auto disposition = [&](const std::string& name) {
    httplib::Result r = client_->Post("/api/trace?gzip=1&micro_batches=0",
                                      "name: \"" + name + "\"\n" + rest, "application/yaml");
    if (!r || r->status != 200) return std::string("no trace: ") + (r ? r->body : "no answer");
    return r->get_header_value("Content-Disposition");
  };
  EXPECT_EQ(disposition("Llama 3 \xc2\xb7 8B (test)"),
            "attachment; filename=\"Llama_3_8B_test.trace.json.gz\"");
  EXPECT_EQ(disposition("\xc2\xb7.hidden"), "attachment; filename=\"fathom.hidden.trace.json.gz\"");
  EXPECT_EQ(disposition(std::string(3000, 'x')),
            "attachment; filename=\"" + std::string(100, 'x') + ".trace.json.gz\"");
}

// A scenario without a name: Llama 3 8B on one 8-GPU node.
constexpr const char* kUnnamed =
    "model: llama3-8b\ncluster: {base: dgx-h100-superpod, chips: 8}\nplan:\n  dp: 8\n"
    "  global_batch_size: 128\n";

// A scenario without a name is named by the example the page loaded it from.
TEST_F(ServerTest, NamesAnUnnamedScenarioAsAsked) {
  const std::string yaml = kUnnamed;
  httplib::Result plain = client_->Post("/api/step?engine=estimate", yaml, "application/yaml");
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->body.find("<h1>scenario</h1>"), std::string::npos);
  httplib::Result named =
      client_->Post("/api/step?engine=estimate&name=my-run", yaml, "application/yaml");
  ASSERT_TRUE(named);
  ASSERT_EQ(named->status, 200) << named->body;
  EXPECT_NE(named->body.find("<h1>my-run</h1>"), std::string::npos);
  httplib::Result bad =
      client_->Post("/api/step?engine=estimate&name=a%20b", yaml, "application/yaml");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
}

// The API's diagnostics name its query parameters, not the CLI's flags; a parameter given
// twice is a 400 (only axis repeats); the posted file is named as the request names it.
TEST_F(ServerTest, SpeaksOfQueryParametersAndTheNameGiven) {
  const std::string yaml = kUnnamed;
  httplib::Result tokens = client_->Post("/api/run?tokens=0", yaml, "application/yaml");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->status, 400);
  EXPECT_EQ(tokens->body, "error: tokens: \"0\": must be more than 0; e.g. tokens=15T\n");
  httplib::Result days = client_->Post("/api/size?days=x&tokens=1T", yaml, "application/yaml");
  ASSERT_TRUE(days);
  EXPECT_EQ(days->status, 400);
  EXPECT_NE(days->body.find("(days=30)"), std::string::npos) << days->body;
  EXPECT_EQ(days->body.find("--"), std::string::npos) << days->body;
  httplib::Result untrained = client_->Post("/api/run?name=my-run", yaml, "application/yaml");
  ASSERT_TRUE(untrained);
  EXPECT_EQ(untrained->status, 400);
  EXPECT_NE(untrained->body.find("my-run.yaml: training: how much to train is not given"),
            std::string::npos)
      << untrained->body;
  EXPECT_NE(untrained->body.find("or tokens=15T"), std::string::npos) << untrained->body;
  httplib::Result twice =
      client_->Post("/api/step?engine=estimate&engine=simulate", yaml, "application/yaml");
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->status, 400);
  EXPECT_EQ(twice->body, "error: engine: given 2 times; give it once (only axis may repeat)\n");
  // Twice alike too (httplib keeps one of two equal pairs).
  httplib::Result alike =
      client_->Post("/api/step?format=json&format=json", yaml, "application/yaml");
  ASSERT_TRUE(alike);
  EXPECT_EQ(alike->status, 400) << alike->body;
  for (const char* empty : {"days", "tokens", "reliability"}) {
    const std::string given = std::string(empty) == "tokens" ? "chips=8" : "tokens=1T&chips=8";
    httplib::Result r =
        client_->Post("/api/size?" + given + "&" + empty + "=", yaml, "application/yaml");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << empty << ": " << r->body;
    EXPECT_NE(r->body.find(std::string(empty) + ": an empty value"), std::string::npos) << r->body;
  }
  // A name too long for a file: a 400 at name, not a 500 naming the server's directory.
  httplib::Result long_name =
      client_->Post("/api/step?name=" + std::string(251, 'a'), yaml, "application/yaml");
  ASSERT_TRUE(long_name);
  EXPECT_EQ(long_name->status, 400) << long_name->body;
  EXPECT_EQ(long_name->body, "error: name: 251 characters; at most 128; give a shorter name\n");
  // A search that would simulate more plans than the server runs for one request.
  httplib::Result deep = client_->Post(
      "/api/plan?format=json", yaml + "search:\n  simulate_top: 100000\n", "application/yaml");
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->status, 400) << deep->body;
  EXPECT_NE(deep->body.find("100000 plans to simulate; at most 64 here"), std::string::npos)
      << deep->body;
  // The search's flags are the search section's keys here.
  httplib::Result unfit = client_->Post("/api/plan",
                                        "model: llama3-405b\ncluster: {base: dgx-h100-superpod, "
                                        "chips: 8}\nplan:\n  dp: 8\n  global_batch_size: 128\n",
                                        "application/yaml");
  ASSERT_TRUE(unfit);
  EXPECT_EQ(unfit->status, 400) << unfit->body;
  EXPECT_EQ(unfit->body.find("--"), std::string::npos) << unfit->body;
  httplib::Result no_chips = client_->Post("/api/size?tokens=1T&chips=", yaml, "application/yaml");
  ASSERT_TRUE(no_chips);
  EXPECT_EQ(no_chips->status, 400) << no_chips->body;
  EXPECT_NE(no_chips->body.find("chips: an empty value"), std::string::npos) << no_chips->body;
  httplib::Result axis = client_->Post("/api/sweep?axis=plan.tp", yaml, "application/yaml");
  ASSERT_TRUE(axis);
  EXPECT_EQ(axis->status, 400);
  EXPECT_EQ(axis->body.find("--axis"), std::string::npos) << axis->body;
  // A scenario without a plan: the hint says how to find one here, not on a command line.
  httplib::Result planless =
      client_->Post("/api/step", "model: llama3-8b\ncluster: {base: dgx-h100-superpod, chips: 8}\n",
                    "application/yaml");
  ASSERT_TRUE(planless);
  EXPECT_EQ(planless->status, 400) << planless->body;
  EXPECT_NE(planless->body.find("`plan: {global_batch_size: SEQUENCES}`"), std::string::npos)
      << planless->body;
  EXPECT_EQ(planless->body.find("fathom plan"), std::string::npos) << planless->body;
  EXPECT_EQ(planless->body.find("--"), std::string::npos) << planless->body;
  // A run's warnings name the Monte Carlo's keys, not --trials.
  httplib::Result rare = client_->Post("/api/run?tokens=1M&format=json",
                                       Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(rare);
  ASSERT_EQ(rare->status, 200) << rare->body;
  const std::string warned = rare->get_header_value("X-Fathom-Warnings");
  EXPECT_NE(warned.find("give more trials (reliability.monte_carlo.trials)"), std::string::npos)
      << warned;
  EXPECT_EQ(warned.find("--"), std::string::npos) << warned;
  // Two Host headers: a 400 (RFC 9112), not the first one's answer.
  httplib::Headers hosts = {{"Host", "localhost"}, {"Host", "evil.example"}};
  httplib::Result two_hosts = client_->Get("/", hosts);
  ASSERT_TRUE(two_hosts);
  EXPECT_EQ(two_hosts->status, 400);
}

// A report's hints (a size's verdict) name the query parameters too, not the CLI's flags.
TEST_F(ServerTest, ReportHintsSpeakOfQueryParameters) {
  httplib::Result r = client_->Post("/api/size?tokens=15T&days=30&chips=8,16",
                                    Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("no chip count tried meets the deadline"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("try more chips (chips=N,N,...), a larger plan.global_batch_size"),
            std::string::npos)
      << r->body;
  EXPECT_EQ(r->body.find("--"), std::string::npos) << r->body;
}

// What httplib refuses before a handler runs says why: an encoding it does not read is a
// 415 naming it; a body it cannot read, a 400 saying what it checks.
TEST_F(ServerTest, ARequestHttplibCannotReadSaysWhy) {
  httplib::Headers br = {{"Content-Encoding", "br"}};
  httplib::Result r =
      client_->Post("/api/step", br, Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415) << r->body;
  EXPECT_NE(r->body.find("Content-Encoding \"br\" is not read here"), std::string::npos) << r->body;
  httplib::Headers gzip = {{"Content-Encoding", "gzip"}};
  httplib::Result bad = client_->Post("/api/step", gzip, "not gzip", "application/yaml");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(bad->body.find("the request could not be read"), std::string::npos) << bad->body;
  EXPECT_NE(bad->body.find("gzip data where Content-Encoding says gzip"), std::string::npos)
      << bad->body;
}

// curl -d posts a file as a form and drops its newlines: a scenario that came so and did
// not read says how to send it.
TEST_F(ServerTest, AScenarioFlattenedByCurlDashDSaysHowToSendIt) {
  std::string flat = Example("llama3-8b-dgx-h100");
  std::erase(flat, '\n');
  httplib::Result r = client_->Post("/api/step", flat, "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("curl -d drops a file's newlines; send it with --data-binary @FILE"),
            std::string::npos)
      << r->body;
  // One key on one line, or a flow mapping, is a line as meant (curl --data-binary 'model:
  // x'): its error has no such note.
  for (const char* line : {"model: llama3-8b", "{model: llama3-8b, cluster: dgx-h100}"}) {
    httplib::Result one = client_->Post("/api/step", line, "application/x-www-form-urlencoded");
    ASSERT_TRUE(one);
    EXPECT_EQ(one->status, 400) << one->body;
    EXPECT_EQ(one->body.find("curl -d"), std::string::npos) << one->body;
  }
  // As YAML, the same error has no such note.
  httplib::Result yaml = client_->Post("/api/step", flat, "application/yaml");
  ASSERT_TRUE(yaml);
  EXPECT_EQ(yaml->status, 400);
  EXPECT_EQ(yaml->body.find("curl -d"), std::string::npos) << yaml->body;
}

// A target longer than httplib reads is a 414 that says the bound and what to do.
TEST_F(ServerTest, ATargetTooLongIsA414ThatSaysWhy) {
  std::string chips;
  for (int i = 1; i <= 2000; ++i) chips += (i > 1 ? "," : "") + std::to_string(8 * i);
  httplib::Result r = client_->Post("/api/size?tokens=15T&chips=" + chips,
                                    Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
  EXPECT_EQ(r->body,
            "error: the request line is too long: it may be 8,192 bytes at most (the path and "
            "the query); give fewer chip counts or axis values, or the axes in the scenario's "
            "sweep section (the body may be 4 MiB)\n");
}

// Diagnostics name a catalog file as the catalog's ("data/clusters/..."), not by the
// server's absolute path.
TEST_F(ServerTest, ShowsCatalogFilesRelativeToTheCatalog) {
  httplib::Result r =
      client_->Post("/api/step",
                    "model: llama3-8b\ncluster: {base: dgx-h100-superpod, chips: 100000000}\n"
                    "plan: {dp: 100000000, global_batch_size: 100000000}\n",
                    "application/yaml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body.rfind("error: data/clusters/dgx-h100-superpod.yaml:", 0), 0u) << r->body;
  EXPECT_EQ(r->body.find(FATHOM_SOURCE_DIR), std::string::npos) << r->body;
}

TEST_F(ServerTest, SweepsAGrid) {
  const std::string yaml = Example("llama3-8b-dgx-h100");
  httplib::Result r = client_->Post("/api/sweep?axis=plan.zero%3D1%2C3&axis=plan.tp%3D1%2C2", yaml,
                                    "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("<h2>Points</h2>"), std::string::npos);
  EXPECT_NE(r->body.find("4 points"), std::string::npos);
  httplib::Result none = client_->Post("/api/sweep", yaml, "application/yaml");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 400) << none->body;  // no axes: nothing to sweep
  httplib::Result big = client_->Post(
      "/api/"
      "sweep?axis=plan.micro_batch_size%3D1%2C2%2C3%2C4%2C5%2C6%2C7%2C8%2C9%2C10%2C11%2C12%2C13%"
      "2C14%2C15%2C16&axis=plan.zero%3D0%2C1%2C2%2C3&axis=plan.tp%3D1%2C2%2C4%2C8%2C16",
      yaml, "application/yaml");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 400);
  EXPECT_NE(big->body.find("at most 256"), std::string::npos) << big->body;
}

// A sweep's warnings reach the page and the JSON's header, as every other endpoint's.
TEST_F(ServerTest, SweepCarriesItsWarnings) {
  const std::string yaml =
      "model: llama3-8b\ncluster: {base: dgx-h100-superpod, chips: 16}\nplan:\n  dp: 16\n"
      "  global_batch_size: 128\n";
  const char* axes = "axis=plan.tp=1,16&axis=plan.dp=16,1&engine=estimate";
  httplib::Result json =
      client_->Post(std::string("/api/sweep?format=json&") + axes, yaml, "application/yaml");
  ASSERT_TRUE(json);
  ASSERT_EQ(json->status, 200) << json->body;
  const std::string warnings = json->get_header_value("X-Fathom-Warnings");
  EXPECT_NE(warnings.find("tensor-parallel group (tp 16)"), std::string::npos) << warnings;
  EXPECT_NE(json->body.find("\"engine\": \"estimate\""), std::string::npos);
  httplib::Result html = client_->Post(std::string("/api/sweep?") + axes, yaml, "application/yaml");
  ASSERT_TRUE(html);
  ASSERT_EQ(html->status, 200) << html->body;
  EXPECT_EQ(html->body.rfind("<pre class=\"warning\">", 0), 0u) << html->body.substr(0, 300);
  EXPECT_NE(html->body.find("tensor-parallel group (tp 16)"), std::string::npos);
  httplib::Result engine =
      client_->Post("/api/sweep?axis=plan.tp=1,2&engine=fast", yaml, "application/yaml");
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->status, 400);
}

// The page's name for the scenario names the sweep's rows; it is not one of the overrides.
TEST_F(ServerTest, SweepNameIsNoOverride) {
  const std::string yaml =
      "model: llama3-8b\ncluster: {base: dgx-h100-superpod, chips: 16}\nplan:\n  dp: 16\n"
      "  global_batch_size: 128\n";
  httplib::Result r =
      client_->Post("/api/sweep?format=json&name=from-the-page&axis=plan.zero=1,3&engine=estimate",
                    yaml, "application/yaml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"set\": []"), std::string::npos) << r->body.substr(0, 600);
  EXPECT_NE(r->body.find("from-the-page"), std::string::npos) << r->body.substr(0, 600);
}

// docs/reports.md writes the axis as KEY=V1,V2: the '=' inside the value may be sent as is
// or encoded.
TEST_F(ServerTest, SweepAxisWithALiteralOrAnEncodedEquals) {
  const std::string yaml = Example("llama3-8b-dgx-h100");
  for (const char* target :
       {"/api/sweep?format=json&axis=plan.tp=1,2", "/api/sweep?format=json&axis=plan.tp%3D1%2C2",
        "/api/sweep?axis=plan.tp=1,2&format=json"}) {
    httplib::Result r = client_->Post(target, yaml, "application/yaml");
    ASSERT_TRUE(r) << target;
    ASSERT_EQ(r->status, 200) << target << "\n" << r->body;
    EXPECT_NE(r->body.find("\"key\": \"plan.tp\""), std::string::npos) << target;
    EXPECT_NE(r->body.find("\"points\": 2,"), std::string::npos) << target << "\n" << r->body;
  }
  httplib::Result two = client_->Post("/api/sweep?format=json&axis=plan.tp=1,2&axis=plan.zero=1,3",
                                      yaml, "application/yaml");
  ASSERT_TRUE(two);
  ASSERT_EQ(two->status, 200) << two->body;
  EXPECT_NE(two->body.find("\"points\": 4,"), std::string::npos) << two->body;
}

TEST_F(ServerTest, BadInputIsA400WithTheDiagnostics) {
  const std::string yaml =
      "model: llama3-8b\ncluster: dgx-h100-superpod\nplan:\n  tp: 3\n  dp: 8\n"
      "  global_batch_size: 128\n";
  httplib::Result r = client_->Post("/api/step", yaml, "application/yaml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("scenario.yaml"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("plan.tp"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("fathom-serve-"), std::string::npos) << "the scratch path leaked";
  httplib::Result syntax = client_->Post("/api/step", "model: [", "application/yaml");
  ASSERT_TRUE(syntax);
  EXPECT_EQ(syntax->status, 400);
  EXPECT_NE(syntax->body.find("cannot parse"), std::string::npos) << syntax->body;
  httplib::Result empty = client_->Post("/api/step", "", "application/yaml");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  httplib::Result format =
      client_->Post("/api/step?format=pdf", Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(format);
  EXPECT_EQ(format->status, 400);
  EXPECT_NE(format->body.find("expected html or json"), std::string::npos);
  httplib::Result unknown = client_->Get("/api/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  httplib::Result parameter =
      client_->Post("/api/step?formt=json", Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(parameter);
  EXPECT_EQ(parameter->status, 400);
  EXPECT_NE(parameter->body.find("formt: unknown query parameter for /api/step; it takes "
                                 "format, engine, name"),
            std::string::npos)
      << parameter->body;
  // A pair without a name, which httplib drops, is refused too; empty pairs are not pairs.
  httplib::Result nameless =
      client_->Post("/api/step?=&&&", Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(nameless);
  EXPECT_EQ(nameless->status, 400);
  EXPECT_NE(nameless->body.find("a query parameter without a name"), std::string::npos)
      << nameless->body;
  httplib::Result gaps = client_->Post("/api/step?format=json&&engine=estimate",
                                       Example("llama3-8b-dgx-h100"), "application/yaml");
  ASSERT_TRUE(gaps);
  EXPECT_EQ(gaps->status, 200);
}

// A request that asked for JSON (format=json) is refused in JSON too: fathom.errors/1, each
// diagnostic with its severity, place, key, message and hint (null where it has none), the
// same bytes each time; a request for HTML keeps the text.
TEST_F(ServerTest, RefusesAJsonRequestInJson) {
  const std::string yaml =
      "model: {base: llama3-8b, seq_len: 8192}\ncluster: {base: dgx-h100-superpod, chips: 8}\n"
      "plan:\n  ttp: 1\n  dp: 8\n  global_batch_size: 128\n";
  for (const char* target :
       {"/api/step?format=json", "/api/plan?format=json", "/api/run?format=json&tokens=1T"}) {
    httplib::Result r = client_->Post(target, yaml, "application/yaml");
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << target;
    const nlohmann::ordered_json j = nlohmann::ordered_json::parse(r->body);
    EXPECT_EQ(j["schema"], "fathom.errors/1");
    ASSERT_FALSE(j["errors"].empty()) << r->body;
    const nlohmann::ordered_json& e = j["errors"][0];
    std::vector<std::string> keys;
    for (const auto& [key, value] : e.items()) keys.push_back(key);
    EXPECT_EQ(keys,
              (std::vector<std::string>{"severity", "file", "line", "key", "message", "hint"}));
    EXPECT_EQ(e["severity"], "error");
    EXPECT_EQ(e["file"], "scenario.yaml");
    EXPECT_EQ(e["line"], 4);
    EXPECT_EQ(e["key"], "plan.ttp");
    EXPECT_EQ(e["message"], "unknown key \"ttp\"");
    EXPECT_EQ(e["hint"], "did you mean \"tp\"?");
    EXPECT_EQ(r->body.find("fathom-serve-"), std::string::npos) << "the scratch path leaked";
    httplib::Result again = client_->Post(target, yaml, "application/yaml");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, r->body);
  }
  httplib::Result text = client_->Post("/api/step", yaml, "application/yaml");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 400);
  EXPECT_EQ(text->get_header_value("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(text->body.rfind("error: scenario.yaml:4: plan.ttp: unknown key \"ttp\"; did you mean "
                             "\"tp\"?\n",
                             0),
            0u)
      << text->body;

  // A sweep section's axis: its file and its line apart; an axis parameter's, the parameter.
  httplib::Result swept = client_->Post(
      "/api/sweep?format=json",
      "model: llama3-8b\ncluster: {base: dgx-h100-superpod, chips: 8}\nplan: {dp: 8, "
      "global_batch_size: 128}\nsweep:\n  axes:\n    - {key: plan.tp, values: [1, abc]}\n",
      "application/yaml");
  ASSERT_TRUE(swept);
  EXPECT_EQ(swept->status, 400) << swept->body;
  const nlohmann::ordered_json axis_error = nlohmann::ordered_json::parse(swept->body)["errors"][0];
  EXPECT_EQ(axis_error["file"], "scenario.yaml") << swept->body;
  EXPECT_EQ(axis_error["line"], 6) << swept->body;
  httplib::Result param =
      client_->Post("/api/sweep?format=json&axis=plan.nope%3D1", yaml, "application/yaml");
  ASSERT_TRUE(param);
  EXPECT_EQ(nlohmann::ordered_json::parse(param->body)["errors"][0]["file"], "axis") << param->body;

  // A bad query parameter: no file, no line.
  const std::string good = Example("llama3-8b-dgx-h100");
  httplib::Result engine = client_->Post("/api/step?format=json&engine=fast", good, "text/plain");
  ASSERT_TRUE(engine);
  EXPECT_EQ(engine->status, 400);
  EXPECT_EQ(engine->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::ordered_json::parse(engine->body),
            nlohmann::ordered_json::parse(R"({"schema": "fathom.errors/1", "errors": [
                {"severity": "error", "file": null, "line": null, "key": "engine",
                 "message": "expected auto, simulate or estimate, got \"fast\"",
                 "hint": "auto simulates within the simulator's budget, else estimates"}]})"))
      << engine->body;
  httplib::Result unknown = client_->Post("/api/step?format=json&formt=1", good, "text/plain");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  const nlohmann::ordered_json u = nlohmann::ordered_json::parse(unknown->body);
  EXPECT_EQ(u["errors"][0]["key"], "formt");
  EXPECT_EQ(u["errors"][0]["hint"], "it takes format, engine, name");
  httplib::Result engine_text = client_->Post("/api/step?engine=fast", good, "text/plain");
  ASSERT_TRUE(engine_text);
  EXPECT_EQ(engine_text->body,
            "error: engine: expected auto, simulate or estimate, got \"fast\"; auto simulates "
            "within the simulator's budget, else estimates\n");
  EXPECT_EQ(engine_text->get_header_value("Content-Type"), "text/plain; charset=utf-8");

  // Refused before the route: the wrong method, another origin.
  httplib::Result get = client_->Get("/api/step?format=json");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::ordered_json::parse(get->body)["errors"][0]["message"],
            "/api/step takes POST only, not GET");
  httplib::Result origin = client_->Post(
      "/api/step?format=json", {{"Origin", "http://attacker.example"}}, good, "text/plain");
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->status, 403);
  EXPECT_EQ(origin->get_header_value("Content-Type"), "application/json");
  EXPECT_NE(origin->body.find("its own page only"), std::string::npos) << origin->body;
}

// Uploads that stall half-way hold a worker each until their read times out (5 s); the
// others still answer at once.
TEST_F(ServerTest, StalledUploadsDoNotHoldUpOtherRequests) {
  std::vector<int> stalled;
  for (int i = 0; i < 16; ++i) {
    const int fd = Stall(
        "POST /api/step HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/yaml\r\n"
        "Content-Length: 1000\r\n\r\nmodel: ");
    ASSERT_GE(fd, 0);
    stalled.push_back(fd);
  }
  httplib::Client quick("127.0.0.1", port_);
  quick.set_read_timeout(3, 0);  // under the stalled reads' 5 s
  httplib::Result r = quick.Get("/api/catalog");
  ASSERT_TRUE(r) << "no answer while 16 uploads stall";
  EXPECT_EQ(r->status, 200);
  for (int fd : stalled) close(fd);
}

// More connections than the 64 threads the server had, opened at once and each stalled
// half-way through its header: they are taken at once (a backlog of 5 made each burst wait
// for SYNs to be sent again) and the page still answers while they stall (it waited for
// their reads to time out, 5 s each).
TEST_F(ServerTest, StalledHeadersDoNotHoldUpThePage) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<int> stalled;
  for (int i = 0; i < 160; ++i) {
    const int fd = Stall("GET /api/catalog HTTP/1.1\r\nHost: localhost\r\nX-Partial: ");
    ASSERT_GE(fd, 0);
    stalled.push_back(fd);
  }
  httplib::Client quick("127.0.0.1", port_);
  quick.set_connection_timeout(3, 0);
  quick.set_read_timeout(3, 0);  // under the stalled reads' 5 s
  httplib::Result r = quick.Get("/api/catalog");
  ASSERT_TRUE(r) << "no answer while 160 headers stall";
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4))
      << "the stalled connections were not all taken at once, or the page waited for them";
  for (int fd : stalled) close(fd);
}

// Every answer, a refusal too, forbids sniffing, framing and anything from elsewhere; the
// page's one script runs by this answer's nonce.
TEST_F(ServerTest, EveryAnswerCarriesTheSecurityHeaders) {
  const std::string yaml = Example("llama3-8b-dgx-h100");
  std::vector<httplib::Result> answers;
  answers.push_back(client_->Get("/"));
  answers.push_back(client_->Get("/api/catalog"));
  answers.push_back(client_->Get("/api/nothing"));
  answers.push_back(client_->Post("/api/step?engine=estimate", yaml, "application/yaml"));
  answers.push_back(client_->Post("/api/step?format=json", "model: [", "application/yaml"));
  answers.push_back(client_->Get("/api/examples?x=" + std::string(9000, 'a')));  // 414
  for (const httplib::Result& r : answers) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << r->status;
    EXPECT_EQ(r->get_header_value("X-Frame-Options"), "DENY") << r->status;
    EXPECT_EQ(r->get_header_value_count("Content-Security-Policy"), 1u) << r->status;
    const std::string csp = r->get_header_value("Content-Security-Policy");
    EXPECT_EQ(csp.rfind("default-src 'none'; ", 0), 0u) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  }
  const httplib::Result& page = answers[0];
  const std::string csp = page->get_header_value("Content-Security-Policy");
  const size_t nonce = csp.find("script-src 'nonce-");
  ASSERT_NE(nonce, std::string::npos) << csp;
  const std::string value = csp.substr(nonce + 18, csp.find('\'', nonce + 18) - nonce - 18);
  EXPECT_EQ(value.size(), 32u) << csp;
  EXPECT_NE(page->body.find("<script nonce=\"" + value + "\">"), std::string::npos);
  EXPECT_EQ(page->body.find("<script>"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
  // The page's inline styles (style="...") stay allowed; its markup has no inline handler.
  EXPECT_NE(csp.find("style-src 'unsafe-inline'"), std::string::npos) << csp;
  EXPECT_EQ(page->body.find(" onclick="), std::string::npos);
  httplib::Result again = client_->Get("/");
  ASSERT_TRUE(again);
  EXPECT_NE(again->get_header_value("Content-Security-Policy"), csp) << "the nonce repeats";
  EXPECT_EQ(answers[1]->get_header_value("Content-Security-Policy").find("nonce"),
            std::string::npos);
}

// Sends `head` (a request without a body) on a socket of its own and reads the answer until
// `until` is in it, for at most 3 s (under the server's 5 s read timeout).
std::string RawRequest(int port, const std::string& head, const std::string& until) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval wait{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 &&
      send(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size())) {
    char buffer[4096];
    while (answer.find(until) == std::string::npos) {
      const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fd);
  return answer;
}

// A POST with neither Content-Length nor chunked encoding has an empty body (as `curl -X POST`
// sends it): the answer comes at once, not after the 5 s read timeout. An evaluation says the
// scenario is empty; a page that takes no POST says so.
TEST_F(ServerTest, APostWithoutALengthHasAnEmptyBody) {
  const std::string step =
      RawRequest(port_, "POST /api/step HTTP/1.1\r\nHost: localhost\r\n\r\n", "expected a mapping");
  EXPECT_EQ(step.rfind("HTTP/1.1 400", 0), 0u) << step;
  EXPECT_NE(step.find("the file is empty"), std::string::npos) << step;
  const std::string nope =
      RawRequest(port_, "POST /api/nope HTTP/1.1\r\nHost: localhost\r\n\r\n", "/api/catalog");
  EXPECT_EQ(nope.rfind("HTTP/1.1 404", 0), 0u) << nope;
  EXPECT_NE(nope.find("no such page"), std::string::npos) << nope;
  const std::string page =
      RawRequest(port_, "POST /api/catalog HTTP/1.1\r\nHost: localhost\r\n\r\n", "GET only");
  EXPECT_EQ(page.rfind("HTTP/1.1 405", 0), 0u) << page;
  // Another method to an evaluation, bodiless: its 405 at once too.
  const std::string put =
      RawRequest(port_, "PUT /api/step HTTP/1.1\r\nHost: localhost\r\n\r\n", "POST only");
  EXPECT_EQ(put.rfind("HTTP/1.1 405", 0), 0u) << put;
}

// A Content-Length that is not a count of bytes is refused at once, naming the header: "abc"
// was read as an empty body and "-5" as 2^64 - 5 bytes (a 5 s wait for the read to time out).
TEST_F(ServerTest, RefusesAContentLengthThatIsNotACount) {
  for (const std::string length : {"abc", "-5"}) {
    const std::string answer =
        RawRequest(port_,
                   "POST /api/step HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + length +
                       "\r\n\r\nmodel: x\n",
                   "curl --data-binary");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(answer.find("Content-Length: expected the body's length in bytes (digits), got \"" +
                          length + "\""),
              std::string::npos)
        << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  }
  const std::string huge = RawRequest(
      port_,
      "POST /api/step HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "4 MiB at most");
  EXPECT_EQ(huge.rfind("HTTP/1.1 413", 0), 0u) << huge;
  EXPECT_NE(huge.find("the body is too large"), std::string::npos) << huge;
  // Two lengths that differ: a 400 (RFC 9112, 6.3), not the first one's body.
  const std::string two = RawRequest(port_,
                                     "POST /api/step HTTP/1.1\r\nHost: localhost\r\n"
                                     "Content-Length: 3\r\nContent-Length: 50\r\n\r\nabc",
                                     "more than one Content-Length");
  EXPECT_EQ(two.rfind("HTTP/1.1 400", 0), 0u) << two;
}

// A chunked body has no Content-Length for the server's bound to check: it is bounded as it
// is read, 413 past 4 MiB; a small chunked body is evaluated.
TEST_F(ServerTest, BoundsAChunkedBody) {
  const std::string big = Example("llama3-8b-dgx-h100") + std::string(5 << 20, '#');
  auto chunked = [&](const std::string& body) {
    return client_->Post(
        "/api/step?engine=estimate",
        [&body](size_t offset, httplib::DataSink& sink) {
          const size_t n = std::min<size_t>(64 << 10, body.size() - offset);
          sink.write(body.data() + offset, n);
          if (offset + n == body.size()) sink.done();
          return true;
        },
        "application/yaml");
  };
  httplib::Result large = chunked(big);
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);
  EXPECT_NE(large->body.find("too large"), std::string::npos) << large->body.substr(0, 200);
  httplib::Result small = chunked(Example("llama3-8b-dgx-h100"));
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200) << small->body.substr(0, 300);
}

TEST_F(ServerTest, TheWrongMethodIsA405ThatNamesTheRightOne) {
  httplib::Result get = client_->Get("/api/step");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  EXPECT_NE(get->body.find("/api/step takes POST only, not GET"), std::string::npos) << get->body;
  httplib::Result post = client_->Post("/api/catalog", "", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET");
  httplib::Result put = client_->Put("/", "", "text/plain");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  EXPECT_FALSE(put->body.empty());
}

TEST_F(ServerTest, LeavesNoScratchFilesBehind) {
  char pattern[] = "/tmp/fathom-server-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string tmp = pattern;
  const char* before = std::getenv("TMPDIR");
  const std::string saved = before ? before : "";
  setenv("TMPDIR", tmp.c_str(), 1);
  httplib::Result ok =
      client_->Post("/api/step?engine=estimate", Example("llama3-8b-dgx-h100"), "application/yaml");
  httplib::Result bad = client_->Post("/api/step", "model: [", "application/yaml");
  if (before) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  ASSERT_TRUE(ok);
  ASSERT_TRUE(bad);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(std::filesystem::is_empty(tmp)) << "scratch left in " << tmp;
  std::filesystem::remove_all(tmp);
}

TEST_F(ServerTest, ReadsNoFilesAPostedScenarioNames) {
  const std::string yaml =
      "model: /etc/passwd\ncluster: {base: dgx-h100-superpod, chips: 8}\nplan:\n  dp: 8\n"
      "  global_batch_size: 128\n";
  httplib::Result r = client_->Post("/api/step", yaml, "application/yaml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body.find("root:"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("files are not read here"), std::string::npos) << r->body;
  // A section given as a file, likewise.
  httplib::Result search = client_->Post(
      "/api/plan", Example("llama3-8b-dgx-h100") + "search: /etc/passwd\n", "application/yaml");
  ASSERT_TRUE(search);
  EXPECT_EQ(search->status, 400);
  EXPECT_EQ(search->body.find("root:"), std::string::npos) << search->body;
  EXPECT_NE(search->body.find("names a file, and files are not read here"), std::string::npos)
      << search->body;
}

// --allow-files reads files only in its root's tree: no absolute path, no ".." or symbolic
// link out of it; and a file that is no mapping is described, never quoted.
TEST(ServerFiles, AllowFilesConfinesReadsToTheWorkingDirectory) {
  namespace fs = std::filesystem;
  const fs::path top = fs::temp_directory_path() / ("fathom-files-" + std::to_string(::getpid()));
  const fs::path root = top / "work";
  fs::create_directories(root / "sub");
  std::ofstream(top / "outside.yaml") << "secret-outside-the-root\n";
  std::ofstream(root / "text.yaml") << "secret-inside-the-root\n";
  std::ofstream(root / "sub" / "cl.yaml") << "base: dgx-h100-superpod\nchips: 8\n";
  std::error_code ec;
  fs::create_symlink(top / "outside.yaml", root / "link.yaml", ec);
  ASSERT_FALSE(ec) << ec.message();

  ServeOptions o;
  o.port = 0;
  o.allow_files = true;
  o.files_root = root.string();
  Server server(io::test_support::TestCatalog(), o);
  core::Result<int> port = server.Bind();
  ASSERT_TRUE(port.ok()) << port.diagnostics().Format();
  std::thread thread([&] { server.Listen(); });
  httplib::Client client("127.0.0.1", port.value());
  client.set_read_timeout(60, 0);
  auto step = [&](const std::string& cluster) {
    const std::string yaml =
        "model: llama3-8b\ncluster: " + cluster + "\nplan: {dp: 8, global_batch_size: 128}\n";
    httplib::Result r = client.Post("/api/step?format=json", yaml, "application/yaml");
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  };
  const struct {
    std::string cluster, said;
  } refused[] = {
      {"/etc/passwd", "is an absolute path"},
      {(top / "outside.yaml").string(), "is an absolute path"},
      {"../outside.yaml", "leads outside the server's working directory"},
      {"sub/../../outside.yaml", "leads outside the server's working directory"},
      {"link.yaml", "leads outside the server's working directory"},
      {"text.yaml", "a scalar of 22 characters (not quoted here)"},
  };
  for (const auto& c : refused) {
    const auto [status, body] = step(c.cluster);
    EXPECT_EQ(status, 400) << c.cluster << ": " << body;
    EXPECT_NE(body.find(c.said), std::string::npos) << c.cluster << ": " << body;
    EXPECT_EQ(body.find("root:"), std::string::npos) << body;
    EXPECT_EQ(body.find("secret-"), std::string::npos) << body;
    EXPECT_EQ(body.find(root.string()), std::string::npos) << body;  // the server's path
  }
  // A file inside the tree, by a path relative to the root (not to the process's
  // working directory), is read; ".." that stays inside is fine.
  EXPECT_EQ(step("sub/cl.yaml").first, 200) << step("sub/cl.yaml").second;
  EXPECT_EQ(step("sub/../sub/cl.yaml").first, 200);
  server.Stop();
  thread.join();
  fs::remove_all(top);
}

TEST_F(ServerTest, AnswersOnlyRequestsAddressedToLoopback) {
  httplib::Result evil = client_->Get("/", {{"Host", "attacker.example:8470"}});
  ASSERT_TRUE(evil);
  EXPECT_EQ(evil->status, 403);
  httplib::Result local = client_->Get("/", {{"Host", "localhost:8470"}});
  ASSERT_TRUE(local);
  EXPECT_EQ(local->status, 200);
  // A loopback name followed by anything but a port is no loopback name.
  for (const char* host : {"[::1]evil.example", "127.0.0.1:evil", "localhost:", "[::1"}) {
    httplib::Result odd = client_->Get("/", {{"Host", host}});
    ASSERT_TRUE(odd);
    EXPECT_EQ(odd->status, 403) << host;
  }
  for (const char* host : {"[::1]:8470", "127.0.0.1", "localhost"}) {
    httplib::Result ok = client_->Get("/", {{"Host", host}});
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200) << host;
  }
}

// Headers past 8 KiB in all are a 431, in many short lines as in one long one (httplib bounds
// each line only); a browser's are well within.
TEST_F(ServerTest, RefusesHeadersBeyondTheirBound) {
  httplib::Headers many;
  for (int i = 0; i < 2000; ++i) many.emplace("X" + std::to_string(i), "y");
  httplib::Result refused = client_->Get("/api/examples", many);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 431);
  EXPECT_NE(refused->body.find("more than 8 KiB"), std::string::npos) << refused->body;
  httplib::Result fine = client_->Get("/api/examples", {{"X-Some", std::string(2000, 'a')}});
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200);
}

// A page of another origin may make the browser POST a form (no preflight), which would
// keep the one evaluation slot busy: a POST whose Origin is not the server's own is 403.
// The page's own requests (Origin http://HOST) and those without Origin (curl) are served.
TEST_F(ServerTest, RefusesPostsFromAnotherOrigin) {
  const std::string yaml = Example("llama3-8b-dgx-h100");
  const std::string self = "http://127.0.0.1:" + std::to_string(port_);
  for (const std::string& origin : {std::string("http://attacker.example"), std::string("null"),
                                    "http://localhost:" + std::to_string(port_),
                                    "http://127.0.0.1:" + std::to_string(port_ + 1)}) {
    httplib::Result r =
        client_->Post("/api/step?engine=estimate", {{"Origin", origin}}, yaml, "text/plain");
    ASSERT_TRUE(r) << origin;
    EXPECT_EQ(r->status, 403) << origin;
    EXPECT_NE(r->body.find("its own page only"), std::string::npos) << r->body;
  }
  httplib::Result own =
      client_->Post("/api/step?engine=estimate", {{"Origin", self}}, yaml, "application/yaml");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200) << own->body;
  httplib::Result get = client_->Get("/api/catalog", {{"Origin", "http://attacker.example"}});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);  // reading is not evaluating (and CORS keeps the answer)
}

// curl's default Content-Type (a form) is read as YAML like any other body, whatever its
// size up to 4 MiB; the body is never echoed as a query parameter.
TEST_F(ServerTest, TakesTheBodyAsYamlWhateverItsContentType) {
  const std::string yaml = Example("llama3-8b-dgx-h100");
  httplib::Result want = client_->Post("/api/step?format=json", yaml, "application/yaml");
  ASSERT_TRUE(want);
  ASSERT_EQ(want->status, 200) << want->body;
  std::string big = yaml + "# " + std::string(9000, 'x') + "\n";
  for (const char* type : {"application/x-www-form-urlencoded", "text/plain", ""}) {
    httplib::Result form = client_->Post("/api/step?format=json", big, type);
    ASSERT_TRUE(form) << type;
    EXPECT_EQ(form->status, 200) << type << "\n" << form->body.substr(0, 2000);
    EXPECT_EQ(form->body, want->body) << type;
  }
  httplib::Result bad =
      client_->Post("/api/step?formt=json", big, "application/x-www-form-urlencoded");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(bad->body.find("model:"), std::string::npos) << bad->body;
  EXPECT_LT(bad->body.size(), 200u) << bad->body;
  httplib::Result huge =
      client_->Post("/api/step", std::string(5 << 20, '#'), "application/x-www-form-urlencoded");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  EXPECT_NE(huge->body.find("4 MiB"), std::string::npos) << huge->body;
  httplib::MultipartFormDataItems items = {{"scenario", yaml, "scenario.yaml", "application/yaml"}};
  httplib::Result multipart = client_->Post("/api/step", items);
  ASSERT_TRUE(multipart);
  EXPECT_EQ(multipart->status, 415);
  EXPECT_NE(multipart->body.find("Content-Type: application/yaml"), std::string::npos);
}

TEST_F(ServerTest, CarriesWarningsOfJson) {
  // A plan over the chip's memory warns; a JSON answer says so in a header.
  const std::string plan =
      "cluster: {base: dgx-h100-superpod, chips: 8}\nplan:\n  dp: 8\n  zero: 0\n"
      "  micro_batch_size: 16\n  global_batch_size: 128\n";
  auto warned = [&](const std::string& model) {
    httplib::Result r =
        client_->Post("/api/step?format=json&engine=estimate", model + plan, "application/yaml");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    return r ? r->get_header_value("X-Fathom-Warnings") : std::string();
  };
  const std::string warnings = warned("model: llama3-8b\n");
  EXPECT_NE(warnings.find("GiB more than"), std::string::npos) << warnings;
  // Located in the posted scenario, by the name diagnostics give it: no scratch path.
  EXPECT_NE(warnings.find("scenario.yaml:"), std::string::npos) << warnings;
  EXPECT_EQ(warnings.find("fathom-serve-"), std::string::npos) << warnings;
  // A warning quoting a carriage return keeps its header (httplib drops a value with one).
  const std::string quoted =
      warned("model: {base: llama3-8b, name: \"a\\rb\", max_positions: 4096}\n");
  EXPECT_NE(quoted.find("the longest sequence model a?b accepts"), std::string::npos) << quoted;
  EXPECT_NE(quoted.find("GiB more than"), std::string::npos) << quoted;
}

// A posted scenario whose text is not UTF-8 is a 400 naming the key, for every report and
// format (not a 500 from a writer that cannot encode it); a sweep, whose every point fails
// with it, too (the error once, not a row per point).
TEST_F(ServerTest, TextThatIsNotUtf8IsA400AtItsKey) {
  const std::string example = Example("llama3-8b-dgx-h100");  // its first line is its name
  const std::string yaml = "name: \"caf\xe9\"\n" + example.substr(example.find('\n') + 1);
  for (const char* target :
       {"/api/step?format=json", "/api/step", "/api/plan?format=json", "/api/run?format=json",
        "/api/size?tokens=10B&format=json", "/api/sweep?format=json&axis=plan.zero=1,3"}) {
    httplib::Result r = client_->Post(target, yaml, "application/yaml");
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target << "\n" << r->body;
    EXPECT_NE(r->body.find("is not UTF-8 text"), std::string::npos) << target << r->body;
    if (std::string(target).find("json") == std::string::npos) {
      EXPECT_NE(r->body.find("scenario.yaml:1: name: "), std::string::npos) << target << r->body;
      continue;
    }
    // A refusal of a JSON request is JSON, and so UTF-8 (the bad byte shows as U+FFFD).
    const nlohmann::ordered_json e = nlohmann::ordered_json::parse(r->body)["errors"][0];
    EXPECT_EQ(e["file"], "scenario.yaml") << target;
    EXPECT_EQ(e["line"], 1) << target;
    EXPECT_EQ(e["key"], "name") << target;
  }
}

// The examples list is JSON, and so UTF-8, whatever the examples' file names.
// The menu lists the examples the page can load: a regular file whose name it can send
// back (not "caf\xe9" or "my run", which the route does not take, nor "null", which reads as
// YAML, nor a hidden file), not a directory named like one.
TEST(Server, ListsOnlyExamplesThePageCanLoad) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("fathom-examples-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "a.yaml");
  for (const char* name : {"caf\xe9", "my run", "null", ".hidden", "good"}) {
    std::ofstream(dir / (std::string(name) + ".yaml")) << Example("llama3-8b-dgx-h100");
  }
  ServeOptions o;
  o.port = 0;
  o.examples = dir.string();
  Server server(io::test_support::TestCatalog(), o);
  core::Result<int> port = server.Bind();
  ASSERT_TRUE(port.ok()) << port.diagnostics().Format();
  std::thread listen([&] { server.Listen(); });
  httplib::Client client("127.0.0.1", port.value());
  httplib::Result r = client.Get("/api/examples");
  server.Stop();
  listen.join();
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "[\"good\"]");
}

// With no room to wait, a request that arrives while another is evaluated is answered at
// once with 503 (and Retry-After) instead of holding a connection thread; the page loads.
TEST(Server, TurnsAwayEvaluationsBeyondTheQueue) {
  ServeOptions o;
  o.port = 0;
  o.max_waiting = 0;
  Server server(io::test_support::TestCatalog(), o);
  core::Result<int> port = server.Bind();
  ASSERT_TRUE(port.ok()) << port.diagnostics().Format();
  std::thread listen([&] { server.Listen(); });
  // A plan search and a stream of quick steps: while one is evaluated, the other is
  // turned away (whichever got in first), and retried until the search is answered.
  std::atomic<bool> done{false};
  std::atomic<int> busy{0};
  std::thread search([&] {
    httplib::Client slow("127.0.0.1", port.value());
    slow.set_read_timeout(300, 0);
    while (true) {
      httplib::Result r =
          slow.Post("/api/plan", Example("llama3-405b-16k-h100"), "application/yaml");
      if (r && r->status == 503) {
        ++busy;
        continue;
      }
      EXPECT_TRUE(r && r->status == 200);
      break;
    }
    done = true;
  });
  httplib::Client quick("127.0.0.1", port.value());
  quick.set_read_timeout(300, 0);
  const std::string small = Example("llama3-8b-dgx-h100");
  while (!done) {
    httplib::Result r = quick.Post("/api/step?engine=estimate", small, "application/yaml");
    ASSERT_TRUE(r);
    if (r->status == 503) {
      ++busy;
      EXPECT_EQ(r->get_header_value("Retry-After"), "2");
      EXPECT_NE(r->body.find("busy"), std::string::npos) << r->body;
      httplib::Result page = quick.Get("/");  // the page loads meanwhile
      ASSERT_TRUE(page);
      EXPECT_EQ(page->status, 200);
    } else {
      EXPECT_EQ(r->status, 200) << r->body;
    }
  }
  search.join();
  EXPECT_GT(busy.load(), 0);
  httplib::Result after = quick.Post("/api/step?engine=estimate", small, "application/yaml");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  server.Stop();
  listen.join();
}

// Bound to any loopback address (127.0.0.2 too), the server answers only requests addressed
// to a loopback name: the Host check was off for addresses other than 127.0.0.1.
TEST(Server, AnyLoopbackAddressKeepsTheHostCheck) {
  ServeOptions o;
  o.host = "127.0.0.2";
  o.port = 0;
  Server server(io::test_support::TestCatalog(), o);
  core::Result<int> port = server.Bind();
  if (!port.ok()) GTEST_SKIP() << "127.0.0.2 cannot be bound here";
  std::thread listen([&] { server.Listen(); });
  httplib::Client client("127.0.0.2", port.value());
  httplib::Result own = client.Get("/api/examples");
  httplib::Result other = client.Get("/api/examples", {{"Host", "evil.example"}});
  server.Stop();
  listen.join();
  ASSERT_TRUE(own && other);
  EXPECT_EQ(own->status, 200);
  EXPECT_EQ(other->status, 403);
}

// Bound to an address other than a loopback one, the server says the address it bound
// and warns that the API, unauthenticated, is reachable from the network.
// A catalog copied without the examples beside it serves with an empty menu and a warning;
// an --examples that is no directory is an error (it blamed --examples when none was given).
TEST(Server, MissingDefaultExamplesAreAWarningAndAGivenOneAnError) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("fathom-catalog-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "data");
  ServeOptions o;
  o.port = 0;
  {
    Server server(io::Catalog((dir / "data").string()), o);
    core::Result<int> port = server.Bind();
    ASSERT_TRUE(port.ok()) << port.diagnostics().Format();
    EXPECT_NE(port.diagnostics().Format().find(
                  "warning: --examples: no examples directory beside the catalog"),
              std::string::npos)
        << port.diagnostics().Format();
  }
  o.examples = (dir / "missing").string();
  Server given(io::Catalog((dir / "data").string()), o);
  core::Result<int> port = given.Bind();
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.diagnostics().Format().find("error: --examples: \""), std::string::npos)
      << port.diagnostics().Format();
}

TEST(Server, WarnsWhenReachableFromTheNetwork) {
  ServeOptions o;
  o.port = 0;
  Server local(io::test_support::TestCatalog(), o);
  core::Result<int> port = local.Bind();
  ASSERT_TRUE(port.ok()) << port.diagnostics().Format();
  EXPECT_TRUE(port.diagnostics().empty()) << port.diagnostics().Format();
  EXPECT_EQ(local.Url(), "http://127.0.0.1:" + std::to_string(port.value()) + "/");
  o.host = "0.0.0.0";
  Server any(io::test_support::TestCatalog(), o);
  core::Result<int> open = any.Bind();
  if (!open.ok()) GTEST_SKIP() << "0.0.0.0 cannot be bound here";
  const std::string url = "http://0.0.0.0:" + std::to_string(open.value()) + "/";
  EXPECT_EQ(any.Url(), url);
  EXPECT_EQ(open.diagnostics().Format(),
            "warning: --host: " + url +
                " is reachable from the network, and its API has no authentication: anyone "
                "who reaches it can run evaluations; bind 127.0.0.1 (the default) unless the "
                "network is trusted\n");
}

TEST(Server, ABusyPortIsAnError) {
  ServeOptions o;
  o.port = 0;
  Server first(io::test_support::TestCatalog(), o);
  core::Result<int> port = first.Bind();
  ASSERT_TRUE(port.ok());
  o.port = port.value();
  Server second(io::test_support::TestCatalog(), o);
  core::Result<int> again = second.Bind();
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.diagnostics().Format().find("cannot listen on 127.0.0.1:"), std::string::npos);
}

}  // namespace
}  // namespace fathom::server
