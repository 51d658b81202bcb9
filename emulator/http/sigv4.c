/* http/sigv4 — credential scope from the Authorization header (sigv4.h). */
#include "sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/hash.h"

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

/* --- verification ----------------------------------------------------------- */

/* RFC 3986 encoding as SigV4 wants it: unreserved characters as they are,
 * everything else %XX (upper case); '/' kept when keep_slash. */
static void uri_encode(tp_buf *b, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
            (keep_slash && *p == '/')) {
            tp_buf_append(b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            tp_buf_append(b, e, 3);
        }
    }
}

typedef struct qpair {
    char *k, *v;   /* encoded */
} qpair;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static char *encoded(const char *s)
{
    tp_buf b;
    tp_buf_init(&b);
    uri_encode(&b, s ? s : "", 0);
    tp_buf_append(&b, "", 1);
    return b.data;   /* owned; NULL only when out of memory */
}

static void canonical_query(tp_buf *out, const tp_sigv4_request *rq)
{
    qpair *q = rq->nquery ? calloc(rq->nquery, sizeof *q) : NULL;
    size_t n = 0;
    for (size_t i = 0; q && i < rq->nquery; i++) {
        if (strcmp(rq->query_keys[i], "X-Amz-Signature") == 0)
            continue;
        q[n].k = encoded(rq->query_keys[i]);
        q[n].v = encoded(rq->query_values[i]);
        if (q[n].k && q[n].v)
            n++;
    }
    if (n > 1)   /* qsort of a NULL array is undefined even for n == 0 */
        qsort(q, n, sizeof *q, qpair_cmp);
    for (size_t i = 0; i < n; i++)
        tp_buf_printf(out, "%s%s=%s", i ? "&" : "", q[i].k, q[i].v);
    for (size_t i = 0; q && i < rq->nquery; i++) {
        free(q[i].k);
        free(q[i].v);
    }
    free(q);
}

/* A header value as SigV4 canonicalises it: trimmed, inner runs of spaces
 * collapsed to one. */
static void trimmed(tp_buf *out, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    int space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = 1;
            continue;
        }
        if (space)
            tp_buf_append(out, " ", 1);
        space = 0;
        tp_buf_append(out, v, 1);
    }
}

