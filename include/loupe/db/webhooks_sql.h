/* Statements about webhook subscriptions, their deliveries and attempts
 * (migration 0011). Strings in rows are copied into the caller's arena.
 *
 * Deliveries are made by the events_webhook_fanout trigger (one per event
 * and matching active subscription, with its outbox message); the sender
 * in loupe-worker claims, records and reschedules them here. */
#ifndef LOUPE_DB_WEBHOOKS_SQL_H
#define LOUPE_DB_WEBHOOKS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/core/arena.h"
#include "loupe/core/error.h"
#include "loupe/db/db.h"
#include "loupe/db/teams_sql.h"

/* Where delivery messages go: exchange loupe.jobs, routing key (queue)
 * "webhooks" — also written in migrations/0011_webhooks.sql. */
#define LP_WEBHOOK_QUEUE "webhooks"

typedef struct lp_webhook_row {
    char id[LP_DB_UUID_LEN];
    char *url;              /* arena */
    char *events_json;      /* arena: JSON array of the patterns */
    int active, ordered;
    char *description;      /* arena */
    char *disabled_reason;  /* arena; NULL when none */
    char *secret;           /* arena */
    char *previous_secret;  /* arena; NULL unless a rotation's grace period runs */
    char previous_secret_expires_at[LP_DB_TIME_LEN]; /* "" when none */
    char created_at[LP_DB_TIME_LEN];
    char updated_at[LP_DB_TIME_LEN];
} lp_webhook_row;

/* What a create or an update sets. NULL / -1 members are left unchanged
 * (update) or take their default (create). events_json is the JSON array
 * text of the (checked) patterns. */
typedef struct lp_webhook_fields {
    const char *url;
    const char *events_json;
    int active;             /* -1, 0, 1 */
    int ordered;            /* -1, 0, 1 */
    const char *description;
} lp_webhook_fields;

/* Creates a subscription of the team with secret, refusing (LP_E_CONFLICT)
 * more than max for the team. 0 or -1. */
int lp_db_webhook_create(lp_db *db, lp_arena *a, const char *team_id, const char *user_id,
                         const lp_webhook_fields *f, const char *secret, int64_t max, lp_webhook_row *out,
                         lp_error *err);

/* One page of the team's subscriptions by id (after_id NULL = first),
 * limit rows. An arena array. 0 or -1. */
int lp_db_webhook_list(lp_db *db, lp_arena *a, const char *team_id, const char *after_id, int64_t limit,
                       lp_webhook_row **out, size_t *n, lp_error *err);

/* A subscription of the team: 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_webhook_get(lp_db *db, lp_arena *a, const char *team_id, const char *id, lp_webhook_row *out,
                      lp_error *err);

/* Applies f. Activating clears disabled_reason and the failing streak; a
 * change of ordered is copied to the pending deliveries (held), the
 * subscription locked FOR UPDATE first so that no fan-out runs meanwhile;
 * when the subscription ends up active and unordered, a wake-up is queued
 * for its due pending deliveries (those an ordered subscription or a
 * disabled one held back).
 * 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_webhook_update(lp_db *db, lp_arena *a, const char *team_id, const char *id, const lp_webhook_fields *f,
                         lp_webhook_row *out, lp_error *err);

/* Deletes a subscription with its deliveries. 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_webhook_delete(lp_db *db, const char *team_id, const char *id, lp_error *err);

/* Makes secret the current one; the old one stays valid for grace_ms.
 * 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_webhook_rotate(lp_db *db, lp_arena *a, const char *team_id, const char *id, const char *secret,
                         int64_t grace_ms, lp_webhook_row *out, lp_error *err);

typedef struct lp_webhook_delivery_row {
    char id[LP_DB_UUID_LEN];
    char event_id[LP_DB_UUID_LEN];
    char *event_type;       /* arena */
    char status[16];        /* pending | delivered | failed */
    int64_t attempts;
    int64_t last_status_code; /* -1 when none */
    char *last_error;       /* arena; NULL when none */
    char next_attempt_at[LP_DB_TIME_LEN]; /* "" unless pending */
    char created_at[LP_DB_TIME_LEN];
    char delivered_at[LP_DB_TIME_LEN];    /* "" until delivered */
    char *attempts_json;    /* arena: JSON array of the attempts (lp_db_webhook_delivery_get only) */
} lp_webhook_delivery_row;

/* One page of a subscription's deliveries, newest first (before_id NULL =
 * first page; status NULL = any). The subscription must be the team's
 * (LP_E_NOT_FOUND). 0 or -1. */
int lp_db_webhook_delivery_list(lp_db *db, lp_arena *a, const char *team_id, const char *webhook_id,
                                const char *status, const char *before_id, int64_t limit,
                                lp_webhook_delivery_row **out, size_t *n, lp_error *err);

/* One delivery with its attempts ({n, started_at, response_code,
 * duration_ms, response_body, error}). 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_webhook_delivery_get(lp_db *db, lp_arena *a, const char *team_id, const char *webhook_id,
                               const char *id, lp_webhook_delivery_row *out, lp_error *err);

/* Sends a delivery again: pending now, the retry schedule from its start,
 * and its message queued. The subscription must be active (LP_E_CONFLICT).
 * 0, or -1 with LP_E_NOT_FOUND. */
