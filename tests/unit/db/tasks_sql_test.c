/* The task statements against a real PostgreSQL server (with_postgres.sh):
 * claim order (priority, then oldest), the caller's own claim first, lapsed
 * claims open again, the open-task limit, concurrent claimers on their own
 * connections never sharing a task, consensus seats, assignment, states,
 * claim renewal and bulk changes in batches — each with its history rows and
 * events — and a bulk job's audit row written once however often it runs.
 * Rows are set up with raw SQL (db_int.h). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/core/arena.h"
#include "loupe/db/audit_sql.h"
#include "loupe/db/db.h"
#include "loupe/db/task_filter.h"
#include "loupe/db/tasks_sql.h"

#include "db_int.h"

#define TEAM "11111111-1111-4111-8111-111111111111"
#define DATASET "22222222-2222-4222-8222-222222222222"
#define WF "33333333-3333-4333-8333-333333333333"
#define ANN "44444444-4444-4444-8444-444444444444"
#define BOB "55555555-5555-4555-8555-555555555555"
#define EVE "66666666-6666-4666-8666-666666666666"
#define TTL_MS 600000

static char g_url[512];
static lp_db *g_db;
static lp_arena *g_arena;

/* Runs the statement made from fmt; count: its first column as an integer
 * (else the rows affected). Fails the test when it fails. */
static int64_t run(int count, const char *fmt, va_list ap)
{
    char sql[2048];
    lp_error err;
    vsnprintf(sql, sizeof sql, fmt, ap);
    lp_error_clear(&err);
    int64_t n = count ? lp_db_count(g_db, sql, 0, NULL, &err) : lp_db_exec(g_db, sql, 0, NULL, &err);
    if (n < 0)
        fail_msg("%s: %s", sql, err.message);
    return n;
}

