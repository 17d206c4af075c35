/* NIfTI reading and writing through nifticlib, behind a header check of our
 * own. See volume.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nifti2_io.h>
#include <zlib.h>

#include "loupe/volume/volume.h"

#define N1_SIZE 348
#define N2_SIZE 540
#define MAX_VOX_OFFSET ((double)((int64_t)1 << 40))

static uint32_t rd32(const unsigned char *p, int swap)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return swap ? __builtin_bswap32(v) : v;
}

static int16_t rd16(const unsigned char *p, int swap)
{
    uint16_t v = (uint16_t)(p[0] | p[1] << 8);
    return (int16_t)(swap ? __builtin_bswap16(v) : v);
}

static int64_t rd64(const unsigned char *p, int swap)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (int64_t)(swap ? __builtin_bswap64(v) : v);
}

static int type_bits(int datatype)
{
    switch (datatype) {
    case DT_UINT8: case DT_INT8: return 8;
    case DT_INT16: case DT_UINT16: return 16;
    case DT_INT32: case DT_UINT32: case DT_FLOAT32: return 32;
    case DT_INT64: case DT_UINT64: case DT_FLOAT64: return 64;
    default: return 0; /* complex, RGB, binary, float128: not a scalar volume we read */
    }
}

static int bad(lp_error *err, const char *field, const char *msg)
{
    return lp_error_field(err, LP_E_INVALID, field, "%s", msg);
}

int lp_volume_nifti_header_parse(const void *buf, size_t len, const lp_volume_limits *limits,
                                 lp_volume_nifti_header *out, lp_error *err)
{
    const unsigned char *p = buf;
    memset(out, 0, sizeof *out);
    if (len < 4)
        return bad(err, "header", "the file is too short to be NIfTI");
    int swap;
    uint32_t size = rd32(p, 0);
    if (size == N1_SIZE || size == N2_SIZE)
        swap = 0;
    else if (__builtin_bswap32(size) == N1_SIZE || __builtin_bswap32(size) == N2_SIZE)
        swap = 1, size = __builtin_bswap32(size);
    else
        return bad(err, "header.sizeof_hdr", "the file is not NIfTI (its header size is neither 348 nor 540)");
    if (len < size + 4)
        return bad(err, "header", "the NIfTI header is truncated");
    int64_t dim[8];
    int bitpix;
    double vox_offset;
    if (size == N1_SIZE) {
        if (memcmp(p + 344, "n+1\0", 4) != 0)
            return bad(err, "header.magic", "only single-file NIfTI (.nii, magic n+1) is read");
        for (int i = 0; i < 8; i++)
            dim[i] = rd16(p + 40 + 2 * i, swap);
        out->datatype = rd16(p + 70, swap);
        bitpix = rd16(p + 72, swap);
        uint32_t f = rd32(p + 108, swap);
        float fv;
        memcpy(&fv, &f, sizeof fv);
        vox_offset = fv;
        out->version = 1;
    } else {
        if (memcmp(p + 4, "n+2\0\r\n\032\n", 8) != 0)
            return bad(err, "header.magic", "only single-file NIfTI-2 (.nii, magic n+2) is read");
        out->datatype = rd16(p + 12, swap);
        bitpix = rd16(p + 14, swap);
        for (int i = 0; i < 8; i++)
            dim[i] = rd64(p + 16 + 8 * i, swap);
        vox_offset = (double)rd64(p + 168, swap);
        out->version = 2;
    }
    if (dim[0] < 1 || dim[0] > 7)
        return bad(err, "header.dim", "the number of dimensions is not between 1 and 7");
    for (int i = 1; i <= dim[0]; i++)
        if (dim[i] < 1)
            return bad(err, "header.dim", "a dimension is zero or negative");
    for (int i = 0; i < 3; i++)
        out->dim[i] = i + 1 <= dim[0] ? dim[i + 1] : 1;
    out->volumes = 1;
    for (int i = 4; i <= dim[0]; i++) {
        if (dim[i] > INT64_MAX / out->volumes)
            return bad(err, "header.dim", "the dimensions overflow");
        out->volumes *= dim[i];
    }
    int bits = type_bits(out->datatype);
    if (bits == 0)
        return bad(err, "header.datatype", "the voxel type is not a scalar number (complex and RGB volumes are not read)");
    if (bitpix != bits)
        return bad(err, "header.bitpix", "bitpix does not match the voxel type");
    if (!(vox_offset >= size + 4) || vox_offset > MAX_VOX_OFFSET)
        return bad(err, "header.vox_offset", "the data offset points inside the header or past any sane file");
    out->vox_offset = vox_offset;
    int64_t side = 0, voxels = 1;
    for (int i = 0; i < 3; i++) {
        if (out->dim[i] > side)
            side = out->dim[i];
        if (out->dim[i] > INT64_MAX / voxels)
            return bad(err, "header.dim", "the dimensions overflow");
        voxels *= out->dim[i];
    }
    if (limits && side > limits->max_side)
        return lp_error_field(err, LP_E_INVALID, "header.dim",
                              "the volume is %lld voxels along one side, over the limit of %lld (volume_max_side)",
                              (long long)side, (long long)limits->max_side);
    if (limits && voxels > limits->max_voxels)
        return lp_error_field(err, LP_E_INVALID, "header.dim",
                              "the volume has %lld voxels, over the limit of %lld (volume_max_voxels)",
                              (long long)voxels, (long long)limits->max_voxels);
    return 0;
}

