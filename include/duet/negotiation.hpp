// Perfect negotiation for one peer connection, decided in the core. The shell owns the
// RTCPeerConnection and reports what it does; this unit decides which description to
// make, apply or ignore, and holds remote ICE candidates until the remote description
// they belong to is in place. It follows the W3C "perfect negotiation" pattern: both
// sides may offer at any time, and when offers collide the polite side yields (rolls
// back and answers) while the impolite side ignores the other's offer. Roles come from
// the two user ids, so both sides agree without talking about it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "duet/protocol.hpp"

namespace duet {

enum class SdpType { offer, answer };
std::string_view to_string(SdpType);

// RTCSignalingState, as the shell reports it.
enum class SignalingState { stable, have_local_offer, have_remote_offer, closed };

// The side whose user id sorts after the other's (bytewise) is polite.
bool is_polite(std::string_view self_id, std::string_view peer_id);

// What the negotiator wants the shell to do next for this peer.
struct NegotiationStep {
  enum class Kind {
    make_offer,                // setLocalDescription() with an offer, report it
    make_answer,               // setLocalDescription() with an answer, report it
    apply_remote_description,  // setRemoteDescription(type, sdp), report when done
    add_remote_candidate,      // addIceCandidate(candidate)
    send_offer,                // signal our offer to the peer
    send_answer,               // signal our answer to the peer
  };
  Kind kind;
  SdpType sdp_type = SdpType::offer;
  std::string sdp;
  IceCandidate candidate;

  friend bool operator==(const NegotiationStep&, const NegotiationStep&) = default;
};

// Remote candidates held before their description, at most; later ones are dropped.
inline constexpr std::size_t kMaxPendingCandidates = 256;

class Negotiation {
 public:
  explicit Negotiation(bool polite) : polite_(polite) {}

  bool polite() const { return polite_; }
  bool making_offer() const { return making_offer_; }
  bool ignoring_offer() const { return ignore_offer_; }
  std::size_t queued_candidates() const { return pending_.size(); }

  // The browser asked for negotiation (tracks or transceivers changed, or ICE restart).
  std::vector<NegotiationStep> on_negotiation_needed();
  // The shell finished setLocalDescription(); send it to the peer.
  std::vector<NegotiationStep> on_local_description(SdpType type, std::string sdp);
  // The shell reports the connection's signaling state after every change.
  void on_signaling_state(SignalingState state) { signaling_ = state; }
  // A description arrived from the peer.
  std::vector<NegotiationStep> on_remote_description(SdpType type, std::string sdp);
  // The shell finished setRemoteDescription(); answer an offer and release held candidates.
  std::vector<NegotiationStep> on_remote_description_applied(SdpType type);
  // A candidate arrived from the peer.
  std::vector<NegotiationStep> on_remote_candidate(IceCandidate candidate);
  // setLocalDescription or setRemoteDescription failed; whatever was in flight is over.
  // (A failed addIceCandidate is not a negotiation failure and must not come here.)
  void on_operation_failed();

 private:
  bool polite_;
  bool making_offer_ = false;
  bool ignore_offer_ = false;
  bool applying_answer_ = false;      // isSettingRemoteAnswerPending
  bool remote_description_ = false;   // a remote description is in place
  bool applying_remote_ = false;      // setRemoteDescription in flight
  SignalingState signaling_ = SignalingState::stable;
  std::vector<IceCandidate> pending_;
};

}  // namespace duet
