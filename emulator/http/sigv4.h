/* http/sigv4 — who is calling: the SigV4 credential scope.
 *
 * tidepool accepts any secret key (it does not verify signatures) but reads
 * the access key and region from the Authorization header, so each access
 * key gets its own account and resources stay isolated between test suites.
 * The header checks and their messages are AWS's front-end ones. */
#ifndef TP_HTTP_SIGV4_H
#define TP_HTTP_SIGV4_H

#include <stddef.h>

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

#endif
