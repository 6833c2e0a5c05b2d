// The libosip2 adapter: the only file in sipcc that includes libosip2 headers.
// It owns every osip object it creates (RAII below) and converts them to
// sipcc's own values. Nothing here throws; failures come back with a reason.
#include <osipparser2/osip_parser.h>
#include <osipparser2/osip_port.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdarg>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/message/content_length.hpp"
#include "core/message/header_names.hpp"
#include "core/message/parser.hpp"

namespace sipcc {
namespace {

void discard_trace(const char*, int, osip_trace_level_t, const char*, va_list) {}

void init_osip_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        parser_init();
        // libosip2 prints its own traces to stderr; sipcc reports reasons itself.
        // Debian's build prints ERROR traces unless a trace function is installed.
        osip_trace_initialize_func(OSIP_INFO4, discard_trace);
    });
}

struct OsipFree {
    void operator()(osip_message_t* m) const { osip_message_free(m); }
    void operator()(osip_uri_t* u) const { osip_uri_free(u); }
    void operator()(osip_from_t* f) const { osip_from_free(f); }
    void operator()(osip_via_t* v) const { osip_via_free(v); }
    void operator()(osip_cseq_t* c) const { osip_cseq_free(c); }
};
template <class T>
using OsipPtr = std::unique_ptr<T, OsipFree>;

std::string or_empty(const char* text) {
    return text ? std::string(text) : std::string();
}

std::optional<std::uint16_t> parse_port(const char* text) {
    if (text == nullptr || *text == '\0') return std::nullopt;
    unsigned value = 0;
    std::string_view view(text);
    auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
    if (ec != std::errc() || end != view.data() + view.size() || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

Parameters convert_params(osip_list_t* list) {
    Parameters params;
    const int count = osip_list_size(list);
    params.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        auto* param = static_cast<osip_generic_param_t*>(osip_list_get(list, i));
        Parameter converted{or_empty(param->gname), std::nullopt};
        if (param->gvalue) converted.value = std::string(param->gvalue);
        params.push_back(std::move(converted));
    }
    return params;
}

Uri convert_uri(osip_uri_t* uri) {
    Uri converted;
    converted.scheme = or_empty(uri->scheme);
    for (auto& ch : converted.scheme)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    // osip fills `string` for URIs it does not take apart (tel:, http: ...); note
    // that it takes apart any scheme that merely starts with "sip".
    if (uri->string != nullptr) {
        converted.opaque = uri->string;
        return converted;
    }
    converted.user = or_empty(uri->username);
    converted.password = or_empty(uri->password);
    converted.host = or_empty(uri->host);
    converted.port = parse_port(uri->port);
    converted.params = convert_params(&uri->url_params);
    converted.headers = convert_params(&uri->url_headers);
    return converted;
}

NameAddr convert_name_addr(osip_from_t* from) {
    NameAddr converted;
    std::string display = or_empty(from->displayname);
    if (display.size() >= 2 && display.front() == '"' && display.back() == '"') {
        display = display.substr(1, display.size() - 2);
    }
    converted.display_name = std::move(display);
    if (from->url) converted.uri = convert_uri(from->url);
    converted.params = convert_params(&from->gen_params);
    return converted;
}

// Offset of the first byte after the blank line ending the header section, or npos.
std::size_t end_of_headers(std::string_view bytes) {
    const auto crlf = bytes.find("\r\n\r\n");
    const auto lf = bytes.find("\n\n");
    if (crlf == std::string_view::npos && lf == std::string_view::npos)
        return std::string_view::npos;
    if (lf == std::string_view::npos || (crlf != std::string_view::npos && crlf < lf))
        return crlf + 4;
    return lf + 2;
}

// RFC 3261 §25.1 token characters, the only ones allowed in a header name.
bool is_token(std::string_view text) {
    constexpr std::string_view kMarks = "-.!%*_+`'~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [&](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) ||
               kMarks.find(ch) != std::string_view::npos;
    });
}

