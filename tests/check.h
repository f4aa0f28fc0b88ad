/* check.h - the tests' tiny framework: CHECK counts, prints one line per failure, and
   check_summary() prints "N passed, N failed" and gives the exit status. Also the CRC-32
   that checkpoints and PNG files are checked against, independent of gan_crc32. */
#ifndef CHECK_H
#define CHECK_H
#include <stddef.h>
#include <stdint.h>
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

/* CRC-32 by its bitwise definition, no table (continuing from crc, as gan_crc32 does). */
static inline uint32_t crc32_bitwise(uint32_t crc, const unsigned char *p, size_t n)
{
    int k;
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}
#endif
