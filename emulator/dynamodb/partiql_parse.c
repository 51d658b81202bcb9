/* dynamodb/partiql_parse — PartiQL statement text -> pq_stmt (partiql.h).
 *
 * A hand-written lexer and recursive-descent parser. It stops at the first
 * error. DynamoDB's detail texts after "Statement wasn't well formed, can't
 * be processed: " are known only for a few cases ("Expected data
 * manipulation", "Unexpected term", none for a number it cannot hold); the
 * others are tidepool's (unverified wording). Statements that parse but
 * that DynamoDB refuses (refuse()) get DynamoDB Local's bare messages. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "number.h"
#include "partiql.h"

typedef enum tok_kind {
    T_END,
    T_IDENT,  /* bare word */
    T_QIDENT, /* "quoted" */
    T_STRING, /* 'text' */
    T_NUMBER,
    T_PARAM,  /* ? */
    T_PUNCT   /* ( ) [ ] { } , . : * = <> != < <= > >= + - << >> */
} tok_kind;

typedef struct tok {
    tok_kind kind;
    char *text; /* owned, unescaped */
} tok;

typedef struct parser {
    const char *src;
    size_t pos, len;
    size_t tok_start; /* offset of cur */
    tok cur;
    char vpath[512];  /* where a literal sits in its value: root, root.x, root[1] */
    int item_map;     /* the next map is INSERT's item: its members are each root */
    const cJSON *params;
    const cJSON *next_param;
    int nparams;
    int failed;
    tp_error *err;
} parser;

static int fail(parser *p, const char *fmt, ...) TP_PRINTF(2, 3);
static int fail(parser *p, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    p->failed = 1;
    return tp_fail(p->err, TP_ERR_VALIDATION, PQ_MALFORMED "%s", detail);
}

/* A statement that parses but that DynamoDB's PartiQL refuses: a bare
 * ValidationException. The texts are DynamoDB Local's (its PartiQL
 * front end's message table). */
static int refuse(parser *p, const char *fmt, ...) TP_PRINTF(2, 3);
static int refuse(parser *p, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->failed = 1;
    return tp_fail(p->err, TP_ERR_VALIDATION, "%s", msg);
}

/* --- lexer ------------------------------------------------------------------ */

static char *dup_range(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (o) {
        memcpy(o, s, n);
        o[n] = 0;
    }
    return o;
}

/* Reads the quoted run starting at p->pos (quote q), doubled q escaping it. */
static char *read_quoted(parser *p, char q)
{
    tp_buf b;
    tp_buf_init(&b);
    size_t i = p->pos + 1;
    for (;;) {
        if (i >= p->len) {
            tp_buf_free(&b);
            fail(p, "unterminated %s", q == '\'' ? "string literal" : "quoted identifier");
            return NULL;
        }
        if (p->src[i] == q) {
            if (i + 1 < p->len && p->src[i + 1] == q) {
                tp_buf_append(&b, &q, 1);
                i += 2;
                continue;
            }
            break;
        }
        tp_buf_append(&b, &p->src[i], 1);
        i++;
    }
    p->pos = i + 1;
    char *o = dup_range(b.data ? (const char *)b.data : "", b.len);
    tp_buf_free(&b);
    return o;
}

