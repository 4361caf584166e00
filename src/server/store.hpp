// The server's persistence: users and their password hashes, contacts, groups and call
// records, in one SQLite database in WAL mode. The Store keeps the rules that are about
// what may be stored (a username is taken once, case-insensitively; only the side that did
// not ask accepts a contact request; a group holds only its owner's contacts; who sees which
// calls in history and which count as missed); the rules about how a call may change are
// the core's ledger (duet::apply), which the server runs before it calls update_call().
// Anything a function reports as done is committed: it survives the process being killed.
// Nothing throws: every operation that touches the database can fail and says so with an
// Expected or a Status (conflict, not_found, forbidden, bad_value, or internal for a fault
// of the database itself). The predicates (are_contacts, is_member, share_group) guard
// permissions and fail closed instead: a database error answers false.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "duet/error.hpp"
#include "duet/ledger.hpp"

namespace duet::server {

inline constexpr std::size_t kMaxGroupNameBytes = 64;
inline constexpr std::size_t kMaxGroupMembers = 16;  // the owner included; a mesh call past this
                                                     // needs an SFU (DESIGN.md)
inline constexpr int kMaxHistoryPage = 100;          // calls_of and missed_calls clamp to 1..this

struct User {
  std::string id;
  std::string username;  // as typed at sign-up; compared case-insensitively (ASCII)
  std::string displayName;
  Millis createdAt = 0;

  friend bool operator==(const User&, const User&) = default;
};

// What sign-in needs and nothing else should see: the hash never leaves Auth.
struct Credentials {
  User user;
  std::string passwordHash;

  friend bool operator==(const Credentials&, const Credentials&) = default;
};

// Another user as seen from one user's contact list.
struct Contact {
  enum class State {
    accepted,  // both agreed; they may call each other
    outgoing,  // I asked, they have not answered
    incoming,  // they asked, I have not answered
  };
  User user;
  State state = State::outgoing;
  Millis since = 0;  // when it was accepted, or when it was asked while pending

  friend bool operator==(const Contact&, const Contact&) = default;
};
// "accepted", "outgoing" or "incoming": the stable names REST bodies use.
std::string_view to_string(Contact::State state);

struct Group {
  std::string id;
  std::string name;
  std::string ownerId;
  Millis createdAt = 0;
  std::vector<User> members;  // the owner included, ordered by display name

  friend bool operator==(const Group&, const Group&) = default;
};

// One Store may be shared by threads: its operations run one at a time, each to completion.
class Store {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" gives a private one for
  // tests. Creates or migrates the schema (PRAGMA user_version) and refuses a database made
  // by a newer server. Fails with internal when SQLite cannot open, configure or migrate it.
  static Expected<std::unique_ptr<Store>> open(const std::string& path);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- Users. The caller validates usernames and hashes passwords; the store keeps them
  // literally. Errors: bad_value for an invalid id or an empty username; conflict
  // "username is taken" when another user has it in any letter case; conflict for a taken id.
  Expected<User> create_user(const std::string& id, const std::string& username,
                             const std::string& displayName, const std::string& passwordHash,
                             Millis now);
  // These three give not_found when there is no such user.
  Expected<Credentials> find_credentials(const std::string& username);
  Expected<User> find_user(const std::string& id);
  Expected<User> find_user_by_name(const std::string& username);

  // --- Contacts: one record per pair of users, pending until the one who was asked accepts.
  // Asks `toId` to be a contact of `fromId`, or accepts when `toId` had already asked
  // (two people asking each other agree). Gives the contact as `fromId` sees it. Errors:
  // bad_value asking oneself; not_found for an unknown user; conflict when they are contacts
  // already or `fromId` has asked already.
  Expected<Contact> request_contact(const std::string& fromId, const std::string& toId, Millis now);
  // `userId` accepts the request `otherId` made. Errors: not_found when there is no request
  // between them; forbidden when `userId` is the one who asked; conflict when accepted already.
  Expected<Contact> accept_contact(const std::string& userId, const std::string& otherId, Millis now);
  // Removes the pair's record, whatever its state: unfriending, declining a request and
  // withdrawing one are all this. Groups keep their members. Errors: not_found when none.
  Status remove_contact(const std::string& userId, const std::string& otherId);
  // Every contact and request of `userId`, ordered by display name (case-insensitive).
  Expected<std::vector<Contact>> contacts(const std::string& userId);
  // True only for an accepted pair.
  bool are_contacts(const std::string& a, const std::string& b);

  // --- Groups. The owner is always a member; every other member must be an accepted contact
  // of the owner (you can only put your own contacts in a group). Duplicates in `memberIds`
  // count once. Errors: bad_value for an invalid id, a name outside 1..kMaxGroupNameBytes
  // bytes or more than kMaxGroupMembers members; not_found naming an unknown owner or member;
  // forbidden naming a member who is not the owner's contact; conflict for a taken id.
  Expected<Group> create_group(const std::string& id, const std::string& ownerId,
                               const std::string& name, const std::vector<std::string>& memberIds,
                               Millis now);
  // The groups `userId` is a member of, ordered by name (case-insensitive).
  Expected<std::vector<Group>> groups_of(const std::string& userId);
  Expected<Group> find_group(const std::string& id);  // not_found when there is none
  bool is_member(const std::string& groupId, const std::string& userId);
  // True when some group has both as members (group mates may call each other in it).
  bool share_group(const std::string& a, const std::string& b);

  // --- Calls. Records come from duet::open_call and duet::apply; the store does not judge
  // transitions. Errors: conflict for a taken id; not_found when the record names a user or
  // group that does not exist; bad_value when it has both or neither of receiver and group.
  Status insert_call(const CallRecord& record);
  // Writes the fields a call's life changes (status, startedAt, endedAt, duration,
  // endReason); who, which group, the type and createdAt are fixed at insert_call and kept.
  // Errors: not_found when there is no call with the record's id.
  Status update_call(const CallRecord& record);
  Expected<CallRecord> find_call(const std::string& id);  // not_found when there is none
  // The history of `userId`: calls they made, were called in, or that rang a group they are
  // a member of; newest first (createdAt, then id, descending, so pages are stable), `limit`
  // clamped to 1..kMaxHistoryPage, after skipping `skip` (negative counts as 0).
  Expected<std::vector<CallRecord>> calls_of(const std::string& userId, int limit, int skip);
  // Calls `userId` missed, newest first, `limit` clamped like calls_of. A call is missed by a
  // callee (the receiver, or a member of the called group other than the caller) when
  //   - its status is missed (the ring timeout passed), or
  //   - its status is cancelled with endReason cancelled or timeout: the caller gave up
  //     while it rang, which the callee experiences as a missed call, as on a phone.
  // Cancelled for any other reason (glare, answered_elsewhere, ...) is not missed: the call
  // was replaced or taken. Rejected and busy are not missed: the callee chose or was busy.
  Expected<std::vector<CallRecord>> missed_calls(const std::string& userId, int limit);
  // The badge: how many of those calls were created after the user last looked (mark_missed_seen).
  Expected<int> unseen_missed_count(const std::string& userId);
  // The user has seen their missed calls up to `now`; never moves the mark backwards.
  // Errors: not_found for an unknown user.
  Status mark_missed_seen(const std::string& userId, Millis now);
  // Calls still pending, ringing or active, oldest first: after a crash nobody is in them,
  // so the server closes them at start-up.
  Expected<std::vector<CallRecord>> unfinished_calls();

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace duet::server
