/* The annotation model's tables: types, sub-types, sources.
 * See include/loupe/annotation/annotation.h. */
#include "loupe/annotation/annotation.h"

#include <string.h>

const char *lp_ann_type_name(int type)
{
    if (type == LP_ANN_RASTER_LAYER)
        return "raster_layer";
    return lp_geom_type_name((lp_geom_type)type);
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

unsigned lp_ann_sub_type_flag(const char *name)
{
    if (strcmp(name, "attributes") == 0)
        return LP_ANN_SUB_ATTRIBUTES;
    if (strcmp(name, "text") == 0)
        return LP_ANN_SUB_TEXT;
    if (strcmp(name, "instance_id") == 0)
        return LP_ANN_SUB_INSTANCE_ID;
    if (strcmp(name, "directional_vector") == 0)
        return LP_ANN_SUB_DIRECTIONAL_VECTOR;
    return 0;
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
