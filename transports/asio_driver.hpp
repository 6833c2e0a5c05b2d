// Runs one sans-I/O node (an Engine, a click-to-dial Controller, a simulated
// phone ...) on real sockets with Boost.Asio: the interface the simulator
// drives on virtual time (simulator/node.hpp), driven here by the kernel.
//
//   - one UDP socket and one TCP listener on the same address and port, so a
//     peer that answers to the source of our requests (a SIPp UAS, rport)
//     reaches us, and our Via/Contact port is right for both transports;
//   - outgoing TCP connections, reused per peer address, one StreamFramer each;
//   - one steady_timer armed at the node's next_timeout();
//   - asynchronous A-record lookups for poll_resolve() requests;
//   - SIGINT/SIGTERM delivered to a handler of the caller's choosing.
//
// The node's clock (now_ms) is milliseconds since the driver was created,
// from std::chrono::steady_clock. Everything runs on the thread that runs the
// io_context; several drivers may share one io_context.
//
// Because the node must know its own address (Via, Contact) and port 0 means
// "any free port", the order is: bind(), build the node with local_address(),
// attach(node), then run_until(...).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "core/net/address.hpp"
#include "core/util/result.hpp"
#include "simulator/node.hpp"
#include "simulator/virtual_network.hpp"

namespace sipcc::transports {

struct DriverOptions {
    bool listen_tcp = true;     // also accept TCP connections on the bound port
    bool record_trace = false;  // keep every message sent and received (for a ladder)
    // Where transport errors are reported; empty: standard error, prefixed "sipcc transport: ".
    std::function<void(std::string_view)> log;
    std::size_t max_message_bytes = 65535;  // TCP framing limit per message
};

struct DriverCounters {
    std::uint64_t messages_sent = 0;  // datagrams, or whole messages written to TCP
    std::uint64_t messages_received = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t send_errors = 0;  // messages that could not be sent (dropped)
    std::uint64_t receive_errors = 0;
    std::uint64_t tcp_connections_opened = 0;  // outgoing connects started
    std::uint64_t tcp_connections_accepted = 0;
    std::uint64_t tcp_connections_reused = 0;  // sends on an existing connection
    std::uint64_t tcp_connect_failures = 0;
    std::uint64_t tcp_framing_errors = 0;  // a stream that could not be cut (connection closed)
    std::uint64_t resolutions = 0;         // lookups started
    std::uint64_t resolution_failures = 0;
};

class AsioDriver {
public:
    // The io_context must outlive the driver.
    explicit AsioDriver(boost::asio::io_context& io, DriverOptions options = {});
    ~AsioDriver();
    AsioDriver(const AsioDriver&) = delete;
    AsioDriver& operator=(const AsioDriver&) = delete;

    // Binds the UDP socket (and the TCP listener) to `address`, a numeric IPv4 or
    // IPv6 address. Port 0 picks a port free for both. Returns the bound address;
    // the error names the address and the reason.
    Result<SocketAddress> bind(const SocketAddress& address);
    [[nodiscard]] SocketAddress local_address() const;

    // Starts receiving for `node` (built with local_address()). The node must
    // outlive the driver, or the driver must be closed first.
    void attach(sim::Node& node);

    // Milliseconds since the driver was created: the clock every node call gets.
    [[nodiscard]] std::uint64_t now_ms() const;

    // Carries out what the node has queued (sends, lookups) and re-arms the
    // timer. Call it after giving the node a command directly (click_to_dial,
    // drop, send_request ...); every input from the network does it by itself.
    void flush();

    // Runs the io_context until `done()` holds (true), or `limit` passes, stop()
    // is called or nothing is left to wait for (false). done() is checked after
    // every completed operation of any driver on the io_context.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit);
    void run_for(std::chrono::milliseconds duration);
    // Makes the run_until in progress return false (call it from a handler).
    void stop();

    // Calls `handler(signal_number)` on SIGINT and SIGTERM (each time one
    // arrives), then flushes the node: the handler may command it.
    void on_signal(std::function<void(int signal_number)> handler);

    // Closes the sockets and connections and cancels the timer and lookups;
    // the node is not called again. The destructor does it too.
    void close();

    [[nodiscard]] const DriverCounters& counters() const;
    // Every message sent and received, in order (DriverOptions::record_trace).
    // Both times of an entry are when the driver saw it.
    [[nodiscard]] const std::vector<sim::TraceEntry>& trace() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;  // shared with pending handlers, which may outlive close()
};

}  // namespace sipcc::transports
