#include "core/addressing/number.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>

namespace sipcc::addressing {
namespace {

// No real international number is shorter than this; "+43" alone is a country code, not a number.
constexpr std::size_t kMinGlobalDigits = 4;
// E.164 country codes have one to three digits.
constexpr std::size_t kMaxCountryCodeDigits = 3;

bool is_digit(char32_t c) {
    return c >= '0' && c <= '9';
}

bool is_digits(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c); });
}

bool is_ascii_letter(char32_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// ITU-T E.161 keypad: ABC=2, DEF=3, GHI=4, JKL=5, MNO=6, PQRS=7, TUV=8, WXYZ=9.
char keypad_digit(char32_t letter) {
    constexpr std::string_view kDigitForLetter = "22233344455566677778889999";
    const char32_t upper = (letter >= 'a' && letter <= 'z') ? letter - 'a' + 'A' : letter;
    return kDigitForLetter[upper - 'A'];
}

// Trimmed from both ends; NBSP included because web pages and Outlook paste it.
bool is_trimmable_space(char32_t c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f' || c == 0x00A0;
}

// Visual separators people put between digit groups. U+2010..U+2015 are the Unicode
// hyphens and dashes that word processors substitute for '-'.
bool is_visual_separator(char32_t c) {
    return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '/' || c == 0x00A0 ||
           (c >= 0x2010 && c <= 0x2015);
}

// One character of the input, decoded from UTF-8, and where it was.
struct InputChar {
    char32_t code_point = 0;
    std::size_t byte_offset = 0;
    std::size_t byte_length = 0;
    std::size_t position = 0;  // 1-based, counted in characters, as users count
};

std::string quoted(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

std::string hex_code_point(char32_t c) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(c));
    return buffer;
}

// How a character is shown in an error: 'x' when printable, its code point when it would be
// invisible or confusable (control characters, pasted Unicode lookalikes).
std::string describe(const InputChar& c, std::string_view input) {
    if (c.code_point >= 0x20 && c.code_point < 0x7F) {
        return std::string("'") + static_cast<char>(c.code_point) + "'";
    }
    if (c.code_point < 0xA0) return hex_code_point(c.code_point);
    return "'" + std::string(input.substr(c.byte_offset, c.byte_length)) + "' (" +
           hex_code_point(c.code_point) + ")";
}

Error unexpected_character(std::string_view shown, std::size_t position, std::string_view input,
                           std::string_view hint = {}) {
    std::string reason = "unexpected character " + std::string(shown) + " at position " +
                         std::to_string(position) + " in " + quoted(input);
    if (!hint.empty()) reason += " (" + std::string(hint) + ")";
    return Error{std::move(reason)};
}

Error unexpected_character(const InputChar& c, std::string_view input, std::string_view hint = {}) {
    return unexpected_character(describe(c, input), c.position, input, hint);
}

Result<std::vector<InputChar>> decode_utf8(std::string_view input) {
    std::vector<InputChar> chars;
    std::size_t offset = 0;
    while (offset < input.size()) {
        const auto lead = static_cast<unsigned char>(input[offset]);
        std::size_t length = 0;
        char32_t code_point = 0;
        char32_t smallest_allowed = 0;  // anything below is an overlong encoding
        if (lead < 0x80) {
            length = 1;
            code_point = lead;
        } else if ((lead & 0xE0) == 0xC0) {
            length = 2;
            code_point = lead & 0x1F;
            smallest_allowed = 0x80;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3;
            code_point = lead & 0x0F;
            smallest_allowed = 0x800;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4;
            code_point = lead & 0x07;
            smallest_allowed = 0x10000;
        }
        bool valid = length != 0 && offset + length <= input.size();
        for (std::size_t i = 1; valid && i < length; ++i) {
            const auto continuation = static_cast<unsigned char>(input[offset + i]);
            valid = (continuation & 0xC0) == 0x80;
            code_point = (code_point << 6) | (continuation & 0x3F);
        }
        valid = valid && code_point >= smallest_allowed && code_point <= 0x10FFFF &&
                !(code_point >= 0xD800 && code_point <= 0xDFFF);
        if (!valid) {
            char byte[8];
            std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned>(lead));
            return Error{"invalid UTF-8 (byte " + std::string(byte) + ") at position " +
                         std::to_string(chars.size() + 1) + " in " + quoted(input)};
        }
        chars.push_back({code_point, offset, length, chars.size() + 1});
        offset += length;
    }
    return chars;
}

