// The WebSocket wire format on its own: frames are built here byte by byte, as a browser
// would mask them, and fed to the reader whole, split, and byte by byte.
#include "server/websocket.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

using namespace duet::server::ws;

namespace {

struct Seen {
  Event::Kind kind;
  std::uint16_t code;
  std::string data;
};

// A client frame: `fin`, `op`, masked with a fixed key unless `masked` is false.
std::string client_frame(Opcode op, const std::string& payload, bool fin = true, bool masked = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0) | static_cast<int>(op));
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (payload.size() < 126) {
    f += static_cast<char>(mask_bit | static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(payload.size() >> 8);
    f += static_cast<char>(payload.size() & 0xFF);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> (8 * i)) & 0xFF);
  }
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) f.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f += masked ? static_cast<char>(payload[i] ^ key[i & 3]) : payload[i];
  return f;
}

std::vector<Seen> feed(FrameReader& reader, std::string bytes, std::size_t chunk = 0) {
  std::vector<Seen> seen;
  auto emit = [&](const Event& e) { seen.push_back({e.kind, e.code, std::string(e.data)}); };
  if (chunk == 0) chunk = bytes.size();
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    std::string part = bytes.substr(at, chunk);
    reader.feed(part.data(), part.size(), emit);
  }
  return seen;
}

std::string close_body(std::uint16_t code, const std::string& reason = "") {
  std::string b;
  b += static_cast<char>(code >> 8);
  b += static_cast<char>(code & 0xFF);
  return b + reason;
}

}  // namespace

TEST_CASE("The accept key is SHA-1 of the key and the RFC's GUID, in base64", "[websocket]") {
  // The example in RFC 6455 section 1.3.
  CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("A key must be the base64 of 16 bytes", "[websocket]") {
  CHECK(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK_FALSE(valid_key(""));
  CHECK_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZQ="));
  CHECK_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZ!=="));
  CHECK_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZQQQ"));
}

TEST_CASE("UTF-8 validation refuses overlong forms, surrogates, stray and cut bytes", "[websocket]") {
  CHECK(valid_utf8(""));
  CHECK(valid_utf8("Gelen Arama \xC3\xA7\xC4\xB1 \xE2\x82\xAC \xF0\x9F\x93\x9E"));
  CHECK_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(valid_utf8("\xED\xA0\x80"));      // a surrogate
  CHECK_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(valid_utf8("\x80"));
  CHECK_FALSE(valid_utf8("abc\xE2\x82"));       // cut short
  CHECK_FALSE(valid_utf8("\xFF"));
}

TEST_CASE("Server frame headers use the shortest length form", "[websocket]") {
  char h[10];
  CHECK(frame_header(Opcode::text, 0, h) == 2);
  CHECK(static_cast<unsigned char>(h[0]) == 0x81);
  CHECK(h[1] == 0);
  CHECK(frame_header(Opcode::text, 125, h) == 2);
  CHECK(h[1] == 125);
  CHECK(frame_header(Opcode::pong, 126, h) == 4);
  CHECK(static_cast<unsigned char>(h[0]) == 0x8A);
  CHECK(h[1] == 126);
  CHECK(((static_cast<unsigned char>(h[2]) << 8) | static_cast<unsigned char>(h[3])) == 126);
  CHECK(frame_header(Opcode::text, 65535, h) == 4);
  CHECK(frame_header(Opcode::text, 65536, h) == 10);
  CHECK(h[1] == 127);
  CHECK(static_cast<unsigned char>(h[7]) == 1);  // 0x0000000000010000
  CHECK(h[8] == 0);
  CHECK(h[9] == 0);
}

TEST_CASE("A close payload holds the code and a reason cut at a character boundary", "[websocket]") {
  CHECK(close_payload(1000, "bye") == close_body(1000, "bye"));
  std::string long_reason(122, 'a');
  long_reason += "\xC3\xA7";  // bytes 123 and 124: the cut must not split it
  const std::string payload = close_payload(4000, long_reason);
  CHECK(payload.size() == 2 + 122);
  CHECK(valid_utf8(payload.substr(2)));
}

TEST_CASE("A masked text frame becomes a message, however the bytes arrive", "[websocket]") {
  const std::string text = R"({"type":"call:ice-candidate","callId":"c-1"})";
  const std::string bytes = client_frame(Opcode::text, text) + client_frame(Opcode::text, "second");
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{7}}) {
    FrameReader reader(1000);
    const auto seen = feed(reader, bytes, chunk);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].kind == Event::Kind::message);
    CHECK(seen[0].data == text);
    CHECK(seen[1].data == "second");
    CHECK(reader.buffered() == 0);
  }
}

