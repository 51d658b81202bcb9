/* dynamodb/expr/lexer — tokens, document paths, deferred semantic errors
 * and the ExpressionAttributeNames/Values bookkeeping every expression
 * parser shares. See lexer.h for the rules AWS's messages follow. */
#include "lexer.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"

/* AWS's reserved words (developer guide, "Reserved words in DynamoDB";
 * the same 573 dynalite carries), sorted for bsearch. */
static const char *const reserved_words[] = {
    "ABORT", "ABSOLUTE", "ACTION", "ADD", "AFTER", "AGENT", "AGGREGATE", "ALL", "ALLOCATE",
    "ALTER", "ANALYZE", "AND", "ANY", "ARCHIVE", "ARE", "ARRAY", "AS", "ASC", "ASCII",
    "ASENSITIVE", "ASSERTION", "ASYMMETRIC", "AT", "ATOMIC", "ATTACH", "ATTRIBUTE", "AUTH",
    "AUTHORIZATION", "AUTHORIZE", "AUTO", "AVG", "BACK", "BACKUP", "BASE", "BATCH", "BEFORE",
    "BEGIN", "BETWEEN", "BIGINT", "BINARY", "BIT", "BLOB", "BLOCK", "BOOLEAN", "BOTH",
    "BREADTH", "BUCKET", "BULK", "BY", "BYTE", "CALL", "CALLED", "CALLING", "CAPACITY",
    "CASCADE", "CASCADED", "CASE", "CAST", "CATALOG", "CHAR", "CHARACTER", "CHECK", "CLASS",
    "CLOB", "CLOSE", "CLUSTER", "CLUSTERED", "CLUSTERING", "CLUSTERS", "COALESCE", "COLLATE",
    "COLLATION", "COLLECTION", "COLUMN", "COLUMNS", "COMBINE", "COMMENT", "COMMIT", "COMPACT",
    "COMPILE", "COMPRESS", "CONDITION", "CONFLICT", "CONNECT", "CONNECTION", "CONSISTENCY",
    "CONSISTENT", "CONSTRAINT", "CONSTRAINTS", "CONSTRUCTOR", "CONSUMED", "CONTINUE", "CONVERT",
    "COPY", "CORRESPONDING", "COUNT", "COUNTER", "CREATE", "CROSS", "CUBE", "CURRENT", "CURSOR",
    "CYCLE", "DATA", "DATABASE", "DATE", "DATETIME", "DAY", "DEALLOCATE", "DEC", "DECIMAL",
    "DECLARE", "DEFAULT", "DEFERRABLE", "DEFERRED", "DEFINE", "DEFINED", "DEFINITION", "DELETE",
    "DELIMITED", "DEPTH", "DEREF", "DESC", "DESCRIBE", "DESCRIPTOR", "DETACH", "DETERMINISTIC",
    "DIAGNOSTICS", "DIRECTORIES", "DISABLE", "DISCONNECT", "DISTINCT", "DISTRIBUTE", "DO",
    "DOMAIN", "DOUBLE", "DROP", "DUMP", "DURATION", "DYNAMIC", "EACH", "ELEMENT", "ELSE",
    "ELSEIF", "EMPTY", "ENABLE", "END", "EQUAL", "EQUALS", "ERROR", "ESCAPE", "ESCAPED", "EVAL",
    "EVALUATE", "EXCEEDED", "EXCEPT", "EXCEPTION", "EXCEPTIONS", "EXCLUSIVE", "EXEC", "EXECUTE",
    "EXISTS", "EXIT", "EXPLAIN", "EXPLODE", "EXPORT", "EXPRESSION", "EXTENDED", "EXTERNAL",
    "EXTRACT", "FAIL", "FALSE", "FAMILY", "FETCH", "FIELDS", "FILE", "FILTER", "FILTERING",
    "FINAL", "FINISH", "FIRST", "FIXED", "FLATTERN", "FLOAT", "FOR", "FORCE", "FOREIGN",
    "FORMAT", "FORWARD", "FOUND", "FREE", "FROM", "FULL", "FUNCTION", "FUNCTIONS", "GENERAL",
    "GENERATE", "GET", "GLOB", "GLOBAL", "GO", "GOTO", "GRANT", "GREATER", "GROUP", "GROUPING",
    "HANDLER", "HASH", "HAVE", "HAVING", "HEAP", "HIDDEN", "HOLD", "HOUR", "IDENTIFIED",
    "IDENTITY", "IF", "IGNORE", "IMMEDIATE", "IMPORT", "IN", "INCLUDING", "INCLUSIVE",
    "INCREMENT", "INCREMENTAL", "INDEX", "INDEXED", "INDEXES", "INDICATOR", "INFINITE",
    "INITIALLY", "INLINE", "INNER", "INNTER", "INOUT", "INPUT", "INSENSITIVE", "INSERT",
    "INSTEAD", "INT", "INTEGER", "INTERSECT", "INTERVAL", "INTO", "INVALIDATE", "IS",
    "ISOLATION", "ITEM", "ITEMS", "ITERATE", "JOIN", "KEY", "KEYS", "LAG", "LANGUAGE", "LARGE",
    "LAST", "LATERAL", "LEAD", "LEADING", "LEAVE", "LEFT", "LENGTH", "LESS", "LEVEL", "LIKE",
    "LIMIT", "LIMITED", "LINES", "LIST", "LOAD", "LOCAL", "LOCALTIME", "LOCALTIMESTAMP",
    "LOCATION", "LOCATOR", "LOCK", "LOCKS", "LOG", "LOGED", "LONG", "LOOP", "LOWER", "MAP",
    "MATCH", "MATERIALIZED", "MAX", "MAXLEN", "MEMBER", "MERGE", "METHOD", "METRICS", "MIN",
    "MINUS", "MINUTE", "MISSING", "MOD", "MODE", "MODIFIES", "MODIFY", "MODULE", "MONTH",
    "MULTI", "MULTISET", "NAME", "NAMES", "NATIONAL", "NATURAL", "NCHAR", "NCLOB", "NEW",
    "NEXT", "NO", "NONE", "NOT", "NULL", "NULLIF", "NUMBER", "NUMERIC", "OBJECT", "OF",
    "OFFLINE", "OFFSET", "OLD", "ON", "ONLINE", "ONLY", "OPAQUE", "OPEN", "OPERATOR", "OPTION",
    "OR", "ORDER", "ORDINALITY", "OTHER", "OTHERS", "OUT", "OUTER", "OUTPUT", "OVER",
    "OVERLAPS", "OVERRIDE", "OWNER", "PAD", "PARALLEL", "PARAMETER", "PARAMETERS", "PARTIAL",
    "PARTITION", "PARTITIONED", "PARTITIONS", "PATH", "PERCENT", "PERCENTILE", "PERMISSION",
    "PERMISSIONS", "PIPE", "PIPELINED", "PLAN", "POOL", "POSITION", "PRECISION", "PREPARE",
    "PRESERVE", "PRIMARY", "PRIOR", "PRIVATE", "PRIVILEGES", "PROCEDURE", "PROCESSED",
    "PROJECT", "PROJECTION", "PROPERTY", "PROVISIONING", "PUBLIC", "PUT", "QUERY", "QUIT",
    "QUORUM", "RAISE", "RANDOM", "RANGE", "RANK", "RAW", "READ", "READS", "REAL", "REBUILD",
    "RECORD", "RECURSIVE", "REDUCE", "REF", "REFERENCE", "REFERENCES", "REFERENCING", "REGEXP",
    "REGION", "REINDEX", "RELATIVE", "RELEASE", "REMAINDER", "RENAME", "REPEAT", "REPLACE",
    "REQUEST", "RESET", "RESIGNAL", "RESOURCE", "RESPONSE", "RESTORE", "RESTRICT", "RESULT",
    "RETURN", "RETURNING", "RETURNS", "REVERSE", "REVOKE", "RIGHT", "ROLE", "ROLES", "ROLLBACK",
    "ROLLUP", "ROUTINE", "ROW", "ROWS", "RULE", "RULES", "SAMPLE", "SATISFIES", "SAVE",
    "SAVEPOINT", "SCAN", "SCHEMA", "SCOPE", "SCROLL", "SEARCH", "SECOND", "SECTION", "SEGMENT",
    "SEGMENTS", "SELECT", "SELF", "SEMI", "SENSITIVE", "SEPARATE", "SEQUENCE", "SERIALIZABLE",
    "SESSION", "SET", "SETS", "SHARD", "SHARE", "SHARED", "SHORT", "SHOW", "SIGNAL", "SIMILAR",
    "SIZE", "SKEWED", "SMALLINT", "SNAPSHOT", "SOME", "SOURCE", "SPACE", "SPACES", "SPARSE",
    "SPECIFIC", "SPECIFICTYPE", "SPLIT", "SQL", "SQLCODE", "SQLERROR", "SQLEXCEPTION",
    "SQLSTATE", "SQLWARNING", "START", "STATE", "STATIC", "STATUS", "STORAGE", "STORE",
    "STORED", "STREAM", "STRING", "STRUCT", "STYLE", "SUB", "SUBMULTISET", "SUBPARTITION",
    "SUBSTRING", "SUBTYPE", "SUM", "SUPER", "SYMMETRIC", "SYNONYM", "SYSTEM", "TABLE",
    "TABLESAMPLE", "TEMP", "TEMPORARY", "TERMINATED", "TEXT", "THAN", "THEN", "THROUGHPUT",
    "TIME", "TIMESTAMP", "TIMEZONE", "TINYINT", "TO", "TOKEN", "TOTAL", "TOUCH", "TRAILING",
    "TRANSACTION", "TRANSFORM", "TRANSLATE", "TRANSLATION", "TREAT", "TRIGGER", "TRIM", "TRUE",
    "TRUNCATE", "TTL", "TUPLE", "TYPE", "UNDER", "UNDO", "UNION", "UNIQUE", "UNIT", "UNKNOWN",
    "UNLOGGED", "UNNEST", "UNPROCESSED", "UNSIGNED", "UNTIL", "UPDATE", "UPPER", "URL", "USAGE",
    "USE", "USER", "USERS", "USING", "UUID", "VACUUM", "VALUE", "VALUED", "VALUES", "VARCHAR",
    "VARIABLE", "VARIANCE", "VARINT", "VARYING", "VIEW", "VIEWS", "VIRTUAL", "VOID", "WAIT",
    "WHEN", "WHENEVER", "WHERE", "WHILE", "WINDOW", "WITH", "WITHIN", "WITHOUT", "WORK",
    "WRAPPED", "WRITE", "YEAR", "ZONE",
};

