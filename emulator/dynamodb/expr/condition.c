/* dynamodb/expr/condition — ConditionExpression / FilterExpression parser
 * and evaluator, the legacy Expected form, and the request-wide checks of
 * ExpressionAttributeNames/Values. See condition.h for the grammar.
 *
 * Error order follows AWS (as dynalite recorded it): syntax errors stop the
 * parse at once; the rest wait for the end, and then the first of these
 * wins: redundant parentheses, unknown function, a function used where it
 * may not be, reserved word, then (lexer ranks) list index range /
 * undefined #name or :value (the first seen) / path depth, then wrong
 * operand count, operands not distinct, wrong operand type. */
#include "condition.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/json.h"
#include "dynamodb/attr.h"
#include "dynamodb/number.h"
#include "lexer.h"

#define MAX_IN_OPERANDS 100

/* Errors reported before reserved words (lower wins). */
enum { EARLY_NONE, EARLY_PARENS, EARLY_UNKNOWN_FN, EARLY_MISUSED_FN };
/* Errors reported after the lexer's. */
enum {
    SEM_OPERANDS = DDB_SEM_PARSER_BASE,
    SEM_DISTINCT,
    SEM_FUNCTION,
};

typedef enum { OPD_PATH, OPD_VALUE, OPD_FUNC } opd_kind;
typedef enum { FN_UNKNOWN, FN_EXISTS, FN_NOT_EXISTS, FN_TYPE, FN_BEGINS, FN_CONTAINS, FN_SIZE } fn_id;

typedef struct operand {
    opd_kind kind;
    ddb_path path;        /* OPD_PATH */
    cJSON *value;         /* OPD_VALUE: owned copy (NULL when undefined) */
    fn_id fn;             /* OPD_FUNC */
    char *fname;          /* OPD_FUNC: as written (owned) */
    struct operand *args; /* OPD_FUNC */
    size_t nargs;
} operand;

typedef enum { N_AND, N_OR, N_NOT, N_CMP, N_BETWEEN, N_IN, N_FUNC, N_TRUE } node_kind;

typedef struct node {
    node_kind kind;
    ddb_tok_type op;      /* N_CMP */
    struct node *a, *b;   /* AND, OR, NOT */
    operand *ops;         /* CMP: 2, BETWEEN: 3, IN: 1 + list, FUNC: one OPD_FUNC */
    size_t nops;
} node;

struct ddb_cond {
    node *root;
    char **names, **values;
    size_t nnames, nvalues;
};

/* --- freeing ---------------------------------------------------------------- */

static void operand_clear(operand *o)
{
    ddb_path_free(&o->path);
    cJSON_Delete(o->value);
    free(o->fname);
    for (size_t i = 0; i < o->nargs; i++)
        operand_clear(&o->args[i]);
    free(o->args);
    memset(o, 0, sizeof *o);
}

static void node_free(node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    for (size_t i = 0; i < n->nops; i++)
        operand_clear(&n->ops[i]);
    free(n->ops);
    free(n);
}

static void free_keys(char **k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(k[i]);
    free(k);
}

void ddb_cond_free(ddb_cond *c)
{
    if (!c)
        return;
    node_free(c->root);
    free_keys(c->names, c->nnames);
    free_keys(c->values, c->nvalues);
    free(c);
}

size_t ddb_cond_names_used(const ddb_cond *c, const char *const **keys)
{
    *keys = c ? (const char *const *)c->names : NULL;
    return c ? c->nnames : 0;
}

size_t ddb_cond_values_used(const ddb_cond *c, const char *const **keys)
{
    *keys = c ? (const char *const *)c->values : NULL;
    return c ? c->nvalues : 0;
}

/* --- parser state ----------------------------------------------------------- */

typedef struct parser {
    ddb_lexer lx;
    const cJSON *values;
    size_t *match;          /* per token: index of the matching ')' for '(' (0 = none) */
    int early;
    char early_msg[256];
    char **vused;
    size_t nvused, capvused;
    int oom;
    int depth;
} parser;

static void early_error(parser *p, int rank, const char *fmt, ...) TP_PRINTF(3, 4);
static void early_error(parser *p, int rank, const char *fmt, ...)
{
    if (p->early != EARLY_NONE && p->early <= rank)
        return;
    p->early = rank;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->early_msg, sizeof p->early_msg, fmt, ap);
    va_end(ap);
}

static int add_key(char ***keys, size_t *n, size_t *cap, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*keys)[i], key) == 0)
            return 0;
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        char **k = realloc(*keys, ncap * sizeof *k);
        if (!k)
            return -1;
        *keys = k;
        *cap = ncap;
    }
    if (!((*keys)[*n] = strdup(key)))
        return -1;
    (*n)++;
    return 0;
}

static int oom(parser *p, tp_error *err)
{
    p->oom = 1;
    return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
}

static int is_keyword(const parser *p, const ddb_token *t)
{
    static const char *const kw[] = {"AND", "OR", "NOT", "BETWEEN", "IN"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (ddb_lex_is_word(&p->lx, t, kw[i]))
            return 1;
    return 0;
}

static int is_comparator(ddb_tok_type t)
{
    return t == DDB_TOK_EQ || t == DDB_TOK_NE || t == DDB_TOK_LT || t == DDB_TOK_LE ||
           t == DDB_TOK_GT || t == DDB_TOK_GE;
}

static const char *comparator_text(ddb_tok_type t)
{
    switch (t) {
    case DDB_TOK_EQ: return "=";
    case DDB_TOK_NE: return "<>";
    case DDB_TOK_LT: return "<";
    case DDB_TOK_LE: return "<=";
    case DDB_TOK_GT: return ">";
    default: return ">=";
    }
}

/* "((x))": a '(' whose next token opens a group closing right before it. */
static void check_redundant(parser *p, size_t open)
{
    size_t close = p->match[open];
    if (close && p->lx.toks[open + 1].type == DDB_TOK_LPAREN && p->match[open + 1] == close - 1)
        early_error(p, EARLY_PARENS, "The expression has redundant parentheses;");
}

/* --- operands --------------------------------------------------------------- */

static const char *operand_type(const operand *o)
{
    if (o->kind == OPD_VALUE)
        return o->value ? ddb_attr_type(o->value) : NULL;
    if (o->kind == OPD_FUNC)
        return o->fn == FN_SIZE ? "N" : o->fn == FN_UNKNOWN ? NULL : "BOOL";
    return NULL;
}

static int paths_equal(const ddb_path *a, const ddb_path *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const ddb_path_elem *x = &a->elems[i], *y = &b->elems[i];
        if (!x->name != !y->name)
            return 0;
        if (x->name ? strcmp(x->name, y->name) != 0 : x->index != y->index)
            return 0;
    }
    return 1;
}

