/* Item filters and bulk item actions as JSON documents. See
 * loupe/db/item_filter.h. */
#include "loupe/db/item_filter.h"

#include <stdlib.h>
#include <string.h>

#include "loupe/core/util.h"

static const char *const STATUSES[] = {"registered", "uploading", "processing", "ready", "error", NULL};
static const char *const OPS[] = {[LP_ITEMS_MOVE] = "move", [LP_ITEMS_COPY] = "copy", [LP_ITEMS_DELETE] = "delete",
                                  [LP_ITEMS_UPDATE] = "update"};

const char *lp_items_op_name(lp_items_op op)
{
    return (unsigned)op < sizeof OPS / sizeof OPS[0] ? OPS[op] : "?";
}

int lp_items_op_parse(const char *name, lp_items_op *out)
{
    for (size_t k = 0; name && k < sizeof OPS / sizeof OPS[0]; k++)
        if (strcmp(name, OPS[k]) == 0) {
            *out = (lp_items_op)k;
            return 0;
        }
    return -1;
}

/* ---- Values ------------------------------------------------------------- */

static int digits(const char *s, int n)
{
    for (int k = 0; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return 0;
    return 1;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++)
        v = v * 10 + (s[k] - '0');
    return v;
}

int lp_item_time_valid(const char *s)
{
    static const int MDAYS[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t n = s ? strlen(s) : 0;
    if (n < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
        return 0;
    int year = num(s, 4), month = num(s + 5, 2), day = num(s + 8, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > MDAYS[month - 1])
        return 0;
    if (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        return 0;
    if (n == 10)
        return 1;
    s += 10;
    if ((*s != 'T' && *s != 't' && *s != ' ') || !digits(s + 1, 2) || s[3] != ':' || !digits(s + 4, 2) ||
        s[6] != ':' || !digits(s + 7, 2))
        return 0;
    if (num(s + 1, 2) > 23 || num(s + 4, 2) > 59 || num(s + 7, 2) > 60)
        return 0;
    s += 9;
    if (*s == '.') {
        int k = 1;
        while (s[k] >= '0' && s[k] <= '9')
            k++;
        if (k == 1 || k > 10)
            return 0;
        s += k;
    }
    if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
        return 1;
    return (*s == '+' || *s == '-') && digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2) && s[6] == '\0' &&
           num(s + 1, 2) <= 23 && num(s + 4, 2) <= 59;
}

int lp_item_path_normalize(const char *in, size_t max, const char *setting, lp_arena *a, const char *field,
                           const char **out, lp_error *err)
{
    size_t n = strlen(in);
    if (n == 0 || in[0] != '/')
        return lp_error_field(err, LP_E_INVALID, field, "must be a folder path starting with \"/\" (e.g. \"/cars/red\")");
    if (n > max && setting)
        return lp_error_field(err, LP_E_INVALID, field, "is %zu bytes long, over the limit of %zu (%s)", n, max, setting);
    if (n > max)
        return lp_error_field(err, LP_E_INVALID, field, "is %zu bytes long; the limit is %zu", n, max);
    if (!lp_utf8_valid(in, n))
        return lp_error_field(err, LP_E_INVALID, field, "must be valid UTF-8");
    if (strstr(in, "//"))
        return lp_error_field(err, LP_E_INVALID, field, "must not contain empty segments (\"//\")");
    if (n > 1 && in[n - 1] == '/')
        n--;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)in[k] < 0x20 || in[k] == 0x7f)
            return lp_error_field(err, LP_E_INVALID, field, "must not contain control characters");
    /* Segments between slashes: none empty, none "." or "..". */
    for (size_t k = 1, start = 1; n > 1 && k <= n; k++) {
        if (k < n && in[k] != '/')
            continue;
        size_t len = k - start;
        if (len == 0 || (len == 1 && in[start] == '.') || (len == 2 && in[start] == '.' && in[start + 1] == '.'))
            return lp_error_field(err, LP_E_INVALID, field,
                                  "must not contain empty, \".\" or \"..\" segments (\"%s\")", in);
        start = k + 1;
    }
    *out = lp_arena_strndup(a, in, n);
    return *out ? 0 : lp_error_set(err, LP_E_NOMEM, "out of memory reading %s", field);
}

/* ---- Filters ------------------------------------------------------------- */

typedef struct reader {
    lp_filter_style style;
    const char *prefix; /* "filters." or "" */
    lp_arena *a;
    lp_error *err;
} reader;

