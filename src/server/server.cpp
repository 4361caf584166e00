// The Beast side of duet-server: a listener, an HTTP session per connection (REST, static
// files, the upgrade to WebSocket) and a WebSocket session per signaling socket. Each async
// step is a do_x / on_x pair. Everything runs on one io_context thread except password
// hashing, which goes to `workers` and comes back with net::post.
#include "server/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <unordered_map>

#include "server/api.hpp"
#include "server/hub.hpp"
#include "server/metrics.hpp"
#include "server/rate_limit.hpp"
#include "server/static_files.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace duet::server {

namespace {

constexpr std::size_t kBodyLimit = 16 * 1024;        // the largest REST body is a group of 16 ids
constexpr std::size_t kHeaderLimit = 8 * 1024;
constexpr auto kHttpTimeout = std::chrono::seconds(30);
constexpr auto kTickEvery = std::chrono::milliseconds(250);  // the hub's deadlines are seconds
constexpr auto kDrainFor = std::chrono::seconds(2);          // shutdown: time for close frames
constexpr std::size_t kMaxQueued = 512;              // per socket: a client that stops reading
                                                     // is closed rather than buffered forever
// A message up to twice the protocol's limit is read and refused with a typed too_large
// error; past that, Beast closes the socket with 1009 without reading it.
constexpr std::size_t kReadMessageMax = 2 * kMaxMessageBytes;

Millis wall_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void note(const std::string& what) { std::fprintf(stderr, "duet-server: %s\n", what.c_str()); }

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

class WebSocketSession;

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
  void stop();

  ConnId attach(const std::shared_ptr<WebSocketSession>& session);
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
  net::steady_timer accept_retry{io};
  net::signal_set signals{io, SIGINT, SIGTERM};
  net::thread_pool workers{2};
  std::unordered_map<ConnId, std::weak_ptr<WebSocketSession>> sockets;
  ConnId next_conn = 1;
  bool stopping = false;
  std::vector<Mount> mounts;
};

// ----- WebSocket -----------------------------------------------------------------------------

class WebSocketSession : public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(tcp::socket&& socket, Server::Impl& server) : ws_(std::move(socket)), server_(server) {}

  void run(http::request<http::string_body> request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "duet-server"); }));
    ws_.read_message_max(kReadMessageMax);
    ws_.async_accept(request, beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
  }

  void send(std::string text) {
    if (closing_) return;
    if (queue_.size() >= kMaxQueued) return close(kClosePolicy, "not reading its messages");
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) do_write();
  }

  void close(std::uint16_t code, std::string reason) {
    if (closing_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason.substr(0, 120));
    if (queue_.empty()) do_close();  // otherwise after the queued messages are out
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    id_ = server_.attach(shared_from_this());
    do_read();
  }

  void do_read() { ws_.async_read(buffer_, beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this())); }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return server_.detach(id_);
    const std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    // An SDP may have grown the buffer; an idle socket should not keep that memory.
    if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();
    server_.receive(id_, text);
    do_read();
  }

  void do_write() {
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()), beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return;  // the read side sees the same failure and detaches
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (closing_) do_close();
  }

  void do_close() {
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) {});
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  Server::Impl& server_;
  ConnId id_ = kNoConn;
  bool closing_ = false;
  websocket::close_reason close_reason_;
};

// ----- HTTP ----------------------------------------------------------------------------------

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Server::Impl& server, std::string remote)
      : stream_(std::move(socket)), server_(server), remote_(std::move(remote)) {}

  void run() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(kHttpTimeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::body_limit) {
      return reply(error_response(make_error(ErrorCode::too_large, "request body over 16 KiB")), 11, false);
    }
    if (ec == http::error::header_limit) {
      return reply(error_response(make_error(ErrorCode::too_large, "request headers over 8 KiB")), 11, false);
    }
    if (ec) return;  // a timeout or a reset: nothing to answer
    auto request = parser_->release();
    const std::string_view path = path_of(request.target());
    if (websocket::is_upgrade(request)) {
      if (path != server_.config.socket_path) {
        return reply(error_response(make_error(ErrorCode::not_found, "no WebSocket at this path")), request.version(), false);
      }
      if (server_.sockets.size() >= static_cast<std::size_t>(server_.config.max_connections) || server_.stopping) {
        Response full = error_response(make_error(ErrorCode::rate_limited, "the server is full; try again later"));
        full.status = 503;
        full.headers.emplace_back("Retry-After", "5");
        return reply(full, request.version(), false);
      }
      stream_.expires_never();
      std::make_shared<WebSocketSession>(stream_.release_socket(), server_)->run(std::move(request));
      return;
    }
    const bool api = path.rfind("/api/", 0) == 0 || path == "/healthz" || path == "/metrics";
    if (api) return handle_api(std::move(request));
    serve_file(request);
  }

  void handle_api(http::request<http::string_body> request) {
    Request r;
    r.method = std::string(request.method_string());
    r.target = std::string(request.target());
    r.authorization = std::string(request[http::field::authorization]);
    r.content_type = std::string(request[http::field::content_type]);
    r.body = std::move(request.body());
    r.remote = remote_;
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    if (Api::is_slow(r)) {
      net::post(server_.workers, [self = shared_from_this(), r = std::move(r), version, keep_alive]() {
        Response res = self->server_.api.handle_slow(r, wall_now());
        net::post(self->stream_.get_executor(), [self, res = std::move(res), version, keep_alive]() {
          self->reply(res, version, keep_alive);
        });
      });
      return;
    }
    Actions out;
    Response res = server_.api.handle(r, wall_now(), out);
    server_.apply(std::move(out));
    reply(res, version, keep_alive);
  }

  void serve_file(const http::request<http::string_body>& request) {
    const unsigned version = request.version();
    const bool keep_alive = request.keep_alive();
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      Response res = error_response(make_error(ErrorCode::bad_value, "only GET and HEAD serve files"));
      res.status = 405;
      res.headers.emplace_back("Allow", "GET, HEAD");
      return reply(res, version, keep_alive);
    }
    auto file = resolve_static(server_.mounts, path_of(request.target()));
    beast::error_code ec;
    http::file_body::value_type body;
    if (file) body.open(file->c_str(), beast::file_mode::scan, ec);
    if (!file || ec) {
      const auto code = file ? ErrorCode::not_found : file.error().code;
      return reply(error_response(make_error(code, file ? "no such file" : file.error().message)), version, keep_alive);
    }
    const auto size = body.size();
    http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(body)),
                                        std::make_tuple(http::status::ok, version)};
    res.set(http::field::server, "duet-server");
    res.set(http::field::content_type, mime_type(*file));
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.content_length(size);
    res.keep_alive(keep_alive);
    if (request.method() == http::verb::head) {
      http::response<http::empty_body> head{http::status::ok, version};
      head.base() = res.base();
      return write(http::message_generator(std::move(head)), keep_alive);
    }
    write(http::message_generator(std::move(res)), keep_alive);
  }

  void reply(const Response& r, unsigned version, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "duet-server");
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : r.headers) res.set(name, value);
    res.body() = r.body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    write(http::message_generator(std::move(res)), keep_alive);
  }

  void write(http::message_generator message, bool keep_alive) {
    beast::async_write(stream_, std::move(message),
                       [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                         if (ec) return;
                         if (!keep_alive || self->server_.stopping) return self->do_close();
                         self->do_read();
                       });
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Server::Impl& server_;
  std::string remote_;
};

