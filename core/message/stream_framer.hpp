// Cuts whole SIP messages out of a byte stream (TCP) by Content-Length
// (RFC 3261 §18.3). Correct for any split of the stream and for several
// messages in one read. After an error the stream cannot be resynchronised:
// the connection must be closed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace sipcc {

class StreamFramer {
public:
    explicit StreamFramer(std::size_t max_message_bytes = 65535)
        : max_message_bytes_(max_message_bytes) {}

    // Appends `bytes` and returns every message now complete (possibly none).
    // Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are skipped and counted.
    Result<std::vector<std::string>> feed(std::string_view bytes);

    [[nodiscard]] std::size_t buffered_bytes() const { return buffer_.size() - consumed_; }
    [[nodiscard]] std::size_t keepalives_seen() const { return keepalives_seen_; }
    [[nodiscard]] bool failed() const { return !failure_.empty(); }

private:
    std::size_t max_message_bytes_;
    std::string buffer_;
    std::size_t consumed_ = 0;            // bytes of buffer_ already handed out
    std::size_t header_search_from_ = 0;  // where to resume looking for the blank line
    std::size_t keepalives_seen_ = 0;
    std::string failure_;
};

}  // namespace sipcc
