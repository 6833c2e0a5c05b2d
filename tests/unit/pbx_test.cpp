// The simulated PBX on the virtual network: engines register with it and call each other
// through it; scripted peers send hand-made bytes where an engine would not (Max-Forwards 0,
// retransmissions, foreign Vias). Virtual clock, real wire bytes.
#include "simulator/pbx.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "core/message/builder.hpp"
#include "core/message/parser.hpp"
#include "simulator/engine_node.hpp"
#include "simulator/virtual_network.hpp"

namespace sipcc {
namespace {

constexpr const char* kPbxIp = "127.0.0.10";
constexpr const char* kDeskIp = "127.0.0.11";       // alice's desk phone
constexpr const char* kSoftphoneIp = "127.0.0.12";  // alice's second device
constexpr const char* kBobIp = "127.0.0.13";        // the caller
constexpr const char* kGatewayIp = "127.0.0.9";
constexpr const char* kScriptedIp = "127.0.0.20";
constexpr std::uint16_t kScriptedPort = 5070;
constexpr const char* kDownstreamIp = "127.0.0.21";
constexpr std::uint64_t kLimitMs = 64'000;

const Peer kPbxPeer{Transport::udp, {kPbxIp, 5060}};

std::string first_line(std::string_view bytes) {
    return std::string(bytes.substr(0, bytes.find("\r\n")));
}

// A header's value, "" when absent (so a missing header fails an assertion, not the run).
std::string header_of(const Message& message, std::string_view name) {
    const auto* value = message.header(name);
    return value ? *value : std::string();
}

std::string top_branch(const Message& message) {
    auto via = message.top_via();
    return via ? via->branch().value_or("") : "";
}

// An engine that answers every request it is given: INVITE with `invite_answer_code`,
// anything else 200. It keeps the requests it saw.
class UserAgent : public sim::EngineNode {
public:
    using EngineNode::EngineNode;

    int invite_answer_code = 200;
    std::vector<Message> requests;

    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override {
        EngineNode::on_datagram(now_ms, bytes, source);
        answer_requests(now_ms);
    }
    void on_timeout(std::uint64_t now_ms) override {
        EngineNode::on_timeout(now_ms);
        answer_requests(now_ms);
    }

    const ResponseEvent* final_response(RequestHandle request) {
        drain_events();
        for (const auto& event : events) {
            const auto* response = std::get_if<ResponseEvent>(&event.payload);
            if (response && response->request == request && response->response.status_code >= 200)
                return response;
        }
        return nullptr;
    }
    int final_code(RequestHandle request) {
        const auto* response = final_response(request);
        return response ? response->response.status_code : 0;
    }
    std::optional<FailureCause> failure(RequestHandle request) {
        for (const auto& event : events_of<RequestFailedEvent>()) {
            if (event.request == request) return event.cause;
        }
        return std::nullopt;
    }
    bool finished(RequestHandle request) {
        return final_code(request) != 0 || failure(request).has_value();
    }
    std::vector<Message> requests_of(std::string_view method) const {
        std::vector<Message> out;
        for (const auto& request : requests) {
            if (request.method == method) out.push_back(request);
        }
        return out;
    }

private:
    void answer_requests(std::uint64_t now_ms) {
        for (auto& incoming : take<IncomingRequestEvent>()) {
            requests.push_back(incoming.request);
            const bool is_invite = incoming.request.method == "INVITE";
            engine.respond(now_ms, incoming.id, is_invite ? invite_answer_code : 200);
        }
    }
};

class PbxTest : public ::testing::Test {
protected:
    sim::VirtualNetwork net{11};
    std::unique_ptr<sim::Pbx> pbx;
    std::vector<std::unique_ptr<UserAgent>> agents;
    std::vector<std::unique_ptr<sim::ScriptedNode>> scripted;

    PbxTest() { net.set_default_conditions({.latency_ms = 5}); }

    static sim::PbxConfig base_config() {
        sim::PbxConfig config;
        config.address = {kPbxIp, 5060};
        config.domain = "pbx.test";
        config.users = {{"alice", "alice-secret"}, {"bob", "bob-secret"}};
        config.seed = 5;
        return config;
    }

    void start(sim::PbxConfig config = base_config()) {
        pbx = std::make_unique<sim::Pbx>(std::move(config));
        ASSERT_EQ(pbx->setup_error(), "");
        net.add_node(*pbx);
    }

    UserAgent& add_agent(const std::string& ip, std::string password = {}) {
        EngineConfig config;
        config.local_address = {ip, 5060};
        config.outbound_proxy = std::string(kPbxIp) + ":5060";
        config.password = std::move(password);
        config.seed = 100 + agents.size();
        agents.push_back(std::make_unique<UserAgent>(std::move(config)));
        net.add_node(*agents.back());
        return *agents.back();
    }

    // A peer that keeps what it receives (ScriptedNode::received) and answers nothing.
    sim::ScriptedNode& add_scripted(const std::string& ip, std::uint16_t port) {
        scripted.push_back(std::make_unique<sim::ScriptedNode>(SocketAddress{ip, port}, nullptr));
        net.add_node(*scripted.back());
        return *scripted.back();
    }

    RequestHandle send_register(UserAgent& agent, const std::string& user,
                                std::optional<std::uint32_t> expires_s) {
        OutgoingRequest request;
        request.method = "REGISTER";
        request.request_uri = *parse_uri("sip:pbx.test");
        request.from = *parse_name_addr("<sip:" + user + "@pbx.test>");
        request.to = *parse_name_addr("<sip:" + user + "@pbx.test>");
        if (expires_s) request.headers.push_back({"Expires", std::to_string(*expires_s)});
        const auto handle = agent.engine.send_request(net.now_ms(), std::move(request));
        net.flush();
        return handle;
    }

