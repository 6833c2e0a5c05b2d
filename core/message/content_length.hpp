// Content-Length (or its compact form "l") read straight from a header
// section, for the places that must know the body size before parsing:
// stream framing and cutting a datagram's body.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "core/util/result.hpp"

namespace sipcc {

// nullopt when the header is absent; an error when its value is not a number.
Result<std::optional<std::size_t>> find_content_length(std::string_view header_section);

}  // namespace sipcc
