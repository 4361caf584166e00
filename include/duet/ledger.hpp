// The call record and the rules that change it. A record is what history shows and what
// the server stores: who called whom (or which group), audio or video, and how it went,
// with the seed's fields and statuses. apply() is the only way a record changes; it checks
// that the actor is allowed to make the change and that the change makes sense in the
// record's current status, so the server can use it as the authority for call records and
// the client can use it to show the same history.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "duet/error.hpp"
#include "duet/phone.hpp"
#include "duet/protocol.hpp"

namespace duet {

// pending: created, the callee not reached yet; ringing: a callee device rings;
// active: answered; the rest are final.
enum class CallStatus { pending, ringing, active, ended, missed, rejected, busy, cancelled, failed };
std::string_view to_string(CallStatus);
bool parse_call_status(std::string_view, CallStatus&);
bool is_final(CallStatus);
// pending or ringing: nobody has answered yet.
bool is_unanswered(CallStatus);

struct CallRecord {
  std::string id;
  std::string callerId;
  std::string receiverId;  // empty for a group call
  std::string groupId;     // empty for a one-to-one call
  CallType type = CallType::audio;
  CallStatus status = CallStatus::pending;
  Millis createdAt = 0;
  std::optional<Millis> startedAt;   // when it was answered
  std::optional<Millis> endedAt;     // when it reached a final status
  std::optional<std::int64_t> duration;  // whole seconds from startedAt to endedAt, if answered
  std::optional<EndReason> endReason;

  bool involves(std::string_view user) const { return user == callerId || user == receiverId; }

  friend bool operator==(const CallRecord&, const CallRecord&) = default;
};

// A new record for a call someone starts. Fails with bad_value on an invalid id, or when
// neither or both of receiverId and groupId are given, or the caller calls themselves.
Expected<CallRecord> open_call(std::string id, std::string callerId, std::string receiverId,
                               std::string groupId, CallType type, Millis now);

enum class LedgerAction {
  ring,     // a callee device is ringing (receiver)
  accept,   // the callee answered (receiver)
  reject,   // the callee declined (receiver)
  busy,     // the callee is in another call (receiver, or the server for them)
  cancel,   // the caller gave up before an answer (caller)
  timeout,  // the ring timeout passed unanswered (the server)
  end,      // a participant hung up an answered call (caller or receiver)
  fail,     // no media path, or a participant was lost (either, or the server)
};
std::string_view to_string(LedgerAction);

// Who asks for the change: a participant by user id, or the server itself (kServerActor).
inline constexpr std::string_view kServerActor = "";

// The record after `action` by `actor` at `now`. Errors: not_participant when the actor
// is not part of the call or not the side that may take this action; invalid_state when
// the call's status does not allow it (accepting an ended call, ending a missed one).
Expected<CallRecord> apply(const CallRecord& record, LedgerAction action, std::string_view actor,
                           Millis now, std::optional<EndReason> reason = std::nullopt);

// What a call-lifecycle message says happened to its call, in the ledger's terms.
struct LedgerStep {
  LedgerAction action;
  std::optional<EndReason> reason;

  friend bool operator==(const LedgerStep&, const LedgerStep&) = default;
};

// call:ringing, call:accept, call:reject and call:busy map to their actions; call:cancel to
// cancel, or to timeout when its reason is timeout (the caller's ring clock agreeing with the
// server's); call:end to end, or to fail for the reasons that mean the call broke (failed,
// media_unavailable, connection_lost). The server and any client-side history use this one
// rule. Every other message changes no record: nullopt.
std::optional<LedgerStep> ledger_step(const Body& body);

}  // namespace duet
