// The simulated phone on the virtual network: an engine plays the click-to-dial
// controller (INVITE the user's phone, REFER it to the callee, answer the
// NOTIFYs), a second phone plays the callee. Virtual clock, real wire bytes.
#include "simulator/phone.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "core/message/parser.hpp"
#include "simulator/engine_node.hpp"
#include "simulator/virtual_network.hpp"

namespace sipcc {
namespace {

constexpr const char* kControllerIp = "127.0.0.1";
constexpr const char* kPhoneIp = "127.0.0.2";
constexpr const char* kCalleeIp = "127.0.0.3";
constexpr std::uint64_t kLatencyMs = 5;

EngineConfig engine_config(const std::string& ip, std::uint64_t seed) {
    EngineConfig config;
    config.local_address = {ip, 5060};
    config.seed = seed;
    return config;
}

std::string first_line(const std::string& bytes) {
    return bytes.substr(0, bytes.find("\r\n"));
}

// The controller: an engine that answers every request it gets (NOTIFY with
// `notify_answer_code`, anything else 200) and keeps the NOTIFYs in order.
class Controller : public sim::EngineNode {
public:
    using EngineNode::EngineNode;

    int notify_answer_code = 200;
    std::vector<Message> notifies;

    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override {
        EngineNode::on_datagram(now_ms, bytes, source);
        answer_requests(now_ms);
    }
    void on_timeout(std::uint64_t now_ms) override {
        EngineNode::on_timeout(now_ms);
        answer_requests(now_ms);
    }

    // The final response to one of our requests, 0 while there is none.
    int final_code(RequestHandle request) {
        for (const auto& event : events_of<ResponseEvent>()) {
            if (event.request == request && event.response.status_code >= 200) {
                return event.response.status_code;
            }
        }
        return 0;
    }
    const ResponseEvent* final_response(RequestHandle request) {
        drain_events();
        for (const auto& event : events) {
            const auto* response = std::get_if<ResponseEvent>(&event.payload);
            if (response && response->request == request && response->response.status_code >= 200) {
                return response;
            }
        }
        return nullptr;
    }
    bool failed(RequestHandle request, FailureCause cause) {
        for (const auto& event : events_of<RequestFailedEvent>()) {
            if (event.request == request && event.cause == cause) return true;
        }
        return false;
    }
    [[nodiscard]] bool has_final_notify() const {
        for (const auto& notify : notifies) {
            const auto* state = notify.header("Subscription-State");
            if (state != nullptr && state->rfind("terminated", 0) == 0) return true;
        }
        return false;
    }

private:
    void answer_requests(std::uint64_t now_ms) {
        drain_events();
        for (; answered_ < events.size(); ++answered_) {
            const auto* incoming = std::get_if<IncomingRequestEvent>(&events[answered_].payload);
            if (incoming == nullptr) continue;
            const bool is_notify = incoming->request.method == "NOTIFY";
            if (is_notify) notifies.push_back(incoming->request);
            engine.respond(now_ms, incoming->id, is_notify ? notify_answer_code : 200);
        }
    }
    std::size_t answered_ = 0;
};

sim::PhoneBehavior quick_callee() {
    sim::PhoneBehavior behavior;
    behavior.answer_after_ms = 1000;
    return behavior;
}

class PhoneTest : public ::testing::Test {
protected:
    sim::VirtualNetwork net{7};
    std::unique_ptr<Controller> controller_node;
    Controller& controller() { return *controller_node; }
    std::unique_ptr<sim::Phone> phone;   // the user's phone, called by the controller
    std::unique_ptr<sim::Phone> callee;  // the party the phone is told to call

    PhoneTest() { net.set_default_conditions({.latency_ms = kLatencyMs}); }

    // The controller answers digest challenges with `controller_password`.
    void start(sim::PhoneBehavior phone_behavior,
               sim::PhoneBehavior callee_behavior = quick_callee(),
               std::string controller_password = {}) {
        auto controller_config = engine_config(kControllerIp, 1);
        controller_config.password = std::move(controller_password);
        controller_node = std::make_unique<Controller>(std::move(controller_config));
        net.add_node(*controller_node);
        sim::PhoneConfig phone_config;
        phone_config.user = "alice";
        phone_config.engine = engine_config(kPhoneIp, 2);
        phone_config.behavior = std::move(phone_behavior);
        phone = std::make_unique<sim::Phone>(std::move(phone_config));
        sim::PhoneConfig callee_config;
        callee_config.user = "bob";
        callee_config.engine = engine_config(kCalleeIp, 3);
        callee_config.behavior = std::move(callee_behavior);
        callee = std::make_unique<sim::Phone>(std::move(callee_config));
        net.add_node(*phone);
        net.add_node(*callee);
    }

