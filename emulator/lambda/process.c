/* lambda/process — process handlers (process.h): which functions run as a
 * process, their instances (spawned, kept warm, killed), the proxy handler
 * that runs on the invocation's thread in the process's stead, and the
 * calls the process makes back into tidepool.
 *
 * Where the process comes from, first match wins:
 *   1. the config's function entry has "command" (run with /bin/sh -c in
 *      "code_dir", default tidepool's working directory);
 *   2. the config's function entry has "isolation": "process": the C
 *      handler named by Handler runs in tidepool-worker (the same runtime
 *      loop `make lambda-zip` builds, with the built-in handlers and the
 *      --handlers libraries);
 *   3. the function's zip has an executable `bootstrap` (unpacked once per
 *      CodeSha256 into a temporary directory).
 *
 * Why a proxy: the invoker (invoke.c) already owns everything an
 * invocation is — concurrency, the baton, the deadline, fault rules, the
 * log, the outcome. The proxy is an ordinary handler to it: it hands the
 * event to the instance, waits for the Runtime API's answer, and turns a
 * dead process into Runtime.ExitError. Calls the process makes with its
 * session token run through tp_call as that invocation, so they cost the
 * same virtual latency as a C handler's, one at a time. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/log.h"
#include "lambda.h"
#include "process.h"
#include "tidepool/engine.h"

extern char **environ;

const char lambda_code_schema[] =
    "CREATE TABLE IF NOT EXISTS lambda_code ("
    " account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,"
    " sha TEXT NOT NULL, bootstrap INTEGER NOT NULL, zip BLOB NOT NULL,"
    " PRIMARY KEY (account, region, name));";

#define POLL_MS 2
#define TOKEN_PREFIX "tp-proc-"

typedef struct code_dir {
    char sha[64];
    char dir[PATH_MAX];
    struct code_dir *next;
} code_dir;

struct lambda_procs {
    pthread_mutex_t mu;         /* the instance list; never held while taking the engine lock */
    pthread_cond_t gone;        /* an instance was freed */
    proc_instance *all;
    uint64_t seq;
    int stopping;
    char endpoint[256];
    char handler_libs[4096];
    pthread_mutex_t code_mu;    /* unpacking */
    code_dir *dirs;
};

static struct lambda_procs *procs_get(tp_core *core)
{
    if (!core->procs) {
        struct lambda_procs *p = calloc(1, sizeof *p);
        if (!p)
            return NULL;
        pthread_mutex_init(&p->mu, NULL);
        pthread_mutex_init(&p->code_mu, NULL);
        pthread_cond_init(&p->gone, NULL);
        core->procs = p;
    }
    return core->procs;
}

