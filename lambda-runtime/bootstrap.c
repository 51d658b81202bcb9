/* lambda-runtime/bootstrap — the `bootstrap` a provided.al2023 function
 * runs (make lambda-zip) and tidepool-worker (isolation "process"): the
 * Runtime API loop around the handler _HANDLER names. TP_LAMBDA_HANDLER,
 * when defined at build time, is the handler used when _HANDLER names
 * none (a zip built for one handler). */
#include "runtime.h"

#ifndef TP_LAMBDA_HANDLER
#define TP_LAMBDA_HANDLER NULL
#endif

int main(int argc, char **argv) { return tp_lambda_main(argc, argv, TP_LAMBDA_HANDLER); }
