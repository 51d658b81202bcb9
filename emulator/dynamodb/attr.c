/* dynamodb/attr — what DynamoDB checks of each AttributeValue once the
 * model has checked JSON types, item size, equality.
 *
 * Order of checks, as AWS reports them (dynalite's validateAttributeValue,
 * whose tests ran against AWS, plus AWS's own later rules):
 *   0. blobs that are not base64 fail first, anywhere in the value: that is
 *      a SerializationException from the JSON front end, before any
 *      validation;
 *   1. per value, its type members in the order sent (a null member counts
 *      as absent, unknown members are ignored): numbers parse (and are
 *      rewritten canonical), NULL must be true, sets must be non-empty and
 *      duplicate-free, M and L members recurse;
 *   2. then "empty" / "more than one datatypes";
 *   3. per attribute, after its content: nesting depth (the attribute is
 *      level 1; a value at level 33 fails).
 * Empty strings and empty binaries are fine here since 2020; whether they
 * may be key values is the key codec's business.
 *
 * Messages are the wording AWS gives from BatchWriteItem and from the
 * regions that had not moved to its 2026 wording (see test_attr.c). */
#include "attr.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/json.h"
#include "number.h"

#define MAX_DEPTH 32
/* Deeper than any tree cJSON parses (CJSON_NESTING_LIMIT); bounds recursion
 * on hand-built trees. */
#define WALK_LIMIT 1000

#define INVALID "One or more parameter values were invalid: "

static const char *const type_tags[] = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"};

/* The static tag for a member name, or NULL when it is not a type. */
static const char *tag_of(const char *member)
{
    if (!member)
        return NULL;
    for (size_t i = 0; i < sizeof type_tags / sizeof type_tags[0]; i++)
        if (strcmp(member, type_tags[i]) == 0)
            return type_tags[i];
    return NULL;
}

/* The first type member of av: a null member is no member at all, as it
 * is for AWS's deserialiser. */
static const cJSON *type_member(const cJSON *av, const char **tag)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, av)
    {
        const char *t = tag_of(m->string);
        if (t && !cJSON_IsNull(m)) {
            if (tag)
                *tag = t;
            return m;
        }
    }
    return NULL;
}

const char *ddb_attr_type(const cJSON *av)
{
    const char *tag = NULL;
    if (!cJSON_IsObject(av) || !type_member(av, &tag))
        return NULL;
    return tag;
}

/* --- 0. blobs --------------------------------------------------------------- */

static int check_blob(const cJSON *s, tp_error *err)
{
    if (!cJSON_IsString(s))
        return 0;
    char why[160];
    if (tp_base64_check(s->valuestring, strlen(s->valuestring), why, sizeof why) == 0)
        return 0;
    return tp_fail(err, TP_ERR_SERIALIZATION, "'%s' can not be converted to a Blob: %s",
                   s->valuestring, why);
}

static int check_blobs(const cJSON *av, int level, tp_error *err)
{
    if (level > WALK_LIMIT || !cJSON_IsObject(av))
        return 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, av)
    {
        const char *t = tag_of(m->string);
        if (!t)
            continue;
        const cJSON *e;
        if (strcmp(t, "B") == 0 && check_blob(m, err) != 0)
            return -1;
        if (strcmp(t, "BS") == 0)
            cJSON_ArrayForEach(e, m)
            {
                if (check_blob(e, err) != 0)
                    return -1;
            }
        if (strcmp(t, "M") == 0 || strcmp(t, "L") == 0)
            cJSON_ArrayForEach(e, m)
            {
                if (check_blobs(e, level + 1, err) != 0)
                    return -1;
            }
    }
    return 0;
}

/* --- 1. and 2. content -------------------------------------------------------- */

/* Parses a number member in place: AWS's message on failure, the canonical
 * text ("1.50" -> "1.5") on success, so stored and returned numbers match
 * what DynamoDB gives back. */
