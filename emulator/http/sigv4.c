/* http/sigv4 — credential scope from the Authorization header (sigv4.h). */
#include "sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Finds "Name=value" among the comma/space separated parameters after the
 * algorithm; copies value (up to the next comma) into out. */
static int param(const char *params, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = params;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t vlen = len - n - 1;
            while (vlen && p[n + 1 + vlen - 1] == ' ')
                vlen--;
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(out, p + n + 1, vlen);
            out[vlen] = '\0';
            return vlen > 0;
        }
        p += len;
    }
    return 0;
}

int tp_sigv4_parse(const char *authorization, const char *date_header, tp_scope *scope,
                   tp_error *err)
{
    memset(scope, 0, sizeof *scope);
    const char *a = authorization;
    while (a && isspace((unsigned char)*a))
        a++;
    if (!a || strncmp(a, "AWS4-", 5) != 0)
        return tp_fail(err, TP_ERR_MISSING_AUTH, "Request is missing Authentication Token");
    const char *params = strchr(a, ' ');
    params = params ? params : a + strlen(a);

    char credential[512] = "", signature[256] = "", signed_headers[512] = "";
    int has_cred = param(params, "Credential", credential, sizeof credential);
    int has_sig = param(params, "Signature", signature, sizeof signature);
    int has_sh = param(params, "SignedHeaders", signed_headers, sizeof signed_headers);
    char msg[TP_ERROR_MESSAGE_MAX];
    size_t m = 0;
    msg[0] = '\0';
    if (!has_cred)
        m += (size_t)snprintf(msg + m, sizeof msg - m,
                              "Authorization header requires 'Credential' parameter. ");
    if (!has_sig && m < sizeof msg)
        m += (size_t)snprintf(msg + m, sizeof msg - m,
                              "Authorization header requires 'Signature' parameter. ");
    if (!has_sh && m < sizeof msg)
        m += (size_t)snprintf(msg + m, sizeof msg - m,
                              "Authorization header requires 'SignedHeaders' parameter. ");
    if ((!date_header || !*date_header) && m < sizeof msg)
        m += (size_t)snprintf(msg + m, sizeof msg - m,
                              "Authorization header requires existence of either a "
                              "'X-Amz-Date' or a 'Date' header. ");
    if (m)
        return tp_fail(err, TP_ERR_INCOMPLETE_SIGNATURE, "%.3000sAuthorization=%.900s", msg,
                       authorization);

    /* keyid/date/region/service/aws4_request; trailing slashes are ignored. */
    char cred_text[512];
    snprintf(cred_text, sizeof cred_text, "%s", credential);
    char *parts[5] = {0};
    int nparts = 0;
    char *save = NULL;
    for (char *t = strtok_r(credential, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (nparts < 5)
            parts[nparts] = t;
        nparts++;
    }
    if (nparts != 5)
        return tp_fail(err, TP_ERR_INCOMPLETE_SIGNATURE,
                       "Credential must have exactly 5 slash-delimited elements, e.g. "
                       "keyid/date/region/service/term, got '%.400s'",
                       cred_text);
    snprintf(scope->access_key, sizeof scope->access_key, "%s", parts[0]);
    snprintf(scope->date, sizeof scope->date, "%s", parts[1]);
    snprintf(scope->region, sizeof scope->region, "%s", parts[2]);
    snprintf(scope->service, sizeof scope->service, "%s", parts[3]);
    return 0;
}
