/* check.h - the tests' tiny framework: CHECK counts, prints one line per failure, and
   check_summary() prints "N passed, N failed" and gives the exit status. */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...) do {                                             \
        if (cond) check_passed++;                                         \
        else {                                                            \
            check_failed++;                                               \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                   \
            printf(__VA_ARGS__);                                          \
            printf("\n");                                                 \
        }                                                                 \
    } while (0)

static int check_summary(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed != 0;
}
#endif