// RFC 3261 §7 wants CRLF; a lone CR or LF would make osip and sipcc disagree
// on where a line ends (and so on what was validated). Control characters are
// refused too: osip's verdict on them is not even deterministic.
std::optional<std::string> line_ending_problem(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
        if (text[pos] == '\r' && (pos + 1 >= text.size() || text[pos + 1] != '\n')) {
            return "bare CR in the header section";
        }
        if (text[pos] == '\n' && (pos == 0 || text[pos - 1] != '\r')) {
            return "bare LF in the header section (SIP lines end with CRLF)";
        }
        // §25.1: no CTL characters but HTAB in start lines and header values.
        const auto byte = static_cast<unsigned char>(text[pos]);
        if ((byte < 0x20 && byte != '\t' && byte != '\r' && byte != '\n') || byte == 0x7f) {
            return "control character 0x" + std::string(1, "0123456789abcdef"[byte >> 4]) +
                   std::string(1, "0123456789abcdef"[byte & 15]) + " in the header section";
        }
    }
    return std::nullopt;
}

bool valid_start_line(std::string_view line) {
    if (line.rfind("SIP/2.0 ", 0) == 0) {
        // Status-Line: SIP-Version SP 3DIGIT SP Reason-Phrase
        return line.size() >= 11 && std::isdigit(static_cast<unsigned char>(line[8])) &&
               std::isdigit(static_cast<unsigned char>(line[9])) &&
               std::isdigit(static_cast<unsigned char>(line[10])) && line[8] != '0' &&
               (line.size() == 11 || line[11] == ' ');
    }
    // Request-Line: Method SP Request-URI SP SIP-Version
    const auto first_space = line.find(' ');
    const auto last_space = line.rfind(' ');
    // Exactly two SPs (§7.1): a Request-URI never contains one.
    return first_space != std::string_view::npos && last_space > first_space + 1 &&
           line.find(' ', first_space + 1) == last_space &&
           is_token(line.substr(0, first_space)) && line.substr(last_space + 1) == "SIP/2.0";
}

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

// Header lines after the start line, continuation lines joined (RFC 3261 §7.3.1).
std::vector<std::string> unfolded_header_lines(std::string_view header_section) {
    std::vector<std::string> lines;
    std::size_t pos = header_section.find('\n');  // skip the start line
    while (pos != std::string_view::npos && pos + 1 < header_section.size()) {
        const auto next = header_section.find('\n', pos + 1);
        auto line = header_section.substr(
            pos + 1, next == std::string_view::npos ? std::string_view::npos : next - pos - 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
        if (continuation && !lines.empty()) {
            // RFC 3261 §7.3.1: a line fold is equivalent to a single space.
            lines.back() += ' ';
            lines.back() += trim(line);
        } else if (!line.empty()) {
            lines.emplace_back(line);
        }
        pos = next;
    }
    return lines;
}

// Headers whose comma-separated values sipcc keeps as separate entries.
bool is_multi_valued(std::string_view canonical_name) {
    return canonical_name == "Via" || canonical_name == "Contact" || canonical_name == "Route" ||
           canonical_name == "Record-Route";
}

// Splits at commas outside quoted strings and <...> (a display name may hold a comma).
std::vector<std::string_view> split_top_level_commas(std::string_view value) {
    std::vector<std::string_view> parts;
    bool in_quotes = false;
    int angle_depth = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char ch = value[i];
        if (in_quotes) {
            if (ch == '\\') {
                ++i;
            } else if (ch == '"') {
                in_quotes = false;
            }
        } else if (ch == '"') {
            in_quotes = true;
        } else if (ch == '<') {
            ++angle_depth;
        } else if (ch == '>' && angle_depth > 0) {
            --angle_depth;
        } else if (ch == ',' && angle_depth == 0) {
            parts.push_back(trim(value.substr(start, i - start)));
            start = i + 1;
        }
    }
    parts.push_back(trim(value.substr(start)));
    return parts;
}

// The header values exactly as received (unfolded, trimmed), in order. osip has
// already validated them; re-printing osip's structs would be slower and lossy.
Result<std::vector<Header>> headers_as_received(std::string_view header_section) {
    std::vector<Header> headers;
    for (const auto& line : unfolded_header_lines(header_section)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) {
            return Error{"malformed header line (no name and colon): \"" + line + "\""};
        }
        const auto name = trim(std::string_view(line).substr(0, colon));
        if (!is_token(name)) return Error{"malformed header name: \"" + std::string(name) + "\""};
        auto canonical = canonical_header_name(name);
        // Framing, not content: the body is already cut to it, and to_bytes() rewrites it.
        if (canonical == "Content-Length") continue;
        const auto value = trim(std::string_view(line).substr(colon + 1));
        if (!is_multi_valued(canonical)) {
            headers.push_back({std::move(canonical), std::string(value)});
            continue;
        }
        for (auto part : split_top_level_commas(value)) {
            if (part.empty()) return Error{"empty value in " + canonical + " header"};
            headers.push_back({canonical, std::string(part)});
        }
    }
    return headers;
}