static const char *fname(reader *r, const char *key, const char *sub)
{
    const char *s;
    if (!sub)
        s = lp_arena_printf(r->a, "%s%s", r->prefix, key);
    else if (r->style == LP_FILTER_QUERY)
        s = lp_arena_printf(r->a, "%s%s[%s]", r->prefix, key, sub);
    else
        s = lp_arena_printf(r->a, "%s%s.%s", r->prefix, key, sub);
    return s ? s : key;
}

static int bad(reader *r, const char *key, const char *sub, const char *msg)
{
    return lp_error_field(r->err, LP_E_INVALID, fname(r, key, sub), "%s", msg);
}

static int read_uuid(reader *r, const json_t *v, const char *key, const char *sub, const char **out)
{
    if (!json_is_string(v) || !lp_is_uuid(json_string_value(v)))
        return bad(r, key, sub, "must be a UUID");
    *out = json_string_value(v);
    return 0;
}

static int read_text(reader *r, const json_t *v, const char *key, size_t max, const char **out)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return bad(r, key, NULL, "must be a non-empty string");
    if (json_string_length(v) > max)
        return lp_error_field(r->err, LP_E_INVALID, fname(r, key, NULL), "is %zu bytes long; the limit is %zu",
                              json_string_length(v), max);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return bad(r, key, NULL, "must not contain NUL characters");
    *out = json_string_value(v);
    return 0;
}

/* A share from 0 to 1 (a number; in QUERY style also its decimal text), as text. */
static int share_bound(reader *r, const json_t *v, const char *key, const char *sub, void *dst)
{
    const char **out = dst;
    double d;
    char *end = NULL;
    if (json_is_number(v))
        d = json_number_value(v);
    else if (r->style == LP_FILTER_QUERY && json_is_string(v) && *json_string_value(v))
        d = strtod(json_string_value(v), &end);
    else
        return bad(r, key, sub, "must be a number from 0 to 1");
    if ((end && *end) || !(d >= 0 && d <= 1))
        return bad(r, key, sub, "must be a number from 0 to 1");
    *out = lp_arena_printf(r->a, "%.9g", d);
    return *out ? 0 : lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a filter");
}

/* A count from 0 to 2^31 − 1 (in QUERY style also its decimal text). */
static int count_bound(reader *r, const json_t *v, const char *key, const char *sub, void *dst)
{
    int64_t *out = dst;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
    } else if (r->style == LP_FILTER_QUERY && json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        *out = strtoll(s, &end, 10);
        if (!*s || *end)
            return bad(r, key, sub, "must be an integer");
    } else {
        return bad(r, key, sub, "must be an integer");
    }
    if (*out < 0 || *out > 2147483647)
        return bad(r, key, sub, "must be between 0 and 2147483647");
    return 0;
}

/* One bound of a time range into *(const char **)dst: an RFC 3339 timestamp,
 * or a date, which becomes midnight UTC. */
static int time_bound(reader *r, const json_t *x, const char *key, const char *k, void *dst)
{
    const char **out = dst;
    if (!json_is_string(x) || !lp_item_time_valid(json_string_value(x)))
        return bad(r, key, k, "must be an RFC 3339 timestamp like 2026-01-02T03:04:05Z, or a date");
    const char *s = json_string_value(x);
    *out = strlen(s) == 10 ? lp_arena_printf(r->a, "%sT00:00:00Z", s) : s;
    return *out ? 0 : lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a filter");
}

static int read_statuses(reader *r, const json_t *v, lp_item_filter *out)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    const char **list;
    if (!json_is_string(v) && (!json_is_array(v) || n == 0))
        return bad(r, "status", NULL, "must be a status or a non-empty array of statuses");
    list = lp_arena_calloc(r->a, n, sizeof *list);
    if (!list)
        return lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a filter");
    for (size_t k = 0; k < n; k++) {
        const json_t *x = json_is_array(v) ? json_array_get(v, k) : v;
        size_t s = 0;
        while (json_is_string(x) && STATUSES[s] && strcmp(STATUSES[s], json_string_value(x)) != 0)
            s++;
        if (!json_is_string(x) || !STATUSES[s])
            return bad(r, "status", NULL,
                       "must be one of \"registered\", \"uploading\", \"processing\", \"ready\", \"error\"");
        list[k] = STATUSES[s];
    }
    out->statuses = list;
    out->nstatuses = n;
    return 0;
}

