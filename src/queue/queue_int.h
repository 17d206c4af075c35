/* Internals shared by the files of src/queue: the connection struct and the
 * helpers that turn librabbitmq-c results into lp_error. */
#ifndef LOUPE_QUEUE_INT_H
#define LOUPE_QUEUE_INT_H

#include <amqp.h>
#include <stdint.h>
#include <sys/time.h>

#include "loupe/core/error.h"
#include "loupe/queue/connection.h"

#define LP_AMQP_CHANNEL 1

struct lp_amqp {
    amqp_connection_state_t conn;
    int broken;             /* set on the first protocol or socket failure */
    int confirm_mode;       /* confirm.select done on the channel */
    uint64_t next_tag;      /* delivery tag of the next publish (confirm mode) */
    int qos;                /* the prefetch basic.qos set last; 0 = none */
    int64_t timeout_ms;     /* RPC and confirm timeout given at connect */
    char where[400];        /* host:port/vhost */
};

/* Checks the reply of the last RPC. On failure marks c broken (a server
 * exception closes the channel or connection; a library exception leaves the
 * socket in an unknown state), sets err (LP_E_UNAVAILABLE) with "what" and the
 * broker's reason, and returns -1. */
int lp_amqp_check_reply(lp_amqp *c, amqp_rpc_reply_t r, const char *what, lp_error *err);

/* Marks c broken and sets err from a librabbitmq-c status code. Returns -1. */
int lp_amqp_fail_status(lp_amqp *c, int status, const char *what, lp_error *err);

/* Handles a method frame the caller did not expect while waiting for
 * something else: answers connection.close / channel.close (and marks c
 * broken, returning -1 with err), ignores anything else (returns 0). */
int lp_amqp_handle_async_method(lp_amqp *c, const amqp_frame_t *f, lp_error *err);

/* ms → timeval. */
void lp_amqp_timeval(int64_t ms, struct timeval *tv);

/* amqp_bytes_t of a C string (not copied). */
amqp_bytes_t lp_amqp_cstr(const char *s);

#endif
