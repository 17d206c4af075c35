/* XML in through expat with document type declarations refused. See
 * include/loupe/formats/xml.h. */
#include "loupe/formats/xml.h"

#include <expat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct lp_xml {
    XML_Parser p;
    const lp_xml_handlers *h;
    size_t depth, max_depth;
    lp_error *err;          /* of the feed in progress */
    bool stopped;           /* a handler or a refusal stopped the parse; err says why */
    bool failed;
};

static void stop(lp_xml *x, lp_code code, const char *why)
{
    if (x->stopped)
        return;
    x->stopped = true;
    if (why)
        lp_error_set(x->err, code, "line %lu, column %lu: %s", (unsigned long)XML_GetCurrentLineNumber(x->p),
                     (unsigned long)XML_GetCurrentColumnNumber(x->p) + 1, why);
    XML_StopParser(x->p, XML_FALSE);
}

static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sys, const XML_Char *pub, int internal)
{
    (void)name;
    (void)sys;
    (void)pub;
    (void)internal;
    stop(ud, LP_E_INVALID, "a document type declaration (DOCTYPE) is not accepted: entities and external "
                           "references are refused");
}

static void on_entity(void *ud, const XML_Char *name, int param, const XML_Char *value, int len, const XML_Char *base,
                      const XML_Char *sys, const XML_Char *pub, const XML_Char *notation)
{
    (void)name, (void)param, (void)value, (void)len, (void)base, (void)sys, (void)pub, (void)notation;
    stop(ud, LP_E_INVALID, "an entity declaration is not accepted");
}

static int on_external(XML_Parser p, const XML_Char *ctx, const XML_Char *base, const XML_Char *sys,
                       const XML_Char *pub)
{
    (void)p, (void)ctx, (void)base, (void)sys, (void)pub;
    return XML_STATUS_ERROR; /* never fetched */
}

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    lp_xml *x = ud;
    if (x->stopped)
        return;
    if (++x->depth > x->max_depth) {
        stop(x, LP_E_INVALID, "elements are nested too deep");
        return;
    }
    if (x->h->start && x->h->start(x->h->ud, name, attrs, x->err) != 0)
        stop(x, LP_E_INVALID, NULL);
}

static void on_end(void *ud, const XML_Char *name)
{
    lp_xml *x = ud;
    if (x->stopped)
        return;
    x->depth--;
    if (x->h->end && x->h->end(x->h->ud, name, x->err) != 0)
        stop(x, LP_E_INVALID, NULL);
}

static void on_text(void *ud, const XML_Char *s, int len)
{
    lp_xml *x = ud;
    if (!x->stopped && x->h->text && x->h->text(x->h->ud, s, (size_t)len, x->err) != 0)
        stop(x, LP_E_INVALID, NULL);
}

lp_xml *lp_xml_new(const lp_xml_handlers *h, size_t max_depth, lp_error *err)
{
    lp_xml *x = calloc(1, sizeof *x);
    if (!x || !(x->p = XML_ParserCreate("UTF-8"))) {
        free(x);
        lp_error_set(err, LP_E_NOMEM, "out of memory starting an XML parser");
        return NULL;
    }
    x->h = h;
    x->max_depth = max_depth;
    XML_SetUserData(x->p, x);
    XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
    XML_SetEntityDeclHandler(x->p, on_entity);
    XML_SetExternalEntityRefHandler(x->p, on_external);
    XML_SetElementHandler(x->p, on_start, on_end);
    XML_SetCharacterDataHandler(x->p, on_text);
    return x;
}

int lp_xml_feed(lp_xml *x, const void *p, size_t n, bool final, lp_error *err)
{
    if (x->failed)
        return lp_error_set(err, LP_E_INVALID, "the XML document failed earlier");
    x->err = err;
    while (n > 0 || final) {
        int k = n > INT_MAX ? INT_MAX : (int)n;
        bool last = final && (size_t)k == n;
        if (XML_Parse(x->p, p, k, last) != XML_STATUS_OK || x->stopped) {
            x->failed = true;
            if (!x->stopped || err->code == LP_OK)
                lp_error_set(err, LP_E_INVALID, "line %lu, column %lu: %s",
                             (unsigned long)XML_GetCurrentLineNumber(x->p),
                             (unsigned long)XML_GetCurrentColumnNumber(x->p) + 1,
                             XML_ErrorString(XML_GetErrorCode(x->p)));
            return -1;
        }
        p = (const char *)p + k;
        n -= (size_t)k;
        if (last)
            break;
    }
    return 0;
}

void lp_xml_where(const lp_xml *x, unsigned long *line, unsigned long *column)
{
    *line = (unsigned long)XML_GetCurrentLineNumber(x->p);
    *column = (unsigned long)XML_GetCurrentColumnNumber(x->p) + 1;
}

size_t lp_xml_offset(const lp_xml *x)
{
    XML_Index i = XML_GetCurrentByteIndex(x->p);
    return i > 0 ? (size_t)i : 0;
}

void lp_xml_free(lp_xml *x)
{
    if (!x)
        return;
    XML_ParserFree(x->p);
    free(x);
}
