/* dynamodb/partiql — ExecuteStatement, BatchExecuteStatement and
 * ExecuteTransaction.
 *
 * A statement (parsed by partiql_parse.c) becomes the request of the
 * action DynamoDB runs for it, and that action runs it — so validation,
 * conditions, capacity, throttling, stream records and triggers are the
 * same as for the classic API:
 *   SELECT with an equality on the partition key of the table or index
 *     read  -> Query (one sort-key condition joins the key condition, the
 *              other terms become the FilterExpression); without one, or
 *              when a filter term names a key attribute -> Scan with the
 *              whole WHERE as FilterExpression;
 *   INSERT  -> PutItem with attribute_not_exists(partition key): an
 *              existing item is DuplicateItemException;
 *   UPDATE  -> UpdateItem on the key the WHERE's equalities give, the
 *              other terms and attribute_exists(partition key) as its
 *              ConditionExpression (PartiQL's UPDATE is no upsert);
 *   DELETE  -> DeleteItem, the other terms as its condition;
 *   in a batch or transaction a SELECT names one item -> GetItem /
 *   TransactGetItems, EXISTS(SELECT ...) -> a ConditionCheck.
 * WHERE trees render into expressions over #pN names and :pN values.
 *
 * Refusals use the words of DynamoDB Local's PartiQL front end (its message
 * table) or of recorded DynamoDB answers; the few without a source say
 * "unverified wording".
 *
 * NextToken is the page's LastEvaluatedKey, base64 of its JSON. Each
 * statement of a batch runs inside its own SQLite savepoint, so a failed
 * one leaves nothing behind while the others stay. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/store.h"
#include "ddb.h"
#include "item.h"
#include "partiql.h"

#define KEY_EQUALITY "Where clause does not contain a mandatory equality on all key attributes"
#define DUPLICATE_ITEM "Duplicate primary key exists in table"
/* Both recorded on DynamoDB (a third-party conformance suite's captures). */
#define MULTI_KEY_REFUSED                                                                          \
    "PartiQL statements cannot be executed on tables with multi-attribute HASH keys or "          \
    "multi-attribute RANGE keys."
#define BATCH_NEEDS_KEY                                                                            \
    "Select statements within BatchExecuteStatement must specify the primary key in the where "  \
    "clause."

/* DynamoDB Local's PartiQL front end (its message table) words these. */
#define TX_NEEDS_KEY                                                                               \
    "Select statements within ExecuteTransaction must specify the primary key in the where "     \
    "clause."
#define EXISTS_NEEDS_ITEM "EXISTS() must contain a single item read with additional condition"

/* What a statement is planned for. */
typedef enum context { IN_STATEMENT, IN_BATCH, IN_TRANSACTION } context;

/* --- rendering trees into expressions ---------------------------------------- */

typedef struct render {
    cJSON *names, *values; /* the request's ExpressionAttributeNames / Values */
    int next;              /* counter for #pN / :pN */
    tp_error *err;
} render;

static void render_init(render *rd, tp_error *err)
{
    rd->names = cJSON_CreateObject();
    rd->values = cJSON_CreateObject();
    rd->next = 0;
    rd->err = err;
}

static void render_free(render *rd)
{
    cJSON_Delete(rd->names);
    cJSON_Delete(rd->values);
}

/* Moves the non-empty maps into req. */
static void render_attach(render *rd, cJSON *req)
{
    if (rd->names->child) {
        cJSON_AddItemToObject(req, "ExpressionAttributeNames", rd->names);
        rd->names = cJSON_CreateObject();
    }
    if (rd->values->child) {
        cJSON_AddItemToObject(req, "ExpressionAttributeValues", rd->values);
        rd->values = cJSON_CreateObject();
    }
}

static void put_name(render *rd, const char *name, tp_buf *b)
{
    char key[24];
    snprintf(key, sizeof key, "#p%d", rd->next++);
    cJSON_AddStringToObject(rd->names, key, name);
    tp_buf_puts(b, key);
}

static void put_value(render *rd, const cJSON *v, tp_buf *b)
{
    char key[24];
    snprintf(key, sizeof key, ":p%d", rd->next++);
    cJSON_AddItemToObject(rd->values, key, cJSON_Duplicate(v, 1));
    tp_buf_puts(b, key);
}

static void put_path(render *rd, const pq_node *n, tp_buf *b)
{
    for (size_t i = 0; i < n->npath; i++) {
        if (n->path[i].name) {
            if (i)
                tp_buf_puts(b, ".");
            put_name(rd, n->path[i].name, b);
        } else {
            tp_buf_printf(b, "[%ld]", n->path[i].index);
        }
    }
}

static const char *const cond_funcs[] = {"begins_with", "contains",  "attribute_exists",
                                         "attribute_not_exists", "attribute_type", "size"};
static const char *const update_funcs[] = {"list_append", "if_not_exists"};

static int known(const char *f, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f, list[i]) == 0)
            return 1;
    return 0;
}

/* in_update: the right-hand side of SET (values, paths, + -, list_append,
 * if_not_exists); otherwise a condition. */
