// Which file a page request means, and which it must never mean.
#include <catch2/catch.hpp>

#include "server/static_files.hpp"

using namespace duet;
using namespace duet::server;

namespace {
const std::vector<Mount> kMounts = {{"/", "web"}, {"/duet/", "build/wasm/module"}};
}

TEST_CASE("The page and its files are served from the web folder, and / means index.html", "[static]") {
  CHECK(resolve_static(kMounts, "/").value() == "web/index.html");
  CHECK(resolve_static(kMounts, "/app/main.mjs").value() == "web/app/main.mjs");
  CHECK(resolve_static(kMounts, "/locales/").value() == "web/locales/index.html");
}

TEST_CASE("The wasm module is served from its own folder under /duet/", "[static]") {
  CHECK(resolve_static(kMounts, "/duet/duet-core.wasm").value() == "build/wasm/module/duet-core.wasm");
}

TEST_CASE("Percent-escapes are decoded before the path is judged", "[static]") {
  CHECK(resolve_static(kMounts, "/a%20b.txt").value() == "web/a b.txt");
  auto climb = resolve_static(kMounts, "/%2e%2e/etc/passwd");
  REQUIRE_FALSE(climb.has_value());
  CHECK(climb.error().code == ErrorCode::bad_value);
}

TEST_CASE("Paths that climb, hide or smuggle are refused, not normalised", "[static][hostile]") {
  auto path = GENERATE(as<std::string>{}, "/../etc/passwd", "/app/../../x", "/./index.html", "//etc/passwd",
                       "/a\\..\\b", "/a%00b", "/a%zz", "/a%2", "relative", "", "/duet/../../secret");
  auto r = resolve_static(kMounts, path);
  INFO(path);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::bad_value);
}

TEST_CASE("Hidden files and folders are not served, as if they were not there", "[static][hostile]") {
  auto path = GENERATE(as<std::string>{}, "/.env", "/.git/config", "/app/.main.mjs.swp", "/duet/.hidden/x.wasm",
                       "/%2egit/HEAD");
  auto r = resolve_static(kMounts, path);
  INFO(path);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::not_found);
}

TEST_CASE("A dot inside a name is an ordinary file", "[static]") {
  CHECK(resolve_static(kMounts, "/sdk/duet-client.d.ts").value() == "web/sdk/duet-client.d.ts");
  CHECK(resolve_static(kMounts, "/a..b.txt").value() == "web/a..b.txt");
}

TEST_CASE("Nothing is served outside the mounts", "[static]") {
  const std::vector<Mount> only_module = {{"/duet/", "m"}};
  auto r = resolve_static(only_module, "/index.html");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::not_found);
}

TEST_CASE("Content types let the browser stream-compile wasm and load ES modules", "[static]") {
  CHECK(mime_type("x/duet-core.wasm") == "application/wasm");
  CHECK(mime_type("x/app.mjs") == "text/javascript; charset=utf-8");
  CHECK(mime_type("index.html") == "text/html; charset=utf-8");
  CHECK(mime_type("noext") == "application/octet-stream");
}
