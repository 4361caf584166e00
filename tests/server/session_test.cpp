// Resuming after a drop: a device (auth with `device`) that comes back over a new socket says
// how many frames it has received; the server sends again the ones it missed and says how many
// it read, so neither side loses what was in flight when a socket died (docs/protocol.md,
// "Resuming after a drop").
#include <catch2/catch.hpp>

#include "hub_world.hpp"

using namespace duet;
using namespace duet::server;

namespace {

struct Server : test::HubWorld {
  explicit Server(HubConfig config = {}) : HubWorld({"alice", "bob", "carol"}) {
    boot(config);
    befriend("alice", "bob");
    befriend("alice", "carol");
  }

  // A device signing in again and asking to resume after `received` frames; keeps all it is sent.
  ConnId resume(const std::string& user, const std::string& device, std::uint64_t received) {
    const ConnId c = connect();
    say(c, R"({"v":1,"type":"auth","token":"t:)" + user + R"(","device":")" + device + R"(","received":)" +
               std::to_string(received) + "}");
    REQUIRE(of<msg::AuthOk>(c).size() == 1);
    return c;
  }
  // What a device counts as received on a connection: every frame after auth:ok.
  std::uint64_t got(ConnId c) {
    std::uint64_t n = 0;
    for (const auto& m : inbox[c]) n += std::holds_alternative<msg::AuthOk>(m.body) ? 0 : 1;
    return n;
  }
  std::optional<std::uint64_t> resumed_from(ConnId c) { return of<msg::AuthOk>(c).at(0).received; }
  // The types of what a connection was sent, in order.
  std::vector<std::string> types(ConnId c) {
    std::vector<std::string> names;
    for (const auto& m : inbox[c]) names.emplace_back(type_name(m.body));
    return names;
  }
};

// alice (device "tab-a") and bob talk: alice sent call:initiate, then bob accepted.
struct Talking : Server {
  ConnId a, b;
  explicit Talking(HubConfig config = {}) : Server(config) {
    a = login_as("alice", "tab-a", true);
    b = login("bob");
    say(a, msg::CallInitiate{"c1", "bob", {}, CallType::video, {}});
    say(b, msg::CallRinging{"c1"});
    now += 4'000;
    say(b, msg::CallAccept{"c1"});
  }
};

}  // namespace

TEST_CASE("A device that resumes in place of its silently dead socket gets again, in order, what it never got",
          "[hub][resume]") {
  Talking s;
  // What alice's page got before its socket died: presence, call:ringing, call:accept.
  const auto got = s.got(s.a);
  s.say(s.b, msg::CallMedia{"c1", true, false, false});
  s.say(s.b, msg::CallOffer{"c1", "alice", "v=0 ice restart"});  // lost in the dead socket
  const ConnId back = s.resume("alice", "tab-a", got);
  CHECK(s.closed_with[s.a] == kCloseReplaced);
  CHECK(s.resumed_from(back) == 1u);  // the server read one frame from alice: her call:initiate
  const auto types = s.types(back);
  REQUIRE(types.size() >= 3);
  CHECK(std::vector<std::string>(types.begin(), types.begin() + 3) ==
        std::vector<std::string>{"auth:ok", "call:media", "call:offer"});
  CHECK(s.of<msg::CallOffer>(back).size() == 1);
  CHECK(s.of<msg::CallMedia>(back).size() == 1);
}

TEST_CASE("A device that resumes goes on with its calls over the new socket", "[hub][resume]") {
  Talking s;
  const ConnId back = s.resume("alice", "tab-a", s.got(s.a));
  s.say(s.b, msg::CallIceCandidate{"c1", "alice", {"candidate:1 1 udp 1 10.0.0.2 9 typ host", "0", 0, {}}});
  CHECK(s.of<msg::CallIceCandidate>(back).size() == 1);
  s.now += 6'000;
  s.say(back, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.of<msg::Error>(back).empty());
  CHECK(s.of<msg::CallEnd>(s.b).size() == 1);
  CHECK(s.call("c1").status == CallStatus::ended);
  CHECK(s.call("c1").duration == 6);
}

TEST_CASE("A hang-up sent while the other side's socket was silently dead reaches it when it resumes",
          "[hub][resume]") {
  Talking s;
  const auto got = s.got(s.a);
  s.now += 2'000;
  s.say(s.b, msg::CallEnd{"c1", EndReason::hangup});
  REQUIRE(s.call("c1").status == CallStatus::ended);
  const ConnId back = s.resume("alice", "tab-a", got);
  auto end = s.of<msg::CallEnd>(back);
  REQUIRE(end.size() == 1);
  CHECK(end[0].reason == EndReason::hangup);
}

