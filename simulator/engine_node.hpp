// An Engine as a network node; its events are collected for the test or user.
#pragma once

#include <functional>
#include <vector>

#include "core/engine/engine.hpp"
#include "simulator/node.hpp"

namespace sipcc::sim {

class EngineNode : public Node {
public:
    explicit EngineNode(EngineConfig config) : engine(std::move(config)) {}

    Engine engine;
    std::vector<EngineEvent> events;  // everything the engine reported, in order

    [[nodiscard]] SocketAddress address() const override { return engine.config().local_address; }
    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override {
        engine.handle_received(now_ms, bytes, source);
        drain_events();
    }
    void on_timeout(std::uint64_t now_ms) override {
        engine.handle_timeout(now_ms);
        drain_events();
    }
    void on_resolved(std::uint64_t now_ms, std::uint64_t id, std::optional<std::string> ip,
                     std::string error) override {
        engine.handle_resolved(now_ms, id, std::move(ip), std::move(error));
        drain_events();
    }
    void on_send_failed(std::uint64_t now_ms, const Peer& destination,
                        std::string reason) override {
        engine.handle_send_failed(now_ms, destination, std::move(reason));
        drain_events();
    }
    [[nodiscard]] std::optional<std::uint64_t> next_timeout() const override {
        return engine.poll_timeout();
    }
    std::optional<Transmit> poll_transmit() override { return engine.poll_transmit(); }
    std::optional<ResolveRequest> poll_resolve() override { return engine.poll_resolve(); }

    void drain_events() {
        while (auto event = engine.poll_event()) events.push_back(std::move(*event));
    }
    // Removes and returns the events of one kind (for handlers that answer them once).
    template <class T>
    std::vector<T> take() {
        drain_events();
        std::vector<T> out;
        std::erase_if(events, [&](EngineEvent& event) {
            auto* payload = std::get_if<T>(&event.payload);
            if (payload == nullptr) return false;
            out.push_back(std::move(*payload));
            return true;
        });
        return out;
    }
    // Events of one kind, in order.
    template <class T>
    std::vector<T> events_of() {
        drain_events();
        std::vector<T> out;
        for (const auto& event : events) {
            if (const auto* payload = std::get_if<T>(&event.payload)) out.push_back(*payload);
        }
        return out;
    }
};

// A peer whose behaviour a test writes by hand: it sees every datagram and
// sends whatever bytes it likes.
class ScriptedNode : public Node {
public:
    using Handler = std::function<void(ScriptedNode& self, std::uint64_t now_ms,
                                       std::string_view bytes, Peer source)>;
    ScriptedNode(SocketAddress address, Handler handler)
        : address_(std::move(address)), handler_(std::move(handler)) {}

    void send(Peer destination, std::string bytes) {
        outbox_.push_back({std::move(destination), std::move(bytes)});
    }
    std::vector<std::string> received;  // every datagram, in order

    [[nodiscard]] SocketAddress address() const override { return address_; }
    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override {
        received.emplace_back(bytes);
        if (handler_) handler_(*this, now_ms, bytes, source);
    }
    void on_timeout(std::uint64_t) override {}
    void on_resolved(std::uint64_t, std::uint64_t, std::optional<std::string>,
                     std::string) override {}
    [[nodiscard]] std::optional<std::uint64_t> next_timeout() const override {
        return std::nullopt;
    }
    std::optional<Transmit> poll_transmit() override {
        if (outbox_.empty()) return std::nullopt;
        auto transmit = std::move(outbox_.front());
        outbox_.erase(outbox_.begin());
        return transmit;
    }
    std::optional<ResolveRequest> poll_resolve() override { return std::nullopt; }

private:
    SocketAddress address_;
    Handler handler_;
    std::vector<Transmit> outbox_;
};

}  // namespace sipcc::sim
