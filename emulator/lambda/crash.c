/* lambda/crash — a handler that crashes on its invocation thread (SIGSEGV,
 * SIGBUS, SIGFPE, SIGILL, abort(), a failed assert) fails that invocation,
 * as Lambda reports a runtime that died, instead of taking tidepool down.
 *
 * How: lambda_crash_guard runs the handler with an alternate signal stack
 * for the thread (so a stack overflow is caught too) and a sigsetjmp
 * target. One process-wide handler for the five signals, installed once
 * with SA_ONSTACK, siglongjmps back to that target when the faulting thread
 * is inside a guarded call and not inside tidepool's own code (tp_call and
 * the other handler.h functions mark themselves with lambda_crash_enter/
 * leave: a fault there is tidepool's bug, and a jump out of it could leave
 * the engine locked). Everywhere else the signal gets its previous
 * disposition — a sanitizer's handler, or the default: tidepool's own bugs
 * still crash loudly.
 *
 * What it cannot do: a handler that wrote over memory it does not own has
 * corrupted the process; jumping out does not undo that (the isolation
 * mode, a process per function, does). Memory the handler allocated before
 * the crash leaks. The thread's signal mask comes back with siglongjmp. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lambda.h"

static const int guarded[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define NGUARDED (sizeof guarded / sizeof guarded[0])

static struct sigaction previous[NGUARDED];
static pthread_mutex_t install_mu = PTHREAD_MUTEX_INITIALIZER;

/* The jump target of the guarded call running on this thread, or NULL. */
static _Thread_local sigjmp_buf *jump_to;
/* > 0 while this thread runs tidepool's code on a handler's behalf. */
static _Thread_local volatile sig_atomic_t in_tidepool;

#define ALTSTACK_SIZE (64 * 1024)

static int slot_of(int sig)
{
    for (size_t i = 0; i < NGUARDED; i++)
        if (guarded[i] == sig)
            return (int)i;
    return -1;
}

static void on_signal(int sig, siginfo_t *info, void *uctx)
{
    if (jump_to && !in_tidepool)
        siglongjmp(*jump_to, sig);
    int i = slot_of(sig);
    const struct sigaction *old = i >= 0 ? &previous[i] : NULL;
    if (old && (old->sa_flags & SA_SIGINFO) && old->sa_sigaction) {
        old->sa_sigaction(sig, info, uctx);
        return;
    }
    if (old && !(old->sa_flags & SA_SIGINFO) && old->sa_handler != SIG_DFL &&
        old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    /* the default: a fault re-executes and dies; a raised signal is
     * delivered once this returns and the mask is restored */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Installs on_signal wherever it is not (still) the disposition: someone
 * may have replaced it since (a test framework restoring its own after
 * each test, a handler library); what it replaces becomes "previous". */
static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    pthread_mutex_lock(&install_mu);
    for (size_t i = 0; i < NGUARDED; i++) {
        struct sigaction cur;
        if (sigaction(guarded[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
            cur.sa_sigaction == on_signal)
            continue;
        sigaction(guarded[i], &sa, &previous[i]);
    }
    pthread_mutex_unlock(&install_mu);
}

int lambda_crash_guard(void (*fn)(void *arg), void *arg)
{
    install();
    stack_t alt = {0}, old_alt;
    alt.ss_sp = malloc(ALTSTACK_SIZE);
    alt.ss_size = ALTSTACK_SIZE;
    int have_alt = alt.ss_sp && sigaltstack(&alt, &old_alt) == 0;
    sigjmp_buf here;
    sigjmp_buf *volatile outer = jump_to;
    volatile sig_atomic_t outer_depth = in_tidepool;
    int sig = sigsetjmp(here, 1);
    if (sig == 0) {
        in_tidepool = 0;
        jump_to = &here;
        fn(arg);
    }
    jump_to = outer;
    in_tidepool = outer_depth;
    if (have_alt)
        sigaltstack(&old_alt, NULL);
    free(alt.ss_sp);
    return sig;
}

void lambda_crash_enter(void) { in_tidepool++; }
void lambda_crash_leave(void) { in_tidepool--; }

/* Go's names (os/exec's "signal: ..."), which is what Lambda's runtime
 * manager prints after "Runtime exited with error: ". */
const char *lambda_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "segmentation fault";
    case SIGBUS: return "bus error";
    case SIGFPE: return "floating point exception";
    case SIGILL: return "illegal instruction";
    case SIGABRT: return "aborted";
    case SIGKILL: return "killed";
    case SIGTERM: return "terminated";
    case SIGTRAP: return "trace/breakpoint trap";
    case SIGSYS: return "bad system call";
    }
    return NULL;
}

void lambda_exit_error_message(const char *request_id, int sig, int exit_status, char *out,
                               size_t cap)
{
    if (sig) {
        const char *name = lambda_signal_name(sig);
        char num[32];
        if (!name) {
            snprintf(num, sizeof num, "signal %d", sig);
            name = num;
        }
        snprintf(out, cap, "RequestId: %s Error: Runtime exited with error: signal: %s",
                 request_id, name);
    } else {
        snprintf(out, cap, "RequestId: %s Error: Runtime exited with error: exit status %d",
                 request_id, exit_status);
    }
}
