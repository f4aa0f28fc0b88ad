/* test_mnistlib.c - the library parts the MNIST demo needs: softmax cross-entropy, model
   files, IDX files, the PNG writer and image grids, and the evaluation maths (mean and
   covariance, Jacobi eigen-decomposition, Frechet distance, Inception score).
   Run from the repository root (tests/run.sh does): it reads tests/data/ and writes
   scratch files into build/tests/. */
#define GAN_IMPLEMENTATION
#include "../gan.h"
#include "check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCRATCH "build/tests/"

static int contains(const char *haystack, const char *needle) { return strstr(haystack, needle) != NULL; }

/* ---- softmax cross-entropy ---- */

static void test_softmax_ce(void)
{
    enum { N = 4, C = 5 };
    float logits[N * C], grad[N * C], probs[N * C], sentinel[N * C];
    const int labels[N] = { 0, 3, 4, 3 };
    const int bad_labels[N] = { 0, 5, 1, 1 };
    const float scale = 1.5f, h = 1e-2f;
    float loss, max_grad = 0, max_err = 0;
    gan_rng rng;
    int i, k;
    gan_rng_seed(&rng, 7, 1);
    for (i = 0; i < N * C; i++) logits[i] = 2.0f * gan_rng_normal(&rng);

    loss = gan_loss_softmax_ce(logits, labels, N, C, scale, grad);
    CHECK(loss > 0 && isfinite(loss), "softmax CE loss %g should be positive and finite", (double)loss);
    /* Central differences of scale * loss. The loss is accumulated in double but returned as
       a float (relative error 6e-8, so about 1e-5 absolute after dividing by 2h = 0.02 for
       losses of a few units); the truncation error is O(h^2) = 1e-4 times the third
       derivative, which is below 1 for softmax. A wrong sign, a missing 1/n or a missing
       scale would be off by 0.1 or more, so 2e-3 separates them. */
    for (i = 0; i < N * C; i++) {
        const float saved = logits[i];
        float up, down, numeric;
        logits[i] = saved + h; up = gan_loss_softmax_ce(logits, labels, N, C, 1, NULL);
        logits[i] = saved - h; down = gan_loss_softmax_ce(logits, labels, N, C, 1, NULL);
        logits[i] = saved;
        numeric = scale * (up - down) / (2 * h);
        if (fabsf(numeric - grad[i]) > max_err) max_err = fabsf(numeric - grad[i]);
        if (fabsf(grad[i]) > max_grad) max_grad = fabsf(grad[i]);
    }
    CHECK(max_err < 2e-3f, "softmax CE gradient differs from central differences by %g", (double)max_err);
    CHECK(max_grad > 0.05f, "softmax CE gradient is trivially small (%g): the check above proves nothing",
          (double)max_grad);
    for (i = 0; i < N; i++) {        /* softmax - onehot sums to 0 in every row */
        float s = 0;
        for (k = 0; k < C; k++) s += grad[i * C + k];
        CHECK(fabsf(s) < 1e-6f, "softmax CE gradient row %d sums to %g, not 0", i, (double)s);
    }
    /* softmax agrees: the loss is the mean of -log p(label). */
    gan_softmax(logits, N, C, probs);
    {
        double expected = 0;
        for (i = 0; i < N; i++) {
            float s = 0;
            for (k = 0; k < C; k++) s += probs[i * C + k];
            CHECK(fabsf(s - 1) < 1e-6f, "softmax row %d sums to %g", i, (double)s);
            expected -= log(probs[i * C + labels[i]]) / N;
        }
        CHECK(fabs(expected - loss) < 1e-5, "softmax CE %g differs from mean -log softmax %g", (double)loss, expected);
    }
    /* softmax in place */
    memcpy(sentinel, logits, sizeof logits);
    gan_softmax(sentinel, N, C, sentinel);
    CHECK(memcmp(sentinel, probs, sizeof probs) == 0, "softmax in place differs from softmax into another buffer");

    /* Extreme logits: log-sum-exp keeps them finite and exact. */
    {
        const float big[3] = { 1e4f, -1e4f, 0 };
        const int l0 = 0, l1 = 1;
        float g[3], p[3];
        float a = gan_loss_softmax_ce(big, &l0, 1, 3, 1, g);
        CHECK(a >= 0 && a < 1e-30f, "CE with label on a logit of 1e4 is %g, should be 0", (double)a);
        CHECK(isfinite(g[0]) && isfinite(g[1]) && isfinite(g[2]), "CE gradient not finite for logits of 1e4");
        a = gan_loss_softmax_ce(big, &l1, 1, 3, 1, g);
        CHECK(a == 2e4f, "CE with label on a logit of -1e4 against 1e4 is %g, should be 20000", (double)a);
        CHECK(g[0] == 1 && g[1] == -1 && g[2] == 0, "CE gradient for extreme logits (%g %g %g), want (1 -1 0)",
              (double)g[0], (double)g[1], (double)g[2]);
        gan_softmax(big, 1, 3, p);
        CHECK(p[0] == 1 && p[1] == 0 && p[2] == 0, "softmax of (1e4, -1e4, 0) is (%g %g %g)", (double)p[0],
              (double)p[1], (double)p[2]);
    }
    /* Bad labels: -1 and grad untouched. */
    for (i = 0; i < N * C; i++) sentinel[i] = 123;
    memcpy(grad, sentinel, sizeof grad);
    CHECK(gan_loss_softmax_ce(logits, bad_labels, N, C, 1, grad) == -1, "a label equal to classes is not refused");
    CHECK(memcmp(grad, sentinel, sizeof grad) == 0, "a refused label still wrote the gradient");
    {
        const int negative[1] = { -1 };
        CHECK(gan_loss_softmax_ce(logits, negative, 1, C, 1, NULL) == -1, "a negative label is not refused");
        CHECK(gan_loss_softmax_ce(logits, labels, 0, C, 1, NULL) == -1, "n = 0 is not refused");
    }
}

/* ---- model files ---- */

