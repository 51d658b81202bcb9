/* core/shape — validates a request tree against its generated input shape
 * (shape.h), the way AWS's Coral front end does before the service sees it.
 *
 * Pass 1 (types) walks the body in document order, as Coral's streaming
 * deserialiser reads it, and stops at the first value of the wrong JSON
 * type with a SerializationException. Unknown members and JSON nulls are
 * skipped, as AWS skips them.
 * Pass 2 (constraints) walks the model in member order and collects up to
 * 10 "Value ... at 'path' failed to satisfy constraint: ..." messages.
 *
 * The wording is AWS's as recorded by dynalite's tests run against real
 * DynamoDB (test/helpers.js assertType, assertValidation in
 * test/<action>.js) and by request probes other emulators logged; see
 * tests/unit/test_shape.c for the cases. This module knows nothing of any one service except the Java
 * package Coral names in two messages (JAVA_NS below).
 *
 * The success path allocates nothing: paths live on the stack as a linked
 * list and are only spelled out when a message is written. */
#include "shape.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <threads.h>
#include <time.h>

#include "buf.h"

#define MAX_ERRORS 10

/* The tables carry no Java package, and Coral spells one in "Unrecognized
 * collection type class <package>.<Shape>". Every awsJson service tidepool
 * validates today is DynamoDB's; a second Coral service needs a package
 * field in tp_shape. */
static const char JAVA_NS[] = "com.amazonaws.dynamodb.v20120810.";

/* What Coral answers when a list or map that sits inside another collection
 * gets a scalar: its reflection on the element type fails. */
static const char CAST_MSG[] =
    "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to "
    "class java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl "
    "and java.lang.Class are in module java.base of loader 'bootstrap')";

/* --- small helpers -------------------------------------------------------- */

static void put_lower_first(tp_buf *b, const char *s)
{
    if (!*s)
        return;
    char c = (char)tolower((unsigned char)s[0]);
    tp_buf_append(b, &c, 1);
    tp_buf_puts(b, s + 1);
}

/* Java's String.length(): UTF-16 code units, so a 4-byte UTF-8 sequence
 * counts twice. */
static size_t java_length(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) != 0x80)
            n += *p >= 0xF0 ? 2 : 1;
    }
    return n;
}

static int is_decimal(double d) { return d != trunc(d); }

/* Coral turns JSON numbers into the member's Java type by narrowing:
 * fractions are dropped, out-of-range values wrap (intValue/longValue). */
