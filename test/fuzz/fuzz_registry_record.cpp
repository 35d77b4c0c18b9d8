/* SPDX-License-Identifier: BSD-3-Clause */
// libFuzzer target: the endpoint record and membership decoders on arbitrary bytes. Whatever
// decodes must re-encode to the same bytes (the codec has exactly one encoding per record).
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "members.h"
#include "record.h"

using namespace rdmaud::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const HmacKey kKey(32, 0x11);
    const std::span<const uint8_t> in(data, size);
    for (const HmacKey* key : {static_cast<const HmacKey*>(nullptr), &kKey}) {
        const HmacKey none;
        const HmacKey& k = key ? *key : none;
        EndpointRecord r;
        if (decode_record(in, "fuzz", k, &r) == RejectCause::none) {
            std::vector<uint8_t> again;
            // An unkeyed reader accepts signed records too; re-sign only when the input was.
            const bool had_tag = size > 5 && (data[5] & kFlagHmac);
            if (!key && had_tag)
                continue;
            if (!encode_record(r, "fuzz", k, &again) || again.size() != size ||
                !std::equal(again.begin(), again.end(), data))
                std::abort();
        }
    }
    std::vector<Member> set;
    if (decode_members(in, &set) == RejectCause::none) {
        const std::vector<uint8_t> again = encode_members(set);
        if (again.size() != size || !std::equal(again.begin(), again.end(), data))
            std::abort();
    }
    return 0;
}
