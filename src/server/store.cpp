// The Store over SQLite's C API. Every statement is prepared once, at open, and kept: the
// SQL is checked before the server takes its first request, and a request pays only for
// binding and stepping. One connection, behind one mutex: SQLite does one thing at a time on
// a connection anyway, and the cached statements are shared state.
#include "server/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <optional>
#include <utility>

namespace duet::server {

namespace {

// Each entry moves the schema from version i to i + 1 and is recorded in PRAGMA user_version.
// A published entry never changes (databases in the field were made by it): to change the
// schema, append an entry. Statuses, types and reasons are the core's stable names
// (duet::to_string); the queries below spell the ones they select on.
constexpr const char* kMigrations[] = {
    // 1: users, contacts, groups, calls.
    R"sql(
CREATE TABLE users(
  id             TEXT PRIMARY KEY NOT NULL,
  username       TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name   TEXT NOT NULL,
  password_hash  TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  missed_seen_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- One row per unordered pair: user_a < user_b, so a pair cannot be stored twice.
CREATE TABLE contacts(
  user_a       TEXT NOT NULL REFERENCES users(id),
  user_b       TEXT NOT NULL REFERENCES users(id),
  requested_by TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'accepted')),
  created_at   INTEGER NOT NULL,
  accepted_at  INTEGER,
  PRIMARY KEY (user_a, user_b),
  CHECK (user_a < user_b),
  CHECK (requested_by IN (user_a, user_b))
) STRICT;
CREATE INDEX contacts_by_b ON contacts(user_b);

CREATE TABLE groups(
  id         TEXT PRIMARY KEY NOT NULL,
  name       TEXT NOT NULL,
  owner_id   TEXT NOT NULL REFERENCES users(id),
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE group_members(
  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id  TEXT NOT NULL REFERENCES users(id),
  PRIMARY KEY (group_id, user_id)
) STRICT;
CREATE INDEX group_members_by_user ON group_members(user_id, group_id);

CREATE TABLE calls(
  id          TEXT PRIMARY KEY NOT NULL,
  caller_id   TEXT NOT NULL REFERENCES users(id),
  receiver_id TEXT REFERENCES users(id),
  group_id    TEXT REFERENCES groups(id),
  type        TEXT NOT NULL,
  status      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  started_at  INTEGER,
  ended_at    INTEGER,
  duration    INTEGER,
  end_reason  TEXT,
  CHECK ((receiver_id IS NULL) <> (group_id IS NULL))
) STRICT;
-- History is read per participant, newest first.
CREATE INDEX calls_by_caller ON calls(caller_id, created_at DESC, id DESC);
CREATE INDEX calls_by_receiver ON calls(receiver_id, created_at DESC, id DESC);
CREATE INDEX calls_by_group ON calls(group_id, created_at DESC, id DESC);
-- Start-up looks for calls a crash left open; they are few among many finished ones.
CREATE INDEX calls_unfinished ON calls(created_at, id) WHERE status IN ('pending', 'ringing', 'active');
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// A busy database (a backup, an operator's sqlite3 shell) is waited for this long before a
// write gives up with internal.
constexpr int kBusyTimeoutMs = 5'000;

// The one place a SQLite result code becomes an Error. Constraint failures are the caller's
// doing and get codes a caller can act on; anything else is a fault of the database.
Error sql_error(sqlite3* db, int rc, std::string_view doing) {
  std::string message = std::string(doing) + ": " + sqlite3_errmsg(db);
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return make_error(ErrorCode::conflict, std::move(message));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return make_error(ErrorCode::not_found, std::move(message));
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_CONSTRAINT_DATATYPE:
      return make_error(ErrorCode::bad_value, std::move(message));
    default:
      return make_error(ErrorCode::internal, std::move(message));
  }
}

struct CloseDb {
  // sqlite3_close_v2 cannot fail on a valid handle; it defers if a statement is still open.
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, CloseDb>;

// A prepared statement, owned.
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  // finalize's result repeats the last step's, which was reported when it happened.
  ~Stmt() { sqlite3_finalize(stmt_); }

