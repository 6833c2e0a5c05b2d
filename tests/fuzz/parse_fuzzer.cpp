// Fuzzes the message layer: parsing never crashes or leaks, a parsed message
// serializes to bytes that parse again to the same start line and headers,
// and the stream framer and sipfrag parser survive the same input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/message/parser.hpp"
#include "core/message/stream_framer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto message = sipcc::parse_message(bytes);
    if (message) {
        const auto wire = message->to_bytes();
        auto again = sipcc::parse_message(wire);
        if (!again || again->start_line() != message->start_line() ||
            again->headers.size() != message->headers.size() || again->body != message->body) {
            std::abort();  // the serializer wrote something the parser reads differently
        }
        (void)message->top_via();
        (void)message->from();
        (void)message->to();
        (void)message->cseq();
    }
    (void)sipcc::parse_sipfrag(bytes);
    sipcc::StreamFramer framer(4096);
    const auto half = size / 2;
    (void)framer.feed(bytes.substr(0, half));
    (void)framer.feed(bytes.substr(half));
    return 0;
}
