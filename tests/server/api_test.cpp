// The REST API through Api::handle and Api::handle_slow, with a real in-memory store, a real
// hub (whose TokenCheck is the Api's own check_token) and real tokens: every route's success
// shape, every error status and code, and who may see and do what.
//
// Password hashing is slow by design (~50-100 ms), so most users here are created directly in
// the store with one hash computed once for the whole suite, and their tokens are signed with
// the test secret; only the tests about registering and logging in go through those routes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "server/api.hpp"
#include "server/passwords.hpp"
#include "server/tokens.hpp"

using namespace duet;
using namespace duet::server;
using Json = nlohmann::json;

namespace {

constexpr Millis T0 = 1'795'317'336'123;  // 2026-11-22T03:15:36.123Z
const std::string kSecret = "test-secret-0123456789abcdef0123456789abcdef";
const std::string kPassword = "correct horse battery";

// One real Argon2id hash of kPassword for every fixture user.
const std::string& test_hash() {
  static const std::string hash = hash_password(kPassword).value();
  return hash;
}

ApiConfig base_config() {
  ApiConfig c;
  c.jwt_secret = kSecret;
  return c;
}

Json parse(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  INFO(text);
  REQUIRE(!j.is_discarded());
  return j;
}

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

// The error body is exactly {"error":{"code":..., "message":...}} with the expected status.
void expect_error(const Response& r, int status, const std::string& code) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.content_type == "application/json");
  const Json j = parse(r.body);
  REQUIRE(j.is_object());
  REQUIRE(j.size() == 1);
  REQUIRE(j.contains("error"));
  const Json& e = j["error"];
  REQUIRE(e.is_object());
  CHECK(e.size() == 2);
  REQUIRE(e["code"].is_string());
  CHECK(e["code"].get<std::string>() == code);
  REQUIRE(e["message"].is_string());
  CHECK(!e["message"].get<std::string>().empty());
}

std::string message_of(const Response& r) { return parse(r.body)["error"]["message"].get<std::string>(); }

bool is_iso_time(const Json& j) {
  static const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  return j.is_string() && std::regex_match(j.get<std::string>(), iso);
}

struct World {
  std::unique_ptr<Store> store = Store::open(":memory:").value();
  Registry metrics;
  std::unique_ptr<Api> api;  // made after the hub, which calls back into it for tokens
  Hub hub{*store, HubConfig{},
          [this](std::string_view token, Millis at) { return api->check_token(token, at); }, metrics};
  Millis now = T0;
  Actions out;  // what the last handle() asked to send
  ConnId next_conn = 1;

  explicit World(ApiConfig config = base_config()) {
    api = std::make_unique<Api>(*store, hub, metrics, std::move(config));
  }

  User user(const std::string& name) {
    auto u = store->create_user("u_" + name, name, "Name of " + name, test_hash(), now);
    REQUIRE(u);
    return *u;
  }
  std::string token(const User& u, std::int64_t ttl_s = 3600) {
    const std::int64_t iat = now / 1000;
    return sign_token(Claims{u.id, u.displayName, iat, iat + ttl_s}, kSecret);
  }
  void befriend(const User& a, const User& b) {
    REQUIRE(store->request_contact(a.id, b.id, now));
    REQUIRE(store->accept_contact(b.id, a.id, now));
  }

  Response send(const std::string& method, const std::string& target, const std::string& token_ = "",
                const std::string& body = "", const std::string& remote = "192.0.2.1") {
    Request r{method, target, token_.empty() ? "" : "Bearer " + token_, "application/json", body, remote};
    out = Actions{};
    return api->handle(r, now, out);
  }
  Response get(const std::string& target, const std::string& tok) { return send("GET", target, tok); }
  Response post(const std::string& target, const std::string& tok, const std::string& body = "") {
    return send("POST", target, tok, body);
  }
  Response slow(const std::string& target, const std::string& body, const std::string& remote = "192.0.2.1") {
    Request r{"POST", target, "", "application/json", body, remote};
    REQUIRE(Api::is_slow(r));
    return api->handle_slow(r, now);
  }

  // A signed-in WebSocket connection of `u`, as the network layer would open it.
  ConnId connect(const User& u) {
    const ConnId c = next_conn++;
    hub.open(c, now);
    Actions a = hub.receive(c, R"({"v":1,"type":"auth","token":")" + token(u) + R"("})", now);
    REQUIRE(!a.send.empty());
    auto ok = parse_message(a.send.front().text);
    REQUIRE(ok);
    REQUIRE(std::holds_alternative<msg::AuthOk>(ok->body));
    return c;
  }

  // Messages the last handle() (or `actions`) sends to `conn`, of type T.
  template <class T>
  std::vector<T> sent(ConnId conn, const Actions& actions) {
    std::vector<T> found;
    for (const auto& s : actions.send) {
      if (s.conn != conn) continue;
      auto m = parse_message(s.text);
      REQUIRE(m);
      if (auto* t = std::get_if<T>(&m->body)) found.push_back(*t);
    }
    return found;
  }
  template <class T>
  std::vector<T> sent(ConnId conn) { return sent<T>(conn, out); }

  // POST /api/calls from `caller` to `callee`; REQUIREs success and gives the call's JSON.
  Json start_call(const std::string& tok, const User& callee, const std::string& type = "audio") {
    auto r = post("/api/calls", tok, Json{{"receiverId", callee.id}, {"type", type}}.dump());
    INFO(r.body);
    REQUIRE(r.status == 201);
    return parse(r.body);
  }

