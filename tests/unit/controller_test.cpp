// Click-to-dial against a scripted phone (an engine the test drives step by
// step) on the virtual network: the exact messages and state/cause sequences.
#include <gtest/gtest.h>

#include "core/auth/digest_server.hpp"
#include "core/message/parser.hpp"
#include "simulator/controller_node.hpp"
#include "simulator/engine_node.hpp"
#include "simulator/virtual_network.hpp"

namespace sipcc {
namespace {

using S = CallState;
using C = DisconnectCause;

ControllerConfig controller_config() {
    ControllerConfig config;
    config.domain = "pbx.test";
    config.user = "c2d";
    config.password = "secret";
    config.mode = ClickToDialMode::direct;  // straight to the scripted phone
    config.outbound_proxy = "127.0.0.2:5060";
    config.dialing_rules.country_code = "43";
    config.dialing_rules.area_code = "1";
    config.caller_answer_timeout_ms = 30000;
    config.engine.local_address = {"127.0.0.1", 5060};
    config.engine.seed = 11;
    return config;
}

EngineConfig phone_config() {
    EngineConfig config;
    config.local_address = {"127.0.0.2", 5060};
    config.seed = 22;
    return config;
}

class ClickToDial : public ::testing::Test {
protected:
    sim::VirtualNetwork net{3};
    std::unique_ptr<sim::ControllerNode> ctl;
    sim::EngineNode phone{phone_config()};
    std::optional<IncomingRequestEvent> invite;  // what the phone got
    std::optional<IncomingRequestEvent> refer;

    void SetUp() override { start(controller_config()); }

    void start(ControllerConfig config) {
        auto controller = Controller::create(std::move(config));
        ASSERT_TRUE(controller) << controller.error();
        ctl = std::make_unique<sim::ControllerNode>(std::move(controller).value());
        net = sim::VirtualNetwork(3);
        net.add_node(*ctl);
        net.add_node(phone);
        net.set_default_conditions({.latency_ms = 5});
    }

    CallId dial(const std::string& number = "+43 (1) 505641") {
        auto call = ctl->controller.click_to_dial(net.now_ms(), number);
        EXPECT_TRUE(call) << call.error();
        net.flush();
        return call ? *call : 0;
    }

    // Runs until the phone has a request of `method`, and returns it.
    std::optional<IncomingRequestEvent> phone_gets(const std::string& method,
                                                   std::uint64_t within_ms = 1000) {
        std::optional<IncomingRequestEvent> found;
        net.run_until(
            [&] {
                for (auto& event : phone.take<IncomingRequestEvent>()) {
                    if (!found && event.request.method == method) {
                        found = std::move(event);
                    } else {
                        pending.push_back(std::move(event));
                    }
                }
                return found.has_value();
            },
            net.now_ms() + within_ms);
        return found;
    }
    std::vector<IncomingRequestEvent> pending;  // other requests seen meanwhile

    void phone_answers(const IncomingRequestEvent& request, int code,
                       std::vector<Header> headers = {}) {
        phone.engine.respond(net.now_ms(), request.id, code, std::move(headers));
        net.flush();
    }

    void phone_notifies(const std::string& sipfrag, bool terminated) {
        ASSERT_TRUE(refer && refer->dialog);
        phone.engine.send_in_dialog(
            net.now_ms(), *refer->dialog,
            {"NOTIFY",
             {{"Event", "refer"},
              {"Subscription-State",
               terminated ? "terminated;reason=noresource" : "active;expires=60"}},
             sipfrag,
             "message/sipfrag;version=2.0"});
        net.flush();
    }

    // The phone rings and answers; returns the REFER it then gets.
    void ring_and_answer() {
        invite = phone_gets("INVITE");
        ASSERT_TRUE(invite);
        phone_answers(*invite, 180);
        net.run_until(net.now_ms() + 20);
        phone_answers(*invite, 200);
        refer = phone_gets("REFER");
        ASSERT_TRUE(refer);
    }

    void settle(std::uint64_t ms = 100) { net.run_until(net.now_ms() + ms); }

