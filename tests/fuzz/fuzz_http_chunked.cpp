// The chunked body decoder (http/parser.cpp): resumable, each byte read once.
//
// Properties: the result does not depend on how the bytes arrive (all at once, one byte at a
// time, or in two reads at a point the input chooses); a complete body stays within the limit
// and consumes no more than it was given; errors carry the documented statuses.

#include "fuzz_support.hpp"
#include "keysat/http/parser.hpp"

using namespace keysat;
using namespace keysat::http::detail;

namespace {

struct Outcome {
    ParseResult result;
    ChunkState state;
};

// Feeds `in` in pieces ending at each of `cuts` (ascending) and then whole.
Outcome feed(std::string_view in, std::size_t max_body, const std::vector<std::size_t>& cuts) {
    Outcome o;
    for (std::size_t cut : cuts) {
        if (cut >= in.size())
            break;
        o.result = decode_chunked(in.substr(0, cut), max_body, o.state);
        if (o.result.state != Parse::incomplete)
            return o;
    }
    o.result = decode_chunked(in, max_body, o.state);
    return o;
}

void check(std::string_view in, std::size_t max_body, std::size_t split) {
    Outcome whole = feed(in, max_body, {});
    if (whole.result.state == Parse::error) {
        int s = whole.result.status;
        FUZZ_CHECK(s == 400 || s == 413 || s == 431);
    } else if (whole.result.state == Parse::complete) {
        FUZZ_CHECK(whole.state.pos <= in.size());
        FUZZ_CHECK(whole.state.body.size() <= max_body);
        FUZZ_CHECK(in.substr(0, whole.state.pos).ends_with("\r\n"));
    }
    std::vector<std::size_t> bytewise;
    for (std::size_t i = 0; i < in.size() && i < 2048; ++i)
        bytewise.push_back(i);
    for (const auto& cuts : {std::vector<std::size_t>{split}, bytewise}) {
        Outcome o = feed(in, max_body, cuts);
        FUZZ_CHECK(o.result.state == whole.result.state);
        FUZZ_CHECK(o.result.status == whole.result.status);
        if (whole.result.state == Parse::complete) {
            FUZZ_CHECK(o.state.pos == whole.state.pos);
            FUZZ_CHECK(o.state.body == whole.state.body);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    // The first two bytes choose where the input is split into two reads.
    std::size_t split = (std::size_t{data[0]} << 8 | data[1]) % (size - 1);
    std::string_view in = fuzz::as_text(data + 2, size - 2);
    check(in, 64, split);      // small: the fuzzer reaches 413
    check(in, 1 << 20, split); // the server's default
    return 0;
}
