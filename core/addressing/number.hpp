// Turning what a user pasted ("+43 (1) 505641", "01 505641", "4000", "*8101",
// "tel:+43-1-505641", "sip:bob@example.com") into one canonical number, following
// the same dialing rules as TAPI's lineTranslateAddress. See docs/numbers.md.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/result.hpp"

namespace sipcc::addressing {

// Where the user's phone sits in the numbering plan. All prefixes and codes are digit strings.
struct DialingRules {
    std::string country_code;                 // "43"; empty: unknown, national numbers stay local
    std::string area_code;                    // "1"; may be empty (closed numbering plans)
    std::string international_prefix = "00";  // "011" in North America
    std::string national_prefix = "0";        // trunk prefix; "1" in North America, "" in Spain
    std::string outside_line_prefix;          // "0" or "9" to reach the PSTN from a PBX; "" none
    std::size_t min_extension_digits = 2;     // all-digit inputs of this many digits ...
    std::size_t max_extension_digits = 5;     // ... up to this many are extensions; 0 disables
    // Digits of a national number without the trunk prefix (10 in North America), so that
    // "(212) 555-1234" is not mistaken for a subscriber number in our area; 0: not used.
    std::size_t national_number_digits = 0;
    bool allow_letters = false;  // vanity numbers: E.161 keypad letters (ABC=2 ... WXYZ=9)
};

// Checks that codes and prefixes are digits and that the lengths make sense.
// Returns the rules unchanged when they are usable.
Result<DialingRules> validate_rules(DialingRules rules);

enum class NumberKind {
    global,      // has an E.164 form
    extension,   // a short internal number of the PBX
    local,       // a national or subscriber number while no country code is configured
    dialstring,  // digits with '*' or '#': feature codes such as "*8101" or "#31#"
    uri,         // a sip: or sips: URI, kept as it was given
};

std::string_view to_string(NumberKind kind);

struct NormalizedNumber {
    NumberKind kind = NumberKind::local;
    std::optional<std::string> e164;  // "+431505641"; only for kind global
    // global: country code and national number ("431505641"); extension and local: the digits;
    // dialstring: digits, '*' and '#'; uri: empty.
    std::string digits;
    // The one-line normalized form: e164 for global, the URI for uri, otherwise the digits.
    std::string canonical;
    std::string original;  // the input exactly as given
};

// Inputs longer than this are refused before looking at them.
inline constexpr std::size_t kMaxNumberInputBytes = 256;
// ITU-T E.164: at most 15 digits including the country code.
inline constexpr std::size_t kMaxE164Digits = 15;

// Errors name the offending character and its 1-based character position in the input,
// e.g. `unexpected character 'x' at position 3 in "12x4"`.
Result<NormalizedNumber> normalize_number(std::string_view input, const DialingRules& rules);

}  // namespace sipcc::addressing
