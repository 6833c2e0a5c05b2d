// The simulated phone: an Engine driven like EngineNode, plus the phone's own
// logic (answering, REFER, NOTIFY) and its own timers (answer, hang-up, NOTIFY
// pacing) folded into next_timeout().
#include "simulator/phone.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <type_traits>
#include <variant>

#include "core/message/builder.hpp"
#include "core/message/parser.hpp"

namespace sipcc::sim {
namespace {

// How far above the highest dialog id seen we look for the dialog our 2xx created.

constexpr std::array<std::string_view, 7> kKeyHeaders = {
    "Refer-To", "Referred-By",        "Refer-Sub", "Authorization",
    "Event",    "Subscription-State", "Replaces"};

// 64 bits for the digest server from the engine's seeded tokens ([0-9a-z]):
// twelve base-36 digits stay below 2^64.
std::uint64_t token_to_number(const std::string& token) {
    std::uint64_t value = 0;
    std::from_chars(token.data(), token.data() + token.size(), value, 36);
    return value;
}

// A final error code for a response, or `fallback` when the knob holds nonsense.
int error_code_or(int code, int fallback) {
    return code >= 300 && code <= 699 ? code : fallback;
}

// What a NOTIFY reports when the INVITE ended without a response.
int status_for_failure(const RequestFailedEvent& failure) {
    if (failure.status_code >= 300) return failure.status_code;
    switch (failure.cause) {
        case FailureCause::timeout:
            return 408;
        case FailureCause::bad_request:
            return 400;
        case FailureCause::authentication_failed:
        case FailureCause::no_credentials:
            return 403;
        case FailureCause::transport_error:
        case FailureCause::resolution_failed:
            return 503;
    }
    return 500;
}

std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return std::string(text.substr(first, last - first + 1));
}

// RFC 4488: "Refer-Sub: false" (parameters after ';' ignored).
bool asks_no_subscription(const Message& refer) {
    const auto* value = refer.header("Refer-Sub");
    if (value == nullptr) return false;
    return iequals(trimmed(std::string_view(*value).substr(0, value->find(';'))), "false");
}

}  // namespace

std::string_view to_string(PhoneActivity activity) {
    switch (activity) {
        case PhoneActivity::transferring:
            return "transferring";
        case PhoneActivity::dialing:
            return "dialing";
        case PhoneActivity::ringing:
            return "ringing";
        case PhoneActivity::talking_to_callee:
            return "talking to callee";
        case PhoneActivity::talking_to_caller:
            return "talking to caller";
        case PhoneActivity::idle:
            return "idle";
    }
    return "unknown";
}

const std::string* ReceivedRequest::header(std::string_view name) const {
    for (const auto& entry : key_headers) {
        if (iequals(entry.name, name)) return &entry.value;
    }
    return nullptr;
}

Phone::Phone(PhoneConfig config) : config_(std::move(config)), engine_(config_.engine) {
    if (config_.registrar) register_at_ms_ = config_.register_delay_ms;
    const auto& behavior = config_.behavior;
    if (behavior.challenge_refer) {
        auth::DigestServerConfig digest;
        digest.realm = behavior.refer_auth_realm;
        digest.algorithms = behavior.refer_auth_algorithms;
        auto created = auth::DigestServer::create(
            std::move(digest), [this] { return token_to_number(engine_.random_token(12)); });
        if (created) {
            refer_digest_.emplace(std::move(created).value());
        } else {
            setup_error_ = "challenge_refer: " + created.error();
        }
    }
}

// --------------------------------------------------------------------------------------------
// Node

SocketAddress Phone::address() const {
    return engine_.config().local_address;
}

void Phone::on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) {
    engine_.handle_received(now_ms, bytes, source);
    process(now_ms);
}

void Phone::on_timeout(std::uint64_t now_ms) {
    if (auto engine_deadline = engine_.poll_timeout();
        engine_deadline && *engine_deadline <= now_ms) {
        engine_.handle_timeout(now_ms);
        process(now_ms);
    }
    run_timers(now_ms);
    process(now_ms);
}

void Phone::on_resolved(std::uint64_t now_ms, std::uint64_t resolve_id,
                        std::optional<std::string> ip, std::string error) {
    engine_.handle_resolved(now_ms, resolve_id, std::move(ip), std::move(error));
    process(now_ms);
}

