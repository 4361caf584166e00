// The signaling protocol as a specification: what parses, what is refused and with which code,
// and that everything serialize() writes parses back unchanged. docs/protocol.md is the prose
// version of the same rules.
#include "duet/protocol.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

using namespace duet;

namespace {

// {"v":1,"type":"<type>",<fields>}
std::string wire(std::string_view type, std::string_view fields = {}) {
  std::string out = R"({"v":1,"type":")";
  out += type;
  out += '"';
  if (!fields.empty()) {
    out += ',';
    out += fields;
  }
  out += '}';
  return out;
}

// `pattern` with its one '@' replaced by `n` copies of `fill`.
std::string fill_in(std::string_view pattern, std::size_t n, char fill = 'a') {
  const std::size_t at = pattern.find('@');
  REQUIRE(at != std::string_view::npos);
  std::string out(pattern.substr(0, at));
  out.append(n, fill);
  out += pattern.substr(at + 1);
  return out;
}

std::string nested_arrays(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']');
}

Message parsed(std::string_view text) {
  Expected<Message> result = parse_message(text);
  if (!result) FAIL_CHECK("unexpected " << to_string(result.error().code) << ": " << result.error().message);
  REQUIRE(result.has_value());
  return std::move(result).value();
}

Error refused(std::string_view text) {
  Expected<Message> result = parse_message(text);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

template <class T>
const T& body_as(const Message& m) {
  REQUIRE(std::holds_alternative<T>(m.body));
  return std::get<T>(m.body);
}

IceCandidate host_candidate() {
  IceCandidate c;
  c.candidate = "candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0";
  c.sdpMid = "0";
  c.sdpMLineIndex = 0;
  c.usernameFragment = "Xy7q";
  return c;
}

// One or more examples of every message type, optional fields both set and unset.
std::vector<Message> examples() {
  const std::string sdp = "v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";
  IceCandidate end_of_candidates;  // candidate "" and nothing else
  IceCandidate mid_only;
  mid_only.candidate = "candidate:2 1 tcp 1518280447 10.0.0.1 9 typ host tcptype active";
  mid_only.sdpMid = "";
  return {
      {msg::Auth{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", "", {}}, ""},
      {msg::Auth{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", "d-7f3a9c", {}}, ""},
      {msg::Auth{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", "d-7f3a9c", 0}, ""},
      {msg::Auth{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln", "d-7f3a9c", 412}, ""},
      {msg::AuthOk{"alice", "Alice Ölçer", {}}, ""},
      {msg::AuthOk{"alice", "", {}}, ""},
      {msg::AuthOk{"alice", "Alice", 37}, ""},
      {msg::Error{ErrorCode::forbidden, "bob is not in your contacts", "call:initiate", "c-1"}, ""},
      {msg::Error{ErrorCode::bad_json, "", "", ""}, ""},
      {msg::Presence{"bob", PresenceStatus::busy}, ""},
      {msg::CallInitiate{"c-1", "bob", "", CallType::video, "Alice"}, "alice"},
      {msg::CallInitiate{"c-2", "", "family_group", CallType::audio, ""}, ""},
      {msg::CallRinging{"c-1"}, "bob"},
      {msg::CallAccept{"c-1"}, "bob"},
      {msg::CallAccept{"c-1", true}, "bob"},
      {msg::CallReject{"c-1"}, ""},
      {msg::CallCancel{"c-1", EndReason::cancelled}, "alice"},
      {msg::CallCancel{"c-1", EndReason::glare}, ""},
      {msg::CallBusy{"c-1"}, ""},
      {msg::CallOffer{"c-1", "", sdp}, "alice"},
      {msg::CallOffer{"c-1", "carol", sdp}, ""},
      {msg::CallAnswer{"c-1", "", sdp}, ""},
      {msg::CallAnswer{"c-1", "alice", sdp}, "bob"},
      {msg::CallIceCandidate{"c-1", "", host_candidate()}, "alice"},
      {msg::CallIceCandidate{"c-1", "bob", end_of_candidates}, ""},
      {msg::CallIceCandidate{"c-1", "", mid_only}, ""},
      {msg::CallEnd{"c-1", EndReason::hangup}, ""},
      {msg::CallEnd{"c-1", EndReason::connection_lost}, "bob"},
      {msg::CallMedia{"c-1", true, false, false}, "alice"},
      {msg::CallMedia{"c-1", false, true, false}, ""},
      {msg::CallMedia{"c-1", false, false, true}, "alice"},
  };
}

// The message type names, in Body order.
const std::vector<std::string> kTypeNames = {
    "auth",        "auth:ok",     "error",       "presence",           "call:initiate",
    "call:ringing", "call:accept", "call:reject", "call:cancel",        "call:busy",
    "call:offer",  "call:answer", "call:ice-candidate", "call:end",     "call:media",
};

// One refused input: the code it must get, and what the error message must mention.
struct Row {
  std::string text;
  ErrorCode code;
  std::string mentions;  // the error message must contain this (usually the field's name)
};

}  // namespace

// ----- Round trips and the shape of the output -------------------------------------------------

TEST_CASE("Every message type survives serialize and parse unchanged", "[protocol]") {
  std::set<std::size_t> types_seen;
  for (const Message& m : examples()) {
    types_seen.insert(m.body.index());
    const std::string text = serialize(m);
    INFO(text);
    CHECK(parsed(text) == m);
    CHECK(serialize(parsed(text)) == text);
  }
  CHECK(types_seen.size() == std::variant_size_v<Body>);
}

TEST_CASE("serialize writes v and type first, then from, then the fields", "[protocol]") {
  CHECK(serialize({msg::CallRinging{"c1"}, ""}) == R"({"v":1,"type":"call:ringing","callId":"c1"})");
  CHECK(serialize({msg::CallAccept{"c1"}, "bob"}) ==
        R"({"v":1,"type":"call:accept","from":"bob","callId":"c1"})");
  CHECK(serialize({msg::CallMedia{"c1", true, false, false}, ""}) ==
        R"({"v":1,"type":"call:media","callId":"c1","audioMuted":true,"videoMuted":false})");
}

TEST_CASE("call:media says screenShared only when the screen is shared, and absent reads as false", "[protocol]") {
  CHECK(serialize({msg::CallMedia{"c1", false, false, true}, ""}) ==
        R"({"v":1,"type":"call:media","callId":"c1","audioMuted":false,"videoMuted":false,"screenShared":true})");
  CHECK_FALSE(body_as<msg::CallMedia>(parsed(wire("call:media", R"("callId":"c1","audioMuted":false,"videoMuted":true)"))).screenShared);
  CHECK(refused(wire("call:media", R"("callId":"c1","audioMuted":false,"videoMuted":true,"screenShared":1)")).code ==
        ErrorCode::wrong_type);
}

TEST_CASE("serialize omits empty optional strings and always writes reasons", "[protocol]") {
  CHECK(serialize({msg::CallOffer{"c1", "", "v=0"}, ""}) ==
        R"({"v":1,"type":"call:offer","callId":"c1","sdp":"v=0"})");
  CHECK(serialize({msg::AuthOk{"alice", "", {}}, ""}) == R"({"v":1,"type":"auth:ok","userId":"alice"})");
  CHECK(serialize({msg::Error{ErrorCode::busy, "", "", ""}, ""}) ==
        R"({"v":1,"type":"error","code":"busy","message":""})");
  CHECK(serialize({msg::CallInitiate{"c1", "", "g1", CallType::audio, ""}, ""}) ==
        R"({"v":1,"type":"call:initiate","callId":"c1","groupId":"g1","callType":"audio"})");
  CHECK(serialize({msg::CallEnd{"c1", EndReason::hangup}, ""}) ==
        R"({"v":1,"type":"call:end","callId":"c1","reason":"hangup"})");
}

TEST_CASE("serialize writes a candidate's optional parts only when they are set", "[protocol]") {
  IceCandidate c;
  c.candidate = "";
  CHECK(serialize({msg::CallIceCandidate{"c1", "", c}, ""}) ==
        R"({"v":1,"type":"call:ice-candidate","callId":"c1","candidate":{"candidate":""}})");
  c.sdpMid = "";
  c.sdpMLineIndex = 0;
  CHECK(serialize({msg::CallIceCandidate{"c1", "", c}, ""}) ==
        R"({"v":1,"type":"call:ice-candidate","callId":"c1","candidate":{"candidate":"","sdpMid":"","sdpMLineIndex":0}})");
}

TEST_CASE("serialize replaces invalid UTF-8 in a locally built message instead of failing", "[protocol]") {
  const std::string text = serialize({msg::AuthOk{"alice", "bad \xff byte", {}}, ""});
  CHECK(body_as<msg::AuthOk>(parsed(text)).displayName == "bad \xEF\xBF\xBD byte");
}

// ----- Reading what other clients send ----------------------------------------------------------

TEST_CASE("A candidate as a browser's toJSON() gives it parses into its parts", "[protocol]") {
  const Message m = parsed(wire("call:ice-candidate",
      R"("callId":"c1","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"Xy7q"})"));
  const auto& c = body_as<msg::CallIceCandidate>(m).candidate;
  CHECK(c.candidate == "candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host");
  CHECK(c.sdpMid == "0");
  CHECK(c.sdpMLineIndex == 0);
  CHECK(c.usernameFragment == "Xy7q");
}

TEST_CASE("Null optional candidate parts read as absent", "[protocol]") {
  const Message m = parsed(wire("call:ice-candidate",
      R"("callId":"c1","candidate":{"candidate":"","sdpMid":null,"sdpMLineIndex":null,"usernameFragment":null})"));
  const auto& c = body_as<msg::CallIceCandidate>(m).candidate;
  CHECK(c.candidate.empty());
  CHECK_FALSE(c.sdpMid.has_value());
  CHECK_FALSE(c.sdpMLineIndex.has_value());
  CHECK_FALSE(c.usernameFragment.has_value());
}

TEST_CASE("An empty candidate string is accepted as end-of-candidates", "[protocol]") {
  const Message m = parsed(wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":""})"));
  CHECK(body_as<msg::CallIceCandidate>(m).candidate == IceCandidate{});
}

TEST_CASE("A missing reason means cancelled in call:cancel and hangup in call:end", "[protocol]") {
  CHECK(body_as<msg::CallCancel>(parsed(wire("call:cancel", R"("callId":"c1")"))).reason ==
        EndReason::cancelled);
  CHECK(body_as<msg::CallCancel>(parsed(wire("call:cancel", R"("callId":"c1","reason":null)"))).reason ==
        EndReason::cancelled);
  CHECK(body_as<msg::CallEnd>(parsed(wire("call:end", R"("callId":"c1")"))).reason == EndReason::hangup);
  CHECK(body_as<msg::CallEnd>(parsed(wire("call:end", R"("callId":"c1","reason":"timeout")"))).reason ==
        EndReason::timeout);
}

TEST_CASE("Unknown extra fields are ignored, at the top level and inside a candidate", "[protocol]") {
  const Message ringing =
      parsed(wire("call:ringing", R"("callId":"c1","priority":"high","meta":{"a":[1,2,{"b":null}]})"));
  CHECK(ringing == Message{msg::CallRinging{"c1"}, ""});

  const Message candidate = parsed(wire("call:ice-candidate",
      R"("callId":"c1","candidate":{"candidate":"","relayProtocol":"udp","port":9})"));
  CHECK(body_as<msg::CallIceCandidate>(candidate).candidate == IceCandidate{});
}

TEST_CASE("Field order does not matter and v and type may come last", "[protocol]") {
  CHECK(parsed(R"({"callId":"c1","type":"call:busy","v":1})") == Message{msg::CallBusy{"c1"}, ""});
}

TEST_CASE("When a key repeats, the last value wins", "[protocol]") {
  CHECK(body_as<msg::CallBusy>(parsed(wire("call:busy", R"("callId":"c1","callId":"c2")"))).callId == "c2");
}

TEST_CASE("Whitespace around and inside the JSON is allowed", "[protocol]") {
  CHECK(parsed(" \r\n\t{ \"v\" : 1 , \"type\" : \"call:busy\" , \"callId\" : \"c1\" }\n ") ==
        Message{msg::CallBusy{"c1"}, ""});
}

TEST_CASE("call:initiate to one user or to a group is accepted", "[protocol]") {
  const auto one = body_as<msg::CallInitiate>(
      parsed(wire("call:initiate", R"("callId":"c1","to":"bob","callType":"video")")));
  CHECK(one.to == "bob");
  CHECK(one.groupId.empty());
  CHECK(one.callType == CallType::video);
  const auto group = body_as<msg::CallInitiate>(
      parsed(wire("call:initiate", R"("callId":"c1","groupId":"g1","callType":"audio","fromName":"Ayşe")")));
  CHECK(group.to.empty());
  CHECK(group.groupId == "g1");
  CHECK(group.fromName == "Ayşe");
}

// ----- from -------------------------------------------------------------------------------------

TEST_CASE("from is optional and read when it is a valid id", "[protocol]") {
  CHECK(parsed(wire("call:busy", R"("callId":"c1")")).from.empty());
  CHECK(parsed(wire("call:busy", R"("callId":"c1","from":null)")).from.empty());
  CHECK(parsed(wire("call:busy", R"("from":"alice","callId":"c1")")).from == "alice");
}

TEST_CASE("from, when present, must be a valid id", "[protocol]") {
  const auto row = GENERATE(values<Row>({
      {wire("call:busy", R"("callId":"c1","from":"")"), ErrorCode::bad_value, "\"from\""},
      {wire("call:busy", R"("callId":"c1","from":"a b")"), ErrorCode::bad_value, "\"from\""},
      {wire("call:busy", R"("callId":"c1","from":7)"), ErrorCode::wrong_type, "\"from\""},
      {wire("call:busy", R"("callId":"c1","from":["alice"])"), ErrorCode::wrong_type, "\"from\""},
  }));
  INFO(row.text);
  const Error e = refused(row.text);
  CHECK(e.code == row.code);
  CHECK_THAT(e.message, Catch::Contains(row.mentions));
}

TEST_CASE("serialize writes from only when it is set", "[protocol]") {
  CHECK(serialize({msg::CallBusy{"c1"}, ""}).find("from") == std::string::npos);
  CHECK(serialize({msg::CallBusy{"c1"}, "bob"}).find(R"("from":"bob")") != std::string::npos);
}

// ----- relay_text: what a server forwards -------------------------------------------------------

TEST_CASE("A relayed message is the sender's text with from put first", "[protocol]") {
  const std::string text = R"(  {"v":1,"type":"call:busy","callId":"c1"} )";
  CHECK(relay_text(text, "alice") == R"(  {"from":"alice","v":1,"type":"call:busy","callId":"c1"} )");
}

TEST_CASE("A relayed message parses to the message the sender sent, stamped with from",
          "[protocol]") {
  for (const Message& m : examples()) {
    if (!m.from.empty()) continue;  // a sender's text has no from of its own
    const std::string text = serialize(m);
    INFO(text);
    const std::optional<std::string> relayed = relay_text(text, "bob_2");
    REQUIRE(relayed.has_value());
    Message stamped = m;
    stamped.from = "bob_2";
    CHECK(parsed(*relayed) == stamped);
  }
}

TEST_CASE("A relayed message keeps fields this side does not know", "[protocol]") {
  const std::string text = wire("call:media", R"("callId":"c1","microphone":true,"camera":false,"screen":true)");
  const std::optional<std::string> relayed = relay_text(text, "alice");
  REQUIRE(relayed.has_value());
  CHECK_THAT(*relayed, Catch::Contains(R"("screen":true)"));
}

TEST_CASE("A text that may hold a from of its own is not relayed as is", "[protocol]") {
  const auto text = GENERATE(values<std::string>({
      wire("call:busy", R"("callId":"c1","from":"mallory")"),
      wire("call:busy", R"("callId":"c1","fr\u006fm":"mallory")"),
      wire("call:busy", R"("callId":"c1","from":null)"),
      wire("call:busy", R"("callId":"c1","note":"from afar")"),
      wire("call:busy", R"("callId":"c1","note":"caf\u00e9")"),
  }));
  INFO(text);
  CHECK_FALSE(relay_text(text, "alice").has_value());
}

TEST_CASE("A relayed message that would go over the size limit is not relayed as is",
          "[protocol]") {
  const std::string pattern = wire("call:ringing", R"("callId":"c1","padding":"@")");
  const std::string at_limit = fill_in(pattern, kMaxMessageBytes - (pattern.size() - 1));
  REQUIRE(parse_message(at_limit).has_value());
  CHECK_FALSE(relay_text(at_limit, "alice").has_value());
  const std::string roomy = fill_in(pattern, kMaxMessageBytes - (pattern.size() - 1) - 20);
  CHECK(relay_text(roomy, "alice").has_value());
}

TEST_CASE("relay_text refuses what is not an object or a sender that is not an id", "[protocol]") {
  CHECK_FALSE(relay_text("[1]", "alice").has_value());
  CHECK_FALSE(relay_text("", "alice").has_value());
  CHECK_FALSE(relay_text(wire("call:busy", R"("callId":"c1")"), "").has_value());
  CHECK_FALSE(relay_text(wire("call:busy", R"("callId":"c1")"), "a\"b").has_value());
}

// ----- Size, depth, syntax, envelope: in that order --------------------------------------------

TEST_CASE("A message of exactly kMaxMessageBytes is accepted and one byte more is too_large",
          "[protocol]") {
  const std::string pattern = wire("call:ringing", R"("callId":"c1","padding":"@")");
  const std::size_t fill = kMaxMessageBytes - (pattern.size() - 1);
  const std::string at_limit = fill_in(pattern, fill);
  REQUIRE(at_limit.size() == kMaxMessageBytes);
  CHECK(parsed(at_limit) == Message{msg::CallRinging{"c1"}, ""});

  const std::string over = fill_in(pattern, fill + 1);
  const Error e = refused(over);
  CHECK(e.code == ErrorCode::too_large);
  CHECK_THAT(e.message, Catch::Contains("65537") && Catch::Contains("65536"));
}

TEST_CASE("Size is checked before anything else, so oversized garbage is too_large", "[protocol]") {
  CHECK(refused(std::string(kMaxMessageBytes + 1, '[')).code == ErrorCode::too_large);
  CHECK(refused(std::string(kMaxMessageBytes + 1, '\xff')).code == ErrorCode::too_large);
  CHECK(refused(std::string(1 << 20, 'x')).code == ErrorCode::too_large);
}

TEST_CASE("A 1 MiB string field makes the message too_large", "[protocol]") {
  CHECK(refused(fill_in(wire("call:offer", R"("callId":"c1","sdp":"@")"), 1 << 20)).code ==
        ErrorCode::too_large);
}

TEST_CASE("Nesting of exactly kMaxJsonDepth is accepted and one level more is too_deep",
          "[protocol]") {
  // The message object is level 1, so kMaxJsonDepth - 1 arrays inside it reach the limit.
  const std::string at_limit =
      wire("call:ringing", R"("callId":"c1","x":)" + nested_arrays(kMaxJsonDepth - 1));
  CHECK(parsed(at_limit) == Message{msg::CallRinging{"c1"}, ""});

  const Error e = refused(wire("call:ringing", R"("callId":"c1","x":)" + nested_arrays(kMaxJsonDepth)));
  CHECK(e.code == ErrorCode::too_deep);
  CHECK_THAT(e.message, Catch::Contains("limit of 8"));

  const std::string objects = R"({"a":{"a":{"a":{"a":{"a":{"a":{}}}}}}})";  // 7 levels
  CHECK(parsed(wire("call:ringing", R"("callId":"c1","x":)" + objects)).body.index() == 5);
  CHECK(refused(wire("call:ringing", R"("callId":"c1","x":{"a":)" + objects + "}")).code ==
        ErrorCode::too_deep);
}

TEST_CASE("Brackets inside strings do not count as nesting, escaped quotes included", "[protocol]") {
  const std::string brackets(1000, '[');
  CHECK(parsed(wire("call:ringing", R"("callId":"c1","x":")" + brackets + "\"")).body.index() == 5);
  CHECK(parsed(wire("call:ringing", R"("callId":"c1","x":"\"[{[{[{[{[{[{")")).body.index() == 5);
  // A string ending in an escaped backslash ends there; the brackets after it do count.
  CHECK(parsed(wire("call:ringing", R"("callId":"c1","x":"\\","y":[[]])")).body.index() == 5);
  CHECK(refused(wire("call:ringing", R"("callId":"c1","x":"\\","y":)" + nested_arrays(kMaxJsonDepth)))
            .code == ErrorCode::too_deep);
}

TEST_CASE("Deep nesting is refused as too_deep before the parser sees it, even when malformed",
          "[protocol]") {
  const auto text = GENERATE(std::string(100000 / 2, '['), std::string(kMaxMessageBytes, '{'),
                             std::string(9, '[') + "oops", "{\"v\":[[[[[[[[[[[[[[" );
  const Error e = refused(text);
  CHECK(e.code == ErrorCode::too_deep);
}

TEST_CASE("100000 nested brackets are refused without a crash", "[protocol]") {
  // Over the size limit, so refused before the depth scan; 60000 fit and reach the scan.
  CHECK(refused(std::string(100000, '[') + std::string(100000, ']')).code == ErrorCode::too_large);
  CHECK(refused(std::string(100000, '[')).code == ErrorCode::too_large);
  CHECK(refused(std::string(30000, '[') + std::string(30000, ']')).code == ErrorCode::too_deep);
}

TEST_CASE("Text that is not well-formed JSON is bad_json", "[protocol]") {
  const std::string text = GENERATE(as<std::string>{},
      " ", "{", "}", "nul", "NaN", "Infinity", "-", "{]", "[}", "{\"v\":1,}",
      "{\"v\":1 \"type\":\"x\"}", "{'v':1}", "{v:1}", "{} {}", "{}x", "/* c */ {}", "{\"v\":01}",
      "{\"v\":NaN}", "{\"v\":-Infinity}", "{\"v\":1e400}", "{\"v\":1.}", "{\"v\":+1}",
      "{\"v\":1,\"type\":\"call:busy\",\"callId\":\"c\xff\"}",             // invalid UTF-8
      "{\"v\":1,\"type\":\"call:busy\",\"callId\":\"\xc3\"}",              // truncated sequence
      "{\"v\":1,\"type\":\"call:busy\",\"callId\":\"\xed\xa0\x80\"}",      // encoded surrogate
      "{\"v\":1,\"type\":\"call:busy\",\"callId\":\"\\ud800\"}",           // lone surrogate escape
      "{\"v\":1,\"type\":\"call:busy\",\"callId\":\"a\nb\"}",              // raw control character
      "{\"v\":1,\"type\":\"call:busy\",\"callId\":\"\\x41\"}",             // not a JSON escape
      std::string("{\"v\":1\0}", 8),                                        // NUL byte
      "\xef\xbb\xbf{}x");
  INFO(text);
  const Error e = refused(text);
  CHECK(e.code == ErrorCode::bad_json);
  CHECK_THAT(e.message, Catch::Contains("near byte"));
}

TEST_CASE("An empty message is bad_json", "[protocol]") {
  CHECK(refused("") == Error{ErrorCode::bad_json, "the message is empty"});
}

TEST_CASE("The top level must be an object", "[protocol]") {
  const std::string text = GENERATE(as<std::string>{}, "null", "[]", "[{\"v\":1}]", "1", "-0.5",
                                    "\"call:busy\"", "true", "false", "\"[[[[[[[[[[[[\"");
  INFO(text);
  CHECK(refused(text).code == ErrorCode::not_an_object);
}

TEST_CASE("v must be present and the integer 1", "[protocol]") {
  const std::string v = GENERATE(as<std::string>{}, "", R"("v":null,)", R"("v":"1",)",
      R"("v":1.0,)", R"("v":1e0,)", R"("v":0,)", R"("v":2,)", R"("v":-1,)", R"("v":true,)",
      R"("v":[1],)", R"("v":{},)", R"("v":18446744073709551615,)",
      R"("v":99999999999999999999999999,)", R"("v":-9223372036854775808,)");
  const std::string text = "{" + v + R"("type":"call:busy","callId":"c1"})";
  INFO(text);
  const Error e = refused(text);
  CHECK(e.code == ErrorCode::bad_version);
  CHECK_THAT(e.message, Catch::Contains("\"v\"") && Catch::Contains("version 1"));
}

TEST_CASE("type must be present and name a message of version 1", "[protocol]") {
  const std::string type = GENERATE(as<std::string>{}, "", R"(,"type":null)", R"(,"type":7)",
      R"(,"type":["call:busy"])", R"(,"type":"")", R"(,"type":"call:Busy")", R"(,"type":"CALL:BUSY")",
      R"(,"type":"callUser")", R"(,"type":"call:busy ")", R"(,"type":"call:")", R"(,"type":"call:screen-share")");
  const std::string text = R"({"v":1)" + type + R"(,"callId":"c1"})";
  INFO(text);
  const Error e = refused(text);
  CHECK(e.code == ErrorCode::unknown_type);
  CHECK_THAT(e.message, Catch::Contains("\"type\""));
}

TEST_CASE("An unknown type is echoed in the error only when it is short and plain", "[protocol]") {
  CHECK(refused(wire("call:screen-share")).message ==
        R"(field "type" is "call:screen-share", which is not a message type of version 1)");
  const Error long_type = refused(wire(std::string(60000, 'x')));
  CHECK(long_type.code == ErrorCode::unknown_type);
  CHECK(long_type.message.size() < 100);
  CHECK(refused(wire("a\\\"b")).message.find("a\\") == std::string::npos);
}

TEST_CASE("Checks run in order: size, depth, syntax, object, version, type, from, fields",
          "[protocol]") {
  // Each text breaks two rules; the earlier one is reported.
  CHECK(refused(std::string(kMaxMessageBytes + 1, '[')).code == ErrorCode::too_large);
  CHECK(refused(nested_arrays(20) + "}").code == ErrorCode::too_deep);
  CHECK(refused("[1,]").code == ErrorCode::bad_json);
  CHECK(refused(R"(["v",1])").code == ErrorCode::not_an_object);
  CHECK(refused(R"({"v":2,"type":"nope"})").code == ErrorCode::bad_version);
  CHECK(refused(R"({"v":1,"type":"nope","from":""})").code == ErrorCode::unknown_type);
  CHECK(refused(R"({"v":1,"type":"call:busy","from":""})").code == ErrorCode::bad_value);
  CHECK(refused(wire("call:offer", R"("sdp":"")")).code == ErrorCode::missing_field);
  CHECK_THAT(refused(wire("call:offer", R"("sdp":"")")).message, Catch::Contains("\"callId\""));
}

// ----- Fields -----------------------------------------------------------------------------------

TEST_CASE("A missing or null required field is missing_field and the error names it",
          "[protocol]") {
  const auto row = GENERATE(values<Row>({
      {wire("auth"), ErrorCode::missing_field, "\"token\""},
      {wire("auth", R"("token":null)"), ErrorCode::missing_field, "\"token\""},
      {wire("auth:ok", R"("displayName":"A")"), ErrorCode::missing_field, "\"userId\""},
      {wire("error", R"("message":"m")"), ErrorCode::missing_field, "\"code\""},
      {wire("error", R"("code":"busy")"), ErrorCode::missing_field, "\"message\""},
      {wire("presence", R"("status":"online")"), ErrorCode::missing_field, "\"userId\""},
      {wire("presence", R"("userId":"bob")"), ErrorCode::missing_field, "\"status\""},
      {wire("call:initiate", R"("to":"bob","callType":"audio")"), ErrorCode::missing_field, "\"callId\""},
      {wire("call:initiate", R"("callId":"c1","to":"bob")"), ErrorCode::missing_field, "\"callType\""},
      {wire("call:initiate", R"("callId":"c1","to":"bob","callType":null)"), ErrorCode::missing_field, "\"callType\""},
      {wire("call:ringing"), ErrorCode::missing_field, "\"callId\""},
      {wire("call:accept", R"("callId":null)"), ErrorCode::missing_field, "\"callId\""},
      {wire("call:reject"), ErrorCode::missing_field, "\"callId\""},
      {wire("call:cancel", R"("reason":"cancelled")"), ErrorCode::missing_field, "\"callId\""},
      {wire("call:busy"), ErrorCode::missing_field, "\"callId\""},
      {wire("call:offer", R"("callId":"c1")"), ErrorCode::missing_field, "\"sdp\""},
      {wire("call:answer", R"("callId":"c1","sdp":null)"), ErrorCode::missing_field, "\"sdp\""},
      {wire("call:ice-candidate", R"("callId":"c1")"), ErrorCode::missing_field, "\"candidate\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":null)"), ErrorCode::missing_field, "\"candidate\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":{})"), ErrorCode::missing_field, "\"candidate.candidate\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":{"sdpMid":"0"})"), ErrorCode::missing_field, "\"candidate.candidate\""},
      {wire("call:end"), ErrorCode::missing_field, "\"callId\""},
      {wire("call:media", R"("callId":"c1","videoMuted":false)"), ErrorCode::missing_field, "\"audioMuted\""},
      {wire("call:media", R"("callId":"c1","audioMuted":false)"), ErrorCode::missing_field, "\"videoMuted\""},
  }));
  INFO(row.text);
  const Error e = refused(row.text);
  CHECK(e.code == row.code);
  CHECK_THAT(e.message, Catch::Contains(row.mentions) && Catch::Contains("is missing"));
}

TEST_CASE("A field of the wrong JSON type is wrong_type and the error names it", "[protocol]") {
  const auto row = GENERATE(values<Row>({
      {wire("auth", R"("token":123)"), ErrorCode::wrong_type, "\"token\""},
      {wire("auth:ok", R"("userId":"a","displayName":false)"), ErrorCode::wrong_type, "\"displayName\""},
      {wire("error", R"("code":404,"message":"m")"), ErrorCode::wrong_type, "\"code\""},
      {wire("error", R"("code":"busy","message":["m"])"), ErrorCode::wrong_type, "\"message\""},
      {wire("error", R"("code":"busy","message":"m","ref":1)"), ErrorCode::wrong_type, "\"ref\""},
      {wire("error", R"("code":"busy","message":"m","callId":1)"), ErrorCode::wrong_type, "\"callId\""},
      {wire("presence", R"("userId":"bob","status":1)"), ErrorCode::wrong_type, "\"status\""},
      {wire("call:initiate", R"("callId":1,"to":"bob","callType":"audio")"), ErrorCode::wrong_type, "\"callId\""},
      {wire("call:initiate", R"("callId":"c1","to":{"id":"bob"},"callType":"audio")"), ErrorCode::wrong_type, "\"to\""},
      {wire("call:initiate", R"("callId":"c1","groupId":true,"callType":"audio")"), ErrorCode::wrong_type, "\"groupId\""},
      {wire("call:initiate", R"("callId":"c1","to":"bob","callType":0)"), ErrorCode::wrong_type, "\"callType\""},
      {wire("call:initiate", R"("callId":"c1","to":"bob","callType":"audio","fromName":1)"), ErrorCode::wrong_type, "\"fromName\""},
      {wire("call:cancel", R"("callId":"c1","reason":true)"), ErrorCode::wrong_type, "\"reason\""},
      {wire("call:offer", R"("callId":"c1","sdp":{"type":"offer","sdp":"v=0"})"), ErrorCode::wrong_type, "\"sdp\""},
      {wire("call:answer", R"("callId":"c1","to":5,"sdp":"v=0")"), ErrorCode::wrong_type, "\"to\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":"candidate:1 1 udp")"), ErrorCode::wrong_type, "\"candidate\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":[])"), ErrorCode::wrong_type, "\"candidate\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":1})"), ErrorCode::wrong_type, "\"candidate.candidate\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":"","sdpMid":0})"), ErrorCode::wrong_type, "\"candidate.sdpMid\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":"","sdpMLineIndex":"0"})"), ErrorCode::wrong_type, "\"candidate.sdpMLineIndex\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":"","sdpMLineIndex":1.5})"), ErrorCode::wrong_type, "\"candidate.sdpMLineIndex\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":"","sdpMLineIndex":1.0})"), ErrorCode::wrong_type, "\"candidate.sdpMLineIndex\""},
      {wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":"","usernameFragment":[]})"), ErrorCode::wrong_type, "\"candidate.usernameFragment\""},
      {wire("call:end", R"("callId":"c1","reason":{})"), ErrorCode::wrong_type, "\"reason\""},
      {wire("call:media", R"("callId":"c1","audioMuted":"true","videoMuted":false)"), ErrorCode::wrong_type, "\"audioMuted\""},
      {wire("call:media", R"("callId":"c1","audioMuted":true,"videoMuted":0)"), ErrorCode::wrong_type, "\"videoMuted\""},
  }));
  INFO(row.text);
  const Error e = refused(row.text);
  CHECK(e.code == row.code);
  CHECK_THAT(e.message, Catch::Contains(row.mentions) && Catch::Contains("must be"));
}

