// A text ladder diagram of the datagrams on the virtual network, like
// sngrep's call flow: one column per host, one arrow per message.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "simulator/virtual_network.hpp"

namespace sipcc::sim {

struct LadderHost {
    SocketAddress address;
    std::string name;  // "controller", "alice" ...
};

// Hosts appear in the given order; addresses not listed get a column at the end.
std::string render_ladder(const std::vector<TraceEntry>& trace, std::vector<LadderHost> hosts);

// "INVITE", "200 OK (INVITE)", "NOTIFY (SIP/2.0 180 Ringing)": what an arrow says.
std::string ladder_label(const std::string& bytes);

}  // namespace sipcc::sim
