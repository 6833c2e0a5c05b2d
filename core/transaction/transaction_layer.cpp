// The layer owns the transactions, routes messages to them (§17.1.3, §17.2.3), keeps one
// queue of timer deadlines for all of them and the two output queues. The behaviour of
// each transaction lives in its machine (invite_client.cpp, non_invite_client.cpp,
// invite_server.cpp, non_invite_server.cpp).
#include "core/transaction/transaction_layer.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <queue>
#include <tuple>
#include <utility>
#include <vector>

#include "core/message/builder.hpp"
#include "core/message/header_names.hpp"
#include "core/transaction/invite_client.hpp"
#include "core/transaction/invite_server.hpp"
#include "core/transaction/non_invite_client.hpp"
#include "core/transaction/non_invite_server.hpp"
#include "core/transaction/via_stamp.hpp"

namespace sipcc {
namespace {

using Machine = std::variant<InviteClient, NonInviteClient, InviteServer, NonInviteServer>;

// One armed timer of one transaction. A transaction that re-arms pushes a new entry with
// a new generation; the old one is skipped when it surfaces (lazy deletion).
struct Deadline {
    std::uint64_t due_ms = 0;
    TransactionId transaction = 0;
    std::uint64_t generation = 0;

    friend bool operator>(const Deadline& a, const Deadline& b) {
        return std::tie(a.due_ms, a.transaction, a.generation) >
               std::tie(b.due_ms, b.transaction, b.generation);
    }
};

constexpr std::uint16_t kDefaultSipPort = 5060;

bool has_magic_cookie(const std::optional<std::string>& branch) {
    return branch && branch->starts_with(kBranchCookie);
}

std::string tag_of(const Result<NameAddr>& name_addr) {
    if (!name_addr) return {};
    return name_addr->tag().value_or("");
}

// §17.1.3: the branch of the top Via plus the CSeq method (a CANCEL shares the INVITE's
// branch but is its own transaction).
std::string client_key(std::string_view branch, std::string_view method) {
    std::string key(branch);
    key += '\n';
    key += method;
    return key;
}

// The part of a server match key that depends neither on the method nor on the To tag,
// so the layer can derive the INVITE key of a CANCEL and the ACK key of an RFC 2543
// INVITE from it.
//   RFC 3261 (§17.2.3, branch with the cookie): branch and sent-by of the top Via.
//   RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number and the top Via.
std::string server_key_base(const Message& request, const Via& top_via, bool rfc3261,
                            std::uint32_t cseq_number) {
    std::string base;
    if (rfc3261) {
        base = "3261\n" + top_via.branch().value_or("") + '\n';
        for (char ch : top_via.host) {
            base += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        if (top_via.port) base += ':' + std::to_string(*top_via.port);
    } else {
        base = "2543\n" + request.request_uri.to_string() + '\n' + tag_of(request.from()) + '\n' +
               request.call_id() + '\n' + std::to_string(cseq_number) + '\n' + top_via.to_string();
    }
    base += '\n';
    return base;
}

std::string server_key(const std::string& base, bool rfc3261, std::string_view method,
                       std::string_view to_tag) {
    std::string key = base;
    key += method;
    // With a cookie the branch alone tells transactions apart; RFC 2543 needs the To tag
    // (and an ACK is told from its INVITE by the tag of the response it acknowledges).
    if (!rfc3261) {
        key += '\n';
        key += to_tag;
    }
    return key;
}

// RFC 3261 §18.2.2 and RFC 3581 §4: back to the source when the client asked for it
// (rport) or the transport is connection-based, else to the source IP and Via port.
Peer response_destination(const Peer& source, const Via& top_via) {
    if (is_reliable(source.transport) || find_parameter(top_via.params, "rport") != nullptr) {
        return source;
    }
    return Peer{source.transport, {source.address.ip, top_via.port.value_or(kDefaultSipPort)}};
}

// A zero T1 or T2 would re-arm a retransmission timer at the current instant forever.
TimerConfig usable(TimerConfig timers) {
    timers.t1_ms = std::max<std::uint64_t>(timers.t1_ms, 1);
    timers.t2_ms = std::max<std::uint64_t>(timers.t2_ms, 1);
    return timers;
}

template <class... Handlers>
struct Overloaded : Handlers... {
    using Handlers::operator()...;
};
template <class... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;  // for compilers without aggregate CTAD

}  // namespace

struct TransactionLayer::Impl {
    struct Entry {
        Machine machine;
        std::vector<std::string> match_keys;  // every index entry naming this transaction
        bool is_client = false;
        // RFC 2543 INVITE servers only: where the ACK key is derived from once a final
        // response gives the To tag.
        std::string legacy_key_base;
        std::optional<std::uint64_t> scheduled_due_ms;
        std::uint64_t timer_generation = 0;
    };

