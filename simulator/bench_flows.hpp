// The in-memory click-to-dial load driver shared by `sipcc bench --in-memory` and the
// Google Benchmark flow benchmark: one Controller and a farm of simulated phones on one
// thread, on virtual time, every message encoded and parsed on both sides.
//
// The wire, as a load test sees it:
//
//   controller 127.0.0.1:5060
//       | INVITE to the caller farm's address 127.0.0.2:5060 (direct mode, no PBX)
//       v
//   caller phones 127.0.0.2:20000+k   <- the farm address dispatches new requests by a hash
//       | REFER accepted, INVITE to      of the Call-ID (a stateless load balancer); each
//       | sip:<number>@pbx.test         phone's Contact names its own port, so everything
//       v                                in a dialog goes straight to the phone that has it
//   callee phones 127.0.0.3:20000+k   <- pbx.test resolves to 127.0.0.3 (the callee farm)
//
// One flow, as the controller sees it (13 messages): INVITE, 100, 180, 200, ACK, REFER,
// 202, NOTIFY (100 Trying), 200, NOTIFY (200 OK), 200, BYE, 200. The caller phone's call
// to the callee adds 6 more (INVITE, 100, 200, ACK, BYE, 200): 19 on the wire.
//
// Unlike VirtualNetwork (which keeps a trace of every datagram and scans every node for
// its next timer at each step) this driver keeps nothing it has delivered, caches each
// node's next deadline in a heap and refreshes it only after touching the node. Links
// have one fixed latency (plus optional loss), so the wire is a FIFO.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/callcontrol/call_state.hpp"
#include "core/net/address.hpp"
#include "core/transaction/timers.hpp"
#include "simulator/node.hpp"

namespace sipcc::sim {

class ControllerNode;
class Phone;

struct FlowBenchConfig {
    std::uint64_t seed = 1;
    // Flows in progress at once (not yet transferred or disconnected). In hold mode: flows
    // started whose caller phone has not rung yet (the opening window).
    std::size_t concurrency = 100;
    // Flows started per virtual second; 0: a new flow as soon as one finishes.
    double rate_per_s = 0;
    std::uint64_t latency_ms = 1;  // one way, every link
    double loss = 0.0;             // probability a datagram is dropped
    std::uint64_t caller_answer_after_ms = 0;
    std::uint64_t callee_answer_after_ms = 0;
    std::uint64_t talk_ms = 0;          // the caller hangs up the transferred call after this
    bool callers_never_answer = false;  // hold mode: every caller phone rings forever
    // RFC 3261 timers of every engine (controller and phones). Finished transactions linger
    // for up to 64*T1 (Timers J, L, M) or T4 (K), so shorter timers shrink the state a run
    // piles up; with the default 1 ms links nothing is retransmitted while T1 > 2 ms.
    TimerConfig timers;
    // Farm size: enough phones per side that none carries more than `calls_per_phone` calls
    // at once, reckoned from the concurrency; or exactly caller_phones / callee_phones.
    std::size_t calls_per_phone = 32;
    std::size_t caller_phones = 0;  // 0: from the concurrency
    std::size_t callee_phones = 0;  // 0: from the concurrency (1 in hold mode)
    // Count datagrams re-sent byte for byte (retransmissions). Costs a hash per datagram.
    bool count_retransmissions = true;
    // Attribute heap bytes (glibc mallinfo2) to the controller, the phones and the driver
    // around every callback. Slow: for hold-mode memory reports only.
    bool attribute_memory = false;
};

// Counts per virtual millisecond; exact percentiles in O(range) memory.
class LatencyHistogram {
public:
    void add(std::uint64_t value_ms);
    [[nodiscard]] std::uint64_t count() const { return count_; }
    // The smallest value v with at least fraction `quantile` (0..1] of samples <= v.
    [[nodiscard]] std::uint64_t percentile(double quantile) const;
    [[nodiscard]] std::uint64_t max() const { return max_ms_; }

private:
    static constexpr std::uint64_t kLimitMs = 600000;  // anything above lands in the last bucket
    std::vector<std::uint64_t> buckets_;
    std::uint64_t count_ = 0;
    std::uint64_t max_ms_ = 0;
};

enum class FarmRole : std::uint8_t { controller, caller_phone, callee_phone, driver };
inline constexpr std::size_t kFarmRoles = 4;
std::string_view to_string(FarmRole role);

struct FlowStats {
    std::uint64_t started = 0;
    std::uint64_t succeeded = 0;  // transferred
    std::uint64_t failed = 0;     // disconnected, by cause below
    std::map<std::string, std::uint64_t> failures_by_cause;
    std::uint64_t ringing = 0;  // flows whose caller phone rang (180/183), for hold mode
    LatencyHistogram click_to_connected_ms;
    LatencyHistogram click_to_transferred_ms;

    std::uint64_t datagrams_sent = 0;  // every datagram put on the wire (lost ones too)
    std::uint64_t datagrams_lost = 0;
    std::uint64_t datagrams_undeliverable = 0;  // no node at the destination
    std::uint64_t controller_datagrams = 0;     // sent or received by the controller
    std::uint64_t retransmissions = 0;          // byte-identical re-sends (when counted)
    std::uint64_t events = 0;                   // deliveries and timer firings

    // Wall time spent inside each role's callbacks (steady clock, one thread: CPU time).
    std::array<std::uint64_t, kFarmRoles> busy_ns{};
    // Heap bytes allocated minus freed inside each role's callbacks (attribute_memory).
    std::array<std::int64_t, kFarmRoles> heap_bytes{};