static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_ident_part(unsigned char c) { return is_alpha(c) || is_digit(c) || c == '_'; }
static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Bytes of the UTF-8 sequence starting at s (at least 1, at most left), so
 * that a stray non-ASCII character is quoted whole in a syntax error. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
             : (s[0] & 0xF8) == 0xF0 ? 4 : 1;
    if (n > left)
        n = left;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return i;
    return n;
}

static int push_token(ddb_lexer *lx, size_t *cap, ddb_tok_type type, size_t start, size_t len)
{
    if (lx->ntoks == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        ddb_token *t = realloc(lx->toks, ncap * sizeof *t);
        if (!t)
            return -1;
        lx->toks = t;
        *cap = ncap;
    }
    lx->toks[lx->ntoks++] = (ddb_token){type, start, len};
    return 0;
}

static ddb_tok_type punct(const unsigned char *s, size_t left, size_t *len)
{
    *len = 1;
    switch (s[0]) {
    case ',': return DDB_TOK_COMMA;
    case '.': return DDB_TOK_DOT;
    case '[': return DDB_TOK_LBRACKET;
    case ']': return DDB_TOK_RBRACKET;
    case '(': return DDB_TOK_LPAREN;
    case ')': return DDB_TOK_RPAREN;
    case '=': return DDB_TOK_EQ;
    case '+': return DDB_TOK_PLUS;
    case '-': return DDB_TOK_MINUS;
    case '<':
        if (left > 1 && s[1] == '=') {
            *len = 2;
            return DDB_TOK_LE;
        }
        if (left > 1 && s[1] == '>') {
            *len = 2;
            return DDB_TOK_NE;
        }
        return DDB_TOK_LT;
    case '>':
        if (left > 1 && s[1] == '=') {
            *len = 2;
            return DDB_TOK_GE;
        }
        return DDB_TOK_GT;
    default:
        *len = utf8_len(s, left);
        return DDB_TOK_INVALID;
    }
}

