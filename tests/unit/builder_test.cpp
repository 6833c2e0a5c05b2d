#include "core/message/builder.hpp"

#include <gtest/gtest.h>

#include "core/message/parser.hpp"
#include "tests/unit/test_support.hpp"

namespace sipcc {
namespace {

RequestSpec invite_spec() {
    RequestSpec spec;
    spec.method = "INVITE";
    spec.request_uri = *parse_uri("sip:alice@pbx.example.com");
    spec.from = *parse_name_addr("\"C2D\" <sip:c2d@pbx.example.com>;tag=abc");
    spec.to = *parse_name_addr("<sip:alice@pbx.example.com>");
    spec.call_id = "call-1@sipcc";
    spec.cseq = 7;
    spec.via = *parse_via("SIP/2.0/UDP 127.0.0.1:5070;rport");
    set_parameter(spec.via.params, "branch", make_branch("x1y2"));
    spec.contact = *parse_name_addr("<sip:c2d@127.0.0.1:5070>");
    spec.route = {*parse_name_addr("<sip:proxy.example.com;lr>")};
    return spec;
}

TEST(Builder, RequestCarriesTheMandatoryHeadersInOrder) {
    auto request = make_request(invite_spec());
    std::vector<std::string> names;
    for (const auto& header : request.headers) names.push_back(header.name);
    EXPECT_EQ(names, (std::vector<std::string>{"Via", "Max-Forwards", "Route", "From", "To",
                                               "Call-ID", "CSeq", "Contact"}));
    EXPECT_EQ(*request.header("CSeq"), "7 INVITE");
    EXPECT_EQ(*request.header("Max-Forwards"), "70");
    EXPECT_EQ(request.top_via()->branch(), "z9hG4bKx1y2");
    EXPECT_EQ(request.start_line(), "INVITE sip:alice@pbx.example.com SIP/2.0");

    // And the wire form parses back to the same values.
    request.body = "v=0\r\n";
    request.add_header("Content-Type", "application/sdp");
    auto reparsed = parse_message(request.to_bytes());
    ASSERT_TRUE(reparsed) << reparsed.error();
    EXPECT_EQ(reparsed->from()->tag(), "abc");
    EXPECT_EQ(reparsed->body, "v=0\r\n");
    EXPECT_NE(request.to_bytes().find("Content-Length: 5\r\n"), std::string::npos);
}

TEST(Builder, ResponseCopiesViaFromToCallIdCSeq) {
    auto request = parse_message(
        test::crlf("INVITE sip:alice@pbx SIP/2.0\n"
                   "Via: SIP/2.0/UDP proxy;branch=z9hG4bKp\nVia: SIP/2.0/UDP ua;branch=z9hG4bKu\n"
                   "Max-Forwards: 69\nFrom: <sip:c2d@pbx>;tag=f1\nTo: <sip:alice@pbx>\n"
                   "Call-ID: cid\nCSeq: 3 INVITE\nTimestamp: 54\nContact: <sip:c2d@ua>\n\n"));
    ASSERT_TRUE(request) << request.error();

    auto ringing = make_response(*request, 180, "t9");
    EXPECT_EQ(ringing.status_code, 180);
    EXPECT_EQ(ringing.reason_phrase, "Ringing");
    auto vias = ringing.vias();
    ASSERT_TRUE(vias);
    ASSERT_EQ(vias->size(), 2u);
    EXPECT_EQ((*vias)[0].host, "proxy");
    EXPECT_EQ((*vias)[1].host, "ua");
    EXPECT_EQ(ringing.to()->tag(), "t9");
    EXPECT_EQ(ringing.from()->tag(), "f1");
    EXPECT_EQ(ringing.call_id(), "cid");
    EXPECT_EQ(*ringing.header("CSeq"), "3 INVITE");
    EXPECT_FALSE(ringing.has_header("Timestamp"));
    EXPECT_FALSE(ringing.has_header("Contact"));
    EXPECT_FALSE(ringing.has_header("Max-Forwards"));

    auto trying = make_response(*request, 100, "t9");
    EXPECT_FALSE(trying.to()->tag().has_value()) << "100 Trying carries no To tag";
    EXPECT_EQ(*trying.header("Timestamp"), "54");

    auto custom = make_response(*request, 486, "t9", "Busy Here Now");
    EXPECT_EQ(custom.start_line(), "SIP/2.0 486 Busy Here Now");
}

TEST(Builder, ExistingToTagIsKept) {
    auto request = parse_message(test::crlf(
        "BYE sip:alice@ua SIP/2.0\nVia: SIP/2.0/UDP ua;branch=z9hG4bKu\n"
        "From: <sip:c2d@pbx>;tag=f1\nTo: <sip:alice@pbx>;tag=orig\nCall-ID: cid\nCSeq: 4 BYE\n\n"));
    ASSERT_TRUE(request);
    EXPECT_EQ(make_response(*request, 200, "other").to()->tag(), "orig");
}

TEST(Builder, ReasonPhrases) {
    EXPECT_EQ(default_reason_phrase(202), "Accepted");
    EXPECT_EQ(default_reason_phrase(481), "Call/Transaction Does Not Exist");
    EXPECT_EQ(default_reason_phrase(489), "Bad Event");
    EXPECT_EQ(default_reason_phrase(299), "");
}

}  // namespace
}  // namespace sipcc