void Phone::on_send_failed(std::uint64_t now_ms, const Peer& destination, std::string reason) {
    engine_.handle_send_failed(now_ms, destination, std::move(reason));
    process(now_ms);
}

std::optional<std::uint64_t> Phone::next_timeout() const {
    std::optional<std::uint64_t> deadline = engine_.poll_timeout();
    const auto consider = [&deadline](std::optional<std::uint64_t> candidate) {
        if (candidate && (!deadline || *candidate < *deadline)) deadline = candidate;
    };
    for (const auto& call : calls_) {
        consider(call.answer_at_ms);
        consider(call.hang_up_at_ms);
    }
    for (const auto& [id, transfer] : transfers_) consider(next_notify_deadline(transfer));
    consider(register_at_ms_);
    return deadline;
}

std::optional<Transmit> Phone::poll_transmit() {
    return engine_.poll_transmit();
}
std::optional<ResolveRequest> Phone::poll_resolve() {
    return engine_.poll_resolve();
}

// --------------------------------------------------------------------------------------------
// User commands

bool Phone::dial(std::uint64_t now_ms, const Uri& target) {
    const bool placed = place_call(now_ms, target, {}, std::nullopt).has_value();
    process(now_ms);
    return placed;
}

void Phone::hang_up(std::uint64_t now_ms) {
    std::vector<std::uint64_t> ids;
    for (const auto& call : calls_) ids.push_back(call.id);
    for (const auto id : ids) {
        Call* call = find_call(id);
        if (call == nullptr) continue;
        if (call->state == CallState::connected) {
            send_bye(now_ms, id);
        } else if (!call->incoming) {
            engine_.cancel(now_ms, call->request);  // the 487 ends the call
        } else {
            engine_.respond(now_ms, call->invite, 603);
            end_call(id);
        }
    }
    process(now_ms);
}

// --------------------------------------------------------------------------------------------
// Observation

PhoneActivity Phone::activity() const {
    bool transferring = false, dialing = false, ringing = false;
    bool talking_to_callee = false, talking_to_caller = false;
    for (const auto& call : calls_) {
        const bool up = call.state == CallState::connected;
        if (call.incoming) {
            (up ? talking_to_caller : ringing) = true;
        } else if (up) {
            talking_to_callee = true;
        } else {
            (call.transfer ? transferring : dialing) = true;
        }
    }
    if (transferring) return PhoneActivity::transferring;
    if (dialing) return PhoneActivity::dialing;
    if (ringing) return PhoneActivity::ringing;
    if (talking_to_callee) return PhoneActivity::talking_to_callee;
    if (talking_to_caller) return PhoneActivity::talking_to_caller;
    return PhoneActivity::idle;
}

std::vector<ReceivedRequest> Phone::received(std::string_view method) const {
    std::vector<ReceivedRequest> out;
    for (const auto& request : received_) {
        if (request.method == method) out.push_back(request);
    }
    return out;
}

// --------------------------------------------------------------------------------------------
// Engine events

void Phone::process(std::uint64_t now_ms) {
    // Reactions may make the engine report more; keep going until it is quiet.
    while (auto event = engine_.poll_event()) {
        std::visit(
            [&](const auto& payload) {
                using T = std::decay_t<decltype(payload)>;
                if constexpr (std::is_same_v<T, IncomingRequestEvent>) {
                    on_request(now_ms, payload);
                } else if constexpr (std::is_same_v<T, ResponseEvent>) {
                    on_response(now_ms, payload);
                } else if constexpr (std::is_same_v<T, RequestFailedEvent>) {
                    on_request_failed(now_ms, payload);
                } else if constexpr (std::is_same_v<T, IncomingCancelledEvent>) {
                    if (Call* call = call_by_invite(payload.id)) {
                        record_bare(now_ms, "CANCEL", call->call_id);
                        end_call(call->id);
                    }
                } else if constexpr (std::is_same_v<T, AckReceivedEvent>) {
                    record_bare(now_ms, "ACK", payload.ack.call_id());
                    // Normally known since we answered; this is the fallback.
                    if (Call* call = call_by_call_id(payload.ack.call_id());
                        call && !call->dialog) {
                        call->dialog = payload.dialog;
                    }
                } else if constexpr (std::is_same_v<T, DialogTerminatedEvent>) {
                    on_dialog_terminated(now_ms, payload);
                }
            },
            event->payload);
    }
}

