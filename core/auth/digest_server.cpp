#include "core/auth/digest_server.hpp"

#include <openssl/crypto.h>

#include <algorithm>

#include "core/auth/auth_params.hpp"

namespace sipcc::auth {

namespace {

// A nonce is issued_ms (16 hex) + random (16 hex) + tag (32 hex). The tag is a keyed hash of
// the first two parts, so a nonce we have already forgotten can still be recognised as ours
// and answered with stale=true instead of "unknown".
constexpr std::size_t kIssuedHexLength = 16;
constexpr std::size_t kRandomHexLength = 16;
constexpr std::size_t kTagHexLength = 32;
constexpr std::size_t kNonceLength = kIssuedHexLength + kRandomHexLength + kTagHexLength;
constexpr std::size_t kNonceCountLength = 8;

std::string hex64(std::uint64_t value) {
    static constexpr std::string_view kDigits = "0123456789abcdef";
    std::string hex(16, '0');
    for (std::size_t i = 0; i < hex.size(); ++i) {
        hex[hex.size() - 1 - i] = kDigits[(value >> (4 * i)) & 0x0f];
    }
    return hex;
}

std::optional<std::uint64_t> parse_hex(std::string_view text) {
    if (text.empty() || text.size() > 16) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (const char c : text) {
        int digit = -1;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            digit = c - 'A' + 10;
        }
        if (digit < 0) {
            return std::nullopt;
        }
        value = (value << 4) | static_cast<std::uint64_t>(digit);
    }
    return value;
}

std::optional<Qop> qop_from_name(std::string_view name) {
    if (equals_ignore_case(name, "auth")) {
        return Qop::auth;
    }
    if (equals_ignore_case(name, "auth-int")) {
        return Qop::auth_int;
    }
    return std::nullopt;
}

bool digests_equal(std::string_view expected_lower_hex, std::string_view received) {
    if (expected_lower_hex.size() != received.size()) {
        return false;
    }
    // Clients should send lower-case hex, but tolerate upper case; compare in constant time.
    const std::string received_lower = to_lower_ascii(received);
    return CRYPTO_memcmp(expected_lower_hex.data(), received_lower.data(), received.size()) == 0;
}

VerifyOutcome outcome(VerifyStatus status, std::string detail) {
    VerifyOutcome result;
    result.status = status;
    result.detail = std::move(detail);
    return result;
}

}  // namespace

std::string_view to_string(VerifyStatus status) {
    switch (status) {
        case VerifyStatus::ok:
            return "ok";
        case VerifyStatus::bad_credentials:
            return "bad credentials";
        case VerifyStatus::unknown_user:
            return "unknown user";
        case VerifyStatus::unknown_nonce:
            return "unknown nonce";
        case VerifyStatus::stale_nonce:
            return "stale nonce";
        case VerifyStatus::replayed_nonce_count:
            return "replayed nonce count";
        case VerifyStatus::malformed:
            return "malformed";
    }
    return "unknown status";
}

DigestServer::DigestServer(DigestServerConfig config, RandomSource random, std::string secret,
                           std::string opaque)
    : config_(std::move(config)),
      random_(std::move(random)),
      secret_(std::move(secret)),
      opaque_(std::move(opaque)) {}

Result<DigestServer> DigestServer::create(DigestServerConfig config, RandomSource random) {
    if (config.realm.empty()) {
        return Error{"DigestServer needs a realm"};
    }
    if (config.algorithms.empty()) {
        return Error{"DigestServer needs at least one algorithm"};
    }
    for (const auto algorithm : config.algorithms) {
        if (!algorithm_available(algorithm)) {
            return Error{"digest algorithm " + std::string(algorithm_name(algorithm)) +
                         " is not available"};
        }
        if (is_session_algorithm(algorithm) && config.qop_options.empty()) {
            return Error{std::string(algorithm_name(algorithm)) + " requires a qop"};
        }
    }
    for (const auto qop : config.qop_options) {
        if (qop == Qop::none) {
            return Error{"qop_options lists Qop::none; leave the list empty instead"};
        }
    }
    if (config.nonce_lifetime_ms == 0 || config.max_live_nonces == 0) {
        return Error{"nonce lifetime and capacity must be positive"};
    }
    if (!random) {
        return Error{"DigestServer needs a random source"};
    }
    // Make sure the nonce tag can be computed before promising stale detection.
    if (!hash_hex(DigestAlgorithm::sha256, "probe")) {
        return Error{"SHA-256 is not available for nonce tags"};
    }
    std::string secret;
    for (int i = 0; i < 4; ++i) {
        secret += hex64(random());
    }
    const std::string opaque = config.send_opaque ? hex64(random()) + hex64(random()) : "";
    return DigestServer(std::move(config), std::move(random), std::move(secret), opaque);
}