TEST_CASE("Every string field is accepted at its limit and too_long one byte over", "[protocol]") {
  struct Limit {
    std::string pattern;  // '@' is where the string goes
    std::string field;
    std::size_t limit;
  };
  const auto row = GENERATE(values<Limit>({
      {wire("auth", R"("token":"@")"), "\"token\"", kMaxTokenBytes},
      {wire("auth", R"("token":"t","device":"@")"), "\"device\"", kMaxIdBytes},
      {wire("auth:ok", R"("userId":"@")"), "\"userId\"", kMaxIdBytes},
      {wire("auth:ok", R"("userId":"a","displayName":"@")"), "\"displayName\"", kMaxNameBytes},
      {wire("error", R"("code":"busy","message":"@")"), "\"message\"", kMaxErrorMessageBytes},
      {wire("error", R"("code":"busy","message":"","ref":"@")"), "\"ref\"", kMaxIdBytes},
      {wire("error", R"("code":"busy","message":"","callId":"@")"), "\"callId\"", kMaxIdBytes},
      {wire("presence", R"("userId":"@","status":"online")"), "\"userId\"", kMaxIdBytes},
      {wire("call:initiate", R"("callId":"@","to":"b","callType":"audio")"), "\"callId\"", kMaxIdBytes},
      {wire("call:initiate", R"("callId":"c","to":"@","callType":"audio")"), "\"to\"", kMaxIdBytes},
      {wire("call:initiate", R"("callId":"c","groupId":"@","callType":"audio")"), "\"groupId\"", kMaxIdBytes},
      {wire("call:initiate", R"("callId":"c","to":"b","callType":"audio","fromName":"@")"), "\"fromName\"", kMaxNameBytes},
      {wire("call:ringing", R"("callId":"@")"), "\"callId\"", kMaxIdBytes},
      {wire("call:busy", R"("callId":"c","from":"@")"), "\"from\"", kMaxIdBytes},
      {wire("call:offer", R"("callId":"c","sdp":"@")"), "\"sdp\"", kMaxSdpBytes},
      {wire("call:answer", R"("callId":"c","sdp":"@")"), "\"sdp\"", kMaxSdpBytes},
      {wire("call:offer", R"("callId":"c","to":"@","sdp":"v=0")"), "\"to\"", kMaxIdBytes},
      {wire("call:ice-candidate", R"("callId":"c","candidate":{"candidate":"@"})"), "\"candidate.candidate\"", kMaxCandidateBytes},
      {wire("call:ice-candidate", R"("callId":"c","candidate":{"candidate":"","sdpMid":"@"})"), "\"candidate.sdpMid\"", kMaxSdpMidBytes},
      {wire("call:ice-candidate", R"("callId":"c","candidate":{"candidate":"","usernameFragment":"@"})"), "\"candidate.usernameFragment\"", kMaxUfragBytes},
  }));
  INFO(row.pattern);
  CHECK(parse_message(fill_in(row.pattern, row.limit)).has_value());
  const Error e = refused(fill_in(row.pattern, row.limit + 1));
  CHECK(e.code == ErrorCode::too_long);
  CHECK_THAT(e.message, Catch::Contains(row.field) &&
                            Catch::Contains(std::to_string(row.limit + 1) + " bytes") &&
                            Catch::Contains("limit of " + std::to_string(row.limit)));
}

