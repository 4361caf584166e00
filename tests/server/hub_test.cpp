// The server's signaling rules, without sockets: what each connection is sent, what is
// closed, and what the call records say.
#include <catch2/catch.hpp>

#include "hub_world.hpp"

using namespace duet;
using namespace duet::server;

namespace {

using test::T0;

struct Server : test::HubWorld {
  Server() : HubWorld({"alice", "bob", "carol", "dave"}) {
    boot();
    befriend("alice", "bob");
    befriend("alice", "carol");
    befriend("bob", "carol");
  }
};

// alice calls bob ("c1"), one device each, and bob's phone says it rings.
struct Ringing : Server {
  ConnId a, b;
  Ringing() {
    a = login("alice");
    b = login("bob");
    say(a, msg::CallInitiate{"c1", "bob", {}, CallType::video, {}});
    say(b, msg::CallRinging{"c1"});
  }
};

struct Talking : Ringing {
  Talking() {
    now += 4'000;
    say(b, msg::CallAccept{"c1"});
  }
};

}  // namespace

// ----- connecting ---------------------------------------------------------------------------

TEST_CASE("A connection that authenticates is told who it is and its contacts' presence", "[hub][auth]") {
  Server s;
  const ConnId bob = s.login("bob");
  const ConnId c = s.connect();
  s.say(c, R"({"v":1,"type":"auth","token":"t:alice"})");
  auto ok = s.of<msg::AuthOk>(c);
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].userId == "alice");
  CHECK(ok[0].displayName == "Name of alice");
  auto presence = s.of<msg::Presence>(c);
  REQUIRE(presence.size() == 2);  // bob and carol, not dave who is no contact
  for (const auto& p : presence) {
    CHECK((p.userId == "bob" || p.userId == "carol"));
    CHECK(p.status == (p.userId == "bob" ? PresenceStatus::online : PresenceStatus::offline));
  }
  // bob hears that alice came online.
  auto told = s.of<msg::Presence>(bob);
  REQUIRE(told.size() == 1);
  CHECK(told[0].userId == "alice");
  CHECK(told[0].status == PresenceStatus::online);
}

TEST_CASE("A first message that is not auth is refused and the connection closed", "[hub][auth]") {
  Server s;
  const ConnId c = s.connect();
  s.say(c, msg::CallInitiate{"c1", "bob", {}, CallType::audio, {}});
  CHECK(s.last_error(c).code == ErrorCode::unauthenticated);
  CHECK(s.closed_with[c] == kCloseUnauthenticated);
  CHECK(s.store->find_call("c1").error().code == ErrorCode::not_found);
}

TEST_CASE("A bad token is refused and the connection closed", "[hub][auth]") {
  Server s;
  const ConnId c = s.connect();
  s.say(c, R"({"v":1,"type":"auth","token":"forged"})");
  CHECK(s.last_error(c).code == ErrorCode::unauthenticated);
  CHECK(s.closed_with[c] == kCloseUnauthenticated);
}

