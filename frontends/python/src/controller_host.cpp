#include "frontends/python/src/controller_host.hpp"

#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <utility>

#include "apps/sipcc/dial_config.hpp"
#include "frontends/python/src/errors.hpp"
#include "simulator/ladder.hpp"
#include "simulator/node.hpp"

namespace sipcc::python {

using namespace std::chrono_literals;

// The Controller as a node of the driver; after every input its call events go
// to the host's queue.
class ControllerHost::Node final : public sim::Node {
public:
    Node(Controller controller, ControllerHost& host)
        : controller(std::move(controller)), host_(host) {}

    Controller controller;

    [[nodiscard]] SocketAddress address() const override {
        return controller.engine().config().local_address;
    }
    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override {
        controller.handle_received(now_ms, bytes, source);
        host_.publish();
    }
    void on_timeout(std::uint64_t now_ms) override {
        controller.handle_timeout(now_ms);
        host_.publish();
    }
    void on_resolved(std::uint64_t now_ms, std::uint64_t id, std::optional<std::string> ip,
                     std::string error) override {
        controller.handle_resolved(now_ms, id, std::move(ip), std::move(error));
        host_.publish();
    }
    void on_send_failed(std::uint64_t now_ms, const Peer& destination,
                        std::string reason) override {
        controller.handle_send_failed(now_ms, destination, std::move(reason));
        host_.publish();
    }
    [[nodiscard]] std::optional<std::uint64_t> next_timeout() const override {
        return controller.poll_timeout();
    }
    std::optional<Transmit> poll_transmit() override { return controller.poll_transmit(); }
    std::optional<ResolveRequest> poll_resolve() override { return controller.poll_resolve(); }

private:
    ControllerHost& host_;
};

ControllerHost::ControllerHost(const ControllerHostOptions& options) {
    cli::DialConfig settings;
    if (options.config_path) {
        if (auto reason = cli::load_dial_config_file(settings, *options.config_path)) {
            throw ConfigError(*reason);
        }
    }
    nlohmann::json overrides;
    try {
        overrides = nlohmann::json::parse(options.settings_json);
    } catch (const nlohmann::json::parse_error& error) {
        throw ConfigError(std::string("settings are not JSON: ") + error.what());
    }
    if (auto reason = cli::apply_dial_config_json(settings, overrides)) throw ConfigError(*reason);

    transports::DriverOptions driver_options;
    driver_options.record_trace = options.record_trace;
    driver_options.log = [this](std::string_view line) {
        std::lock_guard lock(mutex_);
        log_.emplace_back(line);
        if (log_.size() > kMaxQueuedLogLines) log_.pop_front();
    };
    driver_ = std::make_unique<transports::AsioDriver>(io_.io(), std::move(driver_options));
    auto bound = driver_->bind(settings.bind);
    if (!bound) throw TransportError(bound.error());
    local_ = *bound;

    config_ = settings.controller;
    config_.engine.local_address = local_;
    // A fresh seed per controller unless one is configured: Call-IDs never repeat.
    config_.engine.seed = settings.seed.value_or(std::random_device{}());
    auto controller = Controller::create(config_);
    if (!controller) throw ConfigError(controller.error());
    node_ = std::make_unique<Node>(std::move(controller).value(), *this);
    // Before the thread starts, so no lock is needed yet.
    driver_->attach(*node_);
    io_.start();
}

ControllerHost::~ControllerHost() {
    close(0ms);
}

CallId ControllerHost::click_to_dial(const std::string& number) {
    auto result = io_.call([&]() -> Result<CallId> {
        auto call = node_->controller.click_to_dial(driver_->now_ms(), number);
        if (call) {
            call_ids_.insert(*call);
            if (const auto* snapshot = node_->controller.call(*call)) {
                std::lock_guard lock(mutex_);
                snapshots_[*call] = *snapshot;
            }
        }
        publish();
        driver_->flush();
        return call;
    });
    if (!result) throw NumberError(result.error());
    return *result;
}

bool ControllerHost::drop(CallId call) {
    return io_.call([&] {
        const bool dropped = node_->controller.drop(driver_->now_ms(), call);
        publish();
        driver_->flush();
        return dropped;
    });
}

std::optional<CallSnapshot> ControllerHost::call(CallId call) const {
    std::lock_guard lock(mutex_);
    auto it = snapshots_.find(call);
    if (it == snapshots_.end()) return std::nullopt;
    return it->second;
}

bool ControllerHost::wait_for_events(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [this] { return !events_.empty() || closed_; });
    return !events_.empty();
}

std::vector<CallEvent> ControllerHost::take_events() {
    std::lock_guard lock(mutex_);
    std::vector<CallEvent> out(std::make_move_iterator(events_.begin()),
                               std::make_move_iterator(events_.end()));
    events_.clear();
    return out;
}

std::vector<std::string> ControllerHost::take_log() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out(log_.begin(), log_.end());
    log_.clear();
    return out;
}

std::uint64_t ControllerHost::dropped_events() const {
    std::lock_guard lock(mutex_);
    return dropped_events_;
}

void ControllerHost::publish() {
    std::vector<CallEvent> events;
    while (auto event = node_->controller.poll_call_event()) events.push_back(std::move(*event));
    if (events.empty()) return;
    {
        std::lock_guard lock(mutex_);
        for (auto& event : events) {
            if (const auto* snapshot = node_->controller.call(event.call)) {
                snapshots_[event.call] = *snapshot;
            }
            if (is_final(event.state)) {
                call_ids_.erase(event.call);
                finished_.push_back(event.call);
                if (finished_.size() > kMaxFinishedCalls) {
                    snapshots_.erase(finished_.front());
                    finished_.pop_front();
                }
            }
            events_.push_back(std::move(event));
            if (events_.size() > kMaxQueuedEvents) {
                events_.pop_front();
                ++dropped_events_;
            }
        }
    }
    changed_.notify_all();
}

void ControllerHost::close(std::chrono::milliseconds wind_down) {
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
    }
    try {
        io_.call([&] {
            for (const auto id : call_ids_) node_->controller.drop(driver_->now_ms(), id);
            call_ids_.clear();
            publish();
            driver_->flush();
        });
        const auto until = std::chrono::steady_clock::now() + wind_down;
        while (std::chrono::steady_clock::now() < until) {
            const bool quiet = io_.call([&] {
                return node_->controller.active_calls() == 0 &&
                       node_->controller.engine().active_dialogs() == 0;
            });
            if (quiet) break;
            std::this_thread::sleep_for(10ms);
        }
        io_.call([&] { driver_->close(); });
    } catch (const Closed&) {
    }
    io_.stop();
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    changed_.notify_all();
}

bool ControllerHost::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

std::string ControllerHost::ladder() {
    auto render = [&] { return sim::render_ladder(driver_->trace(), {{local_, "sipcc"}}); };
    if (io_.running()) return io_.call(render);
    return render();  // the io thread is gone: nothing else touches the driver
}

}  // namespace sipcc::python