static void check_distinct(parser *p, const char *op, const operand *a, const operand *b)
{
    if (a->kind != OPD_PATH || b->kind != OPD_PATH || !paths_equal(&a->path, &b->path))
        return;
    tp_buf s;
    tp_buf_init(&s);
    ddb_path_format(&a->path, &s);
    ddb_lexer_defer(&p->lx, SEM_DISTINCT,
                    "The first operand must be distinct from the remaining operands for this "
                    "operator or function; operator: %s, first operand: %s",
                    op, s.data ? s.data : "[]");
    tp_buf_free(&s);
}

static void operand_type_error(parser *p, const char *fn, const char *type);

/* <, <=, >, >= and BETWEEN order numbers, strings and binaries only: a
 * constant of another type is an error (an item attribute of another type
 * just makes the comparison false). */
static void check_orderable(parser *p, const char *op, const operand *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *t = ops[i].kind == OPD_VALUE ? operand_type(&ops[i]) : NULL;
        if (t && strcmp(t, "N") != 0 && strcmp(t, "S") != 0 && strcmp(t, "B") != 0) {
            operand_type_error(p, op, t);
            return;
        }
    }
}

/* A boolean function where a value is wanted. */
static void check_misused(parser *p, const operand *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ops[i].kind == OPD_FUNC && ops[i].fn != FN_SIZE && ops[i].fn != FN_UNKNOWN) {
            early_error(p, EARLY_MISUSED_FN,
                        "The function is not allowed to be used this way in an expression; "
                        "function: %s",
                        ops[i].fname);
            return;
        }
}

/* AWS spells list and map operand types out in these messages. */
static const char *type_name(const char *t)
{
    return strcmp(t, "L") == 0 ? "LIST" : strcmp(t, "M") == 0 ? "MAP" : t;
}

static void operand_type_error(parser *p, const char *fn, const char *type)
{
    type = type_name(type);
    ddb_lexer_defer(&p->lx, SEM_FUNCTION,
                    "Incorrect operand type for operator or function; operator or function: %s, "
                    "operand type: %s",
                    fn, type);
}

static void check_function(parser *p, operand *f)
{
    static const struct {
        const char *name;
        fn_id id;
        size_t arity;
    } fns[] = {
        {"attribute_exists", FN_EXISTS, 1}, {"attribute_not_exists", FN_NOT_EXISTS, 1},
        {"attribute_type", FN_TYPE, 2},     {"begins_with", FN_BEGINS, 2},
        {"contains", FN_CONTAINS, 2},       {"size", FN_SIZE, 1},
    };
    size_t arity = 0;
    f->fn = FN_UNKNOWN;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strcmp(fns[i].name, f->fname) == 0) {
            f->fn = fns[i].id;
            arity = fns[i].arity;
        }
    check_misused(p, f->args, f->nargs);
    if (f->fn == FN_UNKNOWN) {
        early_error(p, EARLY_UNKNOWN_FN, "Invalid function name; function: %s", f->fname);
        return;
    }
    if (f->nargs != arity) {
        ddb_lexer_defer(&p->lx, SEM_OPERANDS,
                        "Incorrect number of operands for operator or function; operator or "
                        "function: %s, number of operands: %zu",
                        f->fname, f->nargs);
        return;
    }
    if (arity == 2)
        check_distinct(p, f->fname, &f->args[0], &f->args[1]);
    switch (f->fn) {
    case FN_EXISTS:
    case FN_NOT_EXISTS:
        if (f->args[0].kind != OPD_PATH)
            ddb_lexer_defer(&p->lx, SEM_FUNCTION,
                            "Operator or function requires a document path; operator or "
                            "function: %s",
                            f->fname);
        break;
    case FN_BEGINS:
        for (size_t i = 0; i < 2; i++) {
            const char *t = operand_type(&f->args[i]);
            if (t && strcmp(t, "S") != 0 && strcmp(t, "B") != 0) {
                operand_type_error(p, f->fname, t);
                break;
            }
        }
        break;
    case FN_TYPE: {
        const char *t = operand_type(&f->args[1]);
        if (!t || strcmp(t, "S") != 0) {
            operand_type_error(p, f->fname, t ? t : "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}");
            break;
        }
        static const char *const types[] = {"S", "N", "B", "NULL", "SS", "BOOL", "L", "BS", "NS", "M"};
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(f->args[1].value, "S");
        const char *want = cJSON_IsString(ws) ? ws->valuestring : "";
        size_t i = 0;
        while (i < sizeof types / sizeof types[0] && strcmp(types[i], want) != 0)
            i++;
        if (i == sizeof types / sizeof types[0])
            ddb_lexer_defer(&p->lx, SEM_FUNCTION,
                            "Invalid attribute type name found; type: %s, valid types: "
                            "{B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
                            want);
        break;
    }
    case FN_SIZE: {
        const char *t = operand_type(&f->args[0]);
        if (t && (strcmp(t, "N") == 0 || strcmp(t, "BOOL") == 0 || strcmp(t, "NULL") == 0))
            operand_type_error(p, f->fname, t);
        break;
    }
    default:
        break;
    }
}

static int parse_operand(parser *p, operand *o, tp_error *err);

static int parse_operand_list(parser *p, operand **out, size_t *n, tp_error *err)
{
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    do {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            operand *a = realloc(*out, ncap * sizeof *a);
            if (!a)
                return oom(p, err);
            *out = a;
            cap = ncap;
        }
        memset(&(*out)[*n], 0, sizeof **out);
        (*n)++;
        if (parse_operand(p, &(*out)[*n - 1], err) != 0)
            return -1;
    } while (ddb_lex_accept(&p->lx, DDB_TOK_COMMA));
    return 0;
}