    // Runs until the controller's BYE has reached the phone (its engine answers it).
    bool phone_gets_bye(std::uint64_t within_ms = 1000) {
        return net.run_until(
            [&] {
                for (const auto& ended : phone.events_of<DialogTerminatedEvent>()) {
                    if (ended.cause == DialogEndCause::bye_received) return true;
                }
                return false;
            },
            net.now_ms() + within_ms);
    }

    std::vector<S> states(CallId call) { return ctl->states_of(call); }
    const CallEvent& last_event() {
        ctl->drain();
        return ctl->call_events.back();
    }
    // Start lines the controller sent, in order.
    std::vector<std::string> controller_sent() {
        std::vector<std::string> lines;
        for (const auto& entry : net.trace()) {
            if (entry.from.address.ip == "127.0.0.1") {
                lines.push_back(entry.bytes.substr(0, entry.bytes.find("\r\n")));
            }
        }
        return lines;
    }
    int controller_sent_count(const std::string& prefix) {
        int count = 0;
        for (const auto& line : controller_sent()) count += line.rfind(prefix, 0) == 0;
        return count;
    }
    // Responses the controller gave to NOTIFYs (and other requests), in order.
    std::vector<int> controller_response_codes() {
        std::vector<int> codes;
        for (const auto& line : controller_sent()) {
            if (line.rfind("SIP/2.0 ", 0) == 0) codes.push_back(std::stoi(line.substr(8, 3)));
        }
        return codes;
    }
};

TEST_F(ClickToDial, CalleeAnswersTheWholeFlow) {
    const auto call = dial();
    ring_and_answer();

    // The INVITE: black-hole offer and auto-answer hints.
    const auto& inv = invite->request;
    EXPECT_EQ(inv.request_uri.to_string(), "sip:c2d@127.0.0.2:5060");
    EXPECT_EQ(inv.from()->display_name, "Click to Dial");
    EXPECT_EQ(inv.from()->uri.to_string(), "sip:c2d@pbx.test");
    EXPECT_EQ(*inv.header("Call-Info"), "<sip:pbx.test>;answer-after=0");
    EXPECT_EQ(*inv.header("Alert-Info"), "<sip:pbx.test>;info=alert-autoanswer");
    EXPECT_EQ(*inv.header("Answer-Mode"), "Auto");
    EXPECT_EQ(*inv.header("Subject"), "Call to +43 (1) 505641");
    EXPECT_NE(inv.body.find("c=IN IP4 0.0.0.0\r\n"), std::string::npos);
    EXPECT_NE(inv.body.find("a=inactive\r\n"), std::string::npos);
    EXPECT_FALSE(inv.has_header("Route")) << "direct mode pre-routes nothing";

    // The REFER: normalized target, Referred-By is us.
    EXPECT_EQ(*refer->request.header("Refer-To"), "<sip:+431505641@pbx.test;user=phone>");
    EXPECT_EQ(*refer->request.header("Referred-By"), "<sip:c2d@pbx.test>");
    EXPECT_FALSE(refer->request.has_header("Refer-Sub"));

    phone_answers(*refer, 202);
    phone_notifies("SIP/2.0 100 Trying\r\n", false);
    settle(20);
    phone_notifies("SIP/2.0 180 Ringing\r\n", false);
    settle(20);
    phone_notifies("SIP/2.0 200 OK\r\n", true);
    ASSERT_TRUE(phone_gets_bye()) << "our leg ends after success";
    settle();

    EXPECT_EQ(states(call), (std::vector<S>{S::dialing, S::proceeding, S::ringback, S::connected,
                                            S::transferring, S::callee_ringing,
                                            S::transferred}));
    EXPECT_EQ(last_event().cause, C::none);
    EXPECT_EQ(last_event().sip_code, 200);
    EXPECT_EQ(controller_response_codes(), (std::vector<int>{200, 200, 200}));
    EXPECT_EQ(controller_sent(),
              (std::vector<std::string>{"INVITE sip:c2d@127.0.0.2:5060 SIP/2.0",
                                        "ACK sip:c2d@127.0.0.2:5060 SIP/2.0",
                                        "REFER sip:c2d@127.0.0.2:5060 SIP/2.0", "SIP/2.0 200 OK",
                                        "SIP/2.0 200 OK", "SIP/2.0 200 OK",
                                        "BYE sip:c2d@127.0.0.2:5060 SIP/2.0"}));
    EXPECT_EQ(ctl->controller.active_calls(), 0u);
}

TEST_F(ClickToDial, PhoneDoesNotPickUpAndTheUserDrops) {
    const auto call = dial();
    invite = phone_gets("INVITE");
    phone_answers(*invite, 180);
    settle(1000);
    ASSERT_TRUE(ctl->controller.drop(net.now_ms(), call));
    net.flush();
    settle(200);
    EXPECT_EQ(controller_sent_count("CANCEL "), 1);
    EXPECT_EQ(states(call),
              (std::vector<S>{S::dialing, S::proceeding, S::ringback, S::disconnected}));
    EXPECT_EQ(last_event().cause, C::cancelled_by_user);
    EXPECT_EQ(last_event().sip_code, 487);
    EXPECT_FALSE(ctl->controller.drop(net.now_ms(), call)) << "already over";
}

TEST_F(ClickToDial, CallerNoAnswerTimerCancels) {
    const auto call = dial();
    invite = phone_gets("INVITE");
    phone_answers(*invite, 180);
    settle(31000);
    EXPECT_EQ(controller_sent_count("CANCEL "), 1);
    EXPECT_EQ(last_event().state, S::disconnected);
    EXPECT_EQ(last_event().cause, C::caller_no_answer);
    EXPECT_EQ(last_event().at_ms, 30000u + 10u) << "CANCEL at 30 s, 487 back 10 ms later";
    (void)call;
}

struct PhoneRejects {
    int code;
    DisconnectCause cause;
};

class ClickToDialPhoneRejects : public ClickToDial,
                                public ::testing::WithParamInterface<PhoneRejects> {};

TEST_P(ClickToDialPhoneRejects, CauseFollowsTheCode) {
    const auto call = dial();
    invite = phone_gets("INVITE");
    phone_answers(*invite, GetParam().code);
    settle();
    EXPECT_EQ(states(call), (std::vector<S>{S::dialing, S::proceeding, S::disconnected}));
    EXPECT_EQ(last_event().cause, GetParam().cause);
    EXPECT_EQ(last_event().sip_code, GetParam().code);
    EXPECT_EQ(controller_sent_count("REFER"), 0);
    EXPECT_EQ(controller_sent_count("ACK"), 1) << "the transaction ACKs the failure";
}

INSTANTIATE_TEST_SUITE_P(Codes, ClickToDialPhoneRejects,
                         ::testing::Values(PhoneRejects{486, C::caller_busy},
                                           PhoneRejects{600, C::caller_busy},
                                           PhoneRejects{603, C::caller_rejected},
                                           PhoneRejects{404, C::caller_rejected},
                                           PhoneRejects{403, C::caller_rejected},
                                           PhoneRejects{480, C::caller_no_answer}));

TEST_F(ClickToDial, PhoneAnswersThenHangsUpBeforeTheRefer) {
    const auto call = dial();
    ring_and_answer();
    // The phone hangs up instead of answering the REFER.
    ASSERT_NE(phone.engine.send_in_dialog(net.now_ms(), *refer->dialog, {"BYE", {}, {}, {}}), 0u);
    net.flush();
    settle();
    EXPECT_EQ(states(call).back(), S::disconnected);
    EXPECT_EQ(last_event().cause, C::caller_hung_up);
    EXPECT_EQ(controller_sent_count("BYE"), 0) << "the phone already ended our leg";
}

TEST_F(ClickToDial, ReferRejectedWith405EndsOurLeg) {
    const auto call = dial();
    ring_and_answer();
    phone_answers(*refer, 405);
    ASSERT_TRUE(phone_gets_bye());
    EXPECT_EQ(states(call).back(), S::disconnected);
    EXPECT_EQ(last_event().cause, C::refer_not_supported);
    EXPECT_EQ(last_event().sip_code, 405);
}

TEST_F(ClickToDial, NotifyBeforeThe202IsHandled) {
    const auto call = dial();
    ring_and_answer();
    phone_notifies("SIP/2.0 100 Trying\r\n", false);  // NOTIFY overtakes the 202
    settle(20);
    EXPECT_EQ(states(call).back(), S::transferring);
    phone_answers(*refer, 202);
    settle(20);
    phone_notifies("SIP/2.0 200 OK\r\n", true);
    ASSERT_TRUE(phone_gets_bye());
    EXPECT_EQ(states(call), (std::vector<S>{S::dialing, S::proceeding, S::ringback, S::connected,
                                            S::transferring, S::transferred}));
}

TEST_F(ClickToDial, ReferChallengedWith407IsAnswered) {
    const auto call = dial();
    ring_and_answer();
    std::mt19937_64 random(5);
    auto server = auth::DigestServer::create({.realm = "phone.test"}, [&] { return random(); });
    phone_answers(*refer, 407, {{"Proxy-Authenticate", server->make_challenge(net.now_ms(), false)}});
    auto second = phone_gets("REFER");
    ASSERT_TRUE(second);
    const auto* credentials = second->request.header("Proxy-Authorization");
    ASSERT_NE(credentials, nullptr);
    auto verdict = server->verify(
        *credentials, "REFER", "",
        [](std::string_view user) -> std::optional<std::string> {
            return user == "c2d" ? std::optional<std::string>("secret") : std::nullopt;
        },
        net.now_ms());
    EXPECT_TRUE(verdict.ok()) << auth::to_string(verdict.status) << " " << verdict.detail;
    EXPECT_EQ(second->request.cseq()->number, refer->request.cseq()->number + 1);
    refer = second;
    phone_answers(*refer, 202);
    phone_notifies("SIP/2.0 200 OK\r\n", true);
    ASSERT_TRUE(phone_gets_bye());
    EXPECT_EQ(states(call).back(), S::transferred);
}

struct CalleeFails {
    std::string sipfrag;
    int code;
    DisconnectCause cause;
};

class ClickToDialCalleeFails : public ClickToDial,
                               public ::testing::WithParamInterface<CalleeFails> {};

TEST_P(ClickToDialCalleeFails, SipfragFailureIsReportedAndOurLegEnds) {
    const auto call = dial();
    ring_and_answer();
    phone_answers(*refer, 202);
    phone_notifies("SIP/2.0 100 Trying\r\n", false);
    settle(20);
    phone_notifies(GetParam().sipfrag, true);
    ASSERT_TRUE(phone_gets_bye());
    EXPECT_EQ(states(call).back(), S::disconnected);
    EXPECT_EQ(last_event().cause, GetParam().cause);
    EXPECT_EQ(last_event().sip_code, GetParam().code);
    for (auto state : states(call)) EXPECT_NE(state, S::transferred) << "never success on failure";
}

INSTANTIATE_TEST_SUITE_P(
    Sipfrags, ClickToDialCalleeFails,
    ::testing::Values(CalleeFails{"SIP/2.0 486 Busy Here\r\n", 486, C::callee_busy},
                      CalleeFails{"SIP/2.0 603 Decline\r\n", 603, C::callee_rejected},
                      CalleeFails{"SIP/2.0 480 Temporarily Unavailable\r\n", 480,
                                  C::callee_no_answer},
                      CalleeFails{"SIP/2.0 408 Request Timeout\r\n", 408, C::callee_no_answer},
                      CalleeFails{"SIP/2.0 404 Not Found\r\n", 404, C::callee_failure},
                      CalleeFails{"SIP/2.0 503 Service Unavailable\r\n", 503,
                                  C::callee_failure}));

TEST_F(ClickToDial, NoNotifyAtAllTimesOut) {
    const auto call = dial();
    ring_and_answer();
    const auto refer_sent_at = net.now_ms() - 5;  // it arrived 5 ms after sending
    phone_answers(*refer, 202);
    settle(40000);
    EXPECT_EQ(states(call).back(), S::disconnected);
    EXPECT_EQ(last_event().cause, C::notify_timeout);
    EXPECT_EQ(last_event().at_ms, refer_sent_at + 32000);
    EXPECT_EQ(controller_sent_count("BYE"), 1);
}

TEST_F(ClickToDial, SubscriptionTerminatedWithoutFinalSipfragIsOutcomeUnknown) {
    const auto call = dial();
    ring_and_answer();
    phone_answers(*refer, 202);
    phone_notifies("SIP/2.0 100 Trying\r\n", true);
    ASSERT_TRUE(phone_gets_bye());
    EXPECT_EQ(last_event().cause, C::transfer_outcome_unknown);
    (void)call;
}

TEST_F(ClickToDial, ReferSubFalseHonouredMeansNoNotifyIsAwaited) {
    auto config = controller_config();
    config.refer_sub_false = true;
    start(config);
    const auto call = dial();
    ring_and_answer();
    EXPECT_EQ(*refer->request.header("Refer-Sub"), "false");
    EXPECT_EQ(*invite->request.header("Supported"), "replaces, norefersub");
    phone_answers(*refer, 202, {{"Refer-Sub", "false"}});
    ASSERT_TRUE(phone_gets_bye());
    EXPECT_EQ(states(call).back(), S::transferred);
}

TEST_F(ClickToDial, ReferSubFalseNotHonouredFollowsTheNotifies) {
    auto config = controller_config();
    config.refer_sub_false = true;
    start(config);
    const auto call = dial();
    ring_and_answer();
    phone_answers(*refer, 202);  // no Refer-Sub: false in the answer
    settle(20);
    EXPECT_EQ(states(call).back(), S::transferring);
    phone_notifies("SIP/2.0 486 Busy Here\r\n", true);
    ASSERT_TRUE(phone_gets_bye());
    EXPECT_EQ(last_event().cause, C::callee_busy);
}

TEST_F(ClickToDial, FinalNotifyOvertakingTheRingingOneKeepsSuccess) {
    const auto call = dial();
    ring_and_answer();
    phone_answers(*refer, 202);
    phone_notifies("SIP/2.0 200 OK\r\n", true);
    settle(1);
    phone_notifies("SIP/2.0 180 Ringing\r\n", false);  // overtaken by the final one
    settle();
    EXPECT_EQ(states(call).back(), S::transferred);
    EXPECT_EQ(controller_response_codes().size(), 2u) << "the late NOTIFY is answered too";
}

TEST_F(ClickToDial, PhoneByeBeforeTheFinalNotifyStillGetsTheOutcome) {
    const auto call = dial();
    ring_and_answer();
    phone_answers(*refer, 202);
    // The phone drops our leg as soon as it starts the new call (RFC 5057: the
    // subscription outlives the INVITE usage).
    phone.engine.keep_dialog_for_subscription(*refer->dialog, true);
    phone.engine.send_in_dialog(net.now_ms(), *refer->dialog, {"BYE", {}, {}, {}});
    net.flush();
    settle(20);
    EXPECT_EQ(states(call).back(), S::transferring);
    phone_notifies("SIP/2.0 200 OK\r\n", true);
    settle();
    EXPECT_EQ(states(call).back(), S::transferred);
    EXPECT_EQ(controller_response_codes(), (std::vector<int>{200, 200})) << "BYE, then NOTIFY";
    EXPECT_EQ(controller_sent_count("BYE"), 0);
}

TEST_F(ClickToDial, NotifyWithoutEventOrWithAnotherPackageIsRefused) {
    dial();
    ring_and_answer();
    phone_answers(*refer, 202);
    phone.engine.send_in_dialog(net.now_ms(), *refer->dialog,
                                {"NOTIFY", {{"Subscription-State", "active"}}, {}, {}});
    net.flush();
    settle(20);
    phone.engine.send_in_dialog(net.now_ms(), *refer->dialog,
                                {"NOTIFY", {{"Event", "presence"}}, {}, {}});
    net.flush();
    settle(20);
    EXPECT_EQ(controller_response_codes(), (std::vector<int>{400, 489}));
}

TEST_F(ClickToDial, BadNumberStartsNothing) {
    auto call = ctl->controller.click_to_dial(0, "12x4");
    ASSERT_FALSE(call);
    EXPECT_NE(call.error().find("unexpected character 'x'"), std::string::npos) << call.error();
    net.flush();
    EXPECT_TRUE(net.trace().empty());
}

TEST_F(ClickToDial, TwoCallsAtOnceAreIndependent) {
    const auto first = dial("4000");
    const auto second = dial("+49 (0)30 1234");
    auto invite_one = phone_gets("INVITE");
    auto invite_two = phone_gets("INVITE");
    ASSERT_TRUE(invite_one && invite_two);
    phone_answers(*invite_one, 486);
    phone_answers(*invite_two, 200);
    refer = phone_gets("REFER");
    ASSERT_TRUE(refer);
    EXPECT_EQ(*refer->request.header("Refer-To"), "<sip:+49301234@pbx.test;user=phone>");
    phone_answers(*refer, 202);
    phone_notifies("SIP/2.0 200 OK\r\n", true);
    settle();
    EXPECT_EQ(ctl->controller.call(first)->cause, C::caller_busy);
    EXPECT_EQ(ctl->controller.call(second)->state, S::transferred);
}

TEST_F(ClickToDial, FinishedCallsAreForgottenBeyondTheHistoryLimit) {
    auto config = controller_config();
    config.max_finished_calls = 1;
    start(config);
    const auto first = dial();
    const auto second = dial();
    for (int i = 0; i < 2; ++i) {
        auto next = phone_gets("INVITE");
        ASSERT_TRUE(next);
        phone_answers(*next, 486);
    }
    settle(40000);  // past Timer M / K: every transaction is gone
    EXPECT_EQ(ctl->controller.call(first), nullptr) << "the oldest finished call is forgotten";
    ASSERT_NE(ctl->controller.call(second), nullptr);
    EXPECT_EQ(ctl->controller.call(second)->cause, C::caller_busy);
    EXPECT_EQ(ctl->controller.engine().active_requests(), 0u) << "finished requests are released";
    EXPECT_EQ(ctl->controller.engine().active_transactions(), 0u);
}

TEST_F(ClickToDial, DomainWithAPortIsTheRequestUriHostAndPort) {
    auto config = controller_config();
    config.mode = ClickToDialMode::refer;
    config.outbound_proxy.reset();
    config.domain = "127.0.0.2:5060";  // the "PBX" is the phone here
    start(config);
    dial();
    invite = phone_gets("INVITE");
    ASSERT_TRUE(invite) << "no name lookup of \"127.0.0.2:5060\"";
    EXPECT_EQ(invite->request.request_uri.to_string(), "sip:c2d@127.0.0.2:5060");
    EXPECT_EQ(invite->request.from()->uri.to_string(), "sip:c2d@127.0.0.2:5060");
}

TEST_F(ClickToDial, SendFailureEndsTheCallAtOnce) {
    const auto call = dial();
    ctl->controller.handle_send_failed(net.now_ms(), {Transport::udp, {"127.0.0.2", 5060}},
                                       "connection refused");
    EXPECT_EQ(ctl->controller.call(call)->state, S::disconnected);
    EXPECT_EQ(ctl->controller.call(call)->cause, C::network_unreachable);
    EXPECT_NE(last_event().detail.find("connection refused"), std::string::npos) << last_event().detail;
}

TEST(ControllerConfig, BadConfigNamesTheKey) {
    auto config = controller_config();
    config.domain.clear();
    EXPECT_EQ(Controller::create(config).error(), "config: domain is required");
    config = controller_config();
    config.outbound_proxy = "bad:port:x:";
    EXPECT_NE(Controller::create(config).error().find("outbound_proxy"), std::string::npos);
    config = controller_config();
    config.domain = "pbx.test:port";
    EXPECT_EQ(Controller::create(config).error(),
              "config: domain \"pbx.test:port\" is not host[:port]");
    config = controller_config();
    config.outbound_proxy.reset();
    EXPECT_EQ(Controller::create(config).error(),
              "config: mode direct needs outbound_proxy (the phone's address)");
}

}  // namespace
}  // namespace sipcc
