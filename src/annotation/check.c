/* Checks of an annotation against its class and slot.
 * See include/loupe/annotation/annotation.h. */
#include "loupe/annotation/annotation.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* ---- checks against class and slot ---------------------------------------------- */

static bool prop_value_ok(const lp_ann_prop *p, json_t *def, char *why, size_t cap)
{
    const char *type = json_string_value(json_object_get(def, "type"));
    if (p->kind == 0)
        return true;
    if (!type)
        return true;
    if (strcmp(type, "number") == 0) {
        if (p->kind != 2) {
            snprintf(why, cap, "must be a number for property \"%s\"", p->name);
            return false;
        }
        return true;
    }
    if (p->kind != 1) {
        snprintf(why, cap, "must be a string for property \"%s\"", p->name);
        return false;
    }
    if (strcmp(type, "text") == 0)
        return true;
    json_t *opts = json_object_get(def, "options"), *o;
    size_t i;
    json_array_foreach(opts, i, o) {
        const char *v = json_string_value(json_object_get(o, "value"));
        if (v && strcmp(v, p->str) == 0)
            return true;
    }
    snprintf(why, cap, "\"%.80s\" is not an option of property \"%.80s\"", p->str, p->name);
    return false;
}

static int check_props(const lp_ann_body *b, json_t *defs, const char *prefix, lp_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < b->nprops; i++) {
        const lp_ann_prop *p = &b->props[i];
        json_t *d, *def = NULL;
        size_t j;
        char field[160], why[256];
        if (!p->name)
            continue;
        json_array_foreach(defs, j, d) {
            const char *n = json_string_value(json_object_get(d, "name"));
            const char *id = json_string_value(json_object_get(d, "id"));
            if ((n && strcmp(n, p->name) == 0) || (id && strcmp(id, p->name) == 0)) {
                def = d;
                break;
            }
        }
        if (!def) {
            snprintf(field, sizeof field, "%sproperties[%zu].name", prefix, i);
            rc = lp_error_field(err, LP_E_INVALID, field, "the class has no property \"%.80s\"", p->name);
            continue;
        }
        if (!prop_value_ok(p, def, why, sizeof why)) {
            snprintf(field, sizeof field, "%sproperties[%zu].value", prefix, i);
            rc = lp_error_field(err, LP_E_INVALID, field, "%s", why);
        }
    }
    return rc;
}

static int check_body(const lp_ann_body *b, const lp_ann_class *cls, json_t *defs, const char *prefix,
                      lp_error *err)
{
    int rc = 0;
    char field[160];
    for (int i = 0; i < LP_ANN_SUB_COUNT; i++) {
        unsigned f = 1u << i;
        if ((b->sub_types & f) && !(cls->sub_types & f)) {
            snprintf(field, sizeof field, "%s%s", prefix, lp_ann_sub_type_name(i));
            rc = lp_error_field(err, LP_E_INVALID, field, "class %s does not allow the %s sub-type (sub_types)",
                                cls->id, lp_ann_sub_type_name(i));
        }
    }
    if (b->geom.type == LP_GEOM_SKELETON && cls->skeleton_nodes) {
        const lp_geom_skeleton *sk = &b->geom.shape.u.skeleton;
        if (sk->nnodes != cls->nskeleton_nodes) {
            snprintf(field, sizeof field, "%sskeleton.nodes", prefix);
            rc = lp_error_field(err, LP_E_INVALID, field, "must have the class's %zu nodes, not %zu",
                                cls->nskeleton_nodes, sk->nnodes);
        } else {
            for (size_t i = 0; i < sk->nnodes; i++) {
                const char *name = sk->nodes[i].name;
                size_t j;
                if (!name)
                    continue;
                for (j = 0; j < cls->nskeleton_nodes; j++)
                    if (strcmp(cls->skeleton_nodes[j], name) == 0)
                        break;
                if (j == cls->nskeleton_nodes) {
                    snprintf(field, sizeof field, "%sskeleton.nodes[%zu].name", prefix, i);
                    rc = lp_error_field(err, LP_E_INVALID, field, "\"%.80s\" is not a node of the class's skeleton",
                                        name);
                }
            }
        }
    }
    if (check_props(b, defs, prefix, err) != 0)
        rc = -1;
    return rc;
}

