/* loupe_queue against a real RabbitMQ (LOUPE_TEST_AMQP_URL; skipped without):
 * topology declaration, publisher confirms (batches, returns), consume with
 * ack/reject, retry queues that send messages back after their TTL,
 * dead-lettering, and requests answered over a live queue (rpc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "test_skip.h"

#include "loupe/core/util.h"
#include "loupe/queue/connection.h"
#include "loupe/queue/consume.h"
#include "loupe/queue/publish.h"
#include "loupe/queue/rpc.h"
#include "loupe/queue/topology.h"

/* One queue per test: a message acked just before its consumer's connection
 * closes may come back (at-least-once), and must not leak into another test. */
static const char *const QUEUES[] = {"unit_a", "unit_b", "unit_c", "unit_d", "unit_e"};
#define NQUEUES (sizeof(QUEUES) / sizeof(QUEUES[0]))

static lp_amqp *connect_or_fail(void)
{
    lp_error err;
    lp_error_clear(&err);
    lp_amqp *c = lp_amqp_connect(getenv("LOUPE_TEST_AMQP_URL"), 10, 5000, &err);
    if (!c)
        fail_msg("connect: %s", err.message);
    return c;
}

static int setup(void **state)
{
    (void)state;
    if (!getenv("LOUPE_TEST_AMQP_URL"))
        return 0;
    lp_error err;
    lp_error_clear(&err);
    lp_amqp *c = connect_or_fail();
    int rc = lp_queue_declare_topology(c, QUEUES, NQUEUES, &err);
    if (rc != 0)
        fprintf(stderr, "declare: %s (%s)\n", err.message, err.hint);
    lp_amqp_close(c);
    return rc;
}

#define NEED_BROKER()                                                                                                \
    do {                                                                                                             \
        if (!getenv("LOUPE_TEST_AMQP_URL"))                                                                          \
            LP_TEST_SKIP("LOUPE_TEST_AMQP_URL is not set (run it through with_rabbitmq.sh)");                \
    } while (0)

/* Consumes one message from queue within timeout_ms; returns its body (malloc) or NULL. */
static char *take_one(lp_amqp *c, int64_t timeout_ms, int ack, char *routing_key_out)
{
    lp_amqp_delivery d;
    lp_error err;
    int64_t end = lp_now_mono_ms() + timeout_ms;
    lp_error_clear(&err);
    while (lp_now_mono_ms() < end) {
        int got = lp_amqp_next(c, 100, &d, &err);
        assert_true(got >= 0);
        if (got == 1) {
            char *body = d.body;
            if (routing_key_out)
                strcpy(routing_key_out, d.routing_key);
            if (ack)
                assert_int_equal(lp_amqp_ack(c, d.tag, &err), 0);
            else
                assert_int_equal(lp_amqp_reject(c, d.tag, 0, &err), 0);
            return body;
        }
    }
    return NULL;
}

static void test_declare_is_idempotent(void **state)
{
    lp_error err;
    (void)state;
    NEED_BROKER();
    lp_error_clear(&err);
    lp_amqp *c = connect_or_fail();
    assert_int_equal(lp_queue_declare_topology(c, QUEUES, NQUEUES, &err), 0);
    assert_int_equal(lp_queue_declare_topology(c, QUEUES, NQUEUES, &err), 0);
    assert_true(lp_amqp_ok(c));
    lp_amqp_close(c);
}

static void test_batch_confirms_and_order(void **state)
{
    enum { N = 600 };
    lp_error err;
    lp_amqp_msg *msgs = calloc(N, sizeof(*msgs));
    char (*bodies)[32] = calloc(N, 32);
    unsigned char *ok = calloc(N, 1);
    (void)state;
    NEED_BROKER();
    lp_error_clear(&err);
    lp_amqp *pub = connect_or_fail();
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], 32, "{\"n\":%d}", i);
        msgs[i] = (lp_amqp_msg){LP_QUEUE_EXCHANGE, "unit_a", bodies[i], strlen(bodies[i]), NULL, NULL, NULL, 0};
    }
    assert_int_equal(lp_amqp_publish(pub, msgs, N, ok, 10000, &err), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(ok[i], 1);
    /* A second batch on the same channel continues the delivery tags. */
    assert_int_equal(lp_amqp_publish(pub, msgs, 1, ok, 10000, &err), 0);

    lp_amqp *con = connect_or_fail();
    assert_int_equal(lp_amqp_consume(con, "loupe.unit_a", 50, &err), 0);
    for (int i = 0; i <= N; i++) {
        char expect[32];
        snprintf(expect, sizeof(expect), "{\"n\":%d}", i == N ? 0 : i);
        char *b = take_one(con, 5000, 1, NULL);
        assert_non_null(b);
        assert_string_equal(b, expect);
        free(b);
    }
    lp_amqp_close(con);
    lp_amqp_close(pub);
    free(msgs);
    free(bodies);
    free(ok);
}

