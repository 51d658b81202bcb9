/* dynamodb/expr/keycond — KeyConditionExpression / KeyConditions reduced to
 * per-key terms. See keycond.h for the order of AWS's checks. The generic
 * part (syntax, names, values, functions, operand types) is expr/condition's
 * parser run with kind "KeyConditionExpression"; this file re-reads the
 * (then known to be well-formed) expression for the key-specific rules. */
#include "keycond.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../attr.h"
#include "../keycodec.h"
#include "condition.h"
#include "core/buf.h"
#include "core/json.h"
#include "lexer.h"

#define KCE "KeyConditionExpression"

/* One operand as written: an attribute path, a :value or size(path). */
typedef struct operand {
    enum { OP_PATH, OP_VALUE, OP_SIZE } kind;
    ddb_path path;          /* OP_PATH, OP_SIZE */
    const cJSON *value;     /* OP_VALUE (borrowed from the request) */
} operand;

typedef struct walker {
    ddb_lexer lx;
    const cJSON *values;
    ddb_keycond *kc;
    int nterms;             /* terms seen, may exceed 2 before the final check */
    char *seen[64];         /* attributes with a term (owned) */
} walker;

static int fail_op(tp_error *err, const char *op)
{
    return tp_fail(err, TP_ERR_VALIDATION, "Invalid operator used in " KCE ": %s", op);
}

static void operand_free(operand *o)
{
    if (o->kind != OP_VALUE)
        ddb_path_free(&o->path);
    memset(o, 0, sizeof *o);
}

static int parse_operand(walker *w, operand *o, tp_error *err)
{
    memset(o, 0, sizeof *o);
    const ddb_token *t = ddb_lex_peek(&w->lx);
    if (t->type == DDB_TOK_VALUEREF) {
        ddb_lex_next(&w->lx);
        char key[256];
        size_t n = t->len < sizeof key - 1 ? t->len : sizeof key - 1;
        memcpy(key, w->lx.src + t->start, n);
        key[n] = '\0';
        o->kind = OP_VALUE;
        o->value = cJSON_GetObjectItemCaseSensitive(w->values, key);
        return 0;
    }
    if (t->type == DDB_TOK_NAME && w->lx.toks[w->lx.pos + 1].type == DDB_TOK_LPAREN) {
        /* size(path): the only function that is an operand */
        ddb_lex_next(&w->lx);
        ddb_lex_next(&w->lx);
        o->kind = OP_SIZE;
        if (ddb_lex_parse_path(&w->lx, &o->path, err) != 0)
            return -1;
        ddb_lex_accept(&w->lx, DDB_TOK_RPAREN);
        return 0;
    }
    o->kind = OP_PATH;
    return ddb_lex_parse_path(&w->lx, &o->path, err);
}

static int seen_before(walker *w, const char *attr)
{
    for (int i = 0; i < w->nterms && i < 64; i++)
        if (w->seen[i] && strcmp(w->seen[i], attr) == 0)
            return 1;
    return 0;
}

/* Applies the per-condition rules to one comparison, BETWEEN or
 * begins_with; ops[0..n) as written; first_must_be_attr names the
 * operator for the "first operand" rule (NULL for comparisons). */
