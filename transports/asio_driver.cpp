#include "transports/asio_driver.hpp"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <csignal>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "core/message/stream_framer.hpp"

namespace sipcc::transports {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using AddressKey = std::pair<std::string, std::uint16_t>;

constexpr std::size_t kUdpReceiveBufferBytes = 65536;  // the largest UDP payload
constexpr std::size_t kTcpReadChunkBytes = 16384;
// With port 0 the UDP port is picked first; TCP may already use that number.
constexpr int kFreePortAttempts = 20;

template <class Endpoint>
SocketAddress to_socket_address(const Endpoint& endpoint) {
    return {endpoint.address().to_string(), endpoint.port()};
}

std::optional<asio::ip::address> parse_ip(const std::string& ip) {
    error_code error;
    auto address = asio::ip::make_address(ip, error);
    if (error) return std::nullopt;
    return address;
}

AddressKey key_of(const SocketAddress& address) {
    return {address.ip, address.port};
}

// RFC 5626 §3.5.1 keep-alives ("\r\n\r\n" pings, "\r\n" pongs) carry no message.
bool is_keepalive(std::string_view bytes) {
    return !bytes.empty() && bytes.find_first_not_of("\r\n") == std::string_view::npos;
}

// One TCP connection, accepted or opened by us, keyed by the peer's address.
struct Connection {
    Connection(asio::io_context& io, std::size_t max_message_bytes)
        : socket(io), framer(max_message_bytes) {}

    tcp::socket socket;
    SocketAddress remote;
    StreamFramer framer;
    std::deque<std::string> write_queue;  // the front one is being written
    std::array<char, kTcpReadChunkBytes> read_buffer{};
    bool established = false;  // accepted, or our connect completed
    bool writing = false;
    bool closed = false;
};

// Each message is written whole, often two back to back (ACK then REFER): without
// this, Nagle holds the second until the peer's delayed ACK, some 40 ms later.
void set_no_delay(Connection& connection) {
    error_code ignored;
    connection.socket.set_option(tcp::no_delay(true), ignored);
}

}  // namespace

struct AsioDriver::Impl : std::enable_shared_from_this<AsioDriver::Impl> {
    Impl(asio::io_context& io, DriverOptions options)
        : io(io),
          options(std::move(options)),
          epoch(Clock::now()),
          udp_socket(io),
          acceptor(io),
          timer(io),
          resolver(io) {}

    asio::io_context& io;
    DriverOptions options;
    Clock::time_point epoch;
    udp::socket udp_socket;
    tcp::acceptor acceptor;
    asio::steady_timer timer;
    udp::resolver resolver;
    std::optional<asio::signal_set> signals;
    std::function<void(int)> signal_handler;
    bool waiting_for_signal = false;

    sim::Node* node = nullptr;
    SocketAddress local;
    bool bound = false;
    std::map<AddressKey, std::shared_ptr<Connection>> connections;
    std::array<char, kUdpReceiveBufferBytes> udp_buffer{};
    udp::endpoint udp_sender;

    std::optional<std::uint64_t> armed_deadline_ms;
    std::uint64_t timer_generation = 0;  // a stale wait (re-armed since) does nothing
    std::optional<std::uint64_t> last_timeout_ms;
    bool stop_requested = false;
    bool closed = false;
    DriverCounters counters;
    std::vector<sim::TraceEntry> trace;

