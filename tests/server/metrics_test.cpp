// The Prometheus registry: exact rendered text for small registries.
#include "server/metrics.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>

using namespace duet::server;

TEST_CASE("An empty registry renders nothing", "[metrics]") {
  Registry registry;
  CHECK(registry.render().empty());
}

TEST_CASE("Counters, labeled counters and gauges render in registration order", "[metrics]") {
  Registry registry;
  Counter& logins = registry.counter("duet_logins_total", "Successful logins.");
  LabeledCounter& calls = registry.counter("duet_calls_total", "Calls by outcome.", "status");
  Gauge& connections = registry.gauge("duet_connections", "Open WebSocket connections.");
  logins.inc();
  logins.inc(2);
  calls.inc("missed");
  calls.inc("answered", 3);
  calls.inc("missed");
  connections.set(10);
  connections.dec();
  connections.inc(0.5);
  CHECK(registry.render() ==
        "# HELP duet_logins_total Successful logins.\n"
        "# TYPE duet_logins_total counter\n"
        "duet_logins_total 3\n"
        "# HELP duet_calls_total Calls by outcome.\n"
        "# TYPE duet_calls_total counter\n"
        "duet_calls_total{status=\"answered\"} 3\n"
        "duet_calls_total{status=\"missed\"} 2\n"
        "# HELP duet_connections Open WebSocket connections.\n"
        "# TYPE duet_connections gauge\n"
        "duet_connections 9.5\n");
  CHECK(calls.value("missed") == 2);
  CHECK(calls.value("rejected") == 0);
}

TEST_CASE("A histogram renders cumulative buckets, +Inf, _sum and _count", "[metrics]") {
  Registry registry;
  Histogram& setup = registry.histogram("duet_call_setup_seconds", "Ring to connected media.");
  for (const double seconds : {0.05, 0.1, 0.75, 2.5, 31.0}) setup.observe(seconds);
  CHECK(setup.count() == 5);
  CHECK(registry.render() ==
        "# HELP duet_call_setup_seconds Ring to connected media.\n"
        "# TYPE duet_call_setup_seconds histogram\n"
        "duet_call_setup_seconds_bucket{le=\"0.1\"} 2\n"   // a bound is inclusive: 0.1 <= 0.1
        "duet_call_setup_seconds_bucket{le=\"0.25\"} 2\n"
        "duet_call_setup_seconds_bucket{le=\"0.5\"} 2\n"
        "duet_call_setup_seconds_bucket{le=\"1\"} 3\n"
        "duet_call_setup_seconds_bucket{le=\"2.5\"} 4\n"
        "duet_call_setup_seconds_bucket{le=\"5\"} 4\n"
        "duet_call_setup_seconds_bucket{le=\"10\"} 4\n"
        "duet_call_setup_seconds_bucket{le=\"30\"} 4\n"
        "duet_call_setup_seconds_bucket{le=\"+Inf\"} 5\n"
        "duet_call_setup_seconds_sum 34.4\n"
        "duet_call_setup_seconds_count 5\n");
}

TEST_CASE("A histogram with no observations renders zeros", "[metrics]") {
  Registry registry;
  registry.histogram("h", "Help.", {1, 2});
  CHECK(registry.render() ==
        "# HELP h Help.\n"
        "# TYPE h histogram\n"
        "h_bucket{le=\"1\"} 0\n"
        "h_bucket{le=\"2\"} 0\n"
        "h_bucket{le=\"+Inf\"} 0\n"
        "h_sum 0\n"
        "h_count 0\n");
}

TEST_CASE("Help text and label values are escaped", "[metrics]") {
  Registry registry;
  LabeledCounter& counter = registry.counter("c_total", "Line one\nback\\slash \"quoted\"", "l");
  counter.inc("a\"b\\c\nd");
  CHECK(registry.render() ==
        "# HELP c_total Line one\\nback\\\\slash \"quoted\"\n"
        "# TYPE c_total counter\n"
        "c_total{l=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST_CASE("Counters ignore negative and NaN increments", "[metrics]") {
  Registry registry;
  Counter& counter = registry.counter("c_total", "Help.");
  LabeledCounter& labeled = registry.counter("l_total", "Help.", "kind");
  counter.inc(-1);
  counter.inc(std::nan(""));
  labeled.inc("x", -1);
  CHECK(counter.value() == 0);
  CHECK(registry.render() ==
        "# HELP c_total Help.\n# TYPE c_total counter\nc_total 0\n"
        "# HELP l_total Help.\n# TYPE l_total counter\n");
}

TEST_CASE("Values use the shortest exact spelling and Prometheus's names for the rest",
          "[metrics]") {
  const auto [value, text] = GENERATE(table<double, std::string>({
      {0, "0"},
      {1, "1"},
      {-2, "-2"},
      {0.25, "0.25"},
      {1e21, "1e+21"},
      {123456789, "123456789"},
      {HUGE_VAL, "+Inf"},
      {-HUGE_VAL, "-Inf"},
      {std::nan(""), "NaN"},
  }));
  Registry registry;
  registry.gauge("g", "Help.").set(value);
  CHECK(registry.render() == "# HELP g Help.\n# TYPE g gauge\ng " + text + "\n");
}

TEST_CASE("Registering a name again returns the same metric", "[metrics]") {
  Registry registry;
  Counter& first = registry.counter("c_total", "Help.");
  Counter& second = registry.counter("c_total", "Help.");
  CHECK(&first == &second);
  LabeledCounter& a = registry.counter("l_total", "Help.", "status");
  CHECK(&a == &registry.counter("l_total", "Help.", "status"));
  Histogram& h = registry.histogram("h", "Help.");
  CHECK(&h == &registry.histogram("h", "Help."));
}

TEST_CASE("Metric and label names follow Prometheus's rules", "[metrics]") {
  CHECK(is_valid_metric_name("duet_calls_total"));
  CHECK(is_valid_metric_name("_x:y1"));
  const std::string bad_metric = GENERATE(std::string(""), std::string("1abc"),
                                          std::string("a-b"), std::string("a b"),
                                          std::string("caf\xC3\xA9"));
  CHECK_FALSE(is_valid_metric_name(bad_metric));

  CHECK(is_valid_label_name("status"));
  CHECK(is_valid_label_name("_status2"));
  const std::string bad_label = GENERATE(std::string(""), std::string("__name"),
                                         std::string("le"), std::string("a:b"),
                                         std::string("2x"));
  CHECK_FALSE(is_valid_label_name(bad_label));
}

TEST_CASE("The content type is the 0.0.4 text format", "[metrics]") {
  CHECK(kMetricsContentType == "text/plain; version=0.0.4; charset=utf-8");
}