    // Registers and runs until the answer; the final code, or 0 when the request failed.
    int register_agent(UserAgent& agent, const std::string& user,
                       std::optional<std::uint32_t> expires_s = 3600) {
        const auto handle = send_register(agent, user, expires_s);
        EXPECT_TRUE(run_until_finished(agent, handle));
        return agent.final_code(handle);
    }

    RequestHandle invite(UserAgent& caller, const std::string& from_user,
                         const std::string& target) {
        OutgoingRequest request;
        request.method = "INVITE";
        request.request_uri = *parse_uri(target);
        request.from = *parse_name_addr("<sip:" + from_user + "@pbx.test>");
        request.to = *parse_name_addr("<" + target + ">");
        const auto handle = caller.engine.send_request(net.now_ms(), std::move(request));
        net.flush();
        return handle;
    }

    // BYE, or a REFER to carol.
    RequestHandle send_in_dialog(UserAgent& agent, DialogId dialog, const std::string& method) {
        InDialogRequest request;
        request.method = method;
        if (method == "REFER") request.headers.push_back({"Refer-To", "<sip:carol@pbx.test>"});
        const auto handle = agent.engine.send_in_dialog(net.now_ms(), dialog, std::move(request));
        net.flush();
        return handle;
    }

    bool run_until_finished(UserAgent& agent, RequestHandle handle) {
        return net.run_until([&] { return agent.finished(handle); }, net.now_ms() + kLimitMs);
    }

    // Calls `target` from bob and runs until the final answer; the dialog when it was 2xx.
    std::optional<DialogId> connect(UserAgent& caller, const std::string& target) {
        const auto handle = invite(caller, "bob", target);
        EXPECT_TRUE(run_until_finished(caller, handle));
        const auto* response = caller.final_response(handle);
        if (response == nullptr || response->response.status_code >= 300) return std::nullopt;
        return response->dialog;
    }

    // Datagrams that crossed the network from one IP to another, as messages.
    std::vector<Message> datagrams(const std::string& from_ip, const std::string& to_ip,
                                   std::string_view start_line_prefix = {}) const {
        std::vector<Message> out;
        for (const auto& entry : net.trace()) {
            if (entry.from.address.ip != from_ip || entry.to.address.ip != to_ip) continue;
            if (!entry.bytes.starts_with(start_line_prefix)) continue;
            auto parsed = parse_message(entry.bytes);
            if (parsed) out.push_back(std::move(parsed).value());
        }
        return out;
    }

    sim::PbxCounters counters() const { return pbx->counters(net.now_ms()); }

    // A request as a scripted UA at 127.0.0.20:5070 would send it; its Via names an address
    // behind a NAT (10.1.1.1:5999) and asks for rport.
    static Message scripted_request(const std::string& method, const std::string& request_uri,
                                    const std::string& branch, std::uint32_t cseq = 1,
                                    const std::string& call_id = "call-1") {
        RequestSpec spec;
        spec.method = method;
        spec.request_uri = *parse_uri(request_uri);
        spec.from = *parse_name_addr("<sip:carol@pbx.test>;tag=carol-tag");
        spec.to = *parse_name_addr("<" + request_uri + ">");
        spec.call_id = call_id;
        spec.cseq = cseq;
        spec.via = *parse_via("SIP/2.0/UDP 10.1.1.1:5999;branch=" + branch + ";rport");
        spec.contact = *parse_name_addr("<sip:carol@10.1.1.1:5999>");
        spec.route = {*parse_name_addr(std::string("<sip:") + kPbxIp + ";lr>")};
        return make_request(spec);
    }

    void send_scripted(sim::ScriptedNode& node, const Message& message) {
        node.send(kPbxPeer, message.to_bytes());
        net.flush();
    }

    static std::vector<Message> parsed(const std::vector<std::string>& received) {
        std::vector<Message> out;
        for (const auto& bytes : received) {
            if (auto message = parse_message(bytes)) out.push_back(std::move(message).value());
        }
        return out;
    }
};

// --------------------------------------------------------------------------------------------
// Registrar

TEST_F(PbxTest, RegisterIsChallengedThenBindsTheContact) {
    start();
    auto& desk = add_agent(kDeskIp, "alice-secret");
    const auto handle = send_register(desk, "alice", 120);
    ASSERT_TRUE(run_until_finished(desk, handle));
    ASSERT_EQ(desk.final_code(handle), 200);

    // The first REGISTER got a 401 with one challenge per algorithm.
    const auto answers = datagrams(kPbxIp, kDeskIp);
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0].status_code, 401);
    EXPECT_EQ(answers[0].header_values("WWW-Authenticate").size(), 2u);
    EXPECT_NE(header_of(answers[0], "WWW-Authenticate").find("realm=\"pbx.test\""),
              std::string::npos);
    // The 200 lists the binding with its lifetime.
    const auto& ok = desk.final_response(handle)->response;
    ASSERT_EQ(ok.header_values("Contact").size(), 1u);
    EXPECT_EQ(header_of(ok, "Contact"), "<sip:alice@127.0.0.11:5060>;expires=120");

    const auto bindings = pbx->bindings(net.now_ms());
    ASSERT_EQ(bindings.size(), 1u);
    ASSERT_EQ(bindings.at("alice").size(), 1u);
    EXPECT_EQ(bindings.at("alice")[0].uri, "sip:alice@127.0.0.11:5060");
    EXPECT_EQ(bindings.at("alice")[0].remaining_s, 120u);

    const auto seen = counters();
    EXPECT_EQ(seen.requests_received, 2u);
    EXPECT_EQ(seen.challenges_sent, 1u);
    EXPECT_EQ(seen.auth_failures, 0u);
    EXPECT_EQ(seen.registrations_accepted, 1u);
    EXPECT_EQ(seen.registrations_active, 1u);
    EXPECT_EQ(seen.responses_sent, 2u);
    EXPECT_EQ(seen.requests_forwarded, 0u);
}

