// sipcc._sipcc: the compiled half of the Python package. It only translates:
// Python arguments -> core calls, core results -> tuples and dicts, core errors
// -> sipcc.exceptions. The pure-Python half (sipcc/*.py) wraps these in classes
// with docstrings and type hints; users import `sipcc`, not this module.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "apps/sipcc/dial_config.hpp"
#include "core/addressing/dial_target.hpp"
#include "core/addressing/number.hpp"
#include "core/callcontrol/call_state.hpp"
#include "frontends/python/src/controller_host.hpp"
#include "frontends/python/src/errors.hpp"
#include "frontends/python/src/farm_host.hpp"
#include "simulator/scenario.hpp"
#include "simulator/scenario_runner.hpp"

namespace py = pybind11;
using namespace std::chrono_literals;

namespace sipcc::python {
namespace {

// --- errors ---

void raise_as(const char* name, const char* message) {
    try {
        auto type = py::module_::import("sipcc.exceptions").attr(name);
        PyErr_SetString(type.ptr(), message);
    } catch (py::error_already_set&) {
        // Imported without its package (sipcc/exceptions.py missing): still an exception.
        PyErr_SetString(PyExc_RuntimeError, message);
    }
}

void translate_errors(std::exception_ptr error) {
    try {
        if (error) std::rethrow_exception(error);
    } catch (const NumberError& e) {
        raise_as("NumberError", e.what());
    } catch (const ConfigError& e) {
        raise_as("ConfigError", e.what());
    } catch (const TransportError& e) {
        raise_as("TransportError", e.what());
    } catch (const Closed& e) {
        raise_as("ClosedError", e.what());
    }
}

// --- conversions ---

py::object cause_or_none(DisconnectCause cause) {
    if (cause == DisconnectCause::none) return py::none();
    return py::str(std::string(to_string(cause)));
}

py::object code_or_none(int sip_code) {
    if (sip_code == 0) return py::none();
    return py::int_(sip_code);
}

py::object text_or_none(const std::optional<std::string>& text) {
    if (!text || text->empty()) return py::none();
    return py::str(*text);
}

// (call_id, state, cause, sip_code, detail, at_ms)
py::tuple event_tuple(const CallEvent& event) {
    return py::make_tuple(event.call, std::string(to_string(event.state)),
                          cause_or_none(event.cause), code_or_none(event.sip_code), event.detail,
                          event.at_ms);
}

// seconds (None: forever) -> a duration that cannot overflow steady_clock
std::chrono::milliseconds to_duration(std::optional<double> seconds) {
    constexpr double kForeverMs = 1e12;  // ~31 years
    if (!seconds || std::isnan(*seconds)) {
        return std::chrono::milliseconds(static_cast<std::int64_t>(kForeverMs));
    }
    const double ms = std::clamp(*seconds * 1000.0, 0.0, kForeverMs);
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(ms)));
}

addressing::DialingRules make_rules(const std::optional<std::string>& country,
                                    const std::optional<std::string>& area,
                                    const std::string& international_prefix,
                                    const std::string& national_prefix,
                                    const std::optional<std::string>& outside_line, bool letters,
                                    std::size_t national_length, std::size_t min_extension_digits,
                                    std::size_t max_extension_digits) {
    addressing::DialingRules rules;
    rules.country_code = country.value_or("");
    rules.area_code = area.value_or("");
    rules.international_prefix = international_prefix;
    rules.national_prefix = national_prefix;
    rules.outside_line_prefix = outside_line.value_or("");
    rules.allow_letters = letters;
    rules.national_number_digits = national_length;
    rules.min_extension_digits = min_extension_digits;
    rules.max_extension_digits = max_extension_digits;
    auto valid = addressing::validate_rules(rules);
    if (!valid) throw ConfigError(valid.error());
    return rules;
}

addressing::NormalizedNumber normalize_or_throw(const std::string& number,
                                                const addressing::DialingRules& rules) {
    auto normalized = addressing::normalize_number(number, rules);
    if (!normalized) throw NumberError(normalized.error());
    return *normalized;
}

