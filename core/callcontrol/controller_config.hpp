// What users of SIP TAPI drivers configure, in one struct.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/addressing/dial_target.hpp"
#include "core/addressing/number.hpp"
#include "core/engine/engine_config.hpp"

namespace sipcc {

enum class ClickToDialMode {
    refer,   // INVITE + REFER through the PBX / outbound proxy (default)
    direct,  // straight to the phone: outbound_proxy is the phone's static address
};

struct ControllerConfig {
    std::string domain;                      // SIP domain, e.g. pbx.example.com
    std::optional<std::string> outbound_proxy;  // host[:port]
    std::string user;                        // our SIP user (From, Referred-By)
    std::string auth_user;                   // defaults to user
    std::string password;
    std::optional<std::string> extension;    // the phone to ring; default: the user's own AOR
    std::string display_name = "Click to Dial";
    ClickToDialMode mode = ClickToDialMode::refer;
    bool auto_answer_hints = true;           // Call-Info answer-after=0, Alert-Info, Answer-Mode
    bool refer_sub_false = false;            // RFC 4488: ask for no NOTIFYs
    std::uint64_t notify_wait_ms = 32000;    // time for a final NOTIFY after the REFER
    std::uint64_t caller_answer_timeout_ms = 60000;  // then CANCEL: caller no answer
    // Finished calls stay queryable (call(id)) until this many newer ones finished.
    std::size_t max_finished_calls = 1024;
    addressing::DialingRules dialing_rules;
    addressing::UriFormat target_format = addressing::UriFormat::sip_user_phone;
    // Transport, local address, timers, seed, user agent.
    EngineConfig engine;
};

}  // namespace sipcc
