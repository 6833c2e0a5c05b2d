// Rendering a normalized number as the URI the phone is asked to call: the Request-URI of
// the INVITE or the Refer-To target. See docs/numbers.md for every form.
#pragma once

#include <string>
#include <string_view>

#include "core/addressing/number.hpp"
#include "core/util/result.hpp"

namespace sipcc::addressing {

// How PSTN numbers (kind global) are written. Extensions, dial strings and local numbers
// always become sip:DIGITS@domain; URIs are never changed.
enum class UriFormat {
    sip_user_phone,        // sip:+431505641@domain;user=phone
    international_prefix,  // sip:00431505641@domain (outside-line prefix first, if any)
    national,              // sip:01505641@domain for our country, else the international form
    tel,                   // tel:+431505641 (needs no domain)
};

// "sip", "international", "national", "tel": the names the CLI and configuration use.
std::string_view to_string(UriFormat format);
Result<UriFormat> parse_uri_format(std::string_view name);

struct DialTargetOptions {
    std::string domain;  // host[:port] of the PBX or SIP provider; required for sip: forms
    UriFormat format = UriFormat::sip_user_phone;
};

// RFC 3261 user part: unreserved and user-unreserved characters as they are,
// everything else (such as '#') %-escaped.
std::string escape_sip_user(std::string_view user);

Result<std::string> render_dial_target(const NormalizedNumber& number, const DialingRules& rules,
                                       const DialTargetOptions& options);

}  // namespace sipcc::addressing
