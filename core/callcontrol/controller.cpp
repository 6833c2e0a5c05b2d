// The click-to-dial call, as one state machine per call:
//
//   idle ──INVITE──▶ dialing ──100──▶ proceeding ──180/183──▶ ringback
//     ringback/proceeding/dialing ──2xx (ACK by the engine)──▶ connected ──REFER──▶
//     connected ──2xx to REFER, or any NOTIFY──▶ transferring ──sipfrag 1xx ringing──▶
//     callee_ringing ──sipfrag 2xx──▶ transferred (BYE our leg)
//
//   Failures, each to disconnected with a cause (and BYE when our leg is up):
//     INVITE 3xx-6xx → caller busy / no answer / rejected; no answer in time → CANCEL;
//     Timer B, transport, DNS → network unreachable; auth refused → authentication failed;
//     phone BYE before the REFER is accepted → caller hung up;
//     REFER 3xx-6xx → REFER not supported; sipfrag 3xx-6xx → callee busy / no answer /
//     rejected / failure; Subscription-State terminated without a final sipfrag →
//     transfer outcome unknown; no final NOTIFY in notify_wait_ms → notify timeout;
//     drop() → cancelled by user (CANCEL before the answer, BYE after).
//
// Out-of-order delivery is normal behind multi-worker proxies: a NOTIFY may
// precede the 2xx to the REFER, a later NOTIFY may overtake an earlier one, the
// phone's BYE may precede our answer to its NOTIFY. States only move forward, a
// final state never changes, and every NOTIFY gets an answer.
#include "core/callcontrol/controller.hpp"

#include "core/message/parser.hpp"