static int add_condition(walker *w, ddb_kc_op op, operand *ops, int n,
                         const char *first_must_be_attr, tp_error *err)
{
    if (first_must_be_attr && ops[0].kind != OP_PATH)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid condition in " KCE ": %s operator must have the key attribute as "
                       "its first operand",
                       first_must_be_attr);
    int attr_at = -1;
    for (int i = 0; i < n; i++) {
        if (ops[i].kind == OP_SIZE)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "KeyConditionExpressions cannot contain nested operations");
        if (ops[i].kind != OP_PATH)
            continue;
        if (attr_at >= 0)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Invalid condition in " KCE
                           ": Multiple attribute names used in one condition");
        if (ops[i].path.n > 1)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "KeyConditionExpressions cannot have conditions on nested attributes");
        attr_at = i;
    }
    if (attr_at < 0)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid condition in " KCE ": No key attribute specified");
    const char *attr = ops[attr_at].path.elems[0].name;
    if (seen_before(w, attr))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "KeyConditionExpressions must only contain one condition per key");
    if (w->nterms < 64)
        w->seen[w->nterms] = strdup(attr);
    if (w->nterms < DDB_KC_MAX_TERMS) {
        ddb_kc_term *t = &w->kc->terms[w->nterms];
        /* value on the left of a comparison: mirror the operator */
        if (attr_at == 1) {
            static const ddb_kc_op mirror[] = {DDB_KC_EQ, DDB_KC_GT, DDB_KC_GE, DDB_KC_LT,
                                               DDB_KC_LE};
            op = mirror[op];
        }
        t->attr = strdup(attr);
        t->op = op;
        for (int i = 0, k = 0; i < n && k < 2; i++)
            if (i != attr_at)
                t->v[k++] = cJSON_Duplicate(ops[i].value, 1);
        w->kc->n = w->nterms + 1;
    }
    w->nterms++;
    return 0;
}

static int walk_or(walker *w, tp_error *err);

static int walk_primary(walker *w, tp_error *err)
{
    ddb_lexer *lx = &w->lx;
    const ddb_token *t = ddb_lex_peek(lx);
    if (t->type == DDB_TOK_LPAREN) {
        ddb_lex_next(lx);
        if (walk_or(w, err) != 0)
            return -1;
        ddb_lex_accept(lx, DDB_TOK_RPAREN);
        return 0;
    }
    if (t->type == DDB_TOK_NAME && ddb_lex_is_word(lx, t, "NOT"))
        return fail_op(err, "NOT");
    if (t->type == DDB_TOK_NAME && lx->toks[lx->pos + 1].type == DDB_TOK_LPAREN &&
        !(t->len == 4 && memcmp(lx->src + t->start, "size", 4) == 0)) {
        char fname[64];
        size_t n = t->len < sizeof fname - 1 ? t->len : sizeof fname - 1;
        memcpy(fname, lx->src + t->start, n);
        fname[n] = '\0';
        if (strcmp(fname, "begins_with") != 0)
            return fail_op(err, fname);
        ddb_lex_next(lx);
        ddb_lex_next(lx);
        operand ops[2];
        int nops = 0, rc = 0;
        memset(ops, 0, sizeof ops);
        while (nops < 2 && rc == 0) {
            rc = parse_operand(w, &ops[nops], err);
            nops++;
            if (!ddb_lex_accept(lx, DDB_TOK_COMMA))
                break;
        }
        ddb_lex_accept(lx, DDB_TOK_RPAREN);
        if (rc == 0)
            rc = add_condition(w, DDB_KC_BEGINS_WITH, ops, nops, "begins_with", err);
        for (int i = 0; i < nops; i++)
            operand_free(&ops[i]);
        return rc;
    }
    operand ops[3];
    memset(ops, 0, sizeof ops);
    int nops = 1, rc = parse_operand(w, &ops[0], err);
    if (rc == 0) {
        const ddb_token *o = ddb_lex_next(lx);
        ddb_kc_op op = DDB_KC_EQ;
        if (o->type == DDB_TOK_NAME && ddb_lex_is_word(lx, o, "BETWEEN")) {
            rc = parse_operand(w, &ops[1], err);
            nops = 2;
            ddb_lex_next(lx); /* AND */
            if (rc == 0) {
                rc = parse_operand(w, &ops[2], err);
                nops = 3;
            }
            if (rc == 0)
                rc = add_condition(w, DDB_KC_BETWEEN, ops, 3, "BETWEEN", err);
        } else if (o->type == DDB_TOK_NAME && ddb_lex_is_word(lx, o, "IN")) {
            rc = fail_op(err, "IN");
        } else if (o->type == DDB_TOK_NE) {
            rc = fail_op(err, "<>");
        } else {
            op = o->type == DDB_TOK_LT   ? DDB_KC_LT
                 : o->type == DDB_TOK_LE ? DDB_KC_LE
                 : o->type == DDB_TOK_GT ? DDB_KC_GT
                 : o->type == DDB_TOK_GE ? DDB_KC_GE
                                         : DDB_KC_EQ;
            rc = parse_operand(w, &ops[1], err);
            nops = 2;
            if (rc == 0)
                rc = add_condition(w, op, ops, 2, NULL, err);
        }
    }
    for (int i = 0; i < nops; i++)
        operand_free(&ops[i]);
    return rc;
}