TEST_F(PbxTest, WrongPasswordFailsTheRegistration) {
    start();
    auto& desk = add_agent(kDeskIp, "not-the-password");
    const auto handle = send_register(desk, "alice", 3600);
    ASSERT_TRUE(run_until_finished(desk, handle));
    EXPECT_EQ(desk.failure(handle), FailureCause::authentication_failed);
    EXPECT_TRUE(pbx->bindings(net.now_ms()).empty());
    const auto seen = counters();
    EXPECT_EQ(seen.challenges_sent, 2u);
    EXPECT_EQ(seen.auth_failures, 1u);
    EXPECT_EQ(seen.registrations_active, 0u);
}

TEST_F(PbxTest, UnknownUserCannotRegister) {
    // Challenged like anyone (user names cannot be probed); the credentials of a user the
    // PBX does not know are refused like a wrong password.
    start();
    auto& stranger = add_agent(kDeskIp, "whatever");
    const auto handle = send_register(stranger, "nobody", 3600);
    ASSERT_TRUE(run_until_finished(stranger, handle));
    EXPECT_EQ(stranger.failure(handle), FailureCause::authentication_failed);
    EXPECT_EQ(counters().auth_failures, 1u);

    // Without challenge_register an unknown user gets 404 at once.
    auto config = base_config();
    config.challenge_register = false;
    config.address.port = 5062;
    sim::Pbx open_pbx(config);
    net.add_node(open_pbx);
    auto& scripted_ua = add_scripted(kScriptedIp, kScriptedPort);
    auto request = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-reg-nobody");
    request.set_header("To", "<sip:nobody@pbx.test>");
    request.remove_header("Route");
    scripted_ua.send(Peer{Transport::udp, {kPbxIp, 5062}}, request.to_bytes());
    net.flush();
    net.run_until(net.now_ms() + 100);
    const auto answers = parsed(scripted_ua.received);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].status_code, 404);
    EXPECT_EQ(open_pbx.counters(net.now_ms()).not_found, 1u);
}

