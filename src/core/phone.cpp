// The phone's transitions. Each event has one handler below, and each handler switches on
// the call state, so a row of the state diagram in docs/core.md is one case here.
#include "duet/phone.hpp"

#include <type_traits>
#include <utility>

namespace duet {

std::string_view to_string(CallState s) {
  switch (s) {
    case CallState::idle: return "idle";
    case CallState::outgoing: return "outgoing";
    case CallState::incoming: return "incoming";
    case CallState::connecting: return "connecting";
    case CallState::active: return "active";
    case CallState::ended: return "ended";
  }
  return "idle";
}

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::outgoing: return "outgoing";
    case Direction::incoming: return "incoming";
  }
  return "outgoing";
}

std::string_view to_string(Connection c) {
  switch (c) {
    case Connection::none: return "none";
    case Connection::connecting: return "connecting";
    case Connection::connected: return "connected";
    case Connection::reconnecting: return "reconnecting";
  }
  return "none";
}

std::string_view to_string(MediaProblem p) {
  switch (p) {
    case MediaProblem::none: return "none";
    case MediaProblem::denied: return "denied";
    case MediaProblem::not_found: return "not_found";
    case MediaProblem::in_use: return "in_use";
    case MediaProblem::other: return "other";
  }
  return "other";
}

std::string_view to_string(MediaKind k) {
  switch (k) {
    case MediaKind::audio: return "audio";
    case MediaKind::video: return "video";
  }
  return "audio";
}

std::string_view to_string(Tone t) {
  switch (t) {
    case Tone::none: return "none";
    case Tone::ringtone: return "ringtone";
    case Tone::ringback: return "ringback";
  }
  return "none";
}

std::string_view to_string(TimerKind t) {
  switch (t) {
    case TimerKind::ring: return "ring";
    case TimerKind::connect: return "connect";
    case TimerKind::ice_grace: return "ice_grace";
    case TimerKind::reconnect: return "reconnect";
  }
  return "ring";
}

std::string_view to_string(PeerState s) {
  switch (s) {
    case PeerState::new_: return "new";
    case PeerState::connecting: return "connecting";
    case PeerState::connected: return "connected";
    case PeerState::disconnected: return "disconnected";
    case PeerState::failed: return "failed";
    case PeerState::closed: return "closed";
  }
  return "new";
}

Phone::Phone(std::string self_id, PhoneConfig config)
    : self_(std::move(self_id)), config_(config) {}

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

bool in_call(CallState s) {
  switch (s) {
    case CallState::outgoing:
    case CallState::incoming:
    case CallState::connecting:
    case CallState::active:
      return true;
    case CallState::idle:
    case CallState::ended:
      return false;
  }
  return false;
}

EndReason reason_for_server_error(ErrorCode code) {
  return code == ErrorCode::busy ? EndReason::busy : EndReason::failed;
}

}  // namespace

// One Handler lives for one call of Phone::handle: it reads and changes the phone and
// collects the effects, in the order the shell must carry them out.
struct Phone::Handler {
  Phone& p;
  Millis now;
  Effects out;

  CallView& v() { return p.view_; }
  const CallView& v() const { return p.view_; }
  CallState state() const { return p.view_.state; }

  // ----- building blocks ------------------------------------------------------------------

  void send(Body body) { out.push_back(fx::Send{Message{std::move(body), {}}}); }
  void publish() { out.push_back(fx::Publish{p.view_}); }
  void refuse(ErrorCode code, std::string message) {
    out.push_back(fx::IntentRefused{Error{code, std::move(message)}});
  }
  void start_timer(TimerKind t, Millis after) {
    out.push_back(fx::StartTimer{t, v().callId, after});
  }
  void cancel_timer(TimerKind t) { out.push_back(fx::CancelTimer{t, v().callId}); }
  void tone(Tone t) { out.push_back(fx::PlayTone{t}); }

  void acquire_media(bool video) {
    p.media_requested_ = true;
    out.push_back(fx::AcquireMedia{true, video});
  }

  void open_peer(bool initiator) {
    p.negotiation_.emplace(is_polite(p.self_, v().peer));
    out.push_back(fx::OpenPeer{v().peer, p.negotiation_->polite(), initiator, v().callType});
  }

