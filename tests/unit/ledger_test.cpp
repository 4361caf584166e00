// The call record: what history shows and what the server stores.
#include <catch2/catch.hpp>

#include "duet/ledger.hpp"

using namespace duet;

namespace {

constexpr Millis T0 = 1'700'000'000'000;

CallRecord one_to_one(CallType type = CallType::video) {
  auto r = open_call("c1", "alice", "bob", "", type, T0);
  REQUIRE(r.has_value());
  return *r;
}

CallRecord step(const CallRecord& r, LedgerAction a, std::string_view actor, Millis at,
                std::optional<EndReason> reason = std::nullopt) {
  auto next = apply(r, a, actor, at, reason);
  INFO(to_string(a) << " by '" << actor << "': " << (next ? "" : next.error().message));
  REQUIRE(next.has_value());
  return *next;
}

CallRecord answered() {
  auto r = step(one_to_one(), LedgerAction::ring, "bob", T0 + 200);
  return step(r, LedgerAction::accept, "bob", T0 + 5'000);
}

}  // namespace

TEST_CASE("A new call record is pending, with the seed's fields", "[ledger]") {
  auto r = one_to_one(CallType::audio);
  CHECK(r.id == "c1");
  CHECK(r.callerId == "alice");
  CHECK(r.receiverId == "bob");
  CHECK(r.groupId.empty());
  CHECK(r.type == CallType::audio);
  CHECK(r.status == CallStatus::pending);
  CHECK(r.createdAt == T0);
  CHECK_FALSE(r.startedAt);
  CHECK_FALSE(r.endedAt);
  CHECK_FALSE(r.duration);
}

TEST_CASE("A call record needs valid ids and exactly one of a receiver and a group", "[ledger]") {
  auto [id, caller, receiver, group] = GENERATE(table<std::string, std::string, std::string, std::string>({
      {"", "alice", "bob", ""},
      {"c 1", "alice", "bob", ""},
      {"c1", "", "bob", ""},
      {"c1", "alice", "", ""},
      {"c1", "alice", "bob", "g1"},
      {"c1", "alice", "bo b", ""},
      {"c1", "alice", "", "g/1"},
      {"c1", "alice", "alice", ""},
  }));
  auto r = open_call(id, caller, receiver, group, CallType::audio, T0);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::bad_value);
  CHECK_FALSE(r.error().message.empty());
}