TEST_F(PbxTest, BindingExpiresOnVirtualTimeAndCallsThenGet404) {
    start();
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& bob = add_agent(kBobIp);
    ASSERT_EQ(register_agent(desk, "alice", 60), 200);
    net.run_until(net.now_ms() + 30'000);
    ASSERT_EQ(pbx->bindings(net.now_ms()).at("alice").at(0).remaining_s, 30u);
    EXPECT_EQ(counters().registrations_active, 1u);

    net.run_until(net.now_ms() + 30'001);
    EXPECT_TRUE(pbx->bindings(net.now_ms()).empty());
    EXPECT_EQ(counters().registrations_active, 0u);

    const auto handle = invite(bob, "bob", "sip:alice@pbx.test");
    ASSERT_TRUE(run_until_finished(bob, handle));
    EXPECT_EQ(bob.final_code(handle), 404);
    EXPECT_TRUE(desk.requests_of("INVITE").empty());
    EXPECT_EQ(counters().not_found, 1u);
    EXPECT_EQ(counters().calls_failed, 0u);  // answered by the PBX, not forwarded
}

TEST_F(PbxTest, ExpiresZeroRemovesOneBindingAndStarRemovesAll) {
    start();
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& softphone = add_agent(kSoftphoneIp, "alice-secret");
    ASSERT_EQ(register_agent(desk, "alice"), 200);
    ASSERT_EQ(register_agent(softphone, "alice", 600), 200);
    auto bindings = pbx->bindings(net.now_ms()).at("alice");
    ASSERT_EQ(bindings.size(), 2u);
    EXPECT_EQ(bindings[0].uri, "sip:alice@127.0.0.12:5060");  // newest first
    EXPECT_EQ(counters().registrations_active, 2u);

    ASSERT_EQ(register_agent(softphone, "alice", 0), 200);
    bindings = pbx->bindings(net.now_ms()).at("alice");
    ASSERT_EQ(bindings.size(), 1u);
    EXPECT_EQ(bindings[0].uri, "sip:alice@127.0.0.11:5060");

    // "Contact: *" (an engine always sends its own Contact, so a scripted UA sends it).
    auto config = base_config();
    config.challenge_register = false;
    config.address.port = 5062;
    sim::Pbx open_pbx(config);
    net.add_node(open_pbx);
    auto& scripted_ua = add_scripted(kScriptedIp, kScriptedPort);
    const Peer open_peer{Transport::udp, {kPbxIp, 5062}};
    const auto send = [&](Message request) {
        request.remove_header("Route");
        request.set_header("To", "<sip:alice@pbx.test>");
        scripted_ua.send(open_peer, request.to_bytes());
        net.flush();
        net.run_until(net.now_ms() + 100);
    };
    auto first = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-r1", 1, "reg");
    send(first);
    auto second = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-r2", 2, "reg");
    second.set_header("Contact", "<sip:alice@10.1.1.2:5060>");
    send(second);
    ASSERT_EQ(open_pbx.bindings(net.now_ms()).at("alice").size(), 2u);

    auto star_without_zero = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-r3", 3, "reg");
    star_without_zero.set_header("Contact", "*");
    send(star_without_zero);
    EXPECT_EQ(parsed(scripted_ua.received).back().status_code, 400);
    ASSERT_EQ(open_pbx.bindings(net.now_ms()).at("alice").size(), 2u);

    auto star = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-r4", 4, "reg");
    star.set_header("Contact", "*");
    star.set_header("Expires", "0");
    send(star);
    const auto last = parsed(scripted_ua.received).back();
    EXPECT_EQ(last.status_code, 200);
    EXPECT_FALSE(last.has_header("Contact"));
    EXPECT_TRUE(open_pbx.bindings(net.now_ms()).empty());
}

TEST_F(PbxTest, RegistrarRefusesOldRequestsAndShortLifetimesButRepeatsRetransmissions) {
    auto config = base_config();
    config.challenge_register = false;
    config.min_expires_s = 60;
    start(config);
    auto& scripted_ua = add_scripted(kScriptedIp, kScriptedPort);
    const auto send = [&](Message request) {
        request.remove_header("Route");
        request.set_header("To", "<sip:alice@pbx.test>");
        send_scripted(scripted_ua, request);
        net.run_until(net.now_ms() + 100);
        return parsed(scripted_ua.received).back();
    };
    auto second = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-a2", 2, "reg");
    second.set_header("Expires", "300");
    EXPECT_EQ(send(second).status_code, 200);
    EXPECT_EQ(pbx->bindings(net.now_ms()).at("alice").at(0).remaining_s, 300u);

    net.run_until(net.now_ms() + 10'000);
    // The same request again (a retransmission) is answered 200 and changes nothing.
    const auto repeated = send(second);
    EXPECT_EQ(repeated.status_code, 200);
    EXPECT_EQ(header_of(repeated, "Contact"), "<sip:carol@10.1.1.1:5999>;expires=290");

    auto older = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-a1", 1, "reg");
    EXPECT_EQ(send(older).status_code, 500);

    auto too_short = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-a3", 3, "reg");
    too_short.set_header("Contact", "<sip:carol@10.1.1.1:5999>;expires=30");
    const auto brief = send(too_short);
    EXPECT_EQ(brief.status_code, 423);
    ASSERT_NE(brief.header("Min-Expires"), nullptr);
    EXPECT_EQ(header_of(brief, "Min-Expires"), "60");
    EXPECT_EQ(pbx->bindings(net.now_ms()).at("alice").at(0).remaining_s, 290u);
}

TEST_F(PbxTest, RetransmittedRegisterWithCredentialsIsAcceptedAgain) {
    start();
    auto& desk = add_agent(kDeskIp, "alice-secret");
    // Lose the first 200 OK: the engine retransmits the REGISTER with the same credentials,
    // whose nonce count the digest server has already seen.
    bool dropped_one = false;
    net.set_drop_filter([&](const sim::TraceEntry& entry) {
        if (dropped_one || entry.from.address.ip != kPbxIp) return false;
        if (!entry.bytes.starts_with("SIP/2.0 200")) return false;
        dropped_one = true;
        return true;
    });
    const auto handle = send_register(desk, "alice", 3600);
    ASSERT_TRUE(run_until_finished(desk, handle));
    EXPECT_TRUE(dropped_one);
    EXPECT_EQ(desk.final_code(handle), 200);
    EXPECT_EQ(counters().auth_failures, 0u);
    EXPECT_EQ(counters().challenges_sent, 1u);
    EXPECT_EQ(counters().registrations_accepted, 2u);
    EXPECT_EQ(datagrams(kDeskIp, kPbxIp, "REGISTER").size(), 3u);
}

// --------------------------------------------------------------------------------------------
// Proxy

TEST_F(PbxTest, CallReachesTheRegisteredUserAndTheDialogStaysOnThePbx) {
    start();
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& bob = add_agent(kBobIp);
    ASSERT_EQ(register_agent(desk, "alice"), 200);

    const auto dialog = connect(bob, "sip:alice@pbx.test");
    ASSERT_TRUE(dialog.has_value());
    const auto invites = desk.requests_of("INVITE");
    ASSERT_EQ(invites.size(), 1u);
    const auto& invite = invites[0];
    EXPECT_EQ(invite.request_uri.to_string(), "sip:alice@127.0.0.11:5060");
    ASSERT_EQ(invite.header_values("Record-Route").size(), 1u);
    EXPECT_EQ(header_of(invite, "Record-Route"), "<sip:127.0.0.10:5060;lr>");
    EXPECT_FALSE(invite.has_header("Route"));  // the outbound-proxy Route was ours
    EXPECT_EQ(header_of(invite, "Max-Forwards"), "69");
    const auto vias = invite.vias();
    ASSERT_TRUE(vias.ok());
    ASSERT_EQ(vias->size(), 2u);
    EXPECT_EQ(vias->at(0).host, kPbxIp);
    EXPECT_TRUE(vias->at(0).branch().value_or("").starts_with("z9hG4bK"));
    EXPECT_EQ(vias->at(1).host, kBobIp);

    // The caller's route set is the PBX: ACK and BYE go there and on to the desk phone.
    const auto* route_set = bob.engine.dialog(*dialog);
    ASSERT_NE(route_set, nullptr);
    ASSERT_EQ(route_set->route_set.size(), 1u);
    EXPECT_EQ(route_set->route_set[0].uri.host, kPbxIp);
    net.run_until(net.now_ms() + 100);  // the ACK is on its way
    EXPECT_EQ(datagrams(kBobIp, kPbxIp, "ACK").size(), 1u);
    EXPECT_EQ(datagrams(kPbxIp, kDeskIp, "ACK").size(), 1u);

    const auto bye = send_in_dialog(bob, *dialog, "BYE");
    ASSERT_TRUE(run_until_finished(bob, bye));
    EXPECT_EQ(bob.final_code(bye), 200);
    EXPECT_EQ(datagrams(kBobIp, kPbxIp, "BYE").size(), 1u);
    EXPECT_EQ(datagrams(kPbxIp, kDeskIp, "BYE").size(), 1u);
    EXPECT_TRUE(datagrams(kBobIp, kDeskIp).empty());  // nothing bypassed the PBX
    const auto ended = desk.events_of<DialogTerminatedEvent>();
    ASSERT_EQ(ended.size(), 1u);
    EXPECT_EQ(ended[0].cause, DialogEndCause::bye_received);

    const auto seen = counters();
    EXPECT_EQ(seen.calls_ok, 1u);
    EXPECT_EQ(seen.calls_failed, 0u);
    // INVITE, ACK, BYE forwarded; 100, 180-less: 100 Trying, 200 (INVITE), 200 (BYE) back.
    EXPECT_EQ(seen.requests_forwarded, 3u);
    EXPECT_EQ(seen.responses_forwarded, 3u);
    EXPECT_EQ(seen.stray_responses_dropped, 0u);
}

TEST_F(PbxTest, RejectedCallIsCountedAndItsAckMatchesTheInviteDownstream) {
    start();
    auto& desk = add_agent(kDeskIp, "alice-secret");
    desk.invite_answer_code = 486;
    auto& bob = add_agent(kBobIp);
    ASSERT_EQ(register_agent(desk, "alice"), 200);
    const auto handle = invite(bob, "bob", "sip:alice@pbx.test");
    ASSERT_TRUE(run_until_finished(bob, handle));
    EXPECT_EQ(bob.final_code(handle), 486);
    net.run_until(net.now_ms() + 1000);

    // The client transaction's ACK is forwarded statelessly with the INVITE's branch, so the
    // desk phone's server transaction takes it and stops retransmitting the 486.
    const auto invites = datagrams(kPbxIp, kDeskIp, "INVITE");
    const auto acks = datagrams(kPbxIp, kDeskIp, "ACK");
    ASSERT_EQ(invites.size(), 1u);
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(top_branch(acks[0]), top_branch(invites[0]));
    EXPECT_EQ(datagrams(kDeskIp, kPbxIp, "SIP/2.0 486").size(), 1u);
    EXPECT_EQ(counters().calls_failed, 1u);
    EXPECT_EQ(counters().calls_ok, 0u);
}

TEST_F(PbxTest, UnknownUserGets404) {
    start();
    auto& bob = add_agent(kBobIp);
    const auto handle = invite(bob, "bob", "sip:nobody@pbx.test");
    ASSERT_TRUE(run_until_finished(bob, handle));
    EXPECT_EQ(bob.final_code(handle), 404);
    net.run_until(net.now_ms() + 100);  // the ACK is on its way
    const auto seen = counters();
    EXPECT_EQ(seen.not_found, 1u);
    EXPECT_EQ(seen.requests_forwarded, 0u);
    EXPECT_EQ(seen.acks_absorbed, 1u);  // the ACK for our 404 stops at the PBX
}

TEST_F(PbxTest, ChallengeInviteLetsOnlyTheRightPasswordCall) {
    auto config = base_config();
    config.challenge_invite = true;
    start(config);
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& bob = add_agent(kBobIp, "bob-secret");
    auto& no_password = add_agent("127.0.0.14");
    auto& wrong_password = add_agent("127.0.0.15", "guess");
    ASSERT_EQ(register_agent(desk, "alice"), 200);

    const auto good = invite(bob, "bob", "sip:alice@pbx.test");
    ASSERT_TRUE(run_until_finished(bob, good));
    EXPECT_EQ(bob.final_code(good), 200);
    ASSERT_EQ(desk.requests_of("INVITE").size(), 1u);
    // Our realm's credentials are consumed, not passed on.
    EXPECT_FALSE(desk.requests_of("INVITE")[0].has_header("Proxy-Authorization"));
    const auto challenge = datagrams(kPbxIp, kBobIp, "SIP/2.0 407");
    ASSERT_EQ(challenge.size(), 1u);
    EXPECT_EQ(challenge[0].header_values("Proxy-Authenticate").size(), 2u);

    const auto none = invite(no_password, "bob", "sip:alice@pbx.test");
    ASSERT_TRUE(run_until_finished(no_password, none));
    EXPECT_EQ(no_password.failure(none), FailureCause::no_credentials);

    const auto wrong = invite(wrong_password, "bob", "sip:alice@pbx.test");
    ASSERT_TRUE(run_until_finished(wrong_password, wrong));
    EXPECT_EQ(wrong_password.failure(wrong), FailureCause::authentication_failed);

    net.run_until(net.now_ms() + 100);                 // the last ACK is on its way
    EXPECT_EQ(desk.requests_of("INVITE").size(), 1u);  // only the authenticated call arrived
    const auto seen = counters();
    EXPECT_EQ(seen.auth_failures, 1u);
    // REGISTER 401, then 407 to each of the three callers and again to the wrong password.
    EXPECT_EQ(seen.challenges_sent, 5u);
    EXPECT_EQ(seen.acks_absorbed, 4u);  // the ACKs for our 407s
    EXPECT_EQ(seen.calls_ok, 1u);
}

TEST_F(PbxTest, RetransmittedAuthenticatedInviteIsForwardedAgainNotChallenged) {
    auto config = base_config();
    config.challenge_invite = true;
    start(config);
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& bob = add_agent(kBobIp, "bob-secret");
    ASSERT_EQ(register_agent(desk, "alice"), 200);
    // Lose the first INVITE the PBX forwards: bob retransmits the authenticated INVITE.
    bool dropped_one = false;
    net.set_drop_filter([&](const sim::TraceEntry& entry) {
        if (dropped_one || entry.from.address.ip != kPbxIp || entry.to.address.ip != kDeskIp)
            return false;
        dropped_one = entry.bytes.starts_with("INVITE");
        return dropped_one;
    });
    const auto handle = invite(bob, "bob", "sip:alice@pbx.test");
    ASSERT_TRUE(run_until_finished(bob, handle));
    EXPECT_TRUE(dropped_one);
    EXPECT_EQ(bob.final_code(handle), 200);
    const auto forwarded = datagrams(kPbxIp, kDeskIp, "INVITE");
    ASSERT_EQ(forwarded.size(), 2u);
    EXPECT_EQ(top_branch(forwarded[0]), top_branch(forwarded[1]));
    EXPECT_EQ(counters().auth_failures, 0u);
}

TEST_F(PbxTest, ChallengeReferAppliesToReferInsideTheDialog) {
    auto config = base_config();
    config.challenge_refer = true;
    start(config);
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& bob = add_agent(kBobIp, "bob-secret");
    ASSERT_EQ(register_agent(desk, "alice"), 200);
    const auto dialog = connect(bob, "sip:alice@pbx.test");
    ASSERT_TRUE(dialog.has_value());
    const auto refer = send_in_dialog(bob, *dialog, "REFER");
    ASSERT_TRUE(run_until_finished(bob, refer));
    EXPECT_EQ(bob.final_code(refer), 200);
    EXPECT_EQ(datagrams(kPbxIp, kBobIp, "SIP/2.0 407").size(), 1u);
    ASSERT_EQ(desk.requests_of("REFER").size(), 1u);
    EXPECT_FALSE(desk.requests_of("REFER")[0].has_header("Proxy-Authorization"));
}

TEST_F(PbxTest, RouteTableRewritesTheRequestUriByLongestPrefix) {
    auto config = base_config();
    config.routes = {
        {"+43", std::string(kGatewayIp) + ":5060", 0, ""},
        {"0", std::string(kGatewayIp) + ":5060", 1, "+43"},
        {"+431", "gw2.test:5070", 4, "01"},
    };
    start(config);
    net.add_name("gw2.test", kGatewayIp);
    auto& bob = add_agent(kBobIp);
    auto& gateway = add_agent(kGatewayIp);
    EngineConfig second_gateway_config;
    second_gateway_config.local_address = {kGatewayIp, 5070};
    second_gateway_config.seed = 77;
    UserAgent second_gateway(second_gateway_config);
    net.add_node(second_gateway);

    ASSERT_TRUE(connect(bob, "sip:+4366412345@pbx.test").has_value());
    ASSERT_TRUE(connect(bob, "sip:066412345@pbx.test").has_value());
    ASSERT_TRUE(connect(bob, "sip:+4315551234@pbx.test;user=phone").has_value());

    const auto invites = gateway.requests_of("INVITE");
    ASSERT_EQ(invites.size(), 2u);
    EXPECT_EQ(invites[0].request_uri.to_string(), "sip:+4366412345@127.0.0.9:5060");
    EXPECT_EQ(invites[1].request_uri.to_string(), "sip:+4366412345@127.0.0.9:5060");
    const auto vienna = second_gateway.requests_of("INVITE");
    ASSERT_EQ(vienna.size(), 1u);
    EXPECT_EQ(vienna[0].request_uri.to_string(), "sip:015551234@gw2.test:5070;user=phone");
    EXPECT_EQ(counters().calls_ok, 3u);

    // No route matches, and the user is not registered.
    const auto handle = invite(bob, "bob", "sip:+49301234@pbx.test");
    ASSERT_TRUE(run_until_finished(bob, handle));
    EXPECT_EQ(bob.final_code(handle), 404);
}

TEST_F(PbxTest, UnresolvableRouteDestinationGets503) {
    auto config = base_config();
    config.routes = {{"", "nowhere.test", 0, ""}};
    start(config);
    auto& bob = add_agent(kBobIp);
    const auto handle = invite(bob, "bob", "sip:123@pbx.test");
    ASSERT_TRUE(run_until_finished(bob, handle));
    EXPECT_EQ(bob.final_code(handle), 503);
    EXPECT_EQ(counters().requests_forwarded, 0u);
}

TEST_F(PbxTest, BadRouteIsReportedAsSetupError) {
    auto config = base_config();
    config.routes = {{"9", "[::1", 0, ""}};
    sim::Pbx broken(config);
    EXPECT_NE(broken.setup_error().find("route \"9\""), std::string::npos);
}

TEST_F(PbxTest, MaxForwardsZeroGets483AndOtherwiseIsDecremented) {
    auto config = base_config();
    config.routes = {{"+49", std::string(kDownstreamIp) + ":5060", 0, ""}};
    start(config);
    auto& caller = add_scripted(kScriptedIp, kScriptedPort);
    auto& downstream = add_scripted(kDownstreamIp, 5060);

    auto exhausted = scripted_request("INVITE", "sip:+49301234@pbx.test", "z9hG4bK-mf0");
    exhausted.set_header("Max-Forwards", "0");
    send_scripted(caller, exhausted);
    net.run_until(net.now_ms() + 100);
    auto answers = parsed(caller.received);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].status_code, 483);
    EXPECT_TRUE(downstream.received.empty());
    EXPECT_EQ(counters().too_many_hops, 1u);

    auto nearly = scripted_request("INVITE", "sip:+49301234@pbx.test", "z9hG4bK-mf5");
    nearly.set_header("Max-Forwards", "5");
    send_scripted(caller, nearly);
    net.run_until(net.now_ms() + 100);
    const auto forwarded = parsed(downstream.received);
    ASSERT_EQ(forwarded.size(), 1u);
    EXPECT_EQ(header_of(forwarded[0], "Max-Forwards"), "4");
}

TEST_F(PbxTest, StatelessForwardingKeepsTheBranchAndRoutesResponsesByReceivedAndRport) {
    auto config = base_config();
    config.routes = {{"+49", std::string(kDownstreamIp) + ":5060", 0, ""}};
    start(config);
    auto& caller = add_scripted(kScriptedIp, kScriptedPort);
    auto& downstream = add_scripted(kDownstreamIp, 5060);

    const auto invite_request = scripted_request("INVITE", "sip:+49301234@pbx.test", "z9hG4bKxyz");
    send_scripted(caller, invite_request);
    send_scripted(caller, invite_request);  // a retransmission: forwarded again
    auto cancel = scripted_request("CANCEL", "sip:+49301234@pbx.test", "z9hG4bKxyz");
    send_scripted(caller, cancel);
    auto other = scripted_request("INVITE", "sip:+49301234@pbx.test", "z9hG4bKother", 1, "call-2");
    send_scripted(caller, other);
    net.run_until(net.now_ms() + 100);

    const auto forwarded = parsed(downstream.received);
    ASSERT_EQ(forwarded.size(), 4u);
    const auto branch = top_branch(forwarded[0]);
    EXPECT_TRUE(branch.starts_with("z9hG4bK"));
    EXPECT_NE(branch, "z9hG4bKxyz");
    EXPECT_EQ(top_branch(forwarded[1]), branch);
    EXPECT_EQ(forwarded[2].method, "CANCEL");
    EXPECT_EQ(top_branch(forwarded[2]), branch);  // the CANCEL matches the INVITE downstream
    EXPECT_NE(top_branch(forwarded[3]), branch);
    EXPECT_FALSE(forwarded[2].has_header("Record-Route"));
    // The caller's Via now says where it really is.
    const auto vias = forwarded[0].vias();
    ASSERT_TRUE(vias.ok());
    ASSERT_EQ(vias->size(), 2u);
    const auto* received = find_parameter(vias->at(1).params, "received");
    const auto* rport = find_parameter(vias->at(1).params, "rport");
    ASSERT_TRUE(received != nullptr && rport != nullptr);
    EXPECT_EQ(received->value, kScriptedIp);
    EXPECT_EQ(rport->value, "5070");

    // The downstream's 180 goes to the received address and rport, minus our Via.
    auto ringing = make_response(forwarded[0], 180, "down-tag");
    downstream.send(kPbxPeer, ringing.to_bytes());
    // A response whose top Via is not the PBX's is dropped.
    auto stray = make_response(invite_request, 180, "down-tag");
    downstream.send(kPbxPeer, stray.to_bytes());
    net.flush();
    net.run_until(net.now_ms() + 100);
    const auto back = parsed(caller.received);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].status_code, 180);
    EXPECT_EQ(back[0].header_values("Via").size(), 1u);
    EXPECT_EQ(top_branch(back[0]), "z9hG4bKxyz");
    const auto seen = counters();
    EXPECT_EQ(seen.requests_forwarded, 4u);
    EXPECT_EQ(seen.responses_forwarded, 1u);
    EXPECT_EQ(seen.stray_responses_dropped, 1u);
}

