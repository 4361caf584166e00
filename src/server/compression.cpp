#include "server/compression.hpp"

#define ZLIB_CONST  // next_in as a pointer to const: the input is never written
#include <zlib.h>

#include <algorithm>
#include <optional>

#include "server/static_files.hpp"

namespace duet::server {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// RFC 9110's qvalue in thousandths: "0", "0.5", "0.123", "1", "1.000"; nullopt otherwise.
std::optional<int> parse_qvalue(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  const int whole = s[0] - '0';
  if (s.size() == 1) return whole * 1000;
  if (s[1] != '.' || s.size() > 5) return std::nullopt;
  int thousandths = 0;
  int scale = 100;
  for (char c : s.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    thousandths += (c - '0') * scale;
    scale /= 10;
  }
  if (whole == 1 && thousandths != 0) return std::nullopt;
  return whole * 1000 + thousandths;
}

// One element of the list: a coding and its weight (1000 when it has none), or nullopt for an
// element that cannot be read.
struct Weighted {
  std::string_view coding;
  int q = 1000;
};

std::optional<Weighted> parse_element(std::string_view element) {
  Weighted w;
  const auto semi = element.find(';');
  w.coding = trim(element.substr(0, semi));
  if (w.coding.empty()) return std::nullopt;
  std::string_view params = semi == std::string_view::npos ? std::string_view() : element.substr(semi + 1);
  while (!params.empty()) {
    const auto next = params.find(';');
    const std::string_view param = trim(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    const auto eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim(param.substr(0, eq)), "q")) continue;  // codings define no other parameters
    const auto q = parse_qvalue(trim(param.substr(eq + 1)));
    if (!q) return std::nullopt;
    w.q = *q;
  }
  return w;
}

}  // namespace

bool prefers_gzip(std::string_view accept_encoding) {
  // -1: the list does not mention it.
  int gzip_q = -1;
  int identity_q = -1;
  int any_q = -1;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    const std::string_view element = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    const auto w = parse_element(element);
    if (!w) continue;
    // RFC 9110 §8.4.1.3: x-gzip is gzip. Listed twice, the more willing weight wins.
    if (iequals(w->coding, "gzip") || iequals(w->coding, "x-gzip")) gzip_q = std::max(gzip_q, w->q);
    else if (iequals(w->coding, "identity")) identity_q = std::max(identity_q, w->q);
    else if (w->coding == "*") any_q = std::max(any_q, w->q);
  }
  if (gzip_q < 0) gzip_q = std::max(any_q, 0);
  // Identity is acceptable unless excluded, but a list that does not weigh it ranks it below
  // everything it does name: "gzip;q=0.5" alone still means gzip.
  if (identity_q < 0) identity_q = std::max(any_q, 0);
  // A tie goes to gzip: the client is equally happy and the bytes are fewer.
  return gzip_q > 0 && gzip_q >= identity_q;
}

bool compressible(std::string_view path) {
  // Decided from the Content-Type the file is sent with, so the two lists cannot drift.
  const std::string_view type = mime_type(path);
  return type.rfind("text/", 0) == 0 || type.rfind("application/json", 0) == 0 || type == "application/wasm" ||
         type == "image/svg+xml";
}

Encoding choose_encoding(std::string_view accept_encoding, std::string_view path, std::uint64_t size,
                         const GzipPolicy& policy) {
  if (size < policy.min_bytes || size > policy.max_bytes || !compressible(path)) return Encoding::identity;
  return prefers_gzip(accept_encoding) ? Encoding::gzip : Encoding::identity;
}

Expected<std::string> gzip(std::string_view data, int level) {
  if (level < 1 || level > 9) return make_error(ErrorCode::bad_value, "gzip level must be 1..9");
  z_stream zs{};
  // windowBits 15 + 16: the largest window, wrapped as gzip rather than zlib; memLevel 8 is
  // zlib's default.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(ErrorCode::internal, "zlib: deflateInit2 failed");
  }
  struct End {
    z_stream* zs;
    ~End() { deflateEnd(zs); }
  } end{&zs};

  // avail_in and avail_out are 32-bit, so a large input goes in slices.
  constexpr std::size_t kSlice = 1 << 20;
  constexpr std::size_t kOutStep = 64 * 1024;
  std::string out;
  out.reserve(data.size() / 3 + 64);
  zs.next_in = reinterpret_cast<const Bytef*>(data.data());
  std::size_t left = data.size();
  int rc = Z_OK;
  int flush = Z_NO_FLUSH;
  while (flush != Z_FINISH) {
    const std::size_t slice = std::min(left, kSlice);
    zs.avail_in = static_cast<uInt>(slice);
    left -= slice;
    flush = left == 0 ? Z_FINISH : Z_NO_FLUSH;
    do {
      const std::size_t used = out.size();
      out.resize(used + kOutStep);
      zs.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      zs.avail_out = static_cast<uInt>(kOutStep);
      rc = deflate(&zs, flush);
      out.resize(used + kOutStep - zs.avail_out);
      if (rc == Z_STREAM_ERROR) return make_error(ErrorCode::internal, "zlib: deflate failed");
    } while (zs.avail_out == 0);
  }
  if (rc != Z_STREAM_END) return make_error(ErrorCode::internal, "zlib: deflate did not finish");
  return out;
}

// ----- the cache -----------------------------------------------------------------------------

std::size_t GzipCache::cost(const Entry& e) {
  // The list node, the index slot and two strings' bookkeeping, roughly.
  constexpr std::size_t kEntryOverhead = 128;
  return e.body->size() + e.path.size() * 2 + kEntryOverhead;
}

void GzipCache::erase(std::list<Entry>::iterator it) {
  bytes_ -= cost(*it);
  index_.erase(it->path);
  order_.erase(it);
}

std::shared_ptr<const std::string> GzipCache::find(const std::string& path, FileStamp stamp) {
  const auto found = index_.find(path);
  if (found == index_.end()) return nullptr;
  const auto it = found->second;
  if (it->stamp != stamp) {
    // The file has changed since: its old body can never be served again.
    erase(it);
    return nullptr;
  }
  order_.splice(order_.begin(), order_, it);
  return it->body;
}

void GzipCache::put(const std::string& path, FileStamp stamp, std::shared_ptr<const std::string> body) {
  if (!body) return;
  if (const auto found = index_.find(path); found != index_.end()) erase(found->second);
  Entry entry{path, stamp, std::move(body)};
  const std::size_t c = cost(entry);
  if (c > max_bytes_) return;
  order_.push_front(std::move(entry));
  index_.emplace(path, order_.begin());
  bytes_ += c;
  while (bytes_ > max_bytes_) erase(std::prev(order_.end()));
}

}  // namespace duet::server
