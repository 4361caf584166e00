// The client's calling brain: one state machine per signed-in user that decides
// everything about their calls and does nothing itself. The shell feeds it Events
// (what the user did, what arrived over signaling, what the browser reported, which
// timer fired) with the current time, and executes the Effects it returns (send this
// message, open a peer connection, acquire the camera, start this timer, show this state).
// It holds at most one call; another call arriving meanwhile is answered busy. Because
// it has no I/O, clocks or randomness, every decision is tested natively and in wasm.
// docs/core.md draws the state diagram this follows.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "duet/negotiation.hpp"
#include "duet/protocol.hpp"

namespace duet {

using Millis = std::int64_t;  // milliseconds since the Unix epoch, as the shell's clock says

enum class CallState { idle, outgoing, incoming, connecting, active, ended };
enum class Direction { outgoing, incoming };
// How the media path looks while a call is being set up or held.
enum class Connection { none, connecting, connected, reconnecting };
enum class MediaProblem { none, denied, not_found, in_use, other };
enum class MediaKind { audio, video };
enum class Tone { none, ringtone, ringback };
enum class TimerKind { ring, connect, ice_grace, reconnect };
// RTCPeerConnection.connectionState, as the shell reports it.
enum class PeerState { new_, connecting, connected, disconnected, failed, closed };

std::string_view to_string(CallState);
std::string_view to_string(Direction);
std::string_view to_string(Connection);
std::string_view to_string(MediaProblem);
std::string_view to_string(MediaKind);
std::string_view to_string(Tone);
std::string_view to_string(TimerKind);
std::string_view to_string(PeerState);

struct PhoneConfig {
  Millis ring_timeout_ms = 30'000;      // unanswered for this long: a missed call
  Millis connect_timeout_ms = 30'000;   // accepted but no media path for this long: failed
  Millis ice_grace_ms = 2'000;          // disconnected this long: restart ICE (browsers rarely
                                        // reach "failed" on their own, see docs/core.md)
  Millis reconnect_timeout_ms = 30'000; // still disconnected after this long: the call is lost
  // Connect while it rings: the callee applies the caller's offer and answers before the user
  // accepts, so ICE and DTLS are done by the time they do. No media flows before the accept,
  // but the caller learns the callee's network candidates while it rings.
  bool preconnect = true;
};

// ----- Events: what happened -------------------------------------------------------------
namespace ev {
// User intents.
struct Dial { std::string callId; std::string peer; CallType callType = CallType::audio; std::string peerName; };
struct Accept { bool audioOnly = false; };  // audioOnly: answer a video call without the camera
struct Reject {};
struct HangUp {};                           // cancel, reject or end, whichever the state means
// The app is going away (a reload, the tab closed): the phone that comes back is new and idle
// and cannot return to a call, so one under way ends; one ringing here is left to ring again.
struct Leave {};
struct SetMicrophone { bool on = true; };
struct SetCamera { bool on = true; };
// Share the screen instead of the camera (in an audio call, in addition to the voice), or stop.
struct ShareScreen { bool on = true; };
// Signaling.
struct Received { Message message; };
// Media.
struct MediaAcquired { bool audio = false; bool video = false; };
struct MediaFailed { MediaProblem problem = MediaProblem::other; bool microphone = true; bool camera = false; };
// The screen picker: a screen was chosen, or not (denied is also the user closing the picker).
struct ScreenAcquired {};
struct ScreenFailed { MediaProblem problem = MediaProblem::other; };
// The shared screen's track ended by itself (the browser's own "stop sharing").
struct ScreenEnded {};
// The peer connection.
struct NegotiationNeeded { std::string peer; };
struct LocalDescription { std::string peer; SdpType type = SdpType::offer; std::string sdp; };
struct LocalCandidate { std::string peer; IceCandidate candidate; };
struct RemoteDescriptionApplied { std::string peer; SdpType type = SdpType::offer; };
struct SignalingChanged { std::string peer; SignalingState state = SignalingState::stable; };
struct PeerStateChanged { std::string peer; PeerState state = PeerState::new_; };
struct PeerOperationFailed { std::string peer; std::string operation; std::string message; };
// Time.
struct TimerFired { TimerKind timer = TimerKind::ring; std::string callId; };
}  // namespace ev

using Event = std::variant<ev::Dial, ev::Accept, ev::Reject, ev::HangUp, ev::Leave, ev::SetMicrophone, ev::SetCamera,
                           ev::ShareScreen, ev::Received, ev::MediaAcquired,
                           ev::MediaFailed, ev::ScreenAcquired, ev::ScreenFailed, ev::ScreenEnded, ev::NegotiationNeeded, ev::LocalDescription, ev::LocalCandidate,
                           ev::RemoteDescriptionApplied, ev::SignalingChanged, ev::PeerStateChanged,
                           ev::PeerOperationFailed, ev::TimerFired>;

// ----- What the UI shows ----------------------------------------------------------------
struct CallView {
  CallState state = CallState::idle;
  std::string callId;
  std::string peer;
  std::string peerName;
  Direction direction = Direction::outgoing;
  CallType callType = CallType::audio;
  Connection connection = Connection::none;
  bool ringing = false;                // the callee's device rings (either side's view)
  bool microphoneOn = true;
  bool cameraOn = false;
  bool remoteAudioMuted = false;
  bool remoteVideoMuted = false;
  bool screenSharing = false;          // this side sends its screen
  bool remoteScreenShared = false;     // the other side sends its screen
  MediaProblem screenProblem = MediaProblem::none;  // why the last try to share failed
  std::optional<Millis> startedAt;     // when media first connected
  std::optional<Millis> endedAt;
  std::optional<EndReason> endReason;  // set in the ended state
  MediaProblem mediaProblem = MediaProblem::none;  // why the camera or microphone failed
  MediaKind mediaProblemKind = MediaKind::audio;
  std::optional<ErrorCode> serverError;  // the server refused the call (forbidden, rate_limited, ...)

