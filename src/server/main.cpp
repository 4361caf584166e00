// duet-server: configuration, the database, then the network until SIGTERM.
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "server/config.hpp"
#include "server/server.hpp"
#include "server/store.hpp"

namespace {

using namespace duet;
using namespace duet::server;

int fail(const std::string& why) {
  std::fprintf(stderr, "duet-server: %s\n", why.c_str());
  return 1;
}

std::string read_dotenv() {
  std::ifstream in(".env");
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every signaling socket is a file descriptor; the default soft limit (1024) would cap the
// server far below MAX_CONNECTIONS.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv, char** envp) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf("Usage: duet-server [--help]\n\n%s", help_text().c_str());
      return 0;
    }
    return fail(std::string("unknown argument ") + argv[i] + " (see --help)");
  }

  auto config = load_config(environment_from(envp), read_dotenv());
  if (!config) return fail(config.error().message);

  std::error_code ec;
  std::filesystem::create_directories(config->data_dir, ec);
  if (ec) return fail("cannot create DUET_DATA_DIR " + config->data_dir + ": " + ec.message());

  std::string secret = config->jwt_secret;
  if (secret.empty()) {
    auto kept = load_or_create_secret(jwt_secret_path(*config));
    if (!kept) return fail(kept.error().message);
    secret = *kept;
  }

  const std::string db_path = config->data_dir + "/duet.db";
  auto store = Store::open(db_path);
  if (!store) return fail("cannot open " + db_path + ": " + store.error().message);
  // Calls the last run left ringing or active (a deploy, a crash) are not over: the phones
  // keep their media peer to peer and sign in again within seconds. The hub holds them as if
  // both sides had just dropped, and ends those nobody comes back to.
  auto unfinished = (*store)->unfinished_calls();
  if (!unfinished) return fail("cannot read the calls left open: " + unfinished.error().message);

  raise_file_limit();
  Server server(*config, **store, secret);
  server.take_over(*unfinished);
  if (!unfinished->empty()) {
    std::fprintf(stderr, "duet-server: took over %zu calls left open by the last run\n", unfinished->size());
  }
  auto port = server.listen();
  if (!port) return fail(port.error().message);
  std::fprintf(stderr, "duet-server: listening on http://%s:%u (signaling at %s, data in %s)\n",
               config->host.c_str(), static_cast<unsigned>(*port), config->socket_path.c_str(),
               config->data_dir.c_str());
  server.run();
  std::fprintf(stderr, "duet-server: stopped\n");
  return 0;
}