void lambda_process_configure(tp_core *core, const char *endpoint_url, const char *handler_libs)
{
    struct lambda_procs *p = procs_get(core);
    if (!p)
        return;
    if (endpoint_url)
        snprintf(p->endpoint, sizeof p->endpoint, "%s", endpoint_url);
    if (handler_libs)
        snprintf(p->handler_libs, sizeof p->handler_libs, "%s", handler_libs);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- code ------------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* 1 when the zip's central directory names a top-level "bootstrap". */
static int zip_has_bootstrap(const unsigned char *z, size_t n)
{
    if (n < 22)
        return 0;
    size_t eocd = n - 22;
    for (size_t back = 0; back < 65536 + 22 && eocd > 0 && le32(z + eocd) != 0x06054b50;
         back++)
        eocd--;
    if (le32(z + eocd) != 0x06054b50)
        return 0;
    size_t entries = le16(z + eocd + 10), off = le32(z + eocd + 16);
    for (size_t i = 0; i < entries && off + 46 <= n && le32(z + off) == 0x02014b50; i++) {
        size_t nlen = le16(z + off + 28), elen = le16(z + off + 30), clen = le16(z + off + 32);
        if (off + 46 + nlen > n)
            return 0;
        if (nlen == 9 && memcmp(z + off + 46, "bootstrap", 9) == 0)
            return 1;
        off += 46 + nlen + elen + clen;
    }
    return 0;
}

int lambda_code_save(tp_core *core, const char *account, const char *region, const char *name,
                     const void *zip, size_t len, const char *sha)
{
    sqlite3_stmt *s = tp_store_stmt(core->store,
                                    "INSERT OR REPLACE INTO lambda_code (account, region, name,"
                                    " sha, bootstrap, zip) VALUES (?, ?, ?, ?, ?, ?)");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, sha, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, zip_has_bootstrap(zip, len));
    sqlite3_bind_blob(s, 6, zip, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(s);
    return rc;
}

void lambda_code_drop(tp_core *core, const char *account, const char *region, const char *name)
{
    sqlite3_stmt *s = tp_store_stmt(core->store, "DELETE FROM lambda_code WHERE account = ?"
                                                 " AND region = ? AND name = ?");
    if (!s)
        return;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    sqlite3_step(s);
    sqlite3_reset(s);
}

/* The function's stored code: 1 with a bootstrap (sha set; zip copied when
 * asked), 0 none, -1 error. */
static int code_load(tp_core *core, const char *account, const char *region, const char *name,
                     char sha[64], tp_buf *zip)
{
    sqlite3_stmt *s = tp_store_stmt(core->store, "SELECT sha, zip FROM lambda_code WHERE"
                                                 " account = ? AND region = ? AND name = ?"
                                                 " AND bootstrap = 1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, name, -1, SQLITE_STATIC);
    int found = sqlite3_step(s) == SQLITE_ROW;
    if (found) {
        snprintf(sha, 64, "%s", (const char *)sqlite3_column_text(s, 0));
        if (zip)
            tp_buf_append(zip, sqlite3_column_blob(s, 1), (size_t)sqlite3_column_bytes(s, 1));
    }
    sqlite3_reset(s);
    return found;
}

/* The config's entry for the function (same name, account and region), or NULL. */
static const cJSON *config_entry(const tp_core *core, const char *account, const char *region,
                                 const char *name)
{
    const cJSON *cfg = lambda_config(core);
    const cJSON *list = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, "functions") : NULL;
    const cJSON *def;
    cJSON_ArrayForEach(def, list) {
        const char *n = tp_json_str(def, "FunctionName");
        if (!n || strcmp(n, name) != 0)
            continue;
        const char *key = tp_json_str(def, "access_key"), *rg = tp_json_str(def, "region");
        char acct[13];
        tp_account_for_key(key ? key : "AKIDTIDEPOOL", acct);
        if (strcmp(acct, account) == 0 && strcmp(rg ? rg : "us-east-1", region) == 0)
            return def;
    }
    return NULL;
}

static int entry_is_process(const cJSON *def)
{
    const char *iso = tp_json_str(def, "isolation");
    return tp_json_str(def, "command") || (iso && strcmp(iso, "process") == 0);
}

int lambda_process_accepts(tp_req *r, const cJSON *in)
{
    if (entry_is_process(in))
        return 1;
    const char *name = tp_json_str(in, "FunctionName");
    if (name && entry_is_process(config_entry(r->core, r->account, r->region, name)))
        return 1;
    const char *zip64 = tp_json_str(cJSON_GetObjectItemCaseSensitive(in, "Code"), "ZipFile");
    if (zip64) {
        tp_buf zip;
        tp_buf_init(&zip);
        int has = tp_base64_decode(zip64, strlen(zip64), &zip) == 0 &&
                  zip_has_bootstrap((const unsigned char *)zip.data, zip.len);
        tp_buf_free(&zip);
        return has;
    }
    char sha[64];
    return name && code_load(r->core, r->account, r->region, name, sha, NULL) == 1;
}

/* --- what to run ---------------------------------------------------------------- */

#define MAX_ARGS 8

typedef struct proc_spec {
    char key[512];
    char *argv[MAX_ARGS];       /* owned */
    char task_root[PATH_MAX];
    char sha[64];               /* a zip's: unpack into task_root */
    tp_buf zip;
} proc_spec;

static void spec_free(proc_spec *s)
{
    for (int i = 0; i < MAX_ARGS; i++)
        free(s->argv[i]);
    tp_buf_free(&s->zip);
}

static void worker_path(char *out, size_t cap)
{
    const char *env = getenv("TIDEPOOL_WORKER");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(out, cap, "%s/tidepool-worker", *self ? self : ".");
}

/* Engine lock held. 1 with *spec filled, 0 when fn is no process function. */
static int spec_for(tp_core *core, const lambda_fn *fn, proc_spec *spec)
{
    memset(spec, 0, sizeof *spec);
    tp_buf_init(&spec->zip);
    const cJSON *def = config_entry(core, fn->account, fn->region, fn->name);
    const char *cmd = tp_json_str(def, "command");
    const char *iso = tp_json_str(def, "isolation");
    if (cmd) {
        const char *dir = tp_json_str(def, "code_dir");
        if (!dir || !realpath(dir, spec->task_root))
            snprintf(spec->task_root, sizeof spec->task_root, "%s", dir ? dir : ".");
        spec->argv[0] = strdup("/bin/sh");
        spec->argv[1] = strdup("-c");
        size_t n = strlen(cmd) + 6;
        spec->argv[2] = malloc(n);
        if (spec->argv[2])
            snprintf(spec->argv[2], n, "exec %s", cmd);
        /* the command and where it runs, hashed: a changed config is new code */
        tp_buf id;
        tp_buf_init(&id);
        tp_buf_printf(&id, "%s\n%s", cmd, spec->task_root);
        char hex[65];
        tp_sha256_hex(id.data ? id.data : "", id.len, hex);
        tp_buf_free(&id);
        snprintf(spec->key, sizeof spec->key, "%s\ncommand\n%s", fn->arn, hex);
        return 1;
    }
    if (iso && strcmp(iso, "process") == 0) {
        char worker[PATH_MAX];
        worker_path(worker, sizeof worker);
        spec->argv[0] = strdup(worker);
        if (core->procs && core->procs->handler_libs[0]) {
            spec->argv[1] = strdup("--handlers");
            spec->argv[2] = strdup(core->procs->handler_libs);
        }
        if (!getcwd(spec->task_root, sizeof spec->task_root))
            snprintf(spec->task_root, sizeof spec->task_root, "/");
        snprintf(spec->key, sizeof spec->key, "%s\nworker\n%s", fn->arn, fn->handler);
        return 1;
    }
    if (!lambda_handler_find(core, fn->handler) &&
        code_load(core, fn->account, fn->region, fn->name, spec->sha, &spec->zip) == 1) {
        snprintf(spec->key, sizeof spec->key, "%s\nzip\n%s", fn->arn, spec->sha);
        return 1;
    }
    tp_buf_free(&spec->zip);
    return 0;
}

tp_handler_fn lambda_process_handler(tp_core *core, const lambda_fn *fn);

static int run_wait(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The zip unpacked (once per CodeSha256): its directory in spec->task_root
 * and the bootstrap as argv[0]. No engine lock. 0 or -1. */
static int unpack(struct lambda_procs *p, proc_spec *spec)
{
    pthread_mutex_lock(&p->code_mu);
    code_dir *d = p->dirs;
    while (d && strcmp(d->sha, spec->sha) != 0)
        d = d->next;
    int rc = 0;
    if (!d) {
        d = calloc(1, sizeof *d);
        const char *tmp = getenv("TMPDIR");
        char zpath[PATH_MAX + 8];
        if (d) {
            snprintf(d->dir, sizeof d->dir, "%s/tidepool-code-XXXXXX", tmp && *tmp ? tmp : "/tmp");
            snprintf(d->sha, sizeof d->sha, "%s", spec->sha);
        }
        FILE *f = NULL;
        if (!d || !mkdtemp(d->dir) ||
            (snprintf(zpath, sizeof zpath, "%s.zip", d->dir), !(f = fopen(zpath, "wb"))) ||
            fwrite(spec->zip.data, 1, spec->zip.len, f) != spec->zip.len) {
            rc = -1;
        }
        if (f && fclose(f) != 0)
            rc = -1;
        if (rc == 0) {
            char *argv[] = {"unzip", "-q", "-o", zpath, "-d", d->dir, NULL};
            rc = run_wait(argv);
            unlink(zpath);
        }
        if (rc == 0) {
            d->next = p->dirs;
            p->dirs = d;
        } else {
            tp_log_msg(TP_LOG_ERROR, "lambda: cannot unpack the code of %s (is unzip installed?)",
                       spec->key);
            free(d);
            d = NULL;
        }
    }
    if (d) {
        snprintf(spec->task_root, sizeof spec->task_root, "%s", d->dir);
        size_t n = strlen(d->dir) + 16;
        spec->argv[0] = malloc(n);
        if (spec->argv[0])
            snprintf(spec->argv[0], n, "%s/bootstrap", d->dir);
    }
    pthread_mutex_unlock(&p->code_mu);
    return rc;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* --- instances ------------------------------------------------------------------- */

static void env_add(char ***env, size_t *n, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *kv = malloc(len);
    char **v = realloc(*env, (*n + 2) * sizeof *v);
    if (!kv || !v) {
        free(kv);
        if (v)
            *env = v;
        return;
    }
    *env = v;
    snprintf(kv, len, "%s=%s", name, value);
    /* a later value for the same name replaces the earlier one */
    size_t nl = strlen(name);
    for (size_t i = 0; i < *n; i++) {
        if (strncmp(v[i], name, nl) == 0 && v[i][nl] == '=') {
            free(v[i]);
            v[i] = kv;
            return;
        }
    }
    v[(*n)++] = kv;
    v[*n] = NULL;
}

static void env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* Lambda's environment for the function (the runtime's, then the
 * function's Environment.Variables, which may not override the reserved
 * ones — Lambda refuses those at CreateFunction). */
static char **make_env(tp_core *core, const lambda_fn *fn, const proc_instance *inst,
                       const char *task_root, const char *secret)
{
    char **env = NULL;
    size_t n = 0;
    static const char *const inherit[] = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL",
                                          "LD_LIBRARY_PATH", "NODE_PATH", "PYTHONPATH", NULL};
    for (int i = 0; inherit[i]; i++) {
        const char *v = getenv(inherit[i]);
        if (v)
            env_add(&env, &n, inherit[i], v);
    }
    const cJSON *var;
    cJSON_ArrayForEach(var, fn->env) {
        if (cJSON_IsString(var) && var->string)
            env_add(&env, &n, var->string, var->valuestring);
    }
    char buf[600];
    snprintf(buf, sizeof buf, "127.0.0.1:%d", inst->port);
    env_add(&env, &n, "AWS_LAMBDA_RUNTIME_API", buf);
    env_add(&env, &n, "_HANDLER", fn->handler);
    env_add(&env, &n, "AWS_LAMBDA_FUNCTION_NAME", fn->name);
    snprintf(buf, sizeof buf, "%lld", (long long)fn->memory_mb);
    env_add(&env, &n, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", buf);
    env_add(&env, &n, "AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    snprintf(buf, sizeof buf, "/aws/lambda/%s", fn->name);
    env_add(&env, &n, "AWS_LAMBDA_LOG_GROUP_NAME", buf);
    env_add(&env, &n, "AWS_LAMBDA_LOG_STREAM_NAME", inst->token);
    env_add(&env, &n, "AWS_REGION", fn->region);
    env_add(&env, &n, "AWS_DEFAULT_REGION", fn->region);
    /* credentials: the account's own id as access key maps back to the
     * function's account (tp_account_for_key); the session token names
     * the instance so its calls run as its invocation */
    env_add(&env, &n, "AWS_ACCESS_KEY_ID", fn->account);
    env_add(&env, &n, "AWS_SECRET_ACCESS_KEY", secret);
    env_add(&env, &n, "AWS_SESSION_TOKEN", inst->token);
    if (core->procs && core->procs->endpoint[0])
        env_add(&env, &n, "AWS_ENDPOINT_URL", core->procs->endpoint);
    env_add(&env, &n, "LAMBDA_TASK_ROOT", task_root);
    env_add(&env, &n, "LAMBDA_RUNTIME_DIR", task_root);
    env_add(&env, &n, "TZ", ":UTC");
    env_add(&env, &n, "PYTHONUNBUFFERED", "1");
    env_add(&env, &n, "TIDEPOOL_RUNTIME_EXTENSIONS", "1");
    return env;
}

/* The secret that goes with the function's access key: the config's
 * auth.keys entry for the account id when there is one. */
static void secret_for(const tp_core *core, const char *account, char *out, size_t cap)
{
    const cJSON *auth = core->config ? cJSON_GetObjectItemCaseSensitive(core->config, "auth")
                                     : NULL;
    const char *s = tp_json_str(cJSON_GetObjectItemCaseSensitive(auth, "keys"), account);
    snprintf(out, cap, "%s", s ? s : "tidepool");
}

static void inst_free(proc_instance *inst)
{
    if (inst->out_fd >= 0)
        close(inst->out_fd);
    if (inst->err_fd >= 0)
        close(inst->err_fd);
    tp_buf_free(&inst->out_line);
    tp_buf_free(&inst->err_line);
    tp_buf_free(&inst->payload);
    free(inst->event);
    pthread_mutex_destroy(&inst->mu);
    pthread_mutex_destroy(&inst->call_mu);
    pthread_cond_destroy(&inst->cv);
    free(inst);
}

/* waitpid without blocking; 1 once the process has exited. */
static int reaped(proc_instance *inst)
{
    if (inst->exited)
        return 1;
    if (inst->pid <= 0)
        return 1;
    int st;
    pid_t r = waitpid(inst->pid, &st, WNOHANG);
    if (r == inst->pid || (r < 0 && errno == ECHILD)) {
        inst->exited = 1;
        inst->status = r == inst->pid ? st : 0;
    }
    return inst->exited;
}

static void kill_process(proc_instance *inst)
{
    if (inst->pid > 0 && !inst->exited) {
        kill(-inst->pid, SIGKILL);
        kill(inst->pid, SIGKILL);
    }
}

/* Ends an instance: the process (and its group) killed and reaped, its
 * Runtime API stopped, freed once no call uses it. No locks held. */
static void discard(struct lambda_procs *p, proc_instance *inst)
{
    kill_process(inst);
    if (inst->pid > 0 && !inst->exited) {
        int st;
        while (waitpid(inst->pid, &st, 0) < 0 && errno == EINTR) {
        }
        inst->exited = 1;
    }
    proc_api_stop(inst);
    pthread_mutex_lock(&p->mu);
    for (proc_instance **q = &p->all; *q; q = &(*q)->next)
        if (*q == inst) {
            *q = inst->next;
            break;
        }
    if (!inst->retired || inst->refs > 0)
        inst->refs--;   /* the pool's own */
    inst->retired = 1;
    while (inst->refs > 0)
        pthread_cond_wait(&p->gone, &p->mu);
    pthread_cond_broadcast(&p->gone);
    pthread_mutex_unlock(&p->mu);
    inst_free(inst);
}

static void unref(struct lambda_procs *p, proc_instance *inst)
{
    pthread_mutex_lock(&p->mu);
    inst->refs--;
    pthread_cond_broadcast(&p->gone);
    pthread_mutex_unlock(&p->mu);
}

static proc_instance *spawn(tp_core *core, struct lambda_procs *p, const lambda_fn *fn,
                            const proc_spec *spec, char *why, size_t whycap)
{
    proc_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        snprintf(why, whycap, "out of memory");
        return NULL;
    }
    inst->pool = p;
    inst->out_fd = inst->err_fd = -1;
    pthread_mutex_init(&inst->mu, NULL);
    pthread_mutex_init(&inst->call_mu, NULL);
    pthread_cond_init(&inst->cv, NULL);
    snprintf(inst->key, sizeof inst->key, "%s", spec->key);
    pthread_mutex_lock(&p->mu);
    uint64_t seq = ++p->seq;
    pthread_mutex_unlock(&p->mu);
    snprintf(inst->token, sizeof inst->token, TOKEN_PREFIX "%d-%llu", (int)getpid(),
             (unsigned long long)seq);
    if (proc_api_start(inst) != 0) {
        snprintf(why, whycap, "cannot start the Runtime API");
        inst_free(inst);
        return NULL;
    }
    char secret[256];
    pthread_mutex_lock(core->lock);
    secret_for(core, fn->account, secret, sizeof secret);
    pthread_mutex_unlock(core->lock);
    char **env = make_env(core, fn, inst, spec->task_root, secret);
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    if (!env || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        snprintf(why, whycap, "cannot make pipes: %s", strerror(errno));
        env_free(env);
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0)
                close(out[i]);
            if (err[i] >= 0)
                close(err[i]);
        }
        proc_api_stop(inst);
        inst_free(inst);
        return NULL;
    }
    /* only async-signal-safe calls between fork and exec */
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (chdir(spec->task_root) != 0)
            _exit(126);
        execve(spec->argv[0], spec->argv, env);
        _exit(127);
    }
    env_free(env);
    close(out[1]);
    close(err[1]);
    inst->out_fd = out[0];
    inst->err_fd = err[0];
    fcntl(inst->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(inst->err_fd, F_SETFL, O_NONBLOCK);
    if (pid < 0) {
        snprintf(why, whycap, "cannot start the process: %s", strerror(errno));
        proc_api_stop(inst);
        inst_free(inst);
        return NULL;
    }
    inst->pid = pid;
    inst->in_use = 1;
    inst->refs = 1;   /* the pool's */
    pthread_mutex_lock(&p->mu);
    inst->next = p->all;
    p->all = inst;
    pthread_mutex_unlock(&p->mu);
    return inst;
}

