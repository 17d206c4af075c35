/* LISTEN/NOTIFY on a connection: listening on a channel, the socket to wait
 * on, and reading the notifications that arrived. See loupe/db/db.h.
 *
 * The thread that owns the connection does all of it: libpq connections are
 * not shared between threads. */
#include <stdio.h>
#include <string.h>

#include "db_int.h"
#include "loupe/core/log.h"

/* Channel names are plain lower-case identifiers, so the LISTEN text needs no
 * quoting and can never carry anything but a name. */
static int channel_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return !(s[0] >= '0' && s[0] <= '9');
}

int lp_db_listen(lp_db *db, const char *channel, lp_error *err)
{
    char sql[96];

    if (!channel_ok(channel))
        return lp_error_set(err, LP_E_INVALID, "\"%s\" is not a notification channel name", channel ? channel : "");
    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    return lp_db_script(db, sql, err);
}

int lp_db_socket(lp_db *db)
{
    return lp_db_ok(db) ? PQsocket(db->conn) : -1;
}

int lp_db_notifications(lp_db *db, lp_db_notify_fn fn, void *cls, lp_error *err)
{
    PGnotify *nt;
    int n = 0;

    if (!lp_db_ok(db) || PQconsumeInput(db->conn) == 0 || PQstatus(db->conn) != CONNECTION_OK) {
        if (db && db->conn)
            LP_WARN("db", "listening connection lost: %s", PQerrorMessage(db->conn));
        return lp_error_set(err, LP_E_UNAVAILABLE, "the listening database connection was lost");
    }
    while ((nt = PQnotifies(db->conn)) != NULL) {
        if (fn)
            fn(cls, nt->relname, nt->extra ? nt->extra : "");
        PQfreemem(nt);
        n++;
    }
    return n;
}