size_t lp_volume_sample_size(lp_volume_type type)
{
    return type == LP_VOLUME_I16 ? sizeof(int16_t) : sizeof(float);
}

void *lp_volume_voxels_alloc(size_t bytes)
{
    enum { HUGE_PAGE = 2 << 20 };
    void *p = NULL;
    if (bytes < HUGE_PAGE)
        return malloc(bytes ? bytes : 1);
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0)
        return NULL;
    (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: without it, ordinary pages */
    return p;
}

int64_t lp_volume_count(const lp_volume *v)
{
    return v->dim[0] * v->dim[1] * v->dim[2];
}

lp_volume *lp_volume_new(const int64_t dim[3], lp_volume_type type, lp_error *err)
{
    for (int i = 0; i < 3; i++)
        if (dim[i] < 1 || dim[i] > ((int64_t)1 << 20)) {
            lp_error_set(err, LP_E_INVALID, "a volume dimension is out of range");
            return NULL;
        }
    lp_volume *v = calloc(1, sizeof *v);
    size_t n = (size_t)dim[0] * (size_t)dim[1] * (size_t)dim[2];
    if (v)
        v->voxels = calloc(n, lp_volume_sample_size(type));
    if (!v || !v->voxels) {
        free(v);
        lp_error_set(err, LP_E_NOMEM, "out of memory for a volume of %zu voxels", n);
        return NULL;
    }
    memcpy(v->dim, dim, sizeof v->dim);
    v->type = type;
    for (int i = 0; i < 4; i++)
        v->affine[i][i] = v->original_affine[i][i] = 1;
    for (int i = 0; i < 3; i++)
        v->pixdim[i] = 1;
    return v;
}

void lp_volume_free(lp_volume *v)
{
    if (!v)
        return;
    free(v->voxels);
    free(v);
}

double lp_volume_at(const lp_volume *v, int64_t i, int64_t j, int64_t k)
{
    size_t at = (size_t)(i + v->dim[0] * (j + v->dim[1] * k));
    return v->type == LP_VOLUME_I16 ? ((const int16_t *)v->voxels)[at] : ((const float *)v->voxels)[at];
}

/* The source sample at index n of nifticlib's buffer as a double. */
static double sample(const void *data, int datatype, size_t n)
{
    switch (datatype) {
    case DT_UINT8: return ((const uint8_t *)data)[n];
    case DT_INT8: return ((const int8_t *)data)[n];
    case DT_INT16: return ((const int16_t *)data)[n];
    case DT_UINT16: return ((const uint16_t *)data)[n];
    case DT_INT32: return ((const int32_t *)data)[n];
    case DT_UINT32: return ((const uint32_t *)data)[n];
    case DT_INT64: return (double)((const int64_t *)data)[n];
    case DT_UINT64: return (double)((const uint64_t *)data)[n];
    case DT_FLOAT32: return ((const float *)data)[n];
    default: return ((const double *)data)[n];
    }
}

