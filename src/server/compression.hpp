// Whether and how a static file goes out gzip-compressed. The page and the wasm module are
// mostly text and code that shrink to about a third, so duet-server compresses them once and
// keeps the result in memory. This unit holds the decisions and the work, without I/O: reading
// a request's Accept-Encoding, choosing gzip or identity for a file, compressing with zlib, and
// the bounded cache of compressed bodies keyed by a file's path and stamp. server.cpp does the
// stat, the read and the answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "duet/error.hpp"

namespace duet::server {

// What a client's Accept-Encoding (every occurrence joined with ", ") asks for, as RFC 9110
// §12.5.3 reads it: true when gzip is acceptable (q > 0, directly, as "x-gzip", or through
// "*") and the client does not prefer identity to it. Tokens and parameters are
// case-insensitive; an element whose q-value does not parse is ignored. An absent or empty
// header means identity.
bool prefers_gzip(std::string_view accept_encoding);

// Types worth compressing, by extension: html, js/mjs, css, json, map, wasm, svg, txt, ts.
// Images (png, ico) and anything unknown are already compressed or not ours to guess about.
bool compressible(std::string_view path);

struct GzipPolicy {
  // Below this a response fits in one TCP segment either way; gzip's 18 bytes of framing
  // eat most of what little it saves.
  std::uint64_t min_bytes = 1024;
  // Above this the file goes out as it is: compressing it would hold the server's one I/O
  // thread for too long and take a large share of the cache.
  std::uint64_t max_bytes = 8 * 1024 * 1024;
};

enum class Encoding { identity, gzip };

// The encoding for a file of `size` bytes at `path` under a request's Accept-Encoding. The
// caller still sends identity when the compressed body turns out no smaller.
Encoding choose_encoding(std::string_view accept_encoding, std::string_view path, std::uint64_t size,
                         const GzipPolicy& policy = {});

// `data` in the gzip format (RFC 1952) at zlib's level `level` (1 fastest .. 9 smallest). The
// header carries no name and no time, so the same input always gives the same bytes.
Expected<std::string> gzip(std::string_view data, int level = 9);

// What a cached body was made from: a file's modification time and size. A file edited in
// place gets a new stamp, so its old body is never served for it.
struct FileStamp {
  std::int64_t mtime_ns = 0;
  std::uint64_t size = 0;

  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

// Compressed bodies by file path, least recently used dropped first once their total is over
// the budget. One version per path: storing a new stamp replaces the old. Bodies are shared,
// so a response being written keeps its body alive after the cache has let it go. Not
// thread-safe: the server uses it from its one I/O thread.
class GzipCache {
 public:
  explicit GzipCache(std::size_t max_bytes = 16 * 1024 * 1024) : max_bytes_(max_bytes) {}

  // The body stored for `path` at exactly `stamp`, or null.
  std::shared_ptr<const std::string> find(const std::string& path, FileStamp stamp);

  // Keeps `body` for `path` at `stamp`. A body bigger than the whole budget is not kept.
  void put(const std::string& path, FileStamp stamp, std::shared_ptr<const std::string> body);

  std::size_t bytes() const { return bytes_; }  // the bodies' sizes plus a per-entry overhead
  std::size_t entries() const { return index_.size(); }

 private:
  struct Entry {
    std::string path;
    FileStamp stamp;
    std::shared_ptr<const std::string> body;
  };
  static std::size_t cost(const Entry& e);
  void erase(std::list<Entry>::iterator it);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace duet::server
