// `sipcc number INPUT`: how a pasted number is understood and the URI it would dial.
#include "apps/sipcc/commands.hpp"

#include <CLI/CLI.hpp>
#include <cstddef>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/addressing/dial_target.hpp"
#include "core/addressing/number.hpp"

namespace sipcc::cli {
namespace {

using addressing::NumberKind;
using addressing::UriFormat;

struct NumberCommandOptions {
    std::vector<std::string> input_words;
    addressing::DialingRules rules;
    std::string domain;
    std::string format;  // empty: not given
    bool json = false;
};

// The input may contain bytes that are not UTF-8; they become U+FFFD instead of throwing.
std::string to_json_text(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int report_failure(const std::string& reason, const std::string& input, bool json) {
    std::cerr << "sipcc number: " << reason << "\n";
    if (json) std::cout << to_json_text({{"error", reason}, {"input", input}}) << "\n";
    return 1;
}

// tel: forms carry global numbers without a domain (and tell local numbers they have none);
// everything else becomes a sip: URI, which needs one.
bool renders_without_domain(NumberKind kind, UriFormat format) {
    return kind == NumberKind::uri ||
           (format == UriFormat::tel && (kind == NumberKind::global || kind == NumberKind::local));
}

int run_number_command(const NumberCommandOptions& options) {
    std::string input;
    for (std::size_t i = 0; i < options.input_words.size(); ++i) {
        if (i > 0) input += ' ';
        input += options.input_words[i];
    }

    UriFormat format = UriFormat::sip_user_phone;
    if (!options.format.empty()) {
        Result<UriFormat> parsed = addressing::parse_uri_format(options.format);
        if (!parsed) return report_failure(parsed.error(), input, options.json);
        format = *parsed;
    }

    Result<addressing::NormalizedNumber> number =
        addressing::normalize_number(input, options.rules);
    if (!number) return report_failure(number.error(), input, options.json);

    // Without --domain and --format, a global number is still worth showing as the one URI
    // that needs no domain.
    if (options.domain.empty() && options.format.empty() && number->kind == NumberKind::global) {
        format = UriFormat::tel;
    }

    std::optional<std::string> uri;
    if (!options.domain.empty() || renders_without_domain(number->kind, format)) {
        Result<std::string> rendered = addressing::render_dial_target(
            *number, options.rules, addressing::DialTargetOptions{options.domain, format});
        if (!rendered) return report_failure(rendered.error(), input, options.json);
        uri = *rendered;
    }

    if (options.json) {
        nlohmann::json result = {
            {"input", input},
            {"kind", std::string(addressing::to_string(number->kind))},
            {"e164", number->e164 ? nlohmann::json(*number->e164) : nlohmann::json(nullptr)},
            {"digits", number->kind == NumberKind::uri ? nlohmann::json(nullptr)
                                                       : nlohmann::json(number->digits)},
            {"normalized", number->canonical},
            {"uri", uri ? nlohmann::json(*uri) : nlohmann::json(nullptr)},
        };
        std::cout << to_json_text(result) << "\n";
    } else {
        std::cout << "normalized: " << number->canonical << " ("
                  << addressing::to_string(number->kind) << ")\n";
        std::cout << "uri: " << (uri ? *uri : "(needs --domain)") << "\n";
    }
    return 0;
}

}  // namespace

void add_number_command(CLI::App& app, int& exit_code) {
    // Owned by the callback, which CLI11 keeps as long as the subcommand exists.
    auto options = std::make_shared<NumberCommandOptions>();
    addressing::DialingRules& rules = options->rules;

    CLI::App* command = app.add_subcommand(
        "number", "Normalize a phone number as pasted and show the URI that would be dialed");
    command
        ->add_option("INPUT", options->input_words,
                     "The number, as pasted; several words are joined with spaces")
        ->required();
    command->add_option("--country", rules.country_code, "Our country code, e.g. 43");
    command->add_option("--area", rules.area_code, "Our area code, e.g. 1");
    command
        ->add_option("--international-prefix", rules.international_prefix,
                     "Prefix for calls abroad (011 in North America)")
        ->capture_default_str();
    command
        ->add_option("--national-prefix", rules.national_prefix,
                     "Trunk prefix for national calls (1 in North America)")
        ->capture_default_str();
    command->add_option("--outside-line", rules.outside_line_prefix,
                        "Digits the PBX needs for an outside line, e.g. 0 or 9");
    command->add_option("--national-length", rules.national_number_digits,
                        "Digits of a national number without trunk prefix (10 in North "
                        "America); 0 = not used");
    command->add_option("--domain", options->domain,
                        "PBX or provider domain for sip: URIs; without it, the tel: form is "
                        "shown where one exists");
    command->add_option("--format", options->format,
                        "sip (default), international, national or tel; without --domain, "
                        "global numbers are shown as tel:");
    command->add_flag("--letters", rules.allow_letters,
                      "Accept vanity letters (E.161 keypad: ABC=2 ... WXYZ=9)");
    command->add_flag("--json", options->json, "Print one JSON object");

    command->callback([options, &exit_code] { exit_code = run_number_command(*options); });
}

}  // namespace sipcc::cli
