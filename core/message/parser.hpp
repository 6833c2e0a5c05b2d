// Bytes -> message values. Implemented by the libosip2 adapter
// (osip_adapter.cpp), the only file in sipcc that includes libosip2 headers.
// Every function returns a value or a reason; none throws or crashes on bad input.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/message/message.hpp"
#include "core/util/result.hpp"

namespace sipcc {

struct ParseLimits {
    // RFC 3261 §18.1.1 keeps UDP messages well under this; anything larger is refused.
    std::size_t max_message_bytes = 65535;
};

// A whole SIP message (one datagram, or one message cut from a stream by StreamFramer).
// The body is the bytes after the blank line, cut to Content-Length when present.
Result<Message> parse_message(std::string_view bytes, const ParseLimits& limits = {});

// A message/sipfrag body (RFC 3420): a start line and optional headers, no
// mandatory headers, the blank line optional.
Result<Message> parse_sipfrag(std::string_view body);

Result<Uri> parse_uri(std::string_view text);
// name-addr or addr-spec, with header parameters (From, To, Contact, Route, Refer-To ...).
Result<NameAddr> parse_name_addr(std::string_view text);
Result<Via> parse_via(std::string_view text);
Result<CSeq> parse_cseq(std::string_view text);

}  // namespace sipcc