namespace sipcc {
namespace {

// RFC 3725 §5 (flow II) "black hole" offer: connection address 0.0.0.0 and
// a=inactive, so the phone sends media to no one until the REFER's new call
// negotiates real media. Both, because some phones ignore one or the other.
std::string black_hole_sdp(std::string_view session_id) {
    return "v=0\r\n"
           "o=sipcc " +
           std::string(session_id) +
           " 1 IN IP4 0.0.0.0\r\n"
           "s=click-to-dial\r\n"
           "c=IN IP4 0.0.0.0\r\n"
           "t=0 0\r\n"
           "m=audio 9 RTP/AVP 0 8 101\r\n"
           "a=rtpmap:101 telephone-event/8000\r\n"
           "a=inactive\r\n";
}

// Rank of each state along the success path; a state never moves backwards.
int progress_rank(CallState state) {
    switch (state) {
        case CallState::idle:
            return 0;
        case CallState::dialing:
            return 1;
        case CallState::proceeding:
            return 2;
        case CallState::ringback:
            return 3;
        case CallState::connected:
            return 4;
        case CallState::transferring:
            return 5;
        case CallState::callee_ringing:
            return 6;
        case CallState::transferred:
        case CallState::disconnected:
            return 7;
    }
    return 0;
}

std::string event_package(const std::string& event_header) {
    auto end = event_header.find_first_of("; \t");
    std::string package = event_header.substr(0, end);
    for (auto& ch : package) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return package;
}

}  // namespace

struct Controller::Call {
    CallSnapshot snapshot;
    RequestHandle invite = 0;
    RequestHandle refer = 0;
    std::optional<DialogId> dialog;
    bool our_leg_up = false;  // the phone answered and has not hung up
    bool drop_requested = false;
    bool cancelled_for_no_answer = false;
    bool refer_accepted = false;
    bool notify_expected = true;
    std::uint64_t deadline_ms = 0;        // no-answer, then NOTIFY wait; 0 = none
    std::vector<RequestHandle> requests;  // every request sent for it, to unmap when forgotten
};

Controller::Controller(ControllerConfig config)
    : config_(std::move(config)), engine_(config_.engine) {}
Controller::~Controller() = default;
Controller::Controller(Controller&&) noexcept = default;
Controller& Controller::operator=(Controller&&) noexcept = default;

Result<Controller> Controller::create(ControllerConfig config) {
    if (config.domain.empty()) return Error{"config: domain is required"};
    if (!parse_host_port(config.domain)) {
        return Error{"config: domain \"" + config.domain + "\" is not host[:port]"};
    }
    if (config.user.empty()) return Error{"config: user is required"};
    if (config.outbound_proxy && !parse_host_port(*config.outbound_proxy)) {
        return Error{"config: outbound_proxy \"" + *config.outbound_proxy +
                     "\" is not host[:port]"};
    }
    if (config.mode == ClickToDialMode::direct && !config.outbound_proxy) {
        return Error{"config: mode direct needs outbound_proxy (the phone's address)"};
    }
    if (config.notify_wait_ms == 0) return Error{"config: notify_wait_ms must be above 0"};
    if (config.max_finished_calls == 0) {
        return Error{"config: max_finished_calls must be at least 1"};
    }
    if (auto rules = addressing::validate_rules(config.dialing_rules); !rules) {
        return Error{"config: dialing rules: " + rules.error()};
    }
    // In refer mode the outbound proxy is a pre-loaded Route; in direct mode the
    // phone is the Request-URI host and nothing is pre-routed.
    config.engine.outbound_proxy =
        config.mode == ClickToDialMode::refer ? config.outbound_proxy : std::nullopt;
    config.engine.auth_user = config.auth_user.empty() ? config.user : config.auth_user;
    config.engine.password = config.password;
    return Controller(std::move(config));
}

OutgoingRequest Controller::make_invite(const std::string& number) const {
    const std::string phone_user = config_.extension.value_or(config_.user);
    OutgoingRequest invite;
    invite.method = "INVITE";
    invite.request_uri.user = phone_user;
    // The domain may carry a port (a PBX on 127.0.0.1:25060): host and port apart.
    // create() checked that both parse.
    const auto domain = *parse_host_port(config_.domain);
    // Direct mode rings the phone at its own address; refer mode goes to the domain.
    const auto target = config_.mode == ClickToDialMode::direct
                            ? *parse_host_port(*config_.outbound_proxy)
                            : domain;
    invite.request_uri.host = target.host;
    invite.request_uri.port = target.port;
    invite.from.display_name = config_.display_name;
    invite.from.uri.user = config_.user;
    invite.from.uri.host = domain.host;
    invite.from.uri.port = domain.port;
    invite.to.uri.user = phone_user;
    invite.to.uri.host = domain.host;
    invite.to.uri.port = domain.port;
    invite.headers.push_back({"Subject", "Call to " + number});
    if (config_.auto_answer_hints) {
        // The hints phones of several makers look for (Snom/Yealink, Polycom, RFC 5373).
        invite.headers.push_back({"Call-Info", "<sip:" + config_.domain + ">;answer-after=0"});
        invite.headers.push_back(
            {"Alert-Info", "<sip:" + config_.domain + ">;info=alert-autoanswer"});
        invite.headers.push_back({"Answer-Mode", "Auto"});
    }
    invite.headers.push_back({"Allow", "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS"});
    invite.headers.push_back(
        {"Supported", config_.refer_sub_false ? "replaces, norefersub" : "replaces"});
    invite.body = black_hole_sdp(std::to_string(next_call_));
    invite.content_type = "application/sdp";
    return invite;
}

Result<CallId> Controller::click_to_dial(std::uint64_t now_ms, std::string_view number) {
    auto normalized = addressing::normalize_number(number, config_.dialing_rules);
    if (!normalized) return Error{"bad number: " + normalized.error()};
    auto target = addressing::render_dial_target(*normalized, config_.dialing_rules,
                                                 {config_.domain, config_.target_format});
    if (!target) return Error{"bad number: " + target.error()};

    const CallId id = next_call_++;
    auto call = std::make_unique<Call>();
    call->snapshot = {id, CallState::idle, DisconnectCause::none, 0, std::string(number), *target};
    auto& ref = *call;
    calls_.emplace(id, std::move(call));
    ref.invite = engine_.send_request(now_ms, make_invite(std::string(number)));
    track_request(ref, ref.invite);
    advance(now_ms, ref, CallState::dialing);
    arm_timer(ref, now_ms + config_.caller_answer_timeout_ms);
    process_engine_events(now_ms);
    return id;
}

bool Controller::drop(std::uint64_t now_ms, CallId id) {
    auto it = calls_.find(id);
    if (it == calls_.end() || is_final(it->second->snapshot.state)) return false;
    auto& call = *it->second;
    if (call.drop_requested) return false;
    call.drop_requested = true;
    if (call.our_leg_up) {
        finish(now_ms, call, CallState::disconnected, DisconnectCause::cancelled_by_user, 0,
               "dropped by the user");
    } else {
        // CANCEL (held by the engine until a provisional arrives); the 487, or a
        // 2xx that crosses it (ACK + BYE by the engine), ends the call.
        engine_.cancel(now_ms, call.invite);
    }
    process_engine_events(now_ms);
    return true;
}

void Controller::handle_received(std::uint64_t now_ms, std::string_view bytes, Peer source) {
    engine_.handle_received(now_ms, bytes, source);
    process_engine_events(now_ms);
}

void Controller::handle_resolved(std::uint64_t now_ms, std::uint64_t resolve_id,
                                 std::optional<std::string> ip, std::string error) {
    engine_.handle_resolved(now_ms, resolve_id, std::move(ip), std::move(error));
    process_engine_events(now_ms);
}

void Controller::handle_send_failed(std::uint64_t now_ms, const Peer& destination,
                                    std::string reason) {
    engine_.handle_send_failed(now_ms, destination, std::move(reason));
    process_engine_events(now_ms);
}

void Controller::handle_timeout(std::uint64_t now_ms) {
    engine_.handle_timeout(now_ms);
    process_engine_events(now_ms);
    while (!timers_.empty() && timers_.begin()->first <= now_ms) {
        const auto [at_ms, id] = *timers_.begin();
        timers_.erase(timers_.begin());
        auto it = calls_.find(id);
        if (it == calls_.end() || it->second->deadline_ms != at_ms) continue;  // stale entry
        on_call_timer(now_ms, *it->second);
    }
    process_engine_events(now_ms);
}

std::optional<std::uint64_t> Controller::poll_timeout() const {
    auto deadline = engine_.poll_timeout();
    if (!timers_.empty() && (!deadline || timers_.begin()->first < *deadline)) {
        deadline = timers_.begin()->first;
    }
    return deadline;
}

std::optional<CallEvent> Controller::poll_call_event() {
    if (call_events_.empty()) return std::nullopt;
    auto event = std::move(call_events_.front());
    call_events_.pop_front();
    return event;
}

const CallSnapshot* Controller::call(CallId id) const {
    auto it = calls_.find(id);
    return it == calls_.end() ? nullptr : &it->second->snapshot;
}

std::size_t Controller::active_calls() const {
    std::size_t active = 0;
    for (const auto& [id, call] : calls_) active += !is_final(call->snapshot.state);
    return active;
}

void Controller::arm_timer(Call& call, std::uint64_t at_ms) {
    call.deadline_ms = at_ms;
    timers_.emplace(at_ms, call.snapshot.id);
}

void Controller::process_engine_events(std::uint64_t now_ms) {
    while (auto event = engine_.poll_event()) {
        std::visit(
            [&](auto& e) {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, ResponseEvent> ||
                              std::is_same_v<T, RequestFailedEvent>) {
                    auto id = call_by_request_.find(e.request);
                    if (id == call_by_request_.end()) return;
                    auto call = calls_.find(id->second);
                    if (call == calls_.end()) return;
                    if constexpr (std::is_same_v<T, ResponseEvent>) {
                        if (e.request == call->second->invite) {
                            on_invite_response(now_ms, *call->second, e);
                        } else if (e.request == call->second->refer) {
                            on_refer_response(now_ms, *call->second, e);
                        }
                    } else {
                        on_request_failed(now_ms, *call->second, e);
                    }
                } else if constexpr (std::is_same_v<T, IncomingRequestEvent>) {
                    std::optional<CallId> owner;
                    if (e.dialog) {
                        if (auto id = call_by_dialog_.find(*e.dialog);
                            id != call_by_dialog_.end()) {
                            owner = id->second;
                        }
                    }
                    if (owner && e.request.method == "NOTIFY") {
                        on_notify(now_ms, *calls_.at(*owner), e);
                    } else if (e.request.method == "OPTIONS") {
                        engine_.respond(
                            now_ms, e.id, 200,
                            {{"Allow", "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS"}});
                    } else {
                        // A controller takes no calls and no other in-dialog requests.
                        engine_.respond(now_ms, e.id, owner ? 501 : 405,
                                        {{"Allow", "ACK, BYE, CANCEL, NOTIFY, OPTIONS"}});
                    }
                } else if constexpr (std::is_same_v<T, DialogTerminatedEvent>) {
                    if (auto id = call_by_dialog_.find(e.dialog); id != call_by_dialog_.end()) {
                        on_dialog_terminated(now_ms, *calls_.at(id->second), e);
                    }
                }
            },
            event->payload);
    }
}