  Status prepare(sqlite3* db, std::string_view sql) {
    // PERSISTENT: these live as long as the Store, so SQLite keeps them out of its lookaside.
    const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) return sql_error(db, rc, "preparing \"" + std::string(sql) + "\"");
    return Done{};
  }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

enum class Step { row, done };

// One use of a cached statement: bind parameters in order, step, read columns. On scope exit
// it resets the statement, so the next use starts unbound and no finished read keeps a
// snapshot open (an open read stops WAL checkpoints from catching up).
class Query {
 public:
  Query(sqlite3* db, const Stmt& stmt) : db_(db), s_(stmt.get()) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  // reset's result repeats the last step's, and clear_bindings cannot fail.
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  // A failed bind is kept and reported by the next step(), so call sites stay one line.
  Query& text(std::string_view v) {
    if (v.size() > static_cast<std::size_t>(INT_MAX)) return keep(SQLITE_TOOBIG);
    // An empty view may have no data pointer, which SQLite would bind as NULL, not "".
    const char* data = v.data() ? v.data() : "";
    return keep(sqlite3_bind_text(s_, ++index_, data, static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Query& text_or_null(std::string_view v) { return v.empty() ? null() : text(v); }
  Query& integer(std::int64_t v) { return keep(sqlite3_bind_int64(s_, ++index_, v)); }
  Query& integer(std::optional<std::int64_t> v) { return v ? integer(*v) : null(); }
  Query& null() { return keep(sqlite3_bind_null(s_, ++index_)); }

  Expected<Step> step() {
    if (bind_rc_ != SQLITE_OK) return sql_error(db_, bind_rc_, "binding");
    rc_ = sqlite3_step(s_);
    if (rc_ == SQLITE_ROW) return Step::row;
    if (rc_ == SQLITE_DONE) return Step::done;
    // The extended code names the constraint (sqlite3_step gives only SQLITE_CONSTRAINT).
    rc_ = sqlite3_extended_errcode(db_);
    return sql_error(db_, rc_, sqlite3_sql(s_));
  }
  // Runs a statement that returns no rows.
  Status run() {
    auto s = step();
    if (!s) return s.error();
    return Done{};
  }
  // The extended result code of the last step, to tell which constraint failed.
  int result_code() const { return rc_; }
  // Rows the last INSERT, UPDATE or DELETE touched.
  int changes() const { return sqlite3_changes(db_); }

  // NULL reads as "" (columns that may be NULL map to empty strings in our structs).
  std::string text_at(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }
  std::int64_t integer_at(int col) const { return sqlite3_column_int64(s_, col); }
  std::optional<std::int64_t> optional_at(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return integer_at(col);
  }

 private:
  Query& keep(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }

  sqlite3* db_;
  sqlite3_stmt* s_;
  int index_ = 0;
  int bind_rc_ = SQLITE_OK;
  int rc_ = SQLITE_OK;
};

// Runs statements that need no caching (set-up at open) and may hold several statements.
Status exec(sqlite3* db, const char* sql, std::string_view doing) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Done{};
  std::string message = std::string(doing) + ": " + (err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  return make_error(ErrorCode::internal, std::move(message));
}

// A PRAGMA's single answer, as text.
Expected<std::string> pragma(sqlite3* db, std::string_view sql) {
  Stmt stmt;
  if (auto p = stmt.prepare(db, sql); !p) return p.error();
  Query q(db, stmt);
  auto s = q.step();
  if (!s) return s.error();
  if (*s == Step::done) return std::string();
  return q.text_at(0);
}

std::string quoted(std::string_view id) { return "'" + std::string(id) + "'"; }

// Columns every call query selects, in the order read_call reads them.
constexpr std::string_view kCallColumns =
    "id, caller_id, receiver_id, group_id, type, status, created_at, started_at, ended_at, duration, "
    "end_reason";

// The calls `?1` missed as a callee; see Store::missed_calls for why cancelled ones count.
constexpr std::string_view kMissedWhere =
    "caller_id <> ?1"
    " AND (receiver_id = ?1 OR group_id IN (SELECT group_id FROM group_members WHERE user_id = ?1))"
    " AND (status = 'missed' OR (status = 'cancelled' AND end_reason IN ('cancelled', 'timeout')))";

Expected<CallRecord> read_call(const Query& q) {
  CallRecord r;
  r.id = q.text_at(0);
  r.callerId = q.text_at(1);
  r.receiverId = q.text_at(2);
  r.groupId = q.text_at(3);
  const std::string type = q.text_at(4);
  const std::string status = q.text_at(5);
  r.createdAt = q.integer_at(6);
  r.startedAt = q.optional_at(7);
  r.endedAt = q.optional_at(8);
  r.duration = q.optional_at(9);
  const std::string reason = q.text_at(10);
  // The database holds only names the core wrote; another name means it was edited by hand
  // or by a newer server, and the record cannot be trusted.
  if (!parse_call_type(type, r.type)) {
    return make_error(ErrorCode::internal, "call " + r.id + " has an unknown type " + quoted(type));
  }
  if (!parse_call_status(status, r.status)) {
    return make_error(ErrorCode::internal, "call " + r.id + " has an unknown status " + quoted(status));
  }
  if (!reason.empty()) {
    EndReason e{};
    if (!parse_end_reason(reason, e)) {
      return make_error(ErrorCode::internal, "call " + r.id + " has an unknown end reason " + quoted(reason));
    }
    r.endReason = e;
  }
  return r;
}

User read_user(const Query& q) { return User{q.text_at(0), q.text_at(1), q.text_at(2), q.integer_at(3)}; }

// The pair's row key: contacts stores each unordered pair once, smaller id first.
std::pair<const std::string&, const std::string&> ordered(const std::string& a, const std::string& b) {
  if (a < b) return {a, b};
  return {b, a};
}

// A row of contacts, as one of the pair sees it.
struct PairRow {
  std::string requestedBy;
  bool accepted = false;
  Millis createdAt = 0;
  std::optional<Millis> acceptedAt;
};

Contact contact_of(User other, const std::string& me, const PairRow& p) {
  Contact c;
  c.user = std::move(other);
  if (p.accepted) {
    c.state = Contact::State::accepted;
    c.since = p.acceptedAt.value_or(p.createdAt);
  } else {
    c.state = p.requestedBy == me ? Contact::State::outgoing : Contact::State::incoming;
    c.since = p.createdAt;
  }
  return c;
}

struct TxStmts {
  Stmt begin, commit, rollback;
};

// A write of several statements. BEGIN IMMEDIATE takes the write lock up front: a
// read-then-write cannot then fail half-way with SQLITE_BUSY, and what it read cannot change
// before it writes. The destructor rolls back whatever was not committed.
class Transaction {
 public:
  Transaction(sqlite3* db, const TxStmts& stmts) : db_(db), stmts_(stmts) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    // Some errors (disk full, I/O) roll back by themselves; rolling back again would fail.
    // A failed rollback leaves nothing more to try here; the next BEGIN would report it.
    if (open_ && !sqlite3_get_autocommit(db_)) (void)Query(db_, stmts_.rollback).run();
  }

  Status begin() {
    auto r = Query(db_, stmts_.begin).run();
    open_ = r.has_value();
    return r;
  }
  Status commit() {
    auto r = Query(db_, stmts_.commit).run();
    if (r) open_ = false;
    return r;
  }

 private:
  sqlite3* db_;
  const TxStmts& stmts_;
  bool open_ = false;
};

}  // namespace

// --- The connection and its statements ------------------------------------------------------

struct Store::Impl {
  DbHandle db;  // declared first: destroyed last, after the statements below
  std::mutex mutex;

