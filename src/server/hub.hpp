// The server's signaling brain: who is connected as whom, who can see whom online, and
// every call in flight. Like the client core it does no I/O: the network layer hands it
// what arrived on a socket (and the time), and carries out what it returns (send this text
// to that connection, close that one). The REST routes for calls come through the same
// functions, so a call accepted over HTTP follows the same rules as one accepted over the
// socket. It is the authority for call records: every change goes through the core's
// ledger (duet::apply) and is in the store before anyone is told about it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "duet/ledger.hpp"
#include "duet/protocol.hpp"
#include "server/metrics.hpp"
#include "server/rate_limit.hpp"
#include "server/store.hpp"

namespace duet::server {

using ConnId = std::uint64_t;
inline constexpr ConnId kNoConn = 0;  // a request that came over HTTP, not a socket

// WebSocket close codes the hub uses. 4xxx are ours (the private range of RFC 6455).
inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kClosePolicy = 1008;
inline constexpr std::uint16_t kCloseUnauthenticated = 4401;
inline constexpr std::uint16_t kCloseAuthTimeout = 4408;
inline constexpr std::uint16_t kCloseRateLimited = 4429;
inline constexpr std::uint16_t kCloseReplaced = 4409;  // the same device signed in again

struct HubConfig {
  Millis ring_timeout_ms = 30'000;      // unanswered this long: missed (the seed's 30 s)
  Millis reconnect_grace_ms = 20'000;   // a participant who dropped has this long to come back
  Millis auth_timeout_ms = 5'000;       // the first frame must authenticate within this
  double message_burst = 200;           // per connection: a call set-up sends ~20-60 messages
  double messages_per_second = 50;      // ... sustained, far above what a call needs
  int violations_before_close = 20;     // rate-limited or malformed messages tolerated
  double call_burst = 5;                // call:initiate per user
  double calls_per_minute = 10;
  std::size_t max_buffered = 256;       // messages kept for a participant who is away
  // A device's last frames, kept so that it can resume after its socket died under it: at most
  // this many and this many bytes, and none older than the window (a socket that dies unnoticed
  // is usually noticed by the browser within seconds, on a network change, not minutes).
  std::size_t resume_frames = 128;
  std::size_t resume_bytes = 256 * 1024;
  Millis resume_window_ms = 60'000;
};

struct Outbound {
  ConnId conn;
  std::string text;
  // Counted in the receiving device's session (or never to be: a connection's auth:ok opens
  // its count and is not part of it). The hub counts every frame once, on its way out.
  bool numbered = false;
};
struct Closing {
  ConnId conn;
  std::uint16_t code;
  std::string reason;
};
// What the network layer must do, in order: sends first, then closes.
struct Actions {
  std::vector<Outbound> send;
  std::vector<Closing> close;
  void append(Actions other);
};

struct Identity {
  std::string userId;
  std::string displayName;
};
// Checks a bearer token; unauthenticated with a reason when it is not good.
using TokenCheck = std::function<Expected<Identity>(std::string_view token, Millis now)>;

class Hub {
 public:
  Hub(Store& store, HubConfig config, TokenCheck check_token, Registry& metrics);

  // --- The socket's life.
  void open(ConnId conn, Millis now);
  Actions receive(ConnId conn, std::string_view text, Millis now);
  Actions closed(ConnId conn, Millis now);
  // Deadlines that fell due: unauthenticated sockets, unanswered calls, participants gone.
  Actions tick(Millis now);
  // Every socket is told the server is going away (shutdown).
  Actions drain();
  // At start-up: the calls the last run left ringing or active. The phones keep their media
  // peer to peer and sign in again within seconds, so each call is held as if both sides had
  // just dropped: back within the reconnect grace, it goes on (src/server/call_recovery.cpp).
  void restore(const std::vector<CallRecord>& unfinished, Millis now);

  // --- The same call rules for the REST routes (conn is kNoConn there).
  Expected<CallRecord> start_call(const Identity& caller, const std::string& callId,
                                  const std::string& receiverId, CallType type, Millis now,
                                  Actions& out, ConnId conn = kNoConn);
  Expected<CallRecord> act_on_call(const std::string& userId, const std::string& callId,
                                   LedgerAction action, Millis now, Actions& out,
                                   ConnId conn = kNoConn, std::optional<EndReason> reason = std::nullopt);
  // Two users became (or stopped being) contacts: tell each about the other's presence.
  Actions contacts_changed(const std::string& a, const std::string& b, Millis now);

  PresenceStatus presence(const std::string& userId) const;
  std::size_t connections() const { return conns_.size(); }
  std::size_t live_calls() const { return calls_.size(); }

