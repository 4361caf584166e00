// Entity tags for static files, and when a request's If-None-Match means "you have it already".
#include <catch2/catch.hpp>

#include <string>

#include "server/entity_tag.hpp"

using namespace duet::server;

namespace {

const FileStamp kStamp{1'763'780'136'123'456'789, 227'691};

}  // namespace

TEST_CASE("A file's tag is quoted and names its time and size", "[server][entity_tag]") {
  const std::string tag = entity_tag(kStamp, Encoding::identity);
  CHECK(tag == "\"187a34b05b875d15-3796b\"");
  CHECK(entity_tag(kStamp, Encoding::identity) == tag);
}

TEST_CASE("The gzip body and the file as it is have different tags", "[server][entity_tag]") {
  CHECK(entity_tag(kStamp, Encoding::gzip) == "\"187a34b05b875d15-3796b-gz\"");
  CHECK(entity_tag(kStamp, Encoding::gzip) != entity_tag(kStamp, Encoding::identity));
}

TEST_CASE("An edited file gets a new tag: another time or another size", "[server][entity_tag]") {
  const std::string tag = entity_tag(kStamp, Encoding::identity);
  CHECK(entity_tag({kStamp.mtime_ns + 1, kStamp.size}, Encoding::identity) != tag);
  CHECK(entity_tag({kStamp.mtime_ns, kStamp.size + 1}, Encoding::identity) != tag);
}

TEST_CASE("If-None-Match with the tag a browser was given hits", "[server][entity_tag]") {
  const std::string tag = entity_tag(kStamp, Encoding::gzip);
  CHECK(none_match_hits(tag, tag));
  CHECK(none_match_hits("  " + tag + "  ", tag));
}

TEST_CASE("If-None-Match compares weakly: a W/ prefix still hits", "[server][entity_tag]") {
  const std::string tag = entity_tag(kStamp, Encoding::identity);
  CHECK(none_match_hits("W/" + tag, tag));
}

TEST_CASE("A star hits any tag", "[server][entity_tag]") {
  CHECK(none_match_hits("*", entity_tag(kStamp, Encoding::identity)));
  CHECK(none_match_hits(" * ", entity_tag(kStamp, Encoding::gzip)));
}

TEST_CASE("A list hits when any of its tags is ours", "[server][entity_tag]") {
  const std::string tag = entity_tag(kStamp, Encoding::identity);
  CHECK(none_match_hits("\"a\", W/\"b\", " + tag, tag));
  CHECK(none_match_hits(tag + ",\"zzz\"", tag));
  CHECK_FALSE(none_match_hits("\"a\", W/\"b\"", tag));
}

TEST_CASE("Another representation's tag or an old version's tag misses", "[server][entity_tag]") {
  CHECK_FALSE(none_match_hits(entity_tag(kStamp, Encoding::gzip), entity_tag(kStamp, Encoding::identity)));
  CHECK_FALSE(none_match_hits(entity_tag(kStamp, Encoding::identity), entity_tag(kStamp, Encoding::gzip)));
  CHECK_FALSE(none_match_hits(entity_tag({1, 2}, Encoding::identity), entity_tag(kStamp, Encoding::identity)));
}

TEST_CASE("A comma inside a tag does not split it", "[server][entity_tag]") {
  CHECK(none_match_hits("\"a,b\"", "\"a,b\""));
  CHECK_FALSE(none_match_hits("\"a,b\"", "\"b\""));
  CHECK_FALSE(none_match_hits("\"a,b\"", "\"a\""));
}

TEST_CASE("An absent, empty or malformed If-None-Match hits nothing", "[server][entity_tag]") {
  const std::string tag = entity_tag(kStamp, Encoding::identity);
  const std::string bare = tag.substr(1, tag.size() - 2);
  CHECK_FALSE(none_match_hits("", tag));
  CHECK_FALSE(none_match_hits("  ,  ", tag));
  CHECK_FALSE(none_match_hits(bare, tag));                // unquoted
  CHECK_FALSE(none_match_hits("\"" + bare, tag));         // unterminated
  CHECK_FALSE(none_match_hits("w/" + tag, tag));          // the prefix is case-sensitive
  CHECK_FALSE(none_match_hits("\"" + bare + " \"", tag)); // a space is not a tag character
  CHECK(none_match_hits("garbage, " + tag, tag));         // a bad element does not hide a good one
}