  // A fresh call: everything about the previous one is forgotten.
  void begin(std::string callId, std::string peer, std::string peerName, Direction dir,
             CallType type, CallState s) {
    p.view_ = CallView{};
    p.media_requested_ = p.media_ready_ = p.video_acquired_ = p.initiate_sent_ = false;
    p.accepted_ = p.transport_up_ = p.auto_accept_ = p.screen_requested_ = false;
    p.negotiation_.reset();
    p.held_.clear();
    v().state = s;
    v().callId = std::move(callId);
    v().peer = std::move(peer);
    v().peerName = std::move(peerName);
    v().direction = dir;
    v().callType = type;
    v().cameraOn = type == CallType::video;
  }

  // Leave the call: stop everything this call started, then show why it ended.
  void finish(EndReason reason) {
    if (v().ringing) tone(Tone::none);
    cancel_timer(TimerKind::ring);
    cancel_timer(TimerKind::connect);
    cancel_timer(TimerKind::ice_grace);
    cancel_timer(TimerKind::reconnect);
    if (p.screen_requested_) out.push_back(fx::ReleaseScreen{});
    if (p.negotiation_) out.push_back(fx::ClosePeer{v().peer});
    if (p.media_requested_) out.push_back(fx::ReleaseMedia{});
    p.negotiation_.reset();
    p.held_.clear();
    p.media_requested_ = p.media_ready_ = p.video_acquired_ = false;
    p.accepted_ = p.transport_up_ = p.auto_accept_ = p.screen_requested_ = false;
    v().screenSharing = v().remoteScreenShared = false;
    v().state = CallState::ended;
    v().ringing = false;
    v().connection = Connection::none;
    v().endedAt = now;
    v().endReason = reason;
    publish();
  }

  // The callee said yes, but its devices are still opening: call:accept has not gone out and
  // the caller still rings.
  bool answering() const { return state() == CallState::connecting && !p.accepted_; }

  // Hang up from our side with `reason`, telling the other side in the way the state needs.
  void hang_up(EndReason reason) {
    switch (state()) {
      case CallState::outgoing:
        if (p.initiate_sent_) send(msg::CallCancel{v().callId, reason});
        break;
      case CallState::incoming:
      case CallState::connecting:
      case CallState::active:
        if (reason == EndReason::rejected) {
          send(msg::CallReject{v().callId});
        } else {
          send(msg::CallEnd{v().callId, reason});
        }
        break;
      case CallState::idle:
      case CallState::ended:
        return;
    }
    finish(reason);
  }

  // Both sides have agreed; media flows on the tracks from now on.
  void start_talking() {
    p.accepted_ = true;
    v().ringing = false;
    // The peer takes the microphone, and in a video call the camera, to be on until told
    // otherwise; an answer without video or a mute while it rang must be told now, or the
    // other side waits for a picture that never comes.
    if (!v().microphoneOn || (v().callType == CallType::video && !v().cameraOn)) send_media_state();
    if (p.negotiation_) out.push_back(fx::AttachMedia{v().peer});
    if (p.transport_up_) {
      become_active();
    } else {
      v().state = CallState::connecting;
      v().connection = Connection::connecting;
      start_timer(TimerKind::connect, p.config_.connect_timeout_ms);
    }
  }

  void become_active() {
    v().state = CallState::active;
    v().connection = Connection::connected;
    v().startedAt = now;
    cancel_timer(TimerKind::connect);
  }

  // The callee's media is ready after an accept: tell the caller and start media.
  void complete_accept() {
    // The ring timer outlived the user's accept (see Accept); it stops only now.
    cancel_timer(TimerKind::ring);
    send(msg::CallAccept{v().callId});
    if (!p.negotiation_) {
      open_peer(false);
      replay_held();
    }
    start_talking();
  }

  void replay_held() {
    auto held = std::move(p.held_);
    p.held_.clear();
    for (auto& m : held) negotiate(m.body);
  }

  // ----- negotiation ----------------------------------------------------------------------