void Phone::on_request(std::uint64_t now_ms, const IncomingRequestEvent& event) {
    const Message& request = event.request;
    record(now_ms, request, event.dialog.has_value());
    const std::string& method = request.method;
    if (method == "INVITE" && !event.dialog) {
        on_new_invite(now_ms, event);
    } else if (method == "REFER") {
        on_refer(now_ms, event);
    } else if (method == "INVITE" || (method == "UPDATE" && !request.body.empty())) {
        // A session refresh or hold/resume from the controller: accept whatever it offers.
        Call* call = event.dialog ? call_by_dialog(*event.dialog) : nullptr;
        engine_.respond(now_ms, event.id, 200, capability_headers(),
                        make_sdp(call != nullptr ? call->id : 0), "application/sdp");
    } else if (method == "OPTIONS") {
        engine_.respond(now_ms, event.id, 200, capability_headers());
    } else if (method == "UPDATE" || method == "INFO" || method == "NOTIFY" ||
               method == "MESSAGE") {
        engine_.respond(now_ms, event.id, 200);
    } else if (method == "SUBSCRIBE") {
        engine_.respond(now_ms, event.id, 489);
    } else {
        engine_.respond(now_ms, event.id, 501, capability_headers());
    }
}

void Phone::on_new_invite(std::uint64_t now_ms, const IncomingRequestEvent& event) {
    const auto& behavior = config_.behavior;
    ++counters_.invites_received;
    Call call;
    call.id = next_call_id_++;
    call.incoming = true;
    call.state = CallState::alerting;
    call.call_id = event.request.call_id();
    call.invite = event.id;
    if (behavior.send_ringing) engine_.respond(now_ms, event.id, 180);
    if (behavior.answer_mode != AnswerMode::never) {
        call.answer_at_ms = now_ms + behavior.answer_after_ms;
    }
    calls_.push_back(std::move(call));
}

void Phone::on_refer(std::uint64_t now_ms, const IncomingRequestEvent& event) {
    const auto& behavior = config_.behavior;
    const Message& refer = event.request;
    ++counters_.refers_received;
    if (!event.dialog) {
        // Click-to-dial phones take REFER inside the controller's call only.
        engine_.respond(now_ms, event.id, 403, {}, {}, {}, "Forbidden (REFER outside a dialog)");
        return;
    }
    if (!refer_supported()) {
        const int code = error_code_or(behavior.refer_reject_status_code, 405);
        // RFC 3261 §21.4.6: a 405 lists what we do allow.
        engine_.respond(now_ms, event.id, code,
                        code == 405 ? capability_headers() : std::vector<Header>{});
        return;
    }
    if (behavior.challenge_refer && !refer_authorized(now_ms, event)) return;

    const auto refer_to_values = refer.header_values("Refer-To");
    if (refer_to_values.size() != 1) {
        engine_.respond(now_ms, event.id, 400, {}, {}, {},
                        "Bad Request (exactly one Refer-To needed)");
        return;
    }
    auto refer_to = parse_name_addr(refer_to_values.front());
    if (!refer_to) {
        engine_.respond(now_ms, event.id, 400, {}, {}, {}, "Bad Request (bad Refer-To)");
        return;
    }
    // The INVITE goes to the bare URI: no ?headers, no method= (RFC 3515 §2.4.2).
    Uri target = refer_to->uri;
    target.headers.clear();
    remove_parameter(target.params, "method");
    if (behavior.requires_user_phone) {
        const auto* user = find_parameter(target.params, "user");
        if (user == nullptr || !user->value || !iequals(*user->value, "phone")) {
            engine_.respond(now_ms, event.id,
                            error_code_or(behavior.user_phone_missing_status_code, 404));
            return;
        }
    }

    ++counters_.refers_accepted;
    Transfer transfer;
    transfer.id = next_transfer_id_++;
    transfer.referrer_dialog = *event.dialog;
    transfer.subscription = !(behavior.honor_refer_sub_false && asks_no_subscription(refer));
    // RFC 3515 §2.4.6: a second subscription in one dialog is told apart by id=CSeq.
    int& subscriptions = subscriptions_per_dialog_[*event.dialog];
    auto cseq = refer.cseq();
    transfer.event = subscriptions == 0 || !cseq ? std::string("refer")
                                                 : "refer;id=" + std::to_string(cseq->number);
    ++subscriptions;
    transfer.log_index = transfer_log_.size();
    TransferRecord log_entry;
    log_entry.refer_received_ms = now_ms;
    log_entry.target = target.to_string();
    log_entry.subscription = transfer.subscription;
    transfer_log_.push_back(std::move(log_entry));
    const auto transfer_id = transfer.id;
    Transfer& stored = transfers_.emplace(transfer_id, std::move(transfer)).first->second;

    if (subscription_live(stored) && behavior.keep_notifying_after_bye) {
        engine_.keep_dialog_for_subscription(stored.referrer_dialog, true);
    }
    std::vector<Header> accept_headers;
    if (!stored.subscription) accept_headers.push_back({"Refer-Sub", "false"});
    if (behavior.notify_before_202) queue_notify(now_ms, stored, 100, "Trying");
    // Sent only once the 2xx is out, unless a quirk wants it first.
    const int accept_code =
        behavior.refer_accept_status_code >= 200 && behavior.refer_accept_status_code < 300
            ? behavior.refer_accept_status_code
            : 202;
    engine_.respond(now_ms, event.id, accept_code, accept_headers);
    if (!behavior.notify_before_202) queue_notify(now_ms, stored, 100, "Trying");

    std::vector<Header> invite_headers;
    if (const auto* referred_by = refer.header("Referred-By")) {
        invite_headers.push_back({"Referred-By", *referred_by});
    }
    if (!place_call(now_ms, target, std::move(invite_headers), transfer_id)) {
        report_progress(now_ms, transfer_id, 400, "Bad Request");
    }
}