  // A finished call straight into the store, for history tests.
  void stored_call(const std::string& id, const User& caller, const User& callee, Millis created, CallStatus status) {
    auto rec = open_call(id, caller.id, callee.id, "", CallType::audio, created);
    REQUIRE(rec);
    auto final_record = *rec;
    if (status == CallStatus::missed) final_record = apply(*rec, LedgerAction::timeout, kServerActor, created + 30'000).value();
    if (status == CallStatus::rejected) final_record = apply(*rec, LedgerAction::reject, callee.id, created + 5'000).value();
    REQUIRE(store->insert_call(final_record));
  }
};

}  // namespace

// ----- registering and logging in ------------------------------------------------------------

TEST_CASE("Registering creates a lower-cased user and returns a token the other routes accept", "[api]") {
  World w;
  auto r = w.slow("/api/auth/register", R"({"username":"Alice.B-2","password":"long enough pw"})");
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK(r.content_type == "application/json");
  CHECK(r.body.find("long enough pw") == std::string::npos);
  CHECK(r.body.find("argon2") == std::string::npos);
  const Json j = parse(r.body);
  REQUIRE(j["token"].is_string());
  CHECK(is_iso_time(j["expiresAt"]));
  const Json& u = j["user"];
  REQUIRE(u["id"].is_string());
  CHECK(u["id"].get<std::string>().rfind("u_", 0) == 0);
  CHECK(u["username"] == "alice.b-2");
  CHECK(u["displayName"] == "alice.b-2");  // defaults to the username
  CHECK(is_iso_time(u["createdAt"]));
  CHECK(u["createdAt"] == "2026-11-22T03:15:36.123Z");

  auto me = w.get("/api/me", j["token"].get<std::string>());
  REQUIRE(me.status == 200);
  const Json m = parse(me.body);
  CHECK(m["user"] == u);
  CHECK(m["missedUnseen"] == 0);

  // The stored hash verifies the password (the route hashed it, it did not store it).
  auto creds = w.store->find_credentials("alice.b-2");
  REQUIRE(creds);
  CHECK(verify_password(creds->passwordHash, "long enough pw"));
}

TEST_CASE("Registering keeps a given display name, trimmed", "[api]") {
  World w;
  auto r = w.slow("/api/auth/register", R"({"username":"zeynep","password":"long enough pw","displayName":"  Zeynep Ö. "})");
  REQUIRE(r.status == 201);
  CHECK(parse(r.body)["user"]["displayName"] == "Zeynep Ö.");
}

TEST_CASE("Registering refuses malformed bodies and invalid fields with 400 and the field named", "[api]") {
  World w;
  struct Case {
    std::string body;
    std::string code;
    std::string field;  // the message names it (empty: not checked)
  };
  const std::string deep = std::string(20, '[') + std::string(20, ']');
  const auto c = GENERATE_COPY(values<Case>({
      {"", "bad_json", ""},
      {"{\"username\":", "bad_json", ""},
      {"[1,2]", "not_an_object", ""},
      {"\"alice\"", "not_an_object", ""},
      {deep, "too_deep", ""},
      {R"({"password":"long enough pw"})", "missing_field", "username"},
      {R"({"username":null,"password":"long enough pw"})", "missing_field", "username"},
      {R"({"username":5,"password":"long enough pw"})", "wrong_type", "username"},
      {R"({"username":"alice"})", "missing_field", "password"},
      {R"({"username":"alice","password":12345678})", "wrong_type", "password"},
      {R"({"username":"ab","password":"long enough pw"})", "bad_value", "username"},
      {R"({"username":"has space","password":"long enough pw"})", "bad_value", "username"},
      {R"({"username":"älice","password":"long enough pw"})", "bad_value", "username"},
      {R"({"username":")" + std::string(33, 'a') + R"(","password":"long enough pw"})", "bad_value", "username"},
      {R"({"username":"alice","password":"short"})", "bad_value", "password"},
      {R"({"username":"alice","password":")" + std::string(129, 'p') + R"("})", "bad_value", "password"},
      {R"({"username":"alice","password":"long enough pw","displayName":""})", "bad_value", "displayName"},
      {R"({"username":"alice","password":"long enough pw","displayName":"   "})", "bad_value", "displayName"},
      {R"({"username":"alice","password":"long enough pw","displayName":")" + std::string(65, 'd') + R"("})",
       "bad_value", "displayName"},
      {R"({"username":"alice","password":"long enough pw","displayName":"a\u0007b"})", "bad_value", "displayName"},
      {R"({"username":"alice","password":"long enough pw","displayName":7})", "wrong_type", "displayName"},
  }));
  INFO(c.body);
  auto r = w.slow("/api/auth/register", c.body);
  expect_error(r, 400, c.code);
  if (!c.field.empty()) CHECK(message_of(r).find(c.field) != std::string::npos);
  CHECK(!w.store->find_credentials("alice"));
}

TEST_CASE("Registering a username that is taken in any letter case is a 409 conflict", "[api]") {
  World w;
  w.user("alice");
  expect_error(w.slow("/api/auth/register", R"({"username":"ALICE","password":"long enough pw"})"), 409, "conflict");
}

TEST_CASE("Registration is limited per address and answers 429 with Retry-After", "[api]") {
  World w;
  // Every attempt costs, valid or not; invalid ones are cheap to make here.
  for (int i = 0; i < 50; ++i) expect_error(w.slow("/api/auth/register", "{}"), 400, "missing_field");
  auto limited = w.slow("/api/auth/register", "{}");
  expect_error(limited, 429, "rate_limited");
  CHECK(header(limited, "Retry-After") == "1");
  // Another address has its own bucket; a second later this one has a token again.
  expect_error(w.slow("/api/auth/register", "{}", "198.51.100.7"), 400, "missing_field");
  w.now += 1000;
  expect_error(w.slow("/api/auth/register", "{}"), 400, "missing_field");
}

TEST_CASE("Logging in with the right password, in any letter case, returns a working token", "[api]") {
  World w;
  const User alice = w.user("alice");
  auto r = w.slow("/api/auth/login", R"({"username":"ALICE","password":")" + kPassword + R"("})");
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.body.find(kPassword) == std::string::npos);
  CHECK(r.body.find("argon2") == std::string::npos);
  const Json j = parse(r.body);
  CHECK(j["user"]["id"] == alice.id);
  CHECK(j["user"]["username"] == "alice");
  CHECK(j["user"]["displayName"] == "Name of alice");
  auto me = w.get("/api/me", j["token"].get<std::string>());
  REQUIRE(me.status == 200);
  CHECK(parse(me.body)["user"]["id"] == alice.id);
}

TEST_CASE("A wrong password and an unknown username give the same 401 body", "[api]") {
  World w;
  w.user("alice");
  auto wrong = w.slow("/api/auth/login", R"({"username":"alice","password":"not the password"})");
  auto unknown = w.slow("/api/auth/login", R"({"username":"nobody","password":"not the password"})");
  auto invalid = w.slow("/api/auth/login", R"({"username":"no such name!","password":"x"})");
  expect_error(wrong, 401, "unauthenticated");
  CHECK(message_of(wrong) == "wrong username or password");
  CHECK(unknown.status == wrong.status);
  CHECK(unknown.body == wrong.body);
  CHECK(invalid.body == wrong.body);
  CHECK(unknown.headers == wrong.headers);
}

TEST_CASE("A login without username or password is a 400, not a failed login", "[api]") {
  World w;
  expect_error(w.slow("/api/auth/login", R"({"username":"alice"})"), 400, "missing_field");
  expect_error(w.slow("/api/auth/login", R"({"username":"alice","password":null})"), 400, "missing_field");
  expect_error(w.slow("/api/auth/login", R"({"username":["alice"],"password":"x"})"), 400, "wrong_type");
  expect_error(w.slow("/api/auth/login", "nope"), 400, "bad_json");
}

