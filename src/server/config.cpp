// Configuration from the environment and .env. One table (kVariables) drives both loading and
// help_text(), so the help can never list a variable the loader does not read or show a
// default that is not the struct's.
#include "server/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>
#include <variant>

#include "server/tokens.hpp"

namespace duet::server {
namespace {

constexpr std::size_t kMinJwtSecretBytes = 32;
constexpr std::size_t kMaxSecretFileBytes = 4096;

using Field = std::variant<std::string Config::*, std::int64_t Config::*, std::uint16_t Config::*>;
using Check = Status (*)(std::string_view name, const std::string& value);

struct Variable {
  std::string_view name;
  Field field;
  std::int64_t min;  // numbers only
  std::int64_t max;
  Check check;       // strings only; may be null
  std::string_view meaning;
};

Error bad(std::string_view name, std::string_view what) {
  std::string message(name);
  message += ' ';
  message += what;
  return make_error(ErrorCode::bad_value, std::move(message));
}

// A value as it may appear in a message: quoted and cut short.
std::string shown(std::string_view value) {
  constexpr std::size_t kMax = 40;
  std::string out = "\"";
  out += value.substr(0, kMax);
  if (value.size() > kMax) out += "...";
  out += '"';
  return out;
}

Status check_path(std::string_view name, const std::string& value) {
  if (value.front() != '/') return bad(name, "must start with \"/\", got " + shown(value));
  for (const char c : value) {
    if (c <= ' ' || c == '?' || c == '#' || c == 0x7f) {
      return bad(name, "must be a URL path without spaces, '?' or '#', got " + shown(value));
    }
  }
  return Done{};
}

Status check_stun_url(std::string_view name, const std::string& value) {
  if (value.rfind("stun:", 0) == 0 || value.rfind("stuns:", 0) == 0) return Done{};
  return bad(name, "must start with \"stun:\" or \"stuns:\", got " + shown(value));
}

Status check_turn_url(std::string_view name, const std::string& value) {
  if (value.rfind("turn:", 0) == 0 || value.rfind("turns:", 0) == 0) return Done{};
  return bad(name, "must start with \"turn:\" or \"turns:\", got " + shown(value));
}

Status check_jwt_secret(std::string_view name, const std::string& value) {
  if (value.size() >= kMinJwtSecretBytes) return Done{};
  return bad(name, "must be at least 32 bytes (or unset, to generate one)");
}

const Variable kVariables[] = {
    {"PORT", &Config::port, 0, 65535, nullptr,
     "TCP port for HTTP and WebSocket; 0 picks a free port."},
    {"HOST", &Config::host, 0, 0, nullptr,
     "Address to listen on; 127.0.0.1 to accept local connections only."},
    {"DUET_DATA_DIR", &Config::data_dir, 0, 0, nullptr,
     "Directory for the SQLite database and the generated JWT secret."},
    {"DUET_WEB_DIR", &Config::web_dir, 0, 0, nullptr, "Directory of the static web page."},
    {"DUET_MODULE_DIR", &Config::module_dir, 0, 0, nullptr,
     "Directory of the built duet-core module (duet-core.mjs, .wasm), served at /duet/."},
    {"SOCKET_IO_PATH", &Config::socket_path, 0, 0, check_path,
     "URL path of the signaling WebSocket; starts with \"/\"."},
    {"STUN_SERVER_URL", &Config::stun_url, 0, 0, check_stun_url,
     "STUN server given to browsers, e.g. stun:stun.example.org:3478; empty for none."},
    {"TURN_SERVER_URL", &Config::turn_url, 0, 0, check_turn_url,
     "TURN server given to browsers, e.g. turn:turn.example.org:3478; empty for none."},
    {"TURN_USERNAME", &Config::turn_username, 0, 0, nullptr,
     "Static TURN username (with TURN_CREDENTIAL)."},
    {"TURN_CREDENTIAL", &Config::turn_credential, 0, 0, nullptr,
     "Static TURN password (with TURN_USERNAME)."},
    {"TURN_SECRET", &Config::turn_secret, 0, 0, nullptr,
     "coturn's static-auth-secret; when set, each user gets time-limited TURN credentials "
     "instead of the static ones."},
    {"TURN_TTL", &Config::turn_ttl_s, 60, 7 * 24 * 3600, nullptr,
     "Seconds minted TURN credentials stay valid."},
    {"JWT_SECRET", &Config::jwt_secret, 0, 0, check_jwt_secret,
     "Key that signs session tokens, at least 32 bytes; empty: generated once and kept in "
     "<DUET_DATA_DIR>/jwt_secret (mode 0600)."},
    {"TOKEN_TTL", &Config::token_ttl_s, 60, 365 * 24 * 3600, nullptr,
     "Seconds a session token stays valid."},
    {"RING_TIMEOUT", &Config::ring_timeout_s, 5, 600, nullptr,
     "Seconds an unanswered call rings before it becomes a missed call."},
    {"RECONNECT_GRACE", &Config::reconnect_grace_s, 0, 600, nullptr,
     "Seconds a dropped participant has to come back before the call ends."},
    {"AUTH_TIMEOUT", &Config::auth_timeout_s, 1, 300, nullptr,
     "Seconds a new WebSocket has to authenticate with its first frame."},
    {"MAX_CONNECTIONS", &Config::max_connections, 1, 1000000, nullptr,
     "Most simultaneous connections; more are refused."},
};

Status parse_number(const Variable& variable, const std::string& text, std::int64_t& out) {
  const std::string range =
      "from " + std::to_string(variable.min) + " to " + std::to_string(variable.max);
  std::int64_t value = 0;
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc{} && ptr == end && (value < variable.min || value > variable.max))) {
    return bad(variable.name, "must be " + range + ", got " + shown(text));
  }
  if (ec != std::errc{} || ptr != end) {
    return bad(variable.name, "must be a whole number " + range + ", got " + shown(text));
  }
  out = value;
  return Done{};
}

