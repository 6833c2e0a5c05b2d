// `sipcc bench`: drives click-to-dial flows and reports per flow, like SIPp's statistics:
// flows started / succeeded / failed (by cause), flows/s, click-to-connected and
// click-to-transferred latency percentiles, retransmissions, CPU time per flow; a live
// progress line on stderr; --json for machines. --hold N opens N flows whose caller
// phones never answer and reports the memory per active flow.
//
// Modes: --in-memory (one controller and a farm of simulated phones on one thread, on
// virtual time; simulator/bench_flows.hpp). Loopback UDP/TCP against `sipcc farm` or a
// PBX comes with the Asio transports.
#include "apps/sipcc/commands.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "simulator/bench_flows.hpp"

namespace sipcc::cli {
namespace {

struct BenchOptions {
    bool in_memory = true;
    std::uint64_t flows = 10000;
    std::size_t concurrency = 100;
    double rate_per_s = 0;  // 0: as fast as possible
    double duration_s = 0;  // wall seconds; 0: run --flows flows
    std::uint64_t hold = 0;
    std::uint64_t seed = 1;
    std::uint64_t latency_ms = 1;
    double loss = 0;
    std::uint64_t answer_after_ms = 0;
    std::uint64_t talk_ms = 0;
    std::size_t calls_per_phone = 32;
    std::uint64_t t1_ms = 500;
    bool json = false;
    bool progress = false;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct CpuTime {
    double user_s = 0;
    double system_s = 0;
};

CpuTime cpu_time() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto to_s = [](const timeval& time) {
        return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
    };
    return {to_s(usage.ru_utime), to_s(usage.ru_stime)};
}

// 1234567 -> "1,234,567"
std::string grouped(std::uint64_t value) {
    std::string digits = std::to_string(value);
    for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) {
        digits.insert(static_cast<std::size_t>(at), ",");
    }
    return digits;
}

std::string fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

double ratio(double numerator, double denominator) {
    return denominator > 0 ? numerator / denominator : 0.0;
}

// The live line on stderr: rewritten in place with \r, at most five times a second.
class ProgressLine {
public:
    ProgressLine(bool enabled, Clock::time_point start) : enabled_(enabled), start_(start) {}