int ddb_lexer_init(ddb_lexer *lx, const char *kind, const char *src, size_t len,
                   const cJSON *names, tp_error *err)
{
    memset(lx, 0, sizeof *lx);
    lx->kind = kind;
    lx->src = src;
    lx->len = len;
    lx->names = names;
    const unsigned char *s = (const unsigned char *)src;
    size_t cap = 0, i = 0;
    while (i < len) {
        if (is_space(s[i])) {
            i++;
            continue;
        }
        size_t start = i;
        ddb_tok_type type;
        if ((s[i] == '#' || s[i] == ':') && i + 1 < len && is_ident_part(s[i + 1])) {
            type = s[i] == '#' ? DDB_TOK_NAMEREF : DDB_TOK_VALUEREF;
            for (i++; i < len && is_ident_part(s[i]); i++)
                ;
        } else if (is_alpha(s[i]) || s[i] == '_') {
            type = DDB_TOK_NAME;
            for (i++; i < len && is_ident_part(s[i]); i++)
                ;
        } else if (is_digit(s[i])) {
            /* A list index has no leading zeros: "01" is "0" then "1", and
             * the parser trips over the second. */
            type = DDB_TOK_NUMBER;
            if (s[i++] != '0')
                for (; i < len && is_digit(s[i]); i++)
                    ;
        } else {
            size_t n;
            type = punct(s + i, len - i, &n);
            i += n;
        }
        if (push_token(lx, &cap, type, start, i - start) != 0)
            goto oom;
    }
    if (push_token(lx, &cap, DDB_TOK_EOF, len, 0) != 0)
        goto oom;
    return 0;
oom:
    ddb_lexer_free(lx);
    return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
}

