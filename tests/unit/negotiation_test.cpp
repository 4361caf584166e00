// Perfect negotiation for one peer, as the shell will see it.
#include <catch2/catch.hpp>

#include "duet/negotiation.hpp"

using namespace duet;
using Kind = NegotiationStep::Kind;

namespace {

std::vector<Kind> kinds(const std::vector<NegotiationStep>& steps) {
  std::vector<Kind> out;
  for (const auto& s : steps) out.push_back(s.kind);
  return out;
}

IceCandidate candidate(int n) {
  return IceCandidate{"candidate:" + std::to_string(n) + " 1 udp 1 127.0.0.1 5000 typ host", "0", 0, {}};
}

// A negotiator whose own offer has gone out and is outstanding.
Negotiation offering(bool polite) {
  Negotiation n(polite);
  n.on_negotiation_needed();
  n.on_signaling_state(SignalingState::have_local_offer);
  n.on_local_description(SdpType::offer, "v=0 mine");
  return n;
}

}  // namespace

TEST_CASE("The user id that sorts last is polite, so both sides agree on the roles", "[negotiation]") {
  CHECK(is_polite("bob", "alice"));
  CHECK_FALSE(is_polite("alice", "bob"));
  CHECK(is_polite("user-10", "user-1"));
  CHECK(is_polite("b", "alice") != is_polite("alice", "b"));
}

TEST_CASE("Negotiation needed makes an offer, and the finished offer is sent", "[negotiation]") {
  Negotiation n(false);
  CHECK(kinds(n.on_negotiation_needed()) == std::vector<Kind>{Kind::make_offer});
  CHECK(n.making_offer());
  auto sent = n.on_local_description(SdpType::offer, "v=0 mine");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].kind == Kind::send_offer);
  CHECK(sent[0].sdp == "v=0 mine");
  CHECK_FALSE(n.making_offer());
}

TEST_CASE("An offer in the stable state is applied, then answered, and the answer is sent", "[negotiation]") {
  Negotiation n(false);
  auto apply = n.on_remote_description(SdpType::offer, "v=0 theirs");
  REQUIRE(apply.size() == 1);
  CHECK(apply[0].kind == Kind::apply_remote_description);
  CHECK(apply[0].sdp_type == SdpType::offer);
  CHECK(apply[0].sdp == "v=0 theirs");
  n.on_signaling_state(SignalingState::have_remote_offer);
  CHECK(kinds(n.on_remote_description_applied(SdpType::offer)) == std::vector<Kind>{Kind::make_answer});
  auto sent = n.on_local_description(SdpType::answer, "v=0 answer");
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].kind == Kind::send_answer);
  CHECK(sent[0].sdp_type == SdpType::answer);
}

TEST_CASE("The impolite side ignores a colliding offer but still hands its candidates to the browser", "[negotiation][glare]") {
  auto n = offering(false);
  n.on_remote_description(SdpType::offer, "v=0 first");  // a remote description is in place
  n.on_remote_description_applied(SdpType::offer);
  n.on_signaling_state(SignalingState::stable);
  n.on_negotiation_needed();
  n.on_signaling_state(SignalingState::have_local_offer);
  n.on_local_description(SdpType::offer, "v=0 mine");
  CHECK(n.on_remote_description(SdpType::offer, "v=0 theirs").empty());
  CHECK(n.ignoring_offer());
  // As in the W3C pattern: the browser refuses the candidates that do not fit.
  CHECK(kinds(n.on_remote_candidate(candidate(1))) == std::vector<Kind>{Kind::add_remote_candidate});
  // Its own offer is then answered as usual, and that ends the ignoring.
  CHECK(kinds(n.on_remote_description(SdpType::answer, "v=0 answer")) ==
        std::vector<Kind>{Kind::apply_remote_description});
  CHECK_FALSE(n.ignoring_offer());
}

TEST_CASE("Candidates that follow an answer are added after a collision was ignored", "[negotiation][glare]") {
  auto n = offering(false);
  n.on_remote_description(SdpType::offer, "v=0 theirs");  // ignored: our offer is outstanding
  n.on_remote_description(SdpType::answer, "v=0 answer");
  n.on_remote_description_applied(SdpType::answer);
  n.on_signaling_state(SignalingState::stable);
  auto steps = n.on_remote_candidate(candidate(9));
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].candidate == candidate(9));
}

