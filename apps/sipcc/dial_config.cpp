#include "apps/sipcc/dial_config.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/addressing/dial_target.hpp"

namespace sipcc::cli {
namespace {

using nlohmann::json;
using Kind = DialConfigKind;

const std::vector<DialConfigKey> kKeys = {
    {"domain", Kind::text, "SIP domain of the PBX or provider (required)"},
    {"user", Kind::text, "Our SIP user: From and Referred-By (required)"},
    {"password", Kind::text, "Password answered to 401/407 challenges"},
    {"auth_user", Kind::text, "Authentication user name (default: user)"},
    {"display_name", Kind::text, "Display name in From (default \"Click to Dial\")"},
    {"outbound_proxy", Kind::text,
     "host[:port] every request goes through (refer mode); the phone itself (direct mode)"},
    {"extension", Kind::text, "The phone to ring first (default: user's own AOR)"},
    {"mode", Kind::text, "refer (INVITE via the PBX, default) or direct (straight to the phone)"},
    {"transport", Kind::text, "udp (default) or tcp"},
    {"bind", Kind::text, "Local ip[:port] to listen and send from (default 127.0.0.1:0, any port)"},
    {"format", Kind::text,
     "How PSTN numbers are written: sip (default), international, national, tel"},
    {"country", Kind::text, "Our country code, e.g. 43"},
    {"area", Kind::text, "Our area code, e.g. 1"},
    {"international_prefix", Kind::text, "Prefix for calls abroad (default 00)"},
    {"national_prefix", Kind::text, "Trunk prefix for national calls (default 0)"},
    {"outside_line", Kind::text, "Digits the PBX needs for an outside line, e.g. 0 or 9"},
    {"national_length", Kind::number,
     "Digits of a national number without trunk prefix (0: unused)"},
    {"notify_wait_ms", Kind::number, "Time for the final NOTIFY after the REFER (default 32000)"},
    {"answer_timeout_ms", Kind::number,
     "Time for the phone to answer, then CANCEL (default 60000)"},
    {"auto_answer", Kind::boolean, "Send auto-answer hints (Call-Info, Alert-Info, Answer-Mode)"},
    {"refer_sub_false", Kind::boolean, "Ask for no NOTIFYs (Refer-Sub: false, RFC 4488)"},
    {"t1_ms", Kind::number, "RFC 3261 T1, the round-trip estimate (default 500)"},
    {"t2_ms", Kind::number, "RFC 3261 T2 (default 4000)"},
    {"t4_ms", Kind::number, "RFC 3261 T4 (default 5000)"},
    {"seed", Kind::number, "Seed of tags, branches and Call-IDs (default: fresh per run)"},
    {"user_agent", Kind::text, "User-Agent header (default sipcc/0.1)"},
};

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

// What a JSON value looks like, for "expected a string, got a number".
std::string describe(const json& value) {
    if (value.is_string()) return "the string " + value.dump();
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_number()) return "the number " + value.dump();
    if (value.is_null()) return "null";
    if (value.is_array()) return "an array";
    return "an object";
}

using Reason = std::optional<std::string>;

Reason read_string(const json& value, std::string& out) {
    if (!value.is_string()) return "expected a string, got " + describe(value);
    out = value.get<std::string>();
    return std::nullopt;
}

Reason read_required_string(const json& value, std::string& out) {
    if (auto reason = read_string(value, out)) return reason;
    if (out.empty()) return "must not be empty";
    return std::nullopt;
}

// Null and "" both mean "not set", so a flag can clear what a file set.
Reason read_optional_string(const json& value, std::optional<std::string>& out) {
    if (value.is_null()) {
        out.reset();
        return std::nullopt;
    }
    std::string text;
    if (auto reason = read_string(value, text)) return reason;
    out = text.empty() ? std::nullopt : std::optional<std::string>(text);
    return std::nullopt;
}

Reason read_digits(const json& value, std::string& out) {
    if (!value.is_string()) {
        return "expected digits in a string, e.g. \"43\", got " + describe(value);
    }
    const auto text = value.get<std::string>();
    if (!std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
        return "expected digits only, got " + in_quotes(text);
    }
    out = text;
    return std::nullopt;
}

Reason read_number(const json& value, std::uint64_t& out, std::uint64_t minimum = 0) {
    if (!value.is_number_integer() || (value.is_number_integer() && !value.is_number_unsigned() &&
                                       value.get<std::int64_t>() < 0)) {
        return "expected a whole number, got " + describe(value);
    }
    const auto number = value.get<std::uint64_t>();
    if (number < minimum) return "must be at least " + std::to_string(minimum);
    out = number;
    return std::nullopt;
}

Reason read_boolean(const json& value, bool& out) {
    if (!value.is_boolean()) return "expected true or false, got " + describe(value);
    out = value.get<bool>();
    return std::nullopt;
}

Reason read_host_port(const json& value, std::optional<std::string>& out) {
    std::optional<std::string> text;
    if (auto reason = read_optional_string(value, text)) return reason;
    if (text && !parse_host_port(*text)) return "expected host[:port], got " + in_quotes(*text);
    out = text;
    return std::nullopt;
}

Reason read_bind(const json& value, SocketAddress& out) {
    std::string text;
    if (auto reason = read_string(value, text)) return reason;
    // parse_host_port refuses port 0, which here means "any free port".
    auto host_port = parse_host_port(text);
    if (text.ends_with(":0")) {
        if (auto without_port = parse_host_port(text.substr(0, text.size() - 2));
            without_port && !without_port->port) {
            host_port = without_port;
        }
    }
    if (!host_port || !is_numeric_ip(host_port->host)) {
        return "expected a numeric ip[:port] such as 127.0.0.1:5070 or [::1]:0, got " +
               in_quotes(text);
    }
    out = {host_port->host, host_port->port.value_or(0)};
    return std::nullopt;
}

}  // namespace