static int read_item_ids(reader *r, const json_t *v, lp_item_filter *out)
{
    size_t n = json_array_size(v);
    const char **ids;
    if (!json_is_array(v) || n == 0 || n > LP_ITEMS_IDS_MAX)
        return lp_error_field(r->err, LP_E_INVALID, fname(r, "item_ids", NULL),
                              "must be an array of 1 to %d item UUIDs", LP_ITEMS_IDS_MAX);
    ids = lp_arena_calloc(r->a, n, sizeof *ids);
    if (!ids)
        return lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a filter");
    for (size_t k = 0; k < n; k++) {
        const json_t *x = json_array_get(v, k);
        if (!json_is_string(x) || !lp_is_uuid(json_string_value(x))) {
            const char *f = lp_arena_printf(r->a, "%sitem_ids[%zu]", r->prefix, k);
            return lp_error_field(r->err, LP_E_INVALID, f ? f : "item_ids", "must be a UUID");
        }
        ids[k] = json_string_value(x);
    }
    out->item_ids = ids;
    out->nitem_ids = n;
    return 0;
}

static int read_metadata(reader *r, const json_t *v, lp_item_filter *out)
{
    const char *k;
    json_t *x;
    if (!json_is_object(v) || json_object_size(v) == 0 || json_object_size(v) > LP_ITEM_FILTER_META_MAX)
        return lp_error_field(r->err, LP_E_INVALID, fname(r, "metadata", NULL),
                              "must be an object of 1 to %d keys and values", LP_ITEM_FILTER_META_MAX);
    json_object_foreach((json_t *)v, k, x) {
        const char *text;
        if (json_is_string(x))
            text = json_string_value(x);
        else if (json_is_integer(x) || json_is_real(x) || json_is_boolean(x)) {
            char *dump = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);
            text = dump ? lp_arena_strdup(r->a, dump) : NULL;
            free(dump);
        } else
            return bad(r, "metadata", k, "must be a string, number or boolean");
        if (!text)
            return lp_error_set(r->err, LP_E_NOMEM, "out of memory reading a filter");
        out->meta_keys[out->nmeta] = k;
        out->meta_values[out->nmeta] = text;
        out->nmeta++;
    }
    return 0;
}

/* Bounds {"gte"?, "lte"?} at key (at least one), each read by one into gte or lte; has_gte and
 * has_lte (may be NULL) say which were given. */
static int read_bounds(reader *r, const json_t *v, const char *key,
                       int (*one)(reader *, const json_t *, const char *, const char *, void *), void *gte, void *lte,
                       int *has_gte, int *has_lte)
{
    const char *k;
    json_t *x;
    int rc = 0;
    if (!json_is_object(v) || json_object_size(v) == 0)
        return bad(r, key, NULL, "must be an object with \"gte\" and/or \"lte\"");
    json_object_foreach((json_t *)v, k, x) {
        int is_gte = strcmp(k, "gte") == 0;
        if (!is_gte && strcmp(k, "lte") != 0) {
            rc |= bad(r, key, k, "is not a known bound (use gte or lte)");
            continue;
        }
        if (is_gte ? has_gte : has_lte)
            *(is_gte ? has_gte : has_lte) = 1;
        rc |= one(r, x, key, k, is_gte ? gte : lte);
    }
    return rc;
}