// Verifies the REFER's credentials; answers 401 with a fresh challenge when they
// are missing or wrong (stale=true when only the nonce expired).
bool Phone::refer_authorized(std::uint64_t now_ms, const IncomingRequestEvent& event) {
    const auto& behavior = config_.behavior;
    if (!refer_digest_) {
        engine_.respond(now_ms, event.id, 500, {}, {}, {},
                        "Server Internal Error (" + setup_error_ + ")");
        return false;
    }
    bool stale = false;
    if (const auto* authorization = event.request.header("Authorization")) {
        const auto lookup = [&behavior](std::string_view user) -> std::optional<std::string> {
            if (!behavior.refer_auth_user.empty() && user != behavior.refer_auth_user) {
                return std::nullopt;
            }
            return behavior.refer_auth_password;
        };
        const auto outcome = refer_digest_->verify(*authorization, event.request.method,
                                                   event.request.body, lookup, now_ms);
        if (outcome.ok()) return true;
        stale = outcome.status == auth::VerifyStatus::stale_nonce;
    }
    ++counters_.refer_challenges_sent;
    std::vector<Header> challenges;
    for (auto& value : refer_digest_->make_challenges(now_ms, stale)) {
        challenges.push_back({"WWW-Authenticate", std::move(value)});
    }
    engine_.respond(now_ms, event.id, 401, std::move(challenges));
    return false;
}

void Phone::on_response(std::uint64_t now_ms, const ResponseEvent& event) {
    auto it = own_requests_.find(event.request);
    if (it == own_requests_.end()) return;
    const OwnRequest own = it->second;
    const int code = event.response.status_code;
    if (code >= 200) own_requests_.erase(it);
    switch (own.purpose) {
        case Purpose::invite:
            if (Call* call = find_call(own.owner)) on_invite_response(now_ms, *call, event);
            break;
        case Purpose::notify:
            if (code >= 200) on_notify_answer(now_ms, own.owner, code);
            break;
        case Purpose::registration:
            if (code >= 200) on_register_answer(now_ms, &event.response);
            break;
        case Purpose::bye:
            break;
    }
}

void Phone::on_invite_response(std::uint64_t now_ms, Call& call, const ResponseEvent& event) {
    const int code = event.response.status_code;
    const std::string& reason = event.response.reason_phrase;
    if (event.dialog) {
        call.dialog = event.dialog;
        if (const Dialog* dialog = engine_.dialog(*event.dialog))
            call.call_id = dialog->key.call_id;
    }
    const auto transfer = call.transfer;
    if (code < 200) {
        if (code > 100 && call.state == CallState::dialing) call.state = CallState::ringback;
        // Our own 100 Trying went out with the REFER's 2xx; the callee's is not news.
        if (transfer && code > 100) report_progress(now_ms, *transfer, code, reason);
        return;
    }
    if (code < 300) {
        call.state = CallState::connected;
        if (transfer && config_.behavior.hang_up_transferred_call_after_ms) {
            call.hang_up_at_ms = now_ms + *config_.behavior.hang_up_transferred_call_after_ms;
        }
    } else {
        end_call(call.id);  // `call` is gone from here on
    }
    if (transfer) report_progress(now_ms, *transfer, code, reason);
}

