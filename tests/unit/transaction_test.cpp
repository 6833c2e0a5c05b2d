#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/message/builder.hpp"
#include "core/message/parser.hpp"
#include "core/transaction/transaction_layer.hpp"

namespace sipcc {
namespace {

const Peer kServerUdp{Transport::udp, {"192.0.2.10", 5060}};
const Peer kServerTcp{Transport::tcp, {"192.0.2.10", 5060}};
const Peer kClientUdp{Transport::udp, {"127.0.0.1", 5070}};
const Peer kClientTcp{Transport::tcp, {"127.0.0.1", 40001}};

// Every message goes through its wire form, as it would between two hosts.
Message over_the_wire(const Message& message) {
    auto parsed = parse_message(message.to_bytes());
    EXPECT_TRUE(parsed) << parsed.error();
    return parsed ? std::move(parsed).value() : Message{};
}

Message parsed(const std::string& bytes) {
    auto message = parse_message(bytes);
    EXPECT_TRUE(message) << message.error();
    return message ? std::move(message).value() : Message{};
}

RequestSpec spec_for(std::string method, std::string branch = "z9hG4bKbranch1",
                     std::string via = "SIP/2.0/UDP 127.0.0.1:5070") {
    RequestSpec spec;
    spec.method = std::move(method);
    spec.request_uri = *parse_uri("sip:alice@192.0.2.10");
    spec.from = *parse_name_addr("\"C2D\" <sip:c2d@127.0.0.1>;tag=from1");
    spec.to = *parse_name_addr("<sip:alice@192.0.2.10>");
    spec.call_id = "call-1@127.0.0.1";
    spec.cseq = 1;
    spec.via = *parse_via(via);
    if (!branch.empty()) set_parameter(spec.via.params, "branch", std::move(branch));
    spec.contact = *parse_name_addr("<sip:c2d@127.0.0.1:5070>");
    return spec;
}

Message request(std::string method, std::string branch = "z9hG4bKbranch1",
                std::string via = "SIP/2.0/UDP 127.0.0.1:5070") {
    return over_the_wire(
        make_request(spec_for(std::move(method), std::move(branch), std::move(via))));
}

Message response(const Message& to_request, int code, std::string_view to_tag = "callee") {
    return over_the_wire(make_response(to_request, code, to_tag));
}

// One layer on a virtual clock, with everything it sent and reported, stamped with the
// time it happened.
struct Harness {
    struct Sent {
        std::uint64_t at_ms = 0;
        TransactionTransmit transmit;
    };

    explicit Harness(TimerConfig timers = {}) : layer(timers) {}

    TransactionLayer layer;
    std::uint64_t now_ms = 0;
    std::vector<Sent> sent;
    std::vector<std::string> log;  // events, e.g. "32000 timeout B tx1"

    // Moves the clock to `until_ms`, firing each deadline at its exact time.
    void run_until(std::uint64_t until_ms) {
        collect();
        while (auto due = layer.next_deadline()) {
            if (*due > until_ms) break;
            ASSERT_GE(*due, now_ms) << "a deadline in the past was not handled";
            now_ms = *due;
            layer.handle_timeout(now_ms);
            collect();
        }
        now_ms = until_ms;
    }

    TransactionId start(std::uint64_t at_ms, Message message, Peer destination) {
        run_until(at_ms);
        const auto id = layer.start_client(at_ms, std::move(message), std::move(destination));
        collect();
        return id;
    }

    void receive(std::uint64_t at_ms, Message message, Peer source) {
        run_until(at_ms);
        layer.receive(at_ms, std::move(message), std::move(source));
        collect();
    }

    bool respond(std::uint64_t at_ms, TransactionId id, Message message) {
        run_until(at_ms);
        const bool sent_ok = layer.respond(at_ms, id, std::move(message));
        collect();
        return sent_ok;
    }

    void collect() {
        while (auto transmit = layer.poll_transmit()) sent.push_back({now_ms, *transmit});
        while (auto event = layer.poll_event()) {
            log.push_back(std::to_string(now_ms) + " " + describe(*event));
            if (auto* received = std::get_if<RequestReceived>(&*event))
                requests.push_back(*received);
            if (auto* got = std::get_if<ResponseReceived>(&*event)) responses.push_back(*got);
        }
    }

    [[nodiscard]] std::vector<std::uint64_t> send_times() const {
        std::vector<std::uint64_t> times;
        for (const auto& one : sent) times.push_back(one.at_ms);
        return times;
    }

    static std::string describe(const TransactionEvent& event) {
        return std::visit(
            [](const auto& e) -> std::string {
                using T = std::decay_t<decltype(e)>;
                const std::string tx = " tx" + std::to_string(e.transaction);
                if constexpr (std::is_same_v<T, ResponseReceived>) {
                    return "response " + std::to_string(e.response.status_code) + tx;
                } else if constexpr (std::is_same_v<T, RequestReceived>) {
                    return "request " + e.request.method + tx + " cancels tx" +
                           std::to_string(e.cancelled_invite);
                } else if constexpr (std::is_same_v<T, TransactionTimeout>) {
                    return std::string("timeout ") + e.timer + tx;
                } else if constexpr (std::is_same_v<T, TransactionTransportError>) {
                    return "transport-error" + tx + " " + e.reason;
                } else {
                    return "terminated" + tx;
                }
            },
            event);
    }

