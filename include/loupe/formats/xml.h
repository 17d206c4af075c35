/* XML in, for the XML formats (Pascal VOC, CVAT): a streaming parser
 * (expat) that refuses every document type declaration, so no entity is
 * ever declared or expanded (billion laughs) and no external entity or DTD
 * is ever fetched (XXE) — the formats need none. Also refused: elements
 * nested deeper than a limit. Errors say the line and column.
 *
 * Pure: expat and libc only. One parser belongs to one thread. */
#ifndef LOUPE_FORMATS_XML_H
#define LOUPE_FORMATS_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "loupe/core/error.h"

typedef struct lp_xml lp_xml;

/* Callbacks: return 0 to go on, -1 to stop the parse (with err set). attrs
 * is expat's NULL-terminated name, value, name, value, … list. Text may
 * arrive in several pieces. All strings are borrowed for the call. */
typedef struct lp_xml_handlers {
    int (*start)(void *ud, const char *name, const char **attrs, lp_error *err);
    int (*end)(void *ud, const char *name, lp_error *err);
    int (*text)(void *ud, const char *s, size_t len, lp_error *err);
    void *ud;
} lp_xml_handlers;

/* A parser calling h (borrowed) for elements nested at most max_depth deep.
 * NULL with err (LP_E_NOMEM). */
lp_xml *lp_xml_new(const lp_xml_handlers *h, size_t max_depth, lp_error *err);

/* Feeds n bytes; final on the last piece. 0, or -1 with err: LP_E_INVALID
 * naming the line and column for a malformed document or a refused
 * construct, or the handler's error. After -1 the parser accepts nothing. */
int lp_xml_feed(lp_xml *x, const void *p, size_t n, bool final, lp_error *err);

/* Where the event being handled starts: *line and *column from 1. */
void lp_xml_where(const lp_xml *x, unsigned long *line, unsigned long *column);

/* The byte offset in the document of the event being handled. */
size_t lp_xml_offset(const lp_xml *x);

/* NULL is a no-op. */
void lp_xml_free(lp_xml *x);

#endif
