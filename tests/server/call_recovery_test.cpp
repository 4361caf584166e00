// A restarted server takes over the calls its last run left open (Hub::restore): the calls
// are in the store as the last run left them, a new hub starts, and the phones sign in again.
#include <catch2/catch.hpp>

#include "hub_world.hpp"

using namespace duet;
using namespace duet::server;

namespace {

using test::T0;
constexpr Millis kAnswered = T0 + 4'000;
constexpr Millis kRestart = T0 + 60'000;  // the new run starts
const HubConfig kConfig{};                // ring 30 s, reconnect grace 20 s

// The store as the last run left it, and a new run's hub over it.
struct Restarted : test::HubWorld {
  Restarted() : HubWorld({"alice", "bob", "carol"}) {
    befriend("alice", "bob");
    befriend("bob", "carol");
    now = kRestart;
  }
  // alice called bob ("c1") in the last run; `answered` says whether bob took it.
  void left_open(bool answered, Millis created = T0) {
    auto r = open_call("c1", "alice", "bob", "", CallType::video, created).value();
    r = apply(r, LedgerAction::ring, "bob", created + 1'000).value();
    if (answered) r = apply(r, LedgerAction::accept, "bob", kAnswered).value();
    REQUIRE(store->insert_call(r));
  }
  void start(Millis at = kRestart) {
    now = at;
    boot(kConfig);
    hub->restore(store->unfinished_calls().value(), now);
  }
  // A phone signing in again after the restart: what it is sent on the way is what counts.
  ConnId login(const std::string& user) { return HubWorld::login(user, true); }
  CallRecord call() { return HubWorld::call("c1"); }
};

}  // namespace

TEST_CASE("A restored active call goes on when both come back: relay, hang-up, and a duration from its first answer",
          "[server][recovery]") {
  Restarted s;
  s.left_open(true);
  s.start();
  CHECK(s.hub->live_calls() == 1);
  CHECK(s.metrics.gauge("duet_active_calls", "").value() == 1);
  CHECK(s.call().status == CallStatus::active);

  s.wait(3'000);
  const ConnId a = s.login("alice");
  s.wait(2'000);
  const ConnId b = s.login("bob");
  CHECK(s.of<msg::Error>(a).empty());
  CHECK(s.of<msg::Error>(b).empty());

  // An ICE restart over the new sockets reaches the other side.
  s.say(a, msg::CallOffer{"c1", "bob", "v=0 restart"});
  REQUIRE(s.of<msg::CallOffer>(b).size() == 1);
  CHECK(s.inbox[b].back().from == "alice");
  s.say(b, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  CHECK(s.of<msg::CallAnswer>(a).size() == 1);

  // Past the grace the call is still on: both are back.
  s.wait(kConfig.reconnect_grace_ms + 10'000);
  REQUIRE(s.call().status == CallStatus::active);

  s.say(a, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.of<msg::Error>(a).empty());
  REQUIRE(s.of<msg::CallEnd>(b).size() == 1);
  CHECK(s.of<msg::CallEnd>(b)[0].reason == EndReason::hangup);
  const CallRecord r = s.call();
  CHECK(r.status == CallStatus::ended);
  CHECK(r.endReason == EndReason::hangup);
  CHECK(r.startedAt == kAnswered);
  CHECK(r.duration == (s.now - kAnswered) / 1000);
  CHECK(s.hub->live_calls() == 0);
}

TEST_CASE("A hang-up while the other side of a restored call is not back yet reaches them when they sign in",
          "[server][recovery]") {
  Restarted s;
  s.left_open(true);
  s.start();
  const ConnId a = s.login("alice");
  s.say(a, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.of<msg::Error>(a).empty());
  CHECK(s.call().status == CallStatus::ended);

  s.wait(5'000);
  const ConnId b = s.login("bob");
  REQUIRE(s.of<msg::CallEnd>(b).size() == 1);
  CHECK(s.of<msg::CallEnd>(b)[0].reason == EndReason::hangup);
}

TEST_CASE("A restored active call that nobody rejoins ends as connection_lost after the reconnect grace",
          "[server][recovery]") {
  Restarted s;
  s.left_open(true);
  s.start();
  s.wait(kConfig.reconnect_grace_ms - 250);
  CHECK(s.call().status == CallStatus::active);
  s.wait(250);
  const CallRecord r = s.call();
  CHECK(is_final(r.status));
  CHECK(r.endReason == EndReason::connection_lost);
  CHECK(r.endedAt == kRestart + kConfig.reconnect_grace_ms);
  CHECK(s.hub->live_calls() == 0);
  CHECK(s.metrics.gauge("duet_active_calls", "").value() == 0);
  CHECK(s.hub->presence("alice") == PresenceStatus::offline);
}

TEST_CASE("A restored active call that only one side rejoins ends as connection_lost for that side after the grace",
          "[server][recovery]") {
  Restarted s;
  s.left_open(true);
  s.start();
  s.wait(1'000);
  const ConnId b = s.login("bob");
  s.wait(kConfig.reconnect_grace_ms - 1'000);
  REQUIRE(s.of<msg::CallEnd>(b).size() == 1);
  CHECK(s.of<msg::CallEnd>(b)[0].reason == EndReason::connection_lost);
  CHECK(s.call().endReason == EndReason::connection_lost);
  CHECK(s.hub->presence("bob") == PresenceStatus::online);
}

TEST_CASE("A restored ringing call rings the callee on sign-in and is missed at its original deadline",
          "[server][recovery]") {
  Restarted s;
  s.left_open(false);
  s.start(T0 + 10'000);
  const ConnId a = s.login("alice");
  const ConnId b = s.login("bob");
  REQUIRE(s.of<msg::CallInitiate>(b).size() == 1);
  const auto ring = s.of<msg::CallInitiate>(b)[0];
  CHECK(ring.callId == "c1");
  CHECK(ring.callType == CallType::video);
  CHECK(ring.fromName == "Name of alice");
  CHECK(s.inbox[b].back().from == "alice");

  // The caller heard call:ringing in the last run: the new ring does not say it again.
  s.say(b, msg::CallRinging{"c1"});
  CHECK(s.of<msg::CallRinging>(a).empty());

  s.wait(T0 + kConfig.ring_timeout_ms - 1 - s.now);
  CHECK(s.call().status == CallStatus::ringing);
  s.wait(1);
  const CallRecord r = s.call();
  CHECK(r.status == CallStatus::missed);
  CHECK(r.endedAt == T0 + kConfig.ring_timeout_ms);
  REQUIRE(s.of<msg::CallEnd>(a).size() == 1);
  CHECK(s.of<msg::CallEnd>(a)[0].reason == EndReason::timeout);
  REQUIRE(s.of<msg::CallEnd>(b).size() == 1);
  CHECK(s.of<msg::CallEnd>(b)[0].reason == EndReason::timeout);
  CHECK(s.hub->live_calls() == 0);
}

TEST_CASE("A restored ringing call answered before the caller is back tells the caller on their return",
          "[server][recovery]") {
  Restarted s;
  s.left_open(false);
  s.start(T0 + 10'000);
  const ConnId b = s.login("bob");
  s.say(b, msg::CallAccept{"c1"});
  CHECK(s.of<msg::Error>(b).empty());
  CHECK(s.call().status == CallStatus::active);

  s.wait(2'000);
  const ConnId a = s.login("alice");
  CHECK(s.of<msg::CallAccept>(a).size() == 1);
  s.say(a, msg::CallEnd{"c1", EndReason::hangup});
  REQUIRE(s.of<msg::CallEnd>(b).size() == 1);
  CHECK(s.call().status == CallStatus::ended);
  CHECK(s.call().duration == 2);
}

TEST_CASE("A restored ringing call whose deadline passed while the server was down is missed at the first tick",
          "[server][recovery]") {
  Restarted s;
  s.left_open(false);
  s.start(T0 + kConfig.ring_timeout_ms + 5'000);
  s.wait(250);
  CHECK(s.call().status == CallStatus::missed);
  CHECK(s.hub->live_calls() == 0);
}

TEST_CASE("A participant back in a restored call is busy to their contacts, and online once it ends",
          "[server][recovery]") {
  Restarted s;
  s.left_open(true);
  s.start();
  const ConnId c = s.login("carol");
  CHECK(s.hub->presence("bob") == PresenceStatus::offline);
  const ConnId b = s.login("bob");
  CHECK(s.hub->presence("bob") == PresenceStatus::busy);
  REQUIRE_FALSE(s.of<msg::Presence>(c).empty());
  CHECK(s.of<msg::Presence>(c).back() == msg::Presence{"bob", PresenceStatus::busy});

  // Busy for a new call too, as in any call.
  s.say(c, msg::CallInitiate{"c2", "bob", {}, CallType::audio, {}});
  REQUIRE_FALSE(s.of<msg::Error>(c).empty());
  CHECK(s.of<msg::Error>(c).back().code == ErrorCode::busy);

  s.say(b, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.hub->presence("bob") == PresenceStatus::online);
  CHECK(s.of<msg::Presence>(c).back() == msg::Presence{"bob", PresenceStatus::online});
}