    [[nodiscard]] std::uint64_t now_ms() const {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - epoch).count());
    }

    void log(const std::string& text) const {
        if (options.log) {
            options.log(text);
        } else {
            std::cerr << "sipcc transport: " << text << "\n";
        }
    }

    void record(const Peer& from, const Peer& to, std::string_view bytes) {
        if (!options.record_trace) return;
        const auto now = now_ms();
        trace.push_back({now, now, from, to, std::string(bytes), false, false});
    }

    // --- binding ---

    std::string try_bind(const asio::ip::address& ip, std::uint16_t port) {
        error_code error;
        const udp::endpoint udp_endpoint(ip, port);
        udp_socket.open(udp_endpoint.protocol(), error);
        if (!error) udp_socket.bind(udp_endpoint, error);
        if (error) return "udp: " + error.message();
        const auto bound_port = udp_socket.local_endpoint(error).port();
        if (error) return "udp: " + error.message();
        if (options.listen_tcp) {
            const tcp::endpoint tcp_endpoint(ip, bound_port);
            acceptor.open(tcp_endpoint.protocol(), error);
            // Lets a restarted program listen again while old connections linger in TIME_WAIT.
            if (!error) acceptor.set_option(tcp::acceptor::reuse_address(true), error);
            if (!error) acceptor.bind(tcp_endpoint, error);
            if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
            if (error) return "tcp: " + error.message();
        }
        local = {ip.to_string(), bound_port};
        return {};
    }

    Result<SocketAddress> bind(const SocketAddress& address) {
        const std::string what = "cannot bind " + address.to_string();
        if (closed) return Error{what + ": the driver is closed"};
        if (bound) return Error{what + ": already bound to " + local.to_string()};
        auto ip = parse_ip(address.ip);
        if (!ip) return Error{what + ": \"" + address.ip + "\" is not a numeric IP address"};
        const int attempts = address.port == 0 ? kFreePortAttempts : 1;
        std::string reason;
        for (int attempt = 0; attempt < attempts; ++attempt) {
            reason = try_bind(*ip, address.port);
            if (reason.empty()) {
                bound = true;
                return local;
            }
            error_code ignored;
            udp_socket.close(ignored);
            acceptor.close(ignored);
        }
        return Error{what + ": " + reason};
    }

    // --- receiving ---

    void deliver(std::string_view bytes, const Peer& source) {
        if (closed || node == nullptr) return;
        ++counters.messages_received;
        counters.bytes_received += bytes.size();
        record(source, Peer{source.transport, local}, bytes);
        node->on_datagram(now_ms(), bytes, source);
        pump();
    }

    void start_udp_receive() {
        udp_socket.async_receive_from(
            asio::buffer(udp_buffer), udp_sender,
            [self = shared_from_this()](error_code error, std::size_t size) {
                if (self->closed) return;
                if (error) {
                    if (error == asio::error::operation_aborted) return;
                    // e.g. an ICMP error for an earlier send: the socket is still usable.
                    ++self->counters.receive_errors;
                    self->log("udp receive on " + self->local.to_string() + ": " + error.message());
                } else {
                    const std::string_view bytes(self->udp_buffer.data(), size);
                    if (!is_keepalive(bytes)) {
                        self->deliver(bytes, {Transport::udp, to_socket_address(self->udp_sender)});
                    }
                }
                if (!self->closed) self->start_udp_receive();
            });
    }

    void start_accept() {
        auto connection = std::make_shared<Connection>(io, options.max_message_bytes);
        acceptor.async_accept(
            connection->socket, [self = shared_from_this(), connection](error_code error) {
                if (self->closed) return;
                if (error) {
                    if (error == asio::error::operation_aborted) return;
                    ++self->counters.receive_errors;
                    self->log("tcp accept on " + self->local.to_string() + ": " + error.message());
                } else {
                    ++self->counters.tcp_connections_accepted;
                    error_code endpoint_error;
                    const auto remote = connection->socket.remote_endpoint(endpoint_error);
                    if (!endpoint_error) {
                        set_no_delay(*connection);
                        connection->remote = to_socket_address(remote);
                        connection->established = true;
                        self->adopt(connection);
                        self->start_read(connection);
                    }
                }
                self->start_accept();
            });
    }

    void adopt(const std::shared_ptr<Connection>& connection) {
        auto& slot = connections[key_of(connection->remote)];
        if (slot && slot != connection) close_connection(slot, "replaced by a new connection");
        slot = connection;
    }

    void start_read(const std::shared_ptr<Connection>& connection) {
        connection->socket.async_read_some(
            asio::buffer(connection->read_buffer),
            [self = shared_from_this(), connection](error_code error, std::size_t size) {
                if (self->closed || connection->closed) return;
                if (error) {
                    // The peer closing its end is normal; anything else is worth a line.
                    self->close_connection(connection,
                                           error == asio::error::eof ? "" : error.message());
                    return;
                }
                auto messages = connection->framer.feed({connection->read_buffer.data(), size});
                if (!messages) {
                    ++self->counters.tcp_framing_errors;
                    self->close_connection(connection,
                                           "cannot frame the stream: " + messages.error());
                    return;
                }
                for (const auto& message : *messages) {
                    self->deliver(message, {Transport::tcp, connection->remote});
                }
                if (!self->closed && !connection->closed) self->start_read(connection);
            });
    }

    // --- sending ---

    void send(Transmit transmit) {
        if (transmit.destination.transport == Transport::tcp) {
            send_tcp(transmit.destination.address, std::move(transmit.bytes));
        } else {
            send_udp(transmit.destination.address, transmit.bytes);
        }
    }

    void send_failed(const Peer& destination, const std::string& what) {
        ++counters.send_errors;
        log(what);
        tell_node_send_failed(destination, what);
    }

    // Deferred: the node may be in the middle of the call that queued this send.
    void tell_node_send_failed(const Peer& destination, const std::string& what) {
        asio::post(io, [self = shared_from_this(), destination, what] {
            if (self->closed || self->node == nullptr) return;
            self->node->on_send_failed(self->now_ms(), destination, what);
            self->pump();
        });
    }

    void send_udp(const SocketAddress& destination, const std::string& bytes) {
        const auto ip = parse_ip(destination.ip);
        if (!ip) {
            send_failed({Transport::udp, destination}, "udp send to " + destination.to_string() + ": not a numeric IP address");
            return;
        }
        if (!udp_socket.is_open()) {
            send_failed({Transport::udp, destination}, "udp send to " + destination.to_string() + ": socket not bound");
            return;
        }
        error_code error;
        udp_socket.send_to(asio::buffer(bytes), udp::endpoint(*ip, destination.port), 0, error);
        if (error) {
            send_failed({Transport::udp, destination}, "udp send to " + destination.to_string() + ": " + error.message());
            return;
        }
        ++counters.messages_sent;
        counters.bytes_sent += bytes.size();
        record({Transport::udp, local}, {Transport::udp, destination}, bytes);
    }

    void send_tcp(const SocketAddress& destination, std::string bytes) {
        std::shared_ptr<Connection> connection;
        if (auto it = connections.find(key_of(destination));
            it != connections.end() && !it->second->closed) {
            connection = it->second;
            ++counters.tcp_connections_reused;
        } else {
            const auto ip = parse_ip(destination.ip);
            if (!ip) {
                send_failed({Transport::tcp, destination}, "tcp send to " + destination.to_string() +
                            ": not a numeric IP address");
                return;
            }
            connection = std::make_shared<Connection>(io, options.max_message_bytes);
            connection->remote = destination;
            adopt(connection);
            open_connection(connection, tcp::endpoint(*ip, destination.port));
        }
        record({Transport::tcp, local}, {Transport::tcp, destination}, bytes);
        connection->write_queue.push_back(std::move(bytes));
        if (connection->established) write_next(connection);
    }

    void open_connection(const std::shared_ptr<Connection>& connection,
                         const tcp::endpoint& remote) {
        ++counters.tcp_connections_opened;
        error_code error;
        connection->socket.open(remote.protocol(), error);
        // From our own IP, so the peer sees the address our Via names.
        const auto local_ip = parse_ip(local.ip);
        if (!error && bound && local_ip && !local_ip->is_unspecified() &&
            local_ip->is_v4() == remote.address().is_v4()) {
            connection->socket.bind(tcp::endpoint(*local_ip, 0), error);
        }
        if (error) {
            ++counters.tcp_connect_failures;
            // Deferred: the caller queues the message after this returns.
            asio::post(io, [self = shared_from_this(), connection, reason = error.message()] {
                if (!self->closed) self->close_connection(connection, "connect: " + reason);
            });
            return;
        }
        connection->socket.async_connect(
            remote, [self = shared_from_this(), connection](error_code connect_error) {
                if (self->closed || connection->closed) return;
                if (connect_error) {
                    ++self->counters.tcp_connect_failures;
                    self->close_connection(connection, "connect: " + connect_error.message());
                    return;
                }
                connection->established = true;
                set_no_delay(*connection);
                self->start_read(connection);
                self->write_next(connection);
            });
    }

    void write_next(const std::shared_ptr<Connection>& connection) {
        if (connection->writing || connection->closed || connection->write_queue.empty()) return;
        connection->writing = true;
        asio::async_write(
            connection->socket, asio::buffer(connection->write_queue.front()),
            [self = shared_from_this(), connection](error_code error, std::size_t size) {
                connection->writing = false;
                if (self->closed || connection->closed) return;
                if (error) {
                    self->close_connection(connection, "write: " + error.message());
                    return;
                }
                ++self->counters.messages_sent;
                self->counters.bytes_sent += size;
                connection->write_queue.pop_front();
                self->write_next(connection);
            });
    }

    // An empty reason is a normal close by the peer: not logged.
    void close_connection(const std::shared_ptr<Connection>& connection,
                          const std::string& reason) {
        if (connection->closed) return;
        connection->closed = true;
        const auto unsent = connection->write_queue.size();
        counters.send_errors += unsent;
        if (!reason.empty() || unsent > 0) {
            const std::string what =
                "tcp " + connection->remote.to_string() + ": " +
                (reason.empty() ? "closed by the peer" : reason) +
                (unsent > 0 ? "; " + std::to_string(unsent) + " message(s) not sent" : "");
            log(what);
            if (unsent > 0) tell_node_send_failed({Transport::tcp, connection->remote}, what);
        }
        error_code ignored;
        connection->socket.shutdown(tcp::socket::shutdown_both, ignored);
        connection->socket.close(ignored);
        if (auto it = connections.find(key_of(connection->remote));
            it != connections.end() && it->second == connection) {
            connections.erase(it);
        }
    }

    // --- lookups ---

    void resolve(ResolveRequest request) {
        ++counters.resolutions;
        // No address_configured flag: a machine with only loopback must still find "localhost".
        resolver.async_resolve(udp::v4(), request.host, "", udp::resolver::flags(),
                               [self = shared_from_this(), id = request.id, host = request.host](
                                   error_code error, const udp::resolver::results_type& results) {
                                   if (self->closed || self->node == nullptr) return;
                                   std::optional<std::string> ip;
                                   std::string reason;
                                   if (error) {
                                       reason = error.message();
                                   } else if (results.empty()) {
                                       reason = "no A record";
                                   } else {
                                       ip = results.begin()->endpoint().address().to_string();
                                   }
                                   if (!ip) {
                                       ++self->counters.resolution_failures;
                                       self->log("resolving " + host + ": " + reason);
                                   }
                                   self->node->on_resolved(self->now_ms(), id, std::move(ip),
                                                           std::move(reason));
                                   self->pump();
                               });
    }

    // --- the node's outputs and its timer ---

    void pump() {
        if (closed || node == nullptr) return;
        while (auto transmit = node->poll_transmit()) send(std::move(*transmit));
        while (auto request = node->poll_resolve()) resolve(std::move(*request));
        arm_timer();
    }

    void arm_timer() {
        auto deadline = node->next_timeout();
        // A node that leaves a deadline it was already woken for must not spin the CPU.
        if (deadline && last_timeout_ms && *deadline <= *last_timeout_ms) {
            deadline = *last_timeout_ms + 1;
        }
        if (deadline == armed_deadline_ms) return;
        armed_deadline_ms = deadline;
        const auto generation = ++timer_generation;
        timer.cancel();
        if (!deadline) return;
        // Fires when steady_clock reaches it, so now_ms() is then >= the deadline.
        timer.expires_at(epoch + std::chrono::milliseconds(*deadline));
        timer.async_wait([self = shared_from_this(), generation](error_code error) {
            if (error || self->closed || generation != self->timer_generation) return;
            self->armed_deadline_ms.reset();
            const auto now = self->now_ms();
            self->last_timeout_ms = now;
            self->node->on_timeout(now);
            self->pump();
        });
    }

    // --- signals ---

    void wait_for_signal() {
        if (waiting_for_signal || !signals) return;
        waiting_for_signal = true;
        signals->async_wait([self = shared_from_this()](error_code error, int signal_number) {
            self->waiting_for_signal = false;
            if (error || self->closed) return;
            if (self->signal_handler) self->signal_handler(signal_number);
            self->pump();
            self->wait_for_signal();
        });
    }

    void close() {
        if (closed) return;
        closed = true;
        error_code ignored;
        timer.cancel();
        resolver.cancel();
        if (signals) {
            signals->cancel(ignored);
            signals->clear(ignored);  // the default action again: a second Ctrl-C ends us
        }
        udp_socket.close(ignored);
        acceptor.close(ignored);
        auto open_connections = std::move(connections);
        for (auto& [key, connection] : open_connections) {
            connection->closed = true;
            connection->socket.close(ignored);
        }
        node = nullptr;
    }
};

