#include "simulator/pbx.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "core/auth/auth_params.hpp"
#include "core/message/builder.hpp"
#include "core/message/header_names.hpp"
#include "core/message/parser.hpp"
#include "core/transaction/via_stamp.hpp"

namespace sipcc::sim {
namespace {

constexpr std::uint16_t kDefaultSipPort = 5060;
constexpr std::uint16_t kDefaultSipsPort = 5061;
constexpr std::uint32_t kDefaultMaxForwards = 70;  // §16.6 step 3
constexpr std::string_view kAllow =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, REFER, NOTIFY, SUBSCRIBE, INFO, UPDATE, MESSAGE";

// FNV-1a over `text`, twice with different bases: 128 stable bits as 32 hex digits. Branches
// and tags must come out the same for every retransmission, so they are hashes, not draws.
std::string stable_hash_hex(std::string_view text) {
    const auto fnv1a = [text](std::uint64_t hash) {
        for (unsigned char ch : text) {
            hash ^= ch;
            hash *= 0x100000001b3ULL;
        }
        return hash;
    };
    char out[33];
    std::snprintf(out, sizeof out, "%016llx%016llx",
                  static_cast<unsigned long long>(fnv1a(0xcbf29ce484222325ULL)),
                  static_cast<unsigned long long>(fnv1a(0x84222325cbf29ce4ULL)));
    return std::string(out, 32);
}

std::uint16_t default_port(const Uri& uri) {
    return uri.scheme == "sips" ? kDefaultSipsPort : kDefaultSipPort;
}

Transport transport_for(const Uri& uri) {
    if (const auto* param = find_parameter(uri.params, "transport"); param && param->value) {
        if (auto transport = transport_from_string(*param->value)) return *transport;
    }
    return Transport::udp;
}

std::optional<std::uint32_t> parse_unsigned(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    std::uint32_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || stop != end) return std::nullopt;
    return value;
}

bool is_wildcard_contact(std::string_view value) {
    const auto first = value.find_first_not_of(" \t");
    const auto last = value.find_last_not_of(" \t");
    return first != std::string_view::npos && first == last && value[first] == '*';
}

// Removes the first value of a header (one entry per value after parsing).
void remove_first_value(Message& message, std::string_view name) {
    auto it =
        std::find_if(message.headers.begin(), message.headers.end(),
                     [&](const Header& header) { return same_header_name(header.name, name); });
    if (it != message.headers.end()) message.headers.erase(it);
}

void remove_last_value(Message& message, std::string_view name) {
    auto it =
        std::find_if(message.headers.rbegin(), message.headers.rend(),
                     [&](const Header& header) { return same_header_name(header.name, name); });
    if (it != message.headers.rend()) message.headers.erase(std::next(it).base());
}

// Puts a value on top of a header: before its first value, else right after the Vias.
void insert_top_value(Message& message, std::string_view name, std::string value) {
    auto& headers = message.headers;
    auto position = std::find_if(headers.begin(), headers.end(), [&](const Header& header) {
        return same_header_name(header.name, name);
    });
    if (position == headers.end()) {
        position = headers.begin();
        for (auto it = headers.begin(); it != headers.end(); ++it) {
            if (same_header_name(it->name, "Via")) position = std::next(it);
        }
    }
    headers.insert(position, {canonical_header_name(name), std::move(value)});
}

// Contact URIs compared on what identifies a device (scheme, user, host, port); parameters
// are ignored (a simplification of §19.1.4).
bool same_contact(const Uri& a, const Uri& b) {
    return a.scheme == b.scheme && a.user == b.user && iequals(a.host, b.host) &&
           a.port.value_or(default_port(a)) == b.port.value_or(default_port(b));
}

// The Request-URI for a registered contact: its URI without ?headers or method=.
Uri contact_target(const Uri& contact) {
    Uri target = contact;
    target.headers.clear();
    remove_parameter(target.params, "method");
    return target;
}

std::optional<std::string> realm_of(std::string_view credentials) {
    auto parsed = auth::parse_auth_value(credentials);
    if (!parsed) return std::nullopt;
    auto realm = parsed->get("realm");
    if (!realm) return std::nullopt;
    return std::string(*realm);
}

bool creates_dialog(std::string_view method) {
    return method == "INVITE" || method == "SUBSCRIBE" || method == "REFER";
}

std::uint64_t remaining_seconds(std::uint64_t expires_at_ms, std::uint64_t now_ms) {
    return expires_at_ms > now_ms ? (expires_at_ms - now_ms + 999) / 1000 : 0;
}

}  // namespace

