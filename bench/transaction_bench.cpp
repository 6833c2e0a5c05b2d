// One non-INVITE client transaction step through the RFC 3261 §17 layer: start_client
// (the request is serialized and queued), drain the transmit, receive the 200 OK (matched
// by branch), drain the event, and let timers expire. Messages are values here; parsing
// and serializing them is priced in message_bench.cpp.
//
// Over UDP the transaction lingers in Completed for Timer K (T4 = 5 s); the clock moves
// 1 ms per step, so about 5,000 transactions stay live, as at 1,000 requests/s. Over TCP
// Timer K is zero and the table stays empty.
#include <benchmark/benchmark.h>

#include <string>

#include "core/message/message.hpp"
#include "core/net/address.hpp"
#include "core/transaction/transaction_layer.hpp"

namespace {

sipcc::Message make_notify() {
    sipcc::Uri target;
    target.user = "c2d";
    target.host = "192.0.2.10";
    target.port = 5060;
    auto request = sipcc::Message::request("NOTIFY", target);
    request.add_header("Via", "SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bK0;rport");
    request.add_header("Max-Forwards", "70");
    request.add_header("From", "<sip:alice@pbx.example.com>;tag=a6c85cf");
    request.add_header("To", "\"Click to Dial\" <sip:c2d@pbx.example.com>;tag=1928301774");
    request.add_header("Call-ID", "a84b4c76e66710@192.0.2.10");
    request.add_header("CSeq", "2 NOTIFY");
    request.add_header("Contact", "<sip:alice@192.0.2.20:5062>");
    request.add_header("Event", "refer");
    request.add_header("Subscription-State", "active;expires=60");
    request.add_header("Content-Type", "message/sipfrag;version=2.0");
    request.body = "SIP/2.0 100 Trying\r\n";
    return request;
}

sipcc::Message make_ok(const sipcc::Message& request) {
    auto response = sipcc::Message::response(200, "OK");
    for (const char* name : {"Via", "From", "To", "Call-ID", "CSeq"}) {
        response.add_header(name, *request.header(name));
    }
    return response;
}

void BM_NonInviteClientTransaction(benchmark::State& state) {
    const bool reliable = state.range(0) == 1;
    sipcc::TransactionLayer layer;
    const sipcc::Peer destination{reliable ? sipcc::Transport::tcp : sipcc::Transport::udp,
                                  {"192.0.2.10", 5060}};
    auto request = make_notify();
    auto response = make_ok(request);
    const std::string via_prefix = std::string("SIP/2.0/") + (reliable ? "TCP" : "UDP") +
                                   " 192.0.2.20:5062;rport;branch=z9hG4bKbench";
    std::uint64_t now_ms = 0;
    std::uint64_t step = 0;
    for (auto _ : state) {
        ++now_ms;
        const std::string via = via_prefix + std::to_string(++step);
        request.set_header("Via", via);
        response.set_header("Via", via);
        const auto id = layer.start_client(now_ms, request, destination);
        benchmark::DoNotOptimize(id);
        while (auto transmit = layer.poll_transmit()) benchmark::DoNotOptimize(transmit);
        layer.receive(now_ms, response, destination);
        while (auto event = layer.poll_event()) benchmark::DoNotOptimize(event);
        if (auto deadline = layer.next_deadline(); deadline && *deadline <= now_ms) {
            layer.handle_timeout(now_ms);
            while (auto event = layer.poll_event()) benchmark::DoNotOptimize(event);
        }
    }
    state.SetLabel(reliable ? "TCP" : "UDP");
    state.counters["live transactions"] = static_cast<double>(layer.active_transactions());
}

BENCHMARK(BM_NonInviteClientTransaction)->Arg(0)->Arg(1);

}  // namespace