void Phone::on_notify_answer(std::uint64_t now_ms, std::uint64_t transfer_id, int status_code) {
    Transfer* transfer = find_transfer(transfer_id);
    if (transfer == nullptr) return;
    if (transfer->notifies_in_flight > 0) --transfer->notifies_in_flight;
    // RFC 6665 §4.2.2: 481 or a timeout means the subscriber is gone.
    if (status_code == 481 || status_code == 408) {
        transfer->dead = true;
        transfer->queue.clear();
    }
    const auto dialog = transfer->referrer_dialog;
    pump_notifies(now_ms, *transfer);
    forget_transfer_if_done(transfer_id);
    release_dialog_if_unused(dialog);
}

void Phone::on_request_failed(std::uint64_t now_ms, const RequestFailedEvent& event) {
    auto it = own_requests_.find(event.request);
    if (it == own_requests_.end()) return;
    const OwnRequest own = it->second;
    own_requests_.erase(it);
    switch (own.purpose) {
        case Purpose::invite: {
            Call* call = find_call(own.owner);
            if (call == nullptr) break;
            const auto transfer = call->transfer;
            end_call(own.owner);
            const int code = status_for_failure(event);
            if (transfer) report_progress(now_ms, *transfer, code, default_reason_phrase(code));
            break;
        }
        case Purpose::notify:
            on_notify_answer(now_ms, own.owner, 408);
            break;
        case Purpose::registration:
            on_register_answer(now_ms, nullptr);
            break;
        case Purpose::bye:
            break;
    }
}

void Phone::on_dialog_terminated(std::uint64_t now_ms, const DialogTerminatedEvent& event) {
    // The call is over. Its REFER subscriptions go on only when the engine kept
    // the dialog for them (RFC 5057); otherwise they are gone too.
    if (!config_.behavior.keep_notifying_after_bye || engine_.dialog(event.dialog) == nullptr) {
        std::vector<std::uint64_t> orphaned;
        for (auto& [id, transfer] : transfers_) {
            if (transfer.referrer_dialog != event.dialog) continue;
            transfer.dead = true;
            transfer.queue.clear();
            transfer.notifies_in_flight = 0;
            orphaned.push_back(id);
        }
        for (const auto id : orphaned) forget_transfer_if_done(id);
        subscriptions_per_dialog_.erase(event.dialog);
        release_dialog_if_unused(event.dialog);
    }
    if (Call* call = call_by_dialog(event.dialog)) {
        if (event.cause == DialogEndCause::bye_received) record_bare(now_ms, "BYE", call->call_id);
        end_call(call->id);
    }
}

// --------------------------------------------------------------------------------------------
// Own timers and actions

void Phone::send_register(std::uint64_t now_ms) {
    register_at_ms_.reset();
    auto registrar = parse_host_port(*config_.registrar);
    OutgoingRequest request;
    request.method = "REGISTER";
    request.request_uri.host = registrar ? registrar->host : *config_.registrar;
    if (registrar) request.request_uri.port = registrar->port;
    request.from.uri.user = config_.user;
    request.from.uri.host =
        config_.domain.empty() ? config_.engine.local_address.ip : config_.domain;
    request.to = request.from;
    request.headers.push_back({"Expires", std::to_string(config_.register_expires_s)});
    const auto handle = engine_.send_request(now_ms, std::move(request));
    if (handle != 0) own_requests_[handle] = {Purpose::registration, 0};
}

// `response` is null when the REGISTER failed without one (timeout, auth refused).
void Phone::on_register_answer(std::uint64_t now_ms, const Message* response) {
    if (response == nullptr || response->status_code >= 300) {
        registered_ = false;
        ++counters_.registration_failures;
        return;
    }
    registered_ = true;
    ++counters_.registrations_ok;
    // Refresh at half of what the registrar granted (Expires, else what we asked).
    std::uint64_t granted_s = config_.register_expires_s;
    if (const auto* expires = response->header("Expires")) {
        granted_s = std::strtoull(expires->c_str(), nullptr, 10);
    }
    if (granted_s > 0) register_at_ms_ = now_ms + granted_s * 1000 / 2;
}

