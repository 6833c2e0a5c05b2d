// Engine inputs, outputs, timers and the plumbing between the transaction
// layer and the client/server halves (engine_client.cpp, engine_server.cpp).
#include "core/engine/engine.hpp"

#include <algorithm>

#include "core/engine/engine_impl.hpp"
#include "core/message/builder.hpp"
#include "core/message/parser.hpp"

namespace sipcc {

std::string_view to_string(FailureCause cause) {
    switch (cause) {
        case FailureCause::timeout:
            return "timeout";
        case FailureCause::transport_error:
            return "transport error";
        case FailureCause::resolution_failed:
            return "name resolution failed";
        case FailureCause::authentication_failed:
            return "authentication failed";
        case FailureCause::no_credentials:
            return "no credentials";
        case FailureCause::bad_request:
            return "bad request";
    }
    return "unknown";
}

std::string_view to_string(DialogEndCause cause) {
    switch (cause) {
        case DialogEndCause::bye_received:
            return "bye received";
        case DialogEndCause::bye_sent:
            return "bye sent";
        case DialogEndCause::ack_timeout:
            return "no ACK for our 2xx";
    }
    return "unknown";
}

Engine::Impl::Impl(EngineConfig engine_config)
    : config(std::move(engine_config)), random(config.seed), transactions(config.timers) {}

void Engine::Impl::emit(std::uint64_t now_ms, EngineEventPayload payload) {
    events.push_back({now_ms, std::move(payload)});
}

void Engine::Impl::send_bytes(std::string bytes, Peer destination) {
    ++counters.messages_sent;
    transmits.push_back({std::move(destination), std::move(bytes)});
}

// Moves everything the transaction layer produced into the engine's outputs,
// reacting to its events. Reactions may produce more, hence the loop.
void Engine::Impl::drain_transactions(std::uint64_t now_ms) {
    for (;;) {
        bool progressed = false;
        while (auto transmit = transactions.poll_transmit()) {
            progressed = true;
            if (auto capture = capture_ok_for.find(transmit->transaction);
                capture != capture_ok_for.end()) {
                if (auto dialog = dialogs.find(capture->second); dialog != dialogs.end()) {
                    dialog->second.ok_bytes = transmit->bytes;
                    dialog->second.ok_destination = transmit->destination;
                }
                capture_ok_for.erase(capture);
            }
            send_bytes(std::move(transmit->bytes), transmit->destination);
        }
        while (auto event = transactions.poll_event()) {
            progressed = true;
            std::visit(
                [&](auto& e) {
                    using T = std::decay_t<decltype(e)>;
                    if constexpr (std::is_same_v<T, ResponseReceived>) {
                        on_response(now_ms, e.transaction, std::move(e.response));
                    } else if constexpr (std::is_same_v<T, RequestReceived>) {
                        on_request(now_ms, e);
                    } else if constexpr (std::is_same_v<T, TransactionTimeout>) {
                        if (auto it = request_by_transaction.find(e.transaction);
                            it != request_by_transaction.end()) {
                            fail_request(now_ms, it->second, FailureCause::timeout,
                                         std::string("Timer ") + e.timer + " fired");
                        }
                    } else if constexpr (std::is_same_v<T, TransactionTransportError>) {
                        if (auto it = request_by_transaction.find(e.transaction);
                            it != request_by_transaction.end()) {
                            fail_request(now_ms, it->second, FailureCause::transport_error,
                                         e.reason);
                        }
                    } else if constexpr (std::is_same_v<T, TransactionTerminated>) {
                        // A finished request whose last transaction is gone is forgotten
                        // (an auth retry leaves the old transaction behind: keep those).
                        if (auto it = request_by_transaction.find(e.transaction);
                            it != request_by_transaction.end()) {
                            auto request = requests.find(it->second);
                            if (request != requests.end() && request->second.finished &&
                                request->second.transaction == e.transaction) {
                                requests.erase(request);
                            }
                        }
                        request_by_transaction.erase(e.transaction);
                        incoming.erase(e.transaction);
                        capture_ok_for.erase(e.transaction);
                    }
                },
                *event);
        }
        if (!progressed) break;
    }
    counters.stray_responses = transactions.stray_responses_dropped();
}

void Engine::Impl::run_timers(std::uint64_t now_ms) {
    while (!timers.empty() && timers.begin()->first <= now_ms) {
        const auto [kind, id] = timers.begin()->second;
        timers.erase(timers.begin());
        if (kind != EngineTimerKind::ok_retransmit) continue;
        auto it = dialogs.find(id);
        if (it == dialogs.end() || !it->second.awaiting_ack) continue;
        auto& state = it->second;
        if (now_ms >= state.ok_give_up_at_ms) {
            // RFC 3261 §13.3.1.4: no ACK within 64*T1 ends the dialog with BYE.
            state.awaiting_ack = false;
            end_dialog(now_ms, id, DialogEndCause::ack_timeout);
            continue;
        }
        if (!state.ok_bytes.empty()) {
            ++counters.ok_retransmissions;
            send_bytes(state.ok_bytes, state.ok_destination);
        }
        state.ok_interval_ms = std::min(state.ok_interval_ms * 2, config.timers.t2_ms);
        const auto next = std::min(now_ms + state.ok_interval_ms, state.ok_give_up_at_ms);
        timers.emplace(next, std::make_pair(EngineTimerKind::ok_retransmit, id));
    }
}

std::string Engine::Impl::dialog_index_key(const DialogKey& key) {
    return key.call_id + '\n' + key.local_tag + '\n' + key.remote_tag;
}

DialogId Engine::Impl::add_dialog(Dialog dialog) {
    const auto id = next_dialog++;
    dialog_by_key[dialog_index_key(dialog.key)] = id;
    DialogState state;
    state.dialog = std::move(dialog);
    dialogs.emplace(id, std::move(state));
    return id;
}

std::optional<DialogId> Engine::Impl::find_dialog(const std::string& call_id,
                                                  const std::string& local_tag,
                                                  const std::string& remote_tag) const {
    auto it = dialog_by_key.find(dialog_index_key({call_id, local_tag, remote_tag}));
    if (it == dialog_by_key.end()) return std::nullopt;
    return it->second;
}

void Engine::Impl::end_dialog(std::uint64_t now_ms, DialogId id, DialogEndCause cause) {
    auto it = dialogs.find(id);
    if (it == dialogs.end()) return;
    if (it->second.subscription_alive && cause != DialogEndCause::ack_timeout) {
        // RFC 5057: BYE ends the INVITE usage only; the subscription usage (REFER
        // progress NOTIFYs) keeps the dialog until the user releases it.
        it->second.invite_usage_ended = true;
        emit(now_ms, DialogTerminatedEvent{id, cause});
        return;
    }
    if (cause == DialogEndCause::ack_timeout && !it->second.bye_sent) {
        it->second.bye_sent = true;
        ClientRequest bye;
        bye.dialog = id;
        bye.request = it->second.dialog.make_request("BYE");
        start(now_ms, std::move(bye));
    }
    it->second.dialog.state = Dialog::State::terminated;
    dialog_by_key.erase(dialog_index_key(it->second.dialog.key));
    emit(now_ms, DialogTerminatedEvent{id, cause});
    // The DialogState stays until its BYE (if any) finishes, so the BYE can route.
    if (cause != DialogEndCause::ack_timeout) dialogs.erase(it);
}

SocketAddress Engine::Impl::contact_address() const {
    return public_address ? *public_address : config.local_address;
}

NameAddr Engine::Impl::contact_for(const std::string& user) const {
    NameAddr contact;
    contact.uri.user = user;
    const auto address = contact_address();
    contact.uri.host = address.ip;
    contact.uri.port = address.port;
    if (config.transport == Transport::tcp) contact.uri.params.push_back({"transport", "tcp"});
    return contact;
}

Via Engine::Impl::make_via() {
    Via via;
    via.transport = std::string(to_string(config.transport));
    via.host = config.local_address.ip;
    via.port = config.local_address.port;
    via.params.push_back({"branch", make_branch(random.token(16))});
    via.params.push_back({"rport", std::nullopt});  // RFC 3581
    return via;
}

// ---------------------------------------------------------------------------

Engine::Engine(EngineConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

void Engine::handle_received(std::uint64_t now_ms, std::string_view bytes, Peer source) {
    auto& impl = *impl_;
    ++impl.counters.messages_received;
    auto parsed = parse_message(bytes, ParseLimits{impl.config.max_message_bytes});
    if (!parsed) {
        ++impl.counters.malformed_dropped;
        impl.emit(now_ms, MalformedMessageEvent{source, parsed.error(), false});
        return;
    }
    Message message = std::move(parsed).value();
    // RFC 3261 §8.1.1 / §8.2.6: without these no transaction can be formed.
    auto cseq = message.cseq();
    auto from = message.from();
    auto to = message.to();
    auto via = message.top_via();
    std::string missing;
    if (!via)
        missing = via.error();
    else if (!cseq)
        missing = cseq.error();
    else if (!from)
        missing = from.error();
    else if (!to)
        missing = to.error();
    else if (message.call_id().empty())
        missing = "no Call-ID header";
    else if (message.is_request && cseq->method != message.method)
        missing = "CSeq method differs";
    if (!missing.empty()) {
        const bool can_answer = message.is_request && message.method != "ACK" && via.ok();
        if (can_answer) {
            // Answered statelessly to where it came from: its Via may be the broken part.
            ++impl.counters.malformed_answered;
            impl.send_bytes(
                make_response(message, 400, impl.random.token(8), "Bad Request (" + missing + ")")
                    .to_bytes(),
                source);
        } else {
            ++impl.counters.malformed_dropped;
        }
        impl.emit(now_ms, MalformedMessageEvent{source, missing, can_answer});
        return;
    }
    impl.transactions.receive(now_ms, std::move(message), source);
    impl.drain_transactions(now_ms);
}

void Engine::handle_timeout(std::uint64_t now_ms) {
    impl_->transactions.handle_timeout(now_ms);
    impl_->drain_transactions(now_ms);
    impl_->run_timers(now_ms);
    impl_->drain_transactions(now_ms);
}

void Engine::handle_resolved(std::uint64_t now_ms, std::uint64_t resolve_id,
                             std::optional<std::string> ip, std::string error) {
    auto& impl = *impl_;
    auto host_it = impl.resolving.find(resolve_id);
    if (host_it == impl.resolving.end()) return;
    const auto host = host_it->second;
    impl.resolving.erase(host_it);
    auto waiting = std::move(impl.waiting_for_host[host]);
    impl.waiting_for_host.erase(host);
    if (ip) impl.resolved[host] = *ip;
    for (auto& pending : waiting) {
        if (!ip) {
            if (pending.kind == PendingSend::Kind::start_transaction) {
                impl.fail_request(now_ms, pending.request, FailureCause::resolution_failed,
                                  host + ": " + (error.empty() ? "no address" : error));
            }
            continue;
        }
        const Peer destination{pending.transport, {*ip, pending.port}};
        if (pending.kind == PendingSend::Kind::start_transaction) {
            impl.start_transaction(now_ms, pending.request, destination);
        } else {
            impl.send_bytes(std::move(pending.stateless_bytes), destination);
        }
    }
    impl.drain_transactions(now_ms);
}

void Engine::handle_send_failed(std::uint64_t now_ms, const Peer& destination, std::string reason) {
    auto& impl = *impl_;
    std::vector<TransactionId> failing;
    for (const auto& [handle, client] : impl.requests) {
        if (!client.finished && client.transaction != 0 && client.destination == destination) {
            failing.push_back(client.transaction);
        }
    }
    for (auto transaction : failing) impl.transactions.transport_error(now_ms, transaction, reason);
    impl.drain_transactions(now_ms);
}

RequestHandle Engine::send_request(std::uint64_t now_ms, OutgoingRequest outgoing) {
    auto& impl = *impl_;
    ClientRequest client;
    if (!outgoing.from.tag()) set_parameter(outgoing.from.params, "tag", impl.random.token(10));
    Message request = Message::request(outgoing.method, outgoing.request_uri);
    request.add_header("Max-Forwards", "70");
    if (impl.config.outbound_proxy) {
        auto proxy = parse_host_port(*impl.config.outbound_proxy);
        if (proxy) {
            NameAddr route;
            route.uri.host = proxy->host;
            route.uri.port = proxy->port;
            route.uri.params.push_back({"lr", std::nullopt});
            request.add_header("Route", route.to_string());
        }
    }
    request.add_header("From", outgoing.from.to_string());
    request.add_header("To", outgoing.to.to_string());
    request.add_header("Call-ID", impl.random.token(20));
    request.add_header("CSeq", CSeq{1, outgoing.method}.to_string());
    const bool contact_given =
        std::any_of(outgoing.headers.begin(), outgoing.headers.end(),
                    [](const Header& h) { return iequals(h.name, "Contact"); });
    if (!contact_given && (outgoing.method == "INVITE" || outgoing.method == "SUBSCRIBE" ||
                           outgoing.method == "REFER" || outgoing.method == "REGISTER")) {
        request.add_header("Contact", impl.contact_for(outgoing.from.uri.user).to_string());
    }
    request.add_header("User-Agent", impl.config.user_agent);
    for (auto& header : outgoing.headers) request.add_header(header.name, std::move(header.value));
    if (!outgoing.body.empty()) {
        request.set_header("Content-Type", outgoing.content_type);
        request.body = std::move(outgoing.body);
    }
    client.request = std::move(request);
    return impl.start(now_ms, std::move(client));
}

RequestHandle Engine::send_in_dialog(std::uint64_t now_ms, DialogId dialog_id,
                                     InDialogRequest in_dialog) {
    auto& impl = *impl_;
    auto it = impl.dialogs.find(dialog_id);
    if (it == impl.dialogs.end() || it->second.dialog.state == Dialog::State::terminated) return 0;
    auto& state = it->second;
    ClientRequest client;
    client.dialog = dialog_id;
    Message request = state.dialog.make_request(in_dialog.method);
    if (in_dialog.method != "BYE") {
        request.add_header("Contact", impl.contact_for(state.dialog.local.uri.user).to_string());
    } else {
        state.bye_sent = true;
    }
    request.add_header("User-Agent", impl.config.user_agent);
    for (auto& header : in_dialog.headers) request.add_header(header.name, std::move(header.value));
    if (!in_dialog.body.empty()) {
        request.set_header("Content-Type", in_dialog.content_type);
        request.body = std::move(in_dialog.body);
    }
    client.request = std::move(request);
    return impl.start(now_ms, std::move(client));
}

bool Engine::cancel(std::uint64_t now_ms, RequestHandle handle) {
    auto& impl = *impl_;
    auto it = impl.requests.find(handle);
    if (it == impl.requests.end() || it->second.request.method != "INVITE" ||
        it->second.cancel_requested) {
        return false;
    }
    auto& client = it->second;
    client.cancel_requested = true;
    // §9.1: a CANCEL before any provisional response waits for one.
    if (client.provisional_seen && !client.finished) impl.send_cancel(now_ms, client);
    impl.drain_transactions(now_ms);
    return true;
}

bool Engine::respond(std::uint64_t now_ms, IncomingId incoming, int status_code,
                     std::vector<Header> headers, std::string body, std::string content_type,
                     std::string reason_phrase) {
    const bool ok =
        impl_->respond(now_ms, incoming, status_code, std::move(headers), std::move(body),
                       std::move(content_type), std::move(reason_phrase));
    impl_->drain_transactions(now_ms);
    return ok;
}

std::optional<Transmit> Engine::poll_transmit() {
    if (impl_->transmits.empty()) return std::nullopt;
    auto transmit = std::move(impl_->transmits.front());
    impl_->transmits.pop_front();
    return transmit;
}

std::optional<EngineEvent> Engine::poll_event() {
    if (impl_->events.empty()) return std::nullopt;
    auto event = std::move(impl_->events.front());
    impl_->events.pop_front();
    return event;
}

std::optional<ResolveRequest> Engine::poll_resolve() {
    if (impl_->resolves.empty()) return std::nullopt;
    auto request = std::move(impl_->resolves.front());
    impl_->resolves.pop_front();
    return request;
}

std::optional<std::uint64_t> Engine::poll_timeout() const {
    auto deadline = impl_->transactions.next_deadline();
    if (!impl_->timers.empty()) {
        const auto engine_deadline = impl_->timers.begin()->first;
        if (!deadline || engine_deadline < *deadline) deadline = engine_deadline;
    }
    return deadline;
}

void Engine::keep_dialog_for_subscription(DialogId id, bool keep) {
    auto it = impl_->dialogs.find(id);
    if (it == impl_->dialogs.end()) return;
    it->second.subscription_alive = keep;
    if (!keep && it->second.invite_usage_ended) {
        impl_->dialog_by_key.erase(Impl::dialog_index_key(it->second.dialog.key));
        impl_->dialogs.erase(it);
    }
}

const Dialog* Engine::dialog(DialogId id) const {
    auto it = impl_->dialogs.find(id);
    return it == impl_->dialogs.end() ? nullptr : &it->second.dialog;
}

std::optional<DialogId> Engine::dialog_of(RequestHandle request) const {
    auto it = impl_->requests.find(request);
    if (it == impl_->requests.end()) return std::nullopt;
    return it->second.dialog;
}

std::optional<DialogId> Engine::dialog_of_incoming(IncomingId incoming) const {
    auto it = impl_->incoming.find(incoming);
    if (it == impl_->incoming.end()) return std::nullopt;
    return it->second.dialog;
}

const EngineCounters& Engine::counters() const {
    return impl_->counters;
}
SocketAddress Engine::contact_address() const {
    return impl_->contact_address();
}
const EngineConfig& Engine::config() const {
    return impl_->config;
}
std::size_t Engine::active_transactions() const {
    return impl_->transactions.active_transactions();
}
std::size_t Engine::active_dialogs() const {
    return impl_->dialogs.size();
}
std::size_t Engine::active_requests() const {
    return impl_->requests.size();
}
std::string Engine::random_token(std::size_t length) {
    return impl_->random.token(length);
}

}  // namespace sipcc
