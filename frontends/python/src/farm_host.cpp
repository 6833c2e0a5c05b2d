#include "frontends/python/src/farm_host.hpp"

#include <utility>

#include "frontends/python/src/errors.hpp"
#include "simulator/scenario.hpp"

namespace sipcc::python {

FarmHost::FarmHost(const std::string& scenario_path, bool record_trace) {
    auto scenario = sim::load_scenario(scenario_path);
    if (!scenario) throw ConfigError(scenario.error());
    transports::RealFarmOptions options;
    options.record_trace = record_trace;
    options.log = [this](std::string_view line) {
        std::lock_guard lock(log_mutex_);
        if (log_.size() < 1000) log_.emplace_back(line);
    };
    auto farm = transports::RealFarm::create(io_.io(), *scenario, std::move(options));
    if (!farm) {
        // Bind failures are about sockets; anything else is about the file.
        if (farm.error().find("cannot bind") != std::string::npos) {
            throw TransportError(farm.error());
        }
        throw ConfigError(farm.error());
    }
    farm_ = std::move(farm).value();
    name_ = scenario->name;
    nodes_ = farm_->nodes();
    for (const auto& node : nodes_) addresses_[node.name] = node.address;
    addresses_[scenario->controller.name] = scenario->controller.config.engine.local_address;
    controller_ = farm_->controller_config();
    controller_name_ = scenario->controller.name;
    farm_->start();  // before the thread runs: no other thread sees the farm yet
    io_.start();
}

FarmHost::~FarmHost() {
    close();
    farm_.reset();
}

std::optional<SocketAddress> FarmHost::address(const std::string& node) const {
    auto it = addresses_.find(node);
    if (it == addresses_.end()) return std::nullopt;
    return it->second;
}

std::map<std::string, std::uint64_t> FarmHost::counters(const std::string& node) {
    if (!io_.running()) return farm_->counters(node);  // closed: the thread is gone
    return io_.call([&] { return farm_->counters(node); });
}

std::optional<FarmPhoneState> FarmHost::phone(const std::string& node) {
    auto read = [&]() -> std::optional<FarmPhoneState> {
        auto* phone = farm_->phone(node);
        if (phone == nullptr) return std::nullopt;
        return FarmPhoneState{phone->registered(), std::string(sim::to_string(phone->activity())),
                              phone->active_calls(), phone->transfers()};
    };
    if (!io_.running()) return read();
    return io_.call(read);
}

std::string FarmHost::ladder(const std::vector<sim::LadderHost>& extra_hosts) {
    if (!io_.running()) return farm_->ladder(extra_hosts);
    return io_.call([&] { return farm_->ladder(extra_hosts); });
}

std::vector<std::string> FarmHost::take_log() {
    std::lock_guard lock(log_mutex_);
    return std::exchange(log_, {});
}

void FarmHost::close() {
    try {
        io_.call([&] { farm_->close(); });
    } catch (const Closed&) {
    }
    io_.stop();
}

}  // namespace sipcc::python