int lp_item_filter_read(const json_t *doc, lp_filter_style style, const char *team_id, lp_arena *a,
                        lp_item_filter *out, lp_error *err)
{
    reader r = {style, style == LP_FILTER_JSON ? "filters." : "", a, err};
    const char *key;
    json_t *v;
    int rc = 0;

    memset(out, 0, sizeof *out);
    out->team_id = team_id;
    if (!json_is_object(doc))
        return lp_error_field(err, LP_E_INVALID, style == LP_FILTER_JSON ? "filters" : "query",
                              "must be an object of filters");
    json_object_foreach((json_t *)doc, key, v) {
        if (strcmp(key, "dataset_id") == 0)
            rc |= read_uuid(&r, v, key, NULL, &out->dataset_id);
        else if (strcmp(key, "item_ids") == 0)
            rc |= read_item_ids(&r, v, out);
        else if (strcmp(key, "path") == 0) {
            if (!json_is_string(v))
                rc |= bad(&r, key, NULL, "must be a folder path starting with \"/\"");
            else
                rc |= lp_item_path_normalize(json_string_value(v), LP_ITEM_FILTER_TEXT_MAX, NULL, a, fname(&r, key, NULL),
                                             &out->path, err);
        } else if (strcmp(key, "name_contains") == 0)
            rc |= read_text(&r, v, key, LP_ITEM_FILTER_TEXT_MAX, &out->name_contains);
        else if (strcmp(key, "status") == 0)
            rc |= read_statuses(&r, v, out);
        else if (strcmp(key, "has_class") == 0)
            rc |= read_uuid(&r, v, key, NULL, &out->has_class);
        else if (strcmp(key, "lacks_class") == 0)
            rc |= read_uuid(&r, v, key, NULL, &out->lacks_class);
        else if (strcmp(key, "annotation_count") == 0) {
            rc |= read_bounds(&r, v, key, count_bound, &out->count_gte, &out->count_lte, &out->has_count_gte,
                              &out->has_count_lte);
        } else if (strcmp(key, "metadata") == 0)
            rc |= read_metadata(&r, v, out);
        else if (strcmp(key, "created") == 0)
            rc |= read_bounds(&r, v, key, time_bound, &out->created_gte, &out->created_lte, NULL, NULL);
        else if (strcmp(key, "updated") == 0)
            rc |= read_bounds(&r, v, key, time_bound, &out->updated_gte, &out->updated_lte, NULL, NULL);
        else if (strcmp(key, "stage") == 0)
            rc |= read_text(&r, v, key, LP_FILTER_STAGE_NAME_MAX, &out->stage);
        else if (strcmp(key, "state") == 0)
            rc |= read_text(&r, v, key, LP_FILTER_STAGE_NAME_MAX, &out->state);
        else if (strcmp(key, "assignee") == 0)
            rc |= read_uuid(&r, v, key, NULL, &out->assignee_id);
        else if (strcmp(key, "disagreement") == 0) {
            rc |= read_bounds(&r, v, key, share_bound, &out->disagreement_gte, &out->disagreement_lte, NULL, NULL);
        } else if (strcmp(key, "disagreement_run") == 0)
            rc |= read_uuid(&r, v, key, NULL, &out->disagreement_run);
        else
            rc |= bad(&r, key, NULL, "is not a known filter");
    }
    if (rc == 0 && out->dataset_id && out->item_ids)
        rc = bad(&r, "item_ids", NULL, "cannot be combined with dataset_id: give one of them");
    return rc ? -1 : 0;
}

/* ---- Bulk documents -------------------------------------------------------- */

/* Reads a bulk body; a job payload (as_payload) also holds "action" and
 * "requested_by", read by the caller. */