static int render_node(render *rd, const pq_node *n, tp_buf *b, int in_update)
{
    switch (n->kind) {
    case PQN_PATH:
        put_path(rd, n, b);
        return 0;
    case PQN_VALUE:
        put_value(rd, n->value, b);
        return 0;
    case PQN_ARITH:
        if (!in_update)
            return tp_fail(rd->err, TP_ERR_VALIDATION,
                           "Unsupported operator in Condition Expression. Operator: %s", n->op);
        if (render_node(rd, n->kids[0], b, 1) != 0)
            return -1;
        tp_buf_printf(b, " %s ", n->op);
        return render_node(rd, n->kids[1], b, 1);
    case PQN_FUNC: {
        int ok = in_update ? known(n->func, update_funcs, 2) : known(n->func, cond_funcs, 6);
        if (!ok) {
            return tp_fail(rd->err, TP_ERR_VALIDATION, "Unrecognized function: %s at %d:%d:%d",
                           n->func, n->line, n->col, n->len);
        }
        static const struct {
            const char *name;
            size_t args;
        } arity[] = {{"begins_with", 2},  {"contains", 2},    {"attribute_exists", 1},
                     {"attribute_not_exists", 1}, {"attribute_type", 2}, {"size", 1},
                     {"list_append", 2},  {"if_not_exists", 2}};
        for (size_t i = 0; i < sizeof arity / sizeof arity[0]; i++)
            if (strcmp(arity[i].name, n->func) == 0 && arity[i].args != n->nkids)
                return tp_fail(rd->err, TP_ERR_VALIDATION,
                               "Incorrect number of operands for operator or function; operator "
                               "or function: %s, number of operands: %zu",
                               n->func, n->nkids);
        tp_buf_printf(b, "%s(", n->func);
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                tp_buf_puts(b, ", ");
            if (render_node(rd, n->kids[i], b, in_update) != 0)
                return -1;
        }
        tp_buf_puts(b, ")");
        return 0;
    }
    default:
        break;
    }
    if (in_update)
    {
        if (n->kind == PQN_IS)
            return tp_fail(rd->err, TP_ERR_VALIDATION,
                           "IS operator is not supported in update expressions");
        static const char *const ops[] = {"", "", "", "BETWEEN", "IN", "AND", "OR", "NOT"};
        return tp_fail(rd->err, TP_ERR_VALIDATION,
                       "Unsupported operator in Update Expression. Operator: %s",
                       n->kind == PQN_CMP ? n->op : n->kind < 8 ? ops[n->kind] : "?");
    }
    switch (n->kind) {
    case PQN_CMP:
        tp_buf_puts(b, "(");
        if (render_node(rd, n->kids[0], b, 0) != 0)
            return -1;
        tp_buf_printf(b, " %s ", n->op);
        if (render_node(rd, n->kids[1], b, 0) != 0)
            return -1;
        tp_buf_puts(b, ")");
        return 0;
    case PQN_BETWEEN:
        tp_buf_puts(b, "(");
        if (render_node(rd, n->kids[0], b, 0) != 0)
            return -1;
        tp_buf_puts(b, " BETWEEN ");
        if (render_node(rd, n->kids[1], b, 0) != 0)
            return -1;
        tp_buf_puts(b, " AND ");
        if (render_node(rd, n->kids[2], b, 0) != 0)
            return -1;
        tp_buf_puts(b, ")");
        return 0;
    case PQN_IN:
        tp_buf_puts(b, "(");
        if (render_node(rd, n->kids[0], b, 0) != 0)
            return -1;
        tp_buf_puts(b, " IN (");
        for (size_t i = 1; i < n->nkids; i++) {
            if (i > 1)
                tp_buf_puts(b, ", ");
            if (render_node(rd, n->kids[i], b, 0) != 0)
                return -1;
        }
        tp_buf_puts(b, "))");
        return 0;
    case PQN_AND:
    case PQN_OR:
        tp_buf_puts(b, "(");
        for (size_t i = 0; i < n->nkids; i++) {
            if (i)
                tp_buf_puts(b, n->kind == PQN_AND ? " AND " : " OR ");
            if (render_node(rd, n->kids[i], b, 0) != 0)
                return -1;
        }
        tp_buf_puts(b, ")");
        return 0;
    case PQN_NOT:
        tp_buf_puts(b, "(NOT ");
        if (render_node(rd, n->kids[0], b, 0) != 0)
            return -1;
        tp_buf_puts(b, ")");
        return 0;
    case PQN_IS: {
        const pq_node *p = n->kids[0];
        if (p->kind != PQN_PATH)
            return tp_fail(rd->err, TP_ERR_VALIDATION,
                           "The left hand side argument to IS must be a Variable Reference, "
                           "Literal, or Path");
        int neg = strncmp(n->op, "NOT ", 4) == 0;
        const char *what = n->op + (neg ? 4 : 0);
        if (strcmp(what, "MISSING") == 0) {
            tp_buf_puts(b, neg ? "attribute_exists(" : "attribute_not_exists(");
            put_path(rd, p, b);
            tp_buf_puts(b, ")");
            return 0;
        }
        /* PartiQL: a missing attribute IS NULL too. */
        cJSON *null_type = cJSON_CreateObject();
        cJSON_AddStringToObject(null_type, "S", "NULL");
        tp_buf_puts(b, neg ? "(attribute_exists(" : "(attribute_not_exists(");
        put_path(rd, p, b);
        tp_buf_puts(b, neg ? ") AND NOT attribute_type(" : ") OR attribute_type(");
        put_path(rd, p, b);
        tp_buf_puts(b, ", ");
        put_value(rd, null_type, b);
        tp_buf_puts(b, "))");
        cJSON_Delete(null_type);
        return 0;
    }
    default:
        /* unverified wording */
        return tp_fail(rd->err, TP_ERR_VALIDATION, PQ_MALFORMED "Unsupported expression");
    }
}

/* Renders terms joined by AND into *text (caller frees); NULL when none. */
static int render_terms(render *rd, pq_node **terms, size_t n, char **text)
{
    *text = NULL;
    if (n == 0)
        return 0;
    tp_buf b;
    tp_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (i)
            tp_buf_puts(&b, " AND ");
        if (render_node(rd, terms[i], &b, 0) != 0) {
            tp_buf_free(&b);
            return -1;
        }
    }
    *text = strdup(b.data ? (const char *)b.data : "");
    tp_buf_free(&b);
    return 0;
}

static int names_attr(const pq_node *n, const char *attr)
{
    if (!attr || !attr[0])
        return 0;
    if (n->kind == PQN_PATH)
        return n->path[0].name && strcmp(n->path[0].name, attr) == 0;
    for (size_t i = 0; i < n->nkids; i++)
        if (names_attr(n->kids[i], attr))
            return 1;
    return 0;
}

/* --- keys -------------------------------------------------------------------- */

/* The value compared by equality with attr in term ("attr = v" or
 * "v = attr"), or NULL. */
static const cJSON *equality_on(const pq_node *term, const char *attr)
{
    if (term->kind != PQN_CMP || strcmp(term->op, "=") != 0)
        return NULL;
    if (pq_is_attr(term->kids[0], attr) && term->kids[1]->kind == PQN_VALUE)
        return term->kids[1]->value;
    if (pq_is_attr(term->kids[1], attr) && term->kids[0]->kind == PQN_VALUE)
        return term->kids[0]->value;
    return NULL;
}

/* Splits a write's WHERE into the Key (an equality on every key attribute
 * of the table) and the other terms (*rest, borrowed; caller frees the
 * array). */
static int split_key(const ddb_table *t, pq_node *where, cJSON **key, pq_node ***rest,
                     size_t *nrest, tp_error *err)
{
    pq_node **terms;
    size_t n = pq_conjuncts(where, &terms);
    *key = cJSON_CreateObject();
    *rest = calloc(n ? n : 1, sizeof **rest);
    *nrest = 0;
    int have_h = 0, have_r = !t->range.name[0], rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const cJSON *v;
        const char *again = (have_h && equality_on(terms[i], t->hash.name))    ? t->hash.name
                            : (t->range.name[0] && have_r && equality_on(terms[i], t->range.name))
                                ? t->range.name
                                : NULL;
        if (again) {
            rc = tp_fail(err, TP_ERR_VALIDATION,
                         "Multiple conditions on same key %s. Only single item "
                         "Update/Insert/Delete are supported",
                         again);
        } else if (!have_h && (v = equality_on(terms[i], t->hash.name))) {
            cJSON_AddItemToObject(*key, t->hash.name, cJSON_Duplicate(v, 1));
            have_h = 1;
        } else if (!have_r && (v = equality_on(terms[i], t->range.name))) {
            cJSON_AddItemToObject(*key, t->range.name, cJSON_Duplicate(v, 1));
            have_r = 1;
        } else if (terms[i]->nkids && pq_is_attr(terms[i]->kids[0], t->hash.name) &&
                   terms[i]->kind != PQN_AND && terms[i]->kind != PQN_OR) {
            rc = tp_fail(err, TP_ERR_VALIDATION,
                         "Only single equality condition should be present on hash key %s",
                         t->hash.name);
        } else {
            (*rest)[(*nrest)++] = terms[i];
        }
    }
    free(terms);
    if (rc != 0 || !have_h || !have_r) {
        cJSON_Delete(*key);
        *key = NULL;
        free(*rest);
        *rest = NULL;
        return rc != 0 ? rc : tp_fail(err, TP_ERR_VALIDATION, "%s", KEY_EQUALITY);
    }
    return 0;
}

/* --- statement -> request ---------------------------------------------------- */

typedef enum op_kind { OP_QUERY, OP_SCAN, OP_GET, OP_PUT, OP_UPDATE, OP_DELETE, OP_CHECK } op_kind;

typedef struct plan {
    op_kind op;
    cJSON *req;        /* the action's request (TableName, ...) */
    const pq_stmt *st; /* for the projection */
    int64_t table_id;
    cJSON *target;     /* single-item statements: the item's key (owned) */
    const pq_node *in; /* SELECT with partition key IN (...): one Query per value */
    int global;        /* SELECT from a global secondary index */
} plan;

static void plan_release(plan *pl)
{
    cJSON_Delete(pl->req);
    cJSON_Delete(pl->target);
    memset(pl, 0, sizeof *pl);
}

