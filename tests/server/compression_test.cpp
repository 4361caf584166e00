// When a static file goes out gzipped, what the compressed bytes are, and what the cache of
// compressed bodies keeps.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <string>

#include "server/compression.hpp"

using namespace duet;
using namespace duet::server;

namespace {

// zlib's own inflate with gzip framing (windowBits 15 + 16): the reader a browser would be.
std::string gunzip(const std::string& in) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    char buf[4096];
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

std::string text_of(std::size_t size) {
  std::string s;
  while (s.size() < size) s += "export function hello(name) { return `hello ${name}`; }\n";
  s.resize(size);
  return s;
}

std::shared_ptr<const std::string> body_of(std::size_t size, char fill = 'x') {
  return std::make_shared<const std::string>(size, fill);
}

}  // namespace

// ----- Accept-Encoding -----------------------------------------------------------------------

TEST_CASE("What browsers send asks for gzip", "[server][compression]") {
  CHECK(prefers_gzip("gzip, deflate, br, zstd"));
  CHECK(prefers_gzip("gzip, deflate"));
  CHECK(prefers_gzip("gzip"));
  CHECK(prefers_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
}

TEST_CASE("No header, an empty header or identity alone means no compression", "[server][compression]") {
  CHECK_FALSE(prefers_gzip(""));
  CHECK_FALSE(prefers_gzip("   "));
  CHECK_FALSE(prefers_gzip("identity"));
  CHECK_FALSE(prefers_gzip("br, deflate"));
}

TEST_CASE("gzip with q=0 is a refusal, however it is written", "[server][compression]") {
  auto header = GENERATE(as<std::string>{}, "gzip;q=0", "gzip; q=0", "gzip;q=0.0", "gzip;q=0.000", "deflate, gzip;q=0",
                         "*, gzip;q=0", "GZIP;Q=0", "gzip ; q=0 ", "gzip;q=0.");
  INFO(header);
  CHECK_FALSE(prefers_gzip(header));
}

TEST_CASE("Codings and the q parameter are case-insensitive", "[server][compression]") {
  CHECK(prefers_gzip("GZIP"));
  CHECK(prefers_gzip("Gzip;Q=0.5"));
  CHECK(prefers_gzip("X-GZIP"));
}

TEST_CASE("A star accepts gzip unless gzip is named with its own weight", "[server][compression]") {
  CHECK(prefers_gzip("*"));
  CHECK(prefers_gzip("br, *;q=0.5"));
  CHECK_FALSE(prefers_gzip("*;q=0"));
  CHECK_FALSE(prefers_gzip("gzip;q=0, *"));
  CHECK(prefers_gzip("gzip, *;q=0"));
}

TEST_CASE("x-gzip is the same coding as gzip", "[server][compression]") {
  CHECK(prefers_gzip("x-gzip"));
  CHECK_FALSE(prefers_gzip("x-gzip;q=0"));
}

TEST_CASE("A client that weighs identity above gzip gets identity, and a tie goes to gzip", "[server][compression]") {
  CHECK_FALSE(prefers_gzip("gzip;q=0.5, identity"));
  CHECK_FALSE(prefers_gzip("gzip;q=0.5, identity;q=0.8"));
  CHECK_FALSE(prefers_gzip("gzip;q=0.5, *"));  // the star weighs identity too
  CHECK(prefers_gzip("gzip;q=0.5, identity;q=0.5"));
  CHECK(prefers_gzip("gzip;q=0.8"));  // identity not weighed: ranked below what is named
  CHECK(prefers_gzip("gzip, identity;q=0"));
}

TEST_CASE("Any positive q-value accepts, down to a thousandth", "[server][compression]") {
  auto header = GENERATE(as<std::string>{}, "gzip;q=1", "gzip;q=1.0", "gzip;q=1.000", "gzip;q=0.5", "gzip;q=0.001",
                         "gzip;q=0.1", "gzip;q=1.", "gzip;level=9;q=0.7");
  INFO(header);
  CHECK(prefers_gzip(header));
}

TEST_CASE("An element whose q-value is malformed is ignored, not guessed at", "[server][compression]") {
  auto header = GENERATE(as<std::string>{}, "gzip;q=2", "gzip;q=1.5", "gzip;q=0.0001", "gzip;q=-1", "gzip;q=abc",
                         "gzip;q=", "gzip;q=.5", "gzip;q=1.001");
  INFO(header);
  CHECK_FALSE(prefers_gzip(header));
  // The rest of the list still counts.
  CHECK(prefers_gzip(header + ", x-gzip"));
}

TEST_CASE("Empty elements and stray spaces in the list are tolerated", "[server][compression]") {
  CHECK(prefers_gzip(" , ,gzip , "));
  CHECK(prefers_gzip("br,\tgzip"));
  CHECK(prefers_gzip(";q=1, gzip"));
}

TEST_CASE("A coding listed twice counts with its more willing weight", "[server][compression]") {
  // What the server sees when a client splits Accept-Encoding over two lines, joined.
  CHECK(prefers_gzip("gzip;q=0, gzip"));
  CHECK(prefers_gzip("x-gzip;q=0, gzip;q=0.3"));
  CHECK_FALSE(prefers_gzip("gzip;q=0, x-gzip;q=0"));
}

// ----- what is compressed --------------------------------------------------------------------

TEST_CASE("Text, code, JSON, wasm and SVG are compressible", "[server][compression]") {
  auto path = GENERATE(as<std::string>{}, "index.html", "app/main.js", "app/main.mjs", "styles/app.css", "locales/en.json",
                       "x.js.map", "duet/duet-core.wasm", "icon.svg", "notes.txt", "sdk/duet-client.d.ts");
  INFO(path);
  CHECK(compressible(path));
}

TEST_CASE("Images and unknown types are sent as they are", "[server][compression]") {
  auto path = GENERATE(as<std::string>{}, "logo.png", "favicon.ico", "archive.zip", "video.webm", "noext", "README.md");
  INFO(path);
  CHECK_FALSE(compressible(path));
}

TEST_CASE("A compressible file of a worthwhile size is gzipped when the client accepts it", "[server][compression]") {
  CHECK(choose_encoding("gzip", "duet/duet-core.wasm", 300'000) == Encoding::gzip);
  CHECK(choose_encoding("gzip;q=0", "duet/duet-core.wasm", 300'000) == Encoding::identity);
  CHECK(choose_encoding("", "duet/duet-core.wasm", 300'000) == Encoding::identity);
}

TEST_CASE("Tiny files are not compressed: gzip's framing eats what it would save", "[server][compression]") {
  const GzipPolicy policy;
  CHECK(choose_encoding("gzip", "index.html", policy.min_bytes - 1) == Encoding::identity);
  CHECK(choose_encoding("gzip", "index.html", policy.min_bytes) == Encoding::gzip);
  CHECK(choose_encoding("gzip", "index.html", 0) == Encoding::identity);
}

TEST_CASE("Files over the policy's limit go out uncompressed rather than held in memory", "[server][compression]") {
  GzipPolicy policy;
  policy.max_bytes = 10'000;
  CHECK(choose_encoding("gzip", "big.json", 10'000, policy) == Encoding::gzip);
  CHECK(choose_encoding("gzip", "big.json", 10'001, policy) == Encoding::identity);
}

TEST_CASE("Already-compressed types are not gzipped whatever the client accepts", "[server][compression]") {
  CHECK(choose_encoding("gzip", "photo.png", 500'000) == Encoding::identity);
  CHECK(choose_encoding("*", "favicon.ico", 50'000) == Encoding::identity);
}

// ----- gzip ----------------------------------------------------------------------------------

TEST_CASE("gzip output inflates back to exactly the input", "[server][compression]") {
  const std::size_t size = GENERATE(0u, 1u, 1000u, 65'536u, 65'537u, 300'000u);
  const std::string in = text_of(size);
  auto out = gzip(in);
  REQUIRE(out.has_value());
  INFO(size);
  CHECK(gunzip(*out) == in);
}

TEST_CASE("gzip output carries the gzip magic and shrinks text", "[server][compression]") {
  const std::string in = text_of(100'000);
  auto out = gzip(in);
  REQUIRE(out.has_value());
  REQUIRE(out->size() > 10);
  CHECK(static_cast<unsigned char>((*out)[0]) == 0x1f);
  CHECK(static_cast<unsigned char>((*out)[1]) == 0x8b);
  CHECK(out->size() < in.size() / 10);
}

TEST_CASE("The same input always compresses to the same bytes", "[server][compression]") {
  const std::string in = text_of(20'000);
  CHECK(gzip(in).value() == gzip(in).value());
}

TEST_CASE("Every level from 1 to 9 round-trips, and others are refused", "[server][compression]") {
  const std::string in = text_of(5'000);
  for (int level = 1; level <= 9; ++level) {
    INFO(level);
    CHECK(gunzip(gzip(in, level).value()) == in);
  }
  auto bad = gzip(in, GENERATE(0, 10, -1));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::bad_value);
}

TEST_CASE("Bytes that do not compress still round-trip, only larger", "[server][compression]") {
  std::string noise(10'000, '\0');
  std::uint32_t x = 2463534242u;  // xorshift32: fixed seed, same bytes every run
  for (auto& c : noise) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  auto out = gzip(noise);
  REQUIRE(out.has_value());
  CHECK(out->size() >= noise.size());
  CHECK(gunzip(*out) == noise);
}

// ----- the cache -----------------------------------------------------------------------------

TEST_CASE("A stored body is found again for the same path and stamp", "[server][compression][cache]") {
  GzipCache cache;
  const auto body = body_of(100);
  cache.put("web/index.html", {1, 500}, body);
  CHECK(cache.find("web/index.html", {1, 500}) == body);
  CHECK(cache.find("web/other.html", {1, 500}) == nullptr);
  CHECK(cache.entries() == 1);
}

TEST_CASE("An edited file is not served its old body: a new time or size misses", "[server][compression][cache]") {
  GzipCache cache;
  cache.put("web/app.js", {1, 500}, body_of(100));
  SECTION("a new modification time") { CHECK(cache.find("web/app.js", {2, 500}) == nullptr); }
  SECTION("a new size") { CHECK(cache.find("web/app.js", {1, 501}) == nullptr); }
  // The stale body is dropped on the miss: it can never be used again.
  CHECK(cache.entries() == 0);
  CHECK(cache.bytes() == 0);
}

TEST_CASE("Storing a new version of a file replaces the old one", "[server][compression][cache]") {
  GzipCache cache;
  cache.put("web/app.js", {1, 500}, body_of(100));
  const auto fresh = body_of(120);
  cache.put("web/app.js", {2, 520}, fresh);
  CHECK(cache.entries() == 1);
  CHECK(cache.find("web/app.js", {2, 520}) == fresh);
  CHECK(cache.find("web/app.js", {1, 500}) == nullptr);
}

TEST_CASE("Over its budget the cache drops the least recently used bodies first", "[server][compression][cache]") {
  GzipCache cache(3'000);
  cache.put("a", {1, 1}, body_of(800));
  cache.put("b", {1, 1}, body_of(800));
  cache.put("c", {1, 1}, body_of(800));
  REQUIRE(cache.entries() == 3);
  REQUIRE(cache.find("a", {1, 1}) != nullptr);  // a is now the most recent; b the least
  cache.put("d", {1, 1}, body_of(800));
  CHECK(cache.find("b", {1, 1}) == nullptr);
  CHECK(cache.find("a", {1, 1}) != nullptr);
  CHECK(cache.find("c", {1, 1}) != nullptr);
  CHECK(cache.find("d", {1, 1}) != nullptr);
  CHECK(cache.bytes() <= 3'000);
}

TEST_CASE("A body bigger than the whole budget is not kept and evicts nothing", "[server][compression][cache]") {
  GzipCache cache(2'000);
  cache.put("small", {1, 1}, body_of(100));
  cache.put("huge", {1, 1}, body_of(5'000));
  CHECK(cache.find("huge", {1, 1}) == nullptr);
  CHECK(cache.find("small", {1, 1}) != nullptr);
}

TEST_CASE("A body handed out outlives its eviction from the cache", "[server][compression][cache]") {
  GzipCache cache(1'500);
  cache.put("a", {1, 1}, body_of(1'000, 'a'));
  const auto held = cache.find("a", {1, 1});
  cache.put("b", {1, 1}, body_of(1'000, 'b'));
  REQUIRE(cache.find("a", {1, 1}) == nullptr);
  REQUIRE(held != nullptr);
  CHECK(*held == std::string(1'000, 'a'));
}