TEST_F(PbxTest, LooseRouteBeyondThePbxIsFollowedAndLoopsAreRefused) {
    start(base_config());
    auto& caller = add_scripted(kScriptedIp, kScriptedPort);
    auto& downstream = add_scripted(kDownstreamIp, 5060);

    // Route: PBX, then the downstream proxy: the Request-URI stays as it is.
    auto routed = scripted_request("MESSAGE", "sip:dave@elsewhere.test", "z9hG4bK-lr");
    routed.add_header("Route", std::string("<sip:") + kDownstreamIp + ";lr>");
    send_scripted(caller, routed);
    net.run_until(net.now_ms() + 100);
    const auto forwarded = parsed(downstream.received);
    ASSERT_EQ(forwarded.size(), 1u);
    EXPECT_EQ(forwarded[0].request_uri.to_string(), "sip:dave@elsewhere.test");
    ASSERT_EQ(forwarded[0].header_values("Route").size(), 1u);
    EXPECT_EQ(header_of(forwarded[0], "Route"), "<sip:127.0.0.21;lr>");
    EXPECT_FALSE(forwarded[0].has_header("Record-Route"));  // MESSAGE makes no dialog

    // A strict router put our Record-Route into the Request-URI: the last Route is the target.
    auto strict = scripted_request("MESSAGE", "sip:127.0.0.10:5060;lr", "z9hG4bK-strict", 1, "s");
    strict.set_header("Route", std::string("<sip:dave@") + kDownstreamIp + ">");
    send_scripted(caller, strict);
    net.run_until(net.now_ms() + 100);
    const auto strict_forwarded = parsed(downstream.received);
    ASSERT_EQ(strict_forwarded.size(), 2u);
    EXPECT_EQ(strict_forwarded[1].request_uri.to_string(), "sip:dave@127.0.0.21");
    EXPECT_FALSE(strict_forwarded[1].has_header("Route"));

    // A registered contact that is the PBX itself would loop: 482.
    auto config = base_config();
    config.challenge_register = false;
    config.address.port = 5062;
    sim::Pbx open_pbx(config);
    net.add_node(open_pbx);
    const Peer open_peer{Transport::udp, {kPbxIp, 5062}};
    auto reg = scripted_request("REGISTER", "sip:pbx.test", "z9hG4bK-loopreg", 1, "loop");
    reg.remove_header("Route");
    reg.set_header("To", "<sip:alice@pbx.test>");
    reg.set_header("Contact", "<sip:alice@127.0.0.10:5062>");
    caller.send(open_peer, reg.to_bytes());
    auto call = scripted_request("INVITE", "sip:alice@pbx.test", "z9hG4bK-loop", 1, "loop-call");
    call.remove_header("Route");
    caller.send(open_peer, call.to_bytes());
    net.flush();
    net.run_until(net.now_ms() + 100);
    const auto answers = parsed(caller.received);
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0].status_code, 200);
    EXPECT_EQ(answers[1].status_code, 482);
}