/* The key of the item a planned statement names, hash then range. */
static void plan_target(plan *pl, const ddb_table *t)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(pl->req, pl->op == OP_PUT ? "Item" : "Key");
    if (!src)
        return;
    pl->target = cJSON_CreateObject();
    const char *names[2] = {t->hash.name, t->range.name};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = names[i][0] ? cJSON_GetObjectItemCaseSensitive(src, names[i]) : NULL;
        if (v)
            cJSON_AddItemToObject(pl->target, names[i], cJSON_Duplicate(v, 1));
    }
}

/* 1 when two planned statements name the same item. */
static int same_target(const plan *a, const plan *b)
{
    if (!a->target || !b->target || a->table_id != b->table_id)
        return 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a->target)
    {
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(b->target, x->string);
        if (!y || !ddb_attr_equal(x, y))
            return 0;
    }
    return cJSON_GetArraySize(a->target) == cJSON_GetArraySize(b->target);
}

static int check_returning(const pq_stmt *st, tp_error *err)
{
    if (st->kind == PQ_DELETE && st->returning && strcmp(st->returning, "ALL_OLD") != 0)
        /* DynamoDB Local's wording */
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid returning clause: RETURNING %s *. Only RETURNING ALL OLD * is "
                       "allowed in DELETE statements.",
                       st->returning_text);
    return 0;
}

static int plan_insert(const ddb_table *t, const pq_stmt *st, cJSON *req, tp_error *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(st->item->value, "M");
    if (!cJSON_IsObject(m))
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Unsupported format in item expression. Please use struct format {...} to "
                       "express item values for insert statement.");
    const ddb_keydef *keys[2] = {&t->hash, &t->range};
    for (int i = 0; i < 2; i++) {
        if (!keys[i]->name[0])
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, keys[i]->name);
        const char *ty = v ? ddb_attr_type(v) : NULL;
        if (!v)
            return tp_fail(err, TP_ERR_VALIDATION, "Key attribute should be present in the item: Key %s",
                           keys[i]->name);
        if (!ty || strlen(ty) != 1 || ty[0] != keys[i]->type)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "Key attribute's data type should match its data type in table's "
                           "schema: Key %s",
                           keys[i]->name);
    }
    cJSON_AddItemToObject(req, "Item", cJSON_Duplicate(m, 1));
    cJSON_AddStringToObject(req, "ConditionExpression", "attribute_not_exists(#pk)");
    cJSON *names = cJSON_AddObjectToObject(req, "ExpressionAttributeNames");
    cJSON_AddStringToObject(names, "#pk", t->hash.name);
    return 0;
}

static int same_path(const pq_node *a, const pq_node *b)
{
    if (a->kind != PQN_PATH || b->kind != PQN_PATH || a->npath != b->npath)
        return 0;
    for (size_t i = 0; i < a->npath; i++) {
        const pq_elem *x = &a->path[i], *y = &b->path[i];
        if (!x->name != !y->name || (x->name ? strcmp(x->name, y->name) != 0 : x->index != y->index))
            return 0;
    }
    return 1;
}

/* UPDATE's actions as one UpdateExpression: SET ..., ADD ..., DELETE ...,
 * REMOVE ... (set_add / set_delete on the target become ADD / DELETE). */
static int update_expression(render *rd, const pq_stmt *st, tp_buf *out)
{
    static const char *const clause[] = {"SET", "ADD", "DELETE", "REMOVE"};
    tp_buf part[4];
    for (int k = 0; k < 4; k++)
        tp_buf_init(&part[k]);
    int rc = 0;
    for (size_t i = 0; i < st->nsets && rc == 0; i++) {
        const pq_set *s = &st->sets[i];
        const pq_node *v = s->value;
        int k = !v ? 3 : 0;
        if (v && v->kind == PQN_FUNC &&
            (strcmp(v->func, "set_add") == 0 || strcmp(v->func, "set_delete") == 0)) {
            k = strcmp(v->func, "set_add") == 0 ? 1 : 2;
            const char *op = k == 1 ? "ADD" : "DELETE";
            const char *ty = v->nkids == 2 && v->kids[1]->kind == PQN_VALUE
                                 ? ddb_attr_type(v->kids[1]->value)
                                 : NULL;
            /* DynamoDB names the function's place, or for the second
             * argument the first's (recorded). */
            if (v->nkids != 2)
                rc = tp_fail(rd->err, TP_ERR_VALIDATION,
                             "SET_%s must have exactly two arguments at %d:%d:%d", op, v->line,
                             v->col, v->len);
            else if (!same_path(v->kids[0], s->target))
                rc = tp_fail(rd->err, TP_ERR_VALIDATION,
                             "The first argument to SET_%s must equal the assignment value at "
                             "%d:%d:%d",
                             op, v->line, v->col, v->len);
            else if (!ty || strlen(ty) != 2 || ty[1] != 'S')
                rc = tp_fail(rd->err, TP_ERR_VALIDATION,
                             "The second argument to SET_%s must be a value with type SET at "
                             "%d:%d:%d",
                             op, v->kids[0]->line, v->kids[0]->col, v->kids[0]->len);
            if (rc != 0)
                break;
        }
        tp_buf *b = &part[k];
        tp_buf_puts(b, b->len ? ", " : "");
        put_path(rd, s->target, b);
        if (k == 0) {
            tp_buf_puts(b, " = ");
            rc = render_node(rd, v, b, 1);
        } else if (k != 3) {
            tp_buf_puts(b, " ");
            put_value(rd, v->kids[1]->value, b);
        }
    }
    for (int k = 0; k < 4; k++) {
        if (rc == 0 && part[k].len)
            tp_buf_printf(out, "%s%s %s", out->len ? " " : "", clause[k],
                          (const char *)part[k].data);
        tp_buf_free(&part[k]);
    }
    return rc;
}

/* UPDATE / DELETE / EXISTS: the key from WHERE, the rest as condition. */
static int plan_keyed(const ddb_table *t, const pq_stmt *st, context ctx, cJSON *req,
                      tp_error *err)
{
    cJSON *key;
    pq_node **rest;
    size_t nrest;
    /* A read of one item names exactly its key (with one more condition
     * for EXISTS). */
    const char *read_rule = st->kind == PQ_EXISTS ? EXISTS_NEEDS_ITEM
                            : ctx == IN_BATCH    ? BATCH_NEEDS_KEY
                                                 : TX_NEEDS_KEY;
    int reads = st->kind == PQ_SELECT || st->kind == PQ_EXISTS;
    if (split_key(t, st->where, &key, &rest, &nrest, err) != 0)
        return reads ? tp_fail(err, TP_ERR_VALIDATION, "%s", read_rule) : -1;
    cJSON_AddItemToObject(req, "Key", key);
    render rd;
    render_init(&rd, err);
    char *cond = NULL;
    tp_buf b;
    tp_buf_init(&b);
    int rc = render_terms(&rd, rest, nrest, &cond);
    if (rc == 0 && st->kind == PQ_UPDATE) {
        rc = update_expression(&rd, st, &b);
        if (rc == 0)
            cJSON_AddStringToObject(req, "UpdateExpression", (const char *)b.data);
        /* PartiQL's UPDATE changes an existing item only. */
        tp_buf c;
        tp_buf_init(&c);
        tp_buf_puts(&c, "attribute_exists(");
        char key_name[24];
        snprintf(key_name, sizeof key_name, "#p%d", rd.next++);
        cJSON_AddStringToObject(rd.names, key_name, t->hash.name);
        tp_buf_printf(&c, "%s)%s%s", key_name, cond ? " AND " : "", cond ? cond : "");
        free(cond);
        cond = strdup((const char *)c.data);
        tp_buf_free(&c);
    }
    if (rc == 0 && ((st->kind == PQ_SELECT && nrest) || (st->kind == PQ_EXISTS && !cond)))
        rc = tp_fail(err, TP_ERR_VALIDATION, "%s", read_rule);
    if (rc == 0 && cond)
        cJSON_AddStringToObject(req, "ConditionExpression", cond);
    if (rc == 0)
        render_attach(&rd, req);
    if (rc == 0 && st->returning)
        cJSON_AddStringToObject(req, "ReturnValues", st->returning);
    free(cond);
    tp_buf_free(&b);
    render_free(&rd);
    free(rest);
    return rc;
}

