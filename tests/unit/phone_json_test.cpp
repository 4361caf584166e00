// The phone's JSON form as a specification: every event reads into the right Event, every
// invalid event is refused with its code, every effect and the view are written with the fields
// docs/core.md ("The JSON form") lists, and a JsonPhone (what the wasm module exposes as Phone)
// drives a call with nothing but JSON text.
#include "duet/phone_json.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

using namespace duet;
using Json = nlohmann::json;

namespace {

// ----- Comparing events (the ev structs have no operator==) ------------------------------------

auto fields(const ev::Dial& e) { return std::tie(e.callId, e.peer, e.callType, e.peerName); }
auto fields(const ev::Accept& e) { return std::tie(e.audioOnly); }
auto fields(const ev::Reject&) { return std::tuple<>(); }
auto fields(const ev::HangUp&) { return std::tuple<>(); }
auto fields(const ev::Leave&) { return std::tuple<>(); }
auto fields(const ev::SetMicrophone& e) { return std::tie(e.on); }
auto fields(const ev::SetCamera& e) { return std::tie(e.on); }
auto fields(const ev::ShareScreen& e) { return std::tie(e.on); }
auto fields(const ev::ScreenAcquired&) { return std::tuple<>(); }
auto fields(const ev::ScreenFailed& e) { return std::tie(e.problem); }
auto fields(const ev::ScreenEnded&) { return std::tuple<>(); }
auto fields(const ev::Received& e) { return std::tie(e.message); }
auto fields(const ev::MediaAcquired& e) { return std::tie(e.audio, e.video); }
auto fields(const ev::MediaFailed& e) { return std::tie(e.problem, e.microphone, e.camera); }
auto fields(const ev::NegotiationNeeded& e) { return std::tie(e.peer); }
auto fields(const ev::LocalDescription& e) { return std::tie(e.peer, e.type, e.sdp); }
auto fields(const ev::LocalCandidate& e) { return std::tie(e.peer, e.candidate); }
auto fields(const ev::RemoteDescriptionApplied& e) { return std::tie(e.peer, e.type); }
auto fields(const ev::SignalingChanged& e) { return std::tie(e.peer, e.state); }
auto fields(const ev::PeerStateChanged& e) { return std::tie(e.peer, e.state); }
auto fields(const ev::PeerOperationFailed& e) { return std::tie(e.peer, e.operation, e.message); }
auto fields(const ev::TimerFired& e) { return std::tie(e.timer, e.callId); }

bool same(const Event& a, const Event& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        return fields(x) == fields(std::get<T>(b));
      },
      a);
}

Event read_ok(std::string_view text) {
  Expected<Event> result = event_from_json(text);
  if (!result) FAIL_CHECK("unexpected " << to_string(result.error().code) << ": " << result.error().message);
  REQUIRE(result.has_value());
  return std::move(result).value();
}

