// Header field names: compact forms (RFC 3261 §7.3.3 and the extensions that
// define their own) and the canonical spelling used when sipcc writes them.
#pragma once

#include <string>
#include <string_view>

namespace sipcc {

// "v" -> "Via", "call-id" -> "Call-ID", "x-my-header" -> "X-My-Header".
std::string canonical_header_name(std::string_view name);

// True when `a` and `b` name the same header (case-insensitive, compact-aware).
bool same_header_name(std::string_view a, std::string_view b);

}  // namespace sipcc
