// The server's store: users, contacts, groups and call records in SQLite, and what survives
// a crash.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "server/store.hpp"

using namespace duet;
using namespace duet::server;

namespace {

constexpr Millis T0 = 1'700'000'000'000;

std::unique_ptr<Store> open_store(const std::string& path = ":memory:") {
  auto s = Store::open(path);
  INFO(path << ": " << (s ? "" : s.error().message));
  REQUIRE(s.has_value());
  return std::move(s).value();
}

// A directory of its own under /tmp, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "duet-store-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// One answer of a query run on a connection of the test's own, beside the Store.
std::string ask_sqlite(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  std::string answer;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) answer = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  CHECK((rc == SQLITE_ROW || rc == SQLITE_DONE));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return answer;
}

User add_user(Store& s, const std::string& id, const std::string& displayName) {
  auto u = s.create_user(id, id + "_name", displayName, "hash-of-" + id, T0);
  INFO(id << ": " << (u ? "" : u.error().message));
  REQUIRE(u.has_value());
  return *u;
}

void befriend(Store& s, const std::string& a, const std::string& b) {
  REQUIRE(s.request_contact(a, b, T0).has_value());
  REQUIRE(s.accept_contact(b, a, T0 + 1).has_value());
}

// Alice, Bob, Carol and Dave; Alice is contacts with Bob and Carol; Dave knows nobody.
struct World {
  std::unique_ptr<Store> store = open_store();
  User alice = add_user(*store, "alice", "Alice");
  User bob = add_user(*store, "bob", "Bob");
  User carol = add_user(*store, "carol", "Carol");
  User dave = add_user(*store, "dave", "Dave");
  World() {
    befriend(*store, "alice", "bob");
    befriend(*store, "alice", "carol");
  }
  Store& s() { return *store; }
};

CallRecord new_call(const std::string& id, const std::string& caller, const std::string& receiver,
                    const std::string& group, Millis at) {
  auto r = open_call(id, caller, receiver, group, CallType::video, at);
  REQUIRE(r.has_value());
  return *r;
}

CallRecord then(const CallRecord& r, LedgerAction action, std::string_view actor, Millis at,
                std::optional<EndReason> reason = std::nullopt) {
  auto next = apply(r, action, actor, at, reason);
  INFO(to_string(action) << ": " << (next ? "" : next.error().message));
  REQUIRE(next.has_value());
  return *next;
}

void insert(Store& s, const CallRecord& r) {
  auto done = s.insert_call(r);
  INFO(r.id << ": " << (done ? "" : done.error().message));
  REQUIRE(done.has_value());
}

std::vector<std::string> ids(const Expected<std::vector<CallRecord>>& calls) {
  REQUIRE(calls.has_value());
  std::vector<std::string> out;
  for (const auto& c : *calls) out.push_back(c.id);
  return out;
}

std::string two_digits(int i) { return (i < 10 ? "0" : "") + std::to_string(i); }

}  // namespace

// --- Opening ---------------------------------------------------------------------------------

TEST_CASE("An in-memory store opens empty", "[store]") {
  auto s = open_store();
  auto u = s->find_user("alice");
  REQUIRE_FALSE(u.has_value());
  CHECK(u.error().code == ErrorCode::not_found);
  auto calls = s->calls_of("alice", 10, 0);
  REQUIRE(calls.has_value());
  CHECK(calls->empty());
}

TEST_CASE("Opening a path that cannot be created is an internal error", "[store]") {
  auto s = Store::open("/nonexistent-duet-dir/sub/duet.db");
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code == ErrorCode::internal);
  CHECK(s.error().message.find("/nonexistent-duet-dir/sub/duet.db") != std::string::npos);
}

TEST_CASE("A file database is in WAL mode at schema version 1", "[store]") {
  TempDir dir;
  const std::string path = dir.file("duet.db");
  { open_store(path); }
  CHECK(ask_sqlite(path, "PRAGMA journal_mode") == "wal");
  CHECK(ask_sqlite(path, "PRAGMA user_version") == "1");
  // Opening again does not migrate twice.
  { open_store(path); }
  CHECK(ask_sqlite(path, "PRAGMA user_version") == "1");
}

TEST_CASE("A database made by a newer server is refused", "[store]") {
  TempDir dir;
  const std::string path = dir.file("duet.db");
  { open_store(path); }
  const char* version = GENERATE("PRAGMA user_version = 2", "PRAGMA user_version = -1");
  ask_sqlite(path, version);
  auto s = Store::open(path);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error().code == ErrorCode::internal);
  CHECK(s.error().message.find("newer") != std::string::npos);
}

// --- Users -----------------------------------------------------------------------------------

