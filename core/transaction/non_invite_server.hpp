// Non-INVITE server transaction: RFC 3261 §17.2.2.
//
// State       Event                         Action                                Next
// ----------  ----------------------------  ------------------------------------  ----------
// (start)     request received              RequestReceived to TU (by the layer)  Trying
// Trying      request retransmission        absorbed (nothing to re-send yet)     Trying
// Trying/     1xx from TU                   send                                  Proceeding
//  Proceeding
// Trying/     200-699 from TU               send; start J                         Completed
//  Proceeding                               (J = 0 on TCP: Terminated at once)
// Proceeding  request retransmission        re-send the last 1xx                  Proceeding
// Completed   request retransmission        re-send the final response            Completed
// Completed   response from TU              refused (respond() returns false)     Completed
// Completed   Timer J fires                 -                                     Terminated
// any         transport error               TransactionTransportError             Terminated
//
// There is no timer in Trying or Proceeding: RFC 3261 leaves answering to the TU, which
// must send a final response (the engine answers every request it is handed).
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

class NonInviteServer {
public:
    static constexpr TransactionKind kind = TransactionKind::non_invite_server;

    enum class State { Trying, Proceeding, Completed, Terminated };

    // `response_destination` is where responses go (§18.2.2, RFC 3581), worked out by
    // the layer from `source` and the top Via of the request.
    NonInviteServer(TransactionId id, const TimerConfig& timers, Message request, Peer source,
                    Peer response_destination);

    // A retransmission of the request that created this transaction.
    void on_request(std::deque<TransactionTransmit>& wire) const;
    // The TU answers. Returns false once a final response was sent.
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

private:
    void terminate();

    TransactionId id_;
    TimerConfig timers_;
    Peer source_;
    Peer response_destination_;
    bool reliable_;
    Message request_;
    std::string last_response_bytes_;  // serialized once, re-sent on request retransmissions
    State state_ = State::Trying;

    std::optional<std::uint64_t> timer_j_due_ms_;  // Completed: absorb request retransmissions
};

}  // namespace sipcc