TEST_CASE("The sdp limit is checked with its exact wording", "[protocol]") {
  const Error e = refused(fill_in(wire("call:offer", R"("callId":"c1","sdp":"@")"), 40000));
  CHECK(e == Error{ErrorCode::too_long, "field \"sdp\" is 40000 bytes, over the limit of 32768"});
  CHECK(refused(wire("call:ringing")) == Error{ErrorCode::missing_field, "field \"callId\" is missing"});
}

TEST_CASE("Limits count UTF-8 bytes after unescaping, not characters or escapes", "[protocol]") {
  // "é" is 2 bytes in UTF-8 and 6 bytes as the escape \u00e9.
  const std::string pattern = wire("auth:ok", R"("userId":"a","displayName":"@")");
  std::string at_limit;
  for (std::size_t i = 0; i < kMaxNameBytes / 2; ++i) at_limit += "\\u00e9";
  const std::string text = fill_in(pattern, 0).insert(pattern.find('@'), at_limit);
  CHECK(body_as<msg::AuthOk>(parsed(text)).displayName.size() == kMaxNameBytes);
  const std::string over = fill_in(pattern, 0).insert(pattern.find('@'), at_limit + "a");
  CHECK(refused(over).code == ErrorCode::too_long);
}

TEST_CASE("Ids are 1 to 64 of A-Z a-z 0-9 _ and -", "[protocol]") {
  CHECK(is_valid_id("a"));
  CHECK(is_valid_id("Alice_Smith-01"));
  CHECK(is_valid_id("clh3x2k0a0000qz08abcd1234"));  // a cuid, as the seed's database makes
  CHECK(is_valid_id("550e8400-e29b-41d4-a716-446655440000"));
  CHECK(is_valid_id(std::string(kMaxIdBytes, 'z')));
  const std::string bad = GENERATE(as<std::string>{}, "", " ", "a b", "a.b", "a/b", "a:b", "ali@ce",
                                   "ayşe", "a\nb", std::string("a\0b", 3), "a\"b",
                                   std::string(kMaxIdBytes + 1, 'z'));
  CAPTURE(bad);
  CHECK_FALSE(is_valid_id(bad));
}