/* The key schema a SELECT reads: the table's or its index's. An index
 * keyed on several HASH or RANGE attributes cannot be read by PartiQL. */
static int read_schema(const ddb_table *t, const char *index, const char **hash,
                       const char **range, tp_error *err)
{
    *hash = t->hash.name;
    *range = t->range.name;
    if (!index)
        return 0;
    static const char *const kinds[] = {"GlobalSecondaryIndexes", "LocalSecondaryIndexes"};
    for (int k = 0; k < 2; k++) {
        const cJSON *idx;
        cJSON_ArrayForEach(idx, cJSON_GetObjectItemCaseSensitive(t->desc, kinds[k]))
        {
            const char *n = tp_json_str(idx, "IndexName");
            if (!n || strcmp(n, index) != 0)
                continue;
            *range = "";
            int nh = 0, nr = 0;
            const cJSON *ks;
            cJSON_ArrayForEach(ks, cJSON_GetObjectItemCaseSensitive(idx, "KeySchema"))
            {
                const char *a = tp_json_str(ks, "AttributeName"), *ty = tp_json_str(ks, "KeyType");
                if (a && ty && strcmp(ty, "HASH") == 0) {
                    *hash = a;
                    nh++;
                } else if (a && ty) {
                    *range = a;
                    nr++;
                }
            }
            if (nh > 1 || nr > 1)
                return tp_fail(err, TP_ERR_VALIDATION, "%s", MULTI_KEY_REFUSED);
            return 0;
        }
    }
    return 0; /* Query/Scan report the missing index */
}

/* A term the key condition can take for the sort key, or 0. */
static int range_term(const pq_node *term, const char *range)
{
    if (!range[0])
        return 0;
    if (term->kind == PQN_CMP && strcmp(term->op, "<>") != 0)
        return pq_is_attr(term->kids[0], range) && term->kids[1]->kind == PQN_VALUE;
    if (term->kind == PQN_BETWEEN)
        return pq_is_attr(term->kids[0], range) && term->kids[1]->kind == PQN_VALUE &&
               term->kids[2]->kind == PQN_VALUE;
    if (term->kind == PQN_FUNC && strcmp(term->func, "begins_with") == 0 && term->nkids == 2)
        return pq_is_attr(term->kids[0], range) && term->kids[1]->kind == PQN_VALUE;
    return 0;
}

/* A GSI answers only what it projects: the listed attributes outside its
 * projection, in statement order, are refused (recorded on DynamoDB). */
static int check_projected(const ddb_table *t, const cJSON *gsi, const pq_stmt *st, tp_error *err)
{
    const cJSON *proj = cJSON_GetObjectItemCaseSensitive(gsi, "Projection");
    const char *type = tp_json_str(proj, "ProjectionType");
    if (!type || strcmp(type, "ALL") == 0 || st->nproj == 0)
        return 0;
    tp_buf missing;
    tp_buf_init(&missing);
    for (size_t i = 0; i < st->nproj; i++) {
        const char *name = st->proj[i]->path[0].name;
        int has = strcmp(name, t->hash.name) == 0 || strcmp(name, t->range.name) == 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(gsi, "KeySchema"))
            has |= tp_json_str(e, "AttributeName") &&
                   strcmp(tp_json_str(e, "AttributeName"), name) == 0;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(proj, "NonKeyAttributes"))
            has |= cJSON_IsString(e) && strcmp(e->valuestring, name) == 0;
        if (!has)
            tp_buf_printf(&missing, "%s%s", missing.len ? ", " : "", name);
    }
    int rc = 0;
    if (missing.len)
        rc = tp_fail(err, TP_ERR_VALIDATION,
                     "One or more parameter values were invalid: Global secondary index %s does "
                     "not project [%s]",
                     st->index, (const char *)missing.data);
    tp_buf_free(&missing);
    return rc;
}

/* partition key IN (values): one Query per value. */
static int key_in_list(const pq_node *term, const char *hash)
{
    if (term->kind != PQN_IN || !pq_is_attr(term->kids[0], hash) || term->nkids < 2)
        return 0;
    for (size_t i = 1; i < term->nkids; i++)
        if (term->kids[i]->kind != PQN_VALUE)
            return 0;
    return 1;
}

#define IN_VALUE ":pin"

static int plan_select(const ddb_table *t, const pq_stmt *st, plan *pl, tp_error *err)
{
    const char *hash, *range;
    if (read_schema(t, st->index, &hash, &range, err) != 0)
        return -1;
    const cJSON *g, *gsi = NULL;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(t->desc, "GlobalSecondaryIndexes"))
    {
        const char *gn = tp_json_str(g, "IndexName");
        if (st->index && gn && strcmp(gn, st->index) == 0)
            gsi = g;
    }
    pl->global = gsi != NULL;
    if (gsi && check_projected(t, gsi, st, err) != 0)
        return -1;
    if (st->index)
        cJSON_AddStringToObject(pl->req, "IndexName", st->index);
    /* An LSI read reaches the base item for attributes outside the index's
     * projection (as DynamoDB does); the projection is applied here. */
    if (st->index && !gsi && st->nproj)
        cJSON_AddStringToObject(pl->req, "Select", "ALL_ATTRIBUTES");
    pq_node **terms;
    size_t n = pq_conjuncts(st->where, &terms);
    pq_node **rest = calloc(n ? n : 1, sizeof *rest);
    size_t nrest = 0;
    pq_node *hterm = NULL, *rterm = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!hterm && (equality_on(terms[i], hash) || key_in_list(terms[i], hash)))
            hterm = terms[i];
        else if (!rterm && range_term(terms[i], range))
            rterm = terms[i];
        else
            rest[nrest++] = terms[i];
    }
    int query = hterm != NULL;
    for (size_t i = 0; query && i < nrest; i++)
        if (names_attr(rest[i], hash) || names_attr(rest[i], range) ||
            names_attr(rest[i], t->hash.name) || names_attr(rest[i], t->range.name))
            query = 0;
    render rd;
    render_init(&rd, err);
    char *kce = NULL, *filter = NULL;
    int rc = 0;
    if (st->order && !st->where)
        rc = tp_fail(err, TP_ERR_VALIDATION,
                     "Must have WHERE clause in the statement when using ORDER BY clause.");
    else if (st->order && !query)
        rc = tp_fail(err, TP_ERR_VALIDATION,
                     "Must have at least one non-optional hash key condition in WHERE clause when "
                     "using ORDER BY clause.");
    else if (st->order && !(pq_is_attr(st->order, range) || pq_is_attr(st->order, hash)))
        rc = tp_fail(err, TP_ERR_VALIDATION,
                     "Variable reference %s in ORDER BY clause must be part of the primary key",
                     st->order->path[0].name);
    /* At most 50 partition key values (DynamoDB's documented limit; DynamoDB
     * Local's words). */
    if (rc == 0 && query && hterm->kind == PQN_IN && hterm->nkids - 1 > 50)
        rc = tp_fail(err, TP_ERR_VALIDATION, "Too many decomposed read operations for a given query.");
    if (rc == 0 && query && hterm->kind == PQN_IN) {
        /* The key condition names :pin, set per Query (run_select). */
        pl->in = hterm;
        tp_buf b;
        tp_buf_init(&b);
        tp_buf_puts(&b, "(");
        put_name(&rd, hash, &b);
        tp_buf_puts(&b, " = " IN_VALUE ")");
        char *rtext = NULL;
        rc = rterm ? render_terms(&rd, &rterm, 1, &rtext) : 0;
        if (rtext)
            tp_buf_printf(&b, " AND %s", rtext);
        free(rtext);
        kce = strdup((const char *)b.data);
        tp_buf_free(&b);
        cJSON_AddItemToObject(rd.values, IN_VALUE, cJSON_Duplicate(hterm->kids[1]->value, 1));
    } else if (rc == 0 && query) {
        pq_node *kc[2] = {hterm, rterm};
        rc = render_terms(&rd, kc, rterm ? 2 : 1, &kce);
    }
    if (rc == 0)
        rc = query ? render_terms(&rd, rest, nrest, &filter) : render_terms(&rd, terms, n, &filter);
    if (rc == 0) {
        pl->op = query ? OP_QUERY : OP_SCAN;
        if (kce)
            cJSON_AddStringToObject(pl->req, "KeyConditionExpression", kce);
        if (filter)
            cJSON_AddStringToObject(pl->req, "FilterExpression", filter);
        if (st->order && st->order_desc && pq_is_attr(st->order, range))
            cJSON_AddFalseToObject(pl->req, "ScanIndexForward");
        render_attach(&rd, pl->req);
    }
    free(kce);
    free(filter);
    render_free(&rd);
    free(rest);
    free(terms);
    return rc;
}