// The characters that matter for dialing, with where they were typed.
struct Symbol {
    char value = 0;  // a digit, '+', '*' or '#'; letters already turned into digits
    std::size_t position = 0;
};

// A "(...)" group, as a range of symbol indices.
struct BracketGroup {
    std::size_t first = 0;
    std::size_t end = 0;
};

struct ScannedNumber {
    std::vector<Symbol> symbols;
    std::vector<BracketGroup> groups;
};

using CharRange = std::pair<const InputChar*, const InputChar*>;

Result<ScannedNumber> scan_number(CharRange range, std::string_view input,
                                  const DialingRules& rules) {
    ScannedNumber scanned;
    const InputChar* open_bracket = nullptr;
    std::size_t group_first = 0;
    for (const InputChar* c = range.first; c != range.second; ++c) {
        const char32_t cp = c->code_point;
        if (is_digit(cp) || cp == '+' || cp == '*' || cp == '#') {
            scanned.symbols.push_back({static_cast<char>(cp), c->position});
        } else if (is_ascii_letter(cp)) {
            if (!rules.allow_letters) {
                return unexpected_character(*c, input, "letters are not enabled");
            }
            scanned.symbols.push_back({keypad_digit(cp), c->position});
        } else if (is_visual_separator(cp)) {
            continue;
        } else if (cp == '(') {
            if (open_bracket != nullptr) {
                return unexpected_character(*c, input, "brackets cannot be nested");
            }
            open_bracket = c;
            group_first = scanned.symbols.size();
        } else if (cp == ')') {
            if (open_bracket == nullptr) {
                return unexpected_character(*c, input, "no '(' before it");
            }
            scanned.groups.push_back({group_first, scanned.symbols.size()});
            open_bracket = nullptr;
        } else {
            return unexpected_character(*c, input);
        }
    }
    if (open_bracket != nullptr) {
        return Error{"unclosed '(' at position " + std::to_string(open_bracket->position) + " in " +
                     quoted(input)};
    }
    return scanned;
}

Error too_many_digits(std::size_t count, std::string_view input) {
    return Error{"too many digits for E.164 (" + std::to_string(count) + ", at most " +
                 std::to_string(kMaxE164Digits) + ") in " + quoted(input)};
}

// country_and_number: country code followed by the national number, no '+'.
Result<NormalizedNumber> make_global(std::string country_and_number, std::string_view input) {
    if (country_and_number.empty()) return Error{"no digits after '+' in " + quoted(input)};
    if (country_and_number.front() == '0') {
        return Error{"a country code cannot start with 0 in " + quoted(input)};
    }
    if (country_and_number.size() < kMinGlobalDigits) {
        return Error{"too few digits for an international number (" +
                     std::to_string(country_and_number.size()) + ", at least " +
                     std::to_string(kMinGlobalDigits) + ") in " + quoted(input)};
    }
    if (country_and_number.size() > kMaxE164Digits) {
        return too_many_digits(country_and_number.size(), input);
    }
    NormalizedNumber number;
    number.kind = NumberKind::global;
    number.e164 = "+" + country_and_number;
    number.canonical = *number.e164;
    number.digits = std::move(country_and_number);
    number.original = std::string(input);
    return number;
}

Result<NormalizedNumber> make_plain(NumberKind kind, std::string digits, std::string_view input) {
    if (kind == NumberKind::local && digits.size() > kMaxE164Digits) {
        return too_many_digits(digits.size(), input);
    }
    NormalizedNumber number;
    number.kind = kind;
    number.canonical = digits;
    number.digits = std::move(digits);
    number.original = std::string(input);
    return number;
}