static int parse_operand(parser *p, operand *o, tp_error *err)
{
    const ddb_token *t = ddb_lex_peek(&p->lx);
    if (++p->depth > 256)
        return ddb_lex_syntax_error(&p->lx, err);
    int rc = 0;
    if (t->type == DDB_TOK_LPAREN) {
        check_redundant(p, p->lx.pos);
        ddb_lex_next(&p->lx);
        if (parse_operand(p, o, err) != 0)
            rc = -1;
        else if (!ddb_lex_accept(&p->lx, DDB_TOK_RPAREN))
            rc = ddb_lex_syntax_error(&p->lx, err);
    } else if (t->type == DDB_TOK_VALUEREF) {
        ddb_lex_next(&p->lx);
        char *key = strndup(p->lx.src + t->start, t->len);
        o->kind = OPD_VALUE;
        const cJSON *v = p->values && key ? cJSON_GetObjectItemCaseSensitive(p->values, key) : NULL;
        if (!key) {
            rc = oom(p, err);
        } else if (!v) {
            ddb_lexer_defer(&p->lx, DDB_SEM_UNDEFINED_NAME,
                            "An expression attribute value used in expression is not defined; "
                            "attribute value: %s",
                            key);
        } else if (add_key(&p->vused, &p->nvused, &p->capvused, key) != 0 ||
                   !(o->value = cJSON_Duplicate(v, 1))) {
            rc = oom(p, err);
        }
        free(key);
    } else if (t->type == DDB_TOK_NAME && !is_keyword(p, t) &&
               p->lx.toks[p->lx.pos + 1].type == DDB_TOK_LPAREN) {
        o->kind = OPD_FUNC;
        o->fname = strndup(p->lx.src + t->start, t->len);
        ddb_lex_next(&p->lx);
        ddb_lex_next(&p->lx);
        if (!o->fname)
            rc = oom(p, err);
        else if (parse_operand_list(p, &o->args, &o->nargs, err) != 0)
            rc = -1;
        else if (!ddb_lex_accept(&p->lx, DDB_TOK_RPAREN))
            rc = ddb_lex_syntax_error(&p->lx, err);
        else
            check_function(p, o);
    } else if ((t->type == DDB_TOK_NAME && !is_keyword(p, t)) || t->type == DDB_TOK_NAMEREF) {
        o->kind = OPD_PATH;
        rc = ddb_lex_parse_path(&p->lx, &o->path, err);
    } else {
        rc = ddb_lex_syntax_error(&p->lx, err);
    }
    p->depth--;
    return rc;
}

/* --- conditions ------------------------------------------------------------- */

static int parse_or(parser *p, node **out, tp_error *err);
static int compare_values(const cJSON *a, const cJSON *b);

static node *new_node(node_kind k)
{
    node *n = calloc(1, sizeof *n);
    if (n)
        n->kind = k;
    return n;
}

/* A comparison, BETWEEN, IN or a boolean function, lhs already parsed. */
static int parse_predicate(parser *p, node *n, tp_error *err)
{
    const ddb_token *t = ddb_lex_peek(&p->lx);
    operand *lhs = &n->ops[0];
    if (is_comparator(t->type)) {
        n->kind = N_CMP;
        n->op = t->type;
        ddb_lex_next(&p->lx);
        operand *o = realloc(n->ops, 2 * sizeof *o);
        if (!o)
            return oom(p, err);
        n->ops = o;
        memset(&n->ops[1], 0, sizeof *o);
        n->nops = 2;
        if (parse_operand(p, &n->ops[1], err) != 0)
            return -1;
        check_misused(p, n->ops, 2);
        check_distinct(p, comparator_text(n->op), &n->ops[0], &n->ops[1]);
        if (n->op != DDB_TOK_EQ && n->op != DDB_TOK_NE)
            check_orderable(p, comparator_text(n->op), n->ops, 2);
        return 0;
    }
    if (ddb_lex_is_word(&p->lx, t, "BETWEEN")) {
        n->kind = N_BETWEEN;
        ddb_lex_next(&p->lx);
        operand *o = realloc(n->ops, 3 * sizeof *o);
        if (!o)
            return oom(p, err);
        n->ops = o;
        memset(&n->ops[1], 0, 2 * sizeof *o);
        n->nops = 3;
        if (parse_operand(p, &n->ops[1], err) != 0)
            return -1;
        if (!ddb_lex_is_word(&p->lx, ddb_lex_peek(&p->lx), "AND"))
            return ddb_lex_syntax_error(&p->lx, err);
        ddb_lex_next(&p->lx);
        if (parse_operand(p, &n->ops[2], err) != 0)
            return -1;
        check_misused(p, n->ops, 3);
        check_orderable(p, "BETWEEN", n->ops, 3);
        const operand *lo = &n->ops[1], *hi = &n->ops[2];
        if (lo->kind == OPD_VALUE && hi->kind == OPD_VALUE && lo->value && hi->value) {
            const char *t1 = ddb_attr_type(lo->value), *t2 = ddb_attr_type(hi->value);
            const cJSON *v1 = cJSON_GetObjectItemCaseSensitive(lo->value, t1);
            const cJSON *v2 = cJSON_GetObjectItemCaseSensitive(hi->value, t2);
            const char *s1 = cJSON_IsString(v1) ? v1->valuestring : "";
            const char *s2 = cJSON_IsString(v2) ? v2->valuestring : "";
            if (strcmp(t1, t2) != 0)
                ddb_lexer_defer(&p->lx, SEM_FUNCTION,
                                "The BETWEEN operator requires same data type for lower and upper "
                                "bounds; lower bound operand: AttributeValue: {%s:%s}, upper bound "
                                "operand: AttributeValue: {%s:%s}",
                                t1, s1, t2, s2);
            else if (compare_values(lo->value, hi->value) == 1)
                ddb_lexer_defer(&p->lx, SEM_FUNCTION,
                                "The BETWEEN operator requires upper bound to be greater than or "
                                "equal to lower bound; lower bound operand: AttributeValue: "
                                "{%s:%s}, upper bound operand: AttributeValue: {%s:%s}",
                                t1, s1, t2, s2);
        }
        return 0;
    }
    if (ddb_lex_is_word(&p->lx, t, "IN")) {
        n->kind = N_IN;
        ddb_lex_next(&p->lx);
        if (!ddb_lex_accept(&p->lx, DDB_TOK_LPAREN))
            return ddb_lex_syntax_error(&p->lx, err);
        operand *list;
        size_t nlist;
        int rc = parse_operand_list(p, &list, &nlist, err);
        operand *o = rc == 0 ? realloc(n->ops, (1 + nlist) * sizeof *o) : NULL;
        if (o) {
            n->ops = o;
            memcpy(&n->ops[1], list, nlist * sizeof *list);
            n->nops = 1 + nlist;
        } else {
            for (size_t i = 0; i < nlist; i++)
                operand_clear(&list[i]);
        }
        free(list);
        if (rc != 0)
            return -1;
        if (!o)
            return oom(p, err);
        if (!ddb_lex_accept(&p->lx, DDB_TOK_RPAREN))
            return ddb_lex_syntax_error(&p->lx, err);
        check_misused(p, n->ops, n->nops);
        if (nlist > MAX_IN_OPERANDS)
            ddb_lexer_defer(&p->lx, SEM_OPERANDS,
                            "The IN operator is provided with too many operands; number of "
                            "operands: %zu",
                            nlist);
        return 0;
    }
    if (lhs->kind == OPD_FUNC) {
        n->kind = N_FUNC;
        if (lhs->fn == FN_SIZE)
            early_error(p, EARLY_MISUSED_FN,
                        "The function is not allowed to be used this way in an expression; "
                        "function: %s",
                        lhs->fname);
        return 0;
    }
    return ddb_lex_syntax_error(&p->lx, err);
}

