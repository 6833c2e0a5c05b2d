#include "simulator/scenario_runner.hpp"

#include <algorithm>
#include <map>
#include <memory>

#include "core/message/parser.hpp"
#include "simulator/controller_node.hpp"
#include "simulator/ladder.hpp"

namespace sipcc::sim {
namespace {

std::uint64_t fnv1a(std::uint64_t hash, std::string_view bytes) {
    for (unsigned char byte : bytes) {
        hash ^= byte;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::uint64_t hash_trace(const std::vector<TraceEntry>& trace) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const auto& entry : trace) {
        hash = fnv1a(hash, std::to_string(entry.sent_ms) + ">" + std::to_string(entry.delivered_ms) +
                               entry.from.address.to_string() + entry.to.address.to_string() +
                               (entry.dropped ? "D" : "") + (entry.duplicate ? "d" : ""));
        hash = fnv1a(hash, entry.bytes);
    }
    return hash;
}

// Does one trace entry match a ladder step's message pattern ("INVITE",
// "200", "200 REFER", "NOTIFY 180") and header substrings?
bool matches(const TraceEntry& entry, const LadderStep& step) {
    auto message = parse_message(entry.bytes);
    if (!message) return false;
    const auto space = step.message.find(' ');
    const std::string first = step.message.substr(0, space);
    const std::string second = space == std::string::npos ? "" : step.message.substr(space + 1);
    if (message->is_request) {
        if (message->method != first) return false;
        if (!second.empty()) {
            auto fragment = parse_sipfrag(message->body);
            if (!fragment || std::to_string(fragment->status_code) != second) return false;
        }
    } else {
        if (std::to_string(message->status_code) != first) return false;
        if (!second.empty() && message->transaction_method() != second) return false;
    }
    for (const auto& [name, expected] : step.headers) {
        const auto* value = message->header(name);
        if (value == nullptr || value->find(expected) == std::string::npos) return false;
    }
    return true;
}

std::string join_states(const std::vector<CallState>& states) {
    std::string out;
    for (auto state : states) out += (out.empty() ? "" : " -> ") + std::string(to_string(state));
    return out.empty() ? "(none)" : out;
}

class Farm {
public:
    Farm(const Scenario& scenario, std::uint64_t seed) : scenario_(scenario), network_(seed) {
        // Every node's address first, so references by node name resolve.
        for (const auto& phone : scenario.phones) {
            addresses_[phone.name] = phone.config.engine.local_address;
        }
        addresses_[scenario.controller.name] = scenario.controller.config.engine.local_address;
        if (scenario.pbx) addresses_[scenario.pbx->name] = scenario.pbx->config.address;

        if (scenario.pbx) {
            auto config = scenario.pbx->config;
            config.seed = seed;
            for (const auto& route : scenario.pbx->routes) {
                config.routes.push_back(
                    {route.prefix, resolve_node(route.to), route.strip_digits, route.add_prefix});
            }
            pbx_ = std::make_unique<Pbx>(config);
            if (!pbx_->setup_error().empty()) setup_error_ = scenario.file + ": pbx: " + pbx_->setup_error();
        }
        for (std::size_t i = 0; i < scenario.phones.size(); ++i) {
            auto config = scenario.phones[i].config;
            config.engine.seed = seed * 1000 + i + 1;
            if (scenario.phones[i].outbound_proxy) {
                config.engine.outbound_proxy = resolve_node(*scenario.phones[i].outbound_proxy);
            }
            if (scenario.phones[i].registrar) {
                config.registrar = resolve_node(*scenario.phones[i].registrar);
            }
            phones_[scenario.phones[i].name] = std::make_unique<Phone>(config);
        }
        auto controller_config = scenario.controller.config;
        controller_config.engine.seed = seed;
        if (scenario.controller.outbound_proxy) {
            controller_config.outbound_proxy = resolve_node(*scenario.controller.outbound_proxy);
        }
        auto controller = Controller::create(controller_config);
        if (!controller) {
            setup_error_ = scenario.file + ": controller: " + controller.error();
            return;
        }
        controller_ = std::make_unique<ControllerNode>(std::move(controller).value());
        network_.add_node(*controller_);
        if (pbx_) network_.add_node(*pbx_);
        for (auto& [name, phone] : phones_) network_.add_node(*phone);
        network_.set_default_conditions(scenario.network);
        for (const auto& link : scenario.links) {
            network_.set_link(ip_of(link.from), ip_of(link.to), link.conditions);
        }
        for (const auto& partition : scenario.partitions) {
            network_.add_partition(ip_of(partition.a), ip_of(partition.b), partition.from_ms,
                                   partition.until_ms);
        }
        for (const auto& [host, node] : scenario.names) network_.add_name(host, ip_of(node));
    }