// --------------------------------------------------------------------------------------------
// RecentKeys

bool Pbx::RecentKeys::contains(const std::string& key, std::uint64_t now_ms) const {
    auto it = expires_at_ms_.find(key);
    return it != expires_at_ms_.end() && it->second > now_ms;
}

bool Pbx::RecentKeys::remember(const std::string& key, std::uint64_t now_ms,
                               std::uint64_t lifetime_ms) {
    forget_expired(now_ms);
    if (contains(key, now_ms)) return false;
    expires_at_ms_[key] = now_ms + lifetime_ms;
    order_.emplace_back(now_ms + lifetime_ms, key);
    return true;
}

void Pbx::RecentKeys::forget_expired(std::uint64_t now_ms) {
    while (!order_.empty() && (order_.front().first <= now_ms || order_.size() > kCapacity)) {
        auto it = expires_at_ms_.find(order_.front().second);
        // A key remembered again later has a newer entry further back; keep it.
        if (it != expires_at_ms_.end() && it->second == order_.front().first) {
            expires_at_ms_.erase(it);
        }
        order_.pop_front();
    }
}

// --------------------------------------------------------------------------------------------
// Setup

Pbx::Pbx(PbxConfig config)
    : config_(std::move(config)), random_(std::make_unique<std::mt19937_64>(config_.seed)) {
    realm_ = config_.realm.empty() ? config_.domain : config_.realm;
    local_tag_prefix_ = "pbx";
    static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 8; ++i) local_tag_prefix_ += kAlphabet[(*random_)() % 36];

    auth::DigestServerConfig digest;
    digest.realm = realm_;
    digest.algorithms = config_.auth_algorithms;
    digest.nonce_lifetime_ms = config_.nonce_lifetime_ms;
    auto* random = random_.get();
    auto created = auth::DigestServer::create(std::move(digest), [random] { return (*random)(); });
    if (created) {
        digest_.emplace(std::move(created).value());
    } else {
        setup_error_ = "digest: " + created.error();
    }

    for (const auto& route : config_.routes) {
        auto destination = parse_host_port(route.destination);
        if (!destination || destination->host.empty()) {
            if (!setup_error_.empty()) setup_error_ += "; ";
            setup_error_ +=
                "route \"" + route.prefix + "\": bad destination \"" + route.destination + "\"";
            continue;
        }
        routes_.push_back({route, destination->host, destination->port.value_or(kDefaultSipPort)});
    }
}

// --------------------------------------------------------------------------------------------
// Node

void Pbx::on_datagram(std::uint64_t now_ms, std::string_view bytes, Peer source) {
    forget_expired(now_ms);
    auto parsed = parse_message(bytes);
    if (!parsed) {
        ++counters_.malformed_dropped;
        return;
    }
    if (parsed->is_request) {
        handle_request(now_ms, std::move(parsed).value(), source);
    } else {
        handle_response(now_ms, std::move(parsed).value());
    }
}

void Pbx::on_resolved(std::uint64_t now_ms, std::uint64_t resolve_id, std::optional<std::string> ip,
                      std::string error) {
    (void)now_ms;
    auto it = pending_resolution_.find(resolve_id);
    if (it == pending_resolution_.end()) return;
    PendingSend pending = std::move(it->second);
    pending_resolution_.erase(it);
    if (!ip) {
        if (pending.request) {
            respond(*pending.request, pending.request_source, 503, {},
                    "Service Unavailable (" + pending.host + ": " + error + ")");
        }
        return;
    }
    resolved_[pending.host] = *ip;
    pending.destination.address.ip = *ip;
    send_forwarded(pending.destination, std::move(pending.bytes),
                   pending.request ? &*pending.request : nullptr, pending.request_source);
}

