// The server's configuration: a plain struct with a default for every field, read from the
// environment and a .env file. The variable names follow the seed plan where it has them
// (STUN_SERVER_URL, TURN_SERVER_URL, TURN_USERNAME, TURN_CREDENTIAL, SOCKET_IO_PATH).
// help_text() lists them all; `duet-server --help` prints it.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "duet/error.hpp"

namespace duet::server {

struct Config {
  // PORT: 8080 is the usual unprivileged HTTP port; 0 asks the OS for a free one (tests).
  std::uint16_t port = 8080;
  // HOST: every interface, so a container or a LAN peer can reach it; 127.0.0.1 for local only.
  std::string host = "0.0.0.0";
  // DUET_DATA_DIR: the SQLite database and the generated jwt_secret; relative to the working
  // directory so a checkout runs without setup.
  std::string data_dir = "./data";
  // DUET_WEB_DIR: the static page, served from the checkout's web/ folder by default.
  std::string web_dir = "web";
  // DUET_MODULE_DIR: the built duet-core wasm module, served at /duet/; where the wasm preset
  // of this checkout puts it.
  std::string module_dir = "build/wasm/module";
  // SOCKET_IO_PATH: the seed's signaling path; must start with "/".
  std::string socket_path = "/api/socket";
  // STUN_SERVER_URL: none by default. The seed's stun:stun.l.google.com:19302 is not reachable
  // from every network (nor from our test machines); host candidates work on a LAN without it.
  std::string stun_url;
  // TURN_SERVER_URL: none by default; there is no public TURN server to assume.
  std::string turn_url;
  // TURN_USERNAME / TURN_CREDENTIAL: static credentials, as the seed has them; both or neither.
  std::string turn_username;
  std::string turn_credential;
  // TURN_SECRET: coturn's static-auth-secret. When set, each user gets their own time-limited
  // credentials instead of the static ones.
  std::string turn_secret;
  // TURN_TTL: an hour covers a long call's ICE restarts; clients fetch new ones per call.
  std::int64_t turn_ttl_s = 3600;
  // JWT_SECRET: empty means generate one and keep it in <data_dir>/jwt_secret (mode 0600),
  // so sessions survive restarts without anyone choosing a secret. At least 32 bytes if set.
  std::string jwt_secret;
  // TOKEN_TTL: a week, so people are not asked to log in every day.
  std::int64_t token_ttl_s = 7 * 24 * 3600;
  // RING_TIMEOUT: how long an unanswered call rings before it is a missed call; 30 s is what
  // phones do.
  std::int64_t ring_timeout_s = 30;
  // RECONNECT_GRACE: how long a dropped participant has to come back before the call ends;
  // covers a network switch (Wi-Fi to mobile) and a page reload.
  std::int64_t reconnect_grace_s = 20;
  // AUTH_TIMEOUT: the first WebSocket frame must authenticate within this, so idle
  // unauthenticated sockets cannot pile up.
  std::int64_t auth_timeout_s = 5;
  // MAX_CONNECTIONS: below the default file-descriptor hard limit of 65536 with room to spare.
  std::int64_t max_connections = 60000;
};

// The configuration from `env` (the process environment) and `dotenv_text` (the contents of a
// .env file, empty when there is none). The environment wins over .env; a variable set to the
// empty string counts as unset; unknown variables are ignored. bad_value, naming the variable
// (or the .env line), for a number that is not one or out of its range, and for values that
// cannot work (SOCKET_IO_PATH without a leading "/", a short JWT_SECRET, ...).
//
// .env syntax: KEY=value lines; blank lines and lines starting with '#' are skipped; an
// optional "export " prefix; values may be 'single-quoted' (literal) or "double-quoted"
// (\" \\ \n \t escapes); an unquoted value ends at " #" (a comment) and is trimmed.
Expected<Config> load_config(const std::map<std::string, std::string>& env,
                             const std::string& dotenv_text);

// Every variable with its default and meaning, for --help.
std::string help_text();

// The environment as a map, from main's envp (or `environ`). Entries without '=' are skipped;
// when a name repeats, the first wins (as getenv does). A null envp gives an empty map.
std::map<std::string, std::string> environment_from(char** envp);

// The secret in the file at `path`, or a new one (32 random bytes as 64 hex characters)
// written there with mode 0600, creating its directory if needed. Trailing whitespace in the
// file is ignored. internal for I/O failures; bad_value when the file holds fewer than 32
// bytes (it is never overwritten).
Expected<std::string> load_or_create_secret(const std::string& path);

// Where the generated JWT secret lives: <data_dir>/jwt_secret.
std::string jwt_secret_path(const Config& config);

}  // namespace duet::server
