// Test support for the phone: finders over effect lists, and a small deterministic world
// in which two phones talk through a relay that stamps `from` like the server does, and
// a fake shell answers their effects the way a browser would. It lets a test run a whole
// call, glare included, without a browser or a clock.
#pragma once

#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "duet/phone.hpp"

namespace duet::test {

template <class T>
std::vector<T> all_of(const Effects& effects) {
  std::vector<T> found;
  for (const auto& e : effects) {
    if (auto* t = std::get_if<T>(&e)) found.push_back(*t);
  }
  return found;
}

template <class T>
bool has(const Effects& effects) {
  return !all_of<T>(effects).empty();
}

// The bodies of type T among the messages the effects send.
template <class T>
std::vector<T> sent(const Effects& effects) {
  std::vector<T> found;
  for (const auto& s : all_of<fx::Send>(effects)) {
    if (auto* t = std::get_if<T>(&s.message.body)) found.push_back(*t);
  }
  return found;
}

inline std::size_t sends(const Effects& effects) { return all_of<fx::Send>(effects).size(); }

// The view of the last Publish, which is what the UI ends up showing.
inline CallView published(const Effects& effects) {
  auto views = all_of<fx::Publish>(effects);
  return views.empty() ? CallView{} : views.back().view;
}

inline bool timer_started(const Effects& effects, TimerKind kind) {
  for (const auto& t : all_of<fx::StartTimer>(effects)) {
    if (t.timer == kind) return true;
  }
  return false;
}

inline Event from(std::string sender, Body body) {
  return ev::Received{Message{std::move(body), std::move(sender)}};
}

// Two (or more) phones, a relay between them, and a fake shell for each. Like a real shell,
// it carries out all the effects of one handle() before the next event, and what the
// browser would report later (a description applied, a connection up) is queued as a new
// event; events of a peer connection that was closed meanwhile are dropped.
class World {
 public:
  explicit World(PhoneConfig config = {}) : config_(config) {}

  Phone& add(const std::string& user) {
    return phones_.try_emplace(user, user, config_).first->second;
  }
  Phone& phone(const std::string& user) { return phones_.at(user); }

  // Queue an event without running anything yet: for things that happen at once.
  void queue(const std::string& user, Event event) { queue_.push_back({user, std::move(event), 0}); }

  // Hand an event to a user's phone now and run everything that follows from it.
  void act(const std::string& user, Event event) {
    queue(user, std::move(event));
    settle();
  }

  // Run queued events until none is left (bounded: an endless exchange is a bug).
  void settle(int max_steps = 10'000) {
    int steps = 0;
    for (; steps < max_steps && !queue_.empty(); ++steps) {
      auto [user, event, generation] = std::move(queue_.front());
      queue_.pop_front();
      if (generation != 0 && (!peers_.count(user) || peers_.at(user).generation != generation)) continue;
      for (const auto& effect : phones_.at(user).handle(event, now)) carry_out(user, effect);
    }
    REQUIRE(steps < max_steps);
  }

