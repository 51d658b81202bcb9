/* core/log — leveled logging to stderr. */
#ifndef TP_CORE_LOG_H
#define TP_CORE_LOG_H

typedef enum { TP_LOG_DEBUG = 0, TP_LOG_INFO, TP_LOG_WARN, TP_LOG_ERROR, TP_LOG_OFF } tp_log_level;

void tp_log_set_level(tp_log_level lvl);
tp_log_level tp_log_get_level(void);
/* Parses "debug|info|warn|error|off"; returns -1 for anything else. */
int tp_log_parse_level(const char *s, tp_log_level *out);
void tp_log_msg(tp_log_level lvl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif
