/* two_tu_a.c - holds the implementation; two_tu_b.c includes the header alone. Linking
   both proves the declarations and the one implementation agree. Also the C++ and the
   GAN_STATIC / GAN_NO_STDIO compile checks. */
#define GAN_IMPLEMENTATION
#include "../gan.h"
#include "../gan.h" /* a second include must be harmless */

int two_tu_b_run(void);

#ifndef GAN_NO_LINK_MAIN
#include <stdio.h>
int main(void)
{
    int ok = two_tu_b_run();
    printf("%d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}
#endif