/* A warm instance of the same code, or NULL. Dead or retired ones met on
 * the way are discarded. */
static proc_instance *acquire(struct lambda_procs *p, const char *key)
{
    for (;;) {
        proc_instance *found = NULL, *stale = NULL;
        pthread_mutex_lock(&p->mu);
        for (proc_instance *i = p->all; i; i = i->next) {
            if (i->in_use)
                continue;
            if (i->retired || reaped(i)) {
                stale = i;
                i->in_use = 1;
                break;
            }
            if (!found && i->ready && strcmp(i->key, key) == 0)
                found = i;
        }
        if (!stale && found)
            found->in_use = 1;
        pthread_mutex_unlock(&p->mu);
        if (!stale)
            return found;
        discard(p, stale);
    }
}

/* --- the proxy ----------------------------------------------------------------- */

static void emit_lines(tp_ctx *ctx, tp_buf *line, int flush)
{
    char *start = line->data;
    size_t left = line->len;
    char *nl;
    while (left && (nl = memchr(start, '\n', left))) {
        *nl = 0;
        if (ctx)
            lambda_ctx_log_raw(ctx, start);
        left -= (size_t)(nl - start) + 1;
        start = nl + 1;
    }
    if (flush && left) {
        tp_buf_append(line, "", 1);   /* may move data: recompute start */
        start = line->data + (line->len - 1 - left);
        if (ctx)
            lambda_ctx_log_raw(ctx, start);
        left = 0;
    }
    if (left)
        memmove(line->data, start, left);
    line->len = left;
}

