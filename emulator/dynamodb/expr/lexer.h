/* dynamodb/expr/lexer — the tokens, document paths and error wording that
 * every DynamoDB expression shares (projection now; condition, filter, key
 * condition and update expressions later).
 *
 * The whole expression is tokenised up front because AWS's syntax errors
 * name the offending token and quote its neighbours:
 *   Invalid <Kind>: Syntax error; token: "<tok>", near: "<prev tok next>"
 * where "near" is the source text from the start of the token before the
 * offending one to the end of the token after it (EOF reads as "<EOF>" and
 * ends at the end of the input), e.g. "a b" -> token "b", near "a b";
 * "a," -> token "<EOF>", near ","; "!!!" -> token "!", near "!!".
 *
 * Semantic errors (reserved word, undefined #name, list index range, path
 * depth) are only reported once the whole expression parsed, as AWS does:
 * "abort," is a syntax error, not a reserved-word error. The lexer keeps the
 * most important one seen so far (ddb_lexer_defer). Where the parser stops
 * is the caller's business: this module knows no grammar beyond paths. */
#ifndef TP_DDB_EXPR_LEXER_H
#define TP_DDB_EXPR_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct cJSON cJSON;

/* Longest expression AWS accepts, in bytes as sent (aliases unexpanded). */
#define DDB_EXPR_MAX_BYTES 4096
/* Deepest document path: the attribute itself counts as level 1. */
#define DDB_PATH_MAX_DEPTH 32
/* Highest list index AWS accepts in a path. */
#define DDB_PATH_MAX_INDEX 4294967294u

typedef enum ddb_tok_type {
    DDB_TOK_EOF,
    DDB_TOK_NAME,     /* [A-Za-z_][A-Za-z0-9_]* : attribute name or keyword */
    DDB_TOK_NAMEREF,  /* #[A-Za-z0-9_]+ */
    DDB_TOK_VALUEREF, /* :[A-Za-z0-9_]+ */
    DDB_TOK_NUMBER,   /* 0 | [1-9][0-9]* (list indexes) */
    DDB_TOK_COMMA,
    DDB_TOK_DOT,
    DDB_TOK_LBRACKET,
    DDB_TOK_RBRACKET,
    DDB_TOK_LPAREN,
    DDB_TOK_RPAREN,
    DDB_TOK_EQ,       /* = */
    DDB_TOK_NE,       /* <> */
    DDB_TOK_LT,
    DDB_TOK_LE,
    DDB_TOK_GT,
    DDB_TOK_GE,
    DDB_TOK_PLUS,
    DDB_TOK_MINUS,
    DDB_TOK_INVALID,  /* one character (one UTF-8 sequence) nothing else takes */
} ddb_tok_type;

typedef struct ddb_token {
    ddb_tok_type type;
    size_t start, len; /* byte span in the source; EOF starts at its end */
} ddb_token;

/* Deferred semantic errors, most important first: when several are found,
 * the one with the lowest rank (then the earliest) is reported. Parsers may
 * add their own ranks after DDB_SEM_PATH_DEPTH. */
enum {
    DDB_SEM_NONE = 0,
    DDB_SEM_RESERVED,
    DDB_SEM_INDEX_RANGE,
    DDB_SEM_UNDEFINED_NAME,
    DDB_SEM_PATH_DEPTH,
    DDB_SEM_PARSER_BASE,
};

typedef struct ddb_lexer {
    const char *kind;        /* "ProjectionExpression", ... for messages */
    const char *src;
    size_t len;
    ddb_token *toks;         /* ends with one DDB_TOK_EOF */
    size_t ntoks, pos;
    const cJSON *names;      /* ExpressionAttributeNames, or NULL */
    char **used;             /* #name keys resolved so far (owned, no repeats) */
    size_t nused, capused;
    int sem_rank;            /* DDB_SEM_NONE while no semantic error */
    char sem_msg[512];
} ddb_lexer;

/* One step of a document path: a map key (name != NULL, resolved through
 * ExpressionAttributeNames, owned) or a list index. */
typedef struct ddb_path_elem {
    char *name;
    uint32_t index;
} ddb_path_elem;

typedef struct ddb_path {
    ddb_path_elem *elems;
    size_t n;
} ddb_path;

/* Tokenises src (len bytes). kind names the parameter in error messages.
 * Fails only on memory exhaustion; bad characters become DDB_TOK_INVALID so
 * that the parser reports them with AWS's syntax-error wording. */
int ddb_lexer_init(ddb_lexer *lx, const char *kind, const char *src, size_t len,
                   const cJSON *names, tp_error *err);
void ddb_lexer_free(ddb_lexer *lx);

const ddb_token *ddb_lex_peek(const ddb_lexer *lx);
const ddb_token *ddb_lex_next(ddb_lexer *lx);
/* Consumes the next token when it has type t; returns whether it did. */
int ddb_lex_accept(ddb_lexer *lx, ddb_tok_type t);
/* 1 when tok is a NAME spelling word, case-insensitively (keywords). */
int ddb_lex_is_word(const ddb_lexer *lx, const ddb_token *tok, const char *word);

/* Fails with "Invalid <kind>: Syntax error; token: ..., near: ..." at the
 * token the cursor is on (the next one ddb_lex_next would return). */
int ddb_lex_syntax_error(const ddb_lexer *lx, tp_error *err);
/* Records a semantic error to report after parsing; keeps the best-ranked. */
void ddb_lexer_defer(ddb_lexer *lx, int rank, const char *fmt, ...) TP_PRINTF(3, 4);
/* After a successful parse: fails with the deferred error, if any, as
 * "Invalid <kind>: <message>". */
int ddb_lexer_finish(const ddb_lexer *lx, tp_error *err);

/* Parses a document path at the cursor: (NAME | NAMEREF) ( '.' (NAME |
 * NAMEREF) | '[' NUMBER ']' )*. Syntax errors fail at once; reserved words,
 * undefined #names, list indexes past DDB_PATH_MAX_INDEX and paths deeper
 * than DDB_PATH_MAX_DEPTH are deferred. #names used are recorded. */
int ddb_lex_parse_path(ddb_lexer *lx, ddb_path *out, tp_error *err);
void ddb_path_free(ddb_path *p);
/* AWS's rendering in messages: a.b[1] -> "[a, b, [1]]". Appends to buf. */
void ddb_path_format(const ddb_path *p, tp_buf *buf);

/* 1 when word (len bytes) is a DynamoDB reserved word, any case. */
int ddb_expr_is_reserved(const char *word, size_t len);

/* Request-level checks of ExpressionAttributeNames (param
 * "ExpressionAttributeNames", sigil '#') or ExpressionAttributeValues
 * (":"): "<param> must not be empty", "<param> contains invalid key: Syntax
 * error; key: \"k\"". NULL map passes. */
int ddb_expr_check_map_keys(const cJSON *map, const char *param, char sigil, tp_error *err);
/* Fails with "Value provided in <param> unused in expressions: keys: {#a,
 * #b}" for the keys of map not in used[0..nused) (the union over every
 * expression of the request). Keys are listed in the map's order. */
int ddb_expr_check_unused(const cJSON *map, const char *param, const char *const *used,
                          size_t nused, tp_error *err);

#endif