Error refused(std::string_view text) {
  Expected<Event> result = event_from_json(text);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

IceCandidate host_candidate() {
  IceCandidate c;
  c.candidate = "candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0";
  c.sdpMid = "0";
  c.sdpMLineIndex = 0;
  c.usernameFragment = "Xy7q";
  return c;
}

IceCandidate end_of_candidates() { return IceCandidate{}; }

constexpr const char* kSdp = "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

// {"type":"received","text":<frame>}
std::string received(std::string_view frame) {
  return Json{{"type", "received"}, {"text", std::string(frame)}}.dump();
}

struct EventRow {
  std::string text;
  Event expected;
};

// At least one example of every event type, optional fields set and unset.
std::vector<EventRow> event_examples() {
  const std::string sdp_json = Json(kSdp).dump();
  return {
      {R"({"type":"dial","callId":"c1","peer":"bob","callType":"video","peerName":"Bob"})",
       ev::Dial{"c1", "bob", CallType::video, "Bob"}},
      {R"({"type":"dial","callId":"c1","peer":"bob","callType":"audio"})",
       ev::Dial{"c1", "bob", CallType::audio, ""}},
      {R"({"type":"accept","audioOnly":true})", ev::Accept{true}},
      {R"({"type":"accept"})", ev::Accept{false}},
      {R"({"type":"reject"})", ev::Reject{}},
      {R"({"type":"hangUp"})", ev::HangUp{}},
      {R"({"type":"leave"})", ev::Leave{}},
      {R"({"type":"setMicrophone","on":false})", ev::SetMicrophone{false}},
      {R"({"type":"setCamera","on":true})", ev::SetCamera{true}},
      {R"({"type":"shareScreen","on":false})", ev::ShareScreen{false}},
      {R"({"type":"shareScreen"})", ev::ShareScreen{true}},
      {R"({"type":"screenAcquired"})", ev::ScreenAcquired{}},
      {R"({"type":"screenFailed","problem":"denied"})", ev::ScreenFailed{MediaProblem::denied}},
      {R"({"type":"screenEnded"})", ev::ScreenEnded{}},
      {received(R"({"v":1,"type":"call:accept","from":"bob","callId":"c1"})"),
       ev::Received{Message{msg::CallAccept{"c1"}, "bob"}}},
      {R"({"type":"mediaAcquired","audio":true,"video":false})", ev::MediaAcquired{true, false}},
      {R"({"type":"mediaFailed","problem":"denied","microphone":false,"camera":true})",
       ev::MediaFailed{MediaProblem::denied, false, true}},
      {R"({"type":"mediaFailed","problem":"not_found","microphone":true,"camera":false})",
       ev::MediaFailed{MediaProblem::not_found, true, false}},
      {R"({"type":"mediaFailed","problem":"in_use","microphone":true,"camera":true})",
       ev::MediaFailed{MediaProblem::in_use, true, true}},
      {R"({"type":"mediaFailed","problem":"other","microphone":true,"camera":false})",
       ev::MediaFailed{MediaProblem::other, true, false}},
      {R"({"type":"negotiationNeeded","peer":"bob"})", ev::NegotiationNeeded{"bob"}},
      {R"({"type":"localDescription","peer":"bob","sdpType":"offer","sdp":)" + sdp_json + "}",
       ev::LocalDescription{"bob", SdpType::offer, kSdp}},
      {R"({"type":"localDescription","peer":"bob","sdpType":"answer","sdp":"v=0"})",
       ev::LocalDescription{"bob", SdpType::answer, "v=0"}},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Xy7q"}})",
       ev::LocalCandidate{"bob", host_candidate()}},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":""}})",
       ev::LocalCandidate{"bob", end_of_candidates()}},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","sdpMid":null,"sdpMLineIndex":null,"usernameFragment":null}})",
       ev::LocalCandidate{"bob", end_of_candidates()}},
      {R"({"type":"remoteDescriptionApplied","peer":"bob","sdpType":"answer"})",
       ev::RemoteDescriptionApplied{"bob", SdpType::answer}},
      {R"({"type":"signalingChanged","peer":"bob","state":"stable"})",
       ev::SignalingChanged{"bob", SignalingState::stable}},
      {R"({"type":"signalingChanged","peer":"bob","state":"have-local-offer"})",
       ev::SignalingChanged{"bob", SignalingState::have_local_offer}},
      {R"({"type":"signalingChanged","peer":"bob","state":"have-remote-offer"})",
       ev::SignalingChanged{"bob", SignalingState::have_remote_offer}},
      {R"({"type":"signalingChanged","peer":"bob","state":"closed"})",
       ev::SignalingChanged{"bob", SignalingState::closed}},
      {R"({"type":"peerStateChanged","peer":"bob","state":"new"})", ev::PeerStateChanged{"bob", PeerState::new_}},
      {R"({"type":"peerStateChanged","peer":"bob","state":"connecting"})",
       ev::PeerStateChanged{"bob", PeerState::connecting}},
      {R"({"type":"peerStateChanged","peer":"bob","state":"connected"})",
       ev::PeerStateChanged{"bob", PeerState::connected}},
      {R"({"type":"peerStateChanged","peer":"bob","state":"disconnected"})",
       ev::PeerStateChanged{"bob", PeerState::disconnected}},
      {R"({"type":"peerStateChanged","peer":"bob","state":"failed"})",
       ev::PeerStateChanged{"bob", PeerState::failed}},
      {R"({"type":"peerStateChanged","peer":"bob","state":"closed"})",
       ev::PeerStateChanged{"bob", PeerState::closed}},
      {R"({"type":"peerOperationFailed","peer":"bob","operation":"setRemoteDescription","message":"bad sdp"})",
       ev::PeerOperationFailed{"bob", "setRemoteDescription", "bad sdp"}},
      {R"({"type":"timerFired","timer":"ring","callId":"c1"})", ev::TimerFired{TimerKind::ring, "c1"}},
      {R"({"type":"timerFired","timer":"connect","callId":"c1"})", ev::TimerFired{TimerKind::connect, "c1"}},
      {R"({"type":"timerFired","timer":"ice_grace","callId":"c1"})", ev::TimerFired{TimerKind::ice_grace, "c1"}},
      {R"({"type":"timerFired","timer":"reconnect","callId":"c1"})", ev::TimerFired{TimerKind::reconnect, "c1"}},
  };
}

struct RefusedRow {
  std::string text;
  ErrorCode code;
  std::string mentions;  // the error message must contain this
};

// `pattern` with its one '@' replaced by `n` copies of `fill`.
std::string fill_in(std::string_view pattern, std::size_t n, char fill = 'a') {
  const std::size_t at = pattern.find('@');
  REQUIRE(at != std::string_view::npos);
  std::string out(pattern.substr(0, at));
  out.append(n, fill);
  out += pattern.substr(at + 1);
  return out;
}

