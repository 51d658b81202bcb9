/* control/observe — /_tidepool/faults, /_tidepool/trace, /_tidepool/metrics.
 *
 *   GET    /_tidepool/faults        the rules with their matched/fired counters
 *   POST   /_tidepool/faults        add a rule (capacity/faults.h) -> {"id": ...}
 *   DELETE /_tidepool/faults[/<id>] remove all rules / one rule
 *   GET    /_tidepool/trace[?since=<seq>]  events as JSON lines
 *   DELETE /_tidepool/trace         drop the events
 *   GET    /_tidepool/metrics       Prometheus text (version 0.0.4)
 */
#ifndef TP_CONTROL_OBSERVE_H
#define TP_CONTROL_OBSERVE_H

#include "control.h"

/* Handles the request when its path is one of the above and returns the
 * HTTP status; returns 0 when the path is not an observe endpoint. path
 * may carry a query string. */
int tp_observe_handle(const tp_control_ops *ops, const char *method, const char *path,
                      const char *body, size_t len, tp_buf *out);
/* The Content-Type of a control answer for this request. */
const char *tp_observe_content_type(const char *method, const char *path);

#endif
