#include "core/message/header_names.hpp"

#include <array>
#include <cctype>

#include "core/message/message.hpp"

namespace sipcc {
namespace {

struct CompactForm {
    char letter;
    std::string_view full_name;
};

// RFC 3261 §7.3.3 plus RFC 3841 (a), RFC 3515 (r), RFC 3892 (b), RFC 6665 (o, u), RFC 4028 (x).
constexpr std::array<CompactForm, 16> kCompactForms{{
    {'a', "Accept-Contact"},
    {'b', "Referred-By"},
    {'c', "Content-Type"},
    {'e', "Content-Encoding"},
    {'f', "From"},
    {'i', "Call-ID"},
    {'k', "Supported"},
    {'l', "Content-Length"},
    {'m', "Contact"},
    {'o', "Event"},
    {'r', "Refer-To"},
    {'s', "Subject"},
    {'t', "To"},
    {'u', "Allow-Events"},
    {'v', "Via"},
    {'x', "Session-Expires"},
}};

// Names whose canonical spelling is not plain Title-Case-Per-Dash.
constexpr std::array<std::string_view, 9> kIrregularNames{{
    "Call-ID",
    "CSeq",
    "WWW-Authenticate",
    "MIME-Version",
    "Refer-Sub",
    "SIP-ETag",
    "SIP-If-Match",
    "RAck",
    "RSeq",
}};

}  // namespace

std::string canonical_header_name(std::string_view name) {
    if (name.size() == 1) {
        const char letter = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
        for (const auto& form : kCompactForms) {
            if (form.letter == letter) return std::string(form.full_name);
        }
    }
    for (auto irregular : kIrregularNames) {
        if (iequals(irregular, name)) return std::string(irregular);
    }
    std::string canonical(name);
    bool word_start = true;
    for (auto& ch : canonical) {
        const auto uch = static_cast<unsigned char>(ch);
        ch = static_cast<char>(word_start ? std::toupper(uch) : std::tolower(uch));
        word_start = (ch == '-');
    }
    return canonical;
}

bool same_header_name(std::string_view a, std::string_view b) {
    if (a.size() > 1 && b.size() > 1) return iequals(a, b);
    return iequals(canonical_header_name(a), canonical_header_name(b));
}

}  // namespace sipcc
