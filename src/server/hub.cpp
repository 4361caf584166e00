// The hub's rules. docs/protocol.md ("What the server does") describes them for client
// writers; the comments here say why they are so.
#include "server/hub.hpp"

#include <algorithm>
#include <utility>

namespace duet::server {

void Actions::append(Actions other) {
  for (auto& s : other.send) send.push_back(std::move(s));
  for (auto& c : other.close) close.push_back(std::move(c));
}

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

Message server_says(Body body, std::string from = {}) { return Message{std::move(body), std::move(from)}; }

void erase_value(std::vector<std::string>& v, const std::string& value) {
  v.erase(std::remove(v.begin(), v.end(), value), v.end());
}

// Mistakes a well-behaved client does not make; a connection that keeps making them is closed.
// Call-state errors are not among them: they happen to good clients in races.
bool is_abuse(ErrorCode code) {
  return is_unreadable(code) || code == ErrorCode::rate_limited || code == ErrorCode::not_found ||
         code == ErrorCode::not_participant;
}

}  // namespace

Hub::Hub(Store& store, HubConfig config, TokenCheck check_token, Registry& metrics)
    : store_(store),
      config_(config),
      check_token_(std::move(check_token)),
      call_limiter_(config.call_burst, config.calls_per_minute / 60.0, 100'000),
      m_connections_(metrics.gauge("duet_connections", "Open signaling connections.")),
      m_messages_(metrics.counter("duet_messages_total", "Signaling messages received.")),
      m_errors_(metrics.counter("duet_errors_total", "Errors sent to clients, by code.", "code")),
      m_calls_(metrics.counter("duet_calls_total", "Calls that reached a final status, by status.", "status")),
      m_active_calls_(metrics.gauge("duet_active_calls", "Calls ringing or in progress.")),
      m_answer_seconds_(metrics.histogram("duet_call_setup_seconds",
                                          "Call set-up time: from call:initiate to the accept.")),
      m_resumes_(metrics.counter("duet_session_resumes_total",
                                 "Devices asking to resume their session after a drop, by result.", "result")) {}

// ----- connections -------------------------------------------------------------------------

void Hub::open(ConnId conn, Millis now) {
  conns_[conn] = Conn{{}, {}, nullptr, now, config_.message_burst, now, 0};
  auth_deadlines_.push_back({now + config_.auth_timeout_ms, conn});
  m_connections_.set(static_cast<double>(conns_.size()));
}

Actions Hub::fail(ConnId conn, const Error& error, std::string_view ref, std::string_view callId) {
  Actions out;
  m_errors_.inc(to_string(error.code));
  msg::Error e{error.code, error.message, std::string(ref), std::string(callId)};
  if (e.message.size() > kMaxErrorMessageBytes) e.message.resize(kMaxErrorMessageBytes);
  out.send.push_back({conn, serialize(server_says(std::move(e)))});
  auto it = conns_.find(conn);
  if (it != conns_.end() && is_abuse(error.code) && ++it->second.violations >= config_.violations_before_close) {
    out.close.push_back({conn, kClosePolicy, "too many bad messages"});
  }
  return out;
}

bool Hub::within_rate(Conn& c, Millis now) {
  const double refill = static_cast<double>(std::max<Millis>(0, now - c.refilled)) / 1000.0 * config_.messages_per_second;
  c.tokens = std::min(config_.message_burst, c.tokens + refill);
  c.refilled = std::max(c.refilled, now);
  if (c.tokens < 1) return false;
  c.tokens -= 1;
  return true;
}

Actions Hub::receive(ConnId conn, std::string_view text, Millis now) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return {};
  m_messages_.inc();
  // Every frame a device's session reads counts, refused ones too: the count tells a resuming
  // device which of its frames to send again, and a refused frame was not lost.
  if (it->second.session) ++it->second.session->received;
  Actions out = take(conn, it->second, text, now);
  number(out, now);
  return out;
}

