// The sans-I/O SIP user-agent core: transactions, dialogs, 2xx handling,
// digest answers, rport, outbound proxy and name-resolution requests.
//
// Inputs carry `now_ms` (handle_*); outputs are drained by the driver
// (poll_*). The engine never touches a socket, clock, thread or resolver.
// See docs/engine.md for the driver loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/dialog/dialog.hpp"
#include "core/engine/engine_config.hpp"
#include "core/engine/events.hpp"

namespace sipcc {

// A request outside any dialog (INVITE, REGISTER, OPTIONS, MESSAGE ...).
struct OutgoingRequest {
    std::string method{};
    Uri request_uri{};
    NameAddr from{};  // the engine adds a tag when it has none
    NameAddr to{};
    std::vector<Header> headers{};  // extra headers, in order (a Contact here replaces ours)
    std::string body{};
    std::string content_type{};  // required when body is not empty
};

// A request inside a dialog (REFER, BYE, NOTIFY, INFO ...).
struct InDialogRequest {
    std::string method{};
    std::vector<Header> headers{};
    std::string body{};
    std::string content_type{};
};

struct EngineCounters {
    std::uint64_t messages_received = 0;
    std::uint64_t messages_sent = 0;
    std::uint64_t malformed_dropped = 0;
    std::uint64_t malformed_answered = 0;  // answered 400
    std::uint64_t stray_responses = 0;
    std::uint64_t answered_481 = 0;
    std::uint64_t answered_500_cseq = 0;
    std::uint64_t ack_retransmissions = 0;  // ACKs re-sent for retransmitted 2xx
    std::uint64_t ok_retransmissions = 0;   // our 2xx re-sent while waiting for ACK
};

class Engine {
public:
    explicit Engine(EngineConfig config);
    ~Engine();
    Engine(Engine&&) noexcept;
    Engine& operator=(Engine&&) noexcept;

    // --- inputs ---
    // One whole message: a datagram, or a message cut from a stream by StreamFramer.
    void handle_received(std::uint64_t now_ms, std::string_view bytes, Peer source);
    void handle_timeout(std::uint64_t now_ms);
    // The answer to a ResolveRequest: an IP address, or nullopt and the reason.
    void handle_resolved(std::uint64_t now_ms, std::uint64_t resolve_id,
                         std::optional<std::string> ip, std::string error = {});

    // The driver could not send to `destination`: every request of ours in
    // flight to it fails now with FailureCause::transport_error (instead of
    // waiting for Timer B/F).
    void handle_send_failed(std::uint64_t now_ms, const Peer& destination, std::string reason);

    // --- user commands ---
    // 0 when the request cannot be built (the reason comes as RequestFailedEvent).
    RequestHandle send_request(std::uint64_t now_ms, OutgoingRequest request);
    // 0 when the dialog does not exist.
    RequestHandle send_in_dialog(std::uint64_t now_ms, DialogId dialog, InDialogRequest request);
    // Cancels an INVITE (RFC 3261 §9.1): sent once a provisional response has
    // arrived; a 2xx crossing the CANCEL is ACKed and the dialog ended with BYE.
    bool cancel(std::uint64_t now_ms, RequestHandle request);
    // Answers an IncomingRequestEvent. A 2xx to INVITE creates the dialog and is
    // retransmitted until the ACK arrives (64*T1, then BYE).
    bool respond(std::uint64_t now_ms, IncomingId incoming, int status_code,
                 std::vector<Header> headers = {}, std::string body = {},
                 std::string content_type = {}, std::string reason_phrase = {});

    // While `keep` is true, a BYE on this dialog ends only its INVITE usage
    // (DialogTerminatedEvent is still reported): NOTIFYs of a REFER subscription
    // are still accepted in it (RFC 5057). Releasing it (false) removes a dialog
    // whose INVITE usage already ended.
    void keep_dialog_for_subscription(DialogId dialog, bool keep);

    // --- outputs ---
    std::optional<Transmit> poll_transmit();
    std::optional<EngineEvent> poll_event();
    std::optional<ResolveRequest> poll_resolve();
    // The next time handle_timeout() must be called, if any.
    [[nodiscard]] std::optional<std::uint64_t> poll_timeout() const;

    // --- introspection ---
    [[nodiscard]] const Dialog* dialog(DialogId id) const;
    [[nodiscard]] std::optional<DialogId> dialog_of(RequestHandle request) const;
    // The dialog an incoming request belongs to, or created with our 2xx to it.
    [[nodiscard]] std::optional<DialogId> dialog_of_incoming(IncomingId incoming) const;
    [[nodiscard]] const EngineCounters& counters() const;
    [[nodiscard]] SocketAddress contact_address() const;  // learned via rport, else local
    [[nodiscard]] const EngineConfig& config() const;
    [[nodiscard]] std::size_t active_transactions() const;
    [[nodiscard]] std::size_t active_dialogs() const;
    // Requests of ours still remembered (until finished and their transaction is gone).
    [[nodiscard]] std::size_t active_requests() const;
    // Fresh token from the seeded generator (for tags and ids of layers above).
    std::string random_token(std::size_t length = 16);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace sipcc
