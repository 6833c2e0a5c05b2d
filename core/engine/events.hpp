// What the engine tells its driver and its user. Every output is a value that
// the driver carries out; the engine itself does no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "core/message/message.hpp"
#include "core/net/address.hpp"

namespace sipcc {

using RequestHandle = std::uint64_t;  // a request we sent (survives auth retries)
using IncomingId = std::uint64_t;     // a request we received and must answer
using DialogId = std::uint64_t;

// Bytes to send.
struct Transmit {
    Peer destination;
    std::string bytes;
};

// The driver must resolve `host` (A records) and call handle_resolved(id, ...).
struct ResolveRequest {
    std::uint64_t id = 0;
    std::string host;
};

// Why a request of ours ended without a final response from the far end.
enum class FailureCause {
    timeout,                // Timer B / F: no final response
    transport_error,        // the driver could not send
    resolution_failed,      // the next hop's name did not resolve
    authentication_failed,  // challenged again after we answered (wrong credentials)
    no_credentials,         // challenged and we have no password
    bad_request,            // we could not build the request (bad URI ...)
};
std::string_view to_string(FailureCause cause);

// A response to one of our requests. 401/407 answered automatically do not
// appear; every 2xx retransmission to INVITE does not appear either (the
// engine ACKs it itself).
struct ResponseEvent {
    RequestHandle request = 0;
    Message response;
    std::optional<DialogId> dialog;  // the dialog this response created or belongs to
};

struct RequestFailedEvent {
    RequestHandle request = 0;
    FailureCause cause = FailureCause::timeout;
    std::string detail;
    int status_code = 0;  // the last response's code when there was one (e.g. 401)
};

// A request for the user to answer with respond(). ACK, CANCEL, and requests
// the engine answers itself (481, 500, 400) do not appear.
struct IncomingRequestEvent {
    IncomingId id = 0;
    Message request;
    Peer source;
    std::optional<DialogId> dialog;
};

// The peer cancelled an INVITE we had not answered finally; the engine already
// answered 200 to the CANCEL and 487 to the INVITE.
struct IncomingCancelledEvent {
    IncomingId id = 0;
};

// The ACK for a 2xx we sent arrived.
struct AckReceivedEvent {
    DialogId dialog = 0;
    Message ack;
};

enum class DialogEndCause {
    bye_received,  // the peer sent BYE (answered 200 by the engine)
    bye_sent,      // our BYE got its final response (or timed out)
    ack_timeout,   // our 2xx was never ACKed within 64*T1; we sent BYE
};
std::string_view to_string(DialogEndCause cause);

struct DialogTerminatedEvent {
    DialogId dialog = 0;
    DialogEndCause cause = DialogEndCause::bye_received;
};

// The address a peer saw us at (received/rport of a response, RFC 3581); the
// engine uses it in the Contact of later requests.
struct PublicAddressLearned {
    SocketAddress address;
};

// An incoming message that could not be used: answered 400 or dropped, counted.
struct MalformedMessageEvent {
    Peer source;
    std::string reason;
    bool answered = false;
};

using EngineEventPayload =
    std::variant<ResponseEvent, RequestFailedEvent, IncomingRequestEvent, IncomingCancelledEvent,
                 AckReceivedEvent, DialogTerminatedEvent, PublicAddressLearned,
                 MalformedMessageEvent>;

struct EngineEvent {
    std::uint64_t at_ms = 0;
    EngineEventPayload payload;
};

}  // namespace sipcc
