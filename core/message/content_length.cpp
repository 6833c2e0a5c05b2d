#include "core/message/content_length.hpp"

#include <charconv>
#include <string>

#include "core/message/header_names.hpp"

namespace sipcc {

Result<std::optional<std::size_t>> find_content_length(std::string_view headers) {
    std::size_t pos = 0;
    while (pos < headers.size()) {
        auto end = headers.find('\n', pos);
        if (end == std::string_view::npos) end = headers.size();
        auto line = headers.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        pos = end + 1;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        auto name = line.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
        if (!same_header_name(name, "Content-Length")) continue;
        auto value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
            value.remove_prefix(1);
        }
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
            value.remove_suffix(1);
        }
        std::size_t length = 0;
        auto [parsed_end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
        if (value.empty() || ec != std::errc() || parsed_end != value.data() + value.size()) {
            return Error{"malformed Content-Length: \"" + std::string(value) + "\""};
        }
        return std::optional<std::size_t>(length);
    }
    return std::optional<std::size_t>();
}

}  // namespace sipcc