// The digits from symbol `start` on, without a "(0)" group that follows at least one
// country-code digit: "+49 (0)30 1234" shows the trunk prefix to national callers only.
std::string international_digits(const ScannedNumber& scanned, std::size_t start) {
    std::string digits;
    for (std::size_t i = start; i < scanned.symbols.size(); ++i) {
        const auto group = std::find_if(scanned.groups.begin(), scanned.groups.end(),
                                        [i](const BracketGroup& g) { return g.first == i; });
        const bool is_trunk_prefix_group = group != scanned.groups.end() && i > start &&
                                           group->end == i + 1 && scanned.symbols[i].value == '0';
        if (!is_trunk_prefix_group) digits += scanned.symbols[i].value;
    }
    return digits;
}

Result<NormalizedNumber> classify(const ScannedNumber& scanned, const DialingRules& rules,
                                  std::string_view input) {
    const std::vector<Symbol>& symbols = scanned.symbols;
    if (symbols.empty()) return Error{"no digits in " + quoted(input)};

    for (std::size_t i = 1; i < symbols.size(); ++i) {
        if (symbols[i].value == '+') {
            return unexpected_character("'+'", symbols[i].position, input,
                                        "'+' is only allowed at the start");
        }
    }
    const bool starts_with_plus = symbols.front().value == '+';
    const auto feature_char = std::find_if(symbols.begin(), symbols.end(), [](const Symbol& s) {
        return s.value == '*' || s.value == '#';
    });
    if (feature_char != symbols.end()) {
        if (starts_with_plus) {
            return unexpected_character(std::string("'") + feature_char->value + "'",
                                        feature_char->position, input,
                                        "'*' and '#' cannot be part of an international number");
        }
        std::string dial_string;
        for (const Symbol& s : symbols) dial_string += s.value;
        return make_plain(NumberKind::dialstring, std::move(dial_string), input);
    }
    if (starts_with_plus) return make_global(international_digits(scanned, 1), input);

    std::string digits;
    for (const Symbol& s : symbols) digits += s.value;

    if (rules.max_extension_digits > 0 && digits.size() >= rules.min_extension_digits &&
        digits.size() <= rules.max_extension_digits) {
        return make_plain(NumberKind::extension, std::move(digits), input);
    }
    const std::string& international_prefix = rules.international_prefix;
    if (!international_prefix.empty() && digits.size() > international_prefix.size() &&
        digits.starts_with(international_prefix)) {
        return make_global(international_digits(scanned, international_prefix.size()), input);
    }
    const std::string& national_prefix = rules.national_prefix;
    if (!national_prefix.empty() && digits.starts_with(national_prefix)) {
        if (digits.size() == national_prefix.size()) {
            return Error{"no number after the national prefix " + quoted(national_prefix) + " in " +
                         quoted(input)};
        }
        if (rules.country_code.empty()) {
            return make_plain(NumberKind::local, std::move(digits), input);
        }
        return make_global(rules.country_code + digits.substr(national_prefix.size()), input);
    }
    if (rules.country_code.empty()) return make_plain(NumberKind::local, std::move(digits), input);
    if (rules.national_number_digits > 0 && digits.size() == rules.national_number_digits) {
        return make_global(rules.country_code + digits, input);
    }
    return make_global(rules.country_code + rules.area_code + digits, input);
}

bool starts_with_scheme(CharRange range, std::string_view scheme) {
    if (static_cast<std::size_t>(range.second - range.first) < scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        char32_t c = range.first[i].code_point;
        if (c >= 'A' && c <= 'Z') c = c - 'A' + 'a';
        if (c != static_cast<unsigned char>(scheme[i])) return false;
    }
    return true;
}

// sip: and sips: URIs are passed on as given; only characters that could never be part of
// a URI in a SIP header (spaces, controls, non-ASCII, <, >, ") are refused.
Result<NormalizedNumber> accept_sip_uri(CharRange range, std::size_t scheme_length,
                                        std::string_view input) {
    if (static_cast<std::size_t>(range.second - range.first) == scheme_length) {
        return Error{"nothing after the URI scheme in " + quoted(input)};
    }
    for (const InputChar* c = range.first + scheme_length; c != range.second; ++c) {
        const char32_t cp = c->code_point;
        if (cp <= 0x20 || cp >= 0x7F || cp == '<' || cp == '>' || cp == '"') {
            return unexpected_character(*c, input, "not allowed in a SIP URI");
        }
    }
    const InputChar& last = *(range.second - 1);
    const std::size_t begin = range.first->byte_offset;
    NormalizedNumber number;
    number.kind = NumberKind::uri;
    number.canonical =
        std::string(input.substr(begin, last.byte_offset + last.byte_length - begin));
    number.original = std::string(input);
    return number;
}

