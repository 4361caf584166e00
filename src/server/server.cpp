// The network side of duet-server: a listener, a Beast HTTP session per connection (REST,
// static files, the upgrade to WebSocket) and a WebSocket session per signaling socket, which
// speaks the frames of websocket.hpp itself. Each async step is a do_x / on_x pair. Everything runs on one io_context thread except password
// hashing and gzipping a static file, which go to `workers` and come back with net::post.
#include "server/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <array>
#include <unordered_map>

#include <sys/stat.h>
#include <unistd.h>

#include "server/api.hpp"
#include "server/compression.hpp"
#include "server/hub.hpp"
#include "server/metrics.hpp"
#include "server/rate_limit.hpp"
#include "server/entity_tag.hpp"
#include "server/static_files.hpp"
#include "server/websocket.hpp"

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
constexpr auto kSweepEvery = std::chrono::seconds(5);        // silent and half-closed sockets
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
  void do_sweep();
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
  net::steady_timer sweeper{io};
  net::steady_timer accept_retry{io};
  net::signal_set signals{io, SIGINT, SIGTERM};
  net::thread_pool workers{2};
  std::unordered_map<ConnId, std::weak_ptr<WebSocketSession>> sockets;
  ConnId next_conn = 1;
  // Every signaling socket reads into this one buffer and hands the frames on before the
  // next read, which only one thread ever does.
  std::vector<char> read_buffer = std::vector<char>(64 * 1024);
  bool stopping = false;
  std::vector<Mount> mounts;
  GzipCache gzip_cache;  // static files, compressed once per version; used on the I/O thread only
};

// ----- WebSocket -----------------------------------------------------------------------------

