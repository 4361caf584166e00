// The phone's behaviour, one case per rule of the state diagram in docs/core.md.
#include <catch2/catch.hpp>

#include "duet/phone.hpp"
#include "phone_world.hpp"

using namespace duet;
using namespace duet::test;

namespace {

constexpr Millis T0 = 1'700'000'000'000;

// A caller "alice" whose call "c1" to "bob" has media open and is ringing out.
struct RingingOut {
  Phone phone{"alice"};
  Effects last;

  explicit RingingOut(CallType type = CallType::video, PhoneConfig config = {}) : phone("alice", config) {
    phone.handle(ev::Dial{"c1", "bob", type, "Bob"}, T0);
    last = phone.handle(ev::MediaAcquired{true, type == CallType::video}, T0 + 10);
  }
};

// A callee "bob" whose phone rings for call "c1" from "alice".
struct RingingIn {
  Phone phone;
  Effects last;

  explicit RingingIn(CallType type = CallType::video, PhoneConfig config = {}) : phone("bob", config) {
    last = phone.handle(from("alice", msg::CallInitiate{"c1", "bob", {}, type, "Alice"}), T0);
  }
};

}  // namespace

// ----- the caller ---------------------------------------------------------------------------

TEST_CASE("Dialing asks for the microphone, and the camera for a video call, before anything is sent", "[phone][caller]") {
  Phone phone("alice");
  auto fx = phone.handle(ev::Dial{"c1", "bob", CallType::video, "Bob"}, T0);
  auto acquire = all_of<fx::AcquireMedia>(fx);
  REQUIRE(acquire.size() == 1);
  CHECK(acquire[0].audio);
  CHECK(acquire[0].video);
  CHECK(sends(fx) == 0);
  CHECK(published(fx).state == CallState::outgoing);
  CHECK(published(fx).peerName == "Bob");

  Phone audio("alice");
  auto afx = audio.handle(ev::Dial{"c2", "bob", CallType::audio, ""}, T0);
  CHECK_FALSE(all_of<fx::AcquireMedia>(afx).at(0).video);
  CHECK_FALSE(published(afx).cameraOn);
}

TEST_CASE("Once media is open the caller sends call:initiate, starts the ring timer and opens the peer as initiator", "[phone][caller]") {
  RingingOut out;
  auto initiate = sent<msg::CallInitiate>(out.last);
  REQUIRE(initiate.size() == 1);
  CHECK(initiate[0].callId == "c1");
  CHECK(initiate[0].to == "bob");
  CHECK(initiate[0].callType == CallType::video);
  CHECK(timer_started(out.last, TimerKind::ring));
  auto open = all_of<fx::OpenPeer>(out.last);
  REQUIRE(open.size() == 1);
  CHECK(open[0].initiator);
  CHECK(open[0].peer == "bob");
  CHECK_FALSE(open[0].polite);  // "alice" sorts before "bob"
  CHECK_FALSE(has<fx::AttachMedia>(out.last));
}

TEST_CASE("The caller hears ringback once the callee's device rings", "[phone][caller]") {
  RingingOut out;
  auto fx = out.phone.handle(from("bob", msg::CallRinging{"c1"}), T0 + 50);
  CHECK(all_of<fx::PlayTone>(fx).at(0).tone == Tone::ringback);
  CHECK(published(fx).ringing);
  CHECK(published(fx).state == CallState::outgoing);
}