static int parse_primary(parser *p, node **out, tp_error *err)
{
    *out = NULL;
    const ddb_token *t = ddb_lex_peek(&p->lx);
    if (++p->depth > 256)
        return ddb_lex_syntax_error(&p->lx, err);
    int rc = 0;
    if (t->type == DDB_TOK_LPAREN) {
        /* "(a) = :v" groups an operand, "(a = :v)" a condition: look past
         * the group for an operator. */
        size_t close = p->match[p->lx.pos];
        ddb_tok_type after = close ? p->lx.toks[close + 1].type : DDB_TOK_EOF;
        const ddb_token *at = close ? &p->lx.toks[close + 1] : NULL;
        int operand_group = close && (is_comparator(after) || ddb_lex_is_word(&p->lx, at, "BETWEEN") ||
                                      ddb_lex_is_word(&p->lx, at, "IN"));
        if (!operand_group) {
            check_redundant(p, p->lx.pos);
            ddb_lex_next(&p->lx);
            rc = parse_or(p, out, err);
            if (rc == 0 && !ddb_lex_accept(&p->lx, DDB_TOK_RPAREN))
                rc = ddb_lex_syntax_error(&p->lx, err);
            p->depth--;
            return rc;
        }
    }
    node *n = new_node(N_CMP);
    if (!n || !(n->ops = calloc(1, sizeof *n->ops))) {
        free(n);
        p->depth--;
        return oom(p, err);
    }
    n->nops = 1;
    *out = n;
    rc = parse_operand(p, &n->ops[0], err);
    if (rc == 0)
        rc = parse_predicate(p, n, err);
    p->depth--;
    return rc;
}

static int parse_not(parser *p, node **out, tp_error *err)
{
    *out = NULL;
    if (!ddb_lex_is_word(&p->lx, ddb_lex_peek(&p->lx), "NOT"))
        return parse_primary(p, out, err);
    ddb_lex_next(&p->lx);
    node *n = new_node(N_NOT);
    if (!n)
        return oom(p, err);
    n->kind = N_NOT;
    *out = n;
    /* NOT binds to what follows, itself possibly negated: DynamoDB accepts
     * "NOT NOT x". The depth guard bounds a long run of NOTs. */
    if (++p->depth > 256)
        return ddb_lex_syntax_error(&p->lx, err);
    int rc = parse_not(p, &n->a, err);
    p->depth--;
    return rc;
}

static int parse_and(parser *p, node **out, tp_error *err)
{
    if (parse_not(p, out, err) != 0)
        return -1;
    while (ddb_lex_is_word(&p->lx, ddb_lex_peek(&p->lx), "AND")) {
        ddb_lex_next(&p->lx);
        node *n = new_node(N_AND);
        if (!n)
            return oom(p, err);
        n->kind = N_AND;
        n->a = *out;
        *out = n;
        if (parse_not(p, &n->b, err) != 0)
            return -1;
    }
    return 0;
}

static int parse_or(parser *p, node **out, tp_error *err)
{
    if (parse_and(p, out, err) != 0)
        return -1;
    while (ddb_lex_is_word(&p->lx, ddb_lex_peek(&p->lx), "OR")) {
        ddb_lex_next(&p->lx);
        node *n = new_node(N_OR);
        if (!n)
            return oom(p, err);
        n->kind = N_OR;
        n->a = *out;
        *out = n;
        if (parse_and(p, &n->b, err) != 0)
            return -1;
    }
    return 0;
}

