/* dynamodb/expr/projection — ProjectionExpression.
 *
 * Grammar: path (',' path)* with paths from the shared lexer. The parsed
 * paths are merged into a trie once, so applying the projection to each item
 * of a Query or Scan is a single walk of the item: a terminal node copies
 * the value under it, a node with name children descends into an M, one with
 * index children (kept sorted) into an L. The overlap check guarantees a
 * terminal node has no children, the conflict check that a node's children
 * are all names or all indexes. */
#include "projection.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#define KIND "ProjectionExpression"

typedef struct pnode {
    char *name;            /* NULL for a list index */
    uint32_t index;
    int terminal;
    struct pnode *kids;
    size_t nkids, cap;
} pnode;

struct ddb_projection {
    ddb_path *paths;
    size_t npaths;
    char **used;
    size_t nused;
    pnode root;
};

static void pnode_free(pnode *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        pnode_free(&n->kids[i]);
    free(n->kids);
    free(n->name);
}

void ddb_projection_free(ddb_projection *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->npaths; i++)
        ddb_path_free(&p->paths[i]);
    free(p->paths);
    for (size_t i = 0; i < p->nused; i++)
        free(p->used[i]);
    free(p->used);
    pnode_free(&p->root);
    free(p);
}

/* The child of n for e, created when missing; index children stay in
 * ascending order because that is the order AWS returns list elements in. */
static pnode *child_for(pnode *n, const ddb_path_elem *e)
{
    size_t at = n->nkids;
    for (size_t i = 0; i < n->nkids; i++) {
        pnode *k = &n->kids[i];
        if (e->name ? k->name && strcmp(k->name, e->name) == 0
                    : !k->name && k->index == e->index)
            return k;
        if (!e->name && !k->name && k->index > e->index && at == n->nkids)
            at = i;
    }
    if (n->nkids == n->cap) {
        size_t ncap = n->cap ? n->cap * 2 : 4;
        pnode *kids = realloc(n->kids, ncap * sizeof *kids);
        if (!kids)
            return NULL;
        n->kids = kids;
        n->cap = ncap;
    }
    memmove(&n->kids[at + 1], &n->kids[at], (n->nkids - at) * sizeof *n->kids);
    n->nkids++;
    pnode *k = &n->kids[at];
    memset(k, 0, sizeof *k);
    k->index = e->index;
    if (e->name && !(k->name = strdup(e->name))) {
        memmove(&n->kids[at], &n->kids[at + 1], (n->nkids - at - 1) * sizeof *n->kids);
        n->nkids--;
        return NULL;
    }
    return k;
}

static int build_trie(ddb_projection *p)
{
    for (size_t i = 0; i < p->npaths; i++) {
        pnode *n = &p->root;
        for (size_t j = 0; j < p->paths[i].n; j++)
            if (!(n = child_for(n, &p->paths[i].elems[j])))
                return -1;
        n->terminal = 1;
    }
    return 0;
}

/* 0: unrelated, 1: one path is a prefix of the other (or both equal),
 * 2: they differ in kind (map key vs list index) at the same position. */
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

static int pair_error(const ddb_path *one, const ddb_path *two, const char *what,
                      tp_error *err)
{
    tp_buf a, b;
    tp_buf_init(&a);
    tp_buf_init(&b);
    ddb_path_format(one, &a);
    ddb_path_format(two, &b);
    tp_fail(err, TP_ERR_VALIDATION,
            "Invalid " KIND ": Two document paths %s with each other; must remove or rewrite one "
            "of these paths; path one: %s, path two: %s",
            what, a.data ? a.data : "[]", b.data ? b.data : "[]");
    tp_buf_free(&a);
    tp_buf_free(&b);
    return -1;
}

/* Every later path against every earlier one, in expression order. An
 * overlap anywhere wins over a conflict seen earlier: AWS answers
 * "b[1], b.a, #a.b, a" with the overlap of [a, b] and [a]. */
static int check_pairs(const ddb_projection *p, tp_error *err)
{
    const ddb_path *c1 = NULL, *c2 = NULL;
    for (size_t j = 1; j < p->npaths; j++) {
        for (size_t i = 0; i < j; i++) {
            int r = relation(&p->paths[i], &p->paths[j]);
            if (r == 1)
                return pair_error(&p->paths[i], &p->paths[j], "overlap", err);
            if (r == 2 && !c1) {
                c1 = &p->paths[i];
                c2 = &p->paths[j];
            }
        }
    }
    if (c1)
        return pair_error(c1, c2, "conflict", err);
    return 0;
}

static int all_space(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return 0;
    return 1;
}

