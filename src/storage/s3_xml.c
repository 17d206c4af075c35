/* Minimal, bounded reading and writing of S3 XML. */
#include "s3_xml_int.h"

#include <string.h>

#include "loupe/core/buf.h"

/* Finds "<tag" followed by '>', ' ' or '/' at or after from. Returns the
 * offset of '<' or -1. */
static long find_open(const char *xml, size_t len, size_t from, const char *tag)
{
    size_t tl = strlen(tag);
    for (size_t i = from; i + tl + 2 <= len; i++) {
        if (xml[i] != '<' || memcmp(xml + i + 1, tag, tl) != 0)
            continue;
        char c = xml[i + 1 + tl];
        if (c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/')
            return (long)i;
    }
    return -1;
}

/* Decodes one entity at s (after '&', up to ';') into *out. Returns the
 * number of bytes consumed after '&', or -1. ASCII numeric references only. */
static int entity(const char *s, size_t n, char *out)
{
    static const struct { const char *name; char c; } named[] = {
        {"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t l = strlen(named[i].name);
        if (n >= l && memcmp(s, named[i].name, l) == 0) {
            *out = named[i].c;
            return (int)l;
        }
    }
    if (n >= 3 && s[0] == '#') {
        unsigned v = 0;
        size_t i = 1;
        int hex = s[1] == 'x';
        if (hex)
            i++;
        size_t start = i;
        for (; i < n && i < 8 && s[i] != ';'; i++) {
            char c = s[i];
            unsigned d;
            if (c >= '0' && c <= '9')
                d = (unsigned)(c - '0');
            else if (hex && c >= 'a' && c <= 'f')
                d = (unsigned)(c - 'a' + 10);
            else if (hex && c >= 'A' && c <= 'F')
                d = (unsigned)(c - 'A' + 10);
            else
                return -1;
            v = v * (hex ? 16 : 10) + d;
        }
        if (i == start || i >= n || s[i] != ';' || v == 0 || v > 127)
            return -1;
        *out = (char)v;
        return (int)(i + 1);
    }
    return -1;
}

int lp_s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t cap)
{
    long at = find_open(xml, len, 0, tag);
    size_t i, o = 0, tl = strlen(tag);
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (at < 0)
        return 1;
    i = (size_t)at + 1 + tl;
    while (i < len && xml[i] != '>')
        i++;
    if (i >= len)
        return -1;
    if (xml[i - 1] == '/') /* <Tag/>: empty */
        return 0;
    for (i++; i < len; i++) {
        char c = xml[i];
        if (c == '<') {
            if (i + 2 + tl < len && xml[i + 1] == '/' && memcmp(xml + i + 2, tag, tl) == 0 &&
                xml[i + 2 + tl] == '>') {
                out[o] = '\0';
                return 0;
            }
            break; /* nested element or a stray '<' */
        }
        if (c == '&') {
            int used = entity(xml + i + 1, len - i - 1, &c);
            if (used < 0)
                break;
            i += (size_t)used;
        }
        if (o + 1 >= cap)
            break;
        out[o++] = c;
    }
    out[0] = '\0';
    return -1;
}

int lp_s3_xml_root_is(const char *xml, size_t len, const char *tag)
{
    size_t i = 0, tl = strlen(tag);
    for (;;) {
        while (i < len && (xml[i] == ' ' || xml[i] == '\t' || xml[i] == '\r' || xml[i] == '\n'))
            i++;
        if (i + 1 >= len || xml[i] != '<')
            return 0;
        if (xml[i + 1] == '?' || xml[i + 1] == '!') { /* declaration or comment: skip to '>' */
            while (i < len && xml[i] != '>')
                i++;
            i++;
            continue;
        }
        break;
    }
    if (i + 1 + tl >= len || memcmp(xml + i + 1, tag, tl) != 0)
        return 0;
    char c = xml[i + 1 + tl];
    return c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/';
}

int lp_s3_xml_escape(lp_buf *out, const char *s)
{
    for (; *s; s++) {
        const char *e = NULL;
        switch (*s) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&apos;"; break;
        default: break;
        }
        if (e ? lp_buf_puts(out, e) : lp_buf_append(out, s, 1))
            return -1;
    }
    return 0;
}