static int all_space(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

static int match_parens(parser *p, tp_error *err)
{
    p->match = calloc(p->lx.ntoks, sizeof *p->match);
    size_t *stack = malloc(p->lx.ntoks * sizeof *stack);
    if (!p->match || !stack) {
        free(stack);
        return oom(p, err);
    }
    size_t top = 0;
    for (size_t i = 0; i < p->lx.ntoks; i++) {
        if (p->lx.toks[i].type == DDB_TOK_LPAREN)
            stack[top++] = i;
        else if (p->lx.toks[i].type == DDB_TOK_RPAREN && top > 0)
            p->match[stack[--top]] = i;
    }
    free(stack);
    return 0;
}

int ddb_cond_parse(const char *kind, const char *text, const cJSON *names, const cJSON *values,
                   ddb_cond **out, tp_error *err)
{
    *out = NULL;
    if (!text || all_space(text))
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid %s: The expression can not be empty;",
                       kind);
    size_t len = strlen(text);
    if (len > DDB_EXPR_MAX_BYTES)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid %s: Expression size has exceeded the maximum allowed size; "
                       "expression size: %zu",
                       kind, len);
    parser p;
    memset(&p, 0, sizeof p);
    p.values = values;
    if (ddb_lexer_init(&p.lx, kind, text, len, names, err) != 0)
        return -1;
    ddb_cond *c = calloc(1, sizeof *c);
    int rc = -1;
    if (!c) {
        oom(&p, err);
        goto done;
    }
    if (match_parens(&p, err) != 0 || parse_or(&p, &c->root, err) != 0)
        goto done;
    if (ddb_lex_peek(&p.lx)->type != DDB_TOK_EOF) {
        ddb_lex_syntax_error(&p.lx, err);
        goto done;
    }
    if (p.early != EARLY_NONE) {
        tp_fail(err, TP_ERR_VALIDATION, "Invalid %s: %s", kind, p.early_msg);
        goto done;
    }
    if (ddb_lexer_finish(&p.lx, err) != 0)
        goto done;
    /* hand the used keys over */
    c->names = p.lx.used;
    c->nnames = p.lx.nused;
    p.lx.used = NULL;
    p.lx.nused = p.lx.capused = 0;
    c->values = p.vused;
    c->nvalues = p.nvused;
    p.vused = NULL;
    p.nvused = 0;
    *out = c;
    c = NULL;
    rc = 0;
done:
    ddb_cond_free(c);
    free_keys(p.vused, p.nvused);
    free(p.match);
    ddb_lexer_free(&p.lx);
    return rc;
}

/* --- evaluation ------------------------------------------------------------- */

/* The value a document path names in item, or NULL. */
static const cJSON *resolve(const cJSON *item, const ddb_path *path)
{
    if (!item || path->n == 0 || !path->elems[0].name)
        return NULL;
    const cJSON *av = cJSON_GetObjectItemCaseSensitive(item, path->elems[0].name);
    for (size_t i = 1; av && i < path->n; i++) {
        const ddb_path_elem *e = &path->elems[i];
        if (e->name) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(av, "M");
            av = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, e->name) : NULL;
        } else {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(av, "L");
            av = cJSON_IsArray(l) && e->index < (uint32_t)cJSON_GetArraySize(l)
                     ? cJSON_GetArrayItem(l, (int)e->index)
                     : NULL;
        }
    }
    return av;
}

static const char *member_text(const cJSON *av, const char *tag)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(av, tag);
    return cJSON_IsString(m) ? m->valuestring : NULL;
}

static int decode(const char *b64, tp_buf *out)
{
    tp_buf_init(out);
    return tp_base64_decode(b64, strlen(b64), out);
}

static int bytes_cmp(const tp_buf *a, const tp_buf *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

/* Orders two scalars of the same type (N, S or B): -1/0/1, or 2 when they
 * are not comparable (missing, different types, not scalars). */
static int compare_values(const cJSON *a, const cJSON *b)
{
    const char *ta = a ? ddb_attr_type(a) : NULL, *tb = b ? ddb_attr_type(b) : NULL;
    if (!ta || !tb || strcmp(ta, tb) != 0)
        return 2;
    const char *x = member_text(a, ta), *y = member_text(b, tb);
    if (!x || !y)
        return 2;
    if (strcmp(ta, "N") == 0) {
        ddb_num n1, n2;
        if (ddb_num_parse(x, &n1, NULL) != 0 || ddb_num_parse(y, &n2, NULL) != 0)
            return 2;
        return ddb_num_cmp(&n1, &n2);
    }
    if (strcmp(ta, "S") == 0) {
        int c = tp_str_wire_cmp(x, y);
        return c < 0 ? -1 : c > 0;
    }
    if (strcmp(ta, "B") == 0) {
        tp_buf p, q;
        decode(x, &p);
        decode(y, &q);
        int c = bytes_cmp(&p, &q);
        tp_buf_free(&p);
        tp_buf_free(&q);
        return c;
    }
    return 2;
}

/* An operand's value during evaluation: borrowed from the item or the
 * expression, or owned (size()). */
typedef struct ev {
    const cJSON *av;
    cJSON *owned;
} ev;

static size_t utf8_bytes(const char *s) { return tp_str_wire_len(s); }

static void eval_operand(const operand *o, const cJSON *item, ev *out)
{
    out->av = NULL;
    out->owned = NULL;
    if (o->kind == OPD_PATH) {
        out->av = resolve(item, &o->path);
        return;
    }
    if (o->kind == OPD_VALUE) {
        out->av = o->value;
        return;
    }
    if (o->fn != FN_SIZE || o->nargs != 1)
        return;
    ev inner;
    eval_operand(&o->args[0], item, &inner);
    const char *t = inner.av ? ddb_attr_type(inner.av) : NULL;
    long long size = -1;
    if (t) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(inner.av, t);
        if (strcmp(t, "S") == 0 && cJSON_IsString(m))
            size = (long long)utf8_bytes(m->valuestring);
        else if (strcmp(t, "B") == 0 && cJSON_IsString(m)) {
            tp_buf b;
            decode(m->valuestring, &b);
            size = (long long)b.len;
            tp_buf_free(&b);
        } else if (strcmp(t, "SS") == 0 || strcmp(t, "NS") == 0 || strcmp(t, "BS") == 0 ||
                   strcmp(t, "L") == 0 || strcmp(t, "M") == 0)
            size = cJSON_GetArraySize(m);
    }
    cJSON_Delete(inner.owned);
    if (size < 0)
        return;
    char num[32];
    snprintf(num, sizeof num, "%lld", size);
    out->owned = cJSON_CreateObject();
    if (out->owned && cJSON_AddStringToObject(out->owned, "N", num))
        out->av = out->owned;
}

static int values_equal(const cJSON *a, const cJSON *b)
{
    return a && b && ddb_attr_equal(a, b);
}

