// The RFC 3261 §17 transaction layer: the four transaction state machines
// (INVITE client, non-INVITE client, INVITE server, non-INVITE server, each
// in its own file with named states and timers), message-to-transaction
// matching (§17.1.3, §17.2.3, with the RFC 2543 fallback), and the timers.
//
// Sans-I/O like the rest of the core: every call carries `now_ms`; what the
// layer wants sent comes out of poll_transmit(), what its user (the engine)
// must know comes out of poll_event(), and next_deadline() says when to call
// handle_timeout().
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "core/message/message.hpp"
#include "core/net/address.hpp"
#include "core/transaction/timers.hpp"

namespace sipcc {

using TransactionId = std::uint64_t;  // never 0; 0 means "no transaction"

enum class TransactionKind { invite_client, non_invite_client, invite_server, non_invite_server };

// Bytes to put on the wire.
struct TransactionTransmit {
    TransactionId transaction = 0;  // 0 for stateless sends
    Peer destination;
    std::string bytes;
};

// Client transactions: a response for the transaction user. Provisional ones
// each time; a final one once (retransmissions are absorbed), except 2xx to
// INVITE, passed up every time (RFC 6026 Accepted state, Timer M = 64*T1) so
// the user can ACK each one.
struct ResponseReceived {
    TransactionId transaction = 0;
    Message response;
};

// A new request that created a server transaction. `transaction` is 0 for a
// request that does not create one (an ACK matching no INVITE transaction,
// i.e. the ACK for a 2xx). For CANCEL, `cancelled_invite` is the INVITE
// server transaction it matches (§9.2), or 0 when none matches (answer 481).
struct RequestReceived {
    TransactionId transaction = 0;
    Message request;
    Peer source;
    TransactionId cancelled_invite = 0;
};

// Timer B/F (client: no final response), Timer H (INVITE server: no ACK for a
// non-2xx final response). `timer` is 'B', 'F' or 'H'.
struct TransactionTimeout {
    TransactionId transaction = 0;
    char timer = 'B';
};

// The driver reported that a message of this transaction could not be sent.
struct TransactionTransportError {
    TransactionId transaction = 0;
    std::string reason;
};

// The transaction reached Terminated and was destroyed.
struct TransactionTerminated {
    TransactionId transaction = 0;
};

using TransactionEvent = std::variant<ResponseReceived, RequestReceived, TransactionTimeout,
                                      TransactionTransportError, TransactionTerminated>;

class TransactionLayer {
public:
    explicit TransactionLayer(TimerConfig timers = {});
    ~TransactionLayer();
    TransactionLayer(const TransactionLayer&) = delete;
    TransactionLayer& operator=(const TransactionLayer&) = delete;

    // Starts a client transaction for `request` (INVITE or any non-INVITE
    // method except ACK) and sends it to `destination`. The top Via must carry
    // a branch with the z9hG4bK cookie. Returns 0 and emits nothing when the
    // request is unusable (no Via/branch/CSeq) or is an ACK.
    TransactionId start_client(std::uint64_t now_ms, Message request, Peer destination);

    // Sends outside any transaction (the ACK for a 2xx, RFC 3261 §13.2.2.4).
    void send_stateless(const Message& message, Peer destination);

    // Sends a response through a server transaction. The destination follows
    // RFC 3261 §18.2.2 and RFC 3581: the source address and port of the request
    // when its top Via has rport (or the transport is reliable), otherwise the
    // source IP and the Via sent-by port (5060 if absent). Returns false when
    // the transaction does not exist or cannot send this response in its state.
    bool respond(std::uint64_t now_ms, TransactionId server_transaction, Message response);

    // A message arrived (already parsed). Responses go to the matching client
    // transaction (or are dropped and counted when none matches); requests go
    // to the matching server transaction (retransmissions absorbed, the last
    // response re-sent) or create a new one.
    void receive(std::uint64_t now_ms, Message message, Peer source);

    void handle_timeout(std::uint64_t now_ms);
    [[nodiscard]] std::optional<std::uint64_t> next_deadline() const;

    // The driver could not send bytes of this transaction (ICMP, TCP reset...).
    void transport_error(std::uint64_t now_ms, TransactionId transaction, std::string reason);

    std::optional<TransactionTransmit> poll_transmit();
    std::optional<TransactionEvent> poll_event();

    // Introspection for tests and counters.
    [[nodiscard]] std::size_t active_transactions() const;
    [[nodiscard]] std::optional<TransactionKind> kind_of(TransactionId transaction) const;
    // Name of the current state, e.g. "Calling", "Proceeding", "Completed",
    // "Accepted", "Confirmed", "Trying", "Terminated" (after destruction).
    [[nodiscard]] std::string state_of(TransactionId transaction) const;
    // The request a client or server transaction was created for.
    [[nodiscard]] const Message* request_of(TransactionId transaction) const;
    [[nodiscard]] std::uint64_t stray_responses_dropped() const { return stray_responses_dropped_; }
    [[nodiscard]] const TimerConfig& timers() const { return timers_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    TimerConfig timers_;
    std::uint64_t stray_responses_dropped_ = 0;
};

}  // namespace sipcc