std::optional<Transmit> Pbx::poll_transmit() {
    if (outbox_.empty()) return std::nullopt;
    auto transmit = std::move(outbox_.front());
    outbox_.pop_front();
    return transmit;
}

std::optional<ResolveRequest> Pbx::poll_resolve() {
    if (resolves_.empty()) return std::nullopt;
    auto request = std::move(resolves_.front());
    resolves_.pop_front();
    return request;
}

// --------------------------------------------------------------------------------------------
// Requests

void Pbx::handle_request(std::uint64_t now_ms, Message request, const Peer& source) {
    ++counters_.requests_received;
    auto top_via = request.top_via();
    if (!top_via) {
        ++counters_.malformed_dropped;  // nowhere to send an answer
        return;
    }
    stamp_received(request, *top_via, source);
    const bool is_ack = request.method == "ACK";

    auto from = request.from();
    auto to = request.to();
    auto cseq = request.cseq();
    auto routes = request.name_addrs("Route");
    std::string problem;
    if (!from) {
        problem = from.error();
    } else if (!to) {
        problem = to.error();
    } else if (!cseq) {
        problem = cseq.error();
    } else if (request.call_id().empty()) {
        problem = "no Call-ID header";
    } else if (cseq->method != request.method) {
        problem = "CSeq method differs";
    } else if (!routes) {
        problem = "Route: " + routes.error();
    }
    if (!problem.empty()) {
        if (is_ack) ++counters_.malformed_dropped;
        respond(request, source, 400, {}, "Bad Request (" + problem + ")");
        return;
    }
    if (!request.request_uri.is_sip() || !request.request_uri.opaque.empty() ||
        request.request_uri.host.empty()) {
        respond(request, source, 416);
        return;
    }

    // §16.4 route information preprocessing. A strict router put our Record-Route into the
    // Request-URI: the real Request-URI is the last Route.
    const Uri& request_uri = request.request_uri;
    const bool is_our_record_route =
        request_uri.user.empty() && request_uri.host == config_.address.ip &&
        request_uri.port.value_or(kDefaultSipPort) == config_.address.port &&
        find_parameter(request_uri.params, "lr") != nullptr;
    if (!routes->empty() && is_our_record_route) {
        request.request_uri = routes->back().uri;
        remove_last_value(request, "Route");
        routes->pop_back();
    }
    // A top Route naming us was put there for us: remove it and follow what is below.
    while (!routes->empty() && is_own_uri(routes->front().uri)) {
        remove_first_value(request, "Route");
        routes->erase(routes->begin());
    }

    const auto to_tag = to->tag();
    const bool in_dialog = to_tag.has_value();
    // The ACK for a non-2xx we answered ourselves ends here (§17.2.1; we are its UAS).
    if (is_ack && in_dialog && to_tag->starts_with(local_tag_prefix_)) {
        ++counters_.acks_absorbed;
        return;
    }

    const bool routed = !routes->empty();
    if (!routed && is_own_uri(request.request_uri)) {
        if (request.method == "REGISTER") {
            handle_register(now_ms, request, source);
            return;
        }
        if (request.method == "OPTIONS" && request.request_uri.user.empty()) {
            respond(request, source, 200, {{"Allow", std::string(kAllow)}});
            return;
        }
    }

    // From here on the request is proxied: §16.3 Max-Forwards, §16.5 credentials, targets.
    std::uint32_t max_forwards = kDefaultMaxForwards;
    if (const auto* value = request.header("Max-Forwards")) {
        const auto parsed = parse_unsigned(*value);
        if (!parsed) {
            respond(request, source, 400, {}, "Bad Request (Max-Forwards)");
            return;
        }
        if (*parsed == 0) {
            respond(request, source, 483);
            return;
        }
        max_forwards = *parsed - 1;
    }

    const bool needs_credentials =
        (config_.challenge_invite && request.method == "INVITE" && !in_dialog) ||
        (config_.challenge_refer && request.method == "REFER");
    Message outgoing = request;
    if (needs_credentials) {
        if (!authenticate(now_ms, request, source, /*proxy=*/true)) return;
        // Our realm's credentials are consumed here; the next hop has no use for them.
        std::erase_if(outgoing.headers, [&](const Header& header) {
            return same_header_name(header.name, "Proxy-Authorization") &&
                   realm_of(header.value) == realm_;
        });
    }
    outgoing.set_header("Max-Forwards", std::to_string(max_forwards));

    Uri next_hop;
    if (config_.quirk_misroute_in_dialog_refer && request.method == "REFER" && in_dialog) {
        // The quirk: the REFER is treated like a new call to the Request-URI's user.
        outgoing.remove_header("Route");
        const auto* binding = newest_binding(request.request_uri.user);
        if (binding == nullptr) {
            respond(request, source, 404, {}, "Not Found (no registration for REFER target)");
            return;
        }
        outgoing.request_uri = contact_target(binding->contact.uri);
        next_hop = outgoing.request_uri;
    } else if (routed) {
        next_hop = routes->front().uri;  // loose routing: the Request-URI stays
    } else if (is_own_uri(request.request_uri)) {
        const std::string& user = request.request_uri.user;
        if (const auto* binding = user.empty() ? nullptr : newest_binding(user)) {
            outgoing.request_uri = contact_target(binding->contact.uri);
        } else if (const auto* route = user.empty() ? nullptr : match_route(user)) {
            Uri rewritten = request.request_uri;
            rewritten.user = route->route.add_prefix +
                             user.substr(std::min(route->route.strip_digits, user.size()));
            rewritten.host = route->host;
            rewritten.port = route->port;
            outgoing.request_uri = std::move(rewritten);
        } else {
            respond(request, source, 404);
            return;
        }
        next_hop = outgoing.request_uri;
    } else {
        next_hop = request.request_uri;  // another domain: sent where it is addressed
    }

    if (config_.record_route && !in_dialog && creates_dialog(request.method)) {
        NameAddr record_route;
        record_route.uri.host = config_.address.ip;
        record_route.uri.port = config_.address.port;
        record_route.uri.params.push_back({"lr", std::nullopt});
        insert_top_value(outgoing, "Record-Route", record_route.to_string());
    }
    forward(std::move(outgoing), request, source, next_hop);
}

