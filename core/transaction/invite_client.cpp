#include "core/transaction/invite_client.hpp"

#include <utility>

#include "core/transaction/timer_slots.hpp"

namespace sipcc {
InviteClient::InviteClient(TransactionId id, const TimerConfig& timers, Message request,
                           Peer destination)
    : id_(id),
      timers_(timers),
      destination_(std::move(destination)),
      reliable_(is_reliable(destination_.transport)),
      request_(std::move(request)),
      request_bytes_(request_.to_bytes()),
      timer_a_interval_ms_(timers_.timer_a_initial_ms()) {}

void InviteClient::start(std::uint64_t now_ms, std::deque<TransactionTransmit>& wire) {
    wire.push_back({id_, destination_, request_bytes_});
    // §17.1.1.2: a reliable transport retransmits for us, so Timer A is not started.
    if (!reliable_) timer_a_due_ms_ = now_ms + timer_a_interval_ms_;
    timer_b_due_ms_ = now_ms + timers_.timer_b_ms();
}

void InviteClient::on_response(std::uint64_t now_ms, Message response,
                               std::deque<TransactionTransmit>& wire,
                               std::deque<TransactionEvent>& events) {
    const int code = response.status_code;
    switch (state_) {
        case State::Calling:
        case State::Proceeding:
            // Any response proves the INVITE arrived: stop retransmitting and stop Timer B.
            timer_a_due_ms_.reset();
            timer_b_due_ms_.reset();
            if (code < 200) {
                state_ = State::Proceeding;
                events.push_back(ResponseReceived{id_, std::move(response)});
            } else if (code < 300) {
                // RFC 6026: stay around to pass up 2xx retransmissions and forked 2xx.
                state_ = State::Accepted;
                timer_m_due_ms_ = now_ms + timers_.timer_m_ms();
                events.push_back(ResponseReceived{id_, std::move(response)});
            } else {
                enter_completed(now_ms, response, wire);
                events.push_back(ResponseReceived{id_, std::move(response)});
            }
            break;
        case State::Completed:
            // The peer did not get our ACK: send it again, the TU already has the response.
            if (code >= 300) wire.push_back({id_, destination_, ack_bytes_});
            break;
        case State::Accepted:
            // RFC 6026 §8.4: every 2xx goes up so the TU can ACK each one.
            if (code >= 200 && code < 300) {
                events.push_back(ResponseReceived{id_, std::move(response)});
            }
            break;
        case State::Terminated:
            break;
    }
}

void InviteClient::on_timer(std::uint64_t now_ms, std::deque<TransactionTransmit>& wire,
                            std::deque<TransactionEvent>& events) {
    // The give-up timers are checked first so a retransmission never goes out at the
    // very moment the transaction ends.
    if (is_due(timer_b_due_ms_, now_ms)) {
        events.push_back(TransactionTimeout{id_, 'B'});
        terminate();
        return;
    }
    if (is_due(timer_d_due_ms_, now_ms) || is_due(timer_m_due_ms_, now_ms)) {
        terminate();
        return;
    }
    if (is_due(timer_a_due_ms_, now_ms)) {
        wire.push_back({id_, destination_, request_bytes_});
        timer_a_interval_ms_ *= 2;
        timer_a_due_ms_ = now_ms + timer_a_interval_ms_;
    }
}

void InviteClient::on_transport_error(std::string reason, std::deque<TransactionEvent>& events) {
    if (state_ == State::Terminated) return;
    events.push_back(TransactionTransportError{id_, std::move(reason)});
    terminate();
}

std::optional<std::uint64_t> InviteClient::next_deadline_ms() const {
    return earliest_due_ms({timer_a_due_ms_, timer_b_due_ms_, timer_d_due_ms_, timer_m_due_ms_});
}

std::string_view InviteClient::state_name() const {
    switch (state_) {
        case State::Calling:
            return "Calling";
        case State::Proceeding:
            return "Proceeding";
        case State::Completed:
            return "Completed";
        case State::Accepted:
            return "Accepted";
        case State::Terminated:
            break;
    }
    return "Terminated";
}

void InviteClient::enter_completed(std::uint64_t now_ms, const Message& response,
                                   std::deque<TransactionTransmit>& wire) {
    state_ = State::Completed;
    ack_bytes_ = build_ack(response).to_bytes();
    wire.push_back({id_, destination_, ack_bytes_});
    // Timer D = 0 on a reliable transport: no final retransmission can follow.
    if (reliable_) {
        terminate();
    } else {
        timer_d_due_ms_ = now_ms + timers_.timer_d_ms();
    }
}

void InviteClient::terminate() {
    state_ = State::Terminated;
    timer_a_due_ms_.reset();
    timer_b_due_ms_.reset();
    timer_d_due_ms_.reset();
    timer_m_due_ms_.reset();
}

Message InviteClient::build_ack(const Message& response) const {
    // §17.1.1.3: Request-URI, Call-ID, From and the CSeq number of the INVITE, the To of
    // the response (its tag identifies the UAS), only the top Via, and the INVITE's Route.
    Message ack = Message::request("ACK", request_.request_uri);
    if (const auto* top_via = request_.header("Via")) ack.add_header("Via", *top_via);
    ack.add_header("Max-Forwards", "70");
    for (auto& route : request_.header_values("Route")) ack.add_header("Route", std::move(route));
    if (const auto* from = request_.header("From")) ack.add_header("From", *from);
    if (const auto* to = response.header("To")) ack.add_header("To", *to);
    ack.add_header("Call-ID", request_.call_id());
    const auto cseq = request_.cseq();
    ack.add_header("CSeq", CSeq{cseq ? cseq->number : 0, "ACK"}.to_string());
    return ack;
}

}  // namespace sipcc