TEST_CASE("Long lengths in 16 and 64 bits are read", "[websocket]") {
  FrameReader reader(100'000);
  const std::string medium(300, 'm');
  const std::string large(70'000, 'L');
  const auto seen = feed(reader, client_frame(Opcode::binary, medium) + client_frame(Opcode::binary, large), 4096);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].data == medium);
  CHECK(seen[1].data == large);
}

TEST_CASE("Fragments are joined into one message, with pings allowed between them", "[websocket]") {
  FrameReader reader(1000);
  const auto seen = feed(reader, client_frame(Opcode::text, "hel", false) + client_frame(Opcode::ping, "p") +
                                     client_frame(Opcode::continuation, "lo ", false) +
                                     client_frame(Opcode::continuation, "world"));
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].kind == Event::Kind::ping);
  CHECK(seen[0].data == "p");
  CHECK(seen[1].kind == Event::Kind::message);
  CHECK(seen[1].data == "hello world");
  CHECK(reader.buffered() == 0);
}

TEST_CASE("A close frame reports its code and reason, and ends the reading", "[websocket]") {
  FrameReader reader(1000);
  const auto seen = feed(reader, client_frame(Opcode::close, close_body(1001, "tab closed")) + client_frame(Opcode::text, "late"));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].kind == Event::Kind::close);
  CHECK(seen[0].code == 1001);
  CHECK(seen[0].data == "tab closed");
  CHECK(reader.done());
}

TEST_CASE("A close frame without a code reports no status", "[websocket]") {
  FrameReader reader(1000);
  const auto seen = feed(reader, client_frame(Opcode::close, ""));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].code == kNoStatus);
}

TEST_CASE("Protocol violations fail the connection with the code RFC 6455 names", "[websocket]") {
  struct Case {
    const char* what;
    std::string bytes;
    std::uint16_t code;
  };
  const std::vector<Case> cases = {
      {"unmasked", client_frame(Opcode::text, "hi", true, false), kProtocolError},
      {"reserved bit", std::string("\xC1\x80\0\0\0\0", 6), kProtocolError},
      {"unknown opcode", std::string("\x83\x80\0\0\0\0", 6), kProtocolError},
      {"fragmented ping", client_frame(Opcode::ping, "p", false), kProtocolError},
      {"long ping", client_frame(Opcode::ping, std::string(126, 'p')), kProtocolError},
      {"stray continuation", client_frame(Opcode::continuation, "x"), kProtocolError},
      {"interleaved message", client_frame(Opcode::text, "a", false) + client_frame(Opcode::text, "b"), kProtocolError},
      {"invalid UTF-8 text", client_frame(Opcode::text, "\xC0\xAF"), kInvalidPayload},
      {"invalid UTF-8 across fragments", client_frame(Opcode::text, "\xE2\x82", false) + client_frame(Opcode::continuation, "x"),
       kInvalidPayload},
      {"one-byte close", client_frame(Opcode::close, "x"), kProtocolError},
      {"reserved close code", client_frame(Opcode::close, close_body(1005)), kProtocolError},
      {"close reason not UTF-8", client_frame(Opcode::close, close_body(1000, "\xFF")), kInvalidPayload},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    FrameReader reader(1000);
    const auto seen = feed(reader, c.bytes);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].kind == Event::Kind::fail);
    CHECK(seen[0].code == c.code);
    CHECK(reader.done());
  }
}

TEST_CASE("A message over the limit fails with 1009 before its payload is buffered", "[websocket]") {
  FrameReader reader(1000);
  std::string frame = client_frame(Opcode::text, std::string(1001, 'x'));
  const auto seen = feed(reader, frame.substr(0, 8));  // the header alone
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].code == kTooBig);
  CHECK(reader.buffered() == 0);
}

TEST_CASE("Fragments that together pass the limit fail with 1009", "[websocket]") {
  FrameReader reader(10);
  const auto seen = feed(reader, client_frame(Opcode::text, "123456", false) + client_frame(Opcode::continuation, "789012"));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].code == kTooBig);
}

TEST_CASE("Binary messages are not checked for UTF-8", "[websocket]") {
  FrameReader reader(1000);
  const auto seen = feed(reader, client_frame(Opcode::binary, "\xFF\xFE"));
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].kind == Event::Kind::message);
}