TEST_CASE("The eleventh failed login from one address is refused with 429 and Retry-After", "[api]") {
  World w;
  w.user("alice");
  const std::string wrong = R"({"username":"alice","password":"not the password"})";
  const std::string right = R"({"username":"alice","password":")" + kPassword + R"("})";
  for (int i = 0; i < 10; ++i) expect_error(w.slow("/api/auth/login", wrong), 401, "unauthenticated");
  auto limited = w.slow("/api/auth/login", right);  // even the right password waits
  expect_error(limited, 429, "rate_limited");
  CHECK(header(limited, "Retry-After") == "6");  // 10 per minute: one every 6 s
  // Other addresses are not affected.
  CHECK(w.slow("/api/auth/login", right, "198.51.100.7").status == 200);
  w.now += 6000;
  CHECK(w.slow("/api/auth/login", right).status == 200);
}

TEST_CASE("Successful logins do not count against the failed-login limit", "[api]") {
  ApiConfig config = base_config();
  config.failed_login_burst = 2;
  World w(config);
  w.user("alice");
  const std::string right = R"({"username":"alice","password":")" + kPassword + R"("})";
  for (int i = 0; i < 3; ++i) CHECK(w.slow("/api/auth/login", right).status == 200);
  CHECK(w.slow("/api/auth/login", R"({"username":"alice","password":"wrong one"})").status == 401);
  CHECK(w.slow("/api/auth/login", right).status == 200);
}

TEST_CASE("Slow routes run on worker threads while handle runs, and are all counted", "[api]") {
  World w;
  w.user("alice");
  const std::string wrong = R"({"username":"alice","password":"not the password"})";
  std::atomic<int> refused{0}, limited{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < 4; ++i) {
        const int status = w.api->handle_slow({"POST", "/api/auth/login", "", "application/json", wrong, "192.0.2.9"}, w.now).status;
        (status == 401 ? refused : limited).fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 20; ++i) w.get("/healthz", "");  // the network thread keeps working
  for (auto& t : workers) t.join();
  CHECK(refused + limited == 12);
  CHECK(refused >= 10);  // a login checked while another is still hashing may get through
  const std::string metrics = w.get("/metrics", "").body;
  INFO(metrics);
  CHECK(metrics.find("duet_logins_total{result=\"failed\"} " + std::to_string(refused.load()) + "\n") !=
        std::string::npos);
  CHECK(metrics.find("duet_http_route_requests_total{route=\"auth\"} 12\n") != std::string::npos);
}

TEST_CASE("is_slow picks exactly the two password routes, and handle answers them too", "[api]") {
  CHECK(Api::is_slow({"POST", "/api/auth/register", "", "", "", ""}));
  CHECK(Api::is_slow({"POST", "/api/auth/login?x=1", "", "", "", ""}));
  CHECK(!Api::is_slow({"GET", "/api/auth/login", "", "", "", ""}));
  CHECK(!Api::is_slow({"POST", "/api/calls", "", "", "", ""}));
  CHECK(!Api::is_slow({"POST", "/api/auth/logins", "", "", "", ""}));

  World w;
  // A slow route through handle() works (on the calling thread).
  expect_error(w.post("/api/auth/login", "", "{}"), 400, "missing_field");
  // handle_slow given another route is the caller's bug: 500, and it touches nothing.
  Request other{"GET", "/api/me", "", "", "", "192.0.2.1"};
  expect_error(w.api->handle_slow(other, w.now), 500, "internal");
  // GET on a slow route's path is an ordinary 405.
  auto r = w.get("/api/auth/login", "");
  expect_error(r, 405, "bad_value");
  CHECK(header(r, "Allow") == "POST");
}

// ----- tokens --------------------------------------------------------------------------------

TEST_CASE("Routes with a user answer 401 without a token, with a bad or expired token, or for a deleted user",
          "[api]") {
  World w;
  const User alice = w.user("alice");
  const std::string good = w.token(alice, 60);

  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/api/me"},
      {"GET", "/api/contacts"},
      {"POST", "/api/contacts"},
      {"POST", "/api/contacts/u_bob/accept"},
      {"DELETE", "/api/contacts/u_bob"},
      {"GET", "/api/groups"},
      {"POST", "/api/groups"},
      {"GET", "/api/calls"},
      {"POST", "/api/calls"},
      {"GET", "/api/calls/history"},
      {"GET", "/api/calls/missed"},
      {"GET", "/api/calls/missed/count"},
      {"POST", "/api/calls/missed/seen"},
      {"GET", "/api/calls/c_x"},
      {"POST", "/api/calls/c_x/accept"},
      {"POST", "/api/calls/c_x/reject"},
      {"POST", "/api/calls/c_x/end"},
      {"GET", "/api/ice-servers"},
  };
  for (const auto& [method, target] : routes) {
    INFO(method << " " << target);
    auto r = w.send(method, target);
    expect_error(r, 401, "unauthenticated");
    CHECK(header(r, "WWW-Authenticate").rfind("Bearer", 0) == 0);
    CHECK(w.out.send.empty());
  }

  SECTION("a token that is not ours") {
    const std::string forged = sign_token(Claims{alice.id, "x", w.now / 1000, w.now / 1000 + 60},
                                          "another-secret-0123456789abcdef0123456789");
    expect_error(w.get("/api/me", forged), 401, "unauthenticated");
    expect_error(w.get("/api/me", "not.a.token"), 401, "unauthenticated");
  }
  SECTION("another scheme, or no token after Bearer") {
    Request basic{"GET", "/api/me", "Basic " + good, "", "", "192.0.2.1"};
    Actions out;
    expect_error(w.api->handle(basic, w.now, out), 401, "unauthenticated");
    Request bare{"GET", "/api/me", "Bearer", "", "", "192.0.2.1"};
    expect_error(w.api->handle(bare, w.now, out), 401, "unauthenticated");
  }
  SECTION("the scheme is case-insensitive") {
    Request lower{"GET", "/api/me", "bearer  " + good, "", "", "192.0.2.1"};
    Actions out;
    CHECK(w.api->handle(lower, w.now, out).status == 200);
  }
  SECTION("an expired token") {
    CHECK(w.get("/api/me", good).status == 200);
    w.now += 61'000;
    auto r = w.get("/api/me", good);
    expect_error(r, 401, "unauthenticated");
    CHECK(message_of(r).find("expired") != std::string::npos);
  }
  SECTION("a token of a user who no longer exists") {
    const std::string ghost = sign_token(Claims{"u_ghost", "Ghost", w.now / 1000, w.now / 1000 + 60}, kSecret);
    expect_error(w.get("/api/me", ghost), 401, "unauthenticated");
  }
}

