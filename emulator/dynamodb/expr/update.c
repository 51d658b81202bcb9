/* dynamodb/expr/update — UpdateExpression. See update.h for the grammar,
 * the order semantic errors are reported in, and how actions apply. */
#include "update.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../attr.h"
#include "../number.h"
#include "core/buf.h"
#include "core/json.h"

#define KIND "UpdateExpression"
#define MISSING_ATTR "The provided expression refers to an attribute that does not exist in the item"
#define BAD_TYPE "An operand in the update expression has an incorrect data type"
#define BAD_PATH "The document path provided in the update expression is invalid for update"

enum { C_SET, C_REMOVE, C_ADD, C_DELETE, C_COUNT };
static const char *const clause_names[C_COUNT] = {"SET", "REMOVE", "ADD", "DELETE"};

typedef enum { N_VALUE, N_PATH, N_FUNC, N_PLUS, N_MINUS } node_kind;
enum { F_IF_NOT_EXISTS, F_LIST_APPEND, F_UNKNOWN };

typedef struct unode {
    node_kind kind;
    const cJSON *value;  /* N_VALUE: borrowed from the values map; NULL when undefined */
    ddb_path path;       /* N_PATH */
    int func;            /* N_FUNC */
    struct unode **args; /* N_FUNC, N_PLUS, N_MINUS */
    size_t nargs;
} unode;

typedef struct uaction {
    int clause;
    ddb_path path;
    unode *value;        /* SET */
    const cJSON *operand; /* ADD, DELETE (borrowed) */
} uaction;

/* Parser-side semantic errors, in reporting order (the lexer's own ranks
 * slot in between, see report()). */
enum { E_UNKNOWN_FN, E_SECTION, E_ATTRVAL, E_OVERLAP, E_CONFLICT, E_OPERAND, E_FUNCTION, E_COUNT };

struct ddb_update {
    uaction *acts;
    size_t nacts, cap;
    char **names_used;
    size_t nnames;
    char **values_used;
    size_t nvalues, capvalues;
};

typedef struct parser {
    ddb_lexer lx;
    const cJSON *values;
    ddb_update *u;
    int seen[C_COUNT];
    int has[E_COUNT];
    char msg[E_COUNT][512];
} parser;

static void note(parser *p, int slot, const char *fmt, ...) TP_PRINTF(3, 4);
static void note(parser *p, int slot, const char *fmt, ...)
{
    if (p->has[slot])
        return;
    p->has[slot] = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg[slot], sizeof p->msg[slot], fmt, ap);
    va_end(ap);
}

static int oom(tp_error *err)
{
    return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
}

/* --- the tree ---------------------------------------------------------------- */

static void node_free(unode *n)
{
    if (!n)
        return;
    ddb_path_free(&n->path);
    for (size_t i = 0; i < n->nargs; i++)
        node_free(n->args[i]);
    free(n->args);
    free(n);
}

void ddb_update_free(ddb_update *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->nacts; i++) {
        ddb_path_free(&u->acts[i].path);
        node_free(u->acts[i].value);
    }
    free(u->acts);
    for (size_t i = 0; i < u->nnames; i++)
        free(u->names_used[i]);
    free(u->names_used);
    for (size_t i = 0; i < u->nvalues; i++)
        free(u->values_used[i]);
    free(u->values_used);
    free(u);
}

static int push_arg(unode *n, unode *a)
{
    unode **args = realloc(n->args, (n->nargs + 1) * sizeof *args);
    if (!args)
        return -1;
    n->args = args;
    n->args[n->nargs++] = a;
    return 0;
}

/* --- parsing ----------------------------------------------------------------- */

static int note_value_used(ddb_update *u, const char *key)
{
    for (size_t i = 0; i < u->nvalues; i++)
        if (strcmp(u->values_used[i], key) == 0)
            return 0;
    if (u->nvalues == u->capvalues) {
        size_t ncap = u->capvalues ? u->capvalues * 2 : 8;
        char **v = realloc(u->values_used, ncap * sizeof *v);
        if (!v)
            return -1;
        u->values_used = v;
        u->capvalues = ncap;
    }
    if (!(u->values_used[u->nvalues] = strdup(key)))
        return -1;
    u->nvalues++;
    return 0;
}