    // The controller calls the phone (3pcc style: no SDP offer).
    RequestHandle invite_phone() {
        OutgoingRequest invite;
        invite.method = "INVITE";
        invite.request_uri = *parse_uri(std::string("sip:alice@") + kPhoneIp);
        invite.from = *parse_name_addr(std::string("<sip:ctd@") + kControllerIp + ">");
        invite.to = *parse_name_addr(std::string("<sip:alice@") + kPhoneIp + ">");
        const auto handle = controller().engine.send_request(net.now_ms(), std::move(invite));
        net.flush();
        return handle;
    }

    // Calls the phone and runs until it answers; the controller's dialog.
    DialogId connect_phone() {
        const auto invite = invite_phone();
        EXPECT_TRUE(net.run_until([&] { return controller().final_code(invite) != 0; }, 60'000));
        const auto* response = controller().final_response(invite);
        if (response == nullptr || response->response.status_code != 200 || !response->dialog) {
            ADD_FAILURE() << "the phone did not answer 200";
            return 0;
        }
        return *response->dialog;
    }

    RequestHandle refer(DialogId dialog,
                        std::string refer_to = std::string("<sip:bob@") + kCalleeIp + ">",
                        std::vector<Header> extra = {}) {
        InDialogRequest request;
        request.method = "REFER";
        request.headers.push_back({"Refer-To", std::move(refer_to)});
        request.headers.push_back({"Referred-By", std::string("<sip:ctd@") + kControllerIp + ">"});
        for (auto& header : extra) request.headers.push_back(std::move(header));
        const auto handle = controller().engine.send_in_dialog(net.now_ms(), dialog, request);
        net.flush();
        return handle;
    }

    // NOTIFY bodies the controller received, without the line end.
    std::vector<std::string> sipfrags() const {
        std::vector<std::string> out;
        for (const auto& notify : controller_node->notifies) out.push_back(first_line(notify.body));
        return out;
    }

    // Start lines (with send times) of every datagram `ip` sent.
    std::vector<std::pair<std::uint64_t, std::string>> sent_by(const std::string& ip) const {
        std::vector<std::pair<std::uint64_t, std::string>> out;
        for (const auto& entry : net.trace()) {
            if (entry.from.address.ip == ip && !entry.duplicate) {
                out.emplace_back(entry.sent_ms, first_line(entry.bytes));
            }
        }
        return out;
    }
    std::vector<std::string> lines_sent_by(const std::string& ip) const {
        std::vector<std::string> out;
        for (const auto& [time, line] : sent_by(ip)) out.push_back(line);
        return out;
    }
    // When `ip` first sent a datagram starting with `line`.
    std::optional<std::uint64_t> first_sent(const std::string& ip, const std::string& line) const {
        for (const auto& [time, sent] : sent_by(ip)) {
            if (sent.rfind(line, 0) == 0) return time;
        }
        return std::nullopt;
    }
};

TEST_F(PhoneTest, ClickToDialEndToEnd) {
    start({});
    const auto dialog = connect_phone();
    ASSERT_NE(dialog, 0u);
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::talking_to_caller);

    // URI headers and method= must not reach the callee.
    const auto refer_request = refer(
        dialog, std::string("<sip:bob@") + kCalleeIp + ";method=INVITE?Subject=click-to-dial>");
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    EXPECT_EQ(controller().final_code(refer_request), 202);

    EXPECT_EQ(sipfrags(), (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 180 Ringing",
                                                    "SIP/2.0 200 OK"}));
    ASSERT_EQ(controller().notifies.size(), 3u);
    for (std::size_t i = 0; i < controller().notifies.size(); ++i) {
        const auto& notify = controller().notifies[i];
        EXPECT_EQ(*notify.header("Event"), "refer");
        EXPECT_EQ(*notify.header("Content-Type"), "message/sipfrag;version=2.0");
        EXPECT_EQ(*notify.header("Subscription-State"), i + 1 < controller().notifies.size()
                                                            ? "active;expires=60"
                                                            : "terminated;reason=noresource");
    }

