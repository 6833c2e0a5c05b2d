// The Boost.Asio driver on real loopback sockets: two engines, each behind its
// own driver, sharing one io_context, exchange OPTIONS over UDP and TCP.
#include "transports/asio_driver.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <csignal>
#include <memory>

#include "core/message/parser.hpp"
#include "simulator/engine_node.hpp"

namespace sipcc {
namespace {

using namespace std::chrono_literals;
using transports::AsioDriver;
using transports::DriverOptions;

// An engine that answers every request it gets with 200 at once.
class AnsweringNode : public sim::EngineNode {
public:
    using EngineNode::EngineNode;
    void on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) override {
        EngineNode::on_datagram(now_ms, bytes, source);
        for (const auto& request : take<IncomingRequestEvent>()) {
            engine.respond(now_ms, request.id, 200);
        }
    }
};

EngineConfig engine_config(const SocketAddress& bound, Transport transport, std::uint64_t seed) {
    EngineConfig config;
    config.local_address = bound;
    config.transport = transport;
    config.seed = seed;
    return config;
}

OutgoingRequest options_to(const std::string& uri) {
    OutgoingRequest request;
    request.method = "OPTIONS";
    request.request_uri = *parse_uri(uri);
    request.from = *parse_name_addr("<sip:alice@127.0.0.1>");
    request.to = *parse_name_addr("<sip:bob@127.0.0.1>");
    return request;
}

// Two drivers on one io_context: "alice" asks, "bob" answers.
struct Pair {
    explicit Pair(Transport transport, DriverOptions options = {},
                  const std::string& ip = "127.0.0.1")
        : alice_driver(io, options), bob_driver(io, options) {
        auto alice_address = alice_driver.bind({ip, 0});
        auto bob_address = bob_driver.bind({ip, 0});
        EXPECT_TRUE(alice_address.ok()) << alice_address.error();
        EXPECT_TRUE(bob_address.ok()) << bob_address.error();
        alice = std::make_unique<sim::EngineNode>(engine_config(*alice_address, transport, 1));
        bob = std::make_unique<AnsweringNode>(engine_config(*bob_address, transport, 2));
        alice_driver.attach(*alice);
        bob_driver.attach(*bob);
    }

    // Sends an OPTIONS from alice and waits for its final response.
    int ask(const std::string& uri) {
        const auto handle = alice->engine.send_request(alice_driver.now_ms(), options_to(uri));
        int status = 0;
        alice_driver.run_until(
            [&] {
                for (const auto& event : alice->events_of<ResponseEvent>()) {
                    if (event.request == handle && event.response.status_code >= 200) {
                        status = event.response.status_code;
                    }
                }
                for (const auto& failure : alice->events_of<RequestFailedEvent>()) {
                    if (failure.request == handle) status = -1;
                }
                return status != 0;
            },
            5s);
        return status;
    }

    [[nodiscard]] std::string bob_uri(const std::string& host, Transport transport) const {
        return "sip:bob@" + host + ":" + std::to_string(bob_driver.local_address().port) +
               (transport == Transport::tcp ? ";transport=tcp" : "");
    }