Actions Hub::take(ConnId conn, Conn& c, std::string_view text, Millis now) {
  if (!within_rate(c, now)) {
    auto out = fail(conn, make_error(ErrorCode::rate_limited, "too many messages; slow down"), "", "");
    if (!out.close.empty()) out.close.back().code = kCloseRateLimited;
    return out;
  }
  auto parsed = parse_message(text);
  if (!parsed) {
    if (c.user.empty()) {
      auto out = fail(conn, parsed.error(), "", "");
      out.close = {{conn, kCloseUnauthenticated, "the first message must be auth"}};
      return out;
    }
    return fail(conn, parsed.error(), "", "");
  }
  const Message& m = *parsed;
  if (auto* auth = std::get_if<msg::Auth>(&m.body)) return authenticate(conn, *auth, now);
  if (c.user.empty()) {
    auto out = fail(conn, make_error(ErrorCode::unauthenticated, "the first message must be auth"),
                    type_name(m.body), call_id_of(m.body));
    out.close = {{conn, kCloseUnauthenticated, "the first message must be auth"}};
    return out;
  }
  return on_call_message(conn, c, m, text, now);
}

Actions Hub::authenticate(ConnId conn, const msg::Auth& auth, Millis now) {
  Conn& c = conns_.at(conn);
  if (!c.user.empty()) return fail(conn, make_error(ErrorCode::invalid_state, "already authenticated"), "auth", "");
  auto identity = check_token_(auth.token, now);
  if (!identity) {
    auto out = fail(conn, identity.error(), "auth", "");
    out.close = {{conn, kCloseUnauthenticated, "authentication failed"}};
    return out;
  }
  Actions out;
  c.user = identity->userId;
  c.device = auth.device;
  auto& mine = by_user_[c.user];
  const bool was_offline = mine.empty();
  mine.push_back(conn);

  // A client that signs in again while its old socket still looks open here (it died without
  // a word: a network switch, a sleeping laptop) is the same client, not another device. When
  // it resumes its session, the new socket simply takes the old one's place: its calls go on
  // as they were, and what the old socket was sent and the device never got is sent again.
  // Otherwise the old socket is let go as if it had dropped, so the calls it held wait for
  // this one below instead of being refused to it as held elsewhere.
  Session* session = nullptr;
  bool resumed = false;
  bool took_over = false;  // resumed in place of a socket still open here
  if (!c.device.empty()) {
    const std::string key = session_key(c.user, c.device);
    session = resumable(key, auth.received, now);
    resumed = session != nullptr;
    if (auth.received) m_resumes_.inc(resumed ? "resumed" : "new_session");
    std::vector<ConnId> replaced;
    for (ConnId other : mine) {
      if (other != conn && conns_.at(other).device == c.device) replaced.push_back(other);
    }
    for (ConnId old : replaced) {
      if (resumed) {
        transfer(old, conn);
        took_over = true;
      } else {
        out.append(drop(old, now));
      }
      out.close.push_back({old, kCloseReplaced, "signed in again from the same device"});
    }
    if (!resumed) session = &(sessions_[key] = Session{});
    session->conn = conn;
    c.session = session;
  }
  msg::AuthOk ok{identity->userId, identity->displayName, {}};
  if (resumed) ok.received = session->received;
  out.send.push_back({conn, serialize(server_says(std::move(ok))), true});
  if (resumed) {
    // Already counted: these are the device's frames sent-missed+1 .. sent, in their order.
    const auto missed = static_cast<std::ptrdiff_t>(session->sent - *auth.received);
    for (auto it = session->recent.end() - missed; it != session->recent.end(); ++it) {
      out.send.push_back({conn, it->second, true});
    }
  }

  // The contacts' presence, so the new client starts with the full picture.
  for (const auto& contact : accepted_contacts(c.user)) {
    out.send.push_back({conn, serialize(server_says(msg::Presence{contact, presence(contact)}))});
  }
  if (was_offline) announce(c.user, out);

  // Calls this user is part of: come back to the ones they dropped from, and ring the new
  // device for the ones ringing them.
  for (const auto& id : call_ids_of(c.user)) {
    auto& call = calls_.at(id);
    for (Side* side : {&call.caller, &call.callee}) {
      if (side->user != c.user || !side->away_since) continue;
      side->conn = conn;
      side->away_since.reset();
      for (auto& text : side->buffered) out.send.push_back({conn, std::move(text)});
      side->buffered.clear();
    }
    // A device that took over a socket still open here was rung over it, or gets that again above.
    if (!took_over && call.callee.user == c.user && call.callee.conn == kNoConn &&
        is_unanswered(call.record.status)) {
      msg::CallInitiate ring{id, c.user, {}, call.record.type, {}};
      if (auto caller = store_.find_user(call.caller.user)) ring.fromName = caller->displayName;
      out.send.push_back({conn, serialize(server_says(std::move(ring), call.caller.user))});
      if (call.early_conn == kNoConn) pick_early_device(call, out);
    }
  }
  // What calls that ended while this user was away last said to them.
  if (auto mail = mail_.find(c.user); mail != mail_.end()) {
    if (mail->second.until > now) {
      for (auto& text : mail->second.messages) out.send.push_back({conn, std::move(text)});
    }
    mail_.erase(mail);
  }
  return out;
}