TEST_F(PbxTest, OptionsToThePbxIsAnsweredAndMalformedInputDropped) {
    start();
    auto& caller = add_scripted(kScriptedIp, kScriptedPort);
    auto options = scripted_request("OPTIONS", "sip:pbx.test", "z9hG4bK-ping");
    options.remove_header("Route");
    send_scripted(caller, options);
    caller.send(kPbxPeer, "this is not SIP\r\n\r\n");
    net.flush();
    net.run_until(net.now_ms() + 100);
    const auto answers = parsed(caller.received);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].status_code, 200);
    EXPECT_NE(answers[0].header("Allow"), nullptr);  // arrived: rport sent it to the source
    EXPECT_EQ(counters().malformed_dropped, 1u);
}

// --------------------------------------------------------------------------------------------
// The misroute quirk

TEST_F(PbxTest, InDialogReferFollowsTheRouteSetWithoutTheQuirk) {
    start();
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& softphone = add_agent(kSoftphoneIp, "alice-secret");
    auto& bob = add_agent(kBobIp);
    ASSERT_EQ(register_agent(desk, "alice"), 200);
    const auto dialog = connect(bob, "sip:alice@pbx.test");
    ASSERT_TRUE(dialog.has_value());
    ASSERT_EQ(register_agent(softphone, "alice"), 200);  // now the newest binding

    const auto refer = send_in_dialog(bob, *dialog, "REFER");
    ASSERT_TRUE(run_until_finished(bob, refer));
    EXPECT_EQ(bob.final_code(refer), 200);
    ASSERT_EQ(desk.requests_of("REFER").size(), 1u);
    EXPECT_EQ(desk.requests_of("REFER")[0].request_uri.to_string(), "sip:alice@127.0.0.11:5060");
    EXPECT_TRUE(datagrams(kPbxIp, kSoftphoneIp, "REFER").empty());
}

