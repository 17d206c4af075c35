/* Minimal reading of S3's XML responses: the text of one element
 * (UploadId, ETag, Code, Message) and the name of the root element (to tell
 * an <Error> from a result). Not a general XML parser: no namespaces, no
 * CDATA, no nesting of the wanted element. Input is bounded by the caller;
 * every output is bounded by its capacity. */
#ifndef LOUPE_STORAGE_S3_XML_INT_H
#define LOUPE_STORAGE_S3_XML_INT_H

#include <stddef.h>

#include "loupe/core/buf.h"

/* Copies the unescaped text of the first element named tag in xml[0..len)
 * into out (cap bytes, NUL-terminated). Returns 0, 1 if there is no such
 * element, -1 if it is malformed (unterminated, unknown entity, a nested
 * element) or its text does not fit. */
int lp_s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t cap);

/* 1 if the first element of xml[0..len) (after an optional <?xml …?>
 * declaration, comments and white space) is named tag, else 0. */
int lp_s3_xml_root_is(const char *xml, size_t len, const char *tag);

/* Appends s to out with & < > " ' escaped, as element text. Returns 0, or -1
 * if out's maximum would be passed. */
int lp_s3_xml_escape(lp_buf *out, const char *s);

#endif