  TxStmts tx;
  Stmt user_insert, user_by_id, user_by_name, missed_seen_update;
  Stmt pair_get, pair_insert, pair_accept, pair_delete, pair_accepted, contacts_of;
  Stmt group_insert, member_insert, group_get, group_members, groups_of, member_get, groups_shared;
  Stmt call_insert, call_update, call_get, calls_of, calls_missed, missed_unseen, calls_unfinished;

  Status prepare_all();

  Query query(const Stmt& s) { return Query(db.get(), s); }

  // Unlocked helpers for the public operations, which hold the mutex.
  Expected<User> user(const std::string& id);
  Expected<std::optional<PairRow>> pair(const std::string& a, const std::string& b);
  Expected<bool> accepted(const std::string& a, const std::string& b);
  Expected<Group> group(const std::string& id);
  Expected<std::vector<User>> members(const std::string& groupId);
  Expected<std::vector<CallRecord>> calls(Query& q);
};

Status Store::Impl::prepare_all() {
  const std::string calls = "SELECT " + std::string(kCallColumns) + " FROM calls ";
  const std::pair<Stmt*, std::string> all[] = {
      {&tx.begin, "BEGIN IMMEDIATE"},
      {&tx.commit, "COMMIT"},
      {&tx.rollback, "ROLLBACK"},

      {&user_insert,
       "INSERT INTO users(id, username, display_name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)"},
      {&user_by_id, "SELECT id, username, display_name, created_at FROM users WHERE id = ?"},
      // The column's NOCASE collation makes this comparison, and its index, case-insensitive.
      {&user_by_name,
       "SELECT id, username, display_name, created_at, password_hash FROM users WHERE username = ?"},
      {&missed_seen_update, "UPDATE users SET missed_seen_at = max(missed_seen_at, ?2) WHERE id = ?1"},

      {&pair_get, "SELECT requested_by, status, created_at, accepted_at FROM contacts WHERE user_a = ? AND user_b = ?"},
      {&pair_insert,
       "INSERT INTO contacts(user_a, user_b, requested_by, status, created_at) VALUES (?, ?, ?, 'pending', ?)"},
      {&pair_accept,
       "UPDATE contacts SET status = 'accepted', accepted_at = ?3"
       " WHERE user_a = ?1 AND user_b = ?2 AND status = 'pending'"},
      {&pair_delete, "DELETE FROM contacts WHERE user_a = ? AND user_b = ?"},
      {&pair_accepted, "SELECT 1 FROM contacts WHERE user_a = ? AND user_b = ? AND status = 'accepted'"},
      {&contacts_of,
       "SELECT u.id, u.username, u.display_name, u.created_at, c.requested_by, c.status, c.created_at,"
       " c.accepted_at FROM contacts c"
       " JOIN users u ON u.id = CASE WHEN c.user_a = ?1 THEN c.user_b ELSE c.user_a END"
       " WHERE c.user_a = ?1 OR c.user_b = ?1 ORDER BY u.display_name COLLATE NOCASE, u.id"},

      {&group_insert, "INSERT INTO groups(id, name, owner_id, created_at) VALUES (?, ?, ?, ?)"},
      {&member_insert, "INSERT INTO group_members(group_id, user_id) VALUES (?, ?)"},
      {&group_get, "SELECT id, name, owner_id, created_at FROM groups WHERE id = ?"},
      {&group_members,
       "SELECT u.id, u.username, u.display_name, u.created_at FROM group_members m"
       " JOIN users u ON u.id = m.user_id WHERE m.group_id = ? ORDER BY u.display_name COLLATE NOCASE, u.id"},
      {&groups_of,
       "SELECT g.id, g.name, g.owner_id, g.created_at FROM group_members m JOIN groups g ON g.id = m.group_id"
       " WHERE m.user_id = ? ORDER BY g.name COLLATE NOCASE, g.id"},
      {&member_get, "SELECT 1 FROM group_members WHERE group_id = ? AND user_id = ?"},
      {&groups_shared,
       "SELECT 1 FROM group_members a JOIN group_members b ON b.group_id = a.group_id"
       " WHERE a.user_id = ? AND b.user_id = ? LIMIT 1"},

      {&call_insert,
       "INSERT INTO calls(" + std::string(kCallColumns) + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
      {&call_update,
       "UPDATE calls SET status = ?, started_at = ?, ended_at = ?, duration = ?, end_reason = ? WHERE id = ?"},
      {&call_get, calls + "WHERE id = ?"},
      {&calls_of,
       calls +
           "WHERE caller_id = ?1 OR receiver_id = ?1"
           " OR group_id IN (SELECT group_id FROM group_members WHERE user_id = ?1)"
           " ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"},
      {&calls_missed, calls + "WHERE " + std::string(kMissedWhere) + " ORDER BY created_at DESC, id DESC LIMIT ?2"},
      {&missed_unseen,
       "SELECT count(*) FROM calls WHERE " + std::string(kMissedWhere) +
           " AND created_at > (SELECT missed_seen_at FROM users WHERE id = ?1)"},
      {&calls_unfinished,
       calls + "WHERE status IN ('pending', 'ringing', 'active') ORDER BY created_at, id"},
  };
  for (const auto& [stmt, sql] : all) {
    if (auto p = stmt->prepare(db.get(), sql); !p) return p.error();
  }
  return Done{};
}

Expected<User> Store::Impl::user(const std::string& id) {
  Query q = query(user_by_id);
  auto s = q.text(id).step();
  if (!s) return s.error();
  if (*s == Step::done) return make_error(ErrorCode::not_found, "no user " + quoted(id));
  return read_user(q);
}

Expected<std::optional<PairRow>> Store::Impl::pair(const std::string& a, const std::string& b) {
  const auto [lo, hi] = ordered(a, b);
  Query q = query(pair_get);
  auto s = q.text(lo).text(hi).step();
  if (!s) return s.error();
  if (*s == Step::done) return std::optional<PairRow>();
  return std::optional<PairRow>(PairRow{q.text_at(0), q.text_at(1) == "accepted", q.integer_at(2), q.optional_at(3)});
}

Expected<bool> Store::Impl::accepted(const std::string& a, const std::string& b) {
  const auto [lo, hi] = ordered(a, b);
  Query q = query(pair_accepted);
  auto s = q.text(lo).text(hi).step();
  if (!s) return s.error();
  return *s == Step::row;
}

Expected<std::vector<User>> Store::Impl::members(const std::string& groupId) {
  Query q = query(group_members);
  q.text(groupId);
  std::vector<User> out;
  for (;;) {
    auto s = q.step();
    if (!s) return s.error();
    if (*s == Step::done) return out;
    out.push_back(read_user(q));
  }
}

Expected<Group> Store::Impl::group(const std::string& id) {
  Group g;
  {
    Query q = query(group_get);
    auto s = q.text(id).step();
    if (!s) return s.error();
    if (*s == Step::done) return make_error(ErrorCode::not_found, "no group " + quoted(id));
    g = Group{q.text_at(0), q.text_at(1), q.text_at(2), q.integer_at(3), {}};
  }
  auto m = members(id);
  if (!m) return m.error();
  g.members = std::move(*m);
  return g;
}

Expected<std::vector<CallRecord>> Store::Impl::calls(Query& q) {
  std::vector<CallRecord> out;
  for (;;) {
    auto s = q.step();
    if (!s) return s.error();
    if (*s == Step::done) return out;
    auto r = read_call(q);
    if (!r) return r.error();
    out.push_back(std::move(*r));
  }
}

// --- Opening ---------------------------------------------------------------------------------

namespace {

Status migrate(sqlite3* db) {
  // Read the version inside the write transaction, so two processes opening a new file at
  // once cannot both create the schema.
  if (auto b = exec(db, "BEGIN IMMEDIATE", "starting the schema migration"); !b) return b;
  auto fail = [db](Error e) -> Status {
    if (!sqlite3_get_autocommit(db)) (void)exec(db, "ROLLBACK", "rolling back the schema migration");
    return e;
  };
  auto version = pragma(db, "PRAGMA user_version");
  if (!version) return fail(version.error());
  const int from = std::atoi(version->c_str());
  if (from < 0 || from > kSchemaVersion) {
    // Refused rather than used: a newer server may store things this one would misread.
    return fail(make_error(ErrorCode::internal,
                           "the database has schema version " + std::to_string(from) + "; this server knows 0 to " +
                               std::to_string(kSchemaVersion) + " (was it made by a newer server?)"));
  }
  for (int v = from; v < kSchemaVersion; ++v) {
    if (auto m = exec(db, kMigrations[v], "migrating the schema to version " + std::to_string(v + 1)); !m) {
      return fail(m.error());
    }
  }
  if (from < kSchemaVersion) {
    const std::string set = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
    if (auto s = exec(db, set.c_str(), "recording the schema version"); !s) return fail(s.error());
  }
  if (auto c = exec(db, "COMMIT", "committing the schema migration"); !c) return fail(c.error());
  return Done{};
}

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Expected<std::unique_ptr<Store>> Store::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  sqlite3* raw = nullptr;
  // NOMUTEX: the Store's own mutex serializes every use of the connection.
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  impl->db.reset(raw);  // even a failed open may allocate a handle, which must be closed
  if (rc != SQLITE_OK) {
    return make_error(ErrorCode::internal, "cannot open database " + path + ": " +
                                               (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3* db = raw;
  // Extended codes tell a duplicate (conflict) from a missing reference (not_found).
  if (int e = sqlite3_extended_result_codes(db, 1); e != SQLITE_OK) return sql_error(db, e, "enabling extended codes");
  if (int e = sqlite3_busy_timeout(db, kBusyTimeoutMs); e != SQLITE_OK) return sql_error(db, e, "setting busy timeout");

  // Foreign keys are off by default, per connection; check it took (a build can omit them).
  if (auto s = exec(db, "PRAGMA foreign_keys = ON", "enabling foreign keys"); !s) return s.error();
  auto fk = pragma(db, "PRAGMA foreign_keys");
  if (!fk) return fk.error();
  if (*fk != "1") return make_error(ErrorCode::internal, "this SQLite cannot enforce foreign keys");

  // WAL with synchronous=NORMAL: a commit is appended to the write-ahead log before the
  // function that made it returns, so a process crash (kill -9) loses nothing committed; the
  // log is fsynced at checkpoints, so only a power loss or OS crash can lose the last few
  // commits, and never corrupts the file. Readers and the writer do not block each other.
  auto mode = pragma(db, "PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  if (*mode != "wal" && !(path == ":memory:" && *mode == "memory")) {
    return make_error(ErrorCode::internal, "cannot use WAL mode for " + path + " (journal mode is " + *mode + ")");
  }
  if (auto s = exec(db, "PRAGMA synchronous = NORMAL", "setting synchronous"); !s) return s.error();

  if (auto m = migrate(db); !m) return m.error();
  if (auto p = impl->prepare_all(); !p) return p.error();
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

std::string_view to_string(Contact::State state) {
  switch (state) {
    case Contact::State::accepted: return "accepted";
    case Contact::State::outgoing: return "outgoing";
    case Contact::State::incoming: return "incoming";
  }
  return "accepted";
}

// --- Users -----------------------------------------------------------------------------------

Expected<User> Store::create_user(const std::string& id, const std::string& username,
                                  const std::string& displayName, const std::string& passwordHash, Millis now) {
  if (!is_valid_id(id)) return make_error(ErrorCode::bad_value, "invalid user id " + quoted(id));
  if (username.empty()) return make_error(ErrorCode::bad_value, "a username cannot be empty");
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->user_insert);
  auto r = q.text(id).text(username).text(displayName).text(passwordHash).integer(now).run();
  if (!r) {
    if (q.result_code() == SQLITE_CONSTRAINT_UNIQUE) return make_error(ErrorCode::conflict, "username is taken");
    if (q.result_code() == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return make_error(ErrorCode::conflict, "user id " + quoted(id) + " is taken");
    }
    return r.error();
  }
  return User{id, username, displayName, now};
}

Expected<Credentials> Store::find_credentials(const std::string& username) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->user_by_name);
  auto s = q.text(username).step();
  if (!s) return s.error();
  if (*s == Step::done) return make_error(ErrorCode::not_found, "no user named " + quoted(username));
  return Credentials{read_user(q), q.text_at(4)};
}

Expected<User> Store::find_user(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  return impl_->user(id);
}

Expected<User> Store::find_user_by_name(const std::string& username) {
  auto c = find_credentials(username);
  if (!c) return c.error();
  return std::move(c->user);
}

// --- Contacts --------------------------------------------------------------------------------

Expected<Contact> Store::request_contact(const std::string& fromId, const std::string& toId, Millis now) {
  if (fromId == toId) return make_error(ErrorCode::bad_value, "you cannot add yourself as a contact");
  std::lock_guard lock(impl_->mutex);
  Transaction tx(impl_->db.get(), impl_->tx);
  if (auto b = tx.begin(); !b) return b.error();
  if (auto from = impl_->user(fromId); !from) return from.error();
  auto to = impl_->user(toId);
  if (!to) return to.error();
  auto existing = impl_->pair(fromId, toId);
  if (!existing) return existing.error();
  const auto [lo, hi] = ordered(fromId, toId);

  PairRow result;
  if (!*existing) {
    if (auto r = impl_->query(impl_->pair_insert).text(lo).text(hi).text(fromId).integer(now).run(); !r) {
      return r.error();
    }
    result = PairRow{fromId, false, now, std::nullopt};
  } else if ((*existing)->accepted) {
    return make_error(ErrorCode::conflict, "you are contacts already");
  } else if ((*existing)->requestedBy == fromId) {
    return make_error(ErrorCode::conflict, "you have asked already");
  } else {
    // They asked first: asking back is agreeing.
    if (auto r = impl_->query(impl_->pair_accept).text(lo).text(hi).integer(now).run(); !r) return r.error();
    result = **existing;
    result.accepted = true;
    result.acceptedAt = now;
  }
  if (auto c = tx.commit(); !c) return c.error();
  return contact_of(std::move(*to), fromId, result);
}

Expected<Contact> Store::accept_contact(const std::string& userId, const std::string& otherId, Millis now) {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(impl_->db.get(), impl_->tx);
  if (auto b = tx.begin(); !b) return b.error();
  auto existing = impl_->pair(userId, otherId);
  if (!existing) return existing.error();
  if (!*existing) return make_error(ErrorCode::not_found, "no contact request from " + quoted(otherId));
  PairRow p = **existing;
  if (p.accepted) return make_error(ErrorCode::conflict, "you are contacts already");
  if (p.requestedBy == userId) return make_error(ErrorCode::forbidden, "only the one who was asked can accept");
  auto other = impl_->user(otherId);
  if (!other) return other.error();
  const auto [lo, hi] = ordered(userId, otherId);
  if (auto r = impl_->query(impl_->pair_accept).text(lo).text(hi).integer(now).run(); !r) return r.error();
  if (auto c = tx.commit(); !c) return c.error();
  p.accepted = true;
  p.acceptedAt = now;
  return contact_of(std::move(*other), userId, p);
}

Status Store::remove_contact(const std::string& userId, const std::string& otherId) {
  std::lock_guard lock(impl_->mutex);
  const auto [lo, hi] = ordered(userId, otherId);
  Query q = impl_->query(impl_->pair_delete);
  if (auto r = q.text(lo).text(hi).run(); !r) return r;
  if (q.changes() == 0) return make_error(ErrorCode::not_found, "no contact or request with " + quoted(otherId));
  return Done{};
}

Expected<std::vector<Contact>> Store::contacts(const std::string& userId) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->contacts_of);
  q.text(userId);
  std::vector<Contact> out;
  for (;;) {
    auto s = q.step();
    if (!s) return s.error();
    if (*s == Step::done) return out;
    const PairRow p{q.text_at(4), q.text_at(5) == "accepted", q.integer_at(6), q.optional_at(7)};
    out.push_back(contact_of(read_user(q), userId, p));
  }
}

bool Store::are_contacts(const std::string& a, const std::string& b) {
  std::lock_guard lock(impl_->mutex);
  auto r = impl_->accepted(a, b);
  return r && *r;  // an error denies
}

// --- Groups ----------------------------------------------------------------------------------

Expected<Group> Store::create_group(const std::string& id, const std::string& ownerId, const std::string& name,
                                    const std::vector<std::string>& memberIds, Millis now) {
  if (!is_valid_id(id)) return make_error(ErrorCode::bad_value, "invalid group id " + quoted(id));
  if (name.empty() || name.size() > kMaxGroupNameBytes) {
    return make_error(ErrorCode::bad_value,
                      "a group name has 1 to " + std::to_string(kMaxGroupNameBytes) + " bytes");
  }
  std::vector<std::string> others;
  for (const auto& m : memberIds) {
    if (m != ownerId && std::find(others.begin(), others.end(), m) == others.end()) others.push_back(m);
  }
  if (others.size() + 1 > kMaxGroupMembers) {
    return make_error(ErrorCode::bad_value,
                      "a group has at most " + std::to_string(kMaxGroupMembers) + " members, the owner included");
  }

  std::lock_guard lock(impl_->mutex);
  Transaction tx(impl_->db.get(), impl_->tx);
  if (auto b = tx.begin(); !b) return b.error();
  if (auto owner = impl_->user(ownerId); !owner) return owner.error();
  for (const auto& m : others) {
    if (auto u = impl_->user(m); !u) return u.error();
    auto ok = impl_->accepted(ownerId, m);
    if (!ok) return ok.error();
    if (!*ok) return make_error(ErrorCode::forbidden, quoted(m) + " is not a contact of the group's owner");
  }
  {
    Query q = impl_->query(impl_->group_insert);
    if (auto r = q.text(id).text(name).text(ownerId).integer(now).run(); !r) {
      if (q.result_code() == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return make_error(ErrorCode::conflict, "group id " + quoted(id) + " is taken");
      }
      return r.error();
    }
  }
  others.insert(others.begin(), ownerId);
  for (const auto& m : others) {
    if (auto r = impl_->query(impl_->member_insert).text(id).text(m).run(); !r) return r.error();
  }
  auto g = impl_->group(id);
  if (!g) return g.error();
  if (auto c = tx.commit(); !c) return c.error();
  return g;
}

Expected<std::vector<Group>> Store::groups_of(const std::string& userId) {
  std::lock_guard lock(impl_->mutex);
  std::vector<Group> out;
  {
    Query q = impl_->query(impl_->groups_of);
    q.text(userId);
    for (;;) {
      auto s = q.step();
      if (!s) return s.error();
      if (*s == Step::done) break;
      out.push_back(Group{q.text_at(0), q.text_at(1), q.text_at(2), q.integer_at(3), {}});
    }
  }
  for (auto& g : out) {
    auto m = impl_->members(g.id);
    if (!m) return m.error();
    g.members = std::move(*m);
  }
  return out;
}

Expected<Group> Store::find_group(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  return impl_->group(id);
}

bool Store::is_member(const std::string& groupId, const std::string& userId) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->member_get);
  auto s = q.text(groupId).text(userId).step();
  return s && *s == Step::row;  // an error denies
}

bool Store::share_group(const std::string& a, const std::string& b) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->groups_shared);
  auto s = q.text(a).text(b).step();
  return s && *s == Step::row;  // an error denies
}