std::string DigestServer::nonce_tag(std::string_view issued_hex,
                                    std::string_view random_hex) const {
    const std::string material =
        secret_ + ":" + std::string(issued_hex) + ":" + std::string(random_hex);
    auto tag = hash_hex(DigestAlgorithm::sha256, material);
    // create() checked SHA-256 works; should it fail now, the nonce still works while it is in
    // the map and is merely reported as unknown (not stale) once forgotten.
    return tag ? tag->substr(0, kTagHexLength) : std::string();
}

std::optional<std::uint64_t> DigestServer::issued_ms_if_ours(std::string_view nonce) const {
    if (nonce.size() != kNonceLength) {
        return std::nullopt;
    }
    const std::string_view issued_hex = nonce.substr(0, kIssuedHexLength);
    const std::string_view random_hex = nonce.substr(kIssuedHexLength, kRandomHexLength);
    const std::string expected_tag = nonce_tag(issued_hex, random_hex);
    const std::string_view tag = nonce.substr(kIssuedHexLength + kRandomHexLength);
    if (expected_tag.size() != kTagHexLength ||
        CRYPTO_memcmp(expected_tag.data(), tag.data(), kTagHexLength) != 0) {
        return std::nullopt;
    }
    return parse_hex(issued_hex);
}

bool DigestServer::expired(std::uint64_t issued_ms, std::uint64_t now_ms) const {
    // A clock that went backwards makes the nonce look fresh rather than ancient.
    const std::uint64_t age_ms = now_ms > issued_ms ? now_ms - issued_ms : 0;
    return age_ms >= config_.nonce_lifetime_ms;
}

void DigestServer::forget_expired(std::uint64_t now_ms) {
    while (!issue_order_.empty() && expired(issue_order_.front().first, now_ms)) {
        nonces_.erase(issue_order_.front().second);
        issue_order_.pop_front();
    }
}

std::string DigestServer::issue_nonce(std::uint64_t now_ms) {
    forget_expired(now_ms);
    while (nonces_.size() >= config_.max_live_nonces && !issue_order_.empty()) {
        nonces_.erase(issue_order_.front().second);
        issue_order_.pop_front();
    }
    const std::string issued_hex = hex64(now_ms);
    const std::string random_hex = hex64(random_());
    std::string nonce = issued_hex + random_hex + nonce_tag(issued_hex, random_hex);
    if (nonces_.emplace(nonce, NonceRecord{now_ms, 0, false}).second) {
        issue_order_.emplace_back(now_ms, nonce);
    }
    return nonce;
}

std::string DigestServer::format_challenge(DigestAlgorithm algorithm, const std::string& nonce,
                                           bool stale) const {
    AuthParamWriter writer("Digest");
    writer.add_quoted("realm", config_.realm);
    writer.add_quoted("nonce", nonce);
    if (config_.send_opaque) {
        writer.add_quoted("opaque", opaque_);
    }
    writer.add_token("algorithm", algorithm_name(algorithm));
    if (!config_.qop_options.empty()) {
        std::string qop_list;
        for (const auto qop : config_.qop_options) {
            qop_list += qop_list.empty() ? "" : ",";
            qop_list += qop_name(qop);
        }
        writer.add_quoted("qop", qop_list);
    }
    if (stale) {
        writer.add_token("stale", "true");
    }
    return writer.str();
}

std::string DigestServer::make_challenge(std::uint64_t now_ms, bool stale) {
    return format_challenge(config_.algorithms.front(), issue_nonce(now_ms), stale);
}

std::vector<std::string> DigestServer::make_challenges(std::uint64_t now_ms, bool stale) {
    const std::string nonce = issue_nonce(now_ms);
    std::vector<std::string> challenges;
    for (const auto algorithm : config_.algorithms) {
        challenges.push_back(format_challenge(algorithm, nonce, stale));
    }
    return challenges;
}