static int bulk_read(const json_t *body, lp_items_op op, const char *team_id, lp_arena *a, lp_items_bulk *out,
                     int as_payload, lp_error *err)
{
    const char *key;
    json_t *v;
    int rc = 0;

    memset(out, 0, sizeof *out);
    out->change.op = op;
    if (!json_is_object(body))
        return lp_error_set(err, LP_E_INVALID, "the request body must be a JSON object");
    const json_t *filters = json_object_get(body, "filters");
    if (!filters)
        rc |= lp_error_field(err, LP_E_INVALID, "filters", "is required (give dataset_id or item_ids)");
    else if (lp_item_filter_read(filters, LP_FILTER_JSON, team_id, a, &out->filter, err) != 0)
        rc = -1;
    else if (!out->filter.dataset_id && !out->filter.item_ids)
        rc |= lp_error_field(err, LP_E_INVALID, "filters.dataset_id", "is required unless filters.item_ids is given");
    out->filters_doc = filters;

    json_object_foreach((json_t *)body, key, v) {
        if (strcmp(key, "filters") == 0 ||
            (as_payload && (strcmp(key, "action") == 0 || strcmp(key, "requested_by") == 0)))
            continue;
        if (strcmp(key, "mode") == 0) {
            const char *m = json_string_value(v);
            if (!m || (strcmp(m, "auto") != 0 && strcmp(m, "job") != 0))
                rc |= lp_error_field(err, LP_E_INVALID, "mode", "must be \"auto\" or \"job\"");
            else
                out->force_job = strcmp(m, "job") == 0;
        } else if (strcmp(key, "target_dataset_id") == 0 && (op == LP_ITEMS_MOVE || op == LP_ITEMS_COPY)) {
            if (!json_is_string(v) || !lp_is_uuid(json_string_value(v)))
                rc |= lp_error_field(err, LP_E_INVALID, key, "must be a UUID");
            else
                out->change.target_dataset_id = json_string_value(v);
        } else if (strcmp(key, "priority") == 0 && op == LP_ITEMS_UPDATE) {
            if (!json_is_integer(v) || json_integer_value(v) < -2147483647 || json_integer_value(v) > 2147483647)
                rc |= lp_error_field(err, LP_E_INVALID, key, "must be an integer between -2147483647 and 2147483647");
            else {
                out->change.has_priority = 1;
                out->change.priority = (int64_t)json_integer_value(v);
            }
        } else if (strcmp(key, "metadata") == 0 && op == LP_ITEMS_UPDATE) {
            if (!json_is_object(v) || json_object_size(v) == 0) {
                rc |= lp_error_field(err, LP_E_INVALID, key,
                                     "must be a non-empty object (a null value removes the key)");
                continue;
            }
            json_t *set = json_object();
            const char **rm = lp_arena_calloc(a, json_object_size(v), sizeof *rm);
            const char *k;
            json_t *x;
            size_t nrm = 0;
            char *text = NULL;
            if (set && rm) {
                json_object_foreach(v, k, x) {
                    if (json_is_null(x))
                        rm[nrm++] = k;
                    else
                        json_object_set(set, k, x);
                }
                text = json_object_size(set) ? json_dumps(set, JSON_COMPACT) : NULL;
            }
            json_decref(set);
            out->change.metadata_set = text ? lp_arena_strdup(a, text) : NULL;
            free(text);
            out->change.metadata_remove = rm;
            out->change.nmetadata_remove = nrm;
            if (!rm || (nrm < json_object_size(v) && !out->change.metadata_set))
                rc |= lp_error_set(err, LP_E_NOMEM, "out of memory reading metadata");
        } else {
            rc |= lp_error_field(err, LP_E_INVALID, key, "is not a member of a bulk %s request", lp_items_op_name(op));
        }
    }
    if ((op == LP_ITEMS_MOVE || op == LP_ITEMS_COPY) && !out->change.target_dataset_id &&
        !json_object_get(body, "target_dataset_id"))
        rc |= lp_error_field(err, LP_E_INVALID, "target_dataset_id", "is required to %s items", lp_items_op_name(op));
    if (op == LP_ITEMS_UPDATE && !json_object_get(body, "priority") && !json_object_get(body, "metadata"))
        rc |= lp_error_field(err, LP_E_INVALID, "priority", "priority or metadata is required to update items");
    return rc ? -1 : 0;
}

json_t *lp_items_bulk_payload(const json_t *body, lp_items_op op, const char *requested_by)
{
    json_t *p = json_deep_copy(body);
    if (!p)
        return NULL;
    json_object_del(p, "mode");
    if (json_object_set_new(p, "action", json_string(lp_items_op_name(op))) != 0 ||
        json_object_set_new(p, "requested_by", requested_by ? json_string(requested_by) : json_null()) != 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

int lp_items_bulk_read(const json_t *body, lp_items_op op, const char *team_id, lp_arena *a, lp_items_bulk *out,
                       lp_error *err)
{
    return bulk_read(body, op, team_id, a, out, 0, err);
}

int lp_items_bulk_read_payload(const json_t *payload, const char *team_id, lp_arena *a, lp_items_bulk *out,
                               lp_error *err)
{
    lp_items_op op;

    if (!json_is_object(payload) || lp_items_op_parse(json_string_value(json_object_get(payload, "action")), &op) != 0)
        return lp_error_field(err, LP_E_INVALID, "action", "must be \"move\", \"copy\", \"delete\" or \"update\"");
    const json_t *by = json_object_get(payload, "requested_by");
    if (by && !json_is_null(by) && (!json_is_string(by) || !lp_is_uuid(json_string_value(by))))
        return lp_error_field(err, LP_E_INVALID, "requested_by", "must be a user UUID or null");
    return bulk_read(payload, op, team_id, a, out, 1, err);
}

json_t *lp_items_bulk_audit_data(const json_t *body, int64_t count, const char *job_id)
{
    static const char *const COPIED[] = {"filters", "target_dataset_id", "priority", "metadata"};
    json_t *d = json_object();
    int rc = d ? json_object_set_new(d, "count", json_integer((json_int_t)count)) : -1;

    for (size_t k = 0; rc == 0 && k < sizeof COPIED / sizeof COPIED[0]; k++) {
        json_t *v = json_object_get(body, COPIED[k]);
        if (v)
            rc = json_object_set(d, COPIED[k], v);
    }
    if (rc == 0 && job_id)
        rc = json_object_set_new(d, "job_id", json_string(job_id));
    if (rc != 0) {
        json_decref(d);
        return NULL;
    }
    return d;
}