TEST_CASE("The server's count covers every frame it read from the device, refused ones too", "[hub][resume]") {
  Talking s;
  s.say(s.a, msg::CallMedia{"c1", true, false, false});
  s.say(s.a, "not json");
  s.say(s.a, msg::CallAccept{"c-nobody-knows"});
  REQUIRE(s.of<msg::Error>(s.a).size() == 2);
  const ConnId back = s.resume("alice", "tab-a", s.got(s.a));
  CHECK(s.resumed_from(back) == 4u);
  // And the count goes on over the new socket.
  s.say(back, msg::CallMedia{"c1", false, false, false});
  const ConnId again = s.resume("alice", "tab-a", s.got(s.a) + s.got(back));
  CHECK(s.resumed_from(again) == 5u);
}

TEST_CASE("A device that resumes after the server noticed its drop gets what was lost, then what waited for it",
          "[hub][resume]") {
  Talking s;
  const auto got = s.got(s.a);
  s.say(s.b, msg::CallOffer{"c1", "alice", "v=0 ice restart"});  // written to a socket already dead
  s.drop(s.a);                                                    // ... which the server now notices
  s.say(s.b, msg::CallIceCandidate{"c1", "alice", {"candidate:1 1 udp 1 10.0.0.2 9 typ host", "0", 0, {}}});
  s.now += 3'000;
  const ConnId back = s.resume("alice", "tab-a", got);
  CHECK(s.resumed_from(back) == 1u);
  std::vector<std::string> about_the_call;
  for (const auto& type : s.types(back)) {
    if (type.rfind("call:", 0) == 0) about_the_call.push_back(type);
  }
  CHECK(about_the_call == std::vector<std::string>{"call:offer", "call:ice-candidate"});
}

namespace {
// alice calls bob, whose one device "tab-b" rings and gets her offer while it rings.
struct RingingTab : Server {
  ConnId a, b;
  RingingTab() {
    a = login("alice");
    b = login_as("bob", "tab-b", true);
    say(a, msg::CallInitiate{"c1", "bob", {}, CallType::video, {}});
    say(b, msg::CallRinging{"c1"});
    say(a, msg::CallOffer{"c1", "bob", "v=0 offer"});
  }
};
}  // namespace