  void run(std::vector<NegotiationStep> steps) {
    using K = NegotiationStep::Kind;
    for (auto& s : steps) {
      switch (s.kind) {
        case K::make_offer: out.push_back(fx::MakeOffer{v().peer}); break;
        case K::make_answer: out.push_back(fx::MakeAnswer{v().peer}); break;
        case K::apply_remote_description:
          out.push_back(fx::ApplyRemoteDescription{v().peer, s.sdp_type, std::move(s.sdp)});
          break;
        case K::add_remote_candidate:
          out.push_back(fx::AddRemoteCandidate{v().peer, std::move(s.candidate)});
          break;
        case K::send_offer: send(msg::CallOffer{v().callId, v().peer, std::move(s.sdp)}); break;
        case K::send_answer: send(msg::CallAnswer{v().callId, v().peer, std::move(s.sdp)}); break;
      }
    }
  }

  // An offer, answer or candidate from the peer of the current call.
  void negotiate(const Body& body) {
    if (!p.negotiation_) {
      // Preconnect is off and the user has not accepted yet: keep it for the accept.
      if (state() == CallState::incoming && p.held_.size() < kMaxHeldMessages) {
        p.held_.push_back(Message{body, v().peer});
      }
      return;
    }
    auto& n = *p.negotiation_;
    if (auto* o = std::get_if<msg::CallOffer>(&body)) {
      run(n.on_remote_description(SdpType::offer, o->sdp));
    } else if (auto* a = std::get_if<msg::CallAnswer>(&body)) {
      run(n.on_remote_description(SdpType::answer, a->sdp));
    } else if (auto* c = std::get_if<msg::CallIceCandidate>(&body)) {
      run(n.on_remote_candidate(c->candidate));
    }
  }

  bool is_my_peer(const std::string& peer) const {
    return p.negotiation_.has_value() && peer == p.view_.peer;
  }

  // ----- user intents ---------------------------------------------------------------------

  // A refused intent's code says what the app can do about it: busy (this phone is in another
  // call), not_found (no call, or the ringing one is gone), invalid_state (the call is not at
  // a step where this makes sense), bad_value (it can never make sense for this call).
  void operator()(const ev::Dial& e) {
    if (in_call(state())) return refuse(ErrorCode::busy, "already in a call; hang up first");
    if (!is_valid_id(e.callId)) return refuse(ErrorCode::bad_value, "invalid call id");
    if (!is_valid_id(e.peer)) return refuse(ErrorCode::bad_value, "invalid user id to call");
    if (e.peer == p.self_) return refuse(ErrorCode::bad_value, "you cannot call yourself");
    begin(e.callId, e.peer, e.peerName, Direction::outgoing, e.callType, CallState::outgoing);
    acquire_media(e.callType == CallType::video);
    publish();
  }

  void operator()(const ev::Accept& e) {
    switch (state()) {
      case CallState::incoming: break;
      case CallState::idle:
      case CallState::ended: return refuse(ErrorCode::not_found, "there is no ringing call to accept");
      case CallState::outgoing:
      case CallState::connecting:
      case CallState::active: return refuse(ErrorCode::invalid_state, "this call is not ringing here");
    }
    if (e.audioOnly) v().cameraOn = false;
    v().ringing = false;
    // Connecting, but with no connection yet: the devices open first, and only then does
    // call:accept go out. The ring timer keeps running meanwhile: the caller still rings, and
    // if only the camera fails the call rings here again, where the same timeout must end it.
    v().state = CallState::connecting;
    v().mediaProblem = MediaProblem::none;
    tone(Tone::none);
    if (p.media_ready_) {
      complete_accept();
    } else {
      acquire_media(v().callType == CallType::video && !e.audioOnly);
    }
    publish();
  }

  void operator()(const ev::Reject&) {
    switch (state()) {
      case CallState::incoming: return hang_up(EndReason::rejected);
      case CallState::connecting:
        if (answering()) return hang_up(EndReason::rejected);
        return refuse(ErrorCode::invalid_state, "this call was answered already; hang up instead");
      case CallState::outgoing:
      case CallState::active: return refuse(ErrorCode::invalid_state, "this call is not ringing here");
      case CallState::idle:
      case CallState::ended: return refuse(ErrorCode::not_found, "there is no ringing call to decline");
    }
  }