// --- Calls -----------------------------------------------------------------------------------

namespace {

std::string_view reason_or_empty(const std::optional<EndReason>& r) { return r ? to_string(*r) : std::string_view(); }

int clamp_page(int limit) { return std::clamp(limit, 1, kMaxHistoryPage); }

}  // namespace

Status Store::insert_call(const CallRecord& r) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->call_insert);
  q.text(r.id).text(r.callerId).text_or_null(r.receiverId).text_or_null(r.groupId);
  q.text(to_string(r.type)).text(to_string(r.status)).integer(r.createdAt);
  q.integer(r.startedAt).integer(r.endedAt).integer(r.duration).text_or_null(reason_or_empty(r.endReason));
  auto done = q.run();
  if (done) return done;
  switch (q.result_code()) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return make_error(ErrorCode::conflict, "call id " + quoted(r.id) + " is taken");
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return make_error(ErrorCode::not_found, "call " + quoted(r.id) + " names a user or group that does not exist");
    case SQLITE_CONSTRAINT_CHECK:
      return make_error(ErrorCode::bad_value, "a call has either a receiver or a group, not both or neither");
    default:
      return done;
  }
}

Status Store::update_call(const CallRecord& r) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->call_update);
  q.text(to_string(r.status)).integer(r.startedAt).integer(r.endedAt).integer(r.duration);
  q.text_or_null(reason_or_empty(r.endReason)).text(r.id);
  if (auto done = q.run(); !done) return done;
  if (q.changes() == 0) return make_error(ErrorCode::not_found, "no call " + quoted(r.id));
  return Done{};
}

