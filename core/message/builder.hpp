// Building requests and responses with the headers RFC 3261 makes mandatory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/message/message.hpp"

namespace sipcc {

// RFC 3261 §8.1.1.7: every branch sipcc creates starts with this cookie.
inline constexpr std::string_view kBranchCookie = "z9hG4bK";

struct RequestSpec {
    std::string method;
    Uri request_uri;
    NameAddr from;  // must carry a tag (§8.1.1.3)
    NameAddr to;
    std::string call_id;
    std::uint32_t cseq = 1;
    Via via;  // its branch must start with kBranchCookie
    int max_forwards = 70;
    std::optional<NameAddr> contact;
    std::vector<NameAddr> route;  // Route header values, in order
};

// Request with Via, Max-Forwards, Route, From, To, Call-ID, CSeq, Contact (RFC 3261 §8.1.1).
Message make_request(const RequestSpec& spec);

// Response to `request` (RFC 3261 §8.2.6): Via (all, in order), From, To, Call-ID,
// CSeq copied; `to_tag` added to To when To has none and the code is above 100;
// Timestamp echoed on 100 (§8.2.6.1).
Message make_response(const Message& request, int status_code, std::string_view to_tag = {},
                      std::string reason_phrase = {});

// The standard reason phrase for a status code ("" for unknown codes).
std::string_view default_reason_phrase(int status_code);

// z9hG4bK + token.
std::string make_branch(std::string_view random_token);

}  // namespace sipcc
