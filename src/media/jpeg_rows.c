/* A JPEG encoded on a thread of its own while its rows are still being
 * made (libjpeg-turbo), so that making an image and encoding it overlap: a
 * window of frames is decoded on the calling thread while the rows of the
 * frames already decoded are compressed. See media_int.h.
 *
 * Threads: lp_jpeg_rows_start starts one encoder thread; it asks the fill
 * callback only for rows below `published` and reports the rows it is done
 * with in `consumed` (both under the mutex), so the caller knows which of
 * its buffers it may reuse; lp_jpeg_rows_finish joins the thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "media_int.h"

/* Rows handed to libjpeg per call. */
#define ROWS_PER_WRITE 64

struct lp_jpeg_rows {
    lp_jpeg_fill_fn fill;
    void *ctx;
    int width, height, quality;
    uint8_t *scratch; /* ROWS_PER_WRITE rows of width × 3 bytes */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more;  /* published or stop changed */
    pthread_cond_t taken; /* consumed or done changed */
    int published; /* rows the encoder may ask for */
    int consumed;  /* rows the encoder is done with */
    int done;      /* the encoder ended */
    int stop;      /* the caller gave up: end without output */
    /* the encoder's result */
    struct jpeg_destination_mgr dest;
    unsigned char *buf; /* cap bytes, len of them written (ours: libjpeg's own memory destination
                           leaves a freed pointer behind when compression is aborted) */
    size_t len, cap;
    int failed;
    char message[JMSG_LENGTH_MAX];
};

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    lp_jpeg_rows *j;
} error_mgr;

static void on_error(j_common_ptr c)
{
    error_mgr *e = (error_mgr *)c->err;
    (*c->err->format_message)(c, e->j->message);
    longjmp(e->jump, 1);
}

/* Rows [from, return) the encoder may read now; waits for some. -1 when stopped. */
static int wait_rows(lp_jpeg_rows *j, int from)
{
    pthread_mutex_lock(&j->lock);
    while (j->published <= from && !j->stop)
        pthread_cond_wait(&j->more, &j->lock);
    int until = j->stop ? -1 : j->published;
    pthread_mutex_unlock(&j->lock);
    return until;
}

/* The output: a buffer that doubles as it fills (a libjpeg destination manager). */
static lp_jpeg_rows *of_dest(j_compress_ptr c)
{
    return (lp_jpeg_rows *)((char *)c->dest - offsetof(lp_jpeg_rows, dest));
}

static void dest_init(j_compress_ptr c)
{
    lp_jpeg_rows *j = of_dest(c);
    c->dest->next_output_byte = j->buf;
    c->dest->free_in_buffer = j->cap;
}

static boolean dest_empty(j_compress_ptr c)
{
    lp_jpeg_rows *j = of_dest(c);
    unsigned char *p = realloc(j->buf, j->cap * 2);
    if (!p)
        ERREXIT1(c, JERR_OUT_OF_MEMORY, 10);
    j->len = j->cap;
    j->buf = p;
    c->dest->next_output_byte = p + j->cap;
    c->dest->free_in_buffer = j->cap;
    j->cap *= 2;
    return TRUE;
}

static void dest_term(j_compress_ptr c)
{
    lp_jpeg_rows *j = of_dest(c);
    j->len = j->cap - c->dest->free_in_buffer;
}

static void set_consumed(lp_jpeg_rows *j, int rows, int done)
{
    pthread_mutex_lock(&j->lock);
    j->consumed = rows;
    j->done |= done;
    pthread_cond_broadcast(&j->taken);
    pthread_mutex_unlock(&j->lock);
}