    boost::asio::io_context io;
    AsioDriver alice_driver;
    AsioDriver bob_driver;
    std::unique_ptr<sim::EngineNode> alice;
    std::unique_ptr<AnsweringNode> bob;
};

TEST(AsioDriver, PortZeroPicksAFreePortAndReportsIt) {
    boost::asio::io_context io;
    AsioDriver first(io);
    AsioDriver second(io);
    auto first_address = first.bind({"127.0.0.1", 0});
    auto second_address = second.bind({"127.0.0.1", 0});
    ASSERT_TRUE(first_address.ok()) << first_address.error();
    ASSERT_TRUE(second_address.ok()) << second_address.error();
    EXPECT_EQ(first_address->ip, "127.0.0.1");
    EXPECT_NE(first_address->port, 0);
    EXPECT_NE(first_address->port, second_address->port);
    EXPECT_EQ(first.local_address(), *first_address);

    // Taken (UDP and TCP alike): binding the same port again fails and says why.
    AsioDriver third(io);
    auto clash = third.bind(*first_address);
    ASSERT_FALSE(clash.ok());
    EXPECT_NE(clash.error().find(first_address->to_string()), std::string::npos) << clash.error();

    AsioDriver bad(io);
    auto not_numeric = bad.bind({"localhost", 0});
    ASSERT_FALSE(not_numeric.ok());
    EXPECT_NE(not_numeric.error().find("not a numeric IP"), std::string::npos);
}

TEST(AsioDriver, OptionsOverUdp) {
    Pair pair(Transport::udp);
    EXPECT_EQ(pair.ask(pair.bob_uri("127.0.0.1", Transport::udp)), 200);
    EXPECT_EQ(pair.alice_driver.counters().messages_sent, 1u);
    EXPECT_EQ(pair.alice_driver.counters().messages_received, 1u);
    EXPECT_EQ(pair.bob_driver.counters().messages_received, 1u);
    EXPECT_EQ(pair.alice_driver.counters().send_errors, 0u);
}

TEST(AsioDriver, OptionsOverTcpReuseTheConnection) {
    Pair pair(Transport::tcp);
    const auto uri = pair.bob_uri("127.0.0.1", Transport::tcp);
    EXPECT_EQ(pair.ask(uri), 200);
    EXPECT_EQ(pair.ask(uri), 200);
    EXPECT_EQ(pair.ask(uri), 200);
    const auto& alice = pair.alice_driver.counters();
    const auto& bob = pair.bob_driver.counters();
    EXPECT_EQ(alice.tcp_connections_opened, 1u);
    EXPECT_EQ(alice.tcp_connections_reused, 2u);
    EXPECT_EQ(bob.tcp_connections_accepted, 1u);
    // Bob's answers went back on the accepted connection, not a new one.
    EXPECT_EQ(bob.tcp_connections_opened, 0u);
    EXPECT_EQ(bob.tcp_connections_reused, 3u);
    EXPECT_EQ(alice.messages_received, 3u);
    EXPECT_EQ(alice.send_errors + bob.send_errors, 0u);
    EXPECT_EQ(alice.tcp_framing_errors + bob.tcp_framing_errors, 0u);
}

TEST(AsioDriver, OptionsOverIpv6Loopback) {
    {
        boost::asio::io_context io;
        AsioDriver probe(io);
        if (!probe.bind({"::1", 0}).ok()) GTEST_SKIP() << "no IPv6 loopback here";
    }
    for (const auto transport : {Transport::udp, Transport::tcp}) {
        Pair pair(transport, {}, "::1");
        EXPECT_EQ(pair.alice_driver.local_address().ip, "::1");
        EXPECT_EQ(pair.ask(pair.bob_uri("[::1]", transport)), 200) << to_string(transport);
    }
}

TEST(AsioDriver, ResolvesLocalhost) {
    Pair pair(Transport::udp);
    EXPECT_EQ(pair.ask(pair.bob_uri("localhost", Transport::udp)), 200);
    EXPECT_EQ(pair.alice_driver.counters().resolutions, 1u);
    EXPECT_EQ(pair.alice_driver.counters().resolution_failures, 0u);
}

TEST(AsioDriver, TimerDrivesRetransmissions) {
    // Nobody listens on the target port: the engine retransmits on its timer.
    boost::asio::io_context io;
    boost::asio::ip::udp::socket silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto silent_port = silent.local_endpoint().port();
    AsioDriver driver(io);
    auto bound = driver.bind({"127.0.0.1", 0});
    ASSERT_TRUE(bound.ok()) << bound.error();
    auto config = engine_config(*bound, Transport::udp, 3);
    config.timers.t1_ms = 20;  // Timer E at 20, 40, 80 ... ms; Timer F at 1.28 s
    sim::EngineNode node(config);
    driver.attach(node);
    node.engine.send_request(driver.now_ms(),
                             options_to("sip:x@127.0.0.1:" + std::to_string(silent_port)));
    const bool failed =
        driver.run_until([&] { return !node.events_of<RequestFailedEvent>().empty(); }, 5s);
    ASSERT_TRUE(failed);
    EXPECT_EQ(node.events_of<RequestFailedEvent>().front().cause, FailureCause::timeout);
    EXPECT_GE(driver.counters().messages_sent, 5u);
    EXPECT_GE(driver.now_ms(), 64u * 20u);
}

TEST(AsioDriver, TraceRecordsBothDirections) {
    DriverOptions options;
    options.record_trace = true;
    Pair pair(Transport::udp, options);
    ASSERT_EQ(pair.ask(pair.bob_uri("127.0.0.1", Transport::udp)), 200);
    const auto& trace = pair.alice_driver.trace();
    ASSERT_EQ(trace.size(), 2u);
    EXPECT_EQ(trace[0].from.address, pair.alice_driver.local_address());
    EXPECT_EQ(trace[0].to.address, pair.bob_driver.local_address());
    EXPECT_EQ(trace[0].bytes.rfind("OPTIONS ", 0), 0u);
    EXPECT_EQ(trace[1].from.address, pair.bob_driver.local_address());
    EXPECT_EQ(trace[1].bytes.rfind("SIP/2.0 200", 0), 0u);
}

TEST(AsioDriver, TcpConnectFailureIsCountedAndLogged) {
    std::vector<std::string> lines;
    DriverOptions options;
    options.log = [&](std::string_view line) { lines.emplace_back(line); };
    boost::asio::io_context io;
    // A port that was free a moment ago: nobody listens there.
    std::uint16_t closed_port = 0;
    {
        AsioDriver probe(io);
        closed_port = probe.bind({"127.0.0.1", 0})->port;
    }
    AsioDriver driver(io, options);
    auto bound = driver.bind({"127.0.0.1", 0});
    ASSERT_TRUE(bound.ok());
    sim::EngineNode node(engine_config(*bound, Transport::tcp, 4));
    driver.attach(node);
    node.engine.send_request(
        driver.now_ms(),
        options_to("sip:x@127.0.0.1:" + std::to_string(closed_port) + ";transport=tcp"));
    driver.run_until([&] { return driver.counters().tcp_connect_failures > 0; }, 2s);
    EXPECT_EQ(driver.counters().tcp_connect_failures, 1u);
    EXPECT_EQ(driver.counters().send_errors, 1u);
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.front().find("connect"), std::string::npos) << lines.front();
    // The engine hears of it at once, not after Timer F (32 s).
    ASSERT_TRUE(driver.run_until([&] { return !node.events_of<RequestFailedEvent>().empty(); }, 2s));
    const auto failure = node.events_of<RequestFailedEvent>().front();
    EXPECT_EQ(failure.cause, FailureCause::transport_error);
    EXPECT_NE(failure.detail.find("connect"), std::string::npos) << failure.detail;
}

TEST(AsioDriver, SignalReachesTheHandler) {
    boost::asio::io_context io;
    AsioDriver driver(io);
    ASSERT_TRUE(driver.bind({"127.0.0.1", 0}).ok());
    sim::EngineNode node(engine_config(driver.local_address(), Transport::udp, 5));
    driver.attach(node);
    int received = 0;
    driver.on_signal([&](int signal_number) { received = signal_number; });
    std::raise(SIGTERM);
    EXPECT_TRUE(driver.run_until([&] { return received != 0; }, 2s));
    EXPECT_EQ(received, SIGTERM);
}

TEST(AsioDriver, StopEndsRunUntil) {
    boost::asio::io_context io;
    AsioDriver driver(io);
    ASSERT_TRUE(driver.bind({"127.0.0.1", 0}).ok());
    sim::EngineNode node(engine_config(driver.local_address(), Transport::udp, 6));
    driver.attach(node);
    boost::asio::post(io, [&] { driver.stop(); });
    const auto started = driver.now_ms();
    EXPECT_FALSE(driver.run_until([] { return false; }, 5s));
    EXPECT_LT(driver.now_ms() - started, 1000u);
}

}  // namespace
}  // namespace sipcc