void ddb_lexer_free(ddb_lexer *lx)
{
    free(lx->toks);
    for (size_t i = 0; i < lx->nused; i++)
        free(lx->used[i]);
    free(lx->used);
    lx->toks = NULL;
    lx->used = NULL;
    lx->ntoks = lx->nused = lx->capused = 0;
}

const ddb_token *ddb_lex_peek(const ddb_lexer *lx)
{
    return &lx->toks[lx->pos];
}

const ddb_token *ddb_lex_next(ddb_lexer *lx)
{
    const ddb_token *t = &lx->toks[lx->pos];
    if (t->type != DDB_TOK_EOF)
        lx->pos++;
    return t;
}

int ddb_lex_accept(ddb_lexer *lx, ddb_tok_type t)
{
    if (ddb_lex_peek(lx)->type != t)
        return 0;
    ddb_lex_next(lx);
    return 1;
}

int ddb_lex_is_word(const ddb_lexer *lx, const ddb_token *tok, const char *word)
{
    return tok->type == DDB_TOK_NAME && strlen(word) == tok->len &&
           strncasecmp(lx->src + tok->start, word, tok->len) == 0;
}

int ddb_lex_syntax_error(const ddb_lexer *lx, tp_error *err)
{
    size_t i = lx->pos;
    const ddb_token *t = &lx->toks[i];
    size_t start = i > 0 ? lx->toks[i - 1].start : t->start;
    size_t end;
    if (t->type == DDB_TOK_EOF)
        end = lx->len;
    else if (lx->toks[i + 1].type == DDB_TOK_EOF)
        end = lx->len;
    else
        end = lx->toks[i + 1].start + lx->toks[i + 1].len;
    if (t->type == DDB_TOK_EOF)
        return tp_fail(err, TP_ERR_VALIDATION,
                       "Invalid %s: Syntax error; token: \"<EOF>\", near: \"%.*s\"", lx->kind,
                       (int)(end - start), lx->src + start);
    return tp_fail(err, TP_ERR_VALIDATION,
                   "Invalid %s: Syntax error; token: \"%.*s\", near: \"%.*s\"",
                   lx->kind, (int)t->len, lx->src + t->start, (int)(end - start),
                   lx->src + start);
}