TEST_CASE("check_token gives the identity of a valid token and unauthenticated otherwise", "[api]") {
  World w;
  const User alice = w.user("alice");
  auto id = w.api->check_token(w.token(alice), w.now);
  REQUIRE(id);
  CHECK(id->userId == alice.id);
  CHECK(id->displayName == "Name of alice");
  auto bad = w.api->check_token("garbage", w.now);
  REQUIRE(!bad);
  CHECK(bad.error().code == ErrorCode::unauthenticated);
  auto ghost = w.api->check_token(sign_token(Claims{"u_ghost", "G", w.now / 1000, w.now / 1000 + 60}, kSecret), w.now);
  REQUIRE(!ghost);
  CHECK(ghost.error().code == ErrorCode::unauthenticated);
  // The hub uses it: a socket signs in with a REST token.
  w.connect(alice);
  CHECK(w.hub.presence(alice.id) == PresenceStatus::online);
}

// ----- routing and bodies --------------------------------------------------------------------

TEST_CASE("Unknown routes are 404 and known paths with another method are 405 with Allow", "[api]") {
  World w;
  const std::string tok = w.token(w.user("alice"));
  for (const auto& target : {"/api/nope", "/api", "/", "/api/calls/c_1/hold", "/api/calls/missed/count/x",
                             "/api/contacts/u_1/accept/x", "/api/me/"}) {
    INFO(target);
    expect_error(w.get(target, tok), 404, "not_found");
  }
  struct Case {
    std::string method, target, allow;
  };
  for (const auto& c : std::vector<Case>{{"DELETE", "/api/calls", "GET, POST"},
                                         {"PUT", "/api/contacts", "GET, POST"},
                                         {"GET", "/api/contacts/u_1", "DELETE"},
                                         {"GET", "/api/calls/c_1/accept", "POST"},
                                         {"POST", "/api/me", "GET"},
                                         {"POST", "/healthz", "GET"},
                                         {"DELETE", "/api/calls/missed/seen", "POST"}}) {
    INFO(c.method << " " << c.target);
    auto r = w.send(c.method, c.target, tok);
    expect_error(r, 405, "bad_value");
    CHECK(header(r, "Allow") == c.allow);
  }
}

TEST_CASE("Request bodies over 16 KiB are refused with 413 too_large", "[api]") {
  World w;
  const std::string tok = w.token(w.user("alice"));
  const std::string big = R"({"username":")" + std::string(16 * 1024, 'a') + R"("})";
  expect_error(w.post("/api/contacts", tok, big), 413, "too_large");
  expect_error(w.slow("/api/auth/register", big), 413, "too_large");
  expect_error(w.slow("/api/auth/login", big), 413, "too_large");
}

TEST_CASE("A body not declared application/json is refused with 415 on every route that reads one", "[api]") {
  World w;
  const User alice = w.user("alice");
  const User bob = w.user("bob");
  w.befriend(alice, bob);
  const std::string tok = w.token(alice);
  const std::string body = R"({"username":"bob","password":"long enough pw","name":"g","receiverId":"u_bob","type":"audio"})";
  const auto as = [&](const std::string& path, const std::string& type) {
    Request r{"POST", path, "Bearer " + tok, type, body, "192.0.2.9"};
    w.out = Actions{};
    return w.api->handle(r, w.now, w.out);
  };
  // What a cross-site form or fetch may send without a preflight, and nothing at all.
  for (const char* type : {"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=x", "", "application/jsonx", "json"}) {
    INFO("Content-Type: " << type);
    for (const char* path : {"/api/auth/register", "/api/auth/login", "/api/contacts", "/api/groups", "/api/calls"}) {
      INFO(path);
      const Response r = as(path, type);
      expect_error(r, 415, "bad_value");
      CHECK(message_of(r).find("application/json") != std::string::npos);
    }
  }
  CHECK(w.store->calls_of(alice.id, 10, 0)->empty());
  // Parameters and letter case do not matter.
  CHECK(as("/api/calls", "Application/JSON; charset=utf-8").status == 201);
  // Routes that read no body do not look at it.
  const std::string call = parse(w.get("/api/calls", tok).body)[0]["id"].get<std::string>();
  CHECK(as("/api/calls/" + call + "/end", "text/plain").status == 200);
}

TEST_CASE("A body that is not a JSON object with the right fields is a 400 naming the problem", "[api]") {
  World w;
  const std::string tok = w.token(w.user("alice"));
  expect_error(w.post("/api/contacts", tok, ""), 400, "bad_json");
  expect_error(w.post("/api/contacts", tok, "{"), 400, "bad_json");
  expect_error(w.post("/api/contacts", tok, "{\"username\":\"\xff\xfe\"}"), 400, "bad_json");  // not UTF-8
  expect_error(w.post("/api/contacts", tok, "[1]"), 400, "not_an_object");
  expect_error(w.post("/api/contacts", tok, "null"), 400, "not_an_object");
  auto wrong = w.post("/api/contacts", tok, R"({"username":5})");
  expect_error(wrong, 400, "wrong_type");
  CHECK(message_of(wrong).find("\"username\"") != std::string::npos);
  auto missing = w.post("/api/contacts", tok, "{}");
  expect_error(missing, 400, "missing_field");
  CHECK(message_of(missing).find("\"username\"") != std::string::npos);
}

TEST_CASE("healthz and metrics need no token; requests and logins are counted", "[api]") {
  World w;
  const User alice = w.user("alice");
  auto health = w.get("/healthz", "");
  REQUIRE(health.status == 200);
  CHECK(parse(health.body) == Json{{"status", "ok"}});

  w.get("/api/me", w.token(alice));
  w.get("/api/me", "");
  w.get("/api/nothing", "");
  w.slow("/api/auth/login", R"({"username":"alice","password":"wrong password"})");
  auto metrics = w.get("/metrics", "");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.content_type == std::string(kMetricsContentType));
  INFO(metrics.body);
  CHECK(metrics.body.find("duet_http_requests_total{code=\"2xx\"} 2") != std::string::npos);  // healthz, me
  CHECK(metrics.body.find("duet_http_requests_total{code=\"4xx\"} 3") != std::string::npos);  // 401, 404, 401
  CHECK(metrics.body.find("duet_http_route_requests_total{route=\"me\"} 2") != std::string::npos);
  CHECK(metrics.body.find("duet_http_route_requests_total{route=\"auth\"} 1") != std::string::npos);
  CHECK(metrics.body.find("duet_logins_total{result=\"failed\"} 1") != std::string::npos);
  CHECK(metrics.body.find("duet_registrations_total 0") != std::string::npos);
}

TEST_CASE("Every response says not to cache it", "[api]") {
  World w;
  CHECK(header(w.get("/healthz", ""), "Cache-Control") == "no-store");
  CHECK(header(w.get("/api/me", ""), "Cache-Control") == "no-store");
  CHECK(header(w.slow("/api/auth/login", "{}"), "Cache-Control") == "no-store");
}

// ----- contacts ------------------------------------------------------------------------------

