// Which file a GET for the page means. The server serves the web app from DUET_WEB_DIR at
// "/" and the built duet-core module from DUET_MODULE_DIR at "/duet/", so the page, the wasm
// and the API share one origin. Paths that try to climb out of a folder are refused, not
// normalised: no request of ours has a reason to contain "..".
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "duet/error.hpp"

namespace duet::server {

struct Mount {
  std::string prefix;  // URL prefix ending in "/", e.g. "/duet/"
  std::string dir;     // folder on disk
};

// The file path for a URL path (query already removed), or bad_value for a path that is not
// allowed, or not_found when no mount covers it. A path ending in "/" means its index.html.
// It does not look at the disk.
Expected<std::string> resolve_static(const std::vector<Mount>& mounts, std::string_view url_path);

// Content-Type by extension; browsers compile wasm while it downloads only with application/wasm.
std::string_view mime_type(std::string_view path);

}  // namespace duet::server
