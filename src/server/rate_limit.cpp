#include "server/rate_limit.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace duet::server {
namespace {

// Refilling in floating point can land a hair below a whole number of tokens at the exact
// millisecond retry_after promised; this much slack keeps that promise.
constexpr double kEpsilon = 1e-9;

}  // namespace

RateLimiter::RateLimiter(double capacity, double refill_per_second, std::size_t max_keys)
    : capacity_(capacity),
      refill_per_ms_(refill_per_second / 1000.0),
      max_keys_(max_keys),
      inserts_since_sweep_(0) {
  assert(capacity > 0 && std::isfinite(capacity));
  assert(refill_per_second >= 0 && std::isfinite(refill_per_second));
  assert(max_keys >= 1);
  if (!(capacity_ > 0) || !std::isfinite(capacity_)) capacity_ = 1;
  if (!(refill_per_ms_ >= 0) || !std::isfinite(refill_per_ms_)) refill_per_ms_ = 0;
  if (max_keys_ == 0) max_keys_ = 1;
  inserts_since_sweep_ = max_keys_;  // the first time the table fills, sweep at once
  buckets_.reserve(std::min<std::size_t>(max_keys_, 4096));
}

double RateLimiter::level(const Bucket& bucket, Millis now) const {
  if (now <= bucket.last) return bucket.tokens;
  // In double: now - last could overflow for clocks far apart (never for real ones).
  const double elapsed = static_cast<double>(now) - static_cast<double>(bucket.last);
  return std::min(capacity_, bucket.tokens + elapsed * refill_per_ms_);
}

void RateLimiter::make_room(Millis now) {
  if (inserts_since_sweep_ >= max_keys_ / 2) {
    inserts_since_sweep_ = 0;
    for (auto it = lru_.begin(); it != lru_.end();) {
      if (level(*it, now) >= capacity_) {
        buckets_.erase(it->key);
        it = lru_.erase(it);
      } else {
        ++it;
      }
    }
  }
  if (buckets_.size() >= max_keys_) {
    buckets_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

bool RateLimiter::allow(std::string_view key, Millis now, double cost) {
  if (!(cost >= 0)) cost = 0;  // negative or NaN costs are free, never a refund
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (cost > capacity_) return false;  // nothing to remember: the answer never changes
    if (buckets_.size() >= max_keys_) make_room(now);
    ++inserts_since_sweep_;
    lru_.push_front(Bucket{std::string(key), capacity_, now});
    found = buckets_.emplace(lru_.front().key, lru_.begin()).first;
  } else {
    lru_.splice(lru_.begin(), lru_, found->second);  // most recently used; iterator stays valid
  }
  Bucket& bucket = *found->second;
  bucket.tokens = level(bucket, now);
  bucket.last = std::max(bucket.last, now);
  if (bucket.tokens + kEpsilon < cost) return false;
  bucket.tokens = std::max(0.0, bucket.tokens - cost);
  return true;
}

Millis RateLimiter::retry_after(std::string_view key, Millis now, double cost) const {
  if (!(cost >= 0)) cost = 0;
  if (cost > capacity_) return kNever;
  const auto found = buckets_.find(key);
  if (found == buckets_.end()) return 0;  // a new key starts full
  const double missing = cost - level(*found->second, now);
  if (missing <= kEpsilon) return 0;
  if (refill_per_ms_ <= 0) return kNever;
  const double wait = std::ceil(missing / refill_per_ms_);
  if (!(wait < static_cast<double>(kNever))) return kNever;
  return static_cast<Millis>(wait);
}

}  // namespace duet::server
