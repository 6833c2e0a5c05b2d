#include "core/dialog/dialog.hpp"

#include <algorithm>

#include "core/message/parser.hpp"

namespace sipcc {
namespace {

bool is_loose_router(const NameAddr& route) {
    return find_parameter(route.uri.params, "lr") != nullptr;
}

Result<Uri> remote_target_of(const Message& message) {
    auto contacts = message.name_addrs("Contact");
    if (!contacts) return Error{"malformed Contact: " + contacts.error()};
    if (contacts->empty()) return Error{"no Contact header"};
    return contacts->front().uri;
}

}  // namespace

Message Dialog::make_request(const std::string& method) {
    if (method != "ACK" && method != "CANCEL") ++local_cseq;
    Uri request_uri = remote_target;
    std::vector<NameAddr> routes = route_set;
    if (!routes.empty() && !is_loose_router(routes.front())) {
        // Strict router (§12.2.1.1): it becomes the Request-URI, the remote target
        // goes to the end of the Route set.
        request_uri = routes.front().uri;
        remove_parameter(request_uri.params, "method");
        routes.erase(routes.begin());
        NameAddr target;
        target.uri = remote_target;
        routes.push_back(std::move(target));
    }
    Message request = Message::request(method, request_uri);
    request.add_header("Max-Forwards", "70");
    for (const auto& route : routes) request.add_header("Route", route.to_string());
    request.add_header("From", local.to_string());
    request.add_header("To", remote.to_string());
    request.add_header("Call-ID", key.call_id);
    request.add_header("CSeq", CSeq{local_cseq, method}.to_string());
    return request;
}

Uri Dialog::next_hop(const Message& request) {
    if (const auto* route = request.header("Route")) {
        auto first = parse_name_addr(*route);
        if (first) return first->uri;
    }
    return request.request_uri;
}

bool Dialog::accept_remote_cseq(std::uint32_t cseq) {
    if (remote_cseq && cseq <= *remote_cseq) return false;
    remote_cseq = cseq;
    return true;
}

Result<Dialog> dialog_from_response(const Message& request, const Message& response) {
    auto from = request.from();
    auto to = response.to();
    auto cseq = request.cseq();
    if (!from || !to || !cseq) return Error{"request or response lacks From/To/CSeq"};
    if (!from->tag() || !to->tag()) return Error{"no tags to form a dialog"};
    auto target = remote_target_of(response);
    if (!target) return Error{target.error()};
    auto record_route = response.name_addrs("Record-Route");
    if (!record_route) return Error{"malformed Record-Route: " + record_route.error()};

    Dialog dialog;
    dialog.is_uac = true;
    dialog.state = response.status_code < 200 ? Dialog::State::early : Dialog::State::confirmed;
    dialog.key = {request.call_id(), *from->tag(), *to->tag()};
    dialog.local = *from;
    dialog.remote = *to;
    dialog.remote_target = *target;
    dialog.route_set = std::move(record_route).value();
    std::reverse(dialog.route_set.begin(), dialog.route_set.end());
    dialog.local_cseq = cseq->number;
    return dialog;
}

Result<Dialog> dialog_from_request(const Message& request, const std::string& local_tag) {
    auto from = request.from();
    auto to = request.to();
    auto cseq = request.cseq();
    if (!from || !to || !cseq) return Error{"request lacks From/To/CSeq"};
    if (!from->tag()) return Error{"request without From tag"};
    auto target = remote_target_of(request);
    if (!target) return Error{target.error()};
    auto record_route = request.name_addrs("Record-Route");
    if (!record_route) return Error{"malformed Record-Route: " + record_route.error()};

    Dialog dialog;
    dialog.is_uac = false;
    dialog.state = Dialog::State::confirmed;
    dialog.key = {request.call_id(), local_tag, *from->tag()};
    dialog.local = *to;
    set_parameter(dialog.local.params, "tag", local_tag);
    dialog.remote = *from;
    dialog.remote_target = *target;
    dialog.route_set = std::move(record_route).value();
    dialog.remote_cseq = cseq->number;
    return dialog;
}

}  // namespace sipcc
