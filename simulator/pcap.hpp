// The simulated traffic as a classic pcap file (LINKTYPE_RAW, IPv4 + UDP
// headers synthesized around each SIP message) that tshark and Wireshark open.
#pragma once

#include <string>
#include <vector>

#include "simulator/virtual_network.hpp"

namespace sipcc::sim {

// Every datagram as sent (lost ones included: a capture at the sender sees
// them), timestamped with virtual time. IPv6 entries are skipped.
std::string to_pcap(const std::vector<TraceEntry>& trace);

}  // namespace sipcc::sim
