// The phone's events, effects and views as JSON (docs/core.md, "The JSON form").
//
// Reading an event goes outside in, like reading a signaling message, and stops at the first
// problem:
//   1. size      (before anything looks inside the text)          -> too_large
//   2. nesting   (a linear scan, before the parser sees the text) -> too_deep
//   3. JSON      (nlohmann/json, without exceptions)              -> bad_json
//   4. shape     (an object with a known "type")                  -> not_an_object, unknown_type
//   5. fields    (one small reader per event type, in kEvents)    -> missing_field, wrong_type,
//                                                                    too_long, bad_value
// Unlike a signaling message, an event may not carry fields its type does not have: the SDK and
// the core ship together, so an unknown field is a mistake (a misspelt optional field would
// otherwise be dropped without a word). Null counts as absent, as in the protocol.
//
// Text that ends up in a signaling message (sdp, candidate fields) is held to the protocol's
// limits here, so a shell's mistake shows up at the event and not as a refused message later.
// Ids are not checked here: the phone checks the ones it acts on (a Dial with a bad id is
// refused with an intentRefused effect) and ignores events about peers and calls it does not
// have.
//
// Built into the wasm module with -fno-exceptions: only the non-throwing parts of nlohmann/json
// (parse with allow_exceptions = false, get_ptr, find, dump with error_handler_t::replace).
#include "duet/phone_json.hpp"