TEST_CASE("A connection that stays silent is closed when the auth timeout passes", "[hub][auth]") {
  Server s;
  const ConnId silent = s.connect();
  const ConnId good = s.login("alice");
  s.wait(4'999);
  CHECK_FALSE(s.closed_with.count(silent));
  s.wait(1);
  CHECK(s.closed_with[silent] == kCloseAuthTimeout);
  CHECK_FALSE(s.closed_with.count(good));
}

TEST_CASE("Malformed messages get typed errors and the connection keeps working", "[hub][hostile]") {
  Server s;
  const ConnId a = s.login("alice");
  auto [text, code] = GENERATE(table<std::string, ErrorCode>({
      {"not json", ErrorCode::bad_json},
      {"[1,2]", ErrorCode::not_an_object},
      {R"({"v":2,"type":"call:accept","callId":"c1"})", ErrorCode::bad_version},
      {R"({"v":1,"type":"call:teleport"})", ErrorCode::unknown_type},
      {R"({"v":1,"type":"call:accept"})", ErrorCode::missing_field},
      {R"({"v":1,"type":"call:accept","callId":7})", ErrorCode::wrong_type},
      {R"({"v":1,"type":"presence","userId":"bob","status":"online"})", ErrorCode::bad_value},
      {R"({"v":1,"type":"call:accept","callId":"nope"})", ErrorCode::not_found},
  }));
  s.say(a, text);
  CHECK(s.last_error(a).code == code);
  CHECK_FALSE(s.closed_with.count(a));
  s.inbox[a].clear();
  s.say(a, msg::CallInitiate{"c1", "bob", {}, CallType::audio, {}});
  CHECK(s.of<msg::Error>(a).empty());
}

TEST_CASE("A connection that keeps sending garbage is closed, and nobody else is", "[hub][hostile]") {
  Server s;
  const ConnId a = s.login("alice");
  const ConnId b = s.login("bob");
  for (int i = 0; i < 19; ++i) s.say(a, "{");
  CHECK_FALSE(s.closed_with.count(a));
  s.say(a, "{");
  CHECK(s.closed_with[a] == kClosePolicy);
  CHECK_FALSE(s.closed_with.count(b));
}

TEST_CASE("A connection flooding messages is rate limited", "[hub][limits]") {
  Server s;
  const ConnId a = s.login("alice");
  for (int i = 0; i < 200; ++i) s.say(a, msg::CallMedia{"none", false, false, false});
  s.inbox[a].clear();
  s.say(a, msg::CallMedia{"none", false, false, false});
  CHECK(s.last_error(a).code == ErrorCode::rate_limited);
  s.wait(1'000);  // 50 more per second
  s.inbox[a].clear();
  s.say(a, msg::CallMedia{"none", false, false, false});
  CHECK(s.last_error(a).code == ErrorCode::not_found);
}

TEST_CASE("Starting calls too fast is rate limited per user", "[hub][limits]") {
  Server s;
  const ConnId a = s.login("alice");
  for (int i = 0; i < 5; ++i) {
    s.say(a, msg::CallInitiate{"c" + std::to_string(i), "bob", {}, CallType::audio, {}});
    s.say(a, msg::CallCancel{"c" + std::to_string(i), EndReason::cancelled});
  }
  s.inbox[a].clear();
  s.say(a, msg::CallInitiate{"c9", "bob", {}, CallType::audio, {}});
  CHECK(s.last_error(a).code == ErrorCode::rate_limited);
  CHECK(s.last_error(a).callId == "c9");
}

// ----- a call -------------------------------------------------------------------------------

TEST_CASE("call:initiate rings every device of the callee, stamped with who calls", "[hub][call]") {
  Server s;
  const ConnId a = s.login("alice");
  const ConnId b1 = s.login("bob");
  const ConnId b2 = s.login("bob");
  // A client's own "from" is never trusted.
  s.say(a, R"({"v":1,"type":"call:initiate","callId":"c1","to":"bob","callType":"video","from":"carol","fromName":"Carol"})");
  for (ConnId b : {b1, b2}) {
    auto ring = s.of<msg::CallInitiate>(b);
    REQUIRE(ring.size() == 1);
    CHECK(ring[0].callId == "c1");
    CHECK(ring[0].callType == CallType::video);
    CHECK(ring[0].fromName == "Name of alice");
    CHECK(s.senders<msg::CallInitiate>(b) == std::vector<std::string>{"alice"});
  }
  auto r = s.call("c1");
  CHECK(r.status == CallStatus::pending);
  CHECK(r.callerId == "alice");
  CHECK(r.receiverId == "bob");
  CHECK(r.type == CallType::video);
  CHECK(s.hub->presence("alice") == PresenceStatus::busy);
}

TEST_CASE("The caller hears call:ringing once however many devices ring", "[hub][call]") {
  Server s;
  const ConnId a = s.login("alice");
  const ConnId b1 = s.login("bob");
  const ConnId b2 = s.login("bob");
  s.say(a, msg::CallInitiate{"c1", "bob", {}, CallType::audio, {}});
  s.say(b1, msg::CallRinging{"c1"});
  s.say(b2, msg::CallRinging{"c1"});
  CHECK(s.of<msg::CallRinging>(a).size() == 1);
  CHECK(s.call("c1").status == CallStatus::ringing);
}

TEST_CASE("With one callee device the offer travels while it rings, and the answer comes back", "[hub][call][preconnect]") {
  Ringing s;
  s.say(s.a, msg::CallOffer{"c1", "bob", "v=0 offer"});
  s.say(s.a, msg::CallIceCandidate{"c1", "bob", {"candidate:1", "0", 0, {}}});
  REQUIRE(s.of<msg::CallOffer>(s.b).size() == 1);
  CHECK(s.of<msg::CallOffer>(s.b)[0].sdp == "v=0 offer");
  CHECK(s.of<msg::CallIceCandidate>(s.b).size() == 1);
  s.say(s.b, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  REQUIRE(s.of<msg::CallAnswer>(s.a).size() == 1);
  CHECK(s.senders<msg::CallAnswer>(s.a) == std::vector<std::string>{"bob"});
}

TEST_CASE("The device whose answer the caller took accepting needs no new negotiation", "[hub][call][preconnect]") {
  Ringing s;
  s.say(s.a, msg::CallOffer{"c1", "bob", "v=0 offer"});
  s.say(s.b, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  s.say(s.b, msg::CallAccept{"c1"});
  REQUIRE(s.of<msg::CallAccept>(s.a).size() == 1);
  CHECK_FALSE(s.of<msg::CallAccept>(s.a)[0].renegotiate);
}

TEST_CASE("Another device answering after the first negotiated while it rang tells the caller to negotiate again",
          "[hub][call][preconnect]") {
  Ringing s;
  s.say(s.a, msg::CallOffer{"c1", "bob", "v=0 offer"});
  s.say(s.b, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  const ConnId phone = s.login("bob", true);  // rung as it signs in
  REQUIRE(s.of<msg::CallInitiate>(phone).size() == 1);
  s.say(phone, msg::CallAccept{"c1"});
  REQUIRE(s.of<msg::CallAccept>(s.a).size() == 1);
  CHECK(s.of<msg::CallAccept>(s.a)[0].renegotiate);
  CHECK(s.of<msg::CallEnd>(s.b).at(0).reason == EndReason::answered_elsewhere);
}

TEST_CASE("A ringing page reloaded after its answer went to the caller tells the caller to negotiate again",
          "[hub][call][preconnect]") {
  Ringing s;
  s.say(s.a, msg::CallOffer{"c1", "bob", "v=0 offer"});
  s.say(s.b, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  s.drop(s.b);
  const ConnId reloaded = s.login("bob", true);
  REQUIRE(s.of<msg::CallOffer>(reloaded).size() == 1);
  s.say(reloaded, msg::CallAnswer{"c1", "alice", "v=0 second answer"});  // the caller drops it
  s.say(reloaded, msg::CallAccept{"c1"});
  REQUIRE(s.of<msg::CallAccept>(s.a).size() == 1);
  CHECK(s.of<msg::CallAccept>(s.a)[0].renegotiate);
}

TEST_CASE("With several callee devices the caller's offer waits for the one that answers", "[hub][call][preconnect]") {
  Server s;
  const ConnId a = s.login("alice");
  const ConnId b1 = s.login("bob");
  const ConnId b2 = s.login("bob");
  s.say(a, msg::CallInitiate{"c1", "bob", {}, CallType::video, {}});
  s.say(a, msg::CallOffer{"c1", "bob", "v=0 offer"});
  CHECK(s.of<msg::CallOffer>(b1).empty());
  CHECK(s.of<msg::CallOffer>(b2).empty());
  s.say(b2, msg::CallAnswer{"c1", "alice", "v=0 too early"});
  CHECK(s.last_error(b2).code == ErrorCode::invalid_state);
  s.say(b2, msg::CallAccept{"c1"});
  CHECK(s.of<msg::CallOffer>(b2).size() == 1);
  // The other device stops ringing.
  auto elsewhere = s.of<msg::CallEnd>(b1);
  REQUIRE(elsewhere.size() == 1);
  CHECK(elsewhere[0].reason == EndReason::answered_elsewhere);
  // ... and cannot take the call any more.
  s.say(b1, msg::CallAccept{"c1"});
  CHECK(s.last_error(b1).code == ErrorCode::invalid_state);
}

TEST_CASE("An accept makes the record active and tells the caller", "[hub][call]") {
  Talking s;
  CHECK(s.of<msg::CallAccept>(s.a).size() == 1);
  auto r = s.call("c1");
  CHECK(r.status == CallStatus::active);
  CHECK(r.startedAt == s.now);
  CHECK(s.hub->presence("bob") == PresenceStatus::busy);
}

TEST_CASE("Hanging up ends the record with its duration and frees both", "[hub][call]") {
  Talking s;
  s.now += 42'500;
  s.say(s.b, msg::CallEnd{"c1", EndReason::hangup});
  auto end = s.of<msg::CallEnd>(s.a);
  REQUIRE(end.size() == 1);
  CHECK(end[0].reason == EndReason::hangup);
  auto r = s.call("c1");
  CHECK(r.status == CallStatus::ended);
  CHECK(r.duration == 42);
  CHECK(s.hub->live_calls() == 0);
  CHECK(s.hub->presence("alice") == PresenceStatus::online);
  CHECK(s.metrics.render().find(R"(duet_calls_total{status="ended"} 1)") != std::string::npos);
}

TEST_CASE("Offers, answers and candidates in a call go only to the other participant", "[hub][call]") {
  Talking s;
  const ConnId c = s.login("carol");
  s.say(s.b, msg::CallOffer{"c1", "alice", "v=0 restart"});
  CHECK(s.of<msg::CallOffer>(s.a).size() == 1);
  CHECK(s.inbox[c].empty());
  s.say(s.a, msg::CallMedia{"c1", true, false, false});
  CHECK(s.of<msg::CallMedia>(s.b).at(0).audioMuted);
}

TEST_CASE("Declining tells the caller and records a rejected call", "[hub][call]") {
  Ringing s;
  s.say(s.b, msg::CallReject{"c1"});
  CHECK(s.of<msg::CallReject>(s.a).size() == 1);
  CHECK(s.call("c1").status == CallStatus::rejected);
  CHECK(s.hub->live_calls() == 0);
}

TEST_CASE("The caller cancelling stops the ringing and records a cancelled call", "[hub][call]") {
  Ringing s;
  s.say(s.a, msg::CallCancel{"c1", EndReason::cancelled});
  CHECK(s.of<msg::CallCancel>(s.b).size() == 1);
  CHECK(s.call("c1").status == CallStatus::cancelled);
}

TEST_CASE("Calling someone who is in another call gives busy, kept in history", "[hub][call]") {
  Talking s;
  const ConnId c = s.login("carol");
  s.say(c, msg::CallInitiate{"c2", "bob", {}, CallType::audio, {}});
  auto e = s.last_error(c);
  CHECK(e.code == ErrorCode::busy);
  CHECK(e.callId == "c2");
  CHECK(s.call("c2").status == CallStatus::busy);
  for (const auto& ring : s.of<msg::CallInitiate>(s.b)) CHECK(ring.callId != "c2");
}

TEST_CASE("An unanswered call becomes missed when the ring timeout passes, even with the caller gone", "[hub][call]") {
  Ringing s;
  s.drop(s.a);
  s.wait(29'000);
  CHECK(s.call("c1").status == CallStatus::ringing);
  s.wait(1'000);
  auto r = s.call("c1");
  CHECK(r.status == CallStatus::missed);
  CHECK(r.endReason == EndReason::timeout);
  CHECK(s.of<msg::CallEnd>(s.b).at(0).reason == EndReason::timeout);
  CHECK(s.hub->live_calls() == 0);
}

TEST_CASE("A callee who signs in while it rings is rung too", "[hub][call]") {
  Server s;
  const ConnId a = s.login("alice");
  s.say(a, msg::CallInitiate{"c1", "bob", {}, CallType::audio, {}});
  const ConnId b = s.connect();
  s.say(b, R"({"v":1,"type":"auth","token":"t:bob"})");
  CHECK(s.of<msg::CallInitiate>(b).size() == 1);
}

TEST_CASE("Two people calling each other at once both get through, so their phones can settle it", "[hub][glare]") {
  Server s;
  const ConnId a = s.login("alice");
  const ConnId b = s.login("bob");
  s.say(a, msg::CallInitiate{"a-call", "bob", {}, CallType::audio, {}});
  s.say(b, msg::CallInitiate{"b-call", "alice", {}, CallType::audio, {}});
  CHECK(s.of<msg::Error>(b).empty());
  CHECK(s.of<msg::CallInitiate>(a).size() == 1);
  // bob's phone keeps alice's call: it cancels its own and accepts.
  s.say(b, msg::CallCancel{"b-call", EndReason::glare});
  s.say(b, msg::CallAccept{"a-call"});
  CHECK(s.call("b-call").status == CallStatus::cancelled);
  CHECK(s.call("b-call").endReason == EndReason::glare);
  CHECK(s.call("a-call").status == CallStatus::active);
}

// ----- who may do what ----------------------------------------------------------------------

TEST_CASE("Only contacts, or people who share a group, can be called", "[hub][authorization]") {
  Server s;
  const ConnId a = s.login("alice");
  const ConnId d = s.login("dave");
  s.say(a, msg::CallInitiate{"c1", "dave", {}, CallType::audio, {}});
  CHECK(s.last_error(a).code == ErrorCode::forbidden);
  CHECK(s.of<msg::CallInitiate>(d).empty());
  CHECK(s.store->find_call("c1").error().code == ErrorCode::not_found);
  s.say(a, msg::CallInitiate{"c2", "nobody", {}, CallType::audio, {}});
  CHECK(s.last_error(a).code == ErrorCode::not_found);
  s.say(a, msg::CallInitiate{"c3", "alice", {}, CallType::audio, {}});
  CHECK(s.last_error(a).code == ErrorCode::bad_value);
}

TEST_CASE("A stranger can neither see nor touch someone else's call", "[hub][authorization]") {
  Ringing s;
  const ConnId c = s.login("carol");
  Body attempt = GENERATE(Body{msg::CallAccept{"c1"}}, Body{msg::CallReject{"c1"}}, Body{msg::CallEnd{"c1", EndReason::hangup}},
                          Body{msg::CallOffer{"c1", "alice", "v=0"}}, Body{msg::CallCancel{"c1", EndReason::cancelled}});
  s.say(c, attempt);
  CHECK(s.last_error(c).code == ErrorCode::not_found);  // the same as a call that does not exist
  CHECK(s.call("c1").status == CallStatus::ringing);
  CHECK(s.of<msg::Error>(s.a).empty());
}

TEST_CASE("The caller cannot answer their own call, nor the callee cancel it", "[hub][authorization]") {
  Ringing s;
  s.say(s.a, msg::CallAccept{"c1"});
  CHECK(s.last_error(s.a).code == ErrorCode::not_participant);
  s.say(s.b, msg::CallCancel{"c1", EndReason::cancelled});
  CHECK(s.last_error(s.b).code == ErrorCode::not_participant);
  CHECK(s.call("c1").status == CallStatus::ringing);
}

TEST_CASE("A call id that is taken cannot be used again", "[hub][authorization]") {
  Ringing s;
  s.say(s.a, msg::CallCancel{"c1", EndReason::cancelled});
  s.say(s.a, msg::CallInitiate{"c1", "bob", {}, CallType::audio, {}});
  CHECK(s.last_error(s.a).code == ErrorCode::conflict);
}

TEST_CASE("Acting on a call that is over says so", "[hub][call]") {
  Ringing s;
  s.say(s.b, msg::CallReject{"c1"});
  s.say(s.b, msg::CallAccept{"c1"});
  auto e = s.last_error(s.b);
  CHECK(e.code == ErrorCode::invalid_state);
  CHECK(e.message == "the call is over (rejected)");
}

// ----- dropping out -------------------------------------------------------------------------

TEST_CASE("A participant who drops and comes back within the grace period gets what they missed", "[hub][reconnect]") {
  Talking s;
  s.drop(s.a);
  s.say(s.b, msg::CallOffer{"c1", "alice", "v=0 ice restart"});
  s.wait(10'000);
  const ConnId back = s.login("alice", true);
  auto offers = s.of<msg::CallOffer>(back);
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].sdp == "v=0 ice restart");
  s.wait(30'000);
  CHECK(s.call("c1").status == CallStatus::active);
  s.say(back, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.call("c1").status == CallStatus::ended);
}

TEST_CASE("A participant gone past the grace period ends the call as connection lost", "[hub][reconnect]") {
  Talking s;
  s.drop(s.a);
  s.wait(19'999);
  CHECK(s.call("c1").status == CallStatus::active);
  s.wait(1);
  auto r = s.call("c1");
  CHECK(r.status == CallStatus::ended);
  CHECK(r.endReason == EndReason::connection_lost);
  CHECK(r.duration == 20);
  CHECK(s.of<msg::CallEnd>(s.b).back().reason == EndReason::connection_lost);
}

// alice (device "tab-a") and bob talk; alice's socket then dies without the server noticing.
struct TalkingFromATab : Server {
  ConnId a, b;
  TalkingFromATab() {
    a = login_as("alice", "tab-a");
    b = login("bob");
    say(a, msg::CallInitiate{"c1", "bob", {}, CallType::video, {}});
    say(b, msg::CallRinging{"c1"});
    now += 4'000;
    say(b, msg::CallAccept{"c1"});
  }
};

TEST_CASE("A client signing in again from the same device takes over the call its silent old socket held",
          "[hub][reconnect]") {
  TalkingFromATab s;
  s.now += 3'000;
  const ConnId back = s.login_as("alice", "tab-a");
  CHECK(s.closed_with[s.a] == kCloseReplaced);
  s.say(s.b, msg::CallOffer{"c1", "alice", "v=0 ice restart"});
  auto offers = s.of<msg::CallOffer>(back);
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].sdp == "v=0 ice restart");
  s.now += 5'000;
  s.say(back, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.of<msg::Error>(back).empty());
  CHECK(s.of<msg::CallEnd>(s.b).size() == 1);
  auto r = s.call("c1");
  CHECK(r.status == CallStatus::ended);
  CHECK(r.duration == 8);
}

TEST_CASE("A new sign-in from another device leaves the device holding the call alone", "[hub][reconnect]") {
  TalkingFromATab s;
  const ConnId other = s.login_as("alice", "phone");
  CHECK_FALSE(s.closed_with.count(s.a));
  s.say(other, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.last_error(other).code == ErrorCode::invalid_state);
  CHECK(s.call("c1").status == CallStatus::active);
  const ConnId unnamed = s.login("alice");
  CHECK_FALSE(s.closed_with.count(s.a));
  s.say(s.a, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.call("c1").status == CallStatus::ended);
  CHECK(s.of<msg::Error>(unnamed).empty());
}

TEST_CASE("Replacing a device's socket does not flicker its presence for contacts", "[hub][presence]") {
  Server s;
  s.login_as("alice", "tab-a");
  const ConnId b = s.login("bob");
  s.login_as("alice", "tab-a");
  CHECK(s.of<msg::Presence>(b).empty());
}

TEST_CASE("The last connection going offline is announced to contacts", "[hub][presence]") {
  Server s;
  const ConnId a1 = s.login("alice");
  const ConnId a2 = s.login("alice");
  const ConnId b = s.login("bob");
  s.drop(a1);
  CHECK(s.of<msg::Presence>(b).empty());
  s.drop(a2);
  auto p = s.of<msg::Presence>(b);
  REQUIRE(p.size() == 1);
  CHECK(p[0].status == PresenceStatus::offline);
}

TEST_CASE("Shutting down tells every connection the server is going away", "[hub]") {
  Server s;
  const ConnId a = s.login("alice");
  const ConnId quiet = s.connect();
  s.take(s.hub->drain());
  CHECK(s.closed_with[a] == kCloseGoingAway);
  CHECK(s.closed_with[quiet] == kCloseGoingAway);
}

TEST_CASE("A participant who comes back after the call ended meanwhile is told how it ended", "[hub][reconnect]") {
  Talking s;
  s.drop(s.a);
  s.say(s.b, msg::CallEnd{"c1", EndReason::hangup});
  s.wait(1'000);
  const ConnId back = s.login("alice", true);
  auto end = s.of<msg::CallEnd>(back);
  REQUIRE(end.size() == 1);
  CHECK(end[0].reason == EndReason::hangup);
}

TEST_CASE("What an ended call said is not kept past the grace period", "[hub][reconnect]") {
  Talking s;
  s.drop(s.a);
  s.say(s.b, msg::CallEnd{"c1", EndReason::hangup});
  s.wait(21'000);
  const ConnId back = s.login("alice", true);
  CHECK(s.of<msg::CallEnd>(back).empty());
}

TEST_CASE("A ringing device that reloads gets the caller's offer again", "[hub][preconnect]") {
  Ringing s;
  s.say(s.a, msg::CallOffer{"c1", "bob", "v=0 offer"});
  REQUIRE(s.of<msg::CallOffer>(s.b).size() == 1);
  s.drop(s.b);
  const ConnId again = s.login("bob", true);
  CHECK(s.of<msg::CallInitiate>(again).size() == 1);
  REQUIRE(s.of<msg::CallOffer>(again).size() == 1);
  s.say(again, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  CHECK(s.of<msg::CallAnswer>(s.a).size() == 1);
}

TEST_CASE("A call answered over HTTP is negotiated from the callee's socket", "[hub][rest]") {
  Ringing s;
  Actions out;
  REQUIRE(s.hub->act_on_call("bob", "c1", LedgerAction::accept, s.now, out));
  s.take(std::move(out));
  s.say(s.b, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  CHECK(s.of<msg::Error>(s.b).empty());
  CHECK(s.of<msg::CallAnswer>(s.a).size() == 1);
}

TEST_CASE("A callee who answered over HTTP and then lost every socket loses the call after the grace", "[hub][rest]") {
  Ringing s;
  Actions out;
  REQUIRE(s.hub->act_on_call("bob", "c1", LedgerAction::accept, s.now, out));
  s.take(std::move(out));
  s.drop(s.b);
  s.wait(20'000);
  CHECK(s.call("c1").status == CallStatus::ended);
  CHECK(s.call("c1").endReason == EndReason::connection_lost);
}
