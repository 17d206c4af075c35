/* The registry of job kinds, built from kinds.def. See loupe/jobs/job.h. */
#include <string.h>

#include "jobs_int.h"
#include "loupe/jobs/job.h"

static const lp_job_kind KINDS[] = {
#define LP_JOB_KIND(name, queue, max_attempts, decodes, validate, run) {name, queue, max_attempts, decodes, validate, run},
#include "kinds.def"
#undef LP_JOB_KIND
};

const lp_job_kind *lp_job_kinds(size_t *count)
{
    *count = sizeof(KINDS) / sizeof(KINDS[0]);
    return KINDS;
}

const lp_job_kind *lp_job_kind_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
        if (strcmp(KINDS[i].name, name) == 0)
            return &KINDS[i];
    }
    return NULL;
}

/* Queues whose messages are not jobs but share the jobs' topology (work,
 * retry and dead queues): webhook deliveries (src/webhooks). */
static const char *const OTHER_QUEUES[] = {"webhooks"};

size_t lp_job_queues(const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
        size_t j;
        for (j = 0; j < i; j++) {
            if (strcmp(KINDS[j].queue, KINDS[i].queue) == 0)
                break;
        }
        if (j < i)
            continue; /* seen */
        if (n < cap)
            out[n] = KINDS[i].queue;
        n++;
    }
    for (size_t i = 0; i < sizeof(OTHER_QUEUES) / sizeof(OTHER_QUEUES[0]); i++) {
        if (n < cap)
            out[n] = OTHER_QUEUES[i];
        n++;
    }
    return n;
}