TEST_CASE("An answered call that is hung up ends with its duration in whole seconds", "[ledger]") {
  auto r = step(answered(), LedgerAction::end, "alice", T0 + 5'000 + 65'999);
  CHECK(r.status == CallStatus::ended);
  CHECK(r.startedAt == T0 + 5'000);
  CHECK(r.endedAt == T0 + 70'999);
  CHECK(r.duration == 65);
  CHECK(r.endReason == EndReason::hangup);
}

TEST_CASE("Either participant may hang up an answered call", "[ledger]") {
  auto who = GENERATE(as<std::string>{}, "alice", "bob");
  CHECK(step(answered(), LedgerAction::end, who, T0 + 9'000).status == CallStatus::ended);
}

TEST_CASE("Ringing may be reported by each of the callee's devices", "[ledger]") {
  auto r = step(one_to_one(), LedgerAction::ring, "bob", T0 + 100);
  CHECK(r.status == CallStatus::ringing);
  CHECK(step(r, LedgerAction::ring, "bob", T0 + 150).status == CallStatus::ringing);
}

TEST_CASE("Each unanswered ending has its own status and reason, and no duration", "[ledger]") {
  using Row = std::tuple<LedgerAction, std::string, CallStatus, EndReason>;
  auto [action, actor, status, reason] = GENERATE(table<LedgerAction, std::string, CallStatus, EndReason>({
      Row{LedgerAction::reject, "bob", CallStatus::rejected, EndReason::rejected},
      Row{LedgerAction::busy, "bob", CallStatus::busy, EndReason::busy},
      Row{LedgerAction::busy, "", CallStatus::busy, EndReason::busy},
      Row{LedgerAction::cancel, "alice", CallStatus::cancelled, EndReason::cancelled},
      Row{LedgerAction::timeout, "", CallStatus::missed, EndReason::timeout},
      Row{LedgerAction::fail, "bob", CallStatus::failed, EndReason::failed},
      Row{LedgerAction::end, "alice", CallStatus::cancelled, EndReason::cancelled},
      Row{LedgerAction::end, "bob", CallStatus::rejected, EndReason::rejected},
  }));
  auto ringing = step(one_to_one(), LedgerAction::ring, "bob", T0 + 100);
  auto r = step(ringing, action, actor, T0 + 8'000);
  CHECK(r.status == status);
  CHECK(r.endReason == reason);
  CHECK(r.endedAt == T0 + 8'000);
  CHECK_FALSE(r.startedAt);
  CHECK_FALSE(r.duration);
  CHECK(is_final(r.status));
}

TEST_CASE("A cancel keeps the caller's reason, such as glare", "[ledger]") {
  auto r = step(one_to_one(), LedgerAction::cancel, "alice", T0 + 10, EndReason::glare);
  CHECK(r.status == CallStatus::cancelled);
  CHECK(r.endReason == EndReason::glare);
}

TEST_CASE("An answered call that breaks still ends with its duration", "[ledger]") {
  auto r = step(answered(), LedgerAction::fail, "", T0 + 35'000);
  CHECK(r.status == CallStatus::ended);
  CHECK(r.endReason == EndReason::connection_lost);
  CHECK(r.duration == 30);
}

TEST_CASE("An answered call whose peers never connected is failed, with no talk time", "[ledger]") {
  auto r = step(answered(), LedgerAction::fail, "alice", T0 + 35'000, EndReason::failed);
  CHECK(r.status == CallStatus::failed);
  CHECK(r.endReason == EndReason::failed);
  CHECK(r.startedAt == answered().startedAt);
  CHECK(r.endedAt == T0 + 35'000);
  CHECK(r.duration == 0);
}

TEST_CASE("Someone outside the call can change nothing", "[ledger][authorization]") {
  auto action = GENERATE(LedgerAction::ring, LedgerAction::accept, LedgerAction::reject, LedgerAction::busy,
                         LedgerAction::cancel, LedgerAction::timeout, LedgerAction::end, LedgerAction::fail);
  auto r = apply(one_to_one(), action, "mallory", T0 + 10);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::not_participant);
}

TEST_CASE("Each side may only take its own actions", "[ledger][authorization]") {
  using Row = std::tuple<LedgerAction, std::string>;
  auto [action, actor] = GENERATE(table<LedgerAction, std::string>({
      Row{LedgerAction::accept, "alice"},  // the caller cannot answer their own call
      Row{LedgerAction::reject, "alice"},
      Row{LedgerAction::ring, "alice"},
      Row{LedgerAction::busy, "alice"},
      Row{LedgerAction::cancel, "bob"},    // the callee declines, it does not cancel
      Row{LedgerAction::timeout, "alice"}, // only the server's clock decides a missed call
      Row{LedgerAction::timeout, "bob"},
      Row{LedgerAction::accept, ""},       // the server never answers for a person
  }));
  auto r = apply(one_to_one(), action, actor, T0 + 10);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::not_participant);
}

TEST_CASE("A call that has ended accepts no further change", "[ledger]") {
  const int which = GENERATE(0, 1, 2);
  const CallRecord record = which == 0   ? step(answered(), LedgerAction::end, "alice", T0 + 9'000)
                            : which == 1 ? step(one_to_one(), LedgerAction::reject, "bob", T0 + 9'000)
                                         : step(one_to_one(), LedgerAction::timeout, "", T0 + 30'000);
  auto action = GENERATE(LedgerAction::ring, LedgerAction::accept, LedgerAction::reject, LedgerAction::busy,
                         LedgerAction::cancel, LedgerAction::timeout, LedgerAction::end, LedgerAction::fail);
  const auto actor = action == LedgerAction::timeout ? std::string() :
                     action == LedgerAction::cancel ? std::string("alice") : std::string("bob");
  auto r = apply(record, action, actor, T0 + 99'000);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::invalid_state);
}

TEST_CASE("A call can be answered only once", "[ledger]") {
  auto r = apply(answered(), LedgerAction::accept, "bob", T0 + 6'000);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::invalid_state);
  CHECK(r.error().message == "cannot accept a call that is active");
}

TEST_CASE("In a group call anyone but the caller speaks as a callee", "[ledger][group]") {
  auto g = open_call("g-call", "alice", "", "family", CallType::video, T0);
  REQUIRE(g.has_value());
  auto r = step(*g, LedgerAction::accept, "carol", T0 + 1'000);
  CHECK(r.status == CallStatus::active);
  CHECK(apply(*g, LedgerAction::accept, "alice", T0 + 1'000).error().code == ErrorCode::not_participant);
}

TEST_CASE("Statuses have stable names that read back", "[ledger]") {
  for (auto s : {CallStatus::pending, CallStatus::ringing, CallStatus::active, CallStatus::ended, CallStatus::missed,
                 CallStatus::rejected, CallStatus::busy, CallStatus::cancelled, CallStatus::failed}) {
    CallStatus back = CallStatus::pending;
    REQUIRE(parse_call_status(to_string(s), back));
    CHECK(back == s);
  }
  CallStatus unused = CallStatus::pending;
  CHECK_FALSE(parse_call_status("declined", unused));
  CHECK(to_string(CallStatus::missed) == "missed");
}

TEST_CASE("Each call-lifecycle message maps to one ledger step", "[ledger]") {
  using Step = LedgerStep;
  CHECK(ledger_step(msg::CallRinging{"c1"}) == Step{LedgerAction::ring, {}});
  CHECK(ledger_step(msg::CallAccept{"c1"}) == Step{LedgerAction::accept, {}});
  CHECK(ledger_step(msg::CallReject{"c1"}) == Step{LedgerAction::reject, {}});
  CHECK(ledger_step(msg::CallBusy{"c1"}) == Step{LedgerAction::busy, {}});
  CHECK(ledger_step(msg::CallCancel{"c1", EndReason::cancelled}) == Step{LedgerAction::cancel, EndReason::cancelled});
  CHECK(ledger_step(msg::CallCancel{"c1", EndReason::glare}) == Step{LedgerAction::cancel, EndReason::glare});
  CHECK(ledger_step(msg::CallEnd{"c1", EndReason::hangup}) == Step{LedgerAction::end, EndReason::hangup});
}

TEST_CASE("A cancel for a timeout is the ring timeout, whoever's clock saw it first", "[ledger]") {
  CHECK(ledger_step(msg::CallCancel{"c1", EndReason::timeout}) == LedgerStep{LedgerAction::timeout, EndReason::timeout});
}

TEST_CASE("An end for a broken call is a failure, other ends are ends", "[ledger]") {
  for (auto reason : {EndReason::failed, EndReason::media_unavailable, EndReason::connection_lost}) {
    CHECK(ledger_step(msg::CallEnd{"c1", reason}) == LedgerStep{LedgerAction::fail, reason});
  }
  for (auto reason : {EndReason::hangup, EndReason::answered_elsewhere, EndReason::timeout}) {
    CHECK(ledger_step(msg::CallEnd{"c1", reason})->action == LedgerAction::end);
  }
}

TEST_CASE("Messages that carry media or negotiation change no record", "[ledger]") {
  CHECK_FALSE(ledger_step(msg::CallOffer{"c1", "", "v=0"}).has_value());
  CHECK_FALSE(ledger_step(msg::CallIceCandidate{}).has_value());
  CHECK_FALSE(ledger_step(msg::Auth{"token", {}, {}}).has_value());
}