Error rules_error(std::string_view what) {
    return Error{"invalid dialing rules: " + std::string(what)};
}

}  // namespace

std::string_view to_string(NumberKind kind) {
    switch (kind) {
        case NumberKind::global:
            return "global";
        case NumberKind::extension:
            return "extension";
        case NumberKind::local:
            return "local";
        case NumberKind::dialstring:
            return "dialstring";
        case NumberKind::uri:
            return "uri";
    }
    return "unknown";
}

Result<DialingRules> validate_rules(DialingRules rules) {
    const std::pair<std::string_view, const std::string*> digit_fields[] = {
        {"country code", &rules.country_code},
        {"area code", &rules.area_code},
        {"international prefix", &rules.international_prefix},
        {"national prefix", &rules.national_prefix},
        {"outside-line prefix", &rules.outside_line_prefix},
    };
    for (const auto& [name, value] : digit_fields) {
        if (!is_digits(*value)) {
            return rules_error(std::string(name) + " " + quoted(*value) + " must be digits");
        }
    }
    if (rules.country_code.size() > kMaxCountryCodeDigits) {
        return rules_error("country code " + quoted(rules.country_code) +
                           " has more than 3 digits");
    }
    if (rules.country_code.starts_with('0')) {
        return rules_error("country code " + quoted(rules.country_code) + " starts with 0");
    }
    if (!rules.area_code.empty() && rules.country_code.empty()) {
        return rules_error("an area code needs a country code");
    }
    if (!rules.international_prefix.empty() &&
        rules.national_prefix.starts_with(rules.international_prefix)) {
        return rules_error("national prefix " + quoted(rules.national_prefix) +
                           " begins with the international prefix " +
                           quoted(rules.international_prefix));
    }
    if (rules.max_extension_digits > kMaxE164Digits ||
        (rules.max_extension_digits > 0 &&
         (rules.min_extension_digits == 0 ||
          rules.min_extension_digits > rules.max_extension_digits))) {
        return rules_error("extension lengths " + std::to_string(rules.min_extension_digits) +
                           " to " + std::to_string(rules.max_extension_digits) +
                           " are not a range within 1 to 15");
    }
    if (rules.national_number_digits > kMaxE164Digits) {
        return rules_error("national number length " +
                           std::to_string(rules.national_number_digits) + " exceeds 15");
    }
    return rules;
}

Result<NormalizedNumber> normalize_number(std::string_view input, const DialingRules& rules) {
    if (Result<DialingRules> checked = validate_rules(rules); !checked) {
        return Error{checked.error()};
    }
    if (input.size() > kMaxNumberInputBytes) {
        return Error{"input too long (" + std::to_string(input.size()) + " bytes, at most " +
                     std::to_string(kMaxNumberInputBytes) + ")"};
    }
    Result<std::vector<InputChar>> decoded = decode_utf8(input);
    if (!decoded) return Error{decoded.error()};
    const std::vector<InputChar>& chars = *decoded;

    CharRange range{chars.data(), chars.data() + chars.size()};
    while (range.first != range.second && is_trimmable_space(range.first->code_point)) {
        ++range.first;
    }
    while (range.first != range.second && is_trimmable_space((range.second - 1)->code_point)) {
        --range.second;
    }
    if (range.first == range.second) return Error{"empty input " + quoted(input)};

    if (starts_with_scheme(range, "sip:")) return accept_sip_uri(range, 4, input);
    if (starts_with_scheme(range, "sips:")) return accept_sip_uri(range, 5, input);
    // A tel: URI carries a phone number with the same visual separators (RFC 3966).
    if (starts_with_scheme(range, "tel:")) range.first += 4;

    Result<ScannedNumber> scanned = scan_number(range, input, rules);
    if (!scanned) return Error{scanned.error()};
    return classify(*scanned, rules, input);
}

}  // namespace sipcc::addressing
