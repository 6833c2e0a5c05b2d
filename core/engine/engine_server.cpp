// Requests we receive: rport/received marking, dialog matching (481, 500),
// CANCEL (200 + 487), BYE, ACK for our 2xx, and responding (with the UAS 2xx
// retransmitted until the ACK arrives).
#include "core/engine/engine_impl.hpp"
#include "core/message/builder.hpp"
#include "core/message/parser.hpp"

namespace sipcc {

void Engine::Impl::answer(std::uint64_t now_ms, TransactionId transaction, const Message& request,
                          int status_code, const std::string& to_tag) {
    transactions.respond(
        now_ms, transaction,
        make_response(request, status_code, to_tag.empty() ? random.token(10) : to_tag));
}

void Engine::Impl::on_request(std::uint64_t now_ms, const RequestReceived& received) {
    const Message& request = received.request;
    if (request.method == "ACK") {
        on_ack(now_ms, request);
        return;
    }
    if (request.method == "CANCEL") {
        on_cancel(now_ms, received);
        return;
    }
    auto to = request.to();
    auto from = request.from();
    auto cseq = request.cseq();
    if (!from || !from->tag()) {
        transactions.respond(now_ms, received.transaction,
                             make_response(request, 400, random.token(10), "Missing From tag"));
        return;
    }
    std::optional<DialogId> dialog_id;
    if (to && to->tag()) {
        // In-dialog request (§12.2.2): the dialog must exist and CSeq must grow.
        dialog_id = find_dialog(request.call_id(), *to->tag(), *from->tag());
        if (!dialog_id) {
            ++counters.answered_481;
            answer(now_ms, received.transaction, request, 481);
            return;
        }
        auto& state = dialogs.at(*dialog_id);
        if (!state.dialog.accept_remote_cseq(cseq->number)) {
            ++counters.answered_500_cseq;
            transactions.respond(
                now_ms, received.transaction,
                make_response(request, 500, {}, "Server Internal Error (CSeq out of order)"));
            return;
        }
        // A target refresh updates the remote target (§12.2.2).
        if (request.method == "INVITE" || request.method == "UPDATE") {
            if (auto contacts = request.name_addrs("Contact"); contacts && !contacts->empty()) {
                state.dialog.remote_target = contacts->front().uri;
            }
        }
        if (request.method == "BYE") {
            transactions.respond(now_ms, received.transaction, make_response(request, 200));
            state.awaiting_ack = false;
            end_dialog(now_ms, *dialog_id, DialogEndCause::bye_received);
            return;
        }
    }
    IncomingRequest incoming_request;
    incoming_request.request = request;
    incoming_request.source = received.source;
    incoming_request.dialog = dialog_id;
    incoming_request.local_tag = (to && to->tag()) ? *to->tag() : random.token(10);
    incoming.emplace(received.transaction, std::move(incoming_request));
    if (request.method == "INVITE" && !dialog_id && config.send_100_trying) {
        transactions.respond(now_ms, received.transaction, make_response(request, 100));
    }
    emit(now_ms, IncomingRequestEvent{received.transaction, request, received.source, dialog_id});
}

void Engine::Impl::on_ack(std::uint64_t now_ms, const Message& ack) {
    auto to = ack.to();
    auto from = ack.from();
    if (!to || !from || !to->tag() || !from->tag()) return;
    auto dialog_id = find_dialog(ack.call_id(), *to->tag(), *from->tag());
    if (!dialog_id) return;  // an ACK for nothing we know: dropped (§17.2.3)
    auto& state = dialogs.at(*dialog_id);
    if (!state.awaiting_ack) return;  // a retransmitted ACK
    state.awaiting_ack = false;
    emit(now_ms, AckReceivedEvent{*dialog_id, ack});
}

void Engine::Impl::on_cancel(std::uint64_t now_ms, const RequestReceived& received) {
    if (received.cancelled_invite == 0) {
        ++counters.answered_481;
        answer(now_ms, received.transaction, received.request, 481);
        return;
    }
    auto it = incoming.find(received.cancelled_invite);
    const std::string tag = it != incoming.end() ? it->second.local_tag : std::string();
    answer(now_ms, received.transaction, received.request, 200, tag);
    if (it == incoming.end() || it->second.final_sent) return;  // too late: already answered
    it->second.final_sent = true;
    answer(now_ms, received.cancelled_invite, it->second.request, 487, tag);
    emit(now_ms, IncomingCancelledEvent{received.cancelled_invite});
}

bool Engine::Impl::respond(std::uint64_t now_ms, IncomingId id, int status_code,
                           std::vector<Header> headers, std::string body, std::string content_type,
                           std::string reason_phrase) {
    auto it = incoming.find(id);
    if (it == incoming.end() || it->second.final_sent || status_code < 100 || status_code > 699) {
        return false;
    }
    auto& incoming_request = it->second;
    const Message& request = incoming_request.request;
    const bool is_invite = request.method == "INVITE";
    Message response =
        make_response(request, status_code, incoming_request.local_tag, std::move(reason_phrase));
    const bool creates_dialog = is_invite && status_code > 100 && status_code < 300;
    if (creates_dialog) {
        // §12.1.1: the UAS copies Record-Route into dialog-creating responses.
        for (const auto& value : request.header_values("Record-Route")) {
            response.add_header("Record-Route", value);
        }
    }
    if (creates_dialog || (status_code >= 200 && status_code < 300 &&
                           (request.method == "SUBSCRIBE" || request.method == "REFER"))) {
        auto to = request.to();
        response.add_header("Contact", contact_for(to ? to->uri.user : std::string()).to_string());
    }
    response.add_header("Server", config.user_agent);
    for (auto& header : headers) response.add_header(header.name, std::move(header.value));
    if (!body.empty()) {
        response.set_header("Content-Type", content_type);
        response.body = std::move(body);
    }
    if (status_code >= 200) incoming_request.final_sent = true;

    if (is_invite && status_code >= 200 && status_code < 300) {
        // A new INVITE creates the dialog; a re-INVITE reuses it. Either way the
        // 2xx is retransmitted (T1 doubling to T2) until the ACK, or given up at
        // 64*T1 (§13.3.1.4). Over a reliable transport only the give-up applies.
        std::optional<DialogId> dialog_id = incoming_request.dialog;
        if (!dialog_id) {
            if (auto created = dialog_from_request(request, incoming_request.local_tag)) {
                dialog_id = add_dialog(std::move(created).value());
            }
        }
        if (dialog_id) {
            auto& state = dialogs.at(*dialog_id);
            state.awaiting_ack = true;
            state.invite_cseq = request.cseq()->number;
            state.ok_give_up_at_ms = now_ms + 64 * config.timers.t1_ms;
            state.ok_interval_ms = config.timers.t1_ms;
            const bool reliable = is_reliable(incoming_request.source.transport);
            timers.emplace(reliable ? state.ok_give_up_at_ms : now_ms + state.ok_interval_ms,
                           std::make_pair(EngineTimerKind::ok_retransmit, *dialog_id));
            capture_ok_for[id] = *dialog_id;
            incoming_request.dialog = dialog_id;
        }
    }
    return transactions.respond(now_ms, id, std::move(response));
}

}  // namespace sipcc
