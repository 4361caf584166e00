// Reading untrusted JSON without exceptions (json_reading.hpp).
#include "json_reading.hpp"

#include <nlohmann/json.hpp>

#include <limits>

namespace duet::detail {
namespace {

using Json = nlohmann::json;

// Finds where malformed JSON goes wrong, for the bad_json message. Only runs after a parse
// failed; it builds nothing.
class ErrorLocator final : public nlohmann::json_sax<Json> {
 public:
  std::size_t position = 0;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t at, const std::string&, const nlohmann::detail::exception&) override {
    position = at;
    return false;
  }
};

}  // namespace

std::string echo(std::string_view text) {
  constexpr std::size_t kMaxEcho = 40;
  if (text.empty() || text.size() > kMaxEcho) return {};
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return {};
  }
  std::string out = " \"";
  out += text;
  out += '"';
  return out;
}

std::string_view kind_of(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number with a fraction or exponent";
    case Json::value_t::null: return "null";
    case Json::value_t::binary:
    case Json::value_t::discarded:
    default: return "a value of another kind";
  }
}

std::optional<std::int64_t> integer_of(const Json& value) {
  if (const auto* u = value.get_ptr<const Json::number_unsigned_t*>()) {
    constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    return static_cast<std::int64_t>(*u > kMax ? kMax : *u);
  }
  if (const auto* i = value.get_ptr<const Json::number_integer_t*>()) return *i;
  return std::nullopt;
}

std::optional<std::size_t> too_deep_at(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

Error bad_json(std::string_view text, std::string_view subject) {
  if (text.empty()) return make_error(ErrorCode::bad_json, std::string(subject) + " is empty");
  ErrorLocator locator;
  Json::sax_parse(text.data(), text.data() + text.size(), &locator);
  return make_error(ErrorCode::bad_json, std::string(subject) +
                                             " is not well-formed JSON (near byte " +
                                             std::to_string(locator.position) + ")");
}

// ----- FieldReader -----------------------------------------------------------------------------

void FieldReader::fail(ErrorCode code, std::string message) {
  if (ok()) error_ = make_error(code, std::move(message));
}

void FieldReader::adopt(const FieldReader& nested) {
  if (ok() && nested.error_) error_ = nested.error_;
}

void FieldReader::text(std::string_view name, std::string& out, Need need, std::size_t limit) {
  if (const std::string* value = string_field(name, limit, need)) out = *value;
}

void FieldReader::optional_text(std::string_view name, std::optional<std::string>& out,
                                std::size_t limit) {
  if (const std::string* value = string_field(name, limit, Need::optional)) out = *value;
}

void FieldReader::non_empty_text(std::string_view name, std::string& out, std::size_t limit) {
  const std::string* value = string_field(name, limit, Need::required);
  if (value == nullptr) return;
  if (value->empty()) return fail(ErrorCode::bad_value, field(name) + " is empty");
  out = *value;
}

void FieldReader::boolean(std::string_view name, bool& out, Need need) {
  const Json* value = find(name, need);
  if (value == nullptr) return;
  const auto* b = value->get_ptr<const Json::boolean_t*>();
  if (b == nullptr) return wrong_type(name, "a boolean", *value);
  out = *b;
}

std::optional<std::int64_t> FieldReader::integer_in(std::string_view name, std::int64_t min,
                                                    std::int64_t max) {
  const Json* value = find(name, Need::optional);
  if (value == nullptr) return std::nullopt;
  const std::optional<std::int64_t> n = integer_of(*value);
  if (!n) {
    wrong_type(name, "an integer", *value);
    return std::nullopt;
  }
  if (*n < min || *n > max) {
    fail(ErrorCode::bad_value, field(name) + " is " + std::to_string(*n) + ", outside " +
                                   std::to_string(min) + ".." + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

const FieldReader::Object* FieldReader::object(std::string_view name) {
  const Json* value = find(name, Need::required);
  if (value == nullptr) return nullptr;
  const auto* o = value->get_ptr<const Object*>();
  if (o == nullptr) wrong_type(name, "an object", *value);
  return o;
}

const Json* FieldReader::find(std::string_view name, Need need) {
  if (!ok()) return nullptr;
  if (track_known_) known_.push_back(name);
  const auto it = object_.find(name);
  if (it == object_.end() || it->second.is_null()) {
    if (need == Need::required) fail(ErrorCode::missing_field, field(name) + " is missing");
    return nullptr;
  }
  return &it->second;
}

const std::string* FieldReader::string_field(std::string_view name, std::size_t limit, Need need) {
  const Json* value = find(name, need);
  if (value == nullptr) return nullptr;
  const auto* s = value->get_ptr<const Json::string_t*>();
  if (s == nullptr) {
    wrong_type(name, "a string", *value);
    return nullptr;
  }
  if (s->size() > limit) {
    fail(ErrorCode::too_long, field(name) + " is " + std::to_string(s->size()) +
                                  " bytes, over the limit of " + std::to_string(limit));
    return nullptr;
  }
  return s;
}

void FieldReader::wrong_type(std::string_view name, std::string_view expected, const Json& value) {
  std::string message = field(name);
  message += " must be ";
  message += expected;
  message += ", not ";
  message += kind_of(value);
  fail(ErrorCode::wrong_type, std::move(message));
}

std::string FieldReader::field(std::string_view name) const {
  std::string out = "field \"";
  out += prefix_;
  out += name;
  out += '"';
  return out;
}

void FieldReader::known(std::string_view name) {
  if (track_known_) known_.push_back(name);
}

const std::string* FieldReader::unknown_field() const {
  for (const auto& [key, value] : object_) {
    bool asked = false;
    for (const std::string_view k : known_) asked = asked || k == key;
    if (!asked) return &key;
  }
  return nullptr;
}

}  // namespace duet::detail
