// Configuration from the environment and .env, the help text, and the generated JWT secret.
#include "server/config.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace duet;
using namespace duet::server;

namespace {

using Env = std::map<std::string, std::string>;

Config load_ok(const Env& env, const std::string& dotenv = {}) {
  auto config = load_config(env, dotenv);
  if (!config) FAIL(config.error().message);
  return *config;
}

std::string load_error(const Env& env, const std::string& dotenv = {}) {
  const auto config = load_config(env, dotenv);
  REQUIRE_FALSE(config.has_value());
  CHECK(config.error().code == ErrorCode::bad_value);
  return config.error().message;
}

const std::string kLongSecret(40, 's');

// A fresh directory under /tmp, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "duet-config-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

TEST_CASE("With nothing set, every setting has its default", "[config]") {
  const Config config = load_ok({});
  CHECK(config.port == 8080);
  CHECK(config.host == "0.0.0.0");
  CHECK(config.data_dir == "./data");
  CHECK(config.web_dir == "web");
  CHECK(config.socket_path == "/api/socket");
  CHECK(config.stun_url.empty());
  CHECK(config.turn_url.empty());
  CHECK(config.turn_username.empty());
  CHECK(config.turn_credential.empty());
  CHECK(config.turn_secret.empty());
  CHECK(config.turn_ttl_s == 3600);
  CHECK(config.jwt_secret.empty());
  CHECK(config.token_ttl_s == 7 * 24 * 3600);
  CHECK(config.ring_timeout_s == 30);
  CHECK(config.reconnect_grace_s == 20);
  CHECK(config.auth_timeout_s == 5);
  CHECK(config.max_connections == 60000);
}

TEST_CASE("Every variable is read from the environment", "[config]") {
  const Env env = {
      {"PORT", "9000"},
      {"HOST", "127.0.0.1"},
      {"DUET_DATA_DIR", "/var/lib/duet"},
      {"DUET_WEB_DIR", "/srv/duet/web"},
      {"SOCKET_IO_PATH", "/ws"},
      {"STUN_SERVER_URL", "stun:stun.example.org:3478"},
      {"TURN_SERVER_URL", "turn:turn.example.org:3478?transport=udp"},
      {"TURN_USERNAME", "duet"},
      {"TURN_CREDENTIAL", "hunter2"},
      {"TURN_SECRET", "coturn-secret"},
      {"TURN_TTL", "600"},
      {"JWT_SECRET", kLongSecret},
      {"TOKEN_TTL", "86400"},
      {"RING_TIMEOUT", "45"},
      {"RECONNECT_GRACE", "0"},
      {"AUTH_TIMEOUT", "10"},
      {"MAX_CONNECTIONS", "1000"},
  };
  const Config config = load_ok(env);
  CHECK(config.port == 9000);
  CHECK(config.host == "127.0.0.1");
  CHECK(config.data_dir == "/var/lib/duet");
  CHECK(config.web_dir == "/srv/duet/web");
  CHECK(config.socket_path == "/ws");
  CHECK(config.stun_url == "stun:stun.example.org:3478");
  CHECK(config.turn_url == "turn:turn.example.org:3478?transport=udp");
  CHECK(config.turn_username == "duet");
  CHECK(config.turn_credential == "hunter2");
  CHECK(config.turn_secret == "coturn-secret");
  CHECK(config.turn_ttl_s == 600);
  CHECK(config.jwt_secret == kLongSecret);
  CHECK(config.token_ttl_s == 86400);
  CHECK(config.ring_timeout_s == 45);
  CHECK(config.reconnect_grace_s == 0);
  CHECK(config.auth_timeout_s == 10);
  CHECK(config.max_connections == 1000);
}

TEST_CASE("The environment wins over .env", "[config]") {
  const Config config = load_ok({{"PORT", "9001"}}, "PORT=9002\nHOST=10.0.0.1\n");
  CHECK(config.port == 9001);
  CHECK(config.host == "10.0.0.1");
}

TEST_CASE("A variable set to the empty string counts as unset", "[config]") {
  const Config config = load_ok({{"PORT", ""}, {"HOST", ""}}, "PORT=9002\n");
  CHECK(config.port == 9002);
  CHECK(config.host == "0.0.0.0");
}

TEST_CASE("Unknown variables are ignored, in the environment and in .env", "[config]") {
  const Config config = load_ok({{"PATH", "/usr/bin"}, {"port", "1"}}, "MONGODB_URI=x\n");
  CHECK(config.port == 8080);
}

TEST_CASE(".env understands comments, export, quotes and CRLF line ends", "[config]") {
  const std::string dotenv =
      "# STUN/TURN Servers\n"
      "\n"
      "   \n"
      "STUN_SERVER_URL=stun:stun.example.org:3478   # the LAN's own\n"
      "export TURN_SERVER_URL = turn:turn.example.org:3478\r\n"
      "TURN_USERNAME='it s'\n"
      "TURN_CREDENTIAL=pa#ss word\n"
      "TURN_SECRET=\"a \\\"quoted\\\" # not a comment\\n\"  # a comment\n"
      "DUET_WEB_DIR='  spaced  '\n"
      "HOST=\n"
      "\tRING_TIMEOUT=40\n"
      "RING_TIMEOUT=41\n";
  const Config ok = load_ok({}, dotenv);
  CHECK(ok.stun_url == "stun:stun.example.org:3478");
  CHECK(ok.turn_url == "turn:turn.example.org:3478");  // no trailing \r
  CHECK(ok.turn_username == "it s");
  CHECK(ok.turn_credential == "pa#ss word");            // '#' inside a word is not a comment
  CHECK(ok.turn_secret == "a \"quoted\" # not a comment\n");
  CHECK(ok.web_dir == "  spaced  ");
  CHECK(ok.host == "0.0.0.0");
  CHECK(ok.ring_timeout_s == 41);                       // a repeated key: the last one wins
}

TEST_CASE("A .env line that cannot be read is refused with its line number", "[config]") {
  const auto [line, message] = GENERATE(table<std::string, std::string>({
      {"PORT 8080", ".env line 2: expected KEY=value"},
      {"=8080", ".env line 2: bad variable name \"\""},
      {"MY-PORT=8080", ".env line 2: bad variable name \"MY-PORT\""},
      {"1PORT=8080", ".env line 2: bad variable name \"1PORT\""},
      {"HOST=\"127.0.0.1", ".env line 2: unterminated \" quote"},
      {"HOST='127.0.0.1", ".env line 2: unterminated ' quote"},
      {"HOST=\"127.0.0.1\" x", ".env line 2: unexpected text after the closing quote"},
  }));
  CHECK(load_error({}, "# first\n" + line + "\n") == message);
}

TEST_CASE("A number that is not one, or out of its range, is refused naming the variable",
          "[config]") {
  const auto [name, value, message] = GENERATE(table<std::string, std::string, std::string>({
      {"PORT", "http", "PORT must be a whole number from 0 to 65535, got \"http\""},
      {"PORT", "80.5", "PORT must be a whole number from 0 to 65535, got \"80.5\""},
      {"PORT", " 80", "PORT must be a whole number from 0 to 65535, got \" 80\""},
      {"PORT", "+80", "PORT must be a whole number from 0 to 65535, got \"+80\""},
      {"PORT", "0x50", "PORT must be a whole number from 0 to 65535, got \"0x50\""},
      {"PORT", "65536", "PORT must be from 0 to 65535, got \"65536\""},
      {"PORT", "-1", "PORT must be from 0 to 65535, got \"-1\""},
      {"PORT", "99999999999999999999", "PORT must be from 0 to 65535, got \"99999999999999999999\""},
      {"TURN_TTL", "59", "TURN_TTL must be from 60 to 604800, got \"59\""},
      {"TOKEN_TTL", "1d", "TOKEN_TTL must be a whole number from 60 to 31536000, got \"1d\""},
      {"RING_TIMEOUT", "0", "RING_TIMEOUT must be from 5 to 600, got \"0\""},
      {"RECONNECT_GRACE", "601", "RECONNECT_GRACE must be from 0 to 600, got \"601\""},
      {"AUTH_TIMEOUT", "0", "AUTH_TIMEOUT must be from 1 to 300, got \"0\""},
      {"MAX_CONNECTIONS", "0", "MAX_CONNECTIONS must be from 1 to 1000000, got \"0\""},
  }));
  CHECK(load_error({{name, value}}) == message);
  if (value.front() != ' ') {  // .env trims spaces around a value
    CHECK(load_error({}, name + "=" + value) == message);
  }
}

TEST_CASE("Numbers at the ends of their ranges are accepted", "[config]") {
  CHECK(load_ok({{"PORT", "0"}}).port == 0);
  CHECK(load_ok({{"PORT", "65535"}}).port == 65535);
  CHECK(load_ok({{"RECONNECT_GRACE", "600"}}).reconnect_grace_s == 600);
  CHECK(load_ok({{"MAX_CONNECTIONS", "1000000"}}).max_connections == 1000000);
}

TEST_CASE("Values that cannot work are refused naming the variable", "[config]") {
  const auto [env, message] = GENERATE(table<Env, std::string>({
      {{{"SOCKET_IO_PATH", "api/socket"}},
       "SOCKET_IO_PATH must start with \"/\", got \"api/socket\""},
      {{{"SOCKET_IO_PATH", "/api socket"}},
       "SOCKET_IO_PATH must be a URL path without spaces, '?' or '#', got \"/api socket\""},
      {{{"STUN_SERVER_URL", "stun.example.org:3478"}},
       "STUN_SERVER_URL must start with \"stun:\" or \"stuns:\", got \"stun.example.org:3478\""},
      {{{"TURN_SERVER_URL", "stun:turn.example.org"}},
       "TURN_SERVER_URL must start with \"turn:\" or \"turns:\", got \"stun:turn.example.org\""},
      {{{"JWT_SECRET", "secret"}},
       "JWT_SECRET must be at least 32 bytes (or unset, to generate one)"},
      {{{"TURN_USERNAME", "duet"}}, "TURN_USERNAME and TURN_CREDENTIAL must be set together"},
      {{{"TURN_CREDENTIAL", "pw"}}, "TURN_USERNAME and TURN_CREDENTIAL must be set together"},
  }));
  CHECK(load_error(env) == message);
}

TEST_CASE("The help text lists every variable with its default", "[config]") {
  const std::string help = help_text();
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"PORT", "8080"},
      {"HOST", "0.0.0.0"},
      {"DUET_DATA_DIR", "./data"},
      {"DUET_WEB_DIR", "web"},
      {"SOCKET_IO_PATH", "/api/socket"},
      {"STUN_SERVER_URL", "(none)"},
      {"TURN_SERVER_URL", "(none)"},
      {"TURN_USERNAME", "(none)"},
      {"TURN_CREDENTIAL", "(none)"},
      {"TURN_SECRET", "(none)"},
      {"TURN_TTL", "3600"},
      {"JWT_SECRET", "(none)"},
      {"TOKEN_TTL", "604800"},
      {"RING_TIMEOUT", "30"},
      {"RECONNECT_GRACE", "20"},
      {"AUTH_TIMEOUT", "5"},
      {"MAX_CONNECTIONS", "60000"},
  };
  for (const auto& [name, value] : expected) {
    INFO(name);
    CHECK_THAT(help, Catch::Contains("  " + name + " (default: " + value));
  }
  CHECK_THAT(help, Catch::Contains("  PORT (default: 8080; 0..65535)\n"
                                   "      TCP port for HTTP and WebSocket; 0 picks a free port.\n"));
}

