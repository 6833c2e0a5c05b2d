#include "core/net/address.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "core/message/message.hpp"

namespace sipcc {

std::string_view to_string(Transport transport) {
    return transport == Transport::tcp ? "TCP" : "UDP";
}

std::optional<Transport> transport_from_string(std::string_view text) {
    if (iequals(text, "udp")) return Transport::udp;
    if (iequals(text, "tcp")) return Transport::tcp;
    return std::nullopt;
}

std::string SocketAddress::to_string() const {
    const bool v6 = ip.find(':') != std::string::npos;
    return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

bool is_numeric_ip(std::string_view host) {
    // inet_pton is a pure parser (no lookup), so it is fine inside the core.
    const std::string text(host);
    unsigned char buffer[16];
    return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::optional<HostPort> parse_host_port(std::string_view text) {
    HostPort result;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        result.host = std::string(text.substr(1, close - 1));
        const auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port_text = rest.substr(1);
        }
    } else {
        const auto colon = text.find(':');
        if (colon != std::string_view::npos &&
            text.find(':', colon + 1) != std::string_view::npos) {
            result.host = std::string(text);  // bare IPv6 without port
        } else {
            result.host = std::string(text.substr(0, colon));
            if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
        }
    }
    if (result.host.empty()) return std::nullopt;
    if (!port_text.empty() || (text.size() > 0 && text.back() == ':')) {
        unsigned value = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
            value == 0 || value > 65535) {
            return std::nullopt;
        }
        result.port = static_cast<std::uint16_t>(value);
    }
    return result;
}

}  // namespace sipcc
