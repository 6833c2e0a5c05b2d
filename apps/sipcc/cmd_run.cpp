// `sipcc run FILE|DIR...`: runs conformance scenarios on virtual time and
// reports like a test runner (one line each, ladder on failure, JUnit XML,
// closing "N passed, N failed"; exit 0 only when all pass).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "apps/sipcc/commands.hpp"
#include "simulator/pcap.hpp"
#include "simulator/scenario_runner.hpp"

namespace sipcc::cli {
namespace {

struct RunOptions {
    std::vector<std::string> paths;
    std::string junit_path;
    std::string pcap_path;
    std::optional<std::uint64_t> seed;
    std::uint64_t repeat = 1;
    bool ladder = false;
    bool check_determinism = false;
};

struct Outcome {
    std::string file;
    std::string name;
    bool passed = false;
    std::string reason;   // first failure, for the one-line report
    std::string details;  // every failure and the ladder
    double wall_s = 0;
    std::uint64_t virtual_ms = 0;
};

std::vector<std::string> collect_files(const std::vector<std::string>& paths, std::string& error) {
    std::vector<std::string> files;
    for (const auto& path : paths) {
        std::error_code code;
        if (std::filesystem::is_directory(path, code)) {
            std::vector<std::string> found;
            for (const auto& entry : std::filesystem::directory_iterator(path)) {
                if (entry.path().extension() == ".json") found.push_back(entry.path().string());
            }
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else if (std::filesystem::exists(path, code)) {
            files.push_back(path);
        } else {
            error = path + ": no such file or directory";
        }
    }
    return files;
}

std::string xml_escape(const std::string& text) {
    std::string out;
    for (char ch : text) {
        switch (ch) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default:
                // XML 1.0 forbids most control characters, even escaped.
                if (static_cast<unsigned char>(ch) >= 0x20 || ch == '\n' || ch == '\t') out += ch;
        }
    }
    return out;
}

void write_junit(const std::string& path, const std::vector<Outcome>& outcomes, double total_s) {
    std::size_t failures = 0;
    for (const auto& outcome : outcomes) failures += !outcome.passed;
    std::ofstream out(path);
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<testsuites tests=\"" << outcomes.size() << "\" failures=\"" << failures << "\">\n"
        << "  <testsuite name=\"sipcc scenarios\" tests=\"" << outcomes.size() << "\" failures=\""
        << failures << "\" time=\"" << total_s << "\">\n";
    for (const auto& outcome : outcomes) {
        out << "    <testcase classname=\"" << xml_escape(outcome.file) << "\" name=\""
            << xml_escape(outcome.name) << "\" time=\"" << outcome.wall_s << "\"";
        if (outcome.passed) {
            out << "/>\n";
            continue;
        }
        out << ">\n      <failure message=\"" << xml_escape(outcome.reason) << "\">"
            << xml_escape(outcome.details) << "</failure>\n    </testcase>\n";
    }
    out << "  </testsuite>\n</testsuites>\n";
}

std::string pcap_path_for(const std::string& base, const std::string& file, bool several) {
    if (!several) return base;
    const auto stem = std::filesystem::path(file).stem().string();
    auto path = std::filesystem::path(base);
    return (path.parent_path() / (path.stem().string() + "-" + stem + path.extension().string()))
        .string();
}

int run_scenarios(const RunOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    std::string error;
    const auto files = collect_files(options.paths, error);
    if (!error.empty()) {
        std::cerr << "sipcc run: " << error << "\n";
        return 2;
    }
    if (files.empty()) {
        std::cerr << "sipcc run: no scenario files (*.json) in the given paths\n";
        return 2;
    }
    const std::size_t total = files.size() * options.repeat;
    const bool show_progress = total > 3;
    std::vector<Outcome> outcomes;
    std::uint64_t virtual_ms_total = 0;
    std::size_t index = 0;
    for (const auto& file : files) {
        auto scenario = sim::load_scenario(file);
        for (std::uint64_t round = 0; round < options.repeat; ++round) {
            ++index;
            const auto scenario_started = std::chrono::steady_clock::now();
            Outcome outcome;
            outcome.file = file;
            if (show_progress) std::cout << "[" << index << "/" << total << "] ";
            if (!scenario) {
                outcome.name = std::filesystem::path(file).stem().string();
                outcome.reason = scenario.error();
                outcome.details = scenario.error();
                std::cout << "FAIL  " << outcome.name << ": " << outcome.reason << "\n";
                outcomes.push_back(std::move(outcome));
                continue;
            }
            // --repeat uses the next seeds after the first; --seed fixes the first.
            const std::uint64_t seed = options.seed.value_or(scenario->seed) + round;
            auto result = sim::run_scenario(*scenario, seed);
            if (options.check_determinism) {
                auto again = sim::run_scenario(*scenario, seed);
                if (again.trace_hash != result.trace_hash) {
                    result.passed = false;
                    result.failures.push_back("not deterministic: trace hash " +
                                              std::to_string(result.trace_hash) + " then " +
                                              std::to_string(again.trace_hash) + " with seed " +
                                              std::to_string(seed));
                }
            }
            outcome.name = result.name;
            outcome.passed = result.passed;
            outcome.virtual_ms = result.virtual_ms;
            virtual_ms_total += result.virtual_ms;
            outcome.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                           scenario_started)
                                 .count();
            if (!options.pcap_path.empty()) {
                std::ofstream pcap(pcap_path_for(options.pcap_path, file, total > 1),
                                   std::ios::binary);
                pcap << sim::to_pcap(result.trace);
            }
            char timing[96];
            std::snprintf(timing, sizeof timing, "(%.1f s virtual, seed %llu)",
                          static_cast<double>(result.virtual_ms) / 1000.0,
                          static_cast<unsigned long long>(seed));
            if (result.passed) {
                std::cout << "PASS  " << result.name << "  " << timing << "\n";
                if (options.ladder) std::cout << result.ladder << "\n";
            } else {
                outcome.reason = result.failures.front();
                for (const auto& failure : result.failures) outcome.details += failure + "\n";
                outcome.details += "\n" + result.ladder;
                std::cout << "FAIL  " << result.name << "  " << timing << ": " << outcome.reason
                          << "\n";
                for (std::size_t i = 1; i < result.failures.size(); ++i) {
                    std::cout << "      " << result.failures[i] << "\n";
                }
                std::cout << "      replay: sipcc run " << file << " --seed " << seed << "\n\n"
                          << result.ladder << "\n";
            }
            outcomes.push_back(std::move(outcome));
        }
    }
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!options.junit_path.empty()) write_junit(options.junit_path, outcomes, wall_s);
    std::size_t failed = 0;
    for (const auto& outcome : outcomes) failed += !outcome.passed;
    std::printf("virtual time %.1f s in %.3f s wall (%.0fx faster than real time)\n",
                static_cast<double>(virtual_ms_total) / 1000.0, wall_s,
                wall_s > 0 ? static_cast<double>(virtual_ms_total) / 1000.0 / wall_s : 0.0);
    std::cout << outcomes.size() - failed << " passed, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
    auto options = std::make_shared<RunOptions>();
    auto* command = app.add_subcommand("run", "Run conformance scenarios on virtual time");
    command->add_option("PATHS", options->paths, "Scenario files (.json) or directories")
        ->required();
    command->add_option("--junit", options->junit_path, "Write a JUnit XML report here");
    command->add_option("--pcap", options->pcap_path,
                        "Write the simulated traffic as pcap (one file per scenario when several)");
    command->add_option("--seed", options->seed, "Use this seed instead of the scenario's");
    command->add_option("--repeat", options->repeat, "Run each scenario N times with fresh seeds")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    command->add_flag("--ladder", options->ladder,
                      "Print the message ladder of every scenario (always for failures)");
    command->add_flag("--check-determinism", options->check_determinism,
                      "Run each scenario twice and fail when the trace hashes differ");
    command->callback([options, &exit_code] { exit_code = run_scenarios(*options); });
}

}  // namespace sipcc::cli