static int next(parser *p)
{
    free(p->cur.text);
    p->cur.text = NULL;
    p->cur.kind = T_END;
    if (p->failed)
        return -1;
    for (;;) {
        while (p->pos < p->len && isspace((unsigned char)p->src[p->pos]))
            p->pos++;
        /* -- to the end of the line, and block comments */
        if (p->pos + 1 < p->len && p->src[p->pos] == '-' && p->src[p->pos + 1] == '-') {
            while (p->pos < p->len && p->src[p->pos] != '\n')
                p->pos++;
            continue;
        }
        if (p->pos + 1 < p->len && p->src[p->pos] == '/' && p->src[p->pos + 1] == '*') {
            const char *end = strstr(p->src + p->pos + 2, "*/");
            if (!end)
                return fail(p, "%s", ""); /* recorded on DynamoDB: no detail */
            p->pos = (size_t)(end - p->src) + 2;
            continue;
        }
        break;
    }
    p->tok_start = p->pos;
    if (p->pos >= p->len)
        return 0;
    const char *s = p->src + p->pos;
    char c = *s;
    if (c == '\'' || c == '"') {
        p->cur.kind = c == '\'' ? T_STRING : T_QIDENT;
        p->cur.text = read_quoted(p, c);
        return p->cur.text ? 0 : -1;
    }
    if (isdigit((unsigned char)c) || (c == '.' && p->pos + 1 < p->len && isdigit((unsigned char)s[1]))) {
        size_t n = 0;
        while (p->pos + n < p->len && (isdigit((unsigned char)s[n]) || s[n] == '.'))
            n++;
        if (p->pos + n < p->len && (s[n] == 'e' || s[n] == 'E')) {
            size_t m = n + 1;
            if (p->pos + m < p->len && (s[m] == '+' || s[m] == '-'))
                m++;
            if (p->pos + m < p->len && isdigit((unsigned char)s[m])) {
                while (p->pos + m < p->len && isdigit((unsigned char)s[m]))
                    m++;
                n = m;
            }
        }
        p->cur.kind = T_NUMBER;
        p->cur.text = dup_range(s, n);
        p->pos += n;
        return 0;
    }
    if (isalpha((unsigned char)c) || c == '_' || c == '$') {
        size_t n = 0;
        while (p->pos + n < p->len &&
               (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '$'))
            n++;
        p->cur.kind = T_IDENT;
        p->cur.text = dup_range(s, n);
        p->pos += n;
        return 0;
    }
    if (c == '?') {
        p->cur.kind = T_PARAM;
        p->cur.text = dup_range(s, 1);
        p->pos++;
        return 0;
    }
    static const char *const two[] = {"<>", "!=", "<=", ">=", "<<", ">>"};
    for (size_t i = 0; i < sizeof two / sizeof two[0]; i++) {
        if (p->pos + 1 < p->len && s[0] == two[i][0] && s[1] == two[i][1]) {
            p->cur.kind = T_PUNCT;
            p->cur.text = dup_range(s, 2);
            p->pos += 2;
            return 0;
        }
    }
    if (strchr("()[]{},.:*=<>+-", c)) {
        p->cur.kind = T_PUNCT;
        p->cur.text = dup_range(s, 1);
        p->pos++;
        return 0;
    }
    (void)c;
    return fail(p, "%s", ""); /* recorded on DynamoDB for '#': no detail */
}

static int is_kw(const parser *p, const char *kw)
{
    return p->cur.kind == T_IDENT && strcasecmp(p->cur.text, kw) == 0;
}

static int is_punct(const parser *p, const char *s)
{
    return p->cur.kind == T_PUNCT && strcmp(p->cur.text, s) == 0;
}

static const char *shown(const parser *p)
{
    return p->cur.kind == T_END ? "end of statement" : p->cur.text;
}

static int same_path(const pq_node *a, const pq_node *b)
{
    if (a->npath != b->npath)
        return 0;
    for (size_t i = 0; i < a->npath; i++) {
        const pq_elem *x = &a->path[i], *y = &b->path[i];
        if (!x->name != !y->name || (x->name ? strcmp(x->name, y->name) != 0 : x->index != y->index))
            return 0;
    }
    return 1;
}

/* The first non-blank character after the current token. */
static char next_char(const parser *p)
{
    size_t i = p->pos;
    while (i < p->len && isspace((unsigned char)p->src[i]))
        i++;
    return i < p->len ? p->src[i] : 0;
}

static int expect_kw(parser *p, const char *kw)
{
    if (!is_kw(p, kw))
        return fail(p, "Expected %s but found %s", kw, shown(p)); /* unverified wording */
    return next(p);
}

static int expect_punct(parser *p, const char *s)
{
    if (!is_punct(p, s))
        return fail(p, "Expected '%s' but found %s", s, shown(p)); /* unverified wording */
    return next(p);
}

/* --- nodes ----------------------------------------------------------------- */

void pq_node_free(pq_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->npath; i++)
        free(n->path[i].name);
    free(n->path);
    for (size_t i = 0; i < n->nkids; i++)
        pq_node_free(n->kids[i]);
    free(n->kids);
    free(n->func);
    cJSON_Delete(n->value);
    free(n);
}