static void test_model_files(void)
{
    gan_layer layers[6];
    gan_model *m, *back;
    gan_error err;
    unsigned char *buf, *buf2;
    size_t size, size2, cut;
    float x[8 * 3], out_a[8 * 2], out_b[8 * 2];
    const float *y;
    int i, refused = 0, wrong_error = 0;
    gan_rng rng;

    layers[0] = gan_dense(7);
    layers[1] = gan_batchnorm(1e-5f, 0.1f);
    layers[2] = gan_leaky_relu(0.2f);
    layers[3] = gan_dropout(0.3f);
    layers[4] = gan_dense(2);
    layers[5] = gan_activation(GAN_TANH);
    m = gan_model_new(3, layers, 6, 8, &err);
    CHECK(m != NULL, "model_new: %s", err.message);
    if (!m) return;
    gan_model_init(m, GAN_INIT_NORMAL, 0.5f, 11);
    gan_rng_seed(&rng, 3, 3);
    for (i = 0; i < 8 * 3; i++) x[i] = gan_rng_normal(&rng);
    /* Training-mode passes move the running statistics and the dropout generator away from
       their initial values, so the round trip has to carry them. */
    for (i = 0; i < 3; i++) gan_model_forward(m, x, 8, GAN_TRAIN, NULL, &err);

    size = gan_model_save_memory(m, NULL, 0, &err);
    CHECK(size > 16, "model_save_memory size query gave %lu", (unsigned long)size);
    buf = (unsigned char *)malloc(size);
    buf2 = (unsigned char *)malloc(size);
    if (!buf || !buf2) { CHECK(0, "out of memory"); free(buf); free(buf2); gan_model_free(m); return; }
    CHECK(gan_model_save_memory(m, buf, size - 1, &err) == 0 && err.code == GAN_ERR_ARGUMENT,
          "a buffer one byte short is not refused");
    CHECK(gan_model_save_memory(m, buf, size, &err) == size, "model_save_memory: %s", err.message);
    CHECK(memcmp(buf, "GANHMDL1", 8) == 0, "model file magic is not GANHMDL1");

    back = gan_model_load_memory(buf, size, &err);
    CHECK(back != NULL, "model_load_memory: %s", err.message);
    if (back) {
        CHECK(gan_model_num_params(back) == gan_model_num_params(m) &&
              memcmp(gan_model_params(back), gan_model_params(m), sizeof(float) * gan_model_num_params(m)) == 0,
              "loaded parameters differ");
        size2 = gan_model_save_memory(back, buf2, size, &err);
        CHECK(size2 == size && memcmp(buf, buf2, size) == 0, "saving the loaded model does not give the same bytes");
        /* Running statistics (eval) and the dropout generator (train) must both survive. */
        y = gan_model_forward(m, x, 8, GAN_EVAL, NULL, &err); memcpy(out_a, y, sizeof out_a);
        y = gan_model_forward(back, x, 8, GAN_EVAL, NULL, &err); memcpy(out_b, y, sizeof out_b);
        CHECK(memcmp(out_a, out_b, sizeof out_a) == 0, "eval outputs differ after a round trip");
        y = gan_model_forward(m, x, 8, GAN_TRAIN, NULL, &err); memcpy(out_a, y, sizeof out_a);
        y = gan_model_forward(back, x, 8, GAN_TRAIN, NULL, &err); memcpy(out_b, y, sizeof out_b);
        CHECK(memcmp(out_a, out_b, sizeof out_a) == 0, "train-mode (dropout) outputs differ after a round trip");
        gan_model_free(back);
    }
    /* Every truncation is refused, with a reason. */
    for (cut = 0; cut < size; cut++) {
        gan_model *t = gan_model_load_memory(buf, cut, &err);
        if (t) gan_model_free(t);
        else if (err.code == GAN_ERR_FORMAT && err.message[0]) refused++;
        else wrong_error++;
    }
    CHECK(refused == (int)size, "%d of %lu truncations refused (%d with the wrong error)", refused,
          (unsigned long)size, wrong_error);
    /* One flipped bit anywhere is caught by the CRC (or the magic). */
    {
        int caught = 0;
        size_t pos;
        for (pos = 0; pos < size; pos += 7) {
            gan_model *t;
            buf[pos] ^= 0x10;
            t = gan_model_load_memory(buf, size, &err);
            if (!t) caught++; else gan_model_free(t);
            buf[pos] ^= 0x10;
        }
        CHECK(caught == (int)((size + 6) / 7), "a flipped bit went unnoticed (%d of %lu caught)", caught,
              (unsigned long)((size + 6) / 7));
    }
    /* Extra bytes before a valid CRC: the fields end early, which the reader must notice. */
    {
        unsigned char *longer = (unsigned char *)malloc(size + 4);
        uint32_t crc;
        if (longer) {
            memcpy(longer, buf, size - 4);
            memset(longer + size - 4, 0, 4);
            crc = gan_crc32(0, longer, size);
            for (i = 0; i < 4; i++) longer[size + i] = (unsigned char)(crc >> (8 * i));
            CHECK(gan_model_load_memory(longer, size + 4, &err) == NULL && contains(err.message, "unexpected bytes"),
                  "a model file with 4 extra bytes (valid CRC) loaded: %s", err.message);
            free(longer);
        } else CHECK(0, "out of memory");
    }
    /* Damaged fields under a recomputed CRC reach the field checks: 1 to 3 random bytes,
       mostly in the header and layer list. Loads may succeed (a changed weight is still a
       model) but must not crash, and what loads must run. */
    {
        unsigned char *damaged = (unsigned char *)malloc(size);
        int it, accepted = 0, unexplained = 0;
        if (damaged) {
            gan_rng_seed(&rng, 4, 4);
            for (it = 0; it < 2000; it++) {
                gan_model *t;
                uint32_t crc;
                int k, flips = 1 + (int)gan_rng_below(&rng, 3);
                memcpy(damaged, buf, size);
                for (k = 0; k < flips; k++)
                    damaged[12 + gan_rng_below(&rng, gan_rng_below(&rng, 2) ? 200 : (uint32_t)(size - 16))] =
                        (unsigned char)gan_rng_u32(&rng);
                crc = gan_crc32(0, damaged, size - 4);
                for (k = 0; k < 4; k++) damaged[size - 4 + k] = (unsigned char)(crc >> (8 * k));
                if ((t = gan_model_load_memory(damaged, size, &err)) != NULL) {
                    accepted++;
                    if (gan_model_input_dim(t) <= 3) gan_model_forward(t, x, 1, GAN_EVAL, NULL, &err);
                    gan_model_free(t);
                } else if (!(err.code == GAN_ERR_FORMAT || err.code == GAN_ERR_MEMORY) || !err.message[0])
                    unexplained++;
            }
            printf("damaged model files: %d of 2000 loaded\n", accepted);
            CHECK(accepted < 1500 && unexplained == 0,
                  "damaged model files: %d of 2000 loaded, %d refused without GAN_ERR_FORMAT or a message",
                  accepted, unexplained);
            free(damaged);
        } else CHECK(0, "out of memory");
    }
    /* A checkpoint-kind magic is named as such. */
    memcpy(buf2, buf, size);
    memcpy(buf2, "GANHGEN1", 8);
    CHECK(gan_model_load_memory(buf2, size, &err) == NULL && contains(err.message, "another kind"),
          "a generator file loaded as a model: %s", err.message);

    /* Through a file (m has moved on since buf was written: save it afresh). */
    CHECK(gan_model_save_memory(m, buf, size, &err) == size, "model_save_memory: %s", err.message);
    CHECK(gan_model_save(m, SCRATCH "mnistlib-model.bin", &err) == GAN_OK, "model_save: %s", err.message);
    back = gan_model_load(SCRATCH "mnistlib-model.bin", &err);
    CHECK(back != NULL, "model_load: %s", err.message);
    if (back) {
        size2 = gan_model_save_memory(back, buf2, size, &err);
        CHECK(size2 == size && memcmp(buf, buf2, size) == 0, "model file round trip is not exact");
        gan_model_free(back);
    }
    CHECK(gan_model_load(SCRATCH "no-such-model.bin", &err) == NULL && err.code == GAN_ERR_IO,
          "a missing model file is not an I/O error");
    free(buf);
    free(buf2);
    gan_model_free(m);
}