/* The process's output so far into the invocation's log. */
static void drain(proc_instance *inst, tp_ctx *ctx, int flush)
{
    int fds[2] = {inst->out_fd, inst->err_fd};
    tp_buf *lines[2] = {&inst->out_line, &inst->err_line};
    for (int k = 0; k < 2; k++) {
        char buf[4096];
        ssize_t n;
        while (fds[k] >= 0 && (n = read(fds[k], buf, sizeof buf)) > 0)
            tp_buf_append(lines[k], buf, (size_t)n);
        emit_lines(ctx, lines[k], flush);
    }
}

/* "exit status 2", "signal: segmentation fault": the words Lambda (Go's
 * os/exec) uses for how a runtime ended. */
static void exit_words(int status, char *out, size_t cap)
{
    if (WIFEXITED(status)) {
        snprintf(out, cap, "exit status %d", WEXITSTATUS(status));
        return;
    }
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    const char *name;
    switch (sig) {
    case SIGSEGV: name = "segmentation fault"; break;
    case SIGABRT: name = "aborted"; break;
    case SIGBUS: name = "bus error"; break;
    case SIGFPE: name = "floating point exception"; break;
    case SIGILL: name = "illegal instruction"; break;
    case SIGKILL: name = "killed"; break;
    case SIGTERM: name = "terminated"; break;
    default: name = NULL;
    }
    if (name)
        snprintf(out, cap, "signal: %s", name);
    else
        snprintf(out, cap, "signal: %d", sig);
}