Expected<CallRecord> Store::find_call(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->call_get);
  auto s = q.text(id).step();
  if (!s) return s.error();
  if (*s == Step::done) return make_error(ErrorCode::not_found, "no call " + quoted(id));
  return read_call(q);
}

Expected<std::vector<CallRecord>> Store::calls_of(const std::string& userId, int limit, int skip) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->calls_of);
  q.text(userId).integer(clamp_page(limit)).integer(std::max(skip, 0));
  return impl_->calls(q);
}

Expected<std::vector<CallRecord>> Store::missed_calls(const std::string& userId, int limit) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->calls_missed);
  q.text(userId).integer(clamp_page(limit));
  return impl_->calls(q);
}

Expected<int> Store::unseen_missed_count(const std::string& userId) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->missed_unseen);
  auto s = q.text(userId).step();
  if (!s) return s.error();
  if (*s == Step::done) return 0;  // count(*) always gives a row; kept total anyway
  return static_cast<int>(std::min<std::int64_t>(q.integer_at(0), INT_MAX));
}

Status Store::mark_missed_seen(const std::string& userId, Millis now) {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->missed_seen_update);
  if (auto r = q.text(userId).integer(now).run(); !r) return r;
  if (q.changes() == 0) return make_error(ErrorCode::not_found, "no user " + quoted(userId));
  return Done{};
}

Expected<std::vector<CallRecord>> Store::unfinished_calls() {
  std::lock_guard lock(impl_->mutex);
  Query q = impl_->query(impl_->calls_unfinished);
  return impl_->calls(q);
}

}  // namespace duet::server