Hub::Session* Hub::resumable(const std::string& key, std::optional<std::uint64_t> received, Millis now) {
  if (!received) return nullptr;
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  Session& s = it->second;
  trim(s, now);
  // A device cannot have more than it was sent; and every frame it missed must still be here.
  if (*received > s.sent || s.sent - *received > s.recent.size()) return nullptr;
  return &s;
}

std::string Hub::unlist(ConnId conn) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return {};
  std::string user = std::move(it->second.user);
  conns_.erase(it);
  m_connections_.set(static_cast<double>(conns_.size()));
  if (auto mine = by_user_.find(user); mine != by_user_.end()) {
    mine->second.erase(std::remove(mine->second.begin(), mine->second.end(), conn), mine->second.end());
  }
  return user;
}

std::vector<std::string> Hub::call_ids_of(const std::string& userId) const {
  auto ids = calls_by_user_.find(userId);
  return ids == calls_by_user_.end() ? std::vector<std::string>{} : ids->second;
}

void Hub::transfer(ConnId from, ConnId to) {
  const std::string user = unlist(from);
  if (user.empty()) return;
  for (const auto& id : call_ids_of(user)) {
    auto& call = calls_.at(id);
    for (Side* side : {&call.caller, &call.callee}) {
      if (side->conn == from) side->conn = to;
    }
    if (call.early_conn == from) call.early_conn = to;
    if (call.answered_by == from) call.answered_by = to;
  }
}

void Hub::number(Actions& out, Millis now) {
  for (auto& o : out.send) {
    if (o.numbered) continue;
    o.numbered = true;
    auto it = conns_.find(o.conn);
    if (it == conns_.end() || it->second.session == nullptr) continue;
    Session& s = *it->second.session;
    ++s.sent;
    s.recent.emplace_back(now, o.text);
    s.recent_bytes += o.text.size();
    trim(s, now);
  }
}

void Hub::trim(Session& s, Millis now) const {
  while (!s.recent.empty() &&
         (s.recent.size() > config_.resume_frames || s.recent_bytes > config_.resume_bytes ||
          now - s.recent.front().first > config_.resume_window_ms)) {
    s.recent_bytes -= s.recent.front().second.size();
    s.recent.pop_front();
  }
}

Actions Hub::closed(ConnId conn, Millis now) {
  Actions out = drop(conn, now);
  number(out, now);
  return out;
}