std::vector<RefusedRow> refused_examples() {
  using E = ErrorCode;
  return {
      // Not an event at all.
      {"", E::bad_json, "empty"},
      {R"({"type":"hangUp")", E::bad_json, "not well-formed"},
      {R"({"type":"hangUp"} x)", E::bad_json, "not well-formed"},
      {"[]", E::not_an_object, "an array"},
      {R"("hangUp")", E::not_an_object, "a string"},
      {"null", E::not_an_object, "null"},
      // The type.
      {"{}", E::unknown_type, "missing"},
      {R"({"type":null})", E::unknown_type, "missing"},
      {R"({"type":5})", E::unknown_type, "an integer"},
      {R"({"type":"hangup"})", E::unknown_type, "\"hangup\""},
      {R"({"type":"call:end"})", E::unknown_type, "names no event"},
      {R"({"type":"HANGUP"})", E::unknown_type, "names no event"},
      // Missing fields, and null as missing.
      {R"({"type":"dial","peer":"bob","callType":"audio"})", E::missing_field, "\"callId\""},
      {R"({"type":"dial","callId":"c1","callType":"audio"})", E::missing_field, "\"peer\""},
      {R"({"type":"dial","callId":"c1","peer":"bob"})", E::missing_field, "\"callType\""},
      {R"({"type":"dial","callId":null,"peer":"bob","callType":"audio"})", E::missing_field, "\"callId\""},
      {R"({"type":"setMicrophone"})", E::missing_field, "\"on\""},
      {R"({"type":"setCamera","on":null})", E::missing_field, "\"on\""},
      {R"({"type":"received"})", E::missing_field, "\"text\""},
      {R"({"type":"mediaAcquired","audio":true})", E::missing_field, "\"video\""},
      {R"({"type":"mediaFailed","microphone":true,"camera":false})", E::missing_field, "\"problem\""},
      {R"({"type":"mediaFailed","problem":"denied","camera":false})", E::missing_field, "\"microphone\""},
      {R"({"type":"negotiationNeeded"})", E::missing_field, "\"peer\""},
      {R"({"type":"localDescription","peer":"bob","sdpType":"offer"})", E::missing_field, "\"sdp\""},
      {R"({"type":"localCandidate","peer":"bob"})", E::missing_field, "\"candidate\""},
      {R"({"type":"localCandidate","peer":"bob","candidate":{}})", E::missing_field, "\"candidate.candidate\""},
      {R"({"type":"remoteDescriptionApplied","peer":"bob"})", E::missing_field, "\"sdpType\""},
      {R"({"type":"signalingChanged","peer":"bob"})", E::missing_field, "\"state\""},
      {R"({"type":"peerStateChanged","state":"connected"})", E::missing_field, "\"peer\""},
      {R"({"type":"peerOperationFailed","peer":"bob","operation":"addIceCandidate"})", E::missing_field, "\"message\""},
      {R"({"type":"timerFired","timer":"ring"})", E::missing_field, "\"callId\""},
      // Wrong JSON types.
      {R"({"type":"dial","callId":1,"peer":"bob","callType":"audio"})", E::wrong_type, "\"callId\" must be a string"},
      {R"({"type":"dial","callId":"c1","peer":["bob"],"callType":"audio"})", E::wrong_type, "\"peer\""},
      {R"({"type":"dial","callId":"c1","peer":"bob","callType":1})", E::wrong_type, "\"callType\""},
      {R"({"type":"dial","callId":"c1","peer":"bob","callType":"audio","peerName":false})", E::wrong_type, "\"peerName\""},
      {R"({"type":"accept","audioOnly":"true"})", E::wrong_type, "\"audioOnly\" must be a boolean"},
      {R"({"type":"setMicrophone","on":1})", E::wrong_type, "\"on\""},
      {R"({"type":"received","text":{"v":1,"type":"call:accept","callId":"c1"}})", E::wrong_type, "\"text\""},
      {R"({"type":"mediaAcquired","audio":true,"video":0})", E::wrong_type, "\"video\""},
      {R"({"type":"localCandidate","peer":"bob","candidate":"candidate:1"})", E::wrong_type, "\"candidate\" must be an object"},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","sdpMLineIndex":"0"}})", E::wrong_type, "\"candidate.sdpMLineIndex\""},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","sdpMLineIndex":0.0}})", E::wrong_type, "\"candidate.sdpMLineIndex\""},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","sdpMid":0}})", E::wrong_type, "\"candidate.sdpMid\""},
      {R"({"type":"timerFired","timer":"ring","callId":7})", E::wrong_type, "\"callId\""},
      // Bad enum values.
      {R"({"type":"dial","callId":"c1","peer":"bob","callType":"screen"})", E::bad_value, "audio, video"},
      {R"({"type":"dial","callId":"c1","peer":"bob","callType":"Audio"})", E::bad_value, "\"callType\""},
      {R"({"type":"mediaFailed","problem":"none","microphone":true,"camera":false})", E::bad_value, "denied, not_found, in_use, other"},
      {R"({"type":"mediaFailed","problem":"NotAllowedError","microphone":true,"camera":false})", E::bad_value, "\"problem\""},
      {R"({"type":"localDescription","peer":"bob","sdpType":"rollback","sdp":"v=0"})", E::bad_value, "offer, answer"},
      {R"({"type":"remoteDescriptionApplied","peer":"bob","sdpType":"pranswer"})", E::bad_value, "\"sdpType\""},
      {R"({"type":"signalingChanged","peer":"bob","state":"have_local_offer"})", E::bad_value, "stable, have-local-offer, have-remote-offer, closed"},
      {R"({"type":"signalingChanged","peer":"bob","state":"have-local-pranswer"})", E::bad_value, "\"state\""},
      {R"({"type":"peerStateChanged","peer":"bob","state":"new_"})", E::bad_value, "new, connecting, connected, disconnected, failed, closed"},
      {R"({"type":"peerStateChanged","peer":"bob","state":"checking"})", E::bad_value, "\"state\""},
      {R"({"type":"timerFired","timer":"ice-grace","callId":"c1"})", E::bad_value, "ring, connect, ice_grace, reconnect"},
      // Other illegal values.
      {R"({"type":"localDescription","peer":"bob","sdpType":"offer","sdp":""})", E::bad_value, "\"sdp\" is empty"},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","sdpMLineIndex":256}})", E::bad_value, "0..255"},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","sdpMLineIndex":-1}})", E::bad_value, "0..255"},
      // Fields no event of that type has.
      {R"({"type":"hangUp","reason":"hangup"})", E::bad_value, "field \"reason\" is not a field of hangUp events"},
      {R"({"type":"accept","audioonly":true})", E::bad_value, "\"audioonly\""},
      {R"({"type":"dial","callId":"c1","peer":"bob","callType":"audio","name":"Bob"})", E::bad_value, "\"name\""},
      {R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","sdpMLineindex":0}})", E::bad_value, "\"candidate.sdpMLineindex\""},
      {R"({"type":"reject","a\"b":1})", E::bad_value, "a field with an unexpected name"},
      // Over the protocol's limits, for text that goes into a signaling message.
      {fill_in(R"({"type":"localDescription","peer":"bob","sdpType":"offer","sdp":"@"})", kMaxSdpBytes + 1),
       E::too_long, "\"sdp\""},
      {fill_in(R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"@"}})", kMaxCandidateBytes + 1),
       E::too_long, "\"candidate.candidate\""},
      {fill_in(R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","sdpMid":"@"}})", kMaxSdpMidBytes + 1),
       E::too_long, "\"candidate.sdpMid\""},
      {fill_in(R"({"type":"localCandidate","peer":"bob","candidate":{"candidate":"","usernameFragment":"@"}})", kMaxUfragBytes + 1),
       E::too_long, "\"candidate.usernameFragment\""},
      {fill_in(R"({"type":"dial","callId":"c1","peer":"bob","callType":"audio","peerName":"@"})", kMaxNameBytes + 1),
       E::too_long, "\"peerName\""},
  };
}