    const auto invites = callee->received("INVITE");
    ASSERT_EQ(invites.size(), 1u);
    EXPECT_EQ(invites[0].request_uri, std::string("sip:bob@") + kCalleeIp);
    ASSERT_NE(invites[0].header("Referred-By"), nullptr);
    EXPECT_EQ(*invites[0].header("Referred-By"), std::string("<sip:ctd@") + kControllerIp + ">");
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::talking_to_callee);
    EXPECT_EQ(callee->activity(), sim::PhoneActivity::talking_to_caller);
    ASSERT_EQ(phone->transfers().size(), 1u);
    EXPECT_EQ(phone->transfers()[0].final_status_code, 200);
    EXPECT_EQ(phone->counters().notifies_sent, 3u);

    // The controller leaves; the transferred call stays up.
    const auto bye = controller().engine.send_in_dialog(net.now_ms(), dialog, {"BYE", {}, {}, {}});
    net.flush();
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(bye) != 0; }, 10'000));
    EXPECT_EQ(controller().final_code(bye), 200);
    net.run_until(net.now_ms() + 40'000);
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::talking_to_callee);
    EXPECT_EQ(phone->active_calls(), 1u);
    EXPECT_EQ(callee->activity(), sim::PhoneActivity::talking_to_caller);
    EXPECT_EQ(phone->engine().active_dialogs(), 1u);
    EXPECT_EQ(callee->counters().byes_sent, 0u);
}

TEST_F(PhoneTest, CalleeBusyIsReportedAsSipfrag486) {
    auto busy = quick_callee();
    busy.answer_mode = sim::AnswerMode::busy;
    start({}, busy);
    const auto dialog = connect_phone();
    refer(dialog);
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    EXPECT_EQ(sipfrags(), (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 180 Ringing",
                                                    "SIP/2.0 486 Busy Here"}));
    EXPECT_EQ(*controller().notifies.back().header("Subscription-State"),
              "terminated;reason=noresource");
    EXPECT_EQ(phone->transfers().at(0).final_status_code, 486);
    // The transfer failed: the phone is still on the controller's call.
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::talking_to_caller);
    EXPECT_EQ(callee->activity(), sim::PhoneActivity::idle);
}

TEST_F(PhoneTest, ReferRejectedWith405ListsAllowWithoutRefer) {
    sim::PhoneBehavior behavior;
    behavior.refer_mode = sim::ReferMode::reject;
    start(behavior);
    const auto dialog = connect_phone();
    const auto refer_request = refer(dialog);
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(refer_request) != 0; }, 10'000));
    const auto* response = controller().final_response(refer_request);
    ASSERT_NE(response, nullptr);
    EXPECT_EQ(response->response.status_code, 405);
    ASSERT_NE(response->response.header("Allow"), nullptr);
    EXPECT_EQ(response->response.header("Allow")->find("REFER"), std::string::npos);
    net.run_until(net.now_ms() + 10'000);
    EXPECT_TRUE(controller().notifies.empty());
    EXPECT_EQ(callee->counters().invites_received, 0u);
    EXPECT_EQ(phone->counters().refers_received, 1u);
    EXPECT_EQ(phone->counters().refers_accepted, 0u);
}

TEST_F(PhoneTest, NotifyBefore202PutsTheNotifyFirstOnTheWire) {
    sim::PhoneBehavior behavior;
    behavior.notify_before_202 = true;
    start(behavior);
    const auto dialog = connect_phone();
    const auto refer_request = refer(dialog);
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    EXPECT_EQ(controller().final_code(refer_request), 202);
    const auto lines = lines_sent_by(kPhoneIp);
    const auto notify = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
        return line.rfind("NOTIFY ", 0) == 0;
    });
    const auto accepted = std::find(lines.begin(), lines.end(), "SIP/2.0 202 Accepted");
    ASSERT_NE(notify, lines.end());
    ASSERT_NE(accepted, lines.end());
    EXPECT_LT(notify - lines.begin(), accepted - lines.begin());
    EXPECT_EQ(sipfrags().front(), "SIP/2.0 100 Trying");
}

