// The signaling protocol, version 1: text to typed messages and back.
//
// Reading goes outside in, and stops at the first problem:
//   1. size      (before anything looks inside the text)          -> too_large
//   2. nesting   (a linear scan, before the parser sees the text) -> too_deep
//   3. JSON      (nlohmann/json, without exceptions)              -> bad_json
//   4. envelope  (an object with "v": 1 and a known "type")       -> not_an_object, bad_version,
//                                                                    unknown_type
//   5. fields    (one small reader per message type, in kTypes)   -> missing_field, wrong_type,
//                                                                    too_long, bad_value
// Fields a reader does not know are ignored, so a newer peer may add optional fields without
// breaking an older one (docs/protocol.md, "Versioning"). When a key repeats, the last one wins.
//
// This file is also built into the wasm module with -fno-exceptions: it uses only the
// non-throwing parts of nlohmann/json (parse with allow_exceptions = false, get_ptr, find,
// dump with error_handler_t::replace) and no try/catch.
#include "duet/protocol.hpp"

#include "json_reading.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace duet {
namespace {

using Json = nlohmann::json;                // for reading
using OrderedJson = nlohmann::ordered_json;  // for writing: keeps "v" and "type" first

using detail::echo;
using detail::integer_of;
using detail::kind_of;
using detail::too_deep_at;

// ----- Enumerations and their wire names ------------------------------------------------------

template <class E>
struct Named {
  E value;
  std::string_view name;
};

constexpr Named<CallType> kCallTypes[] = {
    {CallType::audio, "audio"},
    {CallType::video, "video"},
};

constexpr Named<EndReason> kEndReasons[] = {
    {EndReason::hangup, "hangup"},
    {EndReason::cancelled, "cancelled"},
    {EndReason::rejected, "rejected"},
    {EndReason::busy, "busy"},
    {EndReason::timeout, "timeout"},
    {EndReason::failed, "failed"},
    {EndReason::media_unavailable, "media_unavailable"},
    {EndReason::answered_elsewhere, "answered_elsewhere"},
    {EndReason::connection_lost, "connection_lost"},
    {EndReason::glare, "glare"},
};

constexpr Named<PresenceStatus> kPresenceStatuses[] = {
    {PresenceStatus::online, "online"},
    {PresenceStatus::busy, "busy"},
    {PresenceStatus::offline, "offline"},
};

// True when `table` names every value from 0 to `last`, in order, so it can be indexed.
template <class E, std::size_t N>
constexpr bool complete_and_in_order(const Named<E> (&table)[N], E last) {
  if (N != static_cast<std::size_t>(last) + 1) return false;
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(table[i].value) != i) return false;
  }
  return true;
}
static_assert(complete_and_in_order(kCallTypes, CallType::video));
static_assert(complete_and_in_order(kEndReasons, EndReason::glare));
static_assert(complete_and_in_order(kPresenceStatuses, PresenceStatus::offline));

// The wire name of `value`; empty for a value outside the enum (a bad cast on this side).
template <class E, std::size_t N>
std::string_view name_in(const Named<E> (&table)[N], E value) {
  const auto i = static_cast<std::size_t>(value);
  return i < N ? table[i].name : std::string_view{};
}

template <class E, std::size_t N>
bool value_in(const Named<E> (&table)[N], std::string_view name, E& out) {
  for (const Named<E>& entry : table) {
    if (entry.name == name) {
      out = entry.value;
      return true;
    }
  }
  return false;
}

