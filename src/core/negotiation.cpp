// Perfect negotiation, as the W3C WebRTC spec's example lays it out, with the awaits of that
// example turned into the events the shell reports back.
#include "duet/negotiation.hpp"

namespace duet {

std::string_view to_string(SdpType type) {
  switch (type) {
    case SdpType::offer: return "offer";
    case SdpType::answer: return "answer";
  }
  return "offer";
}

bool is_polite(std::string_view self_id, std::string_view peer_id) { return self_id > peer_id; }

using Kind = NegotiationStep::Kind;

namespace {
NegotiationStep step(Kind kind, SdpType type = SdpType::offer, std::string sdp = {},
                     IceCandidate candidate = {}) {
  return NegotiationStep{kind, type, std::move(sdp), std::move(candidate)};
}
}  // namespace

std::vector<NegotiationStep> Negotiation::on_negotiation_needed() {
  if (signaling_ == SignalingState::closed) return {};
  making_offer_ = true;
  return {step(Kind::make_offer)};
}

std::vector<NegotiationStep> Negotiation::on_local_description(SdpType type, std::string sdp) {
  if (type == SdpType::offer) {
    making_offer_ = false;
    return {step(Kind::send_offer, SdpType::offer, std::move(sdp))};
  }
  return {step(Kind::send_answer, SdpType::answer, std::move(sdp))};
}

std::vector<NegotiationStep> Negotiation::on_remote_description(SdpType type, std::string sdp) {
  if (signaling_ == SignalingState::closed) return {};
  if (type == SdpType::offer) {
    // We can take an offer when we are not in the middle of making our own, or when our
    // offer has already been answered and that answer is being applied.
    const bool ready = !making_offer_ &&
                       (signaling_ == SignalingState::stable || applying_answer_);
    ignore_offer_ = !polite_ && !ready;
    if (ignore_offer_) return {};
    // The polite side's pending offer (if any) is rolled back by setRemoteDescription itself.
    making_offer_ = false;
  } else {
    // An answer is never a collision: whatever offer we ignored is over.
    ignore_offer_ = false;
    // An answer only fits an offer of ours that is outstanding.
    if (signaling_ != SignalingState::have_local_offer) return {};
    applying_answer_ = true;
  }
  applying_remote_ = true;
  return {step(Kind::apply_remote_description, type, std::move(sdp))};
}

std::vector<NegotiationStep> Negotiation::on_remote_description_applied(SdpType type) {
  applying_remote_ = false;
  remote_description_ = true;
  if (type == SdpType::answer) {
    applying_answer_ = false;
  } else {
    ignore_offer_ = false;
  }
  std::vector<NegotiationStep> steps;
  if (type == SdpType::offer) steps.push_back(step(Kind::make_answer, SdpType::answer));
  for (auto& candidate : pending_) {
    steps.push_back(step(Kind::add_remote_candidate, SdpType::offer, {}, std::move(candidate)));
  }
  pending_.clear();
  return steps;
}

std::vector<NegotiationStep> Negotiation::on_remote_candidate(IceCandidate candidate) {
  // While an offer is ignored its candidates still go to the browser, as in the W3C pattern:
  // we cannot tell them from candidates of the session we keep, and the browser refuses the
  // ones that do not fit (a failure the caller of this unit ignores while ignoring_offer()).
  if (signaling_ == SignalingState::closed) return {};
  if (!remote_description_ || applying_remote_) {
    if (pending_.size() < kMaxPendingCandidates) pending_.push_back(std::move(candidate));
    return {};
  }
  return {step(Kind::add_remote_candidate, SdpType::offer, {}, std::move(candidate))};
}

void Negotiation::on_operation_failed() {
  making_offer_ = false;
  applying_answer_ = false;
  applying_remote_ = false;
}

}  // namespace duet
