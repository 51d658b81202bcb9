/* http/surface — CORS, compression, health line, presigned scope (surface.h). */
#include "surface.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "core/error.h"

/* What AWS's JSON front ends expose, plus the headers tidepool's APIs
 * answer with that an SDK in a browser reads (CRC32 on DynamoDB, the query
 * error code on SQS's JSON protocol, Lambda's function error). */
#define EXPOSE_HEADERS                                                                          \
    "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date,x-amz-crc32,"                 \
    "x-amzn-query-error,X-Amz-Function-Error,X-Amz-Log-Result,X-Amz-Executed-Version"

void tp_http_cors_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "Access-Control-Expose-Headers", EXPOSE_HEADERS);
}

enum MHD_Result tp_http_preflight(struct MHD_Connection *c)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    const char *method =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method");
    const char *headers =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers");
    /* what the browser asks for is allowed, as DynamoDB's front end does */
    tp_http_cors_headers(r);
    if (method && *method)
        MHD_add_response_header(r, "Access-Control-Allow-Methods", method);
    if (headers && *headers)
        MHD_add_response_header(r, "Access-Control-Allow-Headers", headers);
    MHD_add_response_header(r, "Access-Control-Max-Age", "172800");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

int tp_http_inflate(const char *encoding, const void *in, size_t len, size_t max, tp_buf *out)
{
    int window;
    if (!encoding || !*encoding || strcasecmp(encoding, "identity") == 0)
        return len > max ? TP_INFLATE_TOO_LARGE
                         : tp_buf_append(out, in, len) == 0 ? TP_INFLATE_OK : TP_INFLATE_BROKEN;
    if (strcasecmp(encoding, "gzip") == 0 || strcasecmp(encoding, "x-gzip") == 0)
        window = 15 + 16;
    else if (strcasecmp(encoding, "deflate") == 0)
        /* RFC 9110's deflate is zlib-wrapped; some clients send it raw */
        window = len >= 2 && (((unsigned char *)in)[0] * 256u + ((unsigned char *)in)[1]) % 31 == 0
                         && (((unsigned char *)in)[0] & 0x0f) == 8
                     ? 15
                     : -15;
    else
        return TP_INFLATE_UNSUPPORTED;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, window) != Z_OK)
        return TP_INFLATE_BROKEN;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    unsigned char chunk[65536];
    int rc = TP_INFLATE_OK;
    for (;;) {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        int zr = inflate(&z, Z_NO_FLUSH);
        size_t got = sizeof chunk - z.avail_out;
        if (out->len + got > max) {
            rc = TP_INFLATE_TOO_LARGE;
            break;
        }
        if (got && tp_buf_append(out, chunk, got) != 0) {
            rc = TP_INFLATE_BROKEN;
            break;
        }
        if (zr == Z_STREAM_END) {
            if (z.avail_in != 0)
                rc = TP_INFLATE_BROKEN;   /* bytes after the stream */
            break;
        }
        if (zr != Z_OK || (z.avail_in == 0 && got == 0)) {
            rc = TP_INFLATE_BROKEN;       /* corrupt or truncated */
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

int tp_http_accepts_gzip(struct MHD_Connection *c)
{
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    for (const char *p = ae; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t name = strcspn(p, ";,");
        while (name && p[name - 1] == ' ')
            name--;
        if ((name == 4 && strncasecmp(p, "gzip", 4) == 0) ||
            (name == 1 && p[0] == '*')) {
            const char *q = memchr(p, ';', n);
            if (!q)
                return 1;
            const char *v = strstr(q, "q=");
            return !(v && v < p + n && strtod(v + 2, NULL) <= 0.0);
        }
        p += n;
    }
    return 0;
}

int tp_http_gzip(const void *data, size_t len, tp_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong bound = deflateBound(&z, (uLong)len);
    if (tp_buf_reserve(out, bound + 1) != 0) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    if (zr == Z_STREAM_END)
        out->len += bound - z.avail_out;
    deflateEnd(&z);
    return zr == Z_STREAM_END ? 0 : -1;
}

int tp_http_presigned_scope(const char *(*get)(void *ctx, const char *name), void *ctx,
                            tp_scope *scope, tp_error *err, int *rc)
{
    static const char *const names[] = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature",
                                         "X-Amz-SignedHeaders", "X-Amz-Date"};
    const char *v[5];
    int any = 0;
    for (int i = 0; i < 5; i++) {
        v[i] = get(ctx, names[i]);
        any |= v[i] != NULL;
    }
    if (!any)
        return 0;
    char missing[256] = "";
    size_t m = 0;
    for (int i = 0; i < 5; i++)
        if (!v[i] || !*v[i])
            m += (size_t)snprintf(missing + m, sizeof missing - m, "%s'%s'", m ? ", " : "",
                                  names[i]);
    if (m) {
        /* unverified wording: AWS's front end for an incomplete presigned URL */
        *rc = tp_fail(err, TP_ERR_INCOMPLETE_SIGNATURE,
                      "AWS query-string parameters must include %s. Re-examine the "
                      "query-string parameters.",
                      missing);
        return 1;
    }
    if (strcmp(v[0], "AWS4-HMAC-SHA256") != 0) {
        /* unverified wording */
        *rc = tp_fail(err, TP_ERR_INCOMPLETE_SIGNATURE,
                      "Unsupported AWS 'algorithm': '%.100s'", v[0]);
        return 1;
    }
    char header[1400];
    snprintf(header, sizeof header, "AWS4-HMAC-SHA256 Credential=%.500s, SignedHeaders=%.400s, "
             "Signature=%.300s", v[1], v[3], v[2]);
    *rc = tp_sigv4_parse(header, v[4], scope, err);
    return 1;
}

void tp_http_health_line(const char *region, tp_buf *out)
{
    tp_buf_printf(out, "healthy: dynamodb.%s.amazonaws.com ", region && *region ? region : "us-east-1");
}
