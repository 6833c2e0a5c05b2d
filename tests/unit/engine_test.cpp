// The engine against another engine or a scripted peer on the virtual
// network: virtual clock, real wire bytes, asserting RFC 3261 behaviour.
#include <gtest/gtest.h>

#include "core/auth/digest_server.hpp"
#include "core/message/builder.hpp"
#include "core/message/parser.hpp"
#include "simulator/engine_node.hpp"
#include "simulator/virtual_network.hpp"
#include "tests/unit/test_support.hpp"

namespace sipcc {
namespace {

EngineConfig config_at(const std::string& ip, std::uint64_t seed) {
    EngineConfig config;
    config.local_address = {ip, 5060};
    config.seed = seed;
    return config;
}

std::string first_line(const std::string& bytes) {
    return bytes.substr(0, bytes.find("\r\n"));
}

class EnginePair : public ::testing::Test {
protected:
    sim::VirtualNetwork net{42};
    sim::EngineNode a{config_at("127.0.0.1", 1)};
    sim::EngineNode b{config_at("127.0.0.2", 2)};

    EnginePair() {
        net.add_node(a);
        net.add_node(b);
        net.set_default_conditions({.latency_ms = 5});
    }

    OutgoingRequest invite_to_b() {
        OutgoingRequest request;
        request.method = "INVITE";
        request.request_uri = *parse_uri("sip:bob@127.0.0.2");
        request.from = *parse_name_addr("<sip:alice@127.0.0.1>");
        request.to = *parse_name_addr("<sip:bob@127.0.0.2>");
        request.body = "v=0\r\n";
        request.content_type = "application/sdp";
        return request;
    }

    // Start lines (with the send time) of every datagram from `ip`, dropped or not.
    std::vector<std::pair<std::uint64_t, std::string>> sent_by(const std::string& ip) {
        std::vector<std::pair<std::uint64_t, std::string>> out;
        for (const auto& entry : net.trace()) {
            if (entry.from.address.ip == ip && !entry.duplicate) {
                out.emplace_back(entry.sent_ms, first_line(entry.bytes));
            }
        }
        return out;
    }

    std::vector<std::string> lines_sent_by(const std::string& ip) {
        std::vector<std::string> out;
        for (auto& [time, line] : sent_by(ip)) out.push_back(line);
        return out;
    }

    // B answers every incoming request of `method` with `code`.
    void answer_at_b(const std::string& method, int code) {
        for (const auto& event : b.events_of<IncomingRequestEvent>()) {
            if (event.request.method == method) b.engine.respond(net.now_ms(), event.id, code);
        }  // respond() refuses a second final answer, so answering again is harmless
        net.flush();
    }