  void operator()(const ev::HangUp&) {
    switch (state()) {
      case CallState::outgoing: return hang_up(EndReason::cancelled);
      case CallState::incoming: return hang_up(EndReason::rejected);
      case CallState::connecting: return hang_up(answering() ? EndReason::rejected : EndReason::hangup);
      case CallState::active: return hang_up(EndReason::hangup);
      case CallState::idle:
      case CallState::ended:
        return refuse(ErrorCode::not_found, "there is no call to hang up");
    }
  }

  // Unlike HangUp, never refused, and a call that rings here (or whose devices still open
  // after the accept) is not declined: the server rings the page again when it is back.
  void operator()(const ev::Leave&) {
    switch (state()) {
      case CallState::outgoing: return hang_up(EndReason::cancelled);
      case CallState::connecting: return answering() ? void() : hang_up(EndReason::hangup);
      case CallState::active: return hang_up(EndReason::hangup);
      case CallState::incoming:
      case CallState::idle:
      case CallState::ended:
        return;
    }
  }

  void send_media_state() {
    send(msg::CallMedia{v().callId, !v().microphoneOn, !v().cameraOn, v().screenSharing});
  }

  void set_track(MediaKind kind, bool on) {
    out.push_back(fx::SetTrackEnabled{kind, on});
    if (p.accepted_) send_media_state();  // before that, start_talking tells the peer
    publish();
  }

  void operator()(const ev::SetMicrophone& e) {
    if (!in_call(state())) return refuse(ErrorCode::not_found, "there is no call to mute");
    if (v().microphoneOn == e.on) return;
    v().microphoneOn = e.on;
    set_track(MediaKind::audio, e.on);
  }

  void operator()(const ev::SetCamera& e) {
    if (!in_call(state())) return refuse(ErrorCode::not_found, "there is no call to turn the camera on or off in");
    if (v().callType != CallType::video) {
      return refuse(ErrorCode::bad_value, "this is an audio call: it has no camera");
    }
    if (v().cameraOn == e.on) return;
    if (p.media_ready_ && e.on && !p.video_acquired_) {
      return refuse(ErrorCode::invalid_state, "the camera is not available in this call");
    }
    v().cameraOn = e.on;
    set_track(MediaKind::video, e.on);
  }

  // Once the call is connected; the screen goes out on the call's video transceiver, which an
  // audio call gains for it. A second request while the picker is open changes nothing.
  void operator()(const ev::ShareScreen& e) {
    if (!in_call(state())) return refuse(ErrorCode::not_found, "there is no call to share the screen in");
    if (state() != CallState::active) {
      return refuse(ErrorCode::invalid_state, "the screen can be shared once the call is connected");
    }
    if (!e.on) {
      if (p.screen_requested_) stop_screen();
      return;
    }
    if (p.screen_requested_) return;
    p.screen_requested_ = true;
    v().screenProblem = MediaProblem::none;
    out.push_back(fx::AcquireScreen{});
    publish();
  }

  void stop_screen() {
    const bool was_sharing = v().screenSharing;
    p.screen_requested_ = false;
    v().screenSharing = false;
    out.push_back(fx::ReleaseScreen{});
    if (was_sharing) send_media_state();
    publish();
  }

  // ----- media ----------------------------------------------------------------------------

  void operator()(const ev::MediaAcquired& e) {
    if (!p.media_requested_ || p.media_ready_) {
      // Media for a call that is already over: give the devices back at once.
      if (!in_call(state())) out.push_back(fx::ReleaseMedia{});
      return;
    }
    p.media_ready_ = true;
    p.video_acquired_ = e.video;
    if (!e.video) v().cameraOn = false;
    // The user may have muted while the devices were opening.
    if (!v().microphoneOn) out.push_back(fx::SetTrackEnabled{MediaKind::audio, false});
    if (e.video && !v().cameraOn) out.push_back(fx::SetTrackEnabled{MediaKind::video, false});
    switch (state()) {
      case CallState::outgoing:
        send(msg::CallInitiate{v().callId, v().peer, {}, v().callType, {}});
        p.initiate_sent_ = true;
        start_timer(TimerKind::ring, p.config_.ring_timeout_ms);
        open_peer(true);
        break;
      case CallState::incoming:
        if (!p.auto_accept_) return;
        v().state = CallState::connecting;
        complete_accept();
        break;
      case CallState::connecting:
        complete_accept();
        break;
      case CallState::active:
      case CallState::idle:
      case CallState::ended:
        return;
    }
    publish();
  }

