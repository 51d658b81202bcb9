/* runner/report — `tidepool run FIXTURE --report out.html`: one
 * self-contained HTML file (inline script and SVG, nothing fetched) drawn
 * from the run's trace on tidepool's clock.
 *
 * The runner's trace sink hands every event of the run phase to
 * tp_report_event; the report folds them into per-second series (per
 * table: consumed units and throttles; per stream: records written; per
 * mapping: records delivered, batches, retries, bisects, discards; per
 * function: invocations by outcome, concurrency, a latency histogram) and
 * keeps the events themselves for the timeline. tp_report_write puts the
 * series, the fixture and the summary as JSON into the page template
 * (emulator/control/ui/report.html, built into the binary), so the same
 * run writes the same bytes: nothing in it comes from the wall clock. */
#ifndef TP_RUNNER_REPORT_H
#define TP_RUNNER_REPORT_H

#include <stdint.h>

#include "runner/scenario.h"

typedef struct cJSON cJSON;
typedef struct tp_report tp_report;

tp_report *tp_report_new(void);
void tp_report_free(tp_report *rp);
/* One trace event at rel_ms since the run's start. */
void tp_report_event(tp_report *rp, const cJSON *ev, int64_t rel_ms);
/* Writes the page. 0 ok, -1 with why. */
int tp_report_write(const tp_report *rp, const char *path, const cJSON *fixture,
                    const tp_scenario_summary *s, char *why, size_t why_cap);

#endif