static void test_unroutable_is_not_confirmed(void **state)
{
    lp_error err;
    unsigned char ok[3];
    (void)state;
    NEED_BROKER();
    lp_error_clear(&err);
    lp_amqp *pub = connect_or_fail();
    lp_amqp_msg msgs[3] = {
        {LP_QUEUE_EXCHANGE, "unit_b", "{\"x\":1}", 7, "m-1", NULL, NULL, 0},
        {LP_QUEUE_EXCHANGE, "no_such_queue", "{\"x\":2}", 7, "m-2", NULL, NULL, 0},
        {LP_QUEUE_EXCHANGE, "unit_b", "{\"x\":3}", 7, "m-3", NULL, NULL, 0},
    };
    assert_int_equal(lp_amqp_publish(pub, msgs, 3, ok, 10000, &err), -1);
    assert_int_equal(err.code, LP_E_INTERNAL);
    assert_int_equal(ok[0], 1);
    assert_int_equal(ok[1], 0);
    assert_int_equal(ok[2], 1);
    assert_true(lp_amqp_ok(pub)); /* a return does not break the connection */

    lp_amqp *con = connect_or_fail();
    assert_int_equal(lp_amqp_consume(con, "loupe.unit_b", 5, &err), 0);
    char *a = take_one(con, 5000, 1, NULL), *b = take_one(con, 5000, 1, NULL);
    assert_string_equal(a, "{\"x\":1}");
    assert_string_equal(b, "{\"x\":3}");
    free(a);
    free(b);
    lp_amqp_close(con);
    lp_amqp_close(pub);
}

static void test_retry_queue_returns_after_ttl(void **state)
{
    lp_error err;
    char retry[LP_QUEUE_FULL_NAME_MAX], rk[256];
    (void)state;
    NEED_BROKER();
    lp_error_clear(&err);
    lp_queue_retry_name("unit_c", 0, retry);
    lp_amqp *pub = connect_or_fail();
    lp_amqp_msg m = {"", retry, "{\"retry\":true}", 14, "r-1", NULL, NULL, 0};
    int64_t t0 = lp_now_mono_ms();
    assert_int_equal(lp_amqp_publish(pub, &m, 1, NULL, 10000, &err), 0);

    lp_amqp *con = connect_or_fail();
    assert_int_equal(lp_amqp_consume(con, "loupe.unit_c", 1, &err), 0);
    char *b = take_one(con, 10000, 1, rk);
    assert_non_null(b);
    assert_string_equal(b, "{\"retry\":true}");
    assert_string_equal(rk, "unit_c"); /* x-dead-letter-routing-key */
    assert_true(lp_now_mono_ms() - t0 >= 900);
    free(b);
    lp_amqp_close(con);
    lp_amqp_close(pub);
}

static void test_reject_dead_letters(void **state)
{
    lp_error err;
    (void)state;
    NEED_BROKER();
    lp_error_clear(&err);
    lp_amqp *pub = connect_or_fail();
    lp_amqp_msg m = {LP_QUEUE_EXCHANGE, "unit_d", "not json", 8, "d-1", NULL, NULL, 0};
    assert_int_equal(lp_amqp_publish(pub, &m, 1, NULL, 10000, &err), 0);

    lp_amqp *con = connect_or_fail();
    assert_int_equal(lp_amqp_consume(con, "loupe.unit_d", 1, &err), 0);
    char *b = take_one(con, 5000, 0, NULL); /* reject without requeue */
    assert_string_equal(b, "not json");
    free(b);
    lp_amqp_close(con);

    lp_amqp *dead = connect_or_fail();
    assert_int_equal(lp_amqp_consume(dead, "loupe.unit_d.dead", 1, &err), 0);
    b = take_one(dead, 5000, 1, NULL);
    assert_non_null(b);
    assert_string_equal(b, "not json");
    free(b);
    lp_amqp_close(dead);
    lp_amqp_close(pub);
}

