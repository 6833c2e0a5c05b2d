// Non-INVITE client transaction: RFC 3261 §17.1.2 (with RFC 6026's wording of Figure 6).
//
// State       Event                         Action                                Next
// ----------  ----------------------------  ------------------------------------  ----------
// (start)     request from the TU           send request; start F, and E (UDP)    Trying
// Trying      Timer E fires                 re-send; E = min(2 * E, T2)           Trying
// Trying      1xx                           to TU                                 Proceeding
// Proceeding  1xx                           to TU                                 Proceeding
// Proceeding  Timer E fires                 re-send; E = T2                       Proceeding
// Trying/     Timer F fires                 TransactionTimeout{'F'}               Terminated
//  Proceeding
// Trying/     200-699                       to TU; stop E and F; start K          Completed
//  Proceeding                               (K = 0 on TCP: Terminated at once)
// Completed   any response                  absorbed (retransmissions)            Completed
// Completed   Timer K fires                 -                                     Terminated
// any         transport error               TransactionTransportError             Terminated
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

class NonInviteClient {
public:
    static constexpr TransactionKind kind = TransactionKind::non_invite_client;

    enum class State { Trying, Proceeding, Completed, Terminated };

    NonInviteClient(TransactionId id, const TimerConfig& timers, Message request, Peer destination);

    // Sends the request and starts Timer F (and Timer E on unreliable transports).
    void start(std::uint64_t now_ms, std::deque<TransactionTransmit>& wire);

    void on_response(std::uint64_t now_ms, Message response, std::deque<TransactionEvent>& events);
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
    void terminate();

    TransactionId id_;
    TimerConfig timers_;
    Peer destination_;
    bool reliable_;
    Message request_;
    std::string request_bytes_;  // serialized once, re-sent by Timer E
    State state_ = State::Trying;

    std::uint64_t timer_e_interval_ms_;
    std::optional<std::uint64_t> timer_e_due_ms_;  // request retransmission (UDP only)
    std::optional<std::uint64_t> timer_f_due_ms_;  // no final response: give up
    std::optional<std::uint64_t> timer_k_due_ms_;  // Completed: absorb final retransmissions
};

}  // namespace sipcc
