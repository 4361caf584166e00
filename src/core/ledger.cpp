// The call record's transitions. The table in docs/core.md ("Call records") is this file.
#include "duet/ledger.hpp"

#include <utility>

namespace duet {

std::string_view to_string(CallStatus s) {
  switch (s) {
    case CallStatus::pending: return "pending";
    case CallStatus::ringing: return "ringing";
    case CallStatus::active: return "active";
    case CallStatus::ended: return "ended";
    case CallStatus::missed: return "missed";
    case CallStatus::rejected: return "rejected";
    case CallStatus::busy: return "busy";
    case CallStatus::cancelled: return "cancelled";
    case CallStatus::failed: return "failed";
  }
  return "pending";
}

bool parse_call_status(std::string_view text, CallStatus& out) {
  for (auto s : {CallStatus::pending, CallStatus::ringing, CallStatus::active, CallStatus::ended,
                 CallStatus::missed, CallStatus::rejected, CallStatus::busy, CallStatus::cancelled,
                 CallStatus::failed}) {
    if (to_string(s) == text) {
      out = s;
      return true;
    }
  }
  return false;
}

bool is_unanswered(CallStatus s) { return s == CallStatus::pending || s == CallStatus::ringing; }

bool is_final(CallStatus s) {
  switch (s) {
    case CallStatus::pending:
    case CallStatus::ringing:
    case CallStatus::active:
      return false;
    case CallStatus::ended:
    case CallStatus::missed:
    case CallStatus::rejected:
    case CallStatus::busy:
    case CallStatus::cancelled:
    case CallStatus::failed:
      return true;
  }
  return true;
}

std::string_view to_string(LedgerAction a) {
  switch (a) {
    case LedgerAction::ring: return "ring";
    case LedgerAction::accept: return "accept";
    case LedgerAction::reject: return "reject";
    case LedgerAction::busy: return "busy";
    case LedgerAction::cancel: return "cancel";
    case LedgerAction::timeout: return "timeout";
    case LedgerAction::end: return "end";
    case LedgerAction::fail: return "fail";
  }
  return "end";
}

Expected<CallRecord> open_call(std::string id, std::string callerId, std::string receiverId,
                               std::string groupId, CallType type, Millis now) {
  if (!is_valid_id(id)) return make_error(ErrorCode::bad_value, "invalid call id");
  if (!is_valid_id(callerId)) return make_error(ErrorCode::bad_value, "invalid caller id");
  if (receiverId.empty() == groupId.empty()) {
    return make_error(ErrorCode::bad_value, "a call has either a receiver or a group, not both or neither");
  }
  if (!receiverId.empty() && !is_valid_id(receiverId)) {
    return make_error(ErrorCode::bad_value, "invalid receiver id");
  }
  if (!groupId.empty() && !is_valid_id(groupId)) return make_error(ErrorCode::bad_value, "invalid group id");
  if (receiverId == callerId) return make_error(ErrorCode::bad_value, "a user cannot call themselves");
  CallRecord r;
  r.id = std::move(id);
  r.callerId = std::move(callerId);
  r.receiverId = std::move(receiverId);
  r.groupId = std::move(groupId);
  r.type = type;
  r.status = CallStatus::pending;
  r.createdAt = now;
  return r;
}

namespace {

enum class Side { caller, callee, server, stranger };

// In a group call the ledger does not know the members: the server checks membership
// before it asks, so anyone but the caller speaks as a callee.
Side side_of(const CallRecord& r, std::string_view actor) {
  if (actor == kServerActor) return Side::server;
  if (actor == r.callerId) return Side::caller;
  if (!r.groupId.empty() || actor == r.receiverId) return Side::callee;
  return Side::stranger;
}

Error not_allowed(LedgerAction a, std::string_view who) {
  return make_error(ErrorCode::not_participant,
                    std::string("the ") + std::string(who) + " of a call cannot " + std::string(to_string(a)) + " it");
}

Error wrong_status(const CallRecord& r, LedgerAction a) {
  return make_error(ErrorCode::invalid_state, "cannot " + std::string(to_string(a)) + " a call that is " +
                                                  std::string(to_string(r.status)));
}

CallRecord close(CallRecord r, CallStatus status, EndReason reason, Millis now) {
  r.status = status;
  r.endReason = reason;
  r.endedAt = now;
  if (r.startedAt) {
    const Millis ms = now > *r.startedAt ? now - *r.startedAt : 0;
    r.duration = ms / 1000;
  }
  return r;
}

}  // namespace

Expected<CallRecord> apply(const CallRecord& record, LedgerAction action, std::string_view actor,
                           Millis now, std::optional<EndReason> reason) {
  const Side side = side_of(record, actor);
  if (side == Side::stranger) {
    return make_error(ErrorCode::not_participant, "you are not part of this call");
  }
  const bool unanswered = is_unanswered(record.status);
  if (is_final(record.status)) return wrong_status(record, action);

  switch (action) {
    case LedgerAction::ring: {
      if (side == Side::caller) return not_allowed(action, "caller");
      if (!unanswered) return wrong_status(record, action);
      CallRecord r = record;
      r.status = CallStatus::ringing;
      return r;
    }
    case LedgerAction::accept: {
      if (side != Side::callee) return not_allowed(action, side == Side::caller ? "caller" : "server");
      if (!unanswered) return wrong_status(record, action);
      CallRecord r = record;
      r.status = CallStatus::active;
      r.startedAt = now;
      return r;
    }
    case LedgerAction::reject:
      if (side != Side::callee) return not_allowed(action, side == Side::caller ? "caller" : "server");
      if (!unanswered) return wrong_status(record, action);
      return close(record, CallStatus::rejected, EndReason::rejected, now);
    case LedgerAction::busy:
      if (side == Side::caller) return not_allowed(action, "caller");
      if (!unanswered) return wrong_status(record, action);
      return close(record, CallStatus::busy, EndReason::busy, now);
    case LedgerAction::cancel:
      if (side == Side::callee) return not_allowed(action, "callee");
      if (!unanswered) return wrong_status(record, action);
      return close(record, CallStatus::cancelled, reason.value_or(EndReason::cancelled), now);
    case LedgerAction::timeout:
      if (side != Side::server) return not_allowed(action, side == Side::caller ? "caller" : "callee");
      if (!unanswered) return wrong_status(record, action);
      return close(record, CallStatus::missed, EndReason::timeout, now);
    case LedgerAction::end:
      // Hanging up before an answer means what it means on a phone: the caller cancels,
      // the callee declines.
      if (unanswered) {
        if (side == Side::caller) return close(record, CallStatus::cancelled, EndReason::cancelled, now);
        if (side == Side::callee) return close(record, CallStatus::rejected, EndReason::rejected, now);
        return close(record, CallStatus::failed, reason.value_or(EndReason::failed), now);
      }
      return close(record, CallStatus::ended, reason.value_or(EndReason::hangup), now);
    case LedgerAction::fail: {
      if (unanswered) return close(record, CallStatus::failed, reason.value_or(EndReason::failed), now);
      // A phone ends an answered call as `failed` only while it is still connecting, so the
      // seconds since the accept were spent looking for a media path, not talking: the call
      // failed. One that breaks after it connected (`connection_lost`) still happened: it
      // ends, with its duration.
      if (reason == EndReason::failed) {
        CallRecord r = close(record, CallStatus::failed, EndReason::failed, now);
        r.duration = 0;
        return r;
      }
      return close(record, CallStatus::ended, reason.value_or(EndReason::connection_lost), now);
    }
  }
  return wrong_status(record, action);
}

namespace {

LedgerAction action_for_end(EndReason reason) {
  switch (reason) {
    case EndReason::failed:
    case EndReason::media_unavailable:
    case EndReason::connection_lost:
      return LedgerAction::fail;
    case EndReason::hangup:
    case EndReason::cancelled:
    case EndReason::rejected:
    case EndReason::busy:
    case EndReason::timeout:
    case EndReason::answered_elsewhere:
    case EndReason::glare:
      return LedgerAction::end;
  }
  return LedgerAction::end;
}

}  // namespace

std::optional<LedgerStep> ledger_step(const Body& body) {
  if (std::holds_alternative<msg::CallRinging>(body)) return LedgerStep{LedgerAction::ring, {}};
  if (std::holds_alternative<msg::CallAccept>(body)) return LedgerStep{LedgerAction::accept, {}};
  if (std::holds_alternative<msg::CallReject>(body)) return LedgerStep{LedgerAction::reject, {}};
  if (std::holds_alternative<msg::CallBusy>(body)) return LedgerStep{LedgerAction::busy, {}};
  if (const auto* cancel = std::get_if<msg::CallCancel>(&body)) {
    const auto action = cancel->reason == EndReason::timeout ? LedgerAction::timeout : LedgerAction::cancel;
    return LedgerStep{action, cancel->reason};
  }
  if (const auto* end = std::get_if<msg::CallEnd>(&body)) return LedgerStep{action_for_end(end->reason), end->reason};
  return std::nullopt;
}

}  // namespace duet
