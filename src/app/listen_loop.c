/* The listen-and-poll loop shared by the outbox relay and the workflow
 * router. See listen_loop_int.h. */
#include "listen_loop_int.h"

#include <poll.h>
#include <unistd.h>

#include "loupe/core/log.h"
#include "loupe/core/util.h"

int64_t lp_listen_next_backoff(int64_t cur)
{
    int64_t n = cur ? cur * 2 : LP_LISTEN_BACKOFF_MIN_MS;
    return n > LP_LISTEN_BACKOFF_MAX_MS ? LP_LISTEN_BACKOFF_MAX_MS : n;
}

int lp_listen_ensure(lp_listen_conn *c, const lp_config *cfg)
{
    lp_error err;
    if (c->db && lp_db_ok(c->db))
        return 1;
    if (lp_now_mono_ms() < c->retry_at)
        return 0;
    lp_error_clear(&err);
    if (c->db) {
        LP_WARN(c->module, "lost the database connection; reconnecting");
        lp_db_close(c->db);
    }
    c->db = lp_db_connect(lp_db_session_url(cfg->db_url, cfg->db_direct_url), cfg->db_statement_timeout, &err);
    if (c->db && lp_db_listen(c->db, c->channel, &err) == 0) {
        if (c->backoff)
            LP_INFO(c->module, "database connection re-established");
        c->backoff = 0;
        return lp_db_ok(c->db);
    }
    if (c->backoff == 0)
        LP_WARN(c->module, "cannot reach the database: %s; retrying with backoff", err.message);
    lp_db_close(c->db);
    c->db = NULL;
    c->backoff = lp_listen_next_backoff(c->backoff);
    c->retry_at = lp_now_mono_ms() + c->backoff;
    return 0;
}

void lp_listen_drain(lp_listen_conn *c)
{
    lp_error err;
    lp_error_clear(&err);
    lp_db_notifications(c->db, NULL, NULL, &err);
}

int lp_listen_wait(lp_listen_conn *c, int wake_fd, int64_t wait_ms)
{
    struct pollfd fds[2];
    nfds_t nfds = 1;
    char buf[64];

    fds[0].fd = wake_fd;
    fds[0].events = POLLIN;
    if (lp_db_socket(c->db) >= 0) {
        fds[1].fd = lp_db_socket(c->db);
        fds[1].events = POLLIN;
        nfds = 2;
    }
    if (poll(fds, nfds, (int)wait_ms) <= 0)
        return 0;
    if (fds[0].revents & POLLIN)
        while (read(wake_fd, buf, sizeof buf) > 0) {
        }
    return nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR));
}

void lp_listen_close(lp_listen_conn *c)
{
    lp_db_close(c->db);
    c->db = NULL;
}
