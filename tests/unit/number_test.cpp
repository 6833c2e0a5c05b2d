// Table-driven tests for number normalization and dial-target rendering (docs/numbers.md).
#include "core/addressing/number.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>

#include "core/addressing/dial_target.hpp"

namespace sipcc::addressing {
namespace {

DialingRules vienna() {
    DialingRules rules;
    rules.country_code = "43";
    rules.area_code = "1";
    return rules;
}

DialingRules new_york() {
    DialingRules rules;
    rules.country_code = "1";
    rules.area_code = "212";
    rules.international_prefix = "011";
    rules.national_prefix = "1";
    rules.national_number_digits = 10;
    return rules;
}

DialingRules with_letters(DialingRules rules) {
    rules.allow_letters = true;
    return rules;
}

DialingRules with_outside_line(DialingRules rules, std::string prefix) {
    rules.outside_line_prefix = std::move(prefix);
    return rules;
}

DialingRules with_extension_digits(DialingRules rules, std::size_t min, std::size_t max) {
    rules.min_extension_digits = min;
    rules.max_extension_digits = max;
    return rules;
}

// ---------------------------------------------------------------------------------------------
// Inputs that normalize.

struct NormalizeCase {
    std::string name;
    std::string input;
    DialingRules rules;
    NumberKind kind;
    std::string canonical;
    std::string digits;
    std::optional<std::string> e164;
};

void PrintTo(const NormalizeCase& c, std::ostream* out) {
    *out << c.name;
}

class NormalizeTest : public testing::TestWithParam<NormalizeCase> {};

TEST_P(NormalizeTest, ProducesCanonicalNumber) {
    const NormalizeCase& c = GetParam();
    const Result<NormalizedNumber> number = normalize_number(c.input, c.rules);
    ASSERT_TRUE(number.ok()) << number.error();
    EXPECT_EQ(to_string(number->kind), to_string(c.kind));
    EXPECT_EQ(number->canonical, c.canonical);
    EXPECT_EQ(number->digits, c.digits);
    EXPECT_EQ(number->e164, c.e164);
    EXPECT_EQ(number->original, c.input);
}

const NumberKind kGlobal = NumberKind::global;
const NumberKind kExtension = NumberKind::extension;
const NumberKind kLocal = NumberKind::local;
const NumberKind kDialstring = NumberKind::dialstring;
const NumberKind kUri = NumberKind::uri;

INSTANTIATE_TEST_SUITE_P(
    Inputs, NormalizeTest,
    testing::Values(
        // Global numbers written with '+'.
        NormalizeCase{"plus_area_in_brackets", "+43 (1) 505641", vienna(), kGlobal, "+431505641",
                      "431505641", "+431505641"},
        NormalizeCase{"plus_trunk_zero_dropped", "+49 (0)30 1234", vienna(), kGlobal, "+49301234",
                      "49301234", "+49301234"},
        NormalizeCase{"plus_trunk_zero_with_spaces", "+43 ( 0 ) 1 505641", vienna(), kGlobal,
                      "+431505641", "431505641", "+431505641"},
        NormalizeCase{"plus_bracketed_area_kept", "+7 (495) 123-45-67", vienna(), kGlobal,
                      "+74951234567", "74951234567", "+74951234567"},
        NormalizeCase{"plus_fifteen_digits", "+43 123 456 789 0123", vienna(), kGlobal,
                      "+431234567890123", "431234567890123", "+431234567890123"},
        NormalizeCase{"plus_without_rules", "+43 1 505641", DialingRules{}, kGlobal, "+431505641",
                      "431505641", "+431505641"},
        // International prefix.
        NormalizeCase{"international_prefix_00", "0043 1 505641", vienna(), kGlobal, "+431505641",
                      "431505641", "+431505641"},
        NormalizeCase{"international_prefix_00_trunk_zero", "0049 (0)30 1234", vienna(), kGlobal,
                      "+49301234", "49301234", "+49301234"},
        NormalizeCase{"international_prefix_00_bracketed_area", "0043 (1) 505641", vienna(),
                      kGlobal, "+431505641", "431505641", "+431505641"},
        NormalizeCase{"international_prefix_011", "011 43 1 505641", new_york(), kGlobal,
                      "+431505641", "431505641", "+431505641"},
        // National numbers (trunk prefix) and subscriber numbers.
        NormalizeCase{"national_trunk_prefix", "01 505641", vienna(), kGlobal, "+431505641",
                      "431505641", "+431505641"},
        NormalizeCase{"national_bracketed_trunk_prefix", "(0)1 505641", vienna(), kGlobal,
                      "+431505641", "431505641", "+431505641"},
        NormalizeCase{"national_slash_separator", "0664/123 45 67", vienna(), kGlobal,
                      "+436641234567", "436641234567", "+436641234567"},
        NormalizeCase{"subscriber_gets_area_code", "505641", vienna(), kGlobal, "+431505641",
                      "431505641", "+431505641"},
        NormalizeCase{"subscriber_six_digits_not_extension", "123456", vienna(), kGlobal,
                      "+431123456", "431123456", "+431123456"},
        NormalizeCase{"nanp_national_trunk_1", "1 (212) 555-1234", new_york(), kGlobal,
                      "+12125551234", "12125551234", "+12125551234"},
        NormalizeCase{"nanp_ten_digits", "(212) 555-1234", new_york(), kGlobal, "+12125551234",
                      "12125551234", "+12125551234"},
        NormalizeCase{"nanp_seven_digit_subscriber", "555-1234", new_york(), kGlobal,
                      "+12125551234", "12125551234", "+12125551234"},
        NormalizeCase{"nanp_dots", "212.555.1234", new_york(), kGlobal, "+12125551234",
                      "12125551234", "+12125551234"},
        // No country code configured: national and subscriber numbers stay local.
        NormalizeCase{"local_national", "01 505641", DialingRules{}, kLocal, "01505641", "01505641",
                      std::nullopt},
        NormalizeCase{"local_subscriber", "505641", DialingRules{}, kLocal, "505641", "505641",
                      std::nullopt},
        NormalizeCase{"local_international_prefix_still_global", "0043 1 505641", DialingRules{},
                      kGlobal, "+431505641", "431505641", "+431505641"},
        // Extensions.
        NormalizeCase{"extension_2_digits", "12", vienna(), kExtension, "12", "12", std::nullopt},
        NormalizeCase{"extension_3_digits", "100", vienna(), kExtension, "100", "100",
                      std::nullopt},
        NormalizeCase{"extension_4_digits", "4000", vienna(), kExtension, "4000", "4000",
                      std::nullopt},
        NormalizeCase{"extension_5_digits", "12345", vienna(), kExtension, "12345", "12345",
                      std::nullopt},
        NormalizeCase{"extension_with_leading_zero", "0043", vienna(), kExtension, "0043", "0043",
                      std::nullopt},
        NormalizeCase{"extension_with_tab", "40\t00", vienna(), kExtension, "4000", "4000",
                      std::nullopt},
        NormalizeCase{"extension_range_excludes_2_digits", "99",
                      with_extension_digits(vienna(), 3, 4), kGlobal, "+43199", "43199", "+43199"},
        NormalizeCase{"extensions_disabled", "4000", with_extension_digits(vienna(), 0, 0), kGlobal,
                      "+4314000", "4314000", "+4314000"},
        // Dial strings.
        NormalizeCase{"dialstring_star", "*8101", vienna(), kDialstring, "*8101", "*8101",
                      std::nullopt},
        NormalizeCase{"dialstring_hash", "#31#", vienna(), kDialstring, "#31#", "#31#",
                      std::nullopt},
        NormalizeCase{"dialstring_with_number", "*31# 0664 123", vienna(), kDialstring,
                      "*31#0664123", "*31#0664123", std::nullopt},
        // tel: URIs.
        NormalizeCase{"tel_global", "tel:+43-1-505641", vienna(), kGlobal, "+431505641",
                      "431505641", "+431505641"},
        NormalizeCase{"tel_uppercase_dots", "TEL:+43.1.505641", vienna(), kGlobal, "+431505641",
                      "431505641", "+431505641"},
        NormalizeCase{"tel_national", "tel:01/505641", vienna(), kGlobal, "+431505641", "431505641",
                      "+431505641"},
        // SIP URIs are kept as they are.
        NormalizeCase{"sip_uri", "sip:bob@example.com", vienna(), kUri, "sip:bob@example.com", "",
                      std::nullopt},
        NormalizeCase{"sips_uri_with_parameter", "sips:bob@example.com;transport=tls", vienna(),
                      kUri, "sips:bob@example.com;transport=tls", "", std::nullopt},
        NormalizeCase{"sip_uri_trimmed_uppercase", "  SIP:alice@example.org\t", vienna(), kUri,
                      "SIP:alice@example.org", "", std::nullopt},
        // Letters when vanity numbers are on.
        NormalizeCase{"letters_global", "+1-800-FLOWERS", with_letters(new_york()), kGlobal,
                      "+18003569377", "18003569377", "+18003569377"},
        NormalizeCase{"letters_lowercase_national", "1-800-flowers", with_letters(new_york()),
                      kGlobal, "+18003569377", "18003569377", "+18003569377"},
        NormalizeCase{"letters_every_key", "+43 ADGJ MPTW", with_letters(vienna()), kGlobal,
                      "+4323456789", "4323456789", "+4323456789"},
        NormalizeCase{"letters_last_on_keys", "+43 CFIL OSVZ", with_letters(vienna()), kGlobal,
                      "+4323456789", "4323456789", "+4323456789"},
        // Whitespace and separators pasted from web pages.
        NormalizeCase{"surrounding_whitespace", "  +43 1 505641 \r\n", vienna(), kGlobal,
                      "+431505641", "431505641", "+431505641"},
        NormalizeCase{"non_breaking_spaces", "\u00A0+43\u00A01\u00A0505641\u00A0", vienna(),
                      kGlobal, "+431505641", "431505641", "+431505641"},
        NormalizeCase{"unicode_dashes", "+43\u20101\u2011505\u2012641", vienna(), kGlobal,
                      "+431505641", "431505641", "+431505641"},
        NormalizeCase{"unicode_dashes_en_em_bar", "01\u2013505\u2014641\u2015", vienna(), kGlobal,
                      "+431505641", "431505641", "+431505641"}),
    [](const testing::TestParamInfo<NormalizeCase>& param_info) { return param_info.param.name; });

// ---------------------------------------------------------------------------------------------
// Inputs that are refused, with the exact reason.

struct RejectCase {
    std::string name;
    std::string input;
    DialingRules rules;
    std::string error;
};

void PrintTo(const RejectCase& c, std::ostream* out) {
    *out << c.name;
}

class RejectTest : public testing::TestWithParam<RejectCase> {};

TEST_P(RejectTest, NamesTheProblem) {
    const RejectCase& c = GetParam();
    const Result<NormalizedNumber> number = normalize_number(c.input, c.rules);
    ASSERT_FALSE(number.ok()) << "normalized to " << number->canonical;
    EXPECT_EQ(number.error(), c.error);
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, RejectTest,
    testing::Values(
        RejectCase{"empty", "", vienna(), R"(empty input "")"},
        RejectCase{"only_whitespace", " \t\u00A0 ", vienna(), "empty input \" \t\u00A0 \""},
        RejectCase{"only_separators", " - ( ) / . ", vienna(), R"(no digits in " - ( ) / . ")"},
        RejectCase{"letter_in_digits", "12x4", vienna(),
                   R"(unexpected character 'x' at position 3 in "12x4" (letters are not enabled))"},
        RejectCase{"letters_off", "1-800-FLOWERS", new_york(),
                   "unexpected character 'F' at position 7 in \"1-800-FLOWERS\" "
                   "(letters are not enabled)"},
        RejectCase{"plus_in_the_middle", "43+1505641", vienna(),
                   "unexpected character '+' at position 3 in \"43+1505641\" "
                   "('+' is only allowed at the start)"},
        RejectCase{"second_plus", "++43 1 505641", vienna(),
                   "unexpected character '+' at position 2 in \"++43 1 505641\" "
                   "('+' is only allowed at the start)"},
        RejectCase{"star_in_global", "+43*1", vienna(),
                   "unexpected character '*' at position 4 in \"+43*1\" "
                   "('*' and '#' cannot be part of an international number)"},
        RejectCase{"other_ascii", "+43 1 505641;ext=1", vienna(),
                   R"(unexpected character ';' at position 13 in "+43 1 505641;ext=1")"},
        RejectCase{"newline_inside", "+43 1\n505641", vienna(),
                   "unexpected character U+000A at position 6 in \"+43 1\n505641\""},
        RejectCase{"non_ascii_letter", "12\u00E94", vienna(),
                   "unexpected character '\u00E9' (U+00E9) at position 3 in \"12\u00E94\""},
        RejectCase{"fullwidth_digit", "\uFF10\uFF11", vienna(),
                   "unexpected character '\uFF10' (U+FF10) at position 1 in \"\uFF10\uFF11\""},
        RejectCase{"narrow_nbsp_not_a_separator", "01\u202F505641", vienna(),
                   "unexpected character '\u202F' (U+202F) at position 3 in "
                   "\"01\u202F505641\""},
        RejectCase{"invalid_utf8", "12\xFF", vienna(),
                   "invalid UTF-8 (byte 0xFF) at position 3 in \"12\xFF\""},
        RejectCase{"truncated_utf8", "1\xC3", vienna(),
                   "invalid UTF-8 (byte 0xC3) at position 2 in \"1\xC3\""},
        RejectCase{"overlong_utf8", "\xC0\xB0", vienna(),
                   "invalid UTF-8 (byte 0xC0) at position 1 in \"\xC0\xB0\""},
        RejectCase{"unclosed_bracket", "+43 (1 505641", vienna(),
                   R"(unclosed '(' at position 5 in "+43 (1 505641")"},
        RejectCase{"unopened_bracket", "+43 1) 505641", vienna(),
                   "unexpected character ')' at position 6 in \"+43 1) 505641\" "
                   "(no '(' before it)"},
        RejectCase{"nested_brackets", "+43 ((1)) 505641", vienna(),
                   "unexpected character '(' at position 6 in \"+43 ((1)) 505641\" "
                   "(brackets cannot be nested)"},
        RejectCase{"global_sixteen_digits", "+43 123 456 789 01234", vienna(),
                   R"(too many digits for E.164 (16, at most 15) in "+43 123 456 789 01234")"},
        RejectCase{"national_too_long", "01 505641 123456789", vienna(),
                   R"(too many digits for E.164 (18, at most 15) in "01 505641 123456789")"},
        RejectCase{"local_too_long", "1234567890123456", DialingRules{},
                   R"(too many digits for E.164 (16, at most 15) in "1234567890123456")"},
        RejectCase{"plus_alone", "+", vienna(), R"(no digits after '+' in "+")"},
        RejectCase{"country_code_zero", "+0 1 505641", vienna(),
                   R"(a country code cannot start with 0 in "+0 1 505641")"},
        RejectCase{"bracketed_zero_before_country_code", "+(0)43 1 505641", vienna(),
                   R"(a country code cannot start with 0 in "+(0)43 1 505641")"},
        RejectCase{"country_code_only", "+43", vienna(),
                   R"(too few digits for an international number (2, at least 4) in "+43")"},
        RejectCase{"trunk_prefix_only", "0", vienna(),
                   R"(no number after the national prefix "0" in "0")"},
        RejectCase{"tel_without_number", "tel:", vienna(), R"(no digits in "tel:")"},
        RejectCase{"tel_with_parameter", "tel:+43-1-505641;ext=1", vienna(),
                   "unexpected character ';' at position 17 in \"tel:+43-1-505641;ext=1\""},
        RejectCase{"sip_without_rest", "sip:", vienna(),
                   R"(nothing after the URI scheme in "sip:")"},
        RejectCase{"sip_with_space", "sip:bob @example.com", vienna(),
                   "unexpected character ' ' at position 8 in \"sip:bob @example.com\" "
                   "(not allowed in a SIP URI)"},
        RejectCase{"sip_with_angle_bracket", "sips:bob@example.com>", vienna(),
                   "unexpected character '>' at position 21 in \"sips:bob@example.com>\" "
                   "(not allowed in a SIP URI)"},
        RejectCase{"input_too_long", std::string(300, '1'), vienna(),
                   "input too long (300 bytes, at most 256)"}),
    [](const testing::TestParamInfo<RejectCase>& param_info) { return param_info.param.name; });

// ---------------------------------------------------------------------------------------------
// Dialing rules that cannot work.

struct RulesCase {
    std::string name;
    DialingRules rules;
    std::string error;
};

void PrintTo(const RulesCase& c, std::ostream* out) {
    *out << c.name;
}

class RulesTest : public testing::TestWithParam<RulesCase> {};

TEST_P(RulesTest, AreRefusedBeforeUse) {
    const RulesCase& c = GetParam();
    const Result<DialingRules> checked = validate_rules(c.rules);
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error(), c.error);
    const Result<NormalizedNumber> number = normalize_number("+43 1 505641", c.rules);
    ASSERT_FALSE(number.ok());
    EXPECT_EQ(number.error(), c.error);
}

DialingRules rules_with(void (*change)(DialingRules&)) {
    DialingRules rules = vienna();
    change(rules);
    return rules;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, RulesTest,
    testing::Values(
        RulesCase{"country_not_digits", rules_with([](DialingRules& r) { r.country_code = "4x"; }),
                  R"(invalid dialing rules: country code "4x" must be digits)"},
        RulesCase{"country_too_long", rules_with([](DialingRules& r) { r.country_code = "4321"; }),
                  R"(invalid dialing rules: country code "4321" has more than 3 digits)"},
        RulesCase{"country_leading_zero",
                  rules_with([](DialingRules& r) { r.country_code = "043"; }),
                  R"(invalid dialing rules: country code "043" starts with 0)"},
        RulesCase{"area_without_country",
                  rules_with([](DialingRules& r) { r.country_code.clear(); }),
                  "invalid dialing rules: an area code needs a country code"},
        RulesCase{"outside_line_not_digits",
                  rules_with([](DialingRules& r) { r.outside_line_prefix = "9,"; }),
                  R"(invalid dialing rules: outside-line prefix "9," must be digits)"},
        RulesCase{"prefixes_equal",
                  rules_with([](DialingRules& r) { r.international_prefix = "0"; }),
                  "invalid dialing rules: national prefix \"0\" begins with the international "
                  "prefix \"0\""},
        RulesCase{"extension_range_reversed",
                  rules_with([](DialingRules& r) { r.min_extension_digits = 6; }),
                  "invalid dialing rules: extension lengths 6 to 5 are not a range within 1 to "
                  "15"},
        RulesCase{"national_length_too_long",
                  rules_with([](DialingRules& r) { r.national_number_digits = 16; }),
                  "invalid dialing rules: national number length 16 exceeds 15"}),
    [](const testing::TestParamInfo<RulesCase>& param_info) { return param_info.param.name; });

TEST(ValidateRulesTest, AcceptsDefaultsAndTypicalRules) {
    EXPECT_TRUE(validate_rules(DialingRules{}).ok());
    EXPECT_TRUE(validate_rules(vienna()).ok());
    EXPECT_TRUE(validate_rules(new_york()).ok());
    EXPECT_TRUE(validate_rules(with_outside_line(vienna(), "0")).ok());
}

// ---------------------------------------------------------------------------------------------
// Rendering the URI to dial.

struct RenderCase {
    std::string name;
    std::string input;
    DialingRules rules;
    DialTargetOptions options;
    std::string uri;  // or the error, when `fails`
    bool fails = false;
};

void PrintTo(const RenderCase& c, std::ostream* out) {
    *out << c.name;
}

class RenderTest : public testing::TestWithParam<RenderCase> {};

TEST_P(RenderTest, ProducesUri) {
    const RenderCase& c = GetParam();
    const Result<NormalizedNumber> number = normalize_number(c.input, c.rules);
    ASSERT_TRUE(number.ok()) << number.error();
    const Result<std::string> uri = render_dial_target(*number, c.rules, c.options);
    if (c.fails) {
        ASSERT_FALSE(uri.ok()) << "rendered " << *uri;
        EXPECT_EQ(uri.error(), c.uri);
    } else {
        ASSERT_TRUE(uri.ok()) << uri.error();
        EXPECT_EQ(*uri, c.uri);
    }
}

const std::string kDomain = "pbx.example.com";
const DialTargetOptions kSip{kDomain, UriFormat::sip_user_phone};
const DialTargetOptions kInternational{kDomain, UriFormat::international_prefix};
const DialTargetOptions kNational{kDomain, UriFormat::national};
const DialTargetOptions kTel{kDomain, UriFormat::tel};
const DialTargetOptions kTelNoDomain{"", UriFormat::tel};
const DialTargetOptions kSipNoDomain{"", UriFormat::sip_user_phone};

INSTANTIATE_TEST_SUITE_P(
    Formats, RenderTest,
    testing::Values(
        // Every format for a number in our own country.
        RenderCase{"sip_user_phone", "+43 (1) 505641", vienna(), kSip,
                   "sip:+431505641@pbx.example.com;user=phone"},
        RenderCase{"sip_is_default_format", "+43 (1) 505641", vienna(),
                   DialTargetOptions{.domain = kDomain},
                   "sip:+431505641@pbx.example.com;user=phone"},
        RenderCase{"international_prefix", "+43 (1) 505641", vienna(), kInternational,
                   "sip:00431505641@pbx.example.com"},
        RenderCase{"national_own_country", "+43 (1) 505641", vienna(), kNational,
                   "sip:01505641@pbx.example.com"},
        RenderCase{"national_foreign_is_international", "+49 (0)30 1234", vienna(), kNational,
                   "sip:0049301234@pbx.example.com"},
        RenderCase{"tel", "+43 (1) 505641", vienna(), kTel, "tel:+431505641"},
        RenderCase{"tel_needs_no_domain", "01 505641", vienna(), kTelNoDomain, "tel:+431505641"},
        // North American prefixes.
        RenderCase{"nanp_international_011", "+43 1 505641", new_york(), kInternational,
                   "sip:011431505641@pbx.example.com"},
        RenderCase{"nanp_national", "(212) 555-1234", new_york(), kNational,
                   "sip:12125551234@pbx.example.com"},
        RenderCase{"nanp_national_outside_line_9", "(212) 555-1234",
                   with_outside_line(new_york(), "9"), kNational,
                   "sip:912125551234@pbx.example.com"},
        // The outside-line prefix goes before PSTN digits only.
        RenderCase{"outside_line_international", "+43 1 505641", with_outside_line(vienna(), "0"),
                   kInternational, "sip:000431505641@pbx.example.com"},
        RenderCase{"outside_line_national", "+43 1 505641", with_outside_line(vienna(), "0"),
                   kNational, "sip:001505641@pbx.example.com"},
        RenderCase{"outside_line_not_before_plus", "+43 1 505641", with_outside_line(vienna(), "0"),
                   kSip, "sip:+431505641@pbx.example.com;user=phone"},
        RenderCase{"outside_line_not_in_tel", "+43 1 505641", with_outside_line(vienna(), "0"),
                   kTel, "tel:+431505641"},
        RenderCase{"outside_line_not_before_extension", "4000", with_outside_line(vienna(), "0"),
                   kNational, "sip:4000@pbx.example.com"},
        RenderCase{"outside_line_not_before_dialstring", "*8101", with_outside_line(vienna(), "0"),
                   kInternational, "sip:*8101@pbx.example.com"},
        RenderCase{"outside_line_before_local", "01 505641", with_outside_line(DialingRules{}, "9"),
                   kSip, "sip:901505641@pbx.example.com"},
        // Extensions, dial strings and URIs.
        RenderCase{"extension", "4000", vienna(), kSip, "sip:4000@pbx.example.com"},
        RenderCase{"extension_ignores_tel_format", "4000", vienna(), kTel,
                   "sip:4000@pbx.example.com"},
        RenderCase{"dialstring_star", "*8101", vienna(), kSip, "sip:*8101@pbx.example.com"},
        RenderCase{"dialstring_hash_escaped", "#31#", vienna(), kSip,
                   "sip:%2331%23@pbx.example.com"},
        RenderCase{"uri_unchanged", "sip:bob@example.com", vienna(), kNational,
                   "sip:bob@example.com"},
        RenderCase{"uri_needs_no_domain", "sips:bob@example.com", vienna(), kSipNoDomain,
                   "sips:bob@example.com"},
        RenderCase{"local_without_outside_line", "505641", DialingRules{}, kNational,
                   "sip:505641@pbx.example.com"},
        RenderCase{"domain_with_port", "4000", vienna(),
                   DialTargetOptions{"10.0.0.1:5060", UriFormat::sip_user_phone},
                   "sip:4000@10.0.0.1:5060"},
        RenderCase{"domain_ipv6", "+43 1 505641", vienna(),
                   DialTargetOptions{"[2001:db8::1]", UriFormat::sip_user_phone},
                   "sip:+431505641@[2001:db8::1];user=phone"},
        // Errors.
        RenderCase{"missing_domain_global", "+43 1 505641", vienna(), kSipNoDomain,
                   "a domain is needed to render +431505641 as a SIP URI", true},
        RenderCase{"missing_domain_extension", "4000", vienna(),
                   DialTargetOptions{"", UriFormat::tel},
                   "a domain is needed to render 4000 as a SIP URI", true},
        RenderCase{"missing_domain_national", "+43 1 505641", vienna(),
                   DialTargetOptions{"", UriFormat::national},
                   "a domain is needed to render +431505641 as a SIP URI", true},
        RenderCase{"domain_with_parameter", "4000", vienna(),
                   DialTargetOptions{"pbx.example.com;transport=tcp", UriFormat::sip_user_phone},
                   "invalid character ';' at position 16 in domain "
                   "\"pbx.example.com;transport=tcp\"",
                   true},
        RenderCase{"local_has_no_tel_form", "505641", DialingRules{}, kTel,
                   "local number 505641 has no tel: form; configure a country code", true},
        RenderCase{"no_international_prefix", "+43 1 505641",
                   rules_with([](DialingRules& r) { r.international_prefix.clear(); }),
                   kInternational, "no international prefix is configured to render +431505641",
                   true}),
    [](const testing::TestParamInfo<RenderCase>& param_info) { return param_info.param.name; });

TEST(RenderDialTargetTest, RefusesInvalidRules) {
    const Result<NormalizedNumber> number = normalize_number("4000", vienna());
    ASSERT_TRUE(number.ok()) << number.error();
    DialingRules broken = vienna();
    broken.outside_line_prefix = "x";
    const Result<std::string> uri = render_dial_target(*number, broken, kSip);
    ASSERT_FALSE(uri.ok());
    EXPECT_EQ(uri.error(), R"(invalid dialing rules: outside-line prefix "x" must be digits)");
}

TEST(EscapeSipUserTest, FollowsRfc3261UserRules) {
    EXPECT_EQ(escape_sip_user("+431505641"), "+431505641");
    EXPECT_EQ(escape_sip_user("*8101"), "*8101");
    EXPECT_EQ(escape_sip_user("#31#"), "%2331%23");
    EXPECT_EQ(escape_sip_user("a-_.!~*'()&=+$,;?/z"), "a-_.!~*'()&=+$,;?/z");
    EXPECT_EQ(escape_sip_user("a b@c%:<\"\xC3"), "a%20b%40c%25%3A%3C%22%C3");
}

TEST(UriFormatTest, NamesRoundTrip) {
    for (UriFormat format : {UriFormat::sip_user_phone, UriFormat::international_prefix,
                             UriFormat::national, UriFormat::tel}) {
        const Result<UriFormat> parsed = parse_uri_format(to_string(format));
        ASSERT_TRUE(parsed.ok()) << parsed.error();
        EXPECT_EQ(*parsed, format);
    }
    EXPECT_EQ(to_string(UriFormat::sip_user_phone), "sip");
    EXPECT_EQ(to_string(UriFormat::international_prefix), "international");
    const Result<UriFormat> unknown = parse_uri_format("sip_user_phone");
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(
        unknown.error(),
        R"(unknown URI format "sip_user_phone" (expected sip, international, national or tel))");
}

TEST(NumberKindTest, HasStableNames) {
    EXPECT_EQ(to_string(NumberKind::global), "global");
    EXPECT_EQ(to_string(NumberKind::extension), "extension");
    EXPECT_EQ(to_string(NumberKind::local), "local");
    EXPECT_EQ(to_string(NumberKind::dialstring), "dialstring");
    EXPECT_EQ(to_string(NumberKind::uri), "uri");
}

}  // namespace
}  // namespace sipcc::addressing
