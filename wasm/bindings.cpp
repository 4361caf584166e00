// The duet-core module's JavaScript API (Embind). It only translates: strings and numbers in
// and out, the work done by the core. Every result is a JSON string, which JavaScript reads with
// JSON.parse; the only wasm object is a Phone, which its owner must delete(). wasm/duet-core.d.ts
// declares all of it, and tests/wasm/module.test.mjs checks the declarations against this module.
//
// The module is built without exceptions and none may cross this boundary: the core reports
// every error as a value (docs/core.md, "The JSON form").
#include <emscripten/bind.h>

#include <nlohmann/json.hpp>

#include <string>

#include "duet/error.hpp"
#include "duet/phone_json.hpp"
#include "duet/protocol.hpp"

namespace {

int protocol_version() { return duet::kProtocolVersion; }

// {"ok":true,"type":"call:offer","message":{...}} for a valid signaling message, with the
// message as the core serializes it; {"ok":false,"error":{"code":"bad_json","message":"..."}}
// otherwise, with the code's stable name.
std::string check_message(const std::string& text) {
  const auto parsed = duet::parse_message(text);
  if (!parsed) return R"({"ok":false,"error":)" + duet::error_to_json(parsed.error()) + "}";
  // serialize() gives a JSON object already; splice it in rather than parse it again.
  const nlohmann::json type = duet::type_name(parsed->body);
  return R"({"ok":true,"type":)" + type.dump() + R"(,"message":)" + duet::serialize(*parsed) + "}";
}

}  // namespace

EMSCRIPTEN_BINDINGS(duet_core) {
  emscripten::function("protocolVersion", &protocol_version);
  emscripten::function("checkMessage", &check_message);

  // new Phone(selfId, configJson); phone.configError(); phone.handle(eventJson, nowMs);
  // phone.view(); phone.delete().
  emscripten::class_<duet::JsonPhone>("Phone")
      .constructor<std::string, std::string>()
      .function("configError", &duet::JsonPhone::config_error)
      .function("handle", &duet::JsonPhone::handle)
      .function("view", &duet::JsonPhone::view);
}
