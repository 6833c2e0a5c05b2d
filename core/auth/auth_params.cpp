#include "core/auth/auth_params.hpp"

#include <cstddef>

namespace sipcc::auth {

namespace {

bool is_whitespace(char c) {
    // CR and LF are tolerated because SIP header values may arrive before line unfolding.
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_alpha_or_digit(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// tchar from RFC 7230 §3.2.6.
bool is_token_char(char c) {
    static constexpr std::string_view kTokenSymbols = "!#$%&'*+-.^_`|~";
    return is_alpha_or_digit(c) || kTokenSymbols.find(c) != std::string_view::npos;
}

// token68 from RFC 7235 §2.1, without the trailing '=' padding.
bool is_token68_char(char c) {
    return is_alpha_or_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
           c == '/';
}

// Characters allowed inside a quoted-string: qdtext plus obs-text (UTF-8 in SIP).
bool is_quoted_text_char(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

char lower_ascii(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

class AuthListParser {
public:
    explicit AuthListParser(std::string_view text) : text_(text) {}

    Result<std::vector<AuthSchemeValue>> parse() {
        std::vector<AuthSchemeValue> items;
        skip_whitespace_and_commas();
        while (!at_end()) {
            auto item = parse_item();
            if (!item) {
                return Error{item.error()};
            }
            items.push_back(std::move(item).value());
            skip_whitespace_and_commas();
        }
        if (items.empty()) {
            return Error{"empty authentication header value"};
        }
        return items;
    }

private:
    [[nodiscard]] bool at_end() const { return position_ >= text_.size(); }
    [[nodiscard]] char peek() const { return text_[position_]; }

    void skip_whitespace() {
        while (!at_end() && is_whitespace(peek())) {
            ++position_;
        }
    }

    void skip_whitespace_and_commas() {
        while (!at_end() && (is_whitespace(peek()) || peek() == ',')) {
            ++position_;
        }
    }

    std::string_view read_token() {
        const std::size_t start = position_;
        while (!at_end() && is_token_char(peek())) {
            ++position_;
        }
        return text_.substr(start, position_ - start);
    }

    [[nodiscard]] std::string where() const { return " at offset " + std::to_string(position_); }

    Result<AuthSchemeValue> parse_item() {
        AuthSchemeValue item;
        item.scheme = std::string(read_token());
        if (item.scheme.empty()) {
            return Error{"expected an authentication scheme" + where()};
        }
        if (at_end() || peek() == ',') {
            return item;  // bare scheme, e.g. "Basic, Digest realm=..."
        }
        if (!is_whitespace(peek())) {
            return Error{"expected whitespace after scheme '" + item.scheme + "'" + where()};
        }
        skip_whitespace();
        if (at_end()) {
            return item;
        }
        if (try_read_token68(item)) {
            return item;
        }
        return parse_params(std::move(item));
    }

    // A token68 is a run of token68 characters plus '=' padding that ends the item. Anything
    // else (notably `name=value`) is left for the auth-param parser.
    bool try_read_token68(AuthSchemeValue& item) {
        std::size_t end = position_;
        while (end < text_.size() && is_token68_char(text_[end])) {
            ++end;
        }
        if (end == position_) {
            return false;
        }
        while (end < text_.size() && text_[end] == '=') {
            ++end;
        }
        std::size_t after = end;
        while (after < text_.size() && is_whitespace(text_[after])) {
            ++after;
        }
        if (after < text_.size() && text_[after] != ',') {
            return false;
        }
        item.token68 = std::string(text_.substr(position_, end - position_));
        position_ = after;
        return true;
    }

    Result<AuthSchemeValue> parse_params(AuthSchemeValue item) {
        bool first = true;
        while (true) {
            skip_whitespace();
            if (at_end()) {
                return item;
            }
            if (!first) {
                if (peek() != ',') {
                    return Error{"expected ',' between parameters" + where()};
                }
                skip_whitespace_and_commas();
                if (at_end()) {
                    return item;
                }
                // After a comma either another parameter or the next challenge's scheme
                // follows; only a parameter has '=' after its name.
                const std::size_t name_start = position_;
                read_token();
                skip_whitespace();
                const bool is_param = !at_end() && peek() == '=';
                position_ = name_start;
                if (!is_param) {
                    return item;
                }
            }
            first = false;
            auto param = parse_param();
            if (!param) {
                return Error{param.error()};
            }
            if (item.find(param->name) != nullptr) {
                return Error{"parameter '" + param->name + "' appears more than once"};
            }
            item.params.push_back(std::move(param).value());
        }
    }

    Result<AuthParam> parse_param() {
        AuthParam param;
        param.name = to_lower_ascii(read_token());
        if (param.name.empty()) {
            return Error{"expected a parameter name" + where()};
        }
        skip_whitespace();
        if (at_end() || peek() != '=') {
            return Error{"expected '=' after parameter '" + param.name + "'" + where()};
        }
        ++position_;
        skip_whitespace();
        if (!at_end() && peek() == '"') {
            auto value = read_quoted_string(param.name);
            if (!value) {
                return Error{value.error()};
            }
            param.value = std::move(value).value();
            param.was_quoted = true;
            return param;
        }
        param.value = std::string(read_token());
        if (param.value.empty()) {
            return Error{"missing value for parameter '" + param.name + "'" + where()};
        }
        return param;
    }

    Result<std::string> read_quoted_string(const std::string& param_name) {
        ++position_;  // opening quote
        std::string value;
        while (!at_end()) {
            const char c = peek();
            ++position_;
            if (c == '"') {
                return value;
            }
            if (c == '\\') {
                if (at_end()) {
                    break;
                }
                value.push_back(peek());
                ++position_;
                continue;
            }
            if (!is_quoted_text_char(c)) {
                return Error{"control character in quoted value of '" + param_name + "'"};
            }
            value.push_back(c);
        }
        return Error{"unterminated quoted string in parameter '" + param_name + "'"};
    }

    std::string_view text_;
    std::size_t position_ = 0;
};

}  // namespace

const AuthParam* AuthSchemeValue::find(std::string_view name) const {
    for (const auto& param : params) {
        if (equals_ignore_case(param.name, name)) {
            return &param;
        }
    }
    return nullptr;
}

std::optional<std::string_view> AuthSchemeValue::get(std::string_view name) const {
    const AuthParam* param = find(name);
    if (param == nullptr) {
        return std::nullopt;
    }
    return std::string_view(param->value);
}

Result<std::vector<AuthSchemeValue>> parse_auth_list(std::string_view header_value) {
    return AuthListParser(header_value).parse();
}

Result<AuthSchemeValue> parse_auth_value(std::string_view header_value) {
    auto items = parse_auth_list(header_value);
    if (!items) {
        return Error{items.error()};
    }
    if (items->size() != 1) {
        return Error{"expected one authentication item, found " + std::to_string(items->size())};
    }
    return std::move(items->front());
}

std::vector<std::string> split_comma_list(std::string_view list) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t end = list.find(',', start);
        if (end == std::string_view::npos) {
            end = list.size();
        }
        std::string_view item = list.substr(start, end - start);
        while (!item.empty() && is_whitespace(item.front())) {
            item.remove_prefix(1);
        }
        while (!item.empty() && is_whitespace(item.back())) {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            items.emplace_back(item);
        }
        start = end + 1;
    }
    return items;
}

bool equals_ignore_case(std::string_view left, std::string_view right) {
    if (left.size() != right.size()) {
        return false;
    }
    for (std::size_t i = 0; i < left.size(); ++i) {
        if (lower_ascii(left[i]) != lower_ascii(right[i])) {
            return false;
        }
    }
    return true;
}

std::string to_lower_ascii(std::string_view text) {
    std::string lowered(text);
    for (char& c : lowered) {
        c = lower_ascii(c);
    }
    return lowered;
}

bool is_token(std::string_view text) {
    if (text.empty()) {
        return false;
    }
    for (const char c : text) {
        if (!is_token_char(c)) {
            return false;
        }
    }
    return true;
}

AuthParamWriter::AuthParamWriter(std::string_view scheme) : text_(scheme) {}

void AuthParamWriter::begin_param(std::string_view name) {
    text_ += has_params_ ? ", " : " ";
    has_params_ = true;
    text_ += name;
    text_ += '=';
}

void AuthParamWriter::add_quoted(std::string_view name, std::string_view value) {
    begin_param(name);
    text_ += '"';
    for (const char c : value) {
        if (c == '"' || c == '\\') {
            text_ += '\\';
        }
        text_ += c;
    }
    text_ += '"';
}

void AuthParamWriter::add_token(std::string_view name, std::string_view value) {
    if (!is_token(value)) {
        add_quoted(name, value);
        return;
    }
    begin_param(name);
    text_ += value;
}

}  // namespace sipcc::auth
