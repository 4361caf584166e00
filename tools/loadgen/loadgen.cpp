// duet_loadgen: the load generator behind `tools/bench signaling` (docs/benchmarks.md).
//
//   duet_loadgen seed  --db PATH --users N
//       Creates users u_bench_000000.. in a duet-server database, paired (0,1), (2,3), ... as
//       accepted contacts, through the server's own Store, so the schema is always the
//       server's. Registering over REST would cost an Argon2id hash (~50-100 ms) per user.
//   duet_loadgen run   --dialect duet|sio --port P --conns N --secret S [options]
//       Opens N WebSocket connections in pairs to a Duet server (its protocol, docs/protocol.md)
//       or to the Socket.IO relay (Engine.IO v4 over a raw WebSocket, tools/benchmarks/
//       socketio-relay.mjs), authenticates each with an HS256 token it signs itself, then
//       runs the phases asked for and prints one JSON object of what it measured on stdout.
//       Progress goes to stderr.
//
// Phases of `run`, in order, each skipped unless asked for:
//   connect   every connection opened (paced per source address, so the server's per-address
//             limiter is not tripped) and authenticated; then the server's RSS is sampled
//             (--server-pid) to give the memory per idle authenticated connection.
//   hold      --hold-file F: print "READY <n>" on stderr and wait until F exists (another
//             process samples the server meanwhile), then count the connections still open.
//   calls     each pair makes a call (call:initiate, callee call:accept): Duet relays
//             candidates only inside a call. The relay gets the same messages.
//   closed    --closed S: closed loop. Each pair keeps --window messages in flight: whoever
//             receives a candidate answers with one. Messages/s, one-way latency, CPU.
//   paced     --paced S --rate R: R candidates per second in all, spread evenly over the
//             connections. One-way latency, CPU.
// Latency is one-way, send to receive, on this process's steady clock: the send time travels
// inside the candidate line (its foundation field), which every server relays untouched.
//
// Options of `run` (defaults in parentheses):
//   connecting   --path (/api/socket, or the Engine.IO path for sio) --first-user K (0; even)
//                --src-base A (127.0.1.1) --src-count N (32) --per-src-rate R (180/s)
//                --per-src-burst B (300) --max-pending N (256 handshakes at once)
//                --connect-timeout S (15) --connect-phase S (120) --retries N (2)
//                --stall S (0: off; stop opening connections when none succeeded for S s)
//   measuring    --server-pid PID (RSS and CPU from /proc) --gc-signal 1 (SIGUSR2 before each
//                RSS sample) --settle S (3) --warmup S (2) --window W (1) --rate R (5000)
//                --noisy-cpu C (0.25) --noisy-retries N (2): a window in which other processes
//                used more than C cores is measured again, at most N times
//   sending      --cap-rate R (0: none; messages/s per connection) --cap-burst B (20)
//   holding      --hold-file F --hold-timeout S (120)
//   debugging    --busy-poll 1 (spin instead of sleeping) --dump PATH (every latency of the
//                last window) --tag T (copied into the JSON)
//
// One thread, one io_context: pin it to a core of its own (taskset) so it does not compete
// with the server it measures.
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "server/store.hpp"
#include "server/tokens.hpp"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point kEpoch = Clock::now();

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - kEpoch).count();
}
double now_s() { return static_cast<double>(now_ns()) / 1e9; }

void say(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void say(const char* fmt, ...) {
  std::fprintf(stderr, "[loadgen %7.2fs] ", now_s());
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "duet_loadgen: %s\n", why.c_str());
  std::exit(2);
}

// ----- options -----------------------------------------------------------------------------

struct Args {
  std::map<std::string, std::string> values;
  std::string get(const std::string& key, const std::string& fallback = "") const {
    auto it = values.find(key);
    return it == values.end() ? fallback : it->second;
  }
  double num(const std::string& key, double fallback) const {
    auto it = values.find(key);
    if (it == values.end()) return fallback;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (end == it->second.c_str() || *end != '\0') die("--" + key + " wants a number, got " + it->second);
    return v;
  }
  bool has(const std::string& key) const { return values.count(key) != 0; }
};

Args parse_args(int argc, char** argv, int first) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0) die("unexpected argument " + key);
    key = key.substr(2);
    if (i + 1 >= argc) die("--" + key + " wants a value");
    a.values[key] = argv[++i];
  }
  return a;
}

std::string user_id(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "u_bench_%06d", n);
  return buf;
}

// ----- seed --------------------------------------------------------------------------------

int seed(const Args& args) {
  using namespace duet::server;
  const std::string db = args.get("db");
  const int users = static_cast<int>(args.num("users", 0));
  if (db.empty() || users < 2 || users % 2 != 0) die("seed wants --db PATH --users N (N even, >= 2)");
  auto store = Store::open(db);
  if (!store) die("cannot open " + db + ": " + store.error().message);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  // Nobody signs in with a password here; the tokens are signed directly.
  const std::string hash = "$argon2id$v=19$m=65536,t=2,p=1$YmVuY2g$bm90LWEtcmVhbC1oYXNo";
  for (int i = 0; i < users; ++i) {
    char name[32], display[32];
    std::snprintf(name, sizeof name, "bench_%06d", i);
    std::snprintf(display, sizeof display, "Bench %06d", i);
    auto made = (*store)->create_user(user_id(i), name, display, hash, now);
    if (!made) die("create_user " + user_id(i) + ": " + made.error().message);
    if (i % 2 == 1) {
      auto asked = (*store)->request_contact(user_id(i - 1), user_id(i), now);
      if (!asked) die("request_contact: " + asked.error().message);
      auto accepted = (*store)->accept_contact(user_id(i), user_id(i - 1), now);
      if (!accepted) die("accept_contact: " + accepted.error().message);
    }
    if ((i + 1) % 10000 == 0) say("seeded %d users", i + 1);
  }
  say("seeded %d users in %d accepted pairs into %s", users, users / 2, db.c_str());
  return 0;
}