static void script(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void script(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    run(0, fmt, ap);
    va_end(ap);
}

static int64_t count(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t count(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int64_t n = run(1, fmt, ap);
    va_end(ap);
    return n;
}

static int setup(void **state)
{
    (void)state;
    lp_error err;
    char admin_url[512];
    const char *host = getenv("LOUPE_TEST_PG_HOST"), *port = getenv("LOUPE_TEST_PG_PORT");
    if (!host || !port) {
        fprintf(stderr, "run through with_postgres.sh\n");
        return -1;
    }
    lp_error_clear(&err);
    snprintf(admin_url, sizeof admin_url, "host=%s port=%s user=postgres dbname=postgres", host, port);
    lp_db *admin = lp_db_connect(admin_url, 0, &err);
    if (!admin)
        return -1;
    lp_db_exec(admin, "DROP DATABASE IF EXISTS lp_t_tasks", 0, NULL, &err);
    if (lp_db_exec(admin, "CREATE DATABASE lp_t_tasks", 0, NULL, &err) < 0)
        return -1;
    lp_db_close(admin);
    snprintf(g_url, sizeof g_url, "host=%s port=%s user=postgres dbname=lp_t_tasks", host, port);
    if (!(g_db = lp_db_connect(g_url, 0, &err)) || lp_db_migrate(g_db, &err) < 0) {
        fprintf(stderr, "migrate: %s\n", err.message);
        return -1;
    }
    g_arena = lp_arena_new(0, 0);
    script("INSERT INTO teams (id, name, slug) VALUES ('" TEAM "', 'T', 't')");
    script("INSERT INTO datasets (id, team_id, slug, name) VALUES ('" DATASET "', '" TEAM "', 'd', 'D')");
    script("INSERT INTO users (id, email) VALUES ('" ANN "', 'ann@example.com'), ('" BOB "', 'bob@example.com'), "
           "('" EVE "', 'eve@example.com')");
    script("INSERT INTO workflows (id, team_id, name, seed, definition) VALUES ('" WF "', '" TEAM "', 'W', 1, '{}')");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lp_arena_free(g_arena);
    lp_db_close(g_db);
    return 0;
}

/* n tasks on stage, created a millisecond apart in order; priorities from
 * prio (NULL: 0). */
static void make_tasks(const char *stage, int n, const int *prio)
{
    script("DELETE FROM tasks");
    script("DELETE FROM items");
    script("DELETE FROM events");
    for (int i = 0; i < n; i++) {
        script("INSERT INTO items (id, team_id, dataset_id, name) VALUES "
               "('aaaaaaaa-0000-4000-8000-%012d', '" TEAM "', '" DATASET "', 'i%d')",
               i, i);
        script("INSERT INTO tasks (id, team_id, workflow_id, item_id, stage, state, priority, created_at) VALUES "
               "('bbbbbbbb-0000-4000-8000-%012d', '" TEAM "', '" WF "', 'aaaaaaaa-0000-4000-8000-%012d', '%s', "
               "'new', %d, now() + %d * interval '1 millisecond')",
               i, i, stage, prio ? prio[i] : 0, i);
    }
}

static int claim(const char *user, const char *stage, int64_t max_open, lp_task_row *t)
{
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_db_begin(g_db, &err), 0);
    int rc = lp_db_task_claim_next(g_db, g_arena, TEAM, WF, stage, user, TTL_MS, max_open, 0, t, &err);
    if (rc < 0)
        fail_msg("claim: %s", err.message);
    assert_int_equal(lp_db_commit(g_db, &err), 0);
    return rc;
}

static void test_claim_order_own_first_lapsed_and_limit(void **state)
{
    (void)state;
    static const int prio[] = {0, 0, 7, 0};
    lp_task_row t;
    make_tasks("label", 4, prio);

    assert_int_equal(claim(ANN, "label", 0, &t), LP_TASK_CLAIMED);
    assert_string_equal(t.id, "bbbbbbbb-0000-4000-8000-000000000002"); /* highest priority */
    assert_string_equal(t.assignee_id, ANN);
    assert_true(t.claim_expires_at[0] != '\0');
    /* the same caller gets the same task back, renewed, with no second history row */
    assert_int_equal(claim(ANN, "label", 0, &t), LP_TASK_OWN);
    assert_string_equal(t.id, "bbbbbbbb-0000-4000-8000-000000000002");
    assert_int_equal(count("SELECT count(*) FROM task_history WHERE action = 'claim'"), 1);
    assert_int_equal(count("SELECT count(*) FROM events WHERE type = 'task.assigned' AND data->>'assignee_id' = '" ANN
                           "' AND data->>'stage' = 'label'"),
                     1);
    /* then the oldest */
    assert_int_equal(claim(BOB, "label", 0, &t), LP_TASK_CLAIMED);
    assert_string_equal(t.id, "bbbbbbbb-0000-4000-8000-000000000000");
    /* a lapsed claim is open again, and comes first by age */
    script("UPDATE tasks SET claim_expires_at = now() - interval '1 second' WHERE assignee_id = '" BOB "'");
    assert_int_equal(claim(EVE, "label", 0, &t), LP_TASK_CLAIMED);
    assert_string_equal(t.id, "bbbbbbbb-0000-4000-8000-000000000000");
    assert_string_equal(t.assignee_id, EVE);
    /* the limit counts claims and assignments; own claims do not count as new */
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_db_task_assign(g_db, g_arena, TEAM, "bbbbbbbb-0000-4000-8000-000000000001", BOB, ANN, &t, &err),
                     0);
    assert_true(t.claim_expires_at[0] == '\0');
    assert_int_equal(claim(BOB, "label", 1, &t), LP_TASK_AT_LIMIT);
    assert_int_equal(claim(BOB, "label", 2, &t), LP_TASK_CLAIMED);
    assert_string_equal(t.id, "bbbbbbbb-0000-4000-8000-000000000003");
    assert_int_equal(claim(ANN, "other", 0, &t), LP_TASK_NONE);
    lp_arena_reset(g_arena);
}

/* A claim made on a kept graph names its version: another version (or
 * another team's workflow) claims nothing and writes nothing. */
