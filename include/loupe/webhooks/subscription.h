/* What a webhook subscription may say, checked before it is stored, and the
 * outbound policy deliveries run under (from the settings).
 *
 * Event patterns: "*" (everything), an event type ("item.ready"), or an
 * area and ".*" ("task.*"). The areas are item, annotation, job and task;
 * item, annotation and job types must be ones Loupe records
 * (docs/EVENTS.md); task types belong to the workflow engine. */
#ifndef LOUPE_WEBHOOKS_SUBSCRIPTION_H
#define LOUPE_WEBHOOKS_SUBSCRIPTION_H

#include <stddef.h>

#include "loupe/core/config.h"
#include "loupe/core/error.h"
#include "loupe/net/client.h"

#define LP_WEBHOOK_PATTERNS_MAX 64
#define LP_WEBHOOK_URL_MAX 2048
#define LP_WEBHOOK_DESCRIPTION_MAX 1024
/* How long the old secret stays valid after a rotation. */
#define LP_WEBHOOK_ROTATION_GRACE_MS (24LL * 3600 * 1000)
/* Bytes of a receiver's answer kept in the delivery log. */
#define LP_WEBHOOK_LOG_BODY_BYTES 2048

/* The policy of outbound requests under cfg: allow (filled from net_allow)
 * must outlive out. 0, or -1 with a field error on net_allow. */
int lp_webhook_net_policy(const lp_config *cfg, lp_net_allowlist *allow, lp_net_policy *out, lp_error *err);

/* 1 if pattern is a valid event pattern (see above), else 0. */
int lp_webhook_pattern_valid(const char *pattern);

/* 1 if type is matched by pattern (the rule of loupe_webhook_matches in
 * migrations/0011_webhooks.sql, for tests and documentation). */
int lp_webhook_pattern_matches(const char *pattern, const char *type);

/* Checks a subscription URL without resolving its host (deliveries resolve
 * and check every time): scheme, credentials, an address literal's class.
 * 0, or -1 with a field error on field. */
int lp_webhook_url_check(const lp_net_policy *p, const char *url, const char *field, lp_error *err);

#endif