TEST_CASE("A contact request is outgoing to the asker, incoming to the other, and offline until accepted",
          "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  const ConnId bob_conn = w.connect(bob);
  auto r = w.post("/api/contacts", w.token(alice), R"({"username":"BOB"})");
  INFO(r.body);
  REQUIRE(r.status == 201);
  const Json c = parse(r.body);
  CHECK(c["id"] == bob.id);
  CHECK(c["username"] == "bob");
  CHECK(c["displayName"] == "Name of bob");
  CHECK(c["state"] == "outgoing");
  CHECK(is_iso_time(c["since"]));
  CHECK(c["presence"] == "offline");  // bob is online, but not alice's contact yet
  // Bob's device hears of it at once: a presence message about someone not in its list is its
  // cue to reload the list (offline, since nothing is shared before the accept).
  auto presence = w.sent<msg::Presence>(bob_conn);
  REQUIRE(presence.size() == 1);
  CHECK(presence[0].userId == alice.id);
  CHECK(presence[0].status == PresenceStatus::offline);

  auto list = w.get("/api/contacts", w.token(bob));
  REQUIRE(list.status == 200);
  const Json l = parse(list.body);
  REQUIRE(l.is_array());
  REQUIRE(l.size() == 1);
  CHECK(l[0]["id"] == alice.id);
  CHECK(l[0]["state"] == "incoming");
  CHECK(l[0]["presence"] == "offline");
}

TEST_CASE("Accepting a request makes both contacts and tells their connected devices", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  const ConnId alice_conn = w.connect(alice);
  REQUIRE(w.store->request_contact(alice.id, bob.id, w.now));
  w.now += 5000;
  auto r = w.post("/api/contacts/" + alice.id + "/accept", w.token(bob));
  INFO(r.body);
  REQUIRE(r.status == 200);
  const Json c = parse(r.body);
  CHECK(c["id"] == alice.id);
  CHECK(c["state"] == "accepted");
  CHECK(c["since"] == "2026-11-22T03:15:41.123Z");
  CHECK(c["presence"] == "online");
  // Alice's device hears about bob's presence (offline: he has no socket).
  auto presence = w.sent<msg::Presence>(alice_conn);
  REQUIRE(presence.size() == 1);
  CHECK(presence[0].userId == bob.id);
  CHECK(presence[0].status == PresenceStatus::offline);

  const ConnId bob_conn = w.connect(bob);
  (void)bob_conn;
  auto list = parse(w.get("/api/contacts", w.token(alice)).body);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["state"] == "accepted");
  CHECK(list[0]["presence"] == "online");
}

TEST_CASE("Asking someone who had already asked accepts at once", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  const ConnId bob_conn = w.connect(bob);
  REQUIRE(w.post("/api/contacts", w.token(bob), R"({"username":"alice"})").status == 201);
  auto r = w.post("/api/contacts", w.token(alice), R"({"username":"bob"})");
  REQUIRE(r.status == 201);
  CHECK(parse(r.body)["state"] == "accepted");
  CHECK(parse(r.body)["presence"] == "online");
  auto presence = w.sent<msg::Presence>(bob_conn);
  REQUIRE(presence.size() == 1);
  CHECK(presence[0].userId == alice.id);
}

TEST_CASE("Contact mistakes: unknown user 404, myself 400, twice 409, my own request 403, none 404", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  const std::string a = w.token(alice), b = w.token(bob);
  expect_error(w.post("/api/contacts", a, R"({"username":"nobody"})"), 404, "not_found");
  expect_error(w.post("/api/contacts", a, R"({"username":"!!"})"), 404, "not_found");
  expect_error(w.post("/api/contacts", a, R"({"username":"alice"})"), 400, "bad_value");
  REQUIRE(w.post("/api/contacts", a, R"({"username":"bob"})").status == 201);
  expect_error(w.post("/api/contacts", a, R"({"username":"bob"})"), 409, "conflict");
  expect_error(w.post("/api/contacts/" + bob.id + "/accept", a), 403, "forbidden");
  expect_error(w.post("/api/contacts/u_nobody/accept", b), 404, "not_found");
  expect_error(w.post("/api/contacts/bad%20id/accept", b), 404, "not_found");
  REQUIRE(w.post("/api/contacts/" + alice.id + "/accept", b).status == 200);
  expect_error(w.post("/api/contacts/" + alice.id + "/accept", b), 409, "conflict");
  expect_error(w.post("/api/contacts", b, R"({"username":"alice"})"), 409, "conflict");
}

TEST_CASE("Removing a contact answers 204, tells both, and a second removal is 404", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob"), carol = w.user("carol");
  w.befriend(alice, bob);
  const ConnId bob_conn = w.connect(bob);
  auto r = w.send("DELETE", "/api/contacts/" + bob.id, w.token(alice));
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(r.content_type.empty());
  auto presence = w.sent<msg::Presence>(bob_conn);
  REQUIRE(presence.size() == 1);
  CHECK(presence[0].userId == alice.id);
  CHECK(presence[0].status == PresenceStatus::offline);
  CHECK(parse(w.get("/api/contacts", w.token(alice)).body).empty());
  expect_error(w.send("DELETE", "/api/contacts/" + bob.id, w.token(alice)), 404, "not_found");

  // Declining a pending request is the same route; the asker's devices hear of it at once, so
  // their list drops it, and learn nothing else (offline, as before).
  REQUIRE(w.store->request_contact(carol.id, bob.id, w.now));
  const ConnId carol_conn = w.connect(carol);
  CHECK(w.send("DELETE", "/api/contacts/" + carol.id, w.token(bob)).status == 204);
  auto told = w.sent<msg::Presence>(carol_conn);
  REQUIRE(told.size() == 1);
  CHECK(told[0].userId == bob.id);
  CHECK(told[0].status == PresenceStatus::offline);
}

// ----- groups --------------------------------------------------------------------------------

TEST_CASE("Creating a group of contacts returns it with its members, and it is listed for each", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob"), carol = w.user("carol");
  w.befriend(alice, bob);
  w.befriend(alice, carol);
  auto r = w.post("/api/groups", w.token(alice),
                  Json{{"name", " Family "}, {"memberIds", {bob.id, carol.id, bob.id}}}.dump());
  INFO(r.body);
  REQUIRE(r.status == 201);
  const Json g = parse(r.body);
  CHECK(g["id"].get<std::string>().rfind("g_", 0) == 0);
  CHECK(g["name"] == "Family");
  CHECK(g["ownerId"] == alice.id);
  CHECK(is_iso_time(g["createdAt"]));
  REQUIRE(g["members"].size() == 3);
  for (const auto& m : g["members"]) {
    CHECK(m["id"].is_string());
    CHECK(m["username"].is_string());
    CHECK(m["displayName"].is_string());
  }
  for (const User& u : {alice, bob, carol}) {
    auto list = parse(w.get("/api/groups", w.token(u)).body);
    REQUIRE(list.size() == 1);
    CHECK(list[0] == g);
  }
  // memberIds may be left out: a group of one, to fill later.
  CHECK(w.post("/api/groups", w.token(bob), R"({"name":"Just me"})").status == 201);
}

