#include "core/auth/digest.hpp"

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include <array>
#include <initializer_list>
#include <memory>

#include "core/auth/auth_params.hpp"

namespace sipcc::auth {

namespace {

struct AlgorithmInfo {
    DigestAlgorithm algorithm;
    std::string_view name;
};

constexpr std::array<AlgorithmInfo, 6> kAlgorithms{{
    {DigestAlgorithm::md5, "MD5"},
    {DigestAlgorithm::md5_sess, "MD5-sess"},
    {DigestAlgorithm::sha256, "SHA-256"},
    {DigestAlgorithm::sha256_sess, "SHA-256-sess"},
    {DigestAlgorithm::sha512_256, "SHA-512-256"},
    {DigestAlgorithm::sha512_256_sess, "SHA-512-256-sess"},
}};

const EVP_MD* evp_for(DigestAlgorithm algorithm) {
    switch (algorithm) {
        case DigestAlgorithm::md5:
        case DigestAlgorithm::md5_sess:
            return EVP_md5();
        case DigestAlgorithm::sha256:
        case DigestAlgorithm::sha256_sess:
            return EVP_sha256();
        case DigestAlgorithm::sha512_256:
        case DigestAlgorithm::sha512_256_sess:
#if OPENSSL_VERSION_NUMBER >= 0x10101000L && !defined(OPENSSL_NO_SHA512)
            return EVP_sha512_256();
#else
            return nullptr;
#endif
    }
    return nullptr;
}

struct EvpContextDeleter {
    void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

std::string to_hex(const unsigned char* bytes, std::size_t length) {
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (std::size_t i = 0; i < length; ++i) {
        hex += kDigits[bytes[i] >> 4];
        hex += kDigits[bytes[i] & 0x0f];
    }
    return hex;
}

// H(part1 ":" part2 ":" ...), fed to the hash piecewise to avoid building the joined string.
Result<std::string> hash_joined(DigestAlgorithm algorithm,
                                std::initializer_list<std::string_view> parts) {
    const EVP_MD* md = evp_for(algorithm);
    if (md == nullptr) {
        return Error{"digest algorithm " + std::string(algorithm_name(algorithm)) +
                     " is not available in this OpenSSL build"};
    }
    std::unique_ptr<EVP_MD_CTX, EvpContextDeleter> context(EVP_MD_CTX_new());
    if (!context || EVP_DigestInit_ex(context.get(), md, nullptr) != 1) {
        return Error{"OpenSSL refused to initialise " + std::string(algorithm_name(algorithm))};
    }
    bool first = true;
    for (const std::string_view part : parts) {
        if (!first && EVP_DigestUpdate(context.get(), ":", 1) != 1) {
            return Error{"OpenSSL digest update failed"};
        }
        first = false;
        if (!part.empty() && EVP_DigestUpdate(context.get(), part.data(), part.size()) != 1) {
            return Error{"OpenSSL digest update failed"};
        }
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_length = 0;
    if (EVP_DigestFinal_ex(context.get(), digest.data(), &digest_length) != 1) {
        return Error{"OpenSSL digest finalisation failed"};
    }
    return to_hex(digest.data(), digest_length);
}

std::string to_hex64(std::uint64_t value) {
    std::array<unsigned char, 8> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<unsigned char>(value >> (56 - 8 * i));
    }
    return to_hex(bytes.data(), bytes.size());
}

Result<DigestChallenge> challenge_from(const AuthSchemeValue& item, bool proxy) {
    if (!equals_ignore_case(item.scheme, "Digest")) {
        return Error{"unsupported authentication scheme '" + item.scheme + "' (only Digest)"};
    }
    if (!item.token68.empty()) {
        return Error{"Digest challenge carries a token68 instead of parameters"};
    }
    DigestChallenge challenge;
    challenge.proxy = proxy;
    const auto realm = item.get("realm");
    if (!realm) {
        return Error{"Digest challenge without realm"};
    }
    challenge.realm = std::string(*realm);
    const auto nonce = item.get("nonce");
    if (!nonce || nonce->empty()) {
        return Error{"Digest challenge without nonce"};
    }
    challenge.nonce = std::string(*nonce);
    if (const auto opaque = item.get("opaque")) {
        challenge.opaque = std::string(*opaque);
    }
    if (const auto algorithm = item.get("algorithm")) {
        const auto known = algorithm_from_name(*algorithm);
        if (!known || !algorithm_available(*known)) {
            return Error{"unsupported digest algorithm '" + std::string(*algorithm) + "'"};
        }
        challenge.algorithm = std::string(*algorithm);
    }
    if (const auto qop = item.get("qop")) {
        for (const auto& option : split_comma_list(*qop)) {
            challenge.qop_options.push_back(to_lower_ascii(option));
        }
    }
    if (const auto stale = item.get("stale")) {
        challenge.stale = equals_ignore_case(*stale, "true");
    }
    return challenge;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Algorithms and hashing

std::optional<DigestAlgorithm> algorithm_from_name(std::string_view name) {
    for (const auto& info : kAlgorithms) {
        if (equals_ignore_case(info.name, name)) {
            return info.algorithm;
        }
    }
    return std::nullopt;
}

std::string_view algorithm_name(DigestAlgorithm algorithm) {
    for (const auto& info : kAlgorithms) {
        if (info.algorithm == algorithm) {
            return info.name;
        }
    }
    return "unknown";
}

bool is_session_algorithm(DigestAlgorithm algorithm) {
    return algorithm == DigestAlgorithm::md5_sess || algorithm == DigestAlgorithm::sha256_sess ||
           algorithm == DigestAlgorithm::sha512_256_sess;
}

bool algorithm_available(DigestAlgorithm algorithm) {
    return evp_for(algorithm) != nullptr;
}

int algorithm_strength(DigestAlgorithm algorithm) {
    switch (algorithm) {
        case DigestAlgorithm::md5:
        case DigestAlgorithm::md5_sess:
            return 1;
        case DigestAlgorithm::sha256:
        case DigestAlgorithm::sha256_sess:
            return 2;
        case DigestAlgorithm::sha512_256:
        case DigestAlgorithm::sha512_256_sess:
            return 3;
    }
    return 0;
}

Result<std::string> hash_hex(DigestAlgorithm algorithm, std::string_view data) {
    return hash_joined(algorithm, {data});
}

std::string_view qop_name(Qop qop) {
    switch (qop) {
        case Qop::none:
            return "";
        case Qop::auth:
            return "auth";
        case Qop::auth_int:
            return "auth-int";
    }
    return "";
}

std::string format_nonce_count(std::uint32_t nonce_count) {
    return to_hex64(nonce_count).substr(8);
}

Result<std::string> compute_response(const DigestResponseInputs& in) {
    const bool session = is_session_algorithm(in.algorithm);
    if (session && (in.qop == Qop::none || in.cnonce.empty())) {
        return Error{std::string(algorithm_name(in.algorithm)) + " needs a qop and a cnonce"};
    }
    auto ha1 = hash_joined(in.algorithm, {in.username, in.realm, in.password});
    if (ha1 && session) {
        // RFC 7616 §3.4.2: the inner hash is used in its hex form.
        ha1 = hash_joined(in.algorithm, {*ha1, in.nonce, in.cnonce});
    }
    if (!ha1) {
        return Error{ha1.error()};
    }
    Result<std::string> body_hash = std::string();
    if (in.qop == Qop::auth_int) {
        body_hash = hash_hex(in.algorithm, in.body);
        if (!body_hash) {
            return Error{body_hash.error()};
        }
    }
    auto ha2 = in.qop == Qop::auth_int
                   ? hash_joined(in.algorithm, {in.method, in.digest_uri, *body_hash})
                   : hash_joined(in.algorithm, {in.method, in.digest_uri});
    if (!ha2) {
        return Error{ha2.error()};
    }
    if (in.qop == Qop::none) {
        return hash_joined(in.algorithm, {*ha1, in.nonce, *ha2});
    }
    return hash_joined(in.algorithm,
                       {*ha1, in.nonce, in.nonce_count, in.cnonce, qop_name(in.qop), *ha2});
}

// ---------------------------------------------------------------------------------------------
// Client side: parsing and choosing challenges

Result<DigestChallenge> parse_challenge(std::string_view header_value, bool proxy) {
    auto item = parse_auth_value(header_value);
    if (!item) {
        return Error{item.error()};
    }
    return challenge_from(*item, proxy);
}

Result<std::vector<DigestChallenge>> parse_challenges(std::string_view header_value, bool proxy) {
    auto items = parse_auth_list(header_value);
    if (!items) {
        return Error{items.error()};
    }
    std::vector<DigestChallenge> challenges;
    std::string last_reason;
    for (const auto& item : *items) {
        auto challenge = challenge_from(item, proxy);
        if (challenge) {
            challenges.push_back(std::move(challenge).value());
        } else {
            last_reason = challenge.error();
        }
    }
    if (challenges.empty()) {
        return Error{"no usable Digest challenge: " + last_reason};
    }
    return challenges;
}

std::optional<Qop> choose_qop(const DigestChallenge& challenge) {
    if (challenge.qop_options.empty()) {
        return Qop::none;
    }
    bool offers_auth_int = false;
    for (const auto& option : challenge.qop_options) {
        if (option == "auth") {
            return Qop::auth;
        }
        offers_auth_int = offers_auth_int || option == "auth-int";
    }
    if (offers_auth_int) {
        return Qop::auth_int;
    }
    return std::nullopt;
}

bool is_answerable(const DigestChallenge& challenge) {
    const auto algorithm = algorithm_from_name(challenge.algorithm);
    if (!algorithm || !algorithm_available(*algorithm)) {
        return false;
    }
    const auto qop = choose_qop(challenge);
    if (!qop) {
        return false;
    }
    return !(is_session_algorithm(*algorithm) && *qop == Qop::none);
}

const DigestChallenge* choose_strongest(const std::vector<DigestChallenge>& challenges) {
    const DigestChallenge* best = nullptr;
    int best_strength = 0;
    for (const auto& challenge : challenges) {
        if (!is_answerable(challenge)) {
            continue;
        }
        const int strength = algorithm_strength(*algorithm_from_name(challenge.algorithm));
        if (best == nullptr || strength > best_strength) {
            best = &challenge;
            best_strength = strength;
        }
    }
    return best;
}

// ---------------------------------------------------------------------------------------------
// Client side: building credentials

std::string_view authorization_header_name(bool proxy) {
    return proxy ? "Proxy-Authorization" : "Authorization";
}

Result<std::string> build_authorization(const DigestChallenge& challenge,
                                        const Credentials& credentials,
                                        const DigestRequest& request, std::uint32_t nonce_count,
                                        std::string_view cnonce) {
    const auto algorithm = algorithm_from_name(challenge.algorithm);
    if (!algorithm || !algorithm_available(*algorithm)) {
        return Error{"unsupported digest algorithm '" + challenge.algorithm + "'"};
    }
    const auto qop = choose_qop(challenge);
    if (!qop) {
        return Error{"challenge for realm \"" + challenge.realm +
                     "\" offers no qop we support (auth, auth-int)"};
    }
    const bool with_qop = *qop != Qop::none;
    if (with_qop && (cnonce.empty() || nonce_count == 0)) {
        return Error{"qop " + std::string(qop_name(*qop)) + " needs a cnonce and nc >= 1"};
    }
    const std::string nc = format_nonce_count(nonce_count);

    DigestResponseInputs inputs;
    inputs.algorithm = *algorithm;
    inputs.qop = *qop;
    inputs.username = credentials.auth_user;
    inputs.realm = challenge.realm;
    inputs.password = credentials.password;
    inputs.nonce = challenge.nonce;
    inputs.cnonce = with_qop ? cnonce : std::string_view();
    inputs.nonce_count = nc;
    inputs.method = request.method;
    inputs.digest_uri = request.digest_uri;
    inputs.body = request.body;
    auto response = compute_response(inputs);
    if (!response) {
        return Error{response.error()};
    }

    AuthParamWriter writer("Digest");
    writer.add_quoted("username", credentials.auth_user);
    writer.add_quoted("realm", challenge.realm);
    writer.add_quoted("nonce", challenge.nonce);
    writer.add_quoted("uri", request.digest_uri);
    writer.add_quoted("response", *response);
    writer.add_token("algorithm", challenge.algorithm);
    if (with_qop) {
        writer.add_quoted("cnonce", cnonce);
    }
    if (!challenge.opaque.empty()) {
        writer.add_quoted("opaque", challenge.opaque);
    }
    if (with_qop) {
        writer.add_token("qop", qop_name(*qop));
        writer.add_token("nc", nc);
    }
    return writer.str();
}

// ---------------------------------------------------------------------------------------------
// Client side: per-realm state

Result<std::string> DigestClient::draw_cnonce() {
    if (!random_) {
        return Error{"DigestClient has no random source for the cnonce"};
    }
    const std::uint64_t high = random_();
    const std::uint64_t low = random_();
    return to_hex64(high) + to_hex64(low);
}

Result<std::string> DigestClient::answer(RealmState& state, const Credentials& credentials,
                                         const DigestRequest& request) {
    if (state.nonce_count == UINT32_MAX) {
        return Error{"nonce count exhausted for realm \"" + state.challenge.realm + "\""};
    }
    const std::uint32_t next_count = state.nonce_count + 1;
    auto header =
        build_authorization(state.challenge, credentials, request, next_count, state.cnonce);
    if (header) {
        state.nonce_count = next_count;
    }
    return header;
}

Result<std::string> DigestClient::respond(const DigestChallenge& challenge,
                                          const Credentials& credentials,
                                          const DigestRequest& request) {
    if (!is_answerable(challenge)) {
        return Error{"cannot answer Digest challenge for realm \"" + challenge.realm +
                     "\" (algorithm " + challenge.algorithm + ")"};
    }
    RealmState& stored = realms_[RealmKey{challenge.proxy, challenge.realm}];
    const std::string failure = "authentication failed for realm \"" + challenge.realm + "\": ";
    if (stored.failed) {
        return Error{failure + "credentials were already refused; forget() before retrying"};
    }
    // Work on a copy so a failure below leaves the stored state untouched.
    RealmState next = stored;
    if (stored.awaiting_verdict) {
        std::string refusal;
        if (!challenge.stale) {
            refusal = "server re-challenged without stale=true (wrong user or password?)";
        } else if (challenge.nonce == stored.challenge.nonce) {
            refusal = "server sent stale=true with the nonce it just refused";
        } else if (stored.stale_retries >= max_stale_retries) {
            refusal = "too many stale-nonce retries in a row";
        }
        if (!refusal.empty()) {
            stored.failed = true;
            return Error{failure + refusal};
        }
        ++next.stale_retries;
    }
    if (next.nonce_count == 0 || challenge.nonce != next.challenge.nonce) {
        next.nonce_count = 0;
        next.cnonce.clear();
        if (choose_qop(challenge) != Qop::none) {
            auto cnonce = draw_cnonce();
            if (!cnonce) {
                return Error{cnonce.error()};
            }
            next.cnonce = std::move(cnonce).value();
        }
    }
    next.challenge = challenge;
    auto header = answer(next, credentials, request);
    if (!header) {
        return header;
    }
    next.awaiting_verdict = true;
    stored = std::move(next);
    return header;
}

Result<std::string> DigestClient::reauthorize(std::string_view realm, bool proxy,
                                              const Credentials& credentials,
                                              const DigestRequest& request) {
    const auto found = realms_.find(RealmKey{proxy, std::string(realm)});
    if (found == realms_.end() || found->second.nonce_count == 0) {
        return Error{"no nonce to reuse for realm \"" + std::string(realm) + "\""};
    }
    if (found->second.failed) {
        return Error{"authentication failed for realm \"" + std::string(realm) + "\" earlier"};
    }
    return answer(found->second, credentials, request);
}

void DigestClient::accepted(std::string_view realm, bool proxy) {
    const auto found = realms_.find(RealmKey{proxy, std::string(realm)});
    if (found != realms_.end()) {
        found->second.awaiting_verdict = false;
        found->second.stale_retries = 0;
    }
}

void DigestClient::forget(std::string_view realm, bool proxy) {
    realms_.erase(RealmKey{proxy, std::string(realm)});
}

std::uint32_t DigestClient::nonce_count(std::string_view realm, bool proxy) const {
    const auto found = realms_.find(RealmKey{proxy, std::string(realm)});
    return found == realms_.end() ? 0 : found->second.nonce_count;
}

}  // namespace sipcc::auth