    std::vector<RequestReceived> requests;
    std::vector<ResponseReceived> responses;
};

using Times = std::vector<std::uint64_t>;
using Log = std::vector<std::string>;

// ---------------------------------------------------------------- INVITE client

TEST(InviteClient, RetransmitsOnUdpWithTimerADoublingUntilTimerB) {
    Harness h;
    const auto invite = request("INVITE");
    const auto id = h.start(0, invite, kServerUdp);
    ASSERT_EQ(id, 1u);
    EXPECT_EQ(h.layer.kind_of(id), TransactionKind::invite_client);
    EXPECT_EQ(h.layer.state_of(id), "Calling");
    EXPECT_EQ(h.layer.next_deadline(), 500u);

    h.run_until(100000);
    EXPECT_EQ(h.send_times(), (Times{0, 500, 1500, 3500, 7500, 15500, 31500}));
    for (const auto& one : h.sent) {
        EXPECT_EQ(one.transmit.bytes, invite.to_bytes());
        EXPECT_EQ(one.transmit.destination, kServerUdp);
        EXPECT_EQ(one.transmit.transaction, id);
    }
    EXPECT_EQ(h.log, (Log{"32000 timeout B tx1", "32000 terminated tx1"}));
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    EXPECT_EQ(h.layer.state_of(id), "Terminated");
    EXPECT_EQ(h.layer.request_of(id), nullptr);
    EXPECT_EQ(h.layer.next_deadline(), std::nullopt);
}

TEST(InviteClient, NeverRetransmitsOnTcp) {
    Harness h;
    h.start(0, request("INVITE", "z9hG4bKbranch1", "SIP/2.0/TCP 127.0.0.1:5070"), kServerTcp);
    EXPECT_EQ(h.layer.next_deadline(), 32000u);
    h.run_until(100000);
    EXPECT_EQ(h.send_times(), (Times{0}));
    EXPECT_EQ(h.log, (Log{"32000 timeout B tx1", "32000 terminated tx1"}));
}

TEST(InviteClient, ProvisionalStopsRetransmissionsAndTimerB) {
    Harness h;
    const auto invite = request("INVITE");
    const auto id = h.start(0, invite, kServerUdp);
    h.receive(700, response(invite, 180), kServerUdp);
    EXPECT_EQ(h.layer.state_of(id), "Proceeding");
    h.receive(900, response(invite, 180), kServerUdp);  // each provisional goes up
    EXPECT_EQ(h.layer.next_deadline(), std::nullopt);

    h.run_until(100000);
    EXPECT_EQ(h.send_times(), (Times{0, 500}));
    EXPECT_EQ(h.log, (Log{"700 response 180 tx1", "900 response 180 tx1"}));
    EXPECT_EQ(h.layer.state_of(id), "Proceeding");
    ASSERT_EQ(h.responses.size(), 2u);
    EXPECT_EQ(h.responses[0].response.to()->tag(), "callee");
}

TEST(InviteClient, AcksANonSuccessFinalResponseInsideTheTransaction) {
    Harness h;
    auto spec = spec_for("INVITE");
    spec.cseq = 7;
    spec.route = {*parse_name_addr("<sip:proxy1.example.com;lr>"),
                  *parse_name_addr("<sip:proxy2.example.com;lr>")};
    auto built = make_request(spec);
    // A second Via, as if the request had been forwarded: the ACK keeps only the top one.
    built.add_header("Via", "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKlower");
    const auto invite = over_the_wire(built);
    const auto id = h.start(0, invite, kServerUdp);

    const auto busy = response(invite, 486, "callee-tag");
    h.receive(1000, busy, kServerUdp);
    EXPECT_EQ(h.layer.state_of(id), "Completed");
    EXPECT_EQ(h.log, (Log{"1000 response 486 tx1"}));
    ASSERT_EQ(h.send_times(), (Times{0, 500, 1000}));

    const auto& ack_transmit = h.sent[2].transmit;
    EXPECT_EQ(ack_transmit.transaction, id);
    EXPECT_EQ(ack_transmit.destination, kServerUdp);
    // Every header checked: the INVITE's Request-URI, top Via only, Route, From, Call-ID
    // and CSeq number; the To of the response, with its tag; Max-Forwards 70.
    EXPECT_EQ(ack_transmit.bytes,
              "ACK sip:alice@192.0.2.10 SIP/2.0\r\n"
              "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbranch1\r\n"
              "Max-Forwards: 70\r\n"
              "Route: <sip:proxy1.example.com;lr>\r\n"
              "Route: <sip:proxy2.example.com;lr>\r\n"
              "From: \"C2D\" <sip:c2d@127.0.0.1>;tag=from1\r\n"
              "To: <sip:alice@192.0.2.10>;tag=callee-tag\r\n"
              "Call-ID: call-1@127.0.0.1\r\n"
              "CSeq: 7 ACK\r\n"
              "Content-Length: 0\r\n"
              "\r\n");
    const auto ack = parsed(ack_transmit.bytes);
    EXPECT_EQ(ack.header_values("Via"), (std::vector<std::string>{*invite.header("Via")}));
    EXPECT_EQ(ack.header_values("Route"), invite.header_values("Route"));
    EXPECT_EQ(*ack.header("To"), *busy.header("To"));

    // A retransmitted 486 means the ACK was lost: the same ACK again, nothing new for the TU.
    h.receive(2000, busy, kServerUdp);
    ASSERT_EQ(h.send_times(), (Times{0, 500, 1000, 2000}));
    EXPECT_EQ(h.sent[3].transmit.bytes, ack_transmit.bytes);
    EXPECT_EQ(h.log, (Log{"1000 response 486 tx1"}));

    // Timer D: 32 s after the 486.
    h.run_until(32999);
    EXPECT_EQ(h.layer.active_transactions(), 1u);
    h.run_until(33000);
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    EXPECT_EQ(h.log, (Log{"1000 response 486 tx1", "33000 terminated tx1"}));
    EXPECT_EQ(h.sent.size(), 4u);
}

TEST(InviteClient, NonSuccessFinalOnTcpAcksAndEndsAtOnce) {
    Harness h;
    const auto invite = request("INVITE", "z9hG4bKbranch1", "SIP/2.0/TCP 127.0.0.1:5070");
    h.start(0, invite, kServerTcp);
    h.receive(1000, response(invite, 603), kServerTcp);
    EXPECT_EQ(h.layer.active_transactions(), 0u);  // Timer D = 0
    EXPECT_EQ(h.log, (Log{"1000 response 603 tx1", "1000 terminated tx1"}));
    ASSERT_EQ(h.send_times(), (Times{0, 1000}));
    EXPECT_EQ(parsed(h.sent[1].transmit.bytes).method, "ACK");
    EXPECT_EQ(h.sent[1].transmit.destination, kServerTcp);
}

TEST(InviteClient, PassesEverySuccessUpWhileAccepted) {
    Harness h;
    const auto invite = request("INVITE");
    const auto id = h.start(0, invite, kServerUdp);
    h.receive(1000, response(invite, 200, "fork-a"), kServerUdp);
    EXPECT_EQ(h.layer.state_of(id), "Accepted");
    // The retransmission timer of Calling is gone: only Timer M (64*T1) is left.
    EXPECT_EQ(h.layer.next_deadline(), 33000u);

    h.receive(1500, response(invite, 200, "fork-a"), kServerUdp);  // retransmission
    h.receive(2000, response(invite, 200, "fork-b"), kServerUdp);  // another fork
    h.receive(2100, response(invite, 486), kServerUdp);            // absorbed
    h.run_until(32999);
    EXPECT_EQ(h.layer.active_transactions(), 1u);
    h.run_until(33000);
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    EXPECT_EQ(h.log, (Log{"1000 response 200 tx1", "1500 response 200 tx1", "2000 response 200 tx1",
                          "33000 terminated tx1"}));
    ASSERT_EQ(h.responses.size(), 3u);
    EXPECT_EQ(h.responses[2].response.to()->tag(), "fork-b");
    // The ACK for a 2xx is the TU's business: the transaction sent nothing more.
    EXPECT_EQ(h.send_times(), (Times{0, 500}));
}

TEST(InviteClient, TransportErrorEndsTheTransaction) {
    Harness h;
    const auto id = h.start(0, request("INVITE"), kServerUdp);
    h.run_until(10);
    h.layer.transport_error(10, id, "ICMP port unreachable");
    h.collect();
    EXPECT_EQ(h.log, (Log{"10 transport-error tx1 ICMP port unreachable", "10 terminated tx1"}));
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    EXPECT_EQ(h.layer.next_deadline(), std::nullopt);
    h.run_until(100000);
    EXPECT_EQ(h.send_times(), (Times{0}));
    // An unknown transaction is ignored.
    h.layer.transport_error(20, 99, "late");
    h.collect();
    EXPECT_EQ(h.log.size(), 2u);
}

TEST(InviteClient, RefusesRequestsItCannotMatch) {
    Harness h;
    EXPECT_EQ(h.start(0, request("ACK"), kServerUdp), 0u);
    EXPECT_EQ(h.start(0, request("INVITE", ""), kServerUdp), 0u);         // no branch
    EXPECT_EQ(h.start(0, request("INVITE", "1234abc"), kServerUdp), 0u);  // no cookie
    auto wrong_cseq = request("INVITE");
    wrong_cseq.set_header("CSeq", "1 BYE");
    EXPECT_EQ(h.start(0, wrong_cseq, kServerUdp), 0u);
    auto no_via = request("INVITE");
    no_via.remove_header("Via");
    EXPECT_EQ(h.start(0, no_via, kServerUdp), 0u);
    EXPECT_TRUE(h.sent.empty());

    EXPECT_EQ(h.start(0, request("INVITE"), kServerUdp), 1u);
    EXPECT_EQ(h.start(0, request("INVITE"), kServerUdp), 0u);  // branch already in use
    EXPECT_EQ(h.layer.active_transactions(), 1u);
    EXPECT_EQ(h.sent.size(), 1u);
    EXPECT_TRUE(h.log.empty());
}

// ------------------------------------------------------------ non-INVITE client

TEST(NonInviteClient, TimerEDoublesUpToT2UntilTimerF) {
    Harness h;
    const auto bye = request("BYE");
    const auto id = h.start(0, bye, kServerUdp);
    EXPECT_EQ(h.layer.kind_of(id), TransactionKind::non_invite_client);
    EXPECT_EQ(h.layer.state_of(id), "Trying");
    h.run_until(100000);
    EXPECT_EQ(h.send_times(),
              (Times{0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500}));
    for (const auto& one : h.sent) EXPECT_EQ(one.transmit.bytes, bye.to_bytes());
    EXPECT_EQ(h.log, (Log{"32000 timeout F tx1", "32000 terminated tx1"}));
    EXPECT_EQ(h.layer.active_transactions(), 0u);
}

TEST(NonInviteClient, ProceedingRetransmitsAtT2) {
    Harness h;
    const auto options = request("OPTIONS");
    const auto id = h.start(0, options, kServerUdp);
    h.receive(600, response(options, 100), kServerUdp);
    EXPECT_EQ(h.layer.state_of(id), "Proceeding");
    h.run_until(100000);
    // Timer E was armed for 1500 in Trying; from then on it fires every T2.
    EXPECT_EQ(h.send_times(), (Times{0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500}));
    EXPECT_EQ(h.log, (Log{"600 response 100 tx1", "32000 timeout F tx1", "32000 terminated tx1"}));
}

TEST(NonInviteClient, NeverRetransmitsOnTcp) {
    Harness h;
    h.start(0, request("REGISTER", "z9hG4bKbranch1", "SIP/2.0/TCP 127.0.0.1:5070"), kServerTcp);
    h.run_until(100000);
    EXPECT_EQ(h.send_times(), (Times{0}));
    EXPECT_EQ(h.log, (Log{"32000 timeout F tx1", "32000 terminated tx1"}));
}

TEST(NonInviteClient, FinalResponseOnceThenTimerK) {
    Harness h;
    const auto bye = request("BYE");
    const auto id = h.start(0, bye, kServerUdp);
    h.receive(1000, response(bye, 200), kServerUdp);
    EXPECT_EQ(h.layer.state_of(id), "Completed");
    h.receive(2000, response(bye, 200), kServerUdp);  // retransmission: absorbed
    h.run_until(5999);
    EXPECT_EQ(h.layer.active_transactions(), 1u);
    h.run_until(6000);  // Timer K = T4 after the final response
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    EXPECT_EQ(h.log, (Log{"1000 response 200 tx1", "6000 terminated tx1"}));
    EXPECT_EQ(h.send_times(), (Times{0, 500}));
}

TEST(NonInviteClient, FinalResponseOnTcpEndsAtOnce) {
    Harness h;
    const auto bye = request("BYE", "z9hG4bKbranch1", "SIP/2.0/TCP 127.0.0.1:5070");
    h.start(0, bye, kServerTcp);
    h.receive(1000, response(bye, 481), kServerTcp);
    EXPECT_EQ(h.layer.active_transactions(), 0u);  // Timer K = 0
    EXPECT_EQ(h.log, (Log{"1000 response 481 tx1", "1000 terminated tx1"}));
}

TEST(NonInviteClient, TransportErrorEndsTheTransaction) {
    Harness h;
    const auto id = h.start(0, request("BYE"), kServerUdp);
    h.run_until(600);
    h.layer.transport_error(600, id, "connection reset");
    h.collect();
    EXPECT_EQ(h.log, (Log{"600 transport-error tx1 connection reset", "600 terminated tx1"}));
    EXPECT_EQ(h.layer.active_transactions(), 0u);
}

// -------------------------------------------------------------- client matching

TEST(ClientMatching, AResponseToCancelDoesNotMatchTheInvite) {
    Harness h;
    const auto id = h.start(0, request("INVITE"), kServerUdp);
    auto cancel = request("CANCEL");  // same branch, CSeq 1 CANCEL
    h.receive(100, response(cancel, 200), kServerUdp);
    EXPECT_EQ(h.layer.stray_responses_dropped(), 1u);
    EXPECT_TRUE(h.log.empty());
    EXPECT_EQ(h.layer.state_of(id), "Calling");
}

TEST(ClientMatching, AnUnknownBranchIsCountedAsStray) {
    Harness h;
    const auto id = h.start(0, request("INVITE"), kServerUdp);
    h.receive(100, response(request("INVITE", "z9hG4bKother"), 180), kServerUdp);
    auto no_via = response(request("INVITE"), 180);
    no_via.remove_header("Via");
    h.receive(200, no_via, kServerUdp);
    EXPECT_EQ(h.layer.stray_responses_dropped(), 2u);
    EXPECT_TRUE(h.log.empty());
    EXPECT_EQ(h.layer.state_of(id), "Calling");
}

TEST(ClientMatching, SuccessToTheInviteCrossesTheCancel) {
    Harness h;
    const auto invite = request("INVITE");
    const auto invite_id = h.start(0, invite, kServerUdp);
    h.receive(100, response(invite, 180), kServerUdp);
    const auto cancel = request("CANCEL");  // §9.1: the INVITE's branch
    const auto cancel_id = h.start(200, cancel, kServerUdp);
    ASSERT_EQ(cancel_id, 2u);
    EXPECT_EQ(h.layer.kind_of(cancel_id), TransactionKind::non_invite_client);

    // The callee answered before the CANCEL arrived: each response finds its own transaction.
    h.receive(300, response(invite, 200), kServerUdp);
    h.receive(310, response(cancel, 200), kServerUdp);
    EXPECT_EQ(h.layer.state_of(invite_id), "Accepted");
    EXPECT_EQ(h.layer.state_of(cancel_id), "Completed");
    EXPECT_EQ(h.layer.stray_responses_dropped(), 0u);
    EXPECT_EQ(h.log, (Log{"100 response 180 tx1", "300 response 200 tx1", "310 response 200 tx2"}));
    ASSERT_EQ(h.responses.size(), 3u);
    EXPECT_EQ(h.responses[2].response.cseq()->method, "CANCEL");
}

// ----------------------------------------------------------------- INVITE server

TEST(InviteServer, SendsNoTryingByItselfAndAbsorbsRetransmissions) {
    Harness h;
    const auto invite = request("INVITE");
    h.receive(0, invite, kClientUdp);
    EXPECT_EQ(h.log, (Log{"0 request INVITE tx1 cancels tx0"}));
    ASSERT_EQ(h.requests.size(), 1u);
    const auto id = h.requests[0].transaction;
    EXPECT_EQ(h.requests[0].source, kClientUdp);
    EXPECT_EQ(h.layer.kind_of(id), TransactionKind::invite_server);
    EXPECT_EQ(h.layer.state_of(id), "Proceeding");
    ASSERT_NE(h.layer.request_of(id), nullptr);
    EXPECT_EQ(h.layer.request_of(id)->call_id(), "call-1@127.0.0.1");
    EXPECT_TRUE(h.sent.empty());

    h.receive(500, invite, kClientUdp);  // nothing to re-send yet
    EXPECT_TRUE(h.sent.empty());

    ASSERT_TRUE(h.respond(600, id, make_response(*h.layer.request_of(id), 180, "srv")));
    h.receive(1000, invite, kClientUdp);  // re-sends the last provisional
    h.receive(1500, invite, kClientUdp);
    ASSERT_EQ(h.send_times(), (Times{600, 1000, 1500}));
    EXPECT_EQ(h.sent[1].transmit.bytes, h.sent[0].transmit.bytes);
    EXPECT_EQ(h.sent[2].transmit.bytes, h.sent[0].transmit.bytes);
    EXPECT_EQ(parsed(h.sent[0].transmit.bytes).status_code, 180);
    EXPECT_EQ(h.sent[0].transmit.transaction, id);
    EXPECT_EQ(h.log.size(), 1u);
    EXPECT_EQ(h.layer.next_deadline(), std::nullopt);
}

TEST(InviteServer, TimerGRetransmitsTheFinalResponseUntilTimerH) {
    Harness h;
    const auto invite = request("INVITE");
    h.receive(0, invite, kClientUdp);
    const auto id = h.requests.at(0).transaction;
    ASSERT_TRUE(h.respond(1000, id, make_response(h.requests[0].request, 486, "srv")));
    EXPECT_EQ(h.layer.state_of(id), "Completed");
    h.run_until(100000);
    EXPECT_EQ(h.send_times(),
              (Times{1000, 1500, 2500, 4500, 8500, 12500, 16500, 20500, 24500, 28500, 32500}));
    for (const auto& one : h.sent) {
        EXPECT_EQ(one.transmit.bytes, h.sent[0].transmit.bytes);
        EXPECT_EQ(one.transmit.destination, kClientUdp);
    }
    EXPECT_EQ(h.log, (Log{"0 request INVITE tx1 cancels tx0", "33000 timeout H tx1",
                          "33000 terminated tx1"}));
}

TEST(InviteServer, AckFromTheClientTransactionConfirmsThenTimerI) {
    // Two layers talking real bytes: the client's own ACK must match the server transaction.
    Harness client;
    Harness server;
    client.start(0, request("INVITE"), kServerUdp);
    server.receive(0, parsed(client.sent.at(0).transmit.bytes), kClientUdp);
    const auto id = server.requests.at(0).transaction;
    ASSERT_TRUE(server.respond(100, id, make_response(server.requests[0].request, 486, "srv")));
    client.receive(100, parsed(server.sent.at(0).transmit.bytes), kServerUdp);
    ASSERT_EQ(client.sent.size(), 2u);  // the INVITE and the ACK

    server.receive(120, parsed(client.sent[1].transmit.bytes), kClientUdp);
    EXPECT_EQ(server.layer.state_of(id), "Confirmed");
    server.receive(200, parsed(client.sent[1].transmit.bytes), kClientUdp);  // absorbed
    server.receive(300, parsed(client.sent[0].transmit.bytes), kClientUdp);  // absorbed
    server.run_until(5119);
    EXPECT_EQ(server.layer.active_transactions(), 1u);
    server.run_until(5120);  // Timer I = T4 after the ACK
    EXPECT_EQ(server.layer.active_transactions(), 0u);
    // The ACK of a non-2xx ends in the transaction: the TU only saw the INVITE.
    EXPECT_EQ(server.log, (Log{"0 request INVITE tx1 cancels tx0", "5120 terminated tx1"}));
    EXPECT_EQ(server.send_times(), (Times{100}));  // Timer G stopped before its 600 ms firing
}

TEST(InviteServer, InviteRetransmissionInCompletedResendsTheFinalResponse) {
    Harness h;
    const auto invite = request("INVITE");
    h.receive(0, invite, kClientUdp);
    const auto id = h.requests.at(0).transaction;
    ASSERT_TRUE(h.respond(100, id, make_response(h.requests[0].request, 404, "srv")));
    h.receive(200, invite, kClientUdp);
    ASSERT_EQ(h.send_times(), (Times{100, 200}));
    EXPECT_EQ(h.sent[1].transmit.bytes, h.sent[0].transmit.bytes);
    EXPECT_FALSE(h.respond(300, id, make_response(h.requests[0].request, 500, "srv")));
    EXPECT_EQ(h.sent.size(), 2u);
}

TEST(InviteServer, TcpHasNoTimerGAndTheAckEndsItAtOnce) {
    Harness h;
    const auto invite = request("INVITE", "z9hG4bKbranch1", "SIP/2.0/TCP 127.0.0.1:5070");
    h.receive(0, invite, kClientTcp);
    const auto id = h.requests.at(0).transaction;
    const auto busy = make_response(h.requests[0].request, 486, "srv");
    ASSERT_TRUE(h.respond(100, id, busy));
    EXPECT_EQ(h.layer.next_deadline(), 100u + 32000u);  // Timer H only
    auto ack_spec = spec_for("ACK", "z9hG4bKbranch1", "SIP/2.0/TCP 127.0.0.1:5070");
    ack_spec.to = *parse_name_addr(*busy.header("To"));
    h.receive(150, over_the_wire(make_request(ack_spec)), kClientTcp);
    EXPECT_EQ(h.layer.active_transactions(), 0u);  // Timer I = 0
    EXPECT_EQ(h.log, (Log{"0 request INVITE tx1 cancels tx0", "150 terminated tx1"}));
    ASSERT_EQ(h.send_times(), (Times{100}));
    EXPECT_EQ(h.sent[0].transmit.destination, kClientTcp);
}

TEST(InviteServer, AcceptedAbsorbsInvitesAndPassesTheAckUp) {
    Harness h;
    const auto invite = request("INVITE");
    h.receive(0, invite, kClientUdp);
    const auto id = h.requests.at(0).transaction;
    const auto ok = make_response(h.requests[0].request, 200, "srv");
    ASSERT_TRUE(h.respond(1000, id, ok));
    EXPECT_EQ(h.layer.state_of(id), "Accepted");

    h.receive(1500, invite, kClientUdp);  // absorbed: the TU re-sends its 2xx itself
    EXPECT_EQ(h.send_times(), (Times{1000}));
    EXPECT_TRUE(h.respond(1600, id, ok));  // that 2xx retransmission
    EXPECT_FALSE(h.respond(1700, id, make_response(h.requests[0].request, 486, "srv")));
    EXPECT_FALSE(h.respond(1700, id, make_response(h.requests[0].request, 180, "srv")));
    EXPECT_EQ(h.send_times(), (Times{1000, 1600}));

    // The ACK for a 2xx normally has a branch of its own: no transaction.
    auto ack_spec = spec_for("ACK", "z9hG4bKack");
    ack_spec.to = *parse_name_addr(*ok.header("To"));
    h.receive(2000, over_the_wire(make_request(ack_spec)), kClientUdp);
    // One reusing the INVITE's branch still reaches the TU, when it carries our To tag.
    ack_spec.via = *parse_via("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbranch1");
    h.receive(2100, over_the_wire(make_request(ack_spec)), kClientUdp);
    ack_spec.to = *parse_name_addr("<sip:alice@192.0.2.10>;tag=someone-else");
    h.receive(2200, over_the_wire(make_request(ack_spec)), kClientUdp);

    h.run_until(32999);
    EXPECT_EQ(h.layer.active_transactions(), 1u);
    h.run_until(33000);  // Timer L = 64*T1 after the 2xx
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    EXPECT_EQ(h.log, (Log{"0 request INVITE tx1 cancels tx0", "2000 request ACK tx0 cancels tx0",
                          "2100 request ACK tx0 cancels tx0", "33000 terminated tx1"}));
    ASSERT_EQ(h.requests.size(), 3u);
    EXPECT_EQ(h.requests[2].source, kClientUdp);
}

TEST(InviteServer, RespondRefusesWhatItCannotSend) {
    Harness h;
    EXPECT_FALSE(h.respond(0, 42, make_response(request("INVITE"), 200, "srv")));
    const auto client_id = h.start(0, request("INVITE", "z9hG4bKmine"), kServerUdp);
    EXPECT_FALSE(h.respond(0, client_id, make_response(request("INVITE"), 200, "srv")));
    h.receive(0, request("INVITE"), kClientUdp);
    const auto id = h.requests.at(0).transaction;
    EXPECT_FALSE(h.respond(0, id, request("BYE")));  // not a response
    EXPECT_FALSE(h.respond(0, id, make_response(request("INVITE"), 99, "srv")));
    EXPECT_EQ(h.sent.size(), 1u);  // only the client's INVITE
    EXPECT_EQ(h.layer.state_of(id), "Proceeding");
}

TEST(InviteServer, TransportErrorEndsTheTransaction) {
    Harness h;
    h.receive(0, request("INVITE"), kClientUdp);
    const auto id = h.requests.at(0).transaction;
    ASSERT_TRUE(h.respond(100, id, make_response(h.requests[0].request, 486, "srv")));
    h.layer.transport_error(100, id, "ICMP port unreachable");
    h.collect();
    EXPECT_EQ(h.log, (Log{"0 request INVITE tx1 cancels tx0",
                          "100 transport-error tx1 ICMP port unreachable", "100 terminated tx1"}));
    EXPECT_EQ(h.layer.next_deadline(), std::nullopt);
}

// ------------------------------------------------------------- non-INVITE server

TEST(NonInviteServer, AbsorbsRetransmissionsAndResendsTheLastResponse) {
    Harness h;
    const auto bye = request("BYE");
    h.receive(0, bye, kClientUdp);
    const auto id = h.requests.at(0).transaction;
    EXPECT_EQ(h.layer.kind_of(id), TransactionKind::non_invite_server);
    EXPECT_EQ(h.layer.state_of(id), "Trying");
    h.receive(500, bye, kClientUdp);  // Trying: absorbed
    EXPECT_TRUE(h.sent.empty());

    ASSERT_TRUE(h.respond(600, id, make_response(h.requests[0].request, 100)));
    EXPECT_EQ(h.layer.state_of(id), "Proceeding");
    h.receive(1500, bye, kClientUdp);
    ASSERT_TRUE(h.respond(2000, id, make_response(h.requests[0].request, 200, "srv")));
    EXPECT_EQ(h.layer.state_of(id), "Completed");
    h.receive(3500, bye, kClientUdp);
    EXPECT_FALSE(h.respond(3600, id, make_response(h.requests[0].request, 500, "srv")));

    ASSERT_EQ(h.send_times(), (Times{600, 1500, 2000, 3500}));
    EXPECT_EQ(h.sent[1].transmit.bytes, h.sent[0].transmit.bytes);
    EXPECT_EQ(h.sent[3].transmit.bytes, h.sent[2].transmit.bytes);
    EXPECT_EQ(parsed(h.sent[0].transmit.bytes).status_code, 100);
    EXPECT_EQ(parsed(h.sent[2].transmit.bytes).status_code, 200);
    EXPECT_EQ(h.log, (Log{"0 request BYE tx1 cancels tx0"}));

    h.run_until(33999);
    EXPECT_EQ(h.layer.active_transactions(), 1u);
    h.run_until(34000);  // Timer J = 64*T1 after the final response
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    EXPECT_EQ(h.log.back(), "34000 terminated tx1");
}

TEST(NonInviteServer, TcpEndsWithTheFinalResponse) {
    Harness h;
    h.receive(0, request("OPTIONS", "z9hG4bKbranch1", "SIP/2.0/TCP 127.0.0.1:5070"), kClientTcp);
    const auto id = h.requests.at(0).transaction;
    ASSERT_TRUE(h.respond(10, id, make_response(h.requests[0].request, 200, "srv")));
    EXPECT_EQ(h.layer.active_transactions(), 0u);  // Timer J = 0
    EXPECT_EQ(h.log, (Log{"0 request OPTIONS tx1 cancels tx0", "10 terminated tx1"}));
}

TEST(NonInviteServer, TransportErrorEndsTheTransaction) {
    Harness h;
    h.receive(0, request("BYE"), kClientUdp);
    h.layer.transport_error(5, h.requests.at(0).transaction, "no route");
    h.collect();
    EXPECT_EQ(h.log, (Log{"0 request BYE tx1 cancels tx0", "0 transport-error tx1 no route",
                          "0 terminated tx1"}));
}

// -------------------------------------------------------------- server matching

TEST(ServerMatching, CancelGetsItsOwnTransactionAndNamesTheInvite) {
    Harness h;
    h.receive(0, request("INVITE"), kClientUdp);
    const auto invite_id = h.requests.at(0).transaction;
    const auto cancel = request("CANCEL");
    h.receive(100, cancel, kClientUdp);
    h.receive(600, cancel, kClientUdp);  // retransmission: absorbed
    EXPECT_EQ(h.log,
              (Log{"0 request INVITE tx1 cancels tx0", "100 request CANCEL tx2 cancels tx1"}));
    ASSERT_EQ(h.requests.size(), 2u);
    const auto cancel_id = h.requests[1].transaction;
    EXPECT_EQ(h.requests[1].cancelled_invite, invite_id);
    EXPECT_EQ(h.layer.kind_of(cancel_id), TransactionKind::non_invite_server);
    EXPECT_EQ(h.layer.state_of(invite_id), "Proceeding");  // the TU decides what to do

    ASSERT_TRUE(h.respond(700, cancel_id, make_response(h.requests[1].request, 200, "srv")));
    ASSERT_TRUE(h.respond(700, invite_id, make_response(h.requests[0].request, 487, "srv")));
    ASSERT_EQ(h.sent.size(), 2u);
    EXPECT_EQ(parsed(h.sent[0].transmit.bytes).cseq()->method, "CANCEL");
    EXPECT_EQ(parsed(h.sent[1].transmit.bytes).status_code, 487);
}

TEST(ServerMatching, CancelForAnUnknownInviteNamesNone) {
    Harness h;
    h.receive(0, request("INVITE"), kClientUdp);
    h.receive(100, request("CANCEL", "z9hG4bKother"), kClientUdp);
    // Same branch, but another sent-by: another client's transaction.
    h.receive(200, request("CANCEL", "z9hG4bKbranch1", "SIP/2.0/UDP 127.0.0.2:5070"), kClientUdp);
    EXPECT_EQ(h.log, (Log{"0 request INVITE tx1 cancels tx0", "100 request CANCEL tx2 cancels tx0",
                          "200 request CANCEL tx3 cancels tx0"}));
}

TEST(ServerMatching, CancelCrossingTheSuccessStillNamesTheInvite) {
    Harness h;
    h.receive(0, request("INVITE"), kClientUdp);
    const auto invite_id = h.requests.at(0).transaction;
    ASSERT_TRUE(h.respond(100, invite_id, make_response(h.requests[0].request, 200, "srv")));
    h.receive(150, request("CANCEL"), kClientUdp);
    ASSERT_EQ(h.requests.size(), 2u);
    EXPECT_EQ(h.requests[1].cancelled_invite, invite_id);
    EXPECT_EQ(h.layer.state_of(invite_id), "Accepted");  // too late: the TU answers 200 only
}

TEST(ServerMatching, SentByTellsClientsWithTheSameBranchApart) {
    Harness h;
    h.receive(0, request("INVITE", "z9hG4bKsame", "SIP/2.0/UDP 127.0.0.1:5070"), kClientUdp);
    h.receive(0, request("INVITE", "z9hG4bKsame", "SIP/2.0/UDP 127.0.0.1:5080"), kClientUdp);
    h.receive(0, request("INVITE", "z9hG4bKsame", "SIP/2.0/UDP 127.0.0.1:5070"), kClientUdp);
    EXPECT_EQ(h.layer.active_transactions(), 2u);
    EXPECT_EQ(h.log.size(), 2u);
}

TEST(ServerMatching, AnAckMatchingNoInviteGoesUpWithoutATransaction) {
    Harness h;
    auto ack_spec = spec_for("ACK", "z9hG4bKack2xx");
    ack_spec.to = *parse_name_addr("<sip:alice@192.0.2.10>;tag=srv");
    h.receive(0, over_the_wire(make_request(ack_spec)), kClientUdp);
    EXPECT_EQ(h.log, (Log{"0 request ACK tx0 cancels tx0"}));
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    ASSERT_EQ(h.requests.size(), 1u);
    EXPECT_EQ(h.requests[0].source, kClientUdp);
}

TEST(ServerMatching, Rfc2543RequestsMatchOnDialogFieldsAndTopVia) {
    Harness h;
    // No branch at all, as an RFC 2543 client sends it.
    const auto invite = request("INVITE", "");
    h.receive(0, invite, kClientUdp);
    const auto id = h.requests.at(0).transaction;
    h.receive(500, invite, kClientUdp);  // retransmission: same fields, same Via
    EXPECT_EQ(h.layer.active_transactions(), 1u);

    auto next_cseq = spec_for("INVITE", "");
    next_cseq.cseq = 2;
    h.receive(600, over_the_wire(make_request(next_cseq)), kClientUdp);  // another transaction
    EXPECT_EQ(h.layer.active_transactions(), 2u);

    const auto busy = make_response(h.requests[0].request, 486, "srv");
    ASSERT_TRUE(h.respond(1000, id, busy));
    // An ACK with another To tag acknowledges something else.
    auto ack_spec = spec_for("ACK", "");
    ack_spec.to = *parse_name_addr("<sip:alice@192.0.2.10>;tag=not-ours");
    h.receive(1100, over_the_wire(make_request(ack_spec)), kClientUdp);
    EXPECT_EQ(h.layer.state_of(id), "Completed");
    // The ACK for our 486: Request-URI, From tag, Call-ID, CSeq number, top Via and our To tag.
    ack_spec.to = *parse_name_addr(*busy.header("To"));
    h.receive(1200, over_the_wire(make_request(ack_spec)), kClientUdp);
    EXPECT_EQ(h.layer.state_of(id), "Confirmed");

    EXPECT_EQ(h.log, (Log{"0 request INVITE tx1 cancels tx0", "600 request INVITE tx2 cancels tx0",
                          "1100 request ACK tx0 cancels tx0"}));
}

TEST(ServerMatching, Rfc2543CancelNamesTheInvite) {
    Harness h;
    h.receive(0, request("INVITE", "1234-old-style"), kClientUdp);
    h.receive(100, request("CANCEL", "1234-old-style"), kClientUdp);
    auto other_call = spec_for("CANCEL", "1234-old-style");
    other_call.call_id = "another-call";
    h.receive(200, over_the_wire(make_request(other_call)), kClientUdp);
    EXPECT_EQ(h.log, (Log{"0 request INVITE tx1 cancels tx0", "100 request CANCEL tx2 cancels tx1",
                          "200 request CANCEL tx3 cancels tx0"}));
}

TEST(ServerMatching, RequestsWithoutViaOrCSeqAreDropped) {
    Harness h;
    auto no_via = request("INVITE");
    no_via.remove_header("Via");
    h.receive(0, no_via, kClientUdp);
    auto no_cseq = request("INVITE");
    no_cseq.remove_header("CSeq");
    h.receive(0, no_cseq, kClientUdp);
    EXPECT_TRUE(h.log.empty());
    EXPECT_EQ(h.layer.active_transactions(), 0u);
}

// ------------------------------------------------------------ where responses go

// The value of a Via parameter, nullopt when the parameter is absent.
std::optional<std::string> via_param(const Message& message, std::string_view name) {
    const auto via = message.top_via();
    if (!via) return std::nullopt;
    const auto* param = find_parameter(via->params, name);
    if (param == nullptr) return std::nullopt;
    return param->value.value_or("");
}

Peer destination_of_response(const std::string& via, const Peer& source, Message* sent = nullptr) {
    Harness h;
    h.receive(0, request("OPTIONS", "z9hG4bKbranch1", via), source);
    EXPECT_EQ(h.requests.size(), 1u);
    if (h.requests.empty()) return {};
    EXPECT_TRUE(
        h.respond(0, h.requests[0].transaction, make_response(h.requests[0].request, 200, "srv")));
    EXPECT_EQ(h.sent.size(), 1u);
    if (h.sent.empty()) return {};
    if (sent != nullptr) *sent = parsed(h.sent[0].transmit.bytes);
    return h.sent[0].transmit.destination;
}

TEST(ResponseDestination, RportSendsBackToTheSourcePort) {
    const Peer source{Transport::udp, {"127.0.0.1", 40000}};
    Message sent;
    EXPECT_EQ(destination_of_response("SIP/2.0/UDP 127.0.0.1:5060;rport", source, &sent),
              (Peer{Transport::udp, {"127.0.0.1", 40000}}));
    // RFC 3581 §4: the response tells the client what its address looks like from here.
    EXPECT_EQ(via_param(sent, "rport"), "40000");
    EXPECT_EQ(via_param(sent, "received"), "127.0.0.1");
}

TEST(ResponseDestination, WithoutRportUsesTheSourceIpAndTheViaPort) {
    const Peer source{Transport::udp, {"127.0.0.1", 40000}};
    Message sent;
    EXPECT_EQ(destination_of_response("SIP/2.0/UDP 127.0.0.1:5060", source, &sent),
              (Peer{Transport::udp, {"127.0.0.1", 5060}}));
    EXPECT_EQ(via_param(sent, "received"), std::nullopt);  // same host, no rport
    EXPECT_EQ(destination_of_response("SIP/2.0/UDP 127.0.0.1", source),
              (Peer{Transport::udp, {"127.0.0.1", 5060}}));
    // A sent-by host that is not the source: the source IP wins and is recorded.
    EXPECT_EQ(destination_of_response("SIP/2.0/UDP phone.example.com:5080", source, &sent),
              (Peer{Transport::udp, {"127.0.0.1", 5080}}));
    EXPECT_EQ(via_param(sent, "received"), "127.0.0.1");
}

TEST(ResponseDestination, ReliableTransportsAnswerOnTheSameConnection) {
    const Peer source{Transport::tcp, {"127.0.0.1", 40000}};
    EXPECT_EQ(destination_of_response("SIP/2.0/TCP 127.0.0.1:5060", source), source);
}

// ----------------------------------------------------------------- the whole layer

TEST(Timers, T1T2AndT4AreConfigurable) {
    const TimerConfig fast{100, 400, 1000};
    Harness invite(fast);
    EXPECT_EQ(invite.layer.timers().t1_ms, 100u);
    invite.start(0, request("INVITE"), kServerUdp);
    invite.run_until(100000);
    EXPECT_EQ(invite.send_times(), (Times{0, 100, 300, 700, 1500, 3100, 6300}));
    EXPECT_EQ(invite.log, (Log{"6400 timeout B tx1", "6400 terminated tx1"}));

    Harness bye(fast);
    bye.start(0, request("BYE"), kServerUdp);
    bye.run_until(100000);
    EXPECT_EQ(bye.send_times(), (Times{0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100, 3500,
                                       3900, 4300, 4700, 5100, 5500, 5900, 6300}));
    EXPECT_EQ(bye.log, (Log{"6400 timeout F tx1", "6400 terminated tx1"}));

    Harness completed(fast);
    const auto options = request("OPTIONS");
    completed.start(0, options, kServerUdp);
    completed.receive(50, response(options, 200), kServerUdp);
    completed.run_until(100000);
    EXPECT_EQ(completed.log, (Log{"50 response 200 tx1", "1050 terminated tx1"}));  // K = T4

    Harness server(fast);
    server.receive(0, request("INVITE"), kClientUdp);
    const auto id = server.requests.at(0).transaction;
    ASSERT_TRUE(server.respond(0, id, make_response(server.requests[0].request, 486, "srv")));
    server.run_until(100000);
    EXPECT_EQ(server.send_times(), (Times{0, 100, 300, 700, 1100, 1500, 1900, 2300, 2700, 3100,
                                          3500, 3900, 4300, 4700, 5100, 5500, 5900, 6300}));
    EXPECT_EQ(server.log.back(), "6400 terminated tx1");
}

TEST(TransactionLayer, NextDeadlineIsTheEarliestLiveTimer) {
    Harness h;
    const auto first = request("BYE", "z9hG4bKfirst");
    h.start(0, first, kServerUdp);
    h.start(100, request("BYE", "z9hG4bKsecond"), kServerUdp);
    h.start(200, request("BYE", "z9hG4bKthird"), kServerUdp);
    EXPECT_EQ(h.layer.next_deadline(), 500u);
    h.receive(300, response(first, 200), kServerUdp);
    EXPECT_EQ(h.layer.next_deadline(), 600u);  // the first one's Timer E is gone
    h.run_until(600);
    EXPECT_EQ(h.layer.next_deadline(), 700u);
    h.run_until(700);
    EXPECT_EQ(h.layer.next_deadline(), 1600u);  // second: 600 + 1000
}

TEST(TransactionLayer, ManyTransactionsAllCleanUp) {
    Harness h;
    constexpr int kCount = 2000;
    for (int i = 0; i < kCount; ++i) {
        const auto bye = request("BYE", "z9hG4bK" + std::to_string(i));
        h.start(static_cast<std::uint64_t>(i), bye, kServerUdp);
        if (i % 2 == 0) h.layer.receive(h.now_ms, response(bye, 200), kServerUdp);
    }
    h.collect();
    EXPECT_EQ(h.layer.active_transactions(), static_cast<std::size_t>(kCount));
    h.run_until(1000000);
    EXPECT_EQ(h.layer.active_transactions(), 0u);
    EXPECT_EQ(h.layer.next_deadline(), std::nullopt);
    int timeouts = 0;
    int terminated = 0;
    for (const auto& line : h.log) {
        if (line.find("timeout F") != std::string::npos) ++timeouts;
        if (line.find("terminated") != std::string::npos) ++terminated;
    }
    EXPECT_EQ(timeouts, kCount / 2);
    EXPECT_EQ(terminated, kCount);
}

TEST(TransactionLayer, SendStatelessGoesOutWithoutATransaction) {
    Harness h;
    auto ack_spec = spec_for("ACK", "z9hG4bKack");
    const auto ack = make_request(ack_spec);
    h.layer.send_stateless(ack, kServerUdp);
    h.collect();
    ASSERT_EQ(h.sent.size(), 1u);
    EXPECT_EQ(h.sent[0].transmit.transaction, 0u);
    EXPECT_EQ(h.sent[0].transmit.destination, kServerUdp);
    EXPECT_EQ(h.sent[0].transmit.bytes, ack.to_bytes());
    EXPECT_EQ(h.layer.active_transactions(), 0u);
}

}  // namespace
}  // namespace sipcc