TEST_CASE("environment_from reads NAME=value entries and skips the rest", "[config]") {
  std::string a = "PORT=9000", b = "EMPTY=", c = "NOEQUALS", d = "EQ=a=b", e = "PORT=1",
              f = "=nameless";
  char* envp[] = {a.data(), b.data(), c.data(), d.data(), e.data(), f.data(), nullptr};
  const auto env = environment_from(envp);
  CHECK(env == Env{{"PORT", "9000"}, {"EMPTY", ""}, {"EQ", "a=b"}});
  CHECK(environment_from(nullptr).empty());
}

TEST_CASE("load_or_create_secret creates a 0600 secret once and then reads it back",
          "[config]") {
  TempDir dir;
  const auto path = (dir.path / "data" / "jwt_secret").string();  // "data" does not exist yet
  const auto created = load_or_create_secret(path);
  REQUIRE(created.has_value());
  CHECK(created->size() == 64);
  CHECK(read_file(path) == *created + "\n");
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);

  const auto again = load_or_create_secret(path);
  REQUIRE(again.has_value());
  CHECK(*again == *created);
}

TEST_CASE("load_or_create_secret uses a secret someone put there, without its newline",
          "[config]") {
  TempDir dir;
  const auto path = (dir.path / "jwt_secret").string();
  std::ofstream(path) << kLongSecret << "\r\n\n";
  const auto loaded = load_or_create_secret(path);
  REQUIRE(loaded.has_value());
  CHECK(*loaded == kLongSecret);
}

TEST_CASE("load_or_create_secret refuses a short secret file and leaves it alone", "[config]") {
  TempDir dir;
  const auto path = (dir.path / "jwt_secret").string();
  std::ofstream(path) << "short\n";
  const auto loaded = load_or_create_secret(path);
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().code == ErrorCode::bad_value);
  CHECK(read_file(path) == "short\n");
}

TEST_CASE("load_or_create_secret reports a path it cannot use as internal", "[config]") {
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";
  const std::string path = GENERATE(std::string("."), std::string("file/jwt_secret"));
  const auto loaded = load_or_create_secret((dir.path / path).string());
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().code == ErrorCode::internal);
  CHECK_THAT(loaded.error().message, Catch::Contains(dir.path.string()));
}

TEST_CASE("The JWT secret lives in the data directory", "[config]") {
  Config config;
  config.data_dir = "/var/lib/duet";
  CHECK(jwt_secret_path(config) == "/var/lib/duet/jwt_secret");
}