    template <class T>
    bool has_event(sim::EngineNode& node) {
        return !node.events_of<T>().empty();
    }
};

TEST_F(EnginePair, InviteOkAckCreatesDialogsOnBothSides) {
    const auto call = a.engine.send_request(0, invite_to_b());
    ASSERT_NE(call, 0u);
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    answer_at_b("INVITE", 180);
    answer_at_b("INVITE", 200);
    ASSERT_TRUE(net.run_until([&] { return has_event<AckReceivedEvent>(b); }, 1000));

    auto responses = a.events_of<ResponseEvent>();
    std::vector<int> codes;
    for (const auto& r : responses) codes.push_back(r.response.status_code);
    EXPECT_EQ(codes, (std::vector<int>{100, 180, 200})) << "every provisional is passed up";
    ASSERT_TRUE(responses.back().dialog);
    const auto* uac = a.engine.dialog(*responses.back().dialog);
    ASSERT_NE(uac, nullptr);
    EXPECT_EQ(uac->state, Dialog::State::confirmed);
    EXPECT_EQ(uac->remote_target.host, "127.0.0.2");
    EXPECT_EQ(lines_sent_by("127.0.0.1"),
              (std::vector<std::string>{"INVITE sip:bob@127.0.0.2 SIP/2.0",
                                        "ACK sip:bob@127.0.0.2:5060 SIP/2.0"}));
    EXPECT_EQ(
        lines_sent_by("127.0.0.2"),
        (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK"}));
    EXPECT_EQ(b.engine.active_dialogs(), 1u);
}

TEST_F(EnginePair, LostAckMakesUasRetransmit2xxAndUacAckAgain) {
    int acks_seen = 0;
    net.set_drop_filter([&](const sim::TraceEntry& entry) {
        return first_line(entry.bytes).rfind("ACK", 0) == 0 && acks_seen++ == 0;
    });
    a.engine.send_request(0, invite_to_b());
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    const auto answered_at = net.now_ms();
    answer_at_b("INVITE", 200);
    ASSERT_TRUE(net.run_until([&] { return has_event<AckReceivedEvent>(b); }, 5000));
    EXPECT_EQ(b.engine.counters().ok_retransmissions, 1u);
    EXPECT_EQ(a.engine.counters().ack_retransmissions, 1u);
    auto b_lines = sent_by("127.0.0.2");
    std::vector<std::uint64_t> ok_times;
    for (auto& [time, line] : b_lines) {
        if (line == "SIP/2.0 200 OK") ok_times.push_back(time - answered_at);
    }
    EXPECT_EQ(ok_times, (std::vector<std::uint64_t>{0, 500})) << "first retransmission at T1";
    int oks = 0;
    for (const auto& event : a.events_of<ResponseEvent>()) oks += event.response.status_code == 200;
    EXPECT_EQ(oks, 1) << "the retransmitted 2xx is not passed up";
}

TEST_F(EnginePair, NoAckAtAll2xxRetransmitsUntil64T1ThenBye) {
    net.set_drop_filter(
        [&](const sim::TraceEntry& entry) { return first_line(entry.bytes).rfind("ACK", 0) == 0; });
    a.engine.send_request(0, invite_to_b());
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    const auto answered_at = net.now_ms();
    answer_at_b("INVITE", 200);
    ASSERT_TRUE(net.run_until([&] { return has_event<DialogTerminatedEvent>(b); }, 40000));
    std::vector<std::uint64_t> ok_times;
    std::uint64_t bye_at = 0;
    for (auto& [time, line] : sent_by("127.0.0.2")) {
        if (line == "SIP/2.0 200 OK") ok_times.push_back(time - answered_at);
        if (line.rfind("BYE ", 0) == 0 && bye_at == 0) bye_at = time - answered_at;
    }
    // T1 doubling, capped at T2 = 4 s, until 64*T1 = 32 s.
    EXPECT_EQ(ok_times, (std::vector<std::uint64_t>{0, 500, 1500, 3500, 7500, 11500, 15500, 19500,
                                                    23500, 27500, 31500}));
    EXPECT_EQ(bye_at, 32000u);
    auto ended = b.events_of<DialogTerminatedEvent>();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].cause, DialogEndCause::ack_timeout);
}

TEST_F(EnginePair, InviteTimesOutWithTimerBWhenThePeerIsUnreachable) {
    net.add_partition("127.0.0.1", "127.0.0.2", 0, 1'000'000);
    const auto call = a.engine.send_request(0, invite_to_b());
    ASSERT_TRUE(net.run_until([&] { return has_event<RequestFailedEvent>(a); }, 40000));
    auto failures = a.events_of<RequestFailedEvent>();
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].request, call);
    EXPECT_EQ(failures[0].cause, FailureCause::timeout);
    EXPECT_EQ(failures[0].detail, "Timer B fired");
    EXPECT_EQ(net.now_ms(), 32000u);
    std::vector<std::uint64_t> invite_times;
    for (auto& [time, line] : sent_by("127.0.0.1")) invite_times.push_back(time);
    EXPECT_EQ(invite_times, (std::vector<std::uint64_t>{0, 500, 1500, 3500, 7500, 15500, 31500}));
}