// The keys of a `sipcc dial` config (apps/sipcc/dial_config.hpp) that reproduce `config`.
py::dict controller_settings(const ControllerConfig& config) {
    py::dict out;
    out["domain"] = config.domain;
    out["user"] = config.user;
    if (!config.password.empty()) out["password"] = config.password;
    if (!config.auth_user.empty()) out["auth_user"] = config.auth_user;
    out["display_name"] = config.display_name;
    if (config.outbound_proxy) out["outbound_proxy"] = *config.outbound_proxy;
    if (config.extension) out["extension"] = *config.extension;
    out["mode"] = config.mode == ClickToDialMode::direct ? "direct" : "refer";
    out["transport"] = config.engine.transport == Transport::tcp ? "tcp" : "udp";
    out["format"] = std::string(addressing::to_string(config.target_format));
    const auto& rules = config.dialing_rules;
    if (!rules.country_code.empty()) out["country"] = rules.country_code;
    if (!rules.area_code.empty()) out["area"] = rules.area_code;
    out["international_prefix"] = rules.international_prefix;
    out["national_prefix"] = rules.national_prefix;
    if (!rules.outside_line_prefix.empty()) out["outside_line"] = rules.outside_line_prefix;
    if (rules.national_number_digits != 0) out["national_length"] = rules.national_number_digits;
    out["notify_wait_ms"] = config.notify_wait_ms;
    out["answer_timeout_ms"] = config.caller_answer_timeout_ms;
    out["auto_answer"] = config.auto_answer_hints;
    out["refer_sub_false"] = config.refer_sub_false;
    out["t1_ms"] = config.engine.timers.t1_ms;
    out["t2_ms"] = config.engine.timers.t2_ms;
    out["t4_ms"] = config.engine.timers.t4_ms;
    return out;
}

// --- scenarios ---

py::dict scenario_result(const sim::ScenarioResult& result) {
    py::dict calls;
    for (const auto& call : result.calls) {
        py::list changes;
        for (const auto& event : call.events) {
            changes.append(py::make_tuple(std::string(to_string(event.state)),
                                          cause_or_none(event.cause), code_or_none(event.sip_code),
                                          event.at_ms));
        }
        calls[py::str(call.name)] = changes;
    }
    py::dict out;
    out["name"] = result.name;
    out["file"] = result.file;
    out["seed"] = result.seed;
    out["passed"] = result.passed;
    out["failures"] = result.failures;
    out["virtual_ms"] = result.virtual_ms;
    out["ladder"] = result.ladder;
    out["trace_hash"] = result.trace_hash;
    out["messages"] = result.trace.size();
    out["calls"] = calls;
    return out;
}

py::dict run_scenario(const std::string& path, std::optional<std::uint64_t> seed) {
    sim::ScenarioResult result;
    {
        py::gil_scoped_release release;
        auto scenario = sim::load_scenario(path);
        if (!scenario) throw ConfigError(scenario.error());
        result = sim::run_scenario(*scenario, seed);
    }
    return scenario_result(result);
}

// --- the controller ---

bool wait_events(ControllerHost& host, std::optional<double> timeout_s) {
    using Clock = std::chrono::steady_clock;
    const auto until = Clock::now() + to_duration(timeout_s);
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        // Short slices: Ctrl-C is noticed between them (KeyboardInterrupt).
        const auto slice = std::clamp(left, 0ms, 50ms);
        bool queued = false;
        {
            py::gil_scoped_release release;
            queued = host.wait_for_events(slice);
        }
        if (queued) return true;
        if (host.closed() || Clock::now() >= until) return false;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
}

py::list take_events(ControllerHost& host) {
    py::list out;
    for (const auto& event : host.take_events()) out.append(event_tuple(event));
    return out;
}

py::object call_tuple(const ControllerHost& host, CallId id) {
    const auto call = host.call(id);
    if (!call) return py::none();
    // (state, cause, sip_code, number, target_uri)
    return py::make_tuple(std::string(to_string(call->state)), cause_or_none(call->cause),
                          code_or_none(call->sip_code), call->number, call->target_uri);
}

py::dict phone_dict(const FarmPhoneState& state) {
    py::list transfers;
    for (const auto& record : state.transfers) {
        py::dict transfer;
        transfer["target"] = record.target;
        transfer["refer_received_ms"] = record.refer_received_ms;
        transfer["subscription"] = record.subscription;
        transfer["sipfrags"] = record.sipfrags;
        transfer["final_status_code"] = code_or_none(record.final_status_code);
        transfers.append(transfer);
    }
    py::dict out;
    out["registered"] = state.registered;
    out["activity"] = state.activity;
    out["active_calls"] = state.active_calls;
    out["transfers"] = transfers;
    return out;
}

