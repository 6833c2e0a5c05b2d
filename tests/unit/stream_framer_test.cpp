#include "core/message/stream_framer.hpp"

#include <gtest/gtest.h>

#include "core/message/parser.hpp"
#include "tests/unit/test_support.hpp"

namespace sipcc {
namespace {

std::vector<std::string> three_messages() {
    return {test::read_sample("invite_sdp.sip"), test::read_sample("notify_sipfrag.sip"),
            test::read_sample("ok_200.sip")};
}

std::string concatenated(const std::vector<std::string>& messages) {
    std::string stream;
    for (const auto& message : messages) stream += message;
    return stream;
}

TEST(StreamFramer, SeveralMessagesInOneRead) {
    const auto messages = three_messages();
    StreamFramer framer;
    auto out = framer.feed(concatenated(messages));
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(*out, messages);
    EXPECT_EQ(framer.buffered_bytes(), 0u);
}

// Split the stream in two at every byte offset: the same messages come out.
TEST(StreamFramer, EverySplitOffset) {
    const auto messages = three_messages();
    const auto stream = concatenated(messages);
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        StreamFramer framer;
        auto first = framer.feed(std::string_view(stream).substr(0, split));
        ASSERT_TRUE(first) << "split " << split << ": " << first.error();
        auto second = framer.feed(std::string_view(stream).substr(split));
        ASSERT_TRUE(second) << "split " << split << ": " << second.error();
        auto all = *first;
        all.insert(all.end(), second->begin(), second->end());
        ASSERT_EQ(all, messages) << "split at " << split;
        ASSERT_EQ(framer.buffered_bytes(), 0u);
    }
}

TEST(StreamFramer, OneByteAtATime) {
    const auto messages = three_messages();
    const auto stream = concatenated(messages);
    StreamFramer framer;
    std::vector<std::string> all;
    for (char byte : stream) {
        auto out = framer.feed(std::string_view(&byte, 1));
        ASSERT_TRUE(out) << out.error();
        all.insert(all.end(), out->begin(), out->end());
    }
    EXPECT_EQ(all, messages);
    for (const auto& message : all) EXPECT_TRUE(parse_message(message)) << message;
}

TEST(StreamFramer, KeepaliveCrlfBetweenMessagesIsSkipped) {
    const auto messages = three_messages();
    StreamFramer framer;
    auto out = framer.feed("\r\n\r\n" + messages[0] + "\r\n" + messages[1]);
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(*out, (std::vector<std::string>{messages[0], messages[1]}));
    EXPECT_EQ(framer.keepalives_seen(), 3u);
}

TEST(StreamFramer, CompactContentLengthIsUnderstood) {
    const auto bye = test::read_sample("compact.sip");  // uses "l: 0"
    StreamFramer framer;
    auto out = framer.feed(bye + bye);
    ASSERT_TRUE(out) << out.error();
    EXPECT_EQ(out->size(), 2u);
}

TEST(StreamFramer, MissingContentLengthIsAnError) {
    StreamFramer framer;
    auto out = framer.feed("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n");
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().find("without Content-Length"), std::string::npos);
    EXPECT_TRUE(framer.failed());
    EXPECT_FALSE(framer.feed(test::read_sample("ok_200.sip"))) << "a failed stream stays failed";
}

TEST(StreamFramer, MalformedContentLengthIsAnError) {
    StreamFramer framer;
    auto out = framer.feed("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 12abc\r\n\r\n");
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().find("malformed Content-Length"), std::string::npos);
}

TEST(StreamFramer, OversizeMessagesAreRefused) {
    StreamFramer by_length(100);
    auto out = by_length.feed("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n");
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().find("exceeds the limit of 100"), std::string::npos);

    StreamFramer endless_headers(100);
    auto first = endless_headers.feed(std::string(60, 'a'));
    ASSERT_TRUE(first);
    EXPECT_TRUE(first->empty());
    auto second = endless_headers.feed(std::string(60, 'a'));
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().find("without an empty line"), std::string::npos);
}

}  // namespace
}  // namespace sipcc
