// `sipcc parse FILE`: the parsed message as JSON (exit 0) or the reason (exit 1).
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/sipcc/commands.hpp"
#include "apps/sipcc/message_json.hpp"
#include "core/message/parser.hpp"

namespace sipcc::cli {
namespace {

struct ParseOptions {
    std::string path;
    std::size_t max_message_bytes = ParseLimits{}.max_message_bytes;
    bool lf_to_crlf = false;
};

int run_parse(const ParseOptions& options) {
    std::ifstream file(options.path, std::ios::binary);
    if (!file) {
        std::cerr << "sipcc parse: cannot open " << options.path << "\n";
        return 1;
    }
    std::ostringstream contents;
    contents << file.rdbuf();
    std::string bytes = contents.str();
    if (options.lf_to_crlf) {
        std::string converted;
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) converted += '\r';
            converted += bytes[i];
        }
        bytes = std::move(converted);
    }
    auto message = parse_message(bytes, ParseLimits{options.max_message_bytes});
    if (!message) {
        std::cerr << "sipcc parse: " << options.path << ": " << message.error() << "\n";
        return 1;
    }
    std::cout << to_json(*message).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
    return 0;
}

}  // namespace

void add_parse_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<ParseOptions>();
    auto* command = app.add_subcommand("parse", "Parse a SIP message file and print it as JSON");
    command->add_option("FILE", options->path, "File holding one SIP message")
        ->required()
        ->check(CLI::ExistingFile);
    command
        ->add_option("--max-bytes", options->max_message_bytes,
                     "Refuse messages larger than this many bytes")
        ->capture_default_str();
    command->add_flag("--lf", options->lf_to_crlf,
                      "Turn bare LF line ends into CRLF first (for hand-written files)");
    command->callback([options, &exit_code] { exit_code = run_parse(*options); });
}

}  // namespace sipcc::cli
