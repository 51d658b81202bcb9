/* runner/scenario — `tidepool run FIXTURE`: replays a scenario fixture
 * (fixtures/README.md describes the format) on a virtual-clock engine and
 * tells what happened: a timeline (one line per notable event, floods of
 * calls collapsed into one line) and a summary (invocations by outcome,
 * throttles, retries, duplicate deliveries, per-record lag, iterator age).
 *
 * The runner is a user of the public embedding API (tidepool/engine.h)
 * only: it makes the engine, performs the fixture's calls and timed
 * writes, runs the clock and reads everything else from the trace (a
 * trace sink sees every event, in order). The summary is a struct so that
 * tests assert on numbers, not on text. */
#ifndef TP_RUNNER_SCENARIO_H
#define TP_RUNNER_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tidepool/engine.h"

#define TP_SCENARIO_MAX_PROBES 16

/* One invocation as the trace told it. */
typedef struct tp_scenario_invocation {
    int64_t invocation;          /* the invoker's id */
    char function[65];
    char source_id[64];          /* the mapping's UUID for a stream batch */
    char outcome[16];            /* "success" | "error" | "timeout" | "" (never ended) */
    char error_type[96];
    int64_t start_ms, end_ms;    /* since the run's start (after setup) */
    int64_t duration_ms;
    int64_t batch_size;          /* records in the batch it got (0: not a stream batch) */
    int64_t attempt;             /* the batch event's attempt (0 when absent) */
    char first_seq[64], last_seq[64];
    char shard[96];              /* the batch's shard ("" when not a stream batch) */
    uint64_t batch_hash;         /* FNV-1a of the batch's sequence numbers: equal = same records */
    int64_t iterator_age_ms;     /* start - write time of the batch's last record (-1: unknown) */
    int64_t calls, throttled_calls, sdk_retries;
} tp_scenario_invocation;

typedef struct tp_scenario_probe {
    char name[64];
    double value;
    int ok;                      /* 0 when the probe call failed */
} tp_scenario_probe;

#define TP_SCENARIO_MAX_STAGES 4

/* One shard of a stream mapping: what its successful invocations did. */
typedef struct tp_scenario_shard {
    char shard[96];
    int64_t records;             /* records in its successful batches */
    int64_t start_ms, end_ms;    /* its first invocation's start, last one's end */
} tp_scenario_shard;

/* A stage of a pipeline (fixture "report": {"stages": [...]}): the
 * invocations of the functions whose names match a glob. */
typedef struct tp_scenario_stage {
    char name[32];               /* "scheduling" */
    char functions[96];          /* glob over function names: "statement-loader*" */
    int64_t invocations, timeouts, errors;
    int64_t start_ms, end_ms;    /* first start, last end since the run's start (-1: none) */
} tp_scenario_stage;

typedef struct tp_scenario_summary {
    char name[128];
    int64_t start_ms;            /* engine clock at the run's start (epoch ms) */
    int64_t end_ms;              /* virtual ms from the start to the end of the run */
    /* the runner's own calls (fixture "writes") */
    int64_t writes, write_errors, producer_retries, writes_lost;
    /* from the trace */
    int64_t requests, request_errors, handler_requests;
    int64_t throttles, faults, sdk_retries;
    int64_t stream_records, batches, batch_retries, bisects, discards, checkpoints;
    int64_t invocations, inv_success, inv_error, inv_timeout, inv_throttled;
    int64_t records_delivered;       /* distinct records given to a handler */
    int64_t deliveries;              /* record deliveries in all (with repeats) */
    int64_t duplicate_records;       /* records delivered to more than one invocation */
    int64_t lag_count, lag_p50_ms, lag_p99_ms, lag_max_ms, lag_min_ms;
    int64_t iterator_age_max_ms;
    int64_t out_of_order;            /* first deliveries of a shard not in sequence order */
    uint64_t trace_events;
    uint64_t trace_hash;             /* FNV-1a over every line (wall clock left out) */
    tp_scenario_invocation *inv;     /* n_inv entries, in start order (owned) */
    size_t n_inv;
    int64_t *lags;                   /* lag_count per-record lags (ms), in first-delivery order (owned) */
    /* fixture "report": one row of the comparison table `tidepool run
     * A.json B.json ...` prints (rows: configuration; columns: each stage's
     * duration, consumed write capacity, throttled requests, timeouts) */
    char row[128];                   /* the row's label ("" when no report) */
    char report_table[256];          /* the table whose write capacity is measured */
    tp_scenario_stage stages[TP_SCENARIO_MAX_STAGES];
    size_t n_stages;
    int64_t wcu_consumed_milli;      /* write units charged to report_table (not its GSIs) */
    int64_t wcu_peak_milli;          /* the busiest virtual second's write units */
    int64_t first_throttle_ms;       /* the first throttle since t = 0 (-1: none) */
    int64_t wcu_before_throttle_milli;   /* report_table's write units charged before it */
    int64_t wcu_cloudwatch_peak_milli;   /* the busiest minute's sum / 60, as CloudWatch shows
                                          * ConsumedWriteCapacityUnits (epoch-aligned minutes) */
    int64_t *wcu_per_second;         /* n_wcu_seconds entries from t = 0, milli-units (owned) */
    size_t n_wcu_seconds;
    /* per shard (shards, in the order first delivered) */
    tp_scenario_shard *shards;       /* n_shards entries (owned) */
    size_t n_shards;
    tp_scenario_probe probes[TP_SCENARIO_MAX_PROBES];
    size_t n_probes;
    int expect_checked, expect_failed;
} tp_scenario_summary;

