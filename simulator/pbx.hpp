// A simulated PBX on the virtual network: a stateless proxy (RFC 3261 §16.11) and a
// registrar (§10) in the style of TekSIP or a basic Kamailio configuration. It works on
// sipcc message values and real wire bytes, not on the Engine (which is a user agent):
// every retransmission is forwarded again, with the same branch, and the PBX keeps no
// transaction state beyond a short memory of what it has already accepted or counted.
// See docs/pbx-model.md for the routing rules, the knobs and the counters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/auth/digest_server.hpp"
#include "core/message/message.hpp"
#include "simulator/node.hpp"

namespace sipcc::sim {

// A user that may register (and authenticate calls); the auth user is `user`.
struct PbxUser {
    std::string user;
    std::string password;
};

// One entry of the route table, for Request-URI users of our domain that are not
// registered. The longest matching prefix wins; an empty prefix matches every user.
struct PbxRoute {
    std::string prefix;
    std::string destination;       // host[:port]; the port defaults to 5060, a name is resolved
    std::size_t strip_digits = 0;  // characters removed from the front of the user
    std::string add_prefix;        // then put in front of what is left
};

struct PbxConfig {
    SocketAddress address{"127.0.0.10", 5060};
    std::string domain = "pbx.test";  // Request-URIs with this host (or our IP) are ours
    std::vector<PbxUser> users;
    std::string realm;  // digest realm; empty: the domain
    // Demand credentials: REGISTER with 401/WWW-Authenticate, INVITE (initial ones, no To
    // tag) and REFER (in or out of a dialog) with 407/Proxy-Authenticate.
    bool challenge_register = true;
    bool challenge_invite = false;
    bool challenge_refer = false;
    std::vector<auth::DigestAlgorithm> auth_algorithms{auth::DigestAlgorithm::sha256,
                                                       auth::DigestAlgorithm::md5};
    std::uint64_t nonce_lifetime_ms = 30'000;
    std::vector<PbxRoute> routes;
    // Record-Route <sip:IP:PORT;lr> on initial INVITE, SUBSCRIBE and REFER, so the
    // dialog's later requests (ACK, BYE, REFER, NOTIFY) come through the PBX.
    bool record_route = true;
    // Quirk: an in-dialog REFER ignores its Route set and is re-targeted by the user part
    // of its Request-URI against the registrations (newest binding), or answered 404.
    bool quirk_misroute_in_dialog_refer = false;
    // Registration lifetimes (Expires header or ;expires contact parameter).
    std::uint32_t default_expires_s = 3600;
    std::uint32_t min_expires_s = 0;       // a shorter non-zero request gets 423 (0: no minimum)
    std::uint32_t max_expires_s = 86'400;  // longer requests are cut to this
    // How long a retransmission is recognised (64*T1): an accepted digest is accepted
    // again for the same branch, and a final response to INVITE is counted once.
    std::uint64_t transaction_memory_ms = 32'000;
    std::string server_name = "sipcc-pbx/0.1";  // Server header of our own responses
    std::uint64_t seed = 1;  // nonces, the digest secret and our To tags derive from it
};

// What the PBX did; see docs/pbx-model.md for exactly what each one counts.
struct PbxCounters {
    std::uint64_t requests_received = 0;  // parsed requests, retransmissions included
    std::uint64_t requests_forwarded = 0;
    std::uint64_t responses_received = 0;
    std::uint64_t responses_forwarded = 0;  // every copy
    std::uint64_t responses_sent = 0;       // answered by the PBX itself, any code
    std::uint64_t challenges_sent = 0;      // 401 and 407
    // Credentials refused: wrong password, unknown user, unknown, replayed or malformed
    // digest, credentials of another user (403).
    std::uint64_t auth_failures = 0;
    std::uint64_t registrations_active = 0;    // live contact bindings at the time asked
    std::uint64_t registrations_accepted = 0;  // REGISTER answered 200
    // Final responses to INVITE forwarded from downstream, each counted once, not per copy.
    std::uint64_t calls_ok = 0;                 // 2xx
    std::uint64_t calls_failed = 0;             // >= 300
    std::uint64_t not_found = 0;                // 404 answered by the PBX itself
    std::uint64_t too_many_hops = 0;            // 483 answered
    std::uint64_t acks_absorbed = 0;            // ACKs for our own non-2xx answers
    std::uint64_t malformed_dropped = 0;        // unparsable, no Via, or a broken ACK
    std::uint64_t stray_responses_dropped = 0;  // top Via not ours, or no Via below it
};

// One contact bound to a user, as the registrar sees it at some instant.
struct RegisteredContact {
    std::string uri;                // the contact URI, without the name-addr's parameters
    std::uint64_t remaining_s = 0;  // rounded up
};

class Pbx : public Node {
public:
    explicit Pbx(PbxConfig config);

