// The signaling protocol, version 1: one JSON object per message, with an envelope of
// {"v": 1, "type": "<name>"} and the message's fields beside them. This unit turns text into
// typed messages and back. Parsing is strict and total: every input, however malformed or
// hostile, gives either a Message or an Error with a stable code; nothing throws and nothing
// is trusted. The browser core and the server use this same code, so they agree on what is
// valid by construction. docs/protocol.md is the reference for people writing other clients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "duet/error.hpp"

namespace duet {

inline constexpr int kProtocolVersion = 1;

// Limits. A message over any of them is refused whole with too_large, too_deep or too_long.
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;  // an SDP with many codecs is ~10 KiB
inline constexpr int kMaxJsonDepth = 8;                     // our deepest message nests 2 levels
inline constexpr std::size_t kMaxIdBytes = 64;              // ids: [A-Za-z0-9_-]{1,64}
inline constexpr std::size_t kMaxSdpBytes = 32 * 1024;
inline constexpr std::size_t kMaxCandidateBytes = 1024;     // a candidate line is ~100-250 B
inline constexpr std::size_t kMaxSdpMidBytes = 64;
inline constexpr std::size_t kMaxUfragBytes = 256;          // RFC 8839 allows 4..256 chars
inline constexpr std::size_t kMaxTokenBytes = 4096;
inline constexpr std::size_t kMaxNameBytes = 128;           // display names, UTF-8 bytes
inline constexpr std::size_t kMaxErrorMessageBytes = 512;
inline constexpr int kMaxMLineIndex = 255;
// Frame counts travel as JSON numbers, which JavaScript reads exactly up to 2^53 - 1.
inline constexpr std::int64_t kMaxFrameCount = (std::int64_t{1} << 53) - 1;

enum class CallType { audio, video };

// Why a call ended; travels in call:end and call:cancel and is kept in the call record.
enum class EndReason {
  hangup,              // a participant hung up an established call
  cancelled,           // the caller gave up before an answer
  rejected,            // the callee declined
  busy,                // the callee was in another call
  timeout,             // nobody answered within the ring timeout (a missed call)
  failed,              // no media path could be established
  media_unavailable,   // a participant's camera or microphone could not be used
  answered_elsewhere,  // another device of the callee took the call
  connection_lost,     // a participant dropped and did not come back in time
  glare,               // both called each other at once; the other call was kept
};

enum class PresenceStatus { online, busy, offline };

std::string_view to_string(CallType);
std::string_view to_string(EndReason);
std::string_view to_string(PresenceStatus);
bool parse_call_type(std::string_view, CallType&);
bool parse_end_reason(std::string_view, EndReason&);
bool parse_presence_status(std::string_view, PresenceStatus&);

// RTCIceCandidateInit. An empty `candidate` is the end-of-candidates marker.
struct IceCandidate {
  std::string candidate;
  std::optional<std::string> sdpMid;
  std::optional<int> sdpMLineIndex;
  std::optional<std::string> usernameFragment;