int lp_db_webhook_delivery_redeliver(lp_db *db, const char *team_id, const char *webhook_id, const char *id,
                                     lp_error *err);

/* Records a webhook.test event for one active subscription (LP_E_CONFLICT
 * when it is disabled); its delivery's id into delivery_id. 0 or -1. */
int lp_db_webhook_test_event(lp_db *db, const char *team_id, const char *webhook_id,
                             char delivery_id[LP_DB_UUID_LEN], lp_error *err);

/* ---- The sender (loupe-worker) ---------------------------------------- */

/* Room for a row address "(4294967295,65535)". */
#define LP_WEBHOOK_TID_LEN 24

typedef struct lp_webhook_claim {
    char id[LP_DB_UUID_LEN];
    char webhook_id[LP_DB_UUID_LEN];
    char tid[LP_WEBHOOK_TID_LEN]; /* the row's physical address ("(page,item)"), stable while it is locked */
    int attempts, retry_base;
    char *url;              /* arena */
    int active, ordered;
    char *secret;           /* arena */
    char *previous_secret;  /* arena; NULL unless still valid */
    char *body;             /* arena: the JSON body {"type", "timestamp", "data"} */
    char *traceparent;      /* arena: the trace of the change that raised the event; NULL when none */
} lp_webhook_claim;

/* In one statement of its own (no transaction open): claims at most limit
 * due deliveries (their next_attempt_at at most slack_ms away) that no
 * other session is sending, and reads what sending them needs. A claimed
 * delivery is marked as being sent by a session advisory lock of this
 * connection, which lp_db_webhook_record_many releases once its outcome is
 * committed, and which goes with the session when the process dies (the
 * delivery is then claimed and sent again by another sender):
 *   - of unordered subscriptions: any due ones (no order is promised),
 *     found through an index that holds no delivery of an ordered
 *     subscription (however large its backlog);
 *   - of each ordered subscription: only its earliest pending delivery, when
 *     that one is due and no session is sending it, so that one sender at a
 *     time sends its deliveries, one after another, in event order (a
 *     disabled one's are failed unsent, one per round).
 * An arena array of *nout rows (in no particular order). 0 or -1. */
int lp_db_webhook_claim_due(lp_db *db, lp_arena *a, int64_t limit, int64_t slack_ms, lp_webhook_claim **out,
                            size_t *nout, lp_error *err);

typedef enum lp_webhook_outcome {
    LP_WEBHOOK_DELIVERED = 0, /* 2xx */
    LP_WEBHOOK_RETRY,         /* another attempt after delay_ms */
    LP_WEBHOOK_FAILED,        /* no attempt left */
    LP_WEBHOOK_GONE,          /* 410: the subscription is disabled */
    LP_WEBHOOK_ABANDONED      /* not sent: the subscription is disabled (error says so) */
} lp_webhook_outcome;

typedef struct lp_webhook_attempt {
    const lp_webhook_claim *c;
    int n;                    /* this attempt's number (attempts + 1) */
    int64_t started_wall_ms;
    long response_code;       /* 0 = none */
    int64_t duration_ms;
    const char *response_body; /* may be NULL; valid UTF-8 */
    const char *error;        /* NULL when none */
    lp_webhook_outcome outcome;
    int64_t delay_ms;         /* LP_WEBHOOK_RETRY */
    const char *retry_queue;  /* LP_WEBHOOK_RETRY: the broker queue its message waits in */
    int64_t disable_after_ms; /* a failing streak this long disables the subscription */
    const char *disable_reason; /* the reason then */
} lp_webhook_attempt;

/* One statement for n attempts of deliveries this connection claimed (in
 * the caller's transaction, or in its own when none is open): their log
 * rows (none for LP_WEBHOOK_ABANDONED), the deliveries' new states, the
 * retries' wake-up messages (to their retry_queue, {"v":1,"due_at":ms}; one
 * per queue and 250 ms of due time, due_at the latest of them), and per
 * subscription the failing streak (a success in the batch ends it) and
 * disabling (410, or a streak past disable_after_ms of the first attempt,
 * with its disable_reason); then releases the deliveries' sending locks. A
 * delivery rewritten since its claim (redelivered, or its subscription's
 * ordered changed) or deleted with its subscription is left as it is (no
 * attempt row). 0 or -1. */
int lp_db_webhook_record_many(lp_db *db, const lp_webhook_attempt *ats, size_t n, lp_error *err);

/* Releases every sending lock the connection's session still holds (those
 * of claims whose row was passed over); call when nothing claimed is
 * unrecorded. 0 or -1. */
int lp_db_webhook_release(lp_db *db, lp_error *err);

/* In the caller's transaction: queues the wake-up message body (JSON text,
 * borrowed) in the broker queue `queue` (a retry queue, where it waits for
 * the queue's delay; or the webhooks queue itself). 0 or -1. */
int lp_db_webhook_wake(lp_db *db, const char *queue, const char *body, lp_error *err);

#endif
