#include "server/websocket.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

namespace duet::server::ws {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_base64(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool is_control(Opcode op) { return (static_cast<unsigned>(op) & 0x8) != 0; }

bool known(unsigned op) { return op <= 2 || (op >= 8 && op <= 10); }

// Codes a client may put in a close frame (RFC 6455 7.4 and the IANA registry): not the ones
// reserved for local use (1005, 1006, 1015) nor unassigned ones.
bool valid_close_code(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

}  // namespace

bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22)) {
    if (!is_base64(c)) return false;
  }
  return true;
}

std::string accept_key(std::string_view key) {
  std::string input(key);
  input += kGuid;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha1(), nullptr);
  std::array<unsigned char, 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1> text{};
  const int written = EVP_EncodeBlock(text.data(), digest.data(), static_cast<int>(length));
  return std::string(reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(written));
}

bool valid_utf8(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    const unsigned c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int more = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if ((c & 0xE0) == 0xC0) {
      more = 1, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      more = 2, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      more = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= more) return false;
    for (int i = 1; i <= more; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += more + 1;
  }
  return true;
}

std::size_t frame_header(Opcode op, std::size_t size, char* out) {
  out[0] = static_cast<char>(0x80 | static_cast<unsigned>(op));
  if (size < 126) {
    out[1] = static_cast<char>(size);
    return 2;
  }
  if (size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<char>(size >> 8);
    out[3] = static_cast<char>(size);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<char>(static_cast<std::uint64_t>(size) >> (56 - 8 * i));
  return 10;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::size_t keep = std::min(reason.size(), kMaxControlPayload - 2);
  // Back up over continuation bytes so a cut never splits a character.
  while (keep < reason.size() && keep > 0 && (static_cast<unsigned char>(reason[keep]) & 0xC0) == 0x80) --keep;
  std::string payload;
  payload.reserve(2 + keep);
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload.append(reason.substr(0, keep));
  return payload;
}

void FrameReader::feed_with(char* bytes, std::size_t size, Sink sink, void* context) {
  if (done_ || size == 0) return;
  if (pending_.empty()) {
    const std::size_t used = read_frames(bytes, size, sink, context);
    if (!done_ && used < size) pending_.assign(bytes + used, size - used);
    return;
  }
  pending_.append(bytes, size);
  const std::size_t used = read_frames(pending_.data(), pending_.size(), sink, context);
  if (done_ || used == pending_.size()) {
    std::string().swap(pending_);  // an idle connection keeps no buffer
  } else {
    pending_.erase(0, used);
  }
}

void FrameReader::fail(std::uint16_t code, std::string_view why, Sink sink, void* context) {
  done_ = true;
  sink(context, Event{Event::Kind::fail, code, why});
}

std::size_t FrameReader::read_frames(char* p, std::size_t n, Sink sink, void* context) {
  std::size_t at = 0;
  while (!done_ && n - at >= 2) {
    const auto b0 = static_cast<unsigned char>(p[at]);
    const auto b1 = static_cast<unsigned char>(p[at + 1]);
    const bool fin = (b0 & 0x80) != 0;
    const unsigned raw_op = b0 & 0x0F;
    if ((b0 & 0x70) != 0) {
      fail(kProtocolError, "reserved bits set, and no extension was agreed", sink, context);
      break;
    }
    if (!known(raw_op)) {
      fail(kProtocolError, "unknown opcode", sink, context);
      break;
    }
    if ((b1 & 0x80) == 0) {
      fail(kProtocolError, "client frames must be masked", sink, context);
      break;
    }
    const auto op = static_cast<Opcode>(raw_op);
    std::size_t header = 2;
    std::uint64_t length = b1 & 0x7F;
    if (length == 126) {
      header = 4;
      if (n - at < header) break;
      length = (static_cast<std::uint64_t>(static_cast<unsigned char>(p[at + 2])) << 8) |
               static_cast<unsigned char>(p[at + 3]);
    } else if (length == 127) {
      header = 10;
      if (n - at < header) break;
      length = 0;
      for (int i = 0; i < 8; ++i) length = (length << 8) | static_cast<unsigned char>(p[at + 2 + i]);
    }
    if (is_control(op) && (!fin || length > kMaxControlPayload)) {
      fail(kProtocolError, "control frames must be whole and at most 125 bytes", sink, context);
      break;
    }
    if (!is_control(op)) {
      if (op == Opcode::continuation && !in_message_) {
        fail(kProtocolError, "a continuation frame with no message to continue", sink, context);
        break;
      }
      if (op != Opcode::continuation && in_message_) {
        fail(kProtocolError, "a new message before the last one finished", sink, context);
        break;
      }
      // Checked before the payload arrives, so an oversized message is never buffered.
      if (length > max_message_ - message_.size()) {
        fail(kTooBig, "message too big", sink, context);
        break;
      }
    }
    header += 4;  // the mask
    if (n - at < header + length) break;
    char* payload = p + at + header;
    const char* mask = p + at + header - 4;
    for (std::uint64_t i = 0; i < length; ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    const std::string_view data(payload, static_cast<std::size_t>(length));
    at += header + static_cast<std::size_t>(length);

    switch (op) {
      case Opcode::ping:
        sink(context, Event{Event::Kind::ping, 0, data});
        break;
      case Opcode::pong:
        sink(context, Event{Event::Kind::pong, 0, data});
        break;
      case Opcode::close: {
        if (data.size() == 1) {
          fail(kProtocolError, "a close frame with half a code", sink, context);
          break;
        }
        std::uint16_t code = kNoStatus;
        if (data.size() >= 2) {
          code = static_cast<std::uint16_t>((static_cast<unsigned char>(data[0]) << 8) | static_cast<unsigned char>(data[1]));
          if (!valid_close_code(code)) {
            fail(kProtocolError, "a close code a client may not send", sink, context);
            break;
          }
          if (!valid_utf8(data.substr(2))) {
            fail(kInvalidPayload, "a close reason that is not UTF-8", sink, context);
            break;
          }
        }
        done_ = true;
        sink(context, Event{Event::Kind::close, code, data.size() >= 2 ? data.substr(2) : std::string_view()});
        break;
      }
      case Opcode::text:
      case Opcode::binary:
      case Opcode::continuation: {
        if (op != Opcode::continuation) message_op_ = op;
        if (fin && !in_message_) {
          // The common case, a message in one frame: handed over without a copy.
          if (op == Opcode::text && !valid_utf8(data)) {
            fail(kInvalidPayload, "a text message that is not UTF-8", sink, context);
            break;
          }
          sink(context, Event{Event::Kind::message, 0, data});
          break;
        }
        message_.append(data);
        in_message_ = !fin;
        if (fin) {
          if (message_op_ == Opcode::text && !valid_utf8(message_)) {
            fail(kInvalidPayload, "a text message that is not UTF-8", sink, context);
            break;
          }
          sink(context, Event{Event::Kind::message, 0, message_});
          std::string().swap(message_);
        }
        break;
      }
    }
  }
  return at;
}

}  // namespace duet::server::ws
