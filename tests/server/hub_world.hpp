// Test support for the hub: a store with users, a hub over it driven by hand on its own
// clock, and what each connection was sent (parsed) and how it was closed. Tokens are
// "t:<user id>"; anything else is refused. Used by the hub's tests and by those of a
// restarted server taking calls over.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/hub.hpp"

namespace duet::server::test {

inline constexpr Millis T0 = 1'700'000'000'000;

inline Expected<Identity> check_token(std::string_view token, Millis) {
  if (token.substr(0, 2) != "t:") return make_error(ErrorCode::unauthenticated, "bad token");
  std::string id(token.substr(2));
  return Identity{id, "Name of " + id};
}

struct HubWorld {
  std::unique_ptr<Store> store = Store::open(":memory:").value();
  Registry metrics;
  std::optional<Hub> hub;  // started by boot()
  Millis now = T0;
  ConnId next = 1;
  std::map<ConnId, std::vector<Message>> inbox;  // what each connection was sent, parsed
  std::map<ConnId, std::uint16_t> closed_with;

  explicit HubWorld(std::initializer_list<const char*> users) {
    for (auto u : users) REQUIRE(store->create_user(u, u, std::string("Name of ") + u, "hash", T0));
  }

  void boot(const HubConfig& config = {}) { hub.emplace(*store, config, check_token, metrics); }

  void befriend(const std::string& a, const std::string& b) {
    REQUIRE(store->request_contact(a, b, now));
    REQUIRE(store->accept_contact(b, a, now));
  }

  void take(Actions out) {
    for (auto& s : out.send) {
      auto m = parse_message(s.text);
      INFO(s.text);
      REQUIRE(m.has_value());  // the server only ever sends valid messages
      inbox[s.conn].push_back(*m);
    }
    for (auto& c : out.close) closed_with[c.conn] = c.code;
  }

  ConnId connect() {
    const ConnId c = next++;
    hub->open(c, now);
    return c;
  }
  // Signs a new connection in; what it was sent on the way is forgotten unless `keep`.
  ConnId login(const std::string& user, bool keep = false) { return sign_in(user, "", keep); }
  // The same, for a client that names itself (auth's `device`).
  ConnId login_as(const std::string& user, const std::string& device, bool keep = false) {
    return sign_in(user, R"(,"device":")" + device + '"', keep);
  }
  void say(ConnId c, const std::string& text) { take(hub->receive(c, text, now)); }
  void say(ConnId c, Body body) { say(c, serialize(Message{std::move(body), {}})); }
  void drop(ConnId c) { take(hub->closed(c, now)); }
  void wait(Millis ms) {
    now += ms;
    take(hub->tick(now));
  }

  template <class T>
  std::vector<T> of(ConnId c) {
    std::vector<T> found;
    for (const auto& m : inbox[c]) {
      if (auto* t = std::get_if<T>(&m.body)) found.push_back(*t);
    }
    return found;
  }
  // Who the server says sent the messages of type T that a connection got.
  template <class T>
  std::vector<std::string> senders(ConnId c) {
    std::vector<std::string> from;
    for (const auto& m : inbox[c]) {
      if (std::holds_alternative<T>(m.body)) from.push_back(m.from);
    }
    return from;
  }
  msg::Error last_error(ConnId c) {
    auto errors = of<msg::Error>(c);
    REQUIRE_FALSE(errors.empty());
    return errors.back();
  }
  CallRecord call(const std::string& id) {
    auto r = store->find_call(id);
    REQUIRE(r.has_value());
    return *r;
  }

 private:
  ConnId sign_in(const std::string& user, const std::string& extra, bool keep) {
    const ConnId c = connect();
    say(c, R"({"v":1,"type":"auth","token":"t:)" + user + '"' + extra + "}");
    REQUIRE(of<msg::AuthOk>(c).size() == 1);
    if (!keep) inbox[c].clear();
    return c;
  }
};

}  // namespace duet::server::test
