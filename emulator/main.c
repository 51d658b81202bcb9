/* main — the tidepool command line: serve | run FIXTURE | version | help. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "engine_internal.h"
#include "lambda/process.h"
#include "runner/scenario.h"

static const char usage[] =
    "usage: tidepool serve [options]\n"
    "       tidepool run FIXTURE.json [--trace FILE] [--report FILE.html] [--handlers lib.so]\n"
    "       tidepool version\n"
    "\n"
    "Emulates AWS DynamoDB (and, as they land, DynamoDB Streams, SQS, Kinesis and\n"
    "Lambda event sources) on one port, stored in SQLite.\n"
    "\n"
    "serve options:\n"
    "  --host ADDR          IPv4 address to listen on (default 127.0.0.1)\n"
    "  --port N             port (default 4566)\n"
    "  --data-dir DIR       keep state in DIR/tidepool.db (default: in memory);\n"
    "                       an acknowledged write survives kill -9\n"
    "  --sync               with --data-dir: fsync every commit, so it survives\n"
    "                       power loss too (slower writes)\n"
    "  --config FILE        JSON config file (service settings)\n"
    "  --clock real|virtual real follows the wall clock (default); virtual stands\n"
    "                       still until POST /_tidepool/clock {\"advance_ms\":N}\n"
    "  --clock-start now|MS where the virtual clock starts (epoch ms; default\n"
    "                       2024-01-01T00:00:00Z); now: the wall clock's time\n"
    "  --seed N             seed for request ids and every random choice (default 1)\n"
    "  --capacity on|off    off: provisioned throughput is never enforced (no\n"
    "                       throttling; consumed capacity still reported); default on\n"
    "  --verify-signatures  check SigV4 signatures against the config's\n"
    "                       \"auth\": {\"keys\": {ACCESS_KEY: SECRET}}\n"
    "  --handlers LIB.so    load C handlers from a shared library (its\n"
    "                       tp_handlers_init registers them); repeatable\n"
    "  --threads N          HTTP worker threads (default 2)\n"
    "  --idle-timeout S     close a connection idle for S seconds (default 300;\n"
    "                       0 never)\n"
    "  --max-connections N  connections served at once (default 10000)\n"
    "  --log-level L        debug|info|warn|error|off (default info)\n";

/* A command-line switch wins over the config file: *config (owned, may be
 * NULL) is rewritten with "section": {"key": on} set (--capacity on|off:
 * capacity.enforce; --verify-signatures: auth.verify_signatures). */
static int set_config_flag(char **config, const char *section, const char *key, int on)
{
    cJSON *root = *config ? tp_json_parse_str(*config) : cJSON_CreateObject();
    if (!root || !cJSON_IsObject(root)) {
        fprintf(stderr, "tidepool: the config file is not a JSON object\n");
        cJSON_Delete(root);
        return -1;
    }
    cJSON *sec = cJSON_GetObjectItemCaseSensitive(root, section);
    if (!cJSON_IsObject(sec)) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, section);
        sec = cJSON_AddObjectToObject(root, section);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(sec, key);
    cJSON_AddBoolToObject(sec, key, on);
    char *text = tp_json_print(root);
    cJSON_Delete(root);
    if (!text)
        return -1;
    free(*config);
    *config = text;
    return 0;
}

/* An integer setting "http": {"key": N} of the config file, if present. */
static int config_http_int(const char *config, const char *key, int lo, int hi, int *out)
{
    if (!config)
        return 0;
    cJSON *root = tp_json_parse_str(config);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "http"), key);
    int rc = 0;
    if (v && (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
              v->valuedouble != (double)(int)v->valuedouble)) {
        fprintf(stderr, "tidepool: config http.%s must be an integer %d..%d\n", key, lo, hi);
        rc = -1;
    } else if (v) {
        *out = v->valueint;
    }
    cJSON_Delete(root);
    return rc;
}

