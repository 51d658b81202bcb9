/* Unit tests: kinesis internals — partition keys hashed with MD5 onto the
 * 128-bit hash-key space (UTF-8 bytes, U+0000 as a real zero byte), the
 * 128-bit decimal parser and printer, and sequence numbers: 56 digits,
 * parsed back, and ordered as text the way they must be ordered (by arrival
 * within a shard, a child shard's after its parent's, an AT_TIMESTAMP
 * position between the records before and after it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "kinesis/kin.h"

static void u128_text(kin_u128 v, char out[40]) { kin_u128_format(v, out); }

static void md5_routing(void **state)
{
    (void)state;
    static const struct {
        const char *key, *hash;
    } cases[] = {
        {"a", "16955237001963240173058271559858726497"},
        {"\xc3\xa9", "136732923097551493579404309126273812335"},      /* "é" as UTF-8 */
        {"a\xc0\x80" "b", "149149039115758847277334851244616069275"},  /* U+0000 held inside */
        {"partition-key-42", "83989209188138350449592802230066768018"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char got[40];
        u128_text(kin_hash_partition_key(cases[i].key), got);
        assert_string_equal(got, cases[i].hash);
    }
    /* 4 even shards: the top two bits of the MD5 pick the shard
     * ("a" 0x0c.., "é" 0x66.., "a\0b" 0x70.., "partition-key-42" 0x3f..) */
    kin_u128 quarter = (kin_u128)1 << 126;
    assert_true(kin_hash_partition_key("a") / quarter == 0);
    assert_true(kin_hash_partition_key("\xc3\xa9") / quarter == 1);
    assert_true(kin_hash_partition_key("a\xc0\x80" "b") / quarter == 1);
    assert_true(kin_hash_partition_key("partition-key-42") / quarter == 0);
}

static void u128_parse_and_format(void **state)
{
    (void)state;
    kin_u128 v;
    char out[40];
    assert_int_equal(kin_u128_parse("340282366920938463463374607431768211455", &v), 0);
    assert_true(v == ~(kin_u128)0);
    u128_text(v, out);
    assert_string_equal(out, "340282366920938463463374607431768211455");
    assert_int_equal(kin_u128_parse("0", &v), 0);
    u128_text(v, out);
    assert_string_equal(out, "0");
    assert_int_equal(kin_u128_parse("007", &v), 0);
    assert_true(v == 7);
    assert_int_equal(kin_u128_parse("170141183460469231731687303715884105728", &v), 0);
    assert_true(v == (kin_u128)1 << 127);
    /* 2^128 and beyond, signs, non-digits, empty */
    assert_int_equal(kin_u128_parse("340282366920938463463374607431768211456", &v), -1);
    assert_int_equal(kin_u128_parse("999999999999999999999999999999999999999", &v), -1);
    assert_int_equal(kin_u128_parse("-1", &v), -1);
    assert_int_equal(kin_u128_parse("+1", &v), -1);
    assert_int_equal(kin_u128_parse("1a", &v), -1);
    assert_int_equal(kin_u128_parse(" 1", &v), -1);
    assert_int_equal(kin_u128_parse("", &v), -1);
    assert_int_equal(kin_u128_parse(NULL, &v), -1);
}

static void sequence_numbers_parse(void **state)
{
    (void)state;
    char seq[KIN_SEQ_LEN + 1];
    kin_seq_make(1704067200123, 7, "42", seq);
    assert_int_equal(strlen(seq), KIN_SEQ_LEN);
    assert_memory_equal(seq, "49", 2);
    assert_string_equal(seq, "49" "01704067200123" "00000007" "00000000000000000000000000000042");
    int64_t ms, idx;
    assert_int_equal(kin_seq_parse(seq, &ms, &idx), 0);
    assert_true(ms == 1704067200123);
    assert_true(idx == 7);
    assert_int_equal(kin_seq_parse("12", &ms, &idx), -1);
    assert_int_equal(kin_seq_parse(NULL, &ms, &idx), -1);
    char bad[KIN_SEQ_LEN + 1];
    memcpy(bad, seq, sizeof bad);
    bad[0] = '5';   /* not ours */
    assert_int_equal(kin_seq_parse(bad, &ms, &idx), -1);
    memcpy(bad, seq, sizeof bad);
    bad[30] = 'x';
    assert_int_equal(kin_seq_parse(bad, &ms, &idx), -1);
    char longer[KIN_SEQ_LEN + 2];
    memcpy(longer, seq, KIN_SEQ_LEN);
    longer[KIN_SEQ_LEN] = '0';
    longer[KIN_SEQ_LEN + 1] = '\0';
    assert_int_equal(kin_seq_parse(longer, &ms, &idx), -1);
}

static void sequence_numbers_order(void **state)
{
    (void)state;
    /* records of one stream as put_one numbers them: the arrival never goes
     * back (max(last, now)) and the counter grows with every record */
    static const struct {
        int64_t ms, idx;
        const char *counter;
    } recs[] = {
        {1000, 0, "1"}, {1000, 0, "2"}, {1000, 0, "9"}, {1000, 0, "10"},
        {1001, 0, "11"}, {1001, 0, "100"}, {99999, 0, "101"},
        {99999, 0, "18446744073709551615"},
        /* after a split at 99999: the children (index 1, 2) follow */
        {99999, 1, "18446744073709551616"}, {100000, 2, "18446744073709551617"},
    };
    char prev[KIN_SEQ_LEN + 1] = "", cur[KIN_SEQ_LEN + 1];
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        kin_seq_make(recs[i].ms, recs[i].idx, recs[i].counter, cur);
        if (prev[0])
            assert_true(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof cur);
    }
    /* a shard's starting number (counter "0") precedes its records */
    char start[KIN_SEQ_LEN + 1], first[KIN_SEQ_LEN + 1];
    kin_seq_make(500, 3, "0", start);
    kin_seq_make(500, 3, "1", first);
    assert_true(strcmp(start, first) < 0);
    /* AT_TIMESTAMP t: the position (t, shard, "0") sits after every record
     * that arrived before t and at or before every one that arrived at t or later */
    char at[KIN_SEQ_LEN + 1], before[KIN_SEQ_LEN + 1], same[KIN_SEQ_LEN + 1], after[KIN_SEQ_LEN + 1];
    kin_seq_make(2000, 0, "0", at);
    kin_seq_make(1999, 0, "99999999999999999999", before);
    kin_seq_make(2000, 0, "5", same);
    kin_seq_make(2001, 0, "6", after);
    assert_true(strcmp(before, at) < 0);
    assert_true(strcmp(at, same) < 0);
    assert_true(strcmp(same, after) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(md5_routing),
        cmocka_unit_test(u128_parse_and_format),
        cmocka_unit_test(sequence_numbers_parse),
        cmocka_unit_test(sequence_numbers_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
