/* dynamodb/keycodec — key values as blobs whose memcmp order is DynamoDB's.
 *
 * S: the UTF-8 bytes the client sent (DynamoDB orders strings by UTF-8
 *    bytes), U+0000 as 0x00 again (core/json holds it as TP_NUL).
 * B: the decoded bytes (binary orders bytewise, unsigned).
 * N: one class byte, one exponent byte, then one byte per digit:
 *
 *   negative  0x40  255 - (e + 130)  ('9' - d) for each digit, then 0xFF
 *   zero      0x80
 *   positive  0xC0  e + 130          d as ASCII '1'..'9','0'
 *
 * where e is the scientific exponent, -130..125, so e + 130 fits a byte.
 * Classes order the signs; for positives a larger exponent is a larger
 * value and then digits compare left to right, a proper prefix being the
 * smaller (digits end in a non-zero digit, so 0.12 < 0.123). Negatives
 * reverse all of that: the exponent byte is mirrored, digits are
 * complemented, and a terminator above every complemented digit makes the
 * proper prefix sort last (-0.12 > -0.123). One digit per byte costs at
 * most 41 bytes a key and keeps blobs readable in a SQLite hex dump. */
#include "keycodec.h"

#include <string.h>

#include "core/base64.h"
#include "core/json.h"

#define N_NEG 0x40
#define N_ZERO 0x80
#define N_POS 0xC0
#define N_NEG_END 0xFF
#define E_BIAS 130
#define NUM_BLOB_MAX (2 + DDB_NUM_MAX_DIGITS + 1)

static size_t encode_num(const ddb_num *n, unsigned char *b)
{
    if (n->sign == 0) {
        b[0] = N_ZERO;
        return 1;
    }
    int biased = n->exp - 1 + E_BIAS;
    size_t w = 0;
    if (n->sign > 0) {
        b[w++] = N_POS;
        b[w++] = (unsigned char)biased;
        for (int k = 0; k < n->ndigits; k++)
            b[w++] = (unsigned char)n->digits[k];
    } else {
        b[w++] = N_NEG;
        b[w++] = (unsigned char)(255 - biased);
        for (int k = 0; k < n->ndigits; k++)
            b[w++] = (unsigned char)('9' - (n->digits[k] - '0'));
        b[w++] = N_NEG_END;
    }
    return w;
}

void ddb_key_encode_num(const ddb_num *n, tp_buf *out)
{
    unsigned char b[NUM_BLOB_MAX];
    /* tp_buf keeps no error state; callers that must know about a failed
     * allocation use ddb_key_encode. */
    (void)tp_buf_append(out, b, encode_num(n, b));
}

int ddb_key_encode(char type, const char *text, tp_buf *out, tp_error *err)
{
    int rc = 0;
    switch (type) {
    case 'S':
        rc = tp_str_wire_bytes(text, strlen(text), out);   /* U+0000 sorts first */
        break;
    case 'B': {
        size_t len = strlen(text);
        char why[128];
        if (tp_base64_check(text, len, why, sizeof why) != 0)
            return tp_fail(err, TP_ERR_SERIALIZATION, "'%s' can not be converted to a Blob: %s",
                           text, why);
        rc = tp_base64_decode(text, len, out);
        break;
    }
    case 'N': {
        ddb_num n;
        if (ddb_num_parse(text, &n, err) != 0)
            return -1;
        unsigned char b[NUM_BLOB_MAX];
        rc = tp_buf_append(out, b, encode_num(&n, b));
        break;
    }
    default:
        return tp_fail(err, TP_ERR_INTERNAL, "unknown key type '%c'", type);
    }
    return rc == 0 ? 0 : tp_fail(err, TP_ERR_INTERNAL, "out of memory");
}

/* Inverts encode_num, rejecting anything encode_num could not have made. */
static int decode_num(const unsigned char *b, size_t len, ddb_num *n)
{
    memset(n, 0, sizeof *n);
    if (len == 1 && b[0] == N_ZERO)
        return 0;
    if (len < 3 || (b[0] != N_POS && b[0] != N_NEG))
        return -1;
    int neg = b[0] == N_NEG;
    size_t nd = len - 2 - (size_t)neg;
    if (nd < 1 || nd > DDB_NUM_MAX_DIGITS || (neg && b[len - 1] != N_NEG_END))
        return -1;
    /* Every exponent byte is a valid exponent: -130..125 fills 0..255. */
    int biased = neg ? 255 - b[1] : b[1];
    for (size_t k = 0; k < nd; k++) {
        unsigned char c = b[2 + k];
        if (c < '0' || c > '9')
            return -1;
        n->digits[k] = neg ? (char)('9' - (c - '0')) : (char)c;
    }
    if (n->digits[0] == '0' || n->digits[nd - 1] == '0')
        return -1;
    n->digits[nd] = '\0';
    n->ndigits = (int)nd;
    n->sign = neg ? -1 : 1;
    n->exp = biased - E_BIAS + 1;
    return 0;
}

int ddb_key_decode(char type, const void *blob, size_t len, tp_buf *out)
{
    switch (type) {
    case 'S':
        return tp_str_from_wire(blob, len, out);
    case 'B':
        return tp_base64_encode(blob, len, out);
    case 'N': {
        ddb_num n;
        if (decode_num(blob, len, &n) != 0)
            return -1;
        char text[200];
        ddb_num_format(&n, text, sizeof text);
        return tp_buf_puts(out, text);
    }
    default:
        return -1;
    }
}