/* ---- IDX files ---- */

static void test_idx_fixture(void)
{
    gan_idx images, labels;
    gan_error err;
    long total = 0, label_sum = 0;
    int i, k, counts[10] = { 0 };
    CHECK(gan_idx_load("tests/data/mnist100-images-idx3-ubyte", &images, &err) == GAN_OK, "%s", err.message);
    CHECK(gan_idx_load("tests/data/mnist100-labels-idx1-ubyte", &labels, &err) == GAN_OK, "%s", err.message);
    if (!images.data || !labels.data) { gan_idx_free(&images); gan_idx_free(&labels); return; }
    CHECK(images.ndim == 3 && images.dims[0] == 100 && images.dims[1] == 28 && images.dims[2] == 28 &&
          images.dims[3] == 0 && images.item_size == 784, "image file shape %d: %d x %d x %d, item %lu",
          images.ndim, images.dims[0], images.dims[1], images.dims[2], (unsigned long)images.item_size);
    CHECK(labels.ndim == 1 && labels.dims[0] == 100 && labels.item_size == 1, "label file shape %d: %d, item %lu",
          labels.ndim, labels.dims[0], (unsigned long)labels.item_size);
    /* Known values, read with /usr/bin/python3 from the fixture (= the first 100 of mnist10k):
       image 0 is a 7 with pixel sum 23277, image 1 a 0 (35388), image 99 a 0 (33874); all
       pixels sum to 2657847, all labels to 426, class counts 8 11 15 12 8 13 8 9 3 13. */
    {
        const int which[3] = { 0, 1, 99 }, label[3] = { 7, 0, 0 };
        const long sum[3] = { 23277, 35388, 33874 };
        for (k = 0; k < 3; k++) {
            long s = 0;
            for (i = 0; i < 784; i++) s += images.data[(size_t)which[k] * 784 + i];
            CHECK(s == sum[k] && labels.data[which[k]] == label[k], "item %d: label %d pixel sum %ld, want %d %ld",
                  which[k], labels.data[which[k]], s, label[k], sum[k]);
        }
    }
    for (i = 0; i < 78400; i++) total += images.data[i];
    for (i = 0; i < 100; i++) { label_sum += labels.data[i]; if (labels.data[i] < 10) counts[labels.data[i]]++; }
    CHECK(total == 2657847 && label_sum == 426, "pixel total %ld, label total %ld", total, label_sum);
    CHECK(counts[0] == 8 && counts[2] == 15 && counts[8] == 3 && counts[9] == 13, "class counts differ");
    gan_idx_free(&images);
    CHECK(images.data == NULL && images.ndim == 0, "idx_free does not clear the struct");
    gan_idx_free(&images);   /* twice is harmless */
    gan_idx_free(NULL);
    gan_idx_free(&labels);
    CHECK(gan_idx_load("tests/data/no-such-file", &labels, &err) == GAN_ERR_IO && labels.data == NULL,
          "a missing IDX file is not an I/O error");
}

/* Writes a big-endian u32. */
static void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

/* Expects buf (size bytes) refused as an IDX file with a message containing why. */
static void expect_idx_refused(const unsigned char *buf, size_t size, const char *why, const char *what)
{
    gan_idx idx;
    gan_error err;
    int rc = gan_idx_load_memory(buf, size, &idx, &err);
    CHECK(rc == GAN_ERR_FORMAT && idx.data == NULL && contains(err.message, why),
          "%s: rc %d, message \"%s\", want one with \"%s\"", what, rc, err.message, why);
    if (rc == GAN_OK) gan_idx_free(&idx);
}