  void operator()(const ev::MediaFailed& e) {
    if (!p.media_requested_ || p.media_ready_ || !in_call(state())) return;
    p.media_requested_ = false;
    v().mediaProblem = e.problem;
    v().mediaProblemKind = e.microphone ? MediaKind::audio : MediaKind::video;
    const bool only_camera = !e.microphone && e.camera;
    switch (state()) {
      case CallState::outgoing:
        // Nothing was sent yet: the callee never hears of this call.
        return finish(EndReason::media_unavailable);
      case CallState::connecting:
      case CallState::incoming:
        if (only_camera && v().callType == CallType::video) {
          // Still ringing for the caller: let the user answer without the camera, or decline.
          v().state = CallState::incoming;
          v().connection = Connection::none;
          v().cameraOn = false;
          p.auto_accept_ = false;
          return publish();
        }
        send(msg::CallEnd{v().callId, EndReason::media_unavailable});
        return finish(EndReason::media_unavailable);
      case CallState::active:
      case CallState::idle:
      case CallState::ended:
        return;
    }
  }

  void operator()(const ev::ScreenAcquired&) {
    if (v().screenSharing) return;
    if (!p.screen_requested_ || state() != CallState::active) {
      // Stopped while the picker was open, or the call is over: the screen goes straight back.
      out.push_back(fx::ReleaseScreen{});
      return;
    }
    v().screenSharing = true;
    out.push_back(fx::AttachScreen{v().peer});
    send_media_state();
    publish();
  }

  void operator()(const ev::ScreenFailed& e) {
    if (!p.screen_requested_ || v().screenSharing) return;
    p.screen_requested_ = false;
    v().screenProblem = e.problem == MediaProblem::none ? MediaProblem::other : e.problem;
    publish();
  }

  void operator()(const ev::ScreenEnded&) {
    if (v().screenSharing) stop_screen();
  }

  // ----- signaling ------------------------------------------------------------------------

  void operator()(const ev::Received& e) {
    const Message& m = e.message;
    std::visit([&](const auto& body) { received(body, m.from); }, m.body);
  }

  void received(const msg::CallInitiate& m, const std::string& from) {
    if (!is_valid_id(from) || from == p.self_ || !m.groupId.empty()) return;
    if (!in_call(state())) {
      begin(m.callId, from, m.fromName, Direction::incoming, m.callType, CallState::incoming);
      v().ringing = true;
      send(msg::CallRinging{m.callId});
      tone(Tone::ringtone);
      start_timer(TimerKind::ring, p.config_.ring_timeout_ms);
      if (p.config_.preconnect) open_peer(false);
      return publish();
    }
    if (m.callId == v().callId) return;  // a repeat of the call we already have
    if (state() == CallState::outgoing && from == v().peer && !p.accepted_) {
      return glare(m, from);
    }
    send(msg::CallBusy{m.callId});
  }

  // Both called each other. The call whose id sorts first survives on both sides; the
  // side whose own call lost cancels it and takes the other as if the user had accepted.
  void glare(const msg::CallInitiate& theirs, const std::string& from) {
    if (v().callId < theirs.callId) return;  // ours survives; they will cancel theirs
    if (p.initiate_sent_) send(msg::CallCancel{v().callId, EndReason::glare});
    cancel_timer(TimerKind::ring);
    if (p.negotiation_) out.push_back(fx::ClosePeer{v().peer});
    p.negotiation_.reset();
    p.initiate_sent_ = false;
    v().callId = theirs.callId;
    v().direction = Direction::incoming;
    v().peer = from;
    if (!theirs.fromName.empty()) v().peerName = theirs.fromName;
    // Answer with the devices the user already chose: a user who dialed audio does not
    // turn their camera on because the other side dialed video.
    const bool camera = p.media_ready_ ? p.video_acquired_ : v().callType == CallType::video;
    v().callType = theirs.callType;
    v().cameraOn = theirs.callType == CallType::video && camera;
    if (camera && theirs.callType == CallType::audio) {
      // The camera was opened (or is opening) for our video call, which lost; the audio call
      // that survived has no use for it, and a camera light left on would say otherwise. There
      // is no effect that closes the camera alone, so the devices are opened again without it.
      out.push_back(fx::ReleaseMedia{});
      p.media_ready_ = p.video_acquired_ = false;
      acquire_media(false);
    }
    if (p.media_ready_) {
      v().state = CallState::connecting;
      complete_accept();
    } else {
      v().state = CallState::incoming;  // accepted as soon as the devices are open
      p.auto_accept_ = true;
    }
    publish();
  }