    explicit Impl(const TimerConfig& timer_config) : timers(timer_config) {}

    TimerConfig timers;
    TransactionId last_id = 0;
    std::unordered_map<TransactionId, Entry> transactions;
    std::unordered_map<std::string, TransactionId> client_index;
    std::unordered_map<std::string, TransactionId> server_index;
    std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines;
    std::deque<TransactionTransmit> wire;
    std::deque<TransactionEvent> events;

    TransactionId next_id() { return ++last_id; }

    void add(TransactionId id, Machine machine, bool is_client, std::string match_key) {
        Entry entry{std::move(machine), {}, is_client, {}, std::nullopt, 0};
        (is_client ? client_index : server_index).emplace(match_key, id);
        entry.match_keys.push_back(std::move(match_key));
        transactions.emplace(id, std::move(entry));
    }

    // After every input to a machine: destroy it if it reached Terminated, otherwise
    // make the deadline queue agree with its timers.
    void settle(TransactionId id) {
        const auto found = transactions.find(id);
        if (found == transactions.end()) return;
        Entry& entry = found->second;
        const bool terminated =
            std::visit([](const auto& machine) { return machine.terminated(); }, entry.machine);
        if (terminated) {
            auto& index = entry.is_client ? client_index : server_index;
            for (const auto& key : entry.match_keys) index.erase(key);
            transactions.erase(found);
            events.push_back(TransactionTerminated{id});
            return;
        }
        const auto due_ms = std::visit(
            [](const auto& machine) { return machine.next_deadline_ms(); }, entry.machine);
        if (due_ms == entry.scheduled_due_ms) return;
        entry.scheduled_due_ms = due_ms;
        ++entry.timer_generation;
        if (due_ms) deadlines.push({*due_ms, id, entry.timer_generation});
    }

    [[nodiscard]] bool is_current(const Deadline& deadline) const {
        const auto found = transactions.find(deadline.transaction);
        return found != transactions.end() && found->second.timer_generation == deadline.generation;
    }

    // Keeps a live deadline on top, so next_deadline() can answer from the top alone.
    void drop_stale_deadlines() {
        while (!deadlines.empty() && !is_current(deadlines.top())) deadlines.pop();
    }