void Pbx::forward(Message outgoing, const Message& received, const Peer& source,
                  const Uri& next_hop) {
    if (!next_hop.opaque.empty() || next_hop.host.empty()) {
        respond(received, source, 400, {},
                "Bad Request (cannot route to " + next_hop.to_string() + ")");
        return;
    }
    const Transport transport = transport_for(next_hop);
    Via via;
    via.transport = std::string(to_string(transport));
    via.host = config_.address.ip;
    via.port = config_.address.port;
    via.params.push_back({"branch", branch_for(received)});
    outgoing.prepend_header("Via", via.to_string());
    const Peer destination{transport,
                           {next_hop.host, next_hop.port.value_or(default_port(next_hop))}};
    send_to_host(next_hop.host, destination, outgoing.to_bytes(), &received, source);
}

void Pbx::send_to_host(std::string host, Peer destination, std::string bytes,
                       const Message* request, const Peer& request_source) {
    if (is_numeric_ip(host)) {
        send_forwarded(std::move(destination), std::move(bytes), request, request_source);
        return;
    }
    if (auto cached = resolved_.find(host); cached != resolved_.end()) {
        destination.address.ip = cached->second;
        send_forwarded(std::move(destination), std::move(bytes), request, request_source);
        return;
    }
    const auto id = next_resolve_id_++;
    resolves_.push_back({id, host});
    PendingSend pending;
    pending.host = std::move(host);
    pending.destination = std::move(destination);
    pending.bytes = std::move(bytes);
    if (request != nullptr) pending.request = *request;
    pending.request_source = request_source;
    pending_resolution_.emplace(id, std::move(pending));
}

