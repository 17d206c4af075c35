/* The DICOM step of a volume slot (transform of type "dicom"): the upload —
 * one DICOM file or a zip of a series — is checked file by file, every file
 * is written de-identified into out_dir (several files at once, each by a
 * thread of its own; the pixel data straight from the file read, never
 * copied), the files are grouped by Series Instance UID, and each series is
 * checked and its slices numbered by position along its own normal into
 * out_dir/<n> (n = 1, 2 … in the order of lp_dicom_series_group). A series
 * that is not one volume is described with its error and left out; the
 * others carry on. dcm2niix (started by the worker, never from here) then
 * reads only these files, one series directory at a time. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* The upload's files: members of a zip, or one DICOM file. Each file is
 * taken by one of several threads (dicom_threads; file i by thread i mod
 * n), which keeps one file in memory at a time. */
typedef struct series {
    const char *out_dir;
    const uint8_t *key;
    lp_volume_limits vl;
    lp_unzip *z;           /* NULL: the upload is the one file in `single` */
    const lp_buf *single;
    size_t count;          /* files of the upload */
    lp_dicom_info *info;   /* per file of the upload, then per written file (compact) */
    size_t *instance_at;   /* where each written file's Instance Number is */
    size_t *member;        /* per written file: its place in the upload (its name) */
    unsigned char *kind;   /* per file of the upload: FILE_* */
    atomic_size_t taken;   /* DICOM files taken so far (the voxel limit) */
    atomic_size_t failed;  /* the first file (index + 1) a thread failed on; 0 none */
    size_t n, skipped;     /* written files, files without the DICOM marker */
} series;

enum { FILE_LEFT = 0, FILE_WRITTEN, FILE_SKIPPED };

typedef struct taker {
    series *s;
    size_t first, step;
    lp_buf file, head;
    size_t failed_at;      /* index of the file this thread failed on, SIZE_MAX none */
    lp_error err;
} taker;

static int put_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes head, then the tail's bytes of file and its pad, as path. */
static int write_copy(const char *path, const lp_buf *head, const lp_buf *file, const lp_dicom_tail *t, lp_error *err)
{
    static const char zero = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int bad = fd < 0 || put_all(fd, head->data, head->len) || put_all(fd, file->data + t->offset, t->len) ||
              (t->pad && put_all(fd, &zero, 1));
    if ((fd >= 0 && close(fd) != 0) || bad)
        return lp_error_set(err, LP_E_IO, "cannot write a de-identified DICOM file");
    return 0;
}

/* Checks file i of the upload (held in t->file) and writes it de-identified;
 * files that are not DICOM are counted and left. */
