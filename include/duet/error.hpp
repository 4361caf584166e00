// Errors as values. Every boundary of the core (parsing a message, applying a ledger event,
// reading a configuration) returns either a value or an Error with a stable code and a
// human message; nothing throws across it. The codes are part of the protocol: they travel
// in `error` messages and REST bodies, and people search for them, so they never change
// meaning once published (docs/protocol.md lists them).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace duet {

enum class ErrorCode {
  // Reading a message.
  bad_json,       // not well-formed JSON text
  too_large,      // the whole message is over kMaxMessageBytes
  too_deep,       // JSON nesting is over kMaxJsonDepth
  not_an_object,  // the top level is not a JSON object
  bad_version,    // "v" missing, not an integer, or not a version this side speaks
  unknown_type,   // "type" missing, not a string, or not a message this version defines
  missing_field,  // a required field is absent (or null)
  wrong_type,     // a field has the wrong JSON type
  too_long,       // a string field is over its limit
  bad_value,      // a field has the right type but an illegal value (bad id, unknown enum)
  // Acting on a call.
  unauthenticated,   // the sender has not proven who they are
  forbidden,         // the sender may not do this (not a contact, not a member)
  not_found,         // no such call (or one the sender may not know about)
  not_participant,   // the sender is not part of this call
  invalid_state,     // the call cannot do this now (accept an ended call, ...)
  busy,              // the callee is in another call
  rate_limited,      // too many requests; try again later
  conflict,          // an id is already taken
  internal,          // a fault on the receiving side, never the sender's mistake
};

// The stable wire name of a code, e.g. "bad_json".
std::string_view to_string(ErrorCode code);
// The inverse of to_string; false when the text names no code.
bool parse_error_code(std::string_view text, ErrorCode& out);
// True for the codes of "Reading a message" above: the input itself could not be read, as
// opposed to a readable request that cannot be done. The server answers those with 400 (413
// for too_large) and counts them against a socket that keeps sending them.
bool is_unreadable(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;

  friend bool operator==(const Error&, const Error&) = default;
};

// A minimal std::expected (C++23 is not available on both of our toolchains).
template <class T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Expected(Error error) : v_(std::move(error)) {}        // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// The value of an operation that has nothing to return but may fail.
struct Done {
  friend bool operator==(const Done&, const Done&) = default;
};
using Status = Expected<Done>;

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace duet
