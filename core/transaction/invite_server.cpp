#include "core/transaction/invite_server.hpp"

#include <algorithm>
#include <utility>

#include "core/transaction/timer_slots.hpp"

namespace sipcc {
namespace {

std::string to_tag_of(const Message& message) {
    auto to = message.to();
    if (!to) return {};
    return to->tag().value_or("");
}

}  // namespace

InviteServer::InviteServer(TransactionId id, const TimerConfig& timers, Message request,
                           Peer source, Peer response_destination)
    : id_(id),
      timers_(timers),
      source_(std::move(source)),
      response_destination_(std::move(response_destination)),
      reliable_(is_reliable(source_.transport)),
      request_(std::move(request)),
      timer_g_interval_ms_(timers_.timer_g_initial_ms()) {}

void InviteServer::on_request(std::uint64_t now_ms, Message request, const Peer& source,
                              std::deque<TransactionTransmit>& wire,
                              std::deque<TransactionEvent>& events) {
    if (request.method == "ACK") {
        on_ack(now_ms, std::move(request), source, events);
        return;
    }
    // A retransmitted INVITE: the client missed our last response.
    switch (state_) {
        case State::Proceeding:
        case State::Completed:
            resend_last_response(wire);
            break;
        case State::Accepted:   // the TU retransmits its 2xx itself (RFC 6026 §7.1)
        case State::Confirmed:  // the client already ACKed: a late copy
        case State::Terminated:
            break;
    }
}

void InviteServer::on_ack(std::uint64_t now_ms, Message ack, const Peer& source,
                          std::deque<TransactionEvent>& events) {
    switch (state_) {
        case State::Completed:
            state_ = State::Confirmed;
            timer_g_due_ms_.reset();
            timer_h_due_ms_.reset();
            // Timer I = 0 on a reliable transport: no ACK retransmission can follow.
            if (reliable_) {
                terminate();
            } else {
                timer_i_due_ms_ = now_ms + timers_.timer_i_ms();
            }
            break;
        case State::Accepted:
            // The ACK for our 2xx belongs to the dialog, not to this transaction.
            if (to_tag_of(ack) == final_to_tag_) {
                events.push_back(RequestReceived{0, std::move(ack), source, 0});
            }
            break;
        case State::Proceeding:  // no final response yet: nothing to acknowledge
        case State::Confirmed:   // ACK retransmission
        case State::Terminated:
            break;
    }
}

bool InviteServer::respond(std::uint64_t now_ms, Message response,
                           std::deque<TransactionTransmit>& wire) {
    const int code = response.status_code;
    switch (state_) {
        case State::Proceeding:
            last_response_bytes_ = response.to_bytes();
            wire.push_back({id_, response_destination_, last_response_bytes_});
            if (code < 200) return true;
            final_to_tag_ = to_tag_of(response);
            if (code < 300) {
                state_ = State::Accepted;
                timer_l_due_ms_ = now_ms + timers_.timer_l_ms();
            } else {
                state_ = State::Completed;
                // §17.2.1: only an unreliable transport needs our final response re-sent.
                if (!reliable_) timer_g_due_ms_ = now_ms + timer_g_interval_ms_;
                timer_h_due_ms_ = now_ms + timers_.timer_h_ms();
            }
            return true;
        case State::Accepted:
            // RFC 6026 §7.1: the TU's 2xx retransmissions go through the transaction.
            if (code < 200 || code >= 300) return false;
            wire.push_back({id_, response_destination_, response.to_bytes()});
            return true;
        case State::Completed:
        case State::Confirmed:
        case State::Terminated:
            break;
    }
    return false;
}

void InviteServer::on_timer(std::uint64_t now_ms, std::deque<TransactionTransmit>& wire,
                            std::deque<TransactionEvent>& events) {
    // The give-up timer is checked first so a retransmission never goes out at the
    // very moment the transaction ends.
    if (is_due(timer_h_due_ms_, now_ms)) {
        events.push_back(TransactionTimeout{id_, 'H'});
        terminate();
        return;
    }
    if (is_due(timer_i_due_ms_, now_ms) || is_due(timer_l_due_ms_, now_ms)) {
        terminate();
        return;
    }
    if (is_due(timer_g_due_ms_, now_ms)) {
        resend_last_response(wire);
        timer_g_interval_ms_ = std::min(2 * timer_g_interval_ms_, timers_.t2_ms);
        timer_g_due_ms_ = now_ms + timer_g_interval_ms_;
    }
}

void InviteServer::on_transport_error(std::string reason, std::deque<TransactionEvent>& events) {
    if (state_ == State::Terminated) return;
    events.push_back(TransactionTransportError{id_, std::move(reason)});
    terminate();
}

std::optional<std::uint64_t> InviteServer::next_deadline_ms() const {
    return earliest_due_ms({timer_g_due_ms_, timer_h_due_ms_, timer_i_due_ms_, timer_l_due_ms_});
}

std::string_view InviteServer::state_name() const {
    switch (state_) {
        case State::Proceeding:
            return "Proceeding";
        case State::Completed:
            return "Completed";
        case State::Confirmed:
            return "Confirmed";
        case State::Accepted:
            return "Accepted";
        case State::Terminated:
            break;
    }
    return "Terminated";
}

void InviteServer::resend_last_response(std::deque<TransactionTransmit>& wire) const {
    if (!last_response_bytes_.empty()) {
        wire.push_back({id_, response_destination_, last_response_bytes_});
    }
}

void InviteServer::terminate() {
    state_ = State::Terminated;
    timer_g_due_ms_.reset();
    timer_h_due_ms_.reset();
    timer_i_due_ms_.reset();
    timer_l_due_ms_.reset();
}

}  // namespace sipcc