TEST_CASE("An accept attaches the caller's media and moves the call to connecting", "[phone][caller]") {
  RingingOut out;
  out.phone.handle(from("bob", msg::CallRinging{"c1"}), T0 + 50);
  auto fx = out.phone.handle(from("bob", msg::CallAccept{"c1"}), T0 + 2'000);
  CHECK(has<fx::AttachMedia>(fx));
  CHECK(all_of<fx::PlayTone>(fx).at(0).tone == Tone::none);
  CHECK(timer_started(fx, TimerKind::connect));
  CHECK(published(fx).state == CallState::connecting);
  CHECK_FALSE(published(fx).ringing);
}

TEST_CASE("A call becomes active when the peer connection connects after the accept", "[phone][caller]") {
  RingingOut out;
  out.phone.handle(from("bob", msg::CallAccept{"c1"}), T0 + 2'000);
  auto fx = out.phone.handle(ev::PeerStateChanged{"bob", PeerState::connected}, T0 + 2'300);
  CHECK(published(fx).state == CallState::active);
  CHECK(published(fx).connection == Connection::connected);
  CHECK(published(fx).startedAt == T0 + 2'300);
}

TEST_CASE("A connection made while it rang makes the call active at the accept", "[phone][caller]") {
  RingingOut out;
  auto early = out.phone.handle(ev::PeerStateChanged{"bob", PeerState::connected}, T0 + 500);
  CHECK(early.empty());
  auto fx = out.phone.handle(from("bob", msg::CallAccept{"c1"}), T0 + 2'000);
  CHECK(published(fx).state == CallState::active);
  CHECK(published(fx).startedAt == T0 + 2'000);
  CHECK_FALSE(timer_started(fx, TimerKind::connect));
}

TEST_CASE("A caller who muted while it rang tells the callee at the accept", "[phone][caller][media]") {
  RingingOut out;
  auto muted = out.phone.handle(ev::SetMicrophone{false}, T0 + 500);
  CHECK(sent<msg::CallMedia>(muted).empty());  // the callee has not answered yet
  auto fx = out.phone.handle(from("bob", msg::CallAccept{"c1"}), T0 + 2'000);
  auto media = sent<msg::CallMedia>(fx);
  REQUIRE(media.size() == 1);
  CHECK(media[0].audioMuted);
  CHECK_FALSE(media[0].videoMuted);
}

TEST_CASE("The callee declining ends the caller's call as rejected and releases everything", "[phone][caller]") {
  RingingOut out;
  auto fx = out.phone.handle(from("bob", msg::CallReject{"c1"}), T0 + 3'000);
  CHECK(published(fx).state == CallState::ended);
  CHECK(published(fx).endReason == EndReason::rejected);
  CHECK(published(fx).endedAt == T0 + 3'000);
  CHECK(has<fx::ClosePeer>(fx));
  CHECK(has<fx::ReleaseMedia>(fx));
  CHECK(sends(fx) == 0);
}

TEST_CASE("A busy callee ends the caller's call as busy", "[phone][caller]") {
  RingingOut out;
  auto fx = out.phone.handle(from("bob", msg::CallBusy{"c1"}), T0 + 100);
  CHECK(published(fx).endReason == EndReason::busy);
  CHECK(has<fx::ReleaseMedia>(fx));
}

TEST_CASE("Hanging up while it rings cancels the call", "[phone][caller]") {
  RingingOut out;
  out.phone.handle(from("bob", msg::CallRinging{"c1"}), T0 + 50);
  auto fx = out.phone.handle(ev::HangUp{}, T0 + 4'000);
  auto cancel = sent<msg::CallCancel>(fx);
  REQUIRE(cancel.size() == 1);
  CHECK(cancel[0].reason == EndReason::cancelled);
  CHECK(published(fx).endReason == EndReason::cancelled);
  CHECK(all_of<fx::PlayTone>(fx).at(0).tone == Tone::none);
}

TEST_CASE("Hanging up before the devices open ends the call without telling anyone", "[phone][caller]") {
  Phone phone("alice");
  phone.handle(ev::Dial{"c1", "bob", CallType::audio, ""}, T0);
  auto fx = phone.handle(ev::HangUp{}, T0 + 100);
  CHECK(sends(fx) == 0);
  CHECK(has<fx::ReleaseMedia>(fx));
  CHECK(published(fx).endReason == EndReason::cancelled);
  // The devices opening late are handed straight back.
  auto late = phone.handle(ev::MediaAcquired{true, false}, T0 + 900);
  CHECK(has<fx::ReleaseMedia>(late));
  CHECK(sends(late) == 0);
}

TEST_CASE("Nobody answering within the ring timeout cancels the call as a missed call", "[phone][caller]") {
  RingingOut out;
  auto fx = out.phone.handle(ev::TimerFired{TimerKind::ring, "c1"}, T0 + 30'010);
  auto cancel = sent<msg::CallCancel>(fx);
  REQUIRE(cancel.size() == 1);
  CHECK(cancel[0].reason == EndReason::timeout);
  CHECK(published(fx).endReason == EndReason::timeout);
}

TEST_CASE("A microphone that cannot be opened ends the dial and nothing is sent", "[phone][caller][permissions]") {
  Phone phone("alice");
  phone.handle(ev::Dial{"c1", "bob", CallType::audio, ""}, T0);
  auto fx = phone.handle(ev::MediaFailed{MediaProblem::denied, true, false}, T0 + 100);
  CHECK(sends(fx) == 0);
  CHECK_FALSE(has<fx::ReleaseMedia>(fx));  // nothing was opened
  auto view = published(fx);
  CHECK(view.state == CallState::ended);
  CHECK(view.endReason == EndReason::media_unavailable);
  CHECK(view.mediaProblem == MediaProblem::denied);
  CHECK(view.mediaProblemKind == MediaKind::audio);
}

TEST_CASE("A camera that cannot be opened ends a video dial and names the camera, so the UI can offer audio", "[phone][caller][permissions]") {
  Phone phone("alice");
  phone.handle(ev::Dial{"c1", "bob", CallType::video, ""}, T0);
  auto fx = phone.handle(ev::MediaFailed{MediaProblem::not_found, false, true}, T0 + 100);
  CHECK(sends(fx) == 0);
  CHECK(published(fx).endReason == EndReason::media_unavailable);
  CHECK(published(fx).mediaProblem == MediaProblem::not_found);
  CHECK(published(fx).mediaProblemKind == MediaKind::video);
}

TEST_CASE("A server error about the call ends it and shows the code", "[phone][caller]") {
  RingingOut out;
  auto fx = out.phone.handle(from("", msg::Error{ErrorCode::forbidden, "not a contact", "call:initiate", "c1"}), T0 + 20);
  CHECK(published(fx).state == CallState::ended);
  CHECK(published(fx).endReason == EndReason::failed);
  CHECK(published(fx).serverError == ErrorCode::forbidden);
  CHECK(has<fx::ReleaseMedia>(fx));

  RingingOut busy;
  auto bfx = busy.phone.handle(from("", msg::Error{ErrorCode::busy, "in a call", "call:initiate", "c1"}), T0 + 20);
  CHECK(published(bfx).endReason == EndReason::busy);
}

// ----- the callee ---------------------------------------------------------------------------

TEST_CASE("An incoming call rings: call:ringing goes back, the ringtone plays and the ring timer starts", "[phone][callee]") {
  RingingIn in;
  REQUIRE(sent<msg::CallRinging>(in.last).size() == 1);
  CHECK(all_of<fx::PlayTone>(in.last).at(0).tone == Tone::ringtone);
  CHECK(timer_started(in.last, TimerKind::ring));
  auto view = published(in.last);
  CHECK(view.state == CallState::incoming);
  CHECK(view.direction == Direction::incoming);
  CHECK(view.peer == "alice");
  CHECK(view.peerName == "Alice");
  CHECK(view.callType == CallType::video);
  CHECK(view.ringing);
  CHECK_FALSE(has<fx::AcquireMedia>(in.last));  // no camera before the user says yes
}

TEST_CASE("With preconnect the callee answers the offer while it rings, but sends no media", "[phone][callee][preconnect]") {
  RingingIn in;
  auto open = all_of<fx::OpenPeer>(in.last);
  REQUIRE(open.size() == 1);
  CHECK_FALSE(open[0].initiator);
  CHECK(open[0].polite);  // "bob" sorts after "alice"
  auto fx = in.phone.handle(from("alice", msg::CallOffer{"c1", "bob", "v=0 offer"}), T0 + 30);
  auto apply = all_of<fx::ApplyRemoteDescription>(fx);
  REQUIRE(apply.size() == 1);
  CHECK(apply[0].type == SdpType::offer);
  auto answered = in.phone.handle(ev::RemoteDescriptionApplied{"alice", SdpType::offer}, T0 + 40);
  CHECK(has<fx::MakeAnswer>(answered));
  auto sent_answer = in.phone.handle(ev::LocalDescription{"alice", SdpType::answer, "v=0 answer"}, T0 + 50);
  REQUIRE(sent<msg::CallAnswer>(sent_answer).size() == 1);
  CHECK(sent<msg::CallAnswer>(sent_answer)[0].sdp == "v=0 answer");
  CHECK_FALSE(has<fx::AttachMedia>(sent_answer));
  CHECK(in.phone.view().state == CallState::incoming);
}

TEST_CASE("Without preconnect the caller's offer and candidates wait for the accept", "[phone][callee][preconnect]") {
  PhoneConfig config;
  config.preconnect = false;
  RingingIn in(CallType::audio, config);
  CHECK_FALSE(has<fx::OpenPeer>(in.last));
  CHECK(in.phone.handle(from("alice", msg::CallOffer{"c1", "bob", "v=0 offer"}), T0 + 30).empty());
  CHECK(in.phone.handle(from("alice", msg::CallIceCandidate{"c1", "bob", {"candidate:1", "0", 0, {}}}), T0 + 31).empty());
  in.phone.handle(ev::Accept{}, T0 + 5'000);
  auto fx = in.phone.handle(ev::MediaAcquired{true, false}, T0 + 5'100);
  CHECK(sent<msg::CallAccept>(fx).size() == 1);
  CHECK(has<fx::OpenPeer>(fx));
  auto apply = all_of<fx::ApplyRemoteDescription>(fx);
  REQUIRE(apply.size() == 1);
  CHECK(apply[0].sdp == "v=0 offer");
  // The candidate waits for the description to be in place.
  CHECK_FALSE(has<fx::AddRemoteCandidate>(fx));
  auto applied = in.phone.handle(ev::RemoteDescriptionApplied{"alice", SdpType::offer}, T0 + 5'150);
  CHECK(all_of<fx::AddRemoteCandidate>(applied).size() == 1);
}

TEST_CASE("Accepting opens the devices first and sends call:accept only once they are open", "[phone][callee]") {
  RingingIn in;
  auto fx = in.phone.handle(ev::Accept{}, T0 + 3'000);
  CHECK(all_of<fx::AcquireMedia>(fx).at(0).video);
  CHECK(sends(fx) == 0);
  CHECK(all_of<fx::PlayTone>(fx).at(0).tone == Tone::none);
  CHECK(published(fx).state == CallState::connecting);
  auto open = in.phone.handle(ev::MediaAcquired{true, true}, T0 + 3'200);
  CHECK(sent<msg::CallAccept>(open).size() == 1);
  CHECK(has<fx::AttachMedia>(open));
  CHECK(timer_started(open, TimerKind::connect));
}

TEST_CASE("Answering a video call without the camera asks for the microphone alone", "[phone][callee]") {
  RingingIn in;
  auto fx = in.phone.handle(ev::Accept{true}, T0 + 3'000);
  CHECK_FALSE(all_of<fx::AcquireMedia>(fx).at(0).video);
  CHECK_FALSE(published(fx).cameraOn);
}

TEST_CASE("Declining sends call:reject and ends as rejected", "[phone][callee]") {
  RingingIn in;
  auto fx = in.phone.handle(ev::Reject{}, T0 + 2'000);
  CHECK(sent<msg::CallReject>(fx).size() == 1);
  CHECK(published(fx).endReason == EndReason::rejected);
  CHECK(has<fx::ClosePeer>(fx));
  CHECK(all_of<fx::PlayTone>(fx).at(0).tone == Tone::none);
}

TEST_CASE("The caller giving up stops the callee's ringing", "[phone][callee]") {
  RingingIn in;
  auto fx = in.phone.handle(from("alice", msg::CallCancel{"c1", EndReason::cancelled}), T0 + 2'000);
  CHECK(published(fx).state == CallState::ended);
  CHECK(published(fx).endReason == EndReason::cancelled);
  CHECK(sends(fx) == 0);
  CHECK(all_of<fx::PlayTone>(fx).at(0).tone == Tone::none);
}

TEST_CASE("An unanswered call on the callee's side ends as missed without a message", "[phone][callee]") {
  RingingIn in;
  auto fx = in.phone.handle(ev::TimerFired{TimerKind::ring, "c1"}, T0 + 30'000);
  CHECK(published(fx).endReason == EndReason::timeout);
  CHECK(sends(fx) == 0);
}

TEST_CASE("Another device answering ends this device's ringing as answered elsewhere", "[phone][callee]") {
  RingingIn in;
  // The server speaks for the call: no `from`.
  auto fx = in.phone.handle(from("", msg::CallEnd{"c1", EndReason::answered_elsewhere}), T0 + 1'000);
  CHECK(published(fx).endReason == EndReason::answered_elsewhere);
  CHECK(sends(fx) == 0);
}

TEST_CASE("A second call during a call is answered busy and the first is untouched", "[phone][callee]") {
  RingingIn in;
  auto before = in.phone.view();
  auto fx = in.phone.handle(from("carol", msg::CallInitiate{"c9", "bob", {}, CallType::audio, "Carol"}), T0 + 100);
  auto busy = sent<msg::CallBusy>(fx);
  REQUIRE(busy.size() == 1);
  CHECK(busy[0].callId == "c9");
  CHECK_FALSE(has<fx::Publish>(fx));
  CHECK(in.phone.view() == before);
}

TEST_CASE("A microphone that cannot be opened on accept ends the call and tells the caller", "[phone][callee][permissions]") {
  RingingIn in;
  in.phone.handle(ev::Accept{}, T0 + 3'000);
  auto fx = in.phone.handle(ev::MediaFailed{MediaProblem::denied, true, true}, T0 + 3'100);
  auto end = sent<msg::CallEnd>(fx);
  REQUIRE(end.size() == 1);
  CHECK(end[0].reason == EndReason::media_unavailable);
  CHECK(published(fx).endReason == EndReason::media_unavailable);
  CHECK(published(fx).mediaProblem == MediaProblem::denied);
  CHECK(has<fx::ClosePeer>(fx));
  CHECK_FALSE(has<fx::ReleaseMedia>(fx));
}

TEST_CASE("A camera that cannot be opened on accept goes back to the ringing call, to answer without video", "[phone][callee][permissions]") {
  RingingIn in;
  in.phone.handle(ev::Accept{}, T0 + 3'000);
  auto fx = in.phone.handle(ev::MediaFailed{MediaProblem::denied, false, true}, T0 + 3'100);
  CHECK(sends(fx) == 0);
  auto view = published(fx);
  CHECK(view.state == CallState::incoming);
  CHECK(view.mediaProblem == MediaProblem::denied);
  CHECK(view.mediaProblemKind == MediaKind::video);
  CHECK_FALSE(view.cameraOn);
  auto retry = in.phone.handle(ev::Accept{true}, T0 + 4'000);
  CHECK_FALSE(all_of<fx::AcquireMedia>(retry).at(0).video);
  auto open = in.phone.handle(ev::MediaAcquired{true, false}, T0 + 4'100);
  CHECK(sent<msg::CallAccept>(open).size() == 1);
}

TEST_CASE("A callee whose camera fails on accept is still ended by the ring timeout if they do nothing", "[phone][callee][permissions]") {
  World world;
  world.add("bob");  // no caller in this world: only bob's own timer can end the call here
  world.media_fails["bob"] = ev::MediaFailed{MediaProblem::denied, false, true};
  world.act("bob", from("alice", msg::CallInitiate{"c1", "bob", {}, CallType::video, "Alice"}));
  world.advance(3'000);
  world.act("bob", ev::Accept{});
  REQUIRE(world.phone("bob").view().state == CallState::incoming);
  REQUIRE(world.phone("bob").view().mediaProblem == MediaProblem::denied);
  // The same deadline as if the user had not touched it: the caller gives up then too.
  world.advance(26'999);
  CHECK(world.phone("bob").view().state == CallState::incoming);
  world.advance(1);
  CHECK(world.phone("bob").view().state == CallState::ended);
  CHECK(world.phone("bob").view().endReason == EndReason::timeout);
  CHECK_FALSE(world.peer_open("bob"));
  CHECK_FALSE(world.media_open("bob"));
}

TEST_CASE("While the callee's devices open after an accept, the call is connecting with no connection yet, and can still be declined", "[phone][callee]") {
  RingingIn in;
  auto accepted = in.phone.handle(ev::Accept{}, T0 + 3'000);
  CHECK(published(accepted).state == CallState::connecting);
  CHECK(published(accepted).connection == Connection::none);
  CHECK_FALSE(has<fx::CancelTimer>(accepted));  // the ring timer still runs
  auto declined = in.phone.handle(ev::Reject{}, T0 + 3'500);
  CHECK(sent<msg::CallReject>(declined).size() == 1);
  CHECK(sent<msg::CallEnd>(declined).empty());
  CHECK(published(declined).endReason == EndReason::rejected);
  CHECK(has<fx::ReleaseMedia>(declined));
}

TEST_CASE("Once the callee's devices open, call:accept goes out, the ring timer stops and the call connects", "[phone][callee]") {
  RingingIn in(CallType::audio, PhoneConfig{.preconnect = false});
  in.phone.handle(ev::Accept{}, T0 + 3'000);
  auto open = in.phone.handle(ev::MediaAcquired{true, false}, T0 + 3'100);
  CHECK(sent<msg::CallAccept>(open).size() == 1);
  auto cancelled = all_of<fx::CancelTimer>(open);
  REQUIRE(cancelled.size() == 1);
  CHECK(cancelled[0].timer == TimerKind::ring);
  CHECK(published(open).connection == Connection::connecting);
  // A ring timer that fired anyway (already on its way) does not end an accepted call.
  CHECK(in.phone.handle(ev::TimerFired{TimerKind::ring, "c1"}, T0 + 30'000).empty());
}

TEST_CASE("A callee who answers a video call without the camera tells the caller the camera is off", "[phone][callee][media]") {
  World world;
  world.add("alice");
  world.add("bob");
  world.act("alice", ev::Dial{"c1", "bob", CallType::video, "Bob"});
  world.act("bob", ev::Accept{true});
  const auto& alice = world.phone("alice").view();
  CHECK(alice.state == CallState::active);
  CHECK(alice.callType == CallType::video);
  CHECK(alice.remoteVideoMuted);
  CHECK_FALSE(alice.remoteAudioMuted);
  CHECK_FALSE(world.camera_open("bob"));
}

TEST_CASE("A callee whose camera failed says so with call:media right after its call:accept", "[phone][callee][media]") {
  RingingIn in;
  in.phone.handle(ev::Accept{}, T0 + 3'000);
  in.phone.handle(ev::MediaFailed{MediaProblem::not_found, false, true}, T0 + 3'100);
  in.phone.handle(ev::Accept{true}, T0 + 4'000);
  auto open = in.phone.handle(ev::MediaAcquired{true, false}, T0 + 4'100);
  auto sends = all_of<fx::Send>(open);
  REQUIRE(sends.size() >= 2);
  REQUIRE(std::holds_alternative<msg::CallAccept>(sends[0].message.body));
  auto* media = std::get_if<msg::CallMedia>(&sends[1].message.body);
  REQUIRE(media != nullptr);
  CHECK(media->callId == "c1");
  CHECK(media->videoMuted);
  CHECK_FALSE(media->audioMuted);
}

TEST_CASE("An answer with everything on sends no call:media", "[phone][callee][media]") {
  RingingIn in;
  in.phone.handle(ev::Accept{}, T0 + 3'000);
  auto open = in.phone.handle(ev::MediaAcquired{true, true}, T0 + 3'100);
  CHECK(sent<msg::CallMedia>(open).empty());
}

// ----- both sides ---------------------------------------------------------------------------

namespace {
struct InCall {
  World world;
  InCall(CallType type = CallType::video, PhoneConfig config = {}) : world(config) {
    world.add("alice");
    world.add("bob");
    world.act("alice", ev::Dial{"c1", "bob", type, "Bob"});
    world.act("bob", ev::Accept{});
  }
};
}  // namespace

TEST_CASE("Two phones complete a call through a relay: ring, preconnect, accept, media", "[phone][flow]") {
  World world;
  world.add("alice");
  world.add("bob");
  world.act("alice", ev::Dial{"c1", "bob", CallType::video, "Bob"});
  CHECK(world.phone("alice").view().state == CallState::outgoing);
  CHECK(world.phone("alice").view().ringing);
  CHECK(world.phone("bob").view().state == CallState::incoming);
  // Connected while it rings, but nothing is attached on either side.
  CHECK(world.peer_open("bob"));
  CHECK_FALSE(world.attached("alice"));
  CHECK_FALSE(world.attached("bob"));
  CHECK_FALSE(world.media_open("bob"));
  world.now += 4'000;
  world.act("bob", ev::Accept{});
  for (auto user : {"alice", "bob"}) {
    INFO(user);
    CHECK(world.phone(user).view().state == CallState::active);
    CHECK(world.attached(user));
    CHECK(world.media_open(user));
    CHECK(world.phone(user).view().startedAt == world.now);
  }
  world.now += 65'400;
  world.act("alice", ev::HangUp{});
  CHECK(world.phone("bob").view().state == CallState::ended);
  CHECK(world.phone("bob").view().endReason == EndReason::hangup);
  CHECK_FALSE(world.media_open("alice"));
  CHECK_FALSE(world.media_open("bob"));
  CHECK_FALSE(world.peer_open("alice"));
  CHECK_FALSE(world.peer_open("bob"));
}

TEST_CASE("Hanging up an active call sends call:end with reason hangup", "[phone]") {
  InCall call;
  auto& alice = call.world.phone("alice");
  REQUIRE(alice.view().state == CallState::active);
  auto fx = alice.handle(ev::HangUp{}, call.world.now + 10'000);
  auto end = sent<msg::CallEnd>(fx);
  REQUIRE(end.size() == 1);
  CHECK(end[0].reason == EndReason::hangup);
  CHECK(published(fx).endReason == EndReason::hangup);
  CHECK(has<fx::ReleaseMedia>(fx));
  CHECK(has<fx::ClosePeer>(fx));
}

TEST_CASE("The other side hanging up ends the call with their reason", "[phone]") {
  InCall call;
  auto fx = call.world.phone("bob").handle(from("alice", msg::CallEnd{"c1", EndReason::connection_lost}), call.world.now);
  CHECK(published(fx).endReason == EndReason::connection_lost);
  CHECK(sends(fx) == 0);
}

TEST_CASE("Muting and turning the camera off disable the track and tell the peer", "[phone][media]") {
  InCall call;
  auto& alice = call.world.phone("alice");
  auto fx = alice.handle(ev::SetMicrophone{false}, call.world.now);
  CHECK(all_of<fx::SetTrackEnabled>(fx).at(0).kind == MediaKind::audio);
  CHECK_FALSE(all_of<fx::SetTrackEnabled>(fx).at(0).enabled);
  auto media = sent<msg::CallMedia>(fx);
  REQUIRE(media.size() == 1);
  CHECK(media[0].audioMuted);
  CHECK_FALSE(media[0].videoMuted);
  CHECK_FALSE(published(fx).microphoneOn);
  auto cam = alice.handle(ev::SetCamera{false}, call.world.now);
  CHECK(all_of<fx::SetTrackEnabled>(cam).at(0).kind == MediaKind::video);
  CHECK(sent<msg::CallMedia>(cam).at(0).videoMuted);
  // Saying the same thing twice changes nothing.
  CHECK(alice.handle(ev::SetCamera{false}, call.world.now).empty());
}

TEST_CASE("The peer's mute state shows in the view", "[phone][media]") {
  InCall call;
  call.world.act("alice", ev::SetMicrophone{false});
  CHECK(call.world.phone("bob").view().remoteAudioMuted);
  CHECK_FALSE(call.world.phone("bob").view().remoteVideoMuted);
}

TEST_CASE("Turning on a camera in an audio call is refused as bad_value: it can never work in this call", "[phone][media][refused]") {
  InCall call(CallType::audio);
  auto fx = call.world.phone("alice").handle(ev::SetCamera{true}, call.world.now);
  auto refused = all_of<fx::IntentRefused>(fx);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].error.code == ErrorCode::bad_value);
}

TEST_CASE("Turning on a camera that could not be opened is refused as invalid_state", "[phone][media][refused]") {
  Phone phone("alice");
  phone.handle(ev::Dial{"c1", "bob", CallType::video, ""}, T0);
  phone.handle(ev::MediaAcquired{true, false}, T0 + 10);
  auto fx = phone.handle(ev::SetCamera{true}, T0 + 20);
  REQUIRE(fx.size() == 1);
  CHECK(all_of<fx::IntentRefused>(fx).at(0).error.code == ErrorCode::invalid_state);
}

TEST_CASE("Muting while the devices open is applied when they arrive", "[phone][media]") {
  Phone phone("alice");
  phone.handle(ev::Dial{"c1", "bob", CallType::video, ""}, T0);
  phone.handle(ev::SetMicrophone{false}, T0 + 1);
  phone.handle(ev::SetCamera{false}, T0 + 2);
  auto fx = phone.handle(ev::MediaAcquired{true, true}, T0 + 100);
  auto tracks = all_of<fx::SetTrackEnabled>(fx);
  REQUIRE(tracks.size() == 2);
  CHECK_FALSE(tracks[0].enabled);
  CHECK_FALSE(tracks[1].enabled);
}

TEST_CASE("A dropped connection shows reconnecting and restarts ICE after the grace period", "[phone][network]") {
  InCall call;
  call.world.auto_connect = false;
  call.world.peer_state("alice", PeerState::disconnected);
  CHECK(call.world.phone("alice").view().connection == Connection::reconnecting);
  CHECK(call.world.phone("alice").view().state == CallState::active);
  auto grace = call.world.phone("alice").handle(ev::TimerFired{TimerKind::ice_grace, "c1"}, call.world.now + 2'000);
  REQUIRE(all_of<fx::RestartIce>(grace).size() == 1);
  CHECK(all_of<fx::RestartIce>(grace)[0].peer == "bob");
}

TEST_CASE("Coming back within the reconnect timeout returns the call to connected", "[phone][network]") {
  InCall call;
  call.world.auto_connect = false;
  call.world.peer_state("alice", PeerState::disconnected);
  call.world.advance(5'000);
  call.world.peer_state("alice", PeerState::connected);
  CHECK(call.world.phone("alice").view().connection == Connection::connected);
  call.world.advance(60'000);  // the cancelled reconnect timer must not end the call
  CHECK(call.world.phone("alice").view().state == CallState::active);
}

TEST_CASE("Staying disconnected past the reconnect timeout ends the call as connection lost", "[phone][network]") {
  InCall call;
  call.world.auto_connect = false;
  call.world.peer_state("alice", PeerState::disconnected);
  call.world.advance(30'000);
  CHECK(call.world.phone("alice").view().state == CallState::ended);
  CHECK(call.world.phone("alice").view().endReason == EndReason::connection_lost);
  CHECK(call.world.phone("bob").view().endReason == EndReason::connection_lost);
}

TEST_CASE("A failed connection in an active call restarts ICE at once", "[phone][network]") {
  InCall call;
  auto fx = call.world.phone("alice").handle(ev::PeerStateChanged{"bob", PeerState::failed}, call.world.now);
  CHECK(all_of<fx::RestartIce>(fx).size() == 1);
  CHECK(published(fx).connection == Connection::reconnecting);
  CHECK(timer_started(fx, TimerKind::reconnect));
}

TEST_CASE("No media path within the connect timeout ends the call as failed", "[phone][network]") {
  World world;
  world.auto_connect = false;
  world.add("alice");
  world.add("bob");
  world.act("alice", ev::Dial{"c1", "bob", CallType::audio, ""});
  world.act("bob", ev::Accept{});
  CHECK(world.phone("alice").view().state == CallState::connecting);
  world.advance(30'000);
  CHECK(world.phone("alice").view().endReason == EndReason::failed);
  CHECK(world.phone("bob").view().endReason == EndReason::failed);
  CHECK_FALSE(world.media_open("alice"));
  CHECK_FALSE(world.media_open("bob"));
}

TEST_CASE("A connection that fails after the accept ends the call as failed", "[phone][network]") {
  World world;
  world.auto_connect = false;
  world.add("alice");
  world.add("bob");
  world.act("alice", ev::Dial{"c1", "bob", CallType::audio, ""});
  world.act("bob", ev::Accept{});
  world.peer_state("bob", PeerState::failed);
  CHECK(world.phone("bob").view().endReason == EndReason::failed);
  CHECK(world.phone("alice").view().endReason == EndReason::failed);
}

// ----- leaving the app ----------------------------------------------------------------------

TEST_CASE("Leaving the app cancels a call that rings out", "[phone][leave]") {
  RingingOut out;
  out.phone.handle(from("bob", msg::CallRinging{"c1"}), T0 + 50);
  auto fx = out.phone.handle(ev::Leave{}, T0 + 4'000);
  auto cancel = sent<msg::CallCancel>(fx);
  REQUIRE(cancel.size() == 1);
  CHECK(cancel[0].reason == EndReason::cancelled);
  CHECK(published(fx).state == CallState::ended);
}

TEST_CASE("Leaving the app hangs up a connecting or active call, on either side, reconnecting too",
          "[phone][leave]") {
  auto ends_with_hangup = [](Phone& phone, Millis at) {
    auto fx = phone.handle(ev::Leave{}, at);
    auto end = sent<msg::CallEnd>(fx);
    REQUIRE(end.size() == 1);
    CHECK(end[0].reason == EndReason::hangup);
    CHECK(published(fx).endReason == EndReason::hangup);
  };
  SECTION("the caller, connecting after the accept") {
    RingingOut out;
    out.phone.handle(from("bob", msg::CallAccept{"c1"}), T0 + 2'000);
    ends_with_hangup(out.phone, T0 + 2'100);
  }
  SECTION("the callee, connecting once its devices opened") {
    RingingIn in;
    in.phone.handle(ev::Accept{}, T0 + 3'000);
    in.phone.handle(ev::MediaAcquired{true, true}, T0 + 3'200);
    ends_with_hangup(in.phone, T0 + 3'300);
  }
  SECTION("an active call, and one whose connection is being restored") {
    RingingOut out;
    out.phone.handle(from("bob", msg::CallAccept{"c1"}), T0 + 2'000);
    out.phone.handle(ev::PeerStateChanged{"bob", PeerState::connected}, T0 + 2'300);
    const bool reconnecting = GENERATE(false, true);
    if (reconnecting) out.phone.handle(ev::PeerStateChanged{"bob", PeerState::disconnected}, T0 + 5'000);
    ends_with_hangup(out.phone, T0 + 6'000);
  }
}

TEST_CASE("Leaving the app leaves a call that rings here, or whose devices still open after the accept, to ring again",
          "[phone][leave]") {
  RingingIn in;
  const bool accepted = GENERATE(false, true);
  if (accepted) in.phone.handle(ev::Accept{}, T0 + 3'000);
  CHECK(in.phone.handle(ev::Leave{}, T0 + 3'100).empty());
}

TEST_CASE("Leaving the app with no call, or one that is over, does nothing and refuses nothing", "[phone][leave]") {
  Phone phone("alice");
  CHECK(phone.handle(ev::Leave{}, T0).empty());
  RingingOut out;
  out.phone.handle(ev::HangUp{}, T0 + 1'000);
  CHECK(out.phone.handle(ev::Leave{}, T0 + 2'000).empty());
}

// ----- glare --------------------------------------------------------------------------------

TEST_CASE("Two people calling each other at once end up in one call, the one whose id sorts first", "[phone][glare]") {
  auto run = [](const char* alice_call, const char* bob_call) {
    World world;
    world.add("alice");
    world.add("bob");
    // Both dial before either hears of the other: queue both, then let the relay run.
    world.queue("alice", ev::Dial{alice_call, "bob", CallType::video, ""});
    world.queue("bob", ev::Dial{bob_call, "alice", CallType::video, ""});
    world.settle();
    return world;
  };
  SECTION("alice's call sorts first") {
    auto world = run("a-call", "b-call");
    for (auto user : {"alice", "bob"}) {
      INFO(user);
      CHECK(world.phone(user).view().state == CallState::active);
      CHECK(world.phone(user).view().callId == "a-call");
    }
    CHECK(world.phone("alice").view().direction == Direction::outgoing);
    CHECK(world.phone("bob").view().direction == Direction::incoming);
  }
  SECTION("bob's call sorts first") {
    auto world = run("z-call", "b-call");
    for (auto user : {"alice", "bob"}) {
      INFO(user);
      CHECK(world.phone(user).view().state == CallState::active);
      CHECK(world.phone(user).view().callId == "b-call");
    }
  }
}

TEST_CASE("The side whose call loses the glare cancels it with reason glare", "[phone][glare]") {
  RingingOut out;  // alice calls bob with "c1"
  auto fx = out.phone.handle(from("bob", msg::CallInitiate{"c0", "alice", {}, CallType::video, "Bob"}), T0 + 20);
  auto cancel = sent<msg::CallCancel>(fx);
  REQUIRE(cancel.size() == 1);
  CHECK(cancel[0].callId == "c1");
  CHECK(cancel[0].reason == EndReason::glare);
  CHECK(sent<msg::CallAccept>(fx).at(0).callId == "c0");
  CHECK(sent<msg::CallBusy>(fx).empty());
  CHECK(published(fx).callId == "c0");
  CHECK(published(fx).direction == Direction::incoming);

  RingingOut winner;  // alice's "c1" sorts before bob's "c9": she keeps hers and waits
  auto wfx = winner.phone.handle(from("bob", msg::CallInitiate{"c9", "alice", {}, CallType::video, "Bob"}), T0 + 20);
  CHECK(wfx.empty());
}

TEST_CASE("Losing the glare to an audio call closes the camera opened for our video call", "[phone][glare]") {
  World world;
  world.add("alice");
  world.add("bob");
  world.queue("alice", ev::Dial{"z-call", "bob", CallType::video, ""});
  world.queue("bob", ev::Dial{"b-call", "alice", CallType::audio, ""});
  world.settle();
  const auto& alice = world.phone("alice").view();
  CHECK(alice.state == CallState::active);
  CHECK(alice.callId == "b-call");
  CHECK(alice.callType == CallType::audio);
  CHECK_FALSE(alice.cameraOn);
  CHECK(world.media_open("alice"));
  CHECK_FALSE(world.camera_open("alice"));
  CHECK(world.attached("alice"));
}

TEST_CASE("Losing the glare to an audio call while the camera is still opening asks for the microphone alone", "[phone][glare]") {
  Phone phone("alice");
  phone.handle(ev::Dial{"z-call", "bob", CallType::video, ""}, T0);
  auto fx = phone.handle(from("bob", msg::CallInitiate{"b-call", "alice", {}, CallType::audio, "Bob"}), T0 + 5);
  std::size_t release = fx.size(), acquire = fx.size();
  for (std::size_t i = 0; i < fx.size(); ++i) {
    if (std::holds_alternative<fx::ReleaseMedia>(fx[i])) release = i;
    if (std::holds_alternative<fx::AcquireMedia>(fx[i])) acquire = i;
  }
  REQUIRE(release < acquire);
  REQUIRE(acquire < fx.size());
  CHECK(std::get<fx::AcquireMedia>(fx[acquire]).audio);
  CHECK_FALSE(std::get<fx::AcquireMedia>(fx[acquire]).video);
  auto open = phone.handle(ev::MediaAcquired{true, false}, T0 + 60);
  CHECK(sent<msg::CallAccept>(open).at(0).callId == "b-call");
}

TEST_CASE("Losing the glare to a video call keeps the camera the user dialed with", "[phone][glare]") {
  RingingOut out;  // alice dialed video: her camera is open
  auto fx = out.phone.handle(from("bob", msg::CallInitiate{"c0", "alice", {}, CallType::video, "Bob"}), T0 + 20);
  CHECK_FALSE(has<fx::ReleaseMedia>(fx));
  CHECK_FALSE(has<fx::AcquireMedia>(fx));
  CHECK(published(fx).cameraOn);
}

// ----- what is ignored or refused -----------------------------------------------------------

TEST_CASE("Dialing during a call is refused as busy and the call goes on", "[phone][refused]") {
  RingingOut out;
  auto fx = out.phone.handle(ev::Dial{"c2", "carol", CallType::audio, ""}, T0 + 100);
  REQUIRE(all_of<fx::IntentRefused>(fx).size() == 1);
  CHECK(all_of<fx::IntentRefused>(fx)[0].error.code == ErrorCode::busy);
  CHECK(fx.size() == 1);
  CHECK(out.phone.view().callId == "c1");
}

TEST_CASE("A dial with an invalid id or to oneself is refused with bad_value", "[phone][refused]") {
  auto [callId, peer] = GENERATE(table<std::string, std::string>({
      {"", "bob"}, {"c 1", "bob"}, {std::string(65, 'c'), "bob"}, {"c1", ""}, {"c1", "bob!"}, {"c1", "alice"}}));
  Phone phone("alice");
  auto fx = phone.handle(ev::Dial{callId, peer, CallType::audio, ""}, T0);
  REQUIRE(fx.size() == 1);
  CHECK(all_of<fx::IntentRefused>(fx).at(0).error.code == ErrorCode::bad_value);
  CHECK(phone.view().state == CallState::idle);
}

TEST_CASE("Intents about a call when there is none are refused as not_found", "[phone][refused]") {
  auto [intent, code] = GENERATE(table<Event, ErrorCode>({
      {ev::Accept{}, ErrorCode::not_found},
      {ev::Reject{}, ErrorCode::not_found},
      {ev::SetMicrophone{false}, ErrorCode::not_found},
      {ev::SetCamera{false}, ErrorCode::not_found},
      {ev::HangUp{}, ErrorCode::not_found}}));
  SECTION("idle") {
    Phone phone("alice");
    auto fx = phone.handle(intent, T0);
    REQUIRE(fx.size() == 1);
    CHECK(all_of<fx::IntentRefused>(fx).at(0).error.code == code);
  }
  SECTION("after a call ended (the ringing call went away just before the click)") {
    RingingIn in;
    in.phone.handle(from("alice", msg::CallCancel{"c1", EndReason::cancelled}), T0 + 1'000);
    auto fx = in.phone.handle(intent, T0 + 1'001);
    REQUIRE(fx.size() == 1);
    CHECK(all_of<fx::IntentRefused>(fx).at(0).error.code == code);
  }
}

TEST_CASE("Answering or declining a call that is not ringing here is refused as invalid_state", "[phone][refused]") {
  Event intent = GENERATE(Event{ev::Accept{}}, Event{ev::Reject{}});
  SECTION("our own call ringing out") {
    RingingOut out;
    auto fx = out.phone.handle(intent, T0 + 100);
    REQUIRE(fx.size() == 1);
    CHECK(all_of<fx::IntentRefused>(fx).at(0).error.code == ErrorCode::invalid_state);
    CHECK(out.phone.view().state == CallState::outgoing);
  }
  SECTION("a call in progress") {
    InCall call;
    auto fx = call.world.phone("bob").handle(intent, call.world.now);
    REQUIRE(fx.size() == 1);
    CHECK(all_of<fx::IntentRefused>(fx).at(0).error.code == ErrorCode::invalid_state);
    CHECK(call.world.phone("bob").view().state == CallState::active);
  }
}

TEST_CASE("A timer from a call gone by changes nothing", "[phone][refused]") {
  RingingOut out;
  for (auto kind : {TimerKind::ring, TimerKind::connect, TimerKind::ice_grace, TimerKind::reconnect}) {
    CHECK(out.phone.handle(ev::TimerFired{kind, "c0"}, T0 + 40'000).empty());
  }
  CHECK(out.phone.view().state == CallState::outgoing);
}

TEST_CASE("Messages from strangers or about other calls are ignored", "[phone][refused]") {
  RingingOut out;
  const auto before = out.phone.view();
  Event stray = GENERATE(from("mallory", Body{msg::CallAccept{"c1"}}), from("bob", Body{msg::CallAccept{"c2"}}),
                         from("mallory", Body{msg::CallEnd{"c1", EndReason::hangup}}),
                         from("bob", Body{msg::CallReject{"zz"}}),
                         from("mallory", Body{msg::CallOffer{"c1", "alice", "v=0"}}),
                         from("bob", Body{msg::CallCancel{"c1", EndReason::cancelled}}),
                         from("", Body{msg::Error{ErrorCode::forbidden, "x", "", "other"}}));
  CHECK(out.phone.handle(stray, T0 + 100).empty());
  CHECK(out.phone.view() == before);
}

TEST_CASE("A call:initiate that cannot be a one-to-one call to us is ignored", "[phone][refused]") {
  Phone phone("bob");
  Event stray = GENERATE(from("", Body{msg::CallInitiate{"c1", "bob", {}, CallType::audio, ""}}),
                         from("bob", Body{msg::CallInitiate{"c1", "bob", {}, CallType::audio, ""}}),
                         from("alice", Body{msg::CallInitiate{"c1", {}, "g1", CallType::audio, ""}}));
  CHECK(phone.handle(stray, T0).empty());
  CHECK(phone.view().state == CallState::idle);
}

TEST_CASE("A new call can start after the last one ended, with nothing carried over", "[phone]") {
  InCall call;
  call.world.act("bob", ev::SetMicrophone{false});
  call.world.act("alice", ev::HangUp{});
  call.world.now += 1'000;
  call.world.act("bob", ev::Dial{"c2", "alice", CallType::audio, "Alice"});
  auto& bob = call.world.phone("bob").view();
  CHECK(bob.state == CallState::outgoing);
  CHECK(bob.callId == "c2");
  CHECK(bob.microphoneOn);
  CHECK_FALSE(bob.endReason.has_value());
  CHECK_FALSE(bob.remoteAudioMuted);
  CHECK(call.world.phone("alice").view().state == CallState::incoming);
}

TEST_CASE("A candidate the browser refuses does not disturb an offer in flight", "[phone][negotiation]") {
  RingingOut out;  // alice is impolite towards bob
  out.phone.handle(ev::NegotiationNeeded{"bob"}, T0 + 20);  // her offer is being made
  out.phone.handle(ev::PeerOperationFailed{"bob", "addIceCandidate", "Unknown ufrag"}, T0 + 21);
  // Still making her offer: bob's colliding offer is ignored, not applied.
  auto fx = out.phone.handle(from("bob", msg::CallOffer{"c1", "alice", "v=0 theirs"}), T0 + 22);
  CHECK_FALSE(has<fx::ApplyRemoteDescription>(fx));
}

// ----- sharing the screen ---------------------------------------------------------------------

TEST_CASE("Sharing the screen asks for a screen, then sends it instead of the camera and tells the peer",
          "[phone][screen]") {
  InCall call;
  auto& alice = call.world.phone("alice");
  auto ask = alice.handle(ev::ShareScreen{true}, call.world.now);
  CHECK(has<fx::AcquireScreen>(ask));
  CHECK(sends(ask) == 0);  // nothing is shared until a screen is chosen
  CHECK_FALSE(published(ask).screenSharing);
  auto got = alice.handle(ev::ScreenAcquired{}, call.world.now);
  REQUIRE(all_of<fx::AttachScreen>(got).size() == 1);
  CHECK(all_of<fx::AttachScreen>(got)[0].peer == "bob");
  auto media = sent<msg::CallMedia>(got);
  REQUIRE(media.size() == 1);
  CHECK(media[0].screenShared);
  CHECK_FALSE(media[0].videoMuted);  // the camera is still on, only not sent meanwhile
  CHECK(published(got).screenSharing);
}

TEST_CASE("The peer's screen share shows in the view, and ends with it", "[phone][screen]") {
  InCall call;
  call.world.act("alice", ev::ShareScreen{true});
  CHECK(call.world.phone("alice").view().screenSharing);
  CHECK(call.world.phone("bob").view().remoteScreenShared);
  call.world.act("alice", ev::ShareScreen{false});
  CHECK_FALSE(call.world.phone("alice").view().screenSharing);
  CHECK_FALSE(call.world.screen_open("alice"));
  CHECK_FALSE(call.world.phone("bob").view().remoteScreenShared);
}

TEST_CASE("A share the browser ends itself stops, puts the camera back and tells the peer", "[phone][screen]") {
  InCall call;
  call.world.act("alice", ev::ShareScreen{true});
  auto& alice = call.world.phone("alice");
  auto ended = alice.handle(ev::ScreenEnded{}, call.world.now);
  CHECK(has<fx::ReleaseScreen>(ended));
  REQUIRE(sent<msg::CallMedia>(ended).size() == 1);
  CHECK_FALSE(sent<msg::CallMedia>(ended)[0].screenShared);
  CHECK_FALSE(published(ended).screenSharing);
  // Late news of the same end changes nothing.
  CHECK(alice.handle(ev::ScreenEnded{}, call.world.now).empty());
}

TEST_CASE("A screen picker closed without a choice says why and shares nothing", "[phone][screen]") {
  InCall call;
  call.world.screen_fails["alice"] = ev::ScreenFailed{MediaProblem::denied};
  call.world.act("alice", ev::ShareScreen{true});
  const auto& view = call.world.phone("alice").view();
  CHECK(view.screenProblem == MediaProblem::denied);
  CHECK_FALSE(view.screenSharing);
  CHECK_FALSE(call.world.phone("bob").view().remoteScreenShared);
  CHECK(view.state == CallState::active);
  // Trying again clears the problem.
  call.world.screen_fails.clear();
  call.world.act("alice", ev::ShareScreen{true});
  CHECK(call.world.phone("alice").view().screenProblem == MediaProblem::none);
  CHECK(call.world.phone("alice").view().screenSharing);
}

TEST_CASE("In an audio call the screen goes out on a video transceiver the phones negotiate", "[phone][screen]") {
  InCall call(CallType::audio);
  const int offers = call.world.offers;
  call.world.act("alice", ev::ShareScreen{true});
  CHECK(call.world.offers == offers + 1);
  CHECK(call.world.phone("bob").view().remoteScreenShared);
  for (const char* user : {"alice", "bob"}) {
    CHECK(call.world.phone(user).view().state == CallState::active);
    CHECK(call.world.phone(user).view().connection == Connection::connected);
  }
}

TEST_CASE("Hanging up while sharing gives the screen back before the connection closes", "[phone][screen]") {
  InCall call;
  call.world.act("alice", ev::ShareScreen{true});
  auto fx = call.world.phone("alice").handle(ev::HangUp{}, call.world.now);
  std::size_t release = fx.size(), close = fx.size();
  for (std::size_t i = 0; i < fx.size(); ++i) {
    if (std::holds_alternative<fx::ReleaseScreen>(fx[i])) release = i;
    if (std::holds_alternative<fx::ClosePeer>(fx[i])) close = i;
  }
  CHECK(release < close);
  CHECK(close < fx.size());
  CHECK_FALSE(published(fx).screenSharing);
}

TEST_CASE("A screen chosen after the share was stopped or the call ended goes straight back", "[phone][screen]") {
  InCall call;
  auto& alice = call.world.phone("alice");
  REQUIRE(has<fx::AcquireScreen>(alice.handle(ev::ShareScreen{true}, call.world.now)));
  auto stop = alice.handle(ev::ShareScreen{false}, call.world.now);
  CHECK(has<fx::ReleaseScreen>(stop));
  CHECK(sent<msg::CallMedia>(stop).empty());  // nothing was shared
  auto late = alice.handle(ev::ScreenAcquired{}, call.world.now);
  CHECK(has<fx::ReleaseScreen>(late));
  CHECK_FALSE(has<fx::AttachScreen>(late));
  CHECK(sends(late) == 0);

  REQUIRE(has<fx::AcquireScreen>(alice.handle(ev::ShareScreen{true}, call.world.now)));
  call.world.act("bob", ev::HangUp{});
  auto after_end = alice.handle(ev::ScreenAcquired{}, call.world.now);
  CHECK(has<fx::ReleaseScreen>(after_end));
  CHECK_FALSE(has<fx::AttachScreen>(after_end));
}

TEST_CASE("The screen can be shared only in a connected call", "[phone][screen][refused]") {
  World world;
  auto& alice = world.add("alice");
  world.add("bob");
  auto none = alice.handle(ev::ShareScreen{true}, world.now);
  REQUIRE(all_of<fx::IntentRefused>(none).size() == 1);
  CHECK(all_of<fx::IntentRefused>(none)[0].error.code == ErrorCode::not_found);
  world.act("alice", ev::Dial{"c1", "bob", CallType::video, "Bob"});
  auto ringing = alice.handle(ev::ShareScreen{true}, world.now);
  REQUIRE(all_of<fx::IntentRefused>(ringing).size() == 1);
  CHECK(all_of<fx::IntentRefused>(ringing)[0].error.code == ErrorCode::invalid_state);
  CHECK_FALSE(has<fx::AcquireScreen>(ringing));
}

TEST_CASE("Asking to share twice while the picker is open asks once", "[phone][screen]") {
  InCall call;
  auto& alice = call.world.phone("alice");
  REQUIRE(has<fx::AcquireScreen>(alice.handle(ev::ShareScreen{true}, call.world.now)));
  CHECK(alice.handle(ev::ShareScreen{true}, call.world.now).empty());
}

TEST_CASE("Turning the camera off while sharing keeps the screen going and says both", "[phone][screen]") {
  InCall call;
  call.world.act("alice", ev::ShareScreen{true});
  auto fx = call.world.phone("alice").handle(ev::SetCamera{false}, call.world.now);
  auto media = sent<msg::CallMedia>(fx);
  REQUIRE(media.size() == 1);
  CHECK(media[0].videoMuted);
  CHECK(media[0].screenShared);
  CHECK_FALSE(has<fx::ReleaseScreen>(fx));
}

TEST_CASE("An accept that says renegotiate restarts ICE at once, toward the device that answered",
          "[phone][caller][preconnect]") {
  World world;
  world.add("alice");
  world.add("bob");
  world.act("alice", ev::Dial{"c1", "bob", CallType::audio, "Bob"});
  REQUIRE(world.phone("alice").view().state == CallState::outgoing);
  REQUIRE(world.peer_open("alice"));
  auto& alice = world.phone("alice");
  auto plain = Phone(alice);  // the same caller, for the accept without the flag
  auto fx = alice.handle(from("bob", msg::CallAccept{"c1", true}), world.now);
  REQUIRE(all_of<fx::RestartIce>(fx).size() == 1);
  CHECK(all_of<fx::RestartIce>(fx)[0].peer == "bob");
  CHECK(has<fx::AttachMedia>(fx));
  CHECK_FALSE(has<fx::RestartIce>(plain.handle(from("bob", msg::CallAccept{"c1", false}), world.now)));
}
