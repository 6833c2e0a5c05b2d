#include "apps/sipcc/message_json.hpp"

#include "core/message/parser.hpp"

namespace sipcc::cli {
namespace {

nlohmann::ordered_json to_json(const Parameters& params) {
    auto out = nlohmann::ordered_json::object();
    for (const auto& param : params) {
        out[param.name] = param.value ? nlohmann::ordered_json(*param.value) : nlohmann::ordered_json(true);
    }
    return out;
}

}  // namespace

nlohmann::ordered_json to_json(const Uri& uri) {
    nlohmann::ordered_json out{{"scheme", uri.scheme}, {"text", uri.to_string()}};
    if (!uri.opaque.empty()) {
        out["opaque"] = uri.opaque;
        return out;
    }
    out["user"] = uri.user;
    out["host"] = uri.host;
    out["port"] = uri.port ? nlohmann::ordered_json(*uri.port) : nlohmann::ordered_json(nullptr);
    out["params"] = to_json(uri.params);
    if (!uri.headers.empty()) out["headers"] = to_json(uri.headers);
    return out;
}

nlohmann::ordered_json to_json(const Message& message) {
    nlohmann::ordered_json out;
    if (message.is_request) {
        out["kind"] = "request";
        out["method"] = message.method;
        out["request_uri"] = to_json(message.request_uri);
    } else {
        out["kind"] = "response";
        out["status_code"] = message.status_code;
        out["reason_phrase"] = message.reason_phrase;
    }
    auto headers = nlohmann::ordered_json::array();
    for (const auto& header : message.headers) {
        headers.push_back({{"name", header.name}, {"value", header.value}});
    }
    out["headers"] = std::move(headers);
    out["content_length"] = message.body.size();
    const auto* content_type = message.header("Content-Type");
    out["content_type"] = content_type ? nlohmann::ordered_json(*content_type) : nlohmann::ordered_json(nullptr);
    // Bodies may be binary: dump() with replacement keeps the JSON valid UTF-8.
    out["body"] = message.body;
    if (content_type && content_type->rfind("message/sipfrag", 0) == 0) {
        auto fragment = parse_sipfrag(message.body);
        out["sipfrag"] =
            fragment ? to_json(*fragment) : nlohmann::ordered_json{{"error", fragment.error()}};
    }
    return out;
}

}  // namespace sipcc::cli