const std::vector<DialConfigKey>& dial_config_keys() {
    return kKeys;
}

const DialConfigKey* find_dial_config_key(std::string_view name) {
    for (const auto& key : kKeys) {
        if (key.name == name) return &key;
    }
    return nullptr;
}

std::string dial_config_flag(std::string_view key) {
    std::string flag = "--" + std::string(key);
    std::replace(flag.begin(), flag.end(), '_', '-');
    return flag;
}

std::optional<std::string> set_dial_config_value(DialConfig& config, std::string_view key,
                                                 const json& value) {
    auto& controller = config.controller;
    auto& rules = controller.dialing_rules;
    auto& engine = controller.engine;
    if (key == "domain") return read_required_string(value, controller.domain);
    if (key == "user") return read_required_string(value, controller.user);
    if (key == "password") return read_string(value, controller.password);
    if (key == "auth_user") return read_string(value, controller.auth_user);
    if (key == "display_name") return read_string(value, controller.display_name);
    if (key == "outbound_proxy") return read_host_port(value, controller.outbound_proxy);
    if (key == "extension") return read_optional_string(value, controller.extension);
    if (key == "mode") {
        std::string text;
        if (value.is_string()) text = value.get<std::string>();
        if (text == "refer") {
            controller.mode = ClickToDialMode::refer;
        } else if (text == "direct") {
            controller.mode = ClickToDialMode::direct;
        } else {
            return std::string("expected \"refer\" or \"direct\", got ") + describe(value);
        }
        return std::nullopt;
    }
    if (key == "transport") {
        std::optional<Transport> transport;
        if (value.is_string()) transport = transport_from_string(value.get<std::string>());
        if (!transport) return "expected \"udp\" or \"tcp\", got " + describe(value);
        engine.transport = *transport;
        return std::nullopt;
    }
    if (key == "bind") return read_bind(value, config.bind);
    if (key == "format") {
        std::string text;
        if (auto reason = read_string(value, text)) return reason;
        auto format = addressing::parse_uri_format(text);
        if (!format) {
            return "expected \"sip\", \"international\", \"national\" or \"tel\", got " +
                   in_quotes(text);
        }
        controller.target_format = *format;
        return std::nullopt;
    }
    if (key == "country") return read_digits(value, rules.country_code);
    if (key == "area") return read_digits(value, rules.area_code);
    if (key == "international_prefix") return read_digits(value, rules.international_prefix);
    if (key == "national_prefix") return read_digits(value, rules.national_prefix);
    if (key == "outside_line") return read_digits(value, rules.outside_line_prefix);
    if (key == "national_length") {
        std::uint64_t digits = 0;
        if (auto reason = read_number(value, digits)) return reason;
        if (digits > addressing::kMaxE164Digits) return "must be at most 15";
        rules.national_number_digits = static_cast<std::size_t>(digits);
        return std::nullopt;
    }
    if (key == "notify_wait_ms") return read_number(value, controller.notify_wait_ms, 1);
    if (key == "answer_timeout_ms") {
        return read_number(value, controller.caller_answer_timeout_ms, 1);
    }
    if (key == "auto_answer") return read_boolean(value, controller.auto_answer_hints);
    if (key == "refer_sub_false") return read_boolean(value, controller.refer_sub_false);
    if (key == "t1_ms") return read_number(value, engine.timers.t1_ms, 1);
    if (key == "t2_ms") return read_number(value, engine.timers.t2_ms, 1);
    if (key == "t4_ms") return read_number(value, engine.timers.t4_ms, 1);
    if (key == "seed") {
        std::uint64_t seed = 0;
        if (auto reason = read_number(value, seed)) return reason;
        config.seed = seed;
        return std::nullopt;
    }
    if (key == "user_agent") return read_string(value, engine.user_agent);
    return "is unknown";
}

std::optional<std::string> apply_dial_config_json(DialConfig& config, const json& object) {
    if (!object.is_object()) return "expected a JSON object, got " + describe(object);
    for (const auto& [key, value] : object.items()) {
        if (find_dial_config_key(key) == nullptr) return "key " + in_quotes(key) + " is unknown";
        if (auto reason = set_dial_config_value(config, key, value)) {
            return "key " + in_quotes(key) + ": " + *reason;
        }
    }
    return std::nullopt;
}

std::optional<std::string> load_dial_config_file(DialConfig& config, const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return path + ": cannot be read";
    std::ostringstream text;
    text << file.rdbuf();
    json object;
    try {
        object = json::parse(text.str());
    } catch (const json::parse_error& error) {
        return path + ": not valid JSON: " + error.what();  // names the line and column
    }
    if (auto reason = apply_dial_config_json(config, object)) return path + ": " + *reason;
    return std::nullopt;
}

json dial_config_value_from_text(std::string_view key, const std::string& text) {
    const auto* info = find_dial_config_key(key);
    if (info == nullptr || info->kind == Kind::text) return text;
    if (info->kind == Kind::boolean) {
        if (text == "true" || text == "yes" || text == "1") return true;
        if (text == "false" || text == "no" || text == "0") return false;
        return text;
    }
    std::uint64_t number = 0;
    const auto* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, number);
    if (text.empty() || error != std::errc() || stop != end) return text;
    return number;
}

}  // namespace sipcc::cli
