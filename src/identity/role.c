/* The role table. See loupe/identity/role.h. */
#include "loupe/identity/role.h"

#include <string.h>

/* The one table of who may do what: rows lp_role, columns lp_perm. */
static const unsigned char role_perms[LP_ROLE_OWNER + 1][LP_PERM_OWNER + 1] = {
    /*                  PUBLIC READ ANNOTATE REVIEW MANAGE OWNER */
    [LP_ROLE_NONE]      = {1, 0, 0, 0, 0, 0},
    [LP_ROLE_VIEWER]    = {1, 1, 0, 0, 0, 0},
    [LP_ROLE_ANNOTATOR] = {1, 1, 1, 0, 0, 0},
    [LP_ROLE_REVIEWER]  = {1, 1, 1, 1, 0, 0},
    [LP_ROLE_ADMIN]     = {1, 1, 1, 1, 1, 0},
    [LP_ROLE_OWNER]     = {1, 1, 1, 1, 1, 1},
};

static const char *const role_names[LP_ROLE_OWNER + 1] = {
    [LP_ROLE_NONE] = "",           [LP_ROLE_VIEWER] = "viewer", [LP_ROLE_ANNOTATOR] = "annotator",
    [LP_ROLE_REVIEWER] = "reviewer", [LP_ROLE_ADMIN] = "admin",   [LP_ROLE_OWNER] = "owner",
};

int lp_role_has(lp_role role, lp_perm perm)
{
    if ((unsigned)role > LP_ROLE_OWNER || (unsigned)perm > LP_PERM_OWNER)
        return 0;
    return role_perms[role][perm];
}

unsigned lp_role_perms(lp_role role)
{
    unsigned bits = 0;
    for (int p = LP_PERM_PUBLIC; p <= LP_PERM_OWNER; p++)
        if (lp_role_has(role, (lp_perm)p))
            bits |= LP_PERM_BIT(p);
    return bits;
}

const char *lp_role_name(lp_role role)
{
    return (unsigned)role <= LP_ROLE_OWNER ? role_names[role] : "";
}

int lp_role_parse(const char *s, lp_role *out)
{
    if (!s)
        return -1;
    for (int r = LP_ROLE_VIEWER; r <= LP_ROLE_OWNER; r++) {
        if (strcmp(s, role_names[r]) == 0) {
            *out = (lp_role)r;
            return 0;
        }
    }
    return -1;
}

int lp_role_within(lp_role a, lp_role b)
{
    for (int p = LP_PERM_PUBLIC; p <= LP_PERM_OWNER; p++)
        if (lp_role_has(a, (lp_perm)p) && !lp_role_has(b, (lp_perm)p))
            return 0;
    return 1;
}

lp_role lp_role_effective(lp_role key_role, lp_role member_role)
{
    if (lp_role_within(key_role, member_role))
        return key_role;
    if (lp_role_within(member_role, key_role))
        return member_role;
    return LP_ROLE_NONE;
}
