/* The DICOM step of a volume slot (transform of type "dicom"): the upload —
 * one DICOM file or a zip of a series — is checked file by file, every file
 * is written de-identified into out_dir, the series is checked and its
 * slices numbered by position along the normal. dcm2niix (started by the
 * worker, never from here) then reads only these files. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decoder_int.h"
#include "loupe/core/util.h"
#include "loupe/crypto/encode.h"
#include "loupe/formats/unzip.h"
#include "loupe/jobs/decoder.h"
#include "loupe/volume/dicom.h"

#define MAX_RATIO 2000 /* a CT slice of air deflates well; a zip bomb far better */

typedef struct series {
    const char *out_dir;
    const uint8_t *key;
    lp_volume_limits vl;
    lp_dicom_info *info; /* one per written file */
    size_t *instance_at; /* where each written file's Instance Number is */
    size_t n, cap, skipped;
    lp_buf file, deid;
} series;

static int grow(series *s, lp_error *err)
{
    if (s->n < s->cap)
        return 0;
    size_t cap = s->cap ? s->cap * 2 : 64;
    lp_dicom_info *p = realloc(s->info, cap * sizeof *p);
    if (p)
        s->info = p;
    size_t *at = p ? realloc(s->instance_at, cap * sizeof *at) : NULL;
    if (!at)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading the series");
    s->instance_at = at;
    s->cap = cap;
    return 0;
}

static int write_all(const char *path, const void *p, size_t n, lp_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ssize_t w = fd >= 0 ? write(fd, p, n) : -1;
    if (fd < 0 || w != (ssize_t)n || close(fd) != 0)
        return lp_error_set(err, LP_E_IO, "cannot write a de-identified DICOM file");
    return 0;
}

/* Checks the file held in s->file (the index-th of the upload, from 1) and
 * writes it de-identified; files that are not DICOM are counted and left. */
