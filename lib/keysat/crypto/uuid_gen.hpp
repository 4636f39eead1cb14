#pragma once
// Making new UUIDs: random (v4) and name-based (v5, SHA-1).

#include <string_view>

#include "keysat/util/uuid.hpp"

namespace keysat::crypto {

// A random version-4 UUID.
Uuid uuid_v4();
// The RFC 4122 version-5 UUID of `name` in `ns`: the same inputs always give the same UUID.
Uuid uuid_v5(const Uuid& ns, std::string_view name);

} // namespace keysat::crypto
