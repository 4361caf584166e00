// What the parts of duet-server's network side share, internal to src/server: the state of a
// running server (Server::Impl: the hub, the API, the io_context and its timers, the open
// signaling sockets), the limits they apply, and how one part starts another. server.cpp
// accepts connections and runs the timers; http_session.cpp answers HTTP (REST, static files,
// the upgrade); websocket_session.cpp speaks to one signaling socket. Everything runs on the
// one io_context thread except password hashing and gzipping a static file, which go to
// `workers` and come back with net::post.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "duet/protocol.hpp"
#include "server/api.hpp"
#include "server/compression.hpp"
#include "server/config.hpp"
#include "server/hub.hpp"
#include "server/metrics.hpp"
#include "server/rate_limit.hpp"
#include "server/server.hpp"
#include "server/static_files.hpp"

namespace duet::server {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;

inline constexpr std::size_t kBodyLimit = 16 * 1024;  // the largest REST body is a group of 16 ids
inline constexpr std::size_t kHeaderLimit = 8 * 1024;
inline constexpr auto kHttpTimeout = std::chrono::seconds(30);
// After our answer on a connection we close, what the client still sends is dropped for up
// to this long before the socket closes: time for a refused upload to arrive and its sender
// to read why.
inline constexpr auto kLingerFor = std::chrono::seconds(3);
// The same for a connection refused by the per-address limit, kept short: those are the ones
// that come in floods.
inline constexpr auto kRefusedLingerFor = std::chrono::milliseconds(500);
inline constexpr auto kTickEvery = std::chrono::milliseconds(250);  // the hub's deadlines are seconds
inline constexpr auto kSweepEvery = std::chrono::seconds(5);        // silent and half-closed sockets
inline constexpr auto kDrainFor = std::chrono::seconds(2);          // shutdown: time for close frames

inline Millis wall_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

inline void note(const std::string& what) { std::fprintf(stderr, "duet-server: %s\n", what.c_str()); }

inline std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// What the server does with a signaling socket once it is open: hand it what the hub says.
class SignalingSocket {
 public:
  virtual ~SignalingSocket() = default;
  virtual void send(std::string text) = 0;
  // Sends a close frame after what is queued; the socket closes when the client answers.
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
  // Called every kSweepEvery: pings a silent client, drops one that stays silent.
  virtual void sweep(Millis now) = 0;
};

// Serves one accepted TCP connection: HTTP requests until it closes or upgrades.
void start_http_session(tcp::socket&& socket, Server::Impl& server, std::string remote);

// Answers a connection over its address's limit with 429 rate_limited (Retry-After from
// `retry_after_ms`) without reading a request, and closes it.
void refuse_http_session(tcp::socket&& socket, Server::Impl& server, Millis retry_after_ms);

// Answers a checked upgrade request with 101 and runs the signaling socket; `early` are bytes
// the client sent after its request, read along with it.
void start_websocket_session(tcp::socket&& socket, Server::Impl& server, std::string_view accept, std::string early);

struct Server::Impl {
  Impl(Config c, Store& s, std::string secret)
      : config(std::move(c)),
        store(s),
        hub(store, hub_config(config), [this](std::string_view token, Millis now) { return api.check_token(token, now); },
            metrics),
        api(store, hub, metrics, api_config(config, std::move(secret))),
        connection_limiter(500, 200, 10'000) {}

  static HubConfig hub_config(const Config& c) {
    HubConfig h;
    h.ring_timeout_ms = c.ring_timeout_s * 1000;
    h.reconnect_grace_ms = c.reconnect_grace_s * 1000;
    h.auth_timeout_ms = c.auth_timeout_s * 1000;
    return h;
  }
  static ApiConfig api_config(const Config& c, std::string secret) {
    ApiConfig a;
    a.jwt_secret = std::move(secret);
    a.token_ttl_s = c.token_ttl_s;
    a.stun_url = c.stun_url;
    a.turn_url = c.turn_url;
    a.turn_username = c.turn_username;
    a.turn_credential = c.turn_credential;
    a.turn_secret = c.turn_secret;
    a.turn_ttl_s = c.turn_ttl_s;
    return a;
  }

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void do_tick();
  void do_sweep();
  void stop();

  ConnId attach(const std::shared_ptr<SignalingSocket>& socket);
  void receive(ConnId conn, std::string_view text);
  void detach(ConnId conn);
  void apply(Actions actions);

  Config config;
  Store& store;
  Registry metrics;
  Hub hub;
  Api api;
  RateLimiter connection_limiter;  // new TCP connections per address
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  net::steady_timer ticker{io};
  net::steady_timer sweeper{io};
  net::steady_timer accept_retry{io};
  net::signal_set signals{io, SIGINT, SIGTERM};
  net::thread_pool workers{2};
  std::unordered_map<ConnId, std::weak_ptr<SignalingSocket>> sockets;
  ConnId next_conn = 1;
  // Every signaling socket reads into this one buffer and hands the frames on before the
  // next read, which only one thread ever does.
  std::vector<char> read_buffer = std::vector<char>(64 * 1024);
  bool stopping = false;
  std::vector<Mount> mounts;
  GzipCache gzip_cache;  // static files, compressed once per version; used on the I/O thread only
};


}  // namespace duet::server