// "audio, video": for error messages.
template <class E, std::size_t N>
std::string list_names(const Named<E> (&table)[N]) {
  std::string out;
  for (const Named<E>& entry : table) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

// ----- Reading the fields of one object ---------------------------------------------------------
// Error messages name the field and the limit, and quote a value the sender sent only when it is
// short, printable ASCII: a message must stay well under kMaxErrorMessageBytes, valid UTF-8, and
// free of anything a log or a page could misread. echo() and kind_of() (json_reading.hpp) quote
// and describe what was sent, in the same words as the module's JSON form.

using detail::Need;

// Reads fields of one JSON object into a message (detail::FieldReader), plus what only the
// protocol has: ids, its enumeration tables, error codes. Unknown fields are ignored, so it does
// not keep a list of the names it read.
class Fields : public detail::FieldReader {
 public:
  explicit Fields(const Json::object_t& object, std::string prefix = {})
      : FieldReader(object, std::move(prefix), /*track_known=*/false) {}

  template <class T>
  Expected<Body> finish(T message) {
    if (error()) return *error();
    return Body{std::move(message)};
  }

  // A user, call or group id. When present it must be valid: an empty string is not an id.
  void id(std::string_view name, std::string& out, Need need) {
    const std::string* value = string_field(name, kMaxIdBytes, need);
    if (value == nullptr) return;
    if (!is_valid_id(*value)) {
      return fail(ErrorCode::bad_value,
                  field(name) + " is not an id: 1.." + std::to_string(kMaxIdBytes) +
                      " of the characters A-Z a-z 0-9 _ -");
    }
    out = *value;
  }

  // A string naming one value of an enum. Optional and absent: `out` keeps its default.
  template <class E, std::size_t N>
  void enumeration(std::string_view name, E& out, const Named<E> (&table)[N], Need need) {
    const std::string* value = string_field(name, std::string::npos, need);
    if (value == nullptr) return;
    if (!value_in(table, *value, out)) {
      const std::string sent = echo(*value);
      fail(ErrorCode::bad_value, field(name) + " must be one of " + list_names(table) +
                                     (sent.empty() ? "" : ", not" + sent));
    }
  }

  void error_code(std::string_view name, ErrorCode& out) {
    const std::string* value = string_field(name, std::string::npos, Need::required);
    if (value == nullptr) return;
    if (!parse_error_code(*value, out)) {
      const std::string sent = echo(*value);
      fail(ErrorCode::bad_value, field(name) + (sent.empty() ? "" : " is" + sent + ", which") +
                                     " names no error code of version " +
                                     std::to_string(kProtocolVersion));
    }
  }
};

// ----- One reader per message type ------------------------------------------------------------

void read(Fields& f, msg::Auth& m) {
  f.non_empty_text("token", m.token, kMaxTokenBytes);
  f.id("device", m.device, Need::optional);
  f.integer("received", m.received, 0, kMaxFrameCount);
}

void read(Fields& f, msg::AuthOk& m) {
  f.id("userId", m.userId, Need::required);
  f.text("displayName", m.displayName, Need::optional, kMaxNameBytes);
  f.integer("received", m.received, 0, kMaxFrameCount);
}

void read(Fields& f, msg::Error& m) {
  f.error_code("code", m.code);
  f.text("message", m.message, Need::required, kMaxErrorMessageBytes);
  f.text("ref", m.ref, Need::optional, kMaxIdBytes);
  f.id("callId", m.callId, Need::optional);
}

void read(Fields& f, msg::Presence& m) {
  f.id("userId", m.userId, Need::required);
  f.enumeration("status", m.status, kPresenceStatuses, Need::required);
}

void read(Fields& f, msg::CallInitiate& m) {
  f.id("callId", m.callId, Need::required);
  f.id("to", m.to, Need::optional);
  f.id("groupId", m.groupId, Need::optional);
  if (f.ok() && m.to.empty() == m.groupId.empty()) {
    f.fail(ErrorCode::bad_value, "call:initiate needs exactly one of field \"to\" (a one-to-one "
                                 "call) and field \"groupId\" (a group call)");
  }
  f.enumeration("callType", m.callType, kCallTypes, Need::required);
  f.text("fromName", m.fromName, Need::optional, kMaxNameBytes);
}

void read(Fields& f, msg::CallRinging& m) { f.id("callId", m.callId, Need::required); }
void read(Fields& f, msg::CallAccept& m) {
  f.id("callId", m.callId, Need::required);
  f.boolean("renegotiate", m.renegotiate, Need::optional);
}
void read(Fields& f, msg::CallReject& m) { f.id("callId", m.callId, Need::required); }
void read(Fields& f, msg::CallBusy& m) { f.id("callId", m.callId, Need::required); }

void read(Fields& f, msg::CallCancel& m) {
  f.id("callId", m.callId, Need::required);
  f.enumeration("reason", m.reason, kEndReasons, Need::optional);
}

void read(Fields& f, msg::CallEnd& m) {
  f.id("callId", m.callId, Need::required);
  f.enumeration("reason", m.reason, kEndReasons, Need::optional);
}

void read(Fields& f, msg::CallOffer& m) {
  f.id("callId", m.callId, Need::required);
  f.id("to", m.to, Need::optional);
  f.non_empty_text("sdp", m.sdp, kMaxSdpBytes);
}

void read(Fields& f, msg::CallAnswer& m) {
  f.id("callId", m.callId, Need::required);
  f.id("to", m.to, Need::optional);
  f.non_empty_text("sdp", m.sdp, kMaxSdpBytes);
}

void read(Fields& f, msg::CallIceCandidate& m) {
  f.id("callId", m.callId, Need::required);
  f.id("to", m.to, Need::optional);
  const Json::object_t* object = f.object("candidate");
  if (object == nullptr) return;
  Fields c(*object, "candidate.");
  c.text("candidate", m.candidate.candidate, Need::required, kMaxCandidateBytes);  // "" = end
  c.optional_text("sdpMid", m.candidate.sdpMid, kMaxSdpMidBytes);
  c.integer("sdpMLineIndex", m.candidate.sdpMLineIndex, 0, kMaxMLineIndex);
  c.optional_text("usernameFragment", m.candidate.usernameFragment, kMaxUfragBytes);
  f.adopt(c);
}

void read(Fields& f, msg::CallMedia& m) {
  f.id("callId", m.callId, Need::required);
  f.boolean("audioMuted", m.audioMuted);
  f.boolean("videoMuted", m.videoMuted);
  f.boolean("screenShared", m.screenShared, Need::optional);
}

// ----- The table of message types ---------------------------------------------------------------

template <class T>
Expected<Body> read_as(Fields& fields) {
  T message;
  read(fields, message);
  return fields.finish(std::move(message));
}

template <class T, std::size_t I = 0>
constexpr std::size_t index_in_body() {
  if constexpr (std::is_same_v<T, std::variant_alternative_t<I, Body>>) {
    return I;
  } else {
    return index_in_body<T, I + 1>();
  }
}

struct MessageType {
  std::string_view name;
  std::size_t index;  // in Body
  Expected<Body> (*read)(Fields&);
};

template <class T>
constexpr MessageType type_entry(std::string_view name) {
  return {name, index_in_body<T>(), &read_as<T>};
}

// In the order of Body's alternatives, so type_name() can index it (checked below).
constexpr MessageType kTypes[] = {
    type_entry<msg::Auth>("auth"),
    type_entry<msg::AuthOk>("auth:ok"),
    type_entry<msg::Error>("error"),
    type_entry<msg::Presence>("presence"),
    type_entry<msg::CallInitiate>("call:initiate"),
    type_entry<msg::CallRinging>("call:ringing"),
    type_entry<msg::CallAccept>("call:accept"),
    type_entry<msg::CallReject>("call:reject"),
    type_entry<msg::CallCancel>("call:cancel"),
    type_entry<msg::CallBusy>("call:busy"),
    type_entry<msg::CallOffer>("call:offer"),
    type_entry<msg::CallAnswer>("call:answer"),
    type_entry<msg::CallIceCandidate>("call:ice-candidate"),
    type_entry<msg::CallEnd>("call:end"),
    type_entry<msg::CallMedia>("call:media"),
};

constexpr bool types_follow_body() {
  if (std::size(kTypes) != std::variant_size_v<Body>) return false;
  for (std::size_t i = 0; i < std::size(kTypes); ++i) {
    if (kTypes[i].index != i) return false;
  }
  return true;
}
static_assert(types_follow_body(), "kTypes must list every Body alternative once, in order");

const MessageType* find_type(std::string_view name) {
  for (const MessageType& t : kTypes) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// ----- Writing ----------------------------------------------------------------------------------

void put_if_set(OrderedJson& j, const char* name, const std::string& value) {
  if (!value.empty()) j[name] = value;
}

void write(OrderedJson& j, const msg::Auth& m) {
  j["token"] = m.token;
  if (!m.device.empty()) j["device"] = m.device;
  if (m.received) j["received"] = *m.received;
}

void write(OrderedJson& j, const msg::AuthOk& m) {
  j["userId"] = m.userId;
  put_if_set(j, "displayName", m.displayName);
  if (m.received) j["received"] = *m.received;
}

void write(OrderedJson& j, const msg::Error& m) {
  j["code"] = to_string(m.code);
  j["message"] = m.message;
  put_if_set(j, "ref", m.ref);
  put_if_set(j, "callId", m.callId);
}

void write(OrderedJson& j, const msg::Presence& m) {
  j["userId"] = m.userId;
  j["status"] = to_string(m.status);
}

void write(OrderedJson& j, const msg::CallInitiate& m) {
  j["callId"] = m.callId;
  put_if_set(j, "to", m.to);
  put_if_set(j, "groupId", m.groupId);
  j["callType"] = to_string(m.callType);
  put_if_set(j, "fromName", m.fromName);
}

void write(OrderedJson& j, const msg::CallRinging& m) { j["callId"] = m.callId; }
void write(OrderedJson& j, const msg::CallAccept& m) {
  j["callId"] = m.callId;
  if (m.renegotiate) j["renegotiate"] = true;
}
void write(OrderedJson& j, const msg::CallReject& m) { j["callId"] = m.callId; }
void write(OrderedJson& j, const msg::CallBusy& m) { j["callId"] = m.callId; }

void write(OrderedJson& j, const msg::CallCancel& m) {
  j["callId"] = m.callId;
  j["reason"] = to_string(m.reason);
}

void write(OrderedJson& j, const msg::CallEnd& m) {
  j["callId"] = m.callId;
  j["reason"] = to_string(m.reason);
}

void write(OrderedJson& j, const msg::CallOffer& m) {
  j["callId"] = m.callId;
  put_if_set(j, "to", m.to);
  j["sdp"] = m.sdp;
}

void write(OrderedJson& j, const msg::CallAnswer& m) {
  j["callId"] = m.callId;
  put_if_set(j, "to", m.to);
  j["sdp"] = m.sdp;
}

void write(OrderedJson& j, const msg::CallIceCandidate& m) {
  j["callId"] = m.callId;
  put_if_set(j, "to", m.to);
  OrderedJson c = OrderedJson::object();
  c["candidate"] = m.candidate.candidate;
  if (m.candidate.sdpMid) c["sdpMid"] = *m.candidate.sdpMid;
  if (m.candidate.sdpMLineIndex) c["sdpMLineIndex"] = *m.candidate.sdpMLineIndex;
  if (m.candidate.usernameFragment) c["usernameFragment"] = *m.candidate.usernameFragment;
  j["candidate"] = std::move(c);
}

void write(OrderedJson& j, const msg::CallMedia& m) {
  j["callId"] = m.callId;
  j["audioMuted"] = m.audioMuted;
  j["videoMuted"] = m.videoMuted;
  if (m.screenShared) j["screenShared"] = true;
}

}  // namespace

// ----- Public API -------------------------------------------------------------------------------

std::string_view to_string(CallType value) { return name_in(kCallTypes, value); }
std::string_view to_string(EndReason value) { return name_in(kEndReasons, value); }
std::string_view to_string(PresenceStatus value) { return name_in(kPresenceStatuses, value); }

bool parse_call_type(std::string_view text, CallType& out) {
  return value_in(kCallTypes, text, out);
}
bool parse_end_reason(std::string_view text, EndReason& out) {
  return value_in(kEndReasons, text, out);
}
bool parse_presence_status(std::string_view text, PresenceStatus& out) {
  return value_in(kPresenceStatuses, text, out);
}

std::string_view type_name(const Body& body) { return kTypes[body.index()].name; }

std::string_view call_id_of(const Body& body) {
  return std::visit(
      [](const auto& m) -> std::string_view {
        if constexpr (requires { m.callId; }) {
          return m.callId;
        } else {
          return {};
        }
      },
      body);
}

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Expected<Message> parse_message(std::string_view text) {
  if (text.size() > kMaxMessageBytes) {
    return make_error(ErrorCode::too_large, "the message is " + std::to_string(text.size()) +
                                                " bytes, over the limit of " +
                                                std::to_string(kMaxMessageBytes));
  }
  if (const auto at = too_deep_at(text, kMaxJsonDepth)) {
    return make_error(ErrorCode::too_deep, "the message nests arrays and objects deeper than the "
                                           "limit of " + std::to_string(kMaxJsonDepth) +
                                               " levels (at byte " + std::to_string(*at) + ")");
  }

  const Json json = Json::parse(text.data(), text.data() + text.size(), nullptr,
                                /*allow_exceptions=*/false);
  if (json.is_discarded()) return detail::bad_json(text, "the message");
  const auto* object = json.get_ptr<const Json::object_t*>();
  if (object == nullptr) {
    return make_error(ErrorCode::not_an_object,
                      "the message must be a JSON object, not " + std::string(kind_of(json)));
  }

  const std::string version = "version " + std::to_string(kProtocolVersion);
  const auto v = object->find("v");
  if (v == object->end() || v->second.is_null()) {
    return make_error(ErrorCode::bad_version, "field \"v\" is missing; this side speaks " + version);
  }
  const std::optional<std::int64_t> number = integer_of(v->second);
  if (!number) {
    return make_error(ErrorCode::bad_version, "field \"v\" must be an integer, not " +
                                                  std::string(kind_of(v->second)) +
                                                  "; this side speaks " + version);
  }
  if (*number != kProtocolVersion) {
    return make_error(ErrorCode::bad_version, "field \"v\" is " + std::to_string(*number) +
                                                  "; this side speaks " + version);
  }

  const auto t = object->find("type");
  if (t == object->end() || t->second.is_null()) {
    return make_error(ErrorCode::unknown_type, "field \"type\" is missing");
  }
  const auto* type_text = t->second.get_ptr<const Json::string_t*>();
  if (type_text == nullptr) {
    return make_error(ErrorCode::unknown_type, "field \"type\" must be a string, not " +
                                                   std::string(kind_of(t->second)));
  }
  const MessageType* type = find_type(*type_text);
  if (type == nullptr) {
    const std::string sent = echo(*type_text);
    return make_error(ErrorCode::unknown_type,
                      "field \"type\"" + (sent.empty() ? "" : " is" + sent + ", which") +
                          " is not a message type of " + version);
  }

  Message message;
  Fields envelope(*object);
  envelope.id("from", message.from, Need::optional);
  if (envelope.error()) return *envelope.error();

  Fields fields(*object);
  Expected<Body> body = type->read(fields);
  if (!body) return body.error();
  message.body = std::move(body).value();
  return message;
}

std::optional<std::string> relay_text(std::string_view text, std::string_view from) {
  // A key spelled "from" needs those four bytes, or an escape for one of them; without either
  // the object has no such key, and the stamp put first cannot be overridden by a later one.
  if (text.find("from") != std::string_view::npos || text.find("\\u") != std::string_view::npos) {
    return std::nullopt;
  }
  const std::size_t brace = text.find_first_not_of(" \t\r\n");
  if (brace == std::string_view::npos || text[brace] != '{' || !is_valid_id(from)) return std::nullopt;
  constexpr std::string_view kKey = "\"from\":\"";
  const std::size_t size = text.size() + kKey.size() + from.size() + 2;
  // The peer refuses a message over the limit; serialize() writes it compactly instead.
  if (size > kMaxMessageBytes) return std::nullopt;
  std::string out;
  out.reserve(size);
  out.append(text.substr(0, brace + 1));
  out.append(kKey);
  out.append(from);  // an id: nothing in it needs escaping
  out.append("\",");
  out.append(text.substr(brace + 1));
  return out;
}

std::string serialize(const Message& message) {
  OrderedJson j = OrderedJson::object();
  j["v"] = kProtocolVersion;
  j["type"] = type_name(message.body);
  put_if_set(j, "from", message.from);
  std::visit([&j](const auto& m) { write(j, m); }, message.body);
  // Strings that are not valid UTF-8 (only possible in a message built on this side, never in
  // one that was parsed) come out with U+FFFD instead of failing.
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

}  // namespace duet