TEST_CASE("A new user can be found by id, by name and with their credentials", "[store]") {
  auto s = open_store();
  auto u = s->create_user("u1", "Alice", "Alice A.", "$argon2id$v=19$stub", T0);
  REQUIRE(u.has_value());
  const User expected{"u1", "Alice", "Alice A.", T0};
  CHECK(*u == expected);

  auto byId = s->find_user("u1");
  REQUIRE(byId.has_value());
  CHECK(*byId == expected);
  auto byName = s->find_user_by_name("Alice");
  REQUIRE(byName.has_value());
  CHECK(*byName == expected);
  auto creds = s->find_credentials("Alice");
  REQUIRE(creds.has_value());
  CHECK(creds->user == expected);
  CHECK(creds->passwordHash == "$argon2id$v=19$stub");
}

TEST_CASE("Usernames are unique and found regardless of letter case", "[store]") {
  auto s = open_store();
  REQUIRE(s->create_user("u1", "Alice", "Alice", "h1", T0).has_value());
  auto again = s->create_user("u2", "aLICE", "Another", "h2", T0);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error() == make_error(ErrorCode::conflict, "username is taken"));

  auto found = s->find_user_by_name("ALICE");
  REQUIRE(found.has_value());
  CHECK(found->id == "u1");
  CHECK(found->username == "Alice");  // kept as typed
  auto creds = s->find_credentials("alice");
  REQUIRE(creds.has_value());
  CHECK(creds->passwordHash == "h1");
}

TEST_CASE("A taken user id is a conflict", "[store]") {
  auto s = open_store();
  REQUIRE(s->create_user("u1", "alice", "Alice", "h", T0).has_value());
  auto again = s->create_user("u1", "bob", "Bob", "h", T0);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == ErrorCode::conflict);
  CHECK(again.error().message.find("u1") != std::string::npos);
}

TEST_CASE("A user needs a valid id and a username", "[store]") {
  auto s = open_store();
  auto [id, username] = GENERATE(table<std::string, std::string>({
      {"", "alice"},
      {"u 1", "alice"},
      {"u/1", "alice"},
      {std::string(65, 'u'), "alice"},
      {"u1", ""},
  }));
  auto u = s->create_user(id, username, "Alice", "h", T0);
  REQUIRE_FALSE(u.has_value());
  CHECK(u.error().code == ErrorCode::bad_value);
}

TEST_CASE("Looking up an unknown user is not_found", "[store]") {
  auto s = open_store();
  REQUIRE(s->create_user("u1", "alice", "Alice", "h", T0).has_value());
  CHECK(s->find_user("u2").error().code == ErrorCode::not_found);
  CHECK(s->find_user("alice").error().code == ErrorCode::not_found);  // a name is not an id
  CHECK(s->find_user_by_name("bob").error().code == ErrorCode::not_found);
  CHECK(s->find_credentials("bob").error().code == ErrorCode::not_found);
}

TEST_CASE("A username that looks like SQL is stored and matched literally", "[store]") {
  auto s = open_store();
  REQUIRE(s->create_user("u1", "alice", "Alice", "h", T0).has_value());
  const std::string evil = "robert'); DROP TABLE users;--";
  auto u = s->create_user("u2", evil, "x' OR '1'='1", "h", T0);
  REQUIRE(u.has_value());

  auto found = s->find_user_by_name(evil);
  REQUIRE(found.has_value());
  CHECK(found->username == evil);
  CHECK(found->displayName == "x' OR '1'='1");
  CHECK(s->find_credentials("' OR '1'='1").error().code == ErrorCode::not_found);
  CHECK(s->find_user("u1").has_value());  // the table is still there
}

// --- Contacts --------------------------------------------------------------------------------

TEST_CASE("A contact request is outgoing for the asker and incoming for the asked", "[store]") {
  auto s = open_store();
  const User alice = add_user(*s, "alice", "Alice");
  const User bob = add_user(*s, "bob", "Bob");

  auto c = s->request_contact("alice", "bob", T0 + 5);
  REQUIRE(c.has_value());
  CHECK(*c == Contact{bob, Contact::State::outgoing, T0 + 5});
  CHECK(to_string(c->state) == "outgoing");

  auto mine = s->contacts("alice");
  REQUIRE(mine.has_value());
  CHECK(*mine == std::vector<Contact>{{bob, Contact::State::outgoing, T0 + 5}});
  auto theirs = s->contacts("bob");
  REQUIRE(theirs.has_value());
  CHECK(*theirs == std::vector<Contact>{{alice, Contact::State::incoming, T0 + 5}});
  CHECK(to_string(Contact::State::incoming) == "incoming");
  CHECK_FALSE(s->are_contacts("alice", "bob"));
}

