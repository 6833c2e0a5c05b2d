// SIP/HTTP Digest authentication: hashing and the client (UAC) side.
// RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760. See docs/auth.md for the rules in prose.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/result.hpp"

namespace sipcc::auth {

// ---------------------------------------------------------------------------------------------
// Algorithms and hashing

enum class DigestAlgorithm {
    md5,
    md5_sess,
    sha256,
    sha256_sess,
    sha512_256,  // only when OpenSSL provides EVP_sha512_256; see algorithm_available()
    sha512_256_sess,
};

// Case-insensitive; nullopt for names we do not know or cannot compute here.
std::optional<DigestAlgorithm> algorithm_from_name(std::string_view name);
std::string_view algorithm_name(DigestAlgorithm algorithm);  // "MD5", "SHA-256-sess", ...
bool is_session_algorithm(DigestAlgorithm algorithm);
bool algorithm_available(DigestAlgorithm algorithm);
// Higher is stronger; the -sess variant ranks with its base hash.
int algorithm_strength(DigestAlgorithm algorithm);

// Lower-case hex digest of `data`, computed through OpenSSL's EVP interface.
Result<std::string> hash_hex(DigestAlgorithm algorithm, std::string_view data);

enum class Qop { none, auth, auth_int };
std::string_view qop_name(Qop qop);  // "", "auth", "auth-int"

// "00000001" etc.: the nc parameter is exactly eight lower-case hex digits.
std::string format_nonce_count(std::uint32_t nonce_count);

// Everything the response hash depends on. Views must outlive the call only.
struct DigestResponseInputs {
    DigestAlgorithm algorithm = DigestAlgorithm::md5;
    Qop qop = Qop::none;
    std::string_view username;  // the authentication user, unquoted
    std::string_view realm;
    std::string_view password;
    std::string_view nonce;
    std::string_view cnonce;       // ignored when qop is none and the algorithm is not -sess
    std::string_view nonce_count;  // eight hex digits; ignored when qop is none
    std::string_view method;
    std::string_view digest_uri;
    std::string_view body;  // used for auth-int only
};

// response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2), or H(HA1 ":" nonce ":" HA2)
// without qop (RFC 2069). -sess algorithms need a cnonce and therefore a qop.
Result<std::string> compute_response(const DigestResponseInputs& inputs);

// Caller-supplied randomness: 64 random bits per call. The core never seeds anything itself;
// wrap a generator, e.g. `[&rng] { return rng(); }` with a seeded std::mt19937_64 (tests) or a
// CSPRNG (production). Must not throw.
using RandomSource = std::function<std::uint64_t()>;

// ---------------------------------------------------------------------------------------------
// Client side

struct DigestChallenge {
    std::string realm;
    std::string nonce;
    std::string opaque;                    // empty when the server sent none
    std::string algorithm = "MD5";         // as sent (echoed back verbatim); default "MD5"
    std::vector<std::string> qop_options;  // lower-cased; empty: RFC 2069 style, no qop
    bool stale = false;
    bool proxy = false;  // true: 407 Proxy-Authenticate; false: 401 WWW-Authenticate
};

// Parses one WWW-Authenticate / Proxy-Authenticate value holding a single Digest challenge.
// Errors: other schemes, syntax errors, missing realm or nonce, unsupported algorithm.
Result<DigestChallenge> parse_challenge(std::string_view header_value, bool proxy);

// Parses a value that may hold several challenges (RFC 7235 §4.1) and keeps the Digest ones we
// can compute. Fails on syntax errors or when none is usable (the reason names the last one).
Result<std::vector<DigestChallenge>> parse_challenges(std::string_view header_value, bool proxy);

// True when we can build a response: supported algorithm, and either no qop or one of
// auth/auth-int offered; -sess additionally needs a qop (it hashes the cnonce).
bool is_answerable(const DigestChallenge& challenge);

// RFC 8760: a server may offer the same realm with several algorithms. Picks the strongest
// answerable one (SHA-512-256 > SHA-256 > MD5, -sess ranking with its base); on a tie the
// earliest, i.e. the server's order. nullptr when none is answerable.
const DigestChallenge* choose_strongest(const std::vector<DigestChallenge>& challenges);

// The qop we answer with: auth whenever offered, auth-int only when it is the only option
// (it hashes the body, which breaks as soon as a proxy touches the body). nullopt: no usable qop.
std::optional<Qop> choose_qop(const DigestChallenge& challenge);

struct Credentials {
    std::string auth_user;  // authentication user name; may differ from the SIP user in From
    std::string password;
};

struct DigestRequest {
    std::string_view method;      // "REGISTER", "INVITE", ...
    std::string_view digest_uri;  // the Request-URI, sent as uri="..."
    std::string_view body;        // hashed only for auth-int
};

// "Authorization" or "Proxy-Authorization".
std::string_view authorization_header_name(bool proxy);

// Pure builder for the Authorization / Proxy-Authorization value:
//   Digest username="...", realm="...", nonce="...", uri="...", response="...", algorithm=...,
//   cnonce="...", opaque="...", qop=auth, nc=00000001
// qop, nc and cnonce are omitted when the challenge had no qop; opaque is echoed when present.
Result<std::string> build_authorization(const DigestChallenge& challenge,
                                        const Credentials& credentials,
                                        const DigestRequest& request, std::uint32_t nonce_count,
                                        std::string_view cnonce);

// Client state per (proxy flag, realm): nonce count, cnonce and loop protection.
//
// Loop protection, exactly:
//  * respond() marks the realm "awaiting verdict": credentials were sent in answer to a
//    challenge and the server has not yet accepted them. accepted() clears the mark.
//  * A challenge for a realm that is awaiting a verdict means the credentials were refused.
//    It is retried only when it carries stale=true AND a nonce different from the one we used
//    (the server says our digest was right but the nonce expired), and at most
//    max_stale_retries times in a row. Otherwise respond() fails with "authentication failed"
//    (wrong user or password) - this includes a fresh nonce without stale=true.
//  * A failure is sticky: the realm keeps failing until forget() (e.g. after the user has
//    entered a new password).
//  * Credentials sent pre-emptively with reauthorize() do not set the mark: a server that
//    restarted and forgot its nonces may legitimately answer them with a fresh challenge.
class DigestClient {
public:
    static constexpr int max_stale_retries = 2;

