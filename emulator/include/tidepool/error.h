/* tidepool/error.h — the one error type that crosses every boundary.
 *
 * An action, the HTTP front door, a handler's tp_call and the embedding API
 * all report failures the same way: an HTTP status, the AWS short error code
 * ("ValidationException") and AWS's message text. Only the protocol codecs
 * turn it into bytes (awsJson __type, SQS XML, ...). No cJSON types here. */
#ifndef TIDEPOOL_ERROR_H
#define TIDEPOOL_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#define TP_ERROR_CODE_MAX 96
#define TP_ERROR_MESSAGE_MAX 4096

typedef struct tp_error {
    int status;                          /* HTTP status, e.g. 400 */
    char code[TP_ERROR_CODE_MAX];        /* AWS short code, e.g. "ValidationException" */
    char message[TP_ERROR_MESSAGE_MAX];  /* AWS's message; may be empty */
} tp_error;

#ifdef __cplusplus
}
#endif
#endif
