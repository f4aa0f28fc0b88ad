/* mnist.c - train a GAN on MNIST digits, sample from it, and score it, with gan.h.

     mnist train  --images F --out DIR [--epochs 30] [--batch 64] [--seed 1] [--resume] ...
     mnist sample --model DIR/generator.gan --n 10000 --out gen-idx3-ubyte [--grid gen.png]
     mnist score  --images REAL [--labels L] --gen GENERATED

   The default model and training are PyTorch-GAN's implementations/gan/gan.py:
     G: z (100, N(0, I)) -> 128 -> 256 -> 512 -> 1024 -> 784 tanh, LeakyReLU 0.2 after each
        hidden layer, BatchNorm (eps 0.8, momentum 0.1) after every hidden linear but the first;
     D: 784 -> 512 -> 256 -> 1 logit, LeakyReLU 0.2 (the sigmoid lives in the BCE loss);
     BCE (non-saturating G loss), D loss = (real + fake) / 2, Adam 2e-4 (0.5, 0.999) for both,
     batch 64, pixels scaled to [-1, 1], a G step then a D step on the same fakes.
   `mnist train --help` lists every flag; `--preset best` selects the best settings found.

   The score is the project's own quality measure (no Inception weights needed): a digit
   classifier trained with gan.h on the labelled real images; the Frechet distance between
   Gaussian fits of its penultimate features on real and on generated digits, its Inception
   score, and the histogram of the classes it predicts, next to the real-vs-real floor.

   Build: make build/mnist (with GAN_THREADS: --threads shares each step among the
   processors, with the same bits). Data: make mnist-data, or any MNIST-layout IDX files.
   Compiled with MNIST_NO_MAIN defined, this file is a library for tests/test_mnist.c. */
#define _POSIX_C_SOURCE 200809L   /* mkdir, clock_gettime, sigaction */
#define GAN_IMPLEMENTATION
#include "../gan.h"
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>    /* access */
#include <sys/types.h>
#include <time.h>

#define MNIST_MAX_HIDDEN 8
#define MNIST_GRID 10                 /* the sample grid is 10 x 10 */
#define MNIST_MAX_IMAGES (1 << 22)
#define MNIST_MAX_THREADS 1024

/* Fills err (which may be NULL) with code and a printf-style sentence; returns -1. */
static int mnist_fail(gan_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- options -------------------------------------------------------------------------- */

/* Everything `mnist train` can be told. The fields from z_dim down define the run and are
   saved in DIR/options.txt, from which --resume restores them. */
typedef struct mnist_train_opts {
    const char *images, *labels, *out;
    int epochs;          /* passes over the data */
    long steps;          /* > 0: stop after this many steps in all instead (tests, quick looks) */
    int limit;           /* > 0: use only the first `limit` images */
    int resume;
    int log_every;       /* progress line every this many steps; 0: quiet */
    int threads;         /* threads to share the work, 0: every processor; any number gives the
                            same bits (one thread unless gan.h is built with GAN_THREADS) */
    /* the run */
    unsigned long seed;
    int batch, z_dim;
    int g_hidden[MNIST_MAX_HIDDEN], n_g_hidden;
    int d_hidden[MNIST_MAX_HIDDEN], n_d_hidden;
    int g_batchnorm;     /* BatchNorm after every hidden linear of G but the first */
    float bn_eps, bn_momentum, slope, d_dropout;
    int loss, init;
    float lr_g, lr_d, beta1, beta2, real_label, d_loss_scale, clip;
    int g_first;
    float g_average;     /* > 0: samples and exports come from G's parameters averaged with this decay */
} mnist_train_opts;

static const char *const mnist_loss_names[GAN_LOSS_COUNT] = { "bce", "minimax", "wasserstein", "hinge",
                                                             "least-squares", "boundary-seeking" };
static const char *const mnist_init_names[3] = { "pytorch", "glorot", "normal" };

/* PyTorch-GAN gan.py, as described at the top of this file. */
static void mnist_preset_gan_py(mnist_train_opts *o)
{
    static const int g_hidden[4] = { 128, 256, 512, 1024 }, d_hidden[2] = { 512, 256 };
    o->seed = 1;
    o->batch = 64;
    o->z_dim = 100;
    memcpy(o->g_hidden, g_hidden, sizeof g_hidden); o->n_g_hidden = 4;
    memcpy(o->d_hidden, d_hidden, sizeof d_hidden); o->n_d_hidden = 2;
    o->g_batchnorm = 1;
    o->bn_eps = 0.8f;
    o->bn_momentum = 0.1f;
    o->slope = 0.2f;
    o->d_dropout = 0;
    o->loss = GAN_LOSS_NONSATURATING;
    o->init = GAN_INIT_PYTORCH;
    o->lr_g = o->lr_d = 2e-4f;
    o->beta1 = 0.5f;
    o->beta2 = 0.999f;
    o->real_label = 1;
    o->d_loss_scale = 0.5f;
    o->clip = 0;
    o->g_first = 1;
    o->g_average = 0;
}

/* The best settings found on the 10,000 digits in the time there was (README): gan.py's model
   and loss with Adam's learning rate raised to 1e-3 for G and D, batch 32, and samples drawn
   from G's parameters averaged with decay 0.998. Without the average the learning rate won
   5-epoch trials against label smoothing with dropout in D, the least-squares loss and batch
   32; with it, batch 32 gave the lowest 30-epoch Frechet distance, on every seed. */
static void mnist_preset_best(mnist_train_opts *o)
{
    mnist_preset_gan_py(o);
    o->lr_g = o->lr_d = 1e-3f;
    o->batch = 32;
    o->g_average = 0.998f;
}

void mnist_train_defaults(mnist_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 30;
    o->log_every = 50;
    mnist_preset_gan_py(o);
}

int mnist_apply_preset(mnist_train_opts *o, const char *name)
{
    if (strcmp(name, "gan.py") == 0) mnist_preset_gan_py(o);
    else if (strcmp(name, "best") == 0) mnist_preset_best(o);
    else return -1;
    return 0;
}

/* The range of each setting, for the command line and for options.txt alike. */
#define MNIST_RANGE_SEED 0, 2147483647L
#define MNIST_RANGE_BATCH 2, 65536
#define MNIST_RANGE_Z_DIM 1, 65536
#define MNIST_RANGE_FLAG 0, 1
#define MNIST_RANGE_BN_EPS 1e-12, 1e3
#define MNIST_RANGE_UNIT 0, 1                  /* BatchNorm momentum, leaky slope */
#define MNIST_RANGE_DROPOUT 0, 0.95
#define MNIST_RANGE_LR 1e-9, 10
#define MNIST_RANGE_BETA1 0, 0.9999
#define MNIST_RANGE_BETA2 0, 0.999999
#define MNIST_RANGE_REAL_LABEL 1e-3, 1
#define MNIST_RANGE_D_LOSS_SCALE 1e-3, 1000
#define MNIST_RANGE_CLIP 0, 1e5
#define MNIST_RANGE_G_AVERAGE 0, 0.999999

/* A whole string as a number in [lo, hi]; 0 on success. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *s, double lo, double hi, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = (float)v;
    return 0;
}

/* "128,256,512" -> {128, 256, 512}; -1 unless 1 to MNIST_MAX_HIDDEN sizes in [1, 65536]. */
static int mnist_parse_sizes(const char *s, int *sizes, int *n)
{
    *n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 65536 || *n == MNIST_MAX_HIDDEN) return -1;
        sizes[(*n)++] = (int)v;
        if (*end == ',' && end[1]) end++;   /* a comma must have a size after it */
        else if (*end) return -1;
        s = end;
    }
    return *n > 0 ? 0 : -1;
}

static void mnist_format_sizes(char *buf, size_t size, const int *sizes, int n)
{
    size_t len = 0;
    int i;
    buf[0] = 0;
    for (i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, i ? ",%d" : "%d", sizes[i]);
}

