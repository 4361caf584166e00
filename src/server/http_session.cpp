// One HTTP connection (server_impl.hpp): REST through Api, static files (gzip, ETag), and the
// checked upgrade to a signaling socket. Each async step is a do_x / on_x pair.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sys/stat.h>
#include <unistd.h>

#include "server/compression.hpp"
#include "server/entity_tag.hpp"
#include "server/server_impl.hpp"
#include "server/static_files.hpp"
#include "server/websocket.hpp"

namespace duet::server {

namespace http = beast::http;
namespace websocket = beast::websocket;

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

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket&& socket, Server::Impl& server, std::string remote)
      : stream_(std::move(socket)), server_(server), remote_(std::move(remote)) {}

  void run() { do_read(); }

  // Over the address's connection limit: told so at once, whatever its request would be.
  void refuse(Millis retry_after_ms) {
    linger_ = kRefusedLingerFor;
    // Rounded up, at least 1; an hour for "never" (and anything near it, which would overflow).
    const Millis seconds = retry_after_ms >= 3'600'000 ? 3600 : std::max<Millis>(1, (retry_after_ms + 999) / 1000);
    Response r = error_response(make_error(ErrorCode::rate_limited, "too many connections from your address; try again later"));
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
    reply(r, 11, false);
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(kHttpTimeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    // Known as soon as the request line is: even an error answer to HEAD must carry no body.
    head_ = parser_->is_header_done() && parser_->get().method() == http::verb::head;
    if (ec == http::error::end_of_stream) return do_close();
    if (ec == http::error::body_limit) {
      return reply(error_response(make_error(ErrorCode::too_large, "request body over 16 KiB")), 11, false);
    }
    if (ec == http::error::header_limit) {
      return reply(error_response(make_error(ErrorCode::too_large, "request headers over 8 KiB")), 11, false);
    }
    // Not HTTP as this server reads it: a bad request line, header or chunk, a length that
    // contradicts itself. Answered, then closed: where a next request would start is unknown.
    if (ec && ec.category() == beast::http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::partial_message) {
      return reply(error_response(make_error(ErrorCode::bad_value, "malformed HTTP request: " + ec.message())), 11,
                   false);
    }
    if (ec) return;  // a timeout, a reset, or a client gone in the middle of its request
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
      start_websocket_session(stream_.release_socket(), server_, ws::accept_key(key), std::move(early));
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
    if (head_) {
      // The headers GET would get, Content-Length included, and no body: body bytes after a
      // HEAD answer would be read by the client as the start of the next answer.
      http::response<http::empty_body> empty{res.result(), res.version()};
      empty.base() = res.base();
      return write(http::message_generator(std::move(empty)), keep_alive);
    }
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

  // Our side of the connection first; then what the client still sends is read and dropped
  // for a moment (RFC 9112 9.6). Closing with unread bytes makes the kernel reset the
  // connection, and a client still sending a body it was refused (413) would lose the answer.
  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return;
    stream_.expires_after(linger_);
    do_drain();
  }

  void do_drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kDrainChunk), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->do_drain();  // until the client's end of stream, or linger_
    });
  }

  static constexpr std::size_t kDrainChunk = 16 * 1024;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Server::Impl& server_;
  std::string remote_;
  bool head_ = false;  // the request being answered is a HEAD
  std::chrono::milliseconds linger_ = kLingerFor;
};

}  // namespace

void start_http_session(tcp::socket&& socket, Server::Impl& server, std::string remote) {
  std::make_shared<HttpSession>(std::move(socket), server, std::move(remote))->run();
}

void refuse_http_session(tcp::socket&& socket, Server::Impl& server, Millis retry_after_ms) {
  std::make_shared<HttpSession>(std::move(socket), server, std::string())->refuse(retry_after_ms);
}

}  // namespace duet::server