TEST_CASE("A malformed id is bad_value and an over-long one is too_long", "[protocol]") {
  const auto row = GENERATE(values<Row>({
      {wire("call:accept", R"("callId":"")"), ErrorCode::bad_value, "\"callId\""},
      {wire("call:accept", R"("callId":"c 1")"), ErrorCode::bad_value, "\"callId\""},
      {wire("call:accept", R"("callId":"c\u00001")"), ErrorCode::bad_value, "\"callId\""},
      {wire("call:accept", R"("callId":"../etc")"), ErrorCode::bad_value, "\"callId\""},
      {wire("call:initiate", R"("callId":"c1","to":"","callType":"audio")"), ErrorCode::bad_value, "\"to\""},
      {wire("call:initiate", R"("callId":"c1","to":"bob@example.com","callType":"audio")"), ErrorCode::bad_value, "\"to\""},
      {wire("call:offer", R"("callId":"c1","to":"","sdp":"v=0")"), ErrorCode::bad_value, "\"to\""},
      {wire("auth:ok", R"("userId":"çağla")"), ErrorCode::bad_value, "\"userId\""},
      {wire("auth", R"("token":"t","device":"tab 1")"), ErrorCode::bad_value, "\"device\""},
      {wire("presence", R"("userId":"a b","status":"online")"), ErrorCode::bad_value, "\"userId\""},
      {wire("error", R"("code":"busy","message":"","callId":"a b")"), ErrorCode::bad_value, "\"callId\""},
      {fill_in(wire("call:accept", R"("callId":"@")"), 65), ErrorCode::too_long, "\"callId\""},
      {fill_in(wire("call:accept", R"("callId":"@")"), 1000, ' '), ErrorCode::too_long, "\"callId\""},
  }));
  INFO(row.text);
  const Error e = refused(row.text);
  CHECK(e.code == row.code);
  CHECK_THAT(e.message, Catch::Contains(row.mentions));
}

