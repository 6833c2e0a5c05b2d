// A click-to-dial Controller as a network node; call events are collected.
#pragma once

#include <vector>

#include "core/callcontrol/controller.hpp"
#include "simulator/node.hpp"

namespace sipcc::sim {

class ControllerNode : public Node {
public:
    explicit ControllerNode(Controller controller) : controller(std::move(controller)) {}

    Controller controller;
    std::vector<CallEvent> call_events;

    [[nodiscard]] SocketAddress address() const override {
        return controller.engine().config().local_address;
    }
    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override {
        controller.handle_received(now_ms, bytes, source);
        drain();
    }
    void on_timeout(std::uint64_t now_ms) override {
        controller.handle_timeout(now_ms);
        drain();
    }
    void on_resolved(std::uint64_t now_ms, std::uint64_t id, std::optional<std::string> ip,
                     std::string error) override {
        controller.handle_resolved(now_ms, id, std::move(ip), std::move(error));
        drain();
    }
    void on_send_failed(std::uint64_t now_ms, const Peer& destination,
                        std::string reason) override {
        controller.handle_send_failed(now_ms, destination, std::move(reason));
        drain();
    }
    [[nodiscard]] std::optional<std::uint64_t> next_timeout() const override {
        return controller.poll_timeout();
    }
    std::optional<Transmit> poll_transmit() override { return controller.poll_transmit(); }
    std::optional<ResolveRequest> poll_resolve() override { return controller.poll_resolve(); }

    void drain() {
        while (auto event = controller.poll_call_event()) call_events.push_back(std::move(*event));
    }
    // The states one call went through, in order.
    std::vector<CallState> states_of(CallId call) {
        drain();
        std::vector<CallState> states;
        for (const auto& event : call_events) {
            if (event.call == call) states.push_back(event.state);
        }
        return states;
    }
};

}  // namespace sipcc::sim