static int take(series *s, size_t index, lp_error *err)
{
    char path[LP_MEDIA_PATH_MAX], why[sizeof(((lp_error *)0)->message)];
    if (!lp_dicom_sniff(s->file.data, s->file.len)) {
        s->skipped++;
        return 0;
    }
    if (grow(s, err))
        return -1;
    lp_dicom_info *info = &s->info[s->n];
    if (lp_dicom_parse(s->file.data, s->file.len, &s->vl, info, err) != 0) {
        lp_strlcpy(why, err->message, sizeof why);
        return lp_error_set(err, err->code, "file %zu of the upload is refused: %s", index, why);
    }
    if (s->n > 0 && (s->n + 1) * (uint64_t)(info->rows * info->cols) > (uint64_t)s->vl.max_voxels)
        return lp_error_set(err, LP_E_TOO_LARGE, "the series holds more than volume_max_voxels (%lld) voxels",
                            (long long)s->vl.max_voxels);
    lp_buf_reset(&s->deid);
    /* the instance number is written once the order is known (number_slices) */
    if (lp_dicom_deidentify(s->file.data, s->file.len, s->key, 0, &s->deid, &s->instance_at[s->n], err) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/in-%06zu.dcm", s->out_dir, s->n);
    if (write_all(path, s->deid.data, s->deid.len, err))
        return -1;
    s->n++;
    return 0;
}

/* The whole of fd from offset 0 into b (reset first). */
static int read_fd(int fd, lp_buf *b, lp_error *err)
{
    char chunk[65536];
    off_t at = 0;
    ssize_t got;
    lp_buf_reset(b);
    while ((got = pread(fd, chunk, sizeof chunk, at)) > 0) {
        if (lp_buf_append(b, chunk, (size_t)got) != 0)
            return lp_error_set(err, LP_E_NOMEM, "out of memory reading a DICOM file");
        at += got;
    }
    return got < 0 ? lp_error_set(err, LP_E_IO, "cannot read a DICOM file") : 0;
}

static int member_sink(void *ud, const void *p, size_t n, lp_error *err)
{
    series *s = ud;
    if (lp_buf_append(&s->file, p, n) != 0)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading a file of the series");
    return 0;
}

/* The message of an unzip error without any member name (names may carry
 * patient data): the quoted part is left out. */
static void without_names(const char *in, char *out, size_t cap)
{
    const char *q1 = strchr(in, '"'), *q2 = strrchr(in, '"');
    if (q1 && q2 > q1)
        snprintf(out, cap, "%.*sa member%s", (int)(q1 - in), in, q2 + 1);
    else
        lp_strlcpy(out, in, cap);
    char *m = strstr(out, "member a member");
    if (m)
        memmove(m, m + 7, strlen(m + 7) + 1);
}

static int read_zip(series *s, int fd, uint64_t size, const lp_media_limits *l, lp_error *err)
{
    char why[sizeof(((lp_error *)0)->message)];
    lp_unzip_limits zl = {.max_members = (uint64_t)l->dicom_max_files,
                          .max_member_bytes = (uint64_t)l->dicom_max_bytes,
                          .max_total_bytes = (uint64_t)l->dicom_max_bytes,
                          .max_ratio = MAX_RATIO};
    lp_unzip *z = lp_unzip_open(fd, size, &zl, err);
    int rc = -1;
    if (!z) {
        without_names(err->message, why, sizeof why);
        return lp_error_set(err, err->code, "the zip is refused: %s%s", why,
                            err->code == LP_E_TOO_LARGE ? " (dicom_max_files, dicom_max_bytes)" : "");
    }
    for (size_t i = 0; i < lp_unzip_count(z); i++) {
        const lp_unzip_member *m = lp_unzip_at(z, i);
        const char *base = strrchr(m->name, '/');
        base = base ? base + 1 : m->name;
        if (m->folder || !strcmp(base, "DICOMDIR")) /* the index of a DICOM medium holds no image */
            continue;
        lp_buf_reset(&s->file);
        if (lp_unzip_read(z, i, member_sink, s, err) != 0) {
            without_names(err->message, why, sizeof why);
            lp_error_set(err, err->code, "file %zu of the zip cannot be read: %s", i + 1, why);
            goto cleanup;
        }
        if (take(s, i + 1, err))
            goto cleanup;
    }
    rc = 0;
cleanup:
    lp_unzip_free(z);
    return rc;
}

/* Numbers the slices by position along the normal: in-N.dcm becomes
 * slice-<rank>.dcm with Instance Number rank + 1, written in place. */
static int number_slices(series *s, lp_error *err)
{
    size_t *order = malloc(s->n * sizeof *order);
    char from[LP_MEDIA_PATH_MAX], to[LP_MEDIA_PATH_MAX], value[32];
    int rc = -1;
    if (!order)
        return lp_error_set(err, LP_E_NOMEM, "out of memory ordering the slices");
    if (lp_dicom_series_order(s->info, s->n, order, err) != 0)
        goto cleanup;
    for (size_t rank = 0; rank < s->n; rank++) {
        size_t i = order[rank];
        snprintf(from, sizeof from, "%s/in-%06zu.dcm", s->out_dir, i);
        snprintf(to, sizeof to, "%s/slice-%06zu.dcm", s->out_dir, rank);
        snprintf(value, sizeof value, "%-*zu", LP_DICOM_INSTANCE_WIDTH, rank + 1);
        int fd = open(from, O_WRONLY | O_CLOEXEC);
        ssize_t w = fd >= 0 ? pwrite(fd, value, LP_DICOM_INSTANCE_WIDTH, (off_t)s->instance_at[i]) : -1;
        int closed = fd >= 0 ? close(fd) : -1;
        if (w != LP_DICOM_INSTANCE_WIDTH || closed != 0 || rename(from, to) != 0) {
            lp_error_set(err, LP_E_IO, "cannot number the de-identified DICOM files");
            goto cleanup;
        }
    }
    rc = 0;
cleanup:
    free(order);
    return rc;
}

json_t *lp_decoder_dicom_doc(const lp_decoder_transform_args *a, lp_error *err)
{
    uint8_t key[LP_DICOM_KEY_LEN];
    series s = {.out_dir = a->out_dir, .key = key,
                .vl = {.max_voxels = a->limits.volume_max_voxels, .max_side = a->limits.volume_max_side}};
    json_t *doc = NULL, *windows = NULL;
    uint8_t head[132];
    struct stat st;
    int fd = -1;

    lp_buf_init(&s.file, (size_t)a->limits.dicom_max_bytes);
    lp_buf_init(&s.deid, (size_t)a->limits.dicom_max_bytes + 4096);
    if (!a->key || lp_hex_decode(a->key, strlen(a->key), key, sizeof key) != LP_DICOM_KEY_LEN) {
        lp_error_set(err, LP_E_INTERNAL, "the decoder received no de-identification key");
        goto cleanup;
    }
    if ((fd = open(a->src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        lp_error_set(err, LP_E_IO, "cannot open the upload");
        goto cleanup;
    }
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got >= 4 && memcmp(head, "PK\3\4", 4) == 0) {
        if (read_zip(&s, fd, (uint64_t)st.st_size, &a->limits, err))
            goto cleanup;
    } else if (got == (ssize_t)sizeof head && lp_dicom_sniff(head, sizeof head)) {
        if ((uint64_t)st.st_size > (uint64_t)a->limits.dicom_max_bytes) {
            lp_error_set(err, LP_E_TOO_LARGE, "the DICOM file is larger than dicom_max_bytes");
            goto cleanup;
        }
        if (read_fd(fd, &s.file, err) || take(&s, 1, err))
            goto cleanup;
    } else {
        lp_error_set(err, LP_E_INVALID, "the file is neither NIfTI, DICOM nor a zip of DICOM files");
        goto cleanup;
    }
    if (s.n == 0) {
        lp_error_set(err, LP_E_INVALID, "the upload holds no DICOM file (%zu files without the DICOM marker)", s.skipped);
        goto cleanup;
    }
    if (number_slices(&s, err))
        goto cleanup;
    lp_volume_window w[LP_DICOM_MAX_WINDOWS];
    int nw = lp_dicom_windows(&s.info[0], w);
    windows = json_array();
    for (int i = 0; windows && i < nw; i++)
        json_array_append_new(windows, json_pack("{s:s, s:f, s:f}", "name", w[i].name, "center", w[i].center, "width",
                                                 w[i].width));
    doc = json_pack("{s:b, s:I, s:I, s:s, s:O}", "ok", 1, "files", (json_int_t)s.n, "skipped", (json_int_t)s.skipped,
                    "modality", s.info[0].modality, "windows", windows);
    if (!doc)
        lp_error_set(err, LP_E_NOMEM, "out of memory describing the series");
cleanup:
    if (fd >= 0)
        close(fd);
    json_decref(windows);
    free(s.info);
    free(s.instance_at);
    lp_buf_free(&s.file);
    lp_buf_free(&s.deid);
    return doc;
}
