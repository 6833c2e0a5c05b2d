// Parse and serialize microbenchmarks for the four messages of a click-to-dial flow
// (INVITE with SDP, 200 OK, NOTIFY with sipfrag, REFER; tests/fuzz/corpus). The raw
// libosip2 baseline lives in the same binary so the adapter's overhead reads as a ratio:
// BM_SipccParse / BM_OsipRawParse, BM_SipccParseAndSerialize / BM_OsipRawParseAndSerialize.
// (Benchmarks may include libosip2 directly; core/ may not.)
#include <benchmark/benchmark.h>
#include <osipparser2/osip_parser.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "core/message/parser.hpp"

namespace {

const char* const kSamples[] = {"invite_sdp.sip", "ok_200.sip", "notify_sipfrag.sip", "refer.sip"};

std::string read_sample(const char* name) {
    std::ifstream file(std::string(SIPCC_SAMPLES_DIR) + "/" + name, std::ios::binary);
    std::ostringstream contents;
    contents << file.rdbuf();
    return contents.str();
}

// The sample for the benchmark's argument; skips the benchmark when it cannot be read.
bool load_sample(benchmark::State& state, std::string& bytes) {
    const char* name = kSamples[state.range(0)];
    bytes = read_sample(name);
    state.SetLabel(name);
    if (bytes.empty()) {
        state.SkipWithError((std::string("cannot read ") + name).c_str());
        return false;
    }
    return true;
}

void BM_OsipRawParse(benchmark::State& state) {
    parser_init();
    std::string bytes;
    if (!load_sample(state, bytes)) return;
    for (auto _ : state) {
        osip_message_t* message = nullptr;
        osip_message_init(&message);
        benchmark::DoNotOptimize(osip_message_parse(message, bytes.data(), bytes.size()));
        osip_message_free(message);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

void BM_OsipRawSerialize(benchmark::State& state) {
    parser_init();
    std::string bytes;
    if (!load_sample(state, bytes)) return;
    osip_message_t* message = nullptr;
    osip_message_init(&message);
    osip_message_parse(message, bytes.data(), bytes.size());
    for (auto _ : state) {
        osip_message_force_update(message);  // make osip really rebuild the text
        char* text = nullptr;
        size_t length = 0;
        osip_message_to_str(message, &text, &length);
        benchmark::DoNotOptimize(text);
        osip_free(text);
    }
    osip_message_free(message);
}

void BM_OsipRawParseAndSerialize(benchmark::State& state) {
    parser_init();
    std::string bytes;
    if (!load_sample(state, bytes)) return;
    for (auto _ : state) {
        osip_message_t* message = nullptr;
        osip_message_init(&message);
        osip_message_parse(message, bytes.data(), bytes.size());
        osip_message_force_update(message);
        char* text = nullptr;
        size_t length = 0;
        osip_message_to_str(message, &text, &length);
        benchmark::DoNotOptimize(text);
        osip_free(text);
        osip_message_free(message);
    }
}

void BM_SipccParse(benchmark::State& state) {
    std::string bytes;
    if (!load_sample(state, bytes)) return;
    for (auto _ : state) {
        auto message = sipcc::parse_message(bytes);
        benchmark::DoNotOptimize(message);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}

void BM_SipccSerialize(benchmark::State& state) {
    std::string bytes;
    if (!load_sample(state, bytes)) return;
    const auto message = sipcc::parse_message(bytes);
    if (!message) {
        state.SkipWithError(message.error().c_str());
        return;
    }
    for (auto _ : state) {
        auto wire = message->to_bytes();
        benchmark::DoNotOptimize(wire);
    }
}

void BM_SipccParseAndSerialize(benchmark::State& state) {
    std::string bytes;
    if (!load_sample(state, bytes)) return;
    for (auto _ : state) {
        auto message = sipcc::parse_message(bytes);
        auto wire = message->to_bytes();
        benchmark::DoNotOptimize(wire);
    }
}

BENCHMARK(BM_OsipRawParse)->DenseRange(0, 3);
BENCHMARK(BM_OsipRawSerialize)->DenseRange(0, 3);
BENCHMARK(BM_OsipRawParseAndSerialize)->DenseRange(0, 3);
BENCHMARK(BM_SipccParse)->DenseRange(0, 3);
BENCHMARK(BM_SipccSerialize)->DenseRange(0, 3);
BENCHMARK(BM_SipccParseAndSerialize)->DenseRange(0, 3);

}  // namespace
