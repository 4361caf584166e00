#include "server/static_files.hpp"

#include <algorithm>

namespace duet::server {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; false on a malformed escape or a decoded NUL.
bool url_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

Expected<std::string> resolve_static(const std::vector<Mount>& mounts, std::string_view url_path) {
  std::string path;
  if (!url_decode(url_path, path) || path.empty() || path.front() != '/') {
    return make_error(ErrorCode::bad_value, "malformed path");
  }
  if (path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) {
    return make_error(ErrorCode::bad_value, "path not allowed");
  }
  // Any segment that is "." or ".." (or empty, as in "//") is refused. A hidden file or
  // folder (.git, .env, an editor's swap file) is never part of the site, whatever a deployer
  // left in the folder: it does not exist for a browser.
  bool hidden = false;
  for (std::size_t start = 1; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment(path.data() + start, end - start);
    if (segment == "." || segment == ".." || (segment.empty() && end != path.size())) {
      return make_error(ErrorCode::bad_value, "path not allowed");
    }
    if (!segment.empty() && segment.front() == '.') hidden = true;
    start = end + 1;
  }
  if (hidden) return make_error(ErrorCode::not_found, "no such file");
  const Mount* best = nullptr;
  for (const auto& m : mounts) {
    if (path.rfind(m.prefix, 0) == 0 && (!best || m.prefix.size() > best->prefix.size())) best = &m;
  }
  if (!best) return make_error(ErrorCode::not_found, "no such file");
  std::string file = best->dir + "/" + path.substr(best->prefix.size());
  if (path.back() == '/') file += "index.html";
  return file;
}

std::string_view mime_type(std::string_view path) {
  const auto dot = path.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? std::string_view() : path.substr(dot);
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json; charset=utf-8";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".ts") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace duet::server