// One signaling socket after the upgrade, speaking websocket.hpp's wire format itself. It
// reads only when the kernel says there is something to read, into the server's one shared
// buffer, so an idle socket holds no buffer of its own and no pending read, only a wait.
// Writes go straight to the socket and fall back to waiting only when the kernel's send
// buffer is full; whatever queued meanwhile goes out in one gathered write.
class WebSocketSession : public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(tcp::socket&& socket, Server::Impl& server) : socket_(std::move(socket)), server_(server) {}

  // Answers a checked upgrade request with 101 and starts reading; `early` are bytes the
  // client sent after its request, read along with it.
  void start(std::string_view accept, std::string early) {
    beast::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) return finish();
    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Server: duet-server\r\nSec-WebSocket-Accept: ";
    response.append(accept).append("\r\n\r\n");
    queue_.push_back(Outgoing{{}, 0, std::move(response)});
    last_heard_ = wall_now();
    id_ = server_.attach(shared_from_this());
    flush();
    if (!early.empty()) take(early.data(), early.size());
    // The kernel may hold bytes already; a wait would only see bytes that come later.
    on_readable();
  }

  void send(std::string text) { send_frame(ws::Opcode::text, std::move(text)); }

  // Sends a close frame after what is queued; the socket closes when the client answers, or
  // at the next sweep after kCloseWait.
  void close(std::uint16_t code, std::string_view reason) {
    if (closing_ || finished_) return;
    send_frame(ws::Opcode::close, ws::close_payload(code, reason));
    closing_ = true;
    closing_since_ = wall_now();
    flush();
  }

  // Called every kSweepEvery: pings a client that has been silent, drops one that stays
  // silent (its network is gone without a FIN), and gives up on an unanswered close.
  void sweep(Millis now) {
    if (finished_) return;
    if (closing_) {
      if (now - closing_since_ >= kCloseWait) finish();
      return;
    }
    const Millis silent = now - last_heard_;
    if (silent >= kDropAfterSilence) return finish();
    if (silent >= kPingAfterSilence && !ping_sent_) {
      ping_sent_ = true;
      send_frame(ws::Opcode::ping, {});
    }
  }

 private:
  // A frame on its way out: its header and its payload, written together with writev.
  struct Outgoing {
    std::array<char, 10> head;
    std::uint8_t head_size;
    std::string body;
  };

  void send_frame(ws::Opcode op, std::string payload) {
    if (closing_ || finished_) return;
    if (queue_.size() - head_ >= kMaxQueued) return close(kClosePolicy, "not reading its messages");
    Outgoing out{{}, 0, std::move(payload)};
    out.head_size = static_cast<std::uint8_t>(ws::frame_header(op, out.body.size(), out.head.data()));
    queue_.push_back(std::move(out));
    flush();
  }

  void on_readable() {
    for (int round = 0; round < kReadsPerTurn; ++round) {
      if (finished_ || reader_.done()) return;
      beast::error_code ec;
      std::vector<char>& buffer = server_.read_buffer;
      const std::size_t n = socket_.read_some(net::buffer(buffer), ec);
      if (ec == net::error::would_block || ec == net::error::try_again) return wait_readable();
      if (ec) return finish();  // the end of the stream, or a reset
      take(buffer.data(), n);
      // A short read emptied the kernel's queue, so asking again would only hear EAGAIN: one
      // system call per message saved. The wait cannot miss bytes: any that arrive from now
      // on raise a new edge, and the reactor only polls after this handler has queued it.
      if (n < buffer.size()) return finished_ || reader_.done() ? void() : wait_readable();
    }
    // More may be waiting; the other sockets get a turn first.
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable(); });
  }

  void wait_readable() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->on_readable();
    });
  }

  void take(char* bytes, std::size_t size) {
    last_heard_ = wall_now();
    ping_sent_ = false;
    reader_.feed(bytes, size, [this](const ws::Event& e) { on_event(e); });
  }

  void on_event(const ws::Event& e) {
    using Kind = ws::Event::Kind;
    switch (e.kind) {
      case Kind::message:
        if (!closing_ && !finished_) server_.receive(id_, e.data);
        return;
      case Kind::ping:
        return send_frame(ws::Opcode::pong, std::string(e.data));
      case Kind::pong:
        return;
      case Kind::close:
        // Echo the client's code (none if it gave none); the socket closes once that is out.
        if (!closing_ && !finished_) {
          send_frame(ws::Opcode::close, e.code == ws::kNoStatus ? std::string() : ws::close_payload(e.code, {}));
          closing_ = true;
          closing_since_ = wall_now();
        }
        return flush();
      case Kind::fail:
        close(e.code, e.data);
        return flush();
    }
  }

  // Writes what is queued, as far as the kernel takes it without blocking.
  void flush() {
    while (!finished_ && !waiting_to_write_ && head_ < queue_.size()) {
      std::array<net::const_buffer, 2 * kFramesPerWrite> buffers{};
      std::size_t count = 0;
      std::size_t skip = sent_;
      auto add = [&](const char* p, std::size_t size) {
        if (skip >= size) {
          skip -= size;
          return;
        }
        buffers[count++] = net::const_buffer(p + skip, size - skip);
        skip = 0;
      };
      for (std::size_t i = head_; i < queue_.size() && i - head_ < kFramesPerWrite; ++i) {
        add(queue_[i].head.data(), queue_[i].head_size);
        add(queue_[i].body.data(), queue_[i].body.size());
      }
      beast::error_code ec;
      const std::size_t n = socket_.write_some(buffers, ec);
      if (ec == net::error::would_block || ec == net::error::try_again) return wait_writable();
      if (ec) return finish();
      sent_ += n;
      while (head_ < queue_.size() && sent_ >= queue_[head_].head_size + queue_[head_].body.size()) {
        sent_ -= queue_[head_].head_size + queue_[head_].body.size();
        ++head_;
      }
    }
    if (finished_ || head_ < queue_.size()) return;
    // Drained: an idle socket keeps no queue memory.
    std::vector<Outgoing>().swap(queue_);
    head_ = 0;
    sent_ = 0;
    // Our close frame is out and the client's came in (or it broke the protocol): done.
    if (closing_ && reader_.done()) finish();
  }

  void wait_writable() {
    waiting_to_write_ = true;
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](beast::error_code ec) {
      self->waiting_to_write_ = false;
      if (!ec) self->flush();
    });
  }

  // Closes the socket (which cancels its waits) and tells the hub, from a fresh handler so
  // the hub is never re-entered from inside one of its own actions.
  void finish() {
    if (finished_) return;
    finished_ = true;
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    std::vector<Outgoing>().swap(queue_);
    head_ = 0;
    net::post(server_.io, [self = shared_from_this()] { self->server_.detach(self->id_); });
  }

  static constexpr int kReadsPerTurn = 4;
  static constexpr std::size_t kFramesPerWrite = 16;
  static constexpr Millis kCloseWait = 5'000;
  static constexpr Millis kPingAfterSilence = 45'000;
  static constexpr Millis kDropAfterSilence = 90'000;

  tcp::socket socket_;
  Server::Impl& server_;
  ws::FrameReader reader_{kReadMessageMax};
  std::vector<Outgoing> queue_;
  std::size_t head_ = 0;  // queue_[head_] is the next frame to write
  std::size_t sent_ = 0;  // bytes of queue_[head_] already written
  ConnId id_ = kNoConn;
  Millis last_heard_ = 0;
  Millis closing_since_ = 0;
  bool closing_ = false;  // our close frame is queued: nothing more is sent
  bool finished_ = false;
  bool waiting_to_write_ = false;
  bool ping_sent_ = false;
};