TEST_CASE("Unknown enum values are bad_value", "[protocol]") {
  const auto row = GENERATE(values<Row>({
      {wire("call:initiate", R"("callId":"c1","to":"b","callType":"screen")"), ErrorCode::bad_value, "\"callType\""},
      {wire("call:initiate", R"("callId":"c1","to":"b","callType":"Audio")"), ErrorCode::bad_value, "audio, video"},
      {wire("call:initiate", R"("callId":"c1","to":"b","callType":"")"), ErrorCode::bad_value, "\"callType\""},
      {wire("call:cancel", R"("callId":"c1","reason":"hung_up")"), ErrorCode::bad_value, "\"reason\""},
      {wire("call:end", R"("callId":"c1","reason":"HANGUP")"), ErrorCode::bad_value, "answered_elsewhere"},
      {wire("call:end", R"("callId":"c1","reason":"")"), ErrorCode::bad_value, "\"reason\""},
      {wire("presence", R"("userId":"b","status":"away")"), ErrorCode::bad_value, "\"status\""},
      {wire("error", R"("code":"oops","message":"")"), ErrorCode::bad_value, "\"code\""},
      {wire("error", R"("code":"BAD_JSON","message":"")"), ErrorCode::bad_value, "\"code\""},
  }));
  INFO(row.text);
  const Error e = refused(row.text);
  CHECK(e.code == row.code);
  CHECK_THAT(e.message, Catch::Contains(row.mentions));
}