/* Builds pl for st. In a batch or transaction the statement must name one
 * item. */
static int plan_statement(tp_req *r, const pq_stmt *st, context ctx, plan *pl, tp_error *err)
{
    int single = ctx != IN_STATEMENT;
    memset(pl, 0, sizeof *pl);
    pl->st = st;
    if (check_returning(st, err) != 0)
        return -1;
    if (st->kind == PQ_EXISTS && ctx != IN_TRANSACTION)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "EXISTS can only be used in ExecuteTransaction write requests.");
    if (st->index && ctx == IN_TRANSACTION)
        return tp_fail(err, TP_ERR_VALIDATION, "%s",
                       st->kind == PQ_SELECT ? "Reads on indices are not supported within transactions."
                                             : "Operations on indices are not supported in transactions");
    if (st->index && st->kind != PQ_SELECT)
        return tp_fail(err, TP_ERR_VALIDATION, "This operation is not supported on an index");
    ddb_table t;
    if (ddb_load_active(r, st->table, &t, err) != 0)
        return -1;
    pl->req = cJSON_CreateObject();
    cJSON_AddStringToObject(pl->req, "TableName", st->table);
    int rc;
    switch (st->kind) {
    case PQ_SELECT:
        if (single) {
            const char *h, *rn;
            pl->op = OP_GET;
            rc = read_schema(&t, st->index, &h, &rn, err);
            if (rc == 0 && st->index)
                rc = tp_fail(err, TP_ERR_VALIDATION, "%s", BATCH_NEEDS_KEY);
            if (rc == 0)
                rc = plan_keyed(&t, st, ctx, pl->req, err);
        } else {
            rc = plan_select(&t, st, pl, err);
        }
        break;
    case PQ_INSERT:
        pl->op = OP_PUT;
        rc = plan_insert(&t, st, pl->req, err);
        break;
    case PQ_UPDATE:
        pl->op = OP_UPDATE;
        rc = plan_keyed(&t, st, ctx, pl->req, err);
        break;
    case PQ_DELETE:
        pl->op = OP_DELETE;
        rc = plan_keyed(&t, st, ctx, pl->req, err);
        break;
    case PQ_EXISTS:
    default:
        pl->op = OP_CHECK;
        rc = plan_keyed(&t, st, ctx, pl->req, err);
        break;
    }
    pl->table_id = t.id;
    if (rc == 0 && single)
        plan_target(pl, &t);
    ddb_table_release(&t);
    if (rc != 0)
        plan_release(pl);
    return rc;
}

/* --- running ----------------------------------------------------------------- */

/* The expressions are tidepool's rendering, not the caller's: an error
 * about one loses the name of the request member ("Invalid
 * FilterExpression: ", "ExpressionAttributeValues contains invalid value:
 * ... for key :p1"), as DynamoDB's PartiQL errors show none. */
static int plain_error(int rc, tp_error *err)
{
    if (rc == 0 || !tp_error_is(err, TP_ERR_VALIDATION))
        return rc;
    static const char *const prefixes[] = {
        "Invalid ConditionExpression: ", "Invalid FilterExpression: ",
        "Invalid KeyConditionExpression: ", "Invalid UpdateExpression: ",
        "Invalid ProjectionExpression: ", "ExpressionAttributeValues contains invalid value: "};
    char *m = err->message;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(m, prefixes[i], n) != 0)
            continue;
        memmove(m, m + n, strlen(m + n) + 1);
        if (i == 5) {
            char *tail = strstr(m, " for key :p");
            if (tail)
                *tail = 0;
        }
        break;
    }
    return rc;
}

static int run_action(tp_req *r, const plan *pl, cJSON **out, tp_error *err)
{
    switch (pl->op) {
    case OP_QUERY:
        return ddb_query(r, pl->req, out, err);
    case OP_SCAN:
        return ddb_scan(r, pl->req, out, err);
    case OP_GET:
        return ddb_get_item(r, pl->req, out, err);
    case OP_PUT: {
        int rc = ddb_put_item(r, pl->req, out, err);
        if (rc != 0 && tp_error_is(err, TP_ERR_CONDITIONAL_CHECK_FAILED)) {
            cJSON_Delete(r->error_fields);
            r->error_fields = NULL;
            tp_fail(err, TP_ERR_DUPLICATE_ITEM, "%s", DUPLICATE_ITEM);
        }
        return rc;
    }
    case OP_UPDATE:
        return ddb_update_item(r, pl->req, out, err);
    case OP_DELETE:
        return ddb_delete_item(r, pl->req, out, err);
    case OP_CHECK:
    default:
        return tp_fail(err, TP_ERR_INTERNAL, "EXISTS outside a transaction");
    }
}

static int run_plan(tp_req *r, const plan *pl, cJSON **out, tp_error *err)
{
    return plain_error(run_action(r, pl, out, err), err);
}

/* The value at a path of an item, or NULL. */
static const cJSON *resolve(const cJSON *item, const pq_node *p)
{
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(item, p->path[0].name);
    for (size_t i = 1; cur && i < p->npath; i++) {
        if (p->path[i].name) {
            cur = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cur, "M"),
                                                   p->path[i].name);
        } else {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(cur, "L");
            cur = cJSON_IsArray(l) ? cJSON_GetArrayItem(l, (int)p->path[i].index) : NULL;
        }
    }
    return cur;
}

/* SELECT's projection: each path's value under its last name (with the
 * list indexes after it), as DynamoDB's PartiQL answers nested paths. */
static cJSON *project(const pq_stmt *st, const cJSON *item)
{
    if (st->nproj == 0)
        return cJSON_Duplicate(item, 1);
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < st->nproj; i++) {
        const pq_node *p = st->proj[i];
        const cJSON *v = resolve(item, p);
        if (!v)
            continue;
        size_t last = 0;
        for (size_t j = 0; j < p->npath; j++)
            if (p->path[j].name)
                last = j;
        tp_buf k;
        tp_buf_init(&k);
        tp_buf_puts(&k, p->path[last].name);
        for (size_t j = last + 1; j < p->npath; j++)
            tp_buf_printf(&k, "[%ld]", p->path[j].index);
        if (!cJSON_GetObjectItemCaseSensitive(o, (const char *)k.data))
            cJSON_AddItemToObject(o, (const char *)k.data, cJSON_Duplicate(v, 1));
        tp_buf_free(&k);
    }
    return o;
}