TEST_F(PbxTest, MisrouteQuirkSendsInDialogReferToTheNewestRegistration) {
    auto config = base_config();
    config.quirk_misroute_in_dialog_refer = true;
    start(config);
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& softphone = add_agent(kSoftphoneIp, "alice-secret");
    auto& bob = add_agent(kBobIp);
    ASSERT_EQ(register_agent(desk, "alice"), 200);
    const auto dialog = connect(bob, "sip:alice@pbx.test");
    ASSERT_TRUE(dialog.has_value());
    ASSERT_EQ(register_agent(softphone, "alice"), 200);

    const auto refer = send_in_dialog(bob, *dialog, "REFER");
    ASSERT_TRUE(run_until_finished(bob, refer));
    // The softphone knows no such dialog.
    EXPECT_EQ(bob.final_code(refer), 481);
    EXPECT_TRUE(desk.requests_of("REFER").empty());
    const auto misrouted = datagrams(kPbxIp, kSoftphoneIp, "REFER");
    ASSERT_EQ(misrouted.size(), 1u);
    EXPECT_EQ(misrouted[0].request_uri.to_string(), "sip:alice@127.0.0.12:5060");

    // Other in-dialog requests are not affected: BYE still reaches the desk phone.
    const auto bye = send_in_dialog(bob, *dialog, "BYE");
    ASSERT_TRUE(run_until_finished(bob, bye));
    EXPECT_EQ(bob.final_code(bye), 200);
    EXPECT_EQ(datagrams(kPbxIp, kDeskIp, "BYE").size(), 1u);
}

