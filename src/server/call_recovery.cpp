// A restarted server takes over the calls its last run left open. A restart (a deploy's
// SIGTERM, a crash) does not end a call: the media goes peer to peer, and the phones sign in
// again within seconds. So each call is held as if both sides had just dropped their sockets,
// and from there the hub's usual rules carry it: a participant who signs in again within the
// reconnect grace is bound back to it (Hub::authenticate) and gets what was said meanwhile;
// one who does not is lost (Hub::tick, connection_lost); a call still ringing is missed at the
// deadline it had from the start. Every call taken over therefore ends through the ledger.
#include <utility>

#include "server/hub.hpp"

namespace duet::server {

void Hub::restore(const std::vector<CallRecord>& unfinished, Millis now) {
  for (const auto& record : unfinished) {
    if (is_final(record.status) || calls_.count(record.id)) continue;
    if (record.receiverId.empty()) {
      // A group call: this server refuses them, so none should be open, and the hub cannot
      // hold one. It is closed the way a broken call is; if the store refuses, it stays open
      // and the next start tries again.
      if (auto closed = apply(record, LedgerAction::fail, std::string(kServerActor), now, EndReason::connection_lost)) {
        if (store_.update_call(*closed)) m_calls_.inc(to_string(closed->status));
      }
      continue;
    }
    LiveCall call;
    call.record = record;
    // The caller's socket is gone: away, so what the callee says meanwhile (the accept, a
    // hang-up) waits for it, and its return binds its new socket to the call.
    call.caller = Side{record.callerId, kNoConn, now, {}};
    if (is_unanswered(record.status)) {
      // The callee's side is nobody's yet, as when the call started: every device of theirs
      // that signs in is rung, and the one that answers takes the call.
      call.callee = Side{record.receiverId, kNoConn, std::nullopt, {}};
      call.ringing_told = record.status == CallStatus::ringing;  // the caller heard it before
    } else {
      call.callee = Side{record.receiverId, kNoConn, now, {}};
      call.ringing_told = true;
    }
    // Missed when it would have been had the server not stopped; a deadline that passed while
    // it was down falls due at the first tick.
    call.ring_deadline = record.createdAt + config_.ring_timeout_ms;
    calls_.emplace(record.id, std::move(call));
    calls_by_user_[record.callerId].push_back(record.id);
    calls_by_user_[record.receiverId].push_back(record.id);
  }
  m_active_calls_.set(static_cast<double>(calls_.size()));
}

}  // namespace duet::server
