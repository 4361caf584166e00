// Revalidating static files (RFC 9110 §8.8.3 and §13.1.2). The page's files go out with
// "Cache-Control: no-cache", so a browser asks again on every load; with an entity tag it asks
// "If-None-Match" and gets an empty 304 instead of ~150 KB when nothing changed. A tag names
// one representation: the gzip body and the file as it is differ in bytes, so they differ in
// tag. No I/O here: server.cpp stats the file and sends the answer.
#pragma once

#include <string>
#include <string_view>

#include "server/compression.hpp"

namespace duet::server {

// The strong entity tag, quotes included, of `stamp`'s file sent with `encoding`:
// "<mtime ns, hex>-<size, hex>", with "-gz" for the gzip body. The same file at the same stamp
// always gets the same tag, across restarts too.
std::string entity_tag(FileStamp stamp, Encoding encoding);

// Whether an If-None-Match header (every occurrence joined with ", ") names `tag`, so the
// answer is 304: "*" names any, and tags compare weakly (a W/ prefix does not matter).
// Malformed elements are skipped, and an absent or empty header names nothing.
bool none_match_hits(std::string_view if_none_match, std::string_view tag);

}  // namespace duet::server