static int respond_error(tp_ctx *ctx, tp_response *resp, const char *type, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorType", type);
    cJSON_AddStringToObject(o, "errorMessage", msg);
    char *s = tp_json_print(o);
    cJSON_Delete(o);
    if (s)
        tp_respond(resp, s, strlen(s));
    free(s);
    return 1;
}

/* A runtime's error document as Lambda passes it on: its own JSON when it
 * has errorMessage (errorType from the header when it has none), else the
 * text as the message. */
static int respond_runtime_error(tp_response *resp, const tp_buf *body, const char *hdr_type,
                                 const char *dflt_type)
{
    const char *type = hdr_type && *hdr_type ? hdr_type : dflt_type;
    cJSON *o = body->len ? tp_json_parse(body->data, body->len) : NULL;
    if (!cJSON_IsObject(o) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "errorMessage"))) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "errorMessage", body->len ? body->data : "");
    }
    if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "errorType")))
        cJSON_AddStringToObject(o, "errorType", type);
    char *s = tp_json_print(o);
    cJSON_Delete(o);
    if (s)
        tp_respond(resp, s, strlen(s));
    free(s);
    return 1;
}

static void set_ctx(proc_instance *inst, tp_ctx *ctx)
{
    pthread_mutex_lock(&inst->call_mu);
    inst->ctx = ctx;
    pthread_mutex_unlock(&inst->call_mu);
}