static int64_t java_long(double d)
{
    if (d != d)
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

static int64_t java_int(double d) { return (int32_t)(uint32_t)(uint64_t)java_long(d); }

static int64_t as_java_integer(const tp_shape *s, double d)
{
    return s->type == TP_SH_INTEGER ? java_int(d) : java_long(d);
}

/* Java's Double.toString: shortest round-trip digits, plain notation in
 * [1e-3, 1e7), otherwise d.dddE<n>; always a digit after the point. */
static void put_java_double(tp_buf *b, double d)
{
    if (d == 0) {
        tp_buf_puts(b, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    if (isinf(d)) {
        tp_buf_puts(b, d < 0 ? "-Infinity" : "Infinity");
        return;
    }
    char tmp[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp: [-]D[.DDD]e[+-]XX */
    char digits[24];
    size_t nd = 0;
    const char *p = tmp;
    int neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p) && nd < sizeof digits - 1)
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    if (neg)
        tp_buf_puts(b, "-");
    double a = fabs(d);
    if (a >= 1e-3 && a < 1e7) {
        if (exp10 < 0) {
            tp_buf_puts(b, "0.");
            for (int i = -1; i > exp10; i--)
                tp_buf_puts(b, "0");
            tp_buf_puts(b, digits);
        } else {
            for (int i = 0; i <= exp10; i++)
                tp_buf_append(b, i < (int)nd ? &digits[i] : "0", 1);
            tp_buf_puts(b, ".");
            if ((int)nd > exp10 + 1)
                tp_buf_puts(b, digits + exp10 + 1);
            else
                tp_buf_puts(b, "0");
        }
    } else {
        tp_buf_append(b, digits, 1);
        tp_buf_puts(b, ".");
        tp_buf_puts(b, nd > 1 ? digits + 1 : "0");
        tp_buf_printf(b, "E%d", exp10);
    }
}

/* A model bound as AWS prints it ("greater than or equal to 1"). */
static void put_bound(tp_buf *b, double d)
{
    if (d == trunc(d) && fabs(d) < 1e18)
        tp_buf_printf(b, "%lld", (long long)d);
    else
        put_java_double(b, d);
}

/* --- base64 (blobs travel as base64 text on awsJson) -------------------- */

static int b64_value(int c)
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

static size_t b64_pads(const char *s, size_t n)
{
    size_t pads = 0;
    while (pads < 2 && pads < n && s[n - 1 - pads] == '=')
        pads++;
    return pads;
}

static size_t blob_length(const char *s)
{
    size_t n = strlen(s);
    return n / 4 * 3 - b64_pads(s, n);
}

/* Coral's decoder: length first, then the alphabet, then the unused low
 * bits of the last character before the padding ("dectected" is AWS's
 * spelling). An '=' inside the text decodes as zero bits, which is why
 * '=+/=' is reported for its last character, not its first. */
static int check_base64(const char *s, tp_error *err)
{
    size_t n = strlen(s);
    if (n % 4)
        return tp_fail(err, TP_ERR_SERIALIZATION,
                       "Base64 encoded length is expected a multiple of 4 bytes but found: %zu", n);
    size_t pads = b64_pads(s, n);
    for (size_t i = 0; i < n - pads; i++) {
        if (s[i] != '=' && b64_value((unsigned char)s[i]) < 0)
            return tp_fail(err, TP_ERR_SERIALIZATION, "Invalid Base64 character: '%c'", s[i]);
    }
    if (pads) {
        int v = b64_value((unsigned char)s[n - pads - 1]);
        if (v > 0 && (v & (pads == 1 ? 0x3 : 0xF)))
            return tp_fail(err, TP_ERR_SERIALIZATION, "Invalid last non-pad Base64 character dectected");
    }
    return 0;
}

/* --- pass 1: JSON types --------------------------------------------------- */

static void put_java_type(tp_buf *b, const tp_shape *s)
{
    switch (s->type) {
    case TP_SH_STRUCTURE:
        tp_buf_puts(b, JAVA_NS);
        tp_buf_puts(b, s->name);
        break;
    case TP_SH_LIST:
        tp_buf_puts(b, "java.util.List<");
        put_java_type(b, s->member);
        tp_buf_puts(b, ">");
        break;
    case TP_SH_MAP:
        tp_buf_puts(b, "java.util.Map<java.lang.String, ");
        put_java_type(b, s->value);
        tp_buf_puts(b, ">");
        break;
    case TP_SH_STRING: tp_buf_puts(b, "java.lang.String"); break;
    case TP_SH_INTEGER: tp_buf_puts(b, "java.lang.Integer"); break;
    case TP_SH_LONG: tp_buf_puts(b, "java.lang.Long"); break;
    case TP_SH_DOUBLE: tp_buf_puts(b, "java.lang.Double"); break;
    case TP_SH_BOOLEAN: tp_buf_puts(b, "java.lang.Boolean"); break;
    case TP_SH_BLOB: tp_buf_puts(b, "java.nio.ByteBuffer"); break;
    case TP_SH_TIMESTAMP: tp_buf_puts(b, "java.util.Date"); break;
    }
}

/* An array where a non-list belongs: Coral names the Java type it wanted
 * ("class java.lang.String", or the generic type of a map). */
static int collection_fail(const tp_shape *s, tp_error *err)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_buf_puts(&b, s->type == TP_SH_MAP ? "Unrecognized collection type " : "Unrecognized collection type class ");
    put_java_type(&b, s);
    tp_fail(err, TP_ERR_SERIALIZATION, "%s", b.data ? b.data : "");
    tp_buf_free(&b);
    return -1;
}

/* A scalar-typed member given a value of another JSON type. Coral names
 * the token it got and the type it wanted: "NUMBER_VALUE cannot be
 * converted to String". */
static int scalar_fail(const tp_shape *s, const cJSON *v, const char *want, tp_error *err)
{
    if (cJSON_IsArray(v))
        return collection_fail(s, err);
    if (cJSON_IsObject(v))
        return tp_fail(err, TP_ERR_SERIALIZATION, "Start of structure or map found where not expected");
    const char *got = cJSON_IsTrue(v)     ? "TRUE_VALUE"
                      : cJSON_IsFalse(v)  ? "FALSE_VALUE"
                      : cJSON_IsString(v) ? "STRING_VALUE"
                      : cJSON_IsNumber(v) ? (is_decimal(v->valuedouble) ? "DECIMAL_VALUE" : "NUMBER_VALUE")
                                          : "UNKNOWN_VALUE";
    return tp_fail(err, TP_ERR_SERIALIZATION, "%s cannot be converted to %s", got, want);
}

static const tp_member *find_member(const tp_shape *s, const char *name)
{
    for (unsigned i = 0; i < s->nmembers; i++)
        if (strcmp(s->members[i].name, name) == 0)
            return &s->members[i];
    return NULL;
}

/* elem: the value is a list element or map value, where Coral's messages
 * for structures and collections differ from those for a member. */
static int check_types(const tp_shape *s, const cJSON *v, int elem, tp_error *err)
{
    switch (s->type) {
    case TP_SH_STRUCTURE:
        if (cJSON_IsObject(v)) {
            for (const cJSON *c = v->child; c; c = c->next) {
                if (cJSON_IsNull(c) || !c->string)
                    continue;
                const tp_member *m = find_member(s, c->string);
                if (m && check_types(m->shape, c, 0, err) != 0)
                    return -1;
            }
            return 0;
        }
        if (cJSON_IsArray(v))
            return collection_fail(s, err);
        return tp_fail(err, TP_ERR_SERIALIZATION, "%s",
                       elem ? "Unexpected value type in payload" : "Unexpected field type");
    case TP_SH_LIST:
        if (cJSON_IsArray(v)) {
            for (const cJSON *c = v->child; c; c = c->next)
                if (!cJSON_IsNull(c) && check_types(s->member, c, 1, err) != 0)
                    return -1;
            return 0;
        }
        if (cJSON_IsObject(v))
            return tp_fail(err, TP_ERR_SERIALIZATION, "Start of structure or map found where not expected");
        return tp_fail(err, TP_ERR_SERIALIZATION, "%s", elem ? CAST_MSG : "Unexpected field type");
    case TP_SH_MAP:
        if (cJSON_IsObject(v)) {
            for (const cJSON *c = v->child; c; c = c->next)
                if (!cJSON_IsNull(c) && check_types(s->value, c, 1, err) != 0)
                    return -1;
            return 0;
        }
        if (cJSON_IsArray(v))
            return collection_fail(s, err);
        return tp_fail(err, TP_ERR_SERIALIZATION, "%s", elem ? CAST_MSG : "Unexpected field type");
    case TP_SH_STRING:
        return cJSON_IsString(v) ? 0 : scalar_fail(s, v, "String", err);
    case TP_SH_BOOLEAN:
        if (cJSON_IsBool(v))
            return 0;
        if (cJSON_IsString(v)) {
            /* Coral's boolean parser takes the words, not other text. */
            if (strcasecmp(v->valuestring, "true") == 0 || strcasecmp(v->valuestring, "false") == 0)
                return 0;
            return tp_fail(err, TP_ERR_SERIALIZATION, "Unexpected token received from parser");
        }
        return scalar_fail(s, v, "Boolean", err);
    case TP_SH_INTEGER:
        return cJSON_IsNumber(v) ? 0 : scalar_fail(s, v, "Integer", err);
    case TP_SH_LONG:
        return cJSON_IsNumber(v) ? 0 : scalar_fail(s, v, "Long", err);
    case TP_SH_DOUBLE:
        return cJSON_IsNumber(v) ? 0 : scalar_fail(s, v, "Double", err);
    case TP_SH_TIMESTAMP:
        return cJSON_IsNumber(v) ? 0 : scalar_fail(s, v, "Date", err);
    case TP_SH_BLOB:
        if (cJSON_IsString(v))
            return check_base64(v->valuestring, err);
        if (cJSON_IsArray(v))
            return collection_fail(s, err);
        if (cJSON_IsObject(v))
            return tp_fail(err, TP_ERR_SERIALIZATION, "Start of structure or map found where not expected");
        return tp_fail(err, TP_ERR_SERIALIZATION, "only base-64-encoded strings are convertible to bytes");
    }
    return 0;
}

/* --- patterns ------------------------------------------------------------- */

/* Model patterns are Java regexes; POSIX ERE is what libc offers. They are
 * translated once (\d, \w, \s, \p{Print}, \xHH, escapes inside [...],
 * (?:...), lazy quantifiers) and compiled; a pattern POSIX cannot say
 * (lookaround, \b, backreferences, non-ASCII \u ranges, class
 * intersections, possessive quantifiers) is not checked at all rather than
 * checked wrongly. In DynamoDB's model that is one pattern, the XML-text
 * class [\u0020-\uD7FF...] on a policy document. A pattern that is one
 * character class repeated (TableName's "[a-zA-Z0-9_.-]+") skips regexec
 * and tests each byte against a table.
 *
 * Matching is bytewise, as regcomp is in the C locale: a multi-byte UTF-8
 * character never matches an ASCII-only class, as in Java. */

typedef struct bset {
    unsigned char b[32];
} bset;

static void bs_add(bset *s, int c) { s->b[c >> 3] |= (unsigned char)(1u << (c & 7)); }
static int bs_has(const bset *s, int c) { return (s->b[c >> 3] >> (c & 7)) & 1; }

static void bs_range(bset *s, int lo, int hi)
{
    for (int c = lo; c <= hi; c++)
        bs_add(s, c);
}

static void bs_union(bset *s, const bset *o)
{
    for (int i = 0; i < 32; i++)
        s->b[i] |= o->b[i];
}

/* Complement over 1..255 (NUL never occurs in a C string). */
static void bs_invert(bset *s)
{
    for (int i = 0; i < 32; i++)
        s->b[i] = (unsigned char)~s->b[i];
    s->b[0] &= 0xFE;
}

/* Java's POSIX-style classes are ASCII-only by default. */
static int java_posix_class(const char *name, size_t len, bset *s)
{
    memset(s, 0, sizeof *s);
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(name, lit, len) == 0)
    if (IS("Lower"))
        bs_range(s, 'a', 'z');
    else if (IS("Upper"))
        bs_range(s, 'A', 'Z');
    else if (IS("ASCII"))
        bs_range(s, 1, 0x7F);
    else if (IS("Alpha"))
        bs_range(s, 'a', 'z'), bs_range(s, 'A', 'Z');
    else if (IS("Digit"))
        bs_range(s, '0', '9');
    else if (IS("Alnum"))
        bs_range(s, 'a', 'z'), bs_range(s, 'A', 'Z'), bs_range(s, '0', '9');
    else if (IS("Punct") || IS("Graph") || IS("Print")) {
        for (int c = 0x21; c <= 0x7E; c++)
            if (IS("Graph") || IS("Print") || !isalnum(c))
                bs_add(s, c);
        if (IS("Print"))
            bs_add(s, ' ');
    } else if (IS("Blank"))
        bs_add(s, ' '), bs_add(s, '\t');
    else if (IS("Cntrl"))
        bs_range(s, 1, 0x1F), bs_add(s, 0x7F);
    else if (IS("XDigit"))
        bs_range(s, '0', '9'), bs_range(s, 'a', 'f'), bs_range(s, 'A', 'F');
    else if (IS("Space"))
        bs_range(s, '\t', '\r'), bs_add(s, ' ');
    else
        return 0;
#undef IS
    return 1;
}

