/* fuzz_engine — the in-memory engine the request-path fuzz targets call,
 * made once per process and reset before every input to the same small
 * world: a DynamoDB table "tab" with a sort key, a GSI "gsi" and a stream; an SQS
 * standard and FIFO queue; a Kinesis stream; a Lambda function running
 * the compiled-in echo handler. Header-only: each target includes it once. */
#ifndef TP_FUZZ_ENGINE_H
#define TP_FUZZ_ENGINE_H

#include <stdio.h>
#include <stdlib.h>

#include "tidepool/engine.h"

static const char *const fz_world[][2] = {
    {"DynamoDB_20120810.CreateTable",
     "{\"TableName\":\"tab\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"},"
     "{\"AttributeName\":\"sk\",\"AttributeType\":\"N\"},{\"AttributeName\":\"g\",\"AttributeType\":\"S\"}],"
     "\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"sk\",\"KeyType\":\"RANGE\"}],"
     "\"GlobalSecondaryIndexes\":[{\"IndexName\":\"gsi\",\"KeySchema\":[{\"AttributeName\":\"g\",\"KeyType\":\"HASH\"}],"
     "\"Projection\":{\"ProjectionType\":\"ALL\"}}],\"BillingMode\":\"PAY_PER_REQUEST\","
     "\"StreamSpecification\":{\"StreamEnabled\":true,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}}"},
    {"DynamoDB_20120810.PutItem",
     "{\"TableName\":\"tab\",\"Item\":{\"pk\":{\"S\":\"a\"},\"sk\":{\"N\":\"1\"},\"g\":{\"S\":\"x\"},"
     "\"n\":{\"N\":\"5\"},\"l\":{\"L\":[{\"S\":\"e\"}]},\"m\":{\"M\":{\"k\":{\"SS\":[\"v\"]}}}}}"},
    {"AmazonSQS.CreateQueue", "{\"QueueName\":\"q\"}"},
    {"AmazonSQS.CreateQueue",
     "{\"QueueName\":\"q.fifo\",\"Attributes\":{\"FifoQueue\":\"true\",\"ContentBasedDeduplication\":\"true\"}}"},
    {"Kinesis_20131202.CreateStream", "{\"StreamName\":\"s\",\"ShardCount\":2}"},
    {"Lambda_20150331.CreateFunction",
     "{\"FunctionName\":\"f\",\"Runtime\":\"provided.al2023\",\"Role\":\"arn:aws:iam::123456789012:role/r\","
     "\"Handler\":\"echo\",\"Code\":{\"ZipFile\":\"UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\"}}"},
};

static tp_engine *fz_engine;
static long fz_inputs;

/* The engine, reset to the world above every FUZZ_RESET_EVERY inputs
 * (default 32; a reset and the world's calls cost ~40 ms, 30 times the
 * average input). Set it to 1 to replay a reproducer exactly: state left
 * by earlier inputs of the same run may have been part of a failure.
 * Aborts when the world cannot be made: that is a bug of its own. */
static inline tp_engine *fz_engine_fresh(void)
{
    tp_error err;
    static long every;
    if (!every) {
        const char *env = getenv("FUZZ_RESET_EVERY");
        every = env && atol(env) > 0 ? atol(env) : 32;
    }
    if (fz_engine && fz_inputs++ % every != 0)
        return fz_engine;
    if (!fz_engine) {
        tp_engine_options o = {.seed = 7};
        fz_engine = tp_engine_new(&o, &err);
        if (!fz_engine) {
            fprintf(stderr, "fuzz: engine: %s\n", err.message);
            abort();
        }
    } else if (tp_engine_reset(fz_engine) != 0) {
        abort();
    }
    for (size_t i = 0; i < sizeof fz_world / sizeof fz_world[0]; i++) {
        char *out = NULL;
        if (tp_engine_call(fz_engine, NULL, NULL, fz_world[i][0], fz_world[i][1], &out, &err) != 0) {
            fprintf(stderr, "fuzz: %s: %s: %s\n", fz_world[i][0], err.code, err.message);
            abort();
        }
        free(out);
    }
    tp_engine_advance(fz_engine, 60000);   /* tables and streams become ACTIVE */
    return fz_engine;
}

#endif