/* The samples of data (nifticlib's buffer) into v's storage: int16 when every
 * value is an integer that fits once scaled (no scaling, or an integer slope
 * and intercept, as a CT's rescale of -1024 is), else float32 scaled. *owned
 * is taken over instead of copied when it holds int16 already (scaled in
 * place), so a CT is never in memory twice. */
static int convert(lp_volume *v, const nifti_image *nim, void **owned, lp_error *err)
{
    const void *data = *owned;
    size_t n = (size_t)lp_volume_count(v);
    double slope = nim->scl_slope, inter = nim->scl_inter;
    int scaled = isfinite(slope) && slope != 0 && (slope != 1 || (isfinite(inter) && inter != 0));
    if (!isfinite(inter))
        inter = 0;
    if (!scaled && nim->datatype == DT_INT16) {
        v->type = LP_VOLUME_I16;
        v->voxels = *owned;
        *owned = NULL;
        return 0;
    }
    int whole = !scaled || (slope == floor(slope) && inter == floor(inter) && fabs(slope) <= 65536 && fabs(inter) <= 65536);
    if (!scaled)
        slope = 1, inter = 0;
    int as_i16 = whole && nim->datatype != DT_FLOAT32 && nim->datatype != DT_FLOAT64;
    if (as_i16 && nim->datatype == DT_INT16) { /* the range of int16 samples scaled: from its two ends */
        const int16_t *p = data;
        int16_t lo = INT16_MAX, hi = INT16_MIN;
        for (size_t i = 0; i < n; i++) {
            lo = p[i] < lo ? p[i] : lo;
            hi = p[i] > hi ? p[i] : hi;
        }
        double a = lo * slope + inter, b = hi * slope + inter;
        as_i16 = n == 0 || (a >= INT16_MIN && a <= INT16_MAX && b >= INT16_MIN && b <= INT16_MAX);
        if (as_i16) {
            int16_t *o = *owned;
            int ia = (int)slope, ib = (int)inter;
            for (size_t i = 0; i < n; i++)
                o[i] = (int16_t)(o[i] * ia + ib);
            v->type = LP_VOLUME_I16;
            v->voxels = *owned;
            *owned = NULL;
            return 0;
        }
    }
    for (size_t i = 0; as_i16 && i < n; i++) {
        double s = sample(data, nim->datatype, i) * slope + inter;
        as_i16 = s >= INT16_MIN && s <= INT16_MAX;
    }
    v->type = as_i16 ? LP_VOLUME_I16 : LP_VOLUME_F32;
    v->voxels = lp_volume_voxels_alloc(n * lp_volume_sample_size(v->type));
    if (!v->voxels)
        return lp_error_set(err, LP_E_NOMEM, "out of memory for a volume of %zu voxels", n);
    if (as_i16) {
        int16_t *o = v->voxels;
        for (size_t i = 0; i < n; i++)
            o[i] = (int16_t)(sample(data, nim->datatype, i) * slope + inter);
    } else {
        float *o = v->voxels;
        for (size_t i = 0; i < n; i++) {
            double s = sample(data, nim->datatype, i);
            o[i] = (float)(scaled ? s * slope + inter : s);
            if (!isfinite(o[i]))
                o[i] = 0; /* NaN and infinities carry no intensity; they would poison windows and histograms */
        }
    }
    return 0;
}

static void best_affine(const nifti_image *nim, double a[4][4])
{
    memset(a, 0, 16 * sizeof(double));
    if (nim->sform_code > 0 || nim->qform_code > 0) {
        const nifti_dmat44 *m = nim->sform_code > 0 ? &nim->sto_xyz : &nim->qto_xyz;
        memcpy(a, m->m, 16 * sizeof(double));
        return;
    }
    double d[3] = {fabs(nim->dx) > 0 ? fabs(nim->dx) : 1, fabs(nim->dy) > 0 ? fabs(nim->dy) : 1,
                   fabs(nim->dz) > 0 ? fabs(nim->dz) : 1};
    int64_t n[3] = {nim->nx, nim->ny, nim->nz};
    for (int i = 0; i < 3; i++) {
        double s = i == 0 ? -d[i] : d[i];
        a[i][i] = s;
        a[i][3] = -s * (double)(n[i] - 1) / 2.0;
    }
    a[3][3] = 1;
}