static void test_idx_memory(void)
{
    /* A small (2, 3) file: header 00 00 08 02, dims 2 and 3, then 6 bytes. */
    unsigned char good[19], bad[64];
    gan_idx idx;
    gan_error err;
    size_t cut;
    int refused = 0;
    const int dims[3] = { 3, 2, 5 };
    unsigned char data[30];
    int i;
    memset(good, 0, sizeof good);
    good[2] = 0x08; good[3] = 2;
    be32(good + 4, 2); be32(good + 8, 3);
    for (i = 0; i < 6; i++) good[12 + i] = (unsigned char)(10 * i + 1);
    CHECK(gan_idx_load_memory(good, 18, &idx, &err) == GAN_OK, "small IDX: %s", err.message);
    CHECK(idx.ndim == 2 && idx.dims[0] == 2 && idx.dims[1] == 3 && idx.item_size == 3 && idx.data &&
          idx.data[0] == 1 && idx.data[5] == 51, "small IDX read wrong");
    gan_idx_free(&idx);
    /* Every truncation is refused (and says so), and so is one byte too many. */
    for (cut = 0; cut < 18; cut++) {
        if (gan_idx_load_memory(good, cut, &idx, &err) == GAN_ERR_FORMAT && contains(err.message, "truncated"))
            refused++;
        else gan_idx_free(&idx);
    }
    CHECK(refused == 18, "only %d of 18 truncations refused as truncated (last message: %s)", refused, err.message);
    expect_idx_refused(good, 19, "trailing", "one trailing byte");

    /* Corrupted headers, each refused for its own reason. */
    memcpy(bad, good, 18); bad[0] = 1;
    expect_idx_refused(bad, 18, "bad magic", "first byte 01");
    memcpy(bad, good, 18); bad[1] = 8;
    expect_idx_refused(bad, 18, "bad magic", "second byte 08");
    memcpy(bad, good, 18); bad[2] = 0x0d;  /* float elements */
    expect_idx_refused(bad, 18, "element type 0x0d", "type float");
    memcpy(bad, good, 18); bad[2] = 0x09;  /* signed bytes */
    expect_idx_refused(bad, 18, "element type 0x09", "type signed byte");
    memcpy(bad, good, 18); bad[3] = 0;
    expect_idx_refused(bad, 18, "0 dimensions", "ndim 0");
    memcpy(bad, good, 18); bad[3] = 5;
    expect_idx_refused(bad, 18, "5 dimensions", "ndim 5");
    memcpy(bad, good, 18); be32(bad + 8, 0);
    expect_idx_refused(bad, 18, "dimension 1 is 0", "a zero dimension");
    memcpy(bad, good, 18); be32(bad + 4, 0);
    expect_idx_refused(bad, 18, "dimension 0 is 0", "zero items");
    memcpy(bad, good, 18); be32(bad + 4, 0xffffffffu);
    expect_idx_refused(bad, 18, "outside", "a dimension of 2^32 - 1");
    memcpy(bad, good, 18); be32(bad + 8, 4);   /* 2 x 4 = 8 bytes, 6 present */
    expect_idx_refused(bad, 18, "truncated", "dimensions larger than the file");
    /* Four dimensions of 2^24: the product (2^96) overflows 64 bits; 32 data bytes present. */
    memset(bad, 0, sizeof bad);
    bad[2] = 0x08; bad[3] = 4;
    for (i = 0; i < 4; i++) be32(bad + 4 + 4 * i, 1u << 24);
    expect_idx_refused(bad, 52, "truncated", "dimensions whose product overflows");
    memcpy(bad, good, 18); bad[0] = 0x1f; bad[1] = 0x8b;
    expect_idx_refused(bad, 18, "gunzip", "gzip magic");
    expect_idx_refused(bad, 2, "gunzip", "gzip magic alone");
    CHECK(gan_idx_load_memory(NULL, 18, &idx, &err) == GAN_ERR_ARGUMENT, "NULL buffer not refused");

    /* Random damage: 1 to 3 random header bytes and a length 4 short to 4 long (random
       tail). Whatever is accepted must be self-consistent; the sanitizer build catches any
       read outside the buffer. */
    {
        gan_rng rng;
        int it, accepted = 0, broken = 0;
        gan_rng_seed(&rng, 1, 2);
        for (it = 0; it < 20000; it++) {
            const size_t n = 14 + gan_rng_below(&rng, 9);
            int k, flips = 1 + (int)gan_rng_below(&rng, 3);
            memcpy(bad, good, 18);
            for (k = 18; k < (int)sizeof bad; k++) bad[k] = (unsigned char)gan_rng_u32(&rng);
            for (k = 0; k < flips; k++) bad[gan_rng_below(&rng, 16)] = (unsigned char)gan_rng_u32(&rng);
            if (gan_idx_load_memory(bad, n, &idx, &err) == GAN_OK) {
                size_t count = 1;
                for (k = 0; k < idx.ndim; k++) count *= (size_t)idx.dims[k];
                if (count != n - 4 - 4 * (size_t)idx.ndim || count != idx.item_size * (size_t)idx.dims[0] ||
                    memcmp(idx.data, bad + 4 + 4 * idx.ndim, count) != 0) broken++;
                accepted++;
                gan_idx_free(&idx);
            }
        }
        CHECK(broken == 0, "%d of %d accepted damaged IDX files are inconsistent", broken, accepted);
    }

    /* Save, then load: the same shape and bytes. */
    for (i = 0; i < 30; i++) data[i] = (unsigned char)(i * 37 + 5);
    CHECK(gan_idx_save(SCRATCH "mnistlib-roundtrip-idx3-ubyte", data, 3, dims, &err) == GAN_OK, "idx_save: %s",
          err.message);
    CHECK(gan_idx_load(SCRATCH "mnistlib-roundtrip-idx3-ubyte", &idx, &err) == GAN_OK, "idx_load: %s", err.message);
    CHECK(idx.ndim == 3 && idx.dims[0] == 3 && idx.dims[1] == 2 && idx.dims[2] == 5 && idx.item_size == 10 &&
          idx.data && memcmp(idx.data, data, 30) == 0, "IDX save/load round trip differs");
    gan_idx_free(&idx);
    {
        const int zero[2] = { 3, 0 };
        CHECK(gan_idx_save(SCRATCH "mnistlib-bad-idx", data, 2, zero, &err) == GAN_ERR_ARGUMENT,
              "idx_save accepted a zero dimension");
        CHECK(gan_idx_save(SCRATCH "mnistlib-bad-idx", data, 5, dims, &err) == GAN_ERR_ARGUMENT,
              "idx_save accepted ndim 5");
    }
    /* A refused file names its path. */
    {
        /* A one-dimensional header of 4 items over 3 bytes. */
        unsigned char shortfile[11] = { 0, 0, 8, 1, 0, 0, 0, 4, 1, 2, 3 };
        gan_write_file_atomic(SCRATCH "mnistlib-short-idx", shortfile, sizeof shortfile, &err);
        CHECK(gan_idx_load(SCRATCH "mnistlib-short-idx", &idx, &err) == GAN_ERR_FORMAT &&
              contains(err.message, "mnistlib-short-idx") && contains(err.message, "truncated"),
              "a truncated IDX file: %s", err.message);
        CHECK(idx.ndim == 0 && idx.dims[0] == 0 && idx.data == NULL, "a refused IDX file left *out filled in");
    }
}

