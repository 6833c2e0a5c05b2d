#include "core/message/message.hpp"

#include <algorithm>
#include <cctype>

#include "core/message/header_names.hpp"
#include "core/message/parser.hpp"

namespace sipcc {
namespace {

// RFC 3261 §25.1: unreserved / user-unreserved may appear as is in the user part.
bool is_user_char(char ch) {
    if (std::isalnum(static_cast<unsigned char>(ch))) return true;
    constexpr std::string_view kAllowed = "-_.!~*'()&=+$,;?/";
    return kAllowed.find(ch) != std::string_view::npos;
}

std::string escape_user(std::string_view user) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string escaped;
    escaped.reserve(user.size());
    for (char ch : user) {
        if (is_user_char(ch)) {
            escaped += ch;
        } else {
            const auto byte = static_cast<unsigned char>(ch);
            escaped += '%';
            escaped += kHex[byte >> 4];
            escaped += kHex[byte & 0x0F];
        }
    }
    return escaped;
}

void append_params(std::string& out, const Parameters& params) {
    for (const auto& param : params) {
        out += ';';
        out += param.name;
        if (param.value) {
            out += '=';
            out += *param.value;
        }
    }
}

std::string bracket_host(const std::string& host) {
    if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
    return host;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

const Parameter* find_parameter(const Parameters& params, std::string_view name) {
    for (const auto& param : params) {
        if (iequals(param.name, name)) return &param;
    }
    return nullptr;
}

void set_parameter(Parameters& params, std::string_view name, std::optional<std::string> value) {
    for (auto& param : params) {
        if (iequals(param.name, name)) {
            param.value = std::move(value);
            return;
        }
    }
    params.push_back({std::string(name), std::move(value)});
}

void remove_parameter(Parameters& params, std::string_view name) {
    std::erase_if(params, [&](const Parameter& param) { return iequals(param.name, name); });
}

std::string Uri::host_port() const {
    std::string out = bracket_host(host);
    if (port) {
        out += ':';
        out += std::to_string(*port);
    }
    return out;
}

std::string Uri::to_string() const {
    if (!opaque.empty()) return scheme + ":" + opaque;
    std::string out = scheme + ":";
    if (!user.empty()) {
        out += escape_user(user);
        if (!password.empty()) {
            out += ':';
            out += escape_user(password);
        }
        out += '@';
    }
    out += host_port();
    append_params(out, params);
    for (std::size_t i = 0; i < headers.size(); ++i) {
        out += (i == 0) ? '?' : '&';
        out += headers[i].name;
        out += '=';
        out += headers[i].value.value_or("");
    }
    return out;
}

std::optional<std::string> NameAddr::tag() const {
    const auto* param = find_parameter(params, "tag");
    if (param == nullptr || !param->value) return std::nullopt;
    return param->value;
}

std::string NameAddr::to_string() const {
    std::string out;
    if (!display_name.empty()) {
        out += '"';
        for (char ch : display_name) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += "\" ";
    }
    out += '<';
    out += uri.to_string();
    out += '>';
    append_params(out, params);
    return out;
}

std::optional<std::string> Via::branch() const {
    const auto* param = find_parameter(params, "branch");
    if (param == nullptr || !param->value) return std::nullopt;
    return param->value;
}

std::string Via::to_string() const {
    std::string out = "SIP/2.0/" + transport + " " + bracket_host(host);
    if (port) {
        out += ':';
        out += std::to_string(*port);
    }
    append_params(out, params);
    return out;
}

std::string CSeq::to_string() const {
    return std::to_string(number) + " " + method;
}

Message Message::request(std::string method, Uri request_uri) {
    Message message;
    message.is_request = true;
    message.method = std::move(method);
    message.request_uri = std::move(request_uri);
    return message;
}

Message Message::response(int status_code, std::string reason_phrase) {
    Message message;
    message.is_request = false;
    message.status_code = status_code;
    message.reason_phrase = std::move(reason_phrase);
    return message;
}

const std::string* Message::header(std::string_view name) const {
    for (const auto& header : headers) {
        if (same_header_name(header.name, name)) return &header.value;
    }
    return nullptr;
}

std::vector<std::string> Message::header_values(std::string_view name) const {
    std::vector<std::string> values;
    for (const auto& header : headers) {
        if (same_header_name(header.name, name)) values.push_back(header.value);
    }
    return values;
}

void Message::add_header(std::string_view name, std::string value) {
    headers.push_back({canonical_header_name(name), std::move(value)});
}

void Message::prepend_header(std::string_view name, std::string value) {
    headers.insert(headers.begin(), {canonical_header_name(name), std::move(value)});
}

void Message::set_header(std::string_view name, std::string value) {
    auto first = std::find_if(headers.begin(), headers.end(),
                              [&](const Header& h) { return same_header_name(h.name, name); });
    if (first == headers.end()) {
        add_header(name, std::move(value));
        return;
    }
    first->value = std::move(value);
    headers.erase(std::remove_if(std::next(first), headers.end(),
                                 [&](const Header& h) { return same_header_name(h.name, name); }),
                  headers.end());
}

std::size_t Message::remove_header(std::string_view name) {
    return std::erase_if(headers, [&](const Header& h) { return same_header_name(h.name, name); });
}

Result<Via> Message::top_via() const {
    const auto* value = header("Via");
    if (value == nullptr) return Error{"no Via header"};
    return parse_via(*value);
}

Result<std::vector<Via>> Message::vias() const {
    std::vector<Via> parsed;
    for (const auto& value : header_values("Via")) {
        auto via = parse_via(value);
        if (!via) return Error{via.error()};
        parsed.push_back(std::move(via).value());
    }
    return parsed;
}

Result<NameAddr> Message::from() const {
    const auto* value = header("From");
    if (value == nullptr) return Error{"no From header"};
    return parse_name_addr(*value);
}

Result<NameAddr> Message::to() const {
    const auto* value = header("To");
    if (value == nullptr) return Error{"no To header"};
    return parse_name_addr(*value);
}

Result<CSeq> Message::cseq() const {
    const auto* value = header("CSeq");
    if (value == nullptr) return Error{"no CSeq header"};
    return parse_cseq(*value);
}

std::string Message::call_id() const {
    const auto* value = header("Call-ID");
    return value ? *value : std::string();
}

Result<std::vector<NameAddr>> Message::name_addrs(std::string_view header_name) const {
    std::vector<NameAddr> parsed;
    for (const auto& value : header_values(header_name)) {
        auto name_addr = parse_name_addr(value);
        if (!name_addr) return Error{name_addr.error()};
        parsed.push_back(std::move(name_addr).value());
    }
    return parsed;
}

std::string Message::transaction_method() const {
    if (is_request) return method;
    auto parsed = cseq();
    return parsed ? parsed->method : std::string();
}

std::string Message::start_line() const {
    if (is_request) return method + " " + request_uri.to_string() + " SIP/2.0";
    return "SIP/2.0 " + std::to_string(status_code) + " " + reason_phrase;
}

std::string Message::to_bytes() const {
    std::string out;
    std::size_t estimate = 64 + body.size();
    for (const auto& header : headers) estimate += header.name.size() + header.value.size() + 4;
    out.reserve(estimate);
    out += start_line();
    out += "\r\n";
    for (const auto& header : headers) {
        if (same_header_name(header.name, "Content-Length")) continue;
        out += header.name;
        out += ": ";
        out += header.value;
        out += "\r\n";
    }
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += "\r\n\r\n";
    out += body;
    return out;
}

}  // namespace sipcc