static int read_header_bytes(const char *path, unsigned char *buf, size_t cap, size_t *got, lp_error *err)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return lp_error_set(err, LP_E_IO, "the volume file cannot be opened");
    int n = gzread(f, buf, (unsigned)cap);
    gzclose(f);
    if (n < 0)
        return lp_error_set(err, LP_E_INVALID, "the volume file is not readable gzip or NIfTI");
    *got = (size_t)n;
    return 0;
}

/* The volume of nim (whose header hdr checked) from the samples of its first
 * 3D volume (*data, malloc'ed: taken over, and set to NULL, when convert can
 * keep it as it is). NULL with err. */
static lp_volume *from_nim(const lp_volume_nifti_header *hdr, const nifti_image *nim, void **data, lp_error *err)
{
    lp_volume *v = calloc(1, sizeof *v);
    if (!v) {
        lp_error_set(err, LP_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(v->dim, hdr->dim, sizeof v->dim);
    double d[3] = {nim->dx, nim->dy, nim->dz};
    for (int i = 0; i < 3; i++)
        v->pixdim[i] = isfinite(d[i]) && fabs(d[i]) > 0 ? fabs(d[i]) : 1;
    best_affine(nim, v->affine);
    memcpy(v->original_affine, v->affine, sizeof v->affine);
    if (convert(v, nim, data, err) != 0) {
        lp_volume_free(v);
        return NULL;
    }
    return v;
}

/* nifticlib's image agrees with our header check. */
static int same_dims(const nifti_image *nim, const lp_volume_nifti_header *hdr)
{
    return nim->nx == hdr->dim[0] && (nim->ndim < 2 || nim->ny == hdr->dim[1]) &&
           (nim->ndim < 3 || nim->nz == hdr->dim[2]);
}

/* A .nii.gz through nifticlib: the header checked from the inflated prefix,
 * then the first 3D volume inflated by nifticlib. */
static lp_volume *read_gzip(const char *path, const lp_volume_limits *limits, lp_error *err)
{
    unsigned char head[N2_SIZE + 4];
    size_t got = 0;
    lp_volume_nifti_header hdr;
    lp_volume *v = NULL;
    nifti_image *nim = NULL;
    void *data = NULL;
    if (read_header_bytes(path, head, sizeof head, &got, err) != 0 ||
        lp_volume_nifti_header_parse(head, got, limits, &hdr, err) != 0)
        return NULL;
    nifti_set_debug_level(0);
    nim = nifti_image_read(path, 0);
    if (!nim || !same_dims(nim, &hdr)) {
        lp_error_set(err, LP_E_INVALID, "the NIfTI header is not valid");
        goto cleanup;
    }
    int64_t first[8] = {0, -1, -1, -1, 0, 0, 0, 0}; /* the first 3D volume of a 4D (or more) file */
    for (int i = (int)nim->ndim + 1; i < 8; i++)
        first[i] = 0;
    if (nifti_read_collapsed_image(nim, first, &data) < 0 || !data) {
        lp_error_set(err, LP_E_INVALID, "the NIfTI file ends before its voxel data does");
        goto cleanup;
    }
    v = from_nim(&hdr, nim, &data, err);
cleanup:
    free(data);
    nifti_image_free(nim);
    return v;
}

/* nifticlib's description of the header bytes file (hdr checked them), or
 * NULL with err when nifticlib disagrees with the check. */
static nifti_image *nim_of_header(const lp_volume_nifti_header *hdr, const unsigned char *file, lp_error *err)
{
    nifti_image *nim;
    nifti_set_debug_level(0);
    if (hdr->version == 1) {
        nifti_1_header h1;
        memcpy(&h1, file, sizeof h1);
        nim = nifti_convert_n1hdr2nim(h1, NULL);
    } else {
        nifti_2_header h2;
        memcpy(&h2, file, sizeof h2);
        nim = nifti_convert_n2hdr2nim(h2, NULL);
    }
    if (!nim || !same_dims(nim, hdr) || nim->nbyper != type_bits(hdr->datatype) / 8) {
        nifti_image_free(nim);
        lp_error_set(err, LP_E_INVALID, "the NIfTI header is not valid");
        return NULL;
    }
    return nim;
}

/* Room for n bytes of samples (lp_volume_voxels_alloc), or NULL with err. */
static void *samples_alloc(size_t n, lp_error *err)
{
    void *p = lp_volume_voxels_alloc(n);
    if (!p)
        lp_error_set(err, LP_E_NOMEM, "out of memory for a volume of %zu bytes", n);
    return p;
}

/* The volume of hdr (nim: nifticlib's view of the same header) from the n
 * bytes of its first 3D volume's samples as the file holds them (taken
 * over: freed, or kept as the voxels): put in this machine's byte order,
 * then converted (from_nim). NULL with err. */
static lp_volume *from_samples(const lp_volume_nifti_header *hdr, const nifti_image *nim, void *samples, size_t n,
                               lp_error *err)
{
    if (nim->nbyper > 1 && nim->byteorder != nifti_short_order())
        nifti_swap_Nbytes(n / (size_t)nim->nbyper, nim->nbyper, samples);
    lp_volume *v = from_nim(hdr, nim, &samples, err);
    free(samples);
    return v;
}

/* Bytes of the first 3D volume's samples of hdr, or 0 when they would not fit
 * in memory. */
static size_t sample_bytes(const lp_volume_nifti_header *hdr)
{
    uint64_t voxels = (uint64_t)hdr->dim[0] * (uint64_t)hdr->dim[1] * (uint64_t)hdr->dim[2];
    size_t bytes = (size_t)(type_bits(hdr->datatype) / 8);
    return voxels > (SIZE_MAX - (size_t)hdr->vox_offset) / 8 ? 0 : (size_t)voxels * bytes;
}

/* A plain .nii (fd, size bytes; head: its first got bytes): the samples read
 * straight into the volume's buffer, one copy and no file layer between. */
static lp_volume *read_plain(int fd, uint64_t size, const unsigned char *head, size_t got,
                             const lp_volume_limits *limits, lp_error *err)
{
    lp_volume_nifti_header hdr;
    if (lp_volume_nifti_header_parse(head, got, limits, &hdr, err) != 0)
        return NULL;
    size_t off = (size_t)hdr.vox_offset, n = sample_bytes(&hdr);
    if (n == 0 || size < off || size - off < n) {
        lp_error_set(err, LP_E_INVALID, "the NIfTI file ends before its voxel data does");
        return NULL;
    }
    nifti_image *nim = nim_of_header(&hdr, head, err);
    if (!nim)
        return NULL;
    lp_volume *v = NULL;
    unsigned char *samples = samples_alloc(n, err);
    size_t done = 0;
    while (samples && done < n) {
        ssize_t r = pread(fd, samples + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            lp_error_set(err, r < 0 ? LP_E_IO : LP_E_INVALID, r < 0 ? "the volume file cannot be read"
                                                                     : "the NIfTI file ends before its voxel data does");
            break;
        }
        done += (size_t)r;
    }
    if (samples && done == n)
        v = from_samples(&hdr, nim, samples, n, err);
    else
        free(samples);
    nifti_image_free(nim);
    return v;
}

lp_volume *lp_volume_read_nifti(const char *path, const lp_volume_limits *limits, lp_error *err)
{
    unsigned char head[N2_SIZE + 4];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        lp_error_set(err, LP_E_IO, "the volume file cannot be opened");
        return NULL;
    }
    ssize_t got = pread(fd, head, sizeof head, 0);
    lp_volume *v = NULL;
    if (got < 0)
        lp_error_set(err, LP_E_IO, "the volume file cannot be read");
    else if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b)
        v = read_gzip(path, limits, err);
    else
        v = read_plain(fd, (uint64_t)st.st_size, head, (size_t)got, limits, err);
    close(fd);
    return v;
}