/* ---- PNG ---- */

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Decodes a PNG made of IHDR, IDAT chunk(s) and IEND holding a zlib stream of stored
   blocks; checks every CRC, the zlib header, each block's LEN/NLEN, the Adler-32 and the
   filter bytes. Returns the pixels (malloc'd) or NULL with *why set; *blocks gets the count. */
static unsigned char *png_decode(const unsigned char *png, size_t size, int *width, int *height, int *blocks,
                                 const char **why)
{
    static const unsigned char signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    unsigned char *zlib = NULL, *raw = NULL, *pixels = NULL;
    size_t pos = 8, zlen = 0, rlen = 0, zpos, k;
    int seen_iend = 0, seen_ihdr = 0, y, last = 0;
    uint32_t a = 1, b = 0;
    *blocks = 0;
    if (size < 8 || memcmp(png, signature, 8) != 0) { *why = "bad signature"; return NULL; }
    zlib = (unsigned char *)malloc(size);
    if (!zlib) { *why = "out of memory"; return NULL; }
    while (pos < size && !seen_iend) {
        uint32_t len;
        if (size - pos < 12) { *why = "chunk header truncated"; goto fail; }
        len = rd32(png + pos);
        if (len > size - pos - 12) { *why = "chunk overruns the file"; goto fail; }
        if (rd32(png + pos + 8 + len) != crc32_bitwise(0, png + pos + 4, len + 4)) { *why = "bad chunk CRC"; goto fail; }
        if (memcmp(png + pos + 4, "IHDR", 4) == 0) {
            const unsigned char *h = png + pos + 8;
            if (pos != 8 || len != 13) { *why = "IHDR misplaced or wrong length"; goto fail; }
            *width = (int)rd32(h); *height = (int)rd32(h + 4);
            if (h[8] != 8 || h[9] != 0 || h[10] != 0 || h[11] != 0 || h[12] != 0) { *why = "IHDR not 8-bit gray"; goto fail; }
            seen_ihdr = 1;
        } else if (memcmp(png + pos + 4, "IDAT", 4) == 0) {
            memcpy(zlib + zlen, png + pos + 8, len);
            zlen += len;
        } else if (memcmp(png + pos + 4, "IEND", 4) == 0) {
            if (len != 0) { *why = "IEND has data"; goto fail; }
            seen_iend = 1;
        } else { *why = "unexpected chunk"; goto fail; }
        pos += 12 + len;
    }
    if (!seen_ihdr || !seen_iend || pos != size) { *why = "missing IHDR/IEND or bytes after IEND"; goto fail; }
    /* zlib: CMF 0x78 (deflate, 32K window), FLG with no dictionary, a multiple of 31. */
    if (zlen < 6 || zlib[0] != 0x78 || (zlib[0] * 256 + zlib[1]) % 31 != 0 || (zlib[1] & 0x20)) {
        *why = "bad zlib header"; goto fail;
    }
    raw = (unsigned char *)malloc(zlen);
    if (!raw) { *why = "out of memory"; goto fail; }
    zpos = 2;
    while (!last) {
        unsigned len, nlen;
        if (zlen - zpos < 5 + 4) { *why = "deflate stream truncated"; goto fail; }
        if ((zlib[zpos] & 6) != 0) { *why = "not a stored block"; goto fail; }
        last = zlib[zpos] & 1;
        len = zlib[zpos + 1] | (unsigned)zlib[zpos + 2] << 8;
        nlen = zlib[zpos + 3] | (unsigned)zlib[zpos + 4] << 8;
        if ((len ^ 0xffffu) != nlen) { *why = "LEN and NLEN disagree"; goto fail; }
        zpos += 5;
        if (len > zlen - zpos - 4) { *why = "stored block overruns"; goto fail; }
        memcpy(raw + rlen, zlib + zpos, len);
        rlen += len; zpos += len;
        ++*blocks;
    }
    if (zpos + 4 != zlen) { *why = "bytes after the Adler-32"; goto fail; }
    for (k = 0; k < rlen; k++) { a = (a + raw[k]) % 65521; b = (b + a) % 65521; }
    if (rd32(zlib + zpos) != (b << 16 | a)) { *why = "bad Adler-32"; goto fail; }
    if (*width < 1 || *height < 1 || rlen != (size_t)*height * (size_t)(*width + 1)) { *why = "wrong data length"; goto fail; }
    pixels = (unsigned char *)malloc((size_t)*width * *height);
    if (!pixels) { *why = "out of memory"; goto fail; }
    for (y = 0; y < *height; y++) {
        const unsigned char *row = raw + (size_t)y * (*width + 1);
        if (row[0] != 0) { *why = "filter byte is not 0"; free(pixels); pixels = NULL; goto fail; }
        memcpy(pixels + (size_t)y * *width, row + 1, (size_t)*width);
    }
    *why = "";
fail:
    free(zlib);
    free(raw);
    return pixels;
}

/* Encodes, decodes and compares; returns the number of deflate blocks (0 on failure). */
static int png_round_trip(int width, int height, unsigned seed)
{
    const size_t n = (size_t)width * height;
    unsigned char *pixels = (unsigned char *)malloc(n), *png = NULL, *back = NULL;
    size_t need, got;
    int w = 0, h = 0, blocks = 0;
    const char *why = "";
    gan_error err;
    gan_rng rng;
    size_t k;
    if (!pixels) { CHECK(0, "out of memory"); return 0; }
    gan_rng_seed(&rng, seed, 5);
    for (k = 0; k < n; k++) pixels[k] = (unsigned char)gan_rng_below(&rng, 256);
    need = gan_png_encode_gray(pixels, width, height, NULL, 0, &err);
    png = (unsigned char *)malloc(need);
    if (!png) { CHECK(0, "out of memory"); free(pixels); return 0; }
    got = gan_png_encode_gray(pixels, width, height, png, need, &err);
    CHECK(got == need, "PNG %d x %d: encoded %lu bytes, size query said %lu (%s)", width, height,
          (unsigned long)got, (unsigned long)need, err.message);
    back = png_decode(png, got, &w, &h, &blocks, &why);
    CHECK(back != NULL, "PNG %d x %d does not decode: %s", width, height, why);
    if (back) {
        CHECK(w == width && h == height && memcmp(back, pixels, n) == 0, "PNG %d x %d decodes to %d x %d or other pixels",
              width, height, w, h);
        /* Stored blocks hold at most 65535 bytes and only the last may be short. */
        CHECK(blocks == (int)(((size_t)height * (width + 1) + 65534) / 65535), "PNG %d x %d: %d deflate blocks",
              width, height, blocks);
    }
    free(pixels); free(png); free(back);
    return back ? blocks : 0;
}

static void test_png(void)
{
    gan_error err;
    unsigned char px[4] = { 0, 64, 128, 255 }, small[64];
    size_t need;
    CHECK(png_round_trip(1, 1, 1) == 1, "1 x 1 PNG");
    CHECK(png_round_trip(28, 28, 2) == 1, "28 x 28 PNG");
    CHECK(png_round_trip(300, 300, 3) == 2, "300 x 300 PNG (90300 raw bytes) should take 2 blocks");
    /* Block boundaries at awkward places: exactly one full block (256 x 255 = 65535 raw
       bytes); a boundary at a row start (rows of 257 bytes, 255 rows per block); a boundary
       right after a filter byte (rows of 217, 302 rows + 1 byte = 65535); 2^16 raw bytes
       (the second block holds one byte); and a wide image whose rows span blocks. */
    CHECK(png_round_trip(256, 255, 4) == 1, "65535 raw bytes: one full block");
    CHECK(png_round_trip(256, 300, 5) == 2, "a block boundary at a row start");
    CHECK(png_round_trip(216, 400, 6) == 2, "a block boundary after a filter byte");
    CHECK(png_round_trip(255, 256, 7) == 2, "65536 raw bytes: a second block of one byte");
    CHECK(png_round_trip(70000, 2, 8) == 3, "rows longer than a block (140002 raw bytes)");

    need = gan_png_encode_gray(px, 2, 2, NULL, 0, &err);
    /* 8 signature + 25 IHDR + 12 + (2 zlib + 5 block + 6 raw + 4 Adler) IDAT + 12 IEND */
    CHECK(need == 74, "2 x 2 PNG needs %lu bytes, want 74", (unsigned long)need);
    CHECK(gan_png_encode_gray(px, 2, 2, small, need - 1, &err) == 0 && err.code == GAN_ERR_ARGUMENT,
          "a buffer one byte short is not refused");
    CHECK(gan_png_encode_gray(px, 0, 2, NULL, 0, &err) == 0 && err.code == GAN_ERR_ARGUMENT, "width 0 not refused");
    CHECK(gan_png_encode_gray(px, 2, -1, NULL, 0, &err) == 0, "height -1 not refused");
    /* Sides up to 2^24 are allowed but the scanlines may not pass 2^30 bytes (2^48 here). */
    CHECK(gan_png_encode_gray(px, 1 << 24, 1 << 24, NULL, 0, &err) == 0 && contains(err.message, "2^30"),
          "a 2^24 x 2^24 PNG is not refused: %s", err.message);
    CHECK(gan_png_encode_gray(px, (1 << 24) + 1, 1, NULL, 0, &err) == 0, "width 2^24 + 1 not refused");
    CHECK(gan_png_encode_gray(NULL, 2, 2, small, sizeof small, &err) == 0, "NULL pixels not refused");
    CHECK(gan_png_write_gray(SCRATCH "mnistlib-2x2.png", px, 2, 2, &err) == GAN_OK, "png_write_gray: %s", err.message);
    {
        size_t size;
        unsigned char *file = (unsigned char *)gan_read_file(SCRATCH "mnistlib-2x2.png", 1000, &size, &err);
        unsigned char mem[74];
        gan_png_encode_gray(px, 2, 2, mem, sizeof mem, &err);
        CHECK(file && size == 74 && memcmp(file, mem, 74) == 0, "the PNG file differs from the encoded buffer");
        free(file);
    }
}

static void test_image_grid(void)
{
    /* Two 2 x 3 images in a 2 x 2 grid with pad 1: (2*2 + 3, 2*3 + 3) = (7, 9). */
    enum { H = 7, W = 9 };
    float images[2 * 6] = { -1, 0, 1, -2, 2, 0.5f,   -0.5f, 0.999f, -0.999f, 0, 0, 0 };
    /* 255 (v + 1) / 2 rounded half up: -1 -> 0, 0 -> 127.5 -> 128, 1 -> 255, clamped outside,
       0.5 -> 191.25 -> 191, -0.5 -> 63.75 -> 64, 0.999 -> 254.87 -> 255, -0.999 -> 0.13 -> 0. */
    const unsigned char want0[6] = { 0, 128, 255, 0, 255, 191 }, want1[6] = { 64, 255, 0, 128, 128, 0 };
    unsigned char grid[H * W];
    int y, x, bad = 0, background = 1;
    images[11] = NAN;
    memset(grid, 77, sizeof grid);
    gan_image_grid(grid, images, 2, 2, 3, 2, 2, 1, -1, 1);
    for (y = 0; y < 2; y++)
        for (x = 0; x < 3; x++) {
            if (grid[(1 + y) * W + 1 + x] != want0[y * 3 + x]) bad++;
            if (grid[(1 + y) * W + 5 + x] != want1[y * 3 + x]) bad++;
        }
    CHECK(bad == 0, "image grid pixels: %d wrong (row 1: %d %d %d)", bad, grid[W + 1], grid[W + 2], grid[W + 3]);
    /* Everything outside the two tiles is background 0: pads and the two missing images. */
    for (y = 0; y < H; y++)
        for (x = 0; x < W; x++) {
            const int in_tile = y >= 1 && y < 3 && ((x >= 1 && x < 4) || (x >= 5 && x < 8));
            if (!in_tile && grid[y * W + x] != 0) background = 0;
        }
    CHECK(background, "image grid background is not 0 everywhere outside the tiles");
    /* More images than cells: the extra ones are left out, nothing is written past the grid. */
    {
        unsigned char one[2 * 2 + 1];
        float many[3 * 2 * 2];
        int i;
        for (i = 0; i < 12; i++) many[i] = 1;
        one[4] = 99;
        gan_image_grid(one, many, 3, 2, 2, 1, 1, 0, -1, 1);   /* 1 x 1 grid, no pad: (2, 2) */
        CHECK(one[0] == 255 && one[3] == 255 && one[4] == 99, "a 1 x 1 grid wrote outside its 4 bytes");
        one[0] = 5;
        gan_image_grid(one, many, 1, 2, 2, 1, 1, 0, 1, 1);     /* hi == lo: does nothing */
        CHECK(one[0] == 5, "gan_image_grid with hi == lo changed dst");
    }
    /* [0, 1] data: 0.5 -> 127.5 -> 128. */
    {
        float half[1] = { 0.5f };
        unsigned char px[1];
        gan_image_grid(px, half, 1, 1, 1, 1, 1, 0, 0, 1);
        CHECK(px[0] == 128, "0.5 in [0, 1] maps to %d, want 128", px[0]);
    }
}

/* ---- evaluation ---- */

/* max |A v_i - lambda_i v_i| over the eigenpairs, and max |V^T V - I|. */
static void eigen_residuals(const double *A, int n, const double *lambda, const double *V, double *res, double *orth)
{
    int i, j, k;
    *res = 0; *orth = 0;
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            double av = 0, vv = 0;
            for (k = 0; k < n; k++) { av += A[j * n + k] * V[k * n + i]; vv += V[k * n + i] * V[k * n + j]; }
            if (fabs(av - lambda[i] * V[j * n + i]) > *res) *res = fabs(av - lambda[i] * V[j * n + i]);
            if (fabs(vv - (i == j)) > *orth) *orth = fabs(vv - (i == j));
        }
}

