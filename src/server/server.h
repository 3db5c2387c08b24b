// `fathom serve`: a local HTTP server with a web UI. A thin front end over the same facade
// as the CLI (io/facade.h): a posted scenario is loaded, validated and evaluated exactly as
// `fathom step|plan|run -s FILE` would, and answered with the same HTML report body or the
// same versioned JSON.
//
//   GET  /                       the web UI (one page, no external assets)
//   GET  /api/examples           the shipped example scenarios, as a JSON array of names
//   GET  /api/examples/NAME      one example's YAML
//   GET  /api/catalog            {"chips": [...], "clusters": [...], "models": [...]}
//   POST /api/step?engine=auto|simulate|estimate&format=html|json
//   POST /api/trace?[stages=LIST][&micro_batches=LIST][&window=FROM:TO][&gzip=0|1]
//                                the simulated step as `fathom step --trace` writes it
//   POST /api/plan?format=html|json
//   POST /api/run?format=html|json&monte_carlo=0|1[&tokens=15T]
//   POST /api/size?format=html|json&tokens=15T&days=30[&chips=N,N,...][&reliability=PRESET]
//   POST /api/sweep?format=html|json[&engine=...][&axis=KEY=V1,V2,...]...   (at most 256 points)
//                                body: a scenario's YAML, whatever the Content-Type says;
//                                400 with the diagnostics as text when it does not load.
//                                Each also takes name=NAME, the scenario's name (the web UI
//                                sends the example's when the text has no name).
//
// A posted scenario may name catalog entries and give sections inline; it names no files
// unless ServeOptions::allow_files (then they resolve from the server's working directory, and
// only files in its tree are read; a file's contents are described in a diagnostic, never
// quoted).
// Bound to a loopback address, the server answers only requests addressed to a loopback
// name (no DNS rebinding), and takes a POST only from its own page: one whose Origin is
// another is 403, so that a page elsewhere cannot keep the evaluation slot busy. JSON
// answers (and traces) carry the warnings in an X-Fathom-Warnings header. Every answer
// carries X-Content-Type-Options: nosniff, X-Frame-Options: DENY and a Content-Security-Policy
// that loads nothing from elsewhere (the page's script runs by a nonce of its answer).
//
// Requests are evaluated one at a time. Each connection has a thread of its own (up to 512;
// beyond, connections wait their turn), so that connections stalled half-way through a
// request, each held until its read times out (5 s), do not hold up the page. The server
// bounds glibc's malloc arenas (process-wide, M_ARENA_MAX, when it is constructed) and gives
// an evaluation's freed memory back to the system when it is answered (malloc_trim).
#pragma once

#include <memory>
#include <string>

#include "core/diagnostic.h"

namespace fathom::io {
class Catalog;
}

namespace fathom::server {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8470;       // 0: any free port
  std::string examples;  // example scenarios; "" = the catalog's ../examples
  // Let posted scenarios name files, by paths relative to `files_root` and only inside its
  // tree (no absolute path, no ".." or symbolic link that leads out of it). Off: only
  // catalog names and inline sections, so that a request cannot make the server read, and
  // echo in its diagnostics, the files it can.
  bool allow_files = false;
  std::string files_root;  // "" = the working directory when the server is constructed
  // Evaluations run one at a time; this many more may wait for their turn. Beyond, a
  // request is answered at once with 503 and Retry-After, so that waiting evaluations
  // never hold every connection thread and the page itself still loads.
  int max_waiting = 3;
};

// glibc gives each thread that allocates an arena of its own (up to 8 a core) and keeps
// what it freed there: evaluations, one at a time but each on whichever connection thread
// took it, grew a server by one evaluation's peak (200 MB for a 1T-parameter model's step)
// with every new thread, and idle it gave nothing back. The serving process bounds the
// arenas to 2, before its threads start (this is process-wide: arenas already made stay);
// the server trims them after each evaluation. A no-op off glibc.
void BoundAllocatorArenas();

class Server {
 public:
  Server(const io::Catalog& catalog, ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the port; returns it (the chosen one for port 0), or an error naming the address.
  // Bound to an address that is not a loopback one (0.0.0.0, a network interface's), with a
  // warning: the API, which has no authentication, is reachable from the network.
  core::Result<int> Bind();
  // After Bind: the address bound, as a URL ("http://127.0.0.1:8470/", "http://[::]:8470/").
  std::string Url() const;
  // Serves until Stop(); returns false if the server could not run.
  bool Listen();
  // From any thread.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fathom::server