void ddb_lexer_defer(ddb_lexer *lx, int rank, const char *fmt, ...)
{
    if (lx->sem_rank != DDB_SEM_NONE && lx->sem_rank <= rank)
        return;
    lx->sem_rank = rank;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->sem_msg, sizeof lx->sem_msg, fmt, ap);
    va_end(ap);
}

int ddb_lexer_finish(const ddb_lexer *lx, tp_error *err)
{
    if (lx->sem_rank == DDB_SEM_NONE)
        return 0;
    return tp_fail(err, TP_ERR_VALIDATION, "Invalid %s: %s", lx->kind, lx->sem_msg);
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int note_used(ddb_lexer *lx, const char *key)
{
    for (size_t i = 0; i < lx->nused; i++)
        if (strcmp(lx->used[i], key) == 0)
            return 0;
    if (lx->nused == lx->capused) {
        size_t ncap = lx->capused ? lx->capused * 2 : 8;
        char **u = realloc(lx->used, ncap * sizeof *u);
        if (!u)
            return -1;
        lx->used = u;
        lx->capused = ncap;
    }
    if (!(lx->used[lx->nused] = strdup(key)))
        return -1;
    lx->nused++;
    return 0;
}

/* The map key a NAME or NAMEREF token stands for; owned by the caller.
 * An undefined #name keeps its own spelling so the path stays whole while
 * the error waits for the end of the parse. */
static char *element_name(ddb_lexer *lx, const ddb_token *t)
{
    const char *text = lx->src + t->start;
    if (t->type == DDB_TOK_NAME) {
        if (ddb_expr_is_reserved(text, t->len))
            ddb_lexer_defer(lx, DDB_SEM_RESERVED,
                            "Attribute name is a reserved keyword; reserved keyword: %.*s",
                            (int)t->len, text);
        return dup_n(text, t->len);
    }
    char *key = dup_n(text, t->len);
    if (!key)
        return NULL;
    const cJSON *v = lx->names ? cJSON_GetObjectItemCaseSensitive(lx->names, key) : NULL;
    if (!cJSON_IsString(v)) {
        ddb_lexer_defer(lx, DDB_SEM_UNDEFINED_NAME,
                        "An expression attribute name used in the document path is not "
                        "defined; attribute name: %s",
                        key);
        return key;
    }
    if (note_used(lx, key) != 0) {
        free(key);
        return NULL;
    }
    free(key);
    return strdup(v->valuestring);
}

static int path_push(ddb_path *p, size_t *cap, char *name, uint32_t index)
{
    if (p->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        ddb_path_elem *e = realloc(p->elems, ncap * sizeof *e);
        if (!e)
            return -1;
        p->elems = e;
        *cap = ncap;
    }
    p->elems[p->n++] = (ddb_path_elem){name, index};
    return 0;
}

/* Reads a NUMBER token as a list index. Past the allowed range the error
 * waits for the end of the parse and the index saturates. */
static uint32_t read_index(ddb_lexer *lx, const ddb_token *t)
{
    const char *text = lx->src + t->start;
    unsigned long long v = 0;
    int over = t->len > 10;
    for (size_t i = 0; !over && i < t->len; i++)
        v = v * 10 + (unsigned)(text[i] - '0');
    if (over || v > DDB_PATH_MAX_INDEX) {
        ddb_lexer_defer(lx, DDB_SEM_INDEX_RANGE,
                        "List index is not within the allowable range; index: [%.*s]",
                        (int)t->len, text);
        return DDB_PATH_MAX_INDEX;
    }
    return (uint32_t)v;
}

int ddb_lex_parse_path(ddb_lexer *lx, ddb_path *out, tp_error *err)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    const ddb_token *t = ddb_lex_peek(lx);
    if (t->type != DDB_TOK_NAME && t->type != DDB_TOK_NAMEREF)
        return ddb_lex_syntax_error(lx, err);
    for (;;) {
        /* here t is a NAME or NAMEREF at the cursor */
        ddb_lex_next(lx);
        char *name = element_name(lx, t);
        if (!name || path_push(out, &cap, name, 0) != 0) {
            free(name);
            goto oom;
        }
        for (;;) {
            if (ddb_lex_peek(lx)->type != DDB_TOK_LBRACKET)
                break;
            ddb_lex_next(lx);
            t = ddb_lex_peek(lx);
            if (t->type != DDB_TOK_NUMBER)
                goto syntax;
            ddb_lex_next(lx);
            uint32_t ix = read_index(lx, t);
            if (ddb_lex_peek(lx)->type != DDB_TOK_RBRACKET)
                goto syntax;
            ddb_lex_next(lx);
            if (path_push(out, &cap, NULL, ix) != 0)
                goto oom;
        }
        if (ddb_lex_peek(lx)->type != DDB_TOK_DOT)
            break;
        ddb_lex_next(lx);
        t = ddb_lex_peek(lx);
        if (t->type != DDB_TOK_NAME && t->type != DDB_TOK_NAMEREF)
            goto syntax;
    }
    if (out->n > DDB_PATH_MAX_DEPTH)
        ddb_lexer_defer(lx, DDB_SEM_PATH_DEPTH,
                        "The document path has too many nesting levels; nesting levels: %zu",
                        out->n);
    return 0;
syntax:
    ddb_path_free(out);
    return ddb_lex_syntax_error(lx, err);
oom:
    ddb_path_free(out);
    return tp_fail(err, TP_ERR_INTERNAL, "out of memory");
}

