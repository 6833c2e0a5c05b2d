// `sipcc demo`: click-to-dial on the embedded simulated farm, on virtual time.
// Alice's phone rings, she answers, sipcc REFERs it to the callee (Bob's phone),
// follows the NOTIFYs and leaves the call. Prints the call states as they
// happen and the message ladder.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "apps/sipcc/commands.hpp"
#include "simulator/controller_node.hpp"
#include "simulator/ladder.hpp"
#include "simulator/phone.hpp"

namespace sipcc::cli {
namespace {

struct DemoOptions {
    std::string number = "+43 (1) 505641";
    std::uint64_t seed = 1;
    double loss = 0.0;
    std::string callee = "answer";  // answer | busy | decline | never
    bool ladder = true;
};

sim::AnswerMode answer_mode(const std::string& name) {
    if (name == "busy") return sim::AnswerMode::busy;
    if (name == "decline") return sim::AnswerMode::decline;
    if (name == "never") return sim::AnswerMode::never;
    return sim::AnswerMode::answer;
}

int run_demo(const DemoOptions& options) {
    const auto wall_start = std::chrono::steady_clock::now();
    ControllerConfig config;
    config.domain = "pbx.test";
    config.user = "c2d";
    config.mode = ClickToDialMode::direct;
    config.outbound_proxy = "127.0.0.2:5060";  // Alice's phone
    config.dialing_rules.country_code = "43";
    config.dialing_rules.area_code = "1";
    config.engine.local_address = {"127.0.0.1", 5060};
    config.engine.seed = options.seed;
    auto controller = Controller::create(config);
    if (!controller) {
        std::cerr << "sipcc demo: " << controller.error() << "\n";
        return 2;
    }
    sim::ControllerNode controller_node(std::move(controller).value());

    sim::PhoneConfig alice;
    alice.user = "alice";
    alice.domain = "pbx.test";
    alice.engine.local_address = {"127.0.0.2", 5060};
    alice.engine.seed = options.seed + 1;
    alice.behavior.answer_after_ms = 1500;
    sim::Phone alice_phone(alice);

    sim::PhoneConfig bob;
    bob.user = "bob";
    bob.domain = "pbx.test";
    bob.engine.local_address = {"127.0.0.3", 5060};
    bob.engine.seed = options.seed + 2;
    bob.behavior.answer_after_ms = 3000;
    bob.behavior.answer_mode = answer_mode(options.callee);
    sim::Phone bob_phone(bob);

    sim::VirtualNetwork network(options.seed);
    network.add_node(controller_node);
    network.add_node(alice_phone);
    network.add_node(bob_phone);
    network.add_name("pbx.test", "127.0.0.3");  // the callee's number routes to Bob
    network.set_default_conditions({.latency_ms = 20, .jitter_ms = 5, .loss = options.loss});

    std::cout << "sipcc demo: click-to-dial " << options.number
              << " for alice (seed " << options.seed << ", loss " << options.loss * 100 << " %)\n\n";
    auto call = controller_node.controller.click_to_dial(0, options.number);
    if (!call) {
        std::cerr << "sipcc demo: " << call.error() << "\n";
        return 2;
    }
    std::size_t printed = 0;
    auto print_new_events = [&] {
        controller_node.drain();
        for (; printed < controller_node.call_events.size(); ++printed) {
            const auto& event = controller_node.call_events[printed];
            char time[32];
            std::snprintf(time, sizeof time, "%8.3f s", static_cast<double>(event.at_ms) / 1000.0);
            std::cout << time << "  call " << event.call << "  " << to_string(event.state);
            if (event.cause != DisconnectCause::none) std::cout << " (" << to_string(event.cause) << ")";
            if (event.sip_code != 0) std::cout << "  [" << event.sip_code << "]";
            if (!event.detail.empty()) std::cout << "  " << event.detail;
            std::cout << "\n";
        }
    };
    const auto* snapshot = controller_node.controller.call(*call);
    network.run_until(
        [&] {
            print_new_events();
            return is_final(snapshot->state);
        },
        120000);
    network.run_until(network.now_ms() + 1000);  // let the BYE finish
    print_new_events();

    if (options.ladder) {
        std::cout << "\n"
                  << sim::render_ladder(network.trace(),
                                        {{{"127.0.0.1", 5060}, "sipcc (controller)"},
                                         {{"127.0.0.2", 5060}, "alice (caller's phone)"},
                                         {{"127.0.0.3", 5060}, "bob (callee)"}});
    }
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    const double virtual_s = static_cast<double>(network.now_ms()) / 1000.0;
    std::cout << "\nresult: " << to_string(snapshot->state);
    if (snapshot->cause != DisconnectCause::none) std::cout << " (" << to_string(snapshot->cause) << ")";
    std::printf("; %zu messages, %.1f s virtual in %.3f s wall\n", network.trace().size(), virtual_s,
                wall_s);
    return snapshot->state == CallState::transferred ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<DemoOptions>();
    auto* command = app.add_subcommand(
        "demo", "Click-to-dial on the embedded simulated phones, with the message ladder");
    command->add_option("--number", options->number, "Number to dial")->capture_default_str();
    command->add_option("--seed", options->seed, "Seed of the simulated network")
        ->capture_default_str();
    command->add_option("--loss", options->loss, "Packet loss probability (0..1)")
        ->check(CLI::Range(0.0, 0.9))
        ->capture_default_str();
    command->add_option("--callee", options->callee, "What the callee does")
        ->check(CLI::IsMember({"answer", "busy", "decline", "never"}))
        ->capture_default_str();
    command->add_flag("!--no-ladder", options->ladder, "Do not print the message ladder");
    command->callback([options, &exit_code] { exit_code = run_demo(*options); });
}

}  // namespace sipcc::cli
