// The WebSocket wire format (RFC 6455), server side, with no I/O: the opening handshake's
// accept key, a frame reader that turns the bytes a client sent into messages, pings and
// closes, and the header of a frame the server sends. duet-server speaks it directly over
// its sockets rather than through Beast's websocket::stream because a Beast stream keeps
// about 3 KiB per connection (its read buffer, timers and pending operation) even when the
// connection is idle, and most signaling connections are idle most of the time; here an idle
// connection costs nothing but the two empty strings inside its FrameReader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace duet::server::ws {

enum class Opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// Close codes the server sends (RFC 6455 section 7.4.1).
inline constexpr std::uint16_t kNormal = 1000;
inline constexpr std::uint16_t kGoingAway = 1001;
inline constexpr std::uint16_t kProtocolError = 1002;
inline constexpr std::uint16_t kNoStatus = 1005;  // a close frame without a code; never sent
inline constexpr std::uint16_t kInvalidPayload = 1007;
inline constexpr std::uint16_t kPolicy = 1008;
inline constexpr std::uint16_t kTooBig = 1009;

// The largest payload of a control frame (ping, pong, close).
inline constexpr std::size_t kMaxControlPayload = 125;
// The longest frame header: 2 bytes, 8 of extended length, 4 of mask.
inline constexpr std::size_t kMaxHeader = 14;

// A Sec-WebSocket-Key is the base64 of 16 bytes: 24 characters ending in "==".
bool valid_key(std::string_view key);
// The Sec-WebSocket-Accept answer to a client's Sec-WebSocket-Key.
std::string accept_key(std::string_view key);

// True when `bytes` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF), as a text message and a close reason must be.
bool valid_utf8(std::string_view bytes);

// Writes the header of an unmasked, final frame of `op` carrying `size` bytes into `out`
// (at least 10 bytes); returns the header's length.
std::size_t frame_header(Opcode op, std::size_t size, char* out);

// The payload of a close frame: the code, big-endian, then the reason cut to fit a control
// frame (at a UTF-8 character boundary).
std::string close_payload(std::uint16_t code, std::string_view reason);

// What the client's frames amount to, one event at a time.
struct Event {
  enum class Kind : std::uint8_t {
    message,  // a whole text or binary message in `data`
    ping,     // `data` is the payload the pong must echo
    pong,
    close,    // the client's close frame: its `code` (kNoStatus if none) and reason in `data`
    fail,     // the client broke the protocol: close with `code`, `data` says why
  };
  Kind kind;
  std::uint16_t code = 0;
  std::string_view data;  // valid until the next call to feed()
};

// Reassembles frames into events. It keeps bytes only while a frame or a fragmented message
// is incomplete; between messages it holds no memory. After a close or a failure it reads
// nothing more.
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_message) : max_message_(max_message) {}

  // Reads `bytes` (unmasking payloads in place, hence not const) and calls emit(const Event&)
  // for each event they complete, in order.
  template <class Emit>
  void feed(char* bytes, std::size_t size, Emit&& emit) {
    using F = std::remove_reference_t<Emit>;
    feed_with(bytes, size, [](void* f, const Event& e) { (*static_cast<F*>(f))(e); }, &emit);
  }

  bool done() const { return done_; }
  // Bytes held for an incomplete frame or message.
  std::size_t buffered() const { return pending_.size() + message_.size(); }

 private:
  using Sink = void (*)(void*, const Event&);
  void feed_with(char* bytes, std::size_t size, Sink sink, void* context);
  // Reads the frames at the front of [p, p + n); returns how many bytes they took.
  std::size_t read_frames(char* p, std::size_t n, Sink sink, void* context);
  void fail(std::uint16_t code, std::string_view why, Sink sink, void* context);

  std::size_t max_message_;
  std::string pending_;  // the start of a frame not yet whole
  std::string message_;  // the fragments of a message not yet finished
  Opcode message_op_ = Opcode::text;
  bool in_message_ = false;
  bool done_ = false;
};

}  // namespace duet::server::ws
