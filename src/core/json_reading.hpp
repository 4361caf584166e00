// Reading untrusted JSON without exceptions: the helpers the signaling protocol (protocol.cpp)
// and the module's JSON form (phone_json.cpp) share, so both read text from outside by the same
// rules (nesting is checked by a linear scan before the parser sees the text, only integers count
// as integers, absent and null are the same) and word their error messages the same way (how a
// value looks, where malformed JSON breaks, which sent values are short and plain enough to
// quote). Internal to the core: it is not part of the public headers. Like its two users it is
// built into the wasm module with -fno-exceptions, so it uses only the non-throwing parts of
// nlohmann/json and no try/catch.
#pragma once

#include "duet/error.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace duet::detail {

// ` "text"` when text is short, printable ASCII without quotes or backslashes, else nothing: the
// only way a value the sender sent gets into an error message.
std::string echo(std::string_view text);

// "a string", "a number", ...: how a JSON value looks, for wrong_type messages.
std::string_view kind_of(const nlohmann::json& value);

// An integer's value, clamped to int64; nullopt for anything that is not an integer (floats
// such as 1.0 or 1e2 included).
std::optional<std::int64_t> integer_of(const nlohmann::json& value);

// The byte offset at which arrays and objects first nest deeper than `limit`, or nullopt.
// One pass, no allocation; brackets inside strings do not count. It does not check that the
// text is JSON (the parser does that next): it only keeps hostile nesting away from the parser.
std::optional<std::size_t> too_deep_at(std::string_view text, int limit);

// The bad_json error for `text`, which the parser refused: "<subject> is empty" or "<subject> is
// not well-formed JSON (near byte N)". `subject` is "the message", "the event", ...
Error bad_json(std::string_view text, std::string_view subject);

enum class Need { required, optional };

// Reads the fields of one JSON object into a value. The first problem is kept and every later
// read does nothing, so a reader is a straight list of fields. Errors name the field as
// `field "<prefix><name>"` ("candidate." inside a candidate). With `track_known` it records
// every name asked for, so that unknown_field() can find one nobody asked for: the module's JSON
// form refuses unknown fields, while the protocol ignores them and reads on the server's hot
// path, where the list would be work for nothing.
class FieldReader {
 public:
  using Object = nlohmann::json::object_t;

  FieldReader(const Object& object, std::string prefix, bool track_known)
      : object_(object), prefix_(std::move(prefix)), track_known_(track_known) {}

  bool ok() const { return !error_.has_value(); }
  const std::optional<Error>& error() const { return error_; }
  void fail(ErrorCode code, std::string message);
  // Takes over the first problem a reader of a nested object met.
  void adopt(const FieldReader& nested);

  // A string of at most `limit` bytes. Optional and absent (or null): `out` is left as is.
  void text(std::string_view name, std::string& out, Need need,
            std::size_t limit = std::string::npos);
  void optional_text(std::string_view name, std::optional<std::string>& out, std::size_t limit);
  // A required string that may not be empty (a token, an SDP).
  void non_empty_text(std::string_view name, std::string& out, std::size_t limit);
  void boolean(std::string_view name, bool& out, Need need = Need::required);
  // An optional integer in min..max.
  template <class Int>
  void integer(std::string_view name, std::optional<Int>& out, std::int64_t min, std::int64_t max) {
    if (const std::optional<std::int64_t> n = integer_in(name, min, max)) out = static_cast<Int>(*n);
  }
  // A required nested object; nullptr (and an error) when it is missing or not an object.
  const Object* object(std::string_view name);

  // The field's value; nullptr when it is absent or null, which is an error if it is required.
  const nlohmann::json* find(std::string_view name, Need need);
  // The field's string of at most `limit` bytes, or nullptr (and an error unless it is an
  // optional field that is absent).
  const std::string* string_field(std::string_view name, std::size_t limit, Need need);
  void wrong_type(std::string_view name, std::string_view expected, const nlohmann::json& value);
  // `field "<prefix><name>"`, for error messages.
  std::string field(std::string_view name) const;

  // A name read outside this reader (as "type" is, to choose the reader) that is not unknown.
  void known(std::string_view name);
  // The first key of the object that no read asked for, or nullptr. Needs `track_known`.
  const std::string* unknown_field() const;

 private:
  std::optional<std::int64_t> integer_in(std::string_view name, std::int64_t min, std::int64_t max);

  const Object& object_;
  std::string prefix_;
  bool track_known_;
  std::vector<std::string_view> known_;
  std::optional<Error> error_;
};

}  // namespace duet::detail