static int take(taker *t, size_t i, lp_error *err)
{
    series *s = t->s;
    char path[LP_MEDIA_PATH_MAX], why[sizeof(((lp_error *)0)->message)];
    lp_dicom_tail tail;
    if (!lp_dicom_sniff(t->file.data, t->file.len)) {
        s->kind[i] = FILE_SKIPPED;
        return 0;
    }
    if (lp_dicom_is_directory(t->file.data, t->file.len)) /* the index of a DICOM medium holds no image */
        return 0;
    lp_dicom_info *info = &s->info[i];
    if (lp_dicom_parse(t->file.data, t->file.len, &s->vl, info, err) != 0) {
        lp_strlcpy(why, err->message, sizeof why);
        return lp_error_set(err, err->code, "file %zu of the upload is refused: %s", i + 1, why);
    }
    size_t before = atomic_fetch_add(&s->taken, 1);
    if (before > 0 && (before + 1) * (uint64_t)(info->rows * info->cols) > (uint64_t)s->vl.max_voxels)
        return lp_error_set(err, LP_E_TOO_LARGE, "the series holds more than volume_max_voxels (%lld) voxels",
                            (long long)s->vl.max_voxels);
    lp_buf_reset(&t->head);
    /* the instance number is written once the order is known (number_slices); the
     * pixel data go from the file as it is, never copied */
    if (lp_dicom_deidentify_head(t->file.data, t->file.len, s->key, 0, &t->head, &s->instance_at[i], &tail, err) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/in-%06zu.dcm", s->out_dir, i);
    if (write_copy(path, &t->head, &t->file, &tail, err))
        return -1;
    s->kind[i] = FILE_WRITTEN;
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

/* One file of the upload into t->file: member i of the zip, or the single file. */
static int load(taker *t, size_t i, lp_error *err)
{
    char why[sizeof(((lp_error *)0)->message)];
    series *s = t->s;
    lp_buf_reset(&t->file);
    if (!s->z)
        return lp_buf_append(&t->file, s->single->data, s->single->len) != 0
                   ? lp_error_set(err, LP_E_NOMEM, "out of memory reading a DICOM file")
                   : 0;
    /* whole, in place: the member's size is checked against the limits already */
    char *at = lp_buf_extend(&t->file, (size_t)lp_unzip_at(s->z, i)->size);
    if (!at)
        return lp_error_set(err, lp_buf_failure(&t->file), "file %zu of the zip is larger than a file may be", i + 1);
    if (lp_unzip_read_all(s->z, i, at, err) != 0) {
        without_names(err->message, why, sizeof why);
        return lp_error_set(err, err->code, "file %zu of the zip cannot be read: %s", i + 1, why);
    }
    return 0;
}

/* A thread's share of the files; stops at its first failure, or once
 * another thread failed on an earlier file. */
static void *take_files(void *arg)
{
    taker *t = arg;
    series *s = t->s;
    for (size_t i = t->first; i < s->count; i += t->step) {
        size_t failed = atomic_load(&s->failed);
        if (failed && failed <= i)
            break;
        if (s->z) {
            const lp_unzip_member *m = lp_unzip_at(s->z, i);
            const char *base = strrchr(m->name, '/');
            base = base ? base + 1 : m->name;
            if (m->folder || !strcmp(base, "DICOMDIR")) /* the index of a DICOM medium holds no image */
                continue;
        }
        if (load(t, i, &t->err) != 0 || take(t, i, &t->err) != 0) {
            t->failed_at = i;
            size_t mine = i + 1, seen = atomic_load(&s->failed);
            while ((!seen || mine < seen) && !atomic_compare_exchange_weak(&s->failed, &seen, mine))
                ;
            break;
        }
    }
    return NULL;
}

/* Every file of the upload taken, by up to `threads` threads at once; then
 * the written ones listed in upload order (info, instance_at, member). */
static int take_all(series *s, int threads, size_t file_max, lp_error *err)
{
    size_t n = (size_t)(threads < 1 ? 1 : threads), started = 0;
    if (n > s->count)
        n = s->count ? s->count : 1;
    taker *t = calloc(n, sizeof *t);
    pthread_t *tid = calloc(n, sizeof *tid);
    int rc = -1;
    if (!t || !tid) {
        lp_error_set(err, LP_E_NOMEM, "out of memory reading the series");
        goto cleanup;
    }
    for (size_t k = 0; k < n; k++) {
        t[k] = (taker){.s = s, .first = k, .step = n, .failed_at = SIZE_MAX};
        lp_buf_init(&t[k].file, file_max);
        lp_buf_init(&t[k].head, 1u << 20);
        lp_error_clear(&t[k].err);
    }
    for (started = 1; started < n; started++)
        if (pthread_create(&tid[started], NULL, take_files, &t[started]) != 0)
            break; /* fewer threads: the files of those not started are left */
    take_files(&t[0]);
    for (size_t k = 1; k < started; k++)
        pthread_join(tid[k], NULL);
    if (started < n) {
        lp_error_set(err, LP_E_NOMEM, "cannot start the threads that read the series");
        goto cleanup;
    }
    size_t first = SIZE_MAX, who = 0;
    for (size_t k = 0; k < n; k++)
        if (t[k].failed_at < first)
            first = t[k].failed_at, who = k;
    if (first != SIZE_MAX) {
        *err = t[who].err;
        goto cleanup;
    }
    for (size_t i = 0; i < s->count; i++) {
        if (s->kind[i] == FILE_SKIPPED)
            s->skipped++;
        if (s->kind[i] != FILE_WRITTEN)
            continue;
        s->info[s->n] = s->info[i];
        s->instance_at[s->n] = s->instance_at[i];
        s->member[s->n++] = i;
    }
    rc = 0;
cleanup:
    for (size_t k = 0; t && k < n; k++) {
        lp_buf_free(&t[k].file);
        lp_buf_free(&t[k].head);
    }
    free(t);
    free(tid);
    return rc;
}

/* Room for count files' records. */
static int series_alloc(series *s, size_t count, lp_error *err)
{
    s->count = count;
    s->info = calloc(count ? count : 1, sizeof *s->info);
    s->instance_at = calloc(count ? count : 1, sizeof *s->instance_at);
    s->member = calloc(count ? count : 1, sizeof *s->member);
    s->kind = calloc(count ? count : 1, 1);
    if (!s->info || !s->instance_at || !s->member || !s->kind)
        return lp_error_set(err, LP_E_NOMEM, "out of memory reading the series");
    return 0;
}

static int read_zip(series *s, int fd, uint64_t size, const lp_media_limits *l, lp_error *err)
{
    char why[sizeof(((lp_error *)0)->message)];
    lp_unzip_limits zl = {.max_members = (uint64_t)l->dicom_max_files,
                          .max_member_bytes = (uint64_t)l->dicom_max_bytes,
                          .max_total_bytes = (uint64_t)l->dicom_max_bytes,
                          .max_ratio = MAX_RATIO};
    lp_unzip *z = lp_unzip_open(fd, size, &zl, err);
    if (!z) {
        without_names(err->message, why, sizeof why);
        return lp_error_set(err, err->code, "the zip is refused: %s%s", why,
                            err->code == LP_E_TOO_LARGE ? " (dicom_max_files, dicom_max_bytes)" : "");
    }
    s->z = z;
    int rc = series_alloc(s, lp_unzip_count(z), err) == 0 &&
                     take_all(s, l->dicom_threads, (size_t)l->dicom_max_bytes, err) == 0
                 ? 0
                 : -1;
    s->z = NULL;
    lp_unzip_free(z);
    return rc;
}

/* The windows of a series (those of its first file) as a JSON array (new). */
static json_t *windows_json(const lp_dicom_info *first)
{
    lp_volume_window w[LP_DICOM_MAX_WINDOWS];
    int nw = lp_dicom_windows(first, w);
    json_t *windows = json_array();
    for (int i = 0; windows && i < nw; i++)
        json_array_append_new(windows, json_pack("{s:s, s:f, s:f}", "name", w[i].name, "center", w[i].center, "width",
                                                 w[i].width));
    return windows;
}

/* Numbers the m slices of one series (written files at[0..m-1]) by position
 * along its own normal: in-N.dcm becomes <dir>/slice-<rank>.dcm with Instance
 * Number rank + 1, written in place. 0, 1 when the files do not form one
 * volume (err says why; they are removed), -1 with err. */
static int number_series(series *s, const size_t *at, size_t m, const char *dir, lp_error *err)
{
    size_t *order = malloc(m * sizeof *order);
    lp_dicom_info *info = malloc(m * sizeof *info);
    char from[LP_MEDIA_PATH_MAX], to[LP_MEDIA_PATH_MAX], value[32];
    int rc = -1;
    if (!order || !info) {
        lp_error_set(err, LP_E_NOMEM, "out of memory ordering the slices");
        goto cleanup;
    }
    for (size_t k = 0; k < m; k++)
        info[k] = s->info[at[k]];
    if (lp_dicom_series_order(info, m, order, err) != 0) {
        for (size_t k = 0; k < m; k++) {
            snprintf(from, sizeof from, "%s/in-%06zu.dcm", s->out_dir, s->member[at[k]]);
            unlink(from);
        }
        rc = err->code == LP_E_INVALID ? 1 : -1;
        goto cleanup;
    }
    if (mkdir(dir, 0700) != 0) {
        lp_error_set(err, LP_E_IO, "cannot make a directory for a DICOM series");
        goto cleanup;
    }
    for (size_t rank = 0; rank < m; rank++) {
        size_t i = at[order[rank]];
        snprintf(from, sizeof from, "%s/in-%06zu.dcm", s->out_dir, s->member[i]);
        snprintf(to, sizeof to, "%s/slice-%06zu.dcm", dir, rank);
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
    free(info);
    return rc;
}

/* Groups the written files by series and numbers each series into its own
 * directory out_dir/<rank + 1>; returns the series' descriptions (new JSON
 * array: files, modality, windows, number, dir — or error for a series that
 * does not form one volume, its files removed), or NULL with err. */
static json_t *split_series(series *s, int64_t max_series, lp_error *err)
{
    size_t *group = malloc(s->n * sizeof *group), *at = malloc(s->n * sizeof *at), nseries = 0;
    char dir[LP_MEDIA_PATH_MAX], name[32];
    json_t *list = json_array(), *out = NULL;
    lp_error why;
    if (!group || !at || !list) {
        lp_error_set(err, LP_E_NOMEM, "out of memory grouping the series");
        goto cleanup;
    }
    if (lp_dicom_series_group(s->info, s->n, (size_t)max_series, group, &nseries, err) != 0)
        goto cleanup;
    for (size_t g = 0; g < nseries; g++) {
        size_t m = 0;
        for (size_t i = 0; i < s->n; i++)
            if (group[i] == g)
                at[m++] = i;
        const lp_dicom_info *first = &s->info[at[0]];
        snprintf(name, sizeof name, "%zu", g + 1);
        snprintf(dir, sizeof dir, "%s/%s", s->out_dir, name);
        lp_error_clear(&why);
        int t = number_series(s, at, m, dir, &why);
        if (t < 0) {
            *err = why;
            goto cleanup;
        }
        json_t *one = json_pack("{s:I, s:s, s:o, s:s}", "files", (json_int_t)m, "modality", first->modality, "windows",
                                windows_json(first), "dir", name);
        if (one && first->series_number >= 0)
            json_object_set_new(one, "number", json_integer((json_int_t)first->series_number));
        if (one && t > 0)
            json_object_set_new(one, "error", json_string(why.message));
        if (!one || json_array_append_new(list, one) != 0) {
            lp_error_set(err, LP_E_NOMEM, "out of memory describing the series");
            goto cleanup;
        }
    }
    out = list;
    list = NULL;
cleanup:
    json_decref(list);
    free(group);
    free(at);
    return out;
}

json_t *lp_decoder_dicom_doc(const lp_decoder_transform_args *a, lp_error *err)
{
    uint8_t key[LP_DICOM_KEY_LEN];
    series s = {.out_dir = a->out_dir, .key = key,
                .vl = {.max_voxels = a->limits.volume_max_voxels, .max_side = a->limits.volume_max_side}};
    json_t *doc = NULL, *list = NULL;
    uint8_t head[132];
    struct stat st;
    lp_buf single;
    int fd = -1;

    lp_buf_init(&single, (size_t)a->limits.dicom_max_bytes);
    if (!a->key || lp_hex_decode(a->key, strlen(a->key), key, sizeof key) != LP_DICOM_KEY_LEN) {
        lp_error_set(err, LP_E_INTERNAL, "the decoder received no de-identification key");
        goto cleanup;
    }
    if ((fd = open(a->src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
        lp_error_set(err, LP_E_IO, "cannot open the upload");
        goto cleanup;
    }
    int64_t t0 = lp_now_mono_ms();
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got >= 4 && memcmp(head, "PK\3\4", 4) == 0) {
        if (read_zip(&s, fd, (uint64_t)st.st_size, &a->limits, err))
            goto cleanup;
    } else if (got == (ssize_t)sizeof head && lp_dicom_sniff(head, sizeof head)) {
        if ((uint64_t)st.st_size > (uint64_t)a->limits.dicom_max_bytes) {
            lp_error_set(err, LP_E_TOO_LARGE, "the DICOM file is larger than dicom_max_bytes");
            goto cleanup;
        }
        s.single = &single;
        if (read_fd(fd, &single, err) || series_alloc(&s, 1, err) || take_all(&s, 1, single.len, err))
            goto cleanup;
    } else {
        lp_error_set(err, LP_E_INVALID, "the file is neither NIfTI, DICOM nor a zip of DICOM files");
        goto cleanup;
    }
    if (s.n == 0) {
        lp_error_set(err, LP_E_INVALID, "the upload holds no DICOM file (%zu files without the DICOM marker)", s.skipped);
        goto cleanup;
    }
    int64_t t_files = lp_now_mono_ms();
    if (!(list = split_series(&s, a->limits.dicom_max_series, err)))
        goto cleanup;
    int64_t t_order = lp_now_mono_ms();
    /* the first series' modality and windows also at the top, as for one series */
    const json_t *first = json_array_get(list, 0);
    doc = json_pack("{s:b, s:I, s:I, s:O, s:O, s:O, s:{s:I, s:I}}", "ok", 1, "files", (json_int_t)s.n, "skipped",
                    (json_int_t)s.skipped, "modality", json_object_get(first, "modality"), "windows",
                    json_object_get(first, "windows"), "series", list, "timings", "files_ms",
                    (json_int_t)(t_files - t0), "order_ms", (json_int_t)(t_order - t_files));
    if (!doc)
        lp_error_set(err, LP_E_NOMEM, "out of memory describing the series");
cleanup:
    if (fd >= 0)
        close(fd);
    json_decref(list);
    free(s.info);
    free(s.instance_at);
    free(s.member);
    free(s.kind);
    lp_buf_free(&single);
    return doc;
}