static int walk_and(walker *w, tp_error *err)
{
    if (walk_primary(w, err) != 0)
        return -1;
    while (ddb_lex_peek(&w->lx)->type == DDB_TOK_NAME &&
           ddb_lex_is_word(&w->lx, ddb_lex_peek(&w->lx), "AND")) {
        ddb_lex_next(&w->lx);
        if (walk_primary(w, err) != 0)
            return -1;
    }
    return 0;
}

/* AWS reports OR wherever it is: find it before walking the terms (an OR at
 * any depth makes the whole expression invalid, and the outermost operator
 * is named first). */
static int walk_or(walker *w, tp_error *err)
{
    size_t depth = 0;
    for (size_t i = w->lx.pos; i < w->lx.ntoks; i++) {
        const ddb_token *t = &w->lx.toks[i];
        if (t->type == DDB_TOK_LPAREN)
            depth++;
        else if (t->type == DDB_TOK_RPAREN) {
            if (depth == 0)
                break;
            depth--;
        } else if (depth == 0 && t->type == DDB_TOK_NAME && ddb_lex_is_word(&w->lx, t, "OR"))
            return fail_op(err, "OR");
    }
    return walk_and(w, err);
}

static char **dup_keys(const char *const *keys, size_t n)
{
    char **out = calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        out[i] = strdup(keys[i]);
    return out;
}

int ddb_keycond_parse(const char *text, const cJSON *names, const cJSON *values,
                      ddb_keycond **out, tp_error *err)
{
    *out = NULL;
    ddb_cond *generic = NULL;
    if (ddb_cond_parse(KCE, text, names, values, &generic, err) != 0)
        return -1;
    ddb_keycond *kc = calloc(1, sizeof *kc);
    walker w;
    memset(&w, 0, sizeof w);
    w.values = values;
    w.kc = kc;
    int rc = -1;
    if (!kc || ddb_lexer_init(&w.lx, KCE, text, strlen(text), names, err) != 0) {
        if (!kc)
            tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        free(kc);
        ddb_cond_free(generic);
        return -1;
    }
    if (walk_or(&w, err) != 0)
        goto done;
    if (w.nterms > DDB_KC_MAX_TERMS) {
        tp_fail(err, TP_ERR_VALIDATION, "Conditions can be of length 1 or 2 only");
        goto done;
    }
    const char *const *keys;
    kc->nnames = ddb_cond_names_used(generic, &keys);
    kc->names = dup_keys(keys, kc->nnames);
    kc->nvalues = ddb_cond_values_used(generic, &keys);
    kc->values = dup_keys(keys, kc->nvalues);
    rc = 0;
done:
    for (int i = 0; i < w.nterms && i < 64; i++)
        free(w.seen[i]);
    ddb_lexer_free(&w.lx);
    ddb_cond_free(generic);
    if (rc != 0)
        ddb_keycond_free(kc);
    else
        *out = kc;
    return rc;
}

/* --- legacy KeyConditions ------------------------------------------------- */

