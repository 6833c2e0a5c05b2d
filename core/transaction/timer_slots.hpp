// Helpers for the transaction machines' timers: each timer is an optional
// absolute deadline in ms (nullopt = not running).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>

namespace sipcc {

inline bool is_due(const std::optional<std::uint64_t>& timer_due_ms, std::uint64_t now_ms) {
    return timer_due_ms && *timer_due_ms <= now_ms;
}

// The earliest running timer, if any.
inline std::optional<std::uint64_t> earliest_due_ms(
    std::initializer_list<std::optional<std::uint64_t>> timers_due_ms) {
    std::optional<std::uint64_t> earliest;
    for (const auto& timer : timers_due_ms) {
        if (timer && (!earliest || *timer < *earliest)) earliest = timer;
    }
    return earliest;
}

}  // namespace sipcc