TEST_F(EnginePair, CancelAfterRingingGets487AndCancelledEvent) {
    const auto call = a.engine.send_request(0, invite_to_b());
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    answer_at_b("INVITE", 180);
    net.run_until([&] { return a.events_of<ResponseEvent>().size() == 1; }, 1000);
    ASSERT_TRUE(a.engine.cancel(net.now_ms(), call));
    net.flush();
    ASSERT_TRUE(net.run_until(
        [&] {
            auto responses = a.events_of<ResponseEvent>();
            return !responses.empty() && responses.back().response.status_code == 487;
        },
        5000));
    EXPECT_EQ(b.events_of<IncomingCancelledEvent>().size(), 1u);
    auto lines = lines_sent_by("127.0.0.1");
    EXPECT_EQ(lines[1], "CANCEL sip:bob@127.0.0.2 SIP/2.0");
    net.run_until(net.now_ms() + 100);
    EXPECT_EQ(lines_sent_by("127.0.0.1").back(), "ACK sip:bob@127.0.0.2 SIP/2.0")
        << "the INVITE client transaction ACKs the 487 itself";
}

TEST_F(EnginePair, CancelBeforeAnyProvisionalWaitsForOne) {
    b.engine = Engine([] {
        auto config = config_at("127.0.0.2", 2);
        config.send_100_trying = false;
        return config;
    }());
    const auto call = a.engine.send_request(0, invite_to_b());
    ASSERT_TRUE(a.engine.cancel(0, call));
    net.run_until(200);
    EXPECT_EQ(lines_sent_by("127.0.0.1").size(), 1u) << "no CANCEL before a provisional (§9.1)";
    answer_at_b("INVITE", 180);
    net.run_until(net.now_ms() + 20);
    auto lines = lines_sent_by("127.0.0.1");
    ASSERT_GE(lines.size(), 2u);
    EXPECT_EQ(lines[1].rfind("CANCEL ", 0), 0u);
}

TEST_F(EnginePair, OkCrossingCancelIsAckedThenByed) {
    const auto call = a.engine.send_request(0, invite_to_b());
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    answer_at_b("INVITE", 180);  // t=5, arrives at A at t=10
    net.run_until(10);
    ASSERT_TRUE(a.engine.cancel(10, call));  // CANCEL arrives at B at t=15
    net.flush();
    net.run_until(12);
    answer_at_b("INVITE", 200);  // t=12: the 200 crosses the CANCEL
    ASSERT_TRUE(net.run_until([&] { return has_event<DialogTerminatedEvent>(b); }, 5000));
    auto lines = lines_sent_by("127.0.0.1");
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0].rfind("INVITE ", 0), 0u);
    EXPECT_EQ(lines[1].rfind("CANCEL ", 0), 0u);
    EXPECT_EQ(lines[2].rfind("ACK ", 0), 0u);
    EXPECT_EQ(lines[3].rfind("BYE ", 0), 0u);
    EXPECT_TRUE(b.events_of<IncomingCancelledEvent>().empty()) << "too late to cancel";
    EXPECT_EQ(b.events_of<DialogTerminatedEvent>()[0].cause, DialogEndCause::bye_received);
}

