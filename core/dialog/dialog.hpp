// RFC 3261 §12 dialog state: identity, sequence numbers, route set and remote
// target, and building requests inside the dialog (loose and strict routing).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/message/message.hpp"
#include "core/util/result.hpp"

namespace sipcc {

struct DialogKey {
    std::string call_id;
    std::string local_tag;
    std::string remote_tag;

    friend bool operator==(const DialogKey&, const DialogKey&) = default;
};

struct Dialog {
    enum class State { early, confirmed, terminated };

    State state = State::early;
    DialogKey key;
    NameAddr local;                            // our From (UAC) / To (UAS), with our tag
    NameAddr remote;                           // the peer's, with its tag
    Uri remote_target;                         // from the peer's Contact
    std::vector<NameAddr> route_set;           // in the order requests use it
    std::uint32_t local_cseq = 0;              // last CSeq we sent
    std::optional<std::uint32_t> remote_cseq;  // last CSeq the peer sent
    bool is_uac = true;

    // Next in-dialog request (§12.2.1.1): CSeq incremented, From/To/Call-ID from
    // the dialog, Request-URI and Route from remote target and route set.
    // The caller adds Via (with a fresh branch), Contact and the body.
    Message make_request(const std::string& method);

    // Where a request made by make_request() goes first: the first Route when
    // there is one, else the Request-URI.
    [[nodiscard]] static Uri next_hop(const Message& request);

    // Checks an incoming in-dialog request's CSeq (§12.2.2). Returns false when
    // it is lower than (or equal to) the last one seen: answer 500.
    bool accept_remote_cseq(std::uint32_t cseq);
};

// UAC side, from the request we sent and a 1xx (with To tag) or 2xx response:
// route set = Record-Route reversed, remote target = Contact (§12.1.2).
Result<Dialog> dialog_from_response(const Message& request, const Message& response);

// UAS side, from a dialog-creating request and the tag we put in To (§12.1.1):
// route set = Record-Route in order, remote target = Contact.
Result<Dialog> dialog_from_request(const Message& request, const std::string& local_tag);

}  // namespace sipcc
