#include "simulator/virtual_network.hpp"

namespace sipcc::sim {

void VirtualNetwork::add_node(Node& node) {
    nodes_.push_back(&node);
}

void VirtualNetwork::set_link(const std::string& from_ip, const std::string& to_ip,
                              LinkConditions conditions) {
    links_[{from_ip, to_ip}] = conditions;
}

void VirtualNetwork::add_partition(const std::string& ip_a, const std::string& ip_b,
                                   std::uint64_t from_ms, std::uint64_t until_ms) {
    partitions_.push_back({ip_a, ip_b, from_ms, until_ms});
}

const LinkConditions& VirtualNetwork::conditions(const std::string& from_ip,
                                                 const std::string& to_ip) const {
    auto it = links_.find({from_ip, to_ip});
    return it == links_.end() ? default_conditions_ : it->second;
}

bool VirtualNetwork::partitioned(const std::string& a, const std::string& b,
                                 std::uint64_t at_ms) const {
    for (const auto& p : partitions_) {
        const bool between = (p.a == a && p.b == b) || (p.a == b && p.b == a);
        if (between && at_ms >= p.from_ms && at_ms < p.until_ms) return true;
    }
    return false;
}

Node* VirtualNetwork::node_at(const SocketAddress& address) const {
    for (auto* node : nodes_) {
        if (node->address() == address) return node;
    }
    return nullptr;
}

void VirtualNetwork::send(Node& from, Transmit transmit) {
    TraceEntry entry;
    entry.sent_ms = now_ms_;
    entry.from = Peer{transmit.destination.transport, from.address()};
    entry.to = transmit.destination;
    entry.bytes = std::move(transmit.bytes);
    const auto& link = conditions(entry.from.address.ip, entry.to.address.ip);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    // Draw every random number whether or not it is used, so one knob does not
    // shift the others' sequence.
    const double loss_draw = unit(random_);
    const double duplicate_draw = unit(random_);
    const std::uint64_t jitter = link.jitter_ms ? random_() % (link.jitter_ms + 1) : 0;
    const std::uint64_t duplicate_jitter = link.jitter_ms ? random_() % (link.jitter_ms + 1) : 0;
    // Reliable transports do not lose or duplicate (the stream below does that work).
    const bool reliable = is_reliable(entry.to.transport);
    entry.dropped = (!reliable && loss_draw < link.loss) ||
                    partitioned(entry.from.address.ip, entry.to.address.ip, now_ms_) ||
                    (drop_filter_ && drop_filter_(entry));
    entry.delivered_ms = entry.dropped ? now_ms_ : now_ms_ + link.latency_ms + jitter;
    const bool duplicated = !entry.dropped && !reliable && duplicate_draw < link.duplication;
    trace_.push_back(entry);
    if (entry.dropped) {
        ++dropped_;
        return;
    }
    pending_.push({entry.delivered_ms, sequence_++, Pending::Kind::datagram, trace_.size() - 1,
                   nullptr, 0, std::nullopt});
    if (duplicated) {
        TraceEntry copy = entry;
        copy.duplicate = true;
        copy.delivered_ms = now_ms_ + link.latency_ms + duplicate_jitter;
        trace_.push_back(std::move(copy));
        pending_.push({trace_.back().delivered_ms, sequence_++, Pending::Kind::datagram,
                       trace_.size() - 1, nullptr, 0, std::nullopt});
    }
}

void VirtualNetwork::collect(Node& node) {
    for (;;) {
        bool progressed = false;
        while (auto transmit = node.poll_transmit()) {
            progressed = true;
            send(node, std::move(*transmit));
        }
        while (auto resolve = node.poll_resolve()) {
            progressed = true;
            auto it = names_.find(resolve->host);
            std::optional<std::string> ip;
            if (it != names_.end()) ip = it->second;
            pending_.push(
                {now_ms_ + 1, sequence_++, Pending::Kind::resolution, 0, &node, resolve->id, ip});
        }
        if (!progressed) break;
    }
}

void VirtualNetwork::flush() {
    for (auto* node : nodes_) collect(*node);
}

std::optional<std::pair<std::uint64_t, Node*>> VirtualNetwork::next_node_timer() const {
    std::optional<std::pair<std::uint64_t, Node*>> next;
    for (auto* node : nodes_) {
        if (auto deadline = node->next_timeout(); deadline && (!next || *deadline < next->first)) {
            next = std::make_pair(*deadline, node);
        }
    }
    return next;
}

bool VirtualNetwork::step() {
    flush();
    const auto timer = next_node_timer();
    const bool have_pending = !pending_.empty();
    if (!timer && !have_pending) return false;
    // Deliveries before timers at the same instant: a response that arrives
    // exactly at a retransmission deadline wins, as on a real host it might.
    if (have_pending && (!timer || pending_.top().at_ms <= timer->first)) {
        const Pending next = pending_.top();
        pending_.pop();
        now_ms_ = std::max(now_ms_, next.at_ms);
        if (next.kind == Pending::Kind::resolution) {
            next.node->on_resolved(now_ms_, next.resolve_id, next.ip,
                                   next.ip ? std::string() : std::string("NXDOMAIN"));
            collect(*next.node);
            return true;
        }
        const auto& entry = trace_[next.trace_index];
        if (auto* target = node_at(entry.to.address)) {
            ++delivered_;
            target->on_datagram(now_ms_, entry.bytes, entry.from);
            collect(*target);
        }
        return true;
    }
    now_ms_ = std::max(now_ms_, timer->first);
    timer->second->on_timeout(now_ms_);
    collect(*timer->second);
    return true;
}

void VirtualNetwork::run_until(std::uint64_t until_ms) {
    for (;;) {
        flush();
        const auto timer = next_node_timer();
        std::optional<std::uint64_t> next;
        if (!pending_.empty()) next = pending_.top().at_ms;
        if (timer && (!next || timer->first < *next)) next = timer->first;
        if (!next || *next > until_ms) break;
        step();
    }
    now_ms_ = std::max(now_ms_, until_ms);
}

bool VirtualNetwork::run_until(const std::function<bool()>& done, std::uint64_t limit_ms) {
    while (!done()) {
        flush();
        const auto timer = next_node_timer();
        std::optional<std::uint64_t> next;
        if (!pending_.empty()) next = pending_.top().at_ms;
        if (timer && (!next || timer->first < *next)) next = timer->first;
        if (!next || *next > limit_ms) {
            now_ms_ = std::max(now_ms_, limit_ms);
            return done();
        }
        step();
    }
    return true;
}

}  // namespace sipcc::sim