    // --- Node ---
    [[nodiscard]] SocketAddress address() const override { return config_.address; }
    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override;
    // The PBX keeps no timers: bindings expire lazily, so it never drives virtual time.
    void on_timeout(std::uint64_t) override {}
    void on_resolved(std::uint64_t now_ms, std::uint64_t resolve_id, std::optional<std::string> ip,
                     std::string error) override;
    [[nodiscard]] std::optional<std::uint64_t> next_timeout() const override {
        return std::nullopt;
    }
    std::optional<Transmit> poll_transmit() override;
    std::optional<ResolveRequest> poll_resolve() override;

    // --- observation ---
    [[nodiscard]] PbxCounters counters(std::uint64_t now_ms) const;
    // Live bindings at `now_ms`: user -> contacts, newest (the one calls go to) first.
    [[nodiscard]] std::map<std::string, std::vector<RegisteredContact>> bindings(
        std::uint64_t now_ms) const;
    [[nodiscard]] const PbxConfig& config() const { return config_; }
    // Why a part of the configuration was refused (bad route, digest setup); empty if fine.
    [[nodiscard]] const std::string& setup_error() const { return setup_error_; }

private:
    struct Binding {
        NameAddr contact;
        std::uint64_t expires_at_ms = 0;
        std::string call_id;
        std::uint32_t cseq = 0;
        std::uint64_t refreshed_order = 0;  // higher: added or refreshed later
    };

    // A route-table entry with its destination taken apart.
    struct ParsedRoute {
        PbxRoute route;
        std::string host;
        std::uint16_t port = 5060;
    };

    // Keys remembered for a while, forgotten oldest first (all share one lifetime).
    class RecentKeys {
    public:
        [[nodiscard]] bool contains(const std::string& key, std::uint64_t now_ms) const;
        // False when the key was already there.
        bool remember(const std::string& key, std::uint64_t now_ms, std::uint64_t lifetime_ms);
        void forget_expired(std::uint64_t now_ms);

    private:
        static constexpr std::size_t kCapacity = 4096;
        std::unordered_map<std::string, std::uint64_t> expires_at_ms_;
        std::deque<std::pair<std::uint64_t, std::string>> order_;
    };

    // Bytes that wait for a name to resolve; `request` is answered 503 if it does not.
    struct PendingSend {
        std::string host;
        Peer destination;  // address filled in when the name resolves
        std::string bytes;
        std::optional<Message> request;
        Peer request_source;
    };

    void handle_request(std::uint64_t now_ms, Message request, const Peer& source);
    void handle_response(std::uint64_t now_ms, Message response);
    void handle_register(std::uint64_t now_ms, const Message& request, const Peer& source);
    // Checks the credentials; nullopt when the request was answered (challenge, 400).
    std::optional<std::string> authenticate(std::uint64_t now_ms, const Message& request,
                                            const Peer& source, bool proxy);
    void forward(Message outgoing, const Message& received, const Peer& source,
                 const Uri& next_hop);
    void send_to_host(std::string host, Peer destination, std::string bytes, const Message* request,
                      const Peer& request_source);
    // Sends unless the destination is the PBX itself (482 to `request`, if any).
    void send_forwarded(Peer destination, std::string bytes, const Message* request,
                        const Peer& request_source);
    // Answers statelessly (never an ACK), with our deterministic To tag.
    void respond(const Message& request, const Peer& source, int status_code,
                 std::vector<Header> extra_headers = {}, std::string reason_phrase = {});
    void count_invite_final(std::uint64_t now_ms, const Message& response);
    void forget_expired(std::uint64_t now_ms);

    [[nodiscard]] bool is_own_uri(const Uri& uri) const;
    [[nodiscard]] bool is_own_via(const Via& via) const;
    [[nodiscard]] const Binding* newest_binding(const std::string& user) const;
    [[nodiscard]] const ParsedRoute* match_route(const std::string& user) const;
    [[nodiscard]] std::string branch_for(const Message& received) const;
    [[nodiscard]] std::string local_tag_for(const Message& request) const;
    [[nodiscard]] std::optional<std::string> password_of(std::string_view user) const;

    PbxConfig config_;
    std::string setup_error_;
    // On the heap so the digest server's random source stays valid when the Pbx moves.
    std::unique_ptr<std::mt19937_64> random_;
    std::optional<auth::DigestServer> digest_;
    std::string realm_;
    std::string local_tag_prefix_;  // starts the To tag of every response we make ourselves
    std::vector<ParsedRoute> routes_;

    std::map<std::string, std::vector<Binding>> bindings_;  // by user
    std::uint64_t next_refreshed_order_ = 1;
    RecentKeys accepted_credentials_;  // branch + method + credentials already verified
    RecentKeys counted_finals_;        // INVITE final responses already counted

    std::map<std::string, std::string> resolved_;  // name -> IP
    std::map<std::uint64_t, PendingSend> pending_resolution_;
    std::uint64_t next_resolve_id_ = 1;

    std::deque<Transmit> outbox_;
    std::deque<ResolveRequest> resolves_;
    PbxCounters counters_;
};

}  // namespace sipcc::sim