    [[nodiscard]] const std::string& setup_error() const { return setup_error_; }
    VirtualNetwork& network() { return network_; }
    ControllerNode& controller() { return *controller_; }
    [[nodiscard]] const std::map<std::string, SocketAddress>& addresses() const { return addresses_; }
    Pbx* pbx() { return pbx_.get(); }
    [[nodiscard]] std::string scenario_pbx_name() const {
        return scenario_.pbx ? scenario_.pbx->name : std::string();
    }
    Phone* phone(const std::string& name) {
        auto it = phones_.find(name);
        return it == phones_.end() ? nullptr : it->second.get();
    }
    std::optional<SocketAddress> address_of(const std::string& name) const {
        auto it = addresses_.find(name);
        if (it == addresses_.end()) return std::nullopt;
        return it->second;
    }

private:
    // A node name becomes its address; anything else is taken as host[:port].
    std::string resolve_node(const std::string& name_or_address) const {
        auto it = addresses_.find(name_or_address);
        return it == addresses_.end() ? name_or_address : it->second.to_string();
    }
    std::string ip_of(const std::string& name) {
        auto it = addresses_.find(name);
        if (it != addresses_.end()) return it->second.ip;
        if (setup_error_.empty()) setup_error_ = scenario_.file + ": unknown node \"" + name + "\"";
        return name;
    }

