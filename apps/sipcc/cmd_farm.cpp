// `sipcc farm FILE`: hosts a scenario's simulated PBX and phones on real
// loopback sockets, so real phones, SIPp and `sipcc dial` can register and
// call through them. Prints registrations and calls as they happen; stops
// cleanly on SIGINT/SIGTERM (or after --duration-s).
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <iostream>
#include <map>

#include "apps/sipcc/commands.hpp"
#include "simulator/scenario.hpp"
#include "transports/real_farm.hpp"

namespace sipcc::cli {
namespace {

struct FarmOptions {
    std::string path;
    std::string listen;     // overrides the PBX's address
    double duration_s = 0;  // 0: until a signal
    bool ladder = false;
};

// The counters worth a line when they change, per kind of node.
constexpr const char* kPhoneCounters[] = {"registrations_ok", "invites_received", "calls_answered",
                                          "refers_accepted",  "calls_placed",     "notifies_sent",
                                          "byes_sent"};
constexpr const char* kPbxCounters[] = {"registrations_active", "calls_ok", "calls_failed",
                                        "auth_failures", "not_found"};

int run_farm(const FarmOptions& options) {
    auto scenario = sim::load_scenario(options.path);
    if (!scenario) {
        std::cerr << "sipcc farm: " << scenario.error() << "\n";
        return 2;
    }
    if (!options.listen.empty()) {
        auto listen = parse_host_port(options.listen);
        if (!scenario->pbx || !listen || !listen->port || !is_numeric_ip(listen->host)) {
            std::cerr << "sipcc farm: --listen needs a scenario with a pbx and ip:port, got \""
                      << options.listen << "\"\n";
            return 2;
        }
        scenario->pbx->config.address = {listen->host, *listen->port};
    }
    boost::asio::io_context io;
    transports::RealFarmOptions farm_options;
    farm_options.record_trace = options.ladder;
    auto farm = transports::RealFarm::create(io, *scenario, farm_options);
    if (!farm) {
        std::cerr << "sipcc farm: " << farm.error() << "\n";
        return 2;
    }
    auto& hosted = *farm.value();
    for (const auto& node : hosted.nodes()) {
        std::cout << node.kind << " " << node.name << " on " << node.address.to_string()
                  << (node.registers ? " (registers)" : "") << "\n";
    }
    std::cout << "farm running; Ctrl-C stops it\n" << std::flush;
    hosted.start();

    // Report counter changes every 100 ms: cheap, and readable as a log.
    std::map<std::string, std::uint64_t> last;
    bool stopping = false;
    boost::asio::steady_timer ticker(io);
    std::function<void()> report = [&] {
        for (const auto& node : hosted.nodes()) {
            const auto counters = hosted.counters(node.name);
            auto show = [&](const char* name) {
                auto it = counters.find(name);
                if (it == counters.end()) return;
                auto& seen = last[node.name + "." + name];
                if (it->second != seen) {
                    std::cout << node.name << " " << name << " " << it->second << "\n"
                              << std::flush;
                    seen = it->second;
                }
            };
            if (node.kind == "pbx") {
                for (auto name : kPbxCounters) show(name);
            } else {
                for (auto name : kPhoneCounters) show(name);
            }
        }
        if (stopping) return;  // the last report must not re-arm the ticker
        ticker.expires_after(std::chrono::milliseconds(100));
        ticker.async_wait([&](boost::system::error_code error) {
            if (!error) report();
        });
    };
    report();

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    boost::asio::steady_timer deadline(io);
    auto stop = [&] {
        if (stopping) return;
        stopping = true;
        ticker.cancel();
        deadline.cancel();
        signals.cancel();
        report();
        if (options.ladder) std::cout << "\n" << hosted.ladder();
        hosted.close();
        std::cout << "farm stopped\n" << std::flush;
    };
    signals.async_wait([&](boost::system::error_code error, int) {
        if (!error) stop();
    });
    if (options.duration_s > 0) {
        deadline.expires_after(
            std::chrono::milliseconds(static_cast<long>(options.duration_s * 1000)));
        deadline.async_wait([&](boost::system::error_code error) {
            if (!error) stop();
        });
    }
    io.run();
    return 0;
}

}  // namespace

void add_farm_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<FarmOptions>();
    auto* command = app.add_subcommand(
        "farm", "Host a scenario's simulated PBX and phones on real loopback sockets");
    command->add_option("FILE", options->path, "Scenario file (its pbx, phones and names)")
        ->required()
        ->check(CLI::ExistingFile);
    command->add_option("--listen", options->listen, "Address for the PBX instead of the file's");
    command->add_option("--duration-s", options->duration_s, "Stop after this many seconds")
        ->check(CLI::Range(0.0, 86400.0));
    command->add_flag("--ladder", options->ladder, "Print the message ladder when stopping");
    command->callback([options, &exit_code] { exit_code = run_farm(*options); });
}

}  // namespace sipcc::cli