void Controller::on_invite_response(std::uint64_t now_ms, Call& call, const ResponseEvent& event) {
    const int code = event.response.status_code;
    if (code < 200) {
        advance(now_ms, call,
                (code == 180 || code == 183) ? CallState::ringback : CallState::proceeding, code);
        return;
    }
    if (code < 300) {
        call.dialog = event.dialog;
        if (event.dialog) call_by_dialog_[*event.dialog] = call.snapshot.id;
        if (call.drop_requested || call.cancelled_for_no_answer) {
            // The 2xx crossed our CANCEL; the engine ACKs it and sends BYE.
            finish(now_ms, call, CallState::disconnected,
                   call.drop_requested ? DisconnectCause::cancelled_by_user
                                       : DisconnectCause::caller_no_answer,
                   code, "answered while being cancelled");
            return;
        }
        call.our_leg_up = true;
        if (event.dialog) engine_.keep_dialog_for_subscription(*event.dialog, true);
        advance(now_ms, call, CallState::connected, code);
        send_refer(now_ms, call);
        return;
    }
    if (call.drop_requested) {
        finish(now_ms, call, CallState::disconnected, DisconnectCause::cancelled_by_user, code,
               "cancelled before the phone answered");
    } else if (call.cancelled_for_no_answer) {
        finish(now_ms, call, CallState::disconnected, DisconnectCause::caller_no_answer, code,
               "the phone did not answer in time");
    } else {
        finish(now_ms, call, CallState::disconnected, caller_failure_cause(code), code,
               "the phone answered " + std::to_string(code));
    }
}

