/* The shape of a track at one frame: visibility ranges, hidden areas,
 * keyframes held or interpolated. */
#include "loupe/geometry/track.h"

#include <stdio.h>

#include "loupe/geometry/interpolate.h"

int lp_geom_track_check(const lp_geom_track *t, lp_error *err)
{
    char f[64];
    int bad = 0;
    if (t->nkeyframes == 0)
        return lp_error_field(err, LP_E_INVALID, "keyframes", "needs at least one keyframe");
    for (size_t i = 1; i < t->nkeyframes; i++) {
        if (t->keyframes[i].frame <= t->keyframes[i - 1].frame) {
            snprintf(f, sizeof f, "keyframes[%zu].frame", i);
            bad = lp_error_field(err, LP_E_INVALID, f, "must be greater than the previous keyframe's frame (%lld)",
                                 (long long)t->keyframes[i - 1].frame);
        }
        if (t->keyframes[i].shape.type != t->keyframes[0].shape.type) {
            snprintf(f, sizeof f, "keyframes[%zu].type", i);
            const char *n0 = lp_geom_type_name(t->keyframes[0].shape.type);
            bad = lp_error_field(err, LP_E_INVALID, f, "must be %s like the first keyframe", n0 ? n0 : "the type");
        }
    }
    const struct {
        const lp_geom_frame_range *r;
        size_t n;
        const char *name;
    } lists[2] = {{t->ranges, t->nranges, "ranges"}, {t->hidden, t->nhidden, "hidden_areas"}};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < lists[l].n; i++) {
            if (lists[l].r[i].start < lists[l].r[i].end)
                continue;
            snprintf(f, sizeof f, "%s[%zu]", lists[l].name, i);
            bad = lp_error_field(err, LP_E_INVALID, f, "start (%lld) must be less than end (%lld, exclusive)",
                                 (long long)lists[l].r[i].start, (long long)lists[l].r[i].end);
        }
    }
    return bad;
}

static const lp_geom_frame_range *find_range(const lp_geom_frame_range *r, size_t n, int64_t f)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].start <= f && f < r[i].end)
            return &r[i];
    return NULL;
}

/* Index of the first keyframe with frame >= f (nkeyframes when none). */
static size_t lower_bound(const lp_geom_track *t, int64_t f)
{
    size_t lo = 0, hi = t->nkeyframes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->keyframes[mid].frame < f)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void lp_geom_track_locate(const lp_geom_track *t, int64_t f, lp_geom_frame_kind *kind, size_t *k0, size_t *k1,
                          double *pos)
{
    *kind = LP_GEOM_FRAME_ABSENT;
    const lp_geom_frame_range *range = find_range(t->ranges, t->nranges, f);
    if (!range || find_range(t->hidden, t->nhidden, f) || t->nkeyframes == 0)
        return;
    size_t lo = lower_bound(t, range->start), hi = lower_bound(t, range->end), j = lower_bound(t, f);
    const lp_geom_keyframe *kf = t->keyframes;
    *pos = 0;
    if (j < t->nkeyframes && kf[j].frame == f) {
        *kind = LP_GEOM_FRAME_KEYFRAME;
        *k0 = *k1 = j;
        return;
    }
    *kind = LP_GEOM_FRAME_INTERPOLATED;
    if (lo == hi) /* no keyframe in this range: the last before f, else the first after */
        *k0 = j > 0 ? j - 1 : j;
    else if (j <= lo) /* before the range's first keyframe */
        *k0 = lo;
    else if (j >= hi) /* after its last */
        *k0 = hi - 1;
    else if (!t->interpolate)
        *k0 = j - 1;
    else {
        /* in double: frame differences may not fit in 64 bits */
        *pos = ((double)f - (double)kf[j - 1].frame) / ((double)kf[j].frame - (double)kf[j - 1].frame);
        *k0 = j - 1;
        *k1 = j;
        return;
    }
    *k1 = *k0;
}

int lp_geom_track_at(const lp_geom_track *t, int64_t f, lp_arena *ar, lp_geom_shape *out,
                     lp_geom_frame_kind *kind, lp_error *err)
{
    size_t k0 = 0, k1 = 0;
    double pos = 0;
    lp_geom_track_locate(t, f, kind, &k0, &k1, &pos);
    if (*kind == LP_GEOM_FRAME_ABSENT)
        return 0;
    if (k1 != k0)
        return lp_geom_interpolate(&t->keyframes[k0].shape, &t->keyframes[k1].shape, pos, ar, out, err) < 0 ? -1 : 0;
    return lp_geom_shape_copy(ar, out, &t->keyframes[k0].shape, err) < 0 ? -1 : 0;
}