std::vector<sim::LadderHost> ladder_hosts(
    const std::vector<std::pair<std::string, std::string>>& hosts) {
    std::vector<sim::LadderHost> out;
    for (const auto& [address, name] : hosts) {
        auto host_port = parse_host_port(address);
        if (!host_port || !host_port->port) {
            throw ConfigError("ladder host \"" + name + "\": expected ip:port, got \"" + address +
                              "\"");
        }
        out.push_back({{host_port->host, *host_port->port}, name});
    }
    return out;
}

}  // namespace
}  // namespace sipcc::python

PYBIND11_MODULE(_sipcc, m) {
    using namespace sipcc;
    using namespace sipcc::python;
    m.doc() = "The compiled core of the sipcc package (use `import sipcc`).";
    py::register_exception_translator(&translate_errors);

    // --- the call-state model ---
    py::list states;
    for (int i = 0; i <= static_cast<int>(CallState::disconnected); ++i) {
        states.append(std::string(to_string(static_cast<CallState>(i))));
    }
    m.attr("STATES") = py::tuple(states);
    py::list causes;
    for (int i = 1; i <= static_cast<int>(DisconnectCause::bad_number); ++i) {
        causes.append(std::string(to_string(static_cast<DisconnectCause>(i))));
    }
    m.attr("CAUSES") = py::tuple(causes);
    m.def(
        "dial_config_keys",
        [] {
            py::list out;
            for (const auto& key : cli::dial_config_keys()) {
                const char* kind = key.kind == cli::DialConfigKind::text     ? "text"
                                   : key.kind == cli::DialConfigKind::number ? "number"
                                                                             : "boolean";
                out.append(py::make_tuple(std::string(key.name), kind, std::string(key.help)));
            }
            return out;
        },
        "Every key of a controller configuration: (name, kind, help).");

    // --- numbers ---
    m.def(
        "normalize",
        [](const std::string& number, const std::optional<std::string>& country,
           const std::optional<std::string>& area, const std::string& international_prefix,
           const std::string& national_prefix, const std::optional<std::string>& outside_line,
           bool letters, std::size_t national_length, std::size_t min_extension_digits,
           std::size_t max_extension_digits) {
            const auto rules =
                make_rules(country, area, international_prefix, national_prefix, outside_line,
                           letters, national_length, min_extension_digits, max_extension_digits);
            const auto n = normalize_or_throw(number, rules);
            return py::make_tuple(std::string(addressing::to_string(n.kind)), text_or_none(n.e164),
                                  n.digits, n.canonical, n.original);
        },
        py::arg("number"), py::arg("country"), py::arg("area"), py::arg("international_prefix"),
        py::arg("national_prefix"), py::arg("outside_line"), py::arg("letters"),
        py::arg("national_length"), py::arg("min_extension_digits"),
        py::arg("max_extension_digits"),
        "normalize_number: (kind, e164, digits, canonical, original).");
    m.def(
        "dial_uri",
        [](const std::string& number, const std::optional<std::string>& domain,
           const std::string& format, const std::optional<std::string>& country,
           const std::optional<std::string>& area, const std::string& international_prefix,
           const std::string& national_prefix, const std::optional<std::string>& outside_line,
           bool letters, std::size_t national_length, std::size_t min_extension_digits,
           std::size_t max_extension_digits) {
            const auto rules =
                make_rules(country, area, international_prefix, national_prefix, outside_line,
                           letters, national_length, min_extension_digits, max_extension_digits);
            auto uri_format = addressing::parse_uri_format(format);
            if (!uri_format) throw ConfigError(uri_format.error());
            const auto normalized = normalize_or_throw(number, rules);
            auto uri = addressing::render_dial_target(normalized, rules,
                                                      {domain.value_or(""), *uri_format});
            if (!uri) throw ConfigError(uri.error());
            return *uri;
        },
        py::arg("number"), py::arg("domain"), py::arg("format"), py::arg("country"),
        py::arg("area"), py::arg("international_prefix"), py::arg("national_prefix"),
        py::arg("outside_line"), py::arg("letters"), py::arg("national_length"),
        py::arg("min_extension_digits"), py::arg("max_extension_digits"),
        "normalize_number + render_dial_target: the URI the phone is asked to call.");

    // --- scenarios ---
    m.def("run_scenario", &run_scenario, py::arg("path"), py::arg("seed") = py::none(),
          "Loads and runs a scenario on virtual time; a dict of the ScenarioResult.");

    // --- the controller on real sockets ---
    py::class_<ControllerHost>(m, "ControllerHost",
                               "A Controller, an AsioDriver and their io thread.")
        .def(py::init(
                 [](std::optional<std::string> config_path, std::string settings_json, bool trace) {
                     py::gil_scoped_release release;
                     return new ControllerHost(
                         {std::move(config_path), std::move(settings_json), trace});
                 }),
             py::arg("config_path"), py::arg("settings_json"), py::arg("trace") = false)
        .def_property_readonly(
            "local_address",
            [](const ControllerHost& host) { return host.local_address().to_string(); })
        .def("settings",
             [](const ControllerHost& host) { return controller_settings(host.config()); })
        .def("click_to_dial", &ControllerHost::click_to_dial, py::arg("number"),
             py::call_guard<py::gil_scoped_release>())
        .def("drop", &ControllerHost::drop, py::arg("call_id"),
             py::call_guard<py::gil_scoped_release>())
        .def("call", &call_tuple, py::arg("call_id"),
             "(state, cause, sip_code, number, target_uri), or None for an unknown id.")
        .def("wait_events", &wait_events, py::arg("timeout"),
             "Waits up to `timeout` seconds (None: forever) for a queued call event; "
             "False when none came. Ctrl-C raises KeyboardInterrupt.")
        .def("take_events", &take_events,
             "Every queued event: (call_id, state, cause, sip_code, detail, at_ms).")
        .def("take_log", &ControllerHost::take_log)
        .def_property_readonly("dropped_events", &ControllerHost::dropped_events)
        .def(
            "close",
            [](ControllerHost& host, double wind_down_s) { host.close(to_duration(wind_down_s)); },
            py::arg("wind_down"), py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("closed", &ControllerHost::closed)
        .def("ladder", &ControllerHost::ladder, py::call_guard<py::gil_scoped_release>());

    // --- a scenario's farm on real sockets ---
    py::class_<FarmHost>(m, "FarmHost", "A RealFarm and its io thread.")
        .def(py::init([](const std::string& path, bool trace) {
                 py::gil_scoped_release release;
                 return new FarmHost(path, trace);
             }),
             py::arg("path"), py::arg("trace") = false)
        .def_property_readonly("name", &FarmHost::name)
        .def("nodes",
             [](const FarmHost& host) {
                 py::list out;
                 for (const auto& node : host.nodes()) {
                     out.append(py::make_tuple(node.name, node.kind, node.address.to_string(),
                                               node.registers));
                 }
                 return out;
             })
        .def(
            "address",
            [](const FarmHost& host, const std::string& name) -> py::object {
                auto address = host.address(name);
                if (!address) return py::none();
                return py::str(address->to_string());
            },
            py::arg("name"))
        .def_property_readonly("controller_name", &FarmHost::controller_name)
        .def("controller_settings",
             [](const FarmHost& host) { return controller_settings(host.controller_config()); })
        .def("counters", &FarmHost::counters, py::arg("name"),
             py::call_guard<py::gil_scoped_release>())
        .def(
            "phone",
            [](FarmHost& host, const std::string& name) -> py::object {
                std::optional<FarmPhoneState> state;
                {
                    py::gil_scoped_release release;
                    state = host.phone(name);
                }
                if (!state) return py::none();
                return phone_dict(*state);
            },
            py::arg("name"))
        .def(
            "ladder",
            [](FarmHost& host, const std::vector<std::pair<std::string, std::string>>& extra) {
                auto hosts = ladder_hosts(extra);
                py::gil_scoped_release release;
                return host.ladder(hosts);
            },
            py::arg("extra_hosts"))
        .def("take_log", &FarmHost::take_log)
        .def("close", &FarmHost::close, py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("closed", &FarmHost::closed);
}