static void test_claim_checks_the_version(void **state)
{
    (void)state;
    lp_error err;
    lp_task_row t;
    lp_error_clear(&err);
    make_tasks("label", 2, NULL);
    int version = (int)count("SELECT version FROM workflows WHERE id = '" WF "'");
    assert_int_equal(lp_db_begin(g_db, &err), 0);
    assert_int_equal(lp_db_task_claim_next(g_db, g_arena, TEAM, WF, "label", ANN, TTL_MS, 0, version + 1, &t, &err),
                     LP_TASK_NONE);
    assert_int_equal(lp_db_task_claim_next(g_db, g_arena, BOB, WF, "label", ANN, TTL_MS, 0, version, &t, &err),
                     LP_TASK_NONE);
    assert_int_equal(lp_db_commit(g_db, &err), 0);
    assert_int_equal(count("SELECT count(*) FROM tasks WHERE assignee_id IS NOT NULL"), 0);
    assert_int_equal(count("SELECT count(*) FROM task_history WHERE action = 'claim'"), 0);
    assert_int_equal(lp_db_begin(g_db, &err), 0);
    assert_int_equal(lp_db_task_claim_next(g_db, g_arena, TEAM, WF, "label", ANN, TTL_MS, 0, version, &t, &err),
                     LP_TASK_CLAIMED);
    /* the holder's own claim is checked as well */
    assert_int_equal(lp_db_task_claim_next(g_db, g_arena, TEAM, WF, "label", ANN, TTL_MS, 0, version + 1, &t, &err),
                     LP_TASK_NONE);
    assert_int_equal(lp_db_task_claim_next(g_db, g_arena, TEAM, WF, "label", ANN, TTL_MS, 0, version, &t, &err),
                     LP_TASK_OWN);
    assert_int_equal(lp_db_commit(g_db, &err), 0);
    lp_arena_reset(g_arena);
}

/* ---- concurrency ---------------------------------------------------------------- */

#define CLAIMERS 8
#define CONCURRENT_TASKS 400

typedef struct claimer {
    char user[37];
    int got;
    char (*ids)[37];
    int failed;
} claimer;

