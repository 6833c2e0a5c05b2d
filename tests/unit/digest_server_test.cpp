// Digest server side, and SIP-flavoured round trips between DigestClient and DigestServer.
#include "core/auth/digest_server.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/auth/auth_params.hpp"
#include "core/auth/digest.hpp"

namespace sipcc::auth {
namespace {

constexpr std::string_view kRealm = "pbx.example.com";
constexpr std::string_view kSdp =
    "v=0\r\no=alice 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0\r\n";
const DigestRequest kRegister{"REGISTER", "sip:pbx.example.com", ""};
const DigestRequest kInvite{"INVITE", "sip:bob@pbx.example.com", kSdp};
const Credentials kAlice{"alice", "wonderland"};

RandomSource seeded_random(std::uint64_t seed) {
    auto generator = std::make_shared<std::mt19937_64>(seed);
    return [generator] { return (*generator)(); };
}

PasswordLookup directory() {
    return [](std::string_view user) -> std::optional<std::string> {
        static const std::map<std::string, std::string, std::less<>> passwords{
            {"alice", "wonderland"}, {"1001", "desk-phone"}};
        const auto found = passwords.find(user);
        if (found == passwords.end()) {
            return std::nullopt;
        }
        return found->second;
    };
}

DigestServerConfig config_with(std::vector<DigestAlgorithm> algorithms, std::vector<Qop> qop) {
    DigestServerConfig config;
    config.realm = std::string(kRealm);
    config.algorithms = std::move(algorithms);
    config.qop_options = std::move(qop);
    return config;
}

DigestServer make_server(DigestServerConfig config = config_with({DigestAlgorithm::md5},
                                                                 {Qop::auth})) {
    auto server = DigestServer::create(std::move(config), seeded_random(99));
    EXPECT_TRUE(server.ok()) << server.error();
    return std::move(server).value();
}

DigestChallenge parsed(const std::string& header_value) {
    auto challenge = parse_challenge(header_value, false);
    EXPECT_TRUE(challenge.ok()) << challenge.error() << " in " << header_value;
    return challenge.ok() ? *challenge : DigestChallenge{};
}

// Client answers a fresh challenge from `server` for `request`.
std::string answer(DigestServer& server, DigestClient& client, const Credentials& credentials,
                   const DigestRequest& request, std::uint64_t now_ms) {
    const auto header = client.respond(parsed(server.make_challenge(now_ms)), credentials, request);
    EXPECT_TRUE(header.ok()) << header.error();
    return header.ok() ? *header : std::string();
}

std::string param_of_header(const std::string& header_value, std::string_view name) {
    auto value = parse_auth_value(header_value);
    return value ? std::string(value->get(name).value_or("")) : "<unparsable>";
}

std::string replace_param(const std::string& header, std::string_view name,
                          std::string_view new_value) {
    auto value = parse_auth_value(header);
    EXPECT_TRUE(value.ok());
    AuthParamWriter writer(value->scheme);
    for (const auto& param : value->params) {
        const std::string_view text = param.name == name ? new_value : param.value;
        if (param.was_quoted) {
            writer.add_quoted(param.name, text);
        } else {
            writer.add_token(param.name, text);
        }
    }
    return writer.str();
}

// ---------------------------------------------------------------------------------------------
// Configuration and challenges

TEST(DigestServerCreate, RejectsUnusableConfigurations) {
    EXPECT_FALSE(
        DigestServer::create(config_with({DigestAlgorithm::md5}, {Qop::auth}), RandomSource{})
            .ok());
    auto no_realm = config_with({DigestAlgorithm::md5}, {Qop::auth});
    no_realm.realm.clear();
    EXPECT_FALSE(DigestServer::create(no_realm, seeded_random(1)).ok());
    EXPECT_FALSE(DigestServer::create(config_with({}, {Qop::auth}), seeded_random(1)).ok());
    const auto sess_without_qop =
        DigestServer::create(config_with({DigestAlgorithm::sha256_sess}, {}), seeded_random(1));
    ASSERT_FALSE(sess_without_qop.ok());
    EXPECT_NE(sess_without_qop.error().find("qop"), std::string::npos);
    auto zero_lifetime = config_with({DigestAlgorithm::md5}, {Qop::auth});
    zero_lifetime.nonce_lifetime_ms = 0;
    EXPECT_FALSE(DigestServer::create(zero_lifetime, seeded_random(1)).ok());
}

TEST(DigestServerChallenge, HasTheDocumentedShape) {
    DigestServer server = make_server(config_with({DigestAlgorithm::sha256}, {Qop::auth}));
    const std::string header = server.make_challenge(1'000);
    EXPECT_EQ(header.rfind("Digest realm=\"pbx.example.com\", nonce=\"", 0), 0u) << header;
    EXPECT_NE(header.find(", algorithm=SHA-256, qop=\"auth\""), std::string::npos) << header;
    EXPECT_EQ(header.find("stale"), std::string::npos);

    const DigestChallenge challenge = parsed(header);
    EXPECT_EQ(challenge.realm, kRealm);
    EXPECT_EQ(challenge.algorithm, "SHA-256");
    EXPECT_EQ(challenge.qop_options, std::vector<std::string>{"auth"});
    EXPECT_FALSE(challenge.opaque.empty());
    EXPECT_FALSE(challenge.stale);

    const std::string stale = server.make_challenge(2'000, true);
    EXPECT_NE(stale.find("stale=true"), std::string::npos);
    EXPECT_TRUE(parsed(stale).stale);
    EXPECT_NE(parsed(stale).nonce, challenge.nonce);
}

TEST(DigestServerChallenge, QopListAndNoQop) {
    DigestServer both =
        make_server(config_with({DigestAlgorithm::md5}, {Qop::auth, Qop::auth_int}));
    EXPECT_EQ(parsed(both.make_challenge(0)).qop_options,
              (std::vector<std::string>{"auth", "auth-int"}));
    DigestServer none = make_server(config_with({DigestAlgorithm::md5}, {}));
    EXPECT_EQ(none.make_challenge(0).find("qop"), std::string::npos);
}

TEST(DigestServerChallenge, NoncesDependOnlyOnTheSuppliedRandomSource) {
    auto first =
        DigestServer::create(config_with({DigestAlgorithm::md5}, {Qop::auth}), seeded_random(5));
    auto second =
        DigestServer::create(config_with({DigestAlgorithm::md5}, {Qop::auth}), seeded_random(5));
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(first->make_challenge(10), second->make_challenge(10));
    EXPECT_NE(first->make_challenge(10), first->make_challenge(10));
}

// ---------------------------------------------------------------------------------------------
// Round trips: every algorithm x qop

struct RoundTripCase {
    DigestAlgorithm algorithm;
    std::vector<Qop> qop_offered;  // empty: no qop
};

std::vector<RoundTripCase> round_trip_cases() {
    std::vector<RoundTripCase> cases;
    for (auto algorithm : {DigestAlgorithm::md5, DigestAlgorithm::md5_sess, DigestAlgorithm::sha256,
                           DigestAlgorithm::sha256_sess, DigestAlgorithm::sha512_256,
                           DigestAlgorithm::sha512_256_sess}) {
        if (!algorithm_available(algorithm)) {
            continue;
        }
        cases.push_back({algorithm, {Qop::auth}});
        cases.push_back({algorithm, {Qop::auth_int}});
        if (!is_session_algorithm(algorithm)) {
            cases.push_back({algorithm, {}});
        }
    }
    return cases;
}

std::string case_name(const testing::TestParamInfo<RoundTripCase>& info) {
    std::string name(algorithm_name(info.param.algorithm));
    name += info.param.qop_offered.empty() ? "_noqop"
                                           : "_" + std::string(qop_name(info.param.qop_offered[0]));
    for (char& c : name) {
        if (c == '-') {
            c = '_';
        }
    }
    return name;
}

class DigestRoundTrip : public testing::TestWithParam<RoundTripCase> {};

TEST_P(DigestRoundTrip, ClientAndServerAgree) {
    const RoundTripCase& round = GetParam();
    DigestServer server = make_server(config_with({round.algorithm}, round.qop_offered));
    DigestClient client(seeded_random(3));

    // REGISTER without a body, then INVITE with SDP (the body matters for auth-int).
    const std::string register_auth = answer(server, client, kAlice, kRegister, 1'000);
    const VerifyOutcome registered =
        server.verify(register_auth, "REGISTER", "", directory(), 1'050);
    EXPECT_EQ(registered.status, VerifyStatus::ok) << registered.detail;
    EXPECT_EQ(registered.user, "alice");
    EXPECT_EQ(registered.digest_uri, "sip:pbx.example.com");
    EXPECT_EQ(param_of_header(register_auth, "algorithm"), algorithm_name(round.algorithm));
    client.accepted(kRealm, false);

    const std::string invite_auth = answer(server, client, kAlice, kInvite, 2'000);
    const VerifyOutcome invited = server.verify(invite_auth, "INVITE", kSdp, directory(), 2'010);
    EXPECT_EQ(invited.status, VerifyStatus::ok) << invited.detail;

    const std::string qop_sent = param_of_header(invite_auth, "qop");
    EXPECT_EQ(qop_sent, round.qop_offered.empty() ? "" : qop_name(round.qop_offered[0]));

    // A changed body is only caught by auth-int; a changed method always is. Fresh clients:
    // these requests are refused, and `client` would rightly stop answering after that.
    DigestClient tamper_client(seeded_random(4));
    const std::string next = answer(server, tamper_client, kAlice, kInvite, 3'000);
    const VerifyOutcome tampered =
        server.verify(next, "INVITE", "v=0\r\nm=video\r\n", directory(), 3'010);
    const bool body_protected = !round.qop_offered.empty() && round.qop_offered[0] == Qop::auth_int;
    EXPECT_EQ(tampered.status, body_protected ? VerifyStatus::bad_credentials : VerifyStatus::ok)
        << tampered.detail;
    DigestClient method_client(seeded_random(5));
    const std::string other = answer(server, method_client, kAlice, kInvite, 4'000);
    EXPECT_EQ(server.verify(other, "BYE", kSdp, directory(), 4'010).status,
              VerifyStatus::bad_credentials);
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithmsAndQops, DigestRoundTrip,
                         testing::ValuesIn(round_trip_cases()), case_name);

// ---------------------------------------------------------------------------------------------
// Verification outcomes

TEST(DigestServerVerify, StaleNoncePathRetriesWithTheNewNonce) {
    DigestServerConfig config = config_with({DigestAlgorithm::sha256}, {Qop::auth});
    config.nonce_lifetime_ms = 30'000;
    DigestServer server = make_server(config);
    DigestClient client(seeded_random(8));

    // The answer reaches the server only after the nonce expired.
    const std::string late = answer(server, client, kAlice, kRegister, 0);
    const VerifyOutcome expired = server.verify(late, "REGISTER", "", directory(), 30'000);
    ASSERT_EQ(expired.status, VerifyStatus::stale_nonce) << expired.detail;

    const DigestChallenge retry_challenge = parsed(server.make_challenge(30'001, true));
    ASSERT_TRUE(retry_challenge.stale);
    const auto retry = client.respond(retry_challenge, kAlice, kRegister);
    ASSERT_TRUE(retry.ok()) << retry.error();
    EXPECT_EQ(param_of_header(*retry, "nc"), "00000001");
    const VerifyOutcome accepted = server.verify(*retry, "REGISTER", "", directory(), 30'002);
    EXPECT_EQ(accepted.status, VerifyStatus::ok) << accepted.detail;
}

TEST(DigestServerVerify, StaleAfterReuseOfAnExpiredNonce) {
    DigestServer server = make_server();
    DigestClient client(seeded_random(8));
    const std::string first = answer(server, client, kAlice, kRegister, 0);
    ASSERT_TRUE(server.verify(first, "REGISTER", "", directory(), 10).ok());
    client.accepted(kRealm, false);
    const auto reused = client.reauthorize(kRealm, false, kAlice, kRegister);
    ASSERT_TRUE(reused.ok());
    EXPECT_EQ(server.verify(*reused, "REGISTER", "", directory(), 45'000).status,
              VerifyStatus::stale_nonce);
}

TEST(DigestServerVerify, ExpiredNonceWithWrongPasswordIsNotStale) {
    DigestServer server = make_server();
    DigestClient client(seeded_random(8));
    const std::string wrong = answer(server, client, {"alice", "guess"}, kRegister, 0);
    EXPECT_EQ(server.verify(wrong, "REGISTER", "", directory(), 60'000).status,
              VerifyStatus::bad_credentials);
}

TEST(DigestServerVerify, ReplayedOrLowerNcIsRejected) {
    DigestServer server = make_server();
    DigestClient client(seeded_random(8));
    const std::string first = answer(server, client, kAlice, kRegister, 0);
    ASSERT_TRUE(server.verify(first, "REGISTER", "", directory(), 1).ok());
    const VerifyOutcome replay = server.verify(first, "REGISTER", "", directory(), 2);
    EXPECT_EQ(replay.status, VerifyStatus::replayed_nonce_count) << replay.detail;

    client.accepted(kRealm, false);
    const auto second = client.reauthorize(kRealm, false, kAlice, kRegister);  // nc=2
    const auto third = client.reauthorize(kRealm, false, kAlice, kRegister);   // nc=3
    ASSERT_TRUE(second.ok() && third.ok());
    EXPECT_TRUE(server.verify(*third, "REGISTER", "", directory(), 3).ok());
    EXPECT_EQ(server.verify(*second, "REGISTER", "", directory(), 4).status,
              VerifyStatus::replayed_nonce_count);
}

TEST(DigestServerVerify, WithoutQopANonceIsSingleUse) {
    DigestServer server = make_server(config_with({DigestAlgorithm::md5}, {}));
    DigestClient client(seeded_random(8));
    const std::string first = answer(server, client, kAlice, kRegister, 0);
    ASSERT_TRUE(server.verify(first, "REGISTER", "", directory(), 1).ok());
    EXPECT_EQ(server.verify(first, "REGISTER", "", directory(), 2).status,
              VerifyStatus::stale_nonce);
}

TEST(DigestServerVerify, WrongPasswordIsRejectedAndTheClientStopsRetrying) {
    DigestServer server = make_server();
    DigestClient client(seeded_random(8));
    const std::string wrong = answer(server, client, {"alice", "guess"}, kRegister, 0);
    const VerifyOutcome verdict = server.verify(wrong, "REGISTER", "", directory(), 1);
    EXPECT_EQ(verdict.status, VerifyStatus::bad_credentials);
    EXPECT_EQ(verdict.user, "alice");

    // The PBX answers bad credentials with a fresh (non-stale) challenge; no retry loop.
    const auto again =
        client.respond(parsed(server.make_challenge(2)), {"alice", "guess"}, kRegister);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().find("authentication failed"), std::string::npos);
}

TEST(DigestServerVerify, UnknownUser) {
    DigestServer server = make_server();
    DigestClient client(seeded_random(8));
    const std::string header = answer(server, client, {"mallory", "x"}, kRegister, 0);
    const VerifyOutcome verdict = server.verify(header, "REGISTER", "", directory(), 1);
    EXPECT_EQ(verdict.status, VerifyStatus::unknown_user);
    EXPECT_EQ(verdict.user, "mallory");
    EXPECT_EQ(server.verify(header, "REGISTER", "", PasswordLookup{}, 1).status,
              VerifyStatus::unknown_user);
}

TEST(DigestServerVerify, AuthUserDistinctFromTheSipUser) {
    // The SIP identity is sip:alice@pbx.example.com, but the phone authenticates as "1001".
    DigestServer server = make_server();
    DigestClient client(seeded_random(8));
    std::string looked_up;
    const PasswordLookup recording = [&looked_up](std::string_view user) {
        looked_up = std::string(user);
        return directory()(user);
    };
    const std::string header = answer(server, client, {"1001", "desk-phone"}, kRegister, 0);
    const VerifyOutcome verdict = server.verify(header, "REGISTER", "", recording, 1);
    EXPECT_EQ(verdict.status, VerifyStatus::ok) << verdict.detail;
    EXPECT_EQ(verdict.user, "1001");
    EXPECT_EQ(looked_up, "1001");
}

TEST(DigestServerVerify, UnknownNonce) {
    DigestServer server = make_server();
    auto other = DigestServer::create(config_with({DigestAlgorithm::md5}, {Qop::auth}),
                                      seeded_random(1234));  // another secret
    ASSERT_TRUE(other.ok());
    DigestClient client(seeded_random(8));
    const std::string from_other = answer(*other, client, kAlice, kRegister, 0);
    EXPECT_EQ(server.verify(from_other, "REGISTER", "", directory(), 1).status,
              VerifyStatus::unknown_nonce);
    const std::string forged = replace_param(from_other, "nonce", "0123456789abcdef");
    const VerifyOutcome verdict = server.verify(forged, "REGISTER", "", directory(), 1);
    EXPECT_EQ(verdict.status, VerifyStatus::unknown_nonce) << verdict.detail;
}

TEST(DigestServerVerify, SeveralChallengesClientPicksSha256AndServerAccepts) {
    DigestServer server =
        make_server(config_with({DigestAlgorithm::md5, DigestAlgorithm::sha256}, {Qop::auth}));
    const std::vector<std::string> values = server.make_challenges(0);
    ASSERT_EQ(values.size(), 2u);
    std::vector<DigestChallenge> challenges;
    for (const auto& value : values) {
        challenges.push_back(parsed(value));
    }
    EXPECT_EQ(challenges[0].nonce, challenges[1].nonce);
    const DigestChallenge* chosen = choose_strongest(challenges);
    ASSERT_NE(chosen, nullptr);
    EXPECT_EQ(chosen->algorithm, "SHA-256");

    DigestClient client(seeded_random(8));
    const auto header = client.respond(*chosen, kAlice, kRegister);
    ASSERT_TRUE(header.ok()) << header.error();
    EXPECT_EQ(param_of_header(*header, "algorithm"), "SHA-256");
    EXPECT_TRUE(server.verify(*header, "REGISTER", "", directory(), 1).ok());
}

TEST(DigestServerVerify, MalformedValuesSayWhy) {
    DigestServer server = make_server();
    DigestClient client(seeded_random(8));
    const std::string good = answer(server, client, kAlice, kRegister, 0);
    const auto verdict = [&server](const std::string& header) {
        return server.verify(header, "REGISTER", "", directory(), 1);
    };

    const struct {
        std::string header;
        std::string_view reason_fragment;
    } cases[] = {
        {"Digest username=\"alice", "unterminated"},
        {"Basic YWxpY2U6eA==", "Basic"},
        {replace_param(good, "realm", "elsewhere"), "realm"},
        {replace_param(good, "algorithm", "SHA-256"), "algorithm"},
        {replace_param(good, "qop", "auth-int"), "qop"},
        {replace_param(good, "nc", "1"), "nc"},
        {replace_param(good, "opaque", "not-ours"), "opaque"},
        {"Digest username=\"alice\", realm=\"pbx.example.com\", nonce=\"n\", uri=\"sip:x\"",
         "response"},
    };
    for (const auto& bad : cases) {
        const VerifyOutcome result = verdict(bad.header);
        EXPECT_EQ(result.status, VerifyStatus::malformed) << bad.header;
        EXPECT_NE(result.detail.find(bad.reason_fragment), std::string::npos)
            << result.detail << " for " << bad.header;
    }
    EXPECT_TRUE(verdict(good).ok());  // the untouched value still works afterwards
}

TEST(DigestServerVerify, ToStringNamesEveryStatus) {
    EXPECT_EQ(to_string(VerifyStatus::ok), "ok");
    EXPECT_EQ(to_string(VerifyStatus::replayed_nonce_count), "replayed nonce count");
    EXPECT_EQ(to_string(VerifyStatus::stale_nonce), "stale nonce");
}

// ---------------------------------------------------------------------------------------------
// Nonce bookkeeping

TEST(DigestServerNonces, ExpiredNoncesAreForgotten) {
    DigestServer server = make_server();
    server.make_challenge(0);
    server.make_challenge(10'000);
    EXPECT_EQ(server.live_nonce_count(), 2u);
    server.make_challenge(35'000);  // the one from 0 ms is 35 s old: forgotten
    EXPECT_EQ(server.live_nonce_count(), 2u);
    server.make_challenge(45'000);  // and now the one from 10 000 ms
    EXPECT_EQ(server.live_nonce_count(), 2u);
    server.make_challenge(100'000);
    EXPECT_EQ(server.live_nonce_count(), 1u);
}

TEST(DigestServerNonces, MapIsBoundedAndEvictedNoncesAreStaleNotUnknown) {
    DigestServerConfig config = config_with({DigestAlgorithm::md5}, {Qop::auth});
    config.max_live_nonces = 2;
    DigestServer server = make_server(config);
    DigestClient client(seeded_random(8));
    const std::string oldest = answer(server, client, kAlice, kRegister, 0);
    server.make_challenge(1);
    server.make_challenge(2);
    EXPECT_EQ(server.live_nonce_count(), 2u);
    EXPECT_EQ(server.verify(oldest, "REGISTER", "", directory(), 3).status,
              VerifyStatus::stale_nonce);
}

}  // namespace
}  // namespace sipcc::auth