static int hex_value(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        int c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

enum { ESC_FAIL, ESC_LIT, ESC_SET };

/* *pp points after a backslash. Yields a literal byte or a class. */
static int parse_escape(const char **pp, int *lit, bset *set)
{
    const char *p = *pp;
    int c = (unsigned char)*p++, neg = 0;
    memset(set, 0, sizeof *set);
    switch (c) {
    case 'D': neg = 1; /* fall through */
    case 'd':
        bs_range(set, '0', '9');
        break;
    case 'S': neg = 1; /* fall through */
    case 's':
        bs_range(set, '\t', '\r');
        bs_add(set, ' ');
        break;
    case 'W': neg = 1; /* fall through */
    case 'w':
        bs_range(set, 'a', 'z'), bs_range(set, 'A', 'Z'), bs_range(set, '0', '9'), bs_add(set, '_');
        break;
    case 'P': neg = 1; /* fall through */
    case 'p': {
        const char *name = p;
        size_t len = 1;
        if (*p == '{') {
            const char *end = strchr(p, '}');
            if (!end)
                return ESC_FAIL;
            name = p + 1;
            len = (size_t)(end - name);
            p = end + 1;
        } else {
            p++;
        }
        if (len > 2 && memcmp(name, "Is", 2) == 0)
            name += 2, len -= 2;
        if (!java_posix_class(name, len, set))
            return ESC_FAIL;
        break;
    }
    case 't': *lit = '\t'; *pp = p; return ESC_LIT;
    case 'n': *lit = '\n'; *pp = p; return ESC_LIT;
    case 'r': *lit = '\r'; *pp = p; return ESC_LIT;
    case 'f': *lit = '\f'; *pp = p; return ESC_LIT;
    case 'a': *lit = 0x07; *pp = p; return ESC_LIT;
    case 'e': *lit = 0x1B; *pp = p; return ESC_LIT;
    case 'x':
    case 'u': {
        int n = c == 'x' ? 2 : 4;
        int v = hex_value(p, n);
        if (v <= 0 || v > 0x7F)
            return ESC_FAIL;   /* beyond ASCII: a UTF-16 unit, not a byte */
        *lit = v;
        *pp = p + n;
        return ESC_LIT;
    }
    default:
        if (c == 0 || c >= 0x80 || isalnum(c))
            return ESC_FAIL;   /* \b \A \z \Q \1 \k \h \v \R ...: no ERE spelling */
        *lit = c;
        *pp = p;
        return ESC_LIT;
    }
    if (neg)
        bs_invert(set);
    *pp = p;
    return ESC_SET;
}

/* *pp points after '['. */
static int parse_class(const char **pp, bset *out)
{
    const char *p = *pp;
    int neg = 0, first = 1;
    bset s, sub;
    memset(&s, 0, sizeof s);
    if (*p == '^')
        neg = 1, p++;
    for (;;) {
        int c = (unsigned char)*p, lo, hi;
        if (!c)
            return 0;
        if (c == ']' && !first) {
            p++;
            break;
        }
        first = 0;
        if (c == '[' || (c == '&' && p[1] == '&') || c >= 0x80)
            return 0;   /* unions, intersections, multi-byte members */
        if (c == '\\') {
            p++;
            int r = parse_escape(&p, &lo, &sub);
            if (r == ESC_FAIL)
                return 0;
            if (r == ESC_SET) {
                bs_union(&s, &sub);
                continue;
            }
        } else {
            lo = c;
            p++;
        }
        if (p[0] == '-' && p[1] && p[1] != ']') {
            p++;
            c = (unsigned char)*p;
            if (c == '\\') {
                p++;
                if (parse_escape(&p, &hi, &sub) != ESC_LIT)
                    return 0;
            } else if (c == '[' || c >= 0x80) {
                return 0;
            } else {
                hi = c;
                p++;
            }
            if (hi < lo)
                return 0;
            bs_range(&s, lo, hi);
        } else {
            bs_add(&s, lo);
        }
    }
    if (neg)
        bs_invert(&s);
    *out = s;
    *pp = p;
    return 1;
}

static int bs_count(const bset *s)
{
    int n = 0;
    for (int c = 1; c < 256; c++)
        n += bs_has(s, c);
    return n;
}

static int bracket_normal(int c) { return c != ']' && c != '^' && c != '-' && c != '['; }

/* Writes members of s as the inside of a POSIX bracket expression: ']'
 * first, '[' '^' '-' last, so none of them is read as syntax. */
static void put_bracket_body(tp_buf *o, const bset *s, int negated)
{
    size_t start = o->len;
    if (bs_has(s, ']'))
        tp_buf_puts(o, "]");
    for (int c = 1; c < 256;) {
        if (!bs_has(s, c) || !bracket_normal(c)) {
            c++;
            continue;
        }
        int e = c;
        while (e + 1 < 256 && bs_has(s, e + 1) && bracket_normal(e + 1))
            e++;
        char ch[3] = {(char)c, '-', (char)e};
        if (e - c >= 2)
            tp_buf_append(o, ch, 3);
        else
            for (int k = c; k <= e; k++) {
                char one = (char)k;
                tp_buf_append(o, &one, 1);
            }
        c = e + 1;
    }
    if (bs_has(s, '['))
        tp_buf_puts(o, "[");
    int dash = bs_has(s, '-');
    if (bs_has(s, '^')) {
        if (o->len == start && !negated) {
            tp_buf_puts(o, dash ? "-^" : "^");  /* "^" alone is handled by put_set */
            dash = 0;
        } else {
            tp_buf_puts(o, "^");
        }
    }
    if (dash)
        tp_buf_puts(o, "-");
}

static void put_set(tp_buf *o, const bset *s)
{
    int n = bs_count(s);
    if (n == 255) {
        tp_buf_puts(o, "(.|\n)");
        return;
    }
    if (n == 1 && bs_has(s, '^')) {
        tp_buf_puts(o, "\\^");
        return;
    }
    if (n > 128) {   /* say the shorter side: [^...] */
        bset inv = *s;
        bs_invert(&inv);
        tp_buf_puts(o, "[^");
        put_bracket_body(o, &inv, 1);
    } else if (n == 0) {
        tp_buf_puts(o, "[^\001-\377]");   /* matches nothing */
        return;
    } else {
        tp_buf_puts(o, "[");
        put_bracket_body(o, s, 0);
    }
    tp_buf_puts(o, "]");
}

static void put_literal(tp_buf *o, int c)
{
    char ch = (char)c;
    if (strchr(".[]()*+?{}|^$\\", c))
        tp_buf_puts(o, "\\");
    tp_buf_append(o, &ch, 1);
}

/* After a quantifier: lazy is the same as greedy for a whole-string test;
 * possessive is not, and has no ERE spelling. */
static int quantifier_suffix(const char **pp)
{
    if (**pp == '?')
        (*pp)++;
    else if (**pp == '+')
        return 0;
    return 1;
}

static int translate(const char *jp, tp_buf *o)
{
    const char *p = jp;
    bset set;
    int lit;
    tp_buf_puts(o, "^(");
    while (*p) {
        int c = (unsigned char)*p;
        if (c == '\\') {
            p++;
            int r = parse_escape(&p, &lit, &set);
            if (r == ESC_FAIL)
                return 0;
            if (r == ESC_LIT)
                put_literal(o, lit);
            else
                put_set(o, &set);
        } else if (c == '[') {
            p++;
            if (!parse_class(&p, &set))
                return 0;
            put_set(o, &set);
        } else if (c == '(') {
            if (p[1] == '?') {
                if (p[2] != ':')
                    return 0;   /* lookaround, flags, named groups */
                p += 3;
            } else {
                p++;
            }
            tp_buf_puts(o, "(");
        } else if (c == '*' || c == '+' || c == '?') {
            tp_buf_append(o, p++, 1);
            if (!quantifier_suffix(&p))
                return 0;
        } else if (c == '{') {
            const char *e = p + 1;
            while (isdigit((unsigned char)*e) || *e == ',')
                e++;
            if (*e != '}' || e == p + 1)
                return 0;
            tp_buf_append(o, p, (size_t)(e - p + 1));
            p = e + 1;
            if (!quantifier_suffix(&p))
                return 0;
        } else if (strchr(".|)^$", c)) {
            tp_buf_append(o, p++, 1);
        } else if (c >= 0x80) {
            return 0;
        } else {
            put_literal(o, c);
            p++;
        }
    }
    tp_buf_puts(o, ")$");
    return 1;
}

/* "[...]+", "[...]*", "\p{Print}+" and the like, optionally ^...$. */
static int single_class(const char *p, bset *set, int *min_reps)
{
    int lit;
    if (*p == '^')
        p++;
    if (*p == '[') {
        p++;
        if (!parse_class(&p, set))
            return 0;
    } else if (*p == '\\') {
        p++;
        if (parse_escape(&p, &lit, set) != ESC_SET)
            return 0;
    } else {
        return 0;
    }
    if (*p != '+' && *p != '*')
        return 0;
    *min_reps = *p == '+';
    p++;
    if (*p == '$')
        p++;
    return *p == '\0';
}

enum { PAT_REGEX = 1, PAT_SET, PAT_SKIP };

typedef struct pat {
    _Atomic(const char *) key;   /* published last, with release order */
    int kind;
    int min_reps;
    bset set;
    regex_t re;
} pat;

/* Patterns live in the generated tables for the life of the process, so
 * their addresses key the cache and entries are never freed. Readers take
 * no lock; the one writer at a time holds pat_lock. (C11 threads rather
 * than <pthread.h>: with emulator/core on the include path, core/sched.h
 * shadows the <sched.h> that <pthread.h> includes.) */
#define PAT_SLOTS 512
static pat pats[PAT_SLOTS];
static mtx_t pat_lock;
static once_flag pat_once = ONCE_FLAG_INIT;

static void pat_lock_init(void) { mtx_init(&pat_lock, mtx_plain); }

static size_t pat_hash(const char *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 40) % PAT_SLOTS;
}