    bool receive_response(std::uint64_t now_ms, Message response);
    void receive_request(std::uint64_t now_ms, Message request, const Peer& source);
};

TransactionLayer::TransactionLayer(TimerConfig timers)
    : impl_(std::make_unique<Impl>(usable(timers))), timers_(usable(timers)) {}

TransactionLayer::~TransactionLayer() = default;

TransactionId TransactionLayer::start_client(std::uint64_t now_ms, Message request,
                                             Peer destination) {
    if (!request.is_request || request.method.empty() || request.method == "ACK") return 0;
    const auto top_via = request.top_via();
    const auto cseq = request.cseq();
    if (!top_via || !cseq || cseq->method != request.method) return 0;
    const auto branch = top_via->branch();
    if (!has_magic_cookie(branch)) return 0;
    std::string key = client_key(*branch, request.method);
    // A branch is unique per transaction (§8.1.1.7); a second one could never be matched.
    if (impl_->client_index.contains(key)) return 0;

    const TransactionId id = impl_->next_id();
    Machine machine = request.method == "INVITE"
                          ? Machine(std::in_place_type<InviteClient>, id, impl_->timers,
                                    std::move(request), std::move(destination))
                          : Machine(std::in_place_type<NonInviteClient>, id, impl_->timers,
                                    std::move(request), std::move(destination));
    impl_->add(id, std::move(machine), true, std::move(key));
    auto& started = impl_->transactions.at(id).machine;
    std::visit(Overloaded{[&](InviteClient& client) { client.start(now_ms, impl_->wire); },
                          [&](NonInviteClient& client) { client.start(now_ms, impl_->wire); },
                          [](auto&) {}},
               started);
    impl_->settle(id);
    impl_->drop_stale_deadlines();
    return id;
}

void TransactionLayer::send_stateless(const Message& message, Peer destination) {
    impl_->wire.push_back({0, std::move(destination), message.to_bytes()});
}

bool TransactionLayer::respond(std::uint64_t now_ms, TransactionId server_transaction,
                               Message response) {
    const int code = response.status_code;
    if (response.is_request || code < 100 || code > 699) return false;
    const auto found = impl_->transactions.find(server_transaction);
    if (found == impl_->transactions.end()) return false;
    auto& entry = found->second;
    const bool sent =
        std::visit(Overloaded{[&](InviteServer& server) {
                                  return server.respond(now_ms, std::move(response), impl_->wire);
                              },
                              [&](NonInviteServer& server) {
                                  return server.respond(now_ms, std::move(response), impl_->wire);
                              },
                              [](auto&) { return false; }},
                   entry.machine);
    if (!sent) return false;

    // §17.2.3 (RFC 2543): the ACK is recognised by the To tag of our final response.
    if (!entry.legacy_key_base.empty() && code >= 200) {
        const auto& to_tag = std::get<InviteServer>(entry.machine).final_to_tag();
        std::string ack_key = server_key(entry.legacy_key_base, false, "ACK", to_tag);
        if (impl_->server_index.emplace(ack_key, server_transaction).second) {
            entry.match_keys.push_back(std::move(ack_key));
        }
    }
    impl_->settle(server_transaction);
    impl_->drop_stale_deadlines();
    return true;
}

void TransactionLayer::receive(std::uint64_t now_ms, Message message, Peer source) {
    if (message.is_request) {
        impl_->receive_request(now_ms, std::move(message), source);
    } else if (!impl_->receive_response(now_ms, std::move(message))) {
        ++stray_responses_dropped_;
    }
    impl_->drop_stale_deadlines();
}

bool TransactionLayer::Impl::receive_response(std::uint64_t now_ms, Message response) {
    if (response.status_code < 100 || response.status_code > 699) return false;
    const auto top_via = response.top_via();
    const auto cseq = response.cseq();
    if (!top_via || !cseq) return false;
    const auto branch = top_via->branch();
    if (!branch) return false;
    const auto found = client_index.find(client_key(*branch, cseq->method));
    if (found == client_index.end()) return false;

    const TransactionId id = found->second;
    std::visit(Overloaded{[&](InviteClient& client) {
                              client.on_response(now_ms, std::move(response), wire, events);
                          },
                          [&](NonInviteClient& client) {
                              client.on_response(now_ms, std::move(response), events);
                          },
                          [](auto&) {}},
               transactions.at(id).machine);
    settle(id);
    return true;
}

void TransactionLayer::Impl::receive_request(std::uint64_t now_ms, Message request,
                                             const Peer& source) {
    // Without a top Via and a CSeq no response could be built or routed: drop it.
    const auto parsed_via = request.top_via();
    const auto cseq = request.cseq();
    if (!parsed_via || !cseq || request.method.empty()) return;
    const Via& top_via = *parsed_via;

    const bool rfc3261 = has_magic_cookie(top_via.branch());
    const bool is_ack = request.method == "ACK";
    // Only the RFC 2543 keys use the To tag: spare the parse on the common path.
    const std::string to_tag = rfc3261 ? std::string() : tag_of(request.to());
    const std::string base = server_key_base(request, top_via, rfc3261, cseq->number);
    // With a cookie, the ACK for a non-2xx carries the INVITE's branch (§17.1.1.3).
    const std::string key =
        server_key(base, rfc3261, is_ack && rfc3261 ? "INVITE" : request.method, to_tag);
    // Both worked out from the Via as the client sent it, before stamping it.
    const Peer reply_to = response_destination(source, top_via);
    stamp_received(request, top_via, source);

    if (const auto found = server_index.find(key); found != server_index.end()) {
        const TransactionId id = found->second;
        std::visit(
            Overloaded{[&](InviteServer& server) {
                           server.on_request(now_ms, std::move(request), source, wire, events);
                       },
                       [&](NonInviteServer& server) { server.on_request(wire); }, [](auto&) {}},
            transactions.at(id).machine);
        settle(id);
        return;
    }
    if (is_ack) {
        // The ACK for a 2xx is a transaction of its own that creates no state (§17.1.1.3).
        events.push_back(RequestReceived{0, std::move(request), source, 0});
        return;
    }

    TransactionId cancelled_invite = 0;
    if (request.method == "CANCEL") {
        // §9.2: the INVITE this CANCEL targets is the one it would match as an INVITE.
        const auto invite = server_index.find(server_key(base, rfc3261, "INVITE", to_tag));
        if (invite != server_index.end()) cancelled_invite = invite->second;
    }
    const TransactionId id = next_id();
    const bool is_invite = request.method == "INVITE";
    Message kept = request;
    Machine machine = is_invite ? Machine(std::in_place_type<InviteServer>, id, timers,
                                          std::move(kept), source, reply_to)
                                : Machine(std::in_place_type<NonInviteServer>, id, timers,
                                          std::move(kept), source, reply_to);
    add(id, std::move(machine), false, key);
    if (is_invite && !rfc3261) transactions.at(id).legacy_key_base = base;
    events.push_back(RequestReceived{id, std::move(request), source, cancelled_invite});
    settle(id);
}

void TransactionLayer::handle_timeout(std::uint64_t now_ms) {
    auto& deadlines = impl_->deadlines;
    while (!deadlines.empty() && deadlines.top().due_ms <= now_ms) {
        const Deadline deadline = deadlines.top();
        deadlines.pop();
        if (!impl_->is_current(deadline)) continue;
        auto& entry = impl_->transactions.at(deadline.transaction);
        entry.scheduled_due_ms.reset();  // consumed: settle() queues whatever comes next
        std::visit([&](auto& machine) { machine.on_timer(now_ms, impl_->wire, impl_->events); },
                   entry.machine);
        impl_->settle(deadline.transaction);
    }
    impl_->drop_stale_deadlines();
}

std::optional<std::uint64_t> TransactionLayer::next_deadline() const {
    if (impl_->deadlines.empty()) return std::nullopt;
    return impl_->deadlines.top().due_ms;
}

void TransactionLayer::transport_error(std::uint64_t /*now_ms*/, TransactionId transaction,
                                       std::string reason) {
    const auto found = impl_->transactions.find(transaction);
    if (found == impl_->transactions.end()) return;
    std::visit([&](auto& machine) { machine.on_transport_error(std::move(reason), impl_->events); },
               found->second.machine);
    impl_->settle(transaction);
    impl_->drop_stale_deadlines();
}

std::optional<TransactionTransmit> TransactionLayer::poll_transmit() {
    if (impl_->wire.empty()) return std::nullopt;
    TransactionTransmit transmit = std::move(impl_->wire.front());
    impl_->wire.pop_front();
    return transmit;
}

std::optional<TransactionEvent> TransactionLayer::poll_event() {
    if (impl_->events.empty()) return std::nullopt;
    TransactionEvent event = std::move(impl_->events.front());
    impl_->events.pop_front();
    return event;
}

std::size_t TransactionLayer::active_transactions() const {
    return impl_->transactions.size();
}

std::optional<TransactionKind> TransactionLayer::kind_of(TransactionId transaction) const {
    const auto found = impl_->transactions.find(transaction);
    if (found == impl_->transactions.end()) return std::nullopt;
    return std::visit([](const auto& machine) { return machine.kind; }, found->second.machine);
}

std::string TransactionLayer::state_of(TransactionId transaction) const {
    const auto found = impl_->transactions.find(transaction);
    if (found == impl_->transactions.end()) return "Terminated";
    return std::string(std::visit([](const auto& machine) { return machine.state_name(); },
                                  found->second.machine));
}

const Message* TransactionLayer::request_of(TransactionId transaction) const {
    const auto found = impl_->transactions.find(transaction);
    if (found == impl_->transactions.end()) return nullptr;
    return std::visit([](const auto& machine) { return &machine.request(); },
                      found->second.machine);
}

}  // namespace sipcc
