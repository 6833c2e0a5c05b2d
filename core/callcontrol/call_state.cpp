#include "core/callcontrol/call_state.hpp"

namespace sipcc {

std::string_view to_string(CallState state) {
    switch (state) {
        case CallState::idle: return "idle";
        case CallState::dialing: return "dialing";
        case CallState::proceeding: return "proceeding";
        case CallState::ringback: return "ringback";
        case CallState::connected: return "connected";
        case CallState::transferring: return "transferring";
        case CallState::callee_ringing: return "callee-ringing";
        case CallState::transferred: return "transferred";
        case CallState::disconnected: return "disconnected";
    }
    return "unknown";
}

std::string_view to_string(DisconnectCause cause) {
    switch (cause) {
        case DisconnectCause::none: return "none";
        case DisconnectCause::caller_busy: return "caller-busy";
        case DisconnectCause::caller_no_answer: return "caller-no-answer";
        case DisconnectCause::caller_rejected: return "caller-rejected";
        case DisconnectCause::caller_hung_up: return "caller-hung-up";
        case DisconnectCause::callee_busy: return "callee-busy";
        case DisconnectCause::callee_no_answer: return "callee-no-answer";
        case DisconnectCause::callee_rejected: return "callee-rejected";
        case DisconnectCause::callee_failure: return "callee-failure";
        case DisconnectCause::refer_not_supported: return "refer-not-supported";
        case DisconnectCause::authentication_failed: return "authentication-failed";
        case DisconnectCause::network_unreachable: return "network-unreachable";
        case DisconnectCause::transfer_outcome_unknown: return "transfer-outcome-unknown";
        case DisconnectCause::notify_timeout: return "notify-timeout";
        case DisconnectCause::cancelled_by_user: return "cancelled-by-user";
        case DisconnectCause::bad_number: return "bad-number";
    }
    return "unknown";
}

bool is_final(CallState state) {
    return state == CallState::transferred || state == CallState::disconnected;
}

std::optional<CallState> call_state_from_string(std::string_view text) {
    for (int i = 0; i <= static_cast<int>(CallState::disconnected); ++i) {
        const auto state = static_cast<CallState>(i);
        if (to_string(state) == text) return state;
    }
    return std::nullopt;
}

std::optional<DisconnectCause> disconnect_cause_from_string(std::string_view text) {
    for (int i = 0; i <= static_cast<int>(DisconnectCause::bad_number); ++i) {
        const auto cause = static_cast<DisconnectCause>(i);
        if (to_string(cause) == text) return cause;
    }
    return std::nullopt;
}

DisconnectCause caller_failure_cause(int status_code) {
    switch (status_code) {
        case 486:
        case 600: return DisconnectCause::caller_busy;
        case 408:
        case 480: return DisconnectCause::caller_no_answer;
        default: return DisconnectCause::caller_rejected;
    }
}

DisconnectCause callee_failure_cause(int status_code) {
    switch (status_code) {
        case 486:
        case 600: return DisconnectCause::callee_busy;
        case 408:
        case 480:
        case 487: return DisconnectCause::callee_no_answer;
        case 603: return DisconnectCause::callee_rejected;
        default: return DisconnectCause::callee_failure;
    }
}

}  // namespace sipcc
