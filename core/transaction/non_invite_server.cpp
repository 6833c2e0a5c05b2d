#include "core/transaction/non_invite_server.hpp"

#include <utility>

namespace sipcc {

NonInviteServer::NonInviteServer(TransactionId id, const TimerConfig& timers, Message request,
                                 Peer source, Peer response_destination)
    : id_(id),
      timers_(timers),
      source_(std::move(source)),
      response_destination_(std::move(response_destination)),
      reliable_(is_reliable(source_.transport)),
      request_(std::move(request)) {}

void NonInviteServer::on_request(std::deque<TransactionTransmit>& wire) const {
    // In Trying the TU has not answered yet, so the retransmission is simply absorbed.
    if (state_ == State::Proceeding || state_ == State::Completed) {
        wire.push_back({id_, response_destination_, last_response_bytes_});
    }
}

bool NonInviteServer::respond(std::uint64_t now_ms, Message response,
                              std::deque<TransactionTransmit>& wire) {
    if (state_ != State::Trying && state_ != State::Proceeding) return false;
    last_response_bytes_ = response.to_bytes();
    wire.push_back({id_, response_destination_, last_response_bytes_});
    if (response.status_code < 200) {
        state_ = State::Proceeding;
        return true;
    }
    state_ = State::Completed;
    // Timer J = 0 on a reliable transport: the request cannot be retransmitted.
    if (reliable_) {
        terminate();
    } else {
        timer_j_due_ms_ = now_ms + timers_.timer_j_ms();
    }
    return true;
}

void NonInviteServer::on_timer(std::uint64_t now_ms, std::deque<TransactionTransmit>& /*wire*/,
                               std::deque<TransactionEvent>& /*events*/) {
    if (timer_j_due_ms_ && *timer_j_due_ms_ <= now_ms) terminate();
}

void NonInviteServer::on_transport_error(std::string reason, std::deque<TransactionEvent>& events) {
    if (state_ == State::Terminated) return;
    events.push_back(TransactionTransportError{id_, std::move(reason)});
    terminate();
}

std::optional<std::uint64_t> NonInviteServer::next_deadline_ms() const {
    return timer_j_due_ms_;
}

std::string_view NonInviteServer::state_name() const {
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

void NonInviteServer::terminate() {
    state_ = State::Terminated;
    timer_j_due_ms_.reset();
}

}  // namespace sipcc
