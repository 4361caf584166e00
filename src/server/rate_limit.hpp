// A token-bucket rate limiter keyed by string (a user id, an IP address, "login:<name>").
//
// Each key has a bucket that holds up to `capacity` tokens and refills at
// `refill_per_second`; a request costs tokens and is allowed when the bucket has them. A new
// key starts with a full bucket, so a client may burst `capacity` requests, then continues at
// the refill rate. Time comes in as an argument (milliseconds of a monotonic clock), so tests
// need no sleeping and the limiter has no clock of its own.
//
// Memory is bounded by max_keys. When a new key arrives and the table is full, the limiter
// forgets keys whose buckets have refilled completely (they carry no information: forgetting
// one changes nothing), and when none has, the least recently used key. Finding full buckets
// takes a sweep over the table, done at most once per max_keys / 2 insertions; in between,
// the least recently used key is evicted. Every call is therefore O(1) amortised.
//
// Not thread-safe: one limiter belongs to one thread (the server's network thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace duet::server {

using Millis = std::int64_t;

// What retry_after returns when waiting cannot help (cost over capacity, or no refill).
inline constexpr Millis kNever = std::numeric_limits<Millis>::max();

class RateLimiter {
 public:
  // capacity > 0 (the burst), refill_per_second >= 0 (0: never refills), max_keys >= 1.
  // Out-of-range arguments are asserted, and clamped in release builds.
  RateLimiter(double capacity, double refill_per_second, std::size_t max_keys);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes `cost` tokens from key's bucket and returns true, or returns false and takes
  // nothing. A cost over the capacity is never allowed. Time going backwards counts as no
  // time passing.
  bool allow(std::string_view key, Millis now, double cost = 1);

  // Milliseconds from `now` until allow(key, now + result, cost) would succeed: 0 when it
  // would now, kNever when it never will. Changes nothing.
  Millis retry_after(std::string_view key, Millis now, double cost = 1) const;

  std::size_t size() const { return buckets_.size(); }  // keys currently remembered
  std::size_t max_keys() const { return max_keys_; }

 private:
  struct Bucket {
    std::string key;
    double tokens;
    Millis last;  // when `tokens` was computed
  };
  using List = std::list<Bucket>;  // most recently used first

  double level(const Bucket& bucket, Millis now) const;  // tokens after refilling to `now`
  void make_room(Millis now);

  double capacity_;
  double refill_per_ms_;
  std::size_t max_keys_;
  std::size_t inserts_since_sweep_;
  List lru_;
  // Keys view the strings owned by the list nodes, which never move.
  std::unordered_map<std::string_view, List::iterator> buckets_;
};

}  // namespace duet::server