static const struct {
    const char *name;
    int nargs;          /* -1: one or more */
    ddb_kc_op op;
} legacy_ops[] = {
    {"EQ", 1, DDB_KC_EQ},           {"LT", 1, DDB_KC_LT},
    {"LE", 1, DDB_KC_LE},           {"GT", 1, DDB_KC_GT},
    {"GE", 1, DDB_KC_GE},           {"BETWEEN", 2, DDB_KC_BETWEEN},
    {"BEGINS_WITH", 1, DDB_KC_BEGINS_WITH},
    {"NE", 1, DDB_KC_NOT_INDEXABLE}, {"NULL", 0, DDB_KC_NOT_INDEXABLE},
    {"NOT_NULL", 0, DDB_KC_NOT_INDEXABLE}, {"CONTAINS", 1, DDB_KC_NOT_INDEXABLE},
    {"NOT_CONTAINS", 1, DDB_KC_NOT_INDEXABLE}, {"IN", -1, DDB_KC_NOT_INDEXABLE},
};

/* Which AttributeValue types an operator accepts (legacy form). */
static int legacy_type_ok(const char *op, const char *type)
{
    int scalar = strcmp(type, "S") == 0 || strcmp(type, "N") == 0 || strcmp(type, "B") == 0;
    if (!strcmp(op, "LT") || !strcmp(op, "LE") || !strcmp(op, "GT") || !strcmp(op, "GE") ||
        !strcmp(op, "IN") || !strcmp(op, "BETWEEN"))
        return scalar;
    if (!strcmp(op, "BEGINS_WITH"))
        return strcmp(type, "S") == 0 || strcmp(type, "B") == 0;
    if (!strcmp(op, "CONTAINS") || !strcmp(op, "NOT_CONTAINS"))
        return scalar || strcmp(type, "BOOL") == 0 || strcmp(type, "NULL") == 0;
    return 1;
}

/* Encodes a scalar S/N/B AttributeValue with keycodec (for ordering). */
static int encode_value(const cJSON *av, tp_buf *out)
{
    const char *type = ddb_attr_type(av);
    if (!type || type[1] || !strchr("SNB", type[0]))
        return -1;
    const char *text = tp_json_str(av, type);
    tp_error e;
    return text ? ddb_key_encode(type[0], text, out, &e) : -1;
}

static int compare_values(const cJSON *a, const cJSON *b)
{
    tp_buf x, y;
    tp_buf_init(&x);
    tp_buf_init(&y);
    int c = 0;
    if (encode_value(a, &x) == 0 && encode_value(b, &y) == 0) {
        size_t n = x.len < y.len ? x.len : y.len;
        c = n ? memcmp(x.data, y.data, n) : 0;
        if (c == 0)
            c = x.len < y.len ? -1 : x.len > y.len;
    }
    tp_buf_free(&x);
    tp_buf_free(&y);
    return c;
}