Actions Hub::drop(ConnId conn, Millis now) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return {};
  if (Session* session = it->second.session; session != nullptr && session->conn == conn) {
    // Kept for the reconnect grace: a device back within it resumes.
    session->conn = kNoConn;
    session->idle_since = now;
    session_expiries_.push_back({now + config_.reconnect_grace_ms, session_key(it->second.user, it->second.device)});
  }
  const std::string user = unlist(conn);
  Actions out;
  if (user.empty()) return out;
  auto& mine = by_user_[user];
  for (const auto& id : call_ids_of(user)) {
    auto& call = calls_.at(id);
    for (Side* side : {&call.caller, &call.callee}) {
      if (side->user != user || side->away_since) continue;
      // A side no socket holds yet (it acted over HTTP) is away once the user has no socket.
      const bool unbound_and_gone = side->conn == kNoConn && mine.empty() && !is_unanswered(call.record.status);
      if (side->conn == conn || unbound_and_gone) side->away_since = now;
    }
    if (call.early_conn == conn) call.early_conn = kNoConn;
  }
  if (mine.empty()) {
    by_user_.erase(user);
    announce(user, out);
  }
  return out;
}

Actions Hub::drain() {
  Actions out;
  for (const auto& [conn, c] : conns_) out.close.push_back({conn, kCloseGoingAway, "server shutting down"});
  return out;
}

// ----- presence ----------------------------------------------------------------------------

PresenceStatus Hub::presence(const std::string& userId) const {
  if (!by_user_.count(userId)) return PresenceStatus::offline;
  auto calls = calls_by_user_.find(userId);
  return calls != calls_by_user_.end() && !calls->second.empty() ? PresenceStatus::busy
                                                                  : PresenceStatus::online;
}

std::vector<std::string> Hub::accepted_contacts(const std::string& userId) {
  std::vector<std::string> ids;
  auto contacts = store_.contacts(userId);
  if (!contacts) return ids;
  for (const auto& c : *contacts) {
    if (c.state == Contact::State::accepted) ids.push_back(c.user.id);
  }
  return ids;
}

void Hub::announce(const std::string& userId, Actions& out) {
  const auto text = serialize(server_says(msg::Presence{userId, presence(userId)}));
  for (const auto& contact : accepted_contacts(userId)) {
    auto conns = by_user_.find(contact);
    if (conns == by_user_.end()) continue;
    for (ConnId c : conns->second) out.send.push_back({c, text});
  }
}

Actions Hub::contacts_changed(const std::string& a, const std::string& b, Millis now) {
  Actions out;
  const bool now_contacts = store_.are_contacts(a, b);
  for (auto [who, other] : {std::pair{a, b}, std::pair{b, a}}) {
    auto conns = by_user_.find(who);
    if (conns == by_user_.end()) continue;
    const auto status = now_contacts ? presence(other) : PresenceStatus::offline;
    const auto text = serialize(server_says(msg::Presence{other, status}));
    for (ConnId c : conns->second) out.send.push_back({c, text});
  }
  number(out, now);
  return out;
}

// ----- delivery ----------------------------------------------------------------------------

void Hub::deliver_all(const std::string& userId, const Message& m, Actions& out, ConnId except) {
  if (by_user_.count(userId)) deliver_all(userId, serialize(m), out, except);
}

void Hub::deliver_all(const std::string& userId, const std::string& text, Actions& out, ConnId except) {
  auto conns = by_user_.find(userId);
  if (conns == by_user_.end()) return;
  for (ConnId c : conns->second) {
    if (c != except) out.send.push_back({c, text});
  }
}

void Hub::deliver(Side& side, const Message& m, Actions& out) { deliver(side, serialize(m), out); }

void Hub::deliver(Side& side, std::string text, Actions& out) {
  // Away is checked first: a side away with no socket bound (it acted over HTTP, or a restart
  // took its call over) has no device online to reach, and gets what it missed on its return.
  if (side.away_since) {
    if (side.buffered.size() < config_.max_buffered) side.buffered.push_back(std::move(text));
    return;
  }
  if (side.conn == kNoConn) return deliver_all(side.user, text, out);
  out.send.push_back({side.conn, std::move(text)});
}

// ----- calls -------------------------------------------------------------------------------

