/* JSON text out, shared by every format that writes JSON: rendered straight
 * into an lp_buf (no intermediate tree). Pure. */
#ifndef LOUPE_FORMATS_JSON_TEXT_H
#define LOUPE_FORMATS_JSON_TEXT_H

#include <stddef.h>

#include "loupe/core/buf.h"

/* Shortest decimal text that reads back as exactly v (v finite). Returns the
 * length written to out (at most 32 bytes with the NUL). */
size_t lp_json_format_double(double v, char out[32]);

/* Appends s (len bytes, borrowed) as a JSON string (quoted, escaped). 0, or
 * -1 when out is full. */
int lp_json_write_string(lp_buf *out, const char *s, size_t len);

/* Appends the members of a JSON object text "{…}" (jsonb output) to out,
 * each preceded by a comma; nothing for "{}" or NULL. 0 or -1. */
int lp_json_write_members(lp_buf *out, const char *obj, size_t len);

#endif
