/* SPDX-License-Identifier: BSD-3-Clause */
// libFuzzer target: the registry's endpoint record decoder (plain and HMAC-authenticated) and
// its membership-set decoder, on arbitrary bytes.
//
// Input = one control byte + the bytes to decode. Control bit 0 set: the harness signs the
// bytes first, overwriting their last 32 with HMAC-SHA256 under the fuzzer's key and namespace
// (computed here with OpenSSL from the layout in doc/design/registry.md, independently of the
// codec), so mutations get past the tag check and reach the field decoding of signed records.
// Properties: no crash / UB / leak; whatever decodes re-encodes to the same bytes (the codec
// has exactly one encoding per record); a correctly signed input is never refused as bad_hmac
// and never accepted in another namespace or under another key; a keyed reader never accepts
// an unsigned record.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "members.h"
#include "record.h"

using namespace rdmaud::registry;

namespace {

constexpr uint8_t kSign = 0x01;
constexpr std::string_view kNs = "fuzz";
constexpr std::string_view kDomain = "rdmaud-registry-record-v1";

// The tag as the design document specifies it: HMAC-SHA256(key, domain | len(ns) | ns | body).
void sign(std::vector<uint8_t>& d, const HmacKey& key)
{
    if (d.size() < kHmacSize)
        return;
    std::vector<uint8_t> msg(kDomain.begin(), kDomain.end());
    msg.push_back(static_cast<uint8_t>(kNs.size()));
    msg.insert(msg.end(), kNs.begin(), kNs.end());
    msg.insert(msg.end(), d.begin(), d.end() - kHmacSize);
    unsigned len = 0;
    require(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), msg.data(), msg.size(),
                 d.data() + d.size() - kHmacSize, &len) != nullptr && len == kHmacSize);
}

bool same(const std::vector<uint8_t>& a, std::span<const uint8_t> b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 1)
        return 0;
    static const HmacKey kKey(32, 0x11);
    static const HmacKey kOtherKey(32, 0x22);
    static const HmacKey kNone;
    const bool signed_here = (data[0] & kSign) != 0 && size - 1 >= kHmacSize;
    std::vector<uint8_t> d(data + 1, data + size);
    if (signed_here)
        sign(d, kKey);
    const std::span<const uint8_t> in(d);
    const bool tag_flag = d.size() > 5 && (d[5] & kFlagHmac);

    EndpointRecord keyed, plain;
    const RejectCause rk = decode_record(in, kNs, kKey, &keyed);
    const RejectCause rp = decode_record(in, kNs, kNone, &plain);
    require(static_cast<size_t>(rk) < kRejectCauseCount && static_cast<size_t>(rp) < kRejectCauseCount);
    if (rk == RejectCause::none) {
        require(tag_flag);  // a keyed reader takes signed records only
        std::vector<uint8_t> again;
        require(encode_record(keyed, kNs, kKey, &again) && same(again, in));
        // The tag binds the namespace and the key: the same bytes elsewhere are refused.
        EndpointRecord other;
        require(decode_record(in, "fuzz2", kKey, &other) != RejectCause::none);
        require(decode_record(in, kNs, kOtherKey, &other) != RejectCause::none);
        // An unkeyed reader accepts a signed record (it cannot check the tag) with equal fields.
        require(rp == RejectCause::none && plain == keyed);
    }
    if (signed_here && tag_flag)
        require(rk != RejectCause::bad_hmac);  // our tag at the end is the right one
    if (rk == RejectCause::bad_hmac || rk == RejectCause::missing_hmac)  // framing was fine
        require(rp != RejectCause::oversized && rp != RejectCause::foreign && rp != RejectCause::truncated);
    else  // the key plays no part in any other verdict
        require(rp == rk);
    if (rp == RejectCause::none && !tag_flag) {
        require(rk == RejectCause::missing_hmac);
        std::vector<uint8_t> again;
        require(encode_record(plain, kNs, kNone, &again) && same(again, in));
    }

    std::vector<Member> set;
    if (decode_members(in, &set) == RejectCause::none)
        require(same(encode_members(set), in));
    return 0;
}
