// Configuration of one engine (one SIP user agent core on one local address).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/net/address.hpp"
#include "core/transaction/timers.hpp"

namespace sipcc {

struct EngineConfig {
    Transport transport = Transport::udp;
    SocketAddress local_address{"127.0.0.1", 5060};  // what the driver bound
    // Outbound proxy, "host" or "host:port": becomes a pre-loaded Route with ;lr
    // on requests outside a dialog (RFC 3261 §8.1.2).
    std::optional<std::string> outbound_proxy;
    // Credentials answered to any 401/407 challenge. auth_user defaults to the
    // SIP user of the request's From.
    std::string auth_user;
    std::string password;
    TimerConfig timers;
    std::uint64_t seed = 1;  // every tag, branch, Call-ID and cnonce derives from it
    std::string user_agent = "sipcc/0.1";
    std::size_t max_message_bytes = 65535;
    // Answer 100 Trying to an incoming INVITE at once (RFC 3261 §8.2.6.1).
    bool send_100_trying = true;
};

}  // namespace sipcc