static int proxy(tp_ctx *ctx, const char *event, size_t len, tp_response *resp)
{
    tp_core *core = lambda_ctx_core(ctx);
    const lambda_fn *fn = lambda_ctx_fn(ctx);
    struct lambda_procs *p = core->procs;
    proc_spec spec;
    pthread_mutex_lock(core->lock);
    int have = p && !p->stopping && spec_for(core, fn, &spec) == 1;
    pthread_mutex_unlock(core->lock);
    if (!have)
        return respond_error(ctx, resp, "Runtime.InvalidEntrypoint",
                             "the function's process is not available");
    if (spec.sha[0] && unpack(p, &spec) != 0) {
        spec_free(&spec);
        return respond_error(ctx, resp, "Runtime.InvalidEntrypoint",
                             "tidepool could not unpack the function's zip");
    }
    int64_t started = wall_ms();
    char why[256] = "";
    proc_instance *inst = acquire(p, spec.key);
    if (!inst)
        inst = spawn(core, p, fn, &spec, why, sizeof why);
    spec_free(&spec);
    if (!inst)
        return respond_error(ctx, resp, "Runtime.InvalidEntrypoint", why);

    set_ctx(inst, ctx);   /* before the event: its first call may come at once */
    pthread_mutex_lock(&inst->mu);
    free(inst->event);
    inst->event = malloc(len + 1);
    if (inst->event) {
        memcpy(inst->event, event, len);
        inst->event[len] = 0;
    }
    inst->event_len = inst->event ? len : 0;
    snprintf(inst->request_id, sizeof inst->request_id, "%s", tp_request_id(ctx));
    snprintf(inst->arn, sizeof inst->arn, "%s", fn->arn);
    /* the deadline on the wall clock: what a runtime's remaining-time
     * arithmetic (deadline - now) expects, whichever clock tidepool runs */
    inst->deadline_wall_ms = started + tp_remaining_ms(ctx);
    snprintf(inst->trace_id, sizeof inst->trace_id,
             "Root=1-00000000-%.24s;Parent=0000000000000000;Sampled=0", inst->request_id);
    inst->result = PROC_PENDING;
    inst->state = PROC_BUSY;
    inst->has_event = 1;
    pthread_cond_broadcast(&inst->cv);
    pthread_mutex_unlock(&inst->mu);

    enum { END_RESULT, END_EXIT, END_TIMEOUT } how;
    for (;;) {
        drain(inst, ctx, 0);
        pthread_mutex_lock(&inst->mu);
        proc_result r = inst->result;
        if (r == PROC_PENDING) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += POLL_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&inst->cv, &inst->mu, &ts);
            r = inst->result;
        }
        pthread_mutex_unlock(&inst->mu);
        if (r != PROC_PENDING) {
            how = END_RESULT;
            break;
        }
        if (reaped(inst)) {
            how = END_EXIT;
            break;
        }
        if (tp_remaining_ms(ctx) == 0 || wall_ms() - started >= fn->timeout_ms) {
            how = END_TIMEOUT;
            break;
        }
    }
    drain(inst, ctx, 1);
    int rc = 0, keep = 0;
    if (how == END_RESULT) {
        pthread_mutex_lock(&inst->mu);
        if (inst->result == PROC_RESPONSE) {
            if (inst->payload.len)
                tp_respond(resp, inst->payload.data, inst->payload.len);
            keep = 1;
        } else if (inst->result == PROC_ERROR) {
            rc = respond_runtime_error(resp, &inst->payload, inst->error_type, "Unhandled");
            keep = 1;
        } else {
            rc = respond_runtime_error(resp, &inst->payload, inst->error_type,
                                       "Runtime.Unknown");
        }
        inst->result = PROC_PENDING;
        if (keep)
            inst->state = PROC_IDLE;
        pthread_mutex_unlock(&inst->mu);
    } else if (how == END_EXIT) {
        char words[64], msg[256];
        exit_words(inst->status, words, sizeof words);
        if (WIFEXITED(inst->status) && WEXITSTATUS(inst->status) == 0)
            snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited without providing a reason",
                     tp_request_id(ctx));
        else
            snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited with error: %s",
                     tp_request_id(ctx), words);
        lambda_ctx_log_raw(ctx, msg);
        lambda_ctx_log_raw(ctx, "Runtime.ExitError");
        rc = respond_error(ctx, resp, "Runtime.ExitError", msg);
    } else {
        /* past the deadline on the wall clock (a process that never calls
         * tidepool): move tidepool's clock to the deadline, where the
         * invoker records the timeout, then end the process */
        pthread_mutex_lock(&inst->call_mu);
        int64_t left = tp_remaining_ms(ctx);
        if (left > 0)
            tp_sleep_ms(ctx, left);
        pthread_mutex_unlock(&inst->call_mu);
        rc = 1;
    }
    set_ctx(inst, NULL);
    pthread_mutex_lock(&p->mu);
    keep = keep && !inst->retired && !p->stopping;
    if (keep)
        inst->in_use = 0;
    pthread_mutex_unlock(&p->mu);
    if (!keep)
        discard(p, inst);
    return rc;
}