TEST_CASE("Group mistakes are refused with the field named or the member's problem", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob"), carol = w.user("carol");
  w.befriend(alice, bob);
  const std::string a = w.token(alice);
  expect_error(w.post("/api/groups", a, R"({"memberIds":[]})"), 400, "missing_field");
  expect_error(w.post("/api/groups", a, R"({"name":""})"), 400, "bad_value");
  expect_error(w.post("/api/groups", a, Json{{"name", std::string(65, 'n')}}.dump()), 400, "bad_value");
  expect_error(w.post("/api/groups", a, R"({"name":"G","memberIds":"u_bob"})"), 400, "wrong_type");
  expect_error(w.post("/api/groups", a, R"({"name":"G","memberIds":[5]})"), 400, "wrong_type");
  expect_error(w.post("/api/groups", a, R"({"name":"G","memberIds":["not valid"]})"), 400, "bad_value");
  expect_error(w.post("/api/groups", a, Json{{"name", "G"}, {"memberIds", {carol.id}}}.dump()), 403, "forbidden");
  expect_error(w.post("/api/groups", a, R"({"name":"G","memberIds":["u_nobody"]})"), 404, "not_found");
  CHECK(parse(w.get("/api/groups", a).body).empty());
}

// ----- calls ---------------------------------------------------------------------------------

TEST_CASE("Calling a contact records the call and rings the callee's devices", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  w.befriend(alice, bob);
  const ConnId bob_phone = w.connect(bob), bob_laptop = w.connect(bob);
  const Json c = w.start_call(w.token(alice), bob, "video");
  const std::string id = c["id"].get<std::string>();
  CHECK(id.rfind("c_", 0) == 0);
  CHECK(c["callerId"] == alice.id);
  CHECK(c["receiverId"] == bob.id);
  CHECK(c["groupId"].is_null());
  CHECK(c["type"] == "video");
  CHECK(c["status"] == "pending");
  CHECK(c["startedAt"].is_null());
  CHECK(c["endedAt"].is_null());
  CHECK(c["duration"].is_null());
  CHECK(c["endReason"].is_null());
  CHECK(c["createdAt"] == "2026-11-22T03:15:36.123Z");
  CHECK(c["direction"] == "outgoing");
  CHECK(c["caller"] == Json{{"id", alice.id}, {"username", "alice"}, {"displayName", "Name of alice"}});
  CHECK(c["receiver"] == Json{{"id", bob.id}, {"username", "bob"}, {"displayName", "Name of bob"}});
  for (ConnId conn : {bob_phone, bob_laptop}) {
    auto rings = w.sent<msg::CallInitiate>(conn);
    REQUIRE(rings.size() == 1);
    CHECK(rings[0].callId == id);
    CHECK(rings[0].callType == CallType::video);
    CHECK(rings[0].fromName == "Name of alice");
  }
  // Bob sees the same call as incoming; both are busy now.
  auto seen = w.get("/api/calls/" + id, w.token(bob));
  REQUIRE(seen.status == 200);
  CHECK(parse(seen.body)["direction"] == "incoming");
  CHECK(parse(seen.body)["id"] == id);
  auto contacts = parse(w.get("/api/contacts", w.token(bob)).body);
  CHECK(contacts[0]["presence"] == "offline");  // alice called over REST, with no socket
  auto alice_contacts = parse(w.get("/api/contacts", w.token(alice)).body);
  CHECK(alice_contacts[0]["presence"] == "busy");
}

TEST_CASE("Calling someone who is not a contact is 403 forbidden, and an unknown user 404", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  const ConnId bob_conn = w.connect(bob);
  auto r = w.post("/api/calls", w.token(alice), Json{{"receiverId", bob.id}, {"type", "audio"}}.dump());
  expect_error(r, 403, "forbidden");
  CHECK(w.sent<msg::CallInitiate>(bob_conn).empty());
  expect_error(w.post("/api/calls", w.token(alice), R"({"receiverId":"u_nobody","type":"audio"})"), 404, "not_found");
  CHECK(parse(w.get("/api/calls", w.token(alice)).body).empty());
}

TEST_CASE("Call requests with bad fields are 400 with the field named", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  w.befriend(alice, bob);
  const std::string a = w.token(alice);
  struct Case {
    std::string body, code, words;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"receiverId":"u_bob"})", "missing_field", "\"type\""},
           {R"({"receiverId":"u_bob","type":"hologram"})", "bad_value", "\"type\""},
           {R"({"receiverId":"u_bob","type":1})", "wrong_type", "\"type\""},
           {R"({"type":"audio"})", "missing_field", "\"receiverId\""},
           {R"({"receiverId":5,"type":"audio"})", "wrong_type", "\"receiverId\""},
           {R"({"receiverId":"no spaces","type":"audio"})", "bad_value", "\"receiverId\""},
           {R"({"receiverId":"u_alice","type":"audio"})", "bad_value", "yourself"},
           {R"({"groupId":"g_1","type":"audio"})", "bad_value", "group calls are not supported by this server yet"},
           {R"({"groupId":"g_1","receiverId":"u_bob","type":"audio"})", "bad_value", "not both"},
           {"[]", "not_an_object", ""},
       }) {
    INFO(c.body);
    auto r = w.post("/api/calls", a, c.body);
    expect_error(r, 400, c.code);
    CHECK(message_of(r).find(c.words) != std::string::npos);
    CHECK(w.out.send.empty());
  }
  CHECK(parse(w.get("/api/calls", a).body).empty());
}

TEST_CASE("A call accepted and then ended over REST goes active, then ended with its duration", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  w.befriend(alice, bob);
  const ConnId alice_conn = w.connect(alice);
  const std::string id = w.start_call(w.token(alice), bob)["id"].get<std::string>();
  w.now += 4000;
  auto accepted = w.post("/api/calls/" + id + "/accept", w.token(bob));
  INFO(accepted.body);
  REQUIRE(accepted.status == 200);
  const Json a = parse(accepted.body);
  CHECK(a["status"] == "active");
  CHECK(a["startedAt"] == "2026-11-22T03:15:40.123Z");
  CHECK(a["direction"] == "incoming");
  CHECK(w.sent<msg::CallAccept>(alice_conn).size() == 1);

  w.now += 65'000;
  auto ended = w.post("/api/calls/" + id + "/end", w.token(alice));
  REQUIRE(ended.status == 200);
  const Json e = parse(ended.body);
  CHECK(e["status"] == "ended");
  CHECK(e["duration"] == 65);
  CHECK(e["endReason"] == "hangup");
  CHECK(e["endedAt"] == "2026-11-22T03:16:45.123Z");
  CHECK(e["direction"] == "outgoing");
  // The stored record says the same.
  CHECK(parse(w.get("/api/calls/" + id, w.token(bob)).body)["status"] == "ended");
  // A finished call refuses further actions.
  expect_error(w.post("/api/calls/" + id + "/end", w.token(bob)), 409, "invalid_state");
}

