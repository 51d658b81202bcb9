/* core/clock — tidepool's notion of "now".
 *
 * real: follows the wall clock. virtual: stands still until advanced (the
 * scheduler moves it while it runs due events), so the same calls at the same
 * virtual times give the same results every run. All times are epoch
 * milliseconds. */
#ifndef TP_CORE_CLOCK_H
#define TP_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TP_CLOCK_REAL = 0, TP_CLOCK_VIRTUAL = 1 } tp_clock_mode;

/* Virtual clocks start here unless told otherwise: 2024-01-01T00:00:00Z,
 * fixed so that a scenario's timestamps are the same every run. */
#define TP_CLOCK_VIRTUAL_EPOCH_MS INT64_C(1704067200000)

typedef struct tp_clock tp_clock;

tp_clock *tp_clock_new(tp_clock_mode mode, int64_t start_ms);
void tp_clock_free(tp_clock *c);
tp_clock_mode tp_clock_mode_get(const tp_clock *c);
const char *tp_clock_mode_name(tp_clock_mode m);
int64_t tp_clock_now_ms(const tp_clock *c);
/* Virtual only: moves the clock to t (never backwards). Returns -1 in real mode. */
int tp_clock_set_ms(tp_clock *c, int64_t t);
/* Wall time regardless of mode (for traces: "virtual and wall time"). */
int64_t tp_wall_now_ms(void);
int64_t tp_monotonic_ns(void);
/* Writes ISO-8601 UTC with milliseconds: 2024-01-01T00:00:00.000Z */
void tp_format_iso8601(int64_t ms, char *out, size_t n);

#endif
