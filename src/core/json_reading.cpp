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

}  // namespace duet::detail