TEST_CASE("Accepting a request makes both contacts", "[store]") {
  auto s = open_store();
  const User alice = add_user(*s, "alice", "Alice");
  const User bob = add_user(*s, "bob", "Bob");
  REQUIRE(s->request_contact("alice", "bob", T0).has_value());

  auto c = s->accept_contact("bob", "alice", T0 + 60);
  REQUIRE(c.has_value());
  CHECK(*c == Contact{alice, Contact::State::accepted, T0 + 60});
  CHECK(to_string(c->state) == "accepted");
  CHECK(s->are_contacts("alice", "bob"));
  CHECK(s->are_contacts("bob", "alice"));
  CHECK(*s->contacts("alice") == std::vector<Contact>{{bob, Contact::State::accepted, T0 + 60}});
  CHECK(*s->contacts("bob") == std::vector<Contact>{{alice, Contact::State::accepted, T0 + 60}});
}

TEST_CASE("Only the one who was asked may accept a request", "[store]") {
  auto s = open_store();
  add_user(*s, "alice", "Alice");
  add_user(*s, "bob", "Bob");
  add_user(*s, "carol", "Carol");
  REQUIRE(s->request_contact("alice", "bob", T0).has_value());

  auto own = s->accept_contact("alice", "bob", T0);
  REQUIRE_FALSE(own.has_value());
  CHECK(own.error().code == ErrorCode::forbidden);
  CHECK_FALSE(s->are_contacts("alice", "bob"));

  auto none = s->accept_contact("carol", "alice", T0);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code == ErrorCode::not_found);

  REQUIRE(s->accept_contact("bob", "alice", T0).has_value());
  auto twice = s->accept_contact("bob", "alice", T0);
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().code == ErrorCode::conflict);
}

TEST_CASE("Two people asking each other become contacts", "[store]") {
  auto s = open_store();
  const User alice = add_user(*s, "alice", "Alice");
  add_user(*s, "bob", "Bob");
  REQUIRE(s->request_contact("bob", "alice", T0).has_value());

  auto c = s->request_contact("alice", "bob", T0 + 10);
  REQUIRE(c.has_value());
  CHECK(c->state == Contact::State::accepted);
  CHECK(c->since == T0 + 10);
  CHECK(c->user.id == "bob");
  CHECK(s->are_contacts("alice", "bob"));
  CHECK(*s->contacts("bob") == std::vector<Contact>{{alice, Contact::State::accepted, T0 + 10}});
}

TEST_CASE("Asking oneself is bad_value and asking an unknown user is not_found", "[store]") {
  auto s = open_store();
  add_user(*s, "alice", "Alice");
  auto self = s->request_contact("alice", "alice", T0);
  REQUIRE_FALSE(self.has_value());
  CHECK(self.error().code == ErrorCode::bad_value);

  auto unknown = s->request_contact("alice", "zed", T0);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == ErrorCode::not_found);
  CHECK(unknown.error().message.find("zed") != std::string::npos);
  auto unknownAsker = s->request_contact("zed", "alice", T0);
  REQUIRE_FALSE(unknownAsker.has_value());
  CHECK(unknownAsker.error().code == ErrorCode::not_found);
  CHECK(s->contacts("alice")->empty());
}

TEST_CASE("Asking again, or asking a contact, is a conflict", "[store]") {
  auto s = open_store();
  add_user(*s, "alice", "Alice");
  add_user(*s, "bob", "Bob");
  REQUIRE(s->request_contact("alice", "bob", T0).has_value());
  auto again = s->request_contact("alice", "bob", T0 + 1);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == ErrorCode::conflict);

  REQUIRE(s->accept_contact("bob", "alice", T0 + 2).has_value());
  for (auto [from, to] : {std::pair{"alice", "bob"}, std::pair{"bob", "alice"}}) {
    auto dup = s->request_contact(from, to, T0 + 3);
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().code == ErrorCode::conflict);
  }
}

TEST_CASE("Removing a contact or a request deletes it, from either side", "[store]") {
  auto s = open_store();
  add_user(*s, "alice", "Alice");
  add_user(*s, "bob", "Bob");

  SECTION("declining a request") {
    REQUIRE(s->request_contact("alice", "bob", T0).has_value());
    REQUIRE(s->remove_contact("bob", "alice").has_value());
  }
  SECTION("withdrawing a request") {
    REQUIRE(s->request_contact("alice", "bob", T0).has_value());
    REQUIRE(s->remove_contact("alice", "bob").has_value());
  }
  SECTION("removing an accepted contact") {
    befriend(*s, "alice", "bob");
    REQUIRE(s->remove_contact("bob", "alice").has_value());
  }
  CHECK_FALSE(s->are_contacts("alice", "bob"));
  CHECK(s->contacts("alice")->empty());
  CHECK(s->contacts("bob")->empty());
  auto again = s->remove_contact("alice", "bob");
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == ErrorCode::not_found);
  // Asking anew works once it is gone.
  CHECK(s->request_contact("bob", "alice", T0 + 9).has_value());
}

