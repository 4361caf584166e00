// The REST API (docs/api.md) as a unit without I/O: the network layer parses an HTTP request
// into a Request, calls the Api with the current time, writes the Response back and carries
// out the Actions (messages for WebSocket connections) the call routes produce. Nothing here
// touches a socket, a clock or a thread of its own, so every route is tested natively.
//
// Threads. Register and log in hash passwords (~50-100 ms each, by design), so the network
// layer runs them on a worker thread through handle_slow(); they touch only the store (which
// is thread-safe), the tokens functions and state of their own that is guarded by a mutex,
// never the hub or the metrics registry. Everything else goes through handle() on the
// network thread, which owns the hub and the registry. check_token() is safe on any thread.
//
// Errors. Every failure is a JSON body {"error":{"code":"...","message":"..."}} with a stable
// code from duet::ErrorCode and the status http_status() gives it. A client's mistake is
// always a 4xx; 5xx means the server failed. No response ever carries a password or a hash.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "duet/error.hpp"
#include "server/hub.hpp"
#include "server/metrics.hpp"
#include "server/rate_limit.hpp"
#include "server/store.hpp"

namespace duet::server {

// Request bodies over this are refused with 413 too_large (the network layer limits too).
inline constexpr std::size_t kMaxRequestBodyBytes = 16 * 1024;
// Usernames: 3..32 of [a-z0-9_.-] after lower-casing. Display names: 1..64 bytes of UTF-8.
inline constexpr std::size_t kMinUsernameBytes = 3;
inline constexpr std::size_t kMaxUsernameBytes = 32;
inline constexpr std::size_t kMaxDisplayNameBytes = 64;
// Pages of call history when the query does not say (GET /api/calls, GET /api/calls/missed;
// the seed's history page is 20 and its missed-calls list 10).
inline constexpr int kDefaultHistoryPage = 20;
inline constexpr int kDefaultMissedPage = 10;

struct Request {
  std::string method;         // "GET", "POST", "DELETE", ...
  std::string target;         // path and query, e.g. "/api/calls?limit=20&skip=0"
  std::string authorization;  // the Authorization header's value, or empty
  std::string content_type;   // the Content-Type header's value, or empty
  std::string body;
  std::string remote;         // the client's address, for per-address limits
};

struct Response {
  int status = 200;
  std::string body;                                // JSON unless content_type says otherwise
  std::string content_type = "application/json";   // empty when there is no body (204)
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Retry-After, Allow
};

struct ApiConfig {
  std::string jwt_secret;                    // at least kMinSecretBytes (tokens.hpp)
  std::int64_t token_ttl_s = 7 * 24 * 3600;  // TOKEN_TTL: a week
  // STUN_SERVER_URL, TURN_SERVER_URL (each may list several URLs separated by commas),
  // TURN_USERNAME, TURN_CREDENTIAL (static), TURN_SECRET (per-user credentials instead).
  std::string stun_url, turn_url, turn_username, turn_credential, turn_secret;
  std::int64_t turn_ttl_s = 3600;            // TURN_TTL
  // Per-address limits (token buckets). Registration: every attempt costs one. Login: only
  // failed attempts cost one, and an address with an empty bucket is refused before its
  // password is checked.
  double register_burst = 50;
  double register_per_second = 1;
  double failed_login_burst = 10;
  double failed_login_per_second = 10.0 / 60;
  std::size_t limiter_max_keys = 100'000;    // addresses remembered per limiter
};

class Api {
 public:
  Api(Store& store, Hub& hub, Registry& metrics, ApiConfig config);
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // True for POST /api/auth/register and POST /api/auth/login: run them with handle_slow()
  // on a worker thread. Looks at the method and path only.
  static bool is_slow(const Request& request);
  // A slow route. Thread-safe; touches the store, tokens and this object's limiters only.
  // Given any other request it answers 500 internal (the caller's bug, not the client's).
  Response handle_slow(const Request& request, Millis now);

  // Every other route, on the network thread. Call and contact routes append to `out` what
  // the hub wants sent over sockets (call:initiate to the callee's devices, presence, ...).
  // A slow route given here is answered too (on this thread), for simple callers and tests.
  Response handle(const Request& request, Millis now, Actions& out);

  // The hub's TokenCheck: a valid, unexpired token of a user that exists. Thread-safe.
  Expected<Identity> check_token(std::string_view token, Millis now);

 private:
  struct Context;  // one request being answered (defined in api.cpp)

  // The user a bearer token belongs to (check_token's work, keeping the whole User).
  Expected<User> authenticate(std::string_view token, Millis now);
  Response route(Context& cx);
  Response register_user(const Request& request, Millis now);
  Response log_in(const Request& request, Millis now);

  Response me(Context& cx);
  Response list_contacts(Context& cx);
  Response add_contact(Context& cx);
  Response accept_contact(Context& cx, const std::string& otherId);
  Response remove_contact(Context& cx, const std::string& otherId);
  Response list_groups(Context& cx);
  Response create_group(Context& cx);
  Response start_call(Context& cx);
  Response call_history(Context& cx);
  Response missed_calls(Context& cx);
  Response missed_count(Context& cx);
  Response missed_seen(Context& cx);
  Response get_call(Context& cx, const std::string& callId);
  Response act_on_call(Context& cx, const std::string& callId, LedgerAction action);
  Response ice_servers(Context& cx);

  // Tokens for a user who just proved who they are: {token, expiresAt, user}.
  Response session(const User& user, Millis now, int status);
  // Moves what the slow routes counted on worker threads into the registry (network thread).
  void flush_slow_metrics();
  void count(std::string_view route, int status);

  Store& store_;
  Hub& hub_;
  Registry& metrics_;
  ApiConfig config_;

  std::mutex limiter_mutex_;  // handle_slow runs on several worker threads
  RateLimiter register_limiter_;
  RateLimiter login_limiter_;

  // Counted by handle_slow on worker threads, flushed into the registry by handle().
  std::atomic<std::int64_t> slow_status_[5] = {};  // 1xx..5xx
  std::atomic<std::int64_t> slow_logins_ok_{0};
  std::atomic<std::int64_t> slow_logins_failed_{0};
  std::atomic<std::int64_t> slow_logins_limited_{0};
  std::atomic<std::int64_t> slow_registrations_{0};

  LabeledCounter& m_requests_;        // duet_http_requests_total{code="2xx"}
  LabeledCounter& m_routes_;          // duet_http_route_requests_total{route="calls"}
  LabeledCounter& m_logins_;          // duet_logins_total{result="ok"|"failed"|"limited"}
  Counter& m_registrations_;          // duet_registrations_total
};

// The HTTP status for an error code: client mistakes are 4xx, never 5xx.
int http_status(ErrorCode code);
// {"error":{"code":"...","message":"..."}} with http_status(error.code).
Response error_response(const Error& error);

// "2026-11-22T03:15:36.123Z" for milliseconds since the Unix epoch (UTC).
std::string iso8601(Millis ms);

}  // namespace duet::server
