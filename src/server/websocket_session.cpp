// One signaling socket after the upgrade (server_impl.hpp), speaking websocket.hpp's frames
// itself.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/server_impl.hpp"
#include "server/websocket.hpp"

namespace duet::server {

namespace {

constexpr std::size_t kMaxQueued = 512;  // per socket: a client that stops reading is closed
                                         // rather than buffered forever
// A message up to twice the protocol's limit is read whole and refused with a typed too_large
// error; past that, the frame reader fails the connection with 1009 without buffering it.
constexpr std::size_t kReadMessageMax = 2 * kMaxMessageBytes;

// One signaling socket after the upgrade, speaking websocket.hpp's wire format itself. It
// reads only when the kernel says there is something to read, into the server's one shared
// buffer, so an idle socket holds no buffer of its own and no pending read, only a wait.
// Writes go straight to the socket and fall back to waiting only when the kernel's send
// buffer is full; whatever queued meanwhile goes out in one gathered write.
class WebSocketSession final : public SignalingSocket, public std::enable_shared_from_this<WebSocketSession> {
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

  void send(std::string text) override { send_frame(ws::Opcode::text, std::move(text)); }

  // Sends a close frame after what is queued; the socket closes when the client answers, or
  // at the next sweep after kCloseWait.
  void close(std::uint16_t code, std::string_view reason) override {
    if (closing_ || finished_) return;
    send_frame(ws::Opcode::close, ws::close_payload(code, reason));
    closing_ = true;
    closing_since_ = wall_now();
    flush();
  }

  // Called every kSweepEvery: pings a client that has been silent, drops one that stays
  // silent (its network is gone without a FIN), and gives up on an unanswered close.
  void sweep(Millis now) override {
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

}  // namespace

void start_websocket_session(tcp::socket&& socket, Server::Impl& server, std::string_view accept, std::string early) {
  std::make_shared<WebSocketSession>(std::move(socket), server)->start(accept, std::move(early));
}

}  // namespace duet::server