TEST_F(PhoneTest, SendNoNotifyAcceptsAndFollowsSilently) {
    sim::PhoneBehavior behavior;
    behavior.send_no_notify = true;
    start(behavior);
    const auto dialog = connect_phone();
    const auto refer_request = refer(dialog);
    ASSERT_TRUE(net.run_until(
        [&] { return phone->activity() == sim::PhoneActivity::talking_to_callee; }, 60'000));
    EXPECT_EQ(controller().final_code(refer_request), 202);
    net.run_until(net.now_ms() + 10'000);
    EXPECT_TRUE(controller().notifies.empty());
    EXPECT_EQ(phone->counters().notifies_sent, 0u);
    EXPECT_EQ(callee->counters().calls_answered, 1u);
}

TEST_F(PhoneTest, OnlyFinalNotify) {
    sim::PhoneBehavior behavior;
    behavior.only_final_notify = true;
    start(behavior);
    refer(connect_phone());
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    EXPECT_EQ(sipfrags(), (std::vector<std::string>{"SIP/2.0 200 OK"}));
}

TEST_F(PhoneTest, ReferSubFalseHonouredMeansNoNotify) {
    start({});
    const auto dialog = connect_phone();
    const auto refer_request =
        refer(dialog, std::string("<sip:bob@") + kCalleeIp + ">", {{"Refer-Sub", "false"}});
    ASSERT_TRUE(net.run_until(
        [&] { return phone->activity() == sim::PhoneActivity::talking_to_callee; }, 60'000));
    const auto* response = controller().final_response(refer_request);
    ASSERT_NE(response, nullptr);
    EXPECT_EQ(response->response.status_code, 202);
    ASSERT_NE(response->response.header("Refer-Sub"), nullptr);
    EXPECT_EQ(*response->response.header("Refer-Sub"), "false");
    net.run_until(net.now_ms() + 10'000);
    EXPECT_TRUE(controller().notifies.empty());
    EXPECT_FALSE(phone->transfers().at(0).subscription);
}

TEST_F(PhoneTest, ReferSubFalseIgnoredByAnOlderPhone) {
    sim::PhoneBehavior behavior;
    behavior.honor_refer_sub_false = false;
    start(behavior);
    const auto dialog = connect_phone();
    const auto refer_request =
        refer(dialog, std::string("<sip:bob@") + kCalleeIp + ">", {{"Refer-Sub", "false"}});
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    const auto* response = controller().final_response(refer_request);
    ASSERT_NE(response, nullptr);
    EXPECT_EQ(response->response.header("Refer-Sub"), nullptr);
    EXPECT_EQ(sipfrags().size(), 3u);
}

TEST_F(PhoneTest, ChallengedReferSucceedsWithTheRightPassword) {
    sim::PhoneBehavior behavior;
    behavior.challenge_refer = true;
    behavior.refer_auth_realm = "alice-phone";
    behavior.refer_auth_password = "s3cret";
    start(behavior, quick_callee(), "s3cret");
    ASSERT_TRUE(phone->setup_error().empty()) << phone->setup_error();
    const auto refer_request = refer(connect_phone());
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    EXPECT_EQ(controller().final_code(refer_request), 202);
    EXPECT_TRUE(first_sent(kPhoneIp, "SIP/2.0 401 Unauthorized").has_value());
    const auto refers = phone->received("REFER");
    ASSERT_EQ(refers.size(), 2u);
    EXPECT_EQ(refers[0].header("Authorization"), nullptr);
    ASSERT_NE(refers[1].header("Authorization"), nullptr);
    EXPECT_NE(refers[1].header("Authorization")->find("realm=\"alice-phone\""), std::string::npos);
    EXPECT_EQ(phone->counters().refer_challenges_sent, 1u);
    EXPECT_EQ(phone->counters().refers_accepted, 1u);
    // The first subscription of the dialog: no id= even though it came with the 2nd REFER.
    EXPECT_EQ(*controller().notifies.front().header("Event"), "refer");
    EXPECT_EQ(callee->counters().invites_received, 1u);
}

TEST_F(PhoneTest, ChallengedReferFailsWithAWrongPassword) {
    sim::PhoneBehavior behavior;
    behavior.challenge_refer = true;
    behavior.refer_auth_password = "s3cret";
    start(behavior, quick_callee(), "guess");
    const auto refer_request = refer(connect_phone());
    ASSERT_TRUE(net.run_until(
        [&] { return controller().failed(refer_request, FailureCause::authentication_failed); },
        10'000));
    net.run_until(net.now_ms() + 10'000);
    EXPECT_EQ(phone->counters().refer_challenges_sent, 2u);
    EXPECT_EQ(phone->counters().refers_accepted, 0u);
    EXPECT_EQ(callee->counters().invites_received, 0u);
    EXPECT_TRUE(controller().notifies.empty());
}

TEST_F(PhoneTest, AnswersAfterTheConfiguredDelay) {
    sim::PhoneBehavior behavior;
    behavior.answer_after_ms = 3500;
    start(behavior);
    const auto invite = invite_phone();
    net.run_until(3000);
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::ringing);
    EXPECT_EQ(controller().final_code(invite), 0);
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(invite) != 0; }, 10'000));
    EXPECT_EQ(controller().final_code(invite), 200);
    EXPECT_EQ(first_sent(kPhoneIp, "SIP/2.0 180 Ringing"), kLatencyMs);
    EXPECT_EQ(first_sent(kPhoneIp, "SIP/2.0 200 OK"), kLatencyMs + 3500);
    EXPECT_EQ(net.now_ms(), 2 * kLatencyMs + 3500);
    EXPECT_EQ(phone->counters().calls_answered, 1u);
}

TEST_F(PhoneTest, DeclinesWith603AfterRinging) {
    sim::PhoneBehavior behavior;
    behavior.answer_mode = sim::AnswerMode::decline;
    behavior.answer_after_ms = 1500;
    start(behavior);
    const auto invite = invite_phone();
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(invite) != 0; }, 10'000));
    EXPECT_EQ(controller().final_code(invite), 603);
    EXPECT_EQ(first_sent(kPhoneIp, "SIP/2.0 603 Decline"), kLatencyMs + 1500);
    EXPECT_EQ(lines_sent_by(kPhoneIp).at(1), "SIP/2.0 180 Ringing");
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::idle);
    EXPECT_EQ(phone->counters().calls_answered, 0u);
}

TEST_F(PhoneTest, NeverAnswersUntilCancelled) {
    sim::PhoneBehavior behavior;
    behavior.answer_mode = sim::AnswerMode::never;
    start(behavior);
    const auto invite = invite_phone();
    net.run_until(30'000);
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::ringing);
    EXPECT_EQ(controller().final_code(invite), 0);
    ASSERT_TRUE(controller().engine.cancel(net.now_ms(), invite));
    net.flush();
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(invite) != 0; }, 40'000));
    EXPECT_EQ(controller().final_code(invite), 487);
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::idle);
    EXPECT_EQ(phone->received("CANCEL").size(), 1u);
    EXPECT_EQ(phone->counters().calls_answered, 0u);
}

TEST_F(PhoneTest, HangsUpAfterTheConfiguredTime) {
    sim::PhoneBehavior behavior;
    behavior.answer_after_ms = 1000;
    behavior.hang_up_after_ms = 5000;
    start(behavior);
    connect_phone();
    const auto ended = [&] {
        for (const auto& event : controller().events_of<DialogTerminatedEvent>()) {
            if (event.cause == DialogEndCause::bye_received) return true;
        }
        return false;
    };
    ASSERT_TRUE(net.run_until(ended, 20'000));
    EXPECT_EQ(first_sent(kPhoneIp, "BYE "), kLatencyMs + 1000 + 5000);
    EXPECT_EQ(phone->counters().byes_sent, 1u);
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::idle);
}

TEST_F(PhoneTest, HangingUpDuringATransferKeepsTheNewCall) {
    sim::PhoneBehavior behavior;
    behavior.answer_after_ms = 1000;
    behavior.hang_up_after_ms = 500;
    auto slow_callee = quick_callee();
    slow_callee.answer_after_ms = 3000;
    start(behavior, slow_callee);
    refer(connect_phone());
    ASSERT_TRUE(net.run_until(
        [&] { return phone->activity() == sim::PhoneActivity::talking_to_callee; }, 20'000));
    // The controller's leg went at answer + 500 ms, while the callee was ringing.
    EXPECT_EQ(first_sent(kPhoneIp, "BYE "), kLatencyMs + 1000 + 500);
    // The phone kept notifying (RFC 5057); this controller dropped its dialog and
    // its engine answered the final NOTIFY 481, so only two were passed up.
    EXPECT_EQ(sipfrags(), (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 180 Ringing"}));
    ASSERT_TRUE(
        net.run_until([&] { return phone->transfers().at(0).sipfrags.size() == 3; }, 10'000));
    EXPECT_EQ(phone->transfers().at(0).final_status_code, 200);
    EXPECT_EQ(phone->active_calls(), 1u);
    net.run_until(net.now_ms() + 1000);
    EXPECT_EQ(phone->engine().active_dialogs(), 1u) << "the controller's dialog was released";
}

// The controller ends its leg as soon as the REFER is accepted but keeps the
// dialog for the subscription (RFC 5057): the NOTIFYs still arrive.
TEST_F(PhoneTest, NotifiesContinueAfterTheControllersBye) {
    start({});
    const auto dialog = connect_phone();
    controller().engine.keep_dialog_for_subscription(dialog, true);
    const auto refer_request = refer(dialog);
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(refer_request) != 0; }, 10'000));
    controller().engine.send_in_dialog(net.now_ms(), dialog, {"BYE", {}, {}, {}});
    net.flush();
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    EXPECT_EQ(sipfrags(), (std::vector<std::string>{"SIP/2.0 100 Trying", "SIP/2.0 180 Ringing",
                                                    "SIP/2.0 200 OK"}));
    EXPECT_EQ(phone->received("BYE").size(), 1u);
    net.run_until(net.now_ms() + 1000);
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::talking_to_callee);
    EXPECT_EQ(phone->engine().active_dialogs(), 1u) << "only the call with the callee is left";
}

TEST_F(PhoneTest, SubscriptionDiesWithTheCallWhenConfigured) {
    sim::PhoneBehavior behavior;
    behavior.keep_notifying_after_bye = false;
    start(behavior);
    const auto dialog = connect_phone();
    controller().engine.keep_dialog_for_subscription(dialog, true);
    const auto refer_request = refer(dialog);
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(refer_request) != 0; }, 10'000));
    controller().engine.send_in_dialog(net.now_ms(), dialog, {"BYE", {}, {}, {}});
    net.flush();
    ASSERT_TRUE(net.run_until(
        [&] { return phone->activity() == sim::PhoneActivity::talking_to_callee; }, 60'000));
    net.run_until(net.now_ms() + 5000);
    EXPECT_EQ(sipfrags(), (std::vector<std::string>{"SIP/2.0 100 Trying"}));
    EXPECT_EQ(phone->engine().active_dialogs(), 1u);
}

TEST_F(PhoneTest, ReferBeforeTheAckIsFollowed) {
    int acks = 0;
    net.set_drop_filter([&](const sim::TraceEntry& entry) {
        return entry.from.address.ip == kControllerIp &&
               first_line(entry.bytes).rfind("ACK ", 0) == 0 && acks++ == 0;
    });
    start({});
    const auto refer_request = refer(connect_phone());
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    EXPECT_EQ(controller().final_code(refer_request), 202);
    EXPECT_EQ(sipfrags().size(), 3u);
    // The REFER reached the phone before any ACK did.
    const auto& log = phone->received_requests();
    const auto refer_at =
        std::find_if(log.begin(), log.end(), [](const auto& r) { return r.method == "REFER"; });
    const auto ack_at =
        std::find_if(log.begin(), log.end(), [](const auto& r) { return r.method == "ACK"; });
    ASSERT_NE(refer_at, log.end());
    ASSERT_NE(ack_at, log.end());
    EXPECT_LT(refer_at - log.begin(), ack_at - log.begin());
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::talking_to_callee);
}

TEST_F(PhoneTest, SecondReferInTheDialogCarriesEventId) {
    auto busy = quick_callee();
    busy.answer_mode = sim::AnswerMode::busy;
    busy.answer_after_ms = 0;
    start({}, busy);
    const auto dialog = connect_phone();
    refer(dialog);
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    const auto first_count = controller().notifies.size();
    refer(dialog);
    ASSERT_TRUE(net.run_until(
        [&] { return phone->transfers().size() == 2 && phone->transfers()[1].final_status_code; },
        60'000));
    net.run_until(net.now_ms() + 1000);
    const auto refers = phone->received("REFER");
    ASSERT_EQ(refers.size(), 2u);
    ASSERT_GT(controller().notifies.size(), first_count);
    for (std::size_t i = 0; i < controller().notifies.size(); ++i) {
        EXPECT_EQ(
            *controller().notifies[i].header("Event"),
            i < first_count ? std::string("refer") : "refer;id=" + std::to_string(refers[1].cseq));
    }
    EXPECT_EQ(first_line(controller().notifies.back().body), "SIP/2.0 486 Busy Here");
}

TEST_F(PhoneTest, RequiresUserPhoneInReferTo) {
    sim::PhoneBehavior behavior;
    behavior.requires_user_phone = true;
    start(behavior);
    const auto dialog = connect_phone();
    const auto plain = refer(dialog);
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(plain) != 0; }, 10'000));
    EXPECT_EQ(controller().final_code(plain), 404);
    const auto with_user_phone =
        refer(dialog, std::string("<sip:bob@") + kCalleeIp + ";user=phone>");
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    EXPECT_EQ(controller().final_code(with_user_phone), 202);
    const auto invites = callee->received("INVITE");
    ASSERT_EQ(invites.size(), 1u);
    EXPECT_NE(invites[0].request_uri.find("user=phone"), std::string::npos);
    // The refused REFER created no subscription.
    EXPECT_EQ(*controller().notifies.front().header("Event"), "refer");
}

TEST_F(PhoneTest, BadReferToIsAnswered400) {
    start({});
    const auto dialog = connect_phone();
    const auto refer_request = refer(dialog, "<not a uri");
    ASSERT_TRUE(net.run_until([&] { return controller().final_code(refer_request) != 0; }, 10'000));
    EXPECT_EQ(controller().final_code(refer_request), 400);
    EXPECT_EQ(callee->counters().invites_received, 0u);
}

TEST_F(PhoneTest, NotifySpacingIsKept) {
    sim::PhoneBehavior behavior;
    behavior.notify_spacing_ms = 700;
    auto fast_callee = quick_callee();
    fast_callee.answer_after_ms = 200;
    start(behavior, fast_callee);
    refer(connect_phone());
    ASSERT_TRUE(net.run_until([&] { return controller().has_final_notify(); }, 60'000));
    std::vector<std::uint64_t> times;
    for (const auto& [time, line] : sent_by(kPhoneIp)) {
        if (line.rfind("NOTIFY ", 0) == 0) times.push_back(time);
    }
    ASSERT_EQ(times.size(), 3u);
    EXPECT_EQ(times[1] - times[0], 700u);
    EXPECT_EQ(times[2] - times[1], 700u);
    EXPECT_EQ(sipfrags().back(), "SIP/2.0 200 OK");
}

TEST_F(PhoneTest, NotifyAnswered481StopsTheReports) {
    start({});
    controller().notify_answer_code = 481;
    refer(connect_phone());
    ASSERT_TRUE(net.run_until(
        [&] { return phone->activity() == sim::PhoneActivity::talking_to_callee; }, 60'000));
    net.run_until(net.now_ms() + 5000);
    EXPECT_EQ(sipfrags(), (std::vector<std::string>{"SIP/2.0 100 Trying"}));
    EXPECT_EQ(phone->transfers().at(0).final_status_code, 200);
}

TEST_F(PhoneTest, DialledCallIsCancelledByHangUp) {
    auto ringing_forever = quick_callee();
    ringing_forever.answer_mode = sim::AnswerMode::never;
    start({}, ringing_forever);
    ASSERT_TRUE(phone->dial(net.now_ms(), *parse_uri(std::string("sip:bob@") + kCalleeIp)));
    net.flush();
    ASSERT_TRUE(
        net.run_until([&] { return callee->activity() == sim::PhoneActivity::ringing; }, 1000));
    EXPECT_EQ(phone->activity(), sim::PhoneActivity::dialing);
    net.run_until(net.now_ms() + 100);
    phone->hang_up(net.now_ms());
    net.flush();
    ASSERT_TRUE(
        net.run_until([&] { return phone->activity() == sim::PhoneActivity::idle; }, 10'000));
    EXPECT_EQ(callee->activity(), sim::PhoneActivity::idle);
    EXPECT_EQ(callee->received("CANCEL").size(), 1u);
    EXPECT_TRUE(first_sent(kCalleeIp, "SIP/2.0 487").has_value());
}

}  // namespace
}  // namespace sipcc