// An object with n levels: {"type":"hangUp","x":[[...]]}.
std::string nested_event(int levels) {
  const auto arrays = static_cast<std::size_t>(levels - 1);
  return R"({"type":"hangUp","x":)" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
}

// A valid frame of exactly `size` bytes made mostly of quotes, which escaping doubles.
std::string frame_of_quotes(std::size_t size) {
  const std::string head = R"({"v":1,"type":"call:ringing","callId":"c1","pad":")";
  const std::string tail = R"("})";
  std::string frame = head;
  while (frame.size() + tail.size() + 2 <= size) frame += "\\\"";
  while (frame.size() + tail.size() < size) frame += 'a';
  frame += tail;
  REQUIRE(frame.size() == size);
  return frame;
}

Json parse_json(const std::string& text) {
  INFO(text);
  Json j = Json::parse(text, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

Json only_effect(const Effect& effect) {
  const Json array = parse_json(effects_to_json({effect}));
  REQUIRE(array.is_array());
  REQUIRE(array.size() == 1);
  return array[0];
}

CallView ended_view() {
  CallView v;
  v.state = CallState::ended;
  v.callId = "c1";
  v.peer = "bob";
  v.peerName = "Bob Öz";
  v.direction = Direction::incoming;
  v.callType = CallType::video;
  v.connection = Connection::none;
  v.ringing = false;
  v.microphoneOn = false;
  v.cameraOn = true;
  v.remoteAudioMuted = true;
  v.remoteVideoMuted = true;
  v.screenSharing = true;
  v.remoteScreenShared = true;
  v.screenProblem = MediaProblem::denied;
  v.startedAt = 1'700'000'001'000;
  v.endedAt = 1'700'000'061'500;
  v.endReason = EndReason::connection_lost;
  v.mediaProblem = MediaProblem::in_use;
  v.mediaProblemKind = MediaKind::video;
  v.serverError = ErrorCode::rate_limited;
  return v;
}

const Json kEndedViewJson = Json::parse(R"({
  "state":"ended","callId":"c1","peer":"bob","peerName":"Bob Öz","direction":"incoming",
  "callType":"video","connection":"none","ringing":false,"microphoneOn":false,"cameraOn":true,
  "remoteAudioMuted":true,"remoteVideoMuted":true,"screenSharing":true,"remoteScreenShared":true,
  "screenProblem":"denied","startedAt":1700000001000,
  "endedAt":1700000061500,"endReason":"connection_lost","mediaProblem":"in_use",
  "mediaProblemKind":"video","serverError":"rate_limited"})");

const Json kIdleViewJson = Json::parse(R"({
  "state":"idle","callId":"","peer":"","peerName":"","direction":"outgoing","callType":"audio",
  "connection":"none","ringing":false,"microphoneOn":true,"cameraOn":false,
  "remoteAudioMuted":false,"remoteVideoMuted":false,"screenSharing":false,"remoteScreenShared":false,
  "screenProblem":"none","startedAt":null,"endedAt":null,
  "endReason":null,"mediaProblem":"none","mediaProblemKind":"audio","serverError":null})");

struct EffectRow {
  Effect effect;
  std::string expected;  // JSON
};

