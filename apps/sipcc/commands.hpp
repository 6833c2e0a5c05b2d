// Each sipcc subcommand lives in its own cmd_*.cpp and registers itself here.
// A command's callback stores the process exit code in `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

namespace sipcc::cli {

// `sipcc run FILE|DIR...`: conformance scenarios on virtual time.
void add_run_command(CLI::App& app, int& exit_code);
// `sipcc parse FILE`: a SIP message as JSON.
void add_parse_command(CLI::App& app, int& exit_code);
// `sipcc bench`: click-to-dial flows in memory (flows/s, latency, bytes per flow).
void add_bench_command(CLI::App& app, int& exit_code);
// `sipcc demo`: click-to-dial on the embedded simulated farm, with the ladder.
void add_demo_command(CLI::App& app, int& exit_code);
// `sipcc dial NUMBER`: a real click-to-dial on real sockets.
void add_dial_command(CLI::App& app, int& exit_code);
// `sipcc farm FILE`: a scenario's PBX and phones on real loopback sockets.
void add_farm_command(CLI::App& app, int& exit_code);
// `sipcc number INPUT`: how a pasted number is understood and the URI it would dial.
void add_number_command(CLI::App& app, int& exit_code);

}  // namespace sipcc::cli
