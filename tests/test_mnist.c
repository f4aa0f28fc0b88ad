/* test_mnist.c - the MNIST demo's training, resume, sampling and scoring code (examples/mnist.c
   built without its main), on the 100-digit fixture tests/data/mnist100-*-ubyte with a small
   model, so that it runs in seconds even under the sanitizers. */
#define MNIST_NO_MAIN
#include "../examples/mnist.c"
#include "check.h"

#define FIXTURE_IMAGES "tests/data/mnist100-images-idx3-ubyte"
#define FIXTURE_LABELS "tests/data/mnist100-labels-idx1-ubyte"
#define DIR_A "build/tests/mnist-a"
#define DIR_B "build/tests/mnist-b"
#define DIR_C "build/tests/mnist-c"
#define DIR_D "build/tests/mnist-d"
#define STEPS 300

/* The gan.py recipe shrunk: G 16 -> 32 -> 64 (BatchNorm) -> 784, D 784 -> 64 -> 32 -> 1. */
static void small_opts(mnist_train_opts *o, const char *out, long steps)
{
    mnist_train_defaults(o);
    o->images = FIXTURE_IMAGES;
    o->out = out;
    o->steps = steps;
    o->log_every = 0;
    o->batch = 16;                 /* 7 steps per epoch, the last one topped up: 100 = 6 * 16 + 4 */
    o->z_dim = 16;
    o->g_hidden[0] = 32; o->g_hidden[1] = 64; o->n_g_hidden = 2;
    o->d_hidden[0] = 64; o->d_hidden[1] = 32; o->n_d_hidden = 2;
    o->seed = 7;
}

static int files_equal(const char *a, const char *b)
{
    size_t na, nb;
    void *pa = gan_read_file(a, (size_t)1 << 28, &na, NULL), *pb = gan_read_file(b, (size_t)1 << 28, &nb, NULL);
    int same = pa && pb && na == nb && memcmp(pa, pb, na) == 0;
    free(pa); free(pb);
    return same;
}

/* Mean of column c (0 d_loss, 1 g_loss, 2 D(x), 3 D(G(z))) over rows [from, to). */
static double log_mean(const mnist_log *l, long from, long to, int c)
{
    double s = 0;
    long i;
    for (i = from; i < to; i++) s += l->rows[4 * i + c];
    return s / (double)(to - from);
}

