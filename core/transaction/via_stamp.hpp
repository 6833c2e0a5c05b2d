// RFC 3261 §18.2.1 and RFC 3581 §4: a server notes in the top Via where a
// request really came from, so responses (which copy the Via) find their way
// back and tell the client its address as seen from here. Used by the
// transaction layer and by the simulated PBX's stateless proxy.
#pragma once

#include "core/message/message.hpp"
#include "core/net/address.hpp"

namespace sipcc {

// Adds `received` (when the sent-by host differs, or rport was asked for) and
// fills an empty `rport` with the source port. `top_via` is the request's parsed
// top Via; a source without an IP (a driver that does not know it) changes nothing.
void stamp_received(Message& request, const Via& top_via, const Peer& source);

}  // namespace sipcc