/* The value a :name token stands for; NULL (and a noted error) when the
 * map lacks it. *fail is set on memory exhaustion. */
static const cJSON *value_ref(parser *p, const ddb_token *t, int *fail)
{
    char key[256];
    size_t n = t->len < sizeof key - 1 ? t->len : sizeof key - 1;
    memcpy(key, p->lx.src + t->start, n);
    key[n] = '\0';
    const cJSON *v = p->values ? cJSON_GetObjectItemCaseSensitive(p->values, key) : NULL;
    if (!v) {
        note(p, E_ATTRVAL,
             "An expression attribute value used in expression is not defined; attribute value: %s",
             key);
        return NULL;
    }
    if (note_value_used(p->u, key) != 0)
        *fail = 1;
    return v;
}

static int parse_value(parser *p, unode **out, tp_error *err);

static int parse_operand(parser *p, unode **out, tp_error *err)
{
    *out = NULL;
    const ddb_token *t = ddb_lex_peek(&p->lx);
    if (t->type == DDB_TOK_LPAREN) {
        ddb_lex_next(&p->lx);
        if (parse_value(p, out, err) != 0)
            return -1;
        if (!ddb_lex_accept(&p->lx, DDB_TOK_RPAREN)) {
            node_free(*out);
            *out = NULL;
            return ddb_lex_syntax_error(&p->lx, err);
        }
        return 0;
    }
    unode *n = calloc(1, sizeof *n);
    if (!n)
        return oom(err);
    if (t->type == DDB_TOK_VALUEREF) {
        int fail = 0;
        ddb_lex_next(&p->lx);
        n->kind = N_VALUE;
        n->value = value_ref(p, t, &fail);
        if (fail) {
            free(n);
            return oom(err);
        }
        *out = n;
        return 0;
    }
    if (t->type == DDB_TOK_NAME && p->lx.toks[p->lx.pos + 1].type == DDB_TOK_LPAREN) {
        /* A function call: any name parses, unknown ones fail afterwards. */
        n->kind = N_FUNC;
        const char *name = p->lx.src + t->start;
        if (t->len == 13 && strncmp(name, "if_not_exists", 13) == 0)
            n->func = F_IF_NOT_EXISTS;
        else if (t->len == 11 && strncmp(name, "list_append", 11) == 0)
            n->func = F_LIST_APPEND;
        else {
            n->func = F_UNKNOWN;
            note(p, E_UNKNOWN_FN, "Invalid function name; function: %.*s", (int)t->len, name);
        }
        ddb_lex_next(&p->lx);
        ddb_lex_next(&p->lx);
        do {
            unode *a;
            if (parse_operand(p, &a, err) != 0)
                goto fail;
            if (push_arg(n, a) != 0) {
                node_free(a);
                oom(err);
                goto fail;
            }
        } while (ddb_lex_accept(&p->lx, DDB_TOK_COMMA));
        if (!ddb_lex_accept(&p->lx, DDB_TOK_RPAREN)) {
            ddb_lex_syntax_error(&p->lx, err);
            goto fail;
        }
        *out = n;
        return 0;
    }
    n->kind = N_PATH;
    if (ddb_lex_parse_path(&p->lx, &n->path, err) != 0)
        goto fail;
    *out = n;
    return 0;
fail:
    node_free(n);
    return -1;
}

static int parse_value(parser *p, unode **out, tp_error *err)
{
    unode *a;
    if (parse_operand(p, &a, err) != 0)
        return -1;
    const ddb_token *t = ddb_lex_peek(&p->lx);
    if (t->type != DDB_TOK_PLUS && t->type != DDB_TOK_MINUS) {
        *out = a;
        return 0;
    }
    ddb_lex_next(&p->lx);
    unode *n = calloc(1, sizeof *n);
    if (!n || push_arg(n, a) != 0) {
        free(n);
        node_free(a);
        return oom(err);
    }
    n->kind = t->type == DDB_TOK_PLUS ? N_PLUS : N_MINUS;
    unode *b;
    if (parse_operand(p, &b, err) != 0) {
        node_free(n);
        return -1;
    }
    if (push_arg(n, b) != 0) {
        node_free(b);
        node_free(n);
        return oom(err);
    }
    *out = n;
    return 0;
}