std::vector<EffectRow> effect_examples() {
  IceCandidate mid_only;
  mid_only.candidate = "candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active";
  mid_only.sdpMid = "1";
  return {
      {fx::Send{Message{msg::CallRinging{"c1"}, ""}},
       R"({"type":"send","text":"{\"v\":1,\"type\":\"call:ringing\",\"callId\":\"c1\"}"})"},
      {fx::Send{Message{msg::CallEnd{"c1", EndReason::hangup}, ""}},
       R"({"type":"send","text":"{\"v\":1,\"type\":\"call:end\",\"callId\":\"c1\",\"reason\":\"hangup\"}"})"},
      {fx::AcquireMedia{true, false}, R"({"type":"acquireMedia","audio":true,"video":false})"},
      {fx::AcquireMedia{true, true}, R"({"type":"acquireMedia","audio":true,"video":true})"},
      {fx::ReleaseMedia{}, R"({"type":"releaseMedia"})"},
      {fx::OpenPeer{"bob", true, false, CallType::video},
       R"({"type":"openPeer","peer":"bob","polite":true,"initiator":false,"callType":"video"})"},
      {fx::OpenPeer{"bob", false, true, CallType::audio},
       R"({"type":"openPeer","peer":"bob","polite":false,"initiator":true,"callType":"audio"})"},
      {fx::ClosePeer{"bob"}, R"({"type":"closePeer","peer":"bob"})"},
      {fx::AttachMedia{"bob"}, R"({"type":"attachMedia","peer":"bob"})"},
      {fx::MakeOffer{"bob"}, R"({"type":"makeOffer","peer":"bob"})"},
      {fx::MakeAnswer{"bob"}, R"({"type":"makeAnswer","peer":"bob"})"},
      {fx::ApplyRemoteDescription{"bob", SdpType::answer, "v=0\r\n"},
       R"({"type":"applyRemoteDescription","peer":"bob","sdpType":"answer","sdp":"v=0\r\n"})"},
      {fx::ApplyRemoteDescription{"bob", SdpType::offer, "v=0"},
       R"({"type":"applyRemoteDescription","peer":"bob","sdpType":"offer","sdp":"v=0"})"},
      {fx::AddRemoteCandidate{"bob", host_candidate()},
       R"({"type":"addRemoteCandidate","peer":"bob","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Xy7q"}})"},
      {fx::AddRemoteCandidate{"bob", mid_only},
       R"({"type":"addRemoteCandidate","peer":"bob","candidate":{"candidate":"candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active","sdpMid":"1"}})"},
      {fx::AddRemoteCandidate{"bob", end_of_candidates()},
       R"({"type":"addRemoteCandidate","peer":"bob","candidate":{"candidate":""}})"},
      {fx::RestartIce{"bob"}, R"({"type":"restartIce","peer":"bob"})"},
      {fx::SetTrackEnabled{MediaKind::audio, false}, R"({"type":"setTrackEnabled","kind":"audio","enabled":false})"},
      {fx::SetTrackEnabled{MediaKind::video, true}, R"({"type":"setTrackEnabled","kind":"video","enabled":true})"},
      {fx::AcquireScreen{}, R"({"type":"acquireScreen"})"},
      {fx::AttachScreen{"bob"}, R"({"type":"attachScreen","peer":"bob"})"},
      {fx::ReleaseScreen{}, R"({"type":"releaseScreen"})"},
      {fx::PlayTone{Tone::none}, R"({"type":"playTone","tone":"none"})"},
      {fx::PlayTone{Tone::ringtone}, R"({"type":"playTone","tone":"ringtone"})"},
      {fx::PlayTone{Tone::ringback}, R"({"type":"playTone","tone":"ringback"})"},
      {fx::StartTimer{TimerKind::ice_grace, "c1", 2000},
       R"({"type":"startTimer","timer":"ice_grace","callId":"c1","afterMs":2000})"},
      {fx::StartTimer{TimerKind::ring, "c1", 30000},
       R"({"type":"startTimer","timer":"ring","callId":"c1","afterMs":30000})"},
      {fx::CancelTimer{TimerKind::reconnect, "c1"}, R"({"type":"cancelTimer","timer":"reconnect","callId":"c1"})"},
      {fx::CancelTimer{TimerKind::connect, "c1"}, R"({"type":"cancelTimer","timer":"connect","callId":"c1"})"},
      {fx::Publish{CallView{}}, R"({"type":"publish","view":)" + kIdleViewJson.dump() + "}"},
      {fx::Publish{ended_view()}, R"({"type":"publish","view":)" + kEndedViewJson.dump() + "}"},
      {fx::IntentRefused{Error{ErrorCode::invalid_state, "already in a call; hang up first"}},
       R"({"type":"intentRefused","error":{"code":"invalid_state","message":"already in a call; hang up first"}})"},
  };
}

// The effects of a handle() result, which must be {"effects":[...]}.
Json effects_in(const std::string& result) {
  const Json j = parse_json(result);
  INFO(result);
  REQUIRE(j.is_object());
  REQUIRE(j.size() == 1);
  REQUIRE(j.contains("effects"));
  REQUIRE(j["effects"].is_array());
  return j["effects"];
}

// The error of a handle() result, which must be {"error":{"code":...,"message":...}}.
Json error_in(const std::string& result) {
  const Json j = parse_json(result);
  INFO(result);
  REQUIRE(j.is_object());
  REQUIRE(j.size() == 1);
  REQUIRE(j.contains("error"));
  REQUIRE(j["error"].is_object());
  REQUIRE(j["error"].size() == 2);
  REQUIRE(j["error"]["code"].is_string());
  REQUIRE(j["error"]["message"].is_string());
  return j["error"];
}

std::vector<Json> of_type(const Json& effects, std::string_view type) {
  std::vector<Json> found;
  for (const Json& e : effects) {
    if (e["type"] == type) found.push_back(e);
  }
  return found;
}

constexpr double kNow = 1'700'000'000'000;

}  // namespace

// ----- Reading events ---------------------------------------------------------------------------

TEST_CASE("Every event type reads into the matching Event with every field", "[json]") {
  const auto row = GENERATE(from_range(event_examples()));
  INFO(row.text);
  CHECK(same(read_ok(row.text), row.expected));
}

