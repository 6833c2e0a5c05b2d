#include "simulator/scenario.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "simulator/json_locator.hpp"

namespace sipcc::sim {
namespace {

using nlohmann::json;

// Reads fields with their path, and keeps the first error as
// "file:line: path: message". After an error every read returns its default.
class Loader {
public:
    Loader(const std::string& text, std::string file) : text_(text), file_(std::move(file)) {}

    void fail(const std::vector<PathStep>& path, const std::string& message) {
        if (error_) return;
        error_ = file_ + ":" + std::to_string(line_of(text_, path)) + ": " +
                 (path.empty() ? std::string("(top level)") : path_to_string(path)) + ": " +
                 message;
    }
    [[nodiscard]] bool failed() const { return error_.has_value(); }
    [[nodiscard]] const std::string& error() const { return *error_; }
    [[nodiscard]] int line(const std::vector<PathStep>& path) const { return line_of(text_, path); }

private:
    const std::string& text_;
    std::string file_;
    std::optional<std::string> error_;
};

std::vector<PathStep> child(std::vector<PathStep> path, std::string key) {
    path.push_back({std::move(key), -1});
    return path;
}
std::vector<PathStep> child(std::vector<PathStep> path, int index) {
    path.push_back({"", index});
    return path;
}

std::string type_name(const json& value) {
    if (value.is_string()) return "a string";
    if (value.is_boolean()) return "a boolean";
    if (value.is_number()) return "a number";
    if (value.is_array()) return "a list";
    if (value.is_object()) return "an object";
    return "null";
}

// The fields of one JSON object; unknown keys are errors.
class Fields {
public:
    Fields(Loader& loader, const json& object, std::vector<PathStep> path,
           std::initializer_list<std::string_view> allowed)
        : loader_(loader), object_(object), path_(std::move(path)) {
        if (!object_.is_object()) {
            loader_.fail(path_, "expected an object, got " + type_name(object_));
            return;
        }
        for (const auto& [key, value] : object_.items()) {
            bool known = false;
            for (auto name : allowed) known = known || name == key;
            if (!known) {
                std::string list;
                for (auto name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
                loader_.fail(child(path_, key), "unknown field (expected one of: " + list + ")");
            }
        }
    }

    [[nodiscard]] bool has(const std::string& key) const {
        return object_.is_object() && object_.contains(key) && !object_.at(key).is_null();
    }
    [[nodiscard]] std::vector<PathStep> path(const std::string& key) const { return child(path_, key); }
    [[nodiscard]] const json& raw(const std::string& key) const { return object_.at(key); }

    std::string text(const std::string& key, std::string fallback = {}, bool required = false) {
        if (!has(key)) {
            if (required) loader_.fail(path(key), "required string is missing");
            return fallback;
        }
        if (!raw(key).is_string()) {
            loader_.fail(path(key), "expected a string, got " + type_name(raw(key)));
            return fallback;
        }
        return raw(key).get<std::string>();
    }
    bool flag(const std::string& key, bool fallback) {
        if (!has(key)) return fallback;
        if (!raw(key).is_boolean()) {
            loader_.fail(path(key), "expected true or false, got " + type_name(raw(key)));
            return fallback;
        }
        return raw(key).get<bool>();
    }
    std::uint64_t count(const std::string& key, std::uint64_t fallback, std::uint64_t max = UINT64_MAX) {
        if (!has(key)) return fallback;
        if (!raw(key).is_number_unsigned() || raw(key).get<std::uint64_t>() > max) {
            loader_.fail(path(key), "expected a whole number from 0 to " + std::to_string(max) +
                                        ", got " + raw(key).dump());
            return fallback;
        }
        return raw(key).get<std::uint64_t>();
    }
    std::optional<std::uint64_t> optional_count(const std::string& key) {
        if (!has(key)) return std::nullopt;
        return count(key, 0);
    }
    double probability(const std::string& key, double fallback) {
        if (!has(key)) return fallback;
        if (!raw(key).is_number() || raw(key).get<double>() < 0.0 || raw(key).get<double>() > 1.0) {
            loader_.fail(path(key), "expected a probability from 0 to 1, got " + raw(key).dump());
            return fallback;
        }
        return raw(key).get<double>();
    }
    int status_code(const std::string& key, int fallback) {
        return static_cast<int>(count(key, static_cast<std::uint64_t>(fallback), 699));
    }
    template <class Enum>
    Enum choice(const std::string& key, Enum fallback,
                std::initializer_list<std::pair<std::string_view, Enum>> options) {
        if (!has(key)) return fallback;
        const auto value = text(key);
        for (const auto& [name, option] : options) {
            if (name == value) return option;
        }
        std::string list;
        for (const auto& [name, option] : options) list += (list.empty() ? "" : ", ") + std::string(name);
        loader_.fail(path(key), "expected one of " + list + "; got \"" + value + "\"");
        return fallback;
    }
    // A list under `key`, each element handed to `each(element, path)`.
    template <class Each>
    void list(const std::string& key, Each each) {
        if (!has(key)) return;
        if (!raw(key).is_array()) {
            loader_.fail(path(key), "expected a list, got " + type_name(raw(key)));
            return;
        }
        for (std::size_t i = 0; i < raw(key).size(); ++i) {
            each(raw(key)[i], child(path(key), static_cast<int>(i)));
        }
    }
    SocketAddress address(const std::string& key, bool required) {
        const auto value = text(key, {}, required);
        if (value.empty()) return {};
        auto host_port = parse_host_port(value);
        if (!host_port || !host_port->port || !is_numeric_ip(host_port->host)) {
            loader_.fail(path(key), "expected a loopback address ip:port such as 127.0.0.2:5060, got \"" +
                                        value + "\"");
            return {};
        }
        return {host_port->host, *host_port->port};
    }

private:
    Loader& loader_;
    const json& object_;
    std::vector<PathStep> path_;
};

LinkConditions read_conditions(Fields& fields, LinkConditions defaults) {
    defaults.latency_ms = fields.count("latency_ms", defaults.latency_ms, 60000);
    defaults.jitter_ms = fields.count("jitter_ms", defaults.jitter_ms, 60000);
    defaults.loss = fields.probability("loss", defaults.loss);
    defaults.duplication = fields.probability("duplication", defaults.duplication);
    return defaults;
}

PhoneSpec read_phone(Loader& loader, const json& value, const std::vector<PathStep>& path) {
    Fields f(loader, value, path,
             {"name", "address", "user", "domain", "display_name", "outbound_proxy", "registrar",
              "password", "register_expires_s", "register_delay_ms", "answer",
              "answer_after_ms", "reject_code", "send_ringing", "hang_up_after_ms", "refer",
              "refer_reject_code", "refer_accept_code", "challenge_refer", "refer_password",
              "requires_user_phone", "notify_before_202", "send_no_notify", "only_final_notify",
              "honor_refer_sub_false", "notify_spacing_ms"});
    PhoneSpec phone;
    phone.name = f.text("name", {}, true);
    phone.config.engine.local_address = f.address("address", true);
    phone.config.user = f.text("user", phone.name);
    phone.config.domain = f.text("domain");
    phone.config.display_name = f.text("display_name");
    if (f.has("outbound_proxy")) phone.outbound_proxy = f.text("outbound_proxy");
    if (f.has("registrar")) phone.registrar = f.text("registrar");
    phone.config.engine.password = f.text("password");
    phone.config.register_expires_s =
        static_cast<std::uint32_t>(f.count("register_expires_s", 3600, 86400));
    phone.config.register_delay_ms = f.count("register_delay_ms", 0);
    auto& b = phone.config.behavior;
    b.answer_mode = f.choice("answer", AnswerMode::answer,
                             {{"answer", AnswerMode::answer}, {"busy", AnswerMode::busy},
                              {"decline", AnswerMode::decline}, {"never", AnswerMode::never},
                              {"reject", AnswerMode::reject}});
    b.answer_after_ms = f.count("answer_after_ms", 1000);
    b.reject_status_code = f.status_code("reject_code", b.reject_status_code);
    b.send_ringing = f.flag("send_ringing", b.send_ringing);
    b.hang_up_after_ms = f.optional_count("hang_up_after_ms");
    b.refer_mode = f.choice("refer", ReferMode::accept_and_follow,
                            {{"follow", ReferMode::accept_and_follow}, {"reject", ReferMode::reject}});
    b.refer_reject_status_code = f.status_code("refer_reject_code", b.refer_reject_status_code);
    b.refer_accept_status_code = f.status_code("refer_accept_code", b.refer_accept_status_code);
    b.challenge_refer = f.flag("challenge_refer", b.challenge_refer);
    b.refer_auth_password = f.text("refer_password", b.refer_auth_password);
    b.requires_user_phone = f.flag("requires_user_phone", b.requires_user_phone);
    b.notify_before_202 = f.flag("notify_before_202", b.notify_before_202);
    b.send_no_notify = f.flag("send_no_notify", b.send_no_notify);
    b.only_final_notify = f.flag("only_final_notify", b.only_final_notify);
    b.honor_refer_sub_false = f.flag("honor_refer_sub_false", b.honor_refer_sub_false);
    b.notify_spacing_ms = f.count("notify_spacing_ms", b.notify_spacing_ms);
    return phone;
}

ControllerSpec read_controller(Loader& loader, const json& value, const std::vector<PathStep>& path) {
    Fields f(loader, value, path,
             {"name", "address", "domain", "user", "password", "auth_user", "outbound_proxy",
              "extension", "mode", "auto_answer", "refer_sub_false", "notify_wait_ms",
              "caller_answer_timeout_ms", "country", "area", "international_prefix",
              "national_prefix", "outside_line", "format", "t1_ms", "t2_ms", "t4_ms"});
    ControllerSpec spec;
    auto& c = spec.config;
    spec.name = f.text("name", "sipcc");
    c.engine.local_address = f.address("address", true);
    c.domain = f.text("domain", {}, true);
    c.user = f.text("user", {}, true);
    c.password = f.text("password");
    c.auth_user = f.text("auth_user");
    if (f.has("outbound_proxy")) spec.outbound_proxy = f.text("outbound_proxy");
    if (f.has("extension")) c.extension = f.text("extension");
    c.mode = f.choice("mode", ClickToDialMode::refer,
                      {{"refer", ClickToDialMode::refer}, {"direct", ClickToDialMode::direct}});
    c.auto_answer_hints = f.flag("auto_answer", c.auto_answer_hints);
    c.refer_sub_false = f.flag("refer_sub_false", c.refer_sub_false);
    c.notify_wait_ms = f.count("notify_wait_ms", c.notify_wait_ms);
    c.caller_answer_timeout_ms = f.count("caller_answer_timeout_ms", c.caller_answer_timeout_ms);
    c.dialing_rules.country_code = f.text("country");
    c.dialing_rules.area_code = f.text("area");
    c.dialing_rules.international_prefix = f.text("international_prefix", "00");
    c.dialing_rules.national_prefix = f.text("national_prefix", "0");
    c.dialing_rules.outside_line_prefix = f.text("outside_line");
    c.target_format = f.choice("format", addressing::UriFormat::sip_user_phone,
                               {{"sip", addressing::UriFormat::sip_user_phone},
                                {"international", addressing::UriFormat::international_prefix},
                                {"national", addressing::UriFormat::national},
                                {"tel", addressing::UriFormat::tel}});
    c.engine.timers.t1_ms = f.count("t1_ms", c.engine.timers.t1_ms);
    c.engine.timers.t2_ms = f.count("t2_ms", c.engine.timers.t2_ms);
    c.engine.timers.t4_ms = f.count("t4_ms", c.engine.timers.t4_ms);
    return spec;
}

PbxSpec read_pbx(Loader& loader, const json& value, const std::vector<PathStep>& path) {
    Fields f(loader, value, path,
             {"name", "address", "domain", "realm", "users", "challenge_register",
              "challenge_invite", "challenge_refer", "routes", "record_route",
              "quirk_misroute_in_dialog_refer", "default_expires_s"});
    PbxSpec spec;
    auto& c = spec.config;
    spec.name = f.text("name", "pbx");
    c.address = f.address("address", true);
    c.domain = f.text("domain", c.domain);
    c.realm = f.text("realm");
    f.list("users", [&](const json& user, const std::vector<PathStep>& user_path) {
        Fields u(loader, user, user_path, {"user", "password"});
        c.users.push_back({u.text("user", {}, true), u.text("password", {}, true)});
    });
    c.challenge_register = f.flag("challenge_register", c.challenge_register);
    c.challenge_invite = f.flag("challenge_invite", c.challenge_invite);
    c.challenge_refer = f.flag("challenge_refer", c.challenge_refer);
    c.record_route = f.flag("record_route", c.record_route);
    c.quirk_misroute_in_dialog_refer =
        f.flag("quirk_misroute_in_dialog_refer", c.quirk_misroute_in_dialog_refer);
    c.default_expires_s = static_cast<std::uint32_t>(f.count("default_expires_s", 3600, 86400));
    f.list("routes", [&](const json& route, const std::vector<PathStep>& route_path) {
        Fields r(loader, route, route_path, {"prefix", "to", "strip", "add"});
        spec.routes.push_back({r.text("prefix", {}, true), r.text("to", {}, true),
                               static_cast<std::size_t>(r.count("strip", 0, 32)), r.text("add")});
    });
    return spec;
}

}  // namespace

Result<Scenario> parse_scenario(const std::string& text, const std::string& file) {
    json root;
    try {
        root = json::parse(text);
    } catch (const json::parse_error& error) {
        int line = 1;
        for (std::size_t i = 0; i + 1 < error.byte && i < text.size(); ++i) line += text[i] == '\n';
        std::string what = error.what();
        const auto detail = what.find("; ");  // drop nlohmann's "[json.exception...] parse error at ..."
        return Error{file + ":" + std::to_string(line) + ": not valid JSON" +
                     (detail == std::string::npos ? "" : ": " + what.substr(detail + 2))};
    }
    Loader loader(text, file);
    Scenario scenario;
    scenario.file = file;
    Fields top(loader, root, {},
               {"name", "description", "seed", "max_duration_ms", "network", "phones",
                "controller", "pbx", "names", "actions", "expect"});
    scenario.name = top.text("name", {}, true);
    scenario.description = top.text("description");
    scenario.seed = top.count("seed", 1);
    scenario.max_duration_ms = top.count("max_duration_ms", scenario.max_duration_ms);
    if (top.has("network")) {
        Fields network(loader, top.raw("network"), top.path("network"),
                       {"latency_ms", "jitter_ms", "loss", "duplication", "links", "partitions"});
        scenario.network = read_conditions(network, {.latency_ms = 20});
        network.list("links", [&](const json& value, const std::vector<PathStep>& path) {
            Fields link(loader, value, path,
                        {"from", "to", "latency_ms", "jitter_ms", "loss", "duplication"});
            LinkSpec spec;
            spec.from = link.text("from", {}, true);
            spec.to = link.text("to", {}, true);
            spec.conditions = read_conditions(link, scenario.network);
            scenario.links.push_back(spec);
        });
        network.list("partitions", [&](const json& value, const std::vector<PathStep>& path) {
            Fields partition(loader, value, path, {"between", "from_ms", "until_ms"});
            PartitionSpec spec;
            if (!partition.has("between") || !partition.raw("between").is_array() ||
                partition.raw("between").size() != 2 || !partition.raw("between")[0].is_string() ||
                !partition.raw("between")[1].is_string()) {
                loader.fail(partition.path("between"), "expected two node names");
            } else {
                spec.a = partition.raw("between")[0].get<std::string>();
                spec.b = partition.raw("between")[1].get<std::string>();
            }
            spec.from_ms = partition.count("from_ms", 0);
            spec.until_ms = partition.count("until_ms", UINT64_MAX);
            scenario.partitions.push_back(spec);
        });
    } else {
        scenario.network.latency_ms = 20;
    }
    top.list("phones", [&](const json& value, const std::vector<PathStep>& path) {
        scenario.phones.push_back(read_phone(loader, value, path));
        scenario.phones.back().config.engine.seed = scenario.seed * 1000 + scenario.phones.size();
    });
    if (!top.has("controller")) {
        loader.fail(top.path("controller"), "required object is missing");
    } else {
        scenario.controller = read_controller(loader, top.raw("controller"), top.path("controller"));
        scenario.controller.config.engine.seed = scenario.seed;
    }
    if (top.has("pbx")) {
        scenario.pbx = read_pbx(loader, top.raw("pbx"), top.path("pbx"));
        scenario.pbx->config.seed = scenario.seed;
    }
    if (top.has("names")) {
        if (!top.raw("names").is_object()) {
            loader.fail(top.path("names"), "expected an object of DNS name -> node name");
        } else {
            for (const auto& [host, node] : top.raw("names").items()) {
                if (!node.is_string()) {
                    loader.fail(child(top.path("names"), host), "expected a node name");
                } else {
                    scenario.names[host] = node.get<std::string>();
                }
            }
        }
    }
    top.list("actions", [&](const json& value, const std::vector<PathStep>& path) {
        Fields action(loader, value, path, {"at_ms", "do", "call", "number"});
        ActionSpec spec;
        spec.at_ms = action.count("at_ms", 0);
        spec.kind = action.choice("do", ActionSpec::Kind::click_to_dial,
                                  {{"click_to_dial", ActionSpec::Kind::click_to_dial},
                                   {"drop", ActionSpec::Kind::drop}});
        if (!action.has("do")) loader.fail(action.path("do"), "required: click_to_dial or drop");
        spec.call = action.text("call", "call");
        if (spec.kind == ActionSpec::Kind::click_to_dial) spec.number = action.text("number", {}, true);
        scenario.actions.push_back(spec);
    });
    if (top.has("expect")) {
        Fields expect(loader, top.raw("expect"), top.path("expect"), {"calls", "ladder", "counters"});
        if (expect.has("calls")) {
            const auto calls_path = expect.path("calls");
            if (!expect.raw("calls").is_object()) {
                loader.fail(calls_path, "expected an object of call name -> expectation");
            } else {
                for (const auto& [name, value] : expect.raw("calls").items()) {
                    Fields call(loader, value, child(calls_path, name),
                                {"states", "final_state", "cause", "sip_code"});
                    CallExpectation expectation;
                    expectation.call = name;
                    call.list("states", [&](const json& state, const std::vector<PathStep>& path) {
                        auto parsed = state.is_string()
                                          ? call_state_from_string(state.get<std::string>())
                                          : std::nullopt;
                        if (!parsed) {
                            loader.fail(path, "expected a call state (dialing, proceeding, ringback, "
                                              "connected, transferring, callee-ringing, "
                                              "transferred, disconnected), got " + state.dump());
                            return;
                        }
                        if (!expectation.states) expectation.states.emplace();
                        expectation.states->push_back(*parsed);
                    });
                    if (call.has("final_state")) {
                        auto parsed = call_state_from_string(call.text("final_state"));
                        if (!parsed) loader.fail(call.path("final_state"), "expected a call state");
                        expectation.final_state = parsed;
                    }
                    if (call.has("cause")) {
                        auto parsed = disconnect_cause_from_string(call.text("cause"));
                        if (!parsed) {
                            loader.fail(call.path("cause"),
                                        "expected a cause such as none, caller-busy, callee-busy, "
                                        "refer-not-supported, network-unreachable (docs/call-states.md)");
                        }
                        expectation.cause = parsed;
                    }
                    if (call.has("sip_code")) expectation.sip_code = call.status_code("sip_code", 0);
                    scenario.calls.push_back(expectation);
                }
            }
        }
        expect.list("ladder", [&](const json& value, const std::vector<PathStep>& path) {
            Fields step(loader, value, path, {"from", "to", "message", "headers"});
            LadderStep spec;
            spec.from = step.text("from", {}, true);
            spec.to = step.text("to", {}, true);
            spec.message = step.text("message", {}, true);
            spec.line = loader.line(path);
            if (step.has("headers")) {
                if (!step.raw("headers").is_object()) {
                    loader.fail(step.path("headers"), "expected an object of header -> substring");
                } else {
                    for (const auto& [header, expected] : step.raw("headers").items()) {
                        if (!expected.is_string()) {
                            loader.fail(child(step.path("headers"), header), "expected a string");
                            continue;
                        }
                        spec.headers.emplace_back(header, expected.get<std::string>());
                    }
                }
            }
            scenario.ladder.push_back(spec);
        });
        if (expect.has("counters")) {
            if (!expect.raw("counters").is_object()) {
                loader.fail(expect.path("counters"), "expected an object of \"node.counter\" -> number");
            } else {
                for (const auto& [key, value] : expect.raw("counters").items()) {
                    const auto dot = key.find('.');
                    if (dot == std::string::npos || !value.is_number_unsigned()) {
                        loader.fail(child(expect.path("counters"), key),
                                    "expected \"node.counter\": whole number");
                        continue;
                    }
                    scenario.counters.push_back(
                        {key.substr(0, dot), key.substr(dot + 1), value.get<std::uint64_t>()});
                }
            }
        }
    }
    if (loader.failed()) return Error{loader.error()};
    return scenario;
}

Result<Scenario> load_scenario(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return Error{path + ": cannot open"};
    std::ostringstream contents;
    contents << file.rdbuf();
    return parse_scenario(contents.str(), path);
}

}  // namespace sipcc::sim
