#include "transports/real_farm.hpp"

#include <algorithm>
#include <deque>
#include <iostream>
#include <utility>

namespace sipcc::transports {
namespace {

// Answers lookups of the scenario's `names` itself and hands every other call to the
// node it wraps. The answer is given on the next timer callback, as a resolver would
// answer later, so the node never sees a re-entrant call.
class LocalNames final : public sim::Node {
public:
    LocalNames(sim::Node& inner, const std::map<std::string, std::string>& names)
        : inner_(inner), names_(names) {}

    [[nodiscard]] SocketAddress address() const override { return inner_.address(); }
    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override {
        inner_.on_datagram(now_ms, bytes, source);
    }
    void on_timeout(std::uint64_t now_ms) override {
        auto answers = std::move(answers_);
        answers_.clear();
        for (auto& [id, ip] : answers) inner_.on_resolved(now_ms, id, std::move(ip), {});
        if (auto due = inner_.next_timeout(); due && *due <= now_ms) inner_.on_timeout(now_ms);
    }
    void on_resolved(std::uint64_t now_ms, std::uint64_t resolve_id, std::optional<std::string> ip,
                     std::string error) override {
        inner_.on_resolved(now_ms, resolve_id, std::move(ip), std::move(error));
    }
    void on_send_failed(std::uint64_t now_ms, const Peer& destination,
                        std::string reason) override {
        inner_.on_send_failed(now_ms, destination, std::move(reason));
    }
    [[nodiscard]] std::optional<std::uint64_t> next_timeout() const override {
        if (!answers_.empty()) return 0;  // at once
        return inner_.next_timeout();
    }
    std::optional<Transmit> poll_transmit() override { return inner_.poll_transmit(); }
    std::optional<ResolveRequest> poll_resolve() override {
        while (auto request = inner_.poll_resolve()) {
            auto it = names_.find(request->host);
            if (it == names_.end()) return request;
            answers_.emplace_back(request->id, it->second);
        }
        return std::nullopt;
    }

private:
    sim::Node& inner_;
    const std::map<std::string, std::string>& names_;
    std::deque<std::pair<std::uint64_t, std::string>> answers_;
};

void add_driver_counters(std::map<std::string, std::uint64_t>& out, const DriverCounters& c) {
    out["driver.messages_sent"] = c.messages_sent;
    out["driver.messages_received"] = c.messages_received;
    out["driver.bytes_sent"] = c.bytes_sent;
    out["driver.bytes_received"] = c.bytes_received;
    out["driver.send_errors"] = c.send_errors;
    out["driver.receive_errors"] = c.receive_errors;
    out["driver.resolution_failures"] = c.resolution_failures;
}

}  // namespace

struct RealFarm::Hosted {
    std::string name;
    std::string kind;
    SocketAddress address;
    bool registers = false;
    sim::Phone* phone = nullptr;
    sim::Pbx* pbx = nullptr;
    // Destroyed in reverse: the driver (which calls the node) goes first.
    std::unique_ptr<sim::Node> node;
    std::unique_ptr<LocalNames> adapter;
    std::unique_ptr<AsioDriver> driver;
};

RealFarm::RealFarm(boost::asio::io_context& io, sim::Scenario scenario, RealFarmOptions options)
    : io_(io), scenario_(std::move(scenario)), options_(std::move(options)) {}

RealFarm::~RealFarm() {
    close();
}

Result<std::unique_ptr<RealFarm>> RealFarm::create(boost::asio::io_context& io,
                                                   const sim::Scenario& scenario,
                                                   RealFarmOptions options) {
    std::unique_ptr<RealFarm> farm(new RealFarm(io, scenario, std::move(options)));
    const auto& file = farm->scenario_.file;

    // Every node's address first, so references by node name resolve.
    auto& addresses = farm->addresses_;
    if (scenario.pbx) addresses[scenario.pbx->name] = scenario.pbx->config.address;
    for (const auto& phone : scenario.phones) {
        addresses[phone.name] = phone.config.engine.local_address;
    }
    addresses[scenario.controller.name] = scenario.controller.config.engine.local_address;
    for (const auto& [host, node] : scenario.names) {
        auto it = addresses.find(node);
        if (it == addresses.end()) {
            return Error{file + ": names." + host + ": unknown node \"" + node + "\""};
        }
        farm->names_[host] = it->second.ip;
    }

    auto host = [&](std::string name, std::string kind, SocketAddress address) -> Result<Hosted*> {
        auto hosted = std::make_unique<Hosted>();
        hosted->name = std::move(name);
        hosted->kind = std::move(kind);
        DriverOptions driver_options;
        driver_options.record_trace = farm->options_.record_trace;
        driver_options.log = [log = farm->options_.log,
                              prefix = hosted->name + ": "](std::string_view line) {
            if (log) {
                log(prefix + std::string(line));
            } else {
                std::cerr << "sipcc farm: " << prefix << line << "\n";
            }
        };
        hosted->driver = std::make_unique<AsioDriver>(farm->io_, std::move(driver_options));
        auto bound = hosted->driver->bind(address);
        if (!bound) {
            return Error{file + ": " + hosted->kind + " \"" + hosted->name +
                         "\": " + bound.error()};
        }
        hosted->address = *bound;
        farm->hosted_.push_back(std::move(hosted));
        return farm->hosted_.back().get();
    };

    if (scenario.pbx) {
        auto config = scenario.pbx->config;
        for (const auto& route : scenario.pbx->routes) {
            config.routes.push_back(
                {route.prefix, farm->resolve_node(route.to), route.strip_digits, route.add_prefix});
        }
        auto hosted = host(scenario.pbx->name, "pbx", config.address);
        if (!hosted) return Error{hosted.error()};
        auto pbx = std::make_unique<sim::Pbx>(config);
        if (!pbx->setup_error().empty()) {
            return Error{file + ": pbx \"" + scenario.pbx->name + "\": " + pbx->setup_error()};
        }
        (*hosted)->pbx = pbx.get();
        (*hosted)->node = std::move(pbx);
    }
    for (std::size_t i = 0; i < scenario.phones.size(); ++i) {
        const auto& spec = scenario.phones[i];
        auto config = spec.config;
        config.engine.seed = scenario.seed * 1000 + i + 1;  // as the scenario runner does
        if (spec.outbound_proxy) {
            config.engine.outbound_proxy = farm->resolve_node(*spec.outbound_proxy);
        }
        if (spec.registrar) config.registrar = farm->resolve_node(*spec.registrar);
        auto hosted = host(spec.name, "phone", config.engine.local_address);
        if (!hosted) return Error{hosted.error()};
        auto phone = std::make_unique<sim::Phone>(config);
        if (!phone->setup_error().empty()) {
            return Error{file + ": phone \"" + spec.name + "\": " + phone->setup_error()};
        }
        (*hosted)->registers = config.registrar.has_value();
        (*hosted)->phone = phone.get();
        (*hosted)->node = std::move(phone);
    }
    for (auto& hosted : farm->hosted_) {
        hosted->adapter = std::make_unique<LocalNames>(*hosted->node, farm->names_);
    }
    return farm;
}

void RealFarm::start() {
    if (started_ || closed_) return;
    started_ = true;
    for (auto& hosted : hosted_) hosted->driver->attach(*hosted->adapter);
}

void RealFarm::close() {
    if (closed_) return;
    closed_ = true;
    for (auto& hosted : hosted_) hosted->driver->close();
}

std::vector<FarmNodeInfo> RealFarm::nodes() const {
    std::vector<FarmNodeInfo> out;
    for (const auto& hosted : hosted_) {
        out.push_back({hosted->name, hosted->kind, hosted->address, hosted->registers});
    }
    return out;
}

std::optional<SocketAddress> RealFarm::address(std::string_view name) const {
    auto it = addresses_.find(std::string(name));
    if (it == addresses_.end()) return std::nullopt;
    return it->second;
}

sim::Phone* RealFarm::phone(std::string_view name) {
    const auto* hosted = find(name);
    return hosted == nullptr ? nullptr : hosted->phone;
}

sim::Pbx* RealFarm::pbx() {
    for (auto& hosted : hosted_) {
        if (hosted->pbx != nullptr) return hosted->pbx;
    }
    return nullptr;
}

std::optional<std::uint64_t> RealFarm::now_ms(std::string_view name) const {
    const auto* hosted = find(name);
    if (hosted == nullptr) return std::nullopt;
    return hosted->driver->now_ms();
}

std::map<std::string, std::uint64_t> RealFarm::counters(std::string_view name) const {
    std::map<std::string, std::uint64_t> out;
    const auto* hosted = find(name);
    if (hosted == nullptr) return out;
    if (hosted->phone != nullptr) {
        const auto& c = hosted->phone->counters();
        out = {{"invites_received", c.invites_received},
               {"calls_answered", c.calls_answered},
               {"calls_placed", c.calls_placed},
               {"refers_received", c.refers_received},
               {"refers_accepted", c.refers_accepted},
               {"refer_challenges_sent", c.refer_challenges_sent},
               {"notifies_sent", c.notifies_sent},
               {"byes_sent", c.byes_sent},
               {"registrations_ok", c.registrations_ok},
               {"registration_failures", c.registration_failures}};
    } else if (hosted->pbx != nullptr) {
        const auto c = hosted->pbx->counters(hosted->driver->now_ms());
        out = {{"requests_received", c.requests_received},
               {"requests_forwarded", c.requests_forwarded},
               {"responses_received", c.responses_received},
               {"responses_forwarded", c.responses_forwarded},
               {"responses_sent", c.responses_sent},
               {"challenges_sent", c.challenges_sent},
               {"auth_failures", c.auth_failures},
               {"registrations_active", c.registrations_active},
               {"registrations_accepted", c.registrations_accepted},
               {"calls_ok", c.calls_ok},
               {"calls_failed", c.calls_failed},
               {"not_found", c.not_found}};
    }
    add_driver_counters(out, hosted->driver->counters());
    return out;
}

ControllerConfig RealFarm::controller_config() const {
    auto config = scenario_.controller.config;
    if (scenario_.controller.outbound_proxy) {
        config.outbound_proxy = resolve_node(*scenario_.controller.outbound_proxy);
    }
    return config;
}

std::vector<sim::TraceEntry> RealFarm::trace() const {
    if (hosted_.empty()) return {};
    // Each driver counts from its own creation: shift every clock onto the first one's.
    const auto reference_ms = hosted_.front()->driver->now_ms();
    std::vector<std::pair<std::uint64_t, sim::TraceEntry>> merged;
    for (const auto& hosted : hosted_) {
        const auto shift_ms = static_cast<std::int64_t>(reference_ms) -
                              static_cast<std::int64_t>(hosted->driver->now_ms());
        auto shift = [shift_ms](std::uint64_t at_ms) {
            return static_cast<std::uint64_t>(
                std::max<std::int64_t>(0, static_cast<std::int64_t>(at_ms) + shift_ms));
        };
        for (const auto& entry : hosted->driver->trace()) {
            const bool sent = entry.from.address == hosted->address;
            // A message between two farm nodes is taken once, from its sender.
            bool from_farm = false;
            for (const auto& other : hosted_) from_farm |= entry.from.address == other->address;
            if (!sent && from_farm) continue;
            auto shifted = entry;
            shifted.sent_ms = shift(entry.sent_ms);
            shifted.delivered_ms = shift(entry.delivered_ms);
            merged.emplace_back(shifted.sent_ms, std::move(shifted));
        }
    }
    std::stable_sort(merged.begin(), merged.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<sim::TraceEntry> out;
    out.reserve(merged.size());
    for (auto& [at_ms, entry] : merged) out.push_back(std::move(entry));
    return out;
}

std::string RealFarm::ladder(const std::vector<sim::LadderHost>& extra_hosts) const {
    std::vector<sim::LadderHost> hosts = extra_hosts;
    for (const auto& hosted : hosted_) hosts.push_back({hosted->address, hosted->name});
    return sim::render_ladder(trace(), hosts);
}

std::string RealFarm::resolve_node(const std::string& name_or_address) const {
    auto it = addresses_.find(name_or_address);
    return it == addresses_.end() ? name_or_address : it->second.to_string();
}

const RealFarm::Hosted* RealFarm::find(std::string_view name) const {
    for (const auto& hosted : hosted_) {
        if (hosted->name == name) return hosted.get();
    }
    return nullptr;
}

}  // namespace sipcc::transports