TEST_F(PbxTest, MisrouteQuirkAnswers404WhenTheReferTargetIsNotRegistered) {
    auto config = base_config();
    config.quirk_misroute_in_dialog_refer = true;
    config.routes = {{"+43", std::string(kGatewayIp) + ":5060", 0, ""}};
    start(config);
    auto& bob = add_agent(kBobIp);
    auto& gateway = add_agent(kGatewayIp);
    const auto dialog = connect(bob, "sip:+4366412345@pbx.test");
    ASSERT_TRUE(dialog.has_value());

    const auto refer = send_in_dialog(bob, *dialog, "REFER");
    ASSERT_TRUE(run_until_finished(bob, refer));
    EXPECT_EQ(bob.final_code(refer), 404);
    EXPECT_TRUE(gateway.requests_of("REFER").empty());
    EXPECT_EQ(counters().not_found, 1u);
}

// --------------------------------------------------------------------------------------------
// Faulty network

TEST_F(PbxTest, CallThroughADuplicatingLossyNetworkIsCountedOnce) {
    auto config = base_config();
    config.challenge_invite = true;
    start(config);
    auto& desk = add_agent(kDeskIp, "alice-secret");
    auto& bob = add_agent(kBobIp, "bob-secret");
    ASSERT_EQ(register_agent(desk, "alice"), 200);
    net.set_default_conditions(
        {.latency_ms = 5, .jitter_ms = 20, .loss = 0.15, .duplication = 0.5});
    const auto handle = invite(bob, "bob", "sip:alice@pbx.test");
    ASSERT_TRUE(run_until_finished(bob, handle));
    EXPECT_EQ(bob.final_code(handle), 200);
    net.run_until(net.now_ms() + 40'000);  // let every retransmission play out
    const auto seen = counters();
    EXPECT_EQ(seen.calls_ok, 1u);
    EXPECT_EQ(seen.calls_failed, 0u);
    EXPECT_EQ(seen.auth_failures, 0u);
    EXPECT_GT(seen.requests_received, 3u);
    EXPECT_EQ(desk.requests_of("INVITE").size(), 1u);  // the desk's engine absorbed copies
}

TEST_F(PbxTest, SameSeedSameTrace) {
    const auto run = [](std::uint64_t seed) {
        sim::VirtualNetwork network(3);
        auto config = base_config();
        config.seed = seed;
        sim::Pbx local_pbx(config);
        network.add_node(local_pbx);
        EngineConfig desk_config;
        desk_config.local_address = {kDeskIp, 5060};
        desk_config.outbound_proxy = std::string(kPbxIp) + ":5060";
        desk_config.password = "alice-secret";
        UserAgent desk(desk_config);
        network.add_node(desk);
        OutgoingRequest request;
        request.method = "REGISTER";
        request.request_uri = *parse_uri("sip:pbx.test");
        request.from = *parse_name_addr("<sip:alice@pbx.test>");
        request.to = request.from;
        desk.engine.send_request(0, request);
        network.run_until(5000);
        std::string trace;
        for (const auto& entry : network.trace()) trace += entry.bytes;
        return trace;
    };
    EXPECT_EQ(run(5), run(5));
    EXPECT_NE(run(5), run(6));  // other nonces
    EXPECT_NE(first_line(run(5)), "");
}

}  // namespace
}  // namespace sipcc
