/*
 * testutil.h -- helpers shared by the cmocka tests.
 */
#ifndef SAMC_TESTUTIL_H
#define SAMC_TESTUTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "samc.h"

/* |a - b| <= atol + rtol |b|, with a message that shows both numbers. */
#define assert_close(a, b, rtol, atol)                                          \
    do {                                                                        \
        double a_ = (double)(a), b_ = (double)(b);                              \
        if (!(fabs(a_ - b_) <= (atol) + (rtol) * fabs(b_)))                     \
            fail_msg("%s = %.10g, expected %s = %.10g (rtol %g, atol %g)", #a,   \
                     a_, #b, b_, (double)(rtol), (double)(atol));               \
    } while (0)

/* Directory holding test fixtures (tests/data), from the build's cwd. */
#define SAMC_TEST_DATA "tests/data"

#endif
