// The duet-core module's JavaScript API (Embind). It only translates: strings and numbers in
// and out, the work done by the core. Every result is a JSON string, so JavaScript reads it with
// JSON.parse and needs no wasm objects to free.
#include <emscripten/bind.h>

#include <nlohmann/json.hpp>

#include <string>

#include "duet/error.hpp"
#include "duet/protocol.hpp"

namespace {

int protocol_version() { return duet::kProtocolVersion; }

// {"ok":true,"type":"call:offer","message":{...}} for a valid signaling message, with the
// message as the core serializes it; {"ok":false,"error":{"code":"bad_json","message":"..."}}
// otherwise, with the code's stable name.
std::string check_message(const std::string& text) {
  const auto parsed = duet::parse_message(text);
  if (!parsed) {
    const nlohmann::json result = {
        {"ok", false},
        {"error", {{"code", duet::to_string(parsed.error().code)}, {"message", parsed.error().message}}}};
    // Replace invalid UTF-8 (error messages may quote the input) rather than abort: this module
    // has no exceptions, so dump()'s default would end the program.
    return result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  // serialize() gives a JSON object already; splice it in rather than parse it again.
  const nlohmann::json type = duet::type_name(parsed->body);
  return R"({"ok":true,"type":)" + type.dump() + R"(,"message":)" + duet::serialize(*parsed) + "}";
}

}  // namespace

EMSCRIPTEN_BINDINGS(duet_core) {
  emscripten::function("protocolVersion", &protocol_version);
  emscripten::function("checkMessage", &check_message);
}
