/* XML files for the import readers of XML formats (VOC, CVAT): expat
 * through xml.c (no DOCTYPE, no entities, depth-limited), each element seen
 * with its path and its text. See import_int.h. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"

static int on_start(void *ud, const char *name, const char **attrs, lp_error *err)
{
    imp_xml *x = ud;
    (void)err;
    size_t len = strlen(x->path), n = strlen(name);
    x->path_len[x->depth++] = len;
    if (len + n + 2 > sizeof x->path)
        n = sizeof x->path - len - 2; /* cut: no element of the formats is this deep */
    x->path[len] = '/';
    memcpy(x->path + len + 1, name, n);
    x->path[len + 1 + n] = '\0';
    x->ntext = 0;
    x->text_long = false;
    return x->start ? x->start(x, attrs) : 0;
}

static int on_end(void *ud, const char *name, lp_error *err)
{
    imp_xml *x = ud;
    (void)name;
    (void)err;
    while (x->ntext && isspace((unsigned char)x->text[x->ntext - 1]))
        x->ntext--;
    x->text[x->ntext] = '\0';
    int rc = x->end ? x->end(x) : 0;
    x->path[x->path_len[--x->depth]] = '\0';
    x->ntext = 0;
    return rc;
}

static int on_text(void *ud, const char *s, size_t len, lp_error *err)
{
    imp_xml *x = ud;
    (void)err;
    if (x->ntext == 0)
        while (len && isspace((unsigned char)*s)) {
            s++;
            len--;
        }
    if (x->ntext + len >= sizeof x->text) {
        x->text_long = true;
        len = sizeof x->text - 1 - x->ntext;
    }
    memcpy(x->text + x->ntext, s, len);
    x->ntext += len;
    return 0;
}

int imp_xml_read(imp_xml *x, const char *data, size_t len)
{
    lp_xml_handlers h = {on_start, on_end, on_text, x};
    lp_error pe;
    lp_error_clear(&pe);
    x->path[0] = '\0';
    x->depth = 0;
    x->len = len;
    if (!(x->x = lp_xml_new(&h, IMP_XML_DEPTH, x->err)))
        return -1;
    int rc = lp_xml_feed(x->x, data, len, true, &pe);
    lp_xml_free(x->x);
    x->x = NULL;
    if (rc == 0)
        return 0;
    if (x->err->code != LP_OK) /* a callback stopped the import */
        return -1;
    /* "line L, column C: why" from xml.c: where, then what */
    const char *msg = pe.message, *colon = strstr(msg, ": ");
    char where[64] = "";
    if (strncmp(msg, "line ", 5) == 0 && colon && (size_t)(colon - msg) < sizeof where) {
        memcpy(where, msg, (size_t)(colon - msg));
        where[colon - msg] = '\0';
        msg = colon + 2;
    }
    return imp_problem(x->r, x->file, where, LP_IMP_SKIP_FILE, x->err, "not well-formed XML: %s; the file was not read",
                       msg) != 0
               ? -1
               : 1;
}

double imp_xml_done(const imp_xml *x)
{
    return x->x && x->len ? (double)lp_xml_offset(x->x) / (double)x->len : 0;
}

const char *imp_xml_where(imp_xml *x)
{
    unsigned long line = 0, col = 0;
    if (x->x)
        lp_xml_where(x->x, &line, &col);
    return lp_arena_printf(x->a, "line %lu, column %lu", line, col);
}

const char *imp_xml_attr(const char **attrs, const char *name)
{
    for (size_t i = 0; attrs && attrs[i]; i += 2)
        if (strcmp(attrs[i], name) == 0)
            return attrs[i + 1];
    return NULL;
}

int imp_xml_number(const imp_xml *x, double *out)
{
    char *end;
    if (x->ntext == 0 || x->text_long)
        return -1;
    double v = strtod(x->text, &end);
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

const char *imp_folder(lp_arena *a, const char *member, const char *prefix)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    if (plen && strncmp(member, prefix, plen) == 0 && member[plen] == '/')
        member += plen + 1;
    const char *slash = strrchr(member, '/');
    if (!slash)
        return lp_arena_strdup(a, "/");
    return lp_arena_printf(a, "/%.*s", (int)(slash - member), member);
}

const char *imp_stem(lp_arena *a, const char *member, const char *ext)
{
    const char *base = strrchr(member, '/');
    base = base ? base + 1 : member;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    return lp_arena_printf(a, "%.*s%s", (int)n, base, ext ? ext : "");
}
