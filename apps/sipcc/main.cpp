// The sipcc command line: one subcommand per cmd_*.cpp.
#include <CLI/CLI.hpp>

#include "apps/sipcc/commands.hpp"

int main(int argc, char** argv) {
    CLI::App app{"sipcc: SIP click-to-dial call control and conformance harness"};
    app.set_version_flag("--version", std::string("sipcc ") + SIPCC_VERSION);
    app.require_subcommand(1);
    int exit_code = 0;
    sipcc::cli::add_bench_command(app, exit_code);
    sipcc::cli::add_demo_command(app, exit_code);
    sipcc::cli::add_dial_command(app, exit_code);
    sipcc::cli::add_farm_command(app, exit_code);
    sipcc::cli::add_parse_command(app, exit_code);
    sipcc::cli::add_run_command(app, exit_code);
    sipcc::cli::add_number_command(app, exit_code);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // --help and --version are "errors" with code 0; any real usage error is 2,
        // as docs/config.md documents (CLI11's own codes are not stable).
        const int code = app.exit(error);
        return code == 0 ? 0 : 2;
    }
    return exit_code;
}