void Phone::run_timers(std::uint64_t now_ms) {
    if (register_at_ms_ && *register_at_ms_ <= now_ms && config_.registrar) send_register(now_ms);
    std::vector<std::uint64_t> to_answer, to_hang_up;
    for (auto& call : calls_) {
        if (call.answer_at_ms && *call.answer_at_ms <= now_ms) to_answer.push_back(call.id);
        if (call.hang_up_at_ms && *call.hang_up_at_ms <= now_ms) to_hang_up.push_back(call.id);
    }
    for (const auto id : to_answer) answer(now_ms, id);
    for (const auto id : to_hang_up) send_bye(now_ms, id);

    std::vector<std::uint64_t> to_notify;
    for (const auto& [id, transfer] : transfers_) {
        if (auto deadline = next_notify_deadline(transfer); deadline && *deadline <= now_ms) {
            to_notify.push_back(id);
        }
    }
    for (const auto id : to_notify) {
        if (Transfer* transfer = find_transfer(id)) pump_notifies(now_ms, *transfer);
        forget_transfer_if_done(id);
    }
}

void Phone::answer(std::uint64_t now_ms, std::uint64_t call_id) {
    const auto& behavior = config_.behavior;
    Call* call = find_call(call_id);
    if (call == nullptr || call->state != CallState::alerting) return;
    call->answer_at_ms.reset();
    int code = 200;
    switch (behavior.answer_mode) {
        case AnswerMode::answer:
            code = 200;
            break;
        case AnswerMode::busy:
            code = 486;
            break;
        case AnswerMode::decline:
            code = 603;
            break;
        case AnswerMode::reject:
            code = error_code_or(behavior.reject_status_code, 480);
            break;
        case AnswerMode::never:
            return;
    }
    if (code >= 300) {
        engine_.respond(now_ms, call->invite, code);
        end_call(call_id);
        return;
    }
    if (!engine_.respond(now_ms, call->invite, 200, capability_headers(), make_sdp(call->id),
                         "application/sdp")) {
        end_call(call_id);  // the INVITE transaction is gone (cancelled meanwhile)
        return;
    }
    ++counters_.calls_answered;
    call->state = CallState::connected;
    call->dialog = engine_.dialog_of_incoming(call->invite);
    if (behavior.hang_up_after_ms) call->hang_up_at_ms = now_ms + *behavior.hang_up_after_ms;
}

void Phone::send_bye(std::uint64_t now_ms, std::uint64_t call_id) {
    Call* call = find_call(call_id);
    if (call == nullptr) return;
    call->hang_up_at_ms.reset();
    if (call->state != CallState::connected) return;
    if (call->dialog) {
        const auto handle = engine_.send_in_dialog(now_ms, *call->dialog, {"BYE", {}, {}, {}});
        if (handle != 0) {
            ++counters_.byes_sent;
            own_requests_[handle] = {Purpose::bye, call_id};
        }
    }
    end_call(call_id);
}

std::optional<std::uint64_t> Phone::place_call(std::uint64_t now_ms, const Uri& target,
                                               std::vector<Header> extra_headers,
                                               std::optional<std::uint64_t> transfer) {
    Call call;
    call.id = next_call_id_++;
    call.incoming = false;
    call.state = CallState::dialing;
    call.transfer = transfer;

    OutgoingRequest invite;
    invite.method = "INVITE";
    invite.request_uri = target;
    invite.from = own_address();
    invite.to.uri = target;
    invite.headers = capability_headers();
    for (auto& header : extra_headers) invite.headers.push_back(std::move(header));
    invite.body = make_sdp(call.id);
    invite.content_type = "application/sdp";
    call.request = engine_.send_request(now_ms, std::move(invite));
    if (call.request == 0) return std::nullopt;
    ++counters_.calls_placed;
    own_requests_[call.request] = {Purpose::invite, call.id};
    const auto id = call.id;
    calls_.push_back(std::move(call));
    return id;
}