static void test_eigen(void)
{
    enum { N = 20 };
    double A[N * N], V[N * N], lambda[N], res, orth, trace = 0, sum = 0;
    gan_error err;
    gan_rng rng;
    int i, j, sorted = 1;
    /* Diagonal: the eigenvalues sorted, the eigenvectors unit vectors. */
    {
        const double D[9] = { 3, 0, 0,  0, 1, 0,  0, 0, 2 };
        CHECK(gan_sym_eigen(D, 3, lambda, V, &err) == GAN_OK, "eigen diagonal: %s", err.message);
        CHECK(lambda[0] == 1 && lambda[1] == 2 && lambda[2] == 3, "diagonal eigenvalues %g %g %g", lambda[0],
              lambda[1], lambda[2]);
        CHECK(fabs(V[1 * 3 + 0]) == 1 && fabs(V[2 * 3 + 1]) == 1 && fabs(V[0 * 3 + 2]) == 1,
              "diagonal eigenvectors are not the unit vectors");
    }
    /* [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1) / sqrt 2 and (1, 1) / sqrt 2. */
    {
        const double B[4] = { 2, 1, 1, 2 };
        const double r = sqrt(0.5);
        CHECK(gan_sym_eigen(B, 2, lambda, V, &err) == GAN_OK, "eigen 2x2: %s", err.message);
        CHECK(fabs(lambda[0] - 1) < 1e-14 && fabs(lambda[1] - 3) < 1e-14, "2x2 eigenvalues %.17g %.17g", lambda[0],
              lambda[1]);
        CHECK(fabs(fabs(V[0]) - r) < 1e-14 && fabs(V[0] + V[2]) < 1e-14 && fabs(V[1] - V[3]) < 1e-14 &&
              fabs(fabs(V[1]) - r) < 1e-14, "2x2 eigenvectors (%g %g), (%g %g)", V[0], V[2], V[1], V[3]);
    }
    /* A random symmetric 20 x 20 (entries N(0, 1)): A v = lambda v to 1e-12 (the entries are
       O(1), the eigenvalues O(sqrt 20); double round-off leaves about 1e-14), V orthonormal,
       eigenvalues ascending, their sum the trace. */
    gan_rng_seed(&rng, 20, 20);
    for (i = 0; i < N; i++)
        for (j = 0; j <= i; j++) A[i * N + j] = A[j * N + i] = gan_rng_normal(&rng);
    CHECK(gan_sym_eigen(A, N, lambda, V, &err) == GAN_OK, "eigen 20x20: %s", err.message);
    eigen_residuals(A, N, lambda, V, &res, &orth);
    for (i = 0; i < N; i++) { trace += A[i * N + i]; sum += lambda[i]; if (i && lambda[i - 1] > lambda[i]) sorted = 0; }
    CHECK(res < 1e-12, "20x20: max |A v - lambda v| = %g", res);
    CHECK(orth < 1e-12, "20x20: max |V^T V - I| = %g", orth);
    CHECK(sorted && fabs(trace - sum) < 1e-12, "20x20: eigenvalues unsorted or sum %g != trace %g", sum, trace);
    /* Eigenvalues without eigenvectors are the same numbers. */
    {
        double lambda2[N];
        CHECK(gan_sym_eigen(A, N, lambda2, NULL, &err) == GAN_OK && memcmp(lambda, lambda2, sizeof lambda) == 0,
              "eigenvalues differ when eigenvectors are not asked for");
    }
    /* Repeated eigenvalues (5 I) and a rank-one matrix (u u^T: eigenvalues 0, 0, |u|^2). */
    {
        const double I5[9] = { 5, 0, 0, 0, 5, 0, 0, 0, 5 };
        const double U[9] = { 1, 2, 3, 2, 4, 6, 3, 6, 9 };
        CHECK(gan_sym_eigen(I5, 3, lambda, V, &err) == GAN_OK && lambda[0] == 5 && lambda[2] == 5, "5 I");
        CHECK(gan_sym_eigen(U, 3, lambda, V, &err) == GAN_OK && fabs(lambda[0]) < 1e-14 && fabs(lambda[1]) < 1e-14 &&
              fabs(lambda[2] - 14) < 1e-13, "u u^T eigenvalues %g %g %g, want 0 0 14", lambda[0], lambda[1], lambda[2]);
        eigen_residuals(U, 3, lambda, V, &res, &orth);
        CHECK(res < 1e-13 && orth < 1e-13, "u u^T eigenvectors: residual %g, orthogonality %g", res, orth);
    }
    {
        double bad[4] = { 1, 0, 0, 1 };
        bad[3] = NAN;
        CHECK(gan_sym_eigen(bad, 2, lambda, V, &err) != GAN_OK, "a NaN matrix is not refused");
        CHECK(gan_sym_eigen(bad, 0, lambda, V, &err) == GAN_ERR_ARGUMENT, "n = 0 is not refused");
    }
}

