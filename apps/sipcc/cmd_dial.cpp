// `sipcc dial NUMBER`: a real click-to-dial on real sockets. The user's own
// phone is INVITEd, and once it answers it is REFERred to NUMBER; the call
// states are printed as they happen, and the exit code says how it ended
// (docs/config.md). Ctrl-C drops the call (CANCEL or BYE) and waits up to 2 s
// for the answer before leaving.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "apps/sipcc/commands.hpp"
#include "apps/sipcc/dial_config.hpp"
#include "simulator/controller_node.hpp"
#include "simulator/ladder.hpp"
#include "transports/asio_driver.hpp"

namespace sipcc::cli {
namespace {

using namespace std::chrono_literals;

// Exit codes; docs/config.md lists them.
enum DialExit : int {
    kTransferred = 0,
    kUsage = 2,
    kCallerFailed = 3,
    kCalleeFailed = 4,
    kReferNotSupported = 5,
    kAuthenticationFailed = 6,
    kNetwork = 7,
    kOutcomeUnknown = 8,
    kCancelled = 9,
};

// How long the wind-down may take: our BYE or CANCEL answered (brief's 2 s).
constexpr auto kWindDown = 2s;

struct DialOptions {
    std::string config_path;
    std::string number;
    std::map<std::string, std::string> flag_text;  // key -> text, for every value flag
    std::vector<std::pair<std::string, CLI::Option*>> value_flags;
    bool no_auto_answer = false;
    bool refer_sub_false = false;
    bool ladder = false;
};

int exit_code_for(const CallSnapshot& call) {
    if (call.state == CallState::transferred) return kTransferred;
    switch (call.cause) {
        case DisconnectCause::caller_busy:
        case DisconnectCause::caller_no_answer:
        case DisconnectCause::caller_rejected:
        case DisconnectCause::caller_hung_up:
            return kCallerFailed;
        case DisconnectCause::callee_busy:
        case DisconnectCause::callee_no_answer:
        case DisconnectCause::callee_rejected:
        case DisconnectCause::callee_failure:
            return kCalleeFailed;
        case DisconnectCause::refer_not_supported:
            return kReferNotSupported;
        case DisconnectCause::authentication_failed:
            return kAuthenticationFailed;
        case DisconnectCause::network_unreachable:
            return kNetwork;
        case DisconnectCause::transfer_outcome_unknown:
        case DisconnectCause::notify_timeout:
            return kOutcomeUnknown;
        case DisconnectCause::cancelled_by_user:
            return kCancelled;
        case DisconnectCause::bad_number:
            return kUsage;
        case DisconnectCause::none:
            break;
    }
    return kOutcomeUnknown;  // not final: we gave up waiting
}

std::string seconds(std::uint64_t ms) {
    char text[32];
    std::snprintf(text, sizeof text, "%8.3f s", static_cast<double>(ms) / 1000.0);
    return text;
}

// Defaults, then the file, then the flags given on the command line.
std::optional<std::string> build_config(const DialOptions& options, DialConfig& config) {
    if (!options.config_path.empty()) {
        if (auto reason = load_dial_config_file(config, options.config_path)) return reason;
    }
    for (const auto& [key, option] : options.value_flags) {
        if (option->count() == 0) continue;
        const auto value = dial_config_value_from_text(key, options.flag_text.at(key));
        if (auto reason = set_dial_config_value(config, key, value)) {
            return dial_config_flag(key) + ": " + *reason;
        }
    }
    if (options.no_auto_answer) config.controller.auto_answer_hints = false;
    if (options.refer_sub_false) config.controller.refer_sub_false = true;
    return std::nullopt;
}

// The longest a call can take before the controller's own timers end it,
// plus slack: if this passes, something is wrong and we give up.
std::chrono::milliseconds overall_limit(const ControllerConfig& config) {
    const auto transaction_ms = 64 * config.engine.timers.t1_ms;
    return std::chrono::milliseconds(config.caller_answer_timeout_ms + 2 * transaction_ms +
                                     config.notify_wait_ms + 10000);
}

int run_dial(const DialOptions& options) {
    DialConfig config;
    if (auto reason = build_config(options, config)) {
        std::cerr << "sipcc dial: " << *reason << "\n";
        return kUsage;
    }

    boost::asio::io_context io;
    transports::DriverOptions driver_options;
    driver_options.record_trace = options.ladder;
    driver_options.log = [](std::string_view line) {
        std::cerr << "sipcc dial: transport: " << line << "\n";
    };
    transports::AsioDriver driver(io, driver_options);
    auto bound = driver.bind(config.bind);
    if (!bound) {
        std::cerr << "sipcc dial: " << bound.error() << "\n";
        return kUsage;
    }

    ControllerConfig controller_config = config.controller;
    controller_config.engine.local_address = *bound;
    controller_config.engine.seed = config.seed.value_or(std::random_device{}());
    auto controller = Controller::create(controller_config);
    if (!controller) {
        std::cerr << "sipcc dial: " << controller.error() << "\n";
        return kUsage;
    }
    sim::ControllerNode node(std::move(controller).value());
    driver.attach(node);

    auto call = node.controller.click_to_dial(driver.now_ms(), options.number);
    if (!call) {
        std::cerr << "sipcc dial: " << call.error() << "\n";
        return kUsage;
    }
    const CallSnapshot* snapshot = node.controller.call(*call);
    const auto& settings = node.controller.config();
    std::string route = "through " + settings.outbound_proxy.value_or(settings.domain);
    if (settings.mode == ClickToDialMode::direct) route = "direct to " + *settings.outbound_proxy;
    std::cout << "sipcc dial: " << options.number << " -> " << snapshot->target_uri << "\n"
              << "  ringing " << settings.extension.value_or(settings.user) << "@"
              << settings.domain << " first (" << route << ", "
              << to_string(settings.engine.transport) << " from " << bound->to_string() << ")\n"
              << std::flush;

    std::size_t printed = 0;
    auto print_new_events = [&] {
        node.drain();
        for (; printed < node.call_events.size(); ++printed) {
            const auto& event = node.call_events[printed];
            std::cout << seconds(event.at_ms) << "  " << to_string(event.state);
            if (event.cause != DisconnectCause::none)
                std::cout << " (" << to_string(event.cause) << ")";
            if (event.sip_code != 0) std::cout << "  [" << event.sip_code << "]";
            if (!event.detail.empty()) std::cout << "  " << event.detail;
            std::cout << "\n" << std::flush;
        }
    };

    bool interrupted = false;  // the user asked to drop the call before it ended
    bool give_up = false;      // a second signal: leave at once
    driver.on_signal([&](int signal_number) {
        if (interrupted || is_final(snapshot->state)) {
            give_up = true;
            driver.stop();
            return;
        }
        interrupted = true;
        std::cout << seconds(driver.now_ms()) << "  "
                  << (signal_number == SIGINT ? "interrupted" : "terminated")
                  << ": dropping the call\n"
                  << std::flush;
        node.controller.drop(driver.now_ms(), *call);
    });

    const bool decided = driver.run_until(
        [&] {
            print_new_events();
            return is_final(snapshot->state) || interrupted;
        },
        overall_limit(settings));
    if (!decided && !give_up) {
        std::cerr << "sipcc dial: no outcome within " << overall_limit(settings).count() / 1000
                  << " s; dropping the call\n";
        node.controller.drop(driver.now_ms(), *call);
    }
    // Let our BYE or CANCEL be answered (the dialog then goes away), at most 2 s.
    if (!give_up) {
        driver.run_until(
            [&] {
                print_new_events();
                return is_final(snapshot->state) && node.controller.engine().active_dialogs() == 0;
            },
            kWindDown);
    }
    print_new_events();

    if (options.ladder) {
        std::cout << "\n" << sim::render_ladder(driver.trace(), {{*bound, "sipcc"}});
    }
    const auto& counters = driver.counters();
    if (counters.send_errors + counters.receive_errors + counters.resolution_failures > 0) {
        std::cerr << "sipcc dial: transport errors: " << counters.send_errors << " send, "
                  << counters.receive_errors << " receive, " << counters.resolution_failures
                  << " lookup\n";
    }
    std::cout << "\nresult: " << to_string(snapshot->state);
    if (snapshot->cause != DisconnectCause::none)
        std::cout << " (" << to_string(snapshot->cause) << ")";
    if (snapshot->sip_code != 0) std::cout << " [" << snapshot->sip_code << "]";
    std::cout << "\n" << std::flush;

    if (interrupted) return kCancelled;
    if (!decided && !is_final(snapshot->state)) return kNetwork;
    return exit_code_for(*snapshot);
}

}  // namespace

void add_dial_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<DialOptions>();
    auto* command = app.add_subcommand(
        "dial",
        "Click-to-dial on real sockets: ring the user's own phone, then REFER it to NUMBER");
    command->add_option("NUMBER", options->number, "The number (or sip: URI) to call")->required();
    command->add_option("--config", options->config_path,
                        "JSON file with the same keys as the flags (flags win)");
    for (const auto& key : dial_config_keys()) {
        if (key.kind == DialConfigKind::boolean) continue;
        const std::string name(key.name);
        auto* option = command->add_option(dial_config_flag(name), options->flag_text[name],
                                           std::string(key.help));
        option->type_name(key.kind == DialConfigKind::number ? "N" : "TEXT");
        options->value_flags.emplace_back(name, option);
    }
    command->add_flag("--no-auto-answer", options->no_auto_answer,
                      "Send no auto-answer hints (auto_answer: false)");
    command->add_flag("--refer-sub-false", options->refer_sub_false,
                      "Ask for no NOTIFYs (refer_sub_false: true)");
    command->add_flag("--ladder", options->ladder, "Print the message ladder at the end");
    command->footer(
        "Exit codes: 0 transferred, 2 usage/config error, 3 caller side failed, 4 callee side "
        "failed, 5 REFER not supported, 6 authentication failed, 7 network unreachable/timeout, "
        "8 transfer outcome unknown/NOTIFY timeout, 9 cancelled (Ctrl-C). See docs/config.md.");
    command->callback([options, &exit_code] { exit_code = run_dial(*options); });
}

}  // namespace sipcc::cli