/* A numeric command-line value in lo..hi, or -1 after saying why. */
static int int_option(const char *name, const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi) {
        fprintf(stderr, "tidepool: %s must be %d..%d, got '%s'\n", name, lo, hi, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int serve(int argc, char **argv)
{
    const char *host = "127.0.0.1", *data_dir = NULL, *config_path = NULL;
    int port = 4566, threads = 2;
    int idle_timeout = -1, max_conns = -1;   /* -1: as the config says */
    char handlers[4096] = "";
    int capacity = -1;   /* --capacity: -1 as the config says, 0 off, 1 on */
    int verify = 0;      /* --verify-signatures */
    tp_engine_options opts = {.real_clock = 1, .seed = 1};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
        if (strcmp(a, "--verify-signatures") == 0) {
            verify = 1;
            continue;
        }
        if (strcmp(a, "--sync") == 0) {
            opts.sync = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "tidepool: %s needs a value\n%s", a, usage);
            return 2;
        }
        i++;
        if (strcmp(a, "--host") == 0) {
            host = v;
        } else if (strcmp(a, "--port") == 0) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p < 1 || p > 65535) {
                fprintf(stderr, "tidepool: --port must be 1..65535, got '%s'\n", v);
                return 2;
            }
            port = (int)p;
        } else if (strcmp(a, "--data-dir") == 0) {
            data_dir = v;
        } else if (strcmp(a, "--config") == 0) {
            config_path = v;
        } else if (strcmp(a, "--clock") == 0) {
            if (strcmp(v, "real") == 0)
                opts.real_clock = 1;
            else if (strcmp(v, "virtual") == 0)
                opts.real_clock = 0;
            else {
                fprintf(stderr, "tidepool: --clock must be real or virtual, got '%s'\n", v);
                return 2;
            }
        } else if (strcmp(a, "--clock-start") == 0) {
            char *end = NULL;
            long long ms = strcmp(v, "now") == 0 ? (long long)time(NULL) * 1000 : strtoll(v, &end, 10);
            if ((end && *end) || ms <= 0) {
                fprintf(stderr, "tidepool: --clock-start must be now or epoch ms, got '%s'\n", v);
                return 2;
            }
            opts.clock_start_ms = ms;
        } else if (strcmp(a, "--capacity") == 0) {
            if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
                fprintf(stderr, "tidepool: --capacity must be on or off, got '%s'\n", v);
                return 2;
            }
            capacity = strcmp(v, "on") == 0;
        } else if (strcmp(a, "--seed") == 0) {
            opts.seed = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--handlers") == 0) {
            size_t n = strlen(handlers), m = strlen(v);
            if (n + m + 2 > sizeof handlers) {
                fprintf(stderr, "tidepool: too many --handlers\n");
                return 2;
            }
            if (n)
                handlers[n++] = ':';
            memcpy(handlers + n, v, m + 1);
        } else if (strcmp(a, "--threads") == 0) {
            threads = atoi(v);
            if (threads < 1 || threads > 64) {
                fprintf(stderr, "tidepool: --threads must be 1..64\n");
                return 2;
            }
        } else if (strcmp(a, "--idle-timeout") == 0) {
            if (int_option(a, v, 0, 86400, &idle_timeout) != 0)
                return 2;
        } else if (strcmp(a, "--max-connections") == 0) {
            if (int_option(a, v, 1, 1000000, &max_conns) != 0)
                return 2;
        } else if (strcmp(a, "--log-level") == 0) {
            tp_log_level lvl;
            if (tp_log_parse_level(v, &lvl) != 0) {
                fprintf(stderr, "tidepool: --log-level must be debug|info|warn|error|off\n");
                return 2;
            }
            tp_log_set_level(lvl);
        } else {
            fprintf(stderr, "tidepool: unknown option %s\n%s", a, usage);
            return 2;
        }
    }
    if (opts.sync && !data_dir) {
        fprintf(stderr, "tidepool: --sync needs --data-dir (in memory nothing is written)\n");
        return 2;
    }
    char *config = NULL;
    if (config_path) {
        config = tp_read_file(config_path);
        if (!config) {
            fprintf(stderr, "tidepool: cannot read config %s: %s\n", config_path, strerror(errno));
            return 1;
        }
    }
    tp_http_limits limits = {.threads = threads, .idle_timeout_s = TP_HTTP_IDLE_TIMEOUT_S,
                             .max_connections = TP_HTTP_MAX_CONNECTIONS};
    if (config_http_int(config, "idle_timeout_s", 0, 86400, &limits.idle_timeout_s) != 0 ||
        config_http_int(config, "max_connections", 1, 1000000, &limits.max_connections) != 0) {
        free(config);
        return 1;
    }
    if (idle_timeout >= 0)
        limits.idle_timeout_s = idle_timeout;
    if (max_conns > 0)
        limits.max_connections = max_conns;
    if (capacity >= 0 && set_config_flag(&config, "capacity", "enforce", capacity) != 0)
        return 1;
    if (verify && set_config_flag(&config, "auth", "verify_signatures", 1) != 0)
        return 1;
    opts.data_dir = data_dir;
    opts.config_json = config;
    opts.handlers = *handlers ? handlers : NULL;

    /* Signals are taken synchronously by this thread; block them before any
     * other thread starts so the workers inherit the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    tp_error err;
    tp_error_clear(&err);
    tp_engine *e = tp_engine_new(&opts, &err);
    free(config);
    if (!e) {
        fprintf(stderr, "tidepool: %s\n", err.message);
        return 1;
    }
    if (tp_engine_start_timers(e) != 0) {
        fprintf(stderr, "tidepool: cannot start the timer thread\n");
        tp_engine_free(e);
        return 1;
    }
    tp_http_host h;
    tp_engine_http_host(e, &h);
    char why[256];
    tp_http_server *srv = tp_http_start(host, port, &limits, &h, why, sizeof why);
    if (!srv) {
        fprintf(stderr, "tidepool: %s\n", why);
        tp_engine_free(e);
        return 1;
    }
    /* Process handlers' calls come in on a port of their own: a server
     * thread of the main port may be blocked in an Invoke that waits for
     * that very handler (libmicrohttpd binds a connection to one thread). */
    tp_http_limits plimits = limits;
    plimits.threads = 4;
    tp_http_server *psrv = tp_http_start("127.0.0.1", 0, &plimits, &h, why, sizeof why);
    if (psrv) {
        char endpoint[64];
        snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", tp_http_port(psrv));
        lambda_process_configure(tp_engine_core(e), endpoint, NULL);
    } else {
        tp_log_msg(TP_LOG_WARN, "no port for process handlers' calls: %s", why);
    }
    tp_log_msg(TP_LOG_INFO, "tidepool %s listening on http://%s:%d (%s, clock %s)", TP_VERSION, host,
           port, data_dir ? data_dir : "in memory", opts.real_clock ? "real" : "virtual");
    int sig = 0;
    sigwait(&sigs, &sig);
    tp_log_msg(TP_LOG_INFO, "signal %d: shutting down", sig);
    tp_http_stop(srv);
    tp_http_stop(psrv);
    tp_engine_free(e);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("tidepool %s\n", TP_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (strcmp(argv[1], "run") == 0)
        return tp_scenario_main(argc - 2, argv + 2);
    fprintf(stderr, "tidepool: unknown command '%s'\n%s", argv[1], usage);
    return 2;
}