void Pbx::send_forwarded(Peer destination, std::string bytes, const Message* request,
                         const Peer& request_source) {
    if (destination.address == config_.address) {
        // Sending to ourselves would only come back with one hop less (§16.3 step 4).
        if (request != nullptr) {
            respond(*request, request_source, 482, {}, "Loop Detected (next hop is the PBX)");
        } else {
            ++counters_.stray_responses_dropped;
        }
        return;
    }
    if (request != nullptr) {
        ++counters_.requests_forwarded;
    } else {
        ++counters_.responses_forwarded;
    }
    outbox_.push_back({std::move(destination), std::move(bytes)});
}

// --------------------------------------------------------------------------------------------
// Registrar (§10.3)

void Pbx::handle_register(std::uint64_t now_ms, const Message& request, const Peer& source) {
    const auto to = request.to();
    const Uri& address_of_record = to->uri;
    const bool own_host = iequals(address_of_record.host, config_.domain) ||
                          address_of_record.host == config_.address.ip;
    if (!address_of_record.is_sip() || address_of_record.user.empty() || !own_host) {
        respond(request, source, 404, {}, "Not Found (not an address of this domain)");
        return;
    }
    const std::string& user = address_of_record.user;
    if (config_.challenge_register) {
        const auto authenticated = authenticate(now_ms, request, source, /*proxy=*/false);
        if (!authenticated) return;
        if (*authenticated != user) {
            ++counters_.auth_failures;
            respond(request, source, 403, {}, "Forbidden (credentials of another user)");
            return;
        }
    } else if (!password_of(user)) {
        respond(request, source, 404);
        return;
    }

    std::optional<std::uint32_t> expires_header;
    if (const auto* value = request.header("Expires")) {
        expires_header = parse_unsigned(*value);
        if (!expires_header) {
            respond(request, source, 400, {}, "Bad Request (Expires)");
            return;
        }
    }
    bool wildcard = false;
    std::vector<NameAddr> contacts;
    for (const auto& value : request.header_values("Contact")) {
        if (is_wildcard_contact(value)) {
            wildcard = true;
            continue;
        }
        auto contact = parse_name_addr(value);
        if (!contact) {
            respond(request, source, 400, {}, "Bad Request (Contact: " + contact.error() + ")");
            return;
        }
        contacts.push_back(std::move(contact).value());
    }

    const std::string call_id = request.call_id();
    const std::uint32_t cseq = request.cseq()->number;
    auto& user_bindings = bindings_[user];
    // §10.3 step 7: a request older than what a binding of the same Call-ID saw fails.
    const auto out_of_order = [&](const Binding& binding) {
        return binding.call_id == call_id && cseq < binding.cseq;
    };
    const auto answer_out_of_order = [&] {
        if (user_bindings.empty()) bindings_.erase(user);
        respond(request, source, 500, {}, "Server Internal Error (REGISTER out of order)");
    };

    if (wildcard) {
        if (!contacts.empty() || expires_header != 0u) {
            if (user_bindings.empty()) bindings_.erase(user);
            respond(request, source, 400, {},
                    "Bad Request (Contact: * needs Expires: 0 and no other contact)");
            return;
        }
        if (std::any_of(user_bindings.begin(), user_bindings.end(), out_of_order)) {
            answer_out_of_order();
            return;
        }
        user_bindings.clear();
    } else {
        // Check every contact before changing anything, so a refusal changes nothing.
        struct Change {
            NameAddr contact;
            std::uint32_t expires_s = 0;
        };
        std::vector<Change> changes;
        for (auto& contact : contacts) {
            std::uint32_t expires_s = expires_header.value_or(config_.default_expires_s);
            if (const auto* param = find_parameter(contact.params, "expires")) {
                const auto parsed = param->value ? parse_unsigned(*param->value) : std::nullopt;
                if (!parsed) {
                    if (user_bindings.empty()) bindings_.erase(user);
                    respond(request, source, 400, {}, "Bad Request (Contact expires)");
                    return;
                }
                expires_s = *parsed;
            }
            if (expires_s != 0 && expires_s < config_.min_expires_s) {
                if (user_bindings.empty()) bindings_.erase(user);
                respond(request, source, 423,
                        {{"Min-Expires", std::to_string(config_.min_expires_s)}});
                return;
            }
            expires_s = std::min(expires_s, config_.max_expires_s);
            auto existing = std::find_if(user_bindings.begin(), user_bindings.end(),
                                         [&](const Binding& binding) {
                                             return same_contact(binding.contact.uri, contact.uri);
                                         });
            if (existing != user_bindings.end()) {
                if (out_of_order(*existing)) {
                    answer_out_of_order();
                    return;
                }
                // The same request again (a retransmission): the binding already reflects it.
                if (existing->call_id == call_id && existing->cseq == cseq) continue;
            }
            remove_parameter(contact.params, "expires");
            changes.push_back({std::move(contact), expires_s});
        }
        for (auto& change : changes) {
            auto existing = std::find_if(
                user_bindings.begin(), user_bindings.end(), [&](const Binding& binding) {
                    return same_contact(binding.contact.uri, change.contact.uri);
                });
            if (change.expires_s == 0) {
                if (existing != user_bindings.end()) user_bindings.erase(existing);
                continue;
            }
            if (existing == user_bindings.end()) {
                user_bindings.emplace_back();
                existing = std::prev(user_bindings.end());
            }
            existing->contact = std::move(change.contact);
            existing->expires_at_ms = now_ms + std::uint64_t{change.expires_s} * 1000;
            existing->call_id = call_id;
            existing->cseq = cseq;
            existing->refreshed_order = next_refreshed_order_++;
        }
    }

    // §10.3 step 8: the 200 lists every current binding with its remaining lifetime.
    std::vector<Header> listed;
    for (const auto& binding : user_bindings) {
        NameAddr contact = binding.contact;
        set_parameter(contact.params, "expires",
                      std::to_string(remaining_seconds(binding.expires_at_ms, now_ms)));
        listed.push_back({"Contact", contact.to_string()});
    }
    if (user_bindings.empty()) bindings_.erase(user);
    ++counters_.registrations_accepted;
    respond(request, source, 200, std::move(listed));
}