static void pat_compile(pat *e, const char *pattern)
{
    if (single_class(pattern, &e->set, &e->min_reps)) {
        e->kind = PAT_SET;
        return;
    }
    tp_buf ere;
    tp_buf_init(&ere);
    e->kind = PAT_SKIP;
    if (translate(pattern, &ere) && ere.data &&
        regcomp(&e->re, ere.data, REG_EXTENDED | REG_NOSUB) == 0)
        e->kind = PAT_REGEX;
    tp_buf_free(&ere);
}

static const pat *pat_get(const char *pattern)
{
    size_t h = pat_hash(pattern);
    for (size_t i = 0; i < PAT_SLOTS; i++) {
        pat *e = &pats[(h + i) % PAT_SLOTS];
        const char *k = atomic_load_explicit(&e->key, memory_order_acquire);
        if (k == pattern)
            return e;
        if (!k)
            break;
    }
    const pat *found = NULL;
    call_once(&pat_once, pat_lock_init);
    mtx_lock(&pat_lock);
    for (size_t i = 0; i < PAT_SLOTS; i++) {
        pat *e = &pats[(h + i) % PAT_SLOTS];
        const char *k = atomic_load_explicit(&e->key, memory_order_acquire);
        if (k == pattern) {
            found = e;
            break;
        }
        if (!k) {
            pat_compile(e, pattern);
            atomic_store_explicit(&e->key, pattern, memory_order_release);
            found = e;
            break;
        }
    }
    mtx_unlock(&pat_lock);
    return found;
}