  bool mine(std::string_view callId, const std::string& from) const {
    return in_call(state()) && callId == v().callId && from == v().peer;
  }

  void received(const msg::CallRinging& m, const std::string& from) {
    if (!mine(m.callId, from) || state() != CallState::outgoing || v().ringing) return;
    v().ringing = true;
    tone(Tone::ringback);
    publish();
  }

  void received(const msg::CallAccept& m, const std::string& from) {
    if (!mine(m.callId, from) || state() != CallState::outgoing) return;
    tone(Tone::none);
    cancel_timer(TimerKind::ring);
    start_talking();
    // The connection made while it rang leads to a device that did not answer: reach the one
    // that did now, rather than after the browser notices the old one is gone.
    if (m.renegotiate && p.negotiation_) out.push_back(fx::RestartIce{v().peer});
    publish();
  }

  void received(const msg::CallReject& m, const std::string& from) {
    if (!mine(m.callId, from) || state() != CallState::outgoing) return;
    finish(EndReason::rejected);
  }

  void received(const msg::CallBusy& m, const std::string& from) {
    if (!mine(m.callId, from) || state() != CallState::outgoing) return;
    finish(EndReason::busy);
  }

  void received(const msg::CallCancel& m, const std::string& from) {
    if (!mine(m.callId, from) || v().direction != Direction::incoming || p.accepted_) return;
    finish(m.reason);
  }

  void received(const msg::CallEnd& m, const std::string& from) {
    // The server speaks for the call too (a ring timeout, another device answered): its
    // messages come without a `from`.
    if (!in_call(state()) || m.callId != v().callId) return;
    if (!from.empty() && from != v().peer) return;
    finish(m.reason);
  }

  void received(const msg::CallMedia& m, const std::string& from) {
    if (!mine(m.callId, from)) return;
    v().remoteAudioMuted = m.audioMuted;
    v().remoteVideoMuted = m.videoMuted;
    v().remoteScreenShared = m.screenShared;
    publish();
  }

  void received(const msg::CallOffer& m, const std::string& from) {
    if (mine(m.callId, from)) negotiate(m);
  }
  void received(const msg::CallAnswer& m, const std::string& from) {
    if (mine(m.callId, from)) negotiate(m);
  }
  void received(const msg::CallIceCandidate& m, const std::string& from) {
    if (mine(m.callId, from)) negotiate(m);
  }

  void received(const msg::Error& m, const std::string&) {
    // The server refused something about our call (not a contact, rate limited, ...).
    if (!in_call(state()) || m.callId != v().callId) return;
    v().serverError = m.code;
    finish(reason_for_server_error(m.code));
  }

  // Messages about the connection, not the call.
  void received(const msg::Auth&, const std::string&) {}
  void received(const msg::AuthOk&, const std::string&) {}
  void received(const msg::Presence&, const std::string&) {}

  // ----- the peer connection --------------------------------------------------------------

