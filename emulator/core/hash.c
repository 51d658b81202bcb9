/* core/hash — thin wrappers so services never include zlib/OpenSSL. */
#include "hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

uint32_t tp_crc32(const void *data, size_t len)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const unsigned char *p = data;
    while (len > 0) {
        uInt chunk = len > 0x40000000u ? 0x40000000u : (uInt)len;
        c = crc32(c, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)c;
}

void tp_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static void digest(const EVP_MD *md, const void *data, size_t len, unsigned char *out)
{
    unsigned int n = 0;
    EVP_Digest(data, len, out, &n, md, NULL);
}

void tp_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char d[16];
    digest(EVP_md5(), data, len, d);
    tp_hex(d, 16, out);
}

void tp_sha256(const void *data, size_t len, unsigned char out[32])
{
    digest(EVP_sha256(), data, len, out);
}

void tp_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[32];
    tp_sha256(data, len, d);
    tp_hex(d, 32, out);
}

void tp_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &n);
}