static int canon_number(cJSON *s, tp_error *err)
{
    ddb_num n;
    if (!cJSON_IsString(s))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "The parameter cannot be converted to a numeric value");
    if (ddb_num_parse(s->valuestring, &n, err) != 0)
        return -1;
    char text[200];
    ddb_num_format(&n, text, sizeof text);
    if (strcmp(text, s->valuestring) != 0 && !cJSON_SetValuestring(s, text))
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when the string members of set repeat one another (-1 out of memory).
 * Sorting keeps this n log n: a 400 KB number set has ~200k members. */
static int has_duplicates(const cJSON *set)
{
    int n = cJSON_GetArraySize(set);
    if (n < 2)
        return 0;
    const char **v = malloc((size_t)n * sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, set)
    {
        if (cJSON_IsString(e))
            v[k++] = e->valuestring;
    }
    qsort(v, k, sizeof *v, cmp_str);
    int dup = 0;
    for (size_t i = 1; i < k && !dup; i++)
        dup = strcmp(v[i - 1], v[i]) == 0;
    free(v);
    return dup;
}

/* AWS prints the whole set as sent: "[a, a]". */
static int duplicates_error(const cJSON *set, const char *suffix, tp_error *err)
{
    tp_buf b;
    tp_buf_init(&b);
    tp_buf_puts(&b, "[");
    const cJSON *e;
    cJSON_ArrayForEach(e, set)
    {
        if (e != set->child)
            tp_buf_puts(&b, ", ");
        if (cJSON_IsString(e))
            tp_buf_puts(&b, e->valuestring);
    }
    tp_buf_puts(&b, "]");
    tp_fail(err, TP_ERR_VALIDATION, INVALID "Input collection %s%s", b.data ? b.data : "[]",
            suffix);
    tp_buf_free(&b);
    return -1;
}

static int check_set(cJSON *m, const char *tag, tp_error *err)
{
    if (!m->child) {
        /* AWS's wording, double space and "An" included. */
        if (tag[0] == 'S')
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "An string set  may not be empty");
        if (tag[0] == 'N')
            return tp_fail(err, TP_ERR_VALIDATION, INVALID "An number set  may not be empty");
        return tp_fail(err, TP_ERR_VALIDATION, INVALID "Binary sets should not be empty");
    }
    cJSON *e;
    if (tag[0] == 'N')
        cJSON_ArrayForEach(e, m)
        {
            if (canon_number(e, err) != 0)
                return -1;
        }
    /* Numbers are canonical now, so "1" and "1.0" compare equal as text;
     * base64 is strict, so equal blobs are equal text. */
    int dup = has_duplicates(m);
    if (dup < 0)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    if (!dup)
        return 0;
    if (tag[0] == 'S')
        return duplicates_error(m, " contains duplicates.", err);
    if (tag[0] == 'B')
        return duplicates_error(m, "of type BS contains duplicates.", err);
    /* The number-set message names no members and has no prefix. */
    return tp_fail(err, TP_ERR_VALIDATION, "Input collection contains duplicates");
}

static int check_value(cJSON *av, int level, tp_error *err);

static int check_member(cJSON *m, const char *t, int level, tp_error *err)
{
    cJSON *e;
    switch (t[0]) {
    case 'N':
        if (t[1] == 'U') {
            if (!cJSON_IsTrue(m))
                return tp_fail(err, TP_ERR_VALIDATION,
                               INVALID "Null attribute value types must have the value of true");
            return 0;
        }
        return t[1] == 'S' ? check_set(m, t, err) : canon_number(m, err);
    case 'S':
    case 'B':
        return t[1] == 'S' ? check_set(m, t, err) : 0;
    case 'M':
    case 'L':
        cJSON_ArrayForEach(e, m)
        {
            if (check_value(e, level + 1, err) != 0)
                return -1;
        }
        return 0;
    }
    return 0;
}

static int check_value(cJSON *av, int level, tp_error *err)
{
    /* Past the nesting limit the depth check that follows will fail the
     * attribute; stopping here bounds the recursion. */
    if (level > MAX_DEPTH)
        return 0;
    int types = 0;
    cJSON *m;
    if (cJSON_IsObject(av)) {
        cJSON_ArrayForEach(m, av)
        {
            const char *t = tag_of(m->string);
            if (!t || cJSON_IsNull(m))
                continue;
            types++;
            if (check_member(m, t, level, err) != 0)
                return -1;
        }
    }
    if (types == 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Supplied AttributeValue is empty, must contain exactly one of the "
                       "supported datatypes");
    if (types > 1)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Supplied AttributeValue has more than one datatypes set, must contain "
                       "exactly one of the supported datatypes");
    return 0;
}