/* 1 matches, 0 does not, -1 not checkable. */
static int pattern_match(const char *pattern, const char *s)
{
    const pat *e = pat_get(pattern);
    pat tmp;
    int r;
    if (!e) {   /* cache full: compile for this call only */
        memset(&tmp, 0, sizeof tmp);
        pat_compile(&tmp, pattern);
        e = &tmp;
    }
    switch (e->kind) {
    case PAT_SET: {
        const unsigned char *p = (const unsigned char *)s;
        if (!*p)
            return e->min_reps == 0;
        for (; *p; p++)
            if (!bs_has(&e->set, *p))
                return 0;
        return 1;
    }
    case PAT_REGEX:
        r = regexec(&e->re, s, 0, NULL, 0) == 0;
        if (e == &tmp)
            regfree(&tmp.re);
        return r;
    default:
        return -1;
    }
}

/* --- pass 2: constraints --------------------------------------------------- */

enum {
    F_PATTERN = 1, F_MINLEN = 2, F_MAXLEN = 4, F_MINVAL = 8, F_MAXVAL = 16, F_ENUM = 32,
};

static unsigned string_failures(const tp_shape *s, const char *str)
{
    unsigned f = 0;
    if (s->pattern && pattern_match(s->pattern, str) == 0)
        f |= F_PATTERN;
    if (s->has_min || s->has_max) {
        double len = (double)java_length(str);
        if (s->has_min && len < s->min)
            f |= F_MINLEN;
        if (s->has_max && len > s->max)
            f |= F_MAXLEN;
    }
    if (s->enums) {
        const char *const *e = s->enums;
        while (*e && strcmp(*e, str) != 0)
            e++;
        if (!*e)
            f |= F_ENUM;
    }
    return f;
}

