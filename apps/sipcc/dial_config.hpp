// The settings of a real click-to-dial (`sipcc dial`, later the REST service and
// the Python module): one JSON object whose keys are also command-line flags
// (`notify_wait_ms` is `--notify-wait-ms`). Flags override the file. Unknown
// keys and bad values are errors that name the key. docs/config.md lists them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/callcontrol/controller_config.hpp"
#include "core/net/address.hpp"

namespace sipcc::cli {

struct DialConfig {
    // engine.local_address is filled in from the bound socket; engine.seed from `seed`.
    ControllerConfig controller;
    SocketAddress bind{"127.0.0.1", 0};  // where to listen; port 0: any free port
    // Tags, branches and Call-IDs derive from it. Unset: a fresh one per run, so
    // two runs never send the same Call-ID.
    std::optional<std::uint64_t> seed;
};

enum class DialConfigKind { text, number, boolean };

struct DialConfigKey {
    std::string_view name;  // JSON key; the flag is "--" + name with '_' -> '-'
    DialConfigKind kind;
    std::string_view help;
};

// Every key, in the order docs/config.md lists them.
const std::vector<DialConfigKey>& dial_config_keys();
const DialConfigKey* find_dial_config_key(std::string_view name);

// Sets one key. Returns the reason a value is refused, e.g.
// `expected "refer" or "direct"`, or `is unknown` for a key that does not exist.
std::optional<std::string> set_dial_config_value(DialConfig& config, std::string_view key,
                                                 const nlohmann::json& value);

// Applies every key of a JSON object. Errors read `key "mode": expected "refer" or
// "direct"` and `key "modee" is unknown`.
std::optional<std::string> apply_dial_config_json(DialConfig& config, const nlohmann::json& object);

// Reads a JSON file and applies it. Errors start with the path:
// `config.json: key "modee" is unknown`, `config.json: not JSON: ...`.
std::optional<std::string> load_dial_config_file(DialConfig& config, const std::string& path);

// Text typed on a command line as the JSON value the key expects: "500" for a
// number key becomes 500; text that is no number stays a string (and is refused
// with the key's own message).
nlohmann::json dial_config_value_from_text(std::string_view key, const std::string& text);

// "notify_wait_ms" -> "--notify-wait-ms".
std::string dial_config_flag(std::string_view key);

}  // namespace sipcc::cli