/* Inflates gzip data into out (cap bytes) as far as it goes: the number of
 * bytes made, or -1 when the stream is damaged. */
static int64_t gunzip_prefix(const void *data, size_t len, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return -1;
    size_t made = 0;
    int zr = Z_OK;
    zs.next_in = (Bytef *)(uintptr_t)data;
    while (zr == Z_OK && made < cap && len > 0) {
        size_t in = len > UINT32_MAX ? UINT32_MAX : len, room = cap - made > UINT32_MAX ? UINT32_MAX : cap - made;
        zs.avail_in = (uInt)in;
        zs.next_out = out + made;
        zs.avail_out = (uInt)room;
        zr = inflate(&zs, Z_NO_FLUSH);
        made += room - zs.avail_out;
        len -= in - zs.avail_in;
        if (zr == Z_BUF_ERROR && zs.avail_out != 0)
            break; /* input exhausted */
    }
    inflateEnd(&zs);
    return zr == Z_OK || zr == Z_STREAM_END || zr == Z_BUF_ERROR ? (int64_t)made : -1;
}

lp_volume *lp_volume_read_nifti_mem(const void *data, size_t len, const lp_volume_limits *limits, lp_error *err)
{
    const unsigned char *p = data;
    int gz = len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
    unsigned char head[N2_SIZE + 4];
    size_t got = len < sizeof head ? len : sizeof head;
    lp_volume_nifti_header hdr;
    if (gz) {
        int64_t n = gunzip_prefix(data, len, head, sizeof head);
        if (n < 0) {
            lp_error_set(err, LP_E_INVALID, "the file is neither NIfTI nor readable gzip");
            return NULL;
        }
        got = (size_t)n;
    } else {
        memcpy(head, data, got);
    }
    if (lp_volume_nifti_header_parse(head, got, limits, &hdr, err) != 0)
        return NULL;
    size_t off = (size_t)hdr.vox_offset, n = sample_bytes(&hdr), need = off + n;
    /* what the bytes given could hold at most (deflate's ratio is below 1032:1) */
    uint64_t most = gz ? (uint64_t)len * 1032u + 1024u : (uint64_t)len;
    if (n == 0 || need > most) {
        lp_error_set(err, LP_E_INVALID, "the NIfTI file ends before its voxel data does");
        return NULL;
    }
    unsigned char *whole = NULL;
    const unsigned char *file = p;
    size_t flen = len;
    if (gz) {
        if (!(whole = malloc(need))) {
            lp_error_set(err, LP_E_NOMEM, "out of memory for a volume of %zu bytes", need);
            return NULL;
        }
        int64_t made = gunzip_prefix(data, len, whole, need);
        flen = made < 0 ? 0 : (size_t)made;
        file = whole;
    }
    lp_volume *v = NULL;
    nifti_image *nim = NULL;
    void *samples = NULL;
    if (flen < need) {
        lp_error_set(err, LP_E_INVALID, "the NIfTI file ends before its voxel data does");
        goto cleanup;
    }
    if (!(nim = nim_of_header(&hdr, file, err)) || !(samples = samples_alloc(n, err)))
        goto cleanup;
    memcpy(samples, file + off, n);
    v = from_samples(&hdr, nim, samples, n, err);
cleanup:
    free(whole);
    nifti_image_free(nim);
    return v;
}

