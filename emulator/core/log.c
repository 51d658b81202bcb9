/* core/log — leveled logging to stderr, one line per call. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"

static _Atomic int level = TP_LOG_INFO;

void tp_log_set_level(tp_log_level lvl) { atomic_store(&level, (int)lvl); }

tp_log_level tp_log_get_level(void) { return (tp_log_level)atomic_load(&level); }

int tp_log_parse_level(const char *s, tp_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (tp_log_level)i;
            return 0;
        }
    return -1;
}

void tp_log_msg(tp_log_level lvl, const char *fmt, ...)
{
    static const char *tags[] = {"debug", "info", "warn", "error"};
    if ((int)lvl < atomic_load(&level) || lvl >= TP_LOG_OFF)
        return;
    char line[2048], when[32];
    tp_format_iso8601(tp_wall_now_ms(), when, sizeof when);
    int n = snprintf(line, sizeof line, "%s %-5s ", when, tags[lvl]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
