// The one call-state model every front end reports (TAPI, REST/JSON, Python).
// docs/call-states.md maps it to LINECALLSTATE_*, AddPac states and REST status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipcc {

using CallId = std::uint64_t;

enum class CallState {
    idle,            // created, nothing sent yet
    dialing,         // INVITE sent to the caller's own phone
    proceeding,      // 100 Trying (or another non-ringing 1xx) from the phone's side
    ringback,        // the caller's phone is ringing (180/183)
    connected,       // the caller answered; REFER on its way
    transferring,    // REFER accepted (2xx, or a NOTIFY proved it)
    callee_ringing,  // sipfrag 1xx: the callee's phone is ringing
    transferred,     // sipfrag 2xx: caller and callee are talking; our leg ends
    disconnected,    // ended without success; see the cause
};

enum class DisconnectCause {
    none,
    caller_busy,              // 486/600 from the caller's phone
    caller_no_answer,         // 408/480, or our no-answer timer cancelled it
    caller_rejected,          // 603 or another 4xx-6xx from the phone or its proxy
    caller_hung_up,           // the phone sent BYE before the transfer was accepted
    callee_busy,              // sipfrag 486/600
    callee_no_answer,         // sipfrag 408/480/487
    callee_rejected,          // sipfrag 603
    callee_failure,           // any other failure sipfrag (the code says which)
    refer_not_supported,      // the REFER was rejected (403/405/489/501 ...)
    authentication_failed,    // challenged again after answering, or no password
    network_unreachable,      // timeout (Timer B/F), transport error, no such host
    transfer_outcome_unknown, // subscription terminated without a final sipfrag
    notify_timeout,           // no final NOTIFY within the NOTIFY wait time
    cancelled_by_user,        // drop() before or during the call
    bad_number,               // the number could not be normalized
};

std::string_view to_string(CallState state);
std::string_view to_string(DisconnectCause cause);
bool is_final(CallState state);
// The inverse of to_string ("callee-ringing" -> callee_ringing); nullopt when unknown.
std::optional<CallState> call_state_from_string(std::string_view text);
std::optional<DisconnectCause> disconnect_cause_from_string(std::string_view text);

// Cause for a failure final response to our INVITE to the caller's phone.
DisconnectCause caller_failure_cause(int status_code);
// Cause for a failure sipfrag reported for the callee.
DisconnectCause callee_failure_cause(int status_code);

struct CallEvent {
    std::uint64_t at_ms = 0;
    CallId call = 0;
    CallState state = CallState::idle;
    DisconnectCause cause = DisconnectCause::none;
    int sip_code = 0;    // the SIP status behind the change, when there is one
    std::string detail;  // a human-readable note ("REFER rejected with 405" ...)
};

}  // namespace sipcc