TEST_CASE("call:initiate needs exactly one of to and groupId", "[protocol]") {
  const std::string fields = GENERATE(as<std::string>{},
      R"("callId":"c1","callType":"audio")",
      R"("callId":"c1","to":null,"groupId":null,"callType":"audio")",
      R"("callId":"c1","to":"bob","groupId":"g1","callType":"audio")");
  INFO(fields);
  const Error e = refused(wire("call:initiate", fields));
  CHECK(e.code == ErrorCode::bad_value);
  CHECK_THAT(e.message, Catch::Contains("\"to\"") && Catch::Contains("\"groupId\""));
}

TEST_CASE("sdpMLineIndex is an integer from 0 to kMaxMLineIndex", "[protocol]") {
  const std::string pattern = wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":"","sdpMLineIndex":@})");
  auto with_index = [&](std::string_view index) {
    std::string text = fill_in(pattern, 0);
    return text.insert(pattern.find('@'), index);
  };
  CHECK(body_as<msg::CallIceCandidate>(parsed(with_index("0"))).candidate.sdpMLineIndex == 0);
  CHECK(body_as<msg::CallIceCandidate>(parsed(with_index("255"))).candidate.sdpMLineIndex == 255);
  CHECK(body_as<msg::CallIceCandidate>(parsed(with_index("-0"))).candidate.sdpMLineIndex == 0);

  const std::string out_of_range = GENERATE(as<std::string>{}, "-1", "256", "2147483648",
      "18446744073709551615", "-9223372036854775808");
  INFO(out_of_range);
  const Error e = refused(with_index(out_of_range));
  CHECK(e.code == ErrorCode::bad_value);
  CHECK_THAT(e.message, Catch::Contains("\"candidate.sdpMLineIndex\"") && Catch::Contains("0..255"));
}