static void copy_member(cJSON *to, const cJSON *from, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(from, name);
    if (m)
        cJSON_AddItemToObject(to, name, cJSON_Duplicate(m, 1));
}

static void pass_through(cJSON *req, const cJSON *in, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(in, name);
    if (m && !cJSON_IsNull(m))
        cJSON_AddItemToObject(req, name, cJSON_Duplicate(m, 1));
}

/* NextToken: base64 of {"h": the request's fingerprint, "i": which
 * partition key of an IN list, "k": the LastEvaluatedKey to go on from
 * (absent: from the start of it)}. A token belongs to its statement and
 * parameters. */
static void fingerprint(const cJSON *in, char out[17])
{
    char *params = tp_json_print(cJSON_GetObjectItemCaseSensitive(in, "Parameters"));
    tp_buf b;
    tp_buf_init(&b);
    tp_buf_printf(&b, "%s\n%s", tp_json_str(in, "Statement") ? tp_json_str(in, "Statement") : "",
                  params ? params : "");
    char hex[65];
    tp_sha256_hex(b.data ? (const char *)b.data : "", b.len, hex);
    memcpy(out, hex, 16);
    out[16] = 0;
    tp_buf_free(&b);
    free(params);
}

static int decode_token(const cJSON *in, const char *token, int64_t *index, cJSON **key,
                        tp_error *err)
{
    tp_buf raw;
    tp_buf_init(&raw);
    *key = NULL;
    *index = 0;
    cJSON *t = NULL;
    if (tp_base64_decode(token, strlen(token), &raw) == 0 && raw.len)
        t = tp_json_parse((const char *)raw.data, raw.len);
    tp_buf_free(&raw);
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(t, "i");
    cJSON *k = cJSON_GetObjectItemCaseSensitive(t, "k");
    const char *h = tp_json_str(t, "h");
    if (!cJSON_IsNumber(i) || i->valuedouble < 0 || (k && !cJSON_IsObject(k)) || !h) {
        cJSON_Delete(t);
        return tp_fail(err, TP_ERR_VALIDATION, "Invalid NextToken");
    }
    char mine[17];
    fingerprint(in, mine);
    if (strcmp(h, mine) != 0) {
        cJSON_Delete(t);
        return tp_fail(err, TP_ERR_VALIDATION, "NextToken does not match request");
    }
    *index = (int64_t)i->valuedouble;
    if (k)
        *key = cJSON_DetachItemViaPointer(t, k);
    cJSON_Delete(t);
    return 0;
}

static void add_token(cJSON *out, const cJSON *in, int64_t index, const cJSON *lek)
{
    cJSON *t = cJSON_CreateObject();
    char h[17];
    fingerprint(in, h);
    cJSON_AddStringToObject(t, "h", h);
    tp_json_add_int(t, "i", index);
    if (lek)
        cJSON_AddItemToObject(t, "k", cJSON_Duplicate(lek, 1));
    char *text = tp_json_print(t);
    cJSON_Delete(t);
    tp_buf b;
    tp_buf_init(&b);
    if (text && tp_base64_encode(text, strlen(text), &b) == 0 && b.data)
        cJSON_AddStringToObject(out, "NextToken", (const char *)b.data);
    tp_buf_free(&b);
    free(text);
}

static void merge_consumed(cJSON *list, const cJSON *cc);

/* A SELECT as Query or Scan: one page, or with an IN list on the partition
 * key one Query per value, in the order given, until Limit items were read
 * or a Query stopped inside its partition. */
static int run_select(tp_req *r, const plan *pl, const cJSON *in, cJSON **out, tp_error *err)
{
    int64_t idx = 0, limit = tp_json_int(in, "Limit", 0), read = 0;
    cJSON *esk = NULL;
    const char *token = tp_json_str(in, "NextToken");
    if (token && decode_token(in, token, &idx, &esk, err) != 0)
        return -1;
    int64_t nkeys = pl->in ? (int64_t)pl->in->nkids - 1 : 1;
    cJSON *items = cJSON_CreateArray(), *cc = cJSON_CreateArray(), *lek = NULL;
    int rc = 0, more = 0;
    for (; idx < nkeys; idx++) {
        cJSON *req = cJSON_Duplicate(pl->req, 1), *res = NULL;
        if (pl->in)
            cJSON_ReplaceItemInObjectCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(req, "ExpressionAttributeValues"), IN_VALUE,
                cJSON_Duplicate(pl->in->kids[idx + 1]->value, 1));
        if (esk) {
            cJSON_AddItemToObject(req, "ExclusiveStartKey", esk);
            esk = NULL;
        }
        if (limit > 0)
            cJSON_AddNumberToObject(req, "Limit", (double)(limit - read));
        rc = plain_error(pl->op == OP_QUERY ? ddb_query(r, req, &res, err)
                                            : ddb_scan(r, req, &res, err),
                         err);
        cJSON_Delete(req);
        if (rc != 0)
            break;
        const cJSON *it;
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(res, "Items"))
            cJSON_AddItemToArray(items, project(pl->st, it));
        read += tp_json_int(res, "ScannedCount", 0);
        merge_consumed(cc, cJSON_GetObjectItemCaseSensitive(res, "ConsumedCapacity"));
        cJSON *l = cJSON_DetachItemFromObjectCaseSensitive(res, "LastEvaluatedKey");
        cJSON_Delete(res);
        if (l) {
            lek = l;
            more = 1;
            break;
        }
        if (limit > 0 && read >= limit && idx + 1 < nkeys) {
            idx++;
            more = 1;
            break;
        }
    }
    cJSON_Delete(esk);
    if (rc == 0) {
        *out = cJSON_CreateObject();
        cJSON_AddItemToObject(*out, "Items", items);
        items = NULL;
        if (more)
            add_token(*out, in, idx, lek);
        if (lek) {
            cJSON_AddItemToObject(*out, "LastEvaluatedKey", lek);
            lek = NULL;
        }
        if (cc->child)
            cJSON_AddItemToObject(*out, "ConsumedCapacity", cJSON_DetachItemViaPointer(cc, cc->child));
    }
    cJSON_Delete(lek);
    cJSON_Delete(items);
    cJSON_Delete(cc);
    return rc;
}

/* The Items a single-item statement's result shows (SELECT: projected;
 * writes: the RETURNING attributes). */
static cJSON *result_items(const plan *pl, const cJSON *res)
{
    cJSON *items = cJSON_CreateArray();
    const cJSON *it;
    if (pl->op == OP_GET) {
        it = cJSON_GetObjectItemCaseSensitive(res, "Item");
        if (it)
            cJSON_AddItemToArray(items, project(pl->st, it));
    } else {
        it = cJSON_GetObjectItemCaseSensitive(res, "Attributes");
        if (it && it->child)
            cJSON_AddItemToArray(items, cJSON_Duplicate(it, 1));
    }
    return items;
}

int ddb_execute_statement(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    pq_stmt *st;
    if (pq_parse(tp_json_str(in, "Statement"), cJSON_GetObjectItemCaseSensitive(in, "Parameters"),
                 &st, err) != 0)
        return -1;
    plan pl;
    if (plan_statement(r, st, IN_STATEMENT, &pl, err) != 0) {
        pq_stmt_free(st);
        return -1;
    }
    pass_through(pl.req, in, "ReturnConsumedCapacity");
    int rc;
    if ((pl.op == OP_QUERY || pl.op == OP_SCAN) && pl.global &&
        tp_json_bool(in, "ConsistentRead", 0)) {
        rc = tp_fail(err, TP_ERR_VALIDATION,
                     "Strongly consistent read is not supported on Global Secondary Indexes");
    } else if (pl.op == OP_QUERY || pl.op == OP_SCAN) {
        pass_through(pl.req, in, "ConsistentRead");
        rc = run_select(r, &pl, in, out, err);
    } else {
        pass_through(pl.req, in, "ReturnValuesOnConditionCheckFailure");
        cJSON *res = NULL;
        rc = run_plan(r, &pl, &res, err);
        if (rc == 0) {
            *out = cJSON_CreateObject();
            /* Items: [] without RETURNING too (recorded on DynamoDB). */
            cJSON_AddItemToObject(*out, "Items", result_items(&pl, res));
            copy_member(*out, res, "ConsumedCapacity");
        }
        cJSON_Delete(res);
    }
    plan_release(&pl);
    pq_stmt_free(st);
    return rc;
}

