/* lambda/poller — SKELETON: being written. */
#include "lambda.h"
