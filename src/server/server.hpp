// duet-server's network side: one HTTP and WebSocket listener on Boost.Beast. It parses
// requests and frames and hands them to the I/O-free parts (Api for REST, Hub for
// signaling), then carries out what they return. One network thread runs every socket and
// the hub, so the hub needs no locks; password hashing, the one slow thing, runs on a small
// worker pool and posts its answer back. Beast stays in server.cpp, behind this pimpl, so the
// rest of the server compiles quickly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "duet/error.hpp"
#include "server/config.hpp"
#include "server/store.hpp"

namespace duet::server {

class Server {
 public:
  Server(Config config, Store& store, std::string jwt_secret);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; the port it got (config.port may be 0: any free port).
  Expected<std::uint16_t> listen();
  // Serves until SIGINT or SIGTERM, then closes every socket with "going away" and returns.
  void run();

 private:
  struct Impl;
  // The sessions live in server.cpp and talk to Impl directly.
  friend class WebSocketSession;
  friend class HttpSession;
  std::unique_ptr<Impl> impl_;
};

}  // namespace duet::server