/* --- BatchExecuteStatement ----------------------------------------------------- */

/* BatchStatementErrorCodeEnum for an exception code. */
static void batch_code(const char *code, char *out, size_t cap)
{
    if (strcmp(code, "ValidationException") == 0 || strcmp(code, "ThrottlingException") == 0) {
        snprintf(out, cap, "%.*sError", (int)(strlen(code) - strlen("Exception")), code);
        return;
    }
    size_t n = strlen(code);
    size_t suffix = strlen("Exception");
    if (n > suffix && strcmp(code + n - suffix, "Exception") == 0)
        n -= suffix;
    snprintf(out, cap, "%.*s", (int)n, code);
}

/* Adds the numbers of src into dst (ConsumedCapacity entries of one table). */
static void sum_into(cJSON *dst, const cJSON *src)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, src)
    {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, m->string);
        if (!d) {
            cJSON_AddItemToObject(dst, m->string, cJSON_Duplicate(m, 1));
        } else if (cJSON_IsNumber(d) && cJSON_IsNumber(m)) {
            cJSON_SetNumberValue(d, d->valuedouble + m->valuedouble);
        } else if (cJSON_IsObject(d) && cJSON_IsObject(m)) {
            sum_into(d, m);
        }
    }
}

static void merge_consumed(cJSON *list, const cJSON *cc)
{
    if (!cc)
        return;
    const char *table = tp_json_str(cc, "TableName");
    cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        const char *t = tp_json_str(e, "TableName");
        if (t && table && strcmp(t, table) == 0) {
            cJSON *copy = cJSON_Duplicate(cc, 1);
            cJSON_DeleteItemFromObjectCaseSensitive(copy, "TableName");
            sum_into(e, copy);
            cJSON_Delete(copy);
            return;
        }
    }
    cJSON_AddItemToArray(list, cJSON_Duplicate(cc, 1));
}

/* One statement of a batch: parsed and planned up front (a failure here is
 * the statement's own error), run later. */
typedef struct batch_stmt {
    cJSON *spec;
    pq_stmt *st;
    plan pl;
    int failed;
    tp_error e;
    double attempted; /* write units of a write that ran and failed */
} batch_stmt;

/* The write units a failed write statement costs: the larger of the stored
 * item and the item an INSERT carried, per started KB. */
static double attempted_units(tp_req *r, const batch_stmt *b)
{
    if (b->pl.op == OP_GET || !b->pl.target)
        return 0;
    ddb_table t;
    tp_error e;
    if (ddb_load_active(r, b->st->table, &t, &e) != 0)
        return 0;
    tp_buf hk, rk;
    tp_buf_init(&hk);
    tp_buf_init(&rk);
    cJSON *old = NULL;
    int64_t old_size = 0, new_size = 0;
    if (ddb_key_of_key(&t, b->pl.target, &hk, &rk, &e) == 0)
        ddb_item_read(r, t.id, &hk, &rk, &old, &old_size, &e);
    if (b->pl.op == OP_PUT)
        new_size = (int64_t)ddb_item_size(cJSON_GetObjectItemCaseSensitive(b->pl.req, "Item"));
    cJSON_Delete(old);
    tp_buf_free(&hk);
    tp_buf_free(&rk);
    ddb_table_release(&t);
    return ddb_write_units(old_size, new_size);
}

static void batch_error(tp_req *r, cJSON *entry, const tp_error *e)
{
    cJSON *error = cJSON_AddObjectToObject(entry, "Error");
    char code[TP_ERROR_CODE_MAX];
    batch_code(e->code, code, sizeof code);
    cJSON_AddStringToObject(error, "Code", code);
    cJSON_AddStringToObject(error, "Message", e->message);
    cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(r->error_fields, "Item");
    if (item)
        cJSON_AddItemToObject(error, "Item", item);
}

/* Runs one planned statement inside its own savepoint; 1 when it failed
 * (its error in b->e), -1 on a storage failure. */
static int batch_run(tp_req *r, const cJSON *in, batch_stmt *b, cJSON **res)
{
    if (tp_store_exec(r->core->store, "SAVEPOINT ddb_partiql") != 0)
        return -1;
    pass_through(b->pl.req, in, "ReturnConsumedCapacity");
    if (b->pl.op == OP_GET)
        pass_through(b->pl.req, b->spec, "ConsistentRead");
    else
        pass_through(b->pl.req, b->spec, "ReturnValuesOnConditionCheckFailure");
    if (run_plan(r, &b->pl, res, &b->e) == 0)
        return tp_store_exec(r->core->store, "RELEASE ddb_partiql") == 0 ? 0 : -1;
    b->failed = 1;
    if (tp_store_exec(r->core->store, "ROLLBACK TO ddb_partiql") != 0 ||
        tp_store_exec(r->core->store, "RELEASE ddb_partiql") != 0)
        return -1;
    return 1;
}

int ddb_batch_execute_statement(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    cJSON *stmts = cJSON_GetObjectItemCaseSensitive(in, "Statements");
    size_t n = (size_t)cJSON_GetArraySize(stmts);
    batch_stmt *bs = calloc(n ? n : 1, sizeof *bs);
    if (!bs)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    const char *rcc = tp_json_str(in, "ReturnConsumedCapacity");
    cJSON *result = NULL, *cc_list = NULL;
    int rc = -1;
    size_t i = 0, reads = 0, writes = 0;
    cJSON *s;
    cJSON_ArrayForEach(s, stmts)
    {
        batch_stmt *b = &bs[i++];
        b->spec = s;
        if (pq_parse(tp_json_str(s, "Statement"), cJSON_GetObjectItemCaseSensitive(s, "Parameters"),
                     &b->st, &b->e) != 0) {
            b->failed = 1;
            continue;
        }
        if (b->st->kind == PQ_SELECT)
            reads++;
        else
            writes++;
    }
    /* A batch reads or writes, never both (statements that did not parse
     * take no part). */
    if (reads && writes) {
        tp_fail(err, TP_ERR_VALIDATION,
                "Read and write requests together in the same batch is not supported.");
        goto done;
    }
    for (i = 0; i < n; i++)
        if (!bs[i].failed && plan_statement(r, bs[i].st, IN_BATCH, &bs[i].pl, &bs[i].e) != 0)
            bs[i].failed = 1;
    for (i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!bs[i].failed && !bs[j].failed && same_target(&bs[i].pl, &bs[j].pl)) {
                tp_fail(err, TP_ERR_VALIDATION, "Provided list of item keys contains duplicates");
                goto done;
            }
    result = cJSON_CreateObject();
    cJSON *responses = cJSON_AddArrayToObject(result, "Responses");
    if (rcc && strcmp(rcc, "NONE") != 0)
        cc_list = cJSON_CreateArray();
    for (i = 0; i < n; i++) {
        batch_stmt *b = &bs[i];
        cJSON *entry = cJSON_CreateObject(), *res = NULL;
        cJSON_AddItemToArray(responses, entry);
        cJSON_Delete(r->error_fields);
        r->error_fields = NULL;
        int ran = b->failed ? 1 : batch_run(r, in, b, &res);
        if (ran < 0) {
            cJSON_Delete(res);
            tp_fail(err, TP_ERR_INTERNAL, "storage error");
            goto done;
        }
        if (ran == 0) {
            /* The table is named on success only. */
            cJSON_AddStringToObject(entry, "TableName", b->st->table);
            /* A SELECT's item, or what a write's RETURNING returned. */
            cJSON *items = result_items(&b->pl, res);
            if (items && items->child)
                cJSON_AddItemToObject(entry, "Item", cJSON_DetachItemViaPointer(items, items->child));
            cJSON_Delete(items);
            if (cc_list)
                merge_consumed(cc_list, cJSON_GetObjectItemCaseSensitive(res, "ConsumedCapacity"));
        } else {
            batch_error(r, entry, &b->e);
            if (cc_list && ran == 1 && b->pl.req)
                b->attempted = attempted_units(r, b);
        }
        cJSON_Delete(r->error_fields);
        r->error_fields = NULL;
        cJSON_Delete(res);
    }
    /* A write that ran and failed still costs its attempt: the units go
     * to its table's total (not to its Table or index parts), when the
     * table has an entry — AWS reports no capacity for a table, or a
     * batch, in which nothing succeeded (recorded by dynoxide's captures). */
    for (i = 0; cc_list && i < n; i++) {
        cJSON *e;
        cJSON_ArrayForEach(e, cc_list)
        {
            const char *tn = tp_json_str(e, "TableName");
            cJSON *total = cJSON_GetObjectItemCaseSensitive(e, "CapacityUnits");
            if (bs[i].attempted > 0 && tn && cJSON_IsNumber(total) &&
                strcmp(tn, bs[i].st->table) == 0)
                cJSON_SetNumberValue(total, total->valuedouble + bs[i].attempted);
        }
    }
    if (cc_list && cc_list->child) {
        cJSON_AddItemToObject(result, "ConsumedCapacity", cc_list);
        cc_list = NULL;
    }
    *out = result;
    result = NULL;
    rc = 0;
done:
    for (i = 0; i < n; i++) {
        pq_stmt_free(bs[i].st);
        plan_release(&bs[i].pl);
    }
    free(bs);
    cJSON_Delete(cc_list);
    cJSON_Delete(result);
    return rc;
}