TEST_CASE("Rejecting a call records it as rejected and tells the caller", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  w.befriend(alice, bob);
  const ConnId alice_conn = w.connect(alice);
  const std::string id = w.start_call(w.token(alice), bob)["id"].get<std::string>();
  auto r = w.post("/api/calls/" + id + "/reject", w.token(bob));
  REQUIRE(r.status == 200);
  CHECK(parse(r.body)["status"] == "rejected");
  CHECK(parse(r.body)["endReason"] == "rejected");
  CHECK(w.sent<msg::CallReject>(alice_conn).size() == 1);
  expect_error(w.post("/api/calls/" + id + "/accept", w.token(bob)), 409, "invalid_state");
}

TEST_CASE("The caller ending an unanswered call cancels it; the caller cannot accept it", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  w.befriend(alice, bob);
  const ConnId bob_conn = w.connect(bob);
  const std::string id = w.start_call(w.token(alice), bob)["id"].get<std::string>();
  expect_error(w.post("/api/calls/" + id + "/accept", w.token(alice)), 404, "not_participant");
  auto r = w.post("/api/calls/" + id + "/end", w.token(alice));
  REQUIRE(r.status == 200);
  CHECK(parse(r.body)["status"] == "cancelled");
  // Bob's devices stop ringing (the hub says so with call:end or call:cancel).
  CHECK(w.sent<msg::CallCancel>(bob_conn).size() + w.sent<msg::CallEnd>(bob_conn).size() == 1);
}

TEST_CASE("Someone else's call is a 404 to a stranger, exactly like a call that does not exist", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob"), eve = w.user("eve");
  w.befriend(alice, bob);
  w.befriend(alice, eve);
  const std::string id = w.start_call(w.token(alice), bob)["id"].get<std::string>();
  const std::string e = w.token(eve);
  auto theirs = w.get("/api/calls/" + id, e);
  auto none = w.get("/api/calls/c_doesnotexist", e);
  expect_error(theirs, 404, "not_found");
  CHECK(theirs.body == none.body);
  expect_error(w.get("/api/calls/bad.id", e), 404, "not_found");
  for (const char* action : {"accept", "reject", "end"}) {
    INFO(action);
    auto act = w.post("/api/calls/" + id + "/" + action, e);
    auto act_none = w.post(std::string("/api/calls/c_doesnotexist/") + action, e);
    expect_error(act, 404, "not_found");
    CHECK(act.body == act_none.body);
    CHECK(w.out.send.empty());
  }
  CHECK(parse(w.get("/api/calls/" + id, w.token(bob)).body)["status"] == "pending");
}

TEST_CASE("A callee already in a call makes a new call 409 busy, kept in history", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob"), carol = w.user("carol");
  w.befriend(alice, bob);
  w.befriend(carol, bob);
  w.start_call(w.token(alice), bob);
  expect_error(w.post("/api/calls", w.token(carol), Json{{"receiverId", bob.id}, {"type", "audio"}}.dump()), 409,
               "busy");
  auto history = parse(w.get("/api/calls", w.token(carol)).body);
  REQUIRE(history.size() == 1);
  CHECK(history[0]["status"] == "busy");
}