TEST_CASE("Contacts are listed by display name, ignoring letter case", "[store]") {
  auto s = open_store();
  add_user(*s, "me", "Me");
  add_user(*s, "u1", "zoe");
  add_user(*s, "u2", "Adam");
  add_user(*s, "u3", "bella");
  add_user(*s, "u4", "Carl");
  befriend(*s, "me", "u1");
  REQUIRE(s->request_contact("me", "u2", T0).has_value());
  REQUIRE(s->request_contact("u3", "me", T0).has_value());
  befriend(*s, "u4", "me");

  auto list = s->contacts("me");
  REQUIRE(list.has_value());
  std::vector<std::string> names;
  std::vector<Contact::State> states;
  for (const auto& c : *list) {
    names.push_back(c.user.displayName);
    states.push_back(c.state);
  }
  CHECK(names == std::vector<std::string>{"Adam", "bella", "Carl", "zoe"});
  CHECK(states == std::vector<Contact::State>{Contact::State::outgoing, Contact::State::incoming,
                                              Contact::State::accepted, Contact::State::accepted});
  CHECK(s->contacts("nobody")->empty());
}

// --- Groups ----------------------------------------------------------------------------------

TEST_CASE("A new group holds its owner and the chosen contacts, by display name", "[store]") {
  World w;
  auto g = w.s().create_group("g1", "alice", "Family", {"carol", "bob", "bob", "alice"}, T0 + 7);
  INFO((g ? "" : g.error().message));
  REQUIRE(g.has_value());
  CHECK(g->id == "g1");
  CHECK(g->name == "Family");
  CHECK(g->ownerId == "alice");
  CHECK(g->createdAt == T0 + 7);
  CHECK(g->members == std::vector<User>{w.alice, w.bob, w.carol});

  auto found = w.s().find_group("g1");
  REQUIRE(found.has_value());
  CHECK(*found == *g);

  // A group of the owner alone is allowed.
  auto solo = w.s().create_group("g2", "dave", "Notes", {}, T0);
  REQUIRE(solo.has_value());
  CHECK(solo->members == std::vector<User>{w.dave});
}

TEST_CASE("A group holds only the owner's accepted contacts", "[store]") {
  World w;
  REQUIRE(w.s().request_contact("alice", "dave", T0).has_value());  // pending, not accepted

  auto pending = w.s().create_group("g1", "alice", "Team", {"bob", "dave"}, T0);
  REQUIRE_FALSE(pending.has_value());
  CHECK(pending.error().code == ErrorCode::forbidden);
  CHECK(pending.error().message.find("dave") != std::string::npos);

  auto stranger = w.s().create_group("g1", "bob", "Team", {"carol"}, T0);  // bob and carol are not contacts
  REQUIRE_FALSE(stranger.has_value());
  CHECK(stranger.error().code == ErrorCode::forbidden);
  CHECK(stranger.error().message.find("carol") != std::string::npos);

  auto unknown = w.s().create_group("g1", "alice", "Team", {"bob", "zed"}, T0);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == ErrorCode::not_found);
  CHECK(unknown.error().message.find("zed") != std::string::npos);

  auto noOwner = w.s().create_group("g1", "zed", "Team", {}, T0);
  REQUIRE_FALSE(noOwner.has_value());
  CHECK(noOwner.error().code == ErrorCode::not_found);

  // Nothing of the refused attempts was stored.
  CHECK(w.s().find_group("g1").error().code == ErrorCode::not_found);
  CHECK(w.s().groups_of("alice")->empty());
}

TEST_CASE("A group name has 1 to 64 bytes", "[store]") {
  World w;
  auto [name, ok] = GENERATE(table<std::string, bool>({
      {"", false},
      {"a", true},
      {std::string(64, 'n'), true},
      {std::string(65, 'n'), false},
      {"\xC3\xA7" + std::string(62, 'n'), true},   // 64 bytes, 63 characters
      {"\xC3\xA7" + std::string(63, 'n'), false},  // 65 bytes, 64 characters
  }));
  auto g = w.s().create_group("g1", "alice", name, {"bob"}, T0);
  CHECK(g.has_value() == ok);
  if (!ok && !g) CHECK(g.error().code == ErrorCode::bad_value);
}

TEST_CASE("A group has at most 16 members, the owner included", "[store]") {
  auto s = open_store();
  add_user(*s, "owner", "Owner");
  std::vector<std::string> friends;
  for (int i = 0; i < 16; ++i) {
    friends.push_back("f" + two_digits(i));
    add_user(*s, friends.back(), "Friend " + two_digits(i));
    befriend(*s, "owner", friends.back());
  }
  auto tooMany = s->create_group("g1", "owner", "Big", friends, T0);
  REQUIRE_FALSE(tooMany.has_value());
  CHECK(tooMany.error().code == ErrorCode::bad_value);

  std::vector<std::string> fifteen(friends.begin(), friends.begin() + 15);
  fifteen.push_back("f00");    // a duplicate counts once
  fifteen.push_back("owner");  // and so does the owner named again
  auto full = s->create_group("g1", "owner", "Big", fifteen, T0);
  REQUIRE(full.has_value());
  CHECK(full->members.size() == kMaxGroupMembers);
}