TEST_CASE("The examples cover every event type", "[json]") {
  std::set<std::size_t> seen;
  for (const auto& row : event_examples()) seen.insert(row.expected.index());
  CHECK(seen.size() == std::variant_size_v<Event>);
}

TEST_CASE("Optional event fields left out or null take their defaults", "[json]") {
  const auto dial = std::get<ev::Dial>(read_ok(R"({"type":"dial","callId":"c1","peer":"bob","callType":"audio","peerName":null})"));
  CHECK(dial.peerName.empty());
  const auto accept = std::get<ev::Accept>(read_ok(R"({"type":"accept","audioOnly":null})"));
  CHECK_FALSE(accept.audioOnly);
}

TEST_CASE("Invalid events are refused with a stable code and a message naming the problem", "[json]") {
  const auto row = GENERATE(from_range(refused_examples()));
  INFO(row.text.substr(0, 200));
  const Error error = refused(row.text);
  CHECK(to_string(error.code) == to_string(row.code));
  CHECK_THAT(error.message, Catch::Contains(row.mentions));
}

TEST_CASE("An event over kMaxEventBytes is refused as too_large before it is parsed", "[json]") {
  const std::string text = fill_in(R"({"type":"hangUp","x":"@"})", kMaxEventBytes);  // not even valid
  REQUIRE(text.size() > kMaxEventBytes);
  const Error error = refused(text);
  CHECK(error.code == ErrorCode::too_large);
  CHECK_THAT(error.message, Catch::Contains(std::to_string(kMaxEventBytes)));
}

TEST_CASE("An event nested deeper than kMaxEventDepth is refused as too_deep", "[json]") {
  CHECK(refused(nested_event(kMaxEventDepth + 1)).code == ErrorCode::too_deep);
  // At the limit it gets past the nesting check, to the unknown field.
  CHECK(refused(nested_event(kMaxEventDepth)).code == ErrorCode::bad_value);
  CHECK(refused(R"({"type":"hangUp","x":")" + std::string(100, '[') + R"("})").code == ErrorCode::bad_value);
}

TEST_CASE("A received event carries the largest frame even when escaping doubles it", "[json]") {
  const std::string text = received(frame_of_quotes(kMaxMessageBytes));
  CHECK(text.size() > 2 * kMaxMessageBytes - 200);
  CHECK(text.size() <= kMaxEventBytes);
  const auto event = std::get<ev::Received>(read_ok(text));
  CHECK(event.message == Message{msg::CallRinging{"c1"}, ""});
}

TEST_CASE("A received frame over kMaxMessageBytes is refused with the protocol's too_large", "[json]") {
  const std::string text = received(frame_of_quotes(kMaxMessageBytes + 1));
  REQUIRE(text.size() <= kMaxEventBytes);
  CHECK(refused(text).code == ErrorCode::too_large);
}

TEST_CASE("A received event whose frame is malformed is refused with the protocol's code", "[json]") {
  auto [frame, code] = GENERATE(table<std::string, ErrorCode>({
      {"", ErrorCode::bad_json},
      {"{", ErrorCode::bad_json},
      {"[]", ErrorCode::not_an_object},
      {R"({"type":"call:accept","callId":"c1"})", ErrorCode::bad_version},
      {R"({"v":2,"type":"call:accept","callId":"c1"})", ErrorCode::bad_version},
      {R"({"v":1,"type":"call:pickup","callId":"c1"})", ErrorCode::unknown_type},
      {R"({"v":1,"type":"call:accept"})", ErrorCode::missing_field},
      {R"({"v":1,"type":"call:accept","callId":5})", ErrorCode::wrong_type},
      {R"({"v":1,"type":"call:accept","callId":"c 1"})", ErrorCode::bad_value},
      {R"({"v":1,"type":"call:accept","callId":"c1","from":"b@b"})", ErrorCode::bad_value},
      {R"({"v":1,"type":"call:end","callId":"c1","reason":"bye"})", ErrorCode::bad_value},
      {R"({"v":1,"type":"call:ringing","callId":"c1","x":[[[[[[[[]]]]]]]]})", ErrorCode::too_deep},
  }));
  INFO(frame);
  const Expected<Message> direct = parse_message(frame);
  REQUIRE_FALSE(direct.has_value());
  const Error error = refused(received(frame));
  CHECK(to_string(error.code) == to_string(code));
  CHECK(error.code == direct.error().code);
  CHECK_THAT(error.message, Catch::Contains("\"text\"") && Catch::Contains(direct.error().message));
}

// ----- Writing effects and views ----------------------------------------------------------------

TEST_CASE("Every effect type is written with its documented fields", "[json]") {
  const auto row = GENERATE(from_range(effect_examples()));
  const Json expected = parse_json(row.expected);
  CHECK(only_effect(row.effect) == expected);
}

TEST_CASE("The effect examples cover every effect type", "[json]") {
  std::set<std::size_t> seen;
  for (const auto& row : effect_examples()) seen.insert(row.effect.index());
  CHECK(seen.size() == std::variant_size_v<Effect>);
}

TEST_CASE("Effects are written as an array in order, each with its type first", "[json]") {
  CHECK(effects_to_json({}) == "[]");
  CHECK(effects_to_json({fx::PlayTone{Tone::none}, fx::ReleaseMedia{}, fx::ClosePeer{"bob"}}) ==
        R"([{"type":"playTone","tone":"none"},{"type":"releaseMedia"},{"type":"closePeer","peer":"bob"}])");
}