// ----- /proc -------------------------------------------------------------------------------

// utime + stime of a process, in seconds (all its threads).
std::optional<double> proc_cpu_s(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return std::nullopt;
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  // After the command: state is field 3; utime and stime are fields 14 and 15.
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::strtod(field.c_str(), nullptr);
    if (f == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<long> proc_rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return std::nullopt;
}

// CPU seconds the whole machine spent busy (all cores), from /proc/stat.
double machine_busy_s() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return (user + nice + system + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// ----- latency -----------------------------------------------------------------------------

struct Samples {
  std::vector<std::int64_t> ns;
  std::vector<std::int64_t> at;  // receive times, kept only with --dump
  double pct(double p) {
    if (ns.empty()) return -1;
    const auto k = static_cast<std::size_t>(std::min<double>(ns.size() - 1, std::floor(p / 100.0 * ns.size())));
    std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(k), ns.end());
    return static_cast<double>(ns[k]) / 1e6;
  }
  double max_ms() const {
    return ns.empty() ? -1 : static_cast<double>(*std::max_element(ns.begin(), ns.end())) / 1e6;
  }
};

// ----- the run -----------------------------------------------------------------------------

enum class Dialect { duet, sio };

struct Window {  // one measured phase
  bool open = false;
  std::int64_t start_ns = 0, end_ns = 0;
  std::uint64_t received = 0, sent = 0;
  Samples latency;
  std::optional<double> server_cpu0, server_cpu1;
  double self_cpu0 = 0, self_cpu1 = 0;
  double machine0 = 0, machine1 = 0;
  int attempts = 1;
};

class Runner;

struct Conn {
  int idx = 0;          // in this run
  int user = 0;         // user number
  int partner = 0;      // idx of the partner connection
  bool caller = false;  // the even one of the pair starts the call
  std::unique_ptr<websocket::stream<tcp::socket>> ws;
  unsigned gen = 0;     // attempt number: handlers of an earlier attempt see a newer gen and stop
  beast::flat_buffer rbuf;
  std::deque<std::string> outq;
  bool writing = false;
  enum class St { waiting, connecting, authing, ready, failed, closed } st = St::waiting;
  int attempts = 0;
  std::int64_t started_ns = 0;
  bool in_call = false;
  bool call_sent = false;
  double tokens = 0;             // client-side cap on messages per second (--cap-rate)
  std::int64_t refilled_ns = 0;
  int deferred = 0;              // candidates waiting for tokens
  std::string msg_head, msg_tail;  // a candidate is head + 16-digit timestamp + tail
};

class Runner {
 public:
  explicit Runner(const Args& a) : args_(a) {
    dialect_ = a.get("dialect", "duet") == "sio" ? Dialect::sio : Dialect::duet;
    port_ = static_cast<unsigned short>(a.num("port", 0));
    n_ = static_cast<int>(a.num("conns", 0));
    first_user_ = static_cast<int>(a.num("first-user", 0));
    secret_ = a.get("secret");
    path_ = a.get("path", dialect_ == Dialect::duet ? "/api/socket" : "/socket.io/?EIO=4&transport=websocket");
    src_base_ = a.get("src-base", "127.0.1.1");
    src_count_ = static_cast<int>(a.num("src-count", 32));
    per_src_rate_ = a.num("per-src-rate", 180);     // duet-server: 500 burst, 200/s per address
    per_src_burst_ = a.num("per-src-burst", 300);
    max_pending_ = static_cast<int>(a.num("max-pending", 256));
    connect_timeout_s_ = a.num("connect-timeout", 15);
    connect_phase_s_ = a.num("connect-phase", 120);
    retries_ = static_cast<int>(a.num("retries", 2));
    server_pid_ = static_cast<int>(a.num("server-pid", 0));
    gc_signal_ = a.get("gc-signal") == "1";
    settle_s_ = a.num("settle", 3);
    hold_file_ = a.get("hold-file");
    hold_timeout_s_ = a.num("hold-timeout", 120);
    closed_s_ = a.num("closed", 0);
    paced_s_ = a.num("paced", 0);
    rate_ = a.num("rate", 5000);
    window_ = static_cast<int>(a.num("window", 1));
    warmup_s_ = a.num("warmup", 2);
    cap_rate_ = a.num("cap-rate", 0);  // 0: no cap
    cap_burst_ = a.num("cap-burst", 20);
    tag_ = a.get("tag", "");
    busy_poll_ = a.get("busy-poll") == "1";
    dump_ = a.get("dump");
    stall_s_ = a.num("stall", 0);
    noisy_cpu_ = a.num("noisy-cpu", 0.25);
    noisy_retries_ = static_cast<int>(a.num("noisy-retries", 2));
    if (port_ == 0 || n_ < 2 || n_ % 2 != 0 || secret_.size() < 32) {
      die("run wants --port P --conns N (even) --secret S (32+ bytes)");
    }
    std::random_device rd;
    nonce_ = std::to_string(rd() % 1000000000u);
  }

  int run();

 private:
  // --- connect
  void pump_connects();
  void start(Conn& c);
  void on_connected(Conn& c, beast::error_code ec);
  void on_handshake(Conn& c, beast::error_code ec);
  void on_ready(Conn& c);
  void failed(Conn& c, const char* stage, const std::string& why);
  void do_read(Conn& c);
  void on_message(Conn& c, std::string_view text);
  void on_event(Conn& c, std::string_view type, std::string_view text);
  // --- send
  void send(Conn& c, std::string text);
  void do_write(Conn& c);
  bool take_token(Conn& c);
  void send_candidate(Conn& c);
  std::string call_message(const Conn& c, std::string_view type, bool with_to) const;
  // --- phases
  void tick();
  void wait_until(const std::function<bool()>& done, double timeout_s, const char* what);
  void sleep_s(double s);
  void step() {
    if (busy_poll_) io_.poll(); else io_.run_for(std::chrono::milliseconds(20));
  }
  std::optional<long> sample_rss(const char* what);
  void open_window(Window& w);
  void close_window(Window& w);
  std::string window_json(Window& w, double secs);
  static double other_cpu(const Window& w);
  void measure(Window& w, double secs, const char* what);
  std::string token_for(int user) const;

  const Args& args_;
  Dialect dialect_;
  unsigned short port_;
  int n_, first_user_;
  std::string secret_, path_, src_base_;
  int src_count_;
  double per_src_rate_, per_src_burst_;
  int max_pending_;
  double connect_timeout_s_, connect_phase_s_;
  int retries_;
  int server_pid_;
  bool gc_signal_;
  double settle_s_;
  std::string hold_file_;
  double hold_timeout_s_;
  double closed_s_, paced_s_, rate_;
  int window_;
  double warmup_s_, cap_rate_, cap_burst_;
  std::string tag_, nonce_;
  bool busy_poll_ = false;  // spin instead of sleeping in epoll: no wake-up latency on our side
  std::string dump_;        // --dump PATH: "receive_ms latency_ms" per message of the last window
  double stall_s_ = 0;      // --stall S: stop opening connections when none succeeded for S seconds
  bool stop_connecting_ = false;
  std::int64_t last_ready_ns_ = 0;
  int not_attempted_ = 0;
  double noisy_cpu_ = 0.25;  // a window during which other processes used more cores than this ...
  int noisy_retries_ = 2;    // ... is measured again, this many times at most

  net::io_context io_{1};
  net::executor_work_guard<net::io_context::executor_type> work_{io_.get_executor()};  // run_for never runs dry
  net::steady_timer ticker_{io_};
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<tcp::endpoint> sources_;
  std::vector<double> src_tokens_;
  std::int64_t src_refilled_ns_ = 0;
  std::size_t next_to_start_ = 0;
  std::size_t next_src_ = 0;
  std::deque<int> retry_queue_;
  int pending_ = 0, ready_ = 0, failed_ = 0, closed_ = 0;
  std::map<std::string, int> failures_;
  std::map<std::string, int> errors_;  // error messages from the server, by code
  int calls_ok_ = 0;
  enum class Mode { idle, closed, paced } mode_ = Mode::idle;
  Window* win_ = nullptr;
  std::uint64_t candidates_rx_ = 0, cap_deferred_ = 0, unexpected_ = 0;
  std::vector<int> deferred_;  // conns with candidates waiting for tokens
  // paced sending
  std::int64_t pace_next_ns_ = 0, pace_step_ns_ = 0;
  std::size_t pace_rr_ = 0;
  std::vector<int> in_call_;
  std::vector<std::unique_ptr<websocket::stream<tcp::socket>>> graveyard_;
  std::int64_t last_scan_ns_ = 0;
};

std::string Runner::token_for(int user) const {
  duet::server::Claims claims;
  claims.sub = user_id(user);
  char display[32];
  std::snprintf(display, sizeof display, "Bench %06d", user);
  claims.name = display;
  const auto t = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  claims.iat = t - 10;
  claims.exp = t + 24 * 3600;
  return duet::server::sign_token(claims, secret_);
}

// A realistic server-reflexive candidate, ~300 bytes on the wire with the envelope.
// The foundation (the number after "candidate:") carries the send time.
constexpr std::string_view kCandidateTail =
    " 1 udp 1686052607 203.0.113.45 61234 typ srflx raddr 192.168.1.20 rport 61234 generation 0 "
    "ufrag Xy7q network-id 1 network-cost 10";

std::string Runner::call_message(const Conn& c, std::string_view type, bool with_to) const {
  const Conn& p = *conns_[static_cast<std::size_t>(c.partner)];
  const int pair = std::min(c.user, p.user) / 2;
  const std::string call_id = "c_" + nonce_ + "_" + std::to_string(pair);
  std::string fields = "\"callId\":\"" + call_id + "\"";
  if (with_to) fields += ",\"to\":\"" + user_id(p.user) + "\"";
  if (type == "call:initiate") fields += ",\"callType\":\"audio\"";
  if (dialect_ == Dialect::duet) {
    return "{\"v\":1,\"type\":\"" + std::string(type) + "\"," + fields + "}";
  }
  return "42[\"" + std::string(type) + "\",{" + fields + "}]";
}

// ----- connecting --------------------------------------------------------------------------

void Runner::pump_connects() {
  const std::int64_t now = now_ns();
  const double dt = static_cast<double>(now - src_refilled_ns_) / 1e9;
  src_refilled_ns_ = now;
  for (auto& t : src_tokens_) t = std::min(per_src_burst_, t + dt * per_src_rate_);
  auto take_source = [&]() -> int {
    for (std::size_t k = 0; k < sources_.size(); ++k) {
      const std::size_t s = (next_src_ + k) % sources_.size();
      if (src_tokens_[s] >= 1) {
        src_tokens_[s] -= 1;
        next_src_ = s + 1;
        return static_cast<int>(s);
      }
    }
    return -1;
  };
  while (pending_ < max_pending_) {
    Conn* c = nullptr;
    if (!retry_queue_.empty()) {
      c = conns_[static_cast<std::size_t>(retry_queue_.front())].get();
    } else if (next_to_start_ < conns_.size()) {
      c = conns_[next_to_start_].get();
    } else {
      break;
    }
    const int s = take_source();
    if (s < 0) break;
    if (!retry_queue_.empty()) retry_queue_.pop_front(); else ++next_to_start_;
    if (c->ws) graveyard_.push_back(std::move(c->ws));  // its handlers may still be queued
    c->ws = std::make_unique<websocket::stream<tcp::socket>>(io_);
    ++c->gen;
    auto& sock = c->ws->next_layer();
    beast::error_code ec;
    sock.open(tcp::v4(), ec);
    if (!ec) {
      const int one = 1;
      ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sock.set_option(tcp::no_delay(true), ec);
      sock.bind(sources_[static_cast<std::size_t>(s)], ec);
    }
    ++pending_;
    c->st = Conn::St::connecting;
    c->started_ns = now;
    ++c->attempts;
    if (ec) {
      failed(*c, "socket", ec.message());
      continue;
    }
    start(*c);
  }
}

void Runner::start(Conn& c) {
  c.ws->next_layer().async_connect(tcp::endpoint(net::ip::make_address_v4("127.0.0.1"), port_),
                                   [this, &c, gen = c.gen](beast::error_code ec) {
                                     if (gen == c.gen) on_connected(c, ec);
                                   });
}

void Runner::on_connected(Conn& c, beast::error_code ec) {
  if (c.st != Conn::St::connecting) return;
  if (ec) return failed(c, "connect", ec.message());
  auto& ws = *c.ws;
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws.secure_prng(false);
  ws.auto_fragment(false);
  ws.write_buffer_bytes(1024);
  ws.async_handshake("127.0.0.1:" + std::to_string(port_), path_,
                     [this, &c, gen = c.gen](beast::error_code e) {
                       if (gen == c.gen) on_handshake(c, e);
                     });
}

void Runner::on_handshake(Conn& c, beast::error_code ec) {
  if (c.st != Conn::St::connecting) return;
  if (ec) return failed(c, "handshake", ec.message());
  c.st = Conn::St::authing;
  if (dialect_ == Dialect::duet) {
    send(c, "{\"v\":1,\"type\":\"auth\",\"token\":\"" + token_for(c.user) + "\"}");
  }
  // Socket.IO: the server speaks first (the Engine.IO open packet); see on_message.
  do_read(c);
}

void Runner::failed(Conn& c, const char* stage, const std::string& why) {
  const bool was_pending = c.st == Conn::St::connecting || c.st == Conn::St::authing;
  const bool was_ready = c.st == Conn::St::ready;
  if (c.st == Conn::St::failed || c.st == Conn::St::closed || c.st == Conn::St::waiting) return;
  ++c.gen;  // whatever this attempt still has queued is ignored
  if (c.ws) {
    beast::error_code ignored;
    c.ws->next_layer().close(ignored);
  }
  c.outq.clear();
  c.writing = false;
  if (was_pending) --pending_;
  if (was_ready) {
    --ready_;
    ++closed_;
    c.st = Conn::St::closed;
    failures_[std::string("closed after auth: ") + stage + ": " + why]++;
    return;
  }
  failures_[std::string(stage) + ": " + why]++;
  if (c.attempts <= retries_ && now_s() < connect_phase_s_ * 0.8) {
    c.st = Conn::St::waiting;
    retry_queue_.push_back(c.idx);
    return;
  }
  c.st = Conn::St::failed;
  ++failed_;
}

void Runner::on_ready(Conn& c) {
  c.st = Conn::St::ready;
  --pending_;
  ++ready_;
  last_ready_ns_ = now_ns();
  c.tokens = cap_burst_;
  c.refilled_ns = now_ns();
  c.rbuf.shrink_to_fit();
}

void Runner::do_read(Conn& c) {
  c.ws->async_read(c.rbuf, [this, &c, gen = c.gen](beast::error_code ec, std::size_t) {
    if (gen != c.gen) return;
    if (ec) return failed(c, c.st == Conn::St::ready ? "read" : "auth", ec.message());
    const auto data = c.rbuf.cdata();
    on_message(c, std::string_view(static_cast<const char*>(data.data()), data.size()));
    c.rbuf.consume(c.rbuf.size());
    if (gen != c.gen || c.st == Conn::St::failed || c.st == Conn::St::closed || c.st == Conn::St::waiting) return;
    do_read(c);
  });
}

std::string_view type_of(std::string_view text) {
  const auto at = text.find("\"type\":\"");
  if (at == std::string_view::npos) return {};
  const auto begin = at + 8;
  const auto end = text.find('"', begin);
  return end == std::string_view::npos ? std::string_view() : text.substr(begin, end - begin);
}

void Runner::on_message(Conn& c, std::string_view text) {
  if (dialect_ == Dialect::duet) return on_event(c, type_of(text), text);
  // Engine.IO v4 packet types: 0 open, 1 close, 2 ping, 3 pong, 4 message.
  // Socket.IO packet types inside 4: 0 CONNECT, 1 DISCONNECT, 2 EVENT, 4 CONNECT_ERROR.
  if (text.empty()) return;
  switch (text[0]) {
    case '0':
      if (c.st == Conn::St::authing) send(c, "40{\"token\":\"" + token_for(c.user) + "\"}");
      return;
    case '2':
      send(c, "3");
      return;
    case '1':
      return failed(c, "engine.io", "server closed the session");
    case '4':
      break;
    default:
      ++unexpected_;
      return;
  }
  if (text.size() < 2) return;
  if (text[1] == '0') return on_event(c, "auth:ok", text);
  if (text[1] == '4') return on_event(c, "error", text);
  if (text[1] == '1') return failed(c, "socket.io", "disconnected by the server");
  if (text[1] != '2' || text.substr(0, 4) != "42[\"") return;
  const auto end = text.find('"', 4);
  if (end == std::string_view::npos) return;
  on_event(c, text.substr(4, end - 4), text);
}

void Runner::on_event(Conn& c, std::string_view type, std::string_view text) {
  if (type == "call:ice-candidate") {
    const auto at = text.find("candidate:");
    std::int64_t sent = -1;
    if (at != std::string_view::npos && at + 10 + 16 <= text.size()) {
      sent = 0;
      for (std::size_t i = at + 10; i < at + 26; ++i) sent = sent * 10 + (text[i] - '0');
    }
    const std::int64_t now = now_ns();
    ++candidates_rx_;
    if (win_ != nullptr && win_->open && sent >= win_->start_ns && now <= win_->end_ns) {
      ++win_->received;
      win_->latency.ns.push_back(now - sent);
      if (!dump_.empty()) win_->latency.at.push_back(now);
    }
    if (mode_ == Mode::closed) send_candidate(c);  // the ping-pong: answer with one
    return;
  }
  if (type == "auth:ok") {
    if (c.st == Conn::St::authing) on_ready(c);
    return;
  }
  if (type == "call:initiate") {
    if (!c.caller) send(c, call_message(c, "call:accept", dialect_ == Dialect::sio));
    c.in_call = true;
    return;
  }
  if (type == "call:accept") {
    if (c.caller && !c.in_call) {
      c.in_call = true;
      ++calls_ok_;
    }
    return;
  }
  if (type == "presence" || type == "call:ringing") return;
  if (type == "error") {
    std::string code(text.substr(0, 200));
    if (dialect_ == Dialect::duet) {
      const auto at = text.find("\"code\":\"");
      if (at != std::string_view::npos) code = std::string(text.substr(at + 8, text.find('"', at + 8) - at - 8));
    }
    if (errors_[code]++ < 3) say("server error on conn %d: %.*s", c.idx, static_cast<int>(std::min<std::size_t>(text.size(), 300)), text.data());
    if (c.st == Conn::St::authing) failed(c, "auth", code);
    return;
  }
  ++unexpected_;
}

// ----- sending -----------------------------------------------------------------------------

void Runner::send(Conn& c, std::string text) {
  if (c.st != Conn::St::ready && c.st != Conn::St::authing) return;
  c.outq.push_back(std::move(text));
  if (!c.writing) do_write(c);
}

void Runner::do_write(Conn& c) {
  c.writing = true;
  c.ws->text(true);
  c.ws->async_write(net::buffer(c.outq.front()), [this, &c, gen = c.gen](beast::error_code ec, std::size_t) {
    if (gen != c.gen) return;
    c.writing = false;
    if (ec) return failed(c, "write", ec.message());
    if (c.outq.empty()) return;
    c.outq.pop_front();
    if (!c.outq.empty()) do_write(c);
  });
}

bool Runner::take_token(Conn& c) {
  if (cap_rate_ <= 0) return true;
  const std::int64_t now = now_ns();
  c.tokens = std::min(cap_burst_, c.tokens + static_cast<double>(now - c.refilled_ns) / 1e9 * cap_rate_);
  c.refilled_ns = now;
  if (c.tokens < 1) return false;
  c.tokens -= 1;
  return true;
}

void Runner::send_candidate(Conn& c) {
  if (c.st != Conn::St::ready) return;
  if (!take_token(c)) {
    if (c.deferred++ == 0) deferred_.push_back(c.idx);
    ++cap_deferred_;
    return;
  }
  if (c.msg_head.empty()) {
    const Conn& p = *conns_[static_cast<std::size_t>(c.partner)];
    const int pair = std::min(c.user, p.user) / 2;
    const std::string fields = "\"callId\":\"c_" + nonce_ + "_" + std::to_string(pair) + "\",\"to\":\"" +
                               user_id(p.user) + "\",\"candidate\":{\"candidate\":\"candidate:";
    c.msg_head = dialect_ == Dialect::duet ? "{\"v\":1,\"type\":\"call:ice-candidate\"," + fields
                                           : "42[\"call:ice-candidate\",{" + fields;
    c.msg_tail = std::string(kCandidateTail) + "\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0,\"usernameFragment\":\"Xy7q\"}}";
    if (dialect_ == Dialect::sio) c.msg_tail += "]";
  }
  char ts[24];
  std::snprintf(ts, sizeof ts, "%016" PRId64, now_ns());
  std::string text;
  text.reserve(c.msg_head.size() + 16 + c.msg_tail.size());
  text += c.msg_head;
  text += ts;
  text += c.msg_tail;
  if (win_ != nullptr && win_->open) ++win_->sent;
  send(c, std::move(text));
}

// ----- phases ------------------------------------------------------------------------------

void Runner::tick() {
  ticker_.expires_after(std::chrono::milliseconds(1));
  ticker_.async_wait([this](beast::error_code ec) {
    if (ec) return;
    if (!stop_connecting_ && (next_to_start_ < conns_.size() || !retry_queue_.empty())) pump_connects();
    const std::int64_t now = now_ns();
    if (pending_ > 0 && now - last_scan_ns_ > 100'000'000) {  // set-up timeouts, 10 times a second
      last_scan_ns_ = now;
      for (auto& c : conns_) {
        if ((c->st == Conn::St::connecting || c->st == Conn::St::authing) &&
            now - c->started_ns > static_cast<std::int64_t>(connect_timeout_s_ * 1e9)) {
          failed(*c, c->st == Conn::St::connecting ? "connect/handshake" : "auth", "timed out");
        }
      }
    }
    if (!deferred_.empty()) {
      std::vector<int> again;
      again.swap(deferred_);
      for (int i : again) {
        Conn& c = *conns_[static_cast<std::size_t>(i)];
        int n = c.deferred;
        c.deferred = 0;
        while (n-- > 0) send_candidate(c);
      }
    }
    tick();
  });
}

void Runner::wait_until(const std::function<bool()>& done, double timeout_s, const char* what) {
  const double deadline = now_s() + timeout_s;
  double next_report = now_s() + 5;
  while (!done() && now_s() < deadline) {
    step();
    if (now_s() >= next_report) {
      say("%s: %d ready, %d pending, %d failed, %d calls", what, ready_, pending_, failed_, calls_ok_);
      next_report += 5;
    }
  }
}

void Runner::sleep_s(double s) {
  const double until = now_s() + s;
  while (now_s() < until) step();
}

std::optional<long> Runner::sample_rss(const char* what) {
  if (server_pid_ <= 0) return std::nullopt;
  if (gc_signal_) {
    ::kill(server_pid_, SIGUSR2);  // the relay runs a full GC on SIGUSR2
    sleep_s(1.5);
  }
  auto rss = proc_rss_kib(server_pid_);
  if (rss) say("server RSS %s: %ld KiB", what, *rss);
  return rss;
}

void Runner::open_window(Window& w) {
  w = Window{};
  w.open = true;
  w.start_ns = now_ns();
  w.end_ns = INT64_MAX;
  if (server_pid_ > 0) w.server_cpu0 = proc_cpu_s(server_pid_);
  w.self_cpu0 = self_cpu_s();
  w.machine0 = machine_busy_s();
  win_ = &w;
}

void Runner::close_window(Window& w) {
  w.end_ns = now_ns();
  if (server_pid_ > 0) w.server_cpu1 = proc_cpu_s(server_pid_);
  w.self_cpu1 = self_cpu_s();
  w.machine1 = machine_busy_s();
}

double Runner::other_cpu(const Window& w) {
  const double secs = static_cast<double>(w.end_ns - w.start_ns) / 1e9;
  const double server = (w.server_cpu0 && w.server_cpu1) ? (*w.server_cpu1 - *w.server_cpu0) / secs : 0;
  return std::max(0.0, (w.machine1 - w.machine0) / secs - server - (w.self_cpu1 - w.self_cpu0) / secs);
}

// One measured window; again (at most --noisy-retries times) while other processes disturbed it.
void Runner::measure(Window& w, double secs, const char* what) {
  for (int attempt = 1;; ++attempt) {
    open_window(w);
    sleep_s(secs);
    close_window(w);
    w.attempts = attempt;
    const double other = other_cpu(w);
    if (other <= noisy_cpu_ || attempt > noisy_retries_) return;
    say("%s: other processes used %.2f cores meanwhile; measuring again", what, other);
  }
}

std::string Runner::window_json(Window& w, double) {
  if (!dump_.empty()) {
    if (FILE* f = std::fopen(dump_.c_str(), "w")) {
      for (std::size_t i = 0; i < w.latency.at.size(); ++i) {
        std::fprintf(f, "%.3f %.3f\n", static_cast<double>(w.latency.at[i] - w.start_ns) / 1e6,
                     static_cast<double>(w.latency.ns[i]) / 1e6);
      }
      std::fclose(f);
    }
  }
  const double secs = static_cast<double>(w.end_ns - w.start_ns) / 1e9;
  char buf[640];
  const double server_cpu = (w.server_cpu0 && w.server_cpu1) ? (*w.server_cpu1 - *w.server_cpu0) / secs : -1;
  const double self_cpu = (w.self_cpu1 - w.self_cpu0) / secs;
  const double rate = static_cast<double>(w.received) / secs;
  // Everything else the machine did meanwhile (other processes, interrupts): noise to report.
  const double other = other_cpu(w);
  std::snprintf(buf, sizeof buf,
                "{\"secs\":%.3f,\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"msgs_per_s\":%.1f,"
                "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
                "\"server_cpu\":%.3f,\"loadgen_cpu\":%.3f,\"other_cpu\":%.3f,\"attempts\":%d,\"server_cpu_us_per_msg\":%.2f}",
                secs, w.sent, w.received, rate, w.latency.pct(50), w.latency.pct(90), w.latency.pct(99),
                w.latency.pct(99.9), w.latency.max_ms(), server_cpu, self_cpu, other, w.attempts,
                server_cpu >= 0 && rate > 0 ? server_cpu / rate * 1e6 : -1.0);
  return buf;
}

int Runner::run() {
  // Source addresses: src_base + i, each its own 127.x address.
  const auto base = net::ip::make_address_v4(src_base_).to_uint();
  for (int i = 0; i < src_count_; ++i) sources_.emplace_back(net::ip::address_v4(base + static_cast<unsigned>(i)), 0);
  src_tokens_.assign(sources_.size(), std::min(per_src_burst_, per_src_rate_ * 0.5));
  src_refilled_ns_ = now_ns();
  for (int i = 0; i < n_; ++i) {
    auto c = std::make_unique<Conn>();
    c->idx = i;
    c->user = first_user_ + i;
    c->partner = i ^ 1;
    c->caller = (i % 2) == 0;
    conns_.push_back(std::move(c));
  }
  if ((first_user_ % 2) != 0) die("--first-user must be even (pairs are (2k, 2k+1))");

  std::string out = "{\"dialect\":\"" + std::string(dialect_ == Dialect::duet ? "duet" : "sio") + "\"";
  if (!tag_.empty()) out += ",\"tag\":\"" + tag_ + "\"";
  out += ",\"conns\":" + std::to_string(n_);

  const auto rss0 = sample_rss("before connecting");
  const double t0 = now_s();
  say("connecting %d (%s) from %d source addresses", n_, dialect_ == Dialect::duet ? "duet" : "socket.io", src_count_);
  tick();
  last_ready_ns_ = now_ns();
  wait_until([&] {
    if (stall_s_ > 0 && !stop_connecting_ && now_ns() - last_ready_ns_ > static_cast<std::int64_t>(stall_s_ * 1e9)) {
      // The server takes no more (out of descriptors, most likely): stop knocking.
      stop_connecting_ = true;
      not_attempted_ = static_cast<int>(conns_.size() - next_to_start_ + retry_queue_.size());
      say("no connection succeeded for %.0f s: not opening the last %d", stall_s_, not_attempted_);
    }
    return (ready_ + failed_ + not_attempted_ == n_ && pending_ == 0) || (stop_connecting_ && pending_ == 0);
  }, connect_phase_s_, "connect");
  stop_connecting_ = true;  // whatever is left unstarted now stays so
  const double connect_s = now_s() - t0;
  say("connected %d of %d in %.1f s (%d failed)", ready_, n_, connect_s, failed_);
  for (const auto& [why, count] : failures_) say("  failure x%d: %s", count, why.c_str());
  char buf[256];
  std::snprintf(buf, sizeof buf, ",\"ready\":%d,\"failed\":%d,\"not_attempted\":%d,\"connect_s\":%.2f,\"conns_per_s\":%.0f",
                ready_, failed_, not_attempted_, connect_s, ready_ / std::max(connect_s, 1e-3));
  out += buf;

  if (rss0) {
    // The server's CPU while every connection sits idle (Socket.IO pings each one every 25 s).
    const auto idle0 = proc_cpu_s(server_pid_);
    const double i0 = now_s();
    sleep_s(settle_s_);
    const auto idle1 = proc_cpu_s(server_pid_);
    if (idle0 && idle1 && settle_s_ > 0) {
      std::snprintf(buf, sizeof buf, ",\"idle_cpu\":%.4f", (*idle1 - *idle0) / (now_s() - i0));
      out += buf;
    }
    const auto rss1 = sample_rss("with the connections idle");
    if (rss1 && ready_ > 0) {
      std::snprintf(buf, sizeof buf, ",\"rss_base_kib\":%ld,\"rss_idle_kib\":%ld,\"kib_per_conn\":%.2f", *rss0, *rss1,
                    static_cast<double>(*rss1 - *rss0) / ready_);
      out += buf;
    }
  }

  if (!hold_file_.empty()) {
    std::fprintf(stderr, "READY %d\n", ready_);
    std::fflush(stderr);
    struct stat st{};
    const double until = now_s() + hold_timeout_s_;
    while (::stat(hold_file_.c_str(), &st) != 0 && now_s() < until) io_.run_for(std::chrono::milliseconds(50));
    out += ",\"held\":" + std::to_string(ready_);
  }

  if (closed_s_ > 0 || paced_s_ > 0) {
    const double c0 = now_s();
    int started = 0;
    // Start the calls in waves so the set-up (two database writes per call) is paced too.
    for (auto& cp : conns_) {
      Conn& c = *cp;
      Conn& p = *conns_[static_cast<std::size_t>(c.partner)];
      if (!c.caller || c.st != Conn::St::ready || p.st != Conn::St::ready) continue;
      send(c, call_message(c, "call:initiate", true));
      c.call_sent = true;
      if (++started % 500 == 0) wait_until([&] { return calls_ok_ >= started - 250; }, 10, "calls");
    }
    wait_until([&] { return calls_ok_ >= started; }, 30, "calls");
    const double calls_s = now_s() - c0;
    say("%d of %d calls set up in %.1f s", calls_ok_, started, calls_s);
    std::snprintf(buf, sizeof buf, ",\"calls\":%d,\"calls_s\":%.2f", calls_ok_, calls_s);
    out += buf;
    for (auto& c : conns_) {
      if (c->in_call && c->st == Conn::St::ready && conns_[static_cast<std::size_t>(c->partner)]->in_call) {
        in_call_.push_back(c->idx);
      }
    }
  }

  if (closed_s_ > 0 && !in_call_.empty()) {
    say("closed loop: %zu connections, window %d per pair, %.0f s warm-up + %.0f s", in_call_.size(), window_, warmup_s_, closed_s_);
    mode_ = Mode::closed;
    for (int i : in_call_) {
      Conn& c = *conns_[static_cast<std::size_t>(i)];
      if (c.caller) for (int k = 0; k < window_; ++k) send_candidate(c);
    }
    sleep_s(warmup_s_);
    Window w;
    measure(w, closed_s_, "closed loop");
    mode_ = Mode::idle;
    sleep_s(1.0);  // the last ones in flight arrive and are not answered
    win_ = nullptr;
    out += ",\"closed\":" + window_json(w, closed_s_);
    say("closed loop: %.0f msgs/s", static_cast<double>(w.received) / (static_cast<double>(w.end_ns - w.start_ns) / 1e9));
  }

  if (paced_s_ > 0 && !in_call_.empty()) {
    say("paced: %.0f msgs/s over %zu connections, %.0f s warm-up + %.0f s", rate_, in_call_.size(), warmup_s_, paced_s_);
    mode_ = Mode::paced;
    pace_step_ns_ = static_cast<std::int64_t>(1e9 / rate_);
    pace_next_ns_ = now_ns();
    // A timer of its own fires at each send time, so the load is smooth, not in 1 ms clumps.
    net::steady_timer pacer(io_);
    std::function<void()> pace = [&] {
      const std::int64_t now = now_ns();
      while (pace_next_ns_ <= now) {
        Conn& c = *conns_[static_cast<std::size_t>(in_call_[pace_rr_++ % in_call_.size()])];
        send_candidate(c);
        pace_next_ns_ += pace_step_ns_;
      }
      pacer.expires_at(Clock::time_point(kEpoch) + std::chrono::nanoseconds(pace_next_ns_));
      pacer.async_wait([&](beast::error_code ec) { if (!ec && mode_ == Mode::paced) pace(); });
    };
    pace();
    sleep_s(warmup_s_);
    Window w;
    measure(w, paced_s_, "paced");
    mode_ = Mode::idle;
    pacer.cancel();
    sleep_s(1.0);
    win_ = nullptr;
    out += ",\"paced\":" + window_json(w, paced_s_);
  }

  int alive = 0;
  for (auto& c : conns_) alive += c->st == Conn::St::ready;
  std::snprintf(buf, sizeof buf, ",\"alive_at_end\":%d,\"cap_deferred\":%" PRIu64 ",\"unexpected\":%" PRIu64, alive,
                cap_deferred_, unexpected_);
  out += buf;
  out += ",\"errors\":{";
  bool first = true;
  for (const auto& [code, count] : errors_) {
    std::string clean;
    for (char ch : code) if (ch != '"' && ch != '\\' && static_cast<unsigned char>(ch) >= 0x20) clean += ch;
    out += (first ? "\"" : ",\"") + clean.substr(0, 60) + "\":" + std::to_string(count);
    first = false;
  }
  out += "},\"failures\":{";
  first = true;
  for (const auto& [why, count] : failures_) {
    std::string clean;
    for (char ch : why) if (ch != '"' && ch != '\\') clean += ch;
    out += (first ? "\"" : ",\"") + clean + "\":" + std::to_string(count);
    first = false;
  }
  out += "}}";
  std::printf("%s\n", out.c_str());
  std::fflush(stdout);
  // Thousands of sockets: let the kernel close them, there is nothing to flush.
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) die("usage: duet_loadgen seed|run --option value ... (see the comment at the top of loadgen.cpp)");
  const std::string what = argv[1];
  const Args args = parse_args(argc, argv, 2);
  if (what == "seed") return seed(args);
  if (what == "run") {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
      limit.rlim_cur = limit.rlim_max;
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    Runner runner(args);
    return runner.run();
  }
  die("unknown command " + what + " (seed or run)");
}