TEST_CASE("A group id must be valid and free", "[store]") {
  World w;
  auto bad = w.s().create_group("g 1", "alice", "Team", {}, T0);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::bad_value);

  REQUIRE(w.s().create_group("g1", "alice", "Team", {"bob"}, T0).has_value());
  auto taken = w.s().create_group("g1", "alice", "Other", {"carol"}, T0);
  REQUIRE_FALSE(taken.has_value());
  CHECK(taken.error().code == ErrorCode::conflict);
  CHECK(w.s().find_group("g1")->name == "Team");
  CHECK_FALSE(w.s().is_member("g1", "carol"));
}

TEST_CASE("Membership answers which groups a user is in and who shares one", "[store]") {
  World w;
  REQUIRE(w.s().create_group("g2", "alice", "zebra club", {"bob"}, T0).has_value());
  REQUIRE(w.s().create_group("g1", "alice", "Aardvarks", {"carol"}, T0).has_value());

  auto mine = w.s().groups_of("alice");
  REQUIRE(mine.has_value());
  REQUIRE(mine->size() == 2);
  CHECK((*mine)[0].name == "Aardvarks");
  CHECK((*mine)[0].members == std::vector<User>{w.alice, w.carol});
  CHECK((*mine)[1].name == "zebra club");
  auto bobs = w.s().groups_of("bob");
  REQUIRE(bobs.has_value());
  REQUIRE(bobs->size() == 1);
  CHECK(bobs->front().id == "g2");
  CHECK(w.s().groups_of("dave")->empty());

  CHECK(w.s().is_member("g1", "alice"));
  CHECK(w.s().is_member("g1", "carol"));
  CHECK_FALSE(w.s().is_member("g1", "bob"));
  CHECK_FALSE(w.s().is_member("nope", "alice"));

  CHECK(w.s().share_group("bob", "alice"));
  CHECK(w.s().share_group("alice", "carol"));
  CHECK_FALSE(w.s().share_group("bob", "carol"));
  CHECK_FALSE(w.s().share_group("dave", "alice"));
  CHECK_FALSE(w.s().share_group("zed", "alice"));

  CHECK(w.s().find_group("nope").error().code == ErrorCode::not_found);
}

// --- Calls -----------------------------------------------------------------------------------