TEST_CASE("Call history is newest first and pages with limit and skip", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob"), carol = w.user("carol");
  for (int i = 0; i < 25; ++i) {
    w.stored_call("c_" + std::to_string(100 + i), i % 2 ? bob : alice, i % 2 ? alice : bob, T0 + i * 60'000,
                  CallStatus::rejected);
  }
  w.stored_call("c_other", bob, carol, T0 + 999'000, CallStatus::missed);  // not alice's
  const std::string a = w.token(alice);
  const auto ids = [&](const std::string& target) {
    auto r = w.get(target, a);
    INFO(target << " " << r.body);
    REQUIRE(r.status == 200);
    std::vector<std::string> out;
    for (const auto& c : parse(r.body)) out.push_back(c["id"].get<std::string>());
    return out;
  };
  const auto first = ids("/api/calls");
  REQUIRE(first.size() == 20);  // the default page
  CHECK(first.front() == "c_124");
  CHECK(first.back() == "c_105");
  CHECK(ids("/api/calls?limit=2") == std::vector<std::string>{"c_124", "c_123"});
  CHECK(ids("/api/calls?limit=2&skip=2") == std::vector<std::string>{"c_122", "c_121"});
  CHECK(ids("/api/calls?skip=23&limit=10") == std::vector<std::string>{"c_101", "c_100"});
  CHECK(ids("/api/calls?skip=25").empty());
  CHECK(ids("/api/calls?limit=&skip=") == first);
  CHECK(ids("/api/calls?limit=99999999999999").size() == 25);
  CHECK(ids("/api/calls/history?limit=2") == std::vector<std::string>{"c_124", "c_123"});
  // Each call as this user sees it.
  auto page = parse(w.get("/api/calls?limit=2", a).body);
  CHECK(page[0]["direction"] == "outgoing");  // c_124: alice called
  CHECK(page[1]["direction"] == "incoming");  // c_123: bob called
  CHECK(page[1]["caller"]["id"] == bob.id);
}

TEST_CASE("A limit or skip that is not a whole number is a 400 bad_value", "[api]") {
  World w;
  const std::string a = w.token(w.user("alice"));
  for (const auto& target : {"/api/calls?limit=abc", "/api/calls?skip=-1", "/api/calls?limit=1.5",
                             "/api/calls?limit=1e3", "/api/calls/missed?limit=ten", "/api/calls?limit=%2D1"}) {
    INFO(target);
    auto r = w.get(target, a);
    expect_error(r, 400, "bad_value");
  }
  CHECK(message_of(w.get("/api/calls?skip=x", a)).find("\"skip\"") != std::string::npos);
}

TEST_CASE("The missed-calls badge counts new missed calls and resets when they are seen", "[api]") {
  World w;
  const User alice = w.user("alice"), bob = w.user("bob");
  w.befriend(alice, bob);
  const std::string a = w.token(alice), b = w.token(bob);
  const auto unseen = [&](const std::string& tok) {
    auto r = w.get("/api/calls/missed/count", tok);
    REQUIRE(r.status == 200);
    const Json j = parse(r.body);
    REQUIRE(j.size() == 1);
    return j["unseen"].get<int>();
  };
  CHECK(unseen(b) == 0);

  const std::string first = w.start_call(a, bob)["id"].get<std::string>();
  w.now += 31'000;
  w.hub.tick(w.now);  // the ring timeout passes
  CHECK(unseen(b) == 1);
  CHECK(unseen(a) == 0);  // the caller did not miss anything
  CHECK(parse(w.get("/api/me", b).body)["missedUnseen"] == 1);
  auto missed = parse(w.get("/api/calls/missed", b).body);
  REQUIRE(missed.size() == 1);
  CHECK(missed[0]["id"] == first);
  CHECK(missed[0]["status"] == "missed");
  CHECK(missed[0]["direction"] == "incoming");
  CHECK(missed[0]["endReason"] == "timeout");

  auto seen = w.post("/api/calls/missed/seen", b);
  CHECK(seen.status == 204);
  CHECK(seen.body.empty());
  CHECK(unseen(b) == 0);
  CHECK(parse(w.get("/api/calls/missed", b).body).size() == 1);  // still listed, just not new

  // A call the caller gives up on while it rings counts as missed too.
  w.now += 1000;
  const std::string second = w.start_call(a, bob)["id"].get<std::string>();
  REQUIRE(w.post("/api/calls/" + second + "/end", a).status == 200);
  CHECK(unseen(b) == 1);
  missed = parse(w.get("/api/calls/missed?limit=1", b).body);
  REQUIRE(missed.size() == 1);
  CHECK(missed[0]["id"] == second);
  CHECK(parse(w.get("/api/calls/missed", b).body).size() == 2);
}

// ----- ICE servers ---------------------------------------------------------------------------

TEST_CASE("ICE servers are an empty list when none are configured", "[api]") {
  World w;
  auto r = w.get("/api/ice-servers", w.token(w.user("alice")));
  REQUIRE(r.status == 200);
  const Json j = parse(r.body);
  CHECK(j["iceServers"] == Json::array());
  CHECK(j["ttl"] == 3600);
}

TEST_CASE("ICE servers list STUN and static TURN credentials as configured", "[api]") {
  ApiConfig config = base_config();
  config.stun_url = "stun:stun.example.org:3478";
  config.turn_url = "turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349";
  config.turn_username = "duet";
  config.turn_credential = "s3cret";
  World w(config);
  const Json j = parse(w.get("/api/ice-servers", w.token(w.user("alice"))).body);
  REQUIRE(j["iceServers"].size() == 2);
  CHECK(j["iceServers"][0] == Json{{"urls", {"stun:stun.example.org:3478"}}});
  CHECK(j["iceServers"][1]["urls"] ==
        Json{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"});
  CHECK(j["iceServers"][1]["username"] == "duet");
  CHECK(j["iceServers"][1]["credential"] == "s3cret");
}

TEST_CASE("ICE servers with a TURN secret give each user their own time-limited credentials", "[api]") {
  ApiConfig config = base_config();
  config.turn_url = "turn:turn.example.org:3478";
  config.turn_username = "static-user";
  config.turn_credential = "static-pass";
  config.turn_secret = "coturn-static-auth-secret";
  config.turn_ttl_s = 600;
  World w(config);
  const User alice = w.user("alice"), bob = w.user("bob");
  const auto turn_of = [&](const User& u) {
    const Json j = parse(w.get("/api/ice-servers", w.token(u)).body);
    CHECK(j["ttl"] == 600);
    REQUIRE(j["iceServers"].size() == 1);
    return j["iceServers"][0];
  };
  const Json a = turn_of(alice), b = turn_of(bob);
  const std::string expiry = std::to_string(w.now / 1000 + 600);
  CHECK(a["username"] == expiry + ":" + alice.id);
  CHECK(b["username"] == expiry + ":" + bob.id);
  // base64 of a 20-byte HMAC-SHA1: 27 characters and one '='.
  static const std::regex b64(R"([A-Za-z0-9+/]{27}=)");
  CHECK(std::regex_match(a["credential"].get<std::string>(), b64));
  CHECK(std::regex_match(b["credential"].get<std::string>(), b64));
  CHECK(a["credential"] != b["credential"]);
  CHECK(a.dump().find("static") == std::string::npos);
  // Later, new credentials.
  w.now += 1000;
  const Json later = turn_of(alice);
  CHECK(later["username"] == std::to_string(w.now / 1000 + 600) + ":" + alice.id);
  CHECK(later["credential"] != a["credential"]);
}

TEST_CASE("A TURN URL without any credentials is left out of the ICE servers", "[api]") {
  ApiConfig config = base_config();
  config.stun_url = "stun:stun.example.org:3478";
  config.turn_url = "turn:turn.example.org:3478";
  World w(config);
  const Json j = parse(w.get("/api/ice-servers", w.token(w.user("alice"))).body);
  REQUIRE(j["iceServers"].size() == 1);
  CHECK(j["iceServers"][0]["urls"] == Json{"stun:stun.example.org:3478"});
}

// ----- helpers -------------------------------------------------------------------------------

TEST_CASE("http_status gives client mistakes 4xx and only a server fault 5xx", "[api]") {
  for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    INFO(to_string(code));
    const int status = http_status(code);
    if (code == ErrorCode::internal) CHECK(status == 500);
    else CHECK((status >= 400 && status < 500));
  }
  CHECK(http_status(ErrorCode::bad_json) == 400);
  CHECK(http_status(ErrorCode::too_large) == 413);
  CHECK(http_status(ErrorCode::unauthenticated) == 401);
  CHECK(http_status(ErrorCode::forbidden) == 403);
  CHECK(http_status(ErrorCode::not_participant) == 404);
  CHECK(http_status(ErrorCode::busy) == 409);
  CHECK(http_status(ErrorCode::rate_limited) == 429);
}

TEST_CASE("error_response writes the code and message, and hides a server fault's details", "[api]") {
  auto r = error_response(make_error(ErrorCode::forbidden, "you can only call your contacts"));
  CHECK(r.status == 403);
  CHECK(r.body == R"({"error":{"code":"forbidden","message":"you can only call your contacts"}})");
  auto fault = error_response(make_error(ErrorCode::internal, "sqlite: disk I/O error in /var/lib/duet.db"));
  CHECK(fault.status == 500);
  CHECK(fault.body.find("sqlite") == std::string::npos);
  expect_error(fault, 500, "internal");
}

TEST_CASE("Times are ISO-8601 UTC with milliseconds", "[api]") {
  CHECK(iso8601(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso8601(T0) == "2026-11-22T03:15:36.123Z");
  CHECK(iso8601(1'709'251'199'999) == "2024-02-29T23:59:59.999Z");
  CHECK(iso8601(-1) == "1969-12-31T23:59:59.999Z");
}
