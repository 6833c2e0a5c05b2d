// A simulated SIP phone on the virtual network: it answers calls, follows REFER
// (click-to-dial and transfer) and reports progress with NOTIFY, with the knobs
// and quirks of real phones so a controller can be tested against them.
// See docs/phone-model.md for every knob and what it looks like on the wire.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/auth/digest_server.hpp"
#include "core/engine/engine.hpp"
#include "simulator/node.hpp"

namespace sipcc::sim {

// The final answer to an incoming INVITE.
enum class AnswerMode {
    answer,   // 200 OK with SDP
    busy,     // 486 Busy Here
    decline,  // 603 Decline
    never,    // rings forever; only the caller's CANCEL (487) ends it
    reject,   // PhoneBehavior::reject_status_code
};

enum class ReferMode {
    accept_and_follow,  // 2xx, then INVITE the Refer-To target and NOTIFY progress
    reject,             // PhoneBehavior::refer_reject_status_code
};

struct PhoneBehavior {
    // --- answering incoming INVITEs ---
    AnswerMode answer_mode = AnswerMode::answer;
    // Delay from the INVITE to the final answer, whatever the mode (0: at once).
    std::uint64_t answer_after_ms = 2000;
    int reject_status_code = 480;  // for AnswerMode::reject (300..699, else 480)
    bool send_ringing = true;      // 180 Ringing as soon as the INVITE arrives
    // BYE this long after we answered (also while a transfer is in progress).
    std::optional<std::uint64_t> hang_up_after_ms;
    // BYE the call placed for a REFER this long after the callee answered.
    std::optional<std::uint64_t> hang_up_transferred_call_after_ms;

    // --- REFER ---
    ReferMode refer_mode = ReferMode::accept_and_follow;
    int refer_reject_status_code = 405;  // ReferMode::reject; 405 carries Allow (300..699)
    int refer_accept_status_code = 202;  // some phones answer 200 OK (non-2xx: 202)
    // Answer a REFER without valid credentials with 401 (digest, realm and password below).
    bool challenge_refer = false;
    std::string refer_auth_realm = "phone";
    std::string refer_auth_user;  // empty: any user name is accepted with the password
    std::string refer_auth_password = "secret";
    std::vector<auth::DigestAlgorithm> refer_auth_algorithms{auth::DigestAlgorithm::md5};
    // Refuse a Refer-To whose URI lacks user=phone.
    bool requires_user_phone = false;
    int user_phone_missing_status_code = 404;
    // Quirks of the implicit subscription (RFC 3515).
    bool notify_before_202 = false;     // the first NOTIFY goes out before the 2xx
    bool send_no_notify = false;        // accept and follow, never NOTIFY
    bool only_final_notify = false;     // no 100/18x NOTIFYs, just the final one
    bool honor_refer_sub_false = true;  // RFC 4488: no subscription when asked
    std::uint32_t refer_subscription_expires_s = 60;
    // NOTIFY pacing: wait for the answer to one NOTIFY before sending the next,
    // and leave at least this gap between two NOTIFYs of a subscription.
    bool wait_for_notify_answer = true;
    std::uint64_t notify_spacing_ms = 0;
    // RFC 5057: the REFER subscription outlives a BYE of the call it came in, so
    // NOTIFYs go on in that dialog. False: the subscription dies with the call.
    bool keep_notifying_after_bye = true;

    // Requests kept in received_requests() (the oldest are dropped beyond this).
    std::size_t request_log_limit = 256;
};

struct PhoneConfig {
    std::string user = "phone";  // our SIP user: From of the calls we place
    std::string domain;          // host of our address of record; empty: our IP
    std::string display_name;
    EngineConfig engine;  // engine.password answers the registrar's (and proxies') challenges
    PhoneBehavior behavior;
    // Register our AOR (user@domain) at this registrar ("host:port") when
    // started, and refresh at half the granted time.
    std::optional<std::string> registrar;
    std::uint32_t register_expires_s = 3600;
    std::uint64_t register_delay_ms = 0;  // when the first REGISTER goes out
};

// What the phone is doing; with several calls, the first that applies in this order.
enum class PhoneActivity {
    transferring,       // following a REFER: the INVITE to the target has no final answer yet
    dialing,            // a call placed with dial() has no final answer yet
    ringing,            // an incoming call waits to be answered
    talking_to_callee,  // a call we placed (for a REFER or dial()) is up
    talking_to_caller,  // a call we answered is up (the controller's leg in click-to-dial)
    idle,
};
std::string_view to_string(PhoneActivity activity);

struct PhoneCounters {
    std::uint64_t invites_received = 0;  // new calls; re-INVITEs not counted
    std::uint64_t calls_answered = 0;    // 200 OK sent to a new call
    std::uint64_t calls_placed = 0;      // INVITEs sent (REFER targets and dial())
    std::uint64_t refers_received = 0;
    std::uint64_t refers_accepted = 0;
    std::uint64_t refer_challenges_sent = 0;
    std::uint64_t notifies_sent = 0;
    std::uint64_t byes_sent = 0;
    std::uint64_t registrations_ok = 0;       // 2xx to our REGISTER
    std::uint64_t registration_failures = 0;  // failure response, timeout or auth refused
};

// One request as the phone saw it. ACK, CANCEL and BYE (which the engine
// answers itself) are recorded too, without headers.
struct ReceivedRequest {
    std::uint64_t at_ms = 0;
    std::string method;
    std::string request_uri;  // empty for ACK, CANCEL and BYE
    std::string call_id;
    std::uint32_t cseq = 0;
    bool in_dialog = false;
    // Only the headers a test or a ladder cares about: Refer-To, Referred-By,
    // Refer-Sub, Authorization, Event, Subscription-State, Replaces.
    std::vector<Header> key_headers;