typedef struct tp_scenario_options {
    FILE *out;                   /* timeline + summary; NULL prints nothing */
    const char *trace_path;      /* write the whole JSON-lines trace here, or NULL */
    int trace_with_wall;         /* include "wall_ms" in the trace file */
    const char *handlers_lib;    /* a --handlers library to load, or NULL */
    int timeline_limit;          /* print at most this many timeline lines (0: 2000) */
    int no_logs;                 /* leave the handlers' log lines out of the output */
    const char *report_path;     /* write the HTML report here (runner/report.h), or NULL */
    FILE *progress;              /* progress lines (virtual time, events, rate, ETA), or NULL */
    /* Called after the run, before the engine is freed (tests look at the
     * tables). May be NULL. */
    void (*after)(tp_engine *e, void *arg);
    void *after_arg;
} tp_scenario_options;

/* Runs the fixture in path / text. 0 when the scenario ran (its "expect"
 * may still have failed: see expect_failed), -1 with why when it could not
 * run (bad fixture, a setup call failing). Free the summary with
 * tp_scenario_summary_free either way. */
int tp_scenario_run_file(const char *path, const tp_scenario_options *opts,
                         tp_scenario_summary *out, char *why, size_t why_cap);
int tp_scenario_run_json(const char *text, const tp_scenario_options *opts,
                         tp_scenario_summary *out, char *why, size_t why_cap);
void tp_scenario_summary_free(tp_scenario_summary *s);

/* A probe's value by name, or def when absent or failed. */
double tp_scenario_probe_value(const tp_scenario_summary *s, const char *name, double def);
/* A summary number by its fixture "expect" name ("invocations.timeout",
 * "throttles", "lag.p99_ms", "probe.NAME", "stage.NAME.duration_ms",
 * "stage.NAME.timeouts", "stage.NAME.invocations", "stage.NAME.start_ms",
 * "stage.NAME.end_ms", "stage.NAME.errors", "wcu.peak",
 * "wcu.cloudwatch_peak", "wcu.consumed", "wcu.before_throttle",
 * "first_throttle_ms", "shards", "shard.records_per_s_min|max|mean",
 * "records_per_s", ...). 0 ok, -1 unknown name. */
int tp_scenario_metric(const tp_scenario_summary *s, const char *name, double *value);

/* Prints the comparison table of n summaries that have a report row
 * (configuration; each stage's duration; peak consumed WCU per second and
 * as CloudWatch shows it; throttled requests; timeouts). */
void tp_scenario_print_table(FILE *out, const tp_scenario_summary *const *s, size_t n);

/* The `tidepool run` command: argv after "run" (one fixture or several:
 * `tidepool run fixtures/statement-etl*.json` runs each and ends with their
 * table). Returns the exit status. */
int tp_scenario_main(int argc, char **argv);

#endif
