// A whole click-to-dial flow in memory: the Controller and a farm of simulated phones on
// virtual time, every message encoded and parsed on both sides (simulator/bench_flows.hpp).
// Next to it, the bound the issue measures against: the raw libosip2 parse + serialize cost
// of exactly the datagrams of one flow (captured from the same driver), and sipcc's own
// parse + serialize of those datagrams.
//
//   flows/s of BM_ClickToDialFlow / flows/s of BM_OsipRawFlowMessages
//       = share of the osip parse + serialize bound reached (target: >= 60 %)
#include <benchmark/benchmark.h>
#include <osipparser2/osip_parser.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/message/parser.hpp"
#include "simulator/bench_flows.hpp"

namespace {

constexpr std::uint64_t kWarmUpFlows = 200;

const std::vector<std::string>& flow_datagrams() {
    static const std::vector<std::string> datagrams = sipcc::sim::capture_one_flow();
    return datagrams;
}

std::size_t total_bytes(const std::vector<std::string>& datagrams) {
    std::size_t bytes = 0;
    for (const auto& datagram : datagrams) bytes += datagram.size();
    return bytes;
}

void BM_ClickToDialFlow(benchmark::State& state) {
    sipcc::sim::FlowBenchConfig config;
    config.concurrency = static_cast<std::size_t>(state.range(0));
    config.count_retransmissions = false;  // no loss here; spare the hashing
    sipcc::sim::FlowBench bench(config);
    if (!bench.setup_error().empty()) {
        state.SkipWithError(bench.setup_error().c_str());
        return;
    }
    constexpr auto kNoLimit = std::numeric_limits<std::uint64_t>::max();
    bench.run(kWarmUpFlows, kNoLimit);
    const auto before = bench.stats();
    for (auto _ : state) {
        if (!bench.run(bench.stats().finished() + 1, kNoLimit)) {
            state.SkipWithError("the flow driver ran dry");
            return;
        }
    }
    const auto after = bench.stats();
    const auto flows = static_cast<double>(after.finished() - before.finished());
    const auto delta = [](std::uint64_t a, std::uint64_t b) { return static_cast<double>(a - b); };
    state.counters["flows/s"] = benchmark::Counter(flows, benchmark::Counter::kIsRate);
    state.counters["failed"] = delta(after.failed, before.failed);
    // Share of the busy time spent inside the controller (the rest: phones and driver).
    std::uint64_t busy_ns = 0, before_busy_ns = 0;
    for (std::size_t role = 0; role < sipcc::sim::kFarmRoles; ++role) {
        busy_ns += after.busy_ns[role];
        before_busy_ns += before.busy_ns[role];
    }
    const auto controller = static_cast<std::size_t>(sipcc::sim::FarmRole::controller);
    state.counters["ctrl share"] = delta(after.busy_ns[controller], before.busy_ns[controller]) /
                                   delta(busy_ns, before_busy_ns);
    // Messages per flow, exactly: finish what is in flight (untimed) and count them all.
    bench.run(bench.stats().started, bench.stats().started);
    bench.settle(2000);
    const auto& all = bench.stats();
    state.counters["msgs/flow"] =
        static_cast<double>(all.datagrams_sent) / static_cast<double>(all.finished());
    state.counters["ctrl msgs/flow"] =
        static_cast<double>(all.controller_datagrams) / static_cast<double>(all.finished());
    state.SetLabel("concurrency " + std::to_string(config.concurrency));
}

// The bound: libosip2 parses each datagram of one flow once and writes it once.
void BM_OsipRawFlowMessages(benchmark::State& state) {
    parser_init();
    const auto& datagrams = flow_datagrams();
    if (datagrams.empty()) {
        state.SkipWithError("capturing one flow failed");
        return;
    }
    for (auto _ : state) {
        for (const auto& bytes : datagrams) {
            osip_message_t* message = nullptr;
            osip_message_init(&message);
            osip_message_parse(message, bytes.data(), bytes.size());
            osip_message_force_update(message);  // make osip really rebuild the text
            char* text = nullptr;
            size_t length = 0;
            osip_message_to_str(message, &text, &length);
            benchmark::DoNotOptimize(text);
            osip_free(text);
            osip_message_free(message);
        }
    }
    state.counters["flows/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["msgs/flow"] = static_cast<double>(datagrams.size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(datagrams)));
}

// sipcc's message layer on the same datagrams: parse_message + to_bytes each.
void BM_SipccFlowMessages(benchmark::State& state) {
    const auto& datagrams = flow_datagrams();
    if (datagrams.empty()) {
        state.SkipWithError("capturing one flow failed");
        return;
    }
    for (auto _ : state) {
        for (const auto& bytes : datagrams) {
            auto message = sipcc::parse_message(bytes);
            auto wire = message->to_bytes();
            benchmark::DoNotOptimize(wire);
        }
    }
    state.counters["flows/s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["msgs/flow"] = static_cast<double>(datagrams.size());
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(datagrams)));
}

BENCHMARK(BM_ClickToDialFlow)->Arg(1)->Arg(100);
BENCHMARK(BM_OsipRawFlowMessages);
BENCHMARK(BM_SipccFlowMessages);

}  // namespace