bool Hub::busy_with_other_than(const std::string& userId, const std::string& peer) const {
  auto ids = calls_by_user_.find(userId);
  if (ids == calls_by_user_.end()) return false;
  for (const auto& id : ids->second) {
    const auto& call = calls_.at(id);
    const auto& other = call.caller.user == userId ? call.callee.user : call.caller.user;
    // Two people calling each other at once is glare, not busy: both calls go through and
    // the phones keep the same one (docs/core.md).
    if (!(is_unanswered(call.record.status) && other == peer)) return true;
  }
  return false;
}

Status Hub::record(LiveCall& call, LedgerAction action, const std::string& actor, Millis now,
                   std::optional<EndReason> reason) {
  auto next = apply(call.record, action, actor, now, reason);
  if (!next) return next.error();
  if (*next == call.record) return Done{};
  auto stored = store_.update_call(*next);
  if (!stored) return stored.error();
  if (action == LedgerAction::accept) {
    m_answer_seconds_.observe(static_cast<double>(now - call.record.createdAt) / 1000.0);
  }
  call.record = std::move(*next);
  if (is_final(call.record.status)) m_calls_.inc(to_string(call.record.status));
  return Done{};
}

void Hub::finish(const std::string& callId, Actions& out) {
  auto it = calls_.find(callId);
  if (it == calls_.end()) return;
  const std::string caller = it->second.caller.user;
  const std::string callee = it->second.callee.user;
  for (Side* side : {&it->second.caller, &it->second.callee}) {
    if (!side->away_since || side->buffered.empty()) continue;
    auto& mail = mail_[side->user];
    mail.until = *side->away_since + config_.reconnect_grace_ms;
    for (auto& text : side->buffered) {
      if (mail.messages.size() < config_.max_buffered) mail.messages.push_back(std::move(text));
    }
  }
  calls_.erase(it);
  m_active_calls_.set(static_cast<double>(calls_.size()));
  for (const auto& user : {caller, callee}) {
    auto& ids = calls_by_user_[user];
    erase_value(ids, callId);
    if (ids.empty()) calls_by_user_.erase(user);
    if (by_user_.count(user)) announce(user, out);
  }
}

Expected<Hub::LiveCall*> Hub::call_for(const std::string& userId, std::string_view callId) {
  auto it = calls_.find(std::string(callId));
  // A stranger learns nothing about other people's calls, not even that they exist.
  if (it == calls_.end() || !it->second.record.involves(userId)) {
    auto stored = store_.find_call(std::string(callId));
    if (stored && stored->involves(userId)) {
      return make_error(ErrorCode::invalid_state, "the call is over (" + std::string(to_string(stored->status)) + ")");
    }
    return make_error(ErrorCode::not_found, "no such call");
  }
  return &it->second;
}

Expected<CallRecord> Hub::start_call(const Identity& caller, const std::string& callId,
                                     const std::string& receiverId, CallType type, Millis now,
                                     Actions& out, ConnId conn) {
  auto result = open_live_call(caller, callId, receiverId, type, now, out, conn);
  number(out, now);
  return result;
}

