// Anything that sits on the virtual network: an engine, a click-to-dial
// controller, a simulated phone or PBX, or a scripted test peer. The network
// drives it exactly as a real transport driver would.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/engine/events.hpp"
#include "core/net/address.hpp"

namespace sipcc::sim {

class Node {
public:
    virtual ~Node() = default;

    [[nodiscard]] virtual SocketAddress address() const = 0;
    virtual void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) = 0;
    virtual void on_timeout(std::uint64_t now_ms) = 0;
    virtual void on_resolved(std::uint64_t now_ms, std::uint64_t resolve_id,
                             std::optional<std::string> ip, std::string error) = 0;
    // The driver could not send to `destination` (TCP connect refused, ...).
    // Nodes without transactions may ignore it.
    virtual void on_send_failed(std::uint64_t now_ms, const Peer& destination, std::string reason) {
        (void)now_ms;
        (void)destination;
        (void)reason;
    }
    [[nodiscard]] virtual std::optional<std::uint64_t> next_timeout() const = 0;
    virtual std::optional<Transmit> poll_transmit() = 0;
    virtual std::optional<ResolveRequest> poll_resolve() = 0;
};

}  // namespace sipcc::sim