TEST_CASE("A send effect's text is the serialized message, ready to send", "[json]") {
  const Message message{msg::CallIceCandidate{"c1", "bob", host_candidate()}, ""};
  const Json effect = only_effect(fx::Send{message});
  REQUIRE(effect["text"].is_string());
  CHECK(effect["text"].get<std::string>() == serialize(message));
  CHECK(parse_message(effect["text"].get<std::string>()).value() == message);
}

TEST_CASE("The view is written with every field, and null for what is unset", "[json]") {
  CHECK(parse_json(view_to_json(CallView{})) == kIdleViewJson);
  CHECK(parse_json(view_to_json(ended_view())) == kEndedViewJson);
}

TEST_CASE("The view's fields are written in the documented order", "[json]") {
  CHECK(view_to_json(CallView{}) ==
        R"({"state":"idle","callId":"","peer":"","peerName":"","direction":"outgoing","callType":"audio",)"
        R"("connection":"none","ringing":false,"microphoneOn":true,"cameraOn":false,"remoteAudioMuted":false,)"
        R"("remoteVideoMuted":false,"screenSharing":false,"remoteScreenShared":false,"screenProblem":"none",)"
        R"("startedAt":null,"endedAt":null,"endReason":null,"mediaProblem":"none",)"
        R"("mediaProblemKind":"audio","serverError":null})");
}

TEST_CASE("Text that is not valid UTF-8 is written with replacement characters, not refused", "[json]") {
  CallView v;
  v.peerName = "bad \xff byte";
  CHECK(parse_json(view_to_json(v))["peerName"] == "bad \xEF\xBF\xBD byte");
}

TEST_CASE("An error is written as its code and message", "[json]") {
  CHECK(error_to_json(Error{ErrorCode::bad_json, "the event is empty"}) ==
        R"({"code":"bad_json","message":"the event is empty"})");
}

// ----- The configuration ------------------------------------------------------------------------

TEST_CASE("An empty config or an empty object gives the default configuration", "[json]") {
  const std::string text = GENERATE(as<std::string>{}, "", "{}", " { } ");
  const Expected<PhoneConfig> config = phone_config_from_json(text);
  REQUIRE(config.has_value());
  const PhoneConfig defaults;
  CHECK(config->ring_timeout_ms == defaults.ring_timeout_ms);
  CHECK(config->connect_timeout_ms == defaults.connect_timeout_ms);
  CHECK(config->ice_grace_ms == defaults.ice_grace_ms);
  CHECK(config->reconnect_timeout_ms == defaults.reconnect_timeout_ms);
  CHECK(config->preconnect == defaults.preconnect);
}