static void *claim_loop(void *arg)
{
    claimer *c = arg;
    lp_error err;
    lp_error_clear(&err);
    lp_db *db = lp_db_connect(g_url, 0, &err);
    lp_arena *a = lp_arena_new(0, 0);
    lp_task_row t;
    if (!db || !a) {
        c->failed = 1;
        return NULL;
    }
    for (;;) {
        if (lp_db_begin(db, &err) != 0) {
            c->failed = 1;
            break;
        }
        int rc = lp_db_task_claim_next(db, a, TEAM, WF, "label", c->user, TTL_MS, 0, 0, &t, &err);
        /* the claimer submits at once: the task leaves the stage */
        const char *p[1] = {t.id};
        if (rc == LP_TASK_CLAIMED &&
            lp_db_exec(db, "UPDATE tasks SET stage = 'done', assignee_id = NULL, claim_expires_at = NULL WHERE id = $1",
                       1, p, &err) != 1)
            rc = -1;
        if (rc < 0 || lp_db_commit(db, &err) != 0) {
            c->failed = 1;
            break;
        }
        if (rc == LP_TASK_NONE)
            break;
        if (rc != LP_TASK_CLAIMED) {
            c->failed = 1;
            break;
        }
        memcpy(c->ids[c->got++], t.id, 37);
        lp_arena_reset(a);
    }
    lp_arena_free(a);
    lp_db_close(db);
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_concurrent_claimers_never_share(void **state)
{
    (void)state;
    static char ids[CLAIMERS][CONCURRENT_TASKS][37];
    static char all[CONCURRENT_TASKS * CLAIMERS][37];
    claimer cs[CLAIMERS];
    pthread_t th[CLAIMERS];
    int total = 0;

    script("DELETE FROM tasks");
    script("DELETE FROM items");
    script("INSERT INTO items (id, team_id, dataset_id, name) SELECT gen_random_uuid(), '" TEAM "', '" DATASET
           "', 'c' || g FROM generate_series(1, %d) g",
           CONCURRENT_TASKS);
    script("INSERT INTO tasks (team_id, workflow_id, item_id, stage, state) SELECT team_id, '" WF
           "', id, 'label', 'new' FROM items");
    for (int i = 0; i < CLAIMERS; i++) {
        memset(&cs[i], 0, sizeof cs[i]);
        snprintf(cs[i].user, sizeof cs[i].user, "%s", i % 3 == 0 ? ANN : i % 3 == 1 ? BOB : EVE);
        cs[i].ids = ids[i];
        assert_int_equal(pthread_create(&th[i], NULL, claim_loop, &cs[i]), 0);
    }
    for (int i = 0; i < CLAIMERS; i++) {
        pthread_join(th[i], NULL);
        assert_false(cs[i].failed);
        for (int k = 0; k < cs[i].got; k++)
            memcpy(all[total++], ids[i][k], 37);
    }
    assert_int_equal(total, CONCURRENT_TASKS);
    qsort(all, (size_t)total, sizeof all[0], cmp_id);
    for (int i = 1; i < total; i++)
        assert_string_not_equal(all[i], all[i - 1]);
    assert_int_equal(count("SELECT count(*) FROM tasks WHERE stage = 'done'"), CONCURRENT_TASKS);
}

/* ---- consensus ---------------------------------------------------------------------- */

static int seat(const char *user, lp_task_row *t)
{
    lp_error err;
    lp_error_clear(&err);
    assert_int_equal(lp_db_begin(g_db, &err), 0);
    int rc = lp_db_task_consensus_claim(g_db, g_arena, TEAM, WF, "triple", user, 2, TTL_MS, t, &err);
    if (rc < 0)
        fail_msg("seat: %s", err.message);
    assert_int_equal(lp_db_commit(g_db, &err), 0);
    return rc;
}

static void test_consensus_seats(void **state)
{
    (void)state;
    lp_task_row t;
    lp_error err;
    lp_task_consensus_row *rows;
    size_t n;
    make_tasks("triple", 2, NULL);
    const char *t0 = "bbbbbbbb-0000-4000-8000-000000000000", *t1 = "bbbbbbbb-0000-4000-8000-000000000001";

    assert_int_equal(seat(ANN, &t), LP_TASK_CLAIMED);
    assert_string_equal(t.id, t0);
    assert_int_equal(seat(ANN, &t), LP_TASK_OWN);
    assert_string_equal(t.id, t0);
    assert_int_equal(seat(BOB, &t), LP_TASK_CLAIMED);
    assert_string_equal(t.id, t0);
    assert_int_equal(seat(EVE, &t), LP_TASK_CLAIMED); /* both seats of t0 are taken */
    assert_string_equal(t.id, t1);
    assert_true(t.assignee_id[0] == '\0');
    lp_error_clear(&err);
    assert_int_equal(lp_db_task_consensus_submit(g_db, t0, TEAM, WF, "triple", EVE, "[]", &err), 0); /* no seat */
    assert_int_equal(lp_db_task_consensus_submit(g_db, t0, TEAM, WF, "triple", ANN, "[{\"tag\": {}}]", &err), 1);
    assert_int_equal(lp_db_task_consensus_submit(g_db, t0, TEAM, WF, "triple", ANN, "[]", &err), 0); /* once */
    assert_int_equal(lp_db_task_consensus_submit(g_db, t0, TEAM, WF, "triple", BOB, "[]", &err), 2);
    assert_int_equal(lp_db_task_consensus_agreements(g_db, t0, "triple", "[\"" ANN "\", \"" BOB "\"]", "[0.5, 0.25]",
                                                     &err),
                     0);
    assert_int_equal(lp_db_task_consensus_list(g_db, g_arena, t0, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i].submitted_at[0] != '\0');
        assert_true(rows[i].has_agreement);
        assert_true(strcmp(rows[i].user_id, ANN) == 0 ? rows[i].agreement == 0.5 : rows[i].agreement == 0.25);
    }
    assert_int_equal(count("SELECT count(*) FROM task_history WHERE action = 'submit' AND task_id = '%s'", t0), 2);
    /* a lapsed, unsubmitted seat is given to someone else */
    script("UPDATE task_consensus SET claim_expires_at = now() - interval '1 second' WHERE user_id = '" EVE "'");
    assert_int_equal(seat(ANN, &t), LP_TASK_CLAIMED);
    assert_string_equal(t.id, t1);
    assert_int_equal(seat(BOB, &t), LP_TASK_CLAIMED);
    assert_string_equal(t.id, t1);
    assert_int_equal(count("SELECT count(*) FROM task_consensus WHERE task_id = '%s'", t1), 2);
    /* a new round (the task came back to the stage) starts with empty seats */
    script("UPDATE tasks SET stage_entered_at = now() + interval '1 second' WHERE id = '%s'", t0);
    assert_int_equal(lp_db_task_consensus_submit(g_db, t0, TEAM, WF, "triple", ANN, "[]", &err), 0);
    lp_arena_reset(g_arena);
}

