#include <gtest/gtest.h>

#include "core/message/parser.hpp"
#include "tests/unit/test_support.hpp"

namespace sipcc {
namespace {

using namespace std::string_view_literals;
using test::crlf;
using test::read_sample;

class SampleRoundTrip : public ::testing::TestWithParam<const char*> {};

// parse -> serialize -> parse keeps every value, and serializing is a fixpoint.
TEST_P(SampleRoundTrip, ParseSerializeParseKeepsEverything) {
    const auto bytes = read_sample(GetParam());
    ASSERT_FALSE(bytes.empty()) << GetParam();
    auto first = parse_message(bytes);
    ASSERT_TRUE(first) << first.error();
    const auto wire = first->to_bytes();
    auto second = parse_message(wire);
    ASSERT_TRUE(second) << second.error();

    EXPECT_EQ(first->start_line(), second->start_line());
    ASSERT_EQ(first->headers.size(), second->headers.size());
    for (std::size_t i = 0; i < first->headers.size(); ++i) {
        EXPECT_EQ(first->headers[i].name, second->headers[i].name);
        EXPECT_EQ(first->headers[i].value, second->headers[i].value);
    }
    EXPECT_EQ(first->body, second->body);
    EXPECT_EQ(wire, second->to_bytes());
    EXPECT_FALSE(first->has_header("Content-Length")) << "framing is not kept as a header";
}

INSTANTIATE_TEST_SUITE_P(Samples, SampleRoundTrip,
                         ::testing::Values("invite_sdp.sip", "ok_200.sip", "refer.sip",
                                           "notify_sipfrag.sip", "compact.sip",
                                           "unauthorized_401.sip", "escaped_uri.sip"));

TEST(Parse, RequestLineAndTypedHeaders) {
    auto message = parse_message(read_sample("invite_sdp.sip"));
    ASSERT_TRUE(message) << message.error();
    EXPECT_TRUE(message->is_request);
    EXPECT_EQ(message->method, "INVITE");
    EXPECT_EQ(message->request_uri.user, "alice");
    EXPECT_EQ(message->request_uri.host, "pbx.example.com");
    EXPECT_EQ(message->call_id(), "a84b4c76e66710@192.0.2.10");
    auto cseq = message->cseq();
    ASSERT_TRUE(cseq);
    EXPECT_EQ(cseq->number, 314159u);
    EXPECT_EQ(cseq->method, "INVITE");
    auto from = message->from();
    ASSERT_TRUE(from);
    EXPECT_EQ(from->display_name, "Click to Dial");
    EXPECT_EQ(from->tag(), "1928301774");
    auto via = message->top_via();
    ASSERT_TRUE(via);
    EXPECT_EQ(via->transport, "UDP");
    EXPECT_EQ(via->host, "192.0.2.10");
    EXPECT_EQ(via->port, 5060);
    EXPECT_EQ(via->branch(), "z9hG4bK776asdhds");
    ASSERT_NE(find_parameter(via->params, "rport"), nullptr);
    EXPECT_FALSE(find_parameter(via->params, "rport")->value.has_value());
    EXPECT_EQ(*message->header("Allow"), "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS");
}

TEST(Parse, BodyAndContentType) {
    auto message = parse_message(read_sample("invite_sdp.sip"));
    ASSERT_TRUE(message);
    ASSERT_NE(message->header("content-type"), nullptr);
    EXPECT_EQ(*message->header("c"), "application/sdp");
    EXPECT_EQ(message->body.rfind("v=0\r\n", 0), 0u);
    EXPECT_NE(message->body.find("a=inactive\r\n"), std::string::npos);
}

TEST(Parse, StatusLine) {
    auto message = parse_message(read_sample("ok_200.sip"));
    ASSERT_TRUE(message);
    EXPECT_FALSE(message->is_request);
    EXPECT_EQ(message->status_code, 200);
    EXPECT_EQ(message->reason_phrase, "OK");
    EXPECT_EQ(message->transaction_method(), "INVITE");
    auto to = message->to();
    ASSERT_TRUE(to);
    EXPECT_EQ(to->tag(), "a6c85cf");
    EXPECT_EQ(*message->header("Record-Route"), "<sip:pbx.example.com;lr>");
}

TEST(Parse, CompactFormsAreExpandedAndFoundByEitherName) {
    auto message = parse_message(read_sample("compact.sip"));
    ASSERT_TRUE(message) << message.error();
    EXPECT_EQ(message->header_values("v").size(), 2u);
    EXPECT_EQ(message->header_values("VIA").size(), 2u);
    EXPECT_EQ(message->call_id(), "a84b4c76e66710@192.0.2.10");
    ASSERT_NE(message->header("Supported"), nullptr);
    EXPECT_EQ(*message->header("Supported"), "timer");
    EXPECT_EQ(*message->header("k"), "timer");
    EXPECT_EQ(*message->header("Event"), "refer");
    EXPECT_EQ(*message->header("Refer-To"), "<sip:bob@example.com>");
    EXPECT_EQ(*message->header("r"), "<sip:bob@example.com>");
    EXPECT_EQ(*message->header("Referred-By"), "<sip:c2d@pbx.example.com>");
    EXPECT_EQ(*message->header("Allow-Events"), "refer");
    // Stored under canonical names, so serialization writes the long forms.
    const auto wire = message->to_bytes();
    EXPECT_NE(wire.find("\r\nRefer-To: "), std::string::npos);
    EXPECT_NE(wire.find("\r\nAllow-Events: refer\r\n"), std::string::npos);
    EXPECT_EQ(wire.find("\r\nr: "), std::string::npos);
}

TEST(Parse, MultipleViaKeepTheirOrder) {
    auto message = parse_message(read_sample("compact.sip"));
    ASSERT_TRUE(message);
    auto vias = message->vias();
    ASSERT_TRUE(vias) << vias.error();
    ASSERT_EQ(vias->size(), 2u);
    EXPECT_EQ((*vias)[0].branch(), "z9hG4bK1");
    EXPECT_EQ((*vias)[0].transport, "UDP");
    EXPECT_EQ((*vias)[1].branch(), "z9hG4bK2");
    EXPECT_EQ((*vias)[1].transport, "TCP");
    EXPECT_EQ((*vias)[1].host, "proxy.example.com");
}

TEST(Parse, MultipleViaHeadersAndCommaListsKeepOneOrder) {
    auto message = parse_message(crlf(
        "OPTIONS sip:a@b SIP/2.0\n"
        "Via: SIP/2.0/UDP first;branch=z9hG4bKa, SIP/2.0/UDP second;branch=z9hG4bKb\n"
        "Via: SIP/2.0/UDP third;branch=z9hG4bKc\n"
        "Route: <sip:p1;lr>, <sip:p2;lr>\nRoute: <sip:p3;lr>\n"
        "From: <sip:x@y>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n\n"));
    ASSERT_TRUE(message) << message.error();
    auto vias = message->vias();
    ASSERT_TRUE(vias);
    ASSERT_EQ(vias->size(), 3u);
    EXPECT_EQ((*vias)[0].host, "first");
    EXPECT_EQ((*vias)[1].host, "second");
    EXPECT_EQ((*vias)[2].host, "third");
    auto routes = message->name_addrs("Route");
    ASSERT_TRUE(routes);
    ASSERT_EQ(routes->size(), 3u);
    EXPECT_EQ((*routes)[0].uri.host, "p1");
    EXPECT_EQ((*routes)[2].uri.host, "p3");
}

TEST(Parse, HeaderOrderIsKeptAcrossNames) {
    auto message = parse_message(test::crlf(
        "OPTIONS sip:a@b SIP/2.0\nCall-ID: c\nX-First: 1\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\n"
        "CSeq: 1 OPTIONS\nX-Second: 2\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>\n\n"));
    ASSERT_TRUE(message) << message.error();
    std::vector<std::string> names;
    for (const auto& header : message->headers) names.push_back(header.name);
    EXPECT_EQ(names, (std::vector<std::string>{"Call-ID", "X-First", "Via", "CSeq", "X-Second",
                                               "From", "To"}));
}

TEST(Parse, CommaInsideQuotesOrAnglesDoesNotSplitContact) {
    auto message = parse_message(test::crlf(
        "REGISTER sip:b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\nFrom: <sip:x@b>;tag=1\n"
        "To: <sip:x@b>\nCall-ID: c\nCSeq: 1 REGISTER\n"
        "Contact: \"Doe, John\" <sip:j@h1>;expires=60, <sip:j@h2;x=a,b>\n\n"));
    ASSERT_TRUE(message) << message.error();
    auto contacts = message->name_addrs("m");
    ASSERT_TRUE(contacts) << contacts.error();
    ASSERT_EQ(contacts->size(), 2u);
    EXPECT_EQ((*contacts)[0].display_name, "Doe, John");
    EXPECT_EQ((*contacts)[0].uri.host, "h1");
    EXPECT_EQ((*contacts)[1].uri.host, "h2");
}

TEST(Parse, FoldedHeaderIsUnfolded) {
    auto message = parse_message(read_sample("escaped_uri.sip"));
    ASSERT_TRUE(message) << message.error();
    const auto* subject = message->header("Subject");
    ASSERT_NE(subject, nullptr);
    EXPECT_EQ(subject->rfind("folded", 0), 0u);
    EXPECT_EQ(subject->find('\r'), std::string::npos);
    EXPECT_EQ(subject->find('\n'), std::string::npos);
    EXPECT_EQ(*subject, "folded across two lines");  // a fold is one space (§7.3.1)
}

TEST(Parse, EscapedCharactersInUris) {
    auto message = parse_message(read_sample("escaped_uri.sip"));
    ASSERT_TRUE(message);
    EXPECT_EQ(message->request_uri.user, "#31#");
    EXPECT_EQ(message->request_uri.to_string(), "sip:%2331%23@pbx.example.com;user=phone");
    auto from = message->from();
    ASSERT_TRUE(from);
    EXPECT_EQ(from->uri.user, "j@o");
    EXPECT_EQ(from->uri.to_string(), "sip:j%40o@pbx.example.com");
    auto via = message->top_via();
    ASSERT_TRUE(via);
    EXPECT_EQ(via->host, "2001:db8::10");
    EXPECT_EQ(via->to_string(), "SIP/2.0/UDP [2001:db8::10]:5060;branch=z9hG4bKesc");
}

TEST(Parse, ContentLengthCutsExtraBytesAndRejectsShortBodies) {
    const auto head = std::string(
        "MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        "From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n"
        "Content-Type: text/plain\r\n");
    auto extra = parse_message(head + "Content-Length: 5\r\n\r\nhelloEXTRA");
    ASSERT_TRUE(extra) << extra.error();
    EXPECT_EQ(extra->body, "hello");
    auto short_body = parse_message(head + "Content-Length: 50\r\n\r\nhello");
    ASSERT_FALSE(short_body);
    EXPECT_NE(short_body.error().find("Content-Length 50 exceeds the 5 body bytes"),
              std::string::npos)
        << short_body.error();
    // Without Content-Length (allowed on UDP) the rest of the datagram is the body.
    auto no_length = parse_message(head + "\r\nhello");
    ASSERT_TRUE(no_length);
    EXPECT_EQ(no_length->body, "hello");
}

TEST(Serialize, ContentLengthAlwaysMatchesTheBody) {
    auto message = parse_message(read_sample("notify_sipfrag.sip"));
    ASSERT_TRUE(message);
    message->body = "SIP/2.0 180 Ringing\r\n";
    message->add_header("Content-Length", "999");  // stale value must not leak out
    const auto wire = message->to_bytes();
    EXPECT_NE(wire.find("\r\nContent-Length: 21\r\n\r\nSIP/2.0 180 Ringing\r\n"),
              std::string::npos);
    EXPECT_EQ(wire.find("999"), std::string::npos);
}

TEST(Parse, SizeLimitRefusesLargeMessages) {
    const auto bytes = read_sample("invite_sdp.sip");
    auto refused = parse_message(bytes, ParseLimits{bytes.size() - 1});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("exceeds the limit of " + std::to_string(bytes.size() - 1)),
              std::string::npos);
    EXPECT_TRUE(parse_message(bytes, ParseLimits{bytes.size()}));
}

TEST(Parse, MalformedInputGivesAReason) {
    struct Case {
        std::string bytes;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {"", "empty message"},
        {"\r\n\r\n", "empty message"},
        {"HELLO\r\n\r\n", "malformed start line"},
        {"SIP/2.0 abc OK\r\n\r\n", "malformed start line"},
        {"SIP/2\xae" "0 4P1INTIFY sip:a@b SIP/2.0\r\n\r\n", "malformed start line"},
        {"INV<ITE sip:a@b SIP/2.0\r\n\r\n", "malformed start line"},
        {"INVITE sip:a@b sip:c@d SIP/2.0\r\n\r\n", "malformed start line"},
        {"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n", "not terminated by an empty line"},
        {"INVITE sip:a@b SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n", "no name and colon"},
        {"INVITE sip:a@b SIP/2.0\r\nFrom: <sip:a@b\r\n\r\n", "From"},
        {"INVITE sip:a@b SIP/2.0\r\nContent-Length: 1x\r\n\r\n", "Content-Length"},
        {std::string("INVITE sip:a@b SIP/2.0\r\nX: a\0b\r\n\r\n"sv), "control character 0x00"},
        {"SIP/2.0 400 Bad\x16Request\r\n\r\n", "control character 0x16"},
        {"INVITE sip:a@b SIP/2.0\r\nX: a\rb\r\n\r\n", "bare CR"},
        {"SIP/2.0 401\nTo: <sip:a@b>\r\n\r\n", "bare LF"},
        {"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\n", "bare LF"},
        {"INVITE sip:a@b SIP/2.0\r\nBad Name: 1\r\n\r\n", "malformed header name"},
    };
    for (const auto& c : cases) {
        auto result = parse_message(c.bytes);
        EXPECT_FALSE(result) << c.bytes;
        if (!result) {
            EXPECT_NE(result.error().find(c.reason), std::string::npos)
                << "input: " << c.bytes << "\nreason: " << result.error();
        }
    }
}

// osip accepts a CSeq it does not understand; the typed view says why.
TEST(Parse, TypedViewsReportMalformedValues) {
    auto message = parse_message("INVITE sip:a@b SIP/2.0\r\nCSeq: x INVITE\r\n\r\n");
    ASSERT_TRUE(message) << message.error();
    auto cseq = message->cseq();
    ASSERT_FALSE(cseq);
    EXPECT_NE(cseq.error().find("malformed CSeq"), std::string::npos) << cseq.error();

    auto no_headers = parse_message("OPTIONS sip:a@b SIP/2.0\r\n\r\n");
    ASSERT_TRUE(no_headers) << no_headers.error();
    EXPECT_EQ(no_headers->cseq().error(), "no CSeq header");
    EXPECT_EQ(no_headers->top_via().error(), "no Via header");
    EXPECT_EQ(no_headers->call_id(), "");
}

TEST(Parse, RejectedHeaderIsNamedInTheReason) {
    auto via = parse_message("INVITE sip:a@b SIP/2.0\r\nVia: nonsense\r\n\r\n");
    ASSERT_FALSE(via);
    EXPECT_EQ(via.error(), "malformed Via header: \"nonsense\"");
    auto from = parse_message("INVITE sip:a@b SIP/2.0\r\nf: <sip:a@b\r\n\r\n");
    ASSERT_FALSE(from);
    EXPECT_EQ(from.error(), "malformed From header: \"<sip:a@b\"");
}

TEST(Parse, StatusLineWithoutReasonPhrase) {
    // No SP after the code: the next line must not become the reason phrase.
    auto message = parse_message("SIP/2.0 200\r\nTo: <sip:a@b>;tag=1\r\n\r\n");
    ASSERT_TRUE(message) << message.error();
    EXPECT_EQ(message->status_code, 200);
    EXPECT_EQ(message->reason_phrase, "");
    EXPECT_EQ(message->to()->tag(), "1");
    auto folded = parse_message("SIP/2.0 200\r\nTo:\r\n ;lr>\r\nTo:\r\n\r\n");
    ASSERT_FALSE(folded);
    EXPECT_EQ(folded.error(), "malformed To header: \";lr>\"");
}

TEST(Parse, HeaderLookupIsCaseInsensitive) {
    auto message = parse_message(read_sample("refer.sip"));
    ASSERT_TRUE(message);
    EXPECT_EQ(message->header("CALL-id"), message->header("i"));
    ASSERT_NE(message->header("refer-to"), nullptr);
    EXPECT_EQ(*message->header("REFER-TO"), "<sip:+431505641@pbx.example.com;user=phone>");
    auto refer_to = parse_name_addr(*message->header("Refer-To"));
    ASSERT_TRUE(refer_to);
    EXPECT_EQ(refer_to->uri.user, "+431505641");
    ASSERT_NE(find_parameter(refer_to->uri.params, "user"), nullptr);
    EXPECT_EQ(find_parameter(refer_to->uri.params, "user")->value, "phone");
}

TEST(Message, SetRemoveAndPrependHeaders) {
    auto message = Message::request("OPTIONS", *parse_uri("sip:a@b"));
    message.add_header("via", "SIP/2.0/UDP one;branch=z9hG4bK1");
    message.prepend_header("v", "SIP/2.0/UDP zero;branch=z9hG4bK0");
    message.add_header("Supported", "a");
    message.add_header("k", "b");
    ASSERT_EQ(message.header_values("Via").size(), 2u);
    EXPECT_EQ(message.headers[0].name, "Via");
    EXPECT_EQ(message.top_via()->host, "zero");
    message.set_header("Supported", "c");
    EXPECT_EQ(message.header_values("Supported"), std::vector<std::string>{"c"});
    EXPECT_EQ(message.remove_header("VIA"), 2u);
    EXPECT_FALSE(message.has_header("Via"));
}

TEST(Uri, ParseAndPrint) {
    auto uri = parse_uri("sip:bob:secret@[::1]:5070;transport=tcp;lr?subject=hi");
    ASSERT_TRUE(uri) << uri.error();
    EXPECT_EQ(uri->user, "bob");
    EXPECT_EQ(uri->password, "secret");
    EXPECT_EQ(uri->host, "::1");
    EXPECT_EQ(uri->port, 5070);
    EXPECT_EQ(find_parameter(uri->params, "transport")->value, "tcp");
    EXPECT_FALSE(find_parameter(uri->params, "lr")->value.has_value());
    EXPECT_EQ(uri->to_string(), "sip:bob:secret@[::1]:5070;transport=tcp;lr?subject=hi");
    auto tel = parse_uri("tel:+43-1-505641");
    ASSERT_TRUE(tel) << tel.error();
    EXPECT_EQ(tel->scheme, "tel");
    EXPECT_EQ(tel->to_string(), "tel:+43-1-505641");
    EXPECT_FALSE(parse_uri("sip:"));
    EXPECT_FALSE(parse_uri("not a uri"));
}

}  // namespace
}  // namespace sipcc
