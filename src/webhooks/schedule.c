/* The retry schedule. See loupe/webhooks/schedule.h. */
#include "loupe/webhooks/schedule.h"

#include "loupe/queue/topology.h"

static const int64_t DELAYS_MS[LP_WEBHOOK_ATTEMPTS - 1] = {
    5 * 1000LL,          5 * 60 * 1000LL,      30 * 60 * 1000LL,     2 * 3600 * 1000LL, 5 * 3600 * 1000LL,
    10 * 3600 * 1000LL,  14 * 3600 * 1000LL,   20 * 3600 * 1000LL,   24 * 3600 * 1000LL,
};

int64_t lp_webhook_retry_delay_ms(int step, double scale, double r)
{
    double d;
    if (step < 1 || step >= LP_WEBHOOK_ATTEMPTS)
        return -1;
    if (r < 0)
        r = 0;
    if (r >= 1)
        r = 0.999999;
    d = (double)DELAYS_MS[step - 1] * scale * (0.9 + 0.2 * r);
    return d < 0 ? 0 : (int64_t)d;
}

int64_t lp_webhook_retry_wait_ms(int64_t delay_ms)
{
    size_t n;
    const lp_retry_tier *t = lp_queue_retry_tiers(&n);
    return delay_ms < t[0].ttl_ms ? t[0].ttl_ms : delay_ms;
}

size_t lp_webhook_park_tier(int64_t wait_ms)
{
    size_t n, best = 0;
    const lp_retry_tier *t = lp_queue_retry_tiers(&n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].ttl_ms <= wait_ms)
            best = i;
    }
    return best;
}

int64_t lp_webhook_due_slack_ms(void)
{
    size_t n;
    const lp_retry_tier *t = lp_queue_retry_tiers(&n);
    return (t[0].ttl_ms - 1) / 2;
}

int lp_webhook_due(int64_t wait_ms)
{
    return wait_ms <= lp_webhook_due_slack_ms();
}