static size_t child_count(const cJSON *v)
{
    size_t n = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        n++;
    return n;
}

/* The constraints a present value of shape s breaks (F_* bits). */
static unsigned own_failures(const tp_shape *s, const cJSON *v)
{
    double x;
    switch (s->type) {
    case TP_SH_STRING:
        return cJSON_IsString(v) ? string_failures(s, v->valuestring) : 0;
    case TP_SH_BLOB:
        if (!cJSON_IsString(v) || !(s->has_min || s->has_max))
            return 0;
        x = (double)blob_length(v->valuestring);
        return (s->has_min && x < s->min ? F_MINLEN : 0) | (s->has_max && x > s->max ? F_MAXLEN : 0);
    case TP_SH_LIST:
    case TP_SH_MAP:
        if (!(s->has_min || s->has_max) || !(cJSON_IsArray(v) || cJSON_IsObject(v)))
            return 0;
        x = (double)child_count(v);
        return (s->has_min && x < s->min ? F_MINLEN : 0) | (s->has_max && x > s->max ? F_MAXLEN : 0);
    case TP_SH_INTEGER:
    case TP_SH_LONG:
    case TP_SH_DOUBLE:
        if (!cJSON_IsNumber(v) || !(s->has_min || s->has_max))
            return 0;
        x = s->type == TP_SH_DOUBLE ? v->valuedouble : (double)as_java_integer(s, v->valuedouble);
        return (s->has_min && x < s->min ? F_MINVAL : 0) | (s->has_max && x > s->max ? F_MAXVAL : 0);
    default:
        return 0;
    }
}

static int has_constraints(const tp_shape *s)
{
    return s->has_min || s->has_max || s->pattern || s->enums;
}

static void put_constraint(tp_buf *b, const tp_shape *s, unsigned f)
{
    switch (f) {
    case F_PATTERN:
        tp_buf_puts(b, "Member must satisfy regular expression pattern: ");
        tp_buf_puts(b, s->pattern);
        break;
    case F_MINLEN:
        tp_buf_puts(b, "Member must have length greater than or equal to ");
        put_bound(b, s->min);
        break;
    case F_MAXLEN:
        tp_buf_puts(b, "Member must have length less than or equal to ");
        put_bound(b, s->max);
        break;
    case F_MINVAL:
        tp_buf_puts(b, "Member must have value greater than or equal to ");
        put_bound(b, s->min);
        break;
    case F_MAXVAL:
        tp_buf_puts(b, "Member must have value less than or equal to ");
        put_bound(b, s->max);
        break;
    case F_ENUM:
        tp_buf_puts(b, "Member must satisfy enum value set: [");
        for (const char *const *e = s->enums; *e; e++) {
            if (e != s->enums)
                tp_buf_puts(b, ", ");
            tp_buf_puts(b, *e);
        }
        tp_buf_puts(b, "]");
        break;
    }
}

/* Every constraint a shape declares, as Coral lists them inside "Map keys
 * must satisfy constraint: [...]": upper bound before lower. */
static void put_all_constraints(tp_buf *b, const tp_shape *s)
{
    int numeric = s->type == TP_SH_INTEGER || s->type == TP_SH_LONG || s->type == TP_SH_DOUBLE;
    const unsigned order[] = {numeric ? F_MAXVAL : F_MAXLEN, numeric ? F_MINVAL : F_MINLEN, F_PATTERN, F_ENUM};
    int first = 1;
    tp_buf_puts(b, "[");
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        unsigned f = order[i];
        int has = (f == F_MAXLEN || f == F_MAXVAL) ? s->has_max
                  : (f == F_MINLEN || f == F_MINVAL) ? s->has_min
                  : f == F_PATTERN                  ? s->pattern != NULL
                                                    : s->enums != NULL;
        if (!has)
            continue;
        if (!first)
            tp_buf_puts(b, ", ");
        first = 0;
        put_constraint(b, s, f);
    }
    tp_buf_puts(b, "]");
}