Status assign(const Variable& variable, const std::string& text, Config& config) {
  if (const auto* member = std::get_if<std::string Config::*>(&variable.field)) {
    if (variable.check != nullptr) {
      if (auto checked = variable.check(variable.name, text); !checked) return checked;
    }
    config.**member = text;
    return Done{};
  }
  std::int64_t value = 0;
  if (auto parsed = parse_number(variable, text, value); !parsed) return parsed;
  if (const auto* member = std::get_if<std::int64_t Config::*>(&variable.field)) {
    config.**member = value;
  } else {
    config.*std::get<std::uint16_t Config::*>(variable.field) = static_cast<std::uint16_t>(value);
  }
  return Done{};
}

// ----- .env ------------------------------------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool is_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

Error dotenv_error(std::size_t line, std::string_view what) {
  return make_error(ErrorCode::bad_value,
                    ".env line " + std::to_string(line) + ": " + std::string(what));
}

// After a closing quote only spaces and a comment may follow.
bool only_comment(std::string_view rest) {
  rest = trim(rest);
  return rest.empty() || rest.front() == '#';
}

Expected<std::string> dotenv_value(std::string_view raw, std::size_t line) {
  raw = trim(raw);
  if (raw.empty()) return std::string();
  if (raw.front() == '\'') {
    const auto close = raw.find('\'', 1);
    if (close == std::string_view::npos) return dotenv_error(line, "unterminated ' quote");
    if (!only_comment(raw.substr(close + 1))) {
      return dotenv_error(line, "unexpected text after the closing quote");
    }
    return std::string(raw.substr(1, close - 1));
  }
  if (raw.front() == '"') {
    std::string out;
    for (std::size_t i = 1; i < raw.size(); ++i) {
      const char c = raw[i];
      if (c == '"') {
        if (!only_comment(raw.substr(i + 1))) {
          return dotenv_error(line, "unexpected text after the closing quote");
        }
        return out;
      }
      if (c == '\\' && i + 1 < raw.size()) {
        const char next = raw[++i];
        switch (next) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          default: out += '\\'; out += next; break;  // unknown escapes stay as written
        }
        continue;
      }
      out += c;
    }
    return dotenv_error(line, "unterminated \" quote");
  }
  // Unquoted: a '#' starts a comment only after whitespace, so "pa#ss" stays whole.
  for (std::size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] == '#' && is_space(raw[i - 1])) {
      raw = raw.substr(0, i);
      break;
    }
  }
  return std::string(trim(raw));
}

Expected<std::map<std::string, std::string>> parse_dotenv(std::string_view text) {
  std::map<std::string, std::string> out;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.rfind("export", 0) == 0 && line.size() > 6 && is_space(line[6])) {
      line = trim(line.substr(6));
    }
    const auto equals = line.find('=');
    if (equals == std::string_view::npos) return dotenv_error(line_number, "expected KEY=value");
    const std::string_view key = trim(line.substr(0, equals));
    if (!is_name(key)) {
      return dotenv_error(line_number, "bad variable name " + shown(key));
    }
    auto value = dotenv_value(line.substr(equals + 1), line_number);
    if (!value) return value.error();
    out[std::string(key)] = std::move(*value);  // a repeated key: the last one wins
  }
  return out;
}

