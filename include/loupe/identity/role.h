/* Roles and the one table of what each may do.
 *
 * A member of a team holds one role; an API key may be limited to a lower
 * one. The table maps each role to the permissions (lp_perm, the route
 * table's PERM column) it grants; the authentication service hands http the
 * resulting set (lp_principal.perms), so http never sees this table. */
#ifndef LOUPE_IDENTITY_ROLE_H
#define LOUPE_IDENTITY_ROLE_H

#include "loupe/http/request.h"

/* Lowest to highest privilege for the linear part; annotator and reviewer
 * are siblings (see lp_role_has). */
typedef enum lp_role { LP_ROLE_NONE = 0, LP_ROLE_VIEWER, LP_ROLE_ANNOTATOR, LP_ROLE_REVIEWER, LP_ROLE_ADMIN, LP_ROLE_OWNER } lp_role;

/* 1 if role grants perm (0 for values out of range). */
int lp_role_has(lp_role role, lp_perm perm);
/* Every permission role grants, as LP_PERM_BIT()s. */
unsigned lp_role_perms(lp_role role);
const char *lp_role_name(lp_role role);            /* "owner", … ; "" for NONE (static) */
int lp_role_parse(const char *s, lp_role *out);    /* -1 if unknown */
/* 1 if role a may do nothing that role b may not. */
int lp_role_within(lp_role a, lp_role b);
/* The role a key limited to key_role acts with for a member holding
 * member_role: the lower of the two (NONE if they are incomparable). */
lp_role lp_role_effective(lp_role key_role, lp_role member_role);

/* The caller's role (req->who.role as an lp_role). */
static inline lp_role lp_role_of(const lp_req *req) { return (lp_role)req->who.role; }

#endif
