// sipcc's own SIP message values. Nothing here knows about libosip2: the
// adapter (osip_adapter.cpp) fills these from bytes, and to_bytes() writes
// them back. Header values are kept as text (the single source of truth);
// typed views (Via, NameAddr, CSeq) are parsed on demand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace sipcc {

struct Parameter {
    std::string name;
    std::optional<std::string> value;  // nullopt for a bare flag such as ";lr" or ";rport"

    friend bool operator==(const Parameter&, const Parameter&) = default;
};

using Parameters = std::vector<Parameter>;

// First parameter named `name` (case-insensitive), or nullptr.
const Parameter* find_parameter(const Parameters& params, std::string_view name);
// Sets (or adds) a parameter; nullopt value makes it a bare flag.
void set_parameter(Parameters& params, std::string_view name, std::optional<std::string> value);
void remove_parameter(Parameters& params, std::string_view name);

// sip:, sips: or any other scheme (tel:, http: ...). A URI that is not taken
// apart into user/host/params keeps its text in `opaque` (non-empty).
struct Uri {
    std::string scheme = "sip";
    std::string user;  // unescaped
    std::string password;
    std::string host;  // IPv6 without brackets
    std::optional<std::uint16_t> port;
    Parameters params;
    Parameters headers;  // ?name=value part
    std::string opaque;  // everything after "scheme:" when not taken apart

    friend bool operator==(const Uri&, const Uri&) = default;

    [[nodiscard]] bool is_sip() const { return scheme == "sip" || scheme == "sips"; }
    [[nodiscard]] std::string to_string() const;
    // host[:port], brackets around IPv6
    [[nodiscard]] std::string host_port() const;
};

// "Display" <uri>;params  (From, To, Contact, Route, Record-Route, Refer-To ...)
struct NameAddr {
    std::string display_name;
    Uri uri;
    Parameters params;

    [[nodiscard]] std::optional<std::string> tag() const;
    [[nodiscard]] std::string to_string() const;
};

struct Via {
    std::string transport = "UDP";  // as in SIP/2.0/UDP
    std::string host;
    std::optional<std::uint16_t> port;
    Parameters params;

    [[nodiscard]] std::optional<std::string> branch() const;
    [[nodiscard]] std::string to_string() const;
};

struct CSeq {
    std::uint32_t number = 0;
    std::string method;

    [[nodiscard]] std::string to_string() const;
};

struct Header {
    std::string name;  // canonical spelling, e.g. "Call-ID", "Via"
    std::string value;
};

class Message {
public:
    // Start line
    bool is_request = true;
    std::string method;         // requests
    Uri request_uri;            // requests
    int status_code = 0;        // responses
    std::string reason_phrase;  // responses

    // Headers in order; a multi-valued header (Via: a, b) is one entry per value.
    std::vector<Header> headers;
    std::string body;

    static Message request(std::string method, Uri request_uri);
    static Message response(int status_code, std::string reason_phrase);

    // Header access by name: case-insensitive, compact forms accepted ("v" = "Via").
    [[nodiscard]] const std::string* header(std::string_view name) const;
    [[nodiscard]] std::vector<std::string> header_values(std::string_view name) const;
    [[nodiscard]] bool has_header(std::string_view name) const { return header(name) != nullptr; }
    void add_header(std::string_view name, std::string value);
    void prepend_header(std::string_view name, std::string value);
    // Replaces every value of `name` with one value (added at the end if absent).
    void set_header(std::string_view name, std::string value);
    std::size_t remove_header(std::string_view name);

    // Typed views of the headers every layer needs.
    [[nodiscard]] Result<Via> top_via() const;
    [[nodiscard]] Result<std::vector<Via>> vias() const;
    [[nodiscard]] Result<NameAddr> from() const;
    [[nodiscard]] Result<NameAddr> to() const;
    [[nodiscard]] Result<CSeq> cseq() const;
    [[nodiscard]] std::string call_id() const;  // empty when absent
    [[nodiscard]] Result<std::vector<NameAddr>> name_addrs(std::string_view header_name) const;

    // Method of the transaction: the request method, or the CSeq method of a response.
    [[nodiscard]] std::string transaction_method() const;

    // Wire form. Content-Length is always written from body.size(); any
    // Content-Length header in `headers` is ignored.
    [[nodiscard]] std::string to_bytes() const;
    [[nodiscard]] std::string start_line() const;
};

// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b);

}  // namespace sipcc