/* A nifticlib image of v's size, affine and pixdim with voxels of datatype
 * (no data), or NULL when out of memory. */
static nifti_image *new_nim(const lp_volume *v, int datatype)
{
    int64_t dims[8] = {3, v->dim[0], v->dim[1], v->dim[2], 1, 1, 1, 1};
    nifti_set_debug_level(0);
    nifti_image *nim = nifti_make_new_nim(dims, datatype, 0);
    if (!nim)
        return NULL;
    nifti_dmat44 m;
    memcpy(m.m, v->affine, sizeof m.m);
    nim->sto_xyz = m;
    nim->sto_ijk = nifti_dmat44_inverse(m);
    nim->sform_code = nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
    double qdx, qdy, qdz;
    nifti_dmat44_to_quatern(m, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                            &nim->qoffset_y, &nim->qoffset_z, &qdx, &qdy, &qdz, &nim->qfac);
    nim->qto_xyz = nifti_quatern_to_dmat44(nim->quatern_b, nim->quatern_c, nim->quatern_d, nim->qoffset_x,
                                           nim->qoffset_y, nim->qoffset_z, v->pixdim[0], v->pixdim[1],
                                           v->pixdim[2], nim->qfac);
    nim->qto_ijk = nifti_dmat44_inverse(nim->qto_xyz);
    nim->dx = nim->pixdim[1] = v->pixdim[0];
    nim->dy = nim->pixdim[2] = v->pixdim[1];
    nim->dz = nim->pixdim[3] = v->pixdim[2];
    nim->xyz_units = NIFTI_UNITS_MM;
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
    return nim;
}