// libosip2 only says "failed"; find the header it choked on so the reason is
// useful. Each line goes through osip's own header dispatcher on a fresh message.
std::string diagnose_header_failure(std::string_view header_section) {
    for (const auto& line : unfolded_header_lines(header_section)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos || colon == 0) {
            return "malformed header line (no name and colon): \"" + line + "\"";
        }
        std::string name = line.substr(0, colon);
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        std::string lowercase_name = name;
        for (auto& ch : lowercase_name)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        osip_message_t* raw = nullptr;
        if (osip_message_init(&raw) != 0) return "malformed message";
        OsipPtr<osip_message_t> scratch(raw);
        if (osip_message_set_multiple_header(scratch.get(), lowercase_name.data(), value.data()) !=
            0) {
            return "malformed " + canonical_header_name(name) + " header: \"" + value + "\"";
        }
    }
    return "malformed message";
}

}  // namespace

Result<Message> parse_message(std::string_view bytes, const ParseLimits& limits) {
    init_osip_once();
    if (bytes.size() > limits.max_message_bytes) {
        return Error{"message of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                     std::to_string(limits.max_message_bytes) + " bytes"};
    }
    const auto first_line_end = bytes.find_first_of("\r\n");
    if (bytes.empty() || first_line_end == 0) return Error{"empty message"};
    const auto start_line = bytes.substr(0, first_line_end);
    if (first_line_end == std::string_view::npos || !valid_start_line(start_line)) {
        return Error{
            "malformed start line: \"" +
            std::string(start_line.substr(0, std::min<std::size_t>(start_line.size(), 80))) + "\""};
    }
    const auto body_offset = end_of_headers(bytes);
    if (body_offset == std::string_view::npos) {
        return Error{"header section is not terminated by an empty line"};
    }
    const auto header_section = bytes.substr(0, body_offset);
    if (auto problem = line_ending_problem(header_section)) return Error{*problem};
    auto body = bytes.substr(body_offset);
    auto declared_length = find_content_length(header_section);
    if (!declared_length) return Error{declared_length.error()};
    if (declared_length.value()) {
        const auto declared = *declared_length.value();
        if (declared > body.size()) {
            return Error{"Content-Length " + std::to_string(declared) + " exceeds the " +
                         std::to_string(body.size()) + " body bytes received"};
        }
        body = body.substr(0, declared);  // RFC 3261 §18.3: extra bytes are discarded
    }

    auto headers = headers_as_received(header_section);
    if (!headers) return Error{headers.error()};
    // osip validates exactly the text sipcc will emit for this message (one
    // value per line, unfolded, canonical names), not the raw input: whatever
    // sipcc accepts therefore serializes to bytes osip accepts too.
    // A Status-Line is three fixed fields: sipcc reads them itself and gives osip
    // the canonical form (osip looks for the reason's SP on the next line when
    // "SIP/2.0 200" lacks it).
    const bool is_response = start_line.rfind("SIP/2.0 ", 0) == 0;
    const std::string reason_phrase(is_response && start_line.size() > 12 ? start_line.substr(12)
                                                                          : std::string_view());
    std::string canonical = is_response ? "SIP/2.0 " + std::string(start_line.substr(8, 3)) +
                                              " " + reason_phrase
                                        : std::string(start_line);
    canonical += "\r\n";
    for (const auto& header : *headers) {
        canonical += header.name;
        canonical += ": ";
        canonical += header.value;
        canonical += "\r\n";
    }
    // The body stays opaque bytes: osip never parses it (its body parser is not
    // deterministic on bytes such as NUL, and sipcc has no use for its result).
    canonical += "Content-Length: 0\r\n\r\n";

    osip_message_t* raw = nullptr;
    if (osip_message_init(&raw) != 0) return Error{"out of memory"};
    OsipPtr<osip_message_t> parsed(raw);
    if (osip_message_parse(parsed.get(), canonical.data(), canonical.size()) != 0) {
        return Error{diagnose_header_failure(canonical)};
    }

    Message message;
    if (MSG_IS_REQUEST(parsed.get())) {
        if (parsed->sip_method == nullptr || parsed->req_uri == nullptr) {
            return Error{"malformed request line"};
        }
        message.is_request = true;
        message.method = parsed->sip_method;
        message.request_uri = convert_uri(parsed->req_uri);
        // osip takes some malformed URIs apart in ways that do not survive being
        // printed again; sipcc must never forward a different URI than it received.
        const auto received_text = start_line.substr(
            start_line.find(' ') + 1, start_line.rfind(' ') - start_line.find(' ') - 1);
        const auto printed = message.request_uri.to_string();
        const bool printable = std::none_of(printed.begin(), printed.end(), [](char ch) {
            return static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f;
        });
        if (!printable) {
            return Error{"malformed Request-URI: \"" + std::string(received_text) + "\""};
        }
        if (printed != received_text) {
            auto reparsed = parse_uri(printed);
            if (!reparsed || !(*reparsed == message.request_uri)) {
                return Error{"malformed Request-URI: \"" + std::string(received_text) + "\""};
            }
        }
    } else {
        message.is_request = false;
        message.status_code = parsed->status_code;
        message.reason_phrase = reason_phrase;
    }
    message.headers = std::move(headers).value();

    message.body = std::string(body);
    return message;
}

Result<Message> parse_sipfrag(std::string_view body) {
    // Bodies are written by all sorts of phones: accept LF line ends here.
    std::string framed;
    framed.reserve(body.size() + 4);
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) framed += '\r';
        framed += body[i];
    }
    // RFC 3420 makes the blank line optional; osip wants it.
    if (framed.size() < 2 || framed.compare(framed.size() - 2, 2, "\r\n") != 0) framed += "\r\n";
    if (end_of_headers(framed) == std::string::npos) framed += "\r\n";
    auto parsed = parse_message(framed);
    if (!parsed) return Error{"malformed sipfrag: " + parsed.error()};
    return parsed;
}

