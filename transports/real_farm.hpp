// A scenario's farm on real sockets: the simulated PBX and phones of a scenario
// file (simulator/, loaded with sim::load_scenario) each get an AsioDriver bound
// to the address the file gives them, all on one io_context. A real controller
// (`sipcc dial`, the Python module, a SIPp script) can then click-to-dial against
// simulated phones over loopback.
//
// From the scenario, only the farm is used: `pbx`, `phones` and `names` (DNS names
// pointing at a node, answered locally; other names go to the real resolver).
// Network conditions, partitions, actions and expectations belong to the virtual
// network and are ignored; the `controller` section is not hosted, but
// controller_config() hands it out (node names resolved) for a real controller.
//
// Threading: like AsioDriver, everything runs on the thread that runs the
// io_context. create() may run before that thread starts; every other member
// must be called on it (post to the io_context from other threads).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/callcontrol/controller_config.hpp"
#include "core/net/address.hpp"
#include "core/util/result.hpp"
#include "simulator/ladder.hpp"
#include "simulator/pbx.hpp"
#include "simulator/phone.hpp"
#include "simulator/scenario.hpp"
#include "transports/asio_driver.hpp"

namespace sipcc::transports {

struct RealFarmOptions {
    bool record_trace = false;  // every driver keeps its messages (see trace())
    // Transport errors of every node, prefixed with the node's name; empty: standard error.
    std::function<void(std::string_view)> log;
};

// One hosted node.
struct FarmNodeInfo {
    std::string name;
    std::string kind;  // "pbx" or "phone"
    SocketAddress address;
    bool registers = false;  // a phone with a registrar
};

class RealFarm {
public:
    // Builds the PBX and the phones and binds each to its address. Nothing is sent or
    // received until start(). Errors name the file and node, e.g.
    // `farm.json: phone "alice": cannot bind 127.0.0.61:5060: Address already in use`.
    static Result<std::unique_ptr<RealFarm>> create(boost::asio::io_context& io,
                                                    const sim::Scenario& scenario,
                                                    RealFarmOptions options = {});
    ~RealFarm();
    RealFarm(const RealFarm&) = delete;
    RealFarm& operator=(const RealFarm&) = delete;

    // Attaches every node to its driver: phones with a registrar start registering.
    void start();
    // Closes every socket; the nodes are not called again. The destructor does it too.
    void close();

    [[nodiscard]] const sim::Scenario& scenario() const { return scenario_; }
    [[nodiscard]] std::vector<FarmNodeInfo> nodes() const;
    [[nodiscard]] std::optional<SocketAddress> address(std::string_view name) const;
    sim::Phone* phone(std::string_view name);
    sim::Pbx* pbx();
    // The node's clock (milliseconds since its driver was created).
    [[nodiscard]] std::optional<std::uint64_t> now_ms(std::string_view name) const;

    // The counters a scenario's `expect.counters` names, for one node: the phone's
    // (invites_received, refers_accepted ...) or the PBX's (calls_ok, ...), plus the
    // driver's as driver.messages_sent, driver.send_errors ... Empty for an unknown node.
    [[nodiscard]] std::map<std::string, std::uint64_t> counters(std::string_view name) const;

    // The scenario's controller settings with node names (outbound_proxy) replaced by
    // the nodes' addresses; engine.local_address is the scenario's controller address.
    [[nodiscard]] ControllerConfig controller_config() const;

    // Every message the nodes sent, and received from outside the farm, in the order
    // seen (RealFarmOptions::record_trace), and a ladder of them with the node names.
    [[nodiscard]] std::vector<sim::TraceEntry> trace() const;
    [[nodiscard]] std::string ladder(const std::vector<sim::LadderHost>& extra_hosts = {}) const;

private:
    struct Hosted;
    RealFarm(boost::asio::io_context& io, sim::Scenario scenario, RealFarmOptions options);

    [[nodiscard]] std::string resolve_node(const std::string& name_or_address) const;
    [[nodiscard]] const Hosted* find(std::string_view name) const;

    boost::asio::io_context& io_;
    sim::Scenario scenario_;
    RealFarmOptions options_;
    std::map<std::string, SocketAddress> addresses_;  // node name -> address
    std::map<std::string, std::string> names_;        // DNS name -> IP
    std::vector<std::unique_ptr<Hosted>> hosted_;     // the PBX first, then the phones
    bool started_ = false;
    bool closed_ = false;
};

}  // namespace sipcc::transports
