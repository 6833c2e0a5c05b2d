// Where bytes come from and go to. The core never opens sockets: a driver
// (transports/ or the simulator) hands these in and carries them out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipcc {

enum class Transport { udp, tcp };

std::string_view to_string(Transport transport);
// "UDP"/"udp" -> udp, "TCP"/"tcp" -> tcp.
std::optional<Transport> transport_from_string(std::string_view text);
// Retransmissions happen only on unreliable transports (RFC 3261 §17).
inline bool is_reliable(Transport transport) {
    return transport == Transport::tcp;
}

struct SocketAddress {
    std::string ip;  // numeric IPv4 or IPv6 (no brackets)
    std::uint16_t port = 0;

    friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
    [[nodiscard]] std::string to_string() const;  // 127.0.0.1:5060, [::1]:5060
};

// A transport and an address: where a message was received from, or goes to.
struct Peer {
    Transport transport = Transport::udp;
    SocketAddress address;

    friend bool operator==(const Peer&, const Peer&) = default;
};

// True for a numeric IPv4 or IPv6 address (which needs no name resolution).
bool is_numeric_ip(std::string_view host);

// "host", "host:port", "[v6]:port" -> host and optional port; error on bad input.
struct HostPort {
    std::string host;
    std::optional<std::uint16_t> port;
};
std::optional<HostPort> parse_host_port(std::string_view text);

}  // namespace sipcc