typedef struct path {
    const struct path *up;
    enum { P_MEMBER, P_INDEX, P_KEY } kind;
    const char *name;   /* P_MEMBER: wire name; P_KEY: map key */
    size_t index;       /* P_INDEX: 0-based */
} path;

/* 'keySchema.1.member.attributeName', 'requestItems.tbl.member.1.member'. */
static void put_path(tp_buf *b, const path *p)
{
    if (!p)
        return;
    put_path(b, p->up);
    switch (p->kind) {
    case P_MEMBER:
        if (p->up)
            tp_buf_puts(b, ".");
        put_lower_first(b, p->name);
        break;
    case P_INDEX:
        tp_buf_printf(b, ".%zu.member", p->index + 1);
        break;
    case P_KEY:
        tp_buf_puts(b, ".");
        tp_buf_puts(b, p->name);
        tp_buf_puts(b, ".member");
        break;
    }
}

typedef struct vctx {
    int n;
    tp_buf msg;
    size_t limit;   /* stop rendering values past this length */
} vctx;

static void render(vctx *x, const tp_shape *s, const cJSON *v);

static void render_timestamp(tp_buf *b, double secs)
{
    /* java.util.Date.toString() on a UTC server. */
    time_t t = (time_t)floor(secs);
    struct tm tm;
    char out[64];
    if (gmtime_r(&t, &tm) && strftime(out, sizeof out, "%a %b %d %H:%M:%S UTC %Y", &tm))
        tp_buf_puts(b, out);
    else
        put_java_double(b, secs);
}

/* A value as AWS prints it in "Value '...' at": Java's toString of the
 * deserialised object — strings bare, lists [a, b], maps {k=v}, structures
 * Name(member=value, ...), blobs as the ByteBuffer they became. */
static void render(vctx *x, const tp_shape *s, const cJSON *v)
{
    tp_buf *b = &x->msg;
    if (b->len > x->limit)
        return;
    if (!v || cJSON_IsNull(v)) {
        tp_buf_puts(b, "null");
        return;
    }
    switch (s->type) {
    case TP_SH_STRING:
        if (cJSON_IsString(v))
            tp_buf_puts(b, v->valuestring);
        return;
    case TP_SH_BOOLEAN:
        if (cJSON_IsBool(v))
            tp_buf_puts(b, cJSON_IsTrue(v) ? "true" : "false");
        else if (cJSON_IsString(v))
            tp_buf_puts(b, strcasecmp(v->valuestring, "true") == 0 ? "true" : "false");
        return;
    case TP_SH_INTEGER:
    case TP_SH_LONG:
        if (cJSON_IsNumber(v))
            tp_buf_printf(b, "%lld", (long long)as_java_integer(s, v->valuedouble));
        return;
    case TP_SH_DOUBLE:
        if (cJSON_IsNumber(v))
            put_java_double(b, v->valuedouble);
        return;
    case TP_SH_TIMESTAMP:
        if (cJSON_IsNumber(v))
            render_timestamp(b, v->valuedouble);
        return;
    case TP_SH_BLOB:
        if (cJSON_IsString(v)) {
            size_t n = blob_length(v->valuestring);
            tp_buf_printf(b, "java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]", n, n);
        }
        return;
    case TP_SH_LIST:
        tp_buf_puts(b, "[");
        for (const cJSON *c = v->child; c && b->len <= x->limit; c = c->next) {
            if (c != v->child)
                tp_buf_puts(b, ", ");
            render(x, s->member, c);
        }
        tp_buf_puts(b, "]");
        return;
    case TP_SH_MAP:
        tp_buf_puts(b, "{");
        for (const cJSON *c = v->child; c && b->len <= x->limit; c = c->next) {
            if (c != v->child)
                tp_buf_puts(b, ", ");
            tp_buf_puts(b, c->string ? c->string : "");
            tp_buf_puts(b, "=");
            render(x, s->value, c);
        }
        tp_buf_puts(b, "}");
        return;
    case TP_SH_STRUCTURE:
        tp_buf_puts(b, s->name);
        tp_buf_puts(b, "(");
        for (unsigned i = 0; i < s->nmembers && b->len <= x->limit; i++) {
            const tp_member *m = &s->members[i];
            if (i)
                tp_buf_puts(b, ", ");
            put_lower_first(b, m->name);
            tp_buf_puts(b, "=");
            render(x, m->shape, cJSON_GetObjectItemCaseSensitive(v, m->name));
        }
        tp_buf_puts(b, ")");
        return;
    }
}

/* Starts one "Value ... at '...' failed to satisfy constraint: " message;
 * 0 when the request already has its 10. */
static int begin(vctx *x, const tp_shape *s, const cJSON *v, const path *p)
{
    if (x->n >= MAX_ERRORS)
        return 0;
    tp_buf *b = &x->msg;
    if (x->n++)
        tp_buf_puts(b, "; ");
    /* A long value is cut so the constraint text after it always fits in
     * the error message (ten of these share TP_ERROR_MESSAGE_MAX). */
    x->limit = b->len + 256;
    tp_buf_puts(b, "Value ");
    if (!v) {
        tp_buf_puts(b, "null");
    } else {
        tp_buf_puts(b, "'");
        render(x, s, v);
        tp_buf_puts(b, "'");
    }
    tp_buf_puts(b, " at '");
    put_path(b, p);
    tp_buf_puts(b, "' failed to satisfy constraint: ");
    return 1;
}

