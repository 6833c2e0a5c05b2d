// A scenario's farm (transports/real_farm.hpp) on a background io thread for
// Python: every question is answered on that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "frontends/python/src/io_thread.hpp"
#include "transports/real_farm.hpp"

namespace sipcc::python {

struct FarmPhoneState {
    bool registered = false;
    std::string activity;  // sim::to_string(PhoneActivity)
    std::size_t active_calls = 0;
    std::vector<sim::TransferRecord> transfers;
};

class FarmHost {
public:
    // Loads the scenario (ConfigError with file:line: field), binds every node
    // (TransportError) and starts the io thread.
    FarmHost(const std::string& scenario_path, bool record_trace);
    ~FarmHost();
    FarmHost(const FarmHost&) = delete;
    FarmHost& operator=(const FarmHost&) = delete;

    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] const std::vector<transports::FarmNodeInfo>& nodes() const { return nodes_; }
    // The address of a hosted node or of the scenario's controller; nullopt if unknown.
    [[nodiscard]] std::optional<SocketAddress> address(const std::string& node) const;
    [[nodiscard]] const ControllerConfig& controller_config() const { return controller_; }
    // The scenario's controller: its name and address (not hosted; for a real controller).
    [[nodiscard]] const std::string& controller_name() const { return controller_name_; }

    std::map<std::string, std::uint64_t> counters(const std::string& node);
    std::optional<FarmPhoneState> phone(const std::string& node);
    std::string ladder(const std::vector<sim::LadderHost>& extra_hosts);
    std::vector<std::string> take_log();

    void close();
    [[nodiscard]] bool closed() const { return !io_.running(); }

private:
    IoThread io_{"farm"};
    std::mutex log_mutex_;  // the drivers log from the io thread
    std::vector<std::string> log_;
    std::unique_ptr<transports::RealFarm> farm_;
    std::string name_;
    std::vector<transports::FarmNodeInfo> nodes_;
    std::map<std::string, SocketAddress> addresses_;
    ControllerConfig controller_;
    std::string controller_name_;
};

}  // namespace sipcc::python