TEST_CASE("A call record is stored and read back field for field", "[store]") {
  World w;
  REQUIRE(w.s().create_group("g1", "alice", "Team", {"bob", "carol"}, T0).has_value());

  const CallRecord fresh = new_call("c1", "alice", "bob", "", T0);
  const CallRecord answered = then(then(new_call("c2", "bob", "alice", "", T0 + 1), LedgerAction::accept,
                                        "alice", T0 + 2'000),
                                   LedgerAction::end, "bob", T0 + 65'500);
  CallRecord group = new_call("c3", "alice", "", "g1", T0 + 3);
  group.type = CallType::audio;
  group = then(group, LedgerAction::cancel, "alice", T0 + 4, EndReason::glare);

  for (const auto& r : {fresh, answered, group}) {
    insert(w.s(), r);
    auto back = w.s().find_call(r.id);
    REQUIRE(back.has_value());
    CHECK(*back == r);
  }
  CHECK(answered.duration == 63);
  CHECK(w.s().find_call("c9").error().code == ErrorCode::not_found);
}

TEST_CASE("A call that cannot be stored says why", "[store]") {
  World w;
  insert(w.s(), new_call("c1", "alice", "bob", "", T0));

  auto dup = w.s().insert_call(new_call("c1", "alice", "carol", "", T0));
  REQUIRE_FALSE(dup.has_value());
  CHECK(dup.error().code == ErrorCode::conflict);

  auto unknownUser = w.s().insert_call(new_call("c2", "alice", "zed", "", T0));
  REQUIRE_FALSE(unknownUser.has_value());
  CHECK(unknownUser.error().code == ErrorCode::not_found);

  auto unknownGroup = w.s().insert_call(new_call("c3", "alice", "", "nope", T0));
  REQUIRE_FALSE(unknownGroup.has_value());
  CHECK(unknownGroup.error().code == ErrorCode::not_found);

  CallRecord both = new_call("c4", "alice", "bob", "", T0);
  REQUIRE(w.s().create_group("g1", "alice", "Team", {"bob"}, T0).has_value());
  both.groupId = "g1";
  auto bothSet = w.s().insert_call(both);
  REQUIRE_FALSE(bothSet.has_value());
  CHECK(bothSet.error().code == ErrorCode::bad_value);

  CHECK(ids(w.s().calls_of("alice", 10, 0)) == std::vector<std::string>{"c1"});
}

TEST_CASE("Updating a call writes how it went and keeps who and when", "[store]") {
  World w;
  const CallRecord r = new_call("c1", "alice", "bob", "", T0);
  insert(w.s(), r);

  CallRecord next = then(then(r, LedgerAction::ring, "bob", T0 + 100), LedgerAction::accept, "bob", T0 + 900);
  REQUIRE(w.s().update_call(next).has_value());
  CHECK(*w.s().find_call("c1") == next);

  next = then(next, LedgerAction::fail, "alice", T0 + 10'900);
  CallRecord tampered = next;
  tampered.callerId = "dave";
  tampered.createdAt = 0;
  tampered.type = CallType::audio;
  REQUIRE(w.s().update_call(tampered).has_value());
  CHECK(*w.s().find_call("c1") == next);
  CHECK(next.endReason == EndReason::connection_lost);

  auto missing = w.s().update_call(new_call("c2", "alice", "bob", "", T0));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::not_found);
}

TEST_CASE("History is newest first and pages without gaps or repeats", "[store]") {
  World w;
  // 25 calls, two at each instant, alternating direction, inserted out of order.
  for (int k = 0; k < 25; ++k) {
    const int i = k * 7 % 25;
    const bool fromAlice = i % 2 == 0;
    insert(w.s(), new_call("c" + two_digits(i), fromAlice ? "alice" : "bob", fromAlice ? "bob" : "alice", "",
                           T0 + (i / 2) * 1000));
  }
  std::vector<std::string> expected;  // newest first; at the same instant, the higher id first
  for (int i = 24; i >= 0; --i) expected.push_back("c" + two_digits(i));

  for (const std::string user : {"alice", "bob"}) {
    std::vector<std::string> seen;
    for (int skip = 0; skip < 30; skip += 10) {
      auto page = ids(w.s().calls_of(user, 10, skip));
      CHECK(page.size() == (skip < 20 ? 10u : 5u));
      seen.insert(seen.end(), page.begin(), page.end());
    }
    CHECK(seen == expected);
  }
  CHECK(ids(w.s().calls_of("alice", 10, 25)).empty());
  CHECK(ids(w.s().calls_of("alice", 3, -5)) == std::vector<std::string>(expected.begin(), expected.begin() + 3));
}

TEST_CASE("A history page holds 1 to 100 calls", "[store]") {
  World w;
  for (int i = 0; i < 120; ++i) {
    const Millis at = T0 + i;
    insert(w.s(), then(new_call("c" + std::to_string(i), "alice", "bob", "", at), LedgerAction::timeout,
                       kServerActor, at + 30'000));
  }
  CHECK(w.s().calls_of("alice", 0, 0)->size() == 1);
  CHECK(w.s().calls_of("alice", -3, 0)->size() == 1);
  CHECK(w.s().calls_of("alice", 1000, 0)->size() == 100);
  CHECK(w.s().calls_of("bob", 100, 100)->size() == 20);
  CHECK(w.s().missed_calls("bob", 0)->size() == 1);
  CHECK(w.s().missed_calls("bob", 1000)->size() == 100);
  CHECK(*w.s().unseen_missed_count("bob") == 120);  // the badge is not a page
}

TEST_CASE("A user sees their own calls and their groups' calls, and no one else's", "[store]") {
  World w;
  befriend(w.s(), "bob", "carol");
  REQUIRE(w.s().create_group("g1", "alice", "Team", {"bob"}, T0).has_value());
  insert(w.s(), new_call("ab", "alice", "bob", "", T0 + 1));
  insert(w.s(), new_call("bc", "bob", "carol", "", T0 + 2));
  insert(w.s(), new_call("grp", "bob", "", "g1", T0 + 3));

  CHECK(ids(w.s().calls_of("alice", 10, 0)) == std::vector<std::string>{"grp", "ab"});
  CHECK(ids(w.s().calls_of("bob", 10, 0)) == std::vector<std::string>{"grp", "bc", "ab"});
  CHECK(ids(w.s().calls_of("carol", 10, 0)) == std::vector<std::string>{"bc"});
  CHECK(ids(w.s().calls_of("dave", 10, 0)).empty());
  CHECK(ids(w.s().calls_of("zed", 10, 0)).empty());
}

TEST_CASE("Missed calls are the callee's unanswered calls that timed out or were given up", "[store]") {
  World w;
  REQUIRE(w.s().create_group("g1", "alice", "Team", {"bob", "carol"}, T0).has_value());
  // Alice calls Bob and it rings; then each call ends its own way, 10 ms after the one before.
  auto ab = [&](const std::string& id, Millis at) {
    return then(new_call(id, "alice", "bob", "", at), LedgerAction::ring, "bob", at + 1);
  };
  const Millis t = T0;
  insert(w.s(), then(ab("timeout", t + 10), LedgerAction::timeout, kServerActor, t + 30'010));
  insert(w.s(), then(ab("cancel", t + 20), LedgerAction::cancel, "alice", t + 25));
  insert(w.s(), then(ab("cancel-timeout", t + 30), LedgerAction::cancel, "alice", t + 35, EndReason::timeout));
  insert(w.s(), then(ab("hangup-early", t + 40), LedgerAction::end, "alice", t + 45));  // cancelled too
  insert(w.s(), then(ab("glare", t + 50), LedgerAction::cancel, "alice", t + 55, EndReason::glare));
  insert(w.s(), then(ab("elsewhere", t + 60), LedgerAction::cancel, kServerActor, t + 65,
                     EndReason::answered_elsewhere));
  insert(w.s(), then(ab("rejected", t + 70), LedgerAction::reject, "bob", t + 75));
  insert(w.s(), then(ab("busy", t + 80), LedgerAction::busy, "bob", t + 85));
  insert(w.s(), then(then(ab("answered", t + 90), LedgerAction::accept, "bob", t + 95), LedgerAction::end, "bob",
                     t + 99));
  insert(w.s(), ab("ringing", t + 100));
  insert(w.s(), then(new_call("bob-missed", "bob", "alice", "", t + 110), LedgerAction::timeout, kServerActor,
                     t + 30'110));
  insert(w.s(), then(new_call("group", "alice", "", "g1", t + 120), LedgerAction::timeout, kServerActor,
                     t + 30'120));
  CHECK(w.s().find_call("hangup-early")->status == CallStatus::cancelled);

  CHECK(ids(w.s().missed_calls("bob", 50)) ==
        std::vector<std::string>{"group", "hangup-early", "cancel-timeout", "cancel", "timeout"});
  CHECK(ids(w.s().missed_calls("carol", 50)) == std::vector<std::string>{"group"});
  // The caller missed nothing they made; Alice missed the one Bob made.
  CHECK(ids(w.s().missed_calls("alice", 50)) == std::vector<std::string>{"bob-missed"});
  CHECK(ids(w.s().missed_calls("dave", 50)).empty());
  CHECK(ids(w.s().missed_calls("bob", 2)) == std::vector<std::string>{"group", "hangup-early"});
}

TEST_CASE("The missed-call badge counts what came after the user last looked", "[store]") {
  World w;
  auto missed = [&](const std::string& id, Millis at) {
    insert(w.s(), then(new_call(id, "alice", "bob", "", at), LedgerAction::timeout, kServerActor, at + 30'000));
  };
  missed("m1", T0 + 100);
  missed("m2", T0 + 200);
  CHECK(*w.s().unseen_missed_count("bob") == 2);
  CHECK(*w.s().unseen_missed_count("alice") == 0);

  REQUIRE(w.s().mark_missed_seen("bob", T0 + 200).has_value());
  CHECK(*w.s().unseen_missed_count("bob") == 0);
  missed("m3", T0 + 300);
  CHECK(*w.s().unseen_missed_count("bob") == 1);

  // A mark from a slower clock does not bring old calls back.
  REQUIRE(w.s().mark_missed_seen("bob", T0).has_value());
  CHECK(*w.s().unseen_missed_count("bob") == 1);
  CHECK(w.s().missed_calls("bob", 10)->size() == 3);  // the list keeps seen ones

  auto unknown = w.s().mark_missed_seen("zed", T0);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == ErrorCode::not_found);
  CHECK(*w.s().unseen_missed_count("zed") == 0);
}

TEST_CASE("Unfinished calls are the pending, ringing and active ones, oldest first", "[store]") {
  World w;
  const CallRecord pending = new_call("p", "alice", "bob", "", T0 + 30);
  const CallRecord ringing = then(new_call("r", "alice", "carol", "", T0 + 10), LedgerAction::ring, "carol", T0 + 11);
  const CallRecord active = then(new_call("a", "bob", "alice", "", T0 + 20), LedgerAction::accept, "alice", T0 + 21);
  insert(w.s(), pending);
  insert(w.s(), ringing);
  insert(w.s(), active);
  insert(w.s(), then(new_call("done", "alice", "bob", "", T0), LedgerAction::reject, "bob", T0 + 1));

  CHECK(ids(w.s().unfinished_calls()) == std::vector<std::string>{"r", "a", "p"});

  // What start-up does: close each, after which none is left.
  auto open = w.s().unfinished_calls();
  REQUIRE(open.has_value());
  for (const auto& r : *open) {
    REQUIRE(w.s().update_call(then(r, LedgerAction::fail, kServerActor, T0 + 100)).has_value());
  }
  CHECK(ids(w.s().unfinished_calls()).empty());
  CHECK(w.s().find_call("a")->status == CallStatus::ended);
  CHECK(w.s().find_call("p")->status == CallStatus::failed);
}

TEST_CASE("Threads sharing one store each get their writes done", "[store]") {
  World w;
  std::vector<std::thread> writers;
  for (const std::string caller : {"alice", "bob"}) {
    writers.emplace_back([&w, caller] {
      for (int i = 0; i < 100; ++i) {
        const std::string id = caller + "-" + std::to_string(i);
        auto r = open_call(id, caller, caller == "alice" ? "carol" : "alice", "", CallType::audio, T0 + i);
        if (!r || !w.s().insert_call(*r)) return;  // counted below; Catch is not thread-safe
      }
    });
  }
  for (auto& t : writers) t.join();
  CHECK(w.s().calls_of("alice", 100, 0)->size() == 100);
  CHECK(w.s().calls_of("alice", 100, 100)->size() == 100);
  CHECK(w.s().calls_of("bob", 100, 100)->empty());
}

// --- Durability ------------------------------------------------------------------------------

TEST_CASE("Records survive closing and reopening a file database", "[store]") {
  TempDir dir;
  const std::string path = dir.file("duet.db");
  CallRecord call;
  {
    auto s = open_store(path);
    add_user(*s, "alice", "Alice");
    add_user(*s, "bob", "Bob");
    add_user(*s, "carol", "Carol");
    befriend(*s, "alice", "bob");
    REQUIRE(s->request_contact("carol", "alice", T0).has_value());
    REQUIRE(s->create_group("g1", "alice", "Team", {"bob"}, T0).has_value());
    call = then(new_call("c1", "alice", "bob", "", T0), LedgerAction::timeout, kServerActor, T0 + 30'000);
    insert(*s, call);
    REQUIRE(s->mark_missed_seen("alice", T0 + 5).has_value());
  }
  auto s = open_store(path);
  CHECK(s->find_credentials("ALICE_NAME")->passwordHash == "hash-of-alice");
  CHECK(s->are_contacts("alice", "bob"));
  auto contacts = s->contacts("alice");
  REQUIRE(contacts.has_value());
  REQUIRE(contacts->size() == 2);
  CHECK((*contacts)[1].user.id == "carol");
  CHECK((*contacts)[1].state == Contact::State::incoming);
  CHECK(s->is_member("g1", "bob"));
  CHECK(*s->find_call("c1") == call);
  CHECK(*s->unseen_missed_count("bob") == 1);
  CHECK(ids(s->missed_calls("bob", 10)) == std::vector<std::string>{"c1"});
  // Constraints still hold on a reopened database: foreign keys are on for every connection.
  CHECK(s->insert_call(new_call("c2", "alice", "zed", "", T0)).error().code == ErrorCode::not_found);
}

TEST_CASE("Every call reported stored survives the process being killed", "[store]") {
  const bool selfKill = GENERATE(true, false);
  INFO((selfKill ? "the writer kills itself between writes" : "the parent kills the writer mid-write"));
  TempDir dir;
  const std::string path = dir.file("duet.db");
  constexpr int kBefore = 50;
  {
    auto s = open_store(path);
    add_user(*s, "alice", "Alice");
    add_user(*s, "bob", "Bob");
    for (int i = 0; i < kBefore; ++i) insert(*s, new_call("before-" + std::to_string(i), "alice", "bob", "", T0 + i));
  }  // closed before fork(): a SQLite connection must not cross into a child

  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: no Catch here, only _exit codes. It reports each id once insert_call returned.
    close(fds[0]);
    auto opened = Store::open(path);
    if (!opened) _exit(2);
    Store& s = **opened;
    for (int i = 0; i < 100'000; ++i) {
      if (selfKill && i == 200) kill(getpid(), SIGKILL);
      const std::string id = "child-" + std::to_string(i);
      auto r = open_call(id, "bob", "alice", "", CallType::audio, T0 + 1'000 + i);
      if (!r || !s.insert_call(*r)) _exit(3);
      const std::string line = id + "\n";
      if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
    }
    _exit(5);  // never reached in time: the parent kills it first
  }

  close(fds[1]);
  std::vector<std::string> reported;
  std::string pending;
  bool killed = false;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child is gone and its end of the pipe with it
    pending.append(buf, static_cast<std::size_t>(n));
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      reported.push_back(pending.substr(0, nl));
    }
    if (!selfKill && !killed && reported.size() >= 300) {
      kill(child, SIGKILL);
      killed = true;
    }
  }
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(pending.empty());  // pipe writes this small are atomic: no half line
  CHECK(reported.size() >= (selfKill ? 200u : 300u));

  auto s = open_store(path);
  for (int i = 0; i < kBefore; ++i) CHECK(s->find_call("before-" + std::to_string(i)).has_value());
  std::size_t missing = 0;
  for (const auto& id : reported) missing += s->find_call(id).has_value() ? 0 : 1;
  CHECK(missing == 0);
  auto history = s->calls_of("alice", 100, 0);
  REQUIRE(history.has_value());
  CHECK(history->size() == 100);
  s.reset();
  CHECK(ask_sqlite(path, "PRAGMA integrity_check") == "ok");
  CHECK(ask_sqlite(path, "PRAGMA foreign_key_check") == "");
}