static int begins_with(const cJSON *a, const cJSON *b)
{
    const char *ta = a ? ddb_attr_type(a) : NULL, *tb = b ? ddb_attr_type(b) : NULL;
    if (!ta || !tb || strcmp(ta, tb) != 0)
        return 0;
    const char *x = member_text(a, ta), *y = member_text(b, tb);
    if (!x || !y)
        return 0;
    if (strcmp(ta, "S") == 0)
        return strncmp(x, y, strlen(y)) == 0;
    if (strcmp(ta, "B") != 0)
        return 0;
    tp_buf p, q;
    decode(x, &p);
    decode(y, &q);
    int r = q.len <= p.len && (q.len == 0 || memcmp(p.data, q.data, q.len) == 0);
    tp_buf_free(&p);
    tp_buf_free(&q);
    return r;
}

static int contains(const cJSON *a, const cJSON *b)
{
    const char *ta = a ? ddb_attr_type(a) : NULL, *tb = b ? ddb_attr_type(b) : NULL;
    if (!ta || !tb)
        return 0;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(a, ta);
    const cJSON *e;
    if (strcmp(ta, "S") == 0) {
        const char *y = member_text(b, "S");
        return y && cJSON_IsString(m) && strstr(m->valuestring, y) != NULL;
    }
    if (strcmp(ta, "B") == 0 && strcmp(tb, "B") == 0) {
        const char *y = member_text(b, "B");
        if (!y || !cJSON_IsString(m))
            return 0;
        tp_buf hay, needle;
        decode(m->valuestring, &hay);
        decode(y, &needle);
        int r = needle.len == 0;
        for (size_t i = 0; !r && needle.len <= hay.len && i + needle.len <= hay.len; i++)
            r = memcmp(hay.data + i, needle.data, needle.len) == 0;
        tp_buf_free(&hay);
        tp_buf_free(&needle);
        return r;
    }
    if (strcmp(ta, "L") == 0) {
        cJSON_ArrayForEach(e, m)
        {
            if (values_equal(e, b))
                return 1;
        }
        return 0;
    }
    if ((strcmp(ta, "SS") == 0 || strcmp(ta, "NS") == 0 || strcmp(ta, "BS") == 0) &&
        strlen(tb) == 1 && ta[0] == tb[0]) {
        cJSON_ArrayForEach(e, m)
        {
            cJSON *probe = cJSON_CreateObject();
            int eq = probe && cJSON_IsString(e) &&
                     cJSON_AddStringToObject(probe, tb, e->valuestring) &&
                     compare_values(probe, b) == 0;
            cJSON_Delete(probe);
            if (eq)
                return 1;
        }
    }
    return 0;
}

static int eval_function(const operand *f, const cJSON *item)
{
    if (f->nargs == 0)
        return 0;
    ev x, y = {0};
    eval_operand(&f->args[0], item, &x);
    if (f->nargs > 1)
        eval_operand(&f->args[1], item, &y);
    int r = 0;
    switch (f->fn) {
    case FN_EXISTS: r = x.av != NULL; break;
    case FN_NOT_EXISTS: r = x.av == NULL; break;
    case FN_TYPE: {
        const char *t = x.av ? ddb_attr_type(x.av) : NULL;
        const char *want = y.av ? member_text(y.av, "S") : NULL;
        r = t && want && strcmp(t, want) == 0;
        break;
    }
    case FN_BEGINS: r = begins_with(x.av, y.av); break;
    case FN_CONTAINS: r = contains(x.av, y.av); break;
    default: break;
    }
    cJSON_Delete(x.owned);
    cJSON_Delete(y.owned);
    return r;
}

static int eval_node(const node *n, const cJSON *item)
{
    switch (n->kind) {
    case N_TRUE: return 1;
    case N_AND: return eval_node(n->a, item) && eval_node(n->b, item);
    case N_OR: return eval_node(n->a, item) || eval_node(n->b, item);
    case N_NOT: return !eval_node(n->a, item);
    case N_FUNC: return eval_function(&n->ops[0], item);
    default: break;
    }
    ev v[3] = {{0}};
    int r = 0;
    eval_operand(&n->ops[0], item, &v[0]);
    if (n->kind == N_CMP) {
        eval_operand(&n->ops[1], item, &v[1]);
        int c = compare_values(v[0].av, v[1].av);
        switch (n->op) {
        case DDB_TOK_EQ: r = values_equal(v[0].av, v[1].av); break;
        case DDB_TOK_NE: r = !values_equal(v[0].av, v[1].av); break;
        case DDB_TOK_LT: r = c == -1; break;
        case DDB_TOK_LE: r = c == -1 || c == 0; break;
        case DDB_TOK_GT: r = c == 1; break;
        case DDB_TOK_GE: r = c == 1 || c == 0; break;
        default: break;
        }
    } else if (n->kind == N_BETWEEN) {
        eval_operand(&n->ops[1], item, &v[1]);
        eval_operand(&n->ops[2], item, &v[2]);
        int lo = compare_values(v[0].av, v[1].av), hi = compare_values(v[0].av, v[2].av);
        r = (lo == 0 || lo == 1) && (hi == 0 || hi == -1);
    } else if (n->kind == N_IN) {
        for (size_t i = 1; !r && i < n->nops; i++) {
            ev e;
            eval_operand(&n->ops[i], item, &e);
            r = values_equal(v[0].av, e.av);
            cJSON_Delete(e.owned);
        }
    }
    for (int i = 0; i < 3; i++)
        cJSON_Delete(v[i].owned);
    return r;
}

int ddb_cond_eval(const ddb_cond *c, const cJSON *item)
{
    return c && c->root ? eval_node(c->root, item) : 1;
}

/* --- legacy Expected ---------------------------------------------------------- */

#define INVALID "One or more parameter values were invalid: "

static node *leaf(node_kind kind, size_t nops)
{
    node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->ops = calloc(nops, sizeof *n->ops);
    if (!n->ops) {
        free(n);
        return NULL;
    }
    n->nops = nops;
    return n;
}

static int path_operand(operand *o, const char *name)
{
    o->kind = OPD_PATH;
    o->path.elems = calloc(1, sizeof *o->path.elems);
    if (!o->path.elems || !(o->path.elems[0].name = strdup(name)))
        return -1;
    o->path.n = 1;
    return 0;
}