/* --- 3. depth ---------------------------------------------------------------- */

static int depth_ok(const cJSON *av, int level)
{
    if (level > MAX_DEPTH)
        return 0;
    const char *t = NULL;
    const cJSON *m = type_member(av, &t);
    if (!m || (t[0] != 'M' && t[0] != 'L') || t[1])
        return 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, m)
    {
        if (!depth_ok(e, level + 1))
            return 0;
    }
    return 1;
}

static int check_attribute(cJSON *av, tp_error *err)
{
    if (check_value(av, 1, err) != 0)
        return -1;
    if (!depth_ok(av, 1))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Nesting Levels have exceeded supported limits: Attributes in the item "
                       "have nested levels beyond supported limit");
    return 0;
}

int ddb_attr_validate(cJSON *av, tp_error *err)
{
    if (check_blobs(av, 1, err) != 0)
        return -1;
    return check_attribute(av, err);
}

int ddb_item_validate(cJSON *item, tp_error *err)
{
    if (!item)
        return 0;
    cJSON *av;
    cJSON_ArrayForEach(av, item)
    {
        /* The model bounds a name's length (65535) but not from below; the
         * server refuses an empty one. */
        if (!av->string || !av->string[0])
            return tp_fail(err, TP_ERR_VALIDATION,
                           "One or more parameter values were invalid: An attribute name may not "
                           "be empty"); /* unverified wording */
        if (check_blobs(av, 1, err) != 0)
            return -1;
    }
    cJSON_ArrayForEach(av, item)
    {
        if (check_attribute(av, err) != 0)
            return -1;
    }
    return 0;
}

/* --- size ---------------------------------------------------------------------- */

static size_t blob_size(const cJSON *s)
{
    if (!cJSON_IsString(s))
        return 0;
    size_t n = strlen(s->valuestring), pad = 0;
    while (pad < 2 && pad < n && s->valuestring[n - 1 - pad] == '=')
        pad++;
    return n / 4 * 3 - (n % 4 ? 0 : pad);
}

static size_t number_size(const cJSON *s)
{
    ddb_num n;
    if (!cJSON_IsString(s))
        return 0;
    if (ddb_num_parse(s->valuestring, &n, NULL) != 0)
        return strlen(s->valuestring);
    return ddb_num_size(&n);
}

static size_t string_size(const cJSON *s)
{
    return cJSON_IsString(s) ? tp_str_wire_len(s->valuestring) : 0;
}

size_t ddb_attr_size(const cJSON *av)
{
    const char *t = NULL;
    const cJSON *m = cJSON_IsObject(av) ? type_member(av, &t) : NULL;
    if (!m)
        return 0;
    size_t size = 0;
    const cJSON *e;
    if (strcmp(t, "S") == 0)
        return string_size(m);
    if (strcmp(t, "N") == 0)
        return number_size(m);
    if (strcmp(t, "B") == 0)
        return blob_size(m);
    if (strcmp(t, "NULL") == 0 || strcmp(t, "BOOL") == 0)
        return 1;
    if (strcmp(t, "SS") == 0)
        cJSON_ArrayForEach(e, m) size += string_size(e);
    else if (strcmp(t, "NS") == 0)
        cJSON_ArrayForEach(e, m) size += number_size(e);
    else if (strcmp(t, "BS") == 0)
        cJSON_ArrayForEach(e, m) size += blob_size(e);
    else if (strcmp(t, "L") == 0) {
        /* 3 bytes for the document, 1 per element (dynalite's capacity
         * tests against AWS pin both). */
        size = 3;
        cJSON_ArrayForEach(e, m) size += 1 + ddb_attr_size(e);
    } else if (strcmp(t, "M") == 0) {
        size = 3;
        cJSON_ArrayForEach(e, m)
        {
            size += 1 + (e->string ? tp_str_wire_len(e->string) : 0) + ddb_attr_size(e);
        }
    }
    return size;
}