/* Line and column (from 1) of the current token, and its length. */
static void stamp(const parser *p, pq_node *n)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < p->tok_start; i++) {
        if (p->src[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    n->line = line;
    n->col = col;
    n->len = (int)(p->pos - p->tok_start);
}

static pq_node *node_new(parser *p, pq_node_kind kind)
{
    pq_node *n = calloc(1, sizeof *n);
    if (!n) {
        fail(p, "out of memory");
    } else {
        n->kind = kind;
        stamp(p, n);
    }
    return n;
}

static int add_kid(parser *p, pq_node *n, pq_node *kid)
{
    pq_node **k = realloc(n->kids, (n->nkids + 1) * sizeof *k);
    if (!k) {
        pq_node_free(kid);
        return fail(p, "out of memory");
    }
    n->kids = k;
    n->kids[n->nkids++] = kid;
    return 0;
}

static pq_node *node2(parser *p, pq_node_kind kind, const char *op, pq_node *a, pq_node *b)
{
    pq_node *n = node_new(p, kind);
    if (!n) {
        pq_node_free(a);
        pq_node_free(b);
        return NULL;
    }
    snprintf(n->op, sizeof n->op, "%s", op ? op : "");
    if (add_kid(p, n, a) != 0 || (b && add_kid(p, n, b) != 0)) {
        pq_node_free(n);
        return NULL;
    }
    return n;
}

/* --- values ---------------------------------------------------------------- */

/* A number literal DynamoDB can hold. One it cannot read at all (an
 * exponent or scale past 32 bits) is "wasn't well formed" with nothing
 * after the colon; one past DynamoDB's range or 38 digits gets the number
 * message and where in the value it sits (recorded on DynamoDB). */
static int check_number(parser *p, const char *text)
{
    ddb_num n;
    tp_error e;
    if (ddb_num_parse(text, &n, &e) == 0)
        return 0;
    if (strncmp(e.message, "The parameter cannot be converted", 33) == 0)
        return fail(p, "%s", "");
    return refuse(p, "%s under %s", e.message, p->vpath);
}

/* A parameter, checked in document order as DynamoDB reads it: nesting
 * deeper than 32 levels, then numbers (BigDecimal's reading). */
static int check_param(parser *p, const cJSON *av, int depth)
{
    if (depth > 32) {
        p->failed = 1;
        return tp_fail(p->err, TP_ERR_VALIDATION,
                       "Nesting Levels have exceeded supported limits: Attributes in the item have "
                       "nested levels beyond supported limit");
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, av)
    {
        ddb_num n;
        if (strcmp(m->string, "N") == 0 && cJSON_IsString(m)) {
            if (ddb_num_parse(m->valuestring, &n, p->err) != 0) {
                p->failed = 1;
                return -1;
            }
        } else if (strcmp(m->string, "NS") == 0) {
            const cJSON *x;
            cJSON_ArrayForEach(x, m)
            {
                if (cJSON_IsString(x) && ddb_num_parse(x->valuestring, &n, p->err) != 0) {
                    p->failed = 1;
                    return -1;
                }
            }
        } else if (strcmp(m->string, "M") == 0 || strcmp(m->string, "L") == 0) {
            const cJSON *x;
            cJSON_ArrayForEach(x, m)
            {
                if (check_param(p, x, depth + 1) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

static cJSON *parse_value(parser *p);

static cJSON *typed(const char *type, cJSON *v)
{
    cJSON *o = cJSON_CreateObject();
    if (o)
        cJSON_AddItemToObject(o, type, v);
    else
        cJSON_Delete(v);
    return o;
}

static cJSON *take_param(parser *p)
{
    p->nparams++;
    if (p->next_param && check_param(p, p->next_param, 1) != 0)
        return NULL;
    cJSON *v = p->next_param ? cJSON_Duplicate(p->next_param, 1) : cJSON_CreateObject();
    if (p->next_param)
        p->next_param = p->next_param->next;
    return v;
}

/* [v, ...] (close "]"), <<v, ...>> (close ">>") or {'k': v, ...} (close "}"). */
static cJSON *parse_collection(parser *p, const char *close)
{
    int is_map = strcmp(close, "}") == 0, is_set = strcmp(close, ">>") == 0;
    int is_item = is_map && p->item_map;
    p->item_map = 0;
    size_t base = strlen(p->vpath);
    cJSON *c = is_map ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!c || next(p) != 0)
        goto bad;
    while (!is_punct(p, close)) {
        if (cJSON_GetArraySize(c) > 0 && expect_punct(p, ",") != 0)
            goto bad;
        char *key = NULL;
        if (is_map) {
            if (p->cur.kind != T_STRING) {
                fail(p, "Expected a string literal as a map key but found %s", shown(p)); /* unverified wording */
                goto bad;
            }
            key = p->cur.text;
            p->cur.text = NULL;
            if (next(p) != 0 || expect_punct(p, ":") != 0) {
                free(key);
                goto bad;
            }
        }
        if (is_map && !is_item)
            snprintf(p->vpath + base, sizeof p->vpath - base, ".%s", key);
        else if (!is_map && !is_set)
            snprintf(p->vpath + base, sizeof p->vpath - base, "[%d]", cJSON_GetArraySize(c));
        cJSON *v = parse_value(p);
        p->vpath[base] = 0;
        if (!v) {
            free(key);
            goto bad;
        }
        if (is_map) {
            if (cJSON_GetObjectItemCaseSensitive(c, key)) {
                fail(p, "Duplicate map key '%s'", key); /* unverified wording */
                free(key);
                cJSON_Delete(v);
                goto bad;
            }
            cJSON_AddItemToObject(c, key, v);
            free(key);
        } else {
            cJSON_AddItemToArray(c, v);
        }
    }
    if (next(p) != 0)
        goto bad;
    if (is_map)
        return typed("M", c);
    if (!is_set)
        return typed("L", c);
    /* A bag literal holds strings or numbers, one type (binary sets come
     * through parameters). */
    if (!c->child) {
        refuse(p, "Empty bags are not supported");
        goto bad;
    }
    const char *ty = NULL;
    cJSON *members = cJSON_CreateArray(), *m;
    cJSON_ArrayForEach(m, c)
    {
        const char *t = m->child ? m->child->string : "";
        if (!cJSON_IsString(m->child) || (strcmp(t, "S") && strcmp(t, "N"))) {
            refuse(p, "Unsupported data type in Bag. DynamoDB only supports either numbers or "
                      "strings in bags");
            cJSON_Delete(members);
            goto bad;
        }
        if (ty && strcmp(ty, t) != 0) {
            fail(p, "Set members must all be strings or all numbers"); /* unverified wording */
            cJSON_Delete(members);
            goto bad;
        }
        ty = t;
        cJSON_AddItemToArray(members, cJSON_CreateString(m->child->valuestring));
    }
    char set_type[4];
    snprintf(set_type, sizeof set_type, "%sS", ty ? ty : "S");
    cJSON_Delete(c);
    return typed(set_type, members);
bad:
    cJSON_Delete(c);
    return NULL;
}

/* A literal value or ?; NULL (with the error set) when there is none. */
static cJSON *parse_value(parser *p)
{
    cJSON *v = NULL;
    if (p->cur.kind == T_PARAM) {
        v = take_param(p);
        if (!v)
            return NULL;
    } else if (p->cur.kind == T_STRING) {
        v = typed("S", cJSON_CreateString(p->cur.text));
    } else if (p->cur.kind == T_NUMBER) {
        if (check_number(p, p->cur.text) != 0)
            return NULL;
        v = typed("N", cJSON_CreateString(p->cur.text));
    } else if (is_punct(p, "-") || is_punct(p, "+")) {
        char sign = p->cur.text[0];
        if (next(p) != 0)
            return NULL;
        if (p->cur.kind != T_NUMBER) {
            fail(p, "Expected a number after '%c'", sign); /* unverified wording */
            return NULL;
        }
        char text[256];
        snprintf(text, sizeof text, "%s%s", sign == '-' ? "-" : "", p->cur.text);
        if (check_number(p, text) != 0)
            return NULL;
        v = typed("N", cJSON_CreateString(text));
    } else if (is_kw(p, "TRUE") || is_kw(p, "FALSE")) {
        v = typed("BOOL", cJSON_CreateBool(is_kw(p, "TRUE")));
    } else if (is_kw(p, "NULL")) {
        v = typed("NULL", cJSON_CreateTrue());
    } else if (is_punct(p, "[")) {
        return parse_collection(p, "]");
    } else if (is_punct(p, "{")) {
        return parse_collection(p, "}");
    } else if (is_punct(p, "<<")) {
        return parse_collection(p, ">>");
    } else {
        fail(p, "Expected a value but found %s", shown(p)); /* unverified wording */
        return NULL;
    }
    if (!v) {
        fail(p, "out of memory");
        return NULL;
    }
    if (next(p) != 0) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

static int starts_value(const parser *p)
{
    return p->cur.kind == T_PARAM || p->cur.kind == T_STRING || p->cur.kind == T_NUMBER ||
           is_kw(p, "TRUE") || is_kw(p, "FALSE") || is_kw(p, "NULL") || is_punct(p, "[") ||
           is_punct(p, "{") || is_punct(p, "<<") || is_punct(p, "-") || is_punct(p, "+");
}

/* --- paths and expressions ------------------------------------------------- */

static int path_add(parser *p, pq_node *n, char *name, long index)
{
    pq_elem *e = realloc(n->path, (n->npath + 1) * sizeof *e);
    if (!e) {
        free(name);
        return fail(p, "out of memory");
    }
    n->path = e;
    n->path[n->npath].name = name;
    n->path[n->npath].index = index;
    n->npath++;
    return 0;
}

static int is_name(const parser *p)
{
    return p->cur.kind == T_IDENT || p->cur.kind == T_QIDENT;
}

/* name ( . name | [ n ] )* ; the current token is the first name. */
static pq_node *parse_path(parser *p)
{
    pq_node *n = node_new(p, PQN_PATH);
    if (!n)
        return NULL;
    for (;;) {
        if (!is_name(p)) {
            fail(p, "Expected an attribute name but found %s", shown(p)); /* unverified wording */
            goto bad;
        }
        char *name = p->cur.text;
        p->cur.text = NULL;
        if (path_add(p, n, name, 0) != 0 || next(p) != 0)
            goto bad;
        while (is_punct(p, "[")) {
            if (next(p) != 0)
                goto bad;
            if (p->cur.kind != T_NUMBER || strchr(p->cur.text, '.') || strchr(p->cur.text, 'e') ||
                strchr(p->cur.text, 'E')) {
                fail(p, "Expected a list index but found %s", shown(p)); /* unverified wording */
                goto bad;
            }
            long idx = strtol(p->cur.text, NULL, 10);
            if (path_add(p, n, NULL, idx) != 0 || next(p) != 0 || expect_punct(p, "]") != 0)
                goto bad;
        }
        if (!is_punct(p, "."))
            return n;
        if (next(p) != 0)
            goto bad;
    }
bad:
    pq_node_free(n);
    return NULL;
}

static pq_node *parse_expr(parser *p);

static pq_node *value_node(parser *p)
{
    cJSON *v = parse_value(p);
    if (!v)
        return NULL;
    pq_node *n = node_new(p, PQN_VALUE);
    if (!n)
        cJSON_Delete(v);
    else
        n->value = v;
    return n;
}

static pq_node *parse_operand(parser *p)
{
    if (is_punct(p, "(")) {
        if (next(p) != 0)
            return NULL;
        pq_node *n = parse_expr(p);
        if (n && expect_punct(p, ")") != 0) {
            pq_node_free(n);
            return NULL;
        }
        return n;
    }
    if (starts_value(p))
        return value_node(p);
    if (is_kw(p, "MISSING")) {
        refuse(p, "MISSING must be compared using IS operator");
        return NULL;
    }
    if (p->cur.kind == T_IDENT) {
        /* name( : a function call */
        if (next_char(p) == '(') {
            pq_node *f = node_new(p, PQN_FUNC);
            if (!f)
                return NULL;
            f->func = strdup(p->cur.text);
            for (char *c = f->func; c && *c; c++)
                *c = (char)tolower((unsigned char)*c);
            if (next(p) != 0 || next(p) != 0) {
                pq_node_free(f);
                return NULL;
            }
            while (!is_punct(p, ")")) {
                if (f->nkids && expect_punct(p, ",") != 0) {
                    pq_node_free(f);
                    return NULL;
                }
                pq_node *a = parse_expr(p);
                if (!a || add_kid(p, f, a) != 0) {
                    pq_node_free(f);
                    return NULL;
                }
            }
            if (next(p) != 0) {
                pq_node_free(f);
                return NULL;
            }
            return f;
        }
    }
    if (is_name(p))
        return parse_path(p);
    fail(p, "Unexpected term"); /* recorded on DynamoDB for a WHERE that breaks off */
    return NULL;
}

static pq_node *parse_sum(parser *p)
{
    pq_node *n = parse_operand(p);
    while (n && (is_punct(p, "+") || is_punct(p, "-"))) {
        char op[2] = {p->cur.text[0], 0};
        if (next(p) != 0) {
            pq_node_free(n);
            return NULL;
        }
        pq_node *r = parse_operand(p);
        if (!r) {
            pq_node_free(n);
            return NULL;
        }
        n = node2(p, PQN_ARITH, op, n, r);
    }
    return n;
}

static pq_node *negate(parser *p, pq_node *n)
{
    return n ? node2(p, PQN_NOT, NULL, n, NULL) : NULL;
}

static pq_node *parse_predicate(parser *p)
{
    pq_node *l = parse_sum(p);
    if (!l)
        return NULL;
    static const char *const cmps[] = {"=", "<>", "!=", "<", "<=", ">", ">="};
    for (size_t i = 0; i < sizeof cmps / sizeof cmps[0]; i++) {
        if (is_punct(p, cmps[i])) {
            const char *op = strcmp(cmps[i], "!=") == 0 ? "<>" : cmps[i];
            char opbuf[4];
            snprintf(opbuf, sizeof opbuf, "%s", op);
            if (next(p) != 0) {
                pq_node_free(l);
                return NULL;
            }
            pq_node *r = parse_sum(p);
            if (!r) {
                pq_node_free(l);
                return NULL;
            }
            return node2(p, PQN_CMP, opbuf, l, r);
        }
    }
    int neg = 0;
    if (is_kw(p, "NOT")) {
        neg = 1;
        if (next(p) != 0) {
            pq_node_free(l);
            return NULL;
        }
        if (!is_kw(p, "BETWEEN") && !is_kw(p, "IN")) {
            pq_node_free(l);
            fail(p, "Expected BETWEEN or IN after NOT but found %s", shown(p)); /* unverified wording */
            return NULL;
        }
    }
    if (is_kw(p, "BETWEEN")) {
        pq_node *n = node2(p, PQN_BETWEEN, NULL, l, NULL);
        pq_node *lo = NULL, *hi = NULL;
        if (!n || next(p) != 0 || !(lo = parse_sum(p)) || add_kid(p, n, lo) != 0 ||
            expect_kw(p, "AND") != 0 || !(hi = parse_sum(p)) || add_kid(p, n, hi) != 0) {
            pq_node_free(n);
            return NULL;
        }
        return neg ? negate(p, n) : n;
    }
    if (is_kw(p, "IN")) {
        pq_node *n = node2(p, PQN_IN, NULL, l, NULL);
        if (!n || next(p) != 0)
            goto in_bad;
        const char *close = is_punct(p, "[") ? "]" : is_punct(p, "(") ? ")" : NULL;
        if (!close) {
            fail(p, "Expected a list after IN but found %s", shown(p)); /* unverified wording */
            goto in_bad;
        }
        if (next(p) != 0)
            goto in_bad;
        while (!is_punct(p, close)) {
            if (n->nkids > 1 && expect_punct(p, ",") != 0)
                goto in_bad;
            pq_node *v = value_node(p);
            if (!v || add_kid(p, n, v) != 0)
                goto in_bad;
        }
        if (n->nkids < 2) {
            refuse(p, "IN operator must have a left hand argument of type Variable Reference and "
                      "right hand argument of type Seq with at least one member");
            goto in_bad;
        }
        if (next(p) != 0)
            goto in_bad;
        return neg ? negate(p, n) : n;
    in_bad:
        pq_node_free(n);
        return NULL;
    }
    if (is_kw(p, "IS")) {
        char what[16] = "";
        if (next(p) != 0) {
            pq_node_free(l);
            return NULL;
        }
        if (is_kw(p, "NOT")) {
            snprintf(what, sizeof what, "NOT ");
            if (next(p) != 0) {
                pq_node_free(l);
                return NULL;
            }
        }
        if (!is_kw(p, "MISSING") && !is_kw(p, "NULL")) {
            pq_node_free(l);
            fail(p, "Expected MISSING or NULL after IS but found %s", shown(p)); /* unverified wording */
            return NULL;
        }
        strcat(what, is_kw(p, "MISSING") ? "MISSING" : "NULL");
        if (next(p) != 0) {
            pq_node_free(l);
            return NULL;
        }
        return node2(p, PQN_IS, what, l, NULL);
    }
    return l;
}

static pq_node *parse_not(parser *p)
{
    if (is_kw(p, "NOT")) {
        if (next(p) != 0)
            return NULL;
        return negate(p, parse_not(p));
    }
    return parse_predicate(p);
}

static pq_node *parse_chain(parser *p, const char *kw, pq_node_kind kind,
                            pq_node *(*sub)(parser *))
{
    pq_node *n = sub(p);
    if (!n || !is_kw(p, kw))
        return n;
    pq_node *c = node2(p, kind, NULL, n, NULL);
    while (c && is_kw(p, kw)) {
        pq_node *r;
        if (next(p) != 0 || !(r = sub(p)) || add_kid(p, c, r) != 0) {
            pq_node_free(c);
            return NULL;
        }
    }
    return c;
}

static pq_node *parse_and(parser *p)
{
    return parse_chain(p, "AND", PQN_AND, parse_not);
}

static pq_node *parse_expr(parser *p)
{
    return parse_chain(p, "OR", PQN_OR, parse_and);
}

/* --- statements ------------------------------------------------------------ */

void pq_stmt_free(pq_stmt *s)
{
    if (!s)
        return;
    free(s->table);
    free(s->index);
    for (size_t i = 0; i < s->nproj; i++)
        pq_node_free(s->proj[i]);
    free(s->proj);
    pq_node_free(s->where);
    pq_node_free(s->order);
    pq_node_free(s->item);
    for (size_t i = 0; i < s->nsets; i++) {
        pq_node_free(s->sets[i].target);
        pq_node_free(s->sets[i].value);
    }
    free(s->sets);
    free(s);
}

/* DynamoDB's table name rule (3 to 255 of a-z A-Z 0-9 - _ .). */
static int table_name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len < 3 || len > 255)
        return 0;
    for (const char *c = n; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.')
            return 0;
    return 1;
}

static int parse_table(parser *p, pq_stmt *s, int index_ok)
{
    if (!is_name(p))
        return fail(p, "Expected a table name but found %s", shown(p)); /* unverified wording */
    s->table = p->cur.text;
    p->cur.text = NULL;
    if (!table_name_ok(s->table))
        return refuse(p, "Table name should be within the length [3, 255] and only contain 'a-z', "
                         "'A-Z', '0-9', '-', '_', '.'.");
    if (next(p) != 0)
        return -1;
    if (index_ok && is_punct(p, ".")) {
        if (next(p) != 0)
            return -1;
        if (!is_name(p))
            return fail(p, "Expected an index name but found %s", shown(p)); /* unverified wording */
        s->index = p->cur.text;
        p->cur.text = NULL;
        if (next(p) != 0)
            return -1;
        if (is_punct(p, "."))
            return refuse(p, "A path may contain at most 2 components in the FROM clause");
    }
    /* An alias ("t" x, "t" AS x) is refused — in INSERT it is just a
     * token out of place (both recorded on DynamoDB). */
    static const char *const follow[] = {"WHERE", "ORDER", "SET", "REMOVE", "VALUE", "RETURNING"};
    int expected = p->cur.kind != T_IDENT;
    for (size_t i = 0; !expected && i < sizeof follow / sizeof follow[0]; i++)
        expected = is_kw(p, follow[i]);
    if (s->kind == PQ_INSERT && !is_kw(p, "VALUE"))
        return fail(p, "Unexpected token after expression");
    if (!expected)
        return refuse(p, "Aliasing is not supported");
    return 0;
}

static int parse_where(parser *p, pq_stmt *s, int required)
{
    if (!is_kw(p, "WHERE")) {
        if (required)
            return fail(p, "Expected WHERE but found %s", shown(p)); /* unverified wording */
        return 0;
    }
    if (next(p) != 0)
        return -1;
    s->where = parse_expr(p);
    return s->where ? 0 : -1;
}

/* DynamoDB's PartiQL has no aggregates: COUNT(*) and other calls in the
 * projection are refused with the position (line:column:length) of the
 * name, without the "wasn't well formed" prefix (recorded on DynamoDB by
 * dynoxide's captures). */
static int aggregate_refused(parser *p)
{
    pq_node at;
    stamp(p, &at);
    p->failed = 1;
    return tp_fail(p->err, TP_ERR_VALIDATION, "Unexpected path component at %d:%d:%d", at.line,
                   at.col, at.len);
}

static int parse_select(parser *p, pq_stmt *s)
{
    s->kind = PQ_SELECT;
    if (is_punct(p, "*")) {
        if (next(p) != 0)
            return -1;
        if (is_punct(p, ","))
            return refuse(p, "Other attributes should not be present in the projection when '*' is used.");
    } else {
        do {
            if (s->nproj && next(p) != 0)
                return -1;
            if (p->cur.kind == T_IDENT && next_char(p) == '(')
                return aggregate_refused(p);
            if (is_punct(p, "*"))
                return refuse(p, "Other attributes should not be present in the projection when '*' is used.");
            pq_node *n = parse_path(p);
            if (!n)
                return -1;
            for (size_t i = 0; i < s->nproj; i++)
                if (same_path(s->proj[i], n)) {
                    pq_node_free(n);
                    return refuse(p, "Duplicate identifiers in select clause: %s",
                                  s->proj[i]->path[s->proj[i]->npath - 1].name
                                      ? s->proj[i]->path[s->proj[i]->npath - 1].name
                                      : s->proj[i]->path[0].name);
                }
            pq_node **pr = realloc(s->proj, (s->nproj + 1) * sizeof *pr);
            if (!pr) {
                pq_node_free(n);
                return fail(p, "out of memory");
            }
            s->proj = pr;
            s->proj[s->nproj++] = n;
        } while (is_punct(p, ","));
    }
    if (expect_kw(p, "FROM") != 0 || parse_table(p, s, 1) != 0 || parse_where(p, s, 0) != 0)
        return -1;
    if (!is_kw(p, "ORDER"))
        return 0;
    if (next(p) != 0 || expect_kw(p, "BY") != 0 || !(s->order = parse_path(p)))
        return -1;
    if (is_kw(p, "ASC") || is_kw(p, "DESC")) {
        s->order_desc = is_kw(p, "DESC");
        return next(p);
    }
    return 0;
}

static int add_set(parser *p, pq_stmt *s, pq_node *target, pq_node *value)
{
    pq_set *n = realloc(s->sets, (s->nsets + 1) * sizeof *n);
    if (!n) {
        pq_node_free(target);
        pq_node_free(value);
        return fail(p, "out of memory");
    }
    s->sets = n;
    s->sets[s->nsets].target = target;
    s->sets[s->nsets].value = value;
    s->nsets++;
    return 0;
}

static int parse_returning(parser *p, pq_stmt *s)
{
    if (!is_kw(p, "RETURNING"))
        return 0;
    if (next(p) != 0)
        return -1;
    int all = is_kw(p, "ALL"), modified = is_kw(p, "MODIFIED");
    if (!all && !modified)
        return fail(p, "Expected ALL or MODIFIED after RETURNING but found %s", shown(p)); /* unverified wording */
    if (next(p) != 0)
        return -1;
    int old = is_kw(p, "OLD"), new_ = is_kw(p, "NEW");
    if (!old && !new_)
        return fail(p, "Expected OLD or NEW but found %s", shown(p)); /* unverified wording */
    if (next(p) != 0)
        return -1;
    if (!is_punct(p, "*"))
        return refuse(p, "Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause");
    if (next(p) != 0)
        return -1;
    s->returning = all ? (old ? "ALL_OLD" : "ALL_NEW") : (old ? "UPDATED_OLD" : "UPDATED_NEW");
    snprintf(s->returning_text, sizeof s->returning_text, "%s %s", all ? "ALL" : "MODIFIED",
             old ? "OLD" : "NEW");
    return 0;
}

static int parse_update(parser *p, pq_stmt *s)
{
    s->kind = PQ_UPDATE;
    if (parse_table(p, s, 1) != 0)
        return -1;
    while (is_kw(p, "SET") || is_kw(p, "REMOVE")) {
        int set = is_kw(p, "SET");
        do {
            if (next(p) != 0)
                return -1;
            pq_node *target = parse_path(p);
            if (!target)
                return -1;
            pq_node *value = NULL;
            if (set) {
                if (expect_punct(p, "=") != 0 || !(value = parse_sum(p))) {
                    pq_node_free(target);
                    return -1;
                }
            }
            if (add_set(p, s, target, value) != 0)
                return -1;
        } while (is_punct(p, ","));
    }
    if (s->nsets == 0)
        return fail(p, "Expected SET or REMOVE but found %s", shown(p)); /* unverified wording */
    if (parse_where(p, s, 1) != 0)
        return -1;
    return parse_returning(p, s);
}

static int parse_statement(parser *p, pq_stmt *s)
{
    if (is_kw(p, "SELECT"))
        return next(p) == 0 ? parse_select(p, s) : -1;
    if (is_kw(p, "INSERT")) {
        s->kind = PQ_INSERT;
        if (next(p) != 0 || expect_kw(p, "INTO") != 0 || parse_table(p, s, 1) != 0 ||
            expect_kw(p, "VALUE") != 0)
            return -1;
        if (!is_punct(p, "{") && p->cur.kind != T_PARAM && !starts_value(p))
            return fail(p, "Expected a value after VALUE but found %s", shown(p)); /* unverified wording */
        p->item_map = 1;
        s->item = value_node(p);
        if (!s->item)
            return -1;
        if (!cJSON_GetObjectItemCaseSensitive(s->item->value, "M"))
            return refuse(p, "Unsupported format in item expression. Please use struct format {...} "
                             "to express item values for insert statement.");
        if (is_kw(p, "RETURNING"))
            return refuse(p, "RETURNING is not supported in INSERT");
        return 0;
    }
    if (is_kw(p, "UPDATE"))
        return next(p) == 0 ? parse_update(p, s) : -1;
    if (is_kw(p, "DELETE")) {
        s->kind = PQ_DELETE;
        if (next(p) != 0 || expect_kw(p, "FROM") != 0 || parse_table(p, s, 1) != 0 ||
            parse_where(p, s, 1) != 0)
            return -1;
        return parse_returning(p, s);
    }
    if (is_kw(p, "EXISTS")) {
        s->kind = PQ_EXISTS;
        if (next(p) != 0 || expect_punct(p, "(") != 0 || expect_kw(p, "SELECT") != 0 ||
            parse_select(p, s) != 0)
            return -1;
        s->kind = PQ_EXISTS;
        return expect_punct(p, ")");
    }
    return fail(p, "Expected data manipulation");
}

int pq_parse(const char *text, const cJSON *params, pq_stmt **out, tp_error *err)
{
    *out = NULL;
    parser p = {.src = text ? text : "", .len = text ? strlen(text) : 0, .err = err,
                .vpath = "root"};
    p.params = params;
    p.next_param = cJSON_IsArray(params) ? params->child : NULL;
    pq_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
    int rc = next(&p);
    if (rc == 0)
        rc = parse_statement(&p, s);
    if (rc == 0 && p.cur.kind != T_END)
        rc = fail(&p, "Unexpected token after expression"); /* recorded on DynamoDB */
    free(p.cur.text);
    if (rc != 0 || p.failed) {
        pq_stmt_free(s);
        return -1;
    }
    s->nparams = p.nparams;
    int given = cJSON_IsArray(params) ? cJSON_GetArraySize(params) : 0;
    if (given != p.nparams) {
        pq_stmt_free(s);
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Number of parameters in request and statement don't match.");
    }
    *out = s;
    return 0;
}

size_t pq_conjuncts(pq_node *n, pq_node ***terms)
{
    *terms = NULL;
    if (!n)
        return 0;
    if (n->kind != PQN_AND) {
        *terms = malloc(sizeof **terms);
        if (!*terms)
            return 0;
        (*terms)[0] = n;
        return 1;
    }
    size_t total = 0;
    pq_node **all = NULL;
    for (size_t i = 0; i < n->nkids; i++) {
        pq_node **sub;
        size_t k = pq_conjuncts(n->kids[i], &sub);
        pq_node **grown = realloc(all, (total + k + 1) * sizeof *grown);
        if (!grown) {
            free(sub);
            free(all);
            return 0;
        }
        all = grown;
        memcpy(all + total, sub, k * sizeof *sub);
        total += k;
        free(sub);
    }
    *terms = all;
    return total;
}

int pq_is_attr(const pq_node *n, const char *attr)
{
    return n && n->kind == PQN_PATH && n->npath == 1 && n->path[0].name &&
           strcmp(n->path[0].name, attr) == 0;
}