void Controller::send_refer(std::uint64_t now_ms, Call& call) {
    InDialogRequest refer;
    refer.method = "REFER";
    refer.headers.push_back({"Refer-To", "<" + call.snapshot.target_uri + ">"});
    // Referred-By is us (RFC 3892), never the target: phones show it to the callee.
    refer.headers.push_back({"Referred-By", "<sip:" + config_.user + "@" + config_.domain + ">"});
    if (config_.refer_sub_false) refer.headers.push_back({"Refer-Sub", "false"});
    call.refer = engine_.send_in_dialog(now_ms, *call.dialog, std::move(refer));
    track_request(call, call.refer);
    arm_timer(call, now_ms + config_.notify_wait_ms);
}

void Controller::on_refer_response(std::uint64_t now_ms, Call& call, const ResponseEvent& event) {
    if (is_final(call.snapshot.state)) return;
    const int code = event.response.status_code;
    if (code < 200) return;
    if (code >= 300) {
        finish(now_ms, call, CallState::disconnected, DisconnectCause::refer_not_supported, code,
               "REFER rejected with " + std::to_string(code));
        return;
    }
    // 200 and 202 mean the same (RFC 7647).
    call.refer_accepted = true;
    const auto* refer_sub = event.response.header("Refer-Sub");
    if (config_.refer_sub_false && refer_sub && iequals(*refer_sub, "false")) {
        // RFC 4488: the phone agreed not to report progress; the transfer is handed off.
        call.notify_expected = false;
        finish(now_ms, call, CallState::transferred, DisconnectCause::none, code,
               "REFER accepted without a subscription (Refer-Sub: false)");
        return;
    }
    advance(now_ms, call, CallState::transferring, code);
}

void Controller::on_request_failed(std::uint64_t now_ms, Call& call,
                                   const RequestFailedEvent& event) {
    if (is_final(call.snapshot.state)) return;
    if (event.request != call.invite && event.request != call.refer) return;  // a BYE failing
    DisconnectCause cause = DisconnectCause::network_unreachable;
    if (event.cause == FailureCause::authentication_failed ||
        event.cause == FailureCause::no_credentials) {
        cause = DisconnectCause::authentication_failed;
    } else if (call.drop_requested) {
        cause = DisconnectCause::cancelled_by_user;
    }
    const std::string what = event.request == call.invite ? "INVITE" : "REFER";
    finish(now_ms, call, CallState::disconnected, cause, event.status_code,
           what + ": " + std::string(to_string(event.cause)) +
               (event.detail.empty() ? "" : " (" + event.detail + ")"));
}