    const Scenario& scenario_;
    VirtualNetwork network_;
    std::map<std::string, std::unique_ptr<Phone>> phones_;
    std::unique_ptr<ControllerNode> controller_;
    std::unique_ptr<Pbx> pbx_;
    std::map<std::string, SocketAddress> addresses_;
    std::string setup_error_;
};

std::optional<std::uint64_t> counter_value(Farm& farm, const std::string& node,
                                           const std::string& counter) {
    if (node == "network") {
        if (counter == "delivered") return farm.network().delivered();
        if (counter == "dropped") return farm.network().dropped();
        return std::nullopt;
    }
    if (auto* pbx = farm.pbx(); pbx && farm.scenario_pbx_name() == node) {
        const auto c = pbx->counters(farm.network().now_ms());
        const std::map<std::string, std::uint64_t> values{
            {"requests_received", c.requests_received}, {"requests_forwarded", c.requests_forwarded},
            {"responses_forwarded", c.responses_forwarded}, {"challenges_sent", c.challenges_sent},
            {"auth_failures", c.auth_failures}, {"registrations_active", c.registrations_active},
            {"registrations_accepted", c.registrations_accepted}, {"calls_ok", c.calls_ok},
            {"calls_failed", c.calls_failed}, {"not_found", c.not_found}};
        auto it = values.find(counter);
        if (it == values.end()) return std::nullopt;
        return it->second;
    }
    if (auto* phone = farm.phone(node)) {
        const auto& c = phone->counters();
        const std::map<std::string, std::uint64_t> values{
            {"registrations_ok", c.registrations_ok},
            {"registration_failures", c.registration_failures},
            {"invites_received", c.invites_received}, {"calls_answered", c.calls_answered},
            {"calls_placed", c.calls_placed},         {"refers_received", c.refers_received},
            {"refers_accepted", c.refers_accepted},   {"refer_challenges_sent", c.refer_challenges_sent},
            {"notifies_sent", c.notifies_sent},       {"byes_sent", c.byes_sent}};
        auto it = values.find(counter);
        if (it == values.end()) return std::nullopt;
        return it->second;
    }
    if (farm.address_of(node) == farm.controller().address()) {
        const auto& c = farm.controller().controller.engine().counters();
        const std::map<std::string, std::uint64_t> values{
            {"messages_received", c.messages_received}, {"messages_sent", c.messages_sent},
            {"malformed_dropped", c.malformed_dropped}, {"answered_481", c.answered_481},
            {"ack_retransmissions", c.ack_retransmissions},
            {"ok_retransmissions", c.ok_retransmissions}};
        auto it = values.find(counter);
        if (it == values.end()) return std::nullopt;
        return it->second;
    }
    return std::nullopt;
}

}  // namespace

ScenarioResult run_scenario(const Scenario& scenario, std::optional<std::uint64_t> seed) {
    ScenarioResult result;
    result.name = scenario.name;
    result.file = scenario.file;
    result.seed = seed.value_or(scenario.seed);
    Farm farm(scenario, result.seed);
    if (!farm.setup_error().empty()) {
        result.failures.push_back(farm.setup_error());
        return result;
    }
    auto& network = farm.network();
    auto& controller = farm.controller();

    // Actions in time order; each call gets the id the controller returns.
    auto actions = scenario.actions;
    std::stable_sort(actions.begin(), actions.end(),
                     [](const auto& a, const auto& b) { return a.at_ms < b.at_ms; });
    std::map<std::string, CallId> call_ids;
    for (const auto& action : actions) {
        network.run_until(action.at_ms);
        if (action.kind == ActionSpec::Kind::click_to_dial) {
            auto call = controller.controller.click_to_dial(network.now_ms(), action.number);
            if (!call) {
                result.failures.push_back("click_to_dial " + action.number + ": " + call.error());
                continue;
            }
            call_ids[action.call] = *call;
        } else if (auto it = call_ids.find(action.call); it != call_ids.end()) {
            controller.controller.drop(network.now_ms(), it->second);
        } else {
            result.failures.push_back("drop: no call named \"" + action.call + "\"");
        }
        network.flush();
    }
    auto all_final = [&] {
        for (const auto& [name, id] : call_ids) {
            const auto* call = controller.controller.call(id);
            if (call && !is_final(call->state)) return false;
        }
        return true;
    };
    network.run_until(all_final, scenario.max_duration_ms);
    // Let the last BYE / NOTIFY exchanges finish.
    network.run_until(std::min(network.now_ms() + 2000, scenario.max_duration_ms));
    result.virtual_ms = network.now_ms();

    controller.drain();
    for (const auto& [name, id] : call_ids) {
        CallOutcome outcome{name, {}};
        for (const auto& event : controller.call_events) {
            if (event.call == id) outcome.events.push_back(event);
        }
        result.calls.push_back(std::move(outcome));
        const auto* call = controller.controller.call(id);
        if (call && !is_final(call->state)) {
            result.failures.push_back("call " + name + " is still " +
                                      std::string(to_string(call->state)) + " after " +
                                      std::to_string(scenario.max_duration_ms) +
                                      " ms (max_duration_ms)");
        }
    }

    for (const auto& expected : scenario.calls) {
        auto it = std::find_if(result.calls.begin(), result.calls.end(),
                               [&](const CallOutcome& c) { return c.name == expected.call; });
        if (it == result.calls.end()) {
            result.failures.push_back("expected call \"" + expected.call + "\" was never started");
            continue;
        }
        std::vector<CallState> states;
        for (const auto& event : it->events) states.push_back(event.state);
        const CallEvent last = it->events.empty() ? CallEvent{} : it->events.back();
        if (expected.states && states != *expected.states) {
            result.failures.push_back("call " + expected.call + ": states were " +
                                      join_states(states) + "; expected " +
                                      join_states(*expected.states));
        }
        if (expected.final_state && last.state != *expected.final_state) {
            result.failures.push_back("call " + expected.call + ": ended " +
                                      std::string(to_string(last.state)) + "; expected " +
                                      std::string(to_string(*expected.final_state)));
        }
        if (expected.cause && last.cause != *expected.cause) {
            result.failures.push_back("call " + expected.call + ": cause " +
                                      std::string(to_string(last.cause)) + "; expected " +
                                      std::string(to_string(*expected.cause)) +
                                      (last.detail.empty() ? "" : " (" + last.detail + ")"));
        }
        if (expected.sip_code && last.sip_code != *expected.sip_code) {
            result.failures.push_back("call " + expected.call + ": SIP code " +
                                      std::to_string(last.sip_code) + "; expected " +
                                      std::to_string(*expected.sip_code));
        }
    }

    const auto& trace = network.trace();
    std::size_t position = 0;
    for (std::size_t i = 0; i < scenario.ladder.size(); ++i) {
        const auto& step = scenario.ladder[i];
        const auto from = farm.address_of(step.from);
        const auto to = farm.address_of(step.to);
        if (!from || !to) {
            result.failures.push_back(scenario.file + ":" + std::to_string(step.line) +
                                      ": ladder step names an unknown node");
            break;
        }
        bool found = false;
        for (; position < trace.size(); ++position) {
            const auto& entry = trace[position];
            if (entry.dropped || entry.duplicate) continue;
            if (entry.from.address == *from && entry.to.address == *to && matches(entry, step)) {
                found = true;
                ++position;
                break;
            }
        }
        if (!found) {
            result.failures.push_back(scenario.file + ":" + std::to_string(step.line) +
                                      ": ladder step " + std::to_string(i + 1) + " (" + step.from +
                                      " -> " + step.to + " " + step.message +
                                      ") not found in order");
            break;
        }
    }

    for (const auto& counter : scenario.counters) {
        const auto value = counter_value(farm, counter.node, counter.counter);
        if (!value) {
            result.failures.push_back("unknown counter " + counter.node + "." + counter.counter);
        } else if (*value != counter.value) {
            result.failures.push_back("counter " + counter.node + "." + counter.counter + " is " +
                                      std::to_string(*value) + "; expected " +
                                      std::to_string(counter.value));
        }
    }

    result.trace = trace;
    result.trace_hash = hash_trace(trace);
    std::vector<LadderHost> hosts;
    hosts.push_back({farm.address_of(scenario.controller.name).value(), scenario.controller.name});
    if (scenario.pbx) hosts.push_back({scenario.pbx->config.address, scenario.pbx->name});
    for (const auto& phone : scenario.phones) {
        hosts.push_back({phone.config.engine.local_address, phone.name});
    }
    result.ladder = render_ladder(trace, hosts);
    result.passed = result.failures.empty();
    return result;
}

}  // namespace sipcc::sim