#include "json_reading.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace duet {
namespace {

using Json = nlohmann::json;                // for reading
using OrderedJson = nlohmann::ordered_json;  // for writing: "type" first, fields as documented

// Shared with protocol.cpp, so an event and a signaling message are read by the same rules and
// their errors are worded alike.
using detail::echo;
using detail::integer_of;
using detail::kind_of;
using detail::too_deep_at;

// ----- Enumerations read from events ------------------------------------------------------------
// Names come from the enums' own to_string (one spelling in the whole core); RTCSignalingState
// has none, so its W3C spellings are here.

std::string_view wire_name(SignalingState s) {
  switch (s) {
    case SignalingState::stable: return "stable";
    case SignalingState::have_local_offer: return "have-local-offer";
    case SignalingState::have_remote_offer: return "have-remote-offer";
    case SignalingState::closed: return "closed";
  }
  return {};
}
template <class E>
std::string_view wire_name(E value) {
  return to_string(value);
}

// The values of an enum an event may name, first to last in declaration order.
template <class E>
struct Range {
  E first;
  E last;
};
constexpr Range<CallType> kCallTypes{CallType::audio, CallType::video};
constexpr Range<SdpType> kSdpTypes{SdpType::offer, SdpType::answer};
constexpr Range<SignalingState> kSignalingStates{SignalingState::stable, SignalingState::closed};
constexpr Range<PeerState> kPeerStates{PeerState::new_, PeerState::closed};
constexpr Range<TimerKind> kTimers{TimerKind::ring, TimerKind::reconnect};
// A failure always has a problem: "none" is not one.
constexpr Range<MediaProblem> kMediaProblems{MediaProblem::denied, MediaProblem::other};

template <class E>
bool parse_enum(std::string_view text, Range<E> range, E& out) {
  for (auto i = static_cast<int>(range.first); i <= static_cast<int>(range.last); ++i) {
    if (wire_name(static_cast<E>(i)) == text) {
      out = static_cast<E>(i);
      return true;
    }
  }
  return false;
}

// "audio, video": for error messages.
template <class E>
std::string list_names(Range<E> range) {
  std::string out;
  for (auto i = static_cast<int>(range.first); i <= static_cast<int>(range.last); ++i) {
    if (!out.empty()) out += ", ";
    out += wire_name(static_cast<E>(i));
  }
  return out;
}

// ----- From text to a JSON object ---------------------------------------------------------------

// `what` is "event" or "config", for the messages. On success `json` holds an object.
std::optional<Error> read_object(std::string_view text, std::size_t max_bytes,
                                 std::string_view what, Json& json) {
  const std::string the = "the " + std::string(what);
  if (text.size() > max_bytes) {
    return make_error(ErrorCode::too_large, the + " is " + std::to_string(text.size()) +
                                                " bytes, over the limit of " +
                                                std::to_string(max_bytes));
  }
  if (const auto at = too_deep_at(text, kMaxEventDepth)) {
    return make_error(ErrorCode::too_deep,
                      the + " nests arrays and objects deeper than the limit of " +
                          std::to_string(kMaxEventDepth) + " levels (at byte " +
                          std::to_string(*at) + ")");
  }
  json = Json::parse(text.data(), text.data() + text.size(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return detail::bad_json(text, the);
  if (!json.is_object()) {
    return make_error(ErrorCode::not_an_object,
                      the + " must be a JSON object, not " + std::string(kind_of(json)));
  }
  return std::nullopt;
}

// ----- Reading the fields of one object ---------------------------------------------------------

using detail::Need;

// Reads fields of one JSON object (detail::FieldReader), and ends with done(), which refuses any
// field no read asked for: the SDK and the core ship together, so an unknown field is a misspelt
// one (`audioonly`), which would otherwise be dropped silently (docs/core.md).
class Fields : public detail::FieldReader {
 public:
  // `owner` names the object in messages: "dial events", "the config".
  Fields(const Json::object_t& object, std::string owner, std::string prefix = {})
      : FieldReader(object, std::move(prefix), /*track_known=*/true), owner_(std::move(owner)) {}

  // A string naming one value of an enum.
  template <class E>
  void enumeration(std::string_view name, E& out, Range<E> range) {
    const std::string* value = string_field(name, std::string::npos, Need::required);
    if (value == nullptr) return;
    if (!parse_enum(*value, range, out)) {
      const std::string sent = echo(*value);
      fail(ErrorCode::bad_value, field(name) + " must be one of " + list_names(range) +
                                     (sent.empty() ? "" : ", not" + sent));
    }
  }

  // After the last field: a field no read asked for is refused.
  void done() {
    if (!ok()) return;
    const std::string* key = unknown_field();
    if (key == nullptr) return;
    const bool plain = !echo(*key).empty();
    fail(ErrorCode::bad_value, (plain ? field(*key) : "a field with an unexpected name") +
                                   " is not a field of " + owner_);
  }

 private:
  std::string owner_;  // "dial events"
};

// ----- One reader per event type ----------------------------------------------------------------

void read(Fields& f, ev::Dial& e) {
  f.text("callId", e.callId, Need::required);
  f.text("peer", e.peer, Need::required);
  f.enumeration("callType", e.callType, kCallTypes);
  f.text("peerName", e.peerName, Need::optional, kMaxNameBytes);
}

void read(Fields& f, ev::Accept& e) { f.boolean("audioOnly", e.audioOnly, Need::optional); }
void read(Fields&, ev::Reject&) {}
void read(Fields&, ev::HangUp&) {}
void read(Fields&, ev::Leave&) {}
void read(Fields& f, ev::SetMicrophone& e) { f.boolean("on", e.on); }
void read(Fields& f, ev::SetCamera& e) { f.boolean("on", e.on); }
void read(Fields& f, ev::ShareScreen& e) { f.boolean("on", e.on, Need::optional); }

void read(Fields& f, ev::Received& e) {
  std::string text;
  f.text("text", text, Need::required);
  if (!f.ok()) return;
  Expected<Message> message = parse_message(text);
  if (!message) {
    return f.fail(message.error().code,
                  f.field("text") + " is not a valid signaling message: " + message.error().message);
  }
  e.message = std::move(message).value();
}

void read(Fields& f, ev::MediaAcquired& e) {
  f.boolean("audio", e.audio);
  f.boolean("video", e.video);
}

void read(Fields& f, ev::MediaFailed& e) {
  f.enumeration("problem", e.problem, kMediaProblems);
  f.boolean("microphone", e.microphone);
  f.boolean("camera", e.camera);
}

void read(Fields&, ev::ScreenAcquired&) {}
void read(Fields& f, ev::ScreenFailed& e) { f.enumeration("problem", e.problem, kMediaProblems); }
void read(Fields&, ev::ScreenEnded&) {}

void read(Fields& f, ev::NegotiationNeeded& e) { f.text("peer", e.peer, Need::required); }

void read(Fields& f, ev::LocalDescription& e) {
  f.text("peer", e.peer, Need::required);
  f.enumeration("sdpType", e.type, kSdpTypes);
  f.non_empty_text("sdp", e.sdp, kMaxSdpBytes);
}

void read(Fields& f, ev::LocalCandidate& e) {
  f.text("peer", e.peer, Need::required);
  const Json::object_t* object = f.object("candidate");
  if (object == nullptr) return;
  Fields c(*object, "localCandidate events", "candidate.");
  c.text("candidate", e.candidate.candidate, Need::required, kMaxCandidateBytes);  // "" = end
  c.optional_text("sdpMid", e.candidate.sdpMid, kMaxSdpMidBytes);
  c.integer("sdpMLineIndex", e.candidate.sdpMLineIndex, 0, kMaxMLineIndex);
  c.optional_text("usernameFragment", e.candidate.usernameFragment, kMaxUfragBytes);
  c.done();
  f.adopt(c);
}

void read(Fields& f, ev::RemoteDescriptionApplied& e) {
  f.text("peer", e.peer, Need::required);
  f.enumeration("sdpType", e.type, kSdpTypes);
}

void read(Fields& f, ev::SignalingChanged& e) {
  f.text("peer", e.peer, Need::required);
  f.enumeration("state", e.state, kSignalingStates);
}

void read(Fields& f, ev::PeerStateChanged& e) {
  f.text("peer", e.peer, Need::required);
  f.enumeration("state", e.state, kPeerStates);
}

void read(Fields& f, ev::PeerOperationFailed& e) {
  f.text("peer", e.peer, Need::required);
  f.text("operation", e.operation, Need::required);
  f.text("message", e.message, Need::required);
}

void read(Fields& f, ev::TimerFired& e) {
  f.enumeration("timer", e.timer, kTimers);
  f.text("callId", e.callId, Need::required);
}

// ----- The table of event types -----------------------------------------------------------------

template <class T>
Expected<Event> read_as(Fields& fields) {
  T event;
  read(fields, event);
  fields.done();
  if (fields.error()) return *fields.error();
  return Event{std::move(event)};
}

template <class T, class Variant, std::size_t I = 0>
constexpr std::size_t index_in() {
  if constexpr (std::is_same_v<T, std::variant_alternative_t<I, Variant>>) {
    return I;
  } else {
    return index_in<T, Variant, I + 1>();
  }
}

struct EventType {
  std::string_view name;
  std::size_t index;  // in Event
  Expected<Event> (*read)(Fields&);
};

template <class T>
constexpr EventType event_entry(std::string_view name) {
  return {name, index_in<T, Event>(), &read_as<T>};
}

// In the order of Event's alternatives (checked below).
constexpr EventType kEvents[] = {
    event_entry<ev::Dial>("dial"),
    event_entry<ev::Accept>("accept"),
    event_entry<ev::Reject>("reject"),
    event_entry<ev::HangUp>("hangUp"),
    event_entry<ev::Leave>("leave"),
    event_entry<ev::SetMicrophone>("setMicrophone"),
    event_entry<ev::SetCamera>("setCamera"),
    event_entry<ev::ShareScreen>("shareScreen"),
    event_entry<ev::Received>("received"),
    event_entry<ev::MediaAcquired>("mediaAcquired"),
    event_entry<ev::MediaFailed>("mediaFailed"),
    event_entry<ev::ScreenAcquired>("screenAcquired"),
    event_entry<ev::ScreenFailed>("screenFailed"),
    event_entry<ev::ScreenEnded>("screenEnded"),
    event_entry<ev::NegotiationNeeded>("negotiationNeeded"),
    event_entry<ev::LocalDescription>("localDescription"),
    event_entry<ev::LocalCandidate>("localCandidate"),
    event_entry<ev::RemoteDescriptionApplied>("remoteDescriptionApplied"),
    event_entry<ev::SignalingChanged>("signalingChanged"),
    event_entry<ev::PeerStateChanged>("peerStateChanged"),
    event_entry<ev::PeerOperationFailed>("peerOperationFailed"),
    event_entry<ev::TimerFired>("timerFired"),
};

constexpr bool events_follow_variant() {
  if (std::size(kEvents) != std::variant_size_v<Event>) return false;
  for (std::size_t i = 0; i < std::size(kEvents); ++i) {
    if (kEvents[i].index != i) return false;
  }
  return true;
}
static_assert(events_follow_variant(), "kEvents must list every Event alternative once, in order");

const EventType* find_event(std::string_view name) {
  for (const EventType& t : kEvents) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// ----- Writing ----------------------------------------------------------------------------------

// Every effect's "type", in the order of Effect's alternatives.
constexpr std::string_view kEffectNames[] = {
    "send",        "acquireMedia",  "releaseMedia",  "openPeer",       "closePeer",
    "attachMedia", "makeOffer",     "makeAnswer",    "applyRemoteDescription",
    "addRemoteCandidate",           "restartIce",    "setTrackEnabled", "acquireScreen",
    "attachScreen", "releaseScreen", "playTone",
    "startTimer",  "cancelTimer",   "publish",       "intentRefused",
};
static_assert(std::size(kEffectNames) == std::variant_size_v<Effect>,
              "kEffectNames must name every Effect alternative, in order");

template <class T>
OrderedJson nullable(const std::optional<T>& value) {
  return value ? OrderedJson(*value) : OrderedJson(nullptr);
}

OrderedJson view_json(const CallView& v) {
  OrderedJson j = OrderedJson::object();
  j["state"] = to_string(v.state);
  j["callId"] = v.callId;
  j["peer"] = v.peer;
  j["peerName"] = v.peerName;
  j["direction"] = to_string(v.direction);
  j["callType"] = to_string(v.callType);
  j["connection"] = to_string(v.connection);
  j["ringing"] = v.ringing;
  j["microphoneOn"] = v.microphoneOn;
  j["cameraOn"] = v.cameraOn;
  j["remoteAudioMuted"] = v.remoteAudioMuted;
  j["remoteVideoMuted"] = v.remoteVideoMuted;
  j["screenSharing"] = v.screenSharing;
  j["remoteScreenShared"] = v.remoteScreenShared;
  j["screenProblem"] = to_string(v.screenProblem);
  j["startedAt"] = nullable(v.startedAt);
  j["endedAt"] = nullable(v.endedAt);
  j["endReason"] = v.endReason ? OrderedJson(to_string(*v.endReason)) : OrderedJson(nullptr);
  j["mediaProblem"] = to_string(v.mediaProblem);
  j["mediaProblemKind"] = to_string(v.mediaProblemKind);
  j["serverError"] = v.serverError ? OrderedJson(to_string(*v.serverError)) : OrderedJson(nullptr);
  return j;
}

OrderedJson error_json(const Error& e) {
  OrderedJson j = OrderedJson::object();
  j["code"] = to_string(e.code);
  j["message"] = e.message;
  return j;
}

OrderedJson candidate_json(const IceCandidate& c) {
  OrderedJson j = OrderedJson::object();
  j["candidate"] = c.candidate;
  if (c.sdpMid) j["sdpMid"] = *c.sdpMid;
  if (c.sdpMLineIndex) j["sdpMLineIndex"] = *c.sdpMLineIndex;
  if (c.usernameFragment) j["usernameFragment"] = *c.usernameFragment;
  return j;
}

void write(OrderedJson& j, const fx::Send& e) { j["text"] = serialize(e.message); }
void write(OrderedJson& j, const fx::AcquireMedia& e) {
  j["audio"] = e.audio;
  j["video"] = e.video;
}
void write(OrderedJson&, const fx::ReleaseMedia&) {}
void write(OrderedJson& j, const fx::OpenPeer& e) {
  j["peer"] = e.peer;
  j["polite"] = e.polite;
  j["initiator"] = e.initiator;
  j["callType"] = to_string(e.callType);
}
void write(OrderedJson& j, const fx::ClosePeer& e) { j["peer"] = e.peer; }
void write(OrderedJson& j, const fx::AttachMedia& e) { j["peer"] = e.peer; }
void write(OrderedJson& j, const fx::MakeOffer& e) { j["peer"] = e.peer; }
void write(OrderedJson& j, const fx::MakeAnswer& e) { j["peer"] = e.peer; }
void write(OrderedJson& j, const fx::ApplyRemoteDescription& e) {
  j["peer"] = e.peer;
  j["sdpType"] = to_string(e.type);
  j["sdp"] = e.sdp;
}
void write(OrderedJson& j, const fx::AddRemoteCandidate& e) {
  j["peer"] = e.peer;
  j["candidate"] = candidate_json(e.candidate);
}
void write(OrderedJson& j, const fx::RestartIce& e) { j["peer"] = e.peer; }
void write(OrderedJson& j, const fx::SetTrackEnabled& e) {
  j["kind"] = to_string(e.kind);
  j["enabled"] = e.enabled;
}
void write(OrderedJson&, const fx::AcquireScreen&) {}
void write(OrderedJson& j, const fx::AttachScreen& e) { j["peer"] = e.peer; }
void write(OrderedJson&, const fx::ReleaseScreen&) {}
void write(OrderedJson& j, const fx::PlayTone& e) { j["tone"] = to_string(e.tone); }
void write(OrderedJson& j, const fx::StartTimer& e) {
  j["timer"] = to_string(e.timer);
  j["callId"] = e.callId;
  j["afterMs"] = e.afterMs;
}
void write(OrderedJson& j, const fx::CancelTimer& e) {
  j["timer"] = to_string(e.timer);
  j["callId"] = e.callId;
}
void write(OrderedJson& j, const fx::Publish& e) { j["view"] = view_json(e.view); }
void write(OrderedJson& j, const fx::IntentRefused& e) { j["error"] = error_json(e.error); }

// Strings that are not valid UTF-8 (only possible in something built on this side: every string
// read from JSON is valid) come out with U+FFFD instead of failing, which here would abort.
std::string dump(const OrderedJson& j) {
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

std::string error_result(const Error& error) {
  OrderedJson j = OrderedJson::object();
  j["error"] = error_json(error);
  return dump(j);
}

}  // namespace

// ----- Public API -------------------------------------------------------------------------------

Expected<Event> event_from_json(std::string_view text) {
  Json json;
  if (auto error = read_object(text, kMaxEventBytes, "event", json)) return std::move(*error);
  const auto& object = *json.get_ptr<const Json::object_t*>();

  const auto t = object.find("type");
  if (t == object.end() || t->second.is_null()) {
    return make_error(ErrorCode::unknown_type, "field \"type\" is missing");
  }
  const auto* type_text = t->second.get_ptr<const Json::string_t*>();
  if (type_text == nullptr) {
    return make_error(ErrorCode::unknown_type,
                      "field \"type\" must be a string, not " + std::string(kind_of(t->second)));
  }
  const EventType* type = find_event(*type_text);
  if (type == nullptr) {
    const std::string sent = echo(*type_text);
    return make_error(ErrorCode::unknown_type,
                      "field \"type\"" + (sent.empty() ? "" : " is" + sent + ", which") +
                          " names no event");
  }

  Fields fields(object, std::string(type->name) + " events");
  fields.known("type");
  return type->read(fields);
}

std::string effects_to_json(const Effects& effects) {
  OrderedJson array = OrderedJson::array();
  for (const Effect& effect : effects) {
    OrderedJson j = OrderedJson::object();
    j["type"] = kEffectNames[effect.index()];
    std::visit([&j](const auto& e) { write(j, e); }, effect);
    array.push_back(std::move(j));
  }
  return dump(array);
}

std::string view_to_json(const CallView& view) { return dump(view_json(view)); }

std::string error_to_json(const Error& error) { return dump(error_json(error)); }

Expected<PhoneConfig> phone_config_from_json(std::string_view text) {
  PhoneConfig config;
  if (text.empty()) return config;
  Json json;
  if (auto error = read_object(text, kMaxConfigBytes, "config", json)) return std::move(*error);
  Fields f(*json.get_ptr<const Json::object_t*>(), "the config");
  std::optional<Millis> ms;
  const auto timeout = [&](std::string_view name, Millis& out) {
    ms.reset();
    f.integer(name, ms, 1, kMaxTimeoutMs);
    if (ms) out = *ms;
  };
  timeout("ringTimeoutMs", config.ring_timeout_ms);
  timeout("connectTimeoutMs", config.connect_timeout_ms);
  timeout("iceGraceMs", config.ice_grace_ms);
  timeout("reconnectTimeoutMs", config.reconnect_timeout_ms);
  f.boolean("preconnect", config.preconnect, Need::optional);
  f.done();
  if (f.error()) return *f.error();
  return config;
}

// ----- JsonPhone --------------------------------------------------------------------------------

namespace {
std::optional<Error> setup_error(std::string_view self_id, const Expected<PhoneConfig>& config) {
  if (!is_valid_id(self_id)) {
    return make_error(ErrorCode::bad_value, "selfId is not an id: 1.." +
                                                std::to_string(kMaxIdBytes) +
                                                " of the characters A-Z a-z 0-9 _ -");
  }
  if (!config) return config.error();
  return std::nullopt;
}
}  // namespace

JsonPhone::JsonPhone(std::string self_id, std::string_view config_json)
    : JsonPhone(std::move(self_id), phone_config_from_json(config_json)) {}

JsonPhone::JsonPhone(std::string self_id, Expected<PhoneConfig> config)
    : setup_error_(setup_error(self_id, config)),
      config_error_json_(setup_error_ ? error_to_json(*setup_error_) : std::string()),
      // Never asked to act when setup failed: handle() refuses first.
      phone_(std::move(self_id), config ? *config : PhoneConfig{}) {}

std::string JsonPhone::handle(const std::string& event_json, double now_ms) {
  if (setup_error_) return error_result(*setup_error_);
  // Whole milliseconds a JavaScript number holds exactly; anything else (NaN, a fraction from
  // performance.now()) is a mistake of the caller, and converting it would be undefined.
  if (!(now_ms >= 0 && now_ms <= static_cast<double>(kMaxNowMs)) || std::trunc(now_ms) != now_ms) {
    return error_result(make_error(ErrorCode::bad_value,
                                   "nowMs must be whole milliseconds since the Unix epoch "
                                   "(Date.now()), 0.." + std::to_string(kMaxNowMs)));
  }
  Expected<Event> event = event_from_json(event_json);
  if (!event) return error_result(event.error());
  const Effects effects = phone_.handle(*event, static_cast<Millis>(now_ms));
  return R"({"effects":)" + effects_to_json(effects) + "}";
}

}  // namespace duet
