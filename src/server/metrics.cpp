// Prometheus text exposition format 0.0.4:
// https://github.com/prometheus/docs/blob/main/content/docs/instrumenting/exposition_formats.md
#include "server/metrics.hpp"

#include <cassert>
#include <charconv>
#include <cmath>
#include <utility>
#include <variant>

namespace duet::server {

enum class Registry::Kind : int { counter, labeled_counter, gauge, histogram };

struct Registry::Family {
  std::string name;
  std::string help;
  Kind kind;
  std::string label_name;  // labeled_counter only
  bool rendered = true;    // false for a misregistered metric (see metrics.hpp)
  std::variant<Counter, LabeledCounter, Gauge, Histogram> metric;
};

namespace {

bool is_name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

// Shortest text that reads back as the same double; Prometheus's spellings for the rest.
std::string number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// HELP text escapes backslash and newline; label values also escape the double quote.
std::string escaped(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}


void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += number(value);
  out += '\n';
}

}  // namespace

bool is_valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, true)) return false;
  }
  return true;
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty() || name.rfind("__", 0) == 0 || name == "le") return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, false)) return false;
  }
  return true;
}

void Counter::inc(double by) {
  if (by >= 0) value_ += by;  // false for NaN too
}

void LabeledCounter::inc(std::string_view label_value, double by) {
  if (!(by >= 0)) return;
  auto it = values_.find(label_value);
  if (it == values_.end()) it = values_.emplace(std::string(label_value), 0.0).first;
  it->second += by;
}

double LabeledCounter::value(std::string_view label_value) const {
  const auto it = values_.find(label_value);
  return it == values_.end() ? 0.0 : it->second;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for ([[maybe_unused]] std::size_t i = 0; i < bounds_.size(); ++i) {
    assert(std::isfinite(bounds_[i]));
    assert(i == 0 || bounds_[i - 1] < bounds_[i]);
  }
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;
  std::size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;  // le: value <= bound
  ++counts_[bucket];
  ++count_;
  sum_ += value;
}

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family(std::string_view name, std::string_view help, Kind kind,
                                   std::string_view label_name,
                                   const std::vector<double>& bounds) {
  bool valid = is_valid_metric_name(name) &&
               (kind != Kind::labeled_counter || is_valid_label_name(label_name));
  assert(valid && "metric or label name is not valid in Prometheus");
  for (const auto& existing : families_) {
    if (!valid || existing->name != name || !existing->rendered) continue;
    const bool same = existing->kind == kind && existing->label_name == label_name &&
                      (kind != Kind::histogram ||
                       std::get<Histogram>(existing->metric).bounds_ == bounds);
    if (same) return *existing;
    assert(false && "metric name registered twice as different metrics");
    valid = false;
  }
  auto added = std::make_unique<Family>(Family{std::string(name), std::string(help), kind,
                                               std::string(label_name), valid, Counter{}});
  switch (kind) {
    case Kind::counter: break;
    case Kind::labeled_counter: added->metric.emplace<LabeledCounter>(); break;
    case Kind::gauge: added->metric.emplace<Gauge>(); break;
    case Kind::histogram: added->metric.emplace<Histogram>(bounds); break;
    default: break;
  }
  families_.push_back(std::move(added));
  return *families_.back();
}

Counter& Registry::counter(std::string_view name, std::string_view help) {
  return std::get<Counter>(family(name, help, Kind::counter, {}, {}).metric);
}

LabeledCounter& Registry::counter(std::string_view name, std::string_view help,
                                  std::string_view label_name) {
  return std::get<LabeledCounter>(
      family(name, help, Kind::labeled_counter, label_name, {}).metric);
}

Gauge& Registry::gauge(std::string_view name, std::string_view help) {
  return std::get<Gauge>(family(name, help, Kind::gauge, {}, {}).metric);
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               const std::vector<double>& bounds) {
  return std::get<Histogram>(family(name, help, Kind::histogram, {}, bounds).metric);
}

std::string Registry::render() const {
  std::string out;
  for (const auto& f : families_) {
    if (!f->rendered) continue;
    out += "# HELP " + f->name + ' ' + escaped(f->help, false) + '\n';
    out += "# TYPE " + f->name + ' ';
    out += f->kind == Kind::gauge       ? "gauge"
           : f->kind == Kind::histogram ? "histogram"
                                        : "counter";
    out += '\n';
    switch (f->kind) {
      case Kind::counter: sample(out, f->name, {}, std::get<Counter>(f->metric).value()); break;
      case Kind::gauge: sample(out, f->name, {}, std::get<Gauge>(f->metric).value()); break;
      case Kind::labeled_counter:
        for (const auto& [value, count] : std::get<LabeledCounter>(f->metric).values_) {
          sample(out, f->name, f->label_name + "=\"" + escaped(value, true) + '"', count);
        }
        break;
      case Kind::histogram: {
        const auto& h = std::get<Histogram>(f->metric);
        const std::string bucket = f->name + "_bucket";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= h.bounds_.size(); ++i) {
          cumulative += h.counts_[i];
          const double le = i < h.bounds_.size() ? h.bounds_[i] : HUGE_VAL;
          sample(out, bucket, "le=\"" + number(le) + '"', static_cast<double>(cumulative));
        }
        sample(out, f->name + "_sum", {}, h.sum_);
        sample(out, f->name + "_count", {}, static_cast<double>(h.count_));
        break;
      }
      default: break;
    }
  }
  return out;
}

}  // namespace duet::server
