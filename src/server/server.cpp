// The listener and the timers of duet-server's network side (server_impl.hpp): it accepts
// connections and hands each to an HTTP session, runs the hub's deadlines and the sockets'
// sweep, carries the hub's actions to the signaling sockets, and drains them on SIGTERM.
#include "server/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include <memory>
#include <string>
#include <vector>

#include "server/server_impl.hpp"

namespace duet::server {

void Server::Impl::do_accept() {
  acceptor.async_accept(io, beast::bind_front_handler(&Server::Impl::on_accept, this));
}

void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopping) return;
  if (ec) {
    // Out of file descriptors, most likely: wait a moment instead of spinning.
    note("accept failed: " + ec.message());
    accept_retry.expires_after(std::chrono::milliseconds(100));
    accept_retry.async_wait([this](beast::error_code) { if (!stopping) do_accept(); });
    return;
  }
  beast::error_code peer_ec;
  // Signaling messages are small and each one is somebody waiting: no Nagle delay.
  socket.set_option(tcp::no_delay(true), peer_ec);
  const auto peer = socket.remote_endpoint(peer_ec);
  std::string remote = peer_ec ? std::string() : peer.address().to_string();
  const Millis now = wall_now();
  if (connection_limiter.allow(remote, now)) {
    start_http_session(std::move(socket), *this, std::move(remote));
  } else {
    refuse_http_session(std::move(socket), *this, connection_limiter.retry_after(remote, now));
  }
  do_accept();
}

void Server::Impl::do_tick() {
  ticker.expires_after(kTickEvery);
  ticker.async_wait([this](beast::error_code ec) {
    if (ec || stopping) return;
    apply(hub.tick(wall_now()));
    do_tick();
  });
}

void Server::Impl::do_sweep() {
  sweeper.expires_after(kSweepEvery);
  sweeper.async_wait([this](beast::error_code ec) {
    if (ec || stopping) return;
    const Millis now = wall_now();
    // Safe to walk: a socket the sweep finishes leaves `sockets` later, in a posted detach.
    for (auto& [conn, session] : sockets) {
      if (auto s = session.lock()) s->sweep(now);
    }
    do_sweep();
  });
}

ConnId Server::Impl::attach(const std::shared_ptr<SignalingSocket>& socket) {
  const ConnId id = next_conn++;
  sockets.emplace(id, socket);
  hub.open(id, wall_now());
  return id;
}

void Server::Impl::receive(ConnId conn, std::string_view text) { apply(hub.receive(conn, text, wall_now())); }

void Server::Impl::detach(ConnId conn) {
  if (sockets.erase(conn) == 0) return;
  apply(hub.closed(conn, wall_now()));
  // Shutting down, and the last client has answered the close: no need to wait out kDrainFor.
  if (stopping && sockets.empty()) io.stop();
}

void Server::Impl::apply(Actions actions) {
  for (auto& s : actions.send) {
    auto it = sockets.find(s.conn);
    if (it == sockets.end()) continue;
    if (auto session = it->second.lock()) session->send(std::move(s.text));
  }
  for (auto& c : actions.close) {
    auto it = sockets.find(c.conn);
    if (it == sockets.end()) continue;
    if (auto session = it->second.lock()) session->close(c.code, std::move(c.reason));
  }
}

void Server::Impl::stop() {
  if (stopping) return;
  stopping = true;
  note("shutting down: closing " + std::to_string(sockets.size()) + " signaling connections");
  beast::error_code ec;
  acceptor.close(ec);
  ticker.cancel();
  sweeper.cancel();
  accept_retry.cancel();
  apply(hub.drain());
  if (sockets.empty()) return io.stop();
  auto deadline = std::make_shared<net::steady_timer>(io, kDrainFor);
  deadline->async_wait([this, deadline](beast::error_code) { io.stop(); });
}

Server::Server(Config config, Store& store, std::string jwt_secret)
    : impl_(std::make_unique<Impl>(std::move(config), store, std::move(jwt_secret))) {
  impl_->mounts = {Mount{"/", impl_->config.web_dir}, Mount{"/duet/", impl_->config.module_dir}};
}

Server::~Server() {
  impl_->workers.join();
}

void Server::take_over(const std::vector<CallRecord>& unfinished) { impl_->hub.restore(unfinished, wall_now()); }

Expected<std::uint16_t> Server::listen() {
  auto& a = impl_->acceptor;
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->config.host, ec);
  if (ec) return make_error(ErrorCode::bad_value, "HOST is not an IP address: " + impl_->config.host);
  const tcp::endpoint endpoint(address, impl_->config.port);
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::internal, "cannot listen on " + impl_->config.host + ":" +
                                               std::to_string(impl_->config.port) + ": " + ec.message());
  }
  return a.local_endpoint().port();
}

void Server::run() {
  auto& i = *impl_;
  i.signals.async_wait([&i](beast::error_code ec, int) {
    if (!ec) i.stop();
  });
  i.do_accept();
  i.do_tick();
  i.do_sweep();
  i.io.run();
}

}  // namespace duet::server
