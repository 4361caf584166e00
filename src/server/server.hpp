// duet-server's network side: one HTTP and WebSocket listener on Boost.Beast. It parses
// requests and frames and hands them to the I/O-free parts (Api for REST, Hub for
// signaling), then carries out what they return. One network thread runs every socket and
// the hub, so the hub needs no locks; password hashing and gzipping, the slow things, run on
// a small worker pool and post their answers back. Beast stays behind this pimpl (in
// server.cpp, http_session.cpp and websocket_session.cpp, which share server_impl.hpp), so the
// rest of the server compiles quickly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "duet/error.hpp"
#include "duet/ledger.hpp"
#include "server/config.hpp"
#include "server/store.hpp"

namespace duet::server {

class Server {
 public:
  Server(Config config, Store& store, std::string jwt_secret);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Takes over the calls the last run left ringing or active (Store::unfinished_calls), before
  // run(): their participants sign in again within the reconnect grace and they go on, or they
  // end as a lost connection or a missed call (Hub::restore).
  void take_over(const std::vector<CallRecord>& unfinished);
  // Binds the listening socket; the port it got (config.port may be 0: any free port).
  Expected<std::uint16_t> listen();
  // Serves until SIGINT or SIGTERM, then closes every socket with "going away" and returns.
  void run();

  // The running server's state (server_impl.hpp), which the sessions share: named here so
  // that they can, defined only there.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace duet::server
