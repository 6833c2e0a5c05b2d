// The sipcc command line: one subcommand per cmd_*.cpp.
#include <CLI/CLI.hpp>

#include "apps/sipcc/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"sipcc: SIP click-to-dial call control and conformance harness"};
    app.set_version_flag("--version", std::string("sipcc ") + SIPCC_VERSION);
    app.require_subcommand(1);
    int exit_code = 0;
    sipcc::cli::add_demo_command(app, exit_code);
    sipcc::cli::add_dial_command(app, exit_code);
    sipcc::cli::add_parse_command(app, exit_code);
    sipcc::cli::add_run_command(app, exit_code);
    sipcc::cli::add_number_command(app, exit_code);
    CLI11_PARSE(app, argc, argv);
    return exit_code;
}
