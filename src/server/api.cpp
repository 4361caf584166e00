// The REST routes. docs/api.md is the reference for clients; the comments here say why.
//
// Every request goes through the same steps, and stops at the first problem:
//   1. the body is at most kMaxRequestBodyBytes                          -> 413 too_large
//   2. the path names a route                                            -> 404 not_found
//   3. the route takes this method                                       -> 405 (Allow header)
//   4. the route needs a user: Authorization: Bearer <valid token>       -> 401 unauthenticated
//   5. the body (where the route reads one) is declared application/json     -> 415
//      and is a JSON object with valid fields                                -> 400
//   6. the store and the hub decide (403, 404, 409, 429; 500 only for their own faults)
// JSON is read with nlohmann/json's non-throwing parse and checked type by type; responses
// are written with error_handler_t::replace, so nothing here throws on client input.
#include "server/api.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "server/passwords.hpp"
#include "server/tokens.hpp"

namespace duet::server {
namespace {

using InJson = nlohmann::json;           // what clients send
using OutJson = nlohmann::ordered_json;  // what we write: fields in the order docs/api.md shows

constexpr std::string_view kWrongLogin = "wrong username or password";
constexpr std::string_view kInternalMessage = "the server failed to answer; try again later";

// ----- responses -----------------------------------------------------------------------------

std::string dump(const OutJson& j) {
  return j.dump(-1, ' ', false, OutJson::error_handler_t::replace);
}

Response json_response(int status, const OutJson& body) {
  Response r;
  r.status = status;
  r.body = dump(body);
  return r;
}

Response no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

Response fail(ErrorCode code, std::string message) { return error_response(make_error(code, std::move(message))); }

// Seconds for a Retry-After header: rounded up, at least 1; an hour when waiting cannot help
// (a limiter configured never to refill).
std::string retry_after_seconds(Millis ms) {
  if (ms == kNever) return "3600";
  if (ms <= 0) return "1";
  return std::to_string((ms + 999) / 1000);
}

Response rate_limited(std::string message, Millis retry_ms) {
  Response r = fail(ErrorCode::rate_limited, std::move(message));
  r.headers.emplace_back("Retry-After", retry_after_seconds(retry_ms));
  return r;
}

Response unauthenticated(std::string message) {
  Response r = fail(ErrorCode::unauthenticated, std::move(message));
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"duet\"");
  return r;
}

// ----- JSON of our records -------------------------------------------------------------------

OutJson time_or_null(const std::optional<Millis>& t) { return t ? OutJson(iso8601(*t)) : OutJson(nullptr); }

OutJson user_json(const User& u) {
  OutJson j;
  j["id"] = u.id;
  j["username"] = u.username;
  j["displayName"] = u.displayName;
  j["createdAt"] = iso8601(u.createdAt);
  return j;
}

// The short form inside calls and groups.
OutJson person_json(const User& u) {
  OutJson j;
  j["id"] = u.id;
  j["username"] = u.username;
  j["displayName"] = u.displayName;
  return j;
}

OutJson contact_json(const Contact& c, PresenceStatus presence) {
  OutJson j;
  j["id"] = c.user.id;
  j["username"] = c.user.username;
  j["displayName"] = c.user.displayName;
  j["state"] = std::string(to_string(c.state));
  j["since"] = iso8601(c.since);
  j["presence"] = std::string(to_string(c.state == Contact::State::accepted ? presence : PresenceStatus::offline));
  return j;
}

OutJson group_json(const Group& g) {
  OutJson j;
  j["id"] = g.id;
  j["name"] = g.name;
  j["ownerId"] = g.ownerId;
  j["createdAt"] = iso8601(g.createdAt);
  OutJson members = OutJson::array();
  for (const auto& m : g.members) members.push_back(person_json(m));
  j["members"] = std::move(members);
  return j;
}

OutJson empty_to_null(const std::string& s) { return s.empty() ? OutJson(nullptr) : OutJson(s); }

// Users named in calls, looked up once per request.
class People {
 public:
  explicit People(Store& store) : store_(store) {}
  OutJson of(const std::string& id) {
    if (id.empty()) return nullptr;
    auto it = cache_.find(id);
    if (it == cache_.end()) {
      auto u = store_.find_user(id);
      it = cache_.emplace(id, u ? std::optional<User>(*u) : std::nullopt).first;
    }
    return it->second ? person_json(*it->second) : OutJson(nullptr);
  }