std::string default_text(const Variable& variable) {
  static const Config defaults;
  if (const auto* member = std::get_if<std::string Config::*>(&variable.field)) {
    const std::string& value = defaults.**member;
    return value.empty() ? std::string("(none)") : value;
  }
  if (const auto* member = std::get_if<std::int64_t Config::*>(&variable.field)) {
    return std::to_string(defaults.**member);
  }
  return std::to_string(defaults.*std::get<std::uint16_t Config::*>(variable.field));
}

std::string errno_text(int error) { return std::error_code(error, std::generic_category()).message(); }

Error io_error(std::string_view what, const std::string& path, int error) {
  return make_error(ErrorCode::internal,
                    std::string(what) + " " + path + ": " + errno_text(error));
}

std::string_view trim_trailing_whitespace(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || is_space(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// The whole file at `path`, or nullopt with `error` set (ENOENT when there is none).
std::optional<std::string> read_small_file(const std::string& path, int& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = errno;
    return std::nullopt;
  }
  std::string out;
  char buffer[1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > kMaxSecretFileBytes) {
      error = EFBIG;
      ::close(fd);
      return std::nullopt;
    }
  }
  ::close(fd);
  return out;
}

Expected<std::string> read_secret(const std::string& path) {
  int error = 0;
  auto text = read_small_file(path, error);
  if (!text) return io_error("cannot read", path, error);
  const std::string_view secret = trim_trailing_whitespace(*text);
  if (secret.size() < kMinJwtSecretBytes) {
    return make_error(ErrorCode::bad_value,
                      path + " holds fewer than 32 bytes; put a longer secret there, or delete "
                             "it to have a new one generated");
  }
  return std::string(secret);
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

Expected<Config> load_config(const std::map<std::string, std::string>& env,
                             const std::string& dotenv_text) {
  auto dotenv = parse_dotenv(dotenv_text);
  if (!dotenv) return dotenv.error();
  Config config;
  for (const Variable& variable : kVariables) {
    const std::string key(variable.name);
    const std::string* value = nullptr;
    if (const auto it = env.find(key); it != env.end() && !it->second.empty()) {
      value = &it->second;
    } else if (const auto it2 = dotenv->find(key); it2 != dotenv->end() && !it2->second.empty()) {
      value = &it2->second;
    }
    if (value == nullptr) continue;
    if (auto assigned = assign(variable, *value, config); !assigned) return assigned.error();
  }
  if (config.turn_username.empty() != config.turn_credential.empty()) {
    return make_error(ErrorCode::bad_value,
                      "TURN_USERNAME and TURN_CREDENTIAL must be set together");
  }
  return config;
}

std::string help_text() {
  std::string out =
      "duet-server reads these variables from the environment and from a .env file\n"
      "(the environment wins; an empty value counts as unset). Times are in seconds.\n\n";
  for (const Variable& variable : kVariables) {
    out += "  ";
    out += variable.name;
    out += " (default: ";
    out += default_text(variable);
    if (!std::holds_alternative<std::string Config::*>(variable.field)) {
      out += "; " + std::to_string(variable.min) + ".." + std::to_string(variable.max);
    }
    out += ")\n      ";
    out += variable.meaning;
    out += '\n';
  }
  return out;
}

std::map<std::string, std::string> environment_from(char** envp) {
  std::map<std::string, std::string> out;
  if (envp == nullptr) return out;
  for (char** entry = envp; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos || equals == 0) continue;
    out.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return out;
}

Expected<std::string> load_or_create_secret(const std::string& path) {
  // Two tries: if another process creates the file between our read and our create, read it.
  for (int attempt = 0; attempt < 2; ++attempt) {
    int error = 0;
    if (struct stat info{}; ::stat(path.c_str(), &info) == 0) return read_secret(path);
    error = errno;
    if (error != ENOENT) return io_error("cannot read", path, error);

    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) return io_error("cannot create the directory of", path, ec.value());
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      error = errno;
      if (error == EEXIST) continue;
      return io_error("cannot create", path, error);
    }
    const std::string secret = random_secret(32);
    const bool ok = write_all(fd, secret + "\n") && ::fsync(fd) == 0;
    error = errno;
    ::close(fd);
    if (!ok) {
      ::unlink(path.c_str());
      return io_error("cannot write", path, error);
    }
    return secret;
  }
  return make_error(ErrorCode::internal, "cannot create " + path + ": it keeps changing");
}

std::string jwt_secret_path(const Config& config) {
  return (std::filesystem::path(config.data_dir) / "jwt_secret").string();
}

}  // namespace duet::server
