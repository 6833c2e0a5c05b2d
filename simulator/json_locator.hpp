// Where a value sits in JSON text. nlohmann/json keeps no source positions, so
// error messages that name "file:line: field" find the line here by walking
// the text along the field's path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sipcc::sim {

// One step of a path: an object key or an array index.
struct PathStep {
    std::string key;    // empty for an index
    int index = -1;     // -1 for a key
};

// The 1-based line where the value at `path` starts, or where the deepest
// existing parent starts when the value is missing. 1 on malformed text.
int line_of(std::string_view json_text, const std::vector<PathStep>& path);

// "phones[1].answer"
std::string path_to_string(const std::vector<PathStep>& path);

}  // namespace sipcc::sim