/* ---- assignment, states, renewal, bulk ------------------------------------------------- */

static void test_assign_state_renew_and_bulk(void **state)
{
    (void)state;
    lp_task_row t;
    lp_error err;
    lp_task_history_row *h;
    size_t n;
    const char *t0 = "bbbbbbbb-0000-4000-8000-000000000000";
    make_tasks("label", 25, NULL);
    lp_error_clear(&err);

    assert_int_equal(lp_db_task_set_state(g_db, g_arena, TEAM, t0, "blocked", ANN, &t, &err), 0);
    assert_string_equal(t.state, "blocked");
    assert_int_equal(lp_db_task_set_state(g_db, g_arena, TEAM, t0, "blocked", ANN, &t, &err), 0); /* no change */
    assert_int_equal(count("SELECT count(*) FROM events WHERE type = 'task.state_changed' AND data = "
                           "'{\"stage\": \"label\", \"from_state\": \"new\", \"to_state\": \"blocked\"}'"),
                     1);
    assert_int_equal(lp_db_task_assign(g_db, g_arena, TEAM, t0, NULL, ANN, &t, &err), 0);
    assert_int_equal(lp_db_task_history(g_db, g_arena, t0, &h, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].action, "state");
    assert_string_equal(h[0].from_state, "new");
    assert_string_equal(h[0].to_state, "blocked");
    assert_string_equal(h[1].action, "unassign");
    assert_null(h[1].subject_id);
    assert_int_equal(lp_db_task_get(g_db, g_arena, "99999999-9999-4999-8999-999999999999", t0, 0, &t, &err), -1);
    assert_int_equal(err.code, LP_E_NOT_FOUND);

    /* renewal: only the holder's expiring claim */
    lp_error_clear(&err);
    assert_int_equal(claim(BOB, "label", 0, &t), LP_TASK_CLAIMED);
    script("UPDATE tasks SET claim_expires_at = now() + interval '1 minute' WHERE id = '%s'", t.id);
    assert_int_equal(lp_db_task_renew_claim(g_db, TEAM, t.item_id, ANN, TTL_MS, &err), 0);
    assert_int_equal(lp_db_task_renew_claim(g_db, TEAM, t.item_id, BOB, TTL_MS, &err), 1);
    assert_int_equal(count("SELECT count(*) FROM tasks WHERE id = '%s' AND claim_expires_at > now() + interval "
                           "'5 minutes'",
                           t.id),
                     1);

    /* bulk in batches of 10: every task once, history and events per changed task */
    lp_task_filter f = {.team_id = TEAM, .workflow_id = WF, .stage = "label"};
    lp_tasks_change c = {.op = LP_TASKS_SEND_TO_STAGE, .to_stage = "check", .to_state = "todo", .actor_id = EVE};
    char cursor[37] = "";
    int64_t got, total = 0;
    assert_int_equal(lp_db_tasks_count(g_db, &f, 0, &err), 25);
    assert_int_equal(lp_db_tasks_count(g_db, &f, 10, &err), 10);
    do {
        got = lp_db_tasks_apply(g_db, &f, &c, cursor, 10, &err);
        assert_true(got >= 0);
        total += got;
    } while (got == 10);
    assert_int_equal(total, 25);
    assert_int_equal(count("SELECT count(*) FROM tasks WHERE stage = 'check' AND state = 'todo' AND assignee_id IS NULL"),
                     25);
    assert_int_equal(count("SELECT count(*) FROM task_history WHERE action = 'move' AND actor_id = '" EVE "'"), 25);
    assert_int_equal(count("SELECT count(*) FROM events WHERE type = 'task.stage_changed' AND data->>'to_stage' = "
                           "'check'"),
                     25);
    /* assign by filter, then unassign the unassigned only (nothing changes) */
    lp_task_filter g = {.team_id = TEAM, .workflow_id = WF, .task_ids_json = "[\"bbbbbbbb-0000-4000-8000-000000000003\", "
                                                                             "\"bbbbbbbb-0000-4000-8000-000000000004\"]"};
    lp_tasks_change a = {.op = LP_TASKS_ASSIGN, .user_id = ANN, .actor_id = EVE};
    assert_int_equal(lp_db_tasks_apply(g_db, &g, &a, NULL, 0, &err), 2);
    assert_int_equal(count("SELECT count(*) FROM tasks WHERE assignee_id = '" ANN "' AND claim_expires_at IS NULL"), 2);
    lp_task_filter u = {.team_id = TEAM, .workflow_id = WF, .unassigned = true};
    lp_tasks_change s = {.op = LP_TASKS_SET_STATE, .to_state = "todo"};
    assert_int_equal(lp_db_tasks_apply(g_db, &u, &s, NULL, 0, &err), 23);
    assert_int_equal(count("SELECT count(*) FROM task_history WHERE action = 'state'"), 1); /* all were todo already */
    /* another team's filter selects nothing */
    lp_task_filter other = {.team_id = "99999999-9999-4999-8999-999999999999", .workflow_id = WF};
    assert_int_equal(lp_db_tasks_apply(g_db, &other, &s, NULL, 0, &err), 0);
    lp_arena_reset(g_arena);
}