int lp_volume_labels_header(const lp_volume *v, unsigned char out[LP_VOLUME_LABELS_OFFSET], lp_error *err)
{
    nifti_image *nim = new_nim(v, DT_UINT8);
    nifti_1_header h;
    if (!nim)
        return lp_error_set(err, LP_E_NOMEM, "out of memory for a NIfTI header");
    nim->iname_offset = LP_VOLUME_LABELS_OFFSET;
    nim->cal_min = 0;
    nim->cal_max = 255;
    snprintf(nim->intent_name, sizeof nim->intent_name, "%s", "label");
    nim->intent_code = NIFTI_INTENT_LABEL;
    int rc = nifti_convert_nim2n1hdr(nim, &h);
    nifti_image_free(nim);
    if (rc != 0)
        return lp_error_set(err, LP_E_INTERNAL, "the label map's NIfTI header could not be made");
    _Static_assert(sizeof h == N1_SIZE, "a NIfTI-1 header is 348 bytes");
    memcpy(h.magic, "n+1\0", 4);
    h.vox_offset = LP_VOLUME_LABELS_OFFSET;
    memcpy(out, &h, sizeof h);
    memset(out + sizeof h, 0, LP_VOLUME_LABELS_OFFSET - sizeof h); /* no extensions */
    return 0;
}

int lp_volume_write_nifti(const lp_volume *v, const char *path, int gzip_level, lp_error *err)
{
    char mode[8];
    nifti_image *nim = new_nim(v, v->type == LP_VOLUME_I16 ? DT_INT16 : DT_FLOAT32);
    if (!nim)
        return lp_error_set(err, LP_E_NOMEM, "out of memory for a NIfTI header");
    int rc = -1;
    if (nifti_set_filenames(nim, path, 0, 1) != 0) {
        lp_error_set(err, LP_E_INTERNAL, "the volume's output name is not a NIfTI name (.nii or .nii.gz)");
        goto cleanup;
    }
    nim->data = v->voxels; /* borrowed for the write, handed back below */
    /* the level counts only for a .nii.gz path (nifticlib compresses by the name) */
    snprintf(mode, sizeof mode, "wb%d", gzip_level < 1 ? 1 : gzip_level > 9 ? 9 : gzip_level);
    znzFile done = nifti_image_write_hdr_img(nim, 1, mode);
    (void)done; /* NULL: written and closed */
    nim->data = NULL;
    unsigned char head[N1_SIZE + 4];
    size_t got = 0;
    lp_volume_nifti_header hdr;
    if (read_header_bytes(path, head, sizeof head, &got, err) != 0 ||
        lp_volume_nifti_header_parse(head, got, NULL, &hdr, err) != 0 || hdr.dim[0] != v->dim[0] ||
        hdr.dim[1] != v->dim[1] || hdr.dim[2] != v->dim[2]) {
        lp_error_clear(err);
        lp_error_set(err, LP_E_IO, "the normalized volume could not be written");
        goto cleanup;
    }
    rc = 0;
cleanup:
    nifti_image_free(nim);
    return rc;
}
