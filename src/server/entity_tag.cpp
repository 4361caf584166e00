#include "server/entity_tag.hpp"

#include <cstdio>

namespace duet::server {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

// etagc (RFC 9110 §8.8.3): %x21 / %x23-7E / obs-text; so no '"', no space, no control.
bool is_etagc(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7F);
}

}  // namespace

std::string entity_tag(FileStamp stamp, Encoding encoding) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%llx-%llx%s\"", static_cast<unsigned long long>(stamp.mtime_ns),
                static_cast<unsigned long long>(stamp.size), encoding == Encoding::gzip ? "-gz" : "");
  return buf;
}

bool none_match_hits(std::string_view if_none_match, std::string_view tag) {
  // A comma may sit inside a tag, so the list is scanned tag by tag rather than split.
  const std::string_view text = if_none_match;
  std::size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i]) || text[i] == ',') {
      ++i;
      continue;
    }
    if (text[i] == '*') return true;
    const std::size_t start = i;
    if (text.compare(i, 2, "W/") == 0) i += 2;
    const std::size_t open = i;
    bool well_formed = i < text.size() && text[i] == '"';
    if (well_formed) {
      ++i;
      while (i < text.size() && is_etagc(text[i])) ++i;
      well_formed = i < text.size() && text[i] == '"';
    }
    if (!well_formed) {
      // Not a tag: skip to the next comma and go on with what follows.
      const std::size_t comma = text.find(',', start);
      if (comma == std::string_view::npos) return false;
      i = comma + 1;
      continue;
    }
    ++i;  // the closing quote
    if (text.substr(open, i - open) == tag) return true;
  }
  return false;
}

}  // namespace duet::server
