// JSON views of message values, for `sipcc parse` and the front ends.
#pragma once

#include <nlohmann/json.hpp>

#include "core/message/message.hpp"

namespace sipcc::cli {

nlohmann::ordered_json to_json(const Uri& uri);
// The message with its start line, headers in order and body; a message/sipfrag
// body is parsed and included as "sipfrag".
nlohmann::ordered_json to_json(const Message& message);

}  // namespace sipcc::cli