tp_handler_fn lambda_process_handler(tp_core *core, const lambda_fn *fn)
{
    if (entry_is_process(config_entry(core, fn->account, fn->region, fn->name)))
        return proxy;
    /* a registered C handler wins over a zip's bootstrap (a C function's
     * zip is a placeholder tidepool never runs) */
    char sha[64];
    return !lambda_handler_find(core, fn->handler) &&
                   code_load(core, fn->account, fn->region, fn->name, sha, NULL) == 1
               ? proxy
               : NULL;
}

/* --- calls from the process ----------------------------------------------------------- */

static proc_instance *find_token(struct lambda_procs *p, const char *token)
{
    pthread_mutex_lock(&p->mu);
    proc_instance *i = p->all;
    while (i && strcmp(i->token, token) != 0)
        i = i->next;
    if (i)
        i->refs++;
    pthread_mutex_unlock(&p->mu);
    return i;
}

int lambda_process_call(tp_core *core, const char *token, const char *target, const cJSON *in,
                        cJSON **out, tp_error *err, int *rc)
{
    struct lambda_procs *p = core->procs;
    if (!p || !token || strncmp(token, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) != 0)
        return 0;
    proc_instance *inst = find_token(p, token);
    if (!inst)
        return 0;
    pthread_mutex_lock(&inst->call_mu);
    tp_ctx *ctx = inst->ctx;
    if (!ctx) {
        /* init code, before any invocation: an ordinary call */
        pthread_mutex_unlock(&inst->call_mu);
        unref(p, inst);
        return 0;
    }
    char *req = in ? tp_json_print(in) : NULL;
    char *resp = NULL;
    *rc = tp_call(ctx, target, req, &resp, err);
    free(req);
    pthread_mutex_unlock(&inst->call_mu);
    unref(p, inst);
    *out = NULL;
    if (*rc == 0) {
        *out = resp ? tp_json_parse_str(resp) : cJSON_CreateObject();
        free(resp);
        if (!*out)
            *rc = tp_fail(err, TP_ERR_INTERNAL, "unreadable answer");
    } else if (err->status == 0) {
        err->status = 500;   /* the invocation timed out: no AWS status fits */
    }
    return 1;
}

