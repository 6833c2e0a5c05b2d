// Runs a scenario on the virtual network and checks its expectations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/callcontrol/call_state.hpp"
#include "simulator/scenario.hpp"

namespace sipcc::sim {

struct CallOutcome {
    std::string name;  // the name the scenario gave the call
    std::vector<CallEvent> events;
};

struct ScenarioResult {
    std::string name;
    std::string file;
    std::uint64_t seed = 0;
    bool passed = false;
    std::vector<std::string> failures;  // each a readable reason
    std::uint64_t virtual_ms = 0;
    std::vector<TraceEntry> trace;
    std::string ladder;  // rendered with the scenario's node names
    std::uint64_t trace_hash = 0;  // FNV-1a over the trace: same seed, same hash
    std::vector<CallOutcome> calls;
};

// `seed` replaces the scenario's own seed (for --seed / --repeat).
ScenarioResult run_scenario(const Scenario& scenario, std::optional<std::uint64_t> seed = {});

}  // namespace sipcc::sim