/* The type of a literal :value, or NULL for anything computed. */
static const char *immediate_type(const unode *n)
{
    return n && n->kind == N_VALUE && n->value ? ddb_attr_type(n->value) : NULL;
}

/* Operand count and operand types of functions and + / -, checked once
 * the whole value parsed (AWS reports them after syntax errors). */
static void check_node(parser *p, const unode *n, int nested)
{
    if (n->kind == N_PLUS || n->kind == N_MINUS) {
        const char *op = n->kind == N_PLUS ? "+" : "-";
        for (size_t i = 0; i < n->nargs; i++) {
            const char *ty = immediate_type(n->args[i]);
            if (ty && strcmp(ty, "N") != 0)
                note(p, E_FUNCTION,
                     "Incorrect operand type for operator or function; operator or function: %s, "
                     "operand type: %s",
                     op, ty);
        }
    } else if (n->kind == N_FUNC && n->func != F_UNKNOWN) {
        const char *fname = n->func == F_IF_NOT_EXISTS ? "if_not_exists" : "list_append";
        if (n->nargs != 2) {
            note(p, E_FUNCTION,
                 "Incorrect number of operands for operator or function; operator or function: "
                 "%s, number of operands: %zu",
                 fname, n->nargs);
        } else if (n->func == F_IF_NOT_EXISTS) {
            if (n->args[0]->kind != N_PATH)
                note(p, E_FUNCTION,
                     "Operator or function requires a document path; operator or function: "
                     "if_not_exists");
        } else {
            if (nested)
                note(p, E_FUNCTION,
                     "The function is not allowed to be used this way in an expression; "
                     "function: list_append");
            for (size_t i = 0; i < n->nargs; i++) {
                const char *ty = immediate_type(n->args[i]);
                if (ty && strcmp(ty, "L") != 0)
                    note(p, E_FUNCTION,
                         "Incorrect operand type for operator or function; operator or "
                         "function: list_append, operand type: %s",
                         ty);
            }
        }
    }
    for (size_t i = 0; i < n->nargs; i++)
        check_node(p, n->args[i], n->kind == N_FUNC);
}

/* 0: unrelated, 1: one is a prefix of the other, 2: they differ in kind
 * (map key vs list index) at the same position. */
static int relation(const ddb_path *a, const ddb_path *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t k = 0; k < n; k++) {
        const ddb_path_elem *x = &a->elems[k], *y = &b->elems[k];
        if (!x->name != !y->name)
            return 2;
        if (x->name ? strcmp(x->name, y->name) != 0 : x->index != y->index)
            return 0;
    }
    return 1;
}

static void check_path(parser *p, const ddb_path *path)
{
    for (size_t i = 0; i + 1 < p->u->nacts; i++) {
        const ddb_path *other = &p->u->acts[i].path;
        int r = relation(other, path);
        if (r == 0)
            continue;
        tp_buf a, b;
        tp_buf_init(&a);
        tp_buf_init(&b);
        ddb_path_format(other, &a);
        ddb_path_format(path, &b);
        note(p, r == 1 ? E_OVERLAP : E_CONFLICT,
             "Two document paths %s with each other; must remove or rewrite one of these paths; "
             "path one: %s, path two: %s",
             r == 1 ? "overlap" : "conflict", a.data ? a.data : "[]", b.data ? b.data : "[]");
        tp_buf_free(&a);
        tp_buf_free(&b);
    }
}