// --------------------------------------------------------------------------------------------
// Digest (§22)

std::optional<std::string> Pbx::authenticate(std::uint64_t now_ms, const Message& request,
                                             const Peer& source, bool proxy) {
    if (!digest_) {
        respond(request, source, 500, {}, "Server Internal Error (" + setup_error_ + ")");
        return std::nullopt;
    }
    const std::string_view credentials_header = proxy ? "Proxy-Authorization" : "Authorization";
    const std::string* credentials = nullptr;
    for (const auto& header : request.headers) {
        if (same_header_name(header.name, credentials_header) && realm_of(header.value) == realm_) {
            credentials = &header.value;
            break;
        }
    }
    bool stale = false;
    if (credentials != nullptr) {
        // A retransmission carries the credentials we accepted already (its nc cannot grow).
        const auto top_via = request.top_via();
        const std::string retransmission_key = (top_via ? top_via->branch().value_or("") : "") +
                                               '\n' + request.method + '\n' + *credentials;
        if (accepted_credentials_.contains(retransmission_key, now_ms)) {
            auto parsed = auth::parse_auth_value(*credentials);
            auto username = parsed ? parsed->get("username") : std::nullopt;
            return std::string(username.value_or(""));
        }
        const auto lookup = [this](std::string_view user) { return password_of(user); };
        const auto outcome =
            digest_->verify(*credentials, request.method, request.body, lookup, now_ms);
        switch (outcome.status) {
            case auth::VerifyStatus::ok:
                accepted_credentials_.remember(retransmission_key, now_ms,
                                               config_.transaction_memory_ms);
                return outcome.user;
            case auth::VerifyStatus::stale_nonce:
                stale = true;  // right password, old nonce: not a failure
                break;
            case auth::VerifyStatus::malformed:
                ++counters_.auth_failures;
                respond(request, source, 400, {}, "Bad Request (" + outcome.detail + ")");
                return std::nullopt;
            default:
                ++counters_.auth_failures;
                break;
        }
    }
    std::vector<Header> challenges;
    for (auto& value : digest_->make_challenges(now_ms, stale)) {
        challenges.push_back({proxy ? "Proxy-Authenticate" : "WWW-Authenticate", std::move(value)});
    }
    respond(request, source, proxy ? 407 : 401, std::move(challenges));
    return std::nullopt;
}