  friend bool operator==(const IceCandidate&, const IceCandidate&) = default;
};

// One struct per message type; field names are the JSON field names. `to` is the user id
// of the peer a call-scoped message is meant for: the caller's choice of callee in
// call:initiate, and in group calls the one member an offer, answer or candidate is for.
// An empty string means the field is absent.
namespace msg {
struct Auth {  // "auth"
  std::string token;
  // Names the client (one page, one app instance) across its reconnects, so the server can
  // tell a connection that replaces a silently dead one from another device of the user.
  std::string device;
  // Coming back after a drop: how many frames this device has received from the server since
  // it first signed in (its session), so the server can send again the ones that were lost.
  std::optional<std::uint64_t> received;
  friend bool operator==(const Auth&, const Auth&) = default;
};
struct AuthOk {  // "auth:ok"
  std::string userId;
  std::string displayName;
  // Present when the server resumed the device's session: how many frames it has read from
  // the device in it, so the device sends again the ones after those.
  std::optional<std::uint64_t> received;
  friend bool operator==(const AuthOk&, const AuthOk&) = default;
};
struct Error {  // "error"
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::string ref;     // the type of the message that caused it, when known
  std::string callId;  // the call it concerns, when known
  friend bool operator==(const Error&, const Error&) = default;
};
struct Presence {  // "presence"
  std::string userId;
  PresenceStatus status = PresenceStatus::offline;
  friend bool operator==(const Presence&, const Presence&) = default;
};
struct CallInitiate {  // "call:initiate"
  std::string callId;
  std::string to;        // one-to-one: the callee; exactly one of to and groupId is set
  std::string groupId;   // group call
  CallType callType = CallType::audio;
  std::string fromName;  // the caller's display name, filled in by the server
  friend bool operator==(const CallInitiate&, const CallInitiate&) = default;
};
struct CallRinging {  // "call:ringing"
  std::string callId;
  friend bool operator==(const CallRinging&, const CallRinging&) = default;
};
struct CallAccept {  // "call:accept"
  std::string callId;
  // Set by the server when the device that answered is not the one whose answer to the caller's
  // offer went to the caller while it rang (another device, or the same page reloaded): the
  // caller's connection leads nowhere, and it must negotiate again.
  bool renegotiate = false;
  friend bool operator==(const CallAccept&, const CallAccept&) = default;
};
struct CallReject {  // "call:reject"
  std::string callId;
  friend bool operator==(const CallReject&, const CallReject&) = default;
};
struct CallCancel {  // "call:cancel"
  std::string callId;
  EndReason reason = EndReason::cancelled;
  friend bool operator==(const CallCancel&, const CallCancel&) = default;
};
struct CallBusy {  // "call:busy"
  std::string callId;
  friend bool operator==(const CallBusy&, const CallBusy&) = default;
};
struct CallOffer {  // "call:offer"
  std::string callId;
  std::string to;
  std::string sdp;
  friend bool operator==(const CallOffer&, const CallOffer&) = default;
};
struct CallAnswer {  // "call:answer"
  std::string callId;
  std::string to;
  std::string sdp;
  friend bool operator==(const CallAnswer&, const CallAnswer&) = default;
};
struct CallIceCandidate {  // "call:ice-candidate"
  std::string callId;
  std::string to;
  IceCandidate candidate;
  friend bool operator==(const CallIceCandidate&, const CallIceCandidate&) = default;
};
struct CallEnd {  // "call:end"
  std::string callId;
  EndReason reason = EndReason::hangup;
  friend bool operator==(const CallEnd&, const CallEnd&) = default;
};
struct CallMedia {  // "call:media"
  std::string callId;
  bool audioMuted = false;
  bool videoMuted = false;
  bool screenShared = false;  // the sender's video is its screen, not its camera
  friend bool operator==(const CallMedia&, const CallMedia&) = default;
};
}  // namespace msg

using Body = std::variant<msg::Auth, msg::AuthOk, msg::Error, msg::Presence, msg::CallInitiate,
                          msg::CallRinging, msg::CallAccept, msg::CallReject, msg::CallCancel,
                          msg::CallBusy, msg::CallOffer, msg::CallAnswer, msg::CallIceCandidate,
                          msg::CallEnd, msg::CallMedia>;

struct Message {
  Body body;
  // The sender's user id. Only the server sets it; a server ignores what a client sends here.
  std::string from;

  friend bool operator==(const Message&, const Message&) = default;
};

// The wire name of a message, e.g. "call:offer".
std::string_view type_name(const Body& body);
// The call a message concerns, or an empty view for messages outside a call.
std::string_view call_id_of(const Body& body);

// Text to message, validating everything: size, depth, envelope, every field and limit.
Expected<Message> parse_message(std::string_view text);
// Message to text. Output of serialize() always parses back to an equal message.
std::string serialize(const Message& message);

// What a server forwards for `text`, a message parse_message() accepted, sent by the user
// `from`: the sender's own text with `"from"` put first, so a relay does not parse the message
// into a DOM and write it out again, and fields this side does not know reach the peer (a
// newer client's optional field survives an older server). nullopt when the text might
// already hold a "from" key of its own (the bytes `from` or a `\u` escape appear anywhere
// in it); the caller then writes the message with serialize(), which replaces that key.
std::optional<std::string> relay_text(std::string_view text, std::string_view from);

// Ids (users, calls, groups): 1..kMaxIdBytes of [A-Za-z0-9_-].
bool is_valid_id(std::string_view id);

}  // namespace duet
