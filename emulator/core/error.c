/* core/error — the error catalogue (errors.def) and tp_fail. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const tp_error_info catalogue[TP_ERR__COUNT] = {
#define TP_ERROR(id, code, status, ns) [TP_ERR_##id] = {code, status, ns},
#include "errors.def"
#undef TP_ERROR
};

const tp_error_info *tp_error_info_get(tp_error_id id)
{
    if ((int)id < 0 || id >= TP_ERR__COUNT)
        return &catalogue[TP_ERR_INTERNAL];
    return &catalogue[id];
}

const tp_error_info *tp_error_info_find(const char *code)
{
    for (int i = 0; i < TP_ERR__COUNT; i++)
        if (strcmp(catalogue[i].code, code) == 0)
            return &catalogue[i];
    return NULL;
}

static void fill(tp_error *err, int status, const char *code, const char *fmt, va_list ap)
{
    err->status = status;
    snprintf(err->code, sizeof err->code, "%s", code);
    if (fmt)
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    else
        err->message[0] = '\0';
}

int tp_fail(tp_error *err, tp_error_id id, const char *fmt, ...)
{
    if (!err)
        return -1;
    const tp_error_info *info = tp_error_info_get(id);
    va_list ap;
    va_start(ap, fmt);
    fill(err, info->status, info->code, fmt, ap);
    va_end(ap);
    return -1;
}

int tp_fail_raw(tp_error *err, int status, const char *code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    fill(err, status, code, fmt, ap);
    va_end(ap);
    return -1;
}

void tp_error_clear(tp_error *err)
{
    if (!err)
        return;
    err->status = 0;
    err->code[0] = '\0';
    err->message[0] = '\0';
}

int tp_error_is(const tp_error *err, tp_error_id id)
{
    return err && strcmp(err->code, tp_error_info_get(id)->code) == 0;
}