/* One message per broken constraint of a value, in the order AWS was seen
 * to list them for one member (pattern before lengths). */
static void check_own(vctx *x, const tp_shape *s, const cJSON *v, const path *p, unsigned skip)
{
    unsigned f = own_failures(s, v) & ~skip;
    static const unsigned order[] = {F_PATTERN, F_MINLEN, F_MAXLEN, F_MINVAL, F_MAXVAL, F_ENUM};
    for (size_t i = 0; f && i < sizeof order / sizeof order[0]; i++) {
        if ((f & order[i]) && begin(x, s, v, p))
            put_constraint(&x->msg, s, order[i]);
    }
}

static void walk(vctx *x, const tp_shape *s, const cJSON *v, const path *p)
{
    if (x->n >= MAX_ERRORS || !v)
        return;
    switch (s->type) {
    case TP_SH_STRUCTURE:
        if (!cJSON_IsObject(v))
            return;
        for (unsigned i = 0; i < s->nmembers && x->n < MAX_ERRORS; i++) {
            const tp_member *m = &s->members[i];
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, m->name);
            path mp = {.up = p, .kind = P_MEMBER, .name = m->name};
            if (!c || cJSON_IsNull(c)) {
                if (m->required && begin(x, m->shape, NULL, &mp))
                    tp_buf_puts(&x->msg, "Member must not be null");
                continue;
            }
            /* A TP_MEMBER_PRESENCE member's length was judged up front
             * (presence_check); only its other constraints are collected. */
            check_own(x, m->shape, c, &mp,
                      m->required == TP_MEMBER_PRESENCE ? F_MINLEN | F_MAXLEN : 0);
            walk(x, m->shape, c, &mp);
        }
        return;
    case TP_SH_LIST: {
        if (!cJSON_IsArray(v))
            return;
        size_t i = 0;
        for (const cJSON *c = v->child; c && x->n < MAX_ERRORS; c = c->next, i++) {
            if (cJSON_IsNull(c))
                continue;
            path ep = {.up = p, .kind = P_INDEX, .index = i};
            check_own(x, s->member, c, &ep, 0);
            walk(x, s->member, c, &ep);
        }
        return;
    }
    case TP_SH_MAP:
        if (!cJSON_IsObject(v))
            return;
        /* Key and value constraints are one message each for the whole
         * map, naming every constraint of the key (value) shape. */
        if (has_constraints(s->key)) {
            for (const cJSON *c = v->child; c; c = c->next) {
                if (c->string && string_failures(s->key, c->string)) {
                    if (begin(x, s, v, p)) {
                        tp_buf_puts(&x->msg, "Map keys must satisfy constraint: ");
                        put_all_constraints(&x->msg, s->key);
                    }
                    break;
                }
            }
        }
        if (has_constraints(s->value)) {
            for (const cJSON *c = v->child; c; c = c->next) {
                if (!cJSON_IsNull(c) && own_failures(s->value, c)) {
                    if (begin(x, s, v, p)) {
                        tp_buf_puts(&x->msg, "Map value must satisfy constraint: ");
                        put_all_constraints(&x->msg, s->value);
                    }
                    break;
                }
            }
        }
        for (const cJSON *c = v->child; c && x->n < MAX_ERRORS; c = c->next) {
            if (cJSON_IsNull(c))
                continue;
            path kp = {.up = p, .kind = P_KEY, .name = c->string ? c->string : ""};
            walk(x, s->value, c, &kp);
        }
        return;
    default:
        return;
    }
}

/* Members the server checks before collecting constraint failures
 * (tp_member.required == TP_MEMBER_PRESENCE): absent -> "The parameter 'X'
 * is required but was not present in the request"; a string outside its
 * length bounds -> "X must be at least MIN characters long and at most MAX
 * characters long", each alone. */
static int presence_check(const tp_shape *input, const cJSON *req, tp_error *err)
{
    for (unsigned i = 0; i < input->nmembers; i++) {
        const tp_member *m = &input->members[i];
        if (m->required != TP_MEMBER_PRESENCE)
            continue;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(req, m->name);
        if (!c || cJSON_IsNull(c))
            return tp_fail(err, TP_ERR_VALIDATION,
                           "The parameter '%s' is required but was not present in the request",
                           m->name);
        if (cJSON_IsString(c) && (string_failures(m->shape, c->valuestring) & (F_MINLEN | F_MAXLEN)))
            return tp_fail(err, TP_ERR_VALIDATION,
                           "%s must be at least %.0f characters long and at most %.0f characters "
                           "long",
                           m->name, m->shape->min, m->shape->max);
    }
    return 0;
}

int tp_shape_check(const tp_shape *input, const cJSON *req, tp_error *err)
{
    cJSON empty;
    if (!input)
        return 0;
    if (!req) {   /* no body: every required member is missing */
        memset(&empty, 0, sizeof empty);
        empty.type = cJSON_Object;
        req = &empty;
    }
    if (check_types(input, req, 0, err) != 0 || presence_check(input, req, err) != 0)
        return -1;
    vctx x = {0};
    tp_buf_init(&x.msg);
    walk(&x, input, req, NULL);
    if (!x.n)
        return 0;
    tp_fail(err, TP_ERR_VALIDATION, "%d validation error%s detected: %s", x.n, x.n > 1 ? "s" : "",
            x.msg.data ? x.msg.data : "");
    tp_buf_free(&x.msg);
    return -1;
}