int lp_ann_check(const lp_ann *ann, const lp_ann_class *cls, const lp_ann_slot *slot, lp_arena *a, lp_error *err)
{
    int rc = 0;
    (void)a;
    if (!cls && ann->class_id)
        return lp_error_field(err, LP_E_INVALID, "class_id", "no class %s in this team", ann->class_id);
    if (!cls)
        return lp_error_field(err, LP_E_INVALID, "name", "no class named \"%.100s\" in this team",
                              ann->class_name ? ann->class_name : "");
    if (ann->class_name && cls->name && strcmp(ann->class_name, cls->name) != 0)
        rc = lp_error_field(err, LP_E_INVALID, "name", "\"%.100s\" contradicts class_id: class %s is named \"%.100s\"",
                            ann->class_name, cls->id, cls->name);
    if (!slot) {
        const char *field = ann->slot_from_names ? "slot_names" : "slot";
        if (ann->slot)
            rc = lp_error_field(err, LP_E_INVALID, field, "the item has no slot named \"%.100s\"", ann->slot);
        else
            rc = lp_error_field(err, LP_E_INVALID, field, "is required: the item has no slots");
    }
    if (ann->type >= 0 && !(cls->types & (1u << ann->type)))
        rc = lp_error_field(err, LP_E_INVALID, lp_ann_type_name(ann->type),
                            "class %s does not allow %s annotations (its annotation_types)", cls->id,
                            lp_ann_type_name(ann->type));
    json_t *defs = json_loads(cls->properties_json ? cls->properties_json : "[]", 0, NULL);
    if (!defs)
        defs = json_array();
    if (check_body(&ann->body, cls, defs, "", err) != 0)
        rc = -1;
    for (size_t i = 0; i < ann->nframes; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "frames.%lld.", (long long)ann->frames[i].frame);
        if (check_body(&ann->frames[i].body, cls, defs, prefix, err) != 0)
            rc = -1;
    }
    json_decref(defs);
    if (slot && ann->video) {
        if (!slot->video) {
            rc = lp_error_field(err, LP_E_INVALID, "frames", "slot \"%.100s\" is an image; frames need a video or volume slot",
                                slot->name);
        } else if (slot->frame_count > 0 && ann->nframes &&
                   ann->frames[ann->nframes - 1].frame >= slot->frame_count) {
            char field[64];
            snprintf(field, sizeof field, "frames.%lld", (long long)ann->frames[ann->nframes - 1].frame);
            rc = lp_error_field(err, LP_E_INVALID, field, "is past the end of slot \"%.100s\" (%lld frames)",
                                slot->name, (long long)slot->frame_count);
        }
    }
    return rc ? -1 : 0;
}


int lp_ann_check_item_properties(const lp_ann_body *props, const char *const *class_properties, size_t nclasses,
                                 lp_error *err)
{
    json_t *defs = json_array();
    int rc = 0;
    if (!defs)
        return lp_error_set(err, LP_E_NOMEM, "out of memory checking item properties");
    for (size_t i = 0; i < nclasses; i++) {
        json_t *arr = json_loads(class_properties[i] ? class_properties[i] : "[]", 0, NULL), *d;
        size_t k;
        json_array_foreach(arr, k, d) {
            const char *g = json_string_value(json_object_get(d, "granularity"));
            if (g && strcmp(g, "item") == 0)
                json_array_append(defs, d);
        }
        json_decref(arr);
    }
    if (check_props(props, defs, "", err) != 0)
        rc = -1;
    json_decref(defs);
    return rc;
}
