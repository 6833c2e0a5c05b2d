#include "core/dialog/dialog.hpp"

#include <gtest/gtest.h>

#include "core/message/parser.hpp"
#include "tests/unit/test_support.hpp"

namespace sipcc {
namespace {

Message invite() {
    return *parse_message(test::crlf(
        "INVITE sip:alice@pbx SIP/2.0\nVia: SIP/2.0/UDP ua;branch=z9hG4bK1\n"
        "Record-Route: <sip:p2.example;lr>\nRecord-Route: <sip:p1.example;lr>\n"
        "From: <sip:c2d@pbx>;tag=ours\nTo: <sip:alice@pbx>\nCall-ID: cid\nCSeq: 10 INVITE\n"
        "Contact: <sip:c2d@10.0.0.1>\n\n"));
}

Message ok_for(const Message& request, const std::string& record_route_text) {
    return *parse_message(test::crlf(
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP ua;branch=z9hG4bK1\n" + record_route_text +
        "From: <sip:c2d@pbx>;tag=ours\nTo: <sip:alice@pbx>;tag=theirs\nCall-ID: " +
        request.call_id() + "\nCSeq: 10 INVITE\nContact: <sip:alice@phone.example:5062>\n\n"));
}

TEST(Dialog, UacRouteSetIsRecordRouteReversed) {
    const auto request = invite();
    auto dialog = dialog_from_response(
        request, ok_for(request, "Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\n"));
    ASSERT_TRUE(dialog) << dialog.error();
    EXPECT_TRUE(dialog->is_uac);
    EXPECT_EQ(dialog->state, Dialog::State::confirmed);
    EXPECT_EQ(dialog->key.call_id, "cid");
    EXPECT_EQ(dialog->key.local_tag, "ours");
    EXPECT_EQ(dialog->key.remote_tag, "theirs");
    ASSERT_EQ(dialog->route_set.size(), 2u);
    EXPECT_EQ(dialog->route_set[0].uri.host, "p1.example");
    EXPECT_EQ(dialog->route_set[1].uri.host, "p2.example");
    EXPECT_EQ(dialog->remote_target.to_string(), "sip:alice@phone.example:5062");
    EXPECT_EQ(dialog->local_cseq, 10u);
}

TEST(Dialog, LooseRoutingKeepsTargetInRequestUri) {
    const auto request = invite();
    auto dialog = dialog_from_response(
        request, ok_for(request, "Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\n"));
    ASSERT_TRUE(dialog);
    auto refer = dialog->make_request("REFER");
    EXPECT_EQ(refer.request_uri.to_string(), "sip:alice@phone.example:5062");
    EXPECT_EQ(refer.header_values("Route"),
              (std::vector<std::string>{"<sip:p1.example;lr>", "<sip:p2.example;lr>"}));
    EXPECT_EQ(*refer.header("CSeq"), "11 REFER");
    EXPECT_EQ(refer.to()->tag(), "theirs");
    EXPECT_EQ(refer.from()->tag(), "ours");
    EXPECT_EQ(Dialog::next_hop(refer).host, "p1.example");
    // ACK keeps the INVITE's CSeq number; the next request goes on from there.
    EXPECT_EQ(*dialog->make_request("ACK").header("CSeq"), "11 ACK");
    EXPECT_EQ(*dialog->make_request("BYE").header("CSeq"), "12 BYE");
}

TEST(Dialog, StrictRouterBecomesTheRequestUri) {
    const auto request = invite();
    auto dialog =
        dialog_from_response(request, ok_for(request, "Record-Route: <sip:strict.example>\n"));
    ASSERT_TRUE(dialog);
    auto bye = dialog->make_request("BYE");
    EXPECT_EQ(bye.request_uri.to_string(), "sip:strict.example");
    EXPECT_EQ(bye.header_values("Route"),
              (std::vector<std::string>{"<sip:alice@phone.example:5062>"}));
    EXPECT_EQ(Dialog::next_hop(bye).host, "phone.example");  // the first Route
}

TEST(Dialog, NoRecordRouteGoesStraightToTheContact) {
    const auto request = invite();
    auto dialog = dialog_from_response(request, ok_for(request, ""));
    ASSERT_TRUE(dialog);
    auto bye = dialog->make_request("BYE");
    EXPECT_FALSE(bye.has_header("Route"));
    EXPECT_EQ(Dialog::next_hop(bye).host, "phone.example");
    EXPECT_EQ(Dialog::next_hop(bye).port, 5062);
}

TEST(Dialog, UasRouteSetKeepsOrderAndChecksCSeq) {
    auto dialog = dialog_from_request(invite(), "uas-tag");
    ASSERT_TRUE(dialog) << dialog.error();
    EXPECT_FALSE(dialog->is_uac);
    EXPECT_EQ(dialog->key.local_tag, "uas-tag");
    EXPECT_EQ(dialog->key.remote_tag, "ours");
    EXPECT_EQ(dialog->local.tag(), "uas-tag");
    ASSERT_EQ(dialog->route_set.size(), 2u);
    EXPECT_EQ(dialog->route_set[0].uri.host, "p2.example");
    EXPECT_EQ(dialog->remote_target.host, "10.0.0.1");
    EXPECT_FALSE(dialog->accept_remote_cseq(10)) << "equal to the INVITE's";
    EXPECT_FALSE(dialog->accept_remote_cseq(9));
    EXPECT_TRUE(dialog->accept_remote_cseq(11));
    EXPECT_FALSE(dialog->accept_remote_cseq(11));
}

TEST(Dialog, ResponseWithoutContactOrTagIsRefused) {
    const auto request = invite();
    auto no_tag = *parse_message(test::crlf(
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP ua;branch=z9hG4bK1\nFrom: <sip:c2d@pbx>;tag=ours\n"
        "To: <sip:alice@pbx>\nCall-ID: cid\nCSeq: 10 INVITE\nContact: <sip:a@b>\n\n"));
    EXPECT_FALSE(dialog_from_response(request, no_tag));
    auto no_contact = *parse_message(test::crlf(
        "SIP/2.0 200 OK\nVia: SIP/2.0/UDP ua;branch=z9hG4bK1\nFrom: <sip:c2d@pbx>;tag=ours\n"
        "To: <sip:alice@pbx>;tag=t\nCall-ID: cid\nCSeq: 10 INVITE\n\n"));
    auto result = dialog_from_response(request, no_contact);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), "no Contact header");
}

}  // namespace
}  // namespace sipcc
