// Digest authentication: the response hash alone (compute_response) and the whole
// Authorization value a UAC sends (build_authorization: hash plus formatting), for MD5 and
// SHA-256 with qop=auth (RFC 7616), and parsing the challenge that precedes them.
#include <benchmark/benchmark.h>

#include <string>

#include "core/auth/digest.hpp"

namespace {

using sipcc::auth::DigestAlgorithm;

DigestAlgorithm algorithm_for(const benchmark::State& state) {
    return state.range(0) == 0 ? DigestAlgorithm::md5 : DigestAlgorithm::sha256;
}

sipcc::auth::DigestChallenge challenge_for(DigestAlgorithm algorithm) {
    sipcc::auth::DigestChallenge challenge;
    challenge.realm = "pbx.example.com";
    challenge.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
    challenge.opaque = "5ccc069c403ebaf9f0171e9517f40e41";
    challenge.algorithm = std::string(sipcc::auth::algorithm_name(algorithm));
    challenge.qop_options = {"auth"};
    return challenge;
}

void BM_DigestComputeResponse(benchmark::State& state) {
    const DigestAlgorithm algorithm = algorithm_for(state);
    sipcc::auth::DigestResponseInputs inputs;
    inputs.algorithm = algorithm;
    inputs.qop = sipcc::auth::Qop::auth;
    inputs.username = "c2d";
    inputs.realm = "pbx.example.com";
    inputs.password = "secret";
    inputs.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
    inputs.cnonce = "0a4f113b";
    inputs.nonce_count = "00000001";
    inputs.method = "REFER";
    inputs.digest_uri = "sip:alice@192.0.2.20:5062";
    for (auto _ : state) {
        auto response = sipcc::auth::compute_response(inputs);
        benchmark::DoNotOptimize(response);
    }
    state.SetLabel(std::string(sipcc::auth::algorithm_name(algorithm)));
}

void BM_DigestBuildAuthorization(benchmark::State& state) {
    const DigestAlgorithm algorithm = algorithm_for(state);
    const auto challenge = challenge_for(algorithm);
    const sipcc::auth::Credentials credentials{"c2d", "secret"};
    const sipcc::auth::DigestRequest request{"REFER", "sip:alice@192.0.2.20:5062", ""};
    for (auto _ : state) {
        auto value =
            sipcc::auth::build_authorization(challenge, credentials, request, 1, "0a4f113b");
        benchmark::DoNotOptimize(value);
    }
    state.SetLabel(std::string(sipcc::auth::algorithm_name(algorithm)));
}

void BM_DigestParseChallenge(benchmark::State& state) {
    const DigestAlgorithm algorithm = algorithm_for(state);
    const std::string value =
        "Digest realm=\"pbx.example.com\", "
        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", algorithm=" +
        std::string(sipcc::auth::algorithm_name(algorithm)) +
        ", qop=\"auth\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    for (auto _ : state) {
        auto challenge = sipcc::auth::parse_challenge(value, false);
        benchmark::DoNotOptimize(challenge);
    }
    state.SetLabel(std::string(sipcc::auth::algorithm_name(algorithm)));
}

BENCHMARK(BM_DigestComputeResponse)->Arg(0)->Arg(1);
BENCHMARK(BM_DigestBuildAuthorization)->Arg(0)->Arg(1);
BENCHMARK(BM_DigestParseChallenge)->Arg(0)->Arg(1);

}  // namespace
