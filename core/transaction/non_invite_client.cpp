#include "core/transaction/non_invite_client.hpp"

#include <algorithm>
#include <utility>

#include "core/transaction/timer_slots.hpp"

namespace sipcc {
NonInviteClient::NonInviteClient(TransactionId id, const TimerConfig& timers, Message request,
                                 Peer destination)
    : id_(id),
      timers_(timers),
      destination_(std::move(destination)),
      reliable_(is_reliable(destination_.transport)),
      request_(std::move(request)),
      request_bytes_(request_.to_bytes()),
      timer_e_interval_ms_(timers_.timer_e_initial_ms()) {}

void NonInviteClient::start(std::uint64_t now_ms, std::deque<TransactionTransmit>& wire) {
    wire.push_back({id_, destination_, request_bytes_});
    // §17.1.2.2: a reliable transport retransmits for us, so Timer E is not started.
    if (!reliable_) timer_e_due_ms_ = now_ms + timer_e_interval_ms_;
    timer_f_due_ms_ = now_ms + timers_.timer_f_ms();
}

void NonInviteClient::on_response(std::uint64_t now_ms, Message response,
                                  std::deque<TransactionEvent>& events) {
    if (state_ != State::Trying && state_ != State::Proceeding) return;  // retransmissions
    if (response.status_code < 200) {
        // Timer E keeps running: only a final response stops the retransmissions.
        state_ = State::Proceeding;
        events.push_back(ResponseReceived{id_, std::move(response)});
        return;
    }
    state_ = State::Completed;
    timer_e_due_ms_.reset();
    timer_f_due_ms_.reset();
    events.push_back(ResponseReceived{id_, std::move(response)});
    // Timer K = 0 on a reliable transport: no response retransmission can follow.
    if (reliable_) {
        terminate();
    } else {
        timer_k_due_ms_ = now_ms + timers_.timer_k_ms();
    }
}

void NonInviteClient::on_timer(std::uint64_t now_ms, std::deque<TransactionTransmit>& wire,
                               std::deque<TransactionEvent>& events) {
    // The give-up timers are checked first so a retransmission never goes out at the
    // very moment the transaction ends.
    if (is_due(timer_f_due_ms_, now_ms)) {
        events.push_back(TransactionTimeout{id_, 'F'});
        terminate();
        return;
    }
    if (is_due(timer_k_due_ms_, now_ms)) {
        terminate();
        return;
    }
    if (is_due(timer_e_due_ms_, now_ms)) {
        wire.push_back({id_, destination_, request_bytes_});
        // Trying backs off exponentially up to T2; once the server answered (Proceeding)
        // it is alive, so re-send at the slow T2 pace.
        timer_e_interval_ms_ = state_ == State::Trying
                                   ? std::min(2 * timer_e_interval_ms_, timers_.t2_ms)
                                   : timers_.t2_ms;
        timer_e_due_ms_ = now_ms + timer_e_interval_ms_;
    }
}

void NonInviteClient::on_transport_error(std::string reason, std::deque<TransactionEvent>& events) {
    if (state_ == State::Terminated) return;
    events.push_back(TransactionTransportError{id_, std::move(reason)});
    terminate();
}

std::optional<std::uint64_t> NonInviteClient::next_deadline_ms() const {
    return earliest_due_ms({timer_e_due_ms_, timer_f_due_ms_, timer_k_due_ms_});
}

std::string_view NonInviteClient::state_name() const {
    switch (state_) {
        case State::Trying:
            return "Trying";
        case State::Proceeding:
            return "Proceeding";
        case State::Completed:
            return "Completed";
        case State::Terminated:
            break;
    }
    return "Terminated";
}

void NonInviteClient::terminate() {
    state_ = State::Terminated;
    timer_e_due_ms_.reset();
    timer_f_due_ms_.reset();
    timer_k_due_ms_.reset();
}

}  // namespace sipcc
