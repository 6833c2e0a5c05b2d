#include "core/message/header_names.hpp"

#include <gtest/gtest.h>

namespace sipcc {
namespace {

TEST(HeaderNames, CompactFormsExpand) {
    const std::vector<std::pair<std::string, std::string>> table = {
        {"v", "Via"},          {"f", "From"},
        {"t", "To"},           {"i", "Call-ID"},
        {"m", "Contact"},      {"l", "Content-Length"},
        {"c", "Content-Type"}, {"k", "Supported"},
        {"s", "Subject"},      {"e", "Content-Encoding"},
        {"r", "Refer-To"},     {"b", "Referred-By"},
        {"o", "Event"},        {"u", "Allow-Events"},
        {"V", "Via"},
    };
    for (const auto& [compact, full] : table) {
        EXPECT_EQ(canonical_header_name(compact), full) << compact;
        EXPECT_TRUE(same_header_name(compact, full)) << compact;
    }
}

TEST(HeaderNames, CanonicalSpelling) {
    EXPECT_EQ(canonical_header_name("call-id"), "Call-ID");
    EXPECT_EQ(canonical_header_name("CSEQ"), "CSeq");
    EXPECT_EQ(canonical_header_name("www-authenticate"), "WWW-Authenticate");
    EXPECT_EQ(canonical_header_name("x-my-header"), "X-My-Header");
    EXPECT_EQ(canonical_header_name("subscription-state"), "Subscription-State");
    EXPECT_EQ(canonical_header_name("refer-sub"), "Refer-Sub");
    EXPECT_FALSE(same_header_name("To", "From"));
    EXPECT_FALSE(same_header_name("x", "Session"));  // "x" is Session-Expires
    EXPECT_TRUE(same_header_name("x", "session-expires"));
}

}  // namespace
}  // namespace sipcc
