/* http/sigv4 — who is calling: the SigV4 credential scope.
 *
 * By default tidepool accepts any secret key (it does not verify
 * signatures; `serve --verify-signatures` does, tp_sigv4_verify) but reads
 * the access key and region from the Authorization header, so each access
 * key gets its own account and resources stay isolated between test suites.
 * The header checks and their messages are AWS's front-end ones. */
#ifndef TP_HTTP_SIGV4_H
#define TP_HTTP_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct tp_scope {
    char access_key[128];
    char date[16];
    char region[64];
    char service[64];
} tp_scope;

/* Parses the Authorization header (date_header: X-Amz-Date or Date, may be
 * NULL). Returns 0 with scope filled; -1 with err set:
 * MissingAuthenticationTokenException when absent or not AWS4-*,
 * IncompleteSignatureException when parts are missing. */
int tp_sigv4_parse(const char *authorization, const char *date_header, tp_scope *scope,
                   tp_error *err);

/* --- optional signature verification (serve --verify-signatures) --------
 * The request as the signer saw it. header(): a header's value by name
 * (case-insensitive), NULL when absent. query: the URL's arguments as
 * decoded key/value pairs. payload_hash: hex SHA-256 of the body bytes as
 * sent (before any Content-Encoding is undone). */
typedef struct tp_sigv4_request {
    const char *method;
    const char *path;                 /* decoded, as the server saw it */
    const char *const *query_keys, *const *query_values;
    size_t nquery;
    const char *(*header)(void *ctx, const char *name);
    void *header_ctx;
    const char *payload_hash;
} tp_sigv4_request;

/* Checks the Authorization header's signature with secret, and its
 * X-Amz-Date against now_ms (15 minutes either way). 0 when it matches;
 * -1 with InvalidSignatureException (AWS's "does not match" or "Signature
 * expired: ..." / "Signature not yet current: ..." wording). */
/* The hex signature of rq signed with secret (see sigv4.c). */
void tp_sigv4_sign(const tp_sigv4_request *rq, const char *signed_headers, const char *amz_date,
                   const char *scope, const char *secret, char out[65]);

int tp_sigv4_verify(const tp_sigv4_request *rq, const char *authorization, const char *secret,
                    int64_t now_ms, tp_error *err);

#endif
