// A conformance scenario (scenarios/*.json, format in docs/scenarios.md): the
// farm, the network, the seed, timed actions and the expected outcome.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/callcontrol/call_state.hpp"
#include "core/callcontrol/controller_config.hpp"
#include "simulator/pbx.hpp"
#include "simulator/phone.hpp"
#include "simulator/virtual_network.hpp"

namespace sipcc::sim {

struct LinkSpec {
    std::string from;  // node names
    std::string to;
    LinkConditions conditions;
};

struct PartitionSpec {
    std::string a;
    std::string b;
    std::uint64_t from_ms = 0;
    std::uint64_t until_ms = 0;
};

struct PhoneSpec {
    std::string name;
    PhoneConfig config;
    std::optional<std::string> outbound_proxy;  // node name or host:port
    std::optional<std::string> registrar;       // node name or host:port
};

struct PbxRouteSpec {
    std::string prefix;
    std::string to;  // node name or host:port
    std::size_t strip_digits = 0;
    std::string add_prefix;
};

struct PbxSpec {
    std::string name = "pbx";
    PbxConfig config;
    std::vector<PbxRouteSpec> routes;
};

struct ControllerSpec {
    std::string name = "sipcc";
    ControllerConfig config;
    std::optional<std::string> outbound_proxy;  // node name or host:port
};

struct ActionSpec {
    enum class Kind { click_to_dial, drop };
    std::uint64_t at_ms = 0;
    Kind kind = Kind::click_to_dial;
    std::string call;    // a name the scenario gives the call
    std::string number;  // click_to_dial
};

struct CallExpectation {
    std::string call;
    std::optional<std::vector<CallState>> states;  // the exact sequence
    std::optional<CallState> final_state;
    std::optional<DisconnectCause> cause;
    std::optional<int> sip_code;
};

// One message in the expected ladder: matched in order, other messages may come between.
struct LadderStep {
    std::string from;     // node name
    std::string to;       // node name
    std::string message;  // "INVITE", "200", "200 REFER", "NOTIFY 180" (sipfrag code)
    std::vector<std::pair<std::string, std::string>> headers;  // name, expected substring
    int line = 0;         // where the step is written, for failure messages
};

struct CounterExpectation {
    std::string node;
    std::string counter;
    std::uint64_t value = 0;
};

struct Scenario {
    std::string file;
    std::string name;
    std::string description;
    std::uint64_t seed = 1;
    std::uint64_t max_duration_ms = 120000;
    LinkConditions network;
    std::vector<LinkSpec> links;
    std::vector<PartitionSpec> partitions;
    std::vector<PhoneSpec> phones;
    ControllerSpec controller;
    std::optional<PbxSpec> pbx;
    std::map<std::string, std::string> names;  // DNS name -> node name
    std::vector<ActionSpec> actions;
    std::vector<CallExpectation> calls;
    std::vector<LadderStep> ladder;
    std::vector<CounterExpectation> counters;
};

// Reads and checks a scenario. Errors name the file, the line, the field and
// what was expected: "scenarios/x.json:12: phones[0].answer: expected one of
// answer, busy, decline, never, reject; got \"bussy\"".
Result<Scenario> load_scenario(const std::string& path);
Result<Scenario> parse_scenario(const std::string& json_text, const std::string& file_name);

}  // namespace sipcc::sim