TEST_F(EnginePair, DigestChallengeIsAnsweredWithSameCallIdAndHigherCSeq) {
    a.engine = Engine([] {
        auto config = config_at("127.0.0.1", 1);
        config.auth_user = "alice-auth";
        config.password = "secret";
        return config;
    }());
    std::mt19937_64 server_random(7);
    auto server =
        auth::DigestServer::create({.realm = "pbx.test"}, [&] { return server_random(); });
    ASSERT_TRUE(server);
    a.engine.send_request(0, invite_to_b());
    std::vector<auth::VerifyStatus> verdicts;
    ASSERT_TRUE(net.run_until(
        [&] {
            for (const auto& event : b.take<IncomingRequestEvent>()) {
                if (event.request.method != "INVITE") continue;
                const auto* credentials = event.request.header("Authorization");
                if (credentials == nullptr) {
                    b.engine.respond(net.now_ms(), event.id, 401,
                                     {{"WWW-Authenticate", server->make_challenge(net.now_ms())}});
                } else {
                    auto outcome = server->verify(
                        *credentials, "INVITE", event.request.body,
                        [](std::string_view user) -> std::optional<std::string> {
                            if (user == "alice-auth") return "secret";
                            return std::nullopt;
                        },
                        net.now_ms());
                    verdicts.push_back(outcome.status);
                    b.engine.respond(net.now_ms(), event.id, outcome.ok() ? 200 : 403);
                }
            }
            net.flush();
            return has_event<AckReceivedEvent>(b);
        },
        5000))
        << [&] {
               std::string ladder;
               for (const auto& entry : net.trace()) ladder += entry.bytes + "----\n";
               return ladder;
           }();
    EXPECT_EQ(verdicts, std::vector<auth::VerifyStatus>{auth::VerifyStatus::ok});
    std::vector<std::string> invites;
    for (const auto& entry : net.trace()) {
        if (first_line(entry.bytes).rfind("INVITE", 0) == 0) invites.push_back(entry.bytes);
    }
    ASSERT_EQ(invites.size(), 2u);
    auto first = *parse_message(invites[0]);
    auto second = *parse_message(invites[1]);
    EXPECT_EQ(first.call_id(), second.call_id());
    EXPECT_EQ(first.from()->tag(), second.from()->tag());
    EXPECT_EQ(first.cseq()->number + 1, second.cseq()->number);
    EXPECT_NE(first.top_via()->branch(), second.top_via()->branch());
    EXPECT_NE(second.header("Authorization")->find("username=\"alice-auth\""), std::string::npos);
}

TEST_F(EnginePair, WrongPasswordFailsOnceWithoutLooping) {
    a.engine = Engine([] {
        auto config = config_at("127.0.0.1", 1);
        config.password = "wrong";
        return config;
    }());
    std::mt19937_64 server_random(7);
    auto server =
        auth::DigestServer::create({.realm = "pbx.test"}, [&] { return server_random(); });
    const auto call = a.engine.send_request(0, invite_to_b());
    ASSERT_TRUE(net.run_until(
        [&] {
            for (const auto& event : b.take<IncomingRequestEvent>()) {
                b.engine.respond(net.now_ms(), event.id, 401,
                                 {{"WWW-Authenticate", server->make_challenge(net.now_ms())}});
            }
            net.flush();
            return has_event<RequestFailedEvent>(a);
        },
        5000));
    auto failure = a.events_of<RequestFailedEvent>().at(0);
    EXPECT_EQ(failure.request, call);
    EXPECT_EQ(failure.cause, FailureCause::authentication_failed);
    EXPECT_EQ(failure.status_code, 401);
    net.run_until(net.now_ms() + 40000);
    int invites = 0;
    for (const auto& line : lines_sent_by("127.0.0.1")) invites += line.rfind("INVITE", 0) == 0;
    EXPECT_EQ(invites, 2) << "one try with credentials, then stop";
}

TEST_F(EnginePair, InDialogRequestForUnknownDialogGets481AndOldCSeqGets500) {
    a.engine.send_request(0, invite_to_b());
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    answer_at_b("INVITE", 200);
    net.run_until([&] { return has_event<AckReceivedEvent>(b); }, 1000);
    const auto dialog_id = *a.events_of<ResponseEvent>().back().dialog;
    auto* dialog = const_cast<Dialog*>(a.engine.dialog(dialog_id));
    ASSERT_NE(dialog, nullptr);

    // A NOTIFY with an unknown remote tag: 481.
    const auto real_tag = dialog->key.remote_tag;
    dialog->remote.params = {{"tag", std::string("bogus")}};
    a.engine.send_in_dialog(net.now_ms(), dialog_id, {"NOTIFY", {{"Event", "refer"}}, "", ""});
    net.flush();
    net.run_until(net.now_ms() + 100);
    EXPECT_EQ(b.engine.counters().answered_481, 1u);

    // Back to the right tag, but a CSeq lower than the last one: 500.
    dialog->remote.params = {{"tag", real_tag}};
    dialog->local_cseq = 0;
    a.engine.send_in_dialog(net.now_ms(), dialog_id, {"INFO", {}, "", ""});
    net.flush();
    net.run_until(net.now_ms() + 100);
    EXPECT_EQ(b.engine.counters().answered_500_cseq, 1u);
    auto responses = a.events_of<ResponseEvent>();
    EXPECT_EQ(responses[responses.size() - 2].response.status_code, 481);
    EXPECT_EQ(responses.back().response.status_code, 500);
}

