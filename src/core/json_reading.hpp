// Reading untrusted JSON without exceptions: the helpers the signaling protocol (protocol.cpp)
// and the module's JSON form (phone_json.cpp) share, so both read text from outside by the same
// rules (nesting is checked by a linear scan before the parser sees the text, only integers count
// as integers) and word their error messages the same way (how a value looks, where malformed
// JSON breaks, which sent values are short and plain enough to quote). Internal to the core: it
// is not part of the public headers. Like its two users it is built into the wasm module with
// -fno-exceptions, so it uses only the non-throwing parts of nlohmann/json and no try/catch.
#pragma once

#include "duet/error.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace duet::detail