// --------------------------------------------------------------------------------------------
// Responses

void Pbx::handle_response(std::uint64_t now_ms, Message response) {
    ++counters_.responses_received;
    auto vias = response.vias();
    // §16.11: the top Via must be ours, and there must be someone below it to send to.
    if (!vias || vias->size() < 2 || !is_own_via(vias->front())) {
        ++counters_.stray_responses_dropped;
        return;
    }
    remove_first_value(response, "Via");
    const Via& next = (*vias)[1];
    const auto* received = find_parameter(next.params, "received");
    const auto* rport = find_parameter(next.params, "rport");
    std::string host = (received && received->value) ? *received->value : next.host;
    std::uint16_t port = next.port.value_or(kDefaultSipPort);
    if (rport && rport->value) {
        if (auto value = parse_unsigned(*rport->value); value && *value > 0 && *value <= 65535) {
            port = static_cast<std::uint16_t>(*value);
        }
    }
    const Transport transport = transport_from_string(next.transport).value_or(Transport::udp);
    count_invite_final(now_ms, response);
    const Peer destination{transport, {host, port}};
    send_to_host(std::move(host), destination, response.to_bytes(), nullptr, Peer{});
}

void Pbx::count_invite_final(std::uint64_t now_ms, const Message& response) {
    if (response.status_code < 200) return;
    const auto cseq = response.cseq();
    if (!cseq || cseq->method != "INVITE") return;
    const auto to = response.to();
    const std::string key = response.call_id() + '\n' + std::to_string(cseq->number) + '\n' +
                            (to ? to->tag().value_or("") : "") + '\n' +
                            std::to_string(response.status_code);
    // Retransmitted finals are forwarded again (we are stateless) but counted once.
    if (!counted_finals_.remember(key, now_ms, config_.transaction_memory_ms)) return;
    if (response.status_code < 300) {
        ++counters_.calls_ok;
    } else {
        ++counters_.calls_failed;
    }
}

void Pbx::respond(const Message& request, const Peer& source, int status_code,
                  std::vector<Header> extra_headers, std::string reason_phrase) {
    if (request.method == "ACK") return;  // never answered (§17.1.1.3)
    Message response =
        make_response(request, status_code, local_tag_for(request), std::move(reason_phrase));
    response.add_header("Server", config_.server_name);
    for (auto& header : extra_headers) response.add_header(header.name, std::move(header.value));
    ++counters_.responses_sent;
    if (status_code == 401 || status_code == 407) ++counters_.challenges_sent;
    if (status_code == 404) ++counters_.not_found;
    if (status_code == 483) ++counters_.too_many_hops;
    // §18.2.2 and RFC 3581: back to the source port when rport was asked for, else to the
    // source IP and the Via's port.
    Peer destination = source;
    if (auto via = request.top_via();
        via && find_parameter(via->params, "rport") == nullptr && !is_reliable(source.transport)) {
        destination.address.port = via->port.value_or(kDefaultSipPort);
    }
    outbox_.push_back({std::move(destination), response.to_bytes()});
}

// --------------------------------------------------------------------------------------------
// Helpers

void Pbx::forget_expired(std::uint64_t now_ms) {
    for (auto it = bindings_.begin(); it != bindings_.end();) {
        std::erase_if(it->second,
                      [now_ms](const Binding& binding) { return binding.expires_at_ms <= now_ms; });
        it = it->second.empty() ? bindings_.erase(it) : std::next(it);
    }
    accepted_credentials_.forget_expired(now_ms);
    counted_finals_.forget_expired(now_ms);
}

bool Pbx::is_own_uri(const Uri& uri) const {
    if (uri.host == config_.address.ip) {
        return uri.port.value_or(default_port(uri)) == config_.address.port;
    }
    if (iequals(uri.host, config_.domain)) return !uri.port || *uri.port == config_.address.port;
    return false;
}

