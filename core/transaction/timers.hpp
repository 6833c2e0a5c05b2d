// RFC 3261 timer values (§17, Table 4). Everything derives from T1, T2, T4.
#pragma once

#include <cstdint>

namespace sipcc {

struct TimerConfig {
    std::uint64_t t1_ms = 500;   // RTT estimate
    std::uint64_t t2_ms = 4000;  // maximum retransmit interval for non-INVITE requests and INVITE responses
    std::uint64_t t4_ms = 5000;  // maximum duration a message remains in the network

    [[nodiscard]] std::uint64_t timer_a_initial_ms() const { return t1_ms; }     // INVITE retransmit
    [[nodiscard]] std::uint64_t timer_b_ms() const { return 64 * t1_ms; }        // INVITE timeout
    [[nodiscard]] std::uint64_t timer_d_ms() const { return 32000; }             // wait for response retransmits (unreliable; >= 32 s)
    [[nodiscard]] std::uint64_t timer_e_initial_ms() const { return t1_ms; }     // non-INVITE retransmit
    [[nodiscard]] std::uint64_t timer_f_ms() const { return 64 * t1_ms; }        // non-INVITE timeout
    [[nodiscard]] std::uint64_t timer_g_initial_ms() const { return t1_ms; }     // INVITE response retransmit
    [[nodiscard]] std::uint64_t timer_h_ms() const { return 64 * t1_ms; }        // wait for ACK
    [[nodiscard]] std::uint64_t timer_i_ms() const { return t4_ms; }             // wait for ACK retransmits (unreliable)
    [[nodiscard]] std::uint64_t timer_j_ms() const { return 64 * t1_ms; }        // wait for non-INVITE request retransmits (unreliable)
    [[nodiscard]] std::uint64_t timer_k_ms() const { return t4_ms; }             // wait for response retransmits (unreliable)
    // RFC 6026: how long the Accepted state lasts (2xx retransmissions / ACKs).
    [[nodiscard]] std::uint64_t timer_l_ms() const { return 64 * t1_ms; }        // INVITE server, Accepted
    [[nodiscard]] std::uint64_t timer_m_ms() const { return 64 * t1_ms; }        // INVITE client, Accepted
};

}  // namespace sipcc