TEST_F(EnginePair, ByeFromEitherSideEndsBothDialogs) {
    a.engine.send_request(0, invite_to_b());
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    answer_at_b("INVITE", 200);
    net.run_until([&] { return has_event<AckReceivedEvent>(b); }, 1000);
    const auto dialog_id = *a.events_of<ResponseEvent>().back().dialog;
    const auto bye = a.engine.send_in_dialog(net.now_ms(), dialog_id, {"BYE", {}, "", ""});
    ASSERT_NE(bye, 0u);
    net.flush();
    ASSERT_TRUE(net.run_until([&] { return has_event<DialogTerminatedEvent>(a); }, 1000));
    EXPECT_EQ(a.events_of<DialogTerminatedEvent>()[0].cause, DialogEndCause::bye_sent);
    EXPECT_EQ(b.events_of<DialogTerminatedEvent>()[0].cause, DialogEndCause::bye_received);
    EXPECT_EQ(a.engine.active_dialogs(), 0u);
    EXPECT_EQ(b.engine.active_dialogs(), 0u);
    EXPECT_EQ(a.engine.send_in_dialog(net.now_ms(), dialog_id, {"INFO", {}, "", ""}), 0u);
}

TEST_F(EnginePair, SameSeedGivesTheSameTraceByteForByte) {
    auto run = [](std::uint64_t seed) {
        sim::VirtualNetwork network(seed);
        sim::EngineNode x{config_at("127.0.0.1", seed)};
        sim::EngineNode y{config_at("127.0.0.2", seed + 1)};
        network.add_node(x);
        network.add_node(y);
        network.set_default_conditions({.latency_ms = 5, .jitter_ms = 20, .loss = 0.3});
        OutgoingRequest request;
        request.method = "OPTIONS";
        request.request_uri = *parse_uri("sip:bob@127.0.0.2");
        request.from = *parse_name_addr("<sip:alice@127.0.0.1>");
        request.to = *parse_name_addr("<sip:bob@127.0.0.2>");
        x.engine.send_request(0, request);
        network.run_until(
            [&] {
                for (const auto& event : y.take<IncomingRequestEvent>()) {
                    y.engine.respond(network.now_ms(), event.id, 200);
                }
                network.flush();
                return false;
            },
            40000);
        std::string all;
        for (const auto& entry : network.trace()) {
            all += std::to_string(entry.sent_ms) + (entry.dropped ? "D" : "") + entry.bytes;
        }
        return all;
    };
    EXPECT_EQ(run(5), run(5));
    EXPECT_NE(run(5), run(6));
}

// --- addressing, with a scripted peer ---

class EngineAndScriptedPeer : public ::testing::Test {
protected:
    sim::VirtualNetwork net{1};
    sim::EngineNode engine_node{config_at("127.0.0.1", 1)};

    bool has_incoming() { return !engine_node.events_of<IncomingRequestEvent>().empty(); }
    // Answers every pending incoming request and forgets the events.
    void respond_all(int code) {
        for (const auto& event : engine_node.take<IncomingRequestEvent>()) {
            engine_node.engine.respond(net.now_ms(), event.id, code);
        }
        net.flush();
    }
};

