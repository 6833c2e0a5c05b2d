// INVITE client transaction: RFC 3261 §17.1.1 with the Accepted state of RFC 6026 §8.4.
//
// State       Event                         Action                                Next
// ----------  ----------------------------  ------------------------------------  ----------
// (start)     INVITE from the TU            send INVITE; start B, and A (UDP)     Calling
// Calling     Timer A fires                 re-send INVITE; A doubles             Calling
// Calling     Timer B fires                 TransactionTimeout{'B'}               Terminated
// Calling     1xx                           to TU; stop A and B                   Proceeding
// Proceeding  1xx                           to TU                                 Proceeding
// Calling/    2xx                           to TU; start M                        Accepted
//  Proceeding
// Calling/    300-699                       to TU; build and send ACK; start D    Completed
//  Proceeding                               (D = 0 on TCP: Terminated at once)
// Completed   300-699 (retransmission)      re-send the ACK                       Completed
// Completed   Timer D fires                 -                                     Terminated
// Accepted    2xx (any, retransmissions     to TU (the TU ACKs every 2xx itself)  Accepted
//              or other forks)
// Accepted    Timer M fires                 -                                     Terminated
// any         transport error               TransactionTransportError             Terminated
//
// Everything else is absorbed. Timer B only runs in Calling (RFC 3261 Figure 5):
// once a provisional response arrived, ending a call that rings forever is the TU's
// decision (CANCEL), not the transaction's.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "core/message/message.hpp"
#include "core/net/address.hpp"
#include "core/transaction/timers.hpp"
#include "core/transaction/transaction_layer.hpp"

namespace sipcc {

class InviteClient {
public:
    static constexpr TransactionKind kind = TransactionKind::invite_client;

    enum class State { Calling, Proceeding, Completed, Accepted, Terminated };

    // `request` must be an INVITE whose top Via has a branch and whose CSeq
    // parses (the layer checks both before building a transaction).
    InviteClient(TransactionId id, const TimerConfig& timers, Message request, Peer destination);

    // Sends the INVITE and starts Timer B (and Timer A on unreliable transports).
    void start(std::uint64_t now_ms, std::deque<TransactionTransmit>& wire);

    void on_response(std::uint64_t now_ms, Message response, std::deque<TransactionTransmit>& wire,
                     std::deque<TransactionEvent>& events);
    // Fires every timer that is due at `now_ms`.
    void on_timer(std::uint64_t now_ms, std::deque<TransactionTransmit>& wire,
                  std::deque<TransactionEvent>& events);
    void on_transport_error(std::string reason, std::deque<TransactionEvent>& events);

    // The earliest running timer, or nullopt when none runs.
    [[nodiscard]] std::optional<std::uint64_t> next_deadline_ms() const;
    [[nodiscard]] State state() const { return state_; }
    [[nodiscard]] std::string_view state_name() const;
    [[nodiscard]] bool terminated() const { return state_ == State::Terminated; }
    [[nodiscard]] const Message& request() const { return request_; }

private:
    void enter_completed(std::uint64_t now_ms, const Message& response,
                         std::deque<TransactionTransmit>& wire);
    void terminate();
    // §17.1.1.3: the ACK for a non-2xx final response belongs to this transaction.
    [[nodiscard]] Message build_ack(const Message& response) const;

    TransactionId id_;
    TimerConfig timers_;
    Peer destination_;
    bool reliable_;
    Message request_;
    std::string request_bytes_;  // serialized once, re-sent by Timer A
    std::string ack_bytes_;      // built once in Completed, re-sent per retransmitted final
    State state_ = State::Calling;

    std::uint64_t timer_a_interval_ms_;
    std::optional<std::uint64_t> timer_a_due_ms_;  // INVITE retransmission (UDP only)
    std::optional<std::uint64_t> timer_b_due_ms_;  // no response at all: give up
    std::optional<std::uint64_t> timer_d_due_ms_;  // Completed: absorb final retransmissions
    std::optional<std::uint64_t> timer_m_due_ms_;  // Accepted: keep passing 2xx up (RFC 6026)
};

}  // namespace sipcc
