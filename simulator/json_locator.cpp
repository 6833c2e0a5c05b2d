#include "simulator/json_locator.hpp"

#include <cctype>

namespace sipcc::sim {
namespace {

class Scanner {
public:
    explicit Scanner(std::string_view text) : text_(text) {}

    void skip_space() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    [[nodiscard]] bool at(char ch) {
        skip_space();
        return pos_ < text_.size() && text_[pos_] == ch;
    }
    bool eat(char ch) {
        if (!at(ch)) return false;
        ++pos_;
        return true;
    }
    std::string read_string() {
        std::string out;
        if (!eat('"')) return out;
        while (pos_ < text_.size() && text_[pos_] != '"') {
            if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
            out += text_[pos_++];
        }
        ++pos_;
        return out;
    }
    // Skips one value of any kind.
    bool skip_value() {
        skip_space();
        if (pos_ >= text_.size()) return false;
        const char ch = text_[pos_];
        if (ch == '"') {
            read_string();
            return true;
        }
        if (ch == '{' || ch == '[') {
            const char close = ch == '{' ? '}' : ']';
            ++pos_;
            if (eat(close)) return true;
            do {
                if (ch == '{') {
                    read_string();
                    if (!eat(':')) return false;
                }
                if (!skip_value()) return false;
            } while (eat(','));
            return eat(close);
        }
        while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}' &&
               text_[pos_] != ']' && !std::isspace(static_cast<unsigned char>(text_[pos_]))) {
            ++pos_;
        }
        return true;
    }
    // Moves to the value of `step` inside the value that starts here.
    bool enter(const PathStep& step) {
        if (step.index < 0) {
            if (!eat('{')) return false;
            if (at('}')) return false;
            do {
                const auto key = read_string();
                if (!eat(':')) return false;
                if (key == step.key) {
                    skip_space();
                    return true;
                }
                if (!skip_value()) return false;
            } while (eat(','));
            return false;
        }
        if (!eat('[')) return false;
        for (int i = 0; i < step.index; ++i) {
            if (!skip_value() || !eat(',')) return false;
        }
        skip_space();
        return !at(']');
    }
    [[nodiscard]] std::size_t position() const { return pos_; }
    void seek(std::size_t pos) { pos_ = pos; }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

int line_at(std::string_view text, std::size_t pos) {
    int line = 1;
    for (std::size_t i = 0; i < pos && i < text.size(); ++i) line += text[i] == '\n';
    return line;
}

}  // namespace

int line_of(std::string_view json_text, const std::vector<PathStep>& path) {
    Scanner scanner(json_text);
    scanner.skip_space();
    std::size_t found = scanner.position();
    for (const auto& step : path) {
        const auto before = scanner.position();
        if (!scanner.enter(step)) {
            scanner.seek(before);
            break;
        }
        found = scanner.position();
    }
    return line_at(json_text, found);
}

std::string path_to_string(const std::vector<PathStep>& path) {
    std::string out;
    for (const auto& step : path) {
        if (step.index >= 0) {
            out += "[" + std::to_string(step.index) + "]";
        } else {
            if (!out.empty()) out += '.';
            out += step.key;
        }
    }
    return out;
}

}  // namespace sipcc::sim