TEST_F(EngineAndScriptedPeer, ResponseGoesToTheSourcePortWhenViaHasRport) {
    sim::ScriptedNode peer({"127.0.0.5", 40000}, nullptr);
    net.add_node(engine_node);
    net.add_node(peer);
    const auto options = [](const std::string& via_params) {
        return test::crlf(
            "OPTIONS sip:c2d@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.5:5060;"
            "branch=z9hG4bK" +
            via_params +
            "\nFrom: <sip:p@127.0.0.5>;tag=1\n"
            "To: <sip:c2d@127.0.0.1>\nCall-ID: rport-" +
            via_params + "\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n\n");
    };
    peer.send({Transport::udp, {"127.0.0.1", 5060}}, options("a;rport"));
    net.run_until([&] { return has_incoming(); }, 100);
    respond_all(200);
    net.run_until(net.now_ms() + 50);
    ASSERT_EQ(peer.received.size(), 1u) << "delivered to 127.0.0.5:40000";
    auto response = *parse_message(peer.received[0]);
    auto via = *response.top_via();
    EXPECT_EQ(find_parameter(via.params, "rport")->value, "40000");
    EXPECT_EQ(find_parameter(via.params, "received")->value, "127.0.0.5");

    // Without rport the response goes to the Via port (5060), where nobody listens.
    peer.send({Transport::udp, {"127.0.0.1", 5060}}, options("b"));
    net.run_until([&] { return has_incoming(); }, net.now_ms() + 100);
    respond_all(200);
    net.run_until(net.now_ms() + 50);
    EXPECT_EQ(peer.received.size(), 1u);
    EXPECT_EQ(net.trace().back().to.address, (SocketAddress{"127.0.0.5", 5060}));
}

TEST_F(EngineAndScriptedPeer, ReceivedAndRportInAResponseBecomeTheContact) {
    sim::ScriptedNode proxy({"127.0.0.9", 5060}, [](sim::ScriptedNode& self, std::uint64_t,
                                                    std::string_view bytes, Peer source) {
        auto request = *parse_message(bytes);
        if (request.method == "ACK") return;
        // The proxy saw us at another address (a NAT).
        auto response = make_response(request, 200, "p1");
        auto via = *response.top_via();
        set_parameter(via.params, "received", "127.0.0.77");
        set_parameter(via.params, "rport", "6000");
        response.headers[0].value = via.to_string();
        self.send(source, response.to_bytes());
    });
    net.add_node(engine_node);
    net.add_node(proxy);
    OutgoingRequest options;
    options.method = "OPTIONS";
    options.request_uri = *parse_uri("sip:proxy@127.0.0.9");
    options.from = *parse_name_addr("<sip:c2d@127.0.0.1>");
    options.to = options.from;
    engine_node.engine.send_request(0, options);
    net.run_until(100);
    EXPECT_EQ(engine_node.engine.contact_address(), (SocketAddress{"127.0.0.77", 6000}));
    auto learned = engine_node.events_of<PublicAddressLearned>();
    ASSERT_EQ(learned.size(), 1u);
    // The next INVITE advertises it.
    OutgoingRequest invite = options;
    invite.method = "INVITE";
    engine_node.engine.send_request(net.now_ms(), invite);
    net.run_until(net.now_ms() + 100);
    const auto& last_invite = proxy.received[1];
    EXPECT_NE(last_invite.find("Contact: <sip:c2d@127.0.0.77:6000>"), std::string::npos)
        << last_invite;
}

TEST_F(EngineAndScriptedPeer, OutboundProxyIsAPreloadedLooseRoute) {
    engine_node.engine = Engine([] {
        auto config = config_at("127.0.0.1", 1);
        config.outbound_proxy = "127.0.0.9:5070";
        return config;
    }());
    sim::ScriptedNode proxy({"127.0.0.9", 5070}, nullptr);
    net.add_node(engine_node);
    net.add_node(proxy);
    OutgoingRequest invite;
    invite.method = "INVITE";
    invite.request_uri = *parse_uri("sip:alice@pbx.test");
    invite.from = *parse_name_addr("<sip:c2d@pbx.test>");
    invite.to = *parse_name_addr("<sip:alice@pbx.test>");
    engine_node.engine.send_request(0, invite);
    net.run_until(10);
    ASSERT_EQ(proxy.received.size(), 1u) << "sent to the proxy, no lookup of pbx.test needed";
    auto request = *parse_message(proxy.received[0]);
    EXPECT_EQ(request.request_uri.to_string(), "sip:alice@pbx.test");
    EXPECT_EQ(*request.header("Route"), "<sip:127.0.0.9:5070;lr>");
    EXPECT_NE(find_parameter(request.top_via()->params, "rport"), nullptr);
    EXPECT_EQ(request.top_via()->branch()->rfind("z9hG4bK", 0), 0u);
}

