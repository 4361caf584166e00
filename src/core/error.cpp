// Wire names of error codes. The name of a code is its enumerator's name; the table below is
// checked at compile time to list every code once, in declaration order.
#include "duet/error.hpp"

#include <cstddef>
#include <iterator>

namespace duet {
namespace {

struct CodeName {
  ErrorCode code;
  std::string_view name;
};

constexpr CodeName kCodeNames[] = {
    {ErrorCode::bad_json, "bad_json"},
    {ErrorCode::too_large, "too_large"},
    {ErrorCode::too_deep, "too_deep"},
    {ErrorCode::not_an_object, "not_an_object"},
    {ErrorCode::bad_version, "bad_version"},
    {ErrorCode::unknown_type, "unknown_type"},
    {ErrorCode::missing_field, "missing_field"},
    {ErrorCode::wrong_type, "wrong_type"},
    {ErrorCode::too_long, "too_long"},
    {ErrorCode::bad_value, "bad_value"},
    {ErrorCode::unauthenticated, "unauthenticated"},
    {ErrorCode::forbidden, "forbidden"},
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::not_participant, "not_participant"},
    {ErrorCode::invalid_state, "invalid_state"},
    {ErrorCode::busy, "busy"},
    {ErrorCode::rate_limited, "rate_limited"},
    {ErrorCode::conflict, "conflict"},
    {ErrorCode::internal, "internal"},
};

constexpr bool table_is_complete_and_in_order() {
  if (std::size(kCodeNames) != static_cast<std::size_t>(ErrorCode::internal) + 1) return false;
  for (std::size_t i = 0; i < std::size(kCodeNames); ++i) {
    if (static_cast<std::size_t>(kCodeNames[i].code) != i) return false;
  }
  return true;
}
static_assert(table_is_complete_and_in_order(), "kCodeNames must list every ErrorCode in order");

}  // namespace

std::string_view to_string(ErrorCode code) {
  const auto i = static_cast<std::size_t>(code);
  // A value outside the enum can only come from a cast gone wrong on this side.
  if (i >= std::size(kCodeNames)) return "internal";
  return kCodeNames[i].name;
}

bool parse_error_code(std::string_view text, ErrorCode& out) {
  for (const CodeName& entry : kCodeNames) {
    if (entry.name == text) {
      out = entry.code;
      return true;
    }
  }
  return false;
}

bool is_unreadable(ErrorCode code) {
  switch (code) {
    case ErrorCode::bad_json:
    case ErrorCode::too_large:
    case ErrorCode::too_deep:
    case ErrorCode::not_an_object:
    case ErrorCode::bad_version:
    case ErrorCode::unknown_type:
    case ErrorCode::missing_field:
    case ErrorCode::wrong_type:
    case ErrorCode::too_long:
    case ErrorCode::bad_value:
      return true;
    case ErrorCode::unauthenticated:
    case ErrorCode::forbidden:
    case ErrorCode::not_found:
    case ErrorCode::not_participant:
    case ErrorCode::invalid_state:
    case ErrorCode::busy:
    case ErrorCode::rate_limited:
    case ErrorCode::conflict:
    case ErrorCode::internal:
      return false;
  }
  return false;
}

}  // namespace duet