    [[nodiscard]] const std::string* header(std::string_view name) const;
};

// One REFER we accepted, and what became of it.
struct TransferRecord {
    std::uint64_t refer_received_ms = 0;
    std::string target;                 // the Request-URI of the INVITE we sent
    bool subscription = true;           // false: Refer-Sub: false honoured
    std::vector<std::string> sipfrags;  // NOTIFY bodies sent, in order
    int final_status_code = 0;          // 0 while the INVITE is pending
};

class Phone : public Node {
public:
    explicit Phone(PhoneConfig config);
    // The digest server's random source points back at this phone.
    Phone(const Phone&) = delete;
    Phone& operator=(const Phone&) = delete;

    // --- Node ---
    [[nodiscard]] SocketAddress address() const override;
    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override;
    void on_timeout(std::uint64_t now_ms) override;
    void on_resolved(std::uint64_t now_ms, std::uint64_t resolve_id, std::optional<std::string> ip,
                     std::string error) override;
    void on_send_failed(std::uint64_t now_ms, const Peer& destination,
                        std::string reason) override;
    [[nodiscard]] std::optional<std::uint64_t> next_timeout() const override;
    std::optional<Transmit> poll_transmit() override;
    std::optional<ResolveRequest> poll_resolve() override;

    // --- user commands (call VirtualNetwork::flush() afterwards) ---
    // Places a call; false when the INVITE could not be sent.
    bool dial(std::uint64_t now_ms, const Uri& target);
    // Ends every call: BYE when up, CANCEL when we are calling, 603 when ringing.
    void hang_up(std::uint64_t now_ms);

    // --- observation ---
    [[nodiscard]] PhoneActivity activity() const;
    [[nodiscard]] const PhoneCounters& counters() const { return counters_; }
    // True while the registrar holds a binding for us (PhoneConfig::registrar).
    [[nodiscard]] bool registered() const { return registered_; }
    [[nodiscard]] const std::deque<ReceivedRequest>& received_requests() const { return received_; }
    // Received requests of one method, in order.
    [[nodiscard]] std::vector<ReceivedRequest> received(std::string_view method) const;
    [[nodiscard]] const std::vector<TransferRecord>& transfers() const { return transfer_log_; }
    [[nodiscard]] std::size_t active_calls() const { return calls_.size(); }
    [[nodiscard]] const PhoneBehavior& behavior() const { return config_.behavior; }
    [[nodiscard]] const std::string& setup_error() const { return setup_error_; }
    Engine& engine() { return engine_; }
    [[nodiscard]] const Engine& engine() const { return engine_; }

private:
    enum class CallState { alerting, dialing, ringback, connected };

    struct Call {
        std::uint64_t id = 0;
        bool incoming = true;
        CallState state = CallState::alerting;
        std::string call_id;
        IncomingId invite = 0;      // incoming
        RequestHandle request = 0;  // outgoing
        std::optional<DialogId> dialog;
        std::optional<std::uint64_t> answer_at_ms;
        std::optional<std::uint64_t> hang_up_at_ms;
        std::optional<std::uint64_t> transfer;  // the transfer this call follows
    };

    struct PendingNotify {
        std::string sipfrag;
        bool final = false;
    };

