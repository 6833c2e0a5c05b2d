#include "core/transaction/via_stamp.hpp"

#include <string>

#include "core/message/header_names.hpp"

namespace sipcc {

void stamp_received(Message& request, const Via& top_via, const Peer& source) {
    if (source.address.ip.empty()) return;
    const auto* rport = find_parameter(top_via.params, "rport");
    const bool fill_rport = rport != nullptr && !rport->value;
    if (top_via.host == source.address.ip && !fill_rport) return;
    Via stamped = top_via;
    set_parameter(stamped.params, "received", source.address.ip);
    if (fill_rport) set_parameter(stamped.params, "rport", std::to_string(source.address.port));
    for (auto& header : request.headers) {
        if (same_header_name(header.name, "Via")) {
            header.value = stamped.to_string();
            return;
        }
    }
}

}  // namespace sipcc