static void test_mean_cov(void)
{
    /* Reference values from numpy 1.24 (/usr/bin/python3): x.mean(0) and np.cov(x, rowvar=False). */
    const float x[5 * 3] = { 1, 2, 0.5f,  0.25f, -1, 3,  2, 0, -0.5f,  -1.5f, 1.25f, 1,  0.75f, 0.5f, 2 };
    const double mean_ref[3] = { 0.5, 0.55, 1.2 };
    const double cov_ref[9] = { 1.65625, -0.28124999999999994, -0.6874999999999999,
                                -0.28124999999999994, 1.3250000000000004, -0.7625,
                                -0.6874999999999999, -0.7625, 1.8249999999999997 };
    double mean[3], cov[9], worst = 0;
    gan_error err;
    int k;
    CHECK(gan_mean_cov(x, 5, 3, mean, cov, &err) == GAN_OK, "mean_cov: %s", err.message);
    for (k = 0; k < 3; k++) if (fabs(mean[k] - mean_ref[k]) > worst) worst = fabs(mean[k] - mean_ref[k]);
    for (k = 0; k < 9; k++) if (fabs(cov[k] - cov_ref[k]) > worst) worst = fabs(cov[k] - cov_ref[k]);
    /* The inputs are multiples of 1/4, exact in float; both sides compute in double, so only
       summation order separates them (a few ulps). */
    CHECK(worst < 1e-12, "mean_cov differs from numpy by %g", worst);
    CHECK(cov[1] == cov[3] && cov[2] == cov[6] && cov[5] == cov[7], "covariance is not exactly symmetric");
    CHECK(gan_mean_cov(x, 1, 3, mean, cov, &err) == GAN_ERR_ARGUMENT, "n = 1 is not refused");
}

