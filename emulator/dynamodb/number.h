/* dynamodb/number — DynamoDB numbers as exact decimals.
 *
 * A number is 0.d1d2...dn x 10^exp with 1..38 significant digits (no leading
 * or trailing zeros in digits) and a magnitude between 1E-130 and
 * 9.9999999999999999999999999999999999999E+125, as DynamoDB stores them.
 * Parsing gives AWS's validation messages; formatting gives the canonical
 * text DynamoDB returns (plain decimal notation, trailing zeros dropped:
 * "1.50" -> "1.5", "1e2" -> "100", "-0" -> "0"). Arithmetic is exact. */
#ifndef TP_DDB_NUMBER_H
#define TP_DDB_NUMBER_H

#include <stddef.h>

#include "core/error.h"

#define DDB_NUM_MAX_DIGITS 38

typedef struct ddb_num {
    int sign;                              /* -1, 0 (the number zero), +1 */
    int ndigits;                           /* 0 for zero, else 1..38 */
    char digits[DDB_NUM_MAX_DIGITS + 1];   /* '1'..'9' first, no trailing '0', NUL-terminated */
    int exp;                               /* value = 0.digits x 10^exp */
} ddb_num;

/* Parses the text of an "N" value: [+-] digits [. digits] [e|E [+-] digits],
 * where either side of the point may be empty but not both (".5", "5.",
 * "+1e+5"); nothing else, not even surrounding space. Leading and trailing
 * zeros are not significant ("1e39" and "0001.000" are fine). On failure
 * sets a ValidationException with AWS's message and returns -1; checks run
 * in this order:
 *   "The parameter cannot be converted to a numeric value"  (empty text)
 *   "The parameter cannot be converted to a numeric value: <text>"
 *   "Number overflow. Attempting to store a number with magnitude larger than supported range"
 *   "Number underflow. Attempting to store a number with magnitude smaller than supported range"
 *   "Attempting to store more than 38 significant digits in a Number" */
int ddb_num_parse(const char *text, ddb_num *out, tp_error *err);
/* Canonical text; cap of 200 is always enough. */
void ddb_num_format(const ddb_num *n, char *out, size_t cap);
/* -1, 0, 1 */
int ddb_num_cmp(const ddb_num *a, const ddb_num *b);
/* out = a + b (or a - b), exact. A result beyond 9.99..E+125 or one that
 * needs more than 38 significant digits fails with "Number overflow. ..."
 * (AWS words lost precision in arithmetic that way, e.g. 1E50 + 1); a
 * non-zero result below 1E-130 with "Number underflow. ...". out may alias
 * a or b. */
int ddb_num_add(const ddb_num *a, const ddb_num *b, ddb_num *out, tp_error *err);
int ddb_num_sub(const ddb_num *a, const ddb_num *b, ddb_num *out, tp_error *err);
/* Bytes the number counts toward item size, the AWS way: 1, plus one per
 * base-100 digit pair the significant digits span (pairs are aligned on the
 * decimal point), plus 1 when negative; zero is 1. */
size_t ddb_num_size(const ddb_num *n);

#endif