TEST_CASE("A ringing device that resumes in place of its silent socket is not rung again and negotiates on",
          "[hub][resume]") {
  RingingTab s;
  const ConnId a = s.a, b = s.b;
  const auto got = s.got(b);  // the ring, alice's busy presence and the offer
  s.say(a, msg::CallIceCandidate{"c1", "bob", {"candidate:1 1 udp 1 10.0.0.1 9 typ host", "0", 0, {}}});
  const ConnId back = s.resume("bob", "tab-b", got);
  CHECK(s.types(back) == std::vector<std::string>{"auth:ok", "call:ice-candidate", "presence"});
  s.say(back, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  CHECK(s.of<msg::Error>(back).empty());
  CHECK(s.of<msg::CallAnswer>(a).size() == 1);
  s.say(back, msg::CallAccept{"c1"});
  CHECK(s.call("c1").status == CallStatus::active);
}

TEST_CASE("A ringing device that answered the offer, then resumed, accepts with no new negotiation",
          "[hub][resume][preconnect]") {
  RingingTab s;
  const ConnId a = s.a, b = s.b;
  s.say(b, msg::CallAnswer{"c1", "alice", "v=0 answer"});
  const ConnId back = s.resume("bob", "tab-b", s.got(b));
  s.say(back, msg::CallAccept{"c1"});
  REQUIRE(s.of<msg::CallAccept>(a).size() == 1);
  CHECK_FALSE(s.of<msg::CallAccept>(a)[0].renegotiate);
}

TEST_CASE("Resuming from before the frames the server still keeps starts a new session instead", "[hub][resume]") {
  HubConfig config;
  config.resume_frames = 2;
  Talking s(config);
  const auto got = s.got(s.a);
  for (bool muted : {true, false, true}) s.say(s.b, msg::CallMedia{"c1", muted, false, false});
  const ConnId back = s.resume("alice", "tab-a", got);
  CHECK_FALSE(s.resumed_from(back).has_value());
  CHECK(s.of<msg::CallMedia>(back).empty());
  // Not resumed is today's reconnect: the call waits for this socket and goes on over it.
  s.say(back, msg::CallEnd{"c1", EndReason::hangup});
  CHECK(s.of<msg::Error>(back).empty());
  CHECK(s.call("c1").status == CallStatus::ended);
}

TEST_CASE("Frames older than the resume window are not kept", "[hub][resume]") {
  HubConfig config;
  config.resume_window_ms = 10'000;
  SECTION("when newer frames follow") {
    Talking s(config);
    const auto got = s.got(s.a);
    s.say(s.b, msg::CallMedia{"c1", true, false, false});
    s.now += 11'000;
    s.say(s.b, msg::CallMedia{"c1", false, false, false});
    CHECK_FALSE(s.resumed_from(s.resume("alice", "tab-a", got)).has_value());
  }
  SECTION("and when nothing followed them") {
    Talking s(config);
    const auto got = s.got(s.a);
    s.say(s.b, msg::CallMedia{"c1", true, false, false});
    s.now += 11'000;
    const ConnId back = s.resume("alice", "tab-a", got);
    CHECK_FALSE(s.resumed_from(back).has_value());
    CHECK(s.of<msg::CallMedia>(back).empty());
  }
}

TEST_CASE("Frames kept for a resume are bounded in bytes as well as in number", "[hub][resume]") {
  HubConfig config;
  config.resume_bytes = 40 * 1024;
  Talking s(config);
  const auto got = s.got(s.a);
  const std::string big_sdp = "v=0\r\n" + std::string(30 * 1024, 'a');
  s.say(s.b, msg::CallOffer{"c1", "alice", big_sdp});
  s.say(s.b, msg::CallOffer{"c1", "alice", big_sdp});  // the first no longer fits beside it
  CHECK_FALSE(s.resumed_from(s.resume("alice", "tab-a", got)).has_value());
  // One such frame fits: missed alone, it is sent again.
  const ConnId again = s.login_as("alice", "tab-a", true);
  s.say(s.b, msg::CallOffer{"c1", "alice", big_sdp});
  const ConnId back = s.resume("alice", "tab-a", s.got(again) - 1);
  CHECK(s.resumed_from(back) == 0u);
  CHECK(s.of<msg::CallOffer>(back).size() == 1);
}

TEST_CASE("A device that claims more frames than it was sent starts a new session", "[hub][resume]") {
  Talking s;
  const ConnId back = s.resume("alice", "tab-a", s.got(s.a) + 1);
  CHECK_FALSE(s.resumed_from(back).has_value());
}

TEST_CASE("A session is kept for the reconnect grace after its last socket closed, and no longer",
          "[hub][resume]") {
  Server s;
  const ConnId a = s.login_as("alice", "tab-a", true);
  const ConnId b = s.login("bob");
  s.drop(b);  // alice hears bob come and go
  s.drop(a);
  s.wait(19'000);
  const ConnId within = s.resume("alice", "tab-a", s.got(a));
  CHECK(s.resumed_from(within) == 0u);
  const auto got = s.got(a) + s.got(within);
  s.drop(within);
  s.wait(20'000);
  CHECK_FALSE(s.resumed_from(s.resume("alice", "tab-a", got)).has_value());
}

TEST_CASE("Resumes are counted in the metrics by result", "[hub][resume][metrics]") {
  Talking s;
  s.resume("alice", "tab-a", s.got(s.a));
  s.resume("alice", "tab-a", 1'000);
  const std::string text = s.metrics.render();
  CHECK(text.find(R"(duet_session_resumes_total{result="resumed"} 1)") != std::string::npos);
  CHECK(text.find(R"(duet_session_resumes_total{result="new_session"} 1)") != std::string::npos);
}

TEST_CASE("A client that names no device has nothing to resume", "[hub][resume]") {
  Server s;
  const ConnId a = s.login("alice");
  s.drop(a);
  const ConnId c = s.connect();
  s.say(c, R"({"v":1,"type":"auth","token":"t:alice","received":0})");
  REQUIRE(s.of<msg::AuthOk>(c).size() == 1);
  CHECK_FALSE(s.resumed_from(c).has_value());
}

TEST_CASE("Another user cannot resume a device's session by naming it", "[hub][resume]") {
  Talking s;
  const ConnId c = s.resume("carol", "tab-a", 0);
  CHECK_FALSE(s.resumed_from(c).has_value());
  CHECK(s.of<msg::CallEnd>(c).empty());
  CHECK_FALSE(s.closed_with.count(s.a));
}