// ----- the server ----------------------------------------------------------------------------

void Server::Impl::do_accept() {
  acceptor.async_accept(io, beast::bind_front_handler(&Server::Impl::on_accept, this));
}

void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping) return;
  if (ec) {
    // Out of file descriptors, most likely: wait a moment instead of spinning.
    note("accept failed: " + ec.message());
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](beast::error_code) { if (!stopping) do_accept(); });
    return;
  }
  beast::error_code peer_ec;
  const auto peer = socket.remote_endpoint(peer_ec);
  std::string remote = peer_ec ? std::string() : peer.address().to_string();
  if (connection_limiter.allow(remote, wall_now())) {
    std::make_shared<HttpSession>(std::move(socket), *this, std::move(remote))->run();
  }
  do_accept();
}

void Server::Impl::do_tick() {
  ticker.expires_after(kTickEvery);
  ticker.async_wait([this](beast::error_code ec) {
    if (ec || stopping) return;
    apply(hub.tick(wall_now()));
    do_tick();
  });
}

ConnId Server::Impl::attach(const std::shared_ptr<WebSocketSession>& session) {
  const ConnId id = next_conn++;
  sockets.emplace(id, session);
  hub.open(id, wall_now());
  return id;
}

void Server::Impl::receive(ConnId conn, std::string_view text) { apply(hub.receive(conn, text, wall_now())); }

void Server::Impl::detach(ConnId conn) {
  if (sockets.erase(conn) == 0) return;
  apply(hub.closed(conn, wall_now()));
}

void Server::Impl::apply(Actions actions) {
  for (auto& s : actions.send) {
    auto it = sockets.find(s.conn);
    if (it == sockets.end()) continue;
    if (auto session = it->second.lock()) session->send(std::move(s.text));
  }
  for (auto& c : actions.close) {
    auto it = sockets.find(c.conn);
    if (it == sockets.end()) continue;
    if (auto session = it->second.lock()) session->close(c.code, std::move(c.reason));
  }
}

void Server::Impl::stop() {
  if (stopping) return;
  stopping = true;
  note("shutting down: closing " + std::to_string(sockets.size()) + " signaling connections");
  beast::error_code ec;
  acceptor.close(ec);
  ticker.cancel();
  accept_retry.cancel();
  apply(hub.drain());
  if (sockets.empty()) return io.stop();
  auto deadline = std::make_shared<net::steady_timer>(io, kDrainFor);
  deadline->async_wait([this, deadline](beast::error_code) { io.stop(); });
}

Server::Server(Config config, Store& store, std::string jwt_secret)
    : impl_(std::make_unique<Impl>(std::move(config), store, std::move(jwt_secret))) {
  impl_->mounts = {Mount{"/", impl_->config.web_dir}, Mount{"/duet/", impl_->config.module_dir}};
}

Server::~Server() {
  impl_->workers.join();
}

Expected<std::uint16_t> Server::listen() {
  auto& a = impl_->acceptor;
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->config.host, ec);
  if (ec) return make_error(ErrorCode::bad_value, "HOST is not an IP address: " + impl_->config.host);
  const tcp::endpoint endpoint(address, impl_->config.port);
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::internal, "cannot listen on " + impl_->config.host + ":" +
                                               std::to_string(impl_->config.port) + ": " + ec.message());
  }
  return a.local_endpoint().port();
}

void Server::run() {
  auto& i = *impl_;
  i.signals.async_wait([&i](beast::error_code ec, int) {
    if (!ec) i.stop();
  });
  i.do_accept();
  i.do_tick();
  i.io.run();
}

}  // namespace duet::server