    // The implicit subscription of one accepted REFER and the call placed for it.
    struct Transfer {
        std::uint64_t id = 0;
        std::size_t log_index = 0;  // into transfer_log_
        DialogId referrer_dialog = 0;
        std::string event;  // "refer" or "refer;id=<CSeq>"
        bool subscription = true;
        bool final_queued = false;   // nothing is reported after the final NOTIFY
        bool dead = false;           // NOTIFY refused (481), timed out, or the dialog ended
        bool call_finished = false;  // the INVITE got its final answer
        int last_reported_code = 0;
        std::deque<PendingNotify> queue;
        int notifies_in_flight = 0;
        std::uint64_t next_notify_at_ms = 0;  // pacing
    };

    enum class Purpose { invite, notify, bye, registration };
    struct OwnRequest {
        Purpose purpose = Purpose::invite;
        std::uint64_t owner = 0;  // call id (invite, bye) or transfer id (notify)
    };

    void send_register(std::uint64_t now_ms);
    void on_register_answer(std::uint64_t now_ms, const Message* response);

    // Engine events
    void process(std::uint64_t now_ms);
    void on_request(std::uint64_t now_ms, const IncomingRequestEvent& event);
    void on_new_invite(std::uint64_t now_ms, const IncomingRequestEvent& event);
    void on_refer(std::uint64_t now_ms, const IncomingRequestEvent& event);
    bool refer_authorized(std::uint64_t now_ms, const IncomingRequestEvent& event);
    void on_response(std::uint64_t now_ms, const ResponseEvent& event);
    void on_invite_response(std::uint64_t now_ms, Call& call, const ResponseEvent& event);
    void on_notify_answer(std::uint64_t now_ms, std::uint64_t transfer_id, int status_code);
    void on_request_failed(std::uint64_t now_ms, const RequestFailedEvent& event);
    void on_dialog_terminated(std::uint64_t now_ms, const DialogTerminatedEvent& event);

    // Own timers and actions
    void run_timers(std::uint64_t now_ms);
    void answer(std::uint64_t now_ms, std::uint64_t call_id);
    void send_bye(std::uint64_t now_ms, std::uint64_t call_id);
    // Sends an INVITE and adds the call; its id, or nullopt when nothing was sent.
    std::optional<std::uint64_t> place_call(std::uint64_t now_ms, const Uri& target,
                                            std::vector<Header> extra_headers,
                                            std::optional<std::uint64_t> transfer);
    void report_progress(std::uint64_t now_ms, std::uint64_t transfer_id, int status_code,
                         std::string_view reason_phrase);
    void queue_notify(std::uint64_t now_ms, Transfer& transfer, int status_code,
                      std::string_view reason_phrase);
    void pump_notifies(std::uint64_t now_ms, Transfer& transfer);
    void forget_transfer_if_done(std::uint64_t transfer_id);
    // Lets the engine drop a dialog kept for subscriptions once none of ours needs it.
    void release_dialog_if_unused(DialogId dialog);
    [[nodiscard]] bool subscription_live(const Transfer& transfer) const;
    void end_call(std::uint64_t call_id);
    void record(std::uint64_t now_ms, const Message& request, bool in_dialog);
    void record_bare(std::uint64_t now_ms, std::string method, std::string call_id);

    // Helpers
    Call* find_call(std::uint64_t id);
    Call* call_by_dialog(DialogId dialog);
    Call* call_by_invite(IncomingId invite);
    Call* call_by_call_id(std::string_view call_id);
    Transfer* find_transfer(std::uint64_t id);
    [[nodiscard]] bool refer_supported() const;
    [[nodiscard]] std::vector<Header> capability_headers() const;
    [[nodiscard]] std::string make_sdp(std::uint64_t session) const;
    [[nodiscard]] NameAddr own_address() const;
    [[nodiscard]] std::optional<std::uint64_t> next_notify_deadline(const Transfer& t) const;

    PhoneConfig config_;
    Engine engine_;
    std::optional<auth::DigestServer> refer_digest_;
    std::string setup_error_;

    std::uint64_t next_call_id_ = 1;
    std::uint64_t next_transfer_id_ = 1;
    std::vector<Call> calls_;
    std::map<std::uint64_t, Transfer> transfers_;  // active ones
    std::unordered_map<RequestHandle, OwnRequest> own_requests_;
    // Subscriptions created per REFER dialog, for the id= parameter of Event.
    std::unordered_map<DialogId, int> subscriptions_per_dialog_;

    PhoneCounters counters_;
    std::optional<std::uint64_t> register_at_ms_;  // next REGISTER (0: at start)
    bool registered_ = false;
    std::deque<ReceivedRequest> received_;
    std::vector<TransferRecord> transfer_log_;
};

}  // namespace sipcc::sim