TEST_CASE("A resume's frame counts are integers from 0 to 2^53 - 1, which JavaScript reads exactly",
          "[protocol]") {
  CHECK(body_as<msg::Auth>(parsed(wire("auth", R"("token":"t","device":"d1","received":0)"))).received == 0u);
  CHECK(body_as<msg::AuthOk>(parsed(wire("auth:ok", R"("userId":"a","received":9007199254740991)"))).received ==
        9007199254740991u);
  CHECK_FALSE(body_as<msg::Auth>(parsed(wire("auth", R"("token":"t","received":null)"))).received.has_value());
  CHECK(serialize({msg::Auth{"t", "d1", 5}, ""}) == R"({"v":1,"type":"auth","token":"t","device":"d1","received":5})");

  const std::string out_of_range = GENERATE(as<std::string>{}, "-1", "9007199254740992", "18446744073709551615");
  INFO(out_of_range);
  const Error e = refused(wire("auth", R"("token":"t","received":)" + out_of_range));
  CHECK(e.code == ErrorCode::bad_value);
  CHECK_THAT(e.message, Catch::Contains("\"received\""));
  CHECK(refused(wire("auth:ok", R"("userId":"a","received":1.5)")).code == ErrorCode::wrong_type);
  CHECK(refused(wire("auth", R"("token":"t","received":"3")")).code == ErrorCode::wrong_type);
}

TEST_CASE("An offer, an answer and a token may not be empty", "[protocol]") {
  CHECK(refused(wire("call:offer", R"("callId":"c1","sdp":"")")).code == ErrorCode::bad_value);
  CHECK(refused(wire("call:answer", R"("callId":"c1","sdp":"")")).code == ErrorCode::bad_value);
  CHECK(refused(wire("auth", R"("token":"")")).code == ErrorCode::bad_value);
  CHECK_THAT(refused(wire("call:offer", R"("callId":"c1","sdp":"")")).message,
             Catch::Contains("\"sdp\" is empty"));
}

// ----- Hostile input ----------------------------------------------------------------------------

TEST_CASE("Pathological inputs never crash and get the right code", "[protocol]") {
  struct Case {
    std::string text;
    std::optional<ErrorCode> code;  // nullopt: accepted
  };
  const auto row = GENERATE(values<Case>({
      {"", ErrorCode::bad_json},
      {"null", ErrorCode::not_an_object},
      {"[]", ErrorCode::not_an_object},
      {"{}", ErrorCode::bad_version},
      {"{\"v\":1}", ErrorCode::unknown_type},
      {std::string(1 << 20, '"'), ErrorCode::too_large},
      {std::string(kMaxMessageBytes, ' '), ErrorCode::bad_json},
      {std::string(kMaxMessageBytes, '\0'), ErrorCode::bad_json},
      {std::string(kMaxMessageBytes, '"'), ErrorCode::bad_json},
      {std::string(kMaxMessageBytes, '\\'), ErrorCode::bad_json},
      {std::string(kMaxMessageBytes, '\x80'), ErrorCode::bad_json},
      {std::string(kMaxMessageBytes / 2, ']'), ErrorCode::bad_json},
      {std::string(kMaxMessageBytes, '9'), ErrorCode::bad_json},             // overflows a double
      {"1e999", ErrorCode::bad_json},
      {"{\"v\":" + std::string(60000, '9') + "}", ErrorCode::bad_json},
      {"{\"v\":99999999999999999999}", ErrorCode::bad_version},              // a double, not 1
      {"{\"v\":0." + std::string(60000, '0') + "1}", ErrorCode::bad_version},
      {"{\"v\":1e-99999}", ErrorCode::bad_version},
      {"{\"v\":1" + std::string(60000, ' ') + "}", ErrorCode::unknown_type},
      {wire("call:busy", "\"callId\":\"" + std::string(60000, 'a') + "\""), ErrorCode::too_long},
      {wire("call:busy", "\"callId\":\"c1\",\"x\":\"" + std::string(60000, '[') + "\""), std::nullopt},
      {wire("call:busy", "\"callId\":\"c1\",\"x\":" + std::string(20000, '{')), ErrorCode::too_deep},
      {wire("call:busy", "\"callId\":\"c1\",\"x\":[" + std::string(30000, '1') + "]"), ErrorCode::bad_json},
      {wire("call:busy", R"("callId":"c1","x":[1e308,-1e308,1e-400,-0.0,123456789012345678901234567890])"), std::nullopt},
      {wire("auth:ok", R"("userId":"a","displayName":"\u0000\u001f\uffff\ud83d\ude00")"), std::nullopt},
      {wire("auth:ok", R"("userId":"a","displayName":"\u0000")"), std::nullopt},
  }));
  INFO(row.text.substr(0, 80) << (row.text.size() > 80 ? "..." : ""));
  Expected<Message> result = Message{};
  CHECK_NOTHROW(result = parse_message(row.text));
  if (row.code) {
    REQUIRE_FALSE(result.has_value());
    CHECK(result.error().code == *row.code);
  } else {
    CHECK(result.has_value());
  }
}

TEST_CASE("Every error message fits in an error message and carries no input bytes", "[protocol]") {
  // The server forwards parse errors to the sender in an "error" message, so they must be valid
  // there: at most kMaxErrorMessageBytes of printable ASCII.
  const std::string text = GENERATE(as<std::string>{}, "", "[", std::string(kMaxMessageBytes + 1, 'x'),
      std::string(100, '['), "{\"v\":\"\xff\"}", "{\"v\":1,\"type\":\"\xc3\xa7\"}",
      wire(std::string(60000, 'x')), wire("call:\x01"), wire("call:end", R"("callId":"c1","reason":"\u00e7")"),
      wire("call:end", "\"callId\":\"c1\",\"reason\":\"" + std::string(60000, 'r') + "\""),
      wire("error", "\"code\":\"" + std::string(60000, 'e') + "\",\"message\":\"\""),
      wire("call:offer", "\"callId\":\"c1\",\"sdp\":\"" + std::string(40000, 's') + "\""),
      wire("call:initiate", R"("callId":"c1","to":"b","groupId":"g","callType":"audio")"),
      wire("call:ice-candidate", R"("callId":"c1","candidate":{"candidate":"","sdpMLineIndex":-99999999999999999999})"));
  const Error e = refused(text);
  INFO(e.message);
  CHECK(!e.message.empty());
  CHECK(e.message.size() <= kMaxErrorMessageBytes);
  for (const char c : e.message) CHECK((c >= 0x20 && c <= 0x7e));
  const Message forwarded{msg::Error{e.code, e.message, "call:end", ""}, ""};
  CHECK(parsed(serialize(forwarded)) == forwarded);
}