int ddb_projection_parse(const char *expr, const cJSON *names, ddb_projection **out,
                         tp_error *err)
{
    *out = NULL;
    if (ddb_expr_check_map_keys(names, "ExpressionAttributeNames", '#', err) != 0)
        return -1;
    if (!expr || all_space(expr))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid " KIND ": The expression can not be empty;");
    size_t len = strlen(expr);
    if (len > DDB_EXPR_MAX_BYTES)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid " KIND ": Expression size has exceeded the maximum allowed size; "
                       "expression size: %zu",
                       len);

    ddb_projection *p = calloc(1, sizeof *p);
    if (!p)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    ddb_lexer lx;
    if (ddb_lexer_init(&lx, KIND, expr, len, names, err) != 0) {
        free(p);
        return -1;
    }
    size_t cap = 0;
    do {
        if (p->npaths == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            ddb_path *paths = realloc(p->paths, ncap * sizeof *paths);
            if (!paths) {
                tp_fail(err, TP_ERR_INTERNAL, "out of memory");
                goto fail;
            }
            p->paths = paths;
            cap = ncap;
        }
        if (ddb_lex_parse_path(&lx, &p->paths[p->npaths], err) != 0)
            goto fail;
        p->npaths++;
    } while (ddb_lex_accept(&lx, DDB_TOK_COMMA));
    if (ddb_lex_peek(&lx)->type != DDB_TOK_EOF) {
        ddb_lex_syntax_error(&lx, err);
        goto fail;
    }
    if (ddb_lexer_finish(&lx, err) != 0 || check_pairs(p, err) != 0)
        goto fail;
    if (build_trie(p) != 0) {
        tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        goto fail;
    }
    /* The used #names move from the lexer to the projection. */
    p->used = lx.used;
    p->nused = lx.nused;
    lx.used = NULL;
    lx.nused = 0;
    ddb_lexer_free(&lx);
    *out = p;
    return 0;
fail:
    ddb_lexer_free(&lx);
    ddb_projection_free(p);
    return -1;
}

size_t ddb_projection_names_used(const ddb_projection *p, const char *const **keys)
{
    *keys = p ? (const char *const *)p->used : NULL;
    return p ? p->nused : 0;
}

int ddb_projection_check_unused(const ddb_projection *p, const cJSON *names, tp_error *err)
{
    const char *const *keys;
    size_t n = ddb_projection_names_used(p, &keys);
    return ddb_expr_check_unused(names, "ExpressionAttributeNames", keys, n, err);
}

size_t ddb_projection_count(const ddb_projection *p)
{
    return p ? p->npaths : 0;
}

const ddb_path *ddb_projection_path(const ddb_projection *p, size_t i)
{
    return p && i < p->npaths ? &p->paths[i] : NULL;
}

int ddb_projection_check_keys(const ddb_projection *p, const char *const *keys, size_t nkeys,
                              const char *label, tp_error *err)
{
    for (size_t i = 0; p && i < p->npaths; i++) {
        const ddb_path *path = &p->paths[i];
        if (path->n < 2)
            continue;
        for (size_t k = 0; k < nkeys; k++)
            if (keys[k] && strcmp(keys[k], path->elems[0].name) == 0)
                return tp_fail(err, TP_ERR_VALIDATION,
                               "Key attributes must be scalars; list random access '[]' and map "
                               "lookup '.' are not allowed: %s: %s",
                               label, keys[k]);
    }
    return 0;
}

/* --- applying ------------------------------------------------------------- */

static cJSON *project_value(const pnode *n, const cJSON *av, int *oom);

/* The projected members of map obj (a plain object of AttributeValues), or
 * NULL when none of n's children resolve. */
static cJSON *project_map(const pnode *n, const cJSON *obj, int *oom)
{
    cJSON *out = NULL;
    for (size_t i = 0; i < n->nkids && !*oom; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, n->kids[i].name);
        if (!v)
            continue;
        cJSON *r = project_value(&n->kids[i], v, oom);
        if (!r)
            continue;
        if (!out && !(out = cJSON_CreateObject())) {
            cJSON_Delete(r);
            *oom = 1;
            break;
        }
        cJSON_AddItemToObject(out, n->kids[i].name, r);
    }
    return out;
}

/* The projected elements of list arr, in ascending index order; one walk
 * of the list since the index children are sorted. */
static cJSON *project_list(const pnode *n, const cJSON *arr, int *oom)
{
    cJSON *out = NULL;
    const cJSON *e = arr->child;
    uint32_t at = 0;
    for (size_t i = 0; i < n->nkids && e && !*oom; i++) {
        while (e && at < n->kids[i].index) {
            e = e->next;
            at++;
        }
        if (!e)
            break;
        cJSON *r = project_value(&n->kids[i], e, oom);
        if (!r)
            continue;
        if (!out && !(out = cJSON_CreateArray())) {
            cJSON_Delete(r);
            *oom = 1;
            break;
        }
        cJSON_AddItemToArray(out, r);
    }
    return out;
}

static cJSON *wrap(const char *tag, cJSON *inner, int *oom)
{
    if (!inner)
        return NULL;
    cJSON *av = cJSON_CreateObject();
    if (!av) {
        cJSON_Delete(inner);
        *oom = 1;
        return NULL;
    }
    cJSON_AddItemToObject(av, tag, inner);
    return av;
}

static cJSON *project_value(const pnode *n, const cJSON *av, int *oom)
{
    if (n->terminal) {
        cJSON *c = cJSON_Duplicate(av, 1);
        if (!c)
            *oom = 1;
        return c;
    }
    if (n->nkids == 0)
        return NULL;
    if (n->kids[0].name) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(av, "M");
        return cJSON_IsObject(m) ? wrap("M", project_map(n, m, oom), oom) : NULL;
    }
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(av, "L");
    return cJSON_IsArray(l) ? wrap("L", project_list(n, l, oom), oom) : NULL;
}

cJSON *ddb_projection_apply(const ddb_projection *p, const cJSON *item)
{
    if (!p)
        return cJSON_Duplicate(item, 1);
    int oom = 0;
    cJSON *out = item ? project_map(&p->root, item, &oom) : NULL;
    if (oom) {
        cJSON_Delete(out);
        return NULL;
    }
    return out ? out : cJSON_CreateObject();
}
