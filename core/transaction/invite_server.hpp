// INVITE server transaction: RFC 3261 §17.2.1 with the Accepted state of RFC 6026 §7.1.
//
// State       Event                         Action                                Next
// ----------  ----------------------------  ------------------------------------  ----------
// (start)     INVITE received               RequestReceived to TU (by the layer)  Proceeding
// Proceeding  INVITE retransmission         re-send the last 1xx, if any          Proceeding
// Proceeding  1xx from TU                   send                                  Proceeding
// Proceeding  2xx from TU                   send; start L                         Accepted
// Proceeding  300-699 from TU               send; start H, and G (UDP)            Completed
// Accepted    INVITE retransmission         absorbed (the TU re-sends the 2xx)    Accepted
// Accepted    2xx from TU (retransmission)  send                                  Accepted
// Accepted    ACK with the 2xx's To tag     RequestReceived{transaction 0} to TU  Accepted
// Accepted    Timer L fires                 -                                     Terminated
// Completed   INVITE retransmission         re-send the final response            Completed
// Completed   Timer G fires                 re-send final; G = min(2 * G, T2)     Completed
// Completed   Timer H fires                 TransactionTimeout{'H'}               Terminated
// Completed   ACK                           stop G and H; start I                 Confirmed
//                                           (I = 0 on TCP: Terminated at once)
// Confirmed   INVITE or ACK                 absorbed                              Confirmed
// Confirmed   Timer I fires                 -                                     Terminated
// any         transport error               TransactionTransportError             Terminated
//
// The transaction never sends 100 Trying on its own (§17.2.1 lets the TU do it; the
// engine decides). A 2xx leads to Accepted rather than straight to Terminated (RFC
// 6026), so retransmitted INVITEs are absorbed instead of looking like new calls.
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

class InviteServer {
public:
    static constexpr TransactionKind kind = TransactionKind::invite_server;

    enum class State { Proceeding, Completed, Confirmed, Accepted, Terminated };

    // `response_destination` is where responses go (§18.2.2, RFC 3581), worked out by
    // the layer from `source` and the top Via of the request.
    InviteServer(TransactionId id, const TimerConfig& timers, Message request, Peer source,
                 Peer response_destination);

    // A request matching this transaction: a retransmitted INVITE or an ACK.
    void on_request(std::uint64_t now_ms, Message request, const Peer& source,
                    std::deque<TransactionTransmit>& wire, std::deque<TransactionEvent>& events);
    // The TU answers. Returns false when this state cannot send this response.
    bool respond(std::uint64_t now_ms, Message response, std::deque<TransactionTransmit>& wire);
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
    [[nodiscard]] const Peer& source() const { return source_; }
    // To tag of the final response sent (empty before one): RFC 2543 ACKs match on it.
    [[nodiscard]] const std::string& final_to_tag() const { return final_to_tag_; }

private:
    void on_ack(std::uint64_t now_ms, Message ack, const Peer& source,
                std::deque<TransactionEvent>& events);
    void resend_last_response(std::deque<TransactionTransmit>& wire) const;
    void terminate();

    TransactionId id_;
    TimerConfig timers_;
    Peer source_;
    Peer response_destination_;
    bool reliable_;
    Message request_;
    std::string last_response_bytes_;  // serialized once, re-sent on INVITE retransmissions
    std::string final_to_tag_;         // of the final response: identifies its ACK
    State state_ = State::Proceeding;

    std::uint64_t timer_g_interval_ms_;
    std::optional<std::uint64_t> timer_g_due_ms_;  // final response retransmission (UDP only)
    std::optional<std::uint64_t> timer_h_due_ms_;  // Completed: no ACK came, give up
    std::optional<std::uint64_t> timer_i_due_ms_;  // Confirmed: absorb ACK retransmissions
    std::optional<std::uint64_t> timer_l_due_ms_;  // Accepted: absorb INVITE retransmissions
};

}  // namespace sipcc
