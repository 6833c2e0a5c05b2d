#include "simulator/ladder.hpp"

#include <algorithm>
#include <cstdio>

#include "core/message/parser.hpp"

namespace sipcc::sim {
namespace {

constexpr int kColumnWidth = 26;

std::string format_time(std::uint64_t ms) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%7.3f", static_cast<double>(ms) / 1000.0);
    return buffer;
}

}  // namespace

std::string ladder_label(const std::string& bytes) {
    auto message = parse_message(bytes);
    if (!message) return "(malformed)";
    std::string label;
    if (message->is_request) {
        label = message->method;
        if (message->method == "NOTIFY") {
            if (auto fragment = parse_sipfrag(message->body); fragment && !fragment->is_request) {
                label += " (" + std::to_string(fragment->status_code) + ")";
            }
        }
    } else {
        label = std::to_string(message->status_code) + " " + message->reason_phrase;
        if (label.size() > 14) label = label.substr(0, 14);
        const auto method = message->transaction_method();
        if (!method.empty()) label += " " + method.substr(0, 6);
    }
    return label;
}

std::string render_ladder(const std::vector<TraceEntry>& trace, std::vector<LadderHost> hosts) {
    auto column_of = [&](const SocketAddress& address) {
        for (std::size_t i = 0; i < hosts.size(); ++i) {
            if (hosts[i].address == address) return static_cast<int>(i);
        }
        hosts.push_back({address, address.to_string()});
        return static_cast<int>(hosts.size() - 1);
    };
    // Columns first, so the header lists every host.
    for (const auto& entry : trace) {
        column_of(entry.from.address);
        column_of(entry.to.address);
    }
    const int columns = static_cast<int>(hosts.size());
    const int width = 10 + columns * kColumnWidth;
    auto blank_row = [&] {
        std::string row(static_cast<std::size_t>(width), ' ');
        for (int c = 0; c < columns; ++c)
            row[static_cast<std::size_t>(10 + c * kColumnWidth + kColumnWidth / 2)] = '|';
        return row;
    };
    std::string out;
    std::string names(10, ' ');
    std::string addresses(10, ' ');
    for (const auto& host : hosts) {
        auto centered = [](const std::string& text) {
            const int pad = std::max(0, (kColumnWidth - static_cast<int>(text.size())) / 2);
            std::string cell(static_cast<std::size_t>(pad), ' ');
            cell += text.substr(0, kColumnWidth - 1);
            cell.resize(kColumnWidth, ' ');
            return cell;
        };
        names += centered(host.name);
        addresses += centered(host.address.to_string());
    }
    out += names + "\n" + addresses + "\n";
    for (const auto& entry : trace) {
        const int from = column_of(entry.from.address);
        const int to = column_of(entry.to.address);
        std::string row = blank_row();
        const auto time = format_time(entry.sent_ms);
        row.replace(0, time.size(), time);
        const int from_x = 10 + from * kColumnWidth + kColumnWidth / 2;
        const int to_x = 10 + to * kColumnWidth + kColumnWidth / 2;
        const int left = std::min(from_x, to_x);
        const int right = std::max(from_x, to_x);
        for (int x = left + 1; x < right; ++x) row[static_cast<std::size_t>(x)] = '-';
        if (to_x > from_x) {
            row[static_cast<std::size_t>(right - 1)] = '>';
        } else {
            row[static_cast<std::size_t>(left + 1)] = '<';
        }
        std::string label = ladder_label(entry.bytes);
        if (entry.dropped) label = "x " + label + " (lost)";
        if (entry.duplicate) label += " (dup)";
        const int space = right - left - 3;
        if (static_cast<int>(label.size()) > space)
            label = label.substr(0, static_cast<std::size_t>(std::max(space, 0)));
        const int start = left + 2 + (space - static_cast<int>(label.size())) / 2;
        row.replace(static_cast<std::size_t>(start), label.size(), label);
        while (!row.empty() && row.back() == ' ') row.pop_back();
        out += row + "\n";
    }
    return out;
}

}  // namespace sipcc::sim