int ddb_keycond_from_legacy(cJSON *key_conditions, ddb_keycond **out, tp_error *err)
{
    *out = NULL;
    ddb_keycond *kc = calloc(1, sizeof *kc);
    if (!kc)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    int count = 0;
    cJSON *c;
    cJSON_ArrayForEach(c, key_conditions)
    {
        const char *opname = tp_json_str(c, "ComparisonOperator");
        cJSON *list = cJSON_GetObjectItemCaseSensitive(c, "AttributeValueList");
        int nargs = cJSON_GetArraySize(list);
        size_t k = 0;
        while (opname && k < sizeof legacy_ops / sizeof legacy_ops[0] &&
               strcmp(legacy_ops[k].name, opname) != 0)
            k++;
        if (!opname || k == sizeof legacy_ops / sizeof legacy_ops[0])
            goto bad_count; /* the model check rejects unknown operators first */
        cJSON *v;
        cJSON_ArrayForEach(v, list)
        {
            if (ddb_attr_validate(v, err) != 0)
                goto fail;
        }
        if (legacy_ops[k].nargs >= 0 ? nargs != legacy_ops[k].nargs : nargs < 1) {
        bad_count:
            tp_fail(err, TP_ERR_VALIDATION,
                    "One or more parameter values were invalid: Invalid number of argument(s) "
                    "for the %s ComparisonOperator",
                    opname ? opname : "");
            goto fail;
        }
        cJSON_ArrayForEach(v, list)
        {
            const char *type = ddb_attr_type(v);
            if (type && !legacy_type_ok(opname, type)) {
                tp_fail(err, TP_ERR_VALIDATION,
                        "One or more parameter values were invalid: ComparisonOperator %s is not "
                        "valid for %s AttributeValue type",
                        opname, type);
                goto fail;
            }
        }
        if (nargs > 1) {
            const char *t0 = ddb_attr_type(cJSON_GetArrayItem(list, 0));
            cJSON_ArrayForEach(v, list)
            {
                const char *t = ddb_attr_type(v);
                if (t && t0 && strcmp(t, t0) != 0) {
                    tp_fail(err, TP_ERR_VALIDATION,
                            "One or more parameter values were invalid: AttributeValues inside "
                            "AttributeValueList must be of same type");
                    goto fail;
                }
            }
        }
        if (legacy_ops[k].op == DDB_KC_BETWEEN &&
            compare_values(cJSON_GetArrayItem(list, 0), cJSON_GetArrayItem(list, 1)) > 0) {
            tp_fail(err, TP_ERR_VALIDATION,
                    "The BETWEEN condition was provided a range where the lower bound is greater "
                    "than the upper bound");
            goto fail;
        }
        if (count < DDB_KC_MAX_TERMS) {
            ddb_kc_term *t = &kc->terms[count];
            t->attr = strdup(c->string);
            t->op = legacy_ops[k].op;
            for (int i = 0; i < 2 && i < nargs; i++)
                t->v[i] = cJSON_Duplicate(cJSON_GetArrayItem(list, i), 1);
            kc->n = count + 1;
        }
        count++;
    }
    if (count < 1 || count > DDB_KC_MAX_TERMS) {
        tp_fail(err, TP_ERR_VALIDATION, "Conditions can be of length 1 or 2 only");
        goto fail;
    }
    *out = kc;
    return 0;
fail:
    ddb_keycond_free(kc);
    return -1;
}

void ddb_keycond_free(ddb_keycond *kc)
{
    if (!kc)
        return;
    for (int i = 0; i < DDB_KC_MAX_TERMS; i++) {
        free(kc->terms[i].attr);
        cJSON_Delete(kc->terms[i].v[0]);
        cJSON_Delete(kc->terms[i].v[1]);
    }
    for (size_t i = 0; i < kc->nnames; i++)
        free(kc->names[i]);
    for (size_t i = 0; i < kc->nvalues; i++)
        free(kc->values[i]);
    free(kc->names);
    free(kc->values);
    free(kc);
}

/* --- against the schema ---------------------------------------------------- */

static const ddb_kc_term *term_for(const ddb_keycond *kc, const char *attr)
{
    for (int i = 0; attr && i < kc->n; i++)
        if (strcmp(kc->terms[i].attr, attr) == 0)
            return &kc->terms[i];
    return NULL;
}

static int type_matches(const ddb_kc_term *t, char type)
{
    for (int i = 0; i < 2; i++) {
        const char *ty = t->v[i] ? ddb_attr_type(t->v[i]) : NULL;
        if (t->v[i] && (!ty || ty[0] != type || ty[1]))
            return 0;
    }
    return 1;
}

int ddb_keycond_match(const ddb_keycond *kc, const char *hash, char htype, const char *range,
                      char rtype, const ddb_kc_term **h, const ddb_kc_term **r, tp_error *err)
{
    *h = *r = NULL;
    int nkeys = range ? 2 : 1;
    if (kc->n > 2)   /* more is for multi-attribute keys only */
        return tp_fail(err, TP_ERR_VALIDATION, "Conditions can be of length 1 or 2 only");
    if (kc->n > nkeys)
        return tp_fail(err, TP_ERR_VALIDATION, "Query key condition not supported");
    const ddb_kc_term *ht = term_for(kc, hash);
    if (!ht)
        return tp_fail(err, TP_ERR_VALIDATION, "Query condition missed key schema element: %s",
                       hash);
    const ddb_kc_term *rt = kc->n == 2 ? term_for(kc, range) : NULL;
    if (kc->n == 2 && !rt)
        return tp_fail(err, TP_ERR_VALIDATION, "Query condition missed key schema element: %s",
                       range);
    for (int i = 0; i < kc->n; i++)
        if (kc->terms[i].op == DDB_KC_NOT_INDEXABLE)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Attempted conditional constraint is not an indexable operation");
    if (ht->op != DDB_KC_EQ)
        return tp_fail(err, TP_ERR_VALIDATION, "Query key condition not supported");
    if (!type_matches(ht, htype) || (rt && !type_matches(rt, rtype)))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "One or more parameter values were invalid: Condition parameter type does "
                       "not match schema type");
    *h = ht;
    *r = rt;
    return 0;
}

