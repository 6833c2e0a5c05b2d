// The core's only source of randomness: seeded, so a simulated run replays
// exactly from its seed. Tags, branches, Call-IDs and cnonces all come from here.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace sipcc {

class SeededRandom {
public:
    explicit SeededRandom(std::uint64_t seed) : engine_(seed) {}

    std::uint64_t next() { return engine_(); }

    // `length` characters from [0-9a-z]: safe in tags, branches and Call-IDs.
    std::string token(std::size_t length = 16) {
        static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
        std::string out(length, '0');
        for (auto& ch : out) ch = kAlphabet[engine_() % 36];
        return out;
    }

private:
    std::mt19937_64 engine_;
};

}  // namespace sipcc
