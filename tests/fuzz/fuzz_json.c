/* Fuzz target: core/json — the NUL-safe JSON parser and printer.
 *
 * Input: any bytes, parsed as a request body would be (not NUL-terminated).
 * Checks that a parsed tree prints, that the printed text parses again and
 * prints the same (U+0000 goes \u0000 -> C0 80 -> \u0000), that no string
 * in the tree holds a raw C0 80 the client did not escape, and that the
 * wire-length helpers agree with tp_str_wire_bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"

static void check_strings(const cJSON *n)
{
    for (; n; n = n->next) {
        const char *s = cJSON_IsString(n) ? n->valuestring : NULL;
        if (s) {
            tp_buf b;
            tp_buf_init(&b);
            if (tp_str_wire_bytes(s, strlen(s), &b) == 0 && b.len != tp_str_wire_len(s))
                abort();
            tp_buf_free(&b);
            if (tp_str_wire_cmp(s, s) != 0)
                abort();
        }
        if (n->string && tp_str_wire_cmp(n->string, n->string) != 0)
            abort();
        check_strings(n->child);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *tree = tp_json_parse((const char *)data, size);
    if (!tree)
        return 0;
    check_strings(tree);
    char *text = tp_json_print(tree);
    if (!text)
        abort();
    cJSON *again = tp_json_parse(text, strlen(text));
    if (!again)
        abort();   /* what we print we must read back */
    char *text2 = tp_json_print(again);
    if (!text2 || strcmp(text, text2) != 0)
        abort();
    free(text2);
    free(text);
    cJSON_Delete(again);
    cJSON_Delete(tree);
    return 0;
}