void Controller::on_notify(std::uint64_t now_ms, Call& call, const IncomingRequestEvent& event) {
    const Message& notify = event.request;
    const auto* event_header = notify.header("Event");
    if (event_header == nullptr) {
        engine_.respond(now_ms, event.id, 400, {}, {}, {}, "Missing Event header");
        return;
    }
    if (event_package(*event_header) != "refer") {
        engine_.respond(now_ms, event.id, 489, {{"Allow-Events", "refer"}});
        return;
    }
    if (call.refer == 0) {
        engine_.respond(now_ms, event.id, 481, {}, {}, {}, "No subscription");
        return;
    }
    const auto* content_type = notify.header("Content-Type");
    std::optional<int> fragment_code;
    if (!notify.body.empty()) {
        if (content_type == nullptr || content_type->rfind("message/sipfrag", 0) != 0) {
            engine_.respond(now_ms, event.id, 415, {{"Accept", "message/sipfrag"}});
            return;
        }
        auto fragment = parse_sipfrag(notify.body);
        if (!fragment || fragment->is_request) {
            engine_.respond(now_ms, event.id, 400, {}, {}, {}, "Bad sipfrag body");
            return;
        }
        fragment_code = fragment->status_code;
    }
    engine_.respond(now_ms, event.id, 200);
    if (is_final(call.snapshot.state)) return;  // late or reordered: already decided

    // A NOTIFY proves the REFER was accepted, even when it overtakes the 2xx.
    call.refer_accepted = true;
    const auto* subscription_state = notify.header("Subscription-State");
    const bool terminated =
        subscription_state && event_package(*subscription_state) == "terminated";
    if (fragment_code && *fragment_code >= 200 && *fragment_code < 300) {
        finish(now_ms, call, CallState::transferred, DisconnectCause::none, *fragment_code,
               "the callee answered");
    } else if (fragment_code && *fragment_code >= 300) {
        finish(now_ms, call, CallState::disconnected, callee_failure_cause(*fragment_code),
               *fragment_code, "the callee's side answered " + std::to_string(*fragment_code));
    } else if (terminated) {
        finish(now_ms, call, CallState::disconnected, DisconnectCause::transfer_outcome_unknown,
               fragment_code.value_or(0), "subscription terminated without a final sipfrag");
    } else if (fragment_code && (*fragment_code == 180 || *fragment_code == 183)) {
        advance(now_ms, call, CallState::callee_ringing, *fragment_code);
    } else {
        advance(now_ms, call, CallState::transferring, fragment_code.value_or(0));
    }
}

void Controller::on_dialog_terminated(std::uint64_t now_ms, Call& call,
                                      const DialogTerminatedEvent& event) {
    if (event.cause != DialogEndCause::bye_received) return;
    call.our_leg_up = false;
    if (is_final(call.snapshot.state)) return;
    if (!call.refer_accepted) {
        finish(now_ms, call, CallState::disconnected, DisconnectCause::caller_hung_up, 0,
               "the phone hung up");
    }
    // Otherwise the phone left our leg to call the callee (some do that at once):
    // the subscription lives on (RFC 5057) and the NOTIFYs still tell the outcome.
}

void Controller::on_call_timer(std::uint64_t now_ms, Call& call) {
    if (is_final(call.snapshot.state)) return;
    call.deadline_ms = 0;
    if (call.refer == 0) {
        if (call.our_leg_up || call.drop_requested) return;
        call.cancelled_for_no_answer = true;
        engine_.cancel(now_ms, call.invite);
        return;
    }
    finish(now_ms, call, CallState::disconnected, DisconnectCause::notify_timeout, 0,
           "no final NOTIFY within " + std::to_string(config_.notify_wait_ms) + " ms");
}

void Controller::advance(std::uint64_t now_ms, Call& call, CallState state, int sip_code,
                         std::string detail) {
    if (progress_rank(state) <= progress_rank(call.snapshot.state)) return;
    call.snapshot.state = state;
    call.snapshot.sip_code = sip_code;
    call_events_.push_back(
        {now_ms, call.snapshot.id, state, DisconnectCause::none, sip_code, std::move(detail)});
}

void Controller::finish(std::uint64_t now_ms, Call& call, CallState state, DisconnectCause cause,
                        int sip_code, std::string detail) {
    if (is_final(call.snapshot.state)) return;
    call.snapshot.state = state;
    call.snapshot.cause = cause;
    call.snapshot.sip_code = sip_code;
    call.deadline_ms = 0;
    call_events_.push_back({now_ms, call.snapshot.id, state, cause, sip_code, std::move(detail)});
    if (call.dialog) {
        if (call.our_leg_up) {
            const auto bye = engine_.send_in_dialog(now_ms, *call.dialog, {"BYE", {}, {}, {}});
            if (bye != 0) track_request(call, bye);
            call.our_leg_up = false;
        }
        engine_.keep_dialog_for_subscription(*call.dialog, false);
    }
    finished_calls_.push_back(call.snapshot.id);
    forget_old_calls();
}

void Controller::track_request(Call& call, RequestHandle request) {
    call_by_request_[request] = call.snapshot.id;
    call.requests.push_back(request);
}

// A long-running controller must not grow with every call it ever placed.
void Controller::forget_old_calls() {
    while (finished_calls_.size() > config_.max_finished_calls) {
        const CallId oldest = finished_calls_.front();
        finished_calls_.pop_front();
        auto it = calls_.find(oldest);
        if (it == calls_.end()) continue;
        for (auto request : it->second->requests) call_by_request_.erase(request);
        if (it->second->dialog) call_by_dialog_.erase(*it->second->dialog);
        calls_.erase(it);
    }
}

}  // namespace sipcc