VerifyOutcome DigestServer::verify(std::string_view header_value, std::string_view method,
                                   std::string_view body, const PasswordLookup& lookup_password,
                                   std::uint64_t now_ms) {
    using enum VerifyStatus;
    auto parsed = parse_auth_value(header_value);
    if (!parsed) {
        return outcome(malformed, parsed.error());
    }
    const AuthSchemeValue& item = *parsed;
    if (!equals_ignore_case(item.scheme, "Digest")) {
        return outcome(malformed, "scheme '" + item.scheme + "' is not Digest");
    }
    for (const char* required : {"username", "realm", "nonce", "uri", "response"}) {
        if (!item.get(required)) {
            return outcome(malformed, std::string("missing parameter '") + required + "'");
        }
    }
    VerifyOutcome result;
    result.user = std::string(*item.get("username"));
    result.digest_uri = std::string(*item.get("uri"));
    const auto fail = [&result](VerifyStatus status, std::string detail) {
        result.status = status;
        result.detail = std::move(detail);
        return result;
    };

    if (*item.get("realm") != config_.realm) {
        return fail(malformed, "realm \"" + std::string(*item.get("realm")) + "\" is not ours");
    }
    if (const auto userhash = item.get("userhash");
        userhash && equals_ignore_case(*userhash, "true")) {
        return fail(malformed, "userhash is not supported");
    }
    const std::string_view algorithm_text = item.get("algorithm").value_or("MD5");
    const auto algorithm = algorithm_from_name(algorithm_text);
    if (!algorithm || std::find(config_.algorithms.begin(), config_.algorithms.end(), *algorithm) ==
                          config_.algorithms.end()) {
        return fail(malformed, "algorithm '" + std::string(algorithm_text) + "' was not offered");
    }

    Qop qop = Qop::none;
    std::string_view nonce_count_text;
    std::uint32_t nonce_count = 0;
    std::string_view cnonce;
    const auto qop_text = item.get("qop");
    if (config_.qop_options.empty()) {
        if (qop_text) {
            return fail(malformed, "qop was not offered");
        }
    } else {
        const auto chosen = qop_text ? qop_from_name(*qop_text) : std::nullopt;
        if (!chosen || std::find(config_.qop_options.begin(), config_.qop_options.end(), *chosen) ==
                           config_.qop_options.end()) {
            return fail(malformed, "missing or unoffered qop");
        }
        qop = *chosen;
        nonce_count_text = item.get("nc").value_or("");
        const auto parsed_count = nonce_count_text.size() == kNonceCountLength
                                      ? parse_hex(nonce_count_text)
                                      : std::nullopt;
        if (!parsed_count || *parsed_count == 0) {
            return fail(malformed, "nc must be eight hex digits, not zero");
        }
        nonce_count = static_cast<std::uint32_t>(*parsed_count);
        cnonce = item.get("cnonce").value_or("");
        if (cnonce.empty()) {
            return fail(malformed, "missing cnonce");
        }
    }

    // Classify the nonce before touching the password so forged nonces cost no hashing.
    forget_expired(now_ms);
    const std::string nonce(*item.get("nonce"));
    auto record = nonces_.find(nonce);
    bool nonce_is_stale = false;
    if (record == nonces_.end()) {
        if (!issued_ms_if_ours(nonce)) {
            return fail(unknown_nonce, "nonce was not issued by this server");
        }
        nonce_is_stale = true;  // ours but expired or evicted
    } else if (expired(record->second.issued_ms, now_ms)) {
        nonce_is_stale = true;
    }

    // Checked after the nonce: a nonce from an earlier server instance also has a foreign opaque,
    // and "unknown nonce" tells the caller to re-challenge.
    if (config_.send_opaque && item.get("opaque") != std::optional<std::string_view>(opaque_)) {
        return fail(malformed, "opaque missing or not ours");
    }

    const std::optional<std::string> password =
        lookup_password ? lookup_password(result.user) : std::nullopt;
    if (!password) {
        return fail(unknown_user, "no such user '" + result.user + "'");
    }
    DigestResponseInputs inputs;
    inputs.algorithm = *algorithm;
    inputs.qop = qop;
    inputs.username = result.user;
    inputs.realm = config_.realm;
    inputs.password = *password;
    inputs.nonce = nonce;
    inputs.cnonce = cnonce;
    inputs.nonce_count = nonce_count_text;
    inputs.method = method;
    inputs.digest_uri = result.digest_uri;
    inputs.body = body;
    const auto expected = compute_response(inputs);
    if (!expected) {
        return fail(malformed, expected.error());
    }
    if (!digests_equal(*expected, *item.get("response"))) {
        return fail(bad_credentials, "response does not match");
    }
    // Only a correct digest earns stale=true (RFC 7616 §3.3); otherwise a client with a wrong
    // password would be invited to retry forever.
    if (nonce_is_stale) {
        return fail(stale_nonce, "nonce expired");
    }

    NonceRecord& state = record->second;
    if (qop == Qop::none) {
        // Without nc there is no counter to protect us, so such a nonce is good for one request.
        // A second use is answered as stale: an honest client then retries with a new nonce.
        if (state.used_without_qop) {
            return fail(stale_nonce, "nonce already used (no qop, single use)");
        }
        state.used_without_qop = true;
    } else {
        if (nonce_count <= state.highest_nonce_count) {
            return fail(replayed_nonce_count, "nc " + std::string(nonce_count_text) +
                                                  " not above the highest seen for this nonce");
        }
        state.highest_nonce_count = nonce_count;
    }
    result.status = ok;
    return result;
}

}  // namespace sipcc::auth
