// A click-to-dial Controller on real sockets for Python: an AsioDriver and the
// Controller run on a background io thread; Python threads post commands to it
// and read call snapshots and queued call events. No Python types here (module.cpp
// converts), and no call-control logic: the Controller decides everything.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/callcontrol/controller.hpp"
#include "frontends/python/src/io_thread.hpp"
#include "transports/asio_driver.hpp"

namespace sipcc::python {

struct ControllerHostOptions {
    std::optional<std::string> config_path;  // a `sipcc dial` JSON config file, applied first
    std::string settings_json = "{}";        // then these keys (the same names)
    bool record_trace = false;               // keep every message for ladder()
};

class ControllerHost {
public:
    // Reads the settings (ConfigError naming the key), binds the socket
    // (TransportError), builds the Controller (ConfigError) and starts the io thread.
    explicit ControllerHost(const ControllerHostOptions& options);
    ~ControllerHost();
    ControllerHost(const ControllerHost&) = delete;
    ControllerHost& operator=(const ControllerHost&) = delete;

    [[nodiscard]] SocketAddress local_address() const { return local_; }
    [[nodiscard]] const ControllerConfig& config() const { return config_; }

    // Commands, carried out on the io thread. click_to_dial throws NumberError for a
    // number the core refuses; both throw Closed after close().
    CallId click_to_dial(const std::string& number);
    bool drop(CallId call);

    // The call as of its last event; nullopt for an unknown id, and for a call that
    // ended more than kMaxFinishedCalls calls ago.
    [[nodiscard]] std::optional<CallSnapshot> call(CallId call) const;
    // Waits up to `timeout` for a call event to be queued; false when none is (or
    // the host was closed and nothing is left).
    bool wait_for_events(std::chrono::milliseconds timeout);
    // Takes every queued call event, oldest first.
    std::vector<CallEvent> take_events();
    // Transport error lines since the last call.
    std::vector<std::string> take_log();
    // Events lost because nobody took them (the queue keeps kMaxQueuedEvents).
    [[nodiscard]] std::uint64_t dropped_events() const;

    // Drops every call still going, waits up to `wind_down` for the calls to end and
    // our CANCEL/BYE to be answered, then closes the socket and stops the thread.
    void close(std::chrono::milliseconds wind_down);
    [[nodiscard]] bool closed() const;

    // The messages sent and received so far (ControllerHostOptions::record_trace).
    std::string ladder();

    static constexpr std::size_t kMaxQueuedEvents = 100000;
    static constexpr std::size_t kMaxQueuedLogLines = 1000;
    static constexpr std::size_t kMaxFinishedCalls = 10000;

private:
    class Node;

    void publish();  // io thread: moves the controller's events to the queue

    IoThread io_{"controller"};
    ControllerConfig config_;
    SocketAddress local_;
    std::unique_ptr<Node> node_;
    std::unique_ptr<transports::AsioDriver> driver_;
    std::set<CallId> call_ids_;  // io thread only: calls not known to have ended

    mutable std::mutex mutex_;  // guards what follows
    std::condition_variable changed_;
    std::map<CallId, CallSnapshot> snapshots_;
    std::deque<CallId> finished_;  // oldest first; their snapshots are forgotten in time
    std::deque<CallEvent> events_;
    std::deque<std::string> log_;
    std::uint64_t dropped_events_ = 0;
    bool closed_ = false;
};

}  // namespace sipcc::python