/* The answering side of a request: takes one from its live queue and answers "re: <body>". */
static void *answer_one(void *arg)
{
    lp_amqp *c = arg;
    lp_amqp_delivery d;
    lp_error err;
    lp_error_clear(&err);
    for (int i = 0; i < 100; i++) {
        int got = lp_amqp_next(c, 100, &d, &err);
        if (got < 0)
            return NULL;
        if (got == 0)
            continue;
        char text[256];
        snprintf(text, sizeof text, "re: %s", d.body);
        lp_amqp_msg m = {"", d.reply_to, text, strlen(text), NULL, NULL, d.correlation_id, 1};
        lp_amqp_publish(c, &m, 1, NULL, 5000, &err);
        lp_amqp_ack(c, d.tag, &err);
        lp_amqp_delivery_free(&d);
        return c;
    }
    return NULL;
}

/* A live queue (not durable, gone with its last consumer) carries a request to whoever consumes it
 * and the answer comes back; once no consumer declares it, a request goes to the fallback (the
 * durable work queue, where it waits), or without one is refused at once. */
static void test_live_queue_requests(void **state)
{
    char live[LP_QUEUE_FULL_NAME_MAX], work[LP_QUEUE_FULL_NAME_MAX], *answer = NULL;
    size_t len = 0;
    lp_error err;
    pthread_t th;
    void *answered = NULL;
    (void)state;
    NEED_BROKER();
    lp_error_clear(&err);
    lp_queue_live_name("unit_e", live);
    lp_queue_work_name("unit_e", work);
    assert_string_equal(live, "loupe.unit_e.live");

    lp_amqp *w = connect_or_fail();
    assert_int_equal(lp_queue_declare_live(w, "unit_e", &err), 0);
    assert_int_equal(lp_queue_declare_live(w, "unit_e", &err), 0); /* idempotent */
    assert_int_equal(lp_amqp_consume(w, live, 1, &err), 0);
    lp_amqp_rpc *p = lp_amqp_rpc_new(getenv("LOUPE_TEST_AMQP_URL"), 1);
    assert_non_null(p);
    assert_int_equal(pthread_create(&th, NULL, answer_one, w), 0);
    assert_int_equal(lp_amqp_rpc_call(p, live, work, "{\"q\":1}", 5000, &answer, &len, &err), 0);
    assert_int_equal(pthread_join(th, &answered), 0);
    assert_ptr_equal(answered, w);
    assert_string_equal(answer, "re: {\"q\":1}");
    free(answer);
    answer = NULL;
    lp_amqp_close(w); /* its last consumer gone, the live queue goes */

    /* the broker deletes it a moment after the close */
    for (int i = 0; i < 50; i++) {
        lp_error_clear(&err);
        assert_int_equal(lp_amqp_rpc_call(p, live, NULL, "{\"q\":2}", 100, &answer, &len, &err), -1);
        if (err.code != LP_E_TIMEOUT)
            break;
    }
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    lp_error_clear(&err);
    assert_int_equal(lp_amqp_rpc_call(p, live, work, "{\"q\":3}", 300, &answer, &len, &err), -1);
    assert_int_equal(err.code, LP_E_TIMEOUT); /* nobody consumes the work queue here */
    lp_amqp *c = connect_or_fail();
    assert_int_equal(lp_amqp_consume(c, work, 1, &err), 0);
    char *body = take_one(c, 5000, 1, NULL);
    assert_non_null(body);
    assert_string_equal(body, "{\"q\":3}");
    free(body);
    lp_amqp_close(c);
    lp_amqp_rpc_free(p);
}

static void test_unreachable_and_bad_vhost(void **state)
{
    lp_error err;
    char url[1024];
    lp_amqp_url u;
    (void)state;
    NEED_BROKER();
    lp_error_clear(&err);
    assert_null(lp_amqp_connect("amqp://guest:guest@127.0.0.1:1", 0, 2000, &err));
    assert_int_equal(err.code, LP_E_UNAVAILABLE);

    assert_int_equal(lp_amqp_url_parse(getenv("LOUPE_TEST_AMQP_URL"), &u, &err), 0);
    snprintf(url, sizeof(url), "amqp://%s:%s@%s:%d/no_such_vhost", u.user, u.password, u.host, u.port);
    lp_error_clear(&err);
    assert_null(lp_amqp_connect(url, 0, 5000, &err));
    assert_int_equal(err.code, LP_E_UNAVAILABLE);
    assert_non_null(strstr(err.message, "login"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declare_is_idempotent),
        cmocka_unit_test(test_batch_confirms_and_order),
        cmocka_unit_test(test_unroutable_is_not_confirmed),
        cmocka_unit_test(test_retry_queue_returns_after_ttl),
        cmocka_unit_test(test_reject_dead_letters),
        cmocka_unit_test(test_live_queue_requests),
        cmocka_unit_test(test_unreachable_and_bad_vhost),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