 private:
  // A device's signaling across its connections (auth with a `device`): how many frames each
  // way, and the last ones it was sent, so that a device whose socket died with frames in
  // flight resumes exactly where it was (docs/protocol.md, "Resuming after a drop").
  struct Session {
    ConnId conn = kNoConn;     // the connection speaking for it, if any
    std::uint64_t received = 0;  // frames read from the device
    std::uint64_t sent = 0;      // frames sent to it (auth:ok not counted)
    std::deque<std::pair<Millis, std::string>> recent;  // frames sent-recent.size()+1 .. sent
    std::size_t recent_bytes = 0;
    Millis idle_since = 0;     // when its last connection closed
  };
  struct Conn {
    std::string user;       // empty until authenticated
    std::string device;     // the client's own name for itself, from auth; may be empty
    Session* session = nullptr;  // the device's session, once authenticated with a device
    Millis opened = 0;
    double tokens = 0;      // the connection's message bucket
    Millis refilled = 0;
    int violations = 0;
  };
  // One side of a live call. `conn` is the connection that speaks for the side once it is
  // known (the caller's initiating socket, the callee's answering one); until then messages
  // go to every connection of the user.
  struct Side {
    std::string user;
    ConnId conn = kNoConn;
    std::optional<Millis> away_since;   // the bound connection dropped
    std::vector<std::string> buffered;  // what it missed while away
  };
  struct LiveCall {
    CallRecord record;
    Side caller;
    Side callee;
    Millis ring_deadline = 0;
    bool ringing_told = false;       // the caller has heard call:ringing
    ConnId early_conn = kNoConn;     // the one callee device negotiating before the accept
    ConnId answered_by = kNoConn;    // the device whose answer the caller took before the accept
    std::vector<std::string> held;   // the caller's negotiation before the accept, for the
                                     // device that answers if it did not get it live
  };
  // What a call that ended said to a participant who was away, kept for their return.
  struct Mail {
    Millis until = 0;
    std::vector<std::string> messages;
  };

  Actions fail(ConnId conn, const Error& error, std::string_view ref, std::string_view callId);
  // Counts the frames not yet counted in their device's session, and keeps them for a resume.
  // Every public entry point ends with it, so frames are counted in the order they go out.
  void number(Actions& out, Millis now);
  // The device's session when it can resume from `received` (it has every frame after it).
  Session* resumable(const std::string& key, std::optional<std::uint64_t> received, Millis now);
  // Lets go of the session's oldest kept frames while there are too many, too many bytes, or
  // they are older than the window.
  void trim(Session& s, Millis now) const;
  // A connection that resumes in place of a silently dead one takes over everything it held.
  void transfer(ConnId from, ConnId to);
  // Takes a connection out of conns_ and its user's list; returns the user ("" if none).
  std::string unlist(ConnId conn);
  // The ids of the user's live calls, copied: the loops over them may end some.
  std::vector<std::string> call_ids_of(const std::string& userId) const;
  static std::string session_key(const std::string& userId, const std::string& device) {
    return userId + '\n' + device;
  }
  // receive(), closed(), start_call() and act_on_call() without the numbering.
  Expected<CallRecord> open_live_call(const Identity& caller, const std::string& callId,
                                      const std::string& receiverId, CallType type, Millis now,
                                      Actions& out, ConnId conn);
  Expected<CallRecord> act(const std::string& userId, const std::string& callId, LedgerAction action,
                           Millis now, Actions& out, ConnId conn, std::optional<EndReason> reason);
  Actions take(ConnId conn, Conn& c, std::string_view text, Millis now);
  Actions drop(ConnId conn, Millis now);
  bool within_rate(Conn& c, Millis now);
  Actions authenticate(ConnId conn, const msg::Auth& auth, Millis now);
  Actions on_call_message(ConnId conn, const Conn& c, const Message& m, std::string_view text, Millis now);
  Expected<LiveCall*> call_for(const std::string& userId, std::string_view callId);
  // Relays a negotiation message (`body`, parsed from `text`) to the other side.
  Status forward(LiveCall& call, const std::string& userId, ConnId conn, const Body& body,
                 std::string_view text, Actions& out);
  Status record(LiveCall& call, LedgerAction action, const std::string& actor, Millis now,
                std::optional<EndReason> reason);
  void finish(const std::string& callId, Actions& out);
  void deliver(Side& side, const Message& m, Actions& out);
  void deliver(Side& side, std::string text, Actions& out);
  // With exactly one callee device signed in, it negotiates while it rings: it gets what the
  // caller sent so far, and the rest as it comes.
  void pick_early_device(LiveCall& call, Actions& out);
  void deliver_all(const std::string& userId, const Message& m, Actions& out, ConnId except = kNoConn);
  void deliver_all(const std::string& userId, const std::string& text, Actions& out, ConnId except = kNoConn);
  bool busy_with_other_than(const std::string& userId, const std::string& peer) const;
  void announce(const std::string& userId, Actions& out);
  std::vector<std::string> accepted_contacts(const std::string& userId);

  Store& store_;
  HubConfig config_;
  TokenCheck check_token_;
  RateLimiter call_limiter_;
  std::unordered_map<ConnId, Conn> conns_;
  std::deque<std::pair<Millis, ConnId>> auth_deadlines_;  // in order: the timeout is fixed
  std::unordered_map<std::string, std::vector<ConnId>> by_user_;
  std::unordered_map<std::string, LiveCall> calls_;
  std::unordered_map<std::string, std::vector<std::string>> calls_by_user_;
  std::unordered_map<std::string, Mail> mail_;
  std::unordered_map<std::string, Session> sessions_;  // by user + '\n' + device
  std::deque<std::pair<Millis, std::string>> session_expiries_;  // in order: the grace is fixed

  Gauge& m_connections_;
  Counter& m_messages_;
  LabeledCounter& m_errors_;
  LabeledCounter& m_calls_;
  Gauge& m_active_calls_;
  Histogram& m_answer_seconds_;
  LabeledCounter& m_resumes_;
};

}  // namespace duet::server