    void update(const sim::FlowStats& stats, std::uint64_t active, bool hold) {
        if (!enabled_) return;
        const auto now = Clock::now();
        if (now - last_ < std::chrono::milliseconds(200)) return;
        last_ = now;
        const double wall_s = seconds_since(start_);
        std::string line = "\r" + fixed(wall_s, 1) + " s  started " + grouped(stats.started);
        if (hold) {
            line += "  ringing " + grouped(stats.ringing);
        } else {
            line += "  ok " + grouped(stats.succeeded) + "  failed " + grouped(stats.failed) +
                    "  active " + grouped(active) + "  " +
                    grouped(static_cast<std::uint64_t>(
                        ratio(static_cast<double>(stats.finished()), wall_s))) +
                    " flows/s";
        }
        std::fprintf(stderr, "%s\033[K", line.c_str());
        std::fflush(stderr);
        shown_ = true;
    }
    void finish() {
        if (shown_) std::fprintf(stderr, "\r\033[K");
        shown_ = false;
    }

private:
    bool enabled_;
    Clock::time_point start_;
    Clock::time_point last_{};
    bool shown_ = false;
};

sim::FlowBenchConfig flow_config(const BenchOptions& options) {
    sim::FlowBenchConfig config;
    config.seed = options.seed;
    config.concurrency = options.concurrency;
    config.rate_per_s = options.rate_per_s;
    config.latency_ms = options.latency_ms;
    config.loss = options.loss;
    config.caller_answer_after_ms = options.answer_after_ms;
    config.talk_ms = options.talk_ms;
    config.calls_per_phone = options.calls_per_phone;
    // RFC 3261 defaults are T1 500 ms, T2 4 s, T4 5 s: keep those ratios.
    config.timers.t1_ms = options.t1_ms;
    config.timers.t2_ms = 8 * options.t1_ms;
    config.timers.t4_ms = 10 * options.t1_ms;
    return config;
}

nlohmann::json latency_json(const sim::LatencyHistogram& histogram) {
    return {{"count", histogram.count()},
            {"p50", histogram.percentile(0.50)},
            {"p90", histogram.percentile(0.90)},
            {"p99", histogram.percentile(0.99)},
            {"max", histogram.max()}};
}

std::string latency_row(const char* name, const sim::LatencyHistogram& histogram) {
    char row[160];
    std::snprintf(row, sizeof row, "            %-22s %7llu %7llu %7llu %7llu\n", name,
                  static_cast<unsigned long long>(histogram.percentile(0.50)),
                  static_cast<unsigned long long>(histogram.percentile(0.90)),
                  static_cast<unsigned long long>(histogram.percentile(0.99)),
                  static_cast<unsigned long long>(histogram.max()));
    return row;
}

// snake_case names of the farm's roles, for JSON keys.
std::string json_key(sim::FarmRole role) {
    std::string key(to_string(role));
    for (auto& ch : key) {
        if (ch == ' ') ch = '_';
    }
    return key;
}

std::string mode_text(const BenchOptions& options) {
    std::string text = options.rate_per_s > 0
                           ? "rate " + fixed(options.rate_per_s, 0) + " flows per virtual s"
                           : std::string("as fast as possible");
    return text + ", concurrency " + grouped(options.concurrency);
}

// --------------------------------------------------------------------------------------------
// Flows

int run_flows(const BenchOptions& options) {
    sim::FlowBench bench(flow_config(options));
    if (!bench.setup_error().empty()) {
        std::cerr << "sipcc bench: " << bench.setup_error() << "\n";
        return 2;
    }
    const auto wall_start = Clock::now();
    const CpuTime cpu_start = cpu_time();
    ProgressLine progress(options.progress || isatty(STDERR_FILENO) != 0, wall_start);
    const bool by_duration = options.duration_s > 0;
    const auto unlimited = std::numeric_limits<std::uint64_t>::max();
    std::function<bool()> keep_starting;
    if (by_duration) {
        keep_starting = [&] { return seconds_since(wall_start) < options.duration_s; };
    }
    bench.run(by_duration ? unlimited : options.flows, by_duration ? unlimited : options.flows,
              keep_starting, [&](const sim::FlowStats& stats) {
                  progress.update(stats, bench.active_flows(), false);
              });
    const double virtual_s = static_cast<double>(bench.now_ms()) / 1000.0;
    // The BYEs that follow the last flows' final NOTIFYs are part of those flows.
    bench.settle(2000 + options.talk_ms);
    const double wall_s = seconds_since(wall_start);
    const CpuTime cpu_end = cpu_time();
    progress.finish();

    const auto& stats = bench.stats();
    const auto finished = static_cast<double>(stats.finished());
    const double user_s = cpu_end.user_s - cpu_start.user_s;
    const double system_s = cpu_end.system_s - cpu_start.system_s;
    const double cpu_per_flow_us = ratio((user_s + system_s) * 1e6, finished);
    double busy_ns = 0;
    for (const auto ns : stats.busy_ns) busy_ns += static_cast<double>(ns);
    const auto share = [&](sim::FarmRole role) {
        return ratio(static_cast<double>(stats.busy_ns[static_cast<std::size_t>(role)]), busy_ns);
    };
    const double controller_us_per_flow = ratio(
        static_cast<double>(stats.busy_ns[static_cast<std::size_t>(sim::FarmRole::controller)]) /
            1e3,
        finished);
    const double flows_per_s = ratio(finished, wall_s);

    if (options.json) {
        nlohmann::json failed_by_cause = nlohmann::json::object();
        for (const auto& [cause, count] : stats.failures_by_cause) failed_by_cause[cause] = count;
        nlohmann::json busy = nlohmann::json::object();
        for (std::size_t role = 0; role < sim::kFarmRoles; ++role) {
            busy[json_key(static_cast<sim::FarmRole>(role))] =
                share(static_cast<sim::FarmRole>(role));
        }
        const nlohmann::json report = {
            {"mode", "in-memory"},
            {"config",
             {{"flows", by_duration ? nlohmann::json(nullptr) : nlohmann::json(options.flows)},
              {"duration_s", options.duration_s},
              {"concurrency", options.concurrency},
              {"rate_per_virtual_s", options.rate_per_s},
              {"latency_ms", options.latency_ms},
              {"loss", options.loss},
              {"answer_after_ms", options.answer_after_ms},
              {"talk_ms", options.talk_ms},
              {"t1_ms", options.t1_ms},
              {"seed", options.seed},
              {"caller_phones", bench.caller_phones()},
              {"callee_phones", bench.callee_phones()}}},
            {"flows",
             {{"started", stats.started},
              {"succeeded", stats.succeeded},
              {"failed", stats.failed},
              {"failed_by_cause", failed_by_cause}}},
            {"flows_per_s", flows_per_s},
            {"wall_s", wall_s},
            {"virtual_s", virtual_s},
            {"flows_per_virtual_s", ratio(finished, virtual_s)},
            {"messages_per_flow", ratio(static_cast<double>(stats.datagrams_sent), finished)},
            {"controller_messages_per_flow",
             ratio(static_cast<double>(stats.controller_datagrams), finished)},
            {"retransmissions", stats.retransmissions},
            {"datagrams_lost", stats.datagrams_lost},
            {"latency_virtual_ms",
             {{"click_to_connected", latency_json(stats.click_to_connected_ms)},
              {"click_to_transferred", latency_json(stats.click_to_transferred_ms)}}},
            {"cpu", {{"user_s", user_s}, {"system_s", system_s}, {"per_flow_us", cpu_per_flow_us}}},
            {"busy_share", busy},
            {"controller_us_per_flow", controller_us_per_flow},
        };
        std::cout << report.dump(2) << "\n";
    } else {
        std::string out;
        out += "sipcc bench --in-memory: " + mode_text(options) + "\n";
        out += "  farm      1 controller, " + grouped(bench.caller_phones()) + " caller phones, " +
               grouped(bench.callee_phones()) + " callee phones; one thread, virtual time\n";
        out += "  link      " + grouped(options.latency_ms) + " ms one way, " +
               fixed(options.loss * 100, 1) + " % loss\n\n";
        out += "  flows     started " + grouped(stats.started) + "   succeeded " +
               grouped(stats.succeeded) + "   failed " + grouped(stats.failed) + "\n";
        for (const auto& [cause, count] : stats.failures_by_cause) {
            out += "            failed: " + cause + " " + grouped(count) + "\n";
        }
        out += "  rate      " + grouped(static_cast<std::uint64_t>(flows_per_s)) + " flows/s  (" +
               grouped(stats.finished()) + " flows in " + fixed(wall_s, 3) + " s wall; " +
               fixed(virtual_s, 2) +
               " s virtual = " + grouped(static_cast<std::uint64_t>(ratio(finished, virtual_s))) +
               " flows per virtual s)\n";
        out += "  messages  " +
               fixed(ratio(static_cast<double>(stats.datagrams_sent), finished), 1) +
               " per flow on the wire, " +
               fixed(ratio(static_cast<double>(stats.controller_datagrams), finished), 1) +
               " through the controller; retransmissions " + grouped(stats.retransmissions);
        if (stats.datagrams_lost > 0) out += ", lost " + grouped(stats.datagrams_lost);
        out += "\n";
        out += "  latency   (virtual ms)              p50     p90     p99     max\n";
        out += latency_row("click-to-connected", stats.click_to_connected_ms);
        out += latency_row("click-to-transferred", stats.click_to_transferred_ms);
        out += "  cpu       " + fixed(cpu_per_flow_us, 1) + " us per flow (user " +
               fixed(user_s, 2) + " s, system " + fixed(system_s, 2) + " s)\n";
        out += "  busy      controller " + fixed(share(sim::FarmRole::controller) * 100, 0) +
               " %, caller phones " + fixed(share(sim::FarmRole::caller_phone) * 100, 0) +
               " %, callee phones " + fixed(share(sim::FarmRole::callee_phone) * 100, 0) +
               " %, driver " + fixed(share(sim::FarmRole::driver) * 100, 0) + " %\n";
        out +=
            "            controller alone: " + fixed(controller_us_per_flow, 1) + " us per flow (" +
            grouped(static_cast<std::uint64_t>(ratio(1e6, controller_us_per_flow))) + " flows/s)\n";
        std::cout << out;
    }
    return stats.failed == 0 && stats.succeeded > 0 ? 0 : 1;
}

// --------------------------------------------------------------------------------------------
// Held flows: memory per active flow

int run_hold(const BenchOptions& options) {
    auto config = flow_config(options);
    config.callers_never_answer = true;
    config.count_retransmissions = false;  // its table would count as flow memory
    config.attribute_memory = true;
    const std::size_t per_phone = std::max<std::size_t>(options.calls_per_phone, 1);
    config.caller_phones = static_cast<std::size_t>((options.hold + per_phone - 1) / per_phone);
    sim::FlowBench bench(config);
    if (!bench.setup_error().empty()) {
        std::cerr << "sipcc bench: " << bench.setup_error() << "\n";
        return 2;
    }
    const std::uint64_t resident_before = sim::resident_bytes();
    const std::uint64_t heap_before = sim::heap_in_use_bytes();
    const auto wall_start = Clock::now();
    ProgressLine progress(options.progress || isatty(STDERR_FILENO) != 0, wall_start);
    const bool all_ringing = bench.open_held_flows(options.hold, [&](const sim::FlowStats& stats) {
        progress.update(stats, bench.active_flows(), true);
    });
    const double wall_s = seconds_since(wall_start);
    progress.finish();
    const std::uint64_t resident_after = sim::resident_bytes();
    const std::uint64_t heap_after = sim::heap_in_use_bytes();

    const auto& stats = bench.stats();
    const auto held = static_cast<double>(stats.ringing);
    const auto delta = [](std::uint64_t after, std::uint64_t before) {
        return static_cast<double>(after) - static_cast<double>(before);
    };
    const double resident_per_flow = ratio(delta(resident_after, resident_before), held);
    const double heap_per_flow = ratio(delta(heap_after, heap_before), held);
    const auto owner_per_flow = [&](sim::FarmRole role) {
        return ratio(static_cast<double>(stats.heap_bytes[static_cast<std::size_t>(role)]), held);
    };

    if (options.json) {
        nlohmann::json owners = nlohmann::json::object();
        for (std::size_t role = 0; role < sim::kFarmRoles; ++role) {
            owners[json_key(static_cast<sim::FarmRole>(role))] =
                owner_per_flow(static_cast<sim::FarmRole>(role));
        }
        const nlohmann::json report = {
            {"mode", "in-memory-hold"},
            {"config",
             {{"hold", options.hold},
              {"concurrency", options.concurrency},
              {"caller_phones", bench.caller_phones()},
              {"calls_per_phone", per_phone},
              {"seed", options.seed}}},
            {"held", stats.ringing},
            {"failed", stats.failed},
            {"wall_s", wall_s},
            {"virtual_s", static_cast<double>(bench.now_ms()) / 1000.0},
            {"resident_bytes", {{"before", resident_before}, {"after", resident_after}}},
            {"heap_bytes", {{"before", heap_before}, {"after", heap_after}}},
            {"bytes_per_active_flow",
             {{"resident", resident_per_flow}, {"heap", heap_per_flow}, {"heap_by_owner", owners}}},
        };
        std::cout << report.dump(2) << "\n";
    } else {
        const auto mib = [](double bytes) { return fixed(bytes / (1024.0 * 1024.0), 1); };
        std::string out;
        out += "sipcc bench --in-memory --hold " + grouped(options.hold) +
               ": flows held open (caller phones ring and never answer)\n";
        out += "  farm      1 controller, " + grouped(bench.caller_phones()) + " caller phones (" +
               grouped(per_phone) + " calls each), opening " + grouped(options.concurrency) +
               " at a time\n";
        out += "  held      " + grouped(stats.ringing) + " flows ringing, " +
               grouped(stats.failed) + " failed (opened in " + fixed(wall_s, 2) + " s wall)\n";
        out += "  memory    resident +" + mib(delta(resident_after, resident_before)) +
               " MiB = " + grouped(static_cast<std::uint64_t>(resident_per_flow)) +
               " B per active flow (/proc/self/statm)\n";
        out += "            heap in use +" + mib(delta(heap_after, heap_before)) +
               " MiB = " + grouped(static_cast<std::uint64_t>(heap_per_flow)) +
               " B per active flow (mallinfo2)\n";
        out += "  by owner  controller " +
               grouped(static_cast<std::uint64_t>(owner_per_flow(sim::FarmRole::controller))) +
               " B, caller phones " +
               grouped(static_cast<std::uint64_t>(owner_per_flow(sim::FarmRole::caller_phone))) +
               " B, driver " +
               grouped(static_cast<std::uint64_t>(owner_per_flow(sim::FarmRole::driver))) +
               " B per active flow (heap)\n";
        std::cout << out;
    }
    return all_ringing && stats.failed == 0 ? 0 : 1;
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<BenchOptions>();
    auto* command = app.add_subcommand(
        "bench",
        "Click-to-dial load: flows/s, latency, CPU per flow; --hold: memory per active flow");
    command->footer(
        "Mode --in-memory: one controller and a farm of simulated phones on one thread, on "
        "virtual time (latencies are virtual ms). Loopback UDP/TCP against `sipcc farm` or a "
        "PBX: not yet (comes with the transports).");
    command->add_flag("--in-memory", options->in_memory,
                      "Controller and simulated phones in this process (the default)");
    command->add_option("--flows", options->flows, "Flows to run")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40))
        ->capture_default_str();
    command->add_option("--concurrency", options->concurrency, "Flows in progress at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
        ->capture_default_str();
    command
        ->add_option("--rate", options->rate_per_s,
                     "Flows started per virtual second (0: as fast as possible)")
        ->check(CLI::Range(0.0, 1e7))
        ->capture_default_str();
    command
        ->add_option("--duration", options->duration_s,
                     "Start flows for this many wall seconds instead of --flows")
        ->check(CLI::Range(0.0, 1e6));
    command
        ->add_option("--hold", options->hold,
                     "Open this many flows whose phones never answer; report memory per flow")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10000000}));
    command->add_option("--latency-ms", options->latency_ms, "One-way latency of every link")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{10000}))
        ->capture_default_str();
    command->add_option("--loss", options->loss, "Probability a datagram is lost (0..1)")
        ->check(CLI::Range(0.0, 0.5))
        ->capture_default_str();
    command
        ->add_option("--answer-after-ms", options->answer_after_ms,
                     "The caller's phone answers after this long")
        ->capture_default_str();
    command
        ->add_option("--talk-ms", options->talk_ms,
                     "The transferred call lasts this long before the caller hangs up")
        ->capture_default_str();
    command
        ->add_option("--calls-per-phone", options->calls_per_phone,
                     "Size the phone farm so no phone carries more calls at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
        ->capture_default_str();
    command
        ->add_option("--t1-ms", options->t1_ms,
                     "RFC 3261 T1 of every engine (T2 = 8*T1, T4 = 10*T1); finished "
                     "transactions linger up to 64*T1")
        ->check(CLI::Range(std::uint64_t{5}, std::uint64_t{10000}))
        ->capture_default_str();
    command->add_option("--seed", options->seed, "Seed of tags, branches and losses")
        ->capture_default_str();
    command->add_flag("--json", options->json, "One JSON report on stdout");
    command->add_flag("--progress", options->progress,
                      "Live progress line on stderr even when it is not a terminal");
    command->callback([options, &exit_code] {
        exit_code = options->hold > 0 ? run_hold(*options) : run_flows(*options);
    });
}

}  // namespace sipcc::cli
