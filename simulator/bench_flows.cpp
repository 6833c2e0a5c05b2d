#include "simulator/bench_flows.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/message/message.hpp"
#include "simulator/controller_node.hpp"
#include "simulator/phone.hpp"

namespace sipcc::sim {
namespace {

constexpr std::uint16_t kSipPort = 5060;
constexpr std::uint16_t kFirstPhonePort = 20000;
constexpr const char* kControllerIp = "127.0.0.1";
constexpr const char* kCallerIp = "127.0.0.2";
constexpr const char* kCalleeIp = "127.0.0.3";
constexpr const char* kDomain = "pbx.test";  // the Refer-To host; resolves to the callee farm
constexpr std::uint64_t kProgressEveryEvents = 4096;

std::uint64_t monotonic_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    return text;
}

// The Call-ID of a datagram without parsing it: what a stateless load balancer looks at.
std::string_view call_id_of(std::string_view bytes) {
    const auto value_at = [&bytes](std::size_t colon) {
        const auto end = bytes.find('\n', colon);
        return trim(bytes.substr(colon + 1, end == std::string_view::npos ? end : end - colon - 1));
    };
    // Fast path: the canonical spelling our engines write.
    if (auto at = bytes.find("\nCall-ID:"); at != std::string_view::npos) {
        return value_at(at + 8);
    }
    // Any spelling, or the compact form "i".
    std::size_t line = bytes.find('\n');
    while (line != std::string_view::npos && line + 1 < bytes.size()) {
        const std::size_t start = line + 1;
        if (bytes[start] == '\r' || bytes[start] == '\n') break;  // end of the headers
        const auto colon = bytes.find(':', start);
        const auto next = bytes.find('\n', start);
        if (colon != std::string_view::npos && colon < next) {
            const auto name = trim(bytes.substr(start, colon - start));
            if (iequals(name, "Call-ID") || iequals(name, "i")) return value_at(colon);
        }
        line = next;
    }
    return {};
}

std::size_t phones_for(std::size_t configured, std::size_t concurrency,
                       std::size_t calls_per_phone) {
    std::size_t count = configured;
    if (count == 0) {
        const std::size_t per_phone = std::max<std::size_t>(calls_per_phone, 1);
        count = (std::max<std::size_t>(concurrency, 1) + per_phone - 1) / per_phone;
    }
    return std::clamp<std::size_t>(count, 1, FlowBench::kMaxPhonesPerSide);
}

}  // namespace

// --------------------------------------------------------------------------------------------
// LatencyHistogram

void LatencyHistogram::add(std::uint64_t value_ms) {
    const std::uint64_t bucket = std::min(value_ms, kLimitMs);
    if (bucket >= buckets_.size()) buckets_.resize(bucket + 1, 0);
    ++buckets_[bucket];
    ++count_;
    max_ms_ = std::max(max_ms_, value_ms);
}

std::uint64_t LatencyHistogram::percentile(double quantile) const {
    if (count_ == 0) return 0;
    const double wanted = std::ceil(std::clamp(quantile, 0.0, 1.0) * static_cast<double>(count_));
    const auto needed = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
    std::uint64_t seen = 0;
    for (std::size_t ms = 0; ms < buckets_.size(); ++ms) {
        seen += buckets_[ms];
        if (seen >= needed) return std::min<std::uint64_t>(ms, max_ms_);
    }
    return max_ms_;
}

std::string_view to_string(FarmRole role) {
    switch (role) {
        case FarmRole::controller:
            return "controller";
        case FarmRole::caller_phone:
            return "caller phones";
        case FarmRole::callee_phone:
            return "callee phones";
        case FarmRole::driver:
            return "driver";
    }
    return "unknown";
}

// --------------------------------------------------------------------------------------------
// Scope: who is running right now