Expected<CallRecord> Hub::open_live_call(const Identity& caller, const std::string& callId,
                                         const std::string& receiverId, CallType type, Millis now,
                                         Actions& out, ConnId conn) {
  if (!call_limiter_.allow(caller.userId, now)) {
    return make_error(ErrorCode::rate_limited, "too many calls started; wait a minute");
  }
  auto record = open_call(callId, caller.userId, receiverId, "", type, now);
  if (!record) return record.error();
  auto callee = store_.find_user(receiverId);
  if (!callee) return make_error(ErrorCode::not_found, "no such user to call");
  if (!store_.are_contacts(caller.userId, receiverId) && !store_.share_group(caller.userId, receiverId)) {
    return make_error(ErrorCode::forbidden, "you can only call your contacts");
  }
  if (calls_.count(callId) || store_.find_call(callId)) return make_error(ErrorCode::conflict, "that call id is taken");
  if (busy_with_other_than(caller.userId, receiverId)) {
    return make_error(ErrorCode::invalid_state, "you are already in a call");
  }
  if (busy_with_other_than(receiverId, caller.userId)) {
    // Kept in history as a busy call, like a phone would show it.
    auto busy = apply(*record, LedgerAction::busy, kServerActor, now);
    if (auto stored = store_.insert_call(*busy); !stored) return stored.error();
    m_calls_.inc(to_string(CallStatus::busy));
    return make_error(ErrorCode::busy, callee->displayName + " is in another call");
  }
  if (auto stored = store_.insert_call(*record); !stored) return stored.error();

  LiveCall call;
  call.record = *record;
  call.caller = Side{caller.userId, conn, std::nullopt, {}};
  call.callee = Side{receiverId, kNoConn, std::nullopt, {}};
  call.ring_deadline = now + config_.ring_timeout_ms;
  calls_.emplace(callId, std::move(call));
  calls_by_user_[caller.userId].push_back(callId);
  calls_by_user_[receiverId].push_back(callId);
  m_active_calls_.set(static_cast<double>(calls_.size()));

  deliver_all(receiverId, server_says(msg::CallInitiate{callId, receiverId, {}, type, caller.displayName}, caller.userId), out);
  announce(caller.userId, out);
  announce(receiverId, out);
  return *record;
}

Expected<CallRecord> Hub::act_on_call(const std::string& userId, const std::string& callId,
                                      LedgerAction action, Millis now, Actions& out, ConnId conn,
                                      std::optional<EndReason> reason) {
  auto result = act(userId, callId, action, now, out, conn, reason);
  number(out, now);
  return result;
}

Expected<CallRecord> Hub::act(const std::string& userId, const std::string& callId, LedgerAction action,
                              Millis now, Actions& out, ConnId conn, std::optional<EndReason> reason) {
  auto found = call_for(userId, callId);
  if (!found) return found.error();
  LiveCall& call = **found;
  const bool is_caller = userId == call.caller.user;
  Side& me = is_caller ? call.caller : call.callee;
  Side& other = is_caller ? call.callee : call.caller;
  if (conn != kNoConn && me.conn != kNoConn && me.conn != conn && !me.away_since) {
    return make_error(ErrorCode::invalid_state, "this call is held by another of your devices");
  }
  const std::string actor = action == LedgerAction::timeout ? std::string(kServerActor) : userId;
  if (auto done = record(call, action, actor, now, reason); !done) {
    if (action == LedgerAction::accept && call.record.status == CallStatus::active) {
      return make_error(ErrorCode::invalid_state, "the call was answered elsewhere");
    }
    return done.error();
  }
  const CallRecord result = call.record;
  switch (action) {
    case LedgerAction::ring:
      if (!call.ringing_told) {
        call.ringing_told = true;
        deliver(other, server_says(msg::CallRinging{callId}, userId), out);
      }
      return result;
    case LedgerAction::accept: {
      call.callee.conn = conn;
      msg::CallAccept accepted{callId};
      // Answered on a device (or page) other than the one the caller negotiated with while it
      // rang: the caller's connection leads to a peer connection that is gone.
      accepted.renegotiate = conn != kNoConn && call.answered_by != kNoConn && call.answered_by != conn;
      deliver(other, server_says(std::move(accepted), userId), out);
      deliver_all(userId, server_says(msg::CallEnd{callId, EndReason::answered_elsewhere}), out, conn);
      if (conn != kNoConn && conn != call.early_conn) {
        for (auto& text : call.held) out.send.push_back({conn, std::move(text)});
      }
      call.held.clear();
      call.early_conn = kNoConn;
      return result;
    }
    case LedgerAction::reject:
      deliver(other, server_says(msg::CallReject{callId}, userId), out);
      deliver_all(userId, server_says(msg::CallEnd{callId, EndReason::rejected}), out, conn);
      break;
    case LedgerAction::busy:
      deliver(other, server_says(msg::CallBusy{callId}, userId), out);
      deliver_all(userId, server_says(msg::CallEnd{callId, EndReason::busy}), out, conn);
      break;
    case LedgerAction::cancel:
      deliver(other, server_says(msg::CallCancel{callId, *result.endReason}, userId), out);
      break;
    case LedgerAction::timeout:
      deliver(call.callee, server_says(msg::CallEnd{callId, EndReason::timeout}), out);
      break;
    case LedgerAction::end:
    case LedgerAction::fail:
      // A caller hanging up before the answer is a cancel, whichever way they said it.
      if (result.status == CallStatus::cancelled) {
        deliver(other, server_says(msg::CallCancel{callId, *result.endReason}, userId), out);
      } else {
        deliver(other, server_says(msg::CallEnd{callId, *result.endReason}, userId), out);
      }
      // The callee's other devices stop ringing when the callee declines from one of them.
      if (!is_caller) deliver_all(userId, server_says(msg::CallEnd{callId, *result.endReason}), out, conn);
      break;
  }
  finish(callId, out);
  return result;
}

