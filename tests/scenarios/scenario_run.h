/* Helpers shared by the scenario tests that replay a fixture through the
 * runner (emulator/runner/scenario.h): find fixtures/NAME.json, run it,
 * compare two trace files byte for byte. */
#ifndef TP_TESTS_SCENARIO_RUN_H
#define TP_TESTS_SCENARIO_RUN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/scenario.h"

/* fixtures/ beside tests/: this file is tests/scenarios/scenario_run.h */
static inline void fixture_path(const char *name, char *out, size_t cap)
{
    const char *here = __FILE__;
    const char *cut = strstr(here, "tests/scenarios/");
    if (cut)
        snprintf(out, cap, "%.*sfixtures/%s.json", (int)(cut - here), here, name);
    else
        snprintf(out, cap, "fixtures/%s.json", name);
}

/* Runs fixture NAME quietly (the timeline goes to stdout when
 * TP_SCENARIO_VERBOSE is set); trace_path may be NULL; after (may be NULL)
 * looks at the engine before it is freed. Fails the test when the fixture
 * cannot run. */
static inline void run_fixture_after(const char *name, tp_scenario_summary *s,
                                     const char *trace_path,
                                     void (*after)(tp_engine *e, void *arg), void *arg)
{
    char path[1024], why[1024] = "";
    fixture_path(name, path, sizeof path);
    tp_scenario_options o;
    memset(&o, 0, sizeof o);
    o.out = getenv("TP_SCENARIO_VERBOSE") ? stdout : NULL;
    o.trace_path = trace_path;
    o.after = after;
    o.after_arg = arg;
    int rc = tp_scenario_run_file(path, &o, s, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", name, why);
    assert_int_equal(rc, 0);
}

static inline void run_fixture_named(const char *name, tp_scenario_summary *s,
                                     const char *trace_path)
{
    run_fixture_after(name, s, trace_path, NULL, NULL);
}

/* 1 when the two files hold the same bytes. */
static inline int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            same = 0;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static inline const tp_scenario_invocation *inv_at(const tp_scenario_summary *s, size_t i)
{
    assert_true(i < s->n_inv);
    return &s->inv[i];
}

#endif