static int value_operand(operand *o, const cJSON *av)
{
    o->kind = OPD_VALUE;
    return (o->value = cJSON_Duplicate(av, 1)) ? 0 : -1;
}

static int fn_operand(operand *o, fn_id fn, const char *name, const char *attr, const cJSON *av)
{
    o->kind = OPD_FUNC;
    o->fn = fn;
    o->fname = strdup(name);
    o->nargs = av ? 2 : 1;
    o->args = calloc(o->nargs, sizeof *o->args);
    if (!o->fname || !o->args || path_operand(&o->args[0], attr) != 0)
        return -1;
    return av ? value_operand(&o->args[1], av) : 0;
}

/* Which scalar types a legacy operator accepts; NULL: any. */
static const char *legacy_types(const char *op)
{
    if (!strcmp(op, "LT") || !strcmp(op, "LE") || !strcmp(op, "GT") || !strcmp(op, "GE") ||
        !strcmp(op, "BETWEEN") || !strcmp(op, "IN") || !strcmp(op, "CONTAINS") ||
        !strcmp(op, "NOT_CONTAINS"))
        return "SNB";
    if (!strcmp(op, "BEGINS_WITH"))
        return "SB";
    return NULL;
}

static int expected_one(const char *attr, cJSON *cond, node **out, tp_error *err)
{
    *out = NULL;
    const cJSON *op_j = cJSON_GetObjectItemCaseSensitive(cond, "ComparisonOperator");
    cJSON *exists_j = cJSON_GetObjectItemCaseSensitive(cond, "Exists");
    cJSON *value = cJSON_GetObjectItemCaseSensitive(cond, "Value");
    cJSON *list = cJSON_GetObjectItemCaseSensitive(cond, "AttributeValueList");
    if (cJSON_IsNull(exists_j))
        exists_j = NULL;
    if (cJSON_IsNull(value))
        value = NULL;
    if (cJSON_IsNull(list))
        list = NULL;
    if (cJSON_IsString(op_j)) {
        const char *op = op_j->valuestring;
        if (exists_j)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "Exists and ComparisonOperator cannot be used together for "
                                   "Attribute: %s",
                           attr);
        if (list && value)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "Value and AttributeValueList cannot be used together for "
                                   "Attribute: %s",
                           attr);
        int nargs = list ? cJSON_GetArraySize(list) : value ? 1 : 0;
        int ok;
        if (!strcmp(op, "NULL") || !strcmp(op, "NOT_NULL"))
            ok = nargs == 0;
        else if (!strcmp(op, "IN"))
            ok = nargs > 0;
        else if (!strcmp(op, "BETWEEN"))
            ok = nargs == 2;
        else
            ok = nargs == 1;
        if (!ok)
            return tp_fail(err, TP_ERR_VALIDATION,
                           INVALID "Invalid number of argument(s) for the %s ComparisonOperator",
                           op);
        cJSON *args[2] = {0};
        cJSON *e;
        int i = 0;
        if (list) {
            cJSON_ArrayForEach(e, list)
            {
                if (ddb_attr_validate(e, err) != 0)
                    return -1;
                if (i < 2)
                    args[i] = e;
                i++;
            }
        } else if (value) {
            if (ddb_attr_validate(value, err) != 0)
                return -1;
            args[0] = value;
        }
        const char *allowed = legacy_types(op);
        if (allowed) {
            cJSON_ArrayForEach(e, list)
            {
                const char *t = ddb_attr_type(e);
                if (!t || strlen(t) != 1 || !strchr(allowed, t[0]))
                    return tp_fail(err, TP_ERR_VALIDATION,
                                   INVALID "ComparisonOperator %s is not valid for %s "
                                           "AttributeValue type",
                                   op, t ? t : "");
            }
            const char *t = value ? ddb_attr_type(value) : NULL;
            if (value && (!t || strlen(t) != 1 || !strchr(allowed, t[0])))
                return tp_fail(err, TP_ERR_VALIDATION,
                               INVALID "ComparisonOperator %s is not valid for %s AttributeValue "
                                       "type",
                               op, t ? t : "");
        }
        /* IN and BETWEEN: one type across the list, BETWEEN's bounds in
         * order (as KeyConditions, keycond.c; dynalite test/putItem.js,
         * deleteItem.js, run against DynamoDB). */
        if (list && nargs > 1) {
            const char *t0 = ddb_attr_type(list->child);
            cJSON_ArrayForEach(e, list)
            {
                const char *t = ddb_attr_type(e);
                if (t && t0 && strcmp(t, t0) != 0)
                    return tp_fail(err, TP_ERR_VALIDATION,
                                   INVALID "AttributeValues inside AttributeValueList must be of "
                                           "same type");
            }
            if (!strcmp(op, "BETWEEN") && compare_values(args[0], args[1]) == 1)
                return tp_fail(err, TP_ERR_VALIDATION,
                               "The BETWEEN condition was provided a range where the lower bound "
                               "is greater than the upper bound");
        }
        node *n = NULL;
        int bad = 0;
        if (!strcmp(op, "NULL") || !strcmp(op, "NOT_NULL")) {
            n = leaf(N_FUNC, 1);
            int is_null = strcmp(op, "NULL") == 0;
            bad = !n || fn_operand(&n->ops[0], is_null ? FN_NOT_EXISTS : FN_EXISTS,
                                   is_null ? "attribute_not_exists" : "attribute_exists", attr,
                                   NULL) != 0;
        } else if (!strcmp(op, "CONTAINS") || !strcmp(op, "BEGINS_WITH")) {
            n = leaf(N_FUNC, 1);
            bad = !n || fn_operand(&n->ops[0], op[0] == 'C' ? FN_CONTAINS : FN_BEGINS,
                                   op[0] == 'C' ? "contains" : "begins_with",
                                   attr, args[0]) != 0;
        } else if (!strcmp(op, "NOT_CONTAINS")) {
            /* the attribute must exist and not contain the value */
            node *c = leaf(N_FUNC, 1), *x = leaf(N_FUNC, 1), *no = leaf(N_NOT, 0);
            n = calloc(1, sizeof *n);
            bad = !c || !x || !no || !n ||
                  fn_operand(&c->ops[0], FN_CONTAINS, "contains", attr, args[0]) != 0 ||
                  fn_operand(&x->ops[0], FN_EXISTS, "attribute_exists", attr, NULL) != 0;
            if (bad) {
                node_free(c);
                node_free(x);
                node_free(no);
            } else {
                no->a = c;
                n->kind = N_AND;
                n->a = x;
                n->b = no;
            }
        } else if (!strcmp(op, "BETWEEN")) {
            n = leaf(N_BETWEEN, 3);
            bad = !n || path_operand(&n->ops[0], attr) != 0 ||
                  value_operand(&n->ops[1], args[0]) != 0 ||
                  value_operand(&n->ops[2], args[1]) != 0;
        } else if (!strcmp(op, "IN")) {
            n = leaf(N_IN, 1 + (size_t)nargs);
            bad = !n || path_operand(&n->ops[0], attr) != 0;
            size_t k = 1;
            cJSON_ArrayForEach(e, list)
            {
                if (!bad)
                    bad = value_operand(&n->ops[k++], e) != 0;
            }
        } else {
            static const struct {
                const char *name;
                ddb_tok_type tok;
            } cmps[] = {{"EQ", DDB_TOK_EQ}, {"NE", DDB_TOK_NE}, {"LT", DDB_TOK_LT},
                        {"LE", DDB_TOK_LE}, {"GT", DDB_TOK_GT}, {"GE", DDB_TOK_GE}};
            n = leaf(N_CMP, 2);
            bad = !n;
            for (size_t k = 0; !bad && k < sizeof cmps / sizeof cmps[0]; k++)
                if (!strcmp(cmps[k].name, op))
                    n->op = cmps[k].tok;
            bad = bad || path_operand(&n->ops[0], attr) != 0 ||
                  value_operand(&n->ops[1], args[0]) != 0;
        }
        if (bad) {
            node_free(n);
            return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        }
        *out = n;
        return 0;
    }
    if (list)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "AttributeValueList can only be used with a ComparisonOperator "
                               "for Attribute: %s",
                       attr);
    int exists = !exists_j || cJSON_IsTrue(exists_j);
    if (exists && !value)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "Value must be provided when Exists is %s for Attribute: %s",
                       exists_j ? "true" : "null", attr);
    if (!exists && value)
        return tp_fail(err, TP_ERR_VALIDATION,
                       INVALID "Value cannot be used when Exists is false for Attribute: %s",
                       attr);
    if (value && ddb_attr_validate(value, err) != 0)
        return -1;
    node *n;
    int bad;
    if (exists) {
        n = leaf(N_CMP, 2);
        bad = !n || path_operand(&n->ops[0], attr) != 0 || value_operand(&n->ops[1], value) != 0;
        if (n)
            n->op = DDB_TOK_EQ;
    } else {
        n = leaf(N_FUNC, 1);
        bad = !n || fn_operand(&n->ops[0], FN_NOT_EXISTS, "attribute_not_exists", attr, NULL) != 0;
    }
    if (bad) {
        node_free(n);
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    }
    *out = n;
    return 0;
}

