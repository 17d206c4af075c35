/* What the files of loupe-decoder share (src/decoder/). See README.md.
 *
 * The process: started by the worker or louped with exec (lp_decoder_new in
 * include/loupe/jobs/decoder.h), an empty environment, no arguments that
 * configure anything, and five descriptors: 0 the requests, 1 the replies,
 * 2 diagnostics, 3 its work directory and 4 its scratch directory (a
 * memory-backed one, or the work directory again: the only parts of the file
 * system it may use). It confines itself (lp_decoder_confine), then answers requests
 * one at a time until its input ends. */
#ifndef LOUPE_DECODER_DECODER_INT_H
#define LOUPE_DECODER_DECODER_INT_H

#include <stddef.h>

#include "loupe/core/buf.h"
#include "loupe/core/error.h"

/* The descriptor of the work directory the parent passes. */
#define LP_DECODER_DIR_FD 3
/* The descriptor of the scratch directory the parent passes. */
#define LP_DECODER_SCRATCH_FD 4

/* Confines the calling process for good, before it reads its first
 * request: no new privileges, file access only beneath the directories open
 * as dirfd and scratchfd (Landlock), and the seccomp allow-list of confine.c (no socket,
 * no exec, threads but no new processes). 0, or -1 with err set: the
 * decoder must not serve then. landlock_out (may be NULL) is set to the
 * Landlock ABI used, 0 when the kernel has none (file access is then
 * confined by nothing but the directory's permissions: reported on stderr). */
int lp_decoder_confine(int dirfd, int scratchfd, int *landlock_out, lp_error *err);

/* Answers one request (req_len bytes, borrowed, NUL-terminated): appends the
 * reply to reply and returns the status sent with it (LP_DECODER_OK or
 * LP_DECODER_FAILED, see include/loupe/jobs/decoder.h). */
int lp_decoder_serve(const char *req, size_t req_len, lp_buf *reply);

/* The transform document of a (loupe/jobs/decoder.h): new reference, or
 * NULL with err set when the file is unusable. */
struct lp_decoder_transform_args;
typedef struct json_t json_t;
json_t *lp_decoder_transform_doc(const struct lp_decoder_transform_args *a, lp_error *err);

/* Closes what serve keeps open between requests (video readers, volumes). */
void lp_decoder_serve_end(void);

/* volume.c: the transform document of a volume slot's NIfTI original (as
 * lp_decoder_transform_doc), the slice op (request req, limits l already
 * read from it; the encoded slice appended to reply; 0 or -1 with err), and
 * closing the volumes it keeps open. */
struct lp_media_limits;
json_t *lp_decoder_volume_doc(const struct lp_decoder_transform_args *a, lp_error *err);
int lp_decoder_volume_slice(json_t *req, const struct lp_media_limits *l, lp_buf *reply, lp_error *err);
void lp_decoder_volume_end(void);

/* dicom.c: the document of a volume slot's DICOM step (type "dicom", see
 * loupe/jobs/decoder.h), as lp_decoder_transform_doc. */
json_t *lp_decoder_dicom_doc(const struct lp_decoder_transform_args *a, lp_error *err);

#ifdef LP_DECODER_PROBE
/* Test builds only (loupe-decoder-probe): answers {"op": "probe", "what":
 * …} requests that try what the sandbox must forbid. See probe.c. */
int lp_decoder_probe(const char *what, const char *arg, lp_buf *reply);
#endif

#endif