 private:
  Store& store_;
  std::map<std::string, std::optional<User>> cache_;
};

OutJson call_json(const CallRecord& r, const std::string& viewer, People& people) {
  OutJson j;
  j["id"] = r.id;
  j["callerId"] = r.callerId;
  j["receiverId"] = empty_to_null(r.receiverId);
  j["groupId"] = empty_to_null(r.groupId);
  j["type"] = std::string(to_string(r.type));
  j["status"] = std::string(to_string(r.status));
  j["startedAt"] = time_or_null(r.startedAt);
  j["endedAt"] = time_or_null(r.endedAt);
  j["duration"] = r.duration ? OutJson(*r.duration) : OutJson(nullptr);
  j["endReason"] = r.endReason ? OutJson(std::string(to_string(*r.endReason))) : OutJson(nullptr);
  j["createdAt"] = iso8601(r.createdAt);
  j["direction"] = r.callerId == viewer ? "outgoing" : "incoming";
  j["caller"] = people.of(r.callerId);
  j["receiver"] = people.of(r.receiverId);
  return j;
}

OutJson calls_json(const std::vector<CallRecord>& calls, const std::string& viewer, Store& store) {
  People people(store);
  OutJson list = OutJson::array();
  for (const auto& c : calls) list.push_back(call_json(c, viewer, people));
  return list;
}

// ----- reading requests ----------------------------------------------------------------------

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

// Nesting depth of arrays and objects, brackets inside strings not counted; stops counting
// past `limit` (a linear scan, so a hostile body costs nothing before the parser sees it).
bool deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// A body is read only when it is declared JSON. A browser sends another site's POST without
// asking this server first (CORS preflight) only when its Content-Type is a form's or
// text/plain; refusing those keeps other sites' pages from signing up or in through their
// visitors' browsers (and from spending those visitors' per-address limits).
std::optional<Response> refuse_content_type(const Request& request) {
  const std::string_view declared = request.content_type;
  if (iequals(trim(declared.substr(0, declared.find(';'))), "application/json")) return std::nullopt;
  Response r = fail(ErrorCode::bad_value, "send the body as JSON, with Content-Type: application/json");
  r.status = 415;
  return r;
}

Expected<InJson> parse_object(const std::string& body) {
  if (trim(body).empty()) return make_error(ErrorCode::bad_json, "the request body must be a JSON object, and it is empty");
  if (deeper_than(body, kMaxJsonDepth)) {
    return make_error(ErrorCode::too_deep, "the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  InJson j = InJson::parse(body, nullptr, false);
  if (j.is_discarded()) return make_error(ErrorCode::bad_json, "the request body is not well-formed JSON");
  if (!j.is_object()) return make_error(ErrorCode::not_an_object, "the request body must be a JSON object");
  return j;
}

// A string field; absent and null are the same (nullopt).
Expected<std::optional<std::string>> optional_string(const InJson& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) return make_error(ErrorCode::wrong_type, "field " + quoted(name) + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Expected<std::string> required_string(const InJson& o, const char* name) {
  auto s = optional_string(o, name);
  if (!s) return s.error();
  if (!*s) return make_error(ErrorCode::missing_field, "field " + quoted(name) + " is missing");
  return std::move(**s);
}

bool is_username_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// The username as stored (lower case), or nullopt when it cannot be one.
std::optional<std::string> normalise_username(std::string_view typed) {
  if (typed.size() < kMinUsernameBytes || typed.size() > kMaxUsernameBytes) return std::nullopt;
  std::string out;
  out.reserve(typed.size());
  for (char c : typed) {
    const char l = ascii_lower(c);
    if (!is_username_char(l)) return std::nullopt;
    out.push_back(l);
  }
  return out;
}

// A display name or group name: trimmed, 1..max bytes (UTF-8 validity is the JSON parser's
// job), no control characters (they would break every UI that shows it).
Expected<std::string> clean_name(std::string_view raw, const char* field, std::size_t max) {
  const std::string_view name = trim(raw);
  if (name.empty() || name.size() > max) {
    return make_error(ErrorCode::bad_value, "field " + quoted(field) + " must have 1 to " + std::to_string(max) + " bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return make_error(ErrorCode::bad_value, "field " + quoted(field) + " must not contain control characters");
    }
  }
  return std::string(name);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding of one query key or value; a broken escape is
// kept literally.
std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The first value of `name` in a query string, or nullopt.
std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

// A whole-number query parameter; absent or empty gives `fallback`. Values past a billion are
// read as a billion (the store clamps pages anyway).
Expected<int> count_param(std::string_view query, std::string_view name, int fallback) {
  auto raw = query_param(query, name);
  if (!raw || raw->empty()) return fallback;
  constexpr int kCap = 1'000'000'000;
  long long value = 0;
  for (char c : *raw) {
    if (c < '0' || c > '9') {
      return make_error(ErrorCode::bad_value, "query parameter " + quoted(name) + " must be a whole number");
    }
    value = std::min<long long>(kCap, value * 10 + (c - '0'));
  }
  return static_cast<int>(value);
}

// "stun:a:3478, stun:b:3478" -> ["stun:a:3478", "stun:b:3478"].
OutJson url_list(std::string_view urls) {
  OutJson list = OutJson::array();
  while (!urls.empty()) {
    const auto comma = urls.find(',');
    const auto one = trim(urls.substr(0, comma));
    if (!one.empty()) list.push_back(std::string(one));
    urls = comma == std::string_view::npos ? std::string_view{} : urls.substr(comma + 1);
  }
  return list;
}

std::int64_t unix_seconds(Millis now) {
  return now >= 0 ? now / 1000 : -((-now + 999) / 1000);  // floor
}

// The hash a login of an unknown user is checked against, so that it costs what a wrong
// password costs: nobody learns from the answer's timing which usernames exist.
const std::string& dummy_hash() {
  static const std::string hash = [] {
    auto h = hash_password(random_secret(16));
    return h ? *h : std::string();
  }();
  return hash;
}

// ----- routes --------------------------------------------------------------------------------

enum class RouteId {
  none,
  healthz,
  metrics,
  auth_register,
  auth_login,
  me,
  contacts,
  contact,
  contact_accept,
  groups,
  calls,
  call_history,
  calls_missed,
  calls_missed_count,
  calls_missed_seen,
  call,
  call_accept,
  call_reject,
  call_end,
  ice_servers,
};

struct Match {
  RouteId id = RouteId::none;
  std::string param;  // the {id} in the path
};

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.empty() || path.front() != '/') return parts;
  path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

Match match(std::string_view path) {
  const auto p = split_path(path);
  const auto is = [&](std::initializer_list<std::string_view> want) {
    return std::equal(p.begin(), p.end(), want.begin(), want.end());
  };
  if (is({"healthz"})) return {RouteId::healthz, {}};
  if (is({"metrics"})) return {RouteId::metrics, {}};
  if (p.size() < 2 || p[0] != "api") return {};
  if (is({"api", "auth", "register"})) return {RouteId::auth_register, {}};
  if (is({"api", "auth", "login"})) return {RouteId::auth_login, {}};
  if (is({"api", "me"})) return {RouteId::me, {}};
  if (is({"api", "ice-servers"})) return {RouteId::ice_servers, {}};
  if (is({"api", "contacts"})) return {RouteId::contacts, {}};
  if (is({"api", "groups"})) return {RouteId::groups, {}};
  if (is({"api", "calls"})) return {RouteId::calls, {}};
  if (is({"api", "calls", "history"})) return {RouteId::call_history, {}};
  if (is({"api", "calls", "missed"})) return {RouteId::calls_missed, {}};
  if (is({"api", "calls", "missed", "count"})) return {RouteId::calls_missed_count, {}};
  if (is({"api", "calls", "missed", "seen"})) return {RouteId::calls_missed_seen, {}};
  if (p.size() == 3 && p[1] == "contacts") return {RouteId::contact, std::string(p[2])};
  if (p.size() == 4 && p[1] == "contacts" && p[3] == "accept") return {RouteId::contact_accept, std::string(p[2])};
  if (p.size() == 3 && p[1] == "calls") return {RouteId::call, std::string(p[2])};
  if (p.size() == 4 && p[1] == "calls") {
    if (p[3] == "accept") return {RouteId::call_accept, std::string(p[2])};
    if (p[3] == "reject") return {RouteId::call_reject, std::string(p[2])};
    if (p[3] == "end") return {RouteId::call_end, std::string(p[2])};
  }
  return {};
}

// The methods a route takes, as the Allow header lists them.
std::string_view allowed_methods(RouteId id) {
  switch (id) {
    case RouteId::contacts:
    case RouteId::groups:
    case RouteId::calls:
      return "GET, POST";
    case RouteId::auth_register:
    case RouteId::auth_login:
    case RouteId::contact_accept:
    case RouteId::calls_missed_seen:
    case RouteId::call_accept:
    case RouteId::call_reject:
    case RouteId::call_end:
      return "POST";
    case RouteId::contact:
      return "DELETE";
    case RouteId::healthz:
    case RouteId::metrics:
    case RouteId::me:
    case RouteId::call_history:
    case RouteId::calls_missed:
    case RouteId::calls_missed_count:
    case RouteId::call:
    case RouteId::ice_servers:
      return "GET";
    case RouteId::none:
      return "";
  }
  return "";
}

bool method_allowed(RouteId id, std::string_view method) {
  std::string_view list = allowed_methods(id);
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (trim(list.substr(0, comma)) == method) return true;
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

// The label of duet_http_route_requests_total: a handful of fixed values.
std::string_view route_group(RouteId id) {
  switch (id) {
    case RouteId::healthz: return "healthz";
    case RouteId::metrics: return "metrics";
    case RouteId::auth_register:
    case RouteId::auth_login: return "auth";
    case RouteId::me: return "me";
    case RouteId::contacts:
    case RouteId::contact:
    case RouteId::contact_accept: return "contacts";
    case RouteId::groups: return "groups";
    case RouteId::calls:
    case RouteId::call_history:
    case RouteId::calls_missed:
    case RouteId::calls_missed_count:
    case RouteId::calls_missed_seen:
    case RouteId::call:
    case RouteId::call_accept:
    case RouteId::call_reject:
    case RouteId::call_end: return "calls";
    case RouteId::ice_servers: return "ice-servers";
    case RouteId::none: return "unknown";
  }
  return "unknown";
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

std::string_view query_of(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  const auto rest = target.substr(q + 1);
  return rest.substr(0, rest.find('#'));
}

const char* status_class(int status) {
  if (status < 200) return "1xx";
  if (status < 300) return "2xx";
  if (status < 400) return "3xx";
  if (status < 500) return "4xx";
  return "5xx";
}

std::size_t status_index(int status) {
  return static_cast<std::size_t>(std::clamp(status / 100, 1, 5) - 1);
}

// The civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

}  // namespace

// ----- public helpers ------------------------------------------------------------------------

std::string iso8601(Millis ms) {
  constexpr std::int64_t kDay = 86'400'000;
  std::int64_t days = ms / kDay;
  std::int64_t rest = ms % kDay;
  if (rest < 0) {
    rest += kDay;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  const auto hh = static_cast<int>(rest / 3'600'000);
  const auto mm = static_cast<int>(rest / 60'000 % 60);
  const auto ss = static_cast<int>(rest / 1000 % 60);
  const auto mss = static_cast<int>(rest % 1000);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(y), m, d, hh, mm,
                ss, mss);
  return buf;
}

int http_status(ErrorCode code) {
  if (is_unreadable(code)) return code == ErrorCode::too_large ? 413 : 400;
  switch (code) {
    case ErrorCode::unauthenticated:
      return 401;
    case ErrorCode::forbidden:
      return 403;
    case ErrorCode::not_found:
    case ErrorCode::not_participant:  // a stranger learns nothing about other people's calls
      return 404;
    case ErrorCode::invalid_state:
    case ErrorCode::busy:
    case ErrorCode::conflict:
      return 409;
    case ErrorCode::rate_limited:
      return 429;
    default:  // internal; the unreadable codes were answered above
      return 500;
  }
}

Response error_response(const Error& error) {
  OutJson inner;
  inner["code"] = std::string(to_string(error.code));
  // A server fault's own message may name tables or files: the client gets a generic one.
  inner["message"] = error.code == ErrorCode::internal ? std::string(kInternalMessage) : error.message;
  OutJson body;
  body["error"] = std::move(inner);
  return json_response(http_status(error.code), body);
}

// ----- Api -----------------------------------------------------------------------------------

struct Api::Context {
  const Request& request;
  Millis now;
  Actions& out;
  std::string_view query;
  User me;  // set once the request is authenticated
};

Api::Api(Store& store, Hub& hub, Registry& metrics, ApiConfig config)
    : store_(store),
      hub_(hub),
      metrics_(metrics),
      config_(std::move(config)),
      register_limiter_(config_.register_burst, config_.register_per_second, config_.limiter_max_keys),
      login_limiter_(config_.failed_login_burst, config_.failed_login_per_second, config_.limiter_max_keys),
      m_requests_(metrics.counter("duet_http_requests_total", "REST requests answered, by status class.", "code")),
      m_routes_(metrics.counter("duet_http_route_requests_total", "REST requests answered, by route group.", "route")),
      m_logins_(metrics.counter("duet_logins_total", "Login attempts, by result.", "result")),
      m_registrations_(metrics.counter("duet_registrations_total", "Accounts created.")) {}

bool Api::is_slow(const Request& request) {
  if (request.method != "POST") return false;
  const auto id = match(path_of(request.target)).id;
  return id == RouteId::auth_register || id == RouteId::auth_login;
}

Expected<User> Api::authenticate(std::string_view token, Millis now) {
  if (config_.jwt_secret.size() < kMinSecretBytes) {
    return make_error(ErrorCode::internal, "the server's token secret is too short");
  }
  auto claims = verify_token(token, config_.jwt_secret, unix_seconds(now));
  if (!claims) return claims.error();
  auto user = store_.find_user(claims->sub);
  if (!user) {
    if (user.error().code == ErrorCode::not_found) {
      return make_error(ErrorCode::unauthenticated, "the token's user no longer exists");
    }
    return user.error();
  }
  return std::move(*user);
}

Expected<Identity> Api::check_token(std::string_view token, Millis now) {
  auto user = authenticate(token, now);
  if (!user) return user.error();
  return Identity{user->id, user->displayName};
}

Response Api::handle_slow(const Request& request, Millis now) {
  Response r;
  if (request.body.size() > kMaxRequestBodyBytes) {
    r = fail(ErrorCode::too_large, "the request body is over " + std::to_string(kMaxRequestBodyBytes) + " bytes");
  } else {
    const auto id = request.method == "POST" ? match(path_of(request.target)).id : RouteId::none;
    if (id == RouteId::auth_register) r = register_user(request, now);
    else if (id == RouteId::auth_login) r = log_in(request, now);
    else r = fail(ErrorCode::internal, "handle_slow was given a route that is not slow");
  }
  r.headers.emplace_back("Cache-Control", "no-store");
  slow_status_[status_index(r.status)].fetch_add(1, std::memory_order_relaxed);
  return r;
}

Response Api::handle(const Request& request, Millis now, Actions& out) {
  flush_slow_metrics();
  if (is_slow(request)) {
    Response r = handle_slow(request, now);
    flush_slow_metrics();
    return r;
  }
  Context cx{request, now, out, query_of(request.target), {}};
  const Match m = match(path_of(request.target));
  Response r;
  if (request.body.size() > kMaxRequestBodyBytes) {
    r = fail(ErrorCode::too_large, "the request body is over " + std::to_string(kMaxRequestBodyBytes) + " bytes");
  } else if (m.id == RouteId::none) {
    r = fail(ErrorCode::not_found, "no such route");
  } else if (!method_allowed(m.id, request.method)) {
    r = fail(ErrorCode::bad_value, "method " + request.method.substr(0, 16) + " is not allowed here; use " +
                                       std::string(allowed_methods(m.id)));
    r.status = 405;
    r.headers.emplace_back("Allow", std::string(allowed_methods(m.id)));
  } else {
    r = [&]() -> Response {
      switch (m.id) {
        case RouteId::healthz: {
          OutJson j;
          j["status"] = "ok";
          return json_response(200, j);
        }
        case RouteId::metrics: {
          Response metrics;
          metrics.body = metrics_.render();
          metrics.content_type = std::string(kMetricsContentType);
          return metrics;
        }
        default:
          break;
      }
      // Everything else needs a signed-in user.
      const std::string_view header = trim(request.authorization);
      const auto space = header.find(' ');
      if (header.empty() || space == std::string_view::npos || !iequals(header.substr(0, space), "Bearer")) {
        return unauthenticated("sign in first: send the header Authorization: Bearer <token>");
      }
      auto user = authenticate(trim(header.substr(space + 1)), now);
      if (!user) {
        if (user.error().code == ErrorCode::unauthenticated) return unauthenticated(user.error().message);
        return error_response(user.error());
      }
      cx.me = std::move(*user);
      switch (m.id) {
        case RouteId::me: return me(cx);
        case RouteId::contacts: return request.method == "GET" ? list_contacts(cx) : add_contact(cx);
        case RouteId::contact: return remove_contact(cx, m.param);
        case RouteId::contact_accept: return accept_contact(cx, m.param);
        case RouteId::groups: return request.method == "GET" ? list_groups(cx) : create_group(cx);
        case RouteId::calls: return request.method == "GET" ? call_history(cx) : start_call(cx);
        case RouteId::call_history: return call_history(cx);
        case RouteId::calls_missed: return missed_calls(cx);
        case RouteId::calls_missed_count: return missed_count(cx);
        case RouteId::calls_missed_seen: return missed_seen(cx);
        case RouteId::call: return get_call(cx, m.param);
        case RouteId::call_accept: return act_on_call(cx, m.param, LedgerAction::accept);
        case RouteId::call_reject: return act_on_call(cx, m.param, LedgerAction::reject);
        case RouteId::call_end: return act_on_call(cx, m.param, LedgerAction::end);
        case RouteId::ice_servers: return ice_servers(cx);
        default: return fail(ErrorCode::not_found, "no such route");
      }
    }();
  }
  r.headers.emplace_back("Cache-Control", "no-store");
  count(route_group(m.id), r.status);
  return r;
}

void Api::count(std::string_view route, int status) {
  m_requests_.inc(status_class(status));
  m_routes_.inc(route);
}

void Api::flush_slow_metrics() {
  for (std::size_t i = 0; i < 5; ++i) {
    if (const auto n = slow_status_[i].exchange(0, std::memory_order_relaxed); n > 0) {
      static constexpr const char* kClasses[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
      m_requests_.inc(kClasses[i], static_cast<double>(n));
      m_routes_.inc("auth", static_cast<double>(n));
    }
  }
  if (const auto n = slow_logins_ok_.exchange(0, std::memory_order_relaxed); n > 0) m_logins_.inc("ok", static_cast<double>(n));
  if (const auto n = slow_logins_failed_.exchange(0, std::memory_order_relaxed); n > 0) m_logins_.inc("failed", static_cast<double>(n));
  if (const auto n = slow_logins_limited_.exchange(0, std::memory_order_relaxed); n > 0) m_logins_.inc("limited", static_cast<double>(n));
  if (const auto n = slow_registrations_.exchange(0, std::memory_order_relaxed); n > 0) m_registrations_.inc(static_cast<double>(n));
}

// ----- auth ----------------------------------------------------------------------------------

Response Api::session(const User& user, Millis now, int status) {
  if (config_.jwt_secret.size() < kMinSecretBytes) {
    return fail(ErrorCode::internal, "the server's token secret is too short");
  }
  const std::int64_t iat = unix_seconds(now);
  const Claims claims{user.id, user.displayName, iat, iat + config_.token_ttl_s};
  std::string token = sign_token(claims, config_.jwt_secret);
  if (token.empty()) return fail(ErrorCode::internal, "signing the token failed");
  OutJson j;
  j["token"] = std::move(token);
  j["expiresAt"] = iso8601(claims.exp * 1000);
  j["user"] = user_json(user);
  return json_response(status, j);
}

Response Api::register_user(const Request& request, Millis now) {
  {
    std::lock_guard lock(limiter_mutex_);
    if (!register_limiter_.allow(request.remote, now)) {
      return rate_limited("too many sign-ups from your address; try again later",
                         register_limiter_.retry_after(request.remote, now));
    }
  }
  if (auto refused = refuse_content_type(request)) return *refused;
  auto body = parse_object(request.body);
  if (!body) return error_response(body.error());
  auto typed = required_string(*body, "username");
  if (!typed) return error_response(typed.error());
  auto password = required_string(*body, "password");
  if (!password) return error_response(password.error());
  auto display = optional_string(*body, "displayName");
  if (!display) return error_response(display.error());

  auto username = normalise_username(*typed);
  if (!username) {
    return fail(ErrorCode::bad_value, "field \"username\" must have " + std::to_string(kMinUsernameBytes) + " to " +
                                          std::to_string(kMaxUsernameBytes) +
                                          " characters of a-z, 0-9, '_', '.' and '-'");
  }
  if (auto policy = check_password_policy(*password); !policy) return error_response(policy.error());
  std::string name = *username;
  if (*display) {
    auto cleaned = clean_name(**display, "displayName", kMaxDisplayNameBytes);
    if (!cleaned) return error_response(cleaned.error());
    name = std::move(*cleaned);
  }
  // Refuse a taken name before spending ~100 ms hashing (create_user still decides races).
  if (auto existing = store_.find_credentials(*username); existing) {
    return fail(ErrorCode::conflict, "username is taken");
  } else if (existing.error().code != ErrorCode::not_found) {
    return error_response(existing.error());
  }
  auto hash = hash_password(*password);
  if (!hash) return error_response(hash.error());
  auto user = store_.create_user(random_id("u_"), *username, name, *hash, now);
  if (!user) return error_response(user.error());
  slow_registrations_.fetch_add(1, std::memory_order_relaxed);
  return session(*user, now, 201);
}

Response Api::log_in(const Request& request, Millis now) {
  {
    std::lock_guard lock(limiter_mutex_);
    if (const Millis wait = login_limiter_.retry_after(request.remote, now); wait > 0) {
      slow_logins_limited_.fetch_add(1, std::memory_order_relaxed);
      return rate_limited("too many failed logins from your address; try again later", wait);
    }
  }
  if (auto refused = refuse_content_type(request)) return *refused;
  auto body = parse_object(request.body);
  if (!body) return error_response(body.error());
  auto typed = required_string(*body, "username");
  if (!typed) return error_response(typed.error());
  auto password = required_string(*body, "password");
  if (!password) return error_response(password.error());

  std::optional<Credentials> found;
  if (auto username = normalise_username(*typed)) {
    auto c = store_.find_credentials(*username);
    if (c) found = std::move(*c);
    else if (c.error().code != ErrorCode::not_found) return error_response(c.error());
  }
  // Unknown user or wrong password: the same work, the same answer.
  const bool ok = found ? verify_password(found->passwordHash, *password)
                        : (static_cast<void>(verify_password(dummy_hash(), *password)), false);
  if (!ok) {
    {
      std::lock_guard lock(limiter_mutex_);
      login_limiter_.allow(request.remote, now);
    }
    slow_logins_failed_.fetch_add(1, std::memory_order_relaxed);
    return unauthenticated(std::string(kWrongLogin));
  }
  slow_logins_ok_.fetch_add(1, std::memory_order_relaxed);
  return session(found->user, now, 200);
}

// ----- me, contacts, groups ------------------------------------------------------------------

Response Api::me(Context& cx) {
  auto unseen = store_.unseen_missed_count(cx.me.id);
  if (!unseen) return error_response(unseen.error());
  OutJson j;
  j["user"] = user_json(cx.me);
  j["missedUnseen"] = *unseen;
  return json_response(200, j);
}

Response Api::list_contacts(Context& cx) {
  auto contacts = store_.contacts(cx.me.id);
  if (!contacts) return error_response(contacts.error());
  OutJson list = OutJson::array();
  for (const auto& c : *contacts) list.push_back(contact_json(c, hub_.presence(c.user.id)));
  return json_response(200, list);
}

Response Api::add_contact(Context& cx) {
  if (auto refused = refuse_content_type(cx.request)) return *refused;
  auto body = parse_object(cx.request.body);
  if (!body) return error_response(body.error());
  auto typed = required_string(*body, "username");
  if (!typed) return error_response(typed.error());
  auto username = normalise_username(*typed);
  if (!username) return fail(ErrorCode::not_found, "no such user");
  auto other = store_.find_user_by_name(*username);
  if (!other) return error_response(other.error());
  auto contact = store_.request_contact(cx.me.id, other->id, cx.now);
  if (!contact) return error_response(contact.error());
  // Also for a new request: the presence message is how the other side's app hears of it now
  // rather than at its next poll.
  cx.out.append(hub_.contacts_changed(cx.me.id, other->id, cx.now));
  return json_response(201, contact_json(*contact, hub_.presence(other->id)));
}

Response Api::accept_contact(Context& cx, const std::string& otherId) {
  if (!is_valid_id(otherId)) return fail(ErrorCode::not_found, "no such contact request");
  auto contact = store_.accept_contact(cx.me.id, otherId, cx.now);
  if (!contact) return error_response(contact.error());
  cx.out.append(hub_.contacts_changed(cx.me.id, otherId, cx.now));
  return json_response(200, contact_json(*contact, hub_.presence(otherId)));
}

Response Api::remove_contact(Context& cx, const std::string& otherId) {
  if (!is_valid_id(otherId)) return fail(ErrorCode::not_found, "no such contact");
  if (auto removed = store_.remove_contact(cx.me.id, otherId); !removed) return error_response(removed.error());
  // Also for a declined or withdrawn request, so the other side's list drops it at once.
  cx.out.append(hub_.contacts_changed(cx.me.id, otherId, cx.now));
  return no_content();
}

Response Api::list_groups(Context& cx) {
  auto groups = store_.groups_of(cx.me.id);
  if (!groups) return error_response(groups.error());
  OutJson list = OutJson::array();
  for (const auto& g : *groups) list.push_back(group_json(g));
  return json_response(200, list);
}

Response Api::create_group(Context& cx) {
  if (auto refused = refuse_content_type(cx.request)) return *refused;
  auto body = parse_object(cx.request.body);
  if (!body) return error_response(body.error());
  auto raw_name = required_string(*body, "name");
  if (!raw_name) return error_response(raw_name.error());
  auto name = clean_name(*raw_name, "name", kMaxGroupNameBytes);
  if (!name) return error_response(name.error());
  std::vector<std::string> members;
  if (auto it = body->find("memberIds"); it != body->end() && !it->is_null()) {
    if (!it->is_array()) return fail(ErrorCode::wrong_type, "field \"memberIds\" must be an array of user ids");
    for (const auto& m : *it) {
      if (!m.is_string()) return fail(ErrorCode::wrong_type, "field \"memberIds\" must be an array of user ids");
      const auto& id = m.get_ref<const std::string&>();
      if (!is_valid_id(id)) return fail(ErrorCode::bad_value, "field \"memberIds\" holds an invalid user id");
      members.push_back(id);
    }
  }
  auto group = store_.create_group(random_id("g_"), cx.me.id, *name, members, cx.now);
  if (!group) return error_response(group.error());
  return json_response(201, group_json(*group));
}

// ----- calls ---------------------------------------------------------------------------------

Response Api::start_call(Context& cx) {
  if (auto refused = refuse_content_type(cx.request)) return *refused;
  auto body = parse_object(cx.request.body);
  if (!body) return error_response(body.error());
  auto receiver = optional_string(*body, "receiverId");
  if (!receiver) return error_response(receiver.error());
  auto group = optional_string(*body, "groupId");
  if (!group) return error_response(group.error());
  auto type_name = required_string(*body, "type");
  if (!type_name) return error_response(type_name.error());
  CallType type{};
  if (!parse_call_type(*type_name, type)) return fail(ErrorCode::bad_value, "field \"type\" must be \"audio\" or \"video\"");
  if (*receiver && *group) return fail(ErrorCode::bad_value, "give \"receiverId\" or \"groupId\", not both");
  if (*group) {
    if (!is_valid_id(**group)) return fail(ErrorCode::bad_value, "field \"groupId\" is not a valid id");
    return fail(ErrorCode::bad_value, "group calls are not supported by this server yet");
  }
  if (!*receiver) return fail(ErrorCode::missing_field, "field \"receiverId\" is missing");
  if (!is_valid_id(**receiver)) return fail(ErrorCode::bad_value, "field \"receiverId\" is not a valid id");
  if (**receiver == cx.me.id) return fail(ErrorCode::bad_value, "you cannot call yourself");

  auto record = hub_.start_call(Identity{cx.me.id, cx.me.displayName}, random_id("c_"), **receiver, type, cx.now, cx.out);
  if (!record) return error_response(record.error());
  People people(store_);
  return json_response(201, call_json(*record, cx.me.id, people));
}

Response Api::call_history(Context& cx) {
  auto limit = count_param(cx.query, "limit", kDefaultHistoryPage);
  if (!limit) return error_response(limit.error());
  auto skip = count_param(cx.query, "skip", 0);
  if (!skip) return error_response(skip.error());
  auto calls = store_.calls_of(cx.me.id, *limit, *skip);
  if (!calls) return error_response(calls.error());
  return json_response(200, calls_json(*calls, cx.me.id, store_));
}

Response Api::missed_calls(Context& cx) {
  auto limit = count_param(cx.query, "limit", kDefaultMissedPage);
  if (!limit) return error_response(limit.error());
  auto calls = store_.missed_calls(cx.me.id, *limit);
  if (!calls) return error_response(calls.error());
  return json_response(200, calls_json(*calls, cx.me.id, store_));
}

Response Api::missed_count(Context& cx) {
  auto unseen = store_.unseen_missed_count(cx.me.id);
  if (!unseen) return error_response(unseen.error());
  OutJson j;
  j["unseen"] = *unseen;
  return json_response(200, j);
}

Response Api::missed_seen(Context& cx) {
  if (auto done = store_.mark_missed_seen(cx.me.id, cx.now); !done) return error_response(done.error());
  return no_content();
}

Response Api::get_call(Context& cx, const std::string& callId) {
  if (!is_valid_id(callId)) return fail(ErrorCode::not_found, "no such call");
  auto record = store_.find_call(callId);
  if (!record) {
    if (record.error().code == ErrorCode::not_found) return fail(ErrorCode::not_found, "no such call");
    return error_response(record.error());
  }
  const bool mine = record->involves(cx.me.id) || (!record->groupId.empty() && store_.is_member(record->groupId, cx.me.id));
  // Someone else's call answers exactly like a call that does not exist.
  if (!mine) return fail(ErrorCode::not_found, "no such call");
  People people(store_);
  return json_response(200, call_json(*record, cx.me.id, people));
}

Response Api::act_on_call(Context& cx, const std::string& callId, LedgerAction action) {
  if (!is_valid_id(callId)) return fail(ErrorCode::not_found, "no such call");
  auto record = hub_.act_on_call(cx.me.id, callId, action, cx.now, cx.out);
  if (!record) return error_response(record.error());
  People people(store_);
  return json_response(200, call_json(*record, cx.me.id, people));
}

// ----- ICE servers ---------------------------------------------------------------------------

Response Api::ice_servers(Context& cx) {
  OutJson servers = OutJson::array();
  if (!config_.stun_url.empty()) {
    OutJson stun;
    stun["urls"] = url_list(config_.stun_url);
    servers.push_back(std::move(stun));
  }
  if (!config_.turn_url.empty()) {
    OutJson turn;
    turn["urls"] = url_list(config_.turn_url);
    if (!config_.turn_secret.empty()) {
      auto minted = mint_turn_credentials(config_.turn_secret, cx.me.id, unix_seconds(cx.now), config_.turn_ttl_s);
      if (!minted) return fail(ErrorCode::internal, "minting TURN credentials failed: " + minted.error().message);
      turn["username"] = minted->username;
      turn["credential"] = minted->credential;
      servers.push_back(std::move(turn));
    } else if (!config_.turn_username.empty() && !config_.turn_credential.empty()) {
      turn["username"] = config_.turn_username;
      turn["credential"] = config_.turn_credential;
      servers.push_back(std::move(turn));
    }
    // A TURN URL without credentials is left out: browsers refuse such an entry outright.
  }
  OutJson j;
  j["iceServers"] = std::move(servers);
  j["ttl"] = config_.turn_ttl_s;
  return json_response(200, j);
}

}  // namespace duet::server