  // Let time pass, firing the timers that fall due, in order.
  void advance(Millis ms) {
    const Millis until = now + ms;
    for (;;) {
      auto next = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second <= until && (next == timers_.end() || it->second < next->second)) next = it;
      }
      if (next == timers_.end()) break;
      now = next->second;
      const auto [user, kind, callId] = next->first;
      timers_.erase(next);
      act(user, ev::TimerFired{kind, callId});
    }
    now = until;
  }

  // Make a user's peer connection report a state, as the browser would.
  void peer_state(const std::string& user, PeerState state) {
    auto& peer = peers_.at(user);
    peer.state = state;
    act(user, ev::PeerStateChanged{peer.remote, state});
  }

  bool media_open(const std::string& user) const { return media_.count(user) && media_.at(user); }
  bool camera_open(const std::string& user) const { return camera_.count(user) && camera_.at(user); }
  bool attached(const std::string& user) const { return peers_.count(user) && peers_.at(user).attached; }
  bool peer_open(const std::string& user) const { return peers_.count(user) > 0; }
  bool screen_open(const std::string& user) const { return screen_.count(user) && screen_.at(user); }

  // When set, a user's getUserMedia fails in this way.
  std::map<std::string, ev::MediaFailed> media_fails;
  // When set, a user's screen picker fails in this way.
  std::map<std::string, ev::ScreenFailed> screen_fails;
  int offers = 0;  // offers made, by anyone
  // When false, a peer connection that has both descriptions does not connect by itself.
  bool auto_connect = true;
  Millis now = 1'000'000;

 private:
  struct Peer {
    std::string remote;
    int generation = 0;
    bool has_local = false;
    bool has_remote = false;
    bool attached = false;
    PeerState state = PeerState::new_;
    CallType call_type = CallType::audio;
  };
  struct Queued {
    std::string user;
    Event event;
    int generation;  // 0: not from a peer connection
  };
  using TimerKey = std::tuple<std::string, TimerKind, std::string>;

  // The browser reports something about the user's current peer connection, later.
  void from_peer(const std::string& user, Event event) {
    queue_.push_back({user, std::move(event), peers_.at(user).generation});
  }

  void signaling(const std::string& user, SignalingState s) {
    from_peer(user, ev::SignalingChanged{peers_.at(user).remote, s});
  }

  void maybe_connect(const std::string& user) {
    auto& peer = peers_.at(user);
    if (!auto_connect || peer.state == PeerState::connected || !peer.has_local || !peer.has_remote) return;
    peer.state = PeerState::connected;
    from_peer(user, ev::LocalCandidate{peer.remote, IceCandidate{"candidate:1 1 udp 1 127.0.0.1 5000 typ host", "0", 0, {}}});
    from_peer(user, ev::PeerStateChanged{peer.remote, PeerState::connected});
  }

  void carry_out(const std::string& user, const Effect& effect) {
    std::visit(
        [&](const auto& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, fx::Send>) {
            // The relay: deliver to every other phone of this test, stamped like the server does.
            for (auto& entry : phones_) {
              if (entry.first == user) continue;
              Message m = e.message;
              m.from = user;
              queue(entry.first, ev::Received{m});
            }
          } else if constexpr (std::is_same_v<T, fx::AcquireMedia>) {
            auto fail = media_fails.find(user);
            if (fail != media_fails.end()) {
              queue(user, fail->second);
            } else {
              // Like the SDK, a new request replaces the devices the last one opened.
              media_[user] = true;
              camera_[user] = e.video;
              queue(user, ev::MediaAcquired{e.audio, e.video});
            }
          } else if constexpr (std::is_same_v<T, fx::ReleaseMedia>) {
            media_[user] = false;
            camera_[user] = false;
          } else if constexpr (std::is_same_v<T, fx::OpenPeer>) {
            peers_[user] = Peer{e.peer, ++generations_};
            peers_[user].call_type = e.callType;
            if (e.initiator) from_peer(user, ev::NegotiationNeeded{e.peer});
          } else if constexpr (std::is_same_v<T, fx::ClosePeer>) {
            peers_.erase(user);
          } else if constexpr (std::is_same_v<T, fx::AttachMedia>) {
            peers_.at(user).attached = true;
          } else if constexpr (std::is_same_v<T, fx::AcquireScreen>) {
            auto fail = screen_fails.find(user);
            if (fail != screen_fails.end()) {
              queue(user, fail->second);
            } else {
              screen_[user] = true;
              queue(user, ev::ScreenAcquired{});
            }
          } else if constexpr (std::is_same_v<T, fx::AttachScreen>) {
            // An audio call's connection has no video transceiver: adding one renegotiates.
            if (peers_.at(user).call_type == CallType::audio) from_peer(user, ev::NegotiationNeeded{e.peer});
          } else if constexpr (std::is_same_v<T, fx::ReleaseScreen>) {
            screen_[user] = false;
          } else if constexpr (std::is_same_v<T, fx::MakeOffer>) {
            ++offers;
            peers_.at(user).has_local = true;
            signaling(user, SignalingState::have_local_offer);
            from_peer(user, ev::LocalDescription{e.peer, SdpType::offer, "v=0 offer from " + user});
          } else if constexpr (std::is_same_v<T, fx::MakeAnswer>) {
            peers_.at(user).has_local = true;
            signaling(user, SignalingState::stable);
            from_peer(user, ev::LocalDescription{e.peer, SdpType::answer, "v=0 answer from " + user});
            maybe_connect(user);
          } else if constexpr (std::is_same_v<T, fx::ApplyRemoteDescription>) {
            peers_.at(user).has_remote = true;
            signaling(user, e.type == SdpType::offer ? SignalingState::have_remote_offer : SignalingState::stable);
            from_peer(user, ev::RemoteDescriptionApplied{e.peer, e.type});
            if (e.type == SdpType::answer) maybe_connect(user);
          } else if constexpr (std::is_same_v<T, fx::RestartIce>) {
            from_peer(user, ev::NegotiationNeeded{e.peer});
          } else if constexpr (std::is_same_v<T, fx::StartTimer>) {
            timers_[TimerKey{user, e.timer, e.callId}] = now + e.afterMs;
          } else if constexpr (std::is_same_v<T, fx::CancelTimer>) {
            timers_.erase(TimerKey{user, e.timer, e.callId});
          }
          // AddRemoteCandidate, SetTrackEnabled, PlayTone, Publish, IntentRefused: nothing
          // in this world depends on them.
        },
        effect);
  }

  PhoneConfig config_;
  std::map<std::string, Phone> phones_;
  std::deque<Queued> queue_;
  std::map<std::string, Peer> peers_;
  int generations_ = 0;
  std::map<TimerKey, Millis> timers_;
  std::map<std::string, bool> media_;
  std::map<std::string, bool> camera_;
  std::map<std::string, bool> screen_;
};

}  // namespace duet::test