AsioDriver::AsioDriver(boost::asio::io_context& io, DriverOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

AsioDriver::~AsioDriver() {
    impl_->close();
}

Result<SocketAddress> AsioDriver::bind(const SocketAddress& address) {
    return impl_->bind(address);
}

SocketAddress AsioDriver::local_address() const {
    return impl_->local;
}

void AsioDriver::attach(sim::Node& node) {
    auto& impl = *impl_;
    if (impl.closed || impl.node != nullptr) return;
    impl.node = &node;
    if (node.address() != impl.local) {
        impl.log("the node's address " + node.address().to_string() + " is not the bound address " +
                 impl.local.to_string() + " (its Via and Contact will be wrong)");
    }
    if (impl.udp_socket.is_open()) impl.start_udp_receive();
    if (impl.acceptor.is_open()) impl.start_accept();
    impl.pump();
}

std::uint64_t AsioDriver::now_ms() const {
    return impl_->now_ms();
}

void AsioDriver::flush() {
    impl_->pump();
}

bool AsioDriver::run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    auto& impl = *impl_;
    impl.stop_requested = false;
    impl.pump();
    const auto until = Clock::now() + limit;
    for (;;) {
        if (done()) return true;
        if (impl.stop_requested || impl.closed || Clock::now() >= until) return false;
        if (impl.io.stopped()) impl.io.restart();
        if (impl.io.run_one_until(until) == 0 && impl.io.stopped() && Clock::now() < until) {
            return done();  // no socket, timer or lookup left: nothing can change any more
        }
    }
}

void AsioDriver::run_for(std::chrono::milliseconds duration) {
    run_until([] { return false; }, duration);
}

void AsioDriver::stop() {
    impl_->stop_requested = true;
}

void AsioDriver::on_signal(std::function<void(int signal_number)> handler) {
    auto& impl = *impl_;
    if (impl.closed) return;
    impl.signal_handler = std::move(handler);
    if (!impl.signals) impl.signals.emplace(impl.io, SIGINT, SIGTERM);
    impl.wait_for_signal();
}

void AsioDriver::close() {
    impl_->close();
}

const DriverCounters& AsioDriver::counters() const {
    return impl_->counters;
}

const std::vector<sim::TraceEntry>& AsioDriver::trace() const {
    return impl_->trace;
}

}  // namespace sipcc::transports
