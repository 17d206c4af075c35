/* The retry schedule of webhook deliveries: attempt 1 at once, then after
 * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h (10 attempts over
 * about 3 days), each delay times webhook_retry_scale and ±10 % jitter.
 * Pure functions. */
#ifndef LOUPE_WEBHOOKS_SCHEDULE_H
#define LOUPE_WEBHOOKS_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define LP_WEBHOOK_ATTEMPTS 10

/* The wait after failed attempt `step` (1-based within the schedule,
 * 1..LP_WEBHOOK_ATTEMPTS-1), times scale, with jitter from r in [0, 1)
 * (0.5 = none). -1 when step is past the schedule (no attempt left). */
int64_t lp_webhook_retry_delay_ms(int step, double scale, double r);

/* How long a retry whose schedule says delay_ms really waits: at least the
 * shortest broker retry tier, since its wake-up waits in a retry queue (and
 * a sender never picks up its own failures in the same run of rounds). */
int64_t lp_webhook_retry_wait_ms(int64_t delay_ms);

/* The broker retry tier (loupe/queue/topology.h) a message that must wait
 * wait_ms parks in: the longest tier not longer than the wait, else the
 * shortest. */
size_t lp_webhook_park_tier(int64_t wait_ms);

/* The longest wait for which a delivery is sent now rather than parked:
 * just under half the shortest tier. */
int64_t lp_webhook_due_slack_ms(void);

/* 1 when a delivery due in wait_ms is sent now rather than parked (wait_ms
 * at most lp_webhook_due_slack_ms). */
int lp_webhook_due(int64_t wait_ms);

#endif