  friend bool operator==(const CallView&, const CallView&) = default;
};

// ----- Effects: what to do --------------------------------------------------------------
namespace fx {
struct Send { Message message; };
struct AcquireMedia { bool audio = true; bool video = false; };
struct ReleaseMedia {};
// Create the RTCPeerConnection for a peer. The initiator adds one sendrecv transceiver per
// kind (audio, and video for video calls) with no track; the other side gets its transceivers
// from the offer. No media flows until AttachMedia.
struct OpenPeer { std::string peer; bool polite = false; bool initiator = false; CallType callType = CallType::audio; };
struct ClosePeer { std::string peer; };
// From now on the local tracks go on the peer's transceivers (replaceTrack), on those there
// are and on any a later offer adds: the moment media starts to flow.
struct AttachMedia { std::string peer; };
struct MakeOffer { std::string peer; };
struct MakeAnswer { std::string peer; };
struct ApplyRemoteDescription { std::string peer; SdpType type = SdpType::offer; std::string sdp; };
struct AddRemoteCandidate { std::string peer; IceCandidate candidate; };
struct RestartIce { std::string peer; };
struct SetTrackEnabled { MediaKind kind = MediaKind::audio; bool enabled = true; };
// Ask the user for a screen to share (the browser's picker).
struct AcquireScreen {};
// The screen goes out instead of the camera, on the peer's video transceiver; a call without
// one (audio) gets one, and the negotiation that follows is the usual NegotiationNeeded.
struct AttachScreen { std::string peer; };
// Stop the screen; the camera (if any) goes back where the screen was.
struct ReleaseScreen {};
struct PlayTone { Tone tone = Tone::none; };
struct StartTimer { TimerKind timer = TimerKind::ring; std::string callId; Millis afterMs = 0; };
struct CancelTimer { TimerKind timer = TimerKind::ring; std::string callId; };
struct Publish { CallView view; };
// The intent cannot be carried out (dialing during a call, an invalid id); nothing changed.
struct IntentRefused { Error error; };
}  // namespace fx

using Effect = std::variant<fx::Send, fx::AcquireMedia, fx::ReleaseMedia, fx::OpenPeer, fx::ClosePeer,
                            fx::AttachMedia, fx::MakeOffer, fx::MakeAnswer, fx::ApplyRemoteDescription,
                            fx::AddRemoteCandidate, fx::RestartIce, fx::SetTrackEnabled, fx::AcquireScreen,
                            fx::AttachScreen, fx::ReleaseScreen, fx::PlayTone,
                            fx::StartTimer, fx::CancelTimer, fx::Publish, fx::IntentRefused>;
using Effects = std::vector<Effect>;

class Phone {
 public:
  Phone(std::string self_id, PhoneConfig config = {});

  // The one entry point: what happened, and when. Events that make no sense in the
  // current state (a late timer, a message about another call) change nothing and
  // return no effects.
  Effects handle(const Event& event, Millis now);

  const CallView& view() const { return view_; }
  const std::string& self() const { return self_; }

 private:
  struct Handler;
  friend struct Handler;

  std::string self_;
  PhoneConfig config_;
  CallView view_;
  // What exists for the current call besides what the view shows.
  bool media_requested_ = false;   // AcquireMedia went out; ReleaseMedia must follow
  bool media_ready_ = false;       // the shell reported the media acquired
  bool video_acquired_ = false;    // ... and it included a camera
  bool initiate_sent_ = false;     // the callee's side knows about this call
  bool accepted_ = false;          // both sides agreed to talk: media may flow
  bool transport_up_ = false;      // ICE and DTLS are connected right now
  bool auto_accept_ = false;       // glare: accept the surviving call once media is ready
  bool screen_requested_ = false;  // AcquireScreen went out; ReleaseScreen must follow
  std::optional<Negotiation> negotiation_;  // present while a peer connection is open
  std::vector<Message> held_;      // the caller's offer and candidates, kept until the accept
                                   // when preconnect is off
};

// Held negotiation messages per call, at most; a peer that sends more is misbehaving.
inline constexpr std::size_t kMaxHeldMessages = 256;

}  // namespace duet