static const char *long_type(const char *tag)
{
    static const char *const map[][2] = {{"S", "STRING"}, {"N", "NUMBER"}, {"B", "BINARY"},
                                         {"NULL", "NULL"}, {"BOOL", "BOOLEAN"}, {"L", "LIST"},
                                         {"M", "MAP"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(tag, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static uaction *new_action(parser *p, int clause, tp_error *err)
{
    ddb_update *u = p->u;
    if (u->nacts == u->cap) {
        size_t ncap = u->cap ? u->cap * 2 : 4;
        uaction *a = realloc(u->acts, ncap * sizeof *a);
        if (!a) {
            oom(err);
            return NULL;
        }
        u->acts = a;
        u->cap = ncap;
    }
    uaction *a = &u->acts[u->nacts++];
    memset(a, 0, sizeof *a);
    a->clause = clause;
    return a;
}

static int parse_action(parser *p, int clause, tp_error *err)
{
    uaction *a = new_action(p, clause, err);
    if (!a)
        return -1;
    if (ddb_lex_parse_path(&p->lx, &a->path, err) != 0)
        return -1;
    if (clause == C_SET) {
        if (!ddb_lex_accept(&p->lx, DDB_TOK_EQ))
            return ddb_lex_syntax_error(&p->lx, err);
        if (parse_value(p, &a->value, err) != 0)
            return -1;
        check_path(p, &a->path);
        check_node(p, a->value, 0);
        return 0;
    }
    if (clause == C_REMOVE) {
        check_path(p, &a->path);
        return 0;
    }
    const ddb_token *t = ddb_lex_peek(&p->lx);
    if (t->type != DDB_TOK_VALUEREF)
        return ddb_lex_syntax_error(&p->lx, err);
    ddb_lex_next(&p->lx);
    int fail = 0;
    a->operand = value_ref(p, t, &fail);
    if (fail)
        return oom(err);
    check_path(p, &a->path);
    const char *ty = a->operand ? ddb_attr_type(a->operand) : NULL;
    const char *lt = ty ? long_type(ty) : NULL;
    if (lt && !(clause == C_ADD && strcmp(ty, "N") == 0))
        note(p, E_OPERAND,
             "Incorrect operand type for operator or function; operator: %s, operand type: %s",
             clause_names[clause], lt);
    return 0;
}

static int clause_at(const parser *p, const ddb_token *t)
{
    for (int c = 0; c < C_COUNT; c++)
        if (ddb_lex_is_word(&p->lx, t, clause_names[c]))
            return c;
    return -1;
}

static int all_space(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

/* The most important semantic error, or 0. */
static int report(const parser *p, tp_error *err)
{
    int lex = p->lx.sem_rank;
    if (lex == DDB_SEM_RESERVED)
        return ddb_lexer_finish(&p->lx, err);
    for (int s = E_UNKNOWN_FN; s <= E_SECTION; s++)
        if (p->has[s])
            return tp_fail(err, TP_ERR_VALIDATION, "Invalid " KIND ": %s", p->msg[s]);
    if (lex != DDB_SEM_NONE)
        return ddb_lexer_finish(&p->lx, err);
    for (int s = E_ATTRVAL; s < E_COUNT; s++)
        if (p->has[s])
            return tp_fail(err, TP_ERR_VALIDATION, "Invalid " KIND ": %s", p->msg[s]);
    return 0;
}

int ddb_update_parse(const char *expr, const cJSON *names, const cJSON *values, ddb_update **out,
                     tp_error *err)
{
    *out = NULL;
    if (!expr || all_space(expr))
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid " KIND ": The expression can not be empty;");
    size_t len = strlen(expr);
    if (len > DDB_EXPR_MAX_BYTES)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid " KIND ": Expression size has exceeded the maximum allowed size; "
                       "expression size: %zu",
                       len);
    parser p;
    memset(&p, 0, sizeof p);
    p.values = values;
    if (!(p.u = calloc(1, sizeof *p.u)))
        return oom(err);
    if (ddb_lexer_init(&p.lx, KIND, expr, len, names, err) != 0) {
        free(p.u);
        return -1;
    }
    do {
        int c = clause_at(&p, ddb_lex_peek(&p.lx));
        if (c < 0) {
            ddb_lex_syntax_error(&p.lx, err);
            goto fail;
        }
        ddb_lex_next(&p.lx);
        if (p.seen[c])
            note(&p, E_SECTION, "The \"%s\" section can only be used once in an update expression;",
                 clause_names[c]);
        p.seen[c] = 1;
        do {
            if (parse_action(&p, c, err) != 0)
                goto fail;
        } while (ddb_lex_accept(&p.lx, DDB_TOK_COMMA));
    } while (ddb_lex_peek(&p.lx)->type != DDB_TOK_EOF);
    if (report(&p, err) != 0)
        goto fail;
    p.u->names_used = p.lx.used;
    p.u->nnames = p.lx.nused;
    p.lx.used = NULL;
    p.lx.nused = 0;
    ddb_lexer_free(&p.lx);
    *out = p.u;
    return 0;
fail:
    ddb_lexer_free(&p.lx);
    ddb_update_free(p.u);
    return -1;
}

size_t ddb_update_names_used(const ddb_update *u, const char *const **keys)
{
    *keys = u ? (const char *const *)u->names_used : NULL;
    return u ? u->nnames : 0;
}

size_t ddb_update_values_used(const ddb_update *u, const char *const **keys)
{
    *keys = u ? (const char *const *)u->values_used : NULL;
    return u ? u->nvalues : 0;
}

size_t ddb_update_count(const ddb_update *u)
{
    return u ? u->nacts : 0;
}

const ddb_path *ddb_update_path(const ddb_update *u, size_t i)
{
    return u && i < u->nacts ? &u->acts[i].path : NULL;
}

static const char *static_type(const unode *n)
{
    switch (n->kind) {
    case N_VALUE:
        return n->value ? ddb_attr_type(n->value) : NULL;
    case N_PLUS:
    case N_MINUS:
        return "N";
    case N_FUNC:
        if (n->func == F_LIST_APPEND)
            return "L";
        if (n->func == F_IF_NOT_EXISTS && n->nargs == 2)
            return static_type(n->args[1]);
        return NULL;
    case N_PATH:
        break;
    }
    return NULL;
}

const char *ddb_update_value_type(const ddb_update *u, size_t i)
{
    if (!u || i >= u->nacts)
        return NULL;
    const uaction *a = &u->acts[i];
    if (a->clause == C_SET)
        return static_type(a->value);
    if (a->clause == C_ADD)
        return a->operand ? ddb_attr_type(a->operand) : NULL;
    return NULL;
}

static int each_node_path(const unode *n, int (*fn)(const ddb_path *p, void *ctx), void *ctx)
{
    if (n->kind == N_PATH)
        return fn(&n->path, ctx);
    for (size_t i = 0; i < n->nargs; i++) {
        int rc = each_node_path(n->args[i], fn, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

int ddb_update_each_path(const ddb_update *u, int (*fn)(const ddb_path *p, void *ctx), void *ctx)
{
    for (size_t i = 0; u && i < u->nacts; i++) {
        int rc = fn(&u->acts[i].path, ctx);
        if (!rc && u->acts[i].value)
            rc = each_node_path(u->acts[i].value, fn, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

/* --- applying ---------------------------------------------------------------- */

/* The value at path in item, or NULL. */
static cJSON *resolve(cJSON *item, const ddb_path *path, size_t n)
{
    cJSON *av = cJSON_GetObjectItemCaseSensitive(item, path->elems[0].name);
    for (size_t i = 1; av && i < n; i++) {
        const ddb_path_elem *e = &path->elems[i];
        if (e->name) {
            cJSON *m = cJSON_GetObjectItemCaseSensitive(av, "M");
            av = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, e->name) : NULL;
        } else {
            cJSON *l = cJSON_GetObjectItemCaseSensitive(av, "L");
            av = cJSON_IsArray(l) ? cJSON_GetArrayItem(l, (int)e->index) : NULL;
            if (e->index > (uint32_t)INT32_MAX)
                av = NULL;
        }
    }
    return av;
}

/* The container the last element of path lives in: the item itself, an M's
 * object or an L's array; NULL when the path does not lead to one. */
static cJSON *container_of(cJSON *item, const ddb_path *path)
{
    if (path->n == 1)
        return item;
    cJSON *parent = resolve(item, path, path->n - 1);
    if (!parent)
        return NULL;
    cJSON *c = cJSON_GetObjectItemCaseSensitive(parent, path->elems[path->n - 1].name ? "M" : "L");
    if (path->elems[path->n - 1].name ? !cJSON_IsObject(c) : !cJSON_IsArray(c))
        return NULL;
    return c;
}

static int eval(const unode *n, cJSON *item, cJSON **out, tp_error *err);

static int eval_numbers(const unode *n, cJSON *item, cJSON **out, tp_error *err)
{
    cJSON *a = NULL, *b = NULL;
    int rc = -1;
    if (eval(n->args[0], item, &a, err) != 0)
        goto done;
    const char *ta = tp_json_str(a, "N");
    if (!ta) {
        tp_fail(err, TP_ERR_VALIDATION, BAD_TYPE);
        goto done;
    }
    if (eval(n->args[1], item, &b, err) != 0)
        goto done;
    const char *tb = tp_json_str(b, "N");
    if (!tb) {
        tp_fail(err, TP_ERR_VALIDATION, BAD_TYPE);
        goto done;
    }
    ddb_num x, y, r;
    if (ddb_num_parse(ta, &x, err) != 0 || ddb_num_parse(tb, &y, err) != 0)
        goto done;
    if ((n->kind == N_PLUS ? ddb_num_add(&x, &y, &r, err) : ddb_num_sub(&x, &y, &r, err)) != 0)
        goto done;
    char text[200];
    ddb_num_format(&r, text, sizeof text);
    *out = cJSON_CreateObject();
    if (!*out || !cJSON_AddStringToObject(*out, "N", text)) {
        oom(err);
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}

static int eval_list_append(const unode *n, cJSON *item, cJSON **out, tp_error *err)
{
    cJSON *a = NULL, *b = NULL;
    int rc = -1;
    if (eval(n->args[0], item, &a, err) != 0)
        goto done;
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(a, "L"))) {
        tp_fail(err, TP_ERR_VALIDATION, BAD_TYPE);
        goto done;
    }
    if (eval(n->args[1], item, &b, err) != 0)
        goto done;
    cJSON *lb = cJSON_GetObjectItemCaseSensitive(b, "L");
    if (!cJSON_IsArray(lb)) {
        tp_fail(err, TP_ERR_VALIDATION, BAD_TYPE);
        goto done;
    }
    cJSON *la = cJSON_GetObjectItemCaseSensitive(a, "L");
    while (lb->child) {
        cJSON *e = cJSON_DetachItemViaPointer(lb, lb->child);
        cJSON_AddItemToArray(la, e);
    }
    *out = a;
    a = NULL;
    rc = 0;
done:
    cJSON_Delete(a);
    cJSON_Delete(b);
    return rc;
}

/* Computes a SET value from the item as it stands; *out is owned. */
static int eval(const unode *n, cJSON *item, cJSON **out, tp_error *err)
{
    *out = NULL;
    switch (n->kind) {
    case N_VALUE:
        if (!n->value)
            return tp_fail(err, TP_ERR_VALIDATION, MISSING_ATTR);
        *out = cJSON_Duplicate(n->value, 1);
        return *out ? 0 : oom(err);
    case N_PATH: {
        cJSON *v = resolve(item, &n->path, n->path.n);
        if (!v)
            return tp_fail(err, TP_ERR_VALIDATION, MISSING_ATTR);
        *out = cJSON_Duplicate(v, 1);
        return *out ? 0 : oom(err);
    }
    case N_PLUS:
    case N_MINUS:
        return eval_numbers(n, item, out, err);
    case N_FUNC:
        if (n->func == F_IF_NOT_EXISTS) {
            cJSON *v = resolve(item, &n->args[0]->path, n->args[0]->path.n);
            if (!v)
                return eval(n->args[1], item, out, err);
            *out = cJSON_Duplicate(v, 1);
            return *out ? 0 : oom(err);
        }
        if (n->func == F_LIST_APPEND)
            return eval_list_append(n, item, out, err);
        break;
    }
    return tp_fail(err, TP_ERR_INTERNAL, "bad update expression node");
}

/* Puts v (owned) at path; a list index past the end appends. */
static int put_at(cJSON *item, const ddb_path *path, cJSON *v, tp_error *err)
{
    cJSON *c = container_of(item, path);
    if (!c) {
        cJSON_Delete(v);
        return tp_fail(err, TP_ERR_VALIDATION, BAD_PATH);
    }
    const ddb_path_elem *last = &path->elems[path->n - 1];
    if (last->name) {
        if (cJSON_GetObjectItemCaseSensitive(c, last->name))
            cJSON_ReplaceItemInObjectCaseSensitive(c, last->name, v);
        else
            cJSON_AddItemToObject(c, last->name, v);
        return 0;
    }
    int size = cJSON_GetArraySize(c);
    if (last->index >= (uint32_t)size)
        cJSON_AddItemToArray(c, v);
    else
        cJSON_ReplaceItemInArray(c, (int)last->index, v);
    return 0;
}

static int remove_at(cJSON *item, const ddb_path *path, tp_error *err)
{
    cJSON *c = container_of(item, path);
    if (!c)
        return tp_fail(err, TP_ERR_VALIDATION, BAD_PATH);
    const ddb_path_elem *last = &path->elems[path->n - 1];
    if (last->name)
        cJSON_DeleteItemFromObjectCaseSensitive(c, last->name);
    else if (last->index < (uint32_t)cJSON_GetArraySize(c))
        cJSON_DeleteItemFromArray(c, (int)last->index);
    return 0;
}

static int in_set(const cJSON *set, const char *s)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, set)
    {
        if (cJSON_IsString(m) && strcmp(m->valuestring, s) == 0)
            return 1;
    }
    return 0;
}

static int is_set_type(const char *t)
{
    return t && (strcmp(t, "SS") == 0 || strcmp(t, "NS") == 0 || strcmp(t, "BS") == 0);
}

/* ADD: numbers add exactly, sets take the union; a missing attribute is
 * created with the operand. (Set members of stored items and of
 * ExpressionAttributeValues are canonical, so text equality is value
 * equality.) */
static int apply_add(cJSON *item, const uaction *a, tp_error *err)
{
    const char *ty = ddb_attr_type(a->operand);
    cJSON *cur = resolve(item, &a->path, a->path.n);
    if (!cur) {
        cJSON *v = cJSON_Duplicate(a->operand, 1);
        return v ? put_at(item, &a->path, v, err) : oom(err);
    }
    const char *cty = ddb_attr_type(cur);
    if (!ty || !cty || strcmp(ty, cty) != 0)
        return tp_fail(err, TP_ERR_VALIDATION, BAD_TYPE);
    if (strcmp(ty, "N") == 0) {
        ddb_num x, y, r;
        char text[200];
        if (ddb_num_parse(tp_json_str(cur, "N"), &x, err) != 0 ||
            ddb_num_parse(tp_json_str(a->operand, "N"), &y, err) != 0 ||
            ddb_num_add(&x, &y, &r, err) != 0)
            return -1;
        ddb_num_format(&r, text, sizeof text);
        cJSON *s = cJSON_CreateString(text);
        if (!s)
            return oom(err);
        cJSON_ReplaceItemInObjectCaseSensitive(cur, "N", s);
        return 0;
    }
    cJSON *set = cJSON_GetObjectItemCaseSensitive(cur, ty);
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(a->operand, ty))
    {
        if (!in_set(set, m->valuestring)) {
            cJSON *s = cJSON_CreateString(m->valuestring);
            if (!s)
                return oom(err);
            cJSON_AddItemToArray(set, s);
        }
    }
    return 0;
}

static int apply_delete(cJSON *item, const uaction *a, tp_error *err)
{
    if (!container_of(item, &a->path))
        return tp_fail(err, TP_ERR_VALIDATION, BAD_PATH);
    cJSON *cur = resolve(item, &a->path, a->path.n);
    if (!cur)
        return 0;
    const char *ty = ddb_attr_type(a->operand);
    const char *cty = ddb_attr_type(cur);
    if (!is_set_type(ty) || !cty || strcmp(ty, cty) != 0)
        return tp_fail(err, TP_ERR_VALIDATION, BAD_TYPE);
    cJSON *set = cJSON_GetObjectItemCaseSensitive(cur, ty);
    const cJSON *gone = cJSON_GetObjectItemCaseSensitive(a->operand, ty);
    cJSON *m = set->child;
    while (m) {
        cJSON *next = m->next;
        if (cJSON_IsString(m) && in_set(gone, m->valuestring))
            cJSON_Delete(cJSON_DetachItemViaPointer(set, m));
        m = next;
    }
    if (!set->child)
        return remove_at(item, &a->path, err);
    return 0;
}

/* Path order with list indexes ascending (SET/ADD/DELETE: "l[11] = :a,
 * l[10] = :b" past the end appends b then a, as the indexes say) or
 * descending (REMOVE: each removal still sees the original positions).
 * Paths of one update never overlap, so this is a total order. */
static int cmp_paths(const void *x, const void *y, int desc)
{
    const ddb_path *a = &(*(const uaction *const *)x)->path;
    const ddb_path *b = &(*(const uaction *const *)y)->path;
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t k = 0; k < n; k++) {
        const ddb_path_elem *p = &a->elems[k], *q = &b->elems[k];
        if (p->name && q->name) {
            int c = strcmp(p->name, q->name);
            if (c)
                return c;
        } else if (!p->name && !q->name) {
            if (p->index != q->index)
                return (p->index > q->index) == !!desc ? -1 : 1;
        } else {
            return p->name ? -1 : 1;
        }
    }
    return a->n < b->n ? -1 : a->n > b->n;
}

static int cmp_remove(const void *x, const void *y)
{
    return cmp_paths(x, y, 1);
}

static int cmp_set(const void *x, const void *y)
{
    return cmp_paths(x, y, 0);
}

int ddb_update_apply(const ddb_update *u, cJSON *item, tp_error *err)
{
    size_t cap = u->nacts ? u->nacts : 1;
    cJSON **vals = calloc(cap, sizeof *vals);
    const uaction **removes = calloc(cap, sizeof *removes);
    const uaction **sets = calloc(cap, sizeof *sets);
    size_t nremoves = 0, nsets = 0;
    int rc = -1;
    if (!vals || !removes || !sets) {
        oom(err);
        goto done;
    }
    /* Every SET value from the item as it was: "SET a = :v, b = a" copies
     * the old a. */
    for (size_t i = 0; i < u->nacts; i++)
        if (u->acts[i].clause == C_SET && eval(u->acts[i].value, item, &vals[i], err) != 0)
            goto done;
    for (size_t i = 0; i < u->nacts; i++) {
        if (u->acts[i].clause == C_REMOVE)
            removes[nremoves++] = &u->acts[i];
        else
            sets[nsets++] = &u->acts[i];
    }
    /* SET, ADD and DELETE in path order: appends past the end of a list
     * land in index order whichever clause wrote them (AWS: "SET c[4] = x,
     * c[2] = y ADD c[8] :s, c[6] :n" appends y, x, n, s). */
    qsort(removes, nremoves, sizeof *removes, cmp_remove);
    qsort(sets, nsets, sizeof *sets, cmp_set);
    for (size_t i = 0; i < nsets; i++) {
        const uaction *a = sets[i];
        if (a->clause == C_SET) {
            size_t at = (size_t)(a - u->acts);
            cJSON *v = vals[at];
            vals[at] = NULL;
            if (put_at(item, &a->path, v, err) != 0)
                goto done;
        } else if (a->clause == C_ADD) {
            if (apply_add(item, a, err) != 0)
                goto done;
        } else if (apply_delete(item, a, err) != 0) {
            goto done;
        }
    }
    for (size_t i = 0; i < nremoves; i++)
        if (remove_at(item, &removes[i]->path, err) != 0)
            goto done;
    rc = 0;
done:
    if (vals)
        for (size_t i = 0; i < u->nacts; i++)
            cJSON_Delete(vals[i]);
    free(vals);
    free(removes);
    free(sets);
    return rc;
}