int main(void)
{
    mnist_train_opts o;
    mnist_log log;
    mnist_scores sc;
    gan_idx idx;
    gan_error err;
    int rc;

    mkdir("build", 0777); mkdir("build/tests", 0777);
    /* run from a fresh start even when this program runs again by hand (tests/run.sh clears
       build/tests): mnist train refuses to start a run where another has saved one */
    remove(DIR_A "/checkpoint.gan"); remove(DIR_B "/checkpoint.gan");
    remove(DIR_C "/checkpoint.gan"); remove(DIR_D "/checkpoint.gan");

    /* 1. A seeded run of 300 steps. At step 1, D is as initialised (its stats are measured
       before its first update), with logits near 0: D(x) and D(G(z)) both near 1/2. D then
       learns to tell the 100 real digits from a G that is still far from them, so D(x) must
       rise and D(G(z)) fall. The end is the mean over the last 20 steps, which smooths the
       step-to-step noise (each step's figure is a mean over 16 samples); a 0.05 move is well
       above that noise yet well below what a working trainer gives here (0.1 to 0.2). */
    small_opts(&o, DIR_A, STEPS);
    rc = mnist_train(&o);
    CHECK(rc == 0, "mnist_train returned %d", rc);
    memset(&log, 0, sizeof log);
    rc = mnist_log_read(&log, DIR_A "/losses.csv", 1000000, &err);
    CHECK(rc == 0 && log.n == STEPS, "losses.csv: rc %d, %ld rows (%s)", rc, log.n, rc ? err.message : "");
    if (log.n == STEPS) {
        const double real0 = log_mean(&log, 0, 1, 2), real1 = log_mean(&log, STEPS - 20, STEPS, 2);
        const double fake0 = log_mean(&log, 0, 1, 3), fake1 = log_mean(&log, STEPS - 20, STEPS, 3);
        printf("D(x): %.3f -> %.3f   D(G(z)): %.3f -> %.3f\n", real0, real1, fake0, fake1);
        CHECK(fabs(real0 - 0.5) < 0.1 && fabs(fake0 - 0.5) < 0.1, "D starts near 1/2: D(x) %.3f, D(G(z)) %.3f", real0, fake0);
        CHECK(real1 > real0 + 0.05, "D(x) rises: %.3f -> %.3f", real0, real1);
        CHECK(fake1 < fake0 - 0.05, "D(G(z)) falls: %.3f -> %.3f", fake0, fake1);
    }
    free(log.rows);

    /* 2. Resume: 150 steps (mid-epoch: 150 = 21 * 7 + 3), save, load, 150 more must give
       the same bytes as the 300 straight steps: checkpoint, generator and the loss log. */
    small_opts(&o, DIR_B, STEPS / 2);
    CHECK(mnist_train(&o) == 0, "first half");
    small_opts(&o, DIR_B, STEPS);
    o.resume = 1;
    o.g_hidden[0] = 999;          /* --resume takes the architecture from options.txt, not from here */
    CHECK(mnist_train(&o) == 0, "second half");
    CHECK(files_equal(DIR_A "/checkpoint.gan", DIR_B "/checkpoint.gan"), "resumed checkpoint differs");
    CHECK(files_equal(DIR_A "/generator.gan", DIR_B "/generator.gan"), "resumed generator differs");
    CHECK(files_equal(DIR_A "/losses.csv", DIR_B "/losses.csv"), "resumed losses.csv differs");
    CHECK(files_equal(DIR_A "/samples-epoch-042.png", DIR_B "/samples-epoch-042.png"), "resumed sample grid differs");

    /* ... and the same with G averaged (--g-average), whose average is in the checkpoint and
       whose export and grids come from the average. */
    small_opts(&o, DIR_C, STEPS);
    o.g_average = 0.99f;
    CHECK(mnist_train(&o) == 0, "averaged run");
    small_opts(&o, DIR_D, STEPS / 2);
    o.g_average = 0.99f;
    CHECK(mnist_train(&o) == 0, "averaged first half");
    small_opts(&o, DIR_D, STEPS);
    o.resume = 1;
    CHECK(mnist_train(&o) == 0, "averaged second half");
    CHECK(files_equal(DIR_C "/checkpoint.gan", DIR_D "/checkpoint.gan") &&
          files_equal(DIR_C "/generator.gan", DIR_D "/generator.gan") &&
          files_equal(DIR_C "/samples-epoch-042.png", DIR_D "/samples-epoch-042.png"),
          "resumed averaged run differs (checkpoint, generator or grid)");
    CHECK(!files_equal(DIR_A "/generator.gan", DIR_C "/generator.gan") &&
          !files_equal(DIR_A "/samples-epoch-042.png", DIR_C "/samples-epoch-042.png"),
          "--g-average changed neither the export nor the grid");

    /* An options.txt with a value out of range (batch 0, which the command line refuses too)
       is refused on --resume, before anything divides by it. */
    {
        size_t n = 0;
        char *text = (char *)gan_read_file(DIR_B "/options.txt", 1 << 16, &n, NULL);
        FILE *f = fopen(DIR_B "/options.txt", "ab");
        CHECK(text && f && fputs("batch 0\n", f) >= 0, "appending to options.txt");
        if (f) fclose(f);
        small_opts(&o, DIR_B, STEPS + 10);
        o.resume = 1;
        CHECK(mnist_train(&o) != 0, "--resume with batch 0 in options.txt was not refused");
        if (text && (f = fopen(DIR_B "/options.txt", "wb"))) { fwrite(text, 1, n, f); fclose(f); }
        free(text);
    }

    /* A fresh run into a directory that holds one is refused, and leaves it as it was. */
    {
        size_t n_before = 0, n_after = 0;
        unsigned char *before = (unsigned char *)gan_read_file(DIR_A "/checkpoint.gan", 1 << 26, &n_before, NULL);
        unsigned char *after;
        int kept;
        small_opts(&o, DIR_A, 5);
        rc = mnist_train(&o);
        after = (unsigned char *)gan_read_file(DIR_A "/checkpoint.gan", 1 << 26, &n_after, NULL);
        kept = before && after && n_before == n_after && memcmp(before, after, n_before) == 0;
        CHECK(rc != 0 && kept, "a fresh run into a run's directory: returned %d, checkpoint %s", rc,
              kept ? "kept" : "changed");
        free(before); free(after);
    }

    /* 3. Sampling writes an IDX file the IDX reader takes back, and a grid PNG. */
    rc = mnist_sample(DIR_A "/generator.gan", 37, DIR_A "/gen-idx3-ubyte", DIR_A "/gen.png", 5);
    CHECK(rc == 0, "mnist_sample returned %d", rc);
    rc = gan_idx_load(DIR_A "/gen-idx3-ubyte", &idx, &err);
    CHECK(rc == 0, "IDX reader: %s", rc ? err.message : "");
    if (rc == 0) {
        size_t k, lit = 0;
        CHECK(idx.ndim == 3 && idx.dims[0] == 37 && idx.dims[1] == 28 && idx.dims[2] == 28 && idx.item_size == 784,
              "sample layout %d: %d x %d x %d", idx.ndim, idx.dims[0], idx.dims[1], idx.dims[2]);
        for (k = 0; k < (size_t)idx.dims[0] * idx.item_size; k++) lit += idx.data[k] > 127;
        CHECK(lit > 0 && lit < (size_t)idx.dims[0] * idx.item_size, "samples are all dark or all bright (%lu lit)",
              (unsigned long)lit);
        gan_idx_free(&idx);
    }
    {
        size_t n;
        unsigned char *png = (unsigned char *)gan_read_file(DIR_A "/gen.png", 1 << 20, &n, NULL);
        CHECK(png && n > 8 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "gen.png is not a PNG");
        free(png);
    }

    /* 4. Scoring: the real set against itself is at distance 0 (up to round-off) and every
       class it holds is predicted; the 300-step samples are much further away. */
    remove(DIR_A "/classifier.gan");
    rc = mnist_score(FIXTURE_IMAGES, FIXTURE_LABELS, FIXTURE_IMAGES, DIR_A "/classifier.gan", &sc, 0);
    CHECK(rc == 0, "mnist_score real vs real returned %d", rc);
    CHECK(rc == 0 && fabs(sc.fd) < 1e-3, "FD of a set with itself: %g", sc.fd);
    CHECK(rc == 0 && sc.fd_floor > 0, "the floor between two different halves is positive: %g", sc.fd_floor);
    rc = mnist_score(FIXTURE_IMAGES, FIXTURE_LABELS, DIR_A "/gen-idx3-ubyte", DIR_A "/classifier.gan", &sc, 0);
    CHECK(rc == 0, "mnist_score with the cached classifier returned %d", rc);
    CHECK(rc == 0 && sc.fd > 0.001, "generated digits differ from real ones: FD %g", sc.fd);

    /* 5. Bad input is refused with a message, not a crash. */
    rc = mnist_sample(DIR_A "/losses.csv", 3, DIR_A "/x-idx3-ubyte", NULL, 1);
    CHECK(rc != 0, "a CSV file accepted as a generator");
    return check_summary();
}
