// Parsing and formatting of HTTP/SIP authentication header values (RFC 7235 §2.1, RFC 3261 §25):
//   Digest realm="x", nonce="y", qop="auth,auth-int", algorithm=MD5
//
// Hand-written rather than taken from libosip2 because libosip2 keeps the surrounding quotes in
// the values it returns and silently drops parameters it does not know (e.g. RFC 7616 ones).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace sipcc::auth {

struct AuthParam {
    std::string name;   // lower-cased: parameter names are case-insensitive
    std::string value;  // quotes removed, backslash escapes resolved
    bool was_quoted = false;
};

// One challenge or one set of credentials: `scheme [ token68 / #auth-param ]`.
struct AuthSchemeValue {
    std::string scheme;   // as sent; compare with equals_ignore_case()
    std::string token68;  // only for schemes that use it (e.g. Negotiate); empty for Digest
    std::vector<AuthParam> params;

    [[nodiscard]] const AuthParam* find(std::string_view name) const;
    // Value of the named parameter, or nullopt when it is absent.
    [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
};

// Parses a header value that may hold several comma-separated challenges (RFC 7235 allows it;
// SIP normally sends one per header). A parameter name repeated inside one challenge is an
// error: accepting either copy would let a middlebox smuggle a second `response` or `realm`.
Result<std::vector<AuthSchemeValue>> parse_auth_list(std::string_view header_value);

// Same, but the value must contain exactly one challenge or credentials item.
Result<AuthSchemeValue> parse_auth_value(std::string_view header_value);

// Splits the content of a list-valued parameter such as qop="auth, auth-int" into trimmed,
// non-empty items.
std::vector<std::string> split_comma_list(std::string_view list);

bool equals_ignore_case(std::string_view left, std::string_view right);
std::string to_lower_ascii(std::string_view text);
bool is_token(std::string_view text);

// Builds `Scheme a="quoted", b=token, ...`. Quotes and backslashes in quoted values are
// escaped, so any printable value round-trips through parse_auth_value().
class AuthParamWriter {
public:
    explicit AuthParamWriter(std::string_view scheme);

    void add_quoted(std::string_view name, std::string_view value);
    // Falls back to a quoted-string when `value` is not a valid token, so the output always
    // parses.
    void add_token(std::string_view name, std::string_view value);

    [[nodiscard]] const std::string& str() const { return text_; }

private:
    void begin_param(std::string_view name);

    std::string text_;
    bool has_params_ = false;
};

}  // namespace sipcc::auth