size_t ddb_item_size(const cJSON *item)
{
    size_t size = 0;
    const cJSON *av;
    cJSON_ArrayForEach(av, item)
    {
        size += (av->string ? tp_str_wire_len(av->string) : 0) + ddb_attr_size(av);
    }
    return size;
}

/* --- equality ------------------------------------------------------------------ */

static int numbers_equal(const char *a, const char *b)
{
    ddb_num x, y;
    if (ddb_num_parse(a, &x, NULL) != 0 || ddb_num_parse(b, &y, NULL) != 0)
        return strcmp(a, b) == 0;
    return ddb_num_cmp(&x, &y) == 0;
}

static int cmp_num_text(const void *a, const void *b)
{
    ddb_num x, y;
    const char *sa = *(const char *const *)a, *sb = *(const char *const *)b;
    if (ddb_num_parse(sa, &x, NULL) != 0 || ddb_num_parse(sb, &y, NULL) != 0)
        return strcmp(sa, sb);
    return ddb_num_cmp(&x, &y);
}

/* Sets as sets: same size and the same members once sorted. */
static int sets_equal(const cJSON *a, const cJSON *b, int numeric)
{
    int n = cJSON_GetArraySize(a);
    if (n != cJSON_GetArraySize(b))
        return 0;
    if (n == 0)
        return 1;
    const char **va = malloc((size_t)n * 2 * sizeof *va);
    if (!va)
        return 0;
    const char **vb = va + n;
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) va[k++] = cJSON_IsString(e) ? e->valuestring : "";
    k = 0;
    cJSON_ArrayForEach(e, b) vb[k++] = cJSON_IsString(e) ? e->valuestring : "";
    int (*cmp)(const void *, const void *) = numeric ? cmp_num_text : cmp_str;
    qsort(va, (size_t)n, sizeof *va, cmp);
    qsort(vb, (size_t)n, sizeof *vb, cmp);
    int eq = 1;
    for (int i = 0; i < n && eq; i++)
        eq = cmp(&va[i], &vb[i]) == 0;
    free(va);
    return eq;
}

int ddb_attr_equal(const cJSON *a, const cJSON *b)
{
    const char *ta = NULL, *tb = NULL;
    const cJSON *ma = cJSON_IsObject(a) ? type_member(a, &ta) : NULL;
    const cJSON *mb = cJSON_IsObject(b) ? type_member(b, &tb) : NULL;
    if (!ma || !mb || ta != tb)
        return 0;
    if (strcmp(ta, "N") == 0)
        return cJSON_IsString(ma) && cJSON_IsString(mb) &&
               numbers_equal(ma->valuestring, mb->valuestring);
    if (strcmp(ta, "S") == 0 || strcmp(ta, "B") == 0)
        return cJSON_IsString(ma) && cJSON_IsString(mb) &&
               strcmp(ma->valuestring, mb->valuestring) == 0;
    if (strcmp(ta, "BOOL") == 0 || strcmp(ta, "NULL") == 0)
        return cJSON_IsTrue(ma) == cJSON_IsTrue(mb);
    if (strcmp(ta, "SS") == 0 || strcmp(ta, "BS") == 0)
        return sets_equal(ma, mb, 0);
    if (strcmp(ta, "NS") == 0)
        return sets_equal(ma, mb, 1);
    if (strcmp(ta, "L") == 0) {
        const cJSON *x = ma->child, *y = mb->child;
        for (; x && y; x = x->next, y = y->next)
            if (!ddb_attr_equal(x, y))
                return 0;
        return !x && !y;
    }
    /* M */
    if (cJSON_GetArraySize(ma) != cJSON_GetArraySize(mb))
        return 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, ma)
    {
        const cJSON *y = x->string ? cJSON_GetObjectItemCaseSensitive(mb, x->string) : NULL;
        if (!y || !ddb_attr_equal(x, y))
            return 0;
    }
    return 1;
}
