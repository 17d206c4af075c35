/* Field errors in unit tests: whether an lp_error names a field. */
#ifndef LOUPE_TESTS_UNIT_TEST_FIELDS_H
#define LOUPE_TESTS_UNIT_TEST_FIELDS_H

#include <string.h>

#include "loupe/core/error.h"

/* 1 when e holds a field error on exactly field. */
static inline int lp_test_has_field(const lp_error *e, const char *field)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (strcmp(e->fields[i].field, field) == 0)
            return 1;
    return 0;
}

#endif
