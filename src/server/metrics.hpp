// A tiny Prometheus registry: counters (optionally with one label), gauges and histograms,
// rendered in the text exposition format 0.0.4 for GET /metrics.
//
//   Registry metrics;
//   Counter& logins = metrics.counter("duet_logins_total", "Successful logins.");
//   LabeledCounter& calls = metrics.counter("duet_calls_total", "Calls by outcome.", "status");
//   Histogram& setup = metrics.histogram("duet_call_setup_seconds", "Ring to media.");
//   calls.inc("missed");  setup.observe(0.8);  std::string body = metrics.render();
//
// Single-threaded by design: the metrics belong to the server's network thread, which also
// answers /metrics, so there are no locks. Metrics live as long as their registry and never
// move (the references stay valid). Registration happens once at start-up with constant
// names; a bad name or a name registered twice as different things is a programming error
// (asserted; in release builds the metric works but is not rendered).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace duet::server {

// The Content-Type of render()'s output.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// Histogram buckets for call set-up time in seconds (ring to connected media): a LAN call
// takes ~0.1-0.5 s, a TURN call up to a few seconds, and 30 s is the ring timeout.
inline const std::vector<double> kCallSetupBuckets = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved) and not "le" (the histogram's).
bool is_valid_label_name(std::string_view name);

class Counter {
 public:
  void inc(double by = 1);  // negative or NaN increments are ignored: counters only go up
  double value() const { return value_; }

 private:
  double value_ = 0;
};

// A counter family with one label, e.g. duet_calls_total{status="missed"}. Label values must
// come from a small fixed set (every value is a time series kept forever).
class LabeledCounter {
 public:
  void inc(std::string_view label_value, double by = 1);
  double value(std::string_view label_value) const;  // 0 for a value never seen

 private:
  friend class Registry;
  std::map<std::string, double, std::less<>> values_;  // sorted: render order is stable
};

class Gauge {
 public:
  void set(double value) { value_ = value; }
  void inc(double by = 1) { value_ += by; }
  void dec(double by = 1) { value_ -= by; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Histogram {
 public:
  // Upper bounds, strictly increasing and finite; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);  // NaN is ignored
  std::uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  friend class Registry;
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; one more for +Inf
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name again with the same kind (and label) returns the same metric.
  Counter& counter(std::string_view name, std::string_view help);
  LabeledCounter& counter(std::string_view name, std::string_view help,
                          std::string_view label_name);
  Gauge& gauge(std::string_view name, std::string_view help);
  Histogram& histogram(std::string_view name, std::string_view help,
                       const std::vector<double>& bounds = kCallSetupBuckets);

  // Every metric in registration order: "# HELP", "# TYPE", then its samples; each line ends
  // with "\n". Numbers are written in their shortest exact form ("1", "0.25", "+Inf").
  std::string render() const;

 private:
  enum class Kind : int;
  struct Family;
  // The family called `name` if one of this kind, label and buckets exists; a new one if not.
  Family& family(std::string_view name, std::string_view help, Kind kind,
                 std::string_view label_name, const std::vector<double>& bounds);
  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace duet::server