TEST_F(EngineAndScriptedPeer, NamesAreResolvedThroughTheDriver) {
    sim::ScriptedNode pbx({"127.0.0.8", 5060}, nullptr);
    net.add_node(engine_node);
    net.add_node(pbx);
    net.add_name("pbx.test", "127.0.0.8");
    OutgoingRequest options;
    options.method = "OPTIONS";
    options.request_uri = *parse_uri("sip:alice@pbx.test");
    options.from = *parse_name_addr("<sip:c2d@pbx.test>");
    options.to = options.from;
    engine_node.engine.send_request(0, options);
    net.run_until(20);
    EXPECT_EQ(pbx.received.size(), 1u);

    options.request_uri = *parse_uri("sip:alice@nowhere.test");
    const auto failing = engine_node.engine.send_request(net.now_ms(), options);
    net.run_until(net.now_ms() + 20);
    auto failures = engine_node.events_of<RequestFailedEvent>();
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0].request, failing);
    EXPECT_EQ(failures[0].cause, FailureCause::resolution_failed);
    EXPECT_EQ(failures[0].detail, "nowhere.test: NXDOMAIN");
}

TEST_F(EngineAndScriptedPeer, MalformedInputIsCountedAndAnsweredWhenPossible) {
    sim::ScriptedNode peer({"127.0.0.5", 5060}, nullptr);
    net.add_node(engine_node);
    net.add_node(peer);
    peer.send({Transport::udp, {"127.0.0.1", 5060}}, "garbage\r\n\r\n");
    peer.send({Transport::udp, {"127.0.0.1", 5060}},
              test::crlf("OPTIONS sip:c2d@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.5;"
                         "branch=z9hG4bKx\nFrom: <sip:p@h>;tag=1\nTo: <sip:c2d@h>\n"
                         "CSeq: 1 OPTIONS\n\n"));
    net.run_until(50);
    EXPECT_EQ(engine_node.engine.counters().malformed_dropped, 1u);
    EXPECT_EQ(engine_node.engine.counters().malformed_answered, 1u);
    ASSERT_EQ(peer.received.size(), 1u);
    EXPECT_EQ(first_line(peer.received[0]), "SIP/2.0 400 Bad Request (no Call-ID header)");
    auto malformed = engine_node.events_of<MalformedMessageEvent>();
    ASSERT_EQ(malformed.size(), 2u);
    EXPECT_EQ(malformed[0].reason, "malformed start line: \"garbage\"");
}

}  // namespace
}  // namespace sipcc

namespace sipcc {
namespace {

TEST_F(EnginePair, FailureAfterRingingEndsTheEarlyDialog) {
    a.engine.send_request(0, invite_to_b());
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    answer_at_b("INVITE", 180);
    net.run_until(net.now_ms() + 20);
    EXPECT_EQ(a.engine.active_dialogs(), 1u) << "180 with a To tag: early dialog";
    answer_at_b("INVITE", 486);
    net.run_until(net.now_ms() + 20);
    EXPECT_EQ(a.engine.active_dialogs(), 0u) << "§12.3: the final failure ends it";
}

TEST_F(EnginePair, TheDialogOurOkCreatedIsKnownByTheIncomingId) {
    a.engine.send_request(0, invite_to_b());
    net.run_until([&] { return has_event<IncomingRequestEvent>(b); }, 1000);
    const auto incoming = b.events_of<IncomingRequestEvent>().at(0).id;
    EXPECT_FALSE(b.engine.dialog_of_incoming(incoming).has_value());
    answer_at_b("INVITE", 200);
    const auto dialog = b.engine.dialog_of_incoming(incoming);
    ASSERT_TRUE(dialog.has_value());
    ASSERT_NE(b.engine.dialog(*dialog), nullptr);
    EXPECT_FALSE(b.engine.dialog(*dialog)->is_uac);
}

}  // namespace
}  // namespace sipcc
