// Digest hashing, header-value parsing and the client side.
#include "core/auth/digest.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/auth/auth_params.hpp"

namespace sipcc::auth {
namespace {

// Parameter of an Authorization value as the server would see it ("" when absent).
std::string param_of(const std::string& header_value, std::string_view name) {
    auto parsed = parse_auth_value(header_value);
    if (!parsed) {
        return "<unparsable: " + parsed.error() + ">";
    }
    return std::string(parsed->get(name).value_or(""));
}

bool has_param(const std::string& header_value, std::string_view name) {
    auto parsed = parse_auth_value(header_value);
    return parsed && parsed->find(name) != nullptr;
}

RandomSource seeded_random(std::uint64_t seed) {
    auto generator = std::make_shared<std::mt19937_64>(seed);
    return [generator] { return (*generator)(); };
}

DigestChallenge challenge_for(std::string algorithm, std::vector<std::string> qop) {
    DigestChallenge challenge;
    challenge.realm = "sip.example.com";
    challenge.nonce = "nonce-1";
    challenge.algorithm = std::move(algorithm);
    challenge.qop_options = std::move(qop);
    return challenge;
}

const Credentials kAlice{"alice", "secret"};
const DigestRequest kRegister{"REGISTER", "sip:sip.example.com", ""};

// ---------------------------------------------------------------------------------------------
// Hashing

TEST(DigestHash, ProducesLowercaseHexForEachAlgorithm) {
    EXPECT_EQ(hash_hex(DigestAlgorithm::md5, "").value(), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(hash_hex(DigestAlgorithm::sha256, "abc").value(),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // The -sess variants hash with their base function.
    EXPECT_EQ(hash_hex(DigestAlgorithm::md5_sess, "").value(),
              hash_hex(DigestAlgorithm::md5, "").value());
}

TEST(DigestHash, Sha512_256WhenOpenSslHasIt) {
    if (!algorithm_available(DigestAlgorithm::sha512_256)) {
        GTEST_SKIP() << "OpenSSL without EVP_sha512_256";
    }
    // FIPS 180-4 example value for "abc".
    EXPECT_EQ(hash_hex(DigestAlgorithm::sha512_256, "abc").value(),
              "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
}

TEST(DigestHash, AlgorithmNamesAreCaseInsensitiveAndRoundTrip) {
    EXPECT_EQ(algorithm_from_name("md5"), DigestAlgorithm::md5);
    EXPECT_EQ(algorithm_from_name("sha-256-SESS"), DigestAlgorithm::sha256_sess);
    EXPECT_FALSE(algorithm_from_name("SHA-1").has_value());
    for (auto algorithm : {DigestAlgorithm::md5, DigestAlgorithm::md5_sess, DigestAlgorithm::sha256,
                           DigestAlgorithm::sha256_sess, DigestAlgorithm::sha512_256,
                           DigestAlgorithm::sha512_256_sess}) {
        EXPECT_EQ(algorithm_from_name(algorithm_name(algorithm)), algorithm);
    }
}

TEST(DigestHash, NonceCountIsEightHexDigits) {
    EXPECT_EQ(format_nonce_count(1), "00000001");
    EXPECT_EQ(format_nonce_count(0xabcdef12), "abcdef12");
}

// ---------------------------------------------------------------------------------------------
// Known answers

TEST(DigestKnownAnswer, Rfc2617Section3_5) {
    DigestResponseInputs inputs;
    inputs.algorithm = DigestAlgorithm::md5;
    inputs.qop = Qop::auth;
    inputs.username = "Mufasa";
    inputs.realm = "testrealm@host.com";
    inputs.password = "Circle Of Life";
    inputs.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
    inputs.cnonce = "0a4f113b";
    inputs.nonce_count = "00000001";
    inputs.method = "GET";
    inputs.digest_uri = "/dir/index.html";
    EXPECT_EQ(compute_response(inputs).value(), "6629fae49393a05397450978507c4ef1");
}

TEST(DigestKnownAnswer, Rfc2617FullHeaderFromParsedChallenge) {
    const auto challenge = parse_challenge(
        "Digest\r\n realm=\"testrealm@host.com\",\r\n qop=\"auth,auth-int\",\r\n"
        " nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n"
        " opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        false);
    ASSERT_TRUE(challenge.ok()) << challenge.error();
    const auto header = build_authorization(*challenge, {"Mufasa", "Circle Of Life"},
                                            {"GET", "/dir/index.html", ""}, 1, "0a4f113b");
    ASSERT_TRUE(header.ok()) << header.error();
    EXPECT_EQ(*header,
              "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
              "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
              "response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, "
              "cnonce=\"0a4f113b\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", qop=auth, "
              "nc=00000001");
}

constexpr std::string_view kRfc7616Nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
constexpr std::string_view kRfc7616Cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
constexpr std::string_view kRfc7616Opaque = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

std::string rfc7616_challenge(std::string_view algorithm) {
    return "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm=" +
           std::string(algorithm) + ", nonce=\"" + std::string(kRfc7616Nonce) + "\", opaque=\"" +
           std::string(kRfc7616Opaque) + "\"";
}

TEST(DigestKnownAnswer, Rfc7616Section3_9_1Md5AndSha256) {
    DigestResponseInputs inputs;
    inputs.qop = Qop::auth;
    inputs.username = "Mufasa";
    inputs.realm = "http-auth@example.org";
    inputs.password = "Circle of Life";
    inputs.nonce = kRfc7616Nonce;
    inputs.cnonce = kRfc7616Cnonce;
    inputs.nonce_count = "00000001";
    inputs.method = "GET";
    inputs.digest_uri = "/dir/index.html";
    inputs.algorithm = DigestAlgorithm::md5;
    EXPECT_EQ(compute_response(inputs).value(), "8ca523f5e9506fed4657c9700eebdbec");
    inputs.algorithm = DigestAlgorithm::sha256;
    EXPECT_EQ(compute_response(inputs).value(),
              "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST(DigestKnownAnswer, Rfc7616ThroughParserAndBuilder) {
    const Credentials mufasa{"Mufasa", "Circle of Life"};
    const DigestRequest get{"GET", "/dir/index.html", ""};
    const struct {
        std::string_view algorithm;
        std::string_view response;
    } cases[] = {
        {"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
        {"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
    };
    for (const auto& known : cases) {
        const auto challenge = parse_challenge(rfc7616_challenge(known.algorithm), false);
        ASSERT_TRUE(challenge.ok()) << challenge.error();
        const auto header = build_authorization(*challenge, mufasa, get, 1, kRfc7616Cnonce);
        ASSERT_TRUE(header.ok()) << header.error();
        EXPECT_EQ(param_of(*header, "response"), known.response) << known.algorithm;
        EXPECT_EQ(param_of(*header, "qop"), "auth");  // auth preferred over auth-int
        EXPECT_EQ(param_of(*header, "opaque"), kRfc7616Opaque);
        EXPECT_EQ(param_of(*header, "algorithm"), known.algorithm);
    }
}

TEST(DigestKnownAnswer, NoQopIsRfc2069Style) {
    // response = H(HA1:nonce:HA2), checked against the formula computed by hand.
    DigestResponseInputs inputs;
    inputs.username = "Mufasa";
    inputs.realm = "testrealm@host.com";
    inputs.password = "Circle Of Life";
    inputs.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
    inputs.method = "GET";
    inputs.digest_uri = "/dir/index.html";
    const std::string ha1 =
        hash_hex(DigestAlgorithm::md5, "Mufasa:testrealm@host.com:Circle Of Life").value();
    EXPECT_EQ(ha1, "939e7578ed9e3c518a452acee763bce9");
    const std::string ha2 = hash_hex(DigestAlgorithm::md5, "GET:/dir/index.html").value();
    EXPECT_EQ(
        compute_response(inputs).value(),
        hash_hex(DigestAlgorithm::md5, ha1 + ":" + std::string(inputs.nonce) + ":" + ha2).value());
}

TEST(DigestKnownAnswer, AuthIntAndSessFollowTheFormulas) {
    DigestResponseInputs inputs;
    inputs.algorithm = DigestAlgorithm::sha256_sess;
    inputs.qop = Qop::auth_int;
    inputs.username = "bob";
    inputs.realm = "r";
    inputs.password = "pw";
    inputs.nonce = "n";
    inputs.cnonce = "c";
    inputs.nonce_count = "00000002";
    inputs.method = "INVITE";
    inputs.digest_uri = "sip:bob@r";
    inputs.body = "v=0\r\n";
    const auto h = [](const std::string& text) {
        return hash_hex(DigestAlgorithm::sha256, text).value();
    };
    const std::string ha1 = h(h("bob:r:pw") + ":n:c");
    const std::string ha2 = h("INVITE:sip:bob@r:" + h("v=0\r\n"));
    EXPECT_EQ(compute_response(inputs).value(), h(ha1 + ":n:00000002:c:auth-int:" + ha2));
}

TEST(DigestKnownAnswer, SessWithoutQopIsRefused) {
    DigestResponseInputs inputs;
    inputs.algorithm = DigestAlgorithm::md5_sess;
    const auto response = compute_response(inputs);
    ASSERT_FALSE(response.ok());
    EXPECT_NE(response.error().find("qop"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Header-value parsing and formatting

TEST(AuthParams, ParsesTokensQuotedStringsAndEscapes) {
    const auto value = parse_auth_value(
        R"(Digest REALM="a \"quoted\" realm\\x", Nonce = abc, qop="auth,auth-int", stale=TRUE)");
    ASSERT_TRUE(value.ok()) << value.error();
    EXPECT_EQ(value->scheme, "Digest");
    EXPECT_EQ(value->get("realm").value_or("?"), R"(a "quoted" realm\x)");
    EXPECT_TRUE(value->find("realm")->was_quoted);
    EXPECT_EQ(value->get("NONCE").value_or("?"), "abc");
    EXPECT_FALSE(value->find("nonce")->was_quoted);
    EXPECT_EQ(split_comma_list(value->get("qop").value_or("")),
              (std::vector<std::string>{"auth", "auth-int"}));
    EXPECT_EQ(value->params.size(), 4u);
}

TEST(AuthParams, KeepsUnknownParameters) {
    const auto value = parse_auth_value(R"(Digest realm="r", nonce="n", charset=UTF-8, x-y="z")");
    ASSERT_TRUE(value.ok()) << value.error();
    EXPECT_EQ(value->get("charset").value_or(""), "UTF-8");
    EXPECT_EQ(value->get("x-y").value_or(""), "z");
}

TEST(AuthParams, SplitsSeveralChallengesInOneValue) {
    // RFC 7235 §4.1 example shape, plus a token68 scheme.
    const auto list = parse_auth_list(
        R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", )"
        R"(Negotiate YWxhZGRpbjpvcGVuc2VzYW1l==, Digest realm="d", nonce="n")");
    ASSERT_TRUE(list.ok()) << list.error();
    ASSERT_EQ(list->size(), 4u);
    EXPECT_EQ((*list)[0].scheme, "Newauth");
    EXPECT_EQ((*list)[0].params.size(), 3u);
    EXPECT_EQ((*list)[0].get("title").value_or(""), R"(Login to "apps")");
    EXPECT_EQ((*list)[1].scheme, "Basic");
    EXPECT_EQ((*list)[2].token68, "YWxhZGRpbjpvcGVuc2VzYW1l==");
    EXPECT_EQ((*list)[3].get("nonce").value_or(""), "n");
}

TEST(AuthParams, RejectsBrokenSyntaxWithAReason) {
    const auto unterminated = parse_auth_value(R"(Digest nonce="n", realm="never closed)");
    ASSERT_FALSE(unterminated.ok());
    EXPECT_NE(unterminated.error().find("unterminated"), std::string::npos);

    const auto duplicate = parse_auth_value(R"(Digest realm="a", Realm="b", nonce="n")");
    ASSERT_FALSE(duplicate.ok());
    EXPECT_NE(duplicate.error().find("more than once"), std::string::npos);

    const auto missing_value = parse_auth_value("Digest nonce=\"n\", realm=");
    ASSERT_FALSE(missing_value.ok());
    EXPECT_NE(missing_value.error().find("realm"), std::string::npos);

    EXPECT_FALSE(parse_auth_value("").ok());
    EXPECT_FALSE(parse_auth_value("Digest realm=\"a\" nonce=\"n\"").ok());  // missing comma
    EXPECT_FALSE(parse_auth_value("Digest realm=\"a\", Basic").ok());       // two items
}

TEST(AuthParams, WriterEscapesSoValuesRoundTrip) {
    AuthParamWriter writer("Digest");
    writer.add_quoted("username", R"(al"ice\)");
    writer.add_token("algorithm", "SHA-256");
    writer.add_token("odd", "has space");  // not a token: must come out quoted
    EXPECT_EQ(writer.str(), R"(Digest username="al\"ice\\", algorithm=SHA-256, odd="has space")");
    const auto parsed = parse_auth_value(writer.str());
    ASSERT_TRUE(parsed.ok()) << parsed.error();
    EXPECT_EQ(parsed->get("username").value_or(""), R"(al"ice\)");
    EXPECT_EQ(parsed->get("odd").value_or(""), "has space");
}

// ---------------------------------------------------------------------------------------------
// Challenge parsing and selection

TEST(DigestChallengeParse, ReadsAllFieldsWithDefaults) {
    const auto challenge =
        parse_challenge(R"(digest realm="sip.example.com", nonce="abc", stale=true)", true);
    ASSERT_TRUE(challenge.ok()) << challenge.error();
    EXPECT_EQ(challenge->realm, "sip.example.com");
    EXPECT_EQ(challenge->nonce, "abc");
    EXPECT_EQ(challenge->algorithm, "MD5");
    EXPECT_TRUE(challenge->qop_options.empty());
    EXPECT_TRUE(challenge->opaque.empty());
    EXPECT_TRUE(challenge->stale);
    EXPECT_TRUE(challenge->proxy);
}

TEST(DigestChallengeParse, ErrorsCarryAReason) {
    const auto basic = parse_challenge(R"(Basic realm="x")", false);
    ASSERT_FALSE(basic.ok());
    EXPECT_NE(basic.error().find("Basic"), std::string::npos);

    const auto unterminated = parse_challenge(R"(Digest realm="x", nonce="n)", false);
    ASSERT_FALSE(unterminated.ok());
    EXPECT_NE(unterminated.error().find("unterminated"), std::string::npos);

    const auto no_nonce = parse_challenge(R"(Digest realm="x", qop="auth")", false);
    ASSERT_FALSE(no_nonce.ok());
    EXPECT_NE(no_nonce.error().find("nonce"), std::string::npos);

    const auto no_realm = parse_challenge(R"(Digest nonce="n")", false);
    ASSERT_FALSE(no_realm.ok());
    EXPECT_NE(no_realm.error().find("realm"), std::string::npos);

    const auto sha1 = parse_challenge(R"(Digest realm="x", nonce="n", algorithm=SHA-1)", false);
    ASSERT_FALSE(sha1.ok());
    EXPECT_NE(sha1.error().find("SHA-1"), std::string::npos);
}

TEST(DigestChallengeParse, SeveralChallengesKeepOnlyUsableDigestOnes) {
    const auto challenges =
        parse_challenges(R"(Basic realm="x", Digest realm="x", nonce="n", algorithm=SHA-1, )"
                         R"(Digest realm="x", nonce="n", algorithm=SHA-256)",
                         false);
    ASSERT_TRUE(challenges.ok()) << challenges.error();
    ASSERT_EQ(challenges->size(), 1u);
    EXPECT_EQ(challenges->front().algorithm, "SHA-256");

    const auto none = parse_challenges(R"(Basic realm="x")", false);
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().find("Basic"), std::string::npos);
}

TEST(DigestChooseStrongest, PrefersSha256OverMd5WhateverTheOrder) {
    const std::vector<DigestChallenge> md5_first{challenge_for("MD5", {"auth"}),
                                                 challenge_for("SHA-256", {"auth"})};
    ASSERT_NE(choose_strongest(md5_first), nullptr);
    EXPECT_EQ(choose_strongest(md5_first)->algorithm, "SHA-256");

    const std::vector<DigestChallenge> sess{challenge_for("MD5-sess", {"auth"}),
                                            challenge_for("SHA-256-sess", {"auth"}),
                                            challenge_for("MD5", {"auth"})};
    EXPECT_EQ(choose_strongest(sess), &sess[1]);
}

TEST(DigestChooseStrongest, IgnoresUnanswerableAndKeepsServerOrderOnTies) {
    const std::vector<DigestChallenge> challenges{
        challenge_for("SHA-256", {"auth-conf"}),  // no qop we support
        challenge_for("SHA-256-sess", {}),        // -sess needs a qop
        challenge_for("SHA-1", {"auth"}),         // unknown algorithm
        challenge_for("MD5", {"auth"}),          challenge_for("MD5-sess", {"auth"}),
    };
    EXPECT_EQ(choose_strongest(challenges), &challenges[3]);
    EXPECT_EQ(
        choose_strongest(std::vector<DigestChallenge>(challenges.begin(), challenges.begin() + 3)),
        nullptr);
    EXPECT_EQ(choose_strongest({}), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Building credentials

TEST(DigestBuild, PrefersAuthAndUsesAuthIntOnlyWhenItIsTheOnlyOption) {
    EXPECT_EQ(choose_qop(challenge_for("MD5", {"auth-int", "auth"})), Qop::auth);
    EXPECT_EQ(choose_qop(challenge_for("MD5", {"auth-int"})), Qop::auth_int);
    EXPECT_EQ(choose_qop(challenge_for("MD5", {})), Qop::none);
    EXPECT_FALSE(choose_qop(challenge_for("MD5", {"auth-conf"})).has_value());

    const DigestRequest invite{"INVITE", "sip:bob@example.com", "v=0\r\n"};
    const auto header =
        build_authorization(challenge_for("MD5", {"auth-int"}), kAlice, invite, 1, "cn");
    ASSERT_TRUE(header.ok()) << header.error();
    EXPECT_EQ(param_of(*header, "qop"), "auth-int");
}

TEST(DigestBuild, OmitsQopNcAndCnonceWithoutQop) {
    const auto header = build_authorization(challenge_for("MD5", {}), kAlice, kRegister, 1, "cn");
    ASSERT_TRUE(header.ok()) << header.error();
    EXPECT_FALSE(has_param(*header, "qop"));
    EXPECT_FALSE(has_param(*header, "nc"));
    EXPECT_FALSE(has_param(*header, "cnonce"));
    EXPECT_FALSE(has_param(*header, "opaque"));
    EXPECT_EQ(param_of(*header, "algorithm"), "MD5");
    EXPECT_EQ(param_of(*header, "uri"), "sip:sip.example.com");
}

TEST(DigestBuild, UsesTheAuthenticationUserNotTheSipUser) {
    // SIP user is "alice" in From/To; the PBX account is "1001".
    const Credentials account{"1001", "pbx-secret"};
    const auto header =
        build_authorization(challenge_for("SHA-256", {"auth"}), account, kRegister, 1, "cn");
    ASSERT_TRUE(header.ok()) << header.error();
    EXPECT_EQ(param_of(*header, "username"), "1001");
}

TEST(DigestBuild, RefusesUnanswerableChallenges) {
    const auto no_qop =
        build_authorization(challenge_for("MD5", {"auth-conf"}), kAlice, kRegister, 1, "cn");
    ASSERT_FALSE(no_qop.ok());
    EXPECT_NE(no_qop.error().find("qop"), std::string::npos);
    EXPECT_FALSE(
        build_authorization(challenge_for("MD5", {"auth"}), kAlice, kRegister, 1, "").ok());
    EXPECT_FALSE(
        build_authorization(challenge_for("SHA-1", {"auth"}), kAlice, kRegister, 1, "cn").ok());
}

// ---------------------------------------------------------------------------------------------
// Client state: nonce counting and loop protection

TEST(DigestClientState, CountsNcPerNonceAndResetsOnANewNonce) {
    DigestClient client(seeded_random(7));
    auto challenge = challenge_for("SHA-256", {"auth"});
    const auto first = client.respond(challenge, kAlice, kRegister);
    ASSERT_TRUE(first.ok()) << first.error();
    EXPECT_EQ(param_of(*first, "nc"), "00000001");
    client.accepted(challenge.realm, false);

    const auto second = client.reauthorize(challenge.realm, false, kAlice, kRegister);
    ASSERT_TRUE(second.ok()) << second.error();
    EXPECT_EQ(param_of(*second, "nc"), "00000002");
    EXPECT_EQ(param_of(*second, "cnonce"), param_of(*first, "cnonce"));  // one cnonce per nonce
    EXPECT_EQ(client.nonce_count(challenge.realm, false), 2u);

    challenge.nonce = "nonce-2";
    const auto third = client.respond(challenge, kAlice, kRegister);
    ASSERT_TRUE(third.ok()) << third.error();
    EXPECT_EQ(param_of(*third, "nc"), "00000001");
    EXPECT_EQ(param_of(*third, "nonce"), "nonce-2");
    EXPECT_NE(param_of(*third, "cnonce"), param_of(*first, "cnonce"));
}

TEST(DigestClientState, CnonceComesFromTheSuppliedGenerator) {
    DigestClient one(seeded_random(42));
    DigestClient two(seeded_random(42));
    DigestClient other(seeded_random(43));
    const auto challenge = challenge_for("MD5", {"auth"});
    const std::string a = param_of(one.respond(challenge, kAlice, kRegister).value(), "cnonce");
    const std::string b = param_of(two.respond(challenge, kAlice, kRegister).value(), "cnonce");
    const std::string c = param_of(other.respond(challenge, kAlice, kRegister).value(), "cnonce");
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_EQ(a.size(), 32u);
}

TEST(DigestClientState, MissingRandomSourceIsAnErrorNotACrash) {
    DigestClient client{RandomSource{}};
    const auto header = client.respond(challenge_for("MD5", {"auth"}), kAlice, kRegister);
    ASSERT_FALSE(header.ok());
    EXPECT_NE(header.error().find("random"), std::string::npos);
    // Without qop no cnonce is needed.
    EXPECT_TRUE(client.respond(challenge_for("MD5", {}), kAlice, kRegister).ok());
}

TEST(DigestClientState, RechallengeWithoutStaleMeansAuthenticationFailed) {
    DigestClient client(seeded_random(1));
    auto challenge = challenge_for("MD5", {"auth"});
    ASSERT_TRUE(client.respond(challenge, kAlice, kRegister).ok());

    challenge.nonce = "nonce-2";  // new nonce but no stale=true: our password was wrong
    const auto again = client.respond(challenge, kAlice, kRegister);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().find("authentication failed"), std::string::npos);

    // Sticky, even for a stale challenge, until forget().
    challenge.nonce = "nonce-3";
    challenge.stale = true;
    EXPECT_FALSE(client.respond(challenge, kAlice, kRegister).ok());
    client.forget(challenge.realm, false);
    EXPECT_TRUE(client.respond(challenge, kAlice, kRegister).ok());
}

TEST(DigestClientState, SameNonceRechallengedIsAFailure) {
    DigestClient client(seeded_random(1));
    auto challenge = challenge_for("MD5", {"auth"});
    ASSERT_TRUE(client.respond(challenge, kAlice, kRegister).ok());
    EXPECT_FALSE(client.respond(challenge, kAlice, kRegister).ok());

    DigestClient stale_liar(seeded_random(1));
    ASSERT_TRUE(stale_liar.respond(challenge, kAlice, kRegister).ok());
    challenge.stale = true;  // stale=true but the very nonce it just refused
    const auto result = stale_liar.respond(challenge, kAlice, kRegister);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().find("stale"), std::string::npos);
}

TEST(DigestClientState, StaleWithNewNonceIsRetriedButNotForever) {
    DigestClient client(seeded_random(1));
    auto challenge = challenge_for("MD5", {"auth"});
    ASSERT_TRUE(client.respond(challenge, kAlice, kRegister).ok());
    challenge.stale = true;
    for (int retry = 1; retry <= DigestClient::max_stale_retries; ++retry) {
        challenge.nonce = "stale-" + std::to_string(retry);
        const auto header = client.respond(challenge, kAlice, kRegister);
        ASSERT_TRUE(header.ok()) << header.error();
        EXPECT_EQ(param_of(*header, "nc"), "00000001");
    }
    challenge.nonce = "one-too-many";
    EXPECT_FALSE(client.respond(challenge, kAlice, kRegister).ok());
}

TEST(DigestClientState, AcceptedCredentialsAllowAFreshChallengeLater) {
    DigestClient client(seeded_random(1));
    auto challenge = challenge_for("MD5", {"auth"});
    ASSERT_TRUE(client.respond(challenge, kAlice, kRegister).ok());
    client.accepted(challenge.realm, false);
    challenge.nonce = "next-day";
    EXPECT_TRUE(client.respond(challenge, kAlice, kRegister).ok());
}

TEST(DigestClientState, RefusedPreemptiveCredentialsAreNotAFailure) {
    DigestClient client(seeded_random(1));
    auto challenge = challenge_for("MD5", {"auth"});
    ASSERT_TRUE(client.respond(challenge, kAlice, kRegister).ok());
    client.accepted(challenge.realm, false);
    ASSERT_TRUE(client.reauthorize(challenge.realm, false, kAlice, kRegister).ok());
    challenge.nonce = "after-server-restart";  // no stale: the server forgot our nonce
    EXPECT_TRUE(client.respond(challenge, kAlice, kRegister).ok());
}

TEST(DigestClientState, RealmsAndProxyChallengesAreTrackedSeparately) {
    DigestClient client(seeded_random(1));
    auto registrar = challenge_for("MD5", {"auth"});
    auto proxy = challenge_for("MD5", {"auth"});
    proxy.proxy = true;
    ASSERT_TRUE(client.respond(registrar, kAlice, kRegister).ok());
    ASSERT_TRUE(client.respond(proxy, kAlice, kRegister).ok());
    EXPECT_EQ(client.nonce_count(registrar.realm, false), 1u);
    EXPECT_EQ(client.nonce_count(proxy.realm, true), 1u);
    EXPECT_EQ(authorization_header_name(proxy.proxy), "Proxy-Authorization");
    EXPECT_EQ(authorization_header_name(registrar.proxy), "Authorization");
    EXPECT_FALSE(client.reauthorize("elsewhere", false, kAlice, kRegister).ok());
}

}  // namespace
}  // namespace sipcc::auth