/* --- ExecuteTransaction ---------------------------------------------------------- */

/* An INSERT's failed condition is a duplicate item: its reason says so. */
static void rename_duplicates(tp_req *r, const plan *plans, size_t n, tp_error *err)
{
    cJSON *reasons = cJSON_GetObjectItemCaseSensitive(r->error_fields, "CancellationReasons");
    if (!reasons)
        return;
    tp_buf codes;
    tp_buf_init(&codes);
    size_t i = 0;
    cJSON *reason;
    cJSON_ArrayForEach(reason, reasons)
    {
        const char *code = tp_json_str(reason, "Code");
        if (i < n && plans[i].op == OP_PUT && code && strcmp(code, "ConditionalCheckFailed") == 0) {
            cJSON_ReplaceItemInObjectCaseSensitive(reason, "Code",
                                                   cJSON_CreateString("DuplicateItem"));
            cJSON_ReplaceItemInObjectCaseSensitive(reason, "Message",
                                                   cJSON_CreateString(DUPLICATE_ITEM));
            cJSON_DeleteItemFromObjectCaseSensitive(reason, "Item");
        }
        tp_buf_printf(&codes, "%s%s", i ? ", " : "", tp_json_str(reason, "Code"));
        i++;
    }
    tp_fail(err, TP_ERR_TRANSACTION_CANCELED,
            "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]",
            codes.data ? (const char *)codes.data : "");
    tp_buf_free(&codes);
}

int ddb_execute_transaction(tp_req *r, cJSON *in, cJSON **out, tp_error *err)
{
    cJSON *stmts = cJSON_GetObjectItemCaseSensitive(in, "TransactStatements");
    size_t n = (size_t)cJSON_GetArraySize(stmts);
    pq_stmt **parsed = calloc(n ? n : 1, sizeof *parsed);
    plan *plans = calloc(n ? n : 1, sizeof *plans);
    cJSON *req = cJSON_CreateObject();
    cJSON *res = NULL;
    int rc = -1;
    if (!parsed || !plans || !req) {
        tp_fail(err, TP_ERR_INTERNAL, "out of memory");
        goto done;
    }
    size_t i = 0, reads = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, stmts)
    {
        if (pq_parse(tp_json_str(s, "Statement"), cJSON_GetObjectItemCaseSensitive(s, "Parameters"),
                     &parsed[i], err) != 0)
            goto done;
        /* Recorded on DynamoDB by dynoxide's captures, like the message below. */
        if (parsed[i]->returning) {
            tp_fail(err, TP_ERR_VALIDATION,
                    "Validation failed in TransactStatements[%zu]: RETURNING clause is not "
                    "supported in ExecuteTransaction.",
                    i);
            goto done;
        }
        if (parsed[i]->kind == PQ_SELECT)
            reads++;
        i++;
    }
    if (reads && reads != n) {
        tp_fail(err, TP_ERR_VALIDATION,
                "ExecuteTransaction API does not support both read and write operations in the "
                "same request.");
        goto done;
    }
    cJSON *items = cJSON_AddArrayToObject(req, "TransactItems");
    i = 0;
    cJSON_ArrayForEach(s, stmts)
    {
        plan *pl = &plans[i];
        if (plan_statement(r, parsed[i], IN_TRANSACTION, pl, err) != 0) {
            if (tp_error_is(err, TP_ERR_VALIDATION)) {
                char why[sizeof err->message];
                snprintf(why, sizeof why, "%s", err->message);
                tp_fail(err, TP_ERR_VALIDATION, "Validation failed in TransactStatements[%zu]: %.3900s",
                        i, why);
            }
            goto done;
        }
        static const char *const kinds[] = {"", "", "Get", "Put", "Update", "Delete",
                                            "ConditionCheck"};
        if (pl->op != OP_GET)
            pass_through(pl->req, s, "ReturnValuesOnConditionCheckFailure");
        cJSON *ti = cJSON_CreateObject();
        cJSON_AddItemToObject(ti, kinds[pl->op], cJSON_Duplicate(pl->req, 1));
        cJSON_AddItemToArray(items, ti);
        i++;
    }
    pass_through(req, in, "ReturnConsumedCapacity");
    if (!reads)
        pass_through(req, in, "ClientRequestToken");
    if (plain_error(reads ? ddb_transact_get_items(r, req, &res, err)
                          : ddb_transact_write_items(r, req, &res, err),
                    err) != 0) {
        if (tp_error_is(err, TP_ERR_TRANSACTION_CANCELED))
            rename_duplicates(r, plans, n, err);
        goto done;
    }
    *out = cJSON_CreateObject();
    /* Writes answer an empty Responses list (recorded on DynamoDB). */
    cJSON *list = cJSON_AddArrayToObject(*out, "Responses");
    if (reads) {
        const cJSON *resp;
        i = 0;
        cJSON_ArrayForEach(resp, cJSON_GetObjectItemCaseSensitive(res, "Responses"))
        {
            cJSON *e = cJSON_CreateObject();
            const cJSON *item = cJSON_GetObjectItemCaseSensitive(resp, "Item");
            if (item && i < n)
                cJSON_AddItemToObject(e, "Item", project(parsed[i], item));
            cJSON_AddItemToArray(list, e);
            i++;
        }
    }
    copy_member(*out, res, "ConsumedCapacity");
    rc = 0;
done:
    for (i = 0; i < n; i++) {
        if (parsed)
            pq_stmt_free(parsed[i]);
        if (plans)
            plan_release(&plans[i]);
    }
    free(parsed);
    free(plans);
    cJSON_Delete(req);
    cJSON_Delete(res);
    return rc;
}