static int mnist_name_index(const char *const *names, int n, const char *name)
{
    int i;
    for (i = 0; i < n; i++) if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* The run's settings as "key value" lines: DIR/options.txt. */
static int mnist_write_options(const char *path, const mnist_train_opts *o, int n_images, gan_error *err)
{
    char buf[2048], g[128], d[128];
    int len;
    mnist_format_sizes(g, sizeof g, o->g_hidden, o->n_g_hidden);
    mnist_format_sizes(d, sizeof d, o->d_hidden, o->n_d_hidden);
    len = snprintf(buf, sizeof buf,
                   "images %d\nseed %lu\nbatch %d\nz-dim %d\ng-hidden %s\nd-hidden %s\ng-batchnorm %d\n"
                   "bn-eps %.9g\nbn-momentum %.9g\nslope %.9g\nd-dropout %.9g\nloss %s\ninit %s\n"
                   "lr-g %.9g\nlr-d %.9g\nbeta1 %.9g\nbeta2 %.9g\nreal-label %.9g\nd-loss-scale %.9g\n"
                   "clip %.9g\ng-first %d\ng-average %.9g\n",
                   n_images, o->seed, o->batch, o->z_dim, g, d, o->g_batchnorm, (double)o->bn_eps,
                   (double)o->bn_momentum, (double)o->slope, (double)o->d_dropout, mnist_loss_names[o->loss],
                   mnist_init_names[o->init], (double)o->lr_g, (double)o->lr_d, (double)o->beta1,
                   (double)o->beta2, (double)o->real_label, (double)o->d_loss_scale, (double)o->clip, o->g_first,
                   (double)o->g_average);
    return gan_write_file_atomic(path, buf, (size_t)len, err);
}

static int mnist_read_options(const char *path, mnist_train_opts *o, int *n_images, gan_error *err)
{
    size_t size;
    char *text = (char *)gan_read_file(path, 1 << 16, &size, err), *line, *next;
    int bad = 0;
    if (!text) return -1;
    *n_images = 0;
    for (line = text; line < text + size && !bad; line = next) {
        char key[32], value[128];
        long n = 0;
        next = line;
        while (next < text + size && *next != '\n') next++;
        if (next < text + size) *next++ = 0;
        if (sscanf(line, "%31s %127s", key, value) != 2) { bad = 1; break; }
        if (!strcmp(key, "images")) { bad = parse_long(value, 1, MNIST_MAX_IMAGES, &n); *n_images = (int)n; }
        else if (!strcmp(key, "seed")) { bad = parse_long(value, MNIST_RANGE_SEED, &n); o->seed = (unsigned long)n; }
        else if (!strcmp(key, "batch")) { bad = parse_long(value, MNIST_RANGE_BATCH, &n); o->batch = (int)n; }
        else if (!strcmp(key, "z-dim")) { bad = parse_long(value, MNIST_RANGE_Z_DIM, &n); o->z_dim = (int)n; }
        else if (!strcmp(key, "g-hidden")) bad = mnist_parse_sizes(value, o->g_hidden, &o->n_g_hidden);
        else if (!strcmp(key, "d-hidden")) bad = mnist_parse_sizes(value, o->d_hidden, &o->n_d_hidden);
        else if (!strcmp(key, "g-batchnorm")) { bad = parse_long(value, MNIST_RANGE_FLAG, &n); o->g_batchnorm = (int)n; }
        else if (!strcmp(key, "bn-eps")) bad = parse_float(value, MNIST_RANGE_BN_EPS, &o->bn_eps);
        else if (!strcmp(key, "bn-momentum")) bad = parse_float(value, MNIST_RANGE_UNIT, &o->bn_momentum);
        else if (!strcmp(key, "slope")) bad = parse_float(value, MNIST_RANGE_UNIT, &o->slope);
        else if (!strcmp(key, "d-dropout")) bad = parse_float(value, MNIST_RANGE_DROPOUT, &o->d_dropout);
        else if (!strcmp(key, "loss")) bad = (o->loss = mnist_name_index(mnist_loss_names, GAN_LOSS_COUNT, value)) < 0;
        else if (!strcmp(key, "init")) bad = (o->init = mnist_name_index(mnist_init_names, 3, value)) < 0;
        else if (!strcmp(key, "lr-g")) bad = parse_float(value, MNIST_RANGE_LR, &o->lr_g);
        else if (!strcmp(key, "lr-d")) bad = parse_float(value, MNIST_RANGE_LR, &o->lr_d);
        else if (!strcmp(key, "beta1")) bad = parse_float(value, MNIST_RANGE_BETA1, &o->beta1);
        else if (!strcmp(key, "beta2")) bad = parse_float(value, MNIST_RANGE_BETA2, &o->beta2);
        else if (!strcmp(key, "real-label")) bad = parse_float(value, MNIST_RANGE_REAL_LABEL, &o->real_label);
        else if (!strcmp(key, "d-loss-scale")) bad = parse_float(value, MNIST_RANGE_D_LOSS_SCALE, &o->d_loss_scale);
        else if (!strcmp(key, "clip")) bad = parse_float(value, MNIST_RANGE_CLIP, &o->clip);
        else if (!strcmp(key, "g-first")) { bad = parse_long(value, MNIST_RANGE_FLAG, &n); o->g_first = (int)n; }
        else if (!strcmp(key, "g-average")) bad = parse_float(value, MNIST_RANGE_G_AVERAGE, &o->g_average);
        else bad = 1;
    }
    free(text);
    if (bad || *n_images < 1) {
        mnist_fail(err, GAN_ERR_FORMAT, "%s: not an options file written by mnist train, or a value is out of range",
                   path);
        return -1;
    }
    return 0;
}

/* ---- data ----------------------------------------------------------------------------- */

/* Loads n images of (h, w) bytes from an IDX file as floats scaled to [-1, 1]:
   x = byte / 127.5 - 1, which is ToTensor() then Normalize([0.5], [0.5]). */
float *mnist_load_images(const char *path, int limit, int *n, int *h, int *w, gan_error *err)
{
    gan_idx idx;
    float *x;
    size_t k, count;
    if (gan_idx_load(path, &idx, err)) return NULL;
    if (idx.ndim != 3 || idx.dims[0] < 1 || idx.dims[0] > MNIST_MAX_IMAGES) {
        mnist_fail(err, GAN_ERR_FORMAT, "%s: expected an IDX file of images (3 dimensions: count, height, width)", path);
        gan_idx_free(&idx);
        return NULL;
    }
    *n = limit > 0 && limit < idx.dims[0] ? limit : idx.dims[0];
    *h = idx.dims[1];
    *w = idx.dims[2];
    count = (size_t)*n * idx.item_size;
    x = (float *)malloc(sizeof(float) * count);
    if (!x) {
        mnist_fail(err, GAN_ERR_MEMORY, "%s: out of memory", path);
        gan_idx_free(&idx);
        return NULL;
    }
    for (k = 0; k < count; k++) x[k] = (float)idx.data[k] / 127.5f - 1.0f;
    gan_idx_free(&idx);
    return x;
}

/* Labels 0-9 from an IDX file; exactly n expected (the first n if the file has more). */
int *mnist_load_labels(const char *path, int n, gan_error *err)
{
    gan_idx idx;
    int *y, i;
    if (gan_idx_load(path, &idx, err)) return NULL;
    if (idx.ndim != 1 || idx.dims[0] < n) {
        mnist_fail(err, GAN_ERR_FORMAT, "%s: expected an IDX file of at least %d labels (1 dimension)", path, n);
        gan_idx_free(&idx);
        return NULL;
    }
    y = (int *)malloc(sizeof(int) * (size_t)n);
    if (!y) { gan_idx_free(&idx); mnist_fail(err, GAN_ERR_MEMORY, "labels: out of memory"); return NULL; }
    for (i = 0; i < n; i++) {
        y[i] = idx.data[i];
        if (y[i] > 9) {
            mnist_fail(err, GAN_ERR_FORMAT, "%s: label %d of item %d is not a digit", path, y[i], i);
            free(y); gan_idx_free(&idx);
            return NULL;
        }
    }
    gan_idx_free(&idx);
    return y;
}

/* The standard MNIST names pair "...images-idx3-ubyte" with "...labels-idx1-ubyte". */
int mnist_default_labels(const char *images, char *labels, size_t size)
{
    const char *p = strstr(images, "images-idx3");
    if (!p || strlen(images) + 1 > size) return -1;
    memcpy(labels, images, (size_t)(p - images));
    strcpy(labels + (p - images), "labels-idx1");
    strcat(labels, p + strlen("images-idx3"));
    return 0;
}

/* Epoch-based minibatches: epoch e visits the images in the order of a permutation drawn
   from the seed and e alone, batch after batch; the last batch of an epoch is topped up from
   the start of the same permutation (ceil(n / batch) steps per epoch, as a PyTorch
   DataLoader without drop_last counts them). The position comes from the trainer's
   iteration counter, so a run resumed from a checkpoint reads exactly the same batches. */
typedef struct mnist_data {
    const float *images;  /* (n, dim) in [-1, 1] */
    int n, dim, batch, steps_per_epoch;
    unsigned long seed;
    int *perm;            /* (n): the current epoch's order */
    long perm_epoch;      /* which epoch perm belongs to; -1: none yet */
    const gan *g;
} mnist_data;

static void mnist_permutation(int *perm, int n, unsigned long seed, long epoch)
{
    gan_rng r;
    int i;
    gan_rng_seed(&r, seed, 0x64617461u + (uint64_t)epoch);
    for (i = 0; i < n; i++) perm[i] = i;
    for (i = n - 1; i > 0; i--) {   /* Fisher-Yates */
        int j = (int)gan_rng_below(&r, (uint32_t)i + 1), t = perm[i];
        perm[i] = perm[j]; perm[j] = t;
    }
}

static int mnist_next_batch(void *user, float *out, int batch, gan_rng *rng)
{
    mnist_data *d = (mnist_data *)user;
    const uint64_t step = gan_iterations(d->g);
    const long epoch = (long)(step / (uint64_t)d->steps_per_epoch);
    const long first = (long)(step % (uint64_t)d->steps_per_epoch) * batch;
    int i;
    (void)rng;
    if (epoch != d->perm_epoch) { mnist_permutation(d->perm, d->n, d->seed, epoch); d->perm_epoch = epoch; }
    for (i = 0; i < batch; i++)
        memcpy(out + (size_t)i * d->dim, d->images + (size_t)d->perm[(first + i) % d->n] * d->dim,
               sizeof(float) * (size_t)d->dim);
    return 0;
}

/* ---- models --------------------------------------------------------------------------- */

/* G: per hidden size h: dense(h) [BatchNorm unless first] LeakyReLU; then dense(out), tanh.
   D: per hidden size h: dense(h) LeakyReLU [dropout]; then dense(1), the logit. */
static int mnist_build(const mnist_train_opts *o, int data_dim, gan_model **G, gan_model **D, gan_error *err)
{
    gan_layer gl[3 * MNIST_MAX_HIDDEN + 2], dl[3 * MNIST_MAX_HIDDEN + 1];
    int i, ng = 0, nd = 0;
    for (i = 0; i < o->n_g_hidden; i++) {
        gl[ng++] = gan_dense(o->g_hidden[i]);
        if (o->g_batchnorm && i > 0) gl[ng++] = gan_batchnorm(o->bn_eps, o->bn_momentum);
        gl[ng++] = gan_leaky_relu(o->slope);
    }
    gl[ng++] = gan_dense(data_dim);
    gl[ng++] = gan_activation(GAN_TANH);
    for (i = 0; i < o->n_d_hidden; i++) {
        dl[nd++] = gan_dense(o->d_hidden[i]);
        dl[nd++] = gan_leaky_relu(o->slope);
        if (o->d_dropout > 0) dl[nd++] = gan_dropout(o->d_dropout);
    }
    dl[nd++] = gan_dense(1);
    *D = NULL;
    *G = gan_model_new(o->z_dim, gl, ng, o->batch, err);
    if (*G) *D = gan_model_new(data_dim, dl, nd, o->batch, err);
    if (!*D) { gan_model_free(*G); *G = NULL; return -1; }
    gan_model_init(*G, o->init, 0.02f, (uint64_t)o->seed * 4 + 1);
    gan_model_init(*D, o->init, 0.02f, (uint64_t)o->seed * 4 + 2);
    return 0;
}

static gan *mnist_new_trainer(const mnist_train_opts *o, int data_dim, gan_error *err)
{
    gan_model *G, *D;
    gan_train_config cfg = gan_train_defaults(o->z_dim, o->batch);
    gan_optim_config og = gan_adam(o->lr_g, o->beta1, o->beta2), od = gan_adam(o->lr_d, o->beta1, o->beta2);
    gan *g;
    cfg.noise = GAN_NOISE_NORMAL;
    cfg.loss = o->loss;
    cfg.g_first = o->g_first;
    cfg.real_label = o->real_label;
    cfg.d_loss_scale = o->d_loss_scale;
    cfg.clip = o->clip;
    cfg.g_average = o->g_average;
    if (mnist_build(o, data_dim, &G, &D, err)) return NULL;
    g = gan_new(G, D, &og, &od, &cfg, (uint64_t)o->seed * 4 + 3, err);
    if (!g) { gan_model_free(G); gan_model_free(D); }
    return g;
}

/* Runs G in eval mode on n given noise vectors z (n, z_dim): out (n, dim). */
static int mnist_generate_from(gan_model *G, const float *z, int n, float *out, gan_error *err)
{
    const int zd = gan_model_input_dim(G), od = gan_model_output_dim(G), mb = gan_model_max_batch(G);
    int done;
    for (done = 0; done < n; done += mb) {
        const int b = n - done < mb ? n - done : mb;
        const float *y = gan_model_forward(G, z + (size_t)done * zd, b, GAN_EVAL, NULL, err);
        if (!y) return -1;
        memcpy(out + (size_t)done * od, y, sizeof(float) * (size_t)b * od);
    }
    return 0;
}

/* Writes images (n, h, w) in [-1, 1] as a 10 x 10 grid PNG with 2 pixels of padding. */
static int mnist_write_grid(const char *path, const float *images, int n, int h, int w, gan_error *err)
{
    const int pad = 2, gh = MNIST_GRID * h + (MNIST_GRID + 1) * pad, gw = MNIST_GRID * w + (MNIST_GRID + 1) * pad;
    unsigned char *pixels = (unsigned char *)malloc((size_t)gh * gw);
    int rc;
    if (!pixels) { mnist_fail(err, GAN_ERR_MEMORY, "grid: out of memory"); return -1; }
    gan_image_grid(pixels, images, n, h, w, MNIST_GRID, MNIST_GRID, pad, -1.0f, 1.0f);
    rc = gan_png_write_gray(path, pixels, gw, gh, err);
    free(pixels);
    return rc;
}

/* ---- the loss log --------------------------------------------------------------------- */

/* One row per training step: the gan_stats of that step. */
typedef struct mnist_log {
    float *rows;          /* (n, 4): d_loss, g_loss, d_real, d_fake */
    long n, cap;
} mnist_log;

static int mnist_log_add(mnist_log *l, const gan_stats *s)
{
    if (l->n == l->cap) {
        long cap = l->cap ? 2 * l->cap : 1024;
        float *r = (float *)realloc(l->rows, sizeof(float) * 4 * (size_t)cap);
        if (!r) return -1;
        l->rows = r; l->cap = cap;
    }
    l->rows[4 * l->n + 0] = s->d_loss;
    l->rows[4 * l->n + 1] = s->g_loss;
    l->rows[4 * l->n + 2] = s->d_real;
    l->rows[4 * l->n + 3] = s->d_fake;
    l->n++;
    return 0;
}

/* losses.csv: "step,epoch,d_loss,g_loss,d_real,d_fake", step counted from 1. Values are
   printed with 9 significant digits, so a resumed run re-reads them exactly. */
static int mnist_log_write(const mnist_log *l, const char *path, int steps_per_epoch, gan_error *err)
{
    size_t cap = 64 + (size_t)l->n * 96, len;
    char *buf = (char *)malloc(cap);
    long i;
    int rc;
    if (!buf) { mnist_fail(err, GAN_ERR_MEMORY, "losses.csv: out of memory"); return -1; }
    len = (size_t)sprintf(buf, "step,epoch,d_loss,g_loss,d_real,d_fake\n");
    for (i = 0; i < l->n; i++) {
        const float *r = l->rows + 4 * i;
        len += (size_t)sprintf(buf + len, "%ld,%ld,%.9g,%.9g,%.9g,%.9g\n", i + 1, i / steps_per_epoch + 1,
                               (double)r[0], (double)r[1], (double)r[2], (double)r[3]);
    }
    rc = gan_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* Reads the first max_rows rows of a losses.csv back; 0 on success. */
int mnist_log_read(mnist_log *l, const char *path, long max_rows, gan_error *err)
{
    size_t size;
    char *text = (char *)gan_read_file(path, (size_t)1 << 30, &size, err), *p, *end;
    if (!text) return -1;
    p = strchr(text, '\n');
    end = text + size;
    while (p && p + 1 < end && l->n < max_rows) {
        gan_stats s;
        long step, epoch;
        double v[4];
        p++;
        if (sscanf(p, "%ld,%ld,%lf,%lf,%lf,%lf", &step, &epoch, &v[0], &v[1], &v[2], &v[3]) != 6 || step != l->n + 1) {
            free(text);
            mnist_fail(err, GAN_ERR_FORMAT, "%s: row %ld is not a step row", path, l->n + 1);
            return -1;
        }
        s.d_loss = (float)v[0]; s.g_loss = (float)v[1]; s.d_real = (float)v[2]; s.d_fake = (float)v[3];
        if (mnist_log_add(l, &s)) { free(text); return -1; }
        p = strchr(p, '\n');
    }
    free(text);
    return 0;
}

/* losses.svg: D and G loss, mean over each window of `window` steps, against the step. */
static int mnist_log_plot(const mnist_log *l, const char *path, int window, const mnist_train_opts *o)
{
    const long n = l->n / window;
    float *x = (float *)malloc(sizeof(float) * 3 * (size_t)(n > 0 ? n : 1)), *yd = x + n, *yg = yd + n;
    plot_series s[2];
    plot_ref refs[1];
    plot_chart c;
    char title[128];
    long i, k;
    int rc;
    if (!x) return -1;
    for (i = 0; i < n; i++) {
        double sd = 0, sg = 0;
        for (k = i * window; k < (i + 1) * window; k++) { sd += l->rows[4 * k]; sg += l->rows[4 * k + 1]; }
        x[i] = (float)((i + 1) * window);
        yd[i] = (float)(sd / window);
        yg[i] = (float)(sg / window);
    }
    s[0].label = "D loss"; s[0].x = x; s[0].y = yd; s[0].n = (int)n; s[0].color = NULL;
    s[1].label = "G loss"; s[1].x = x; s[1].y = yg; s[1].n = (int)n; s[1].color = NULL;
    refs[0].y = 0.693147; refs[0].label = "ln 2 (equilibrium of the BCE losses)";
    snprintf(title, sizeof title, "MNIST GAN losses (mean over %d steps), %s loss", window, mnist_loss_names[o->loss]);
    c = plot_chart_defaults(title, "step", "loss");
    rc = plot_line_chart(path, &c, s, 2, refs, o->loss == GAN_LOSS_NONSATURATING || o->loss == GAN_LOSS_MINIMAX);
    free(x);
    return rc;
}

/* ---- training ------------------------------------------------------------------------- */

static volatile sig_atomic_t mnist_interrupted;

static void mnist_on_sigint(int sig)
{
    (void)sig;
    mnist_interrupted = 1;
}

static double mnist_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void mnist_path(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

/* Everything written at the end of an epoch or on Ctrl-C: the loss log, the checkpoint, the
   generator export and the loss curve; the sample grid only at epoch ends. The log goes
   first: a resume reads as many of its rows as the checkpoint has steps, so a log ahead of the
   checkpoint (a save that stopped between the two) resumes, and one behind it would not. */
static int mnist_save_all(gan *g, const mnist_train_opts *o, const mnist_log *log, int steps_per_epoch,
                          const float *grid_z, float *grid_x, int h, int w, int epoch_done, gan_error *err)
{
    char path[2048];   /* below plot_save's 4096, so that gcc sees its ".tmp" always fits */
    mnist_path(path, sizeof path, o->out, "losses.csv");
    if (mnist_log_write(log, path, steps_per_epoch, err)) return -1;
    mnist_path(path, sizeof path, o->out, "checkpoint.gan");
    if (gan_save(g, path, err)) return -1;
    mnist_path(path, sizeof path, o->out, "generator.gan");
    if (gan_save_generator(g, path, err)) return -1;
    mnist_path(path, sizeof path, o->out, "losses.svg");
    if (mnist_log_plot(log, path, steps_per_epoch < 50 ? steps_per_epoch : 50, o)) {
        mnist_fail(err, GAN_ERR_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (epoch_done > 0) {
        char name[64];
        gan_model *S = gan_sampling_generator(g, err);   /* G, or G averaged (--g-average) */
        const int failed = !S || mnist_generate_from(S, grid_z, MNIST_GRID * MNIST_GRID, grid_x, err);
        gan_model_free(S);
        if (failed) return -1;
        sprintf(name, "samples-epoch-%03d.png", epoch_done);
        mnist_path(path, sizeof path, o->out, name);
        if (mnist_write_grid(path, grid_x, MNIST_GRID * MNIST_GRID, h, w, err)) return -1;
    }
    return 0;
}

static void mnist_duration(char *buf, size_t size, double seconds)
{
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
}

/* mnist train. Returns 0 on success (also when stopped by Ctrl-C after saving), else 1. */
int mnist_train(mnist_train_opts *o)
{
    char path[4096];
    gan_error err;
    float *images = NULL, *grid_z = NULL, *grid_x = NULL;
    int n = 0, h = 0, w = 0, n_saved = 0, rc = 1, steps_per_epoch;
    long total, start_step;
    gan *g = NULL;
    mnist_data data;
    mnist_log log;
    gan_rng grid_rng;
    struct sigaction sa, old_sa;
    double t0, saving = 0;    /* saving: seconds spent writing what each epoch leaves */
    gan_stats sum;
    int since_print = 0, threads;

    memset(&log, 0, sizeof log);
    memset(&data, 0, sizeof data);
    if (mkdir(o->out, 0777) && errno != EEXIST) {
        fprintf(stderr, "mnist train: cannot create --out %s: %s\n", o->out, strerror(errno));
        return 1;
    }
    {   /* --out must be a directory, and a fresh run must not overwrite another run's files */
        struct stat st;
        mnist_path(path, sizeof path, o->out, "checkpoint.gan");
        if (stat(o->out, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "mnist train: --out %s is not a directory\n", o->out);
            return 1;
        }
        if (!o->resume && stat(path, &st) == 0) {
            fprintf(stderr, "mnist train: --out %s already holds a run (checkpoint.gan): add --resume to continue "
                            "it, or give another --out to start afresh\n", o->out);
            return 1;
        }
    }
    if (o->resume) {
        mnist_train_opts saved = *o;
        mnist_path(path, sizeof path, o->out, "options.txt");
        if (mnist_read_options(path, &saved, &n_saved, &err)) { fprintf(stderr, "mnist train --resume: %s\n", err.message); return 1; }
        *o = saved;
    }
    images = mnist_load_images(o->images, o->resume ? n_saved : o->limit, &n, &h, &w, &err);
    if (!images) { fprintf(stderr, "mnist train: %s\n", err.message); return 1; }
    if (o->resume && n != n_saved) {
        fprintf(stderr, "mnist train --resume: %s has %d images, the run used %d\n", o->images, n, n_saved);
        goto done;
    }
    if (o->labels) {   /* checked now; the labels drive nothing until --conditional exists */
        int *labels = mnist_load_labels(o->labels, n, &err);
        if (!labels) { fprintf(stderr, "mnist train: %s\n", err.message); goto done; }
        free(labels);
    }
    if (n < o->batch) { fprintf(stderr, "mnist train: %d images is fewer than one batch of %d\n", n, o->batch); goto done; }
    steps_per_epoch = (n + o->batch - 1) / o->batch;
    total = o->steps > 0 ? o->steps : (long)o->epochs * steps_per_epoch;

    if (o->resume) {
        mnist_path(path, sizeof path, o->out, "checkpoint.gan");
        g = gan_load(path, &err);
        if (!g) { fprintf(stderr, "mnist train --resume: %s\n", err.message); goto done; }
        if (gan_model_output_dim(gan_generator(g)) != h * w || gan_config(g)->batch != o->batch) {
            fprintf(stderr, "mnist train --resume: %s does not match %s/options.txt\n", path, o->out);
            goto done;
        }
        mnist_path(path, sizeof path, o->out, "losses.csv");
        if (mnist_log_read(&log, path, (long)gan_iterations(g), &err)) { fprintf(stderr, "mnist train --resume: %s\n", err.message); goto done; }
        if (log.n != (long)gan_iterations(g)) {
            fprintf(stderr, "mnist train --resume: %s has %ld rows, the checkpoint %lu steps\n", path, log.n,
                    (unsigned long)gan_iterations(g));
            goto done;
        }
    } else {
        g = mnist_new_trainer(o, h * w, &err);
        if (!g) { fprintf(stderr, "mnist train: %s\n", err.message); goto done; }
        mnist_path(path, sizeof path, o->out, "options.txt");
        if (mnist_write_options(path, o, n, &err)) { fprintf(stderr, "mnist train: %s\n", err.message); goto done; }
    }

    /* The fixed noise batch behind every sample grid, from its own generator. */
    grid_z = (float *)malloc(sizeof(float) * MNIST_GRID * MNIST_GRID * ((size_t)o->z_dim + (size_t)h * w));
    data.perm = (int *)malloc(sizeof(int) * (size_t)n);
    if (!grid_z || !data.perm) { fprintf(stderr, "mnist train: out of memory\n"); goto done; }
    grid_x = grid_z + MNIST_GRID * MNIST_GRID * o->z_dim;
    gan_rng_seed(&grid_rng, o->seed, 0x67726964u);
    { int k; for (k = 0; k < MNIST_GRID * MNIST_GRID * o->z_dim; k++) grid_z[k] = gan_rng_normal(&grid_rng); }

    data.images = images; data.n = n; data.dim = h * w; data.batch = o->batch;
    data.steps_per_epoch = steps_per_epoch; data.seed = o->seed; data.perm_epoch = -1; data.g = g;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mnist_on_sigint;
    sigemptyset(&sa.sa_mask);
    mnist_interrupted = 0;
    sigaction(SIGINT, &sa, &old_sa);

    {   /* G and D share one pool of threads (gan_new); the sample grids' G takes G's count */
        const int want = o->threads > 0 ? o->threads : MNIST_MAX_THREADS;
        threads = gan_model_set_threads(gan_generator(g), want);
        gan_model_set_threads(gan_discriminator(g), want);
    }
    start_step = (long)gan_iterations(g);
    if (o->log_every > 0)
        printf("mnist train: %d images of %dx%d, %d steps per epoch, %s from step %ld to %ld (epoch %ld), "
               "%d thread%s\n", n, h, w, steps_per_epoch, start_step ? "resuming" : "training", start_step, total,
               (total + steps_per_epoch - 1) / steps_per_epoch, threads, threads > 1 ? "s" : "");
    t0 = mnist_now();
    memset(&sum, 0, sizeof sum);
    while ((long)gan_iterations(g) < total) {
        gan_stats st;
        long step;
        if (gan_train_step(g, mnist_next_batch, &data, &st, &err)) { fprintf(stderr, "mnist train: %s\n", err.message); goto restore; }
        if (mnist_log_add(&log, &st)) { fprintf(stderr, "mnist train: out of memory\n"); goto restore; }
        step = (long)gan_iterations(g);
        sum.d_loss += st.d_loss; sum.g_loss += st.g_loss; sum.d_real += st.d_real; sum.d_fake += st.d_fake;
        since_print++;
        if (o->log_every > 0 && (step % o->log_every == 0 || step % steps_per_epoch == 0 || step == total)) {
            const double now = mnist_now(), rate = (double)(step - start_step) / (now - t0);
            char left[32];
            mnist_duration(left, sizeof left, (double)(total - step) / rate);
            printf("epoch %3ld/%ld  step %6ld/%ld  D loss %.4f  G loss %.4f  D(x) %.3f  D(G(z)) %.3f  %6.1f steps/s  "
                   "%s left\n", (step - 1) / steps_per_epoch + 1, (total + steps_per_epoch - 1) / steps_per_epoch,
                   step, total, sum.d_loss / since_print, sum.g_loss / since_print, sum.d_real / since_print,
                   sum.d_fake / since_print, rate, left);
            fflush(stdout);
            memset(&sum, 0, sizeof sum);
            since_print = 0;
        }
        if (step % steps_per_epoch == 0 || step == total || mnist_interrupted) {
            const int epoch_done = step % steps_per_epoch == 0 ? (int)(step / steps_per_epoch) : 0;
            const double save_start = mnist_now();
            if (mnist_save_all(g, o, &log, steps_per_epoch, grid_z, grid_x, h, w, epoch_done, &err)) {
                fprintf(stderr, "mnist train: %s\n", err.message);
                goto restore;
            }
            saving += mnist_now() - save_start;
            if (mnist_interrupted) {
                printf("mnist train: interrupted after step %ld; saved %s/checkpoint.gan (continue with --resume)\n",
                       step, o->out);
                break;
            }
        }
    }
    if (start_step >= total && o->log_every > 0)
        printf("mnist train: the checkpoint is at step %ld already; nothing to do\n", start_step);
    else if (o->log_every > 0 && !mnist_interrupted) {
        const double seconds = mnist_now() - t0;
        printf("mnist train: done, %ld steps in %.1f s (%.2f steps/s, saving included; %.2f steps/s training alone, "
               "%.1f s saving); generator in %s/generator.gan\n", total - start_step, seconds,
               (double)(total - start_step) / seconds, (double)(total - start_step) / (seconds - saving), saving,
               o->out);
    }
    rc = 0;
restore:
    sigaction(SIGINT, &old_sa, NULL);
done:
    gan_free(g);
    free(images);
    free(grid_z);
    free(data.perm);
    free(log.rows);
    return rc;
}

/* ---- sampling ------------------------------------------------------------------------- */

/* Maps x in [-1, 1] to a byte, rounding: (x + 1) * 127.5, clamped to [0, 255]. */
static unsigned char mnist_to_byte(float x)
{
    float v = (x + 1.0f) * 127.5f + 0.5f;
    if (!(v > 0)) return 0;
    if (v >= 255) return 255;
    return (unsigned char)v;
}

/* mnist sample: n images from a generator export, as IDX (n, side, side), and a grid. */
int mnist_sample(const char *model, int n, const char *out, const char *grid, unsigned long seed)
{
    gan_error err;
    gan_sampler *s = gan_sampler_load(model, seed, &err);
    float *x = NULL;
    unsigned char *bytes = NULL;
    int dim, side, dims[3], rc = 1;
    size_t k;
    if (!s) { fprintf(stderr, "mnist sample: %s: %s\n", model, err.message); return 1; }
    dim = gan_sampler_output_dim(s);
    side = (int)(sqrt((double)dim) + 0.5);
    if (side * side != dim) { fprintf(stderr, "mnist sample: %s makes %d values, not a square image\n", model, dim); goto done; }
    if ((size_t)n > (GAN_MAX_ALLOC - 16) / (size_t)dim) {    /* what an IDX file may hold, header included */
        fprintf(stderr, "mnist sample: --n %d images of %d bytes is more than an IDX file may hold (at most %lu)\n", n,
                dim, (unsigned long)((GAN_MAX_ALLOC - 16) / (size_t)dim));
        goto done;
    }
    x = (float *)malloc(sizeof(float) * (size_t)n * dim);
    bytes = (unsigned char *)malloc((size_t)n * dim);
    if (!x || !bytes) { fprintf(stderr, "mnist sample: out of memory for %d images\n", n); goto done; }
    if (gan_sampler_sample(s, x, n, &err)) { fprintf(stderr, "mnist sample: %s\n", err.message); goto done; }
    for (k = 0; k < (size_t)n * dim; k++) bytes[k] = mnist_to_byte(x[k]);
    dims[0] = n; dims[1] = side; dims[2] = side;
    if (gan_idx_save(out, bytes, 3, dims, &err)) { fprintf(stderr, "mnist sample: %s\n", err.message); goto done; }
    if (grid && mnist_write_grid(grid, x, n < MNIST_GRID * MNIST_GRID ? n : MNIST_GRID * MNIST_GRID, side, side, &err)) {
        fprintf(stderr, "mnist sample: %s\n", err.message);
        goto done;
    }
    rc = 0;
done:
    gan_sampler_free(s);
    free(x);
    free(bytes);
    return rc;
}

/* ---- scoring -------------------------------------------------------------------------- */

/* The classifier: 784 -> 256 ReLU -> 128 ReLU -> 10 logits, Adam 1e-3, batch 100,
   20 epochs on the first 90% of the labelled images; the last 10% measure its accuracy.
   The 128 ReLU outputs (layer 3) are the features the Frechet distance compares. */
#define MNIST_CLS_FEATURE_LAYER 3
#define MNIST_CLS_BATCH 100
#define MNIST_CLS_EPOCHS 20
#define MNIST_CLASSES 10

static gan_model *mnist_classifier_train(const float *x, const int *y, int n, int dim, double *accuracy,
                                         unsigned long seed, gan_error *err)
{
    gan_layer layers[5];
    gan_model *m;
    gan_optim_config oc = gan_adam(1e-3f, 0.9f, 0.999f);
    gan_optim *opt = NULL;
    gan_rng r;
    float *batch = NULL, *grad = NULL;
    int *labels = NULL, *perm = NULL, n_train = n - n / 10, e, i, j, correct = 0;
    const int B = n_train < MNIST_CLS_BATCH ? n_train : MNIST_CLS_BATCH;
    layers[0] = gan_dense(256); layers[1] = gan_activation(GAN_RELU);
    layers[2] = gan_dense(128); layers[3] = gan_activation(GAN_RELU);
    layers[4] = gan_dense(MNIST_CLASSES);
    m = gan_model_new(dim, layers, 5, MNIST_CLS_BATCH, err);
    if (!m) return NULL;
    gan_model_init(m, GAN_INIT_PYTORCH, 0, seed);
    opt = gan_optim_new(&oc, gan_model_num_params(m), err);
    batch = (float *)malloc(sizeof(float) * MNIST_CLS_BATCH * (size_t)dim);
    grad = (float *)malloc(sizeof(float) * MNIST_CLS_BATCH * MNIST_CLASSES);
    labels = (int *)malloc(sizeof(int) * MNIST_CLS_BATCH);
    perm = (int *)malloc(sizeof(int) * (size_t)n);
    if (!opt || !batch || !grad || !labels || !perm) {
        if (opt) mnist_fail(err, GAN_ERR_MEMORY, "classifier: out of memory");
        gan_model_free(m); m = NULL;
        goto done;
    }
    gan_rng_seed(&r, seed, 0x636c73u);
    for (i = 0; i < n_train; i++) perm[i] = i;
    for (e = 0; e < MNIST_CLS_EPOCHS; e++) {
        for (i = n_train - 1; i > 0; i--) { int k = (int)gan_rng_below(&r, (uint32_t)i + 1), t = perm[i]; perm[i] = perm[k]; perm[k] = t; }
        for (i = 0; i + B <= n_train; i += B) {
            const float *logits;
            for (j = 0; j < B; j++) {
                memcpy(batch + (size_t)j * dim, x + (size_t)perm[i + j] * dim, sizeof(float) * (size_t)dim);
                labels[j] = y[perm[i + j]];
            }
            logits = gan_model_forward(m, batch, B, GAN_TRAIN, NULL, err);
            if (!logits) { gan_model_free(m); m = NULL; goto done; }
            gan_loss_softmax_ce(logits, labels, B, MNIST_CLASSES, 1.0f, grad);
            gan_model_zero_grad(m);
            gan_model_backward(m, grad, NULL, GAN_GRAD_PARAMS, NULL);
            gan_optim_step(opt, gan_model_params(m), gan_model_grads(m));
        }
    }
    for (i = n_train; i < n; i += MNIST_CLS_BATCH) {
        const int b = n - i < MNIST_CLS_BATCH ? n - i : MNIST_CLS_BATCH;
        const float *logits = gan_model_forward(m, x + (size_t)i * dim, b, GAN_EVAL, NULL, err);
        if (!logits) { gan_model_free(m); m = NULL; goto done; }
        for (j = 0; j < b; j++) {
            int k, best = 0;
            for (k = 1; k < MNIST_CLASSES; k++) if (logits[j * MNIST_CLASSES + k] > logits[j * MNIST_CLASSES + best]) best = k;
            correct += best == y[i + j];
        }
    }
    *accuracy = n > n_train ? (double)correct / (n - n_train) : 0;
done:
    gan_optim_free(opt);
    free(batch); free(grad); free(labels); free(perm);
    return m;
}

/* The classifier's features (n, 128) and class probabilities (n, 10) for images x (n, dim). */
static int mnist_classify(gan_model *m, const float *x, int n, float *features, float *probs, gan_error *err)
{
    const int dim = gan_model_input_dim(m), mb = gan_model_max_batch(m);
    int i, width = 0;
    for (i = 0; i < n; i += mb) {
        const int b = n - i < mb ? n - i : mb;
        const float *logits = gan_model_forward(m, x + (size_t)i * dim, b, GAN_EVAL, NULL, err), *f;
        if (!logits) return -1;
        gan_softmax(logits, b, MNIST_CLASSES, probs + (size_t)i * MNIST_CLASSES);
        f = gan_model_layer_output(m, MNIST_CLS_FEATURE_LAYER, &width);
        memcpy(features + (size_t)i * width, f, sizeof(float) * (size_t)b * width);
    }
    return 0;
}

/* Frechet distance between Gaussian fits of two feature sets (na, d) and (nb, d). */
static double mnist_fd(const float *a, int na, const float *b, int nb, int d, gan_error *err)
{
    double *buf = (double *)malloc(sizeof(double) * 2 * ((size_t)d + (size_t)d * d)), fd = -1;
    double *mu1 = buf, *cov1 = mu1 + d, *mu2 = cov1 + (size_t)d * d, *cov2 = mu2 + d;
    if (!buf) return -1;
    if (!gan_mean_cov(a, na, d, mu1, cov1, err) && !gan_mean_cov(b, nb, d, mu2, cov2, err))
        fd = gan_frechet_distance(mu1, cov1, mu2, cov2, d, err);
    free(buf);
    return fd;
}

typedef struct mnist_scores {
    double accuracy;              /* the classifier's, on the held-out tenth of the real set */
    double fd, fd_floor;          /* generated vs real; first half vs second half of real */
    double is, is_std, is_real, is_real_std;
    double hist[MNIST_CLASSES], hist_real[MNIST_CLASSES];  /* fraction predicted per class */
    int n_real, n_gen;
} mnist_scores;

static void mnist_histogram(const float *probs, int n, double *hist)
{
    int i, k;
    for (k = 0; k < MNIST_CLASSES; k++) hist[k] = 0;
    for (i = 0; i < n; i++) {
        int best = 0;
        for (k = 1; k < MNIST_CLASSES; k++) if (probs[i * MNIST_CLASSES + k] > probs[i * MNIST_CLASSES + best]) best = k;
        hist[best] += 1.0 / n;
    }
}

/* mnist score. classifier: the cache file (trained and written if it does not exist). */
int mnist_score(const char *real_path, const char *labels_path, const char *gen_path, const char *classifier,
                mnist_scores *s, int verbose)
{
    gan_error err;
    float *real = NULL, *gen = NULL, *feat_real = NULL, *feat_gen = NULL, *p_real = NULL, *p_gen = NULL;
    int *labels = NULL, nr, ng, h, w, gh, gw, rc = 1, width = 0, half;
    gan_model *m = NULL;
    FILE *f;

    memset(s, 0, sizeof *s);
    real = mnist_load_images(real_path, 0, &nr, &h, &w, &err);
    if (!real) { fprintf(stderr, "mnist score: %s\n", err.message); return 1; }
    gen = mnist_load_images(gen_path, 0, &ng, &gh, &gw, &err);
    if (!gen) { fprintf(stderr, "mnist score: %s\n", err.message); goto done; }
    if (gh != h || gw != w) { fprintf(stderr, "mnist score: %s holds %dx%d images, %s %dx%d\n", gen_path, gh, gw, real_path, h, w); goto done; }
    if (nr < 20 || ng < 10) { fprintf(stderr, "mnist score: need at least 20 real and 10 generated images\n"); goto done; }

    f = fopen(classifier, "rb");
    if (f) {
        fclose(f);
        m = gan_model_load(classifier, &err);
        if (!m) { fprintf(stderr, "mnist score: %s (delete it to retrain)\n", err.message); goto done; }
        if (gan_model_input_dim(m) != h * w || gan_model_output_dim(m) != MNIST_CLASSES ||
            !gan_model_layer_output(m, MNIST_CLS_FEATURE_LAYER, &width)) {
            fprintf(stderr, "mnist score: %s is not a digit classifier for %dx%d images\n", classifier, h, w);
            goto done;
        }
        s->accuracy = -1;
        if (verbose) printf("classifier: %s (cached)\n", classifier);
    } else {
        labels = mnist_load_labels(labels_path, nr, &err);
        if (!labels) { fprintf(stderr, "mnist score: %s\n", err.message); goto done; }
        if (verbose) { printf("classifier: training on %d labelled digits (cached in %s)...\n", nr - nr / 10, classifier); fflush(stdout); }
        m = mnist_classifier_train(real, labels, nr, h * w, &s->accuracy, 1, &err);
        if (!m) { fprintf(stderr, "mnist score: %s\n", err.message); goto done; }
        if (gan_model_save(m, classifier, &err))   /* the score does not need the cache */
            fprintf(stderr, "mnist score: warning: the classifier is not cached: %s\n", err.message);
        if (verbose) printf("classifier: %.2f%% correct on the %d held-out digits\n", 100 * s->accuracy, nr / 10);
    }
    gan_model_layer_output(m, MNIST_CLS_FEATURE_LAYER, &width);
    feat_real = (float *)malloc(sizeof(float) * (size_t)nr * width);
    feat_gen = (float *)malloc(sizeof(float) * (size_t)ng * width);
    p_real = (float *)malloc(sizeof(float) * (size_t)nr * MNIST_CLASSES);
    p_gen = (float *)malloc(sizeof(float) * (size_t)ng * MNIST_CLASSES);
    if (!feat_real || !feat_gen || !p_real || !p_gen) { fprintf(stderr, "mnist score: out of memory\n"); goto done; }
    if (mnist_classify(m, real, nr, feat_real, p_real, &err) || mnist_classify(m, gen, ng, feat_gen, p_gen, &err)) {
        fprintf(stderr, "mnist score: %s\n", err.message);
        goto done;
    }
    half = nr / 2;
    s->n_real = nr; s->n_gen = ng;
    s->fd = mnist_fd(feat_real, nr, feat_gen, ng, width, &err);
    if (s->fd >= 0) s->fd_floor = mnist_fd(feat_real, half, feat_real + (size_t)half * width, nr - half, width, &err);
    if (s->fd < 0 || s->fd_floor < 0) { fprintf(stderr, "mnist score: Frechet distance: %s\n", err.message); goto done; }
    s->is = gan_inception_score(p_gen, ng, MNIST_CLASSES, 10, &s->is_std, &err);
    if (s->is >= 0) s->is_real = gan_inception_score(p_real, nr, MNIST_CLASSES, 10, &s->is_real_std, &err);
    if (s->is < 0 || s->is_real < 0) { fprintf(stderr, "mnist score: Inception score: %s\n", err.message); goto done; }
    mnist_histogram(p_gen, ng, s->hist);
    mnist_histogram(p_real, nr, s->hist_real);
    if (verbose) {
        int k, low = 0;
        printf("                          Frechet distance   Inception score (10 splits)\n");
        printf("generated vs real         %10.3f         %6.3f +- %.3f   (%d generated, %d real)\n", s->fd, s->is,
               s->is_std, ng, nr);
        printf("real vs real (the floor)  %10.3f         %6.3f +- %.3f   (two halves of %d and %d; IS of all real)\n",
               s->fd_floor, s->is_real, s->is_real_std, half, nr - half);
        printf("predicted classes, %% of generated (real):\n");
        for (k = 0; k < MNIST_CLASSES; k++) {
            printf("  %d: %5.1f%% (%4.1f%%)%s", k, 100 * s->hist[k], 100 * s->hist_real[k], k == 4 ? "\n" : "");
            if (s->hist[k] < s->hist[low]) low = k;
        }
        printf("\nsmallest class: %d with %.1f%% of the generated digits\n", low, 100 * s->hist[low]);
    }
    rc = 0;
done:
    gan_model_free(m);
    free(real); free(gen); free(labels);
    free(feat_real); free(feat_gen); free(p_real); free(p_gen);
    return rc;
}

/* The cache name for a real set: its images' and labels' CRC-32, so that another data set
   never reuses a classifier trained on this one. */
int mnist_classifier_name(const char *images, const char *labels, char *name, size_t size)
{
    gan_error err;
    size_t n;
    uint32_t crc = 0;
    const char *paths[2];
    int i;
    paths[0] = images; paths[1] = labels;
    for (i = 0; i < 2; i++) {
        void *bytes = gan_read_file(paths[i], (size_t)1 << 30, &n, &err);
        if (!bytes) { fprintf(stderr, "mnist score: %s\n", err.message); return -1; }
        crc = gan_crc32(crc, bytes, n);
        free(bytes);
    }
    snprintf(name, size, "mnist-classifier-%08lx.gan", (unsigned long)crc);
    return 0;
}

/* ---- the command line ----------------------------------------------------------------- */
#ifndef MNIST_NO_MAIN

static void usage(FILE *f)
{
    fprintf(f,
"usage: mnist train  --images F --out DIR [options]     train a GAN; writes into DIR\n"
"       mnist sample --model G --n N --out FILE [--grid FILE.png] [--seed S]\n"
"       mnist score  --images REAL --gen GENERATED [--labels L] [--classifier F]\n"
"\n"
"mnist train (defaults: PyTorch-GAN gan.py, the MNIST GAN of github.com/eriklindernoren/PyTorch-GAN):\n"
"  --images F         IDX images (n, 28, 28), e.g. data/mnist/train-images-idx3-ubyte (required)\n"
"  --labels F         IDX labels; checked, unused until --conditional exists (default: none)\n"
"  --out DIR          output directory, created if missing (required)\n"
"  --epochs N         passes over the data (default 30); ceil(n / batch) steps each\n"
"  --steps N          stop after N steps in all instead of --epochs (default: off)\n"
"  --limit N          use only the first N images (default: all)\n"
"  --resume           continue DIR/checkpoint.gan bit-for-bit, with the settings in DIR/options.txt\n"
"                     (only --images, --epochs, --steps, --log-every and --threads apply then)\n"
"  --log-every N      progress line every N steps, 0 for none (default 50)\n"
"  --threads N        threads to share the work, 0 = every processor; the results are the same\n"
"                     bits for any N (default 0; one thread in a build without GAN_THREADS)\n"
"  --preset NAME      gan.py (default) or best (see README); every other flag overrides it\n"
"  --seed S           seeds the weights, the data order, the noise, the grid (default 1)\n"
"  --batch N          minibatch size (default 64)\n"
"  --z-dim N          noise size, z ~ N(0, I) (default 100)\n"
"  --g-hidden LIST    G's hidden layer sizes (default 128,256,512,1024)\n"
"  --d-hidden LIST    D's hidden layer sizes (default 512,256)\n"
"  --g-batchnorm 0|1  BatchNorm after G's hidden linears but the first (default 1)\n"
"  --bn-eps X         BatchNorm eps (default 0.8, as gan.py's BatchNorm1d(n, 0.8))\n"
"  --bn-momentum X    BatchNorm running-statistics momentum (default 0.1)\n"
"  --slope X          LeakyReLU slope (default 0.2)\n"
"  --d-dropout X      dropout rate after each of D's hidden layers (default 0: none)\n"
"  --loss NAME        bce, minimax, wasserstein, hinge, least-squares, boundary-seeking (default bce)\n"
"  --init NAME        pytorch, glorot, normal (N(0, 0.02)) (default pytorch)\n"
"  --lr X             learning rate of both G and D (default 2e-4)\n"
"  --lr-g X, --lr-d X one of them (default 2e-4)\n"
"  --beta1 X          Adam beta1 (default 0.5)\n"
"  --beta2 X          Adam beta2 (default 0.999)\n"
"  --real-label X     target for real digits; 0.9 is one-sided label smoothing (default 1)\n"
"  --d-loss-scale X   D loss = X * (real + fake) (default 0.5, as gan.py)\n"
"  --clip X           clamp D's weights to [-X, X] after each D step, 0 = off (default 0)\n"
"  --g-average A      sample and export G's parameters averaged over steps, avg = A avg +\n"
"                     (1 - A) G after each G step; 0 = off, best: 0.998 (default 0)\n"
"  --g-first 0|1      1: a G step then a D step on the same fakes, as gan.py (default 1)\n"
"  writes DIR/samples-epoch-NNN.png (a fixed noise batch), losses.csv, losses.svg,\n"
"  checkpoint.gan, generator.gan, options.txt after every epoch; Ctrl-C saves and stops.\n"
"\n"
"mnist sample:\n"
"  --model G          a generator export (DIR/generator.gan) (required)\n"
"  --n N              images to write (default 10000)\n"
"  --out FILE         IDX file (n, 28, 28) of bytes (required)\n"
"  --grid FILE.png    also a 10x10 grid of the first 100 (default: none)\n"
"  --seed S           noise seed (default 1)\n"
"\n"
"mnist score:\n"
"  --images REAL      real IDX images (required)\n"
"  --labels L         their labels (default: REAL with images-idx3 -> labels-idx1)\n"
"  --gen GENERATED    generated IDX images, e.g. from mnist sample (required)\n"
"  --classifier F     classifier cache; trained and written if missing\n"
"                     (default ./mnist-classifier-CRC.gan, CRC of the real images and labels)\n");
}

static int bad_value(const char *flag, const char *value)
{
    fprintf(stderr, "mnist: bad value '%s' for %s (see mnist --help)\n", value, flag);
    return 2;
}

/* Reads "--flag value" pairs (and --resume). Every subcommand calls this with its own table. */
static int main_train(int argc, char **argv)
{
    mnist_train_opts o;
    int i;
    mnist_train_defaults(&o);
    for (i = 2; i < argc; i++)   /* the preset first, so that every other flag overrides it */
        if (!strcmp(argv[i], "--preset") && i + 1 < argc && mnist_apply_preset(&o, argv[i + 1]))
            return bad_value("--preset", argv[i + 1]);
    for (i = 2; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        int k;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) { usage(stdout); return 0; }
        if (!strcmp(f, "--resume")) { o.resume = 1; continue; }
        if (strncmp(f, "--", 2) != 0) { fprintf(stderr, "mnist train: unexpected argument '%s'\n", f); return 2; }
        if (!v) { fprintf(stderr, "mnist train: %s needs a value\n", f); return 2; }
        i++;
        if (!strcmp(f, "--images")) o.images = v;
        else if (!strcmp(f, "--labels")) o.labels = v;
        else if (!strcmp(f, "--out")) o.out = v;
        else if (!strcmp(f, "--preset")) continue;
        else if (!strcmp(f, "--epochs")) { if (parse_long(v, 1, 1000000, &n)) return bad_value(f, v); o.epochs = (int)n; }
        else if (!strcmp(f, "--steps")) { if (parse_long(v, 1, 1000000000L, &n)) return bad_value(f, v); o.steps = n; }
        else if (!strcmp(f, "--limit")) { if (parse_long(v, 1, MNIST_MAX_IMAGES, &n)) return bad_value(f, v); o.limit = (int)n; }
        else if (!strcmp(f, "--log-every")) { if (parse_long(v, 0, 1000000000L, &n)) return bad_value(f, v); o.log_every = (int)n; }
        else if (!strcmp(f, "--threads")) { if (parse_long(v, 0, MNIST_MAX_THREADS, &n)) return bad_value(f, v); o.threads = (int)n; }
        else if (!strcmp(f, "--seed")) { if (parse_long(v, MNIST_RANGE_SEED, &n)) return bad_value(f, v); o.seed = (unsigned long)n; }
        else if (!strcmp(f, "--batch")) { if (parse_long(v, MNIST_RANGE_BATCH, &n)) return bad_value(f, v); o.batch = (int)n; }
        else if (!strcmp(f, "--z-dim")) { if (parse_long(v, MNIST_RANGE_Z_DIM, &n)) return bad_value(f, v); o.z_dim = (int)n; }
        else if (!strcmp(f, "--g-hidden")) { if (mnist_parse_sizes(v, o.g_hidden, &o.n_g_hidden)) return bad_value(f, v); }
        else if (!strcmp(f, "--d-hidden")) { if (mnist_parse_sizes(v, o.d_hidden, &o.n_d_hidden)) return bad_value(f, v); }
        else if (!strcmp(f, "--g-batchnorm")) { if (parse_long(v, MNIST_RANGE_FLAG, &n)) return bad_value(f, v); o.g_batchnorm = (int)n; }
        else if (!strcmp(f, "--bn-eps")) { if (parse_float(v, MNIST_RANGE_BN_EPS, &o.bn_eps)) return bad_value(f, v); }
        else if (!strcmp(f, "--bn-momentum")) { if (parse_float(v, MNIST_RANGE_UNIT, &o.bn_momentum)) return bad_value(f, v); }
        else if (!strcmp(f, "--slope")) { if (parse_float(v, MNIST_RANGE_UNIT, &o.slope)) return bad_value(f, v); }
        else if (!strcmp(f, "--d-dropout")) { if (parse_float(v, MNIST_RANGE_DROPOUT, &o.d_dropout)) return bad_value(f, v); }
        else if (!strcmp(f, "--loss")) { if ((k = mnist_name_index(mnist_loss_names, GAN_LOSS_COUNT, v)) < 0) return bad_value(f, v); o.loss = k; }
        else if (!strcmp(f, "--init")) { if ((k = mnist_name_index(mnist_init_names, 3, v)) < 0) return bad_value(f, v); o.init = k; }
        else if (!strcmp(f, "--lr")) { if (parse_float(v, MNIST_RANGE_LR, &o.lr_g)) return bad_value(f, v); o.lr_d = o.lr_g; }
        else if (!strcmp(f, "--lr-g")) { if (parse_float(v, MNIST_RANGE_LR, &o.lr_g)) return bad_value(f, v); }
        else if (!strcmp(f, "--lr-d")) { if (parse_float(v, MNIST_RANGE_LR, &o.lr_d)) return bad_value(f, v); }
        else if (!strcmp(f, "--beta1")) { if (parse_float(v, MNIST_RANGE_BETA1, &o.beta1)) return bad_value(f, v); }
        else if (!strcmp(f, "--beta2")) { if (parse_float(v, MNIST_RANGE_BETA2, &o.beta2)) return bad_value(f, v); }
        else if (!strcmp(f, "--real-label")) { if (parse_float(v, MNIST_RANGE_REAL_LABEL, &o.real_label)) return bad_value(f, v); }
        else if (!strcmp(f, "--d-loss-scale")) { if (parse_float(v, MNIST_RANGE_D_LOSS_SCALE, &o.d_loss_scale)) return bad_value(f, v); }
        else if (!strcmp(f, "--clip")) { if (parse_float(v, MNIST_RANGE_CLIP, &o.clip)) return bad_value(f, v); }
        else if (!strcmp(f, "--g-average")) { if (parse_float(v, MNIST_RANGE_G_AVERAGE, &o.g_average)) return bad_value(f, v); }
        else if (!strcmp(f, "--g-first")) { if (parse_long(v, MNIST_RANGE_FLAG, &n)) return bad_value(f, v); o.g_first = (int)n; }
        else { fprintf(stderr, "mnist train: unknown flag %s (see mnist --help)\n", f); return 2; }
    }
    if (!o.images) { fprintf(stderr, "mnist train: --images is required\n"); return 2; }
    if (!o.out) { fprintf(stderr, "mnist train: --out is required\n"); return 2; }
    return mnist_train(&o);
}

static int main_sample(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *grid = NULL;
    long n = 10000, seed = 1;
    int i;
    for (i = 2; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) { usage(stdout); return 0; }
        if (!v) { fprintf(stderr, "mnist sample: %s needs a value\n", f); return 2; }
        i++;
        if (!strcmp(f, "--model")) model = v;
        else if (!strcmp(f, "--out")) out = v;
        else if (!strcmp(f, "--grid")) grid = v;
        else if (!strcmp(f, "--n")) { if (parse_long(v, 1, MNIST_MAX_IMAGES, &n)) return bad_value(f, v); }
        else if (!strcmp(f, "--seed")) { if (parse_long(v, MNIST_RANGE_SEED, &seed)) return bad_value(f, v); }
        else { fprintf(stderr, "mnist sample: unknown flag %s (see mnist --help)\n", f); return 2; }
    }
    if (!model || !out) { fprintf(stderr, "mnist sample: --model and --out are required\n"); return 2; }
    return mnist_sample(model, (int)n, out, grid, (unsigned long)seed);
}

static int main_score(int argc, char **argv)
{
    const char *images = NULL, *labels = NULL, *gen = NULL, *classifier = NULL;
    char default_labels[4096], default_classifier[64];
    mnist_scores s;
    int i;
    for (i = 2; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(f, "--help") || !strcmp(f, "-h")) { usage(stdout); return 0; }
        if (!v) { fprintf(stderr, "mnist score: %s needs a value\n", f); return 2; }
        i++;
        if (!strcmp(f, "--images")) images = v;
        else if (!strcmp(f, "--labels")) labels = v;
        else if (!strcmp(f, "--gen")) gen = v;
        else if (!strcmp(f, "--classifier")) classifier = v;
        else { fprintf(stderr, "mnist score: unknown flag %s (see mnist --help)\n", f); return 2; }
    }
    if (!images || !gen) { fprintf(stderr, "mnist score: --images and --gen are required\n"); return 2; }
    if (!labels && !(classifier && access(classifier, F_OK) == 0)) {   /* needed to name or train a classifier */
        if (mnist_default_labels(images, default_labels, sizeof default_labels)) {
            fprintf(stderr, "mnist score: cannot guess the labels file from %s; give --labels\n", images);
            return 2;
        }
        labels = default_labels;
    }
    if (!classifier) {
        if (mnist_classifier_name(images, labels, default_classifier, sizeof default_classifier)) return 1;
        classifier = default_classifier;
    }
    return mnist_score(images, labels, gen, classifier, &s, 1);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return main_train(argc, argv);
    if (!strcmp(argv[1], "sample")) return main_sample(argc, argv);
    if (!strcmp(argv[1], "score")) return main_score(argc, argv);
    fprintf(stderr, "mnist: unknown command '%s' (train, sample or score; see mnist --help)\n", argv[1]);
    return 2;
}
#endif /* MNIST_NO_MAIN */
