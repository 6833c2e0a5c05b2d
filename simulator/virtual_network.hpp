// A deterministic network on a virtual clock: nodes exchange real SIP bytes
// with per-link latency, loss, duplication and jitter drawn from one seed, and
// a name table answers resolution requests. Same seed, same trace.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "simulator/node.hpp"

namespace sipcc::sim {

struct LinkConditions {
    std::uint64_t latency_ms = 5;
    std::uint64_t jitter_ms = 0;  // uniform extra delay 0..jitter (reorders)
    double loss = 0.0;            // probability a datagram is dropped
    double duplication = 0.0;     // probability a datagram is delivered twice
};

// One datagram as it crossed (or failed to cross) the network.
struct TraceEntry {
    std::uint64_t sent_ms = 0;
    std::uint64_t delivered_ms = 0;  // == sent_ms when dropped
    Peer from;
    Peer to;
    std::string bytes;
    bool dropped = false;
    bool duplicate = false;
};

class VirtualNetwork {
public:
    explicit VirtualNetwork(std::uint64_t seed = 1) : random_(seed) {}

    // The node must outlive the network (or be removed first).
    void add_node(Node& node);
    void set_default_conditions(LinkConditions conditions) { default_conditions_ = conditions; }
    // Conditions from one IP to another (one direction).
    void set_link(const std::string& from_ip, const std::string& to_ip, LinkConditions conditions);
    // Datagrams between these IPs are dropped in [from_ms, until_ms).
    void add_partition(const std::string& ip_a, const std::string& ip_b, std::uint64_t from_ms,
                       std::uint64_t until_ms);
    // A name the resolver knows; unknown names fail with "NXDOMAIN".
    void add_name(const std::string& host, const std::string& ip) { names_[host] = ip; }
    // Test hook: return true to drop a datagram (after the seeded faults).
    void set_drop_filter(std::function<bool(const TraceEntry&)> filter) {
        drop_filter_ = std::move(filter);
    }

    [[nodiscard]] std::uint64_t now_ms() const { return now_ms_; }
    // Collects outputs from every node (call after giving a node a command).
    void flush();
    // Processes the next event (delivery, resolution answer or node timer).
    // Returns false when nothing is left to do.
    bool step();
    // Runs every event up to and including `until_ms`, then sets the clock there.
    void run_until(std::uint64_t until_ms);
    // Runs until `done()` is true or `limit_ms` passes; true when done() held.
    bool run_until(const std::function<bool()>& done, std::uint64_t limit_ms);

    [[nodiscard]] const std::vector<TraceEntry>& trace() const { return trace_; }
    [[nodiscard]] std::uint64_t delivered() const { return delivered_; }
    [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

private:
    struct Pending {
        std::uint64_t at_ms;
        std::uint64_t sequence;  // ties break by order of sending: deterministic
        enum class Kind { datagram, resolution } kind;
        std::size_t trace_index;  // datagram
        Node* node;               // resolution target
        std::uint64_t resolve_id;
        std::optional<std::string> ip;
        bool operator>(const Pending& other) const {
            return at_ms != other.at_ms ? at_ms > other.at_ms : sequence > other.sequence;
        }
    };

    void collect(Node& node);
    void send(Node& from, Transmit transmit);
    const LinkConditions& conditions(const std::string& from_ip, const std::string& to_ip) const;
    bool partitioned(const std::string& a, const std::string& b, std::uint64_t at_ms) const;
    Node* node_at(const SocketAddress& address) const;
    std::optional<std::pair<std::uint64_t, Node*>> next_node_timer() const;

    std::mt19937_64 random_;
    std::uint64_t now_ms_ = 0;
    std::uint64_t sequence_ = 0;
    std::vector<Node*> nodes_;
    LinkConditions default_conditions_;
    std::map<std::pair<std::string, std::string>, LinkConditions> links_;
    struct Partition {
        std::string a, b;
        std::uint64_t from_ms, until_ms;
    };
    std::vector<Partition> partitions_;
    std::map<std::string, std::string> names_;
    std::function<bool(const TraceEntry&)> drop_filter_;
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
    std::vector<TraceEntry> trace_;
    std::uint64_t delivered_ = 0;
    std::uint64_t dropped_ = 0;
};

}  // namespace sipcc::sim
