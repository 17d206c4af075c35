/* The frame manifest, written run by run. See video_manifest.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "loupe/media/video_manifest.h"

void lp_video_runs_push(lp_video_runs *r, int64_t v)
{
    if (r->count == 0) {
        r->first = v;
        r->step = 0;
        r->count = 1;
    } else if (r->count == 1) {
        r->step = v - r->first;
        r->count = 2;
    } else if (v == r->first + r->step * r->count) {
        r->count++;
    } else {
        r->emit(r->ud, r->first, r->step, r->count);
        r->first = v;
        r->step = 0;
        r->count = 1;
    }
}

void lp_video_runs_finish(lp_video_runs *r)
{
    if (r->count > 0)
        r->emit(r->ud, r->first, r->count > 1 ? r->step : 0, r->count);
    r->count = 0;
}

typedef struct json_runs {
    FILE *f;
    int n;
} json_runs;

static void emit_json(void *ud, int64_t first, int64_t step, int64_t count)
{
    json_runs *j = ud;
    fprintf(j->f, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 "]", j->n++ ? "," : "", first, step, count);
}

/* "name":[runs of the values v(i), i < n], */
static void write_runs(FILE *f, const char *name, int64_t n, int64_t (*v)(const void *, int64_t), const void *ctx)
{
    json_runs j = {.f = f};
    lp_video_runs r = {.emit = emit_json, .ud = &j};
    fprintf(f, "\"%s\":[", name);
    for (int64_t i = 0; i < n; i++)
        lp_video_runs_push(&r, v(ctx, i));
    lp_video_runs_finish(&r);
    fputc(']', f);
}

static int64_t pts_at(const void *ix, int64_t i)
{
    return ((const lp_video_index *)ix)->pts[i];
}


static int64_t segment_first(const void *l, int64_t k)
{
    return k * ((const lp_video_manifest_layout *)l)->segment_frames;
}

int lp_video_manifest_write(const lp_video_index *ix, const lp_video_manifest_layout *l, const char *path,
                            lp_error *err)
{
    char tmp[4200];
    FILE *f;
    if (l->segment_frames <= 0)
        return lp_error_set(err, LP_E_INVALID, "a manifest needs segments of at least one frame");
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return lp_error_set(err, LP_E_INVALID, "manifest path is too long");
    if (!(f = fopen(tmp, "w")))
        return lp_error_set(err, LP_E_IO, "cannot create the frame manifest: %s", strerror(errno));
    fprintf(f,
            "{\"version\":%d,\"frame_count\":%" PRId64 ",\"time_base\":[%d,%d],\"variable_frame_rate\":%s,"
            "\"mezzanine_gop\":%d,\"segment_frames\":%d,\"segment_count\":%" PRId64 ",",
            LP_VIDEO_MANIFEST_VERSION, ix->count, ix->time_base_num, ix->time_base_den,
            (ix->flags & LP_VIDEO_INDEX_VFR) ? "true" : "false", l->mezzanine_gop, l->segment_frames, l->segments);
    write_runs(f, "pts", ix->count, pts_at, ix);
    /* Keyframe frame numbers: pushed directly, no array of them is kept. */
    json_runs j = {.f = f};
    lp_video_runs r = {.emit = emit_json, .ud = &j};
    fputs(",\"keyframes\":[", f);
    for (int64_t i = 0; i < ix->count; i++)
        if (ix->frame_flags[i] & LP_VIDEO_FRAME_KEY)
            lp_video_runs_push(&r, i);
    lp_video_runs_finish(&r);
    fputs("],", f);
    write_runs(f, "segments", l->segments, segment_first, l);
    fputs("}\n", f);
    if (ferror(f) | (fclose(f) != 0) || rename(tmp, path) != 0) {
        remove(tmp);
        return lp_error_set(err, LP_E_IO, "cannot write the frame manifest: %s", strerror(errno));
    }
    return 0;
}