TEST_CASE("The impolite side also ignores an offer that arrives while its own is being made", "[negotiation][glare]") {
  Negotiation n(false);
  n.on_negotiation_needed();  // setLocalDescription in flight, signaling still stable
  CHECK(n.on_remote_description(SdpType::offer, "v=0 theirs").empty());
  CHECK(n.ignoring_offer());
}

TEST_CASE("The polite side yields to a colliding offer: it applies it and answers", "[negotiation][glare]") {
  auto n = offering(true);
  auto apply = n.on_remote_description(SdpType::offer, "v=0 theirs");
  CHECK(kinds(apply) == std::vector<Kind>{Kind::apply_remote_description});
  CHECK_FALSE(n.ignoring_offer());
  n.on_signaling_state(SignalingState::have_remote_offer);
  CHECK(kinds(n.on_remote_description_applied(SdpType::offer)) == std::vector<Kind>{Kind::make_answer});
}

TEST_CASE("An offer that arrives while our answered offer is being settled is not a collision", "[negotiation][glare]") {
  auto n = offering(false);
  n.on_remote_description(SdpType::answer, "v=0 answer");  // applying, signaling not yet stable
  auto apply = n.on_remote_description(SdpType::offer, "v=0 next");
  CHECK(kinds(apply) == std::vector<Kind>{Kind::apply_remote_description});
}

TEST_CASE("An answer is applied only while an offer of ours is outstanding", "[negotiation]") {
  Negotiation n(true);
  CHECK(n.on_remote_description(SdpType::answer, "v=0 stray").empty());
  auto m = offering(true);
  CHECK(kinds(m.on_remote_description(SdpType::answer, "v=0 answer")) ==
        std::vector<Kind>{Kind::apply_remote_description});
}

TEST_CASE("Candidates that arrive before the remote description are held, then added in order after it", "[negotiation][ice]") {
  Negotiation n(true);
  CHECK(n.on_remote_candidate(candidate(1)).empty());
  n.on_remote_description(SdpType::offer, "v=0 theirs");
  CHECK(n.on_remote_candidate(candidate(2)).empty());  // the description is still being applied
  CHECK(n.queued_candidates() == 2);
  auto steps = n.on_remote_description_applied(SdpType::offer);
  REQUIRE(steps.size() == 3);
  CHECK(steps[0].kind == Kind::make_answer);
  CHECK(steps[1].kind == Kind::add_remote_candidate);
  CHECK(steps[1].candidate == candidate(1));
  CHECK(steps[2].candidate == candidate(2));
  CHECK(n.queued_candidates() == 0);
  // Once the description is in place, candidates go straight through.
  auto direct = n.on_remote_candidate(candidate(3));
  REQUIRE(direct.size() == 1);
  CHECK(direct[0].candidate == candidate(3));
}

TEST_CASE("Candidates during a renegotiation wait for the new description", "[negotiation][ice]") {
  Negotiation n(true);
  n.on_remote_description(SdpType::offer, "v=0 first");
  n.on_remote_description_applied(SdpType::offer);
  n.on_signaling_state(SignalingState::stable);
  n.on_remote_description(SdpType::offer, "v=0 ice restart");
  CHECK(n.on_remote_candidate(candidate(7)).empty());
  auto steps = n.on_remote_description_applied(SdpType::offer);
  CHECK(kinds(steps) == std::vector<Kind>{Kind::make_answer, Kind::add_remote_candidate});
}

TEST_CASE("Held candidates are capped, so a flooding peer cannot grow memory without bound", "[negotiation][ice][limits]") {
  Negotiation n(true);
  for (std::size_t i = 0; i < kMaxPendingCandidates + 50; ++i) n.on_remote_candidate(candidate(static_cast<int>(i)));
  CHECK(n.queued_candidates() == kMaxPendingCandidates);
}

TEST_CASE("A failed operation clears what was in flight, so the next offer is not seen as a collision", "[negotiation]") {
  Negotiation n(false);
  n.on_negotiation_needed();
  n.on_operation_failed();
  CHECK_FALSE(n.making_offer());
  CHECK(kinds(n.on_remote_description(SdpType::offer, "v=0 theirs")) ==
        std::vector<Kind>{Kind::apply_remote_description});
}

TEST_CASE("A closed connection negotiates nothing", "[negotiation]") {
  Negotiation n(true);
  n.on_signaling_state(SignalingState::closed);
  CHECK(n.on_negotiation_needed().empty());
  CHECK(n.on_remote_description(SdpType::offer, "v=0").empty());
  CHECK(n.on_remote_candidate(candidate(1)).empty());
}