static int64_t with_ctx(proc_instance *inst, int what, int64_t ms)
{
    pthread_mutex_lock(&inst->call_mu);
    tp_ctx *ctx = inst->ctx;
    int64_t v = 0;
    if (ctx) {
        if (what == 0)
            tp_sleep_ms(ctx, ms);
        v = what == 1 ? tp_now_ms(ctx) : tp_remaining_ms(ctx);
    }
    pthread_mutex_unlock(&inst->call_mu);
    return v;
}

int64_t proc_sleep(proc_instance *inst, int64_t ms) { return with_ctx(inst, 0, ms); }
int64_t proc_now_ms(proc_instance *inst) { return with_ctx(inst, 1, 0); }
int64_t proc_remaining_ms(proc_instance *inst) { return with_ctx(inst, 2, 0); }

/* --- reset and shutdown ----------------------------------------------------------- */

void lambda_process_reset(tp_core *core)
{
    struct lambda_procs *p = core->procs;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    for (proc_instance *i = p->all; i; i = i->next) {
        i->retired = 1;
        kill_process(i);
    }
    pthread_mutex_unlock(&p->mu);
}

void lambda_process_shutdown(tp_core *core)
{
    struct lambda_procs *p = core->procs;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_mutex_unlock(&p->mu);
    if (core->lock)
        pthread_mutex_lock(core->lock);
    lambda_process_reset(core);
    if (core->lock)
        pthread_mutex_unlock(core->lock);
    /* idle ones here; busy ones by their proxies, which see the exit */
    for (int tries = 0; tries < 5000; tries++) {
        proc_instance *idle = NULL;
        int any = 0;
        pthread_mutex_lock(&p->mu);
        for (proc_instance *i = p->all; i; i = i->next) {
            any = 1;
            if (!i->in_use) {
                i->in_use = 1;
                idle = i;
                break;
            }
        }
        pthread_mutex_unlock(&p->mu);
        if (idle) {
            discard(p, idle);
            continue;
        }
        if (!any)
            break;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ts, NULL);
    }
    while (p->dirs) {
        code_dir *d = p->dirs;
        p->dirs = d->next;
        nftw(d->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
    }
    core->procs = NULL;
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->code_mu);
    pthread_cond_destroy(&p->gone);
    free(p);
}
