// Private state of Engine, shared by engine.cpp (inputs, outputs, timers),
// engine_client.cpp (our requests) and engine_server.cpp (requests we receive).
#pragma once

#include <deque>
#include <map>
#include <unordered_map>

#include "core/auth/digest.hpp"
#include "core/engine/engine.hpp"
#include "core/transaction/transaction_layer.hpp"
#include "core/util/random.hpp"

namespace sipcc {

// One request of ours, across auth retries (each retry is a new transaction).
struct ClientRequest {
    Message request;                 // as last sent, without Via
    std::optional<DialogId> dialog;  // set for in-dialog requests
    TransactionId transaction = 0;
    Peer destination;
    bool provisional_seen = false;
    bool cancel_requested = false;
    bool cancel_sent = false;
    bool finished = false;  // final response or failure reported
    // Loop protection for digest: the nonces we already answered for this request.
    std::vector<std::string> answered_nonces;
    int stale_retries = 0;
};

struct DialogState {
    Dialog dialog;
    // UAC: the ACK for the 2xx, re-sent for every retransmitted 2xx.
    std::string ack_bytes;
    Peer ack_destination;
    // UAS: our 2xx to the INVITE, re-sent until the ACK arrives.
    std::string ok_bytes;
    Peer ok_destination;
    bool awaiting_ack = false;
    std::uint64_t ok_interval_ms = 0;
    std::uint64_t ok_give_up_at_ms = 0;
    std::uint32_t invite_cseq = 0;
    bool bye_sent = false;
    // RFC 5057 dialog usages: a REFER subscription may outlive the INVITE usage.
    bool subscription_alive = false;
    bool invite_usage_ended = false;
};

struct IncomingRequest {
    Message request;
    Peer source;
    std::optional<DialogId> dialog;
    std::string local_tag;  // our To tag for every response to this request
    bool final_sent = false;
};

// A send waiting for a name to resolve.
struct PendingSend {
    enum class Kind { start_transaction, stateless } kind = Kind::start_transaction;
    RequestHandle request = 0;    // start_transaction
    std::string stateless_bytes;  // stateless (ACK)
    Transport transport = Transport::udp;
    std::uint16_t port = 5060;
};

enum class EngineTimerKind { ok_retransmit };

struct Engine::Impl {
    explicit Impl(EngineConfig config);

    EngineConfig config;
    SeededRandom random;
    TransactionLayer transactions;
    EngineCounters counters;
    std::optional<SocketAddress> public_address;

    RequestHandle next_request = 1;
    DialogId next_dialog = 1;
    std::uint64_t next_resolve = 1;

    std::unordered_map<RequestHandle, ClientRequest> requests;
    std::unordered_map<TransactionId, RequestHandle> request_by_transaction;
    std::unordered_map<DialogId, DialogState> dialogs;
    std::unordered_map<std::string, DialogId> dialog_by_key;
    std::unordered_map<IncomingId, IncomingRequest> incoming;
    // 2xx to INVITE whose first transmission we want to capture for retransmission.
    std::unordered_map<TransactionId, DialogId> capture_ok_for;

    std::unordered_map<std::string, std::string> resolved;     // host -> ip
    std::unordered_map<std::uint64_t, std::string> resolving;  // resolve id -> host
    std::unordered_map<std::string, std::vector<PendingSend>> waiting_for_host;

    std::multimap<std::uint64_t, std::pair<EngineTimerKind, std::uint64_t>> timers;

    std::deque<Transmit> transmits;
    std::deque<EngineEvent> events;
    std::deque<ResolveRequest> resolves;

    // engine.cpp
    void emit(std::uint64_t now_ms, EngineEventPayload payload);
    void drain_transactions(std::uint64_t now_ms);
    void send_bytes(std::string bytes, Peer destination);
    void run_timers(std::uint64_t now_ms);
    static std::string dialog_index_key(const DialogKey& key);
    DialogId add_dialog(Dialog dialog);
    std::optional<DialogId> find_dialog(const std::string& call_id, const std::string& local_tag,
                                        const std::string& remote_tag) const;
    void end_dialog(std::uint64_t now_ms, DialogId id, DialogEndCause cause);
    SocketAddress contact_address() const;
    NameAddr contact_for(const std::string& user) const;
    Via make_via();

    // engine_client.cpp
    RequestHandle start(std::uint64_t now_ms, ClientRequest client);
    void route_and_send(std::uint64_t now_ms, RequestHandle handle);
    void start_transaction(std::uint64_t now_ms, RequestHandle handle, Peer destination);
    void send_stateless_to(std::uint64_t now_ms, std::string bytes, const Uri& next_hop);
    void on_response(std::uint64_t now_ms, TransactionId transaction, Message response);
    void on_2xx_to_invite(std::uint64_t now_ms, RequestHandle handle, ClientRequest& client,
                          const Message& response);
    void answer_challenge(std::uint64_t now_ms, RequestHandle handle, ClientRequest& client,
                          const Message& response);
    void send_cancel(std::uint64_t now_ms, ClientRequest& client);
    void fail_request(std::uint64_t now_ms, RequestHandle handle, FailureCause cause,
                      std::string detail, int status_code = 0);
    void learn_public_address(std::uint64_t now_ms, const Message& response);

    // engine_server.cpp
    void on_request(std::uint64_t now_ms, const RequestReceived& received);
    void on_ack(std::uint64_t now_ms, const Message& ack);
    void on_cancel(std::uint64_t now_ms, const RequestReceived& received);
    void answer(std::uint64_t now_ms, TransactionId transaction, const Message& request,
                int status_code, const std::string& to_tag = {});
    bool respond(std::uint64_t now_ms, IncomingId id, int status_code, std::vector<Header> headers,
                 std::string body, std::string content_type, std::string reason_phrase);
};

}  // namespace sipcc