void Hub::pick_early_device(LiveCall& call, Actions& out) {
  auto devices = by_user_.find(call.callee.user);
  if (devices == by_user_.end() || devices->second.size() != 1) return;
  call.early_conn = devices->second.front();
  for (const auto& text : call.held) out.send.push_back({call.early_conn, text});
}

Status Hub::forward(LiveCall& call, const std::string& userId, ConnId conn, const Body& body,
                    std::string_view text, Actions& out) {
  const bool is_caller = userId == call.caller.user;
  Side& me = is_caller ? call.caller : call.callee;
  Side& other = is_caller ? call.callee : call.caller;
  if (is_final(call.record.status)) return make_error(ErrorCode::invalid_state, "the call is over");
  // The sender's own text with its from stamped in, or written afresh when that cannot be done.
  auto relayed = [&] {
    std::optional<std::string> spliced = relay_text(text, userId);
    return spliced ? std::move(*spliced) : serialize(server_says(body, userId));
  };
  if (is_caller || !is_unanswered(call.record.status)) {
    // A side that started or answered the call over HTTP is held by the first socket that
    // speaks for it.
    if (me.conn == kNoConn) me.conn = conn;
    if (me.conn != conn && !me.away_since) {
      return make_error(ErrorCode::invalid_state, is_caller ? "this call is held by another of your devices"
                                                            : "this call was answered on another device");
    }
  }
  if (!is_unanswered(call.record.status)) {
    deliver(other, relayed(), out);
    return Done{};
  }
  // Before the accept. The caller's offer may travel while it rings, so the call connects
  // the moment it is answered; but with several callee devices ringing, only the one that
  // answers may negotiate, so the caller's messages wait for it.
  if (std::holds_alternative<msg::CallMedia>(body)) return Done{};  // nothing to show yet
  if (is_caller) {
    // Everything is kept until the accept, also what went to an early device: the device
    // that answers may be another one, or the same one reloaded.
    std::string message = relayed();
    if (call.early_conn != kNoConn) out.send.push_back({call.early_conn, message});
    if (call.held.size() < config_.max_buffered) call.held.push_back(std::move(message));
    if (call.early_conn == kNoConn) pick_early_device(call, out);
    return Done{};
  }
  if (conn != call.early_conn) {
    return make_error(ErrorCode::invalid_state, "answer the call before negotiating on this device");
  }
  // The caller takes the first answer to its offer and drops later ones (a reloaded page's).
  if (std::holds_alternative<msg::CallAnswer>(body) && call.answered_by == kNoConn) call.answered_by = conn;
  deliver(other, relayed(), out);
  return Done{};
}