static void test_frechet(void)
{
    enum { D = 10 };
    double mu1[D], mu2[D], S1[D * D], S2[D * D], G[D * D], fd, expected = 0;
    gan_error err;
    gan_rng rng;
    int i, j, k;
    /* A random covariance S = G G^T / D + 0.1 I (positive definite). */
    gan_rng_seed(&rng, 9, 9);
    for (i = 0; i < D * D; i++) G[i] = gan_rng_normal(&rng);
    for (i = 0; i < D; i++) {
        mu1[i] = gan_rng_normal(&rng);
        for (j = 0; j < D; j++) {
            double s = 0;
            for (k = 0; k < D; k++) s += G[i * D + k] * G[j * D + k];
            S1[i * D + j] = s / D + (i == j ? 0.1 : 0);
        }
    }
    /* Identical Gaussians: tr(2 S - 2 (S^2)^(1/2)) = 0 up to round-off of the two
       eigen-decompositions (about 1e-15 of tr S ~ 10 per entry; 1e-10 leaves room). */
    fd = gan_frechet_distance(mu1, S1, mu1, S1, D, &err);
    CHECK(fd >= 0 && fd < 1e-10, "FD of a Gaussian with itself is %g", fd);

    /* Diagonal Gaussians: sum (mu1 - mu2)^2 + sum (s1 + s2 - 2 sqrt(s1 s2)). */
    memset(S1, 0, sizeof S1);
    memset(S2, 0, sizeof S2);
    for (i = 0; i < D; i++) {
        const double s1 = 0.5 + i, s2 = 2.0 / (1 + i);
        mu1[i] = 0.1 * i; mu2[i] = -0.2 * i * i;
        S1[i * D + i] = s1; S2[i * D + i] = s2;
        expected += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + s1 + s2 - 2 * sqrt(s1 * s2);
    }
    fd = gan_frechet_distance(mu1, S1, mu2, S2, D, &err);
    CHECK(fabs(fd - expected) < 1e-10 * expected, "diagonal FD %.17g, closed form %.17g", fd, expected);

    /* A non-diagonal case. Reference 4.191226160098517 from numpy 1.24 (/usr/bin/python3), two
       ways that share nothing with gan.h's route: sum of sqrt of the eigenvalues of the
       non-symmetric S1 S2 (np.linalg.eigvals), and the trace of sqrtm(S1 S2) by Denman-Beavers
       iteration; they agree to 1e-15. */
    {
        const double m1[3] = { 0.5, -1.0, 2.0 }, m2[3] = { 0.0, 0.5, 1.0 };
        const double C1[9] = { 2.0, 0.3, -0.4,  0.3, 1.0, 0.2,  -0.4, 0.2, 0.5 };
        const double C2[9] = { 1.0, -0.5, 0.1,  -0.5, 1.5, 0.3,  0.1, 0.3, 0.8 };
        fd = gan_frechet_distance(m1, C1, m2, C2, 3, &err);
        CHECK(fabs(fd - 4.191226160098517) < 1e-12, "non-diagonal FD %.17g, numpy says 4.191226160098517", fd);
        /* symmetric in its two arguments */
        CHECK(fabs(gan_frechet_distance(m2, C2, m1, C1, 3, &err) - fd) < 1e-12, "FD is not symmetric");
    }
    /* From samples: two draws of the same Gaussian are close, a shifted one is far. Each
       covariance entry of a 2000-sample estimate errs by about 1/sqrt(2000) = 0.02, the mean
       by as much; the FD of two such estimates in 4 dimensions is about 4 * (2 / 2000) * 2
       = 0.01, so 0.1 is a safe bound; a shift of 1 in every coordinate adds 4. */
    {
        enum { S = 2000, E = 4 };
        float *a = (float *)malloc(sizeof(float) * S * E), *b = (float *)malloc(sizeof(float) * S * E);
        double ma[E], ca[E * E], mb[E], cb[E * E];
        if (a && b) {
            for (i = 0; i < S * E; i++) { a[i] = gan_rng_normal(&rng); b[i] = gan_rng_normal(&rng); }
            gan_mean_cov(a, S, E, ma, ca, &err);
            gan_mean_cov(b, S, E, mb, cb, &err);
            fd = gan_frechet_distance(ma, ca, mb, cb, E, &err);
            CHECK(fd >= 0 && fd < 0.1, "FD between two samples of N(0, I) is %g", fd);
            for (i = 0; i < S * E; i++) b[i] += 1;
            gan_mean_cov(b, S, E, mb, cb, &err);
            fd = gan_frechet_distance(ma, ca, mb, cb, E, &err);
            CHECK(fd > 3.5 && fd < 4.5, "FD between N(0, I) and N(1, I) in 4-D is %g, want about 4", fd);
        } else CHECK(0, "out of memory");
        free(a); free(b);
    }
    mu1[0] = NAN;
    CHECK(gan_frechet_distance(mu1, S1, mu2, S2, D, &err) == -1, "a NaN mean is not refused");
    CHECK(gan_frechet_distance(mu2, S1, mu2, S2, 0, &err) == -1, "d = 0 is not refused");
}

static void test_inception(void)
{
    enum { N = 1000, K = 10 };
    float *p = (float *)malloc(sizeof(float) * N * K);
    double is, std = -1;
    gan_error err;
    int i, k;
    if (!p) { CHECK(0, "out of memory"); return; }
    /* Confident and uniform over the classes: KL = log K for every x, so IS = K exactly in
       each of the 10 splits (each holds 10 of each class). */
    for (i = 0; i < N; i++) for (k = 0; k < K; k++) p[i * K + k] = (float)(k == i % K);
    is = gan_inception_score(p, N, K, 10, &std, &err);
    CHECK(fabs(is - K) < 1e-9 && std < 1e-9, "IS of confident uniform predictions is %g (std %g), want 10", is, std);
    /* All the same prediction: p(y|x) = p(y), KL = 0, IS = 1. */
    for (i = 0; i < N; i++) for (k = 0; k < K; k++) p[i * K + k] = (float)(k + 1) / 55;
    is = gan_inception_score(p, N, K, 10, &std, &err);
    CHECK(fabs(is - 1) < 1e-6, "IS of identical predictions is %g, want 1", is);
    for (i = 0; i < N; i++) for (k = 0; k < K; k++) p[i * K + k] = (float)(k == 3);
    is = gan_inception_score(p, N, K, 10, &std, &err);
    CHECK(fabs(is - 1) < 1e-12, "IS of one confident class is %g, want 1", is);
    /* By hand: rows (1, 0) and (0.5, 0.5): p(y) = (0.75, 0.25),
       KL = log(4/3) and 0.5 log(2/3) + 0.5 log 2, IS = exp of their mean. */
    {
        const float q[4] = { 1, 0, 0.5f, 0.5f };
        const double want = exp(0.5 * (log(4.0 / 3) + 0.5 * log(2.0 / 3) + 0.5 * log(2.0)));
        is = gan_inception_score(q, 2, 2, 1, &std, &err);
        CHECK(fabs(is - want) < 1e-12 && std == 0, "IS of (1, 0), (0.5, 0.5) is %.15g, want %.15g", is, want);
    }
    /* Two splits scoring 2 and 1: mean 1.5, std 0.5 (population, as the reference code's np.std). */
    {
        const float q[8] = { 1, 0, 0, 1,   1, 0, 1, 0 };
        is = gan_inception_score(q, 4, 2, 2, &std, &err);
        CHECK(fabs(is - 1.5) < 1e-12 && fabs(std - 0.5) < 1e-12, "two splits: IS %g std %g, want 1.5 0.5", is, std);
    }
    p[0] = 0.5f;   /* row 0 now sums to 1.5 */
    CHECK(gan_inception_score(p, N, K, 10, &std, &err) == -1 && contains(err.message, "sums"),
          "a row that does not sum to 1 is not refused: %s", err.message);
    p[0] = -0.1f;
    CHECK(gan_inception_score(p, N, K, 10, &std, &err) == -1, "a negative probability is not refused");
    CHECK(gan_inception_score(p, 5, K, 10, &std, &err) == -1, "n < splits is not refused");
    free(p);
}

int main(void)
{
    test_softmax_ce();
    test_model_files();
    test_idx_fixture();
    test_idx_memory();
    test_png();
    test_image_grid();
    test_eigen();
    test_mean_cov();
    test_frechet();
    test_inception();
    return check_summary();
}
