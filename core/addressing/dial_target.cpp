#include "core/addressing/dial_target.hpp"

#include <utility>

namespace sipcc::addressing {
namespace {

bool is_alphanumeric(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// RFC 3261 §25.1: unreserved (alphanum / mark) and user-unreserved may stand unescaped.
bool is_allowed_in_user(char c) {
    constexpr std::string_view kMark = "-_.!~*'()";
    constexpr std::string_view kUserUnreserved = "&=+$,;?/";
    return is_alphanumeric(c) || kMark.find(c) != std::string_view::npos ||
           kUserUnreserved.find(c) != std::string_view::npos;
}

// A host, IPv4, [IPv6] or any of them with :port. Refusing everything else keeps a
// misconfigured domain from smuggling parameters or headers into the URI.
Result<std::string> checked_domain(const std::string& domain, std::string_view purpose) {
    if (domain.empty()) {
        return Error{"a domain is needed to render " + std::string(purpose) + " as a SIP URI"};
    }
    for (std::size_t i = 0; i < domain.size(); ++i) {
        const char c = domain[i];
        if (!is_alphanumeric(c) && c != '-' && c != '.' && c != ':' && c != '[' && c != ']') {
            const auto byte = static_cast<unsigned char>(c);
            const std::string shown = (byte >= 0x21 && byte < 0x7F)
                                          ? "'" + std::string(1, c) + "'"
                                          : "byte " + std::to_string(byte);
            return Error{"invalid character " + shown + " at position " + std::to_string(i + 1) +
                         " in domain \"" + domain + "\""};
        }
    }
    return domain;
}

Result<std::string> sip_uri(std::string_view user, const DialTargetOptions& options,
                            std::string_view purpose, std::string_view parameters = {}) {
    Result<std::string> domain = checked_domain(options.domain, purpose);
    if (!domain) return domain;
    return "sip:" + escape_sip_user(user) + "@" + *domain + std::string(parameters);
}

Result<std::string> render_global(const NormalizedNumber& number, const DialingRules& rules,
                                  const DialTargetOptions& options) {
    if (!number.e164) return Error{"global number " + number.digits + " has no E.164 form"};
    const std::string& e164 = *number.e164;
    const std::string& digits = number.digits;  // country code and national number, no '+'

    // Country codes are a prefix code, so a leading match means the number is in our country.
    const bool in_our_country =
        !rules.country_code.empty() && digits.starts_with(rules.country_code);
    switch (options.format) {
        case UriFormat::tel:
            return "tel:" + e164;
        case UriFormat::sip_user_phone:
            return sip_uri(e164, options, e164, ";user=phone");
        case UriFormat::national:
            if (in_our_country) {
                return sip_uri(rules.outside_line_prefix + rules.national_prefix +
                                   digits.substr(rules.country_code.size()),
                               options, e164);
            }
            [[fallthrough]];  // a foreign number can only be dialed internationally
        case UriFormat::international_prefix:
            if (rules.international_prefix.empty()) {
                return Error{"no international prefix is configured to render " + e164};
            }
            return sip_uri(rules.outside_line_prefix + rules.international_prefix + digits, options,
                           e164);
    }
    return Error{"unknown URI format"};
}

}  // namespace

std::string_view to_string(UriFormat format) {
    switch (format) {
        case UriFormat::sip_user_phone:
            return "sip";
        case UriFormat::international_prefix:
            return "international";
        case UriFormat::national:
            return "national";
        case UriFormat::tel:
            return "tel";
    }
    return "unknown";
}

Result<UriFormat> parse_uri_format(std::string_view name) {
    for (UriFormat format : {UriFormat::sip_user_phone, UriFormat::international_prefix,
                             UriFormat::national, UriFormat::tel}) {
        if (name == to_string(format)) return format;
    }
    return Error{"unknown URI format \"" + std::string(name) +
                 "\" (expected sip, international, national or tel)"};
}

std::string escape_sip_user(std::string_view user) {
    constexpr std::string_view kHex = "0123456789ABCDEF";
    std::string escaped;
    escaped.reserve(user.size());
    for (const char c : user) {
        if (is_allowed_in_user(c)) {
            escaped += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            escaped += '%';
            escaped += kHex[byte >> 4];
            escaped += kHex[byte & 0x0F];
        }
    }
    return escaped;
}

Result<std::string> render_dial_target(const NormalizedNumber& number, const DialingRules& rules,
                                       const DialTargetOptions& options) {
    if (Result<DialingRules> checked = validate_rules(rules); !checked) {
        return Error{checked.error()};
    }
    switch (number.kind) {
        case NumberKind::uri:
            return number.canonical;
        case NumberKind::extension:
        case NumberKind::dialstring:
            // Internal to the PBX: no outside line, and a tel: URI could not carry them
            // without a phone-context, so they are SIP URIs whatever the format.
            return sip_uri(number.digits, options, number.digits);
        case NumberKind::local:
            if (options.format == UriFormat::tel) {
                return Error{"local number " + number.digits +
                             " has no tel: form; configure a country code"};
            }
            return sip_uri(rules.outside_line_prefix + number.digits, options, number.digits);
        case NumberKind::global:
            return render_global(number, rules, options);
    }
    return Error{"unknown number kind"};
}

}  // namespace sipcc::addressing
