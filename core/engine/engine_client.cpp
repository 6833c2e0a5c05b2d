// Requests we send: routing (outbound proxy, route sets), name resolution,
// transactions, digest answers to 401/407, CANCEL, and ACK for 2xx.
#include <algorithm>

#include "core/engine/engine_impl.hpp"
#include "core/message/builder.hpp"
#include "core/message/parser.hpp"

namespace sipcc {
namespace {

std::uint16_t default_port(const Uri& uri) {
    return uri.scheme == "sips" ? 5061 : 5060;
}

Transport transport_for(const Uri& uri, Transport fallback) {
    if (const auto* param = find_parameter(uri.params, "transport"); param && param->value) {
        if (auto transport = transport_from_string(*param->value)) return *transport;
    }
    return fallback;
}

}  // namespace

RequestHandle Engine::Impl::start(std::uint64_t now_ms, ClientRequest client) {
    const auto handle = next_request++;
    requests.emplace(handle, std::move(client));
    route_and_send(now_ms, handle);
    drain_transactions(now_ms);
    return handle;
}

// Sends the request to its next hop: the first Route, else the Request-URI
// (RFC 3261 §8.1.2), resolving the host first when it is a name.
void Engine::Impl::route_and_send(std::uint64_t now_ms, RequestHandle handle) {
    auto& client = requests.at(handle);
    const Uri next_hop = Dialog::next_hop(client.request);
    if (!next_hop.opaque.empty() || next_hop.host.empty()) {
        fail_request(now_ms, handle, FailureCause::bad_request,
                     "cannot route to " + next_hop.to_string());
        return;
    }
    const auto transport = transport_for(next_hop, config.transport);
    const auto port = next_hop.port.value_or(default_port(next_hop));
    if (is_numeric_ip(next_hop.host)) {
        start_transaction(now_ms, handle, Peer{transport, {next_hop.host, port}});
        return;
    }
    if (auto cached = resolved.find(next_hop.host); cached != resolved.end()) {
        start_transaction(now_ms, handle, Peer{transport, {cached->second, port}});
        return;
    }
    auto& waiting = waiting_for_host[next_hop.host];
    if (waiting.empty()) {
        const auto id = next_resolve++;
        resolving[id] = next_hop.host;
        resolves.push_back({id, next_hop.host});
    }
    waiting.push_back({PendingSend::Kind::start_transaction, handle, {}, transport, port});
}

void Engine::Impl::start_transaction(std::uint64_t now_ms, RequestHandle handle, Peer destination) {
    auto it = requests.find(handle);
    if (it == requests.end() || it->second.finished) return;
    auto& client = it->second;
    Message wire = client.request;
    wire.prepend_header("Via", make_via().to_string());
    client.destination = destination;
    client.transaction = transactions.start_client(now_ms, std::move(wire), destination);
    if (client.transaction == 0) {
        fail_request(now_ms, handle, FailureCause::bad_request,
                     "request rejected by the transaction layer");
        return;
    }
    request_by_transaction[client.transaction] = handle;
}

void Engine::Impl::send_stateless_to(std::uint64_t now_ms, std::string bytes, const Uri& next_hop) {
    (void)now_ms;
    const auto transport = transport_for(next_hop, config.transport);
    const auto port = next_hop.port.value_or(default_port(next_hop));
    if (is_numeric_ip(next_hop.host)) {
        send_bytes(std::move(bytes), Peer{transport, {next_hop.host, port}});
    } else if (auto cached = resolved.find(next_hop.host); cached != resolved.end()) {
        send_bytes(std::move(bytes), Peer{transport, {cached->second, port}});
    } else {
        auto& waiting = waiting_for_host[next_hop.host];
        if (waiting.empty()) {
            const auto id = next_resolve++;
            resolving[id] = next_hop.host;
            resolves.push_back({id, next_hop.host});
        }
        waiting.push_back({PendingSend::Kind::stateless, 0, std::move(bytes), transport, port});
    }
}

void Engine::Impl::fail_request(std::uint64_t now_ms, RequestHandle handle, FailureCause cause,
                                std::string detail, int status_code) {
    auto it = requests.find(handle);
    if (it == requests.end() || it->second.finished) return;
    it->second.finished = true;
    emit(now_ms, RequestFailedEvent{handle, cause, std::move(detail), status_code});
    if (it->second.request.method == "BYE" && it->second.dialog) {
        end_dialog(now_ms, *it->second.dialog, DialogEndCause::bye_sent);
    }
}

void Engine::Impl::learn_public_address(std::uint64_t now_ms, const Message& response) {
    auto via = response.top_via();
    if (!via) return;
    const auto* received = find_parameter(via->params, "received");
    const auto* rport = find_parameter(via->params, "rport");
    if ((received == nullptr || !received->value) && (rport == nullptr || !rport->value)) return;
    SocketAddress seen = contact_address();
    if (received && received->value) seen.ip = *received->value;
    if (rport && rport->value) {
        const auto port = parse_host_port("x:" + *rport->value);
        if (port && port->port) seen.port = *port->port;
    }
    if (seen == contact_address()) return;
    public_address = seen;
    emit(now_ms, PublicAddressLearned{seen});
}

void Engine::Impl::on_response(std::uint64_t now_ms, TransactionId transaction, Message response) {
    auto handle_it = request_by_transaction.find(transaction);
    if (handle_it == request_by_transaction.end()) return;
    const auto handle = handle_it->second;
    auto it = requests.find(handle);
    if (it == requests.end()) return;
    auto& client = it->second;
    // rport over TCP names the ephemeral port of our outgoing connection, not
    // where we listen: only datagram responses tell our public address.
    if (!is_reliable(client.destination.transport)) learn_public_address(now_ms, response);
    const bool is_invite = client.request.method == "INVITE";
    const int code = response.status_code;

    if (code < 200) {
        client.provisional_seen = true;
        std::optional<DialogId> dialog;
        auto to = response.to();
        if (is_invite && to && to->tag() && code > 100) {
            auto from = client.request.from();
            dialog = find_dialog(client.request.call_id(), from ? from->tag().value_or("") : "",
                                 *to->tag());
            if (!dialog) {
                if (auto early = dialog_from_response(client.request, response)) {
                    dialog = add_dialog(std::move(early).value());
                }
            }
            client.dialog = dialog;
        }
        emit(now_ms, ResponseEvent{handle, std::move(response), dialog});
        if (client.cancel_requested && !client.cancel_sent && !client.finished)
            send_cancel(now_ms, client);
        return;
    }
    if (is_invite && code < 300) {
        on_2xx_to_invite(now_ms, handle, client, response);
        return;
    }
    if (client.finished) return;
    if ((code == 401 || code == 407) && !client.cancel_requested) {
        answer_challenge(now_ms, handle, client, response);  // retries, or reports the failure
        return;
    }
    client.finished = true;
    const bool is_bye = client.request.method == "BYE";
    auto dialog = client.dialog;
    if (is_invite && dialog) {
        // §12.3: a non-2xx final response ends the early dialog(s) of the INVITE.
        if (auto early = dialogs.find(*dialog);
            early != dialogs.end() && early->second.dialog.state == Dialog::State::early) {
            dialog_by_key.erase(dialog_index_key(early->second.dialog.key));
            dialogs.erase(early);
            client.dialog.reset();
            dialog.reset();
        }
    }
    emit(now_ms, ResponseEvent{handle, std::move(response), dialog});
    if (is_bye && dialog) end_dialog(now_ms, *dialog, DialogEndCause::bye_sent);
}

void Engine::Impl::on_2xx_to_invite(std::uint64_t now_ms, RequestHandle handle,
                                    ClientRequest& client, const Message& response) {
    auto from = client.request.from();
    auto to = response.to();
    if (!from || !to || !to->tag()) return;  // a 2xx without To tag cannot form a dialog
    auto dialog_id = find_dialog(client.request.call_id(), from->tag().value_or(""), *to->tag());
    if (dialog_id) {
        auto& state = dialogs.at(*dialog_id);
        if (!state.ack_bytes.empty()) {
            // A retransmitted 2xx: our ACK was lost, send it again (§13.2.2.4).
            ++counters.ack_retransmissions;
            send_bytes(state.ack_bytes, state.ack_destination);
            return;
        }
        // The early dialog becomes confirmed; take the 2xx's route set and target.
        if (auto confirmed = dialog_from_response(client.request, response)) {
            state.dialog = std::move(confirmed).value();
        }
    } else {
        auto created = dialog_from_response(client.request, response);
        if (!created) return;
        dialog_id = add_dialog(std::move(created).value());
    }
    auto& state = dialogs.at(*dialog_id);
    state.dialog.state = Dialog::State::confirmed;
    client.dialog = dialog_id;

    Message ack = state.dialog.make_request("ACK");
    ack.prepend_header("Via", make_via().to_string());
    // Credentials of the INVITE go on the ACK too (§22.1).
    for (const char* name : {"Authorization", "Proxy-Authorization"}) {
        if (const auto* value = client.request.header(name)) ack.add_header(name, *value);
    }
    state.ack_bytes = ack.to_bytes();
    const Uri next_hop = Dialog::next_hop(ack);
    send_stateless_to(now_ms, state.ack_bytes, next_hop);
    if (!transmits.empty()) state.ack_destination = transmits.back().destination;

    const bool first_final = !client.finished;
    client.finished = true;
    if (first_final) emit(now_ms, ResponseEvent{handle, response, dialog_id});
    // A 2xx that crossed our CANCEL: the call is up but unwanted (§9.1, §15).
    if (client.cancel_requested && !state.bye_sent) {
        state.bye_sent = true;
        ClientRequest bye;
        bye.dialog = dialog_id;
        bye.request = state.dialog.make_request("BYE");
        start(now_ms, std::move(bye));
    }
}

void Engine::Impl::answer_challenge(std::uint64_t now_ms, RequestHandle handle,
                                    ClientRequest& client, const Message& response) {
    const bool proxy = response.status_code == 407;
    const char* challenge_header = proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
    std::vector<auth::DigestChallenge> challenges;
    for (const auto& value : response.header_values(challenge_header)) {
        if (auto parsed = auth::parse_challenges(value, proxy)) {
            challenges.insert(challenges.end(), parsed->begin(), parsed->end());
        }
    }
    const auto* challenge = auth::choose_strongest(challenges);
    if (challenge == nullptr) {
        fail_request(now_ms, handle, FailureCause::authentication_failed,
                     "no usable digest challenge in " + std::to_string(response.status_code),
                     response.status_code);
        return;
    }
    if (config.password.empty()) {
        fail_request(now_ms, handle, FailureCause::no_credentials,
                     "challenged for realm \"" + challenge->realm + "\" without a password",
                     response.status_code);
        return;
    }
    // Loop protection: a nonce we answered already means the credentials were
    // refused; a new nonce is retried only when the server says stale=true.
    const bool answered_before = !client.answered_nonces.empty();
    const bool same_nonce = std::find(client.answered_nonces.begin(), client.answered_nonces.end(),
                                      challenge->nonce) != client.answered_nonces.end();
    if (same_nonce || (answered_before && (!challenge->stale || client.stale_retries >= 2))) {
        fail_request(now_ms, handle, FailureCause::authentication_failed,
                     "credentials refused for realm \"" + challenge->realm + "\"",
                     response.status_code);
        return;
    }
    if (answered_before) ++client.stale_retries;
    client.answered_nonces.push_back(challenge->nonce);

    auto from = client.request.from();
    auth::Credentials credentials{config.auth_user, config.password};
    if (credentials.auth_user.empty() && from) credentials.auth_user = from->uri.user;

    // Same Call-ID, From tag and route; CSeq one higher (§22.2).
    Message retry = client.request;
    auto cseq = retry.cseq();
    if (!cseq) return;
    std::uint32_t next_cseq = cseq->number + 1;
    if (client.dialog) {
        if (auto dialog = dialogs.find(*client.dialog); dialog != dialogs.end()) {
            next_cseq = ++dialog->second.dialog.local_cseq;
        }
    }
    retry.set_header("CSeq", CSeq{next_cseq, cseq->method}.to_string());
    const auto request_uri = retry.request_uri.to_string();
    auth::DigestRequest digest_request{retry.method, request_uri, retry.body};
    const std::string cnonce = random.token(16);
    auto authorization =
        auth::build_authorization(*challenge, credentials, digest_request, 1, cnonce);
    if (!authorization) {
        fail_request(now_ms, handle, FailureCause::authentication_failed, authorization.error(),
                     response.status_code);
        return;
    }
    const auto header_name = std::string(auth::authorization_header_name(proxy));
    // Replace only credentials for the same realm; keep others (proxy + registrar).
    std::erase_if(retry.headers, [&](const Header& header) {
        return iequals(header.name, header_name) &&
               header.value.find("realm=\"" + challenge->realm + "\"") != std::string::npos;
    });
    retry.add_header(header_name, std::move(authorization).value());
    client.request = std::move(retry);
    client.provisional_seen = false;
    request_by_transaction.erase(client.transaction);
    route_and_send(now_ms, handle);
    return;
}

void Engine::Impl::send_cancel(std::uint64_t now_ms, ClientRequest& client) {
    const Message* invite = transactions.request_of(client.transaction);
    if (invite == nullptr) return;
    // §9.1: same Request-URI, Call-ID, To, From, CSeq number and top Via as the INVITE.
    Message cancel = Message::request("CANCEL", invite->request_uri);
    for (const char* name : {"Via", "Route", "From", "To", "Call-ID"}) {
        if (std::string_view(name) == "Via") {
            cancel.add_header("Via", *invite->header("Via"));
            continue;
        }
        for (const auto& value : invite->header_values(name)) cancel.add_header(name, value);
    }
    auto cseq = invite->cseq();
    cancel.add_header("CSeq", CSeq{cseq ? cseq->number : 1, "CANCEL"}.to_string());
    cancel.add_header("Max-Forwards", "70");
    client.cancel_sent = true;
    transactions.start_client(now_ms, std::move(cancel), client.destination);
}

}  // namespace sipcc
