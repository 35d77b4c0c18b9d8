/* SPDX-License-Identifier: BSD-3-Clause */
#include "hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace rdmaud::registry {
namespace {

struct MacDeleter {
    void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
};
struct CtxDeleter {
    void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

// Fetched once: EVP_MAC_fetch walks the provider tables, too slow to repeat per record.
EVP_MAC* hmac_algorithm() noexcept {
    static std::unique_ptr<EVP_MAC, MacDeleter> mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
    return mac.get();
}

}  // namespace

bool hmac_sha256(std::span<const uint8_t> key, std::initializer_list<std::span<const uint8_t>> parts,
                 HmacTag* out) noexcept {
    EVP_MAC* alg = hmac_algorithm();
    if (alg == nullptr || key.empty())
        return false;
    std::unique_ptr<EVP_MAC_CTX, CtxDeleter> ctx{EVP_MAC_CTX_new(alg)};
    if (!ctx)
        return false;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1)
        return false;
    for (auto p : parts)
        if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1)
            return false;
    size_t len = 0;
    if (EVP_MAC_final(ctx.get(), out->data(), &len, out->size()) != 1 || len != out->size())
        return false;
    return true;
}

bool tags_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace rdmaud::registry