    explicit DigestClient(RandomSource random) : random_(std::move(random)) {}

    // Answers a challenge received in a 401/407. nc is 00000001 for a new nonce and continues
    // counting when the nonce is one we already used. The cnonce is drawn once per nonce.
    Result<std::string> respond(const DigestChallenge& challenge, const Credentials& credentials,
                                const DigestRequest& request);

    // Reuses the last nonce of a realm for a new request (nc + 1) without waiting for a
    // challenge. Fails when the realm has no usable state.
    Result<std::string> reauthorize(std::string_view realm, bool proxy,
                                    const Credentials& credentials, const DigestRequest& request);

    // The request carrying our credentials got a final response other than 401/407.
    void accepted(std::string_view realm, bool proxy);
    // Drops all state (including a sticky failure) for a realm.
    void forget(std::string_view realm, bool proxy);

    // The nc last sent for a realm, 0 if none.
    [[nodiscard]] std::uint32_t nonce_count(std::string_view realm, bool proxy) const;

private:
    struct RealmState {
        DigestChallenge challenge;  // the one last answered; reauthorize() reuses it
        std::string cnonce;
        std::uint32_t nonce_count = 0;
        bool awaiting_verdict = false;
        bool failed = false;
        int stale_retries = 0;
    };
    using RealmKey = std::pair<bool, std::string>;

    Result<std::string> answer(RealmState& state, const Credentials& credentials,
                               const DigestRequest& request);
    Result<std::string> draw_cnonce();

    RandomSource random_;
    std::map<RealmKey, RealmState> realms_;
};

}  // namespace sipcc::auth