void Phone::report_progress(std::uint64_t now_ms, std::uint64_t transfer_id, int status_code,
                            std::string_view reason_phrase) {
    Transfer* transfer = find_transfer(transfer_id);
    if (transfer == nullptr) return;
    if (status_code >= 200) {
        transfer_log_[transfer->log_index].final_status_code = status_code;
        transfer->call_finished = true;
    }
    queue_notify(now_ms, *transfer, status_code, reason_phrase);
    forget_transfer_if_done(transfer_id);
}

void Phone::queue_notify(std::uint64_t now_ms, Transfer& transfer, int status_code,
                         std::string_view reason_phrase) {
    const auto& behavior = config_.behavior;
    const bool final = status_code >= 200;
    if (!transfer.subscription || transfer.dead || transfer.final_queued ||
        behavior.send_no_notify) {
        return;
    }
    if (!final && (behavior.only_final_notify || status_code == transfer.last_reported_code)) {
        return;
    }
    transfer.last_reported_code = status_code;
    if (final) transfer.final_queued = true;
    std::string sipfrag = "SIP/2.0 " + std::to_string(status_code) + " ";
    sipfrag += reason_phrase.empty() ? default_reason_phrase(status_code) : reason_phrase;
    sipfrag += "\r\n";
    transfer.queue.push_back({std::move(sipfrag), final});
    pump_notifies(now_ms, transfer);
}

void Phone::pump_notifies(std::uint64_t now_ms, Transfer& transfer) {
    const auto& behavior = config_.behavior;
    while (!transfer.queue.empty() && !transfer.dead) {
        if (behavior.wait_for_notify_answer && transfer.notifies_in_flight > 0) return;
        if (now_ms < transfer.next_notify_at_ms) return;  // the pacing timer comes back
        PendingNotify next = std::move(transfer.queue.front());
        transfer.queue.pop_front();
        InDialogRequest notify;
        notify.method = "NOTIFY";
        notify.headers.push_back({"Event", transfer.event});
        notify.headers.push_back(
            {"Subscription-State",
             next.final
                 ? std::string("terminated;reason=noresource")
                 : "active;expires=" + std::to_string(behavior.refer_subscription_expires_s)});
        notify.body = next.sipfrag;
        notify.content_type = "message/sipfrag;version=2.0";
        const auto handle = engine_.send_in_dialog(now_ms, transfer.referrer_dialog, notify);
        if (handle == 0) {  // the REFER dialog ended under us
            transfer.dead = true;
            transfer.queue.clear();
            release_dialog_if_unused(transfer.referrer_dialog);
            return;
        }
        ++counters_.notifies_sent;
        transfer_log_[transfer.log_index].sipfrags.push_back(std::move(next.sipfrag));
        own_requests_[handle] = {Purpose::notify, transfer.id};
        ++transfer.notifies_in_flight;
        transfer.next_notify_at_ms = now_ms + behavior.notify_spacing_ms;
    }
}

void Phone::forget_transfer_if_done(std::uint64_t transfer_id) {
    Transfer* transfer = find_transfer(transfer_id);
    if (transfer == nullptr || !transfer->call_finished) return;
    if (!transfer->queue.empty() || transfer->notifies_in_flight > 0) return;
    transfers_.erase(transfer_id);  // the record stays in transfer_log_
}

bool Phone::subscription_live(const Transfer& transfer) const {
    if (!transfer.subscription || transfer.dead || config_.behavior.send_no_notify) return false;
    const bool final_answered =
        transfer.final_queued && transfer.queue.empty() && transfer.notifies_in_flight == 0;
    return !final_answered;
}

void Phone::release_dialog_if_unused(DialogId dialog) {
    if (!config_.behavior.keep_notifying_after_bye) return;
    for (const auto& [id, transfer] : transfers_) {
        if (transfer.referrer_dialog == dialog && subscription_live(transfer)) return;
    }
    engine_.keep_dialog_for_subscription(dialog, false);
    if (engine_.dialog(dialog) == nullptr) subscriptions_per_dialog_.erase(dialog);
}

void Phone::end_call(std::uint64_t call_id) {
    std::erase_if(calls_, [call_id](const Call& call) { return call.id == call_id; });
}

void Phone::record(std::uint64_t now_ms, const Message& request, bool in_dialog) {
    ReceivedRequest entry;
    entry.at_ms = now_ms;
    entry.method = request.method;
    entry.request_uri = request.request_uri.to_string();
    entry.call_id = request.call_id();
    if (auto cseq = request.cseq()) entry.cseq = cseq->number;
    entry.in_dialog = in_dialog;
    for (const auto& header : request.headers) {
        for (const auto name : kKeyHeaders) {
            if (iequals(header.name, name)) entry.key_headers.push_back(header);
        }
    }
    received_.push_back(std::move(entry));
    while (received_.size() > config_.behavior.request_log_limit) received_.pop_front();
}