/* A bulk job's audit row, written again by an attempt run after a killed one, stays one row. */
static void test_audit_of_a_job_once(void **state)
{
    (void)state;
    lp_error err;
    lp_error_clear(&err);
    script("INSERT INTO jobs (id, team_id, kind, queue, max_attempts) VALUES "
           "('cccccccc-0000-4000-8000-000000000001', '" TEAM "', 'tasks.bulk', 'default', 3), "
           "('cccccccc-0000-4000-8000-000000000002', '" TEAM "', 'tasks.bulk', 'default', 3)");
    const char *one = "cccccccc-0000-4000-8000-000000000001", *two = "cccccccc-0000-4000-8000-000000000002";
    for (int attempt = 0; attempt < 2; attempt++) {
        assert_int_equal(lp_db_audit_job(g_db, TEAM, NULL, "tasks.bulk", "workflow", WF,
                                         "{\"count\": 3, \"job_id\": \"cccccccc-0000-4000-8000-000000000001\"}", one,
                                         &err),
                         0);
    }
    assert_int_equal(count("SELECT count(*) FROM audit_log WHERE data->>'job_id' = '%s'", one), 1);
    /* another job, or another action of the same job, has its own row */
    assert_int_equal(lp_db_audit_job(g_db, TEAM, NULL, "tasks.bulk", "workflow", WF,
                                     "{\"job_id\": \"cccccccc-0000-4000-8000-000000000002\"}", two, &err),
                     0);
    assert_int_equal(lp_db_audit_job(g_db, TEAM, NULL, "workflow.enter", "workflow", WF,
                                     "{\"job_id\": \"cccccccc-0000-4000-8000-000000000001\"}", one, &err),
                     0);
    assert_int_equal(count("SELECT count(*) FROM audit_log WHERE data->>'job_id' IN ('%s', '%s')", one, two), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_order_own_first_lapsed_and_limit),
        cmocka_unit_test(test_claim_checks_the_version),
        cmocka_unit_test(test_concurrent_claimers_never_share),
        cmocka_unit_test(test_consensus_seats),
        cmocka_unit_test(test_assign_state_renew_and_bulk),
        cmocka_unit_test(test_audit_of_a_job_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