// ----- static files --------------------------------------------------------------------------

namespace {

// A response body that shares a cached string instead of copying it: the cache may drop its
// entry while the response is still being written, and the body keeps the bytes alive.
struct SharedStringBody {
  using value_type = std::shared_ptr<const std::string>;

  static std::uint64_t size(const value_type& body) { return body ? body->size() : 0; }

  class writer {
   public:
    using const_buffers_type = net::const_buffer;

    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& body) : body_(body) {}

    void init(beast::error_code& ec) { ec = {}; }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (!body_ || body_->empty()) return boost::none;
      return {{const_buffers_type(body_->data(), body_->size()), false}};
    }

   private:
    const value_type& body_;
  };
};

// Every line of a list-valued header as one list: a client may split it over several.
std::string header_list(const http::request<http::string_body>& request, http::field field) {
  std::string out;
  for (auto [it, end] = request.equal_range(field); it != end; ++it) {
    if (!out.empty()) out += ", ";
    const auto value = it->value();
    out.append(value.data(), value.size());
  }
  return out;
}

// The first `size` bytes of an open file, read from offset 0 without moving the descriptor's
// position (the identity answer may still stream from it).
Expected<std::string> read_whole(int fd, std::uint64_t size) {
  std::string data(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(ErrorCode::internal, std::string("read failed: ") + std::strerror(errno));
    if (n == 0) return make_error(ErrorCode::internal, "the file shrank while it was read");
    done += static_cast<std::size_t>(n);
  }
  return data;
}

}  // namespace

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
      if (request[http::field::sec_websocket_version] != "13") {
        Response wrong = error_response(make_error(ErrorCode::bad_value, "only WebSocket version 13 is spoken here"));
        wrong.status = 426;
        wrong.headers.emplace_back("Sec-WebSocket-Version", "13");
        return reply(wrong, request.version(), false);
      }
      const std::string_view key = request[http::field::sec_websocket_key];
      if (!ws::valid_key(key)) {
        return reply(error_response(make_error(ErrorCode::bad_value, "Sec-WebSocket-Key is missing or not 16 bytes of base64")),
                     request.version(), false);
      }
      stream_.expires_never();
      std::string early = beast::buffers_to_string(buffer_.data());
      std::make_shared<WebSocketSession>(stream_.release_socket(), server_)->start(ws::accept_key(key), std::move(early));
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
    struct stat st {};
    // A folder opens for reading too, and would fail only once its headers were sent.
    const bool regular = file && !ec && ::fstat(body.file().native_handle(), &st) == 0 && S_ISREG(st.st_mode);
    if (!regular) {
      const auto code = file ? ErrorCode::not_found : file.error().code;
      return reply(error_response(make_error(code, file ? "no such file" : file.error().message)), version, keep_alive);
    }
    const FileStamp stamp{static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                          static_cast<std::uint64_t>(st.st_size)};
    const bool head = request.method() == http::verb::head;
    const Delivery how{version, keep_alive, head, stamp};
    const bool wants_gzip = choose_encoding(header_list(request, http::field::accept_encoding), *file, stamp.size) == Encoding::gzip;
    auto cached = wants_gzip ? server_.gzip_cache.find(*file, stamp) : nullptr;
    // The body this request would get, decided before any compressing: a browser revalidating
    // the page (every load: no-cache) is answered from the stat alone.
    const bool zipped = wants_gzip && (!cached || cached->size() < stamp.size);
    const std::string tag = entity_tag(stamp, zipped ? Encoding::gzip : Encoding::identity);
    if (none_match_hits(header_list(request, http::field::if_none_match), tag)) {
      return not_modified(*file, tag, how);
    }
    if (!wants_gzip) return send_file(std::move(body), *file, nullptr, how);
    if (cached) return send_file(std::move(body), *file, cached, how);
    auto data = read_whole(body.file().native_handle(), stamp.size);
    if (!data) {
      note("cannot gzip " + *file + ": " + data.error().message);
      return send_file(std::move(body), *file, nullptr, how);
    }
    // Level 9 takes tens of milliseconds for the wasm module, more for a large file: done on a
    // worker, so signaling on the I/O thread does not wait for it. Only the I/O thread touches
    // the cache. Two first requests for the same file may both compress it; the second put
    // replaces the first.
    net::post(server_.workers, [self = shared_from_this(), data = std::move(*data), body = std::move(body),
                                path = std::move(*file), stamp, how]() mutable {
      auto packed = gzip(data);
      net::post(self->stream_.get_executor(), [self, packed = std::move(packed), body = std::move(body),
                                               path = std::move(path), stamp, how]() mutable {
        std::shared_ptr<const std::string> gz;
        if (packed) {
          gz = std::make_shared<const std::string>(std::move(*packed));
          // Kept even when it does not pay, so the next request does not compress it again.
          self->server_.gzip_cache.put(path, stamp, gz);
        } else {
          note("cannot gzip " + path + ": " + packed.error().message);
        }
        self->send_file(std::move(body), path, gz, how);
      });
    });
  }

  struct Delivery {  // how the request wants its file, and which version of it there is
    unsigned version;
    bool keep_alive;
    bool head;
    FileStamp stamp;
  };

  // 304: the browser's copy is current. The headers a 200 would have had, minus the body's.
  void not_modified(const std::string& path, const std::string& tag, Delivery how) {
    http::response<http::empty_body> res{http::status::not_modified, how.version};
    set_file_headers(res, path, how.keep_alive);
    res.erase(http::field::content_type);
    res.set(http::field::etag, tag);
    write(http::message_generator(std::move(res)), how.keep_alive);
  }

  // The file's answer: `gz` when there is one smaller than the file, else the open file as it
  // is. HEAD gets GET's headers, Content-Length included, and no body.
  void send_file(http::file_body::value_type file, const std::string& path, std::shared_ptr<const std::string> gz,
                 Delivery how) {
    if (gz && gz->size() < file.size()) {
      http::response<SharedStringBody> res{std::piecewise_construct, std::make_tuple(gz),
                                           std::make_tuple(http::status::ok, how.version)};
      set_file_headers(res, path, how.keep_alive);
      res.set(http::field::content_encoding, "gzip");
      res.set(http::field::etag, entity_tag(how.stamp, Encoding::gzip));
      res.content_length(gz->size());
      return send_message(std::move(res), how);
    }
    const auto size = file.size();
    http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(file)),
                                        std::make_tuple(http::status::ok, how.version)};
    set_file_headers(res, path, how.keep_alive);
    res.set(http::field::etag, entity_tag(how.stamp, Encoding::identity));
    res.content_length(size);
    send_message(std::move(res), how);
  }

  template <class Body>
  static void set_file_headers(http::response<Body>& res, const std::string& path, bool keep_alive) {
    res.set(http::field::server, "duet-server");
    res.set(http::field::content_type, mime_type(path));
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    // Whether a compressible file is gzipped depends on the request's Accept-Encoding, so a
    // shared cache must key on it, for the identity answer as much as for the gzip one.
    if (compressible(path)) res.set(http::field::vary, "Accept-Encoding");
    res.keep_alive(keep_alive);
  }

  template <class Body>
  void send_message(http::response<Body>&& res, Delivery how) {
    if (how.head) {
      http::response<http::empty_body> empty{res.result(), res.version()};
      empty.base() = res.base();
      return write(http::message_generator(std::move(empty)), how.keep_alive);
    }
    write(http::message_generator(std::move(res)), how.keep_alive);
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
  // Signaling messages are small and each one is somebody waiting: no Nagle delay.
  socket.set_option(tcp::no_delay(true), peer_ec);
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

void Server::Impl::do_sweep() {
  sweeper.expires_after(kSweepEvery);
  sweeper.async_wait([this](beast::error_code ec) {
    if (ec || stopping) return;
    const Millis now = wall_now();
    // Safe to walk: a socket the sweep finishes leaves `sockets` later, in a posted detach.
    for (auto& [conn, session] : sockets) {
      if (auto s = session.lock()) s->sweep(now);
    }
    do_sweep();
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
  // Shutting down, and the last client has answered the close: no need to wait out kDrainFor.
  if (stopping && sockets.empty()) io.stop();
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
  sweeper.cancel();
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
  i.do_sweep();
  i.io.run();
}

}  // namespace duet::server
