// The phone in JSON: the form in which JavaScript (the browser SDK, through the duet-core wasm
// module) drives a duet::Phone. Events come in as JSON text and are read as strictly as signaling
// messages are: every input gives either an Event or an Error with a stable code, nothing throws,
// and a field that no event has is refused rather than ignored. Effects and views go out as JSON
// text. The codec lives here, in the core, so the wasm bindings only pass strings through and
// every rule is tested natively. docs/core.md, "The JSON form", is the reference for the shapes.
//
// This unit is built into the wasm module with -fno-exceptions: it uses only the non-throwing
// parts of nlohmann/json, like protocol.cpp.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "duet/error.hpp"
#include "duet/phone.hpp"
#include "duet/protocol.hpp"

namespace duet {

// Limits. An event over one of them is refused whole with too_large or too_deep.
// A received event carries a whole signaling frame as a JSON string, in which every quote and
// backslash of the frame is escaped and so doubles: room for twice the largest frame, plus the
// event's own fields. The frame itself is then held to kMaxMessageBytes by parse_message.
inline constexpr std::size_t kMaxEventBytes = 2 * kMaxMessageBytes + 1024;
// Events nest two levels (localCandidate's candidate); the protocol's limit is kept.
inline constexpr int kMaxEventDepth = kMaxJsonDepth;
// A configuration is a handful of numbers and a flag.
inline constexpr std::size_t kMaxConfigBytes = 4096;
// Timeouts become setTimeout() delays in the shell, and setTimeout() fires at once for a delay
// over 2^31 - 1 ms (about 24.8 days): a longer timeout could never be honoured.
inline constexpr Millis kMaxTimeoutMs = 2'147'483'647;
// The largest nowMs: Number.MAX_SAFE_INTEGER, the last whole number a JavaScript number holds
// exactly.
inline constexpr Millis kMaxNowMs = 9'007'199'254'740'991;

// {"type":"dial","callId":"c1","peer":"bob","callType":"video"} to ev::Dial{...}, and so on for
// every event. Errors: too_large, too_deep, bad_json, not_an_object, unknown_type (type missing,
// not a string, or no event's name), missing_field, wrong_type, too_long, bad_value (an unknown
// enum value, an empty sdp, an out-of-range sdpMLineIndex, a field no event of that type has).
// A received event's frame is read with parse_message, and its error comes back with its code.
Expected<Event> event_from_json(std::string_view text);

// The effects as a JSON array, in order: [{"type":"acquireMedia","audio":true,"video":false},...].
std::string effects_to_json(const Effects& effects);

// The view as a JSON object with every field; unset optional fields are null.
std::string view_to_json(const CallView& view);

// {"code":"bad_value","message":"..."}
std::string error_to_json(const Error& error);

// {"ringTimeoutMs":30000,"connectTimeoutMs":30000,"iceGraceMs":2000,"reconnectTimeoutMs":30000,
//  "preconnect":true}, every field optional; "" and "{}" give the defaults. Timeouts are
// integers in 1..kMaxTimeoutMs. A field that PhoneConfig does not have is refused (bad_value),
// so a misspelt option is an error, never a silent default.
Expected<PhoneConfig> phone_config_from_json(std::string_view text);

// A Phone with a JSON face: what the wasm module exposes to JavaScript as `Phone`, one method
// per method there. Its arguments are the ones JavaScript passes, its results JSON text.
class JsonPhone {
 public:
  // selfId: the signed-in user's id. configJson: as phone_config_from_json reads it. Bad
  // arguments cannot be refused here (a constructor called from JavaScript has no way to
  // return an error, and this module has no exceptions), so they are kept: config_error()
  // reports them and every handle() refuses with them. Nothing falls back silently.
  JsonPhone(std::string self_id, std::string_view config_json);

  // "" when the constructor's arguments were good; else {"code":"...","message":"..."}.
  const std::string& config_error() const { return config_error_json_; }

  // One event, with the shell's clock (Date.now(): whole milliseconds since the Unix epoch).
  // {"effects":[...]} when the event was read, whatever the phone made of it (an intent it
  // refuses is an intentRefused effect there); {"error":{"code":"...","message":"..."}} when
  // the event JSON or nowMs is invalid, or the constructor's arguments were, and then nothing
  // changed.
  std::string handle(const std::string& event_json, double now_ms);

  // The current view, as view_to_json writes it.
  std::string view() const { return view_to_json(phone_.view()); }

 private:
  JsonPhone(std::string self_id, Expected<PhoneConfig> config);

  std::optional<Error> setup_error_;
  std::string config_error_json_;
  Phone phone_;
};

}  // namespace duet
