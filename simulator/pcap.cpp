#include "simulator/pcap.hpp"

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>

namespace sipcc::sim {
namespace {

template <class T>
void put(std::string& out, T value) {  // host byte order, as the pcap magic tells readers
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void put_be16(std::string& out, std::uint16_t value) {
    out += static_cast<char>(value >> 8);
    out += static_cast<char>(value & 0xff);
}

std::uint16_t ipv4_checksum(const unsigned char* header, std::size_t length) {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < length; i += 2) sum += (header[i] << 8) | header[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

}  // namespace

std::string to_pcap(const std::vector<TraceEntry>& trace) {
    std::string out;
    put<std::uint32_t>(out, 0xa1b2c3d4);  // microsecond timestamps
    put<std::uint16_t>(out, 2);
    put<std::uint16_t>(out, 4);
    put<std::int32_t>(out, 0);
    put<std::uint32_t>(out, 0);
    put<std::uint32_t>(out, 65535);
    put<std::uint32_t>(out, 101);  // LINKTYPE_RAW: packets start with the IP header
    std::uint16_t ip_id = 1;
    for (const auto& entry : trace) {
        in_addr source{}, destination{};
        if (inet_pton(AF_INET, entry.from.address.ip.c_str(), &source) != 1 ||
            inet_pton(AF_INET, entry.to.address.ip.c_str(), &destination) != 1) {
            continue;
        }
        const auto payload = entry.bytes.substr(0, 65535 - 28);
        const auto total = static_cast<std::uint16_t>(20 + 8 + payload.size());
        std::string packet;
        packet += static_cast<char>(0x45);  // IPv4, 20-byte header
        packet += '\0';
        put_be16(packet, total);
        put_be16(packet, ip_id++);
        put_be16(packet, 0);
        packet += static_cast<char>(64);  // TTL
        packet += static_cast<char>(17);  // UDP (TCP in the simulation is shown as UDP too)
        put_be16(packet, 0);              // checksum, below
        packet.append(reinterpret_cast<const char*>(&source), 4);
        packet.append(reinterpret_cast<const char*>(&destination), 4);
        const auto checksum =
            ipv4_checksum(reinterpret_cast<const unsigned char*>(packet.data()), 20);
        packet[10] = static_cast<char>(checksum >> 8);
        packet[11] = static_cast<char>(checksum & 0xff);
        put_be16(packet, entry.from.address.port);
        put_be16(packet, entry.to.address.port);
        put_be16(packet, static_cast<std::uint16_t>(8 + payload.size()));
        put_be16(packet, 0);  // no UDP checksum (allowed for IPv4)
        packet += payload;
        put<std::uint32_t>(out, static_cast<std::uint32_t>(entry.sent_ms / 1000));
        put<std::uint32_t>(out, static_cast<std::uint32_t>((entry.sent_ms % 1000) * 1000));
        put<std::uint32_t>(out, static_cast<std::uint32_t>(packet.size()));
        put<std::uint32_t>(out, static_cast<std::uint32_t>(packet.size()));
        out += packet;
    }
    return out;
}

}  // namespace sipcc::sim