/* unverified wording: AWS's messages for the multi-attribute rules are not
 * recorded; these reuse the single-key messages for the same faults (a
 * missing key attribute names it, as AWS's does). */
int ddb_keycond_match_multi(const ddb_keycond *kc, const char *const *hash, const char *htypes,
                            int nh, const char *const *range, const char *rtypes, int nr,
                            const ddb_kc_term **h, const ddb_kc_term **r, int *nr_used,
                            tp_error *err)
{
    *nr_used = 0;
    for (int i = 0; i < kc->n; i++) {
        int known = 0;
        for (int k = 0; k < nh; k++)
            known |= strcmp(kc->terms[i].attr, hash[k]) == 0;
        for (int k = 0; k < nr; k++)
            known |= strcmp(kc->terms[i].attr, range[k]) == 0;
        if (!known)
            return tp_fail(err, TP_ERR_VALIDATION, "Query key condition not supported");
    }
    for (int k = 0; k < nh; k++)
        if (!(h[k] = term_for(kc, hash[k])))
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Query condition missed key schema element: %s", hash[k]);
    int used = 0;
    for (int k = 0; k < nr; k++) {
        const ddb_kc_term *t = term_for(kc, range[k]);
        if (t && used < k)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Query condition missed key schema element: %s", range[used]);
        if (t)
            r[used++] = t;
    }
    for (int i = 0; i < kc->n; i++)
        if (kc->terms[i].op == DDB_KC_NOT_INDEXABLE)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Attempted conditional constraint is not an indexable operation");
    for (int k = 0; k < nh; k++)
        if (h[k]->op != DDB_KC_EQ)
            return tp_fail(err, TP_ERR_VALIDATION, "Query key condition not supported");
    for (int k = 0; k + 1 < used; k++)
        if (r[k]->op != DDB_KC_EQ)
            return tp_fail(err, TP_ERR_VALIDATION, "Query key condition not supported");
    for (int k = 0; k < nh; k++)
        if (!type_matches(h[k], htypes[k]))
            return tp_fail(err, TP_ERR_VALIDATION, "One or more parameter values were invalid: "
                           "Condition parameter type does not match schema type");
    for (int k = 0; k < used; k++)
        if (!type_matches(r[k], rtypes[k]))
            return tp_fail(err, TP_ERR_VALIDATION, "One or more parameter values were invalid: "
                           "Condition parameter type does not match schema type");
    *nr_used = used;
    return 0;
}

static int cmp_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

int ddb_kc_test(const ddb_kc_term *t, const void *key, size_t len, const void *lo, size_t lolen,
                const void *hi, size_t hilen)
{
    int c = cmp_bytes(key, len, lo, lolen);
    switch (t->op) {
    case DDB_KC_EQ:
        return c == 0;
    case DDB_KC_LT:
        return c < 0;
    case DDB_KC_LE:
        return c <= 0;
    case DDB_KC_GT:
        return c > 0;
    case DDB_KC_GE:
        return c >= 0;
    case DDB_KC_BETWEEN:
        return c >= 0 && cmp_bytes(key, len, hi, hilen) <= 0;
    case DDB_KC_BEGINS_WITH:
        return len >= lolen && (lolen == 0 || memcmp(key, lo, lolen) == 0);
    default:
        return 0;
    }
}