void ddb_path_free(ddb_path *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->elems[i].name);
    free(p->elems);
    p->elems = NULL;
    p->n = 0;
}

void ddb_path_format(const ddb_path *p, tp_buf *buf)
{
    tp_buf_puts(buf, "[");
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            tp_buf_puts(buf, ", ");
        if (p->elems[i].name)
            tp_buf_puts(buf, p->elems[i].name);
        else
            tp_buf_printf(buf, "[%u]", (unsigned)p->elems[i].index);
    }
    tp_buf_puts(buf, "]");
}

static int cmp_word(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

int ddb_expr_is_reserved(const char *word, size_t len)
{
    char up[32];
    if (len == 0 || len >= sizeof up)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = word[i];
        up[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    up[len] = '\0';
    return bsearch(up, reserved_words, sizeof reserved_words / sizeof reserved_words[0],
                   sizeof reserved_words[0], cmp_word) != NULL;
}

int ddb_expr_check_map_keys(const cJSON *map, const char *param, char sigil, tp_error *err)
{
    if (!map)
        return 0;
    if (!map->child)
        return tp_fail(err, TP_ERR_VALIDATION, "%s must not be empty", param);
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        const unsigned char *k = (const unsigned char *)(e->string ? e->string : "");
        int ok = k[0] == (unsigned char)sigil && k[1] != '\0';
        for (size_t i = 1; ok && k[i]; i++)
            ok = is_ident_part(k[i]);
        if (!ok)
            return tp_fail(err, TP_ERR_VALIDATION,
                           "%s contains invalid key: Syntax error; key: \"%s\"", param,
                           (const char *)k);
    }
    return 0;
}

int ddb_expr_check_unused(const cJSON *map, const char *param, const char *const *used,
                          size_t nused, tp_error *err)
{
    if (!map)
        return 0;
    tp_buf keys;
    tp_buf_init(&keys);
    const cJSON *e;
    cJSON_ArrayForEach(e, map)
    {
        if (!e->string)
            continue;
        size_t i = 0;
        while (i < nused && strcmp(used[i], e->string) != 0)
            i++;
        if (i < nused)
            continue;
        if (keys.len)
            tp_buf_puts(&keys, ", ");
        tp_buf_puts(&keys, e->string);
    }
    int rc = 0;
    if (keys.len)
        rc = tp_fail(err, TP_ERR_VALIDATION,
                     "Value provided in %s unused in expressions: keys: {%s}", param, keys.data);
    tp_buf_free(&keys);
    return rc;
}
