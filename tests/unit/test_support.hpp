// Helpers shared by the unit tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace sipcc::test {

// Reads one of the bundled sample messages (tests/fuzz/corpus), which are
// also the fuzzer's seeds.
inline std::string read_sample(const std::string& name) {
    std::ifstream file(std::string(SIPCC_SAMPLES_DIR) + "/" + name, std::ios::binary);
    std::ostringstream contents;
    contents << file.rdbuf();
    return contents.str();
}

// Turns "\n" into "\r\n" so tests can write messages readably.
inline std::string crlf(std::string_view text) {
    std::string out;
    for (char ch : text) {
        if (ch == '\n') out += '\r';
        out += ch;
    }
    return out;
}

}  // namespace sipcc::test
