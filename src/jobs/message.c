/* Job message bodies. See loupe/jobs/message.h. */
#include "loupe/jobs/message.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "loupe/core/util.h"

int lp_job_kind_name_valid(const char *s)
{
    size_t n = 0;
    int word_start = 1;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (c == '.') {
            if (word_start)
                return 0;
            word_start = 1;
        } else if (c >= 'a' && c <= 'z') {
            word_start = 0;
        } else if ((c >= '0' && c <= '9') || c == '_') {
            if (word_start)
                return 0;
        } else {
            return 0;
        }
    }
    return n > 0 && n <= LP_JOB_KIND_MAX && !word_start;
}

int lp_job_msg_parse(const char *body, size_t len, lp_job_msg *out, lp_error *err)
{
    json_error_t jerr;
    json_t *root, *v;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return lp_error_set(err, LP_E_MALFORMED, "job message is not JSON: %s at byte %d", jerr.text, jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return lp_error_set(err, LP_E_MALFORMED, "job message is not a JSON object");
    }

    v = json_object_get(root, "v");
    if (!json_is_integer(v))
        rc = lp_error_field(err, LP_E_INVALID, "v", "must be the schema version %d", LP_JOB_MSG_VERSION);
    else if (json_integer_value(v) != LP_JOB_MSG_VERSION)
        rc = lp_error_field(err, LP_E_INVALID, "v", "schema version %lld is not supported (expected %d)",
                            (long long)json_integer_value(v), LP_JOB_MSG_VERSION);
    else
        out->v = LP_JOB_MSG_VERSION;

    v = json_object_get(root, "job_id");
    if (!json_is_string(v) || !lp_is_uuid(json_string_value(v)))
        rc = lp_error_field(err, LP_E_INVALID, "job_id", "must be a UUID");
    else
        lp_strlcpy(out->job_id, json_string_value(v), sizeof(out->job_id));

    v = json_object_get(root, "kind");
    if (!json_is_string(v) || !lp_job_kind_name_valid(json_string_value(v)))
        rc = lp_error_field(err, LP_E_INVALID, "kind", "must be a job kind name like \"system.echo\"");
    else
        lp_strlcpy(out->kind, json_string_value(v), sizeof(out->kind));

    v = json_object_get(root, "attempt");
    if (!v) {
        out->attempt = 1;
    } else if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000) {
        rc = lp_error_field(err, LP_E_INVALID, "attempt", "must be a positive integer");
    } else {
        out->attempt = (int)json_integer_value(v);
    }

    lp_trace t;
    if (lp_trace_parse(json_string_value(json_object_get(root, "traceparent")), &t) == 0)
        lp_trace_format(&t, out->traceparent);
    json_decref(root);
    return rc;
}

int lp_job_msg_format(const lp_job_msg *m, const char *error, char *out, size_t cap)
{
    json_t *o;
    size_t need;
    int rc = -1;

    if (!lp_is_uuid(m->job_id) || !lp_job_kind_name_valid(m->kind) || m->attempt < 1)
        return -1;
    o = json_pack("{s:i, s:s, s:s, s:i}", "v", LP_JOB_MSG_VERSION, "job_id", m->job_id, "kind", m->kind, "attempt",
                  m->attempt);
    if (!o)
        return -1;
    if (m->traceparent[0] && json_object_set_new(o, "traceparent", json_string(m->traceparent)) != 0)
        goto cleanup;
    if (error) {
        json_t *e = json_string(error);
        if (!e)
            e = json_string("(the error text is not valid UTF-8)");
        if (json_object_set_new(o, "error", e) != 0)
            goto cleanup;
    }
    need = json_dumpb(o, out, cap, JSON_COMPACT);
    if (need == 0 || need >= cap)
        goto cleanup;
    out[need] = '\0';
    rc = (int)need;
cleanup:
    json_decref(o);
    return rc;
}