Result<Uri> parse_uri(std::string_view text) {
    init_osip_once();
    const std::string copy(text);
    osip_uri_t* raw = nullptr;
    if (osip_uri_init(&raw) != 0) return Error{"out of memory"};
    OsipPtr<osip_uri_t> uri(raw);
    if (copy.empty() || osip_uri_parse(uri.get(), copy.c_str()) != 0) {
        return Error{"malformed URI: \"" + copy + "\""};
    }
    Uri converted = convert_uri(uri.get());
    if (converted.opaque.empty() && converted.host.empty()) {
        return Error{"URI without a host: \"" + copy + "\""};
    }
    return converted;
}

Result<NameAddr> parse_name_addr(std::string_view text) {
    init_osip_once();
    const std::string copy(text);
    osip_from_t* raw = nullptr;
    if (osip_from_init(&raw) != 0) return Error{"out of memory"};
    OsipPtr<osip_from_t> from(raw);
    if (copy.empty() || osip_from_parse(from.get(), copy.c_str()) != 0 || from->url == nullptr) {
        return Error{"malformed name-addr: \"" + copy + "\""};
    }
    return convert_name_addr(from.get());
}

Result<Via> parse_via(std::string_view text) {
    init_osip_once();
    const std::string copy(text);
    osip_via_t* raw = nullptr;
    if (osip_via_init(&raw) != 0) return Error{"out of memory"};
    OsipPtr<osip_via_t> via(raw);
    if (copy.empty() || osip_via_parse(via.get(), copy.c_str()) != 0 || via->host == nullptr) {
        return Error{"malformed Via: \"" + copy + "\""};
    }
    Via converted;
    converted.transport = or_empty(via->protocol);
    converted.host = or_empty(via->host);
    converted.port = parse_port(via->port);
    converted.params = convert_params(&via->via_params);
    return converted;
}

Result<CSeq> parse_cseq(std::string_view text) {
    init_osip_once();
    const std::string copy(text);
    osip_cseq_t* raw = nullptr;
    if (osip_cseq_init(&raw) != 0) return Error{"out of memory"};
    OsipPtr<osip_cseq_t> cseq(raw);
    if (copy.empty() || osip_cseq_parse(cseq.get(), copy.c_str()) != 0 || cseq->number == nullptr ||
        cseq->method == nullptr) {
        return Error{"malformed CSeq: \"" + copy + "\""};
    }
    CSeq converted;
    std::string_view number(cseq->number);
    auto [end, ec] =
        std::from_chars(number.data(), number.data() + number.size(), converted.number);
    if (ec != std::errc() || end != number.data() + number.size()) {
        return Error{"malformed CSeq number: \"" + copy + "\""};
    }
    converted.method = cseq->method;
    return converted;
}

}  // namespace sipcc