int ddb_cond_from_expected(cJSON *expected, const char *conditional_operator, ddb_cond **out,
                           tp_error *err)
{
    *out = NULL;
    int is_or = conditional_operator && strcmp(conditional_operator, "OR") == 0;
    ddb_cond *c = calloc(1, sizeof *c);
    if (!c)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    cJSON *e;
    cJSON_ArrayForEach(e, expected)
    {
        node *n;
        if (expected_one(e->string ? e->string : "", e, &n, err) != 0) {
            ddb_cond_free(c);
            return -1;
        }
        if (!c->root) {
            c->root = n;
            continue;
        }
        node *j = calloc(1, sizeof *j);
        if (!j) {
            node_free(n);
            ddb_cond_free(c);
            return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        }
        j->kind = is_or ? N_OR : N_AND;
        j->a = c->root;
        j->b = n;
        c->root = j;
    }
    *out = c;
    return 0;
}

/* --- request-wide bookkeeping ------------------------------------------------- */

void ddb_expr_usage_init(ddb_expr_usage *u)
{
    memset(u, 0, sizeof *u);
}

int ddb_expr_usage_add(ddb_expr_usage *u, char sigil, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = sigil == '#' ? add_key(&u->names, &u->nnames, &u->capnames, keys[i])
                              : add_key(&u->values, &u->nvalues, &u->capvalues, keys[i]);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int ddb_expr_usage_add_cond(ddb_expr_usage *u, const ddb_cond *c)
{
    const char *const *k;
    size_t n = ddb_cond_names_used(c, &k);
    if (ddb_expr_usage_add(u, '#', k, n) != 0)
        return -1;
    n = ddb_cond_values_used(c, &k);
    return ddb_expr_usage_add(u, ':', k, n);
}

int ddb_expr_usage_check(const ddb_expr_usage *u, const cJSON *names, const cJSON *values,
                         tp_error *err)
{
    if (ddb_expr_check_unused(names, "ExpressionAttributeNames", (const char *const *)u->names,
                              u->nnames, err) != 0)
        return -1;
    return ddb_expr_check_unused(values, "ExpressionAttributeValues",
                                 (const char *const *)u->values, u->nvalues, err);
}

void ddb_expr_usage_free(ddb_expr_usage *u)
{
    free_keys(u->names, u->nnames);
    free_keys(u->values, u->nvalues);
    memset(u, 0, sizeof *u);
}

int ddb_expr_values_validate(cJSON *values, tp_error *err)
{
    if (!values)
        return 0;
    if (ddb_expr_check_map_keys(values, "ExpressionAttributeValues", ':', err) != 0)
        return -1;
    cJSON *e;
    cJSON_ArrayForEach(e, values)
    {
        tp_error inner;
        tp_error_clear(&inner);
        if (ddb_attr_validate(e, &inner) == 0)
            continue;
        if (!tp_error_is(&inner, TP_ERR_VALIDATION)) {
            if (err)
                *err = inner;
            return -1;
        }
        return tp_fail(err, TP_ERR_VALIDATION,
                       "ExpressionAttributeValues contains invalid value: %s for key %s",
                       inner.message, e->string ? e->string : "");
    }
    return 0;
}