/* "20240101T000000Z" -> epoch ms; -1 when malformed. */
static int64_t amz_date_ms(const char *d)
{
    int Y, M, D, h, m, s;
    char z = 0;
    if (!d || strlen(d) != 16 || sscanf(d, "%4d%2d%2dT%2d%2d%2d%c", &Y, &M, &D, &h, &m, &s, &z) != 7 ||
        z != 'Z' || M < 1 || M > 12 || D < 1 || D > 31)
        return -1;
    /* days from civil (proleptic Gregorian) */
    int y = Y - (M <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    return ((days * 86400) + h * 3600 + m * 60 + s) * 1000;
}

static void amz_date_of(int64_t ms, char out[17])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

#define SKEW_MS (15 * 60 * 1000)

/* The signature (hex) of the request as rq describes it, over the
 * headers named in signed_headers: the canonical request, the string to
 * sign and the derived key, as SigV4 defines them. scope is
 * "DATE/REGION/SERVICE/aws4_request". Shared by verification and by
 * signers (tidepool's C runtime for AWS Lambda). */
void tp_sigv4_sign(const tp_sigv4_request *rq, const char *signed_headers, const char *amz_date,
                   const char *scope, const char *secret, char out[65])
{
    char date[16] = "", region[64] = "", service[64] = "";
    sscanf(scope, "%15[^/]/%63[^/]/%63[^/]", date, region, service);
    tp_buf cr, sts;
    tp_buf_init(&cr);
    tp_buf_init(&sts);
    tp_buf_printf(&cr, "%s\n", rq->method);
    tp_buf path;
    tp_buf_init(&path);
    uri_encode(&path, rq->path && *rq->path ? rq->path : "/", 1);
    tp_buf_append(&path, "", 1);
    /* Not S3: the path is encoded once more (what the client sent was
     * already encoded; the server saw it decoded). */
    uri_encode(&cr, path.data, 1);
    tp_buf_free(&path);
    tp_buf_append(&cr, "\n", 1);
    canonical_query(&cr, rq);
    tp_buf_append(&cr, "\n", 1);
    char names[512];
    snprintf(names, sizeof names, "%s", signed_headers);
    char *save = NULL;
    for (char *h = strtok_r(names, ";", &save); h; h = strtok_r(NULL, ";", &save)) {
        const char *v = rq->header(rq->header_ctx, h);
        tp_buf_printf(&cr, "%s:", h);
        trimmed(&cr, v ? v : "");
        tp_buf_append(&cr, "\n", 1);
    }
    const char *content_sha = rq->header(rq->header_ctx, "X-Amz-Content-Sha256");
    tp_buf_printf(&cr, "\n%s\n%s", signed_headers,
                  content_sha && *content_sha ? content_sha : rq->payload_hash);
    char cr_hash[65];
    tp_sha256_hex(cr.data ? cr.data : "", cr.len, cr_hash);
    tp_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, cr_hash);

    unsigned char k[32];
    tp_buf key;
    tp_buf_init(&key);
    tp_buf_printf(&key, "AWS4%s", secret);
    tp_hmac_sha256(key.data, key.len, date, strlen(date), k);
    tp_buf_free(&key);
    tp_hmac_sha256(k, 32, region, strlen(region), k);
    tp_hmac_sha256(k, 32, service, strlen(service), k);
    tp_hmac_sha256(k, 32, "aws4_request", 12, k);
    unsigned char sig[32];
    tp_hmac_sha256(k, 32, sts.data ? sts.data : "", sts.len, sig);
    tp_hex(sig, 32, out);
    tp_buf_free(&cr);
    tp_buf_free(&sts);
}

int tp_sigv4_verify(const tp_sigv4_request *rq, const char *authorization, const char *secret,
                    int64_t now_ms, tp_error *err)
{
    static const char mismatch[] =
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for "
        "details.";
    const char *a = authorization ? authorization : "";
    const char *params = strchr(a, ' ');
    params = params ? params : a + strlen(a);
    char credential[512] = "", signature[256] = "", signed_headers[512] = "";
    param(params, "Credential", credential, sizeof credential);
    param(params, "Signature", signature, sizeof signature);
    param(params, "SignedHeaders", signed_headers, sizeof signed_headers);
    const char *amz_date = rq->header(rq->header_ctx, "X-Amz-Date");
    int64_t t = amz_date_ms(amz_date);
    if (t < 0)
        return tp_fail(err, TP_ERR_INVALID_SIGNATURE, "%s", mismatch);
    char now_s[17], edge_s[17];
    amz_date_of(now_ms, now_s);
    if (t < now_ms - SKEW_MS) {
        amz_date_of(now_ms - SKEW_MS, edge_s);
        return tp_fail(err, TP_ERR_INVALID_SIGNATURE,
                       "Signature expired: %s is now earlier than %s (%s - 15 min.)", amz_date,
                       edge_s, now_s);
    }
    if (t > now_ms + SKEW_MS) {
        amz_date_of(now_ms + SKEW_MS, edge_s);
        return tp_fail(err, TP_ERR_INVALID_SIGNATURE,
                       "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                       amz_date, edge_s, now_s); /* unverified wording */
    }
    /* the credential scope: everything after the access key */
    const char *scope = strchr(credential, '/');
    scope = scope ? scope + 1 : "";
    char want[65];
    tp_sigv4_sign(rq, signed_headers, amz_date, scope, secret, want);
    if (strcmp(want, signature) != 0)
        return tp_fail(err, TP_ERR_INVALID_SIGNATURE, "%s", mismatch);
    return 0;
}
