// Parser and serializer microbenchmarks. The raw osip_message_parse baseline
// lives in the same binary so the adapter's overhead reads as a ratio.
// (Benchmarks may include libosip2 directly; core/ may not.)
#include <benchmark/benchmark.h>
#include <osipparser2/osip_parser.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/message/parser.hpp"

namespace {

std::string read_sample(const char* name) {
    std::ifstream file(std::string(SIPCC_SAMPLES_DIR) + "/" + name, std::ios::binary);
    std::ostringstream contents;
    contents << file.rdbuf();
    return contents.str();
}

const char* const kSamples[] = {"invite_sdp.sip", "ok_200.sip", "notify_sipfrag.sip", "refer.sip"};

void BM_OsipRawParse(benchmark::State& state) {
    parser_init();
    const auto bytes = read_sample(kSamples[state.range(0)]);
    for (auto _ : state) {
        osip_message_t* message = nullptr;
        osip_message_init(&message);
        benchmark::DoNotOptimize(osip_message_parse(message, bytes.data(), bytes.size()));
        osip_message_free(message);
    }
    state.SetLabel(kSamples[state.range(0)]);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}

void BM_OsipRawParseAndSerialize(benchmark::State& state) {
    parser_init();
    const auto bytes = read_sample(kSamples[state.range(0)]);
    for (auto _ : state) {
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
    state.SetLabel(kSamples[state.range(0)]);
}

void BM_SipccParse(benchmark::State& state) {
    const auto bytes = read_sample(kSamples[state.range(0)]);
    for (auto _ : state) {
        auto message = sipcc::parse_message(bytes);
        benchmark::DoNotOptimize(message);
    }
    state.SetLabel(kSamples[state.range(0)]);
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}

void BM_SipccSerialize(benchmark::State& state) {
    const auto message = *sipcc::parse_message(read_sample(kSamples[state.range(0)]));
    for (auto _ : state) {
        auto wire = message.to_bytes();
        benchmark::DoNotOptimize(wire);
    }
    state.SetLabel(kSamples[state.range(0)]);
}

void BM_SipccParseAndSerialize(benchmark::State& state) {
    const auto bytes = read_sample(kSamples[state.range(0)]);
    for (auto _ : state) {
        auto wire = sipcc::parse_message(bytes)->to_bytes();
        benchmark::DoNotOptimize(wire);
    }
    state.SetLabel(kSamples[state.range(0)]);
}

BENCHMARK(BM_OsipRawParse)->DenseRange(0, 3);
BENCHMARK(BM_OsipRawParseAndSerialize)->DenseRange(0, 3);
BENCHMARK(BM_SipccParse)->DenseRange(0, 3);
BENCHMARK(BM_SipccSerialize)->DenseRange(0, 3);
BENCHMARK(BM_SipccParseAndSerialize)->DenseRange(0, 3);

}  // namespace

BENCHMARK_MAIN();
