/* The annotation model's tables: types, sub-types, sources.
 * See include/loupe/annotation/annotation.h. */
#include "loupe/annotation/annotation.h"

#include <string.h>

static const char *const extra_type_names[] = {"raster_layer", "complex_polygon", "table", "simple_table", "string",
                                               "graph"};
_Static_assert(sizeof extra_type_names / sizeof *extra_type_names == LP_ANN_TYPE_COUNT - LP_ANN_RASTER_LAYER,
               "a name for every annotation type beyond the geometry library's");

const char *lp_ann_type_name(int type)
{
    if (type >= LP_ANN_RASTER_LAYER && type < LP_ANN_TYPE_COUNT)
        return extra_type_names[type - LP_ANN_RASTER_LAYER];
    return lp_geom_type_name((lp_geom_type)type);
}

lp_geom_type lp_ann_geom_type(int type)
{
    if (type == LP_ANN_COMPLEX_POLYGON)
        return LP_GEOM_POLYGON;
    return type >= 0 && type < LP_ANN_RASTER_LAYER ? (lp_geom_type)type : LP_GEOM_MASK;
}

bool lp_ann_type_is_text(int type)
{
    return type == LP_GEOM_TAG || type == LP_GEOM_MASK || type == LP_GEOM_TEXT || type >= LP_ANN_TABLE;
}

int lp_ann_type_from_name(const char *name, size_t len, int *out)
{
    for (int t = 0; t < LP_ANN_TYPE_COUNT; t++) {
        const char *n = lp_ann_type_name(t);
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = t;
            return 0;
        }
    }
    return -1;
}

static const char *const sub_type_names[LP_ANN_SUB_COUNT] = {"attributes",         "text",      "instance_id",
                                                             "directional_vector", "inference", "measures"};

const char *lp_ann_sub_type_name(int i) { return i >= 0 && i < LP_ANN_SUB_COUNT ? sub_type_names[i] : NULL; }

unsigned lp_ann_sub_type_flag(const char *name)
{
    for (int i = 0; i < LP_ANN_SUB_COUNT; i++)
        if (strcmp(name, sub_type_names[i]) == 0)
            return 1u << i;
    return 0;
}

bool lp_ann_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == ':' || c == '-'))
            return false;
    }
    return n >= 1 && n <= LP_ANN_ID_MAX;
}

static const char *const source_names[] = {"human", "model", "import"};

const char *lp_ann_source_name(lp_ann_source s) { return (unsigned)s < 3 ? source_names[s] : "human"; }

int lp_ann_source_from_name(const char *name, lp_ann_source *out)
{
    for (unsigned i = 0; i < sizeof source_names / sizeof *source_names; i++) {
        if (strcmp(name, source_names[i]) == 0) {
            *out = (lp_ann_source)i;
            return 0;
        }
    }
    return -1;
}
