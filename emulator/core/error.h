/* core/error — the error catalogue and the helpers that fill a tp_error.
 *
 * Actions write `return tp_fail(err, TP_ERR_RESOURCE_NOT_FOUND, "Requested
 * resource not found: Table: %s not found", name);` — the helper sets status,
 * code and message and returns -1, so the caller just returns. Serialising an
 * error is the codecs' job (http/). */
#ifndef TP_CORE_ERROR_H
#define TP_CORE_ERROR_H

#include "tidepool/error.h"

typedef enum tp_error_id {
#define TP_ERROR(id, code, status, ns) TP_ERR_##id,
#include "errors.def"
#undef TP_ERROR
    TP_ERR__COUNT
} tp_error_id;

typedef struct tp_error_info {
    const char *code;
    int status;
    const char *coral_ns;   /* NULL: the service's own namespace */
} tp_error_info;

const tp_error_info *tp_error_info_get(tp_error_id id);
/* Looks a short code up in the catalogue; NULL when it is not there. */
const tp_error_info *tp_error_info_find(const char *code);

#if defined(__GNUC__)
#define TP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TP_PRINTF(a, b)
#endif

/* Fills err from the catalogue; returns -1. err may be NULL. */
int tp_fail(tp_error *err, tp_error_id id, const char *fmt, ...) TP_PRINTF(3, 4);
/* Fills err with any code and status (fault injection, pass-through); returns -1. */
int tp_fail_raw(tp_error *err, int status, const char *code, const char *fmt, ...) TP_PRINTF(4, 5);
void tp_error_clear(tp_error *err);
int tp_error_is(const tp_error *err, tp_error_id id);

#endif
