// Click-to-dial (RFC 3515 REFER, RFC 3725 third-party call control): INVITE
// the user's own phone with a black-hole offer, REFER it to the callee once it
// answers, follow the NOTIFYs, then BYE our leg. Many calls at once, each an
// explicit state machine (see controller.cpp); sans-I/O like the engine.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/callcontrol/call_state.hpp"
#include "core/callcontrol/controller_config.hpp"
#include "core/engine/engine.hpp"
#include "core/util/result.hpp"

namespace sipcc {

struct CallSnapshot {
    CallId id = 0;
    CallState state = CallState::idle;
    DisconnectCause cause = DisconnectCause::none;
    int sip_code = 0;
    std::string number;      // as the user typed it
    std::string target_uri;  // the Refer-To we send
};

class Controller {
public:
    // Checks the configuration (domain and user are required, the outbound
    // proxy must be host[:port], direct mode needs it) and builds the engine.
    static Result<Controller> create(ControllerConfig config);
    ~Controller();
    Controller(Controller&&) noexcept;
    Controller& operator=(Controller&&) noexcept;

    // Starts a call to `number` (any form normalize_number accepts, or a URI).
    // A number that cannot be normalized is an error and starts nothing.
    Result<CallId> click_to_dial(std::uint64_t now_ms, std::string_view number);
    // Hangs up: CANCEL before the phone answers, BYE after. False when the call
    // is unknown or already over.
    bool drop(std::uint64_t now_ms, CallId call);

    // Driver inputs (see docs/engine.md).
    void handle_received(std::uint64_t now_ms, std::string_view bytes, Peer source);
    void handle_timeout(std::uint64_t now_ms);
    void handle_resolved(std::uint64_t now_ms, std::uint64_t resolve_id,
                         std::optional<std::string> ip, std::string error = {});
    void handle_send_failed(std::uint64_t now_ms, const Peer& destination, std::string reason);

    // Driver outputs.
    std::optional<Transmit> poll_transmit() { return engine_.poll_transmit(); }
    std::optional<ResolveRequest> poll_resolve() { return engine_.poll_resolve(); }
    [[nodiscard]] std::optional<std::uint64_t> poll_timeout() const;
    std::optional<CallEvent> poll_call_event();

    [[nodiscard]] const CallSnapshot* call(CallId id) const;
    [[nodiscard]] std::size_t active_calls() const;
    [[nodiscard]] const ControllerConfig& config() const { return config_; }
    Engine& engine() { return engine_; }
    [[nodiscard]] const Engine& engine() const { return engine_; }

private:
    struct Call;
    explicit Controller(ControllerConfig config);

    void process_engine_events(std::uint64_t now_ms);
    void on_invite_response(std::uint64_t now_ms, Call& call, const ResponseEvent& event);
    void on_refer_response(std::uint64_t now_ms, Call& call, const ResponseEvent& event);
    void on_request_failed(std::uint64_t now_ms, Call& call, const RequestFailedEvent& event);
    void on_notify(std::uint64_t now_ms, Call& call, const IncomingRequestEvent& event);
    void on_dialog_terminated(std::uint64_t now_ms, Call& call, const DialogTerminatedEvent& event);
    void on_call_timer(std::uint64_t now_ms, Call& call);
    void send_refer(std::uint64_t now_ms, Call& call);
    void advance(std::uint64_t now_ms, Call& call, CallState state, int sip_code = 0,
                 std::string detail = {});
    void finish(std::uint64_t now_ms, Call& call, CallState state, DisconnectCause cause,
                int sip_code, std::string detail);
    void arm_timer(Call& call, std::uint64_t at_ms);
    void track_request(Call& call, RequestHandle request);
    void forget_old_calls();
    OutgoingRequest make_invite(const std::string& number) const;

    ControllerConfig config_;
    Engine engine_;
    CallId next_call_ = 1;
    std::unordered_map<CallId, std::unique_ptr<Call>> calls_;
    std::unordered_map<RequestHandle, CallId> call_by_request_;
    std::unordered_map<DialogId, CallId> call_by_dialog_;
    std::multimap<std::uint64_t, CallId> timers_;
    std::deque<CallId> finished_calls_;  // oldest first, forgotten beyond max_finished_calls
    std::deque<CallEvent> call_events_;
};

}  // namespace sipcc
