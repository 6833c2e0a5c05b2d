#include "core/message/stream_framer.hpp"

#include "core/message/content_length.hpp"

namespace sipcc {

Result<std::vector<std::string>> StreamFramer::feed(std::string_view bytes) {
    if (failed()) return Error{failure_};
    buffer_.append(bytes);
    std::vector<std::string> messages;
    for (;;) {
        // Skip keep-alive CRLFs between messages.
        while (buffered_bytes() >= 2 && buffer_.compare(consumed_, 2, "\r\n") == 0) {
            consumed_ += 2;
            header_search_from_ = consumed_;
            ++keepalives_seen_;
        }
        const auto header_end = buffer_.find("\r\n\r\n", header_search_from_);
        if (header_end == std::string::npos) {
            // Resume 3 bytes back: the blank line may straddle this read and the next.
            header_search_from_ = std::max(consumed_, buffer_.size() < 3 ? 0 : buffer_.size() - 3);
            if (buffered_bytes() > max_message_bytes_) {
                failure_ = "header section exceeds " + std::to_string(max_message_bytes_) +
                           " bytes without an empty line";
                return Error{failure_};
            }
            break;
        }
        const auto header_bytes = header_end + 4 - consumed_;
        auto content_length =
            find_content_length(std::string_view(buffer_).substr(consumed_, header_bytes));
        if (!content_length) {
            failure_ = content_length.error();
            return Error{failure_};
        }
        if (!content_length.value()) {
            failure_ = "message without Content-Length on a stream transport (RFC 3261 §18.3)";
            return Error{failure_};
        }
        const auto total = header_bytes + *content_length.value();
        if (total > max_message_bytes_) {
            failure_ = "message of " + std::to_string(total) + " bytes exceeds the limit of " +
                       std::to_string(max_message_bytes_) + " bytes";
            return Error{failure_};
        }
        header_search_from_ = header_end;  // no need to search the same bytes again
        if (buffered_bytes() < total) break;
        messages.push_back(buffer_.substr(consumed_, total));
        consumed_ += total;
        header_search_from_ = consumed_;
    }
    // Compact once the consumed prefix dominates, so the buffer does not grow forever.
    if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
        buffer_.erase(0, consumed_);
        header_search_from_ -= consumed_;
        consumed_ = 0;
    }
    return messages;
}

}  // namespace sipcc
