#include <gtest/gtest.h>

#include "core/message/parser.hpp"
#include "tests/unit/test_support.hpp"

namespace sipcc {
namespace {

TEST(Sipfrag, StatusLineAloneWithoutLineEnd) {
    auto fragment = parse_sipfrag("SIP/2.0 200 OK");
    ASSERT_TRUE(fragment) << fragment.error();
    EXPECT_FALSE(fragment->is_request);
    EXPECT_EQ(fragment->status_code, 200);
    EXPECT_EQ(fragment->reason_phrase, "OK");
    EXPECT_TRUE(fragment->headers.empty());
}

TEST(Sipfrag, StatusLineWithCrlf) {
    auto fragment = parse_sipfrag("SIP/2.0 180 Ringing\r\n");
    ASSERT_TRUE(fragment) << fragment.error();
    EXPECT_EQ(fragment->status_code, 180);
}

TEST(Sipfrag, StatusLineWithHeaders) {
    auto fragment = parse_sipfrag(
        "SIP/2.0 486 Busy Here\r\nRetry-After: 60\r\nContact: <sip:bob@example.com>\r\n");
    ASSERT_TRUE(fragment) << fragment.error();
    EXPECT_EQ(fragment->status_code, 486);
    EXPECT_EQ(fragment->reason_phrase, "Busy Here");
    ASSERT_NE(fragment->header("Retry-After"), nullptr);
    EXPECT_EQ(*fragment->header("Retry-After"), "60");
    EXPECT_EQ(fragment->name_addrs("Contact")->at(0).uri.user, "bob");
}

TEST(Sipfrag, LfLineEndsAreAccepted) {
    auto fragment = parse_sipfrag("SIP/2.0 603 Declined\nRetry-After: 5\n");
    ASSERT_TRUE(fragment) << fragment.error();
    EXPECT_EQ(fragment->status_code, 603);
    EXPECT_EQ(*fragment->header("Retry-After"), "5");
}

TEST(Sipfrag, RequestLineFragment) {
    auto fragment = parse_sipfrag("INVITE sip:bob@example.com SIP/2.0\r\n");
    ASSERT_TRUE(fragment) << fragment.error();
    EXPECT_TRUE(fragment->is_request);
    EXPECT_EQ(fragment->method, "INVITE");
}

TEST(Sipfrag, FromANotifyBody) {
    auto notify = parse_message(test::read_sample("notify_sipfrag.sip"));
    ASSERT_TRUE(notify);
    EXPECT_EQ(notify->header("Content-Type")->rfind("message/sipfrag", 0), 0u);
    auto fragment = parse_sipfrag(notify->body);
    ASSERT_TRUE(fragment) << fragment.error();
    EXPECT_EQ(fragment->status_code, 200);
}

TEST(Sipfrag, GarbageIsAnError) {
    for (const char* bad : {"", "OK", "SIP/2.0 OK", "SIP/2.0 99 Low", "200 OK\r\n"}) {
        auto fragment = parse_sipfrag(bad);
        EXPECT_FALSE(fragment) << bad;
        if (!fragment) {
            EXPECT_EQ(fragment.error().rfind("malformed sipfrag", 0), 0u);
        }
    }
}

}  // namespace
}  // namespace sipcc