TEST_CASE("Every config field is read", "[json]") {
  const Expected<PhoneConfig> config = phone_config_from_json(
      R"({"ringTimeoutMs":45000,"connectTimeoutMs":20000,"iceGraceMs":1500,"reconnectTimeoutMs":2147483647,"preconnect":false})");
  REQUIRE(config.has_value());
  CHECK(config->ring_timeout_ms == 45'000);
  CHECK(config->connect_timeout_ms == 20'000);
  CHECK(config->ice_grace_ms == 1'500);
  CHECK(config->reconnect_timeout_ms == kMaxTimeoutMs);
  CHECK_FALSE(config->preconnect);
}

TEST_CASE("An invalid config is refused with a stable code, never replaced by defaults", "[json]") {
  auto [text, code, mentions] = GENERATE(table<std::string, ErrorCode, std::string>({
      {" ", ErrorCode::bad_json, "not well-formed"},
      {"{", ErrorCode::bad_json, "the config"},
      {"[]", ErrorCode::not_an_object, "an array"},
      {R"({"ringTimeoutMs":"30000"})", ErrorCode::wrong_type, "\"ringTimeoutMs\""},
      {R"({"iceGraceMs":1.5})", ErrorCode::wrong_type, "\"iceGraceMs\""},
      {R"({"preconnect":1})", ErrorCode::wrong_type, "\"preconnect\""},
      {R"({"ringTimeoutMs":0})", ErrorCode::bad_value, "1..2147483647"},
      {R"({"connectTimeoutMs":-5})", ErrorCode::bad_value, "\"connectTimeoutMs\""},
      {R"({"reconnectTimeoutMs":2147483648})", ErrorCode::bad_value, "\"reconnectTimeoutMs\""},
      {R"({"ringTimeout":30000})", ErrorCode::bad_value, "field \"ringTimeout\" is not a field of the config"},
      {R"({"x":[[[[[[[[[]]]]]]]]]})", ErrorCode::too_deep, "the config"},
      {fill_in(R"({"x":"@"})", kMaxConfigBytes), ErrorCode::too_large, "the config"},
  }));
  INFO(text.substr(0, 200));
  const Expected<PhoneConfig> config = phone_config_from_json(text);
  REQUIRE_FALSE(config.has_value());
  CHECK(to_string(config.error().code) == to_string(code));
  CHECK_THAT(config.error().message, Catch::Contains(mentions));
}

// ----- JsonPhone: a Phone driven by JSON text ---------------------------------------------------

TEST_CASE("A JSON phone dials: the effects ask for the devices and publish the outgoing state", "[json]") {
  JsonPhone alice("alice", "");
  CHECK(alice.config_error().empty());
  const Json effects = effects_in(alice.handle(R"({"type":"dial","callId":"c1","peer":"bob","callType":"video","peerName":"Bob"})", kNow));
  REQUIRE(effects.size() == 2);
  CHECK(effects[0] == Json::parse(R"({"type":"acquireMedia","audio":true,"video":true})"));
  CHECK(effects[1]["type"] == "publish");
  CHECK(effects[1]["view"]["state"] == "outgoing");
  CHECK(effects[1]["view"]["peer"] == "bob");
  CHECK(effects[1]["view"]["peerName"] == "Bob");
  CHECK(effects[1]["view"]["cameraOn"] == true);
  CHECK(parse_json(alice.view()) == effects[1]["view"]);
}

TEST_CASE("Two JSON phones ring: call:initiate goes out as text and rings the callee", "[json]") {
  JsonPhone alice("alice", "{}");
  JsonPhone bob("bob", R"({"preconnect":false,"ringTimeoutMs":45000})");
  REQUIRE(bob.config_error().empty());
  effects_in(alice.handle(R"({"type":"dial","callId":"c1","peer":"bob","callType":"audio"})", kNow));
  const Json effects = effects_in(alice.handle(R"({"type":"mediaAcquired","audio":true,"video":false})", kNow + 900));
  const auto sends = of_type(effects, "send");
  REQUIRE(sends.size() == 1);
  CHECK(of_type(effects, "openPeer").size() == 1);

  // The server stamps who it is from and relays the frame.
  Json frame = Json::parse(sends[0]["text"].get<std::string>());
  CHECK(frame["type"] == "call:initiate");
  frame["from"] = "alice";
  const Json rung = effects_in(bob.handle(received(frame.dump()), kNow + 1000));
  CHECK(of_type(rung, "playTone").at(0)["tone"] == "ringtone");
  CHECK(of_type(rung, "startTimer").at(0) ==
        Json::parse(R"({"type":"startTimer","timer":"ring","callId":"c1","afterMs":45000})"));
  CHECK(of_type(rung, "openPeer").empty());  // preconnect is off
  CHECK(Json::parse(of_type(rung, "send").at(0)["text"].get<std::string>())["type"] == "call:ringing");
  const Json view = parse_json(bob.view());
  CHECK(view["state"] == "incoming");
  CHECK(view["ringing"] == true);
  CHECK(view["peer"] == "alice");
}

TEST_CASE("A refused intent is an effect, not an error", "[json]") {
  JsonPhone alice("alice", "");
  const Json effects = effects_in(alice.handle(R"({"type":"hangUp"})", kNow));
  REQUIRE(effects.size() == 1);
  CHECK(effects[0]["type"] == "intentRefused");
  CHECK(effects[0]["error"]["code"] == "not_found");
  // A bad id is the phone's to refuse, as the same effect.
  const Json dial = effects_in(alice.handle(R"({"type":"dial","callId":"c 1","peer":"bob","callType":"audio"})", kNow));
  REQUIRE(dial.size() == 1);
  CHECK(dial[0]["error"]["code"] == "bad_value");
}

TEST_CASE("An invalid event gives the error result and changes nothing", "[json]") {
  JsonPhone alice("alice", "");
  const std::string before = alice.view();
  const Json error = error_in(alice.handle(R"({"type":"dial","callId":"c1","peer":"bob"})", kNow));
  CHECK(error["code"] == "missing_field");
  CHECK(alice.view() == before);
  CHECK(error_in(alice.handle("not json", kNow))["code"] == "bad_json");
}

TEST_CASE("nowMs must be whole milliseconds a JavaScript number holds exactly", "[json]") {
  const double now = GENERATE(std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                              -std::numeric_limits<double>::infinity(), -1.0, 1.5, kNow + 0.25,
                              9'007'199'254'740'992.0, 1e300);
  INFO(now);
  JsonPhone alice("alice", "");
  const std::string before = alice.view();
  const Json error = error_in(alice.handle(R"({"type":"dial","callId":"c1","peer":"bob","callType":"audio"})", now));
  CHECK(error["code"] == "bad_value");
  CHECK_THAT(error["message"].get<std::string>(), Catch::Contains("nowMs"));
  CHECK(alice.view() == before);
}

TEST_CASE("The edges of nowMs are accepted", "[json]") {
  const double now = GENERATE(0.0, kNow, static_cast<double>(kMaxNowMs));
  JsonPhone alice("alice", "");
  effects_in(alice.handle(R"({"type":"hangUp"})", now));
}

TEST_CASE("A JSON phone with a bad self id or config reports it and refuses every event with it", "[json]") {
  auto [self, config, code] = GENERATE(table<std::string, std::string, std::string>({
      {"", "", "bad_value"},
      {"al ice", "{}", "bad_value"},
      {"alice", R"({"ringTimeoutMs":0})", "bad_value"},
      {"alice", R"({"ringtimeoutms":1000})", "bad_value"},
      {"alice", "{", "bad_json"},
      {"alice", "null", "not_an_object"},
  }));
  INFO(self << " " << config);
  JsonPhone phone(self, config);
  REQUIRE_FALSE(phone.config_error().empty());
  const Json error = parse_json(phone.config_error());
  CHECK(error["code"] == code);
  CHECK(error["message"].is_string());
  for (int i = 0; i < 2; ++i) {
    CHECK(error_in(phone.handle(R"({"type":"dial","callId":"c1","peer":"bob","callType":"audio"})", kNow)) == error);
  }
  CHECK(parse_json(phone.view()) == kIdleViewJson);
}