    [[nodiscard]] std::uint64_t finished() const { return succeeded + failed; }
};

class FlowBench {
public:
    explicit FlowBench(FlowBenchConfig config);
    ~FlowBench();
    FlowBench(const FlowBench&) = delete;
    FlowBench& operator=(const FlowBench&) = delete;

    // Starts flows (at the configured rate, within the concurrency) and runs the network
    // until `finish_target` flows have finished in total, at most `max_starts` flows have
    // been started in total, or nothing is left to do. `keep_starting` (optional) is asked
    // before each start; once it says false no more flows start and the run ends when the
    // flows in progress are done. `on_progress` (optional) is called every few thousand
    // events. Returns true when the target was reached.
    bool run(std::uint64_t finish_target, std::uint64_t max_starts,
             const std::function<bool()>& keep_starting = {},
             const std::function<void(const FlowStats&)>& on_progress = {});

    // Hold mode: starts `count` flows and runs until every one of them rings (or nothing is
    // left to do). True when all ring.
    bool open_held_flows(std::uint64_t count,
                         const std::function<void(const FlowStats&)>& on_progress = {});

    // Runs what is left on the wire and every timer due in the next `for_ms` virtual ms,
    // starting nothing (e.g. the BYE after the last flow finished).
    void settle(std::uint64_t for_ms);

    // Every datagram put on the wire from now on is appended here (nullptr: stop).
    void capture(std::vector<std::string>* sink) { capture_ = sink; }

    [[nodiscard]] const FlowStats& stats() const { return stats_; }
    [[nodiscard]] std::uint64_t now_ms() const { return now_ms_; }
    [[nodiscard]] std::uint64_t active_flows() const { return flows_.size(); }
    [[nodiscard]] std::size_t caller_phones() const { return callers_.size(); }
    [[nodiscard]] std::size_t callee_phones() const { return callees_.size(); }
    [[nodiscard]] const FlowBenchConfig& config() const { return config_; }
    // Non-empty when the farm could not be built (then run() does nothing).
    [[nodiscard]] const std::string& setup_error() const { return setup_error_; }

    static constexpr std::size_t kMaxPhonesPerSide = 40000;  // ports 20000..59999

private:
    struct Slot {
        Node* node = nullptr;
        FarmRole role = FarmRole::driver;
        Peer peer;  // where its datagrams come from
        std::optional<std::uint64_t> scheduled_ms;
        std::uint32_t generation = 0;
    };
    struct TimerEntry {
        std::uint64_t due_ms;
        std::uint32_t slot;
        std::uint32_t generation;
        bool operator>(const TimerEntry& other) const { return due_ms > other.due_ms; }
    };
    struct FlowTrack {
        std::uint64_t start_ms = 0;
        bool rang = false;
    };
    // Times (and in attribute_memory mode, heap bytes) spent in one role; nested scopes
    // (the driver's own work inside a node's callback) are subtracted from the outer one.
    class Scope;

    struct InFlight {
        std::uint64_t at_ms;
        std::uint32_t from;
        std::uint32_t to;
        std::string bytes;
    };
    // One IP of the farm: a load-balanced address (port 5060) and the phones behind it
    // (ports kFirstPhonePort + k).
    struct Host {
        std::string ip;
        std::uint32_t first_slot = 0;
        std::uint32_t count = 0;
    };

    bool loop(const std::function<bool()>& done, std::uint64_t max_starts,
              const std::function<bool()>& keep_starting,
              const std::function<void(const FlowStats&)>& on_progress);
    // The number of flows counted against the concurrency limit.
    [[nodiscard]] std::uint64_t gated_flows() const;
    void start_flow();
    void deliver();
    void fire_timer(const TimerEntry& entry);
    void collect(std::uint32_t slot);
    void send(std::uint32_t from, Transmit transmit);
    std::optional<std::uint32_t> slot_for(const Peer& destination, std::string_view bytes) const;
    void consume_call_events();
    [[nodiscard]] std::optional<TimerEntry> next_timer();
    bool is_retransmission(std::uint32_t from, std::string_view bytes);

    FlowBenchConfig config_;
    std::string setup_error_;
    std::unique_ptr<ControllerNode> controller_;
    std::vector<std::unique_ptr<Phone>> callers_;
    std::vector<std::unique_ptr<Phone>> callees_;
    std::vector<Slot> slots_;  // 0: the controller
    std::vector<Host> hosts_;

    std::uint64_t now_ms_ = 0;
    std::deque<InFlight> wire_;  // delivery times never decrease: one latency for all links
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
    std::mt19937_64 random_;
    std::uint64_t next_number_ = 0;

    std::unordered_map<CallId, FlowTrack> flows_;  // in progress
    std::uint64_t ringing_in_progress_ = 0;        // of those, the ones that rang
    FlowStats stats_;
    Scope* scope_ = nullptr;
    std::vector<std::string>* capture_ = nullptr;

    // Retransmission detection: hashes of what was sent in the last 64*T1 + T4 virtual ms.
    std::uint64_t retransmission_window_ms_ = 0;
    std::unordered_set<std::uint64_t> recent_hashes_;
    std::deque<std::pair<std::uint64_t, std::uint64_t>> recent_order_;  // (sent_ms, hash)
};

// Captures the datagrams of exactly one successful flow (19 with the default knobs), in the
// order they were sent, for benchmarks that price the same messages another way.
std::vector<std::string> capture_one_flow(FlowBenchConfig config = {});

// Memory of this process: resident set from /proc/self/statm, and glibc's heap in use
// (mallinfo2: bytes in allocated chunks, headers included, plus mmap-ed blocks).
std::uint64_t resident_bytes();
std::uint64_t heap_in_use_bytes();

}  // namespace sipcc::sim