void Phone::record_bare(std::uint64_t now_ms, std::string method, std::string call_id) {
    ReceivedRequest entry;
    entry.at_ms = now_ms;
    entry.method = std::move(method);
    entry.call_id = std::move(call_id);
    entry.in_dialog = true;
    received_.push_back(std::move(entry));
    while (received_.size() > config_.behavior.request_log_limit) received_.pop_front();
}

// --------------------------------------------------------------------------------------------
// Helpers

Phone::Call* Phone::find_call(std::uint64_t id) {
    auto it = std::find_if(calls_.begin(), calls_.end(),
                           [id](const Call& call) { return call.id == id; });
    return it == calls_.end() ? nullptr : &*it;
}

Phone::Call* Phone::call_by_dialog(DialogId dialog) {
    auto it = std::find_if(calls_.begin(), calls_.end(),
                           [dialog](const Call& call) { return call.dialog == dialog; });
    return it == calls_.end() ? nullptr : &*it;
}

Phone::Call* Phone::call_by_invite(IncomingId invite) {
    auto it = std::find_if(calls_.begin(), calls_.end(), [invite](const Call& call) {
        return call.incoming && call.invite == invite;
    });
    return it == calls_.end() ? nullptr : &*it;
}

Phone::Call* Phone::call_by_call_id(std::string_view call_id) {
    auto it = std::find_if(calls_.begin(), calls_.end(),
                           [call_id](const Call& call) { return call.call_id == call_id; });
    return it == calls_.end() ? nullptr : &*it;
}

Phone::Transfer* Phone::find_transfer(std::uint64_t id) {
    auto it = transfers_.find(id);
    return it == transfers_.end() ? nullptr : &it->second;
}


bool Phone::refer_supported() const {
    return config_.behavior.refer_mode == ReferMode::accept_and_follow;
}

std::vector<Header> Phone::capability_headers() const {
    std::string allow = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, UPDATE";
    if (refer_supported()) allow += ", REFER";
    std::vector<Header> headers{{"Allow", std::move(allow)}};
    if (refer_supported() && config_.behavior.honor_refer_sub_false) {
        headers.push_back({"Supported", "norefersub"});
    }
    return headers;
}

std::string Phone::make_sdp(std::uint64_t session) const {
    const std::string ip = engine_.contact_address().ip;
    const std::string family = ip.find(':') == std::string::npos ? "IP4" : "IP6";
    const std::string media_port = std::to_string(40000 + 2 * (session % 10000));
    const std::string user = config_.user.empty() ? std::string("-") : config_.user;
    return "v=0\r\n"
           "o=" +
           user + " " + std::to_string(session) + " 1 IN " + family + " " + ip + "\r\n" +
           "s=-\r\n"
           "c=IN " +
           family + " " + ip + "\r\n" +
           "t=0 0\r\n"
           "m=audio " +
           media_port + " RTP/AVP 0 8 101\r\n" +
           "a=rtpmap:0 PCMU/8000\r\n"
           "a=rtpmap:8 PCMA/8000\r\n"
           "a=rtpmap:101 telephone-event/8000\r\n"
           "a=sendrecv\r\n";
}

NameAddr Phone::own_address() const {
    NameAddr address;
    address.display_name = config_.display_name;
    address.uri.user = config_.user;
    if (auto domain = parse_host_port(config_.domain); !config_.domain.empty() && domain) {
        address.uri.host = domain->host;
        address.uri.port = domain->port;
    } else {
        address.uri.host = engine_.contact_address().ip;
    }
    return address;
}

std::optional<std::uint64_t> Phone::next_notify_deadline(const Transfer& transfer) const {
    if (transfer.queue.empty() || transfer.dead) return std::nullopt;
    // Waiting for an answer is not a timer: the answer (or its timeout) pumps the queue.
    if (config_.behavior.wait_for_notify_answer && transfer.notifies_in_flight > 0) {
        return std::nullopt;
    }
    return transfer.next_notify_at_ms;
}

}  // namespace sipcc::sim
