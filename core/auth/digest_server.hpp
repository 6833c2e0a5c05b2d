// Digest authentication, server (UAS / registrar / proxy) side: issues challenges and verifies
// Authorization values. Used by the simulated PBX. See docs/auth.md for the nonce rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/auth/digest.hpp"
#include "core/util/result.hpp"

namespace sipcc::auth {

struct DigestServerConfig {
    std::string realm;
    // One challenge per algorithm, strongest first (RFC 8760 §2.4); all share one nonce.
    std::vector<DigestAlgorithm> algorithms{DigestAlgorithm::sha256, DigestAlgorithm::md5};
    // Offered qop values; empty means RFC 2069 style (no qop, no nc, no replay counter).
    std::vector<Qop> qop_options{Qop::auth};
    std::uint64_t nonce_lifetime_ms = 30'000;
    // Bound on remembered nonces; the oldest is forgotten first when full.
    std::size_t max_live_nonces = 4096;
    // Send an opaque value and require it to be echoed.
    bool send_opaque = true;
};

enum class VerifyStatus {
    ok,
    bad_credentials,       // digest does not match: wrong password (or tampered request)
    unknown_user,          // the password lookup did not know the user
    unknown_nonce,         // nonce not issued by this server instance
    stale_nonce,           // digest right but nonce expired/forgotten: re-challenge, stale=true
    replayed_nonce_count,  // nc not greater than the highest accepted for this nonce
    malformed,             // unparsable, wrong realm, algorithm/qop not offered, bad nc, ...
};

std::string_view to_string(VerifyStatus status);

struct VerifyOutcome {
    VerifyStatus status = VerifyStatus::malformed;
    std::string user;        // the authentication user from the header, once parsed
    std::string digest_uri;  // uri="..." so the caller may compare it with the Request-URI
    std::string detail;      // human-readable reason for anything but ok

    [[nodiscard]] bool ok() const { return status == VerifyStatus::ok; }
};

// Password for an authentication user, nullopt when the user does not exist.
using PasswordLookup = std::function<std::optional<std::string>(std::string_view auth_user)>;

class DigestServer {
public:
    // Validates the configuration (non-empty realm, available algorithms, -sess only with a
    // qop, positive lifetime and capacity, a random source) and draws the nonce-signing secret.
    static Result<DigestServer> create(DigestServerConfig config, RandomSource random);

    // WWW-Authenticate / Proxy-Authenticate value for the first configured algorithm:
    //   Digest realm="...", nonce="...", opaque="...", algorithm=SHA-256, qop="auth"
    // plus stale=true when asked (after verify() said stale_nonce).
    std::string make_challenge(std::uint64_t now_ms, bool stale = false);
    // One value per configured algorithm, strongest first, sharing a single new nonce; send each
    // as its own header.
    std::vector<std::string> make_challenges(std::uint64_t now_ms, bool stale = false);

    // Checks an Authorization / Proxy-Authorization value for a request with this method and
    // body. On ok the nonce count is recorded, so the same value is refused next time.
    VerifyOutcome verify(std::string_view header_value, std::string_view method,
                         std::string_view body, const PasswordLookup& lookup_password,
                         std::uint64_t now_ms);

    [[nodiscard]] std::size_t live_nonce_count() const { return nonces_.size(); }
    [[nodiscard]] const DigestServerConfig& config() const { return config_; }

private:
    struct NonceRecord {
        std::uint64_t issued_ms = 0;
        std::uint32_t highest_nonce_count = 0;  // 0: none accepted yet
        bool used_without_qop = false;
    };

    DigestServer(DigestServerConfig config, RandomSource random, std::string secret,
                 std::string opaque);

    std::string issue_nonce(std::uint64_t now_ms);
    [[nodiscard]] std::string nonce_tag(std::string_view issued_hex,
                                        std::string_view random_hex) const;
    [[nodiscard]] std::optional<std::uint64_t> issued_ms_if_ours(std::string_view nonce) const;
    [[nodiscard]] bool expired(std::uint64_t issued_ms, std::uint64_t now_ms) const;
    void forget_expired(std::uint64_t now_ms);
    std::string format_challenge(DigestAlgorithm algorithm, const std::string& nonce,
                                 bool stale) const;

    DigestServerConfig config_;
    RandomSource random_;
    std::string secret_;  // keys the nonce tag so we recognise our own expired nonces
    std::string opaque_;
    std::unordered_map<std::string, NonceRecord> nonces_;
    std::deque<std::pair<std::uint64_t, std::string>> issue_order_;  // (issued_ms, nonce)
};

}  // namespace sipcc::auth
