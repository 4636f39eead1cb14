#pragma once
// The deepest nesting of [ and { outside strings in a JSON text. nlohmann's parser and serializer
// recurse, and a request of a few hundred kilobytes of brackets overflowed a worker's stack
// (found in review): every JSON text from outside is measured before it is parsed.

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace keysat {

inline std::size_t json_nesting_depth(std::string_view text) {
    std::size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

// How deep a JSON text from outside may nest.
inline constexpr std::size_t k_max_json_depth = 32;

} // namespace keysat
