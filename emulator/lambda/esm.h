/* lambda/esm — what esm.c (mappings: storage, API, state machine) and
 * poller.c (the stream runtime) share. Nothing outside those two files
 * includes it; the rest of tidepool sees esm_start / esm_busy (lambda.h).
 *
 * Tables (esm_schema, esm.c):
 *   esm_mappings — one row per mapping: its settings (conf, the
 *     EventSourceMappingConfiguration members a user set, as JSON text),
 *     State, the state a transitional state settles into, and the token of
 *     the one poll event that is live for it.
 *   esm_lanes — one row per (mapping, shard, lane): the checkpoint (the last
 *     sequence number done with), the batch being delivered (records,
 *     bisect sizes, attempts), whether an invocation is in flight and when
 *     a retry is due. A --data-dir restart resumes from these rows. */
#ifndef TP_LAMBDA_ESM_H
#define TP_LAMBDA_ESM_H

#include <stdint.h>

#include "lambda.h"

typedef struct esm_mapping {
    int64_t id;
    char uuid[37];
    char account[13];
    char region[32];
    char function_arn[256];
    char source_arn[1100];
    char state[16];
    char target[16];        /* where a transitional state settles */
    int64_t state_due_ms;   /* when it does */
    int64_t token;          /* the live poll event's token */
    int positioned;         /* StartingPosition applied (first enable) */
    cJSON *conf;            /* owned */
    /* from conf */
    char starting_position[16];
    int64_t batch_size, window_s, parallel, max_age_s, max_retries;
    int bisect, report_failures;
    const char *on_failure;   /* borrowed from conf, or NULL */
    const cJSON *filter;      /* FilterCriteria, borrowed from conf, or NULL */
} esm_mapping;

/* esm.c */
/* 1 found (esm_mapping_clear it), 0 no such row, -1 storage error. */
int esm_mapping_load(tp_core *core, int64_t id, esm_mapping *m);
void esm_mapping_clear(esm_mapping *m);
/* Settles a transitional state whose time has come (Creating -> Enabled,
 * Deleting -> gone, ...). Returns 1 when the mapping is gone. */
int esm_settle(tp_core *core, esm_mapping *m);
int esm_set_last_result(tp_core *core, int64_t id, const char *text);
int esm_set_positioned(tp_core *core, int64_t id);
/* Next token for the mapping's poll event (bumps the stored one). */
int64_t esm_next_token(tp_core *core, int64_t id);

/* poller.c */
/* Arms the mapping's poll event at due_ms; an earlier armed event stays
 * live only if it is due no later. */
void esm_poller_wake(tp_core *core, int64_t mapping_id, int64_t due_ms);
/* Forgets a deleted mapping's lanes. */
int esm_poller_forget(tp_core *core, int64_t mapping_id);
/* After a restart: invocations that were in flight are gone; their
 * batches are delivered again. */
int esm_poller_restart(tp_core *core);
int esm_poller_busy(tp_core *core);

#endif
