/* core/hash — CRC32 (zlib), MD5 and SHA-256 (OpenSSL libcrypto), hex. */
#ifndef TP_CORE_HASH_H
#define TP_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

uint32_t tp_crc32(const void *data, size_t len);
void tp_md5_hex(const void *data, size_t len, char out[33]);
void tp_sha256(const void *data, size_t len, unsigned char out[32]);
void tp_sha256_hex(const void *data, size_t len, char out[65]);
void tp_hex(const unsigned char *in, size_t len, char *out /* 2*len+1 */);
/* HMAC-SHA256 (SigV4 signing keys and signatures). */
void tp_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    unsigned char out[32]);

#endif