  void operator()(const ev::NegotiationNeeded& e) {
    if (is_my_peer(e.peer)) run(p.negotiation_->on_negotiation_needed());
  }
  void operator()(const ev::LocalDescription& e) {
    if (is_my_peer(e.peer)) run(p.negotiation_->on_local_description(e.type, e.sdp));
  }
  void operator()(const ev::LocalCandidate& e) {
    if (is_my_peer(e.peer)) send(msg::CallIceCandidate{v().callId, v().peer, e.candidate});
  }
  void operator()(const ev::RemoteDescriptionApplied& e) {
    if (is_my_peer(e.peer)) run(p.negotiation_->on_remote_description_applied(e.type));
  }
  void operator()(const ev::SignalingChanged& e) {
    if (is_my_peer(e.peer)) p.negotiation_->on_signaling_state(e.state);
  }
  void operator()(const ev::PeerOperationFailed& e) {
    // A candidate the browser refuses (one of an ignored offer, or a stale one) leaves the
    // negotiation as it was. A failed description ends what was in flight; the connect and
    // reconnect timers end a call that cannot recover from it.
    if (!is_my_peer(e.peer) || e.operation == "addIceCandidate") return;
    p.negotiation_->on_operation_failed();
  }

  void operator()(const ev::PeerStateChanged& e) {
    if (!is_my_peer(e.peer)) return;
    switch (e.state) {
      case PeerState::connected: return connected();
      case PeerState::disconnected: return disconnected();
      case PeerState::failed: return failed();
      case PeerState::new_:
      case PeerState::connecting:
      case PeerState::closed:
        return;
    }
  }

  void connected() {
    p.transport_up_ = true;
    switch (state()) {
      case CallState::connecting:
        if (!p.accepted_) return;  // the callee's media is still on its way
        become_active();
        return publish();
      case CallState::active:
        if (v().connection != Connection::reconnecting) return;
        v().connection = Connection::connected;
        cancel_timer(TimerKind::ice_grace);
        cancel_timer(TimerKind::reconnect);
        return publish();
      case CallState::outgoing:
      case CallState::incoming:
      case CallState::idle:
      case CallState::ended:
        return;  // connected while it rings: the accept finds the path ready
    }
  }

  void disconnected() {
    p.transport_up_ = false;
    if (state() != CallState::active || v().connection == Connection::reconnecting) return;
    v().connection = Connection::reconnecting;
    start_timer(TimerKind::ice_grace, p.config_.ice_grace_ms);
    start_timer(TimerKind::reconnect, p.config_.reconnect_timeout_ms);
    publish();
  }

  void failed() {
    p.transport_up_ = false;
    switch (state()) {
      case CallState::connecting:
        if (!p.accepted_) return;
        hang_up(EndReason::failed);
        return;
      case CallState::active:
        // "failed" needs a new ICE session now; no point waiting out the grace period.
        if (v().connection != Connection::reconnecting) {
          v().connection = Connection::reconnecting;
          start_timer(TimerKind::reconnect, p.config_.reconnect_timeout_ms);
        }
        cancel_timer(TimerKind::ice_grace);
        out.push_back(fx::RestartIce{v().peer});
        return publish();
      case CallState::outgoing:
      case CallState::incoming:
      case CallState::idle:
      case CallState::ended:
        return;  // while it rings, the connect timer after the accept decides
    }
  }

  // ----- time -----------------------------------------------------------------------------

  void operator()(const ev::TimerFired& e) {
    if (!in_call(state()) || e.callId != v().callId) return;  // a timer of a call gone by
    switch (e.timer) {
      case TimerKind::ring:
        if (state() == CallState::outgoing) return hang_up(EndReason::timeout);
        // Unanswered here too: still ringing, or accepted by the user while the devices never
        // came (the caller's own ring timer gives up at the same time, so nothing is sent).
        if (state() == CallState::incoming || answering()) return finish(EndReason::timeout);
        return;
      case TimerKind::connect:
        if (state() == CallState::connecting) hang_up(EndReason::failed);
        return;
      case TimerKind::ice_grace:
        if (state() == CallState::active && v().connection == Connection::reconnecting) {
          out.push_back(fx::RestartIce{v().peer});
        }
        return;
      case TimerKind::reconnect:
        if (state() == CallState::active && v().connection == Connection::reconnecting) {
          hang_up(EndReason::connection_lost);
        }
        return;
    }
  }
};

Effects Phone::handle(const Event& event, Millis now) {
  Handler h{*this, now, {}};
  std::visit(h, event);
  return std::move(h.out);
}

}  // namespace duet
