#include "core/message/builder.hpp"

#include <array>
#include <utility>

#include "core/message/header_names.hpp"
#include "core/message/parser.hpp"

namespace sipcc {
namespace {

// §8.2.6.2: the UAS adds its tag to To unless the request had one (in-dialog) or it answers 100.
std::string to_with_tag(const std::string& to_value, int status_code, std::string_view to_tag) {
    if (status_code <= 100 || to_tag.empty()) return to_value;
    auto to = parse_name_addr(to_value);
    if (!to || to->tag()) return to_value;
    set_parameter(to->params, "tag", std::string(to_tag));
    return to->to_string();
}

}  // namespace

Message make_request(const RequestSpec& spec) {
    Message request = Message::request(spec.method, spec.request_uri);
    request.add_header("Via", spec.via.to_string());
    request.add_header("Max-Forwards", std::to_string(spec.max_forwards));
    for (const auto& route : spec.route) request.add_header("Route", route.to_string());
    request.add_header("From", spec.from.to_string());
    request.add_header("To", spec.to.to_string());
    request.add_header("Call-ID", spec.call_id);
    request.add_header("CSeq", CSeq{spec.cseq, spec.method}.to_string());
    if (spec.contact) request.add_header("Contact", spec.contact->to_string());
    return request;
}

Message make_response(const Message& request, int status_code, std::string_view to_tag,
                      std::string reason_phrase) {
    if (reason_phrase.empty()) reason_phrase = std::string(default_reason_phrase(status_code));
    Message response = Message::response(status_code, std::move(reason_phrase));
    for (const auto& header : request.headers) {
        const auto is = [&](std::string_view name) { return same_header_name(header.name, name); };
        if (is("Via") || is("From") || is("Call-ID") || is("CSeq") ||
            (status_code == 100 && is("Timestamp"))) {
            response.headers.push_back(header);
        } else if (is("To")) {
            response.headers.push_back({"To", to_with_tag(header.value, status_code, to_tag)});
        }
    }
    return response;
}

std::string_view default_reason_phrase(int status_code) {
    struct Reason {
        int code;
        std::string_view phrase;
    };
    static constexpr std::array<Reason, 53> kReasons{{
        {100, "Trying"},
        {180, "Ringing"},
        {181, "Call Is Being Forwarded"},
        {182, "Queued"},
        {183, "Session Progress"},
        {200, "OK"},
        {202, "Accepted"},
        {204, "No Notification"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Moved Temporarily"},
        {305, "Use Proxy"},
        {380, "Alternative Service"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"},
        {408, "Request Timeout"},
        {410, "Gone"},
        {413, "Request Entity Too Large"},
        {414, "Request-URI Too Long"},
        {415, "Unsupported Media Type"},
        {416, "Unsupported URI Scheme"},
        {420, "Bad Extension"},
        {421, "Extension Required"},
        {423, "Interval Too Brief"},
        {480, "Temporarily Unavailable"},
        {481, "Call/Transaction Does Not Exist"},
        {482, "Loop Detected"},
        {483, "Too Many Hops"},
        {484, "Address Incomplete"},
        {485, "Ambiguous"},
        {486, "Busy Here"},
        {487, "Request Terminated"},
        {488, "Not Acceptable Here"},
        {489, "Bad Event"},
        {491, "Request Pending"},
        {493, "Undecipherable"},
        {500, "Server Internal Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Server Time-out"},
        {505, "Version Not Supported"},
        {513, "Message Too Large"},
        {600, "Busy Everywhere"},
        {603, "Decline"},
        {604, "Does Not Exist Anywhere"},
        {606, "Not Acceptable"},
    }};
    for (const auto& reason : kReasons) {
        if (reason.code == status_code) return reason.phrase;
    }
    return {};
}

std::string make_branch(std::string_view random_token) {
    return std::string(kBranchCookie) + std::string(random_token);
}

}  // namespace sipcc