Actions Hub::on_call_message(ConnId conn, const Conn& c, const Message& m, std::string_view text, Millis now) {
  const std::string user = c.user;
  const std::string_view ref = type_name(m.body);
  const std::string callId(call_id_of(m.body));
  Actions out;
  auto result = std::visit(
      Overloaded{
          [&](const msg::CallInitiate& i) -> Status {
            if (!i.groupId.empty()) return make_error(ErrorCode::bad_value, "group calls are not supported by this server yet");
            auto me = store_.find_user(user);
            if (!me) return me.error();
            auto started = open_live_call(Identity{user, me->displayName}, i.callId, i.to, i.callType, now, out, conn);
            if (!started) return started.error();
            return Done{};
          },
          [&](const auto& body) -> Status {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, msg::CallOffer> || std::is_same_v<T, msg::CallAnswer> ||
                          std::is_same_v<T, msg::CallIceCandidate> || std::is_same_v<T, msg::CallMedia>) {
              auto found = call_for(user, body.callId);
              if (!found) return found.error();
              return forward(**found, user, conn, m.body, text, out);
            } else if constexpr (std::is_same_v<T, msg::CallRinging> || std::is_same_v<T, msg::CallAccept> ||
                                 std::is_same_v<T, msg::CallReject> || std::is_same_v<T, msg::CallBusy> ||
                                 std::is_same_v<T, msg::CallCancel> || std::is_same_v<T, msg::CallEnd>) {
              const LedgerStep step = *ledger_step(m.body);
              auto done = act(user, body.callId, step.action, now, out, conn, step.reason);
              if (!done) return done.error();
              return Done{};
            } else {
              return make_error(ErrorCode::bad_value, "clients do not send " + std::string(ref));
            }
          },
      },
      m.body);
  if (!result) return fail(conn, result.error(), ref, callId);
  return out;
}

// ----- time --------------------------------------------------------------------------------

Actions Hub::tick(Millis now) {
  Actions out;
  while (!auth_deadlines_.empty() && auth_deadlines_.front().first <= now) {
    const ConnId conn = auth_deadlines_.front().second;
    auth_deadlines_.pop_front();
    auto it = conns_.find(conn);
    if (it != conns_.end() && it->second.user.empty()) {
      out.close.push_back({conn, kCloseAuthTimeout, "authentication timed out"});
    }
  }
  for (auto it = mail_.begin(); it != mail_.end();) {
    it = it->second.until <= now ? mail_.erase(it) : std::next(it);
  }
  while (!session_expiries_.empty() && session_expiries_.front().first <= now) {
    auto session = sessions_.find(session_expiries_.front().second);
    session_expiries_.pop_front();
    // Not if a connection took it up again meanwhile, or dropped again later.
    if (session != sessions_.end() && session->second.conn == kNoConn &&
        session->second.idle_since + config_.reconnect_grace_ms <= now) {
      sessions_.erase(session);
    }
  }
  std::vector<std::string> due;
  for (const auto& [id, call] : calls_) due.push_back(id);
  for (const auto& id : due) {
    auto it = calls_.find(id);
    if (it == calls_.end()) continue;
    LiveCall& call = it->second;
    if (is_unanswered(call.record.status) && now >= call.ring_deadline) {
      // Missed, whether or not the caller is still there to hear it.
      if (record(call, LedgerAction::timeout, std::string(kServerActor), now, std::nullopt)) {
        deliver(call.caller, server_says(msg::CallEnd{id, EndReason::timeout}), out);
        deliver(call.callee, server_says(msg::CallEnd{id, EndReason::timeout}), out);
        finish(id, out);
      }
      continue;
    }
    if (call.record.status != CallStatus::active) continue;
    for (Side* side : {&call.caller, &call.callee}) {
      if (!side->away_since || now - *side->away_since < config_.reconnect_grace_ms) continue;
      Side& other = side == &call.caller ? call.callee : call.caller;
      if (record(call, LedgerAction::fail, std::string(kServerActor), now, EndReason::connection_lost)) {
        deliver(other, server_says(msg::CallEnd{id, EndReason::connection_lost}), out);
        finish(id, out);
      }
      break;
    }
  }
  number(out, now);
  return out;
}

}  // namespace duet::server