TEST_CASE("Mutated messages never crash, and whatever parses round-trips", "[protocol]") {
  // A deterministic mutation fuzz over the examples: flip, insert, delete and duplicate bytes.
  // tests/fuzz/ holds the open-ended version; this one runs with every unit test.
  std::uint64_t state = 0x9E3779B97F4A7C15ull;  // seed, printed on failure
  auto next = [&state](std::uint64_t bound) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::size_t>((state >> 33) % bound);
  };
  const std::string interesting = "{}[]\":,\\0a-1e.\xff\x80 ntfu";
  std::size_t accepted = 0;
  int iteration = 0;
  for (const Message& example : examples()) {
    for (int round = 0; round < 600; ++round, ++iteration) {
      std::string text = serialize(example);
      const int edits = 1 + static_cast<int>(next(4));
      for (int k = 0; k < edits && !text.empty(); ++k) {
        const std::size_t at = next(text.size());
        switch (next(4)) {
          case 0: text[at] = interesting[next(interesting.size())]; break;
          case 1: text.insert(at, 1, interesting[next(interesting.size())]); break;
          case 2: text.erase(at, 1 + next(8)); break;
          default: text.insert(at, text.substr(at, next(16))); break;
        }
      }
      INFO("iteration " << iteration << ": " << text);
      const Expected<Message> result = parse_message(text);
      if (result) {
        ++accepted;
        REQUIRE(parsed(serialize(*result)) == *result);
      } else {
        REQUIRE(result.error().message.size() <= kMaxErrorMessageBytes);
      }
    }
  }
  CHECK(accepted > 0);  // the fuzz reaches the field readers, not only the syntax checks
}

// ----- Names ------------------------------------------------------------------------------------

TEST_CASE("type_name gives each message's wire name", "[protocol]") {
  const std::vector<Body> bodies = {
      msg::Auth{}, msg::AuthOk{}, msg::Error{}, msg::Presence{}, msg::CallInitiate{},
      msg::CallRinging{}, msg::CallAccept{}, msg::CallReject{}, msg::CallCancel{}, msg::CallBusy{},
      msg::CallOffer{}, msg::CallAnswer{}, msg::CallIceCandidate{}, msg::CallEnd{}, msg::CallMedia{}};
  REQUIRE(bodies.size() == kTypeNames.size());
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    CHECK(bodies[i].index() == i);
    CHECK(type_name(bodies[i]) == kTypeNames[i]);
  }
}

TEST_CASE("call_id_of gives the call a message concerns, or nothing", "[protocol]") {
  CHECK(call_id_of(msg::Auth{"t", {}, {}}).empty());
  CHECK(call_id_of(msg::AuthOk{"alice", "", {}}).empty());
  CHECK(call_id_of(msg::Presence{"bob", PresenceStatus::online}).empty());
  CHECK(call_id_of(msg::Error{ErrorCode::busy, "", "", ""}).empty());
  CHECK(call_id_of(msg::Error{ErrorCode::busy, "", "call:initiate", "c9"}) == "c9");
  CHECK(call_id_of(msg::CallOffer{"c1", "", "v=0"}) == "c1");
  CHECK(call_id_of(msg::CallMedia{"c2", true, true, false}) == "c2");
  for (const Message& m : examples()) {
    if (m.body.index() >= 4) CHECK_FALSE(call_id_of(m.body).empty());
  }
}

TEST_CASE("Error codes have stable wire names that parse back", "[protocol]") {
  const std::vector<std::string> names = {
      "bad_json", "too_large", "too_deep", "not_an_object", "bad_version", "unknown_type",
      "missing_field", "wrong_type", "too_long", "bad_value", "unauthenticated", "forbidden",
      "not_found", "not_participant", "invalid_state", "busy", "rate_limited", "conflict",
      "internal"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    CHECK(to_string(code) == names[i]);
    ErrorCode back = ErrorCode::internal;
    CHECK(parse_error_code(names[i], back));
    CHECK(back == code);
  }
  CHECK(to_string(ErrorCode::internal) == "internal");
  ErrorCode untouched = ErrorCode::busy;
  CHECK_FALSE(parse_error_code("", untouched));
  CHECK_FALSE(parse_error_code("Bad_Json", untouched));
  CHECK_FALSE(parse_error_code("bad_json ", untouched));
  CHECK(untouched == ErrorCode::busy);
}

TEST_CASE("The codes of an unreadable message are told apart from the codes of a refused request",
          "[protocol]") {
  for (auto code : {ErrorCode::bad_json, ErrorCode::too_large, ErrorCode::too_deep, ErrorCode::not_an_object,
                    ErrorCode::bad_version, ErrorCode::unknown_type, ErrorCode::missing_field,
                    ErrorCode::wrong_type, ErrorCode::too_long, ErrorCode::bad_value}) {
    CHECK(is_unreadable(code));
  }
  for (auto code : {ErrorCode::unauthenticated, ErrorCode::forbidden, ErrorCode::not_found, ErrorCode::not_participant,
                    ErrorCode::invalid_state, ErrorCode::busy, ErrorCode::rate_limited, ErrorCode::conflict,
                    ErrorCode::internal}) {
    CHECK_FALSE(is_unreadable(code));
  }
}

TEST_CASE("Call types, end reasons and presence statuses have wire names that parse back",
          "[protocol]") {
  const std::vector<std::string> reasons = {"hangup", "cancelled", "rejected", "busy", "timeout",
      "failed", "media_unavailable", "answered_elsewhere", "connection_lost", "glare"};
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    const auto reason = static_cast<EndReason>(i);
    CHECK(to_string(reason) == reasons[i]);
    EndReason back = EndReason::hangup;
    CHECK(parse_end_reason(reasons[i], back));
    CHECK(back == reason);
    // ... and each survives a trip in call:end and call:cancel.
    const Message end{msg::CallEnd{"c1", reason}, ""};
    CHECK(parsed(serialize(end)) == end);
    const Message cancel{msg::CallCancel{"c1", reason}, ""};
    CHECK(parsed(serialize(cancel)) == cancel);
  }
  CallType type = CallType::audio;
  CHECK(to_string(CallType::audio) == "audio");
  CHECK(to_string(CallType::video) == "video");
  CHECK(parse_call_type("video", type));
  CHECK(type == CallType::video);
  CHECK_FALSE(parse_call_type("screen", type));

  PresenceStatus status = PresenceStatus::offline;
  CHECK(to_string(PresenceStatus::online) == "online");
  CHECK(to_string(PresenceStatus::busy) == "busy");
  CHECK(to_string(PresenceStatus::offline) == "offline");
  CHECK(parse_presence_status("busy", status));
  CHECK(status == PresenceStatus::busy);
  CHECK_FALSE(parse_presence_status("away", status));
  EndReason reason = EndReason::glare;
  CHECK_FALSE(parse_end_reason("", reason));
  CHECK_FALSE(parse_end_reason("Hangup", reason));
  CHECK(reason == EndReason::glare);
}