bool Pbx::is_own_via(const Via& via) const {
    return via.host == config_.address.ip &&
           via.port.value_or(kDefaultSipPort) == config_.address.port;
}

const Pbx::Binding* Pbx::newest_binding(const std::string& user) const {
    auto it = bindings_.find(user);
    if (it == bindings_.end() || it->second.empty()) return nullptr;
    return &*std::max_element(
        it->second.begin(), it->second.end(),
        [](const Binding& a, const Binding& b) { return a.refreshed_order < b.refreshed_order; });
}

const Pbx::ParsedRoute* Pbx::match_route(const std::string& user) const {
    const ParsedRoute* best = nullptr;
    for (const auto& route : routes_) {
        if (!user.starts_with(route.route.prefix)) continue;
        if (best == nullptr || route.route.prefix.size() > best->route.prefix.size()) best = &route;
    }
    return best;
}

// §16.11: the same received branch always gives the same forwarded branch, so
// retransmissions, the CANCEL and the ACK for a non-2xx all match the INVITE downstream.
std::string Pbx::branch_for(const Message& received) const {
    std::string input = config_.address.to_string();
    input += '\n';
    const auto top_via = received.top_via();
    const auto branch = top_via ? top_via->branch() : std::nullopt;
    if (branch && branch->starts_with(kBranchCookie)) {
        input += *branch;
    } else {
        // RFC 2543 client: hash what identifies its transaction instead.
        const auto to = received.to();
        const auto from = received.from();
        const auto cseq = received.cseq();
        input += (top_via ? top_via->to_string() : std::string()) + '\n' +
                 (to ? to->tag().value_or("") : "") + '\n' +
                 (from ? from->tag().value_or("") : "") + '\n' + received.call_id() + '\n' +
                 (cseq ? std::to_string(cseq->number) : "") + '\n' +
                 received.request_uri.to_string();
    }
    return make_branch(stable_hash_hex(input));
}

// Deterministic per transaction, so a retransmitted request gets the same To tag; the
// prefix lets us recognise the ACK for our own answers.
std::string Pbx::local_tag_for(const Message& request) const {
    const auto from = request.from();
    const auto cseq = request.cseq();
    const auto top_via = request.top_via();
    const std::string input = request.call_id() + '\n' + (from ? from->tag().value_or("") : "") +
                              '\n' + (cseq ? std::to_string(cseq->number) : "") + '\n' +
                              (top_via ? top_via->branch().value_or("") : "");
    return local_tag_prefix_ + "-" + stable_hash_hex(input).substr(0, 10);
}

std::optional<std::string> Pbx::password_of(std::string_view user) const {
    for (const auto& entry : config_.users) {
        if (entry.user == user) return entry.password;
    }
    return std::nullopt;
}

// --------------------------------------------------------------------------------------------
// Observation

PbxCounters Pbx::counters(std::uint64_t now_ms) const {
    PbxCounters counters = counters_;
    counters.registrations_active = 0;
    for (const auto& [user, user_bindings] : bindings_) {
        counters.registrations_active += static_cast<std::uint64_t>(std::count_if(
            user_bindings.begin(), user_bindings.end(),
            [now_ms](const Binding& binding) { return binding.expires_at_ms > now_ms; }));
    }
    return counters;
}

std::map<std::string, std::vector<RegisteredContact>> Pbx::bindings(std::uint64_t now_ms) const {
    std::map<std::string, std::vector<RegisteredContact>> out;
    for (const auto& [user, user_bindings] : bindings_) {
        std::vector<const Binding*> live;
        for (const auto& binding : user_bindings) {
            if (binding.expires_at_ms > now_ms) live.push_back(&binding);
        }
        if (live.empty()) continue;
        std::sort(live.begin(), live.end(), [](const Binding* a, const Binding* b) {
            return a->refreshed_order > b->refreshed_order;
        });
        auto& contacts = out[user];
        for (const auto* binding : live) {
            contacts.push_back({binding->contact.uri.to_string(),
                                remaining_seconds(binding->expires_at_ms, now_ms)});
        }
    }
    return out;
}

}  // namespace sipcc::sim
