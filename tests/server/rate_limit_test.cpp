// The token-bucket limiter, with time passed in: no test sleeps.
#include "server/rate_limit.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

using namespace duet::server;

namespace {

// Takes every token the key has at `now`; returns how many requests went through.
int drain(RateLimiter& limiter, const std::string& key, Millis now) {
  int allowed = 0;
  while (limiter.allow(key, now) && allowed < 1000) ++allowed;
  return allowed;
}

}  // namespace

TEST_CASE("A new key may burst up to the capacity, then is refused", "[rate_limit]") {
  RateLimiter limiter(5, 1, 100);
  CHECK(drain(limiter, "alice", 0) == 5);
  CHECK_FALSE(limiter.allow("alice", 0));
}

TEST_CASE("Tokens come back at the refill rate", "[rate_limit]") {
  RateLimiter limiter(5, 2, 100);  // 2 per second: one every 500 ms
  drain(limiter, "alice", 1000);
  CHECK_FALSE(limiter.allow("alice", 1499));
  CHECK(limiter.allow("alice", 1500));
  CHECK_FALSE(limiter.allow("alice", 1500));
  CHECK(drain(limiter, "alice", 3000) == 3);  // 1.5 s more: 3 tokens
}

TEST_CASE("An idle bucket fills up to the capacity and no further", "[rate_limit]") {
  RateLimiter limiter(3, 10, 100);
  drain(limiter, "alice", 0);
  CHECK(drain(limiter, "alice", 3'600'000) == 3);
}

TEST_CASE("Keys have separate buckets", "[rate_limit]") {
  RateLimiter limiter(2, 1, 100);
  CHECK(drain(limiter, "alice", 0) == 2);
  CHECK(drain(limiter, "bob", 0) == 2);
  CHECK(limiter.size() == 2);
}

TEST_CASE("A request costs what it says, and a refused one costs nothing", "[rate_limit]") {
  RateLimiter limiter(10, 1, 100);
  CHECK(limiter.allow("alice", 0, 6));
  CHECK_FALSE(limiter.allow("alice", 0, 5));  // 4 left
  CHECK(limiter.allow("alice", 0, 4));        // the refusal took nothing
  CHECK_FALSE(limiter.allow("alice", 0, 0.5));
  CHECK(limiter.allow("alice", 0, 0));        // a free request always passes
}

TEST_CASE("A cost over the capacity is never allowed and remembers nothing", "[rate_limit]") {
  RateLimiter limiter(3, 1, 100);
  CHECK_FALSE(limiter.allow("alice", 0, 4));
  CHECK(limiter.size() == 0);
  CHECK(limiter.retry_after("alice", 0, 4) == kNever);
  CHECK(drain(limiter, "alice", 0) == 3);
}

TEST_CASE("retry_after is the exact wait until the request would pass", "[rate_limit]") {
  const auto [capacity, rate, spend, cost, wait] =
      GENERATE(table<double, double, double, double, Millis>({
          {5, 1, 5, 1, 1000},      // empty, one token a second
          {5, 2, 5, 1, 500},
          {5, 3, 5, 1, 334},       // 333.3 ms rounds up
          {5, 1, 5, 3, 3000},
          {5, 0.1, 4.5, 1, 5000},  // half a token left, 0.05 per 100 ms
          {10, 1000, 10, 10, 10},
          {5, 1, 2, 1, 0},         // tokens left: no wait
      }));
  CAPTURE(capacity, rate, spend, cost);
  RateLimiter limiter(capacity, rate, 100);
  const Millis start = 12'345;
  REQUIRE(limiter.allow("k", start, spend));
  CHECK(limiter.retry_after("k", start, cost) == wait);
  if (wait > 0) CHECK_FALSE(limiter.allow("k", start + wait - 1, cost));
  CHECK(limiter.allow("k", start + wait, cost));
}

TEST_CASE("retry_after is zero for an unknown key and changes nothing", "[rate_limit]") {
  RateLimiter limiter(2, 1, 100);
  CHECK(limiter.retry_after("nobody", 0) == 0);
  CHECK(limiter.size() == 0);
  drain(limiter, "alice", 0);
  CHECK(limiter.retry_after("alice", 0) == 1000);
  CHECK(limiter.retry_after("alice", 0) == 1000);
  CHECK(limiter.retry_after("alice", 400) == 600);
}

TEST_CASE("Without refill an empty bucket stays empty", "[rate_limit]") {
  RateLimiter limiter(2, 0, 100);
  CHECK(drain(limiter, "alice", 0) == 2);
  CHECK_FALSE(limiter.allow("alice", 1'000'000'000));
  CHECK(limiter.retry_after("alice", 0) == kNever);
}

TEST_CASE("Time going backwards refills nothing and breaks nothing", "[rate_limit]") {
  RateLimiter limiter(2, 1, 100);
  drain(limiter, "alice", 10'000);
  CHECK_FALSE(limiter.allow("alice", 5'000));
  CHECK(limiter.retry_after("alice", 5'000) == 1000);  // as if no time had passed
  CHECK_FALSE(limiter.allow("alice", 10'999));
  CHECK(limiter.allow("alice", 11'000));
}

TEST_CASE("Times at the ends of the clock's range do not overflow", "[rate_limit]") {
  RateLimiter limiter(2, 1, 100);
  drain(limiter, "alice", INT64_MIN);
  CHECK(limiter.retry_after("alice", INT64_MIN) == 1000);
  CHECK(limiter.retry_after("alice", INT64_MAX) == 0);
  CHECK(drain(limiter, "alice", INT64_MAX) == 2);
}

TEST_CASE("The number of keys never exceeds max_keys", "[rate_limit]") {
  const std::size_t max_keys = GENERATE(as<std::size_t>{}, 1, 2, 7, 64);
  RateLimiter limiter(3, 1, max_keys);
  for (int i = 0; i < 5000; ++i) {
    // Half the keys are drained and half stay full, at a slowly moving time.
    const std::string key = "k" + std::to_string(i);
    limiter.allow(key, i / 10, i % 2 == 0 ? 3 : 1);
    REQUIRE(limiter.size() <= max_keys);
  }
  CHECK(limiter.size() == max_keys);
}

TEST_CASE("When the table is full, keys whose buckets refilled are forgotten first",
          "[rate_limit]") {
  RateLimiter limiter(2, 1, 3);
  drain(limiter, "a", 0);
  limiter.allow("b", 0);  // one token short: full again at 1000 ms
  drain(limiter, "c", 0);
  // At 1000 ms "b" is full again; "a" (least recently used) and "c" are still short.
  CHECK(limiter.allow("d", 1000));
  CHECK(limiter.size() == 3);
  CHECK_FALSE(limiter.allow("a", 1000, 2));  // "a" was remembered: only 1 token back
  CHECK_FALSE(limiter.allow("c", 1000, 2));
}

TEST_CASE("When no bucket has refilled, the least recently used key is forgotten",
          "[rate_limit]") {
  RateLimiter limiter(2, 1, 3);
  drain(limiter, "a", 0);
  drain(limiter, "b", 0);
  drain(limiter, "c", 0);
  CHECK_FALSE(limiter.allow("a", 10));  // "a" is now the most recently used; "b" the least
  CHECK(limiter.allow("d", 10));
  CHECK(limiter.size() == 3);
  CHECK_FALSE(limiter.allow("a", 10));  // remembered
  CHECK_FALSE(limiter.allow("c", 10));  // remembered
  CHECK(drain(limiter, "b", 10) == 2);  // forgotten: a fresh, full bucket
}