class FlowBench::Scope {
public:
    Scope(FlowBench& bench, FarmRole role)
        : bench_(bench), role_(role), parent_(bench.scope_), start_ns_(monotonic_ns()) {
        if (bench_.config_.attribute_memory) start_heap_ = heap_signed();
        bench_.scope_ = this;
    }
    ~Scope() {
        const std::uint64_t elapsed_ns = monotonic_ns() - start_ns_;
        bench_.stats_.busy_ns[static_cast<std::size_t>(role_)] += elapsed_ns - child_ns_;
        std::int64_t heap_delta = 0;
        if (bench_.config_.attribute_memory) {
            heap_delta = heap_signed() - start_heap_;
            bench_.stats_.heap_bytes[static_cast<std::size_t>(role_)] += heap_delta - child_heap_;
        }
        if (parent_ != nullptr) {
            parent_->child_ns_ += elapsed_ns;
            parent_->child_heap_ += heap_delta;
        }
        bench_.scope_ = parent_;
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

private:
    static std::int64_t heap_signed() { return static_cast<std::int64_t>(heap_in_use_bytes()); }

    FlowBench& bench_;
    FarmRole role_;
    Scope* parent_;
    std::uint64_t start_ns_;
    std::uint64_t child_ns_ = 0;
    std::int64_t start_heap_ = 0;
    std::int64_t child_heap_ = 0;
};

// --------------------------------------------------------------------------------------------
// Setup

FlowBench::FlowBench(FlowBenchConfig config) : config_(std::move(config)), random_(config_.seed) {
    ControllerConfig controller;
    controller.domain = kDomain;
    controller.user = "c2d";
    controller.mode = ClickToDialMode::direct;
    controller.outbound_proxy = std::string(kCallerIp) + ":" + std::to_string(kSipPort);
    controller.dialing_rules.country_code = "43";
    controller.dialing_rules.area_code = "1";
    controller.engine.local_address = {kControllerIp, kSipPort};
    controller.engine.seed = config_.seed;
    controller.engine.timers = config_.timers;
    auto created = Controller::create(controller);
    if (!created) {
        setup_error_ = "controller: " + created.error();
        return;
    }
    controller_ = std::make_unique<ControllerNode>(std::move(created).value());
    const auto& timers = controller_->controller.engine().config().timers;
    retransmission_window_ms_ = 64 * timers.t1_ms + timers.t4_ms;
    slots_.push_back({controller_.get(), FarmRole::controller,
                      Peer{Transport::udp, {kControllerIp, kSipPort}}, std::nullopt, 0});

    const std::size_t caller_count =
        phones_for(config_.caller_phones, config_.concurrency, config_.calls_per_phone);
    const std::size_t callee_count =
        config_.callers_never_answer && config_.callee_phones == 0
            ? 1
            : phones_for(config_.callee_phones, config_.concurrency, config_.calls_per_phone);

    const auto add_farm = [this](std::vector<std::unique_ptr<Phone>>& farm, FarmRole role,
                                 const char* ip, const char* user, std::size_t count) {
        Host host{ip, static_cast<std::uint32_t>(slots_.size()), static_cast<std::uint32_t>(count)};
        for (std::size_t k = 0; k < count; ++k) {
            PhoneConfig phone;
            phone.user = user + std::to_string(k);
            phone.domain = kDomain;
            const auto port = static_cast<std::uint16_t>(kFirstPhonePort + k);
            phone.engine.local_address = {ip, port};
            phone.engine.seed = config_.seed * 1000003 + slots_.size();
            phone.engine.timers = config_.timers;
            auto& behavior = phone.behavior;
            behavior.request_log_limit = 0;  // a load test reads no request log
            if (role == FarmRole::caller_phone) {
                behavior.answer_mode =
                    config_.callers_never_answer ? AnswerMode::never : AnswerMode::answer;
                behavior.answer_after_ms = config_.caller_answer_after_ms;
                behavior.send_ringing = true;
                behavior.hang_up_transferred_call_after_ms = config_.talk_ms;
            } else {
                // No 180 from the callee: the caller phone then NOTIFYs 100 Trying and
                // 200 OK only, the two NOTIFYs of the reference flow.
                behavior.answer_mode = AnswerMode::answer;
                behavior.answer_after_ms = config_.callee_answer_after_ms;
                behavior.send_ringing = false;
            }
            farm.push_back(std::make_unique<Phone>(std::move(phone)));
            slots_.push_back(
                {farm.back().get(), role, Peer{Transport::udp, {ip, port}}, std::nullopt, 0});
        }
        hosts_.push_back(std::move(host));
    };
    add_farm(callers_, FarmRole::caller_phone, kCallerIp, "caller", caller_count);
    add_farm(callees_, FarmRole::callee_phone, kCalleeIp, "callee", callee_count);
}

FlowBench::~FlowBench() = default;

// --------------------------------------------------------------------------------------------
// The wire

std::optional<std::uint32_t> FlowBench::slot_for(const Peer& destination,
                                                 std::string_view bytes) const {
    const auto& address = destination.address;
    if (address.ip == kControllerIp) {
        if (address.port == kSipPort) return 0;
        return std::nullopt;
    }
    for (const auto& host : hosts_) {
        if (address.ip != host.ip) continue;
        if (address.port == kSipPort) {
            const auto call_id = call_id_of(bytes);
            const auto pick = std::hash<std::string_view>{}(call_id) % host.count;
            return host.first_slot + static_cast<std::uint32_t>(pick);
        }
        if (address.port >= kFirstPhonePort) {
            const auto phone = static_cast<std::uint32_t>(address.port - kFirstPhonePort);
            if (phone < host.count) return host.first_slot + phone;
        }
        return std::nullopt;
    }
    return std::nullopt;
}

bool FlowBench::is_retransmission(std::uint32_t from, std::string_view bytes) {
    while (!recent_order_.empty() &&
           recent_order_.front().first + retransmission_window_ms_ < now_ms_) {
        recent_hashes_.erase(recent_order_.front().second);
        recent_order_.pop_front();
    }
    const std::uint64_t hash =
        std::hash<std::string_view>{}(bytes) ^ (std::uint64_t{from} * 0x9E3779B97F4A7C15ULL);
    if (recent_hashes_.contains(hash)) return true;  // keep the first send's expiry
    recent_hashes_.insert(hash);
    recent_order_.emplace_back(now_ms_, hash);
    return false;
}

void FlowBench::send(std::uint32_t from, Transmit transmit) {
    Scope scope(*this, FarmRole::driver);
    ++stats_.datagrams_sent;
    if (capture_ != nullptr) capture_->push_back(transmit.bytes);
    const auto to = slot_for(transmit.destination, transmit.bytes);
    if (!to) {
        ++stats_.datagrams_undeliverable;
        return;
    }
    if (from == 0 || *to == 0) ++stats_.controller_datagrams;
    if (config_.count_retransmissions && is_retransmission(from, transmit.bytes)) {
        ++stats_.retransmissions;
    }
    if (config_.loss > 0.0 &&
        std::uniform_real_distribution<double>(0.0, 1.0)(random_) < config_.loss) {
        ++stats_.datagrams_lost;
        return;
    }
    wire_.push_back({now_ms_ + config_.latency_ms, from, *to, std::move(transmit.bytes)});
}

void FlowBench::collect(std::uint32_t index) {
    Slot& slot = slots_[index];
    for (;;) {
        bool progressed = false;
        while (auto transmit = slot.node->poll_transmit()) {
            progressed = true;
            send(index, std::move(*transmit));
        }
        while (auto resolve = slot.node->poll_resolve()) {
            progressed = true;
            if (resolve->host == kDomain) {
                slot.node->on_resolved(now_ms_, resolve->id, std::string(kCalleeIp), {});
            } else {
                slot.node->on_resolved(now_ms_, resolve->id, std::nullopt, "NXDOMAIN");
            }
        }
        if (!progressed) break;
    }
    const auto next = slot.node->next_timeout();
    if (next != slot.scheduled_ms) {
        slot.scheduled_ms = next;
        ++slot.generation;
        if (next) timers_.push({*next, index, slot.generation});
    }
}

std::optional<FlowBench::TimerEntry> FlowBench::next_timer() {
    while (!timers_.empty()) {
        const auto& top = timers_.top();
        const Slot& slot = slots_[top.slot];
        if (slot.generation == top.generation && slot.scheduled_ms == top.due_ms) return top;
        timers_.pop();  // superseded
    }
    return std::nullopt;
}

void FlowBench::deliver() {
    InFlight datagram = std::move(wire_.front());
    wire_.pop_front();
    now_ms_ = std::max(now_ms_, datagram.at_ms);
    ++stats_.events;
    Slot& target = slots_[datagram.to];
    {
        Scope scope(*this, target.role);
        target.node->on_datagram(now_ms_, datagram.bytes, slots_[datagram.from].peer);
        collect(datagram.to);
    }
    if (datagram.to == 0) consume_call_events();
    if (config_.attribute_memory) {
        // The sender allocated these bytes; their release is the sender's too.
        Scope scope(*this, slots_[datagram.from].role);
        std::string().swap(datagram.bytes);
    }
}

void FlowBench::fire_timer(const TimerEntry& entry) {
    timers_.pop();
    Slot& slot = slots_[entry.slot];
    slot.scheduled_ms.reset();
    now_ms_ = std::max(now_ms_, entry.due_ms);
    ++stats_.events;
    {
        Scope scope(*this, slot.role);
        slot.node->on_timeout(now_ms_);
        collect(entry.slot);
    }
    if (entry.slot == 0) consume_call_events();
}

// --------------------------------------------------------------------------------------------
// Flows

void FlowBench::start_flow() {
    // Distinct numbers, so every INVITE and REFER differs as in real traffic.
    const std::string number = "+43 1 " + std::to_string(5000000 + next_number_++ % 4000000);
    Result<CallId> call = Error{};
    {
        Scope scope(*this, FarmRole::controller);
        call = controller_->controller.click_to_dial(now_ms_, number);
        collect(0);
    }
    ++stats_.started;
    if (!call) {
        ++stats_.failed;
        ++stats_.failures_by_cause[std::string(to_string(DisconnectCause::bad_number))];
        return;
    }
    flows_.emplace(*call, FlowTrack{now_ms_, false});
    consume_call_events();
}

void FlowBench::consume_call_events() {
    controller_->drain();
    for (const auto& event : controller_->call_events) {
        auto it = flows_.find(event.call);
        if (it == flows_.end()) continue;
        FlowTrack& flow = it->second;
        const std::uint64_t elapsed_ms = event.at_ms - flow.start_ms;
        switch (event.state) {
            case CallState::ringback:
                if (!flow.rang) {
                    flow.rang = true;
                    ++stats_.ringing;
                    ++ringing_in_progress_;
                }
                break;
            case CallState::connected:
                stats_.click_to_connected_ms.add(elapsed_ms);
                break;
            case CallState::transferred:
            case CallState::disconnected:
                if (event.state == CallState::transferred) {
                    ++stats_.succeeded;
                    stats_.click_to_transferred_ms.add(elapsed_ms);
                } else {
                    ++stats_.failed;
                    ++stats_.failures_by_cause[std::string(to_string(event.cause))];
                }
                if (flow.rang) --ringing_in_progress_;
                flows_.erase(it);
                break;
            default:
                break;
        }
    }
    controller_->call_events.clear();
}

std::uint64_t FlowBench::gated_flows() const {
    if (config_.callers_never_answer) return flows_.size() - ringing_in_progress_;
    return flows_.size();
}

bool FlowBench::loop(const std::function<bool()>& done, std::uint64_t max_starts,
                     const std::function<bool()>& keep_starting,
                     const std::function<void(const FlowStats&)>& on_progress) {
    if (!setup_error_.empty()) return false;
    bool starting = true;
    std::uint64_t next_progress = stats_.events + kProgressEveryEvents;
    const auto may_start = [&] {
        return starting && stats_.started < max_starts && gated_flows() < config_.concurrency;
    };
    const auto next_start_ms = [&]() -> std::uint64_t {
        if (config_.rate_per_s <= 0) return now_ms_;
        return static_cast<std::uint64_t>(static_cast<double>(stats_.started) * 1000.0 /
                                          config_.rate_per_s);
    };
    for (;;) {
        if (done()) return true;
        while (may_start() && next_start_ms() <= now_ms_) {
            if (keep_starting && !keep_starting()) {
                starting = false;
                break;
            }
            start_flow();
            if (done()) return true;
        }
        if ((!starting || stats_.started >= max_starts) && flows_.empty() && wire_.empty()) {
            return done();
        }
        if (on_progress && stats_.events >= next_progress) {
            next_progress = stats_.events + kProgressEveryEvents;
            on_progress(stats_);
        }
        const std::optional<std::uint64_t> wire_at =
            wire_.empty() ? std::nullopt : std::optional<std::uint64_t>(wire_.front().at_ms);
        const auto timer = next_timer();
        const std::optional<std::uint64_t> start_at =
            may_start() ? std::optional<std::uint64_t>(next_start_ms()) : std::nullopt;
        if (!wire_at && !timer && !start_at) return done();
        // Deliveries first at one instant, then timers, then new flows.
        const std::uint64_t wire_ms = wire_at.value_or(std::numeric_limits<std::uint64_t>::max());
        const std::uint64_t timer_ms =
            timer ? timer->due_ms : std::numeric_limits<std::uint64_t>::max();
        const std::uint64_t start_ms = start_at.value_or(std::numeric_limits<std::uint64_t>::max());
        if (wire_at && wire_ms <= timer_ms && wire_ms <= start_ms) {
            deliver();
        } else if (timer && timer_ms <= start_ms) {
            fire_timer(*timer);
        } else {
            now_ms_ = std::max(now_ms_, start_ms);
        }
    }
}

bool FlowBench::run(std::uint64_t finish_target, std::uint64_t max_starts,
                    const std::function<bool()>& keep_starting,
                    const std::function<void(const FlowStats&)>& on_progress) {
    return loop([&] { return stats_.finished() >= finish_target; }, max_starts, keep_starting,
                on_progress);
}

bool FlowBench::open_held_flows(std::uint64_t count,
                                const std::function<void(const FlowStats&)>& on_progress) {
    const std::uint64_t target = stats_.ringing + count;
    const std::uint64_t max_starts = stats_.started + count;
    return loop([&] { return stats_.ringing >= target && wire_.empty(); }, max_starts, {},
                on_progress);
}

void FlowBench::settle(std::uint64_t for_ms) {
    const std::uint64_t until_ms = now_ms_ + for_ms;
    for (;;) {
        const auto timer = next_timer();
        const bool wire_due = !wire_.empty() && wire_.front().at_ms <= until_ms;
        const bool timer_due = timer && timer->due_ms <= until_ms;
        if (wire_due && (!timer_due || wire_.front().at_ms <= timer->due_ms)) {
            deliver();
        } else if (timer_due) {
            fire_timer(*timer);
        } else {
            break;
        }
    }
    now_ms_ = std::max(now_ms_, until_ms);
}

std::vector<std::string> capture_one_flow(FlowBenchConfig config) {
    config.concurrency = 1;
    config.rate_per_s = 0;
    config.loss = 0;
    config.callers_never_answer = false;
    FlowBench bench(config);
    std::vector<std::string> datagrams;
    bench.capture(&datagrams);
    bench.run(1, 1);
    // The BYE of our leg and the transferred call's BYE come after the flow "finished".
    bench.settle(1000 + config.talk_ms);
    if (bench.stats().succeeded != 1) return {};
    return datagrams;
}

// --------------------------------------------------------------------------------------------
// Memory of the process

std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size_pages = 0, resident_pages = 0;
    if (!(statm >> size_pages >> resident_pages)) return 0;
    return resident_pages * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::uint64_t heap_in_use_bytes() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    return 0;
#endif
}

}  // namespace sipcc::sim
