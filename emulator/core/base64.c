/* core/base64 — standard base64 with padding, strict on decode.
 *
 * Strict because DynamoDB compares and hashes blobs by their bytes: if two
 * spellings decoded to the same bytes (stray padding, non-zero bits after
 * the last byte) an emulator that accepted both would store keys AWS never
 * could. The checks and their order follow AWS's JSON front end: length
 * first, then characters, then the last character's spare bits. */
#include "base64.h"

#include <stdint.h>
#include <stdio.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for an alphabet character, -1 otherwise ('=' included). */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int tp_base64_encode(const void *data, size_t len, tp_buf *out)
{
    const unsigned char *p = data;
    if (tp_buf_reserve(out, (len + 2) / 3 * 4) != 0)
        return -1;
    char *w = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *w++ = alphabet[v >> 18 & 63];
        *w++ = alphabet[v >> 12 & 63];
        *w++ = alphabet[v >> 6 & 63];
        *w++ = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *w++ = alphabet[v >> 18 & 63];
        *w++ = alphabet[v >> 12 & 63];
        *w++ = '=';
        *w++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *w++ = alphabet[v >> 18 & 63];
        *w++ = alphabet[v >> 12 & 63];
        *w++ = alphabet[v >> 6 & 63];
        *w++ = '=';
    }
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int tp_base64_check(const char *text, size_t len, char *why, size_t cap)
{
    char scratch[1];
    if (!why) {
        why = scratch;
        cap = sizeof scratch;
    }
    if (len % 4 != 0) {
        snprintf(why, cap,
                 "Base64 encoded length is expected a multiple of 4 bytes but found: %zu", len);
        return -1;
    }
    /* A '=' is only allowed in the run that ends the text, so the first '='
     * followed by anything else is itself the bad character. */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '=' ? (i + 1 < len && text[i + 1] != '=') : sextet(c) < 0) {
            snprintf(why, cap, "Invalid Base64 character: '%c'", c);
            return -1;
        }
    }
    size_t pad = 0;
    while (pad < len && text[len - 1 - pad] == '=')
        pad++;
    int bad_tail = pad > 2;
    if (!bad_tail && pad > 0) {
        /* The bits of the last character that fall past the last byte must
         * be zero, or two texts would decode to the same bytes. */
        int last = sextet((unsigned char)text[len - 1 - pad]);
        bad_tail = pad == 1 ? (last & 0x3) != 0 : (last & 0xf) != 0;
    }
    if (bad_tail) {
        /* AWS's spelling, typo included. */
        snprintf(why, cap, "Invalid last non-pad Base64 character dectected");
        return -1;
    }
    if (cap)
        why[0] = '\0';
    return 0;
}

int tp_base64_decode(const char *text, size_t len, tp_buf *out)
{
    if (tp_base64_check(text, len, NULL, 0) != 0)
        return -1;
    if (tp_buf_reserve(out, len / 4 * 3) != 0)
        return -1;
    unsigned char *w = (unsigned char *)out->data + out->len;
    for (size_t i = 0; i < len; i += 4) {
        int s[4];
        int pad = 0;
        for (size_t k = 0; k < 4; k++) {
            s[k] = text[i + k] == '=' ? 0 : sextet((unsigned char)text[i + k]);
            pad += text[i + k] == '=';
        }
        uint32_t v = (uint32_t)s[0] << 18 | (uint32_t)s[1] << 12 | (uint32_t)s[2] << 6 |
                     (uint32_t)s[3];
        *w++ = (unsigned char)(v >> 16);
        if (pad < 2)
            *w++ = (unsigned char)(v >> 8);
        if (pad < 1)
            *w++ = (unsigned char)v;
    }
    out->len = (size_t)(w - (unsigned char *)out->data);
    out->data[out->len] = '\0';
    return 0;
}