static void *encode(void *arg)
{
    lp_jpeg_rows *j = arg;
    struct jpeg_compress_struct c;
    error_mgr e;
    JSAMPROW rows[ROWS_PER_WRITE];

    memset(&c, 0, sizeof c);
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = on_error;
    e.j = j;
    if (setjmp(e.jump)) {
        j->failed = 1;
        jpeg_destroy_compress(&c);
        set_consumed(j, j->consumed, 1);
        return NULL;
    }
    jpeg_create_compress(&c);
    j->dest.init_destination = dest_init;
    j->dest.empty_output_buffer = dest_empty;
    j->dest.term_destination = dest_term;
    c.dest = &j->dest;
    c.image_width = (JDIMENSION)j->width;
    c.image_height = (JDIMENSION)j->height;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, j->quality, TRUE);
    if (j->quality >= 90) { /* as libvips: no chroma subsampling at high quality */
        c.comp_info[0].h_samp_factor = 1;
        c.comp_info[0].v_samp_factor = 1;
    }
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline, until = wait_rows(j, y);
        if (until < 0) {
            jpeg_abort_compress(&c);
            jpeg_destroy_compress(&c);
            set_consumed(j, y, 1);
            return NULL;
        }
        while (y < until) {
            int n = until - y < ROWS_PER_WRITE ? until - y : ROWS_PER_WRITE;
            for (int i = 0; i < n; i++) {
                rows[i] = j->scratch + (size_t)i * (size_t)j->width * 3;
                j->fill(j->ctx, y + i, rows[i]);
            }
            y += (int)jpeg_write_scanlines(&c, rows, (JDIMENSION)n);
            set_consumed(j, y, 0);
        }
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    set_consumed(j, j->height, 1);
    return NULL;
}

int lp_jpeg_rows_start(int width, int height, int quality, lp_jpeg_fill_fn fill, void *ctx, lp_jpeg_rows **out,
                       lp_error *err)
{
    *out = NULL;
    if (!fill || width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION)
        return lp_error_set(err, LP_E_INVALID, "cannot encode a %d×%d RGB image as JPEG (at most %d pixels a side)",
                            width, height, (int)JPEG_MAX_DIMENSION);
    lp_jpeg_rows *j = calloc(1, sizeof *j);
    if (j) {
        j->scratch = malloc((size_t)width * 3 * ROWS_PER_WRITE);
        j->cap = (size_t)width * (size_t)height / 4 + 65536; /* a guess that is rarely outgrown */
        j->buf = malloc(j->cap);
    }
    if (!j || !j->scratch || !j->buf) {
        if (j) {
            free(j->scratch);
            free(j->buf);
        }
        free(j);
        return lp_error_set(err, LP_E_NOMEM, "out of memory encoding a %d×%d image", width, height);
    }
    j->fill = fill;
    j->ctx = ctx;
    j->width = width;
    j->height = height;
    j->quality = quality >= 1 && quality <= 100 ? quality : 85;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->more, NULL);
    pthread_cond_init(&j->taken, NULL);
    if (pthread_create(&j->thread, NULL, encode, j) != 0) {
        pthread_cond_destroy(&j->taken);
        pthread_cond_destroy(&j->more);
        pthread_mutex_destroy(&j->lock);
        free(j->scratch);
        free(j->buf);
        free(j);
        return lp_error_set(err, LP_E_INTERNAL, "cannot start a thread to encode a %d×%d image", width, height);
    }
    *out = j;
    return 0;
}

void lp_jpeg_rows_publish(lp_jpeg_rows *j, int rows)
{
    pthread_mutex_lock(&j->lock);
    if (rows > j->published)
        j->published = rows > j->height ? j->height : rows;
    pthread_cond_signal(&j->more);
    pthread_mutex_unlock(&j->lock);
}

int lp_jpeg_rows_wait(lp_jpeg_rows *j, int rows)
{
    pthread_mutex_lock(&j->lock);
    while (j->consumed < rows && !j->done)
        pthread_cond_wait(&j->taken, &j->lock);
    int rc = j->consumed >= rows ? 0 : -1;
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int lp_jpeg_rows_finish(lp_jpeg_rows *j, int ok, lp_media_blob *out, lp_error *err)
{
    int rc = -1;
    out->data = NULL;
    out->len = 0;
    if (!j)
        return -1;
    pthread_mutex_lock(&j->lock);
    if (ok)
        j->published = j->height;
    else
        j->stop = 1;
    pthread_cond_signal(&j->more);
    pthread_mutex_unlock(&j->lock);
    pthread_join(j->thread, NULL);
    if (!ok) {
        /* the caller's error stands */
    } else if (j->failed) {
        lp_error_set(err, LP_E_INTERNAL, "encoding a %d×%d image as JPEG failed: %s", j->width, j->height, j->message);
    } else if (!(out->data = g_try_malloc(j->len))) {
        lp_error_set(err, LP_E_NOMEM, "out of memory for a JPEG of %zu bytes", j->len);
    } else {
        memcpy(out->data, j->buf, j->len);
        out->len = j->len;
        rc = 0;
    }
    free(j->buf);
    free(j->scratch);
    pthread_cond_destroy(&j->taken);
    pthread_cond_destroy(&j->more);
    pthread_mutex_destroy(&j->lock);
    free(j);
    return rc;
}
