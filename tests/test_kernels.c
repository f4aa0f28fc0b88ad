/* test_kernels.c - the fast dense kernels and optimizer loops against the reference loops.

   For odd shapes (every B, I, O in {1, 3, 17, 63, 65, 257}), the shapes of the MNIST and
   quadratic-demo models and one whose rows of W are 8 KB apart (all in one L1 cache set),
   each fast product (y = x W + b, dx = dy W^T, dW += x^T dy, db += sum dy) must match the
   reference within the rounding-error bound of a sum of K terms: the two differ only in the
   order of their additions, and any order of a K-term float sum is within K * u * sum|terms|
   of the exact value (u = 2^-24; Higham, "Accuracy and Stability of Numerical Algorithms",
   2nd ed., section 4.2), so they differ by at most 2 (K + 1) u sum|terms|.
   A wrong index or a missed tile gives errors of order sum|terms| itself.

   Also: the fast path gives the same bits run to run; with GAN_THREADS (defined here) a
   product split across two threads gives the same bits as one thread, and so do three
   training steps of a wide GAN (every pass shared out); the optimizer loops
   match the formulas written out in scalar code; the vector tanh is within 2 ulp of tanh,
   odd, exactly +-1 past 9.1 and NaN for NaN; a training step allocates nothing.

   Built by tests/run.sh as every test, and once more with -march=native so that the
   AVX-512 / AVX2 / NEON kernels are the ones tested on a machine that has them. Under
   GAN_NO_SIMD there are no fast kernels to compare: test_core and test_limits cover that
   build. */
#define _POSIX_C_SOURCE 200809L     /* nanosleep */
#ifdef GAN_NO_SIMD
#error "test_kernels compares the fast kernels with the reference loops; build it without GAN_NO_SIMD"
#endif
#include <stdlib.h>
#include <time.h>

/* Every allocation gan.h makes is counted: a training step must make none. */
static long n_allocations;
static void *counted_malloc(size_t n) { n_allocations++; return malloc(n); }

#define GAN_MALLOC(n) counted_malloc(n)
#define GAN_FREE(p) free(p)

/* Where the kernels prefetch, while check_dx_prefetch records (prefetches change no result,
   so only their addresses can be checked). */
#define PREFETCH_LOG_SIZE 65536
static const void *prefetch_log[PREFETCH_LOG_SIZE];
static size_t n_prefetch_log;
static int prefetch_recording;
static void record_prefetch(const void *p)
{
    if (prefetch_recording && n_prefetch_log < PREFETCH_LOG_SIZE) prefetch_log[n_prefetch_log++] = p;
}
#define GAN__PREFETCH(p) record_prefetch(p)
/* and the prefetches for writing, while check_dW_prefetch records */
#define WRITE_LOG_SIZE (1 << 18)
static const void *write_log[WRITE_LOG_SIZE];
static size_t n_write_log;
static void record_prefetch_write(const void *p)
{
    if (prefetch_recording && n_write_log < WRITE_LOG_SIZE) write_log[n_write_log++] = p;
}
#define GAN__PREFETCH_WRITE(p) record_prefetch_write(p)
#define GAN_THREADS
#define GAN_IMPLEMENTATION
#include "../gan.h"
#include "check.h"

#include <math.h>
#include <string.h>

#define U 5.9604644775390625e-8 /* 2^-24, the unit roundoff of float */

static float *random_floats(gan_rng *r, size_t n)
{
    float *p = (float *)malloc(sizeof(float) * (n ? n : 1));
    size_t k;
    for (k = 0; k < n; k++) p[k] = 2.0f * gan_rng_uniform(r) - 1.0f;
    return p;
}

/* Largest |fast - ref| / (2 (K + 1) u * scale), where scale[k] is sum|terms| of output k:
   at most 1 when the fast result is within the bound. */
static double worst_ratio(const float *fast, const float *ref, const double *scale, size_t n, int K)
{
    double worst = 0;
    size_t k;
    for (k = 0; k < n; k++) {
        const double bound = 2.0 * (K + 1) * U * (scale[k] > 0 ? scale[k] : 1e-30);
        const double r = fabs((double)fast[k] - (double)ref[k]) / bound;
        if (!(r <= worst)) worst = r; /* NaN counts as a failure too */
    }
    return worst;
}

/* dx = dy W^T as the model runs it: dy packed, then columns [i0, i1) of dx (a thread's part). */
static void dx_as_model(float *dx, const float *dy, const float *W, int B, int I, int O, int i0, int i1)
{
    float *dyT = (float *)malloc(sizeof(float) * (size_t)GAN__DX_PACK_ROWS(B) * O);
    if (gan__dx_packed(I, O)) gan__pack_transposed(dyT, dy, B, O, 0, O);
    gan__dense_backward_input_fast(dx, dy, dyT, W, B, I, O, i0, i1);
    free(dyT);
}

/* dx = dy W^T over rows [i0, i1) of W prefetches, while a tile works on a block of XR rows,
   the next block: so every cache line of rows i0 + XR to i1 - 1, once for each block of
   GAN__DX_ROWS rows of dy, and nothing else (a line is 16 floats from the start of its row). */
static void check_dx_prefetch(gan_rng *r, int B, int I, int O, int i0, int i1)
{
    const size_t lines_per_row = ((size_t)O + GAN__LINE_FLOATS - 1) / GAN__LINE_FLOATS;
    const int first_row = i0 + GAN__XR < i1 ? i0 + GAN__XR : i1, blocks = GAN__DX_PACK_ROWS(B) / GAN__DX_ROWS;
    float *W = random_floats(r, (size_t)I * O), *dy = random_floats(r, (size_t)B * O);
    float *dx = (float *)calloc((size_t)B * I, sizeof(float));
    unsigned char *seen = (unsigned char *)calloc((size_t)I * lines_per_row, 1);
    size_t k, stray = 0, extra = 0, missing = 0;
    n_prefetch_log = 0;
    prefetch_recording = 1;
    dx_as_model(dx, dy, W, B, I, O, i0, i1);
    prefetch_recording = 0;
    for (k = 0; k < n_prefetch_log; k++) {
        const float *p = (const float *)prefetch_log[k];
        const size_t at = (size_t)(p - W), row = at / (size_t)O, col = at % (size_t)O;
        if (p < W || at >= (size_t)I * O || (int)row < first_row || (int)row >= i1 || col % GAN__LINE_FLOATS)
            stray++;
        else if (++seen[row * lines_per_row + col / GAN__LINE_FLOATS] > blocks) extra++;
    }
    for (k = (size_t)first_row * lines_per_row; k < (size_t)i1 * lines_per_row; k++) missing += seen[k] != blocks;
    CHECK(n_prefetch_log < PREFETCH_LOG_SIZE && !stray && !extra && !missing,
          "dx prefetch %dx%dx%d rows [%d, %d): %lu prefetches, %lu outside the next rows, %lu too often, %lu lines "
          "not once per block", B, I, O, i0, i1, (unsigned long)n_prefetch_log, (unsigned long)stray,
          (unsigned long)extra, (unsigned long)missing);
    free(W); free(dy); free(dx); free(seen);
}

/* dW += x^T dy over columns [o0, o1) asks, before each row tile of dW, for the next tile's
   rows for writing: so every cache line of rows GAN__MR to I - 1 within those columns, and
   nothing outside them. The forward pass, whose output is in the caches, asks for none. */
static void check_dW_prefetch(gan_rng *r, int B, int I, int O, int o0, int o1)
{
    float *x = random_floats(r, (size_t)B * I), *dy = random_floats(r, (size_t)B * O);
    float *dW = (float *)calloc((size_t)I * O, sizeof(float)), *db = (float *)calloc((size_t)O, sizeof(float));
    float *y = (float *)calloc((size_t)B * O, sizeof(float));
    unsigned char *covered = (unsigned char *)calloc((size_t)I * O, 1);   /* by a prefetched line */
    size_t k, stray = 0, missing = 0, forward;
    int i, o, l;
    n_write_log = 0;
    prefetch_recording = 1;
    gan__dense_forward_fast(y, x, dW, db, B, I, O, o0, o1);
    forward = n_write_log;
    gan__dense_backward_params_fast(dW, db, dy, x, B, B, I, O, o0, o1, 0);
    prefetch_recording = 0;
    for (k = forward; k < n_write_log; k++) {
        const float *p = (const float *)write_log[k];
        const size_t at = (size_t)(p - dW);
        /* the floats of dW on the 64-byte line of p, counted from dW's start */
        const long line = (long)(((uintptr_t)p & ~(uintptr_t)63) - (uintptr_t)dW) / (long)sizeof(float);
        if (p < dW || at >= (size_t)I * O || (int)(at / O) < GAN__MR || (int)(at % O) < o0 || (int)(at % O) >= o1)
            stray++;
        else
            for (l = 0; l < GAN__LINE_FLOATS; l++)
                if (line + l >= 0 && line + l < (long)I * O) covered[line + l] = 1;
    }
    for (i = GAN__MR; i < I; i++)       /* each float of the rows after the first tile */
        for (o = o0; o < o1; o++) missing += !covered[(size_t)i * O + o];
    CHECK(n_write_log < WRITE_LOG_SIZE && forward == 0 && !stray && !missing,
          "dW write prefetch %dx%dx%d columns [%d, %d): %lu prefetches, %lu by the forward, %lu outside the next "
          "tiles, %lu floats on lines never asked for", B, I, O, o0, o1, (unsigned long)n_write_log,
          (unsigned long)forward, (unsigned long)stray, (unsigned long)missing);
    free(x); free(dy); free(dW); free(db); free(y); free(covered);
}

static int n_shapes;

/* Runs the three products at (B, I, O) both ways; dx, dW and db start from garbage or from
   a previous gradient as the model's buffers would. */
static void check_shape(gan_rng *r, int B, int I, int O, const char *what)
{
    float *x = random_floats(r, (size_t)B * I), *W = random_floats(r, (size_t)I * O);
    float *b = random_floats(r, (size_t)O), *dy = random_floats(r, (size_t)B * O);
    float *y_ref = random_floats(r, (size_t)B * O), *y_fast = random_floats(r, (size_t)B * O);
    float *dx_ref = random_floats(r, (size_t)B * I), *dx_fast = random_floats(r, (size_t)B * I);
    float *dW_ref = random_floats(r, (size_t)I * O), *dW_fast = (float *)malloc(sizeof(float) * I * O);
    float *db_ref = random_floats(r, (size_t)O), *db_fast = (float *)malloc(sizeof(float) * O);
    double *sy = (double *)calloc((size_t)B * O, sizeof(double)), *sx = (double *)calloc((size_t)B * I, sizeof(double));
    double *sW = (double *)calloc((size_t)I * O, sizeof(double)), *sb = (double *)calloc((size_t)O, sizeof(double));
    double ratio;
    int n, i, o;
    memcpy(dW_fast, dW_ref, sizeof(float) * I * O);
    memcpy(db_fast, db_ref, sizeof(float) * O);
    /* sum|terms| of each output, including the starting value it adds to */
    for (o = 0; o < O; o++) sb[o] = fabs(db_ref[o]);
    for (i = 0; i < I; i++) for (o = 0; o < O; o++) sW[(size_t)i * O + o] = fabs(dW_ref[(size_t)i * O + o]);
    for (n = 0; n < B; n++)
        for (i = 0; i < I; i++)
            for (o = 0; o < O; o++) {
                const double xw = fabs(x[(size_t)n * I + i] * W[(size_t)i * O + o]);
                sy[(size_t)n * O + o] += xw + (i == 0 ? fabs(b[o]) : 0);
                sx[(size_t)n * I + i] += fabs(dy[(size_t)n * O + o] * W[(size_t)i * O + o]);
                sW[(size_t)i * O + o] += fabs(x[(size_t)n * I + i] * dy[(size_t)n * O + o]);
            }
    for (n = 0; n < B; n++) for (o = 0; o < O; o++) sb[o] += fabs(dy[(size_t)n * O + o]);

    gan__dense_forward_ref(y_ref, x, W, b, B, I, O);
    gan__dense_backward_input_ref(dx_ref, dy, W, B, I, O);
    gan__dense_backward_params_ref(dW_ref, db_ref, dy, x, B, I, O, 1);
    gan__dense_forward_fast(y_fast, x, W, b, B, I, O, 0, O);
    dx_as_model(dx_fast, dy, W, B, I, O, 0, I);
    gan__dense_backward_params_fast(dW_fast, db_fast, dy, x, B, B, I, O, 0, O, 1);
    ratio = worst_ratio(y_fast, y_ref, sy, (size_t)B * O, I + 1);
    CHECK(ratio <= 1, "%s forward B=%d I=%d O=%d: error %.3g x the bound", what, B, I, O, ratio);
    ratio = worst_ratio(dx_fast, dx_ref, sx, (size_t)B * I, O);
    CHECK(ratio <= 1, "%s dx B=%d I=%d O=%d: error %.3g x the bound", what, B, I, O, ratio);
    ratio = worst_ratio(dW_fast, dW_ref, sW, (size_t)I * O, B + 1);
    CHECK(ratio <= 1, "%s dW B=%d I=%d O=%d: error %.3g x the bound", what, B, I, O, ratio);
    ratio = worst_ratio(db_fast, db_ref, sb, (size_t)O, B + 1);
    CHECK(ratio <= 1, "%s db B=%d I=%d O=%d: error %.3g x the bound", what, B, I, O, ratio);
    n_shapes++;
    free(x); free(W); free(b); free(dy); free(y_ref); free(y_fast); free(dx_ref); free(dx_fast);
    free(dW_ref); free(dW_fast); free(db_ref); free(db_fast); free(sy); free(sx); free(sW); free(sb);
}

/* The model's dense entry points (threads and all) twice with one thread and once with two:
   all three results must be the same bits. */
/* GAN_GRAD_OVERWRITE: whatever the gradient buffer held, the bits of gan_model_zero_grad and
   then GAN_GRAD_PARAMS; on one and two threads, through dense layers whose inputs or outputs
   are one or two wide (the narrow kernels), BatchNorm and dropout; B >= 2 for BatchNorm. */
static void check_overwrite(gan_rng *r, int B)
{
    gan_layer l[8];
    gan_model *m;
    float *x = random_floats(r, (size_t)B * 2), *dy = random_floats(r, (size_t)B), *zeroed;
    size_t np, k;
    int t, same = 1;
    l[0] = gan_dense(40); l[1] = gan_batchnorm(1e-5f, 0.1f); l[2] = gan_leaky_relu(0.2f); l[3] = gan_dropout(0.3f);
    l[4] = gan_dense(2); l[5] = gan_activation(GAN_TANH); l[6] = gan_dense(17); l[7] = gan_dense(1);
    m = gan_model_new(2, l, 8, B, NULL);
    if (!m) { CHECK(0, "overwrite: no model"); return; }
    gan_model_init(m, GAN_INIT_PYTORCH, 0, 3);
    np = gan_model_num_params(m);
    for (t = 1; t <= 2; t++) {
        gan_rng drop;
        gan_model_set_threads(m, t);
        gan_rng_seed(&drop, 9, 9);
        if (!gan_model_forward(m, x, B, GAN_TRAIN, &drop, NULL)) { CHECK(0, "overwrite: forward, B=%d", B); break; }
        gan_model_zero_grad(m);
        gan_model_backward(m, dy, NULL, GAN_GRAD_PARAMS, NULL);
        zeroed = (float *)malloc(sizeof(float) * np);
        memcpy(zeroed, gan_model_grads(m), sizeof(float) * np);
        for (k = 0; k < np; k++) gan_model_grads(m)[k] = (float)k - 1e6f;   /* whatever it held */
        same &= gan_model_backward(m, dy, NULL, GAN_GRAD_PARAMS | GAN_GRAD_OVERWRITE, NULL) == GAN_OK;
        same &= !memcmp(zeroed, gan_model_grads(m), sizeof(float) * np);
        free(zeroed);
    }
    CHECK(same, "B=%d: GAN_GRAD_OVERWRITE differs from zero_grad + GAN_GRAD_PARAMS", B);
    gan_model_free(m);
    free(x); free(dy);
}

static void check_threads(gan_model *m, gan_rng *r, int B, int I, int O)
{
    float *x = random_floats(r, (size_t)B * I), *W = random_floats(r, (size_t)I * O);
    float *b = random_floats(r, (size_t)O), *dy = random_floats(r, (size_t)B * O);
    float *out[3][4];
    int t, same = 1;
    for (t = 0; t < 3; t++) {
        out[t][0] = (float *)malloc(sizeof(float) * B * O);
        out[t][1] = (float *)malloc(sizeof(float) * B * I);
        out[t][2] = (float *)calloc((size_t)I * O, sizeof(float));
        out[t][3] = (float *)calloc((size_t)O, sizeof(float));
        gan_model_set_threads(m, t == 2 ? 2 : 1);
        gan__dense_forward(m, out[t][0], x, W, b, B, I, O);
        gan__dense_backward_input(m, out[t][1], dy, W, B, I, O);
        gan__dense_backward_params(m, out[t][2], out[t][3], dy, x, B, B, I, O, 1);
    }
    for (t = 1; t < 3; t++) {
        same &= !memcmp(out[0][0], out[t][0], sizeof(float) * B * O);
        same &= !memcmp(out[0][1], out[t][1], sizeof(float) * B * I);
        same &= !memcmp(out[0][2], out[t][2], sizeof(float) * I * O);
        same &= !memcmp(out[0][3], out[t][3], sizeof(float) * O);
    }
    CHECK(same, "B=%d I=%d O=%d: one thread twice and two threads do not give the same bits", B, I, O);
    for (t = 0; t < 3; t++) { free(out[t][0]); free(out[t][1]); free(out[t][2]); free(out[t][3]); }
    free(x); free(W); free(b); free(dy);
}

/* The fast products at (B, I, O) as one call and as one call per output column: the same
   bits, as GAN_THREADS may cut the columns anywhere a tile ends. */
static void check_column_slices(gan_rng *r, int B, int I, int O)
{
    float *x = random_floats(r, (size_t)B * I), *W = random_floats(r, (size_t)I * O);
    float *b = random_floats(r, (size_t)O), *dy = random_floats(r, (size_t)B * O);
    float *out[2][4];
    int t, k, same = 1;
    for (t = 0; t < 2; t++) {
        out[t][0] = (float *)malloc(sizeof(float) * B * O);
        out[t][1] = (float *)malloc(sizeof(float) * B * I);
        out[t][2] = (float *)calloc((size_t)I * O, sizeof(float));
        out[t][3] = (float *)calloc((size_t)O, sizeof(float));
        for (k = 0; k < (t ? O : 1); k++) {
            gan__dense_forward_fast(out[t][0], x, W, b, B, I, O, t ? k : 0, t ? k + 1 : O);
            gan__dense_backward_params_fast(out[t][2], out[t][3], dy, x, B, B, I, O, t ? k : 0, t ? k + 1 : O, 1);
        }
        for (k = 0; k < (t ? I : 1); k++) dx_as_model(out[t][1], dy, W, B, I, O, t ? k : 0, t ? k + 1 : I);
    }
    same &= !memcmp(out[0][0], out[1][0], sizeof(float) * B * O);
    same &= !memcmp(out[0][1], out[1][1], sizeof(float) * B * I);
    same &= !memcmp(out[0][2], out[1][2], sizeof(float) * I * O);
    same &= !memcmp(out[0][3], out[1][3], sizeof(float) * O);
    CHECK(same, "B=%d I=%d O=%d: one call and one call per column do not give the same bits", B, I, O);
    for (t = 0; t < 2; t++) { free(out[t][0]); free(out[t][1]); free(out[t][2]); free(out[t][3]); }
    free(x); free(W); free(b); free(dy);
}

/* gan__slice: the parts cover [0, n) in order without gaps or overlaps, cut at multiples of
   the unit, and part p of P holds its share (P - p) / (P (P + 1) / 2) of the units, to
   within one unit. */
static void check_slices(void)
{
    static const size_t sizes[] = { 0, 1, 15, 16, 17, 100, 784, 1001, 1000003 }, units[] = { 1, 8, 16, 32 };
    int a, b, parts, part, ok = 1;
    for (a = 0; a < (int)(sizeof sizes / sizeof sizes[0]); a++)
        for (b = 0; b < (int)(sizeof units / sizeof units[0]); b++)
            for (parts = 1; parts <= 40; parts++) {
                const size_t n = sizes[a], unit = units[b], n_units = (n + unit - 1) / unit;
                size_t end = 0, lo, hi;
                for (part = 0; part < parts; part++) {
                    const double share = (double)n_units * (parts - part) / (parts * (parts + 1) / 2.0);
                    gan__slice(n, unit, part, parts, &lo, &hi);
                    ok &= lo == end && lo <= hi && hi <= n && (lo % unit == 0 || lo == n) && (hi % unit == 0 || hi == n);
                    ok &= hi == n || fabs((double)((hi + unit - 1) / unit - lo / unit) - share) <= 1.0;
                    end = hi;
                }
                ok &= end == n;
                if (!ok) { CHECK(0, "slices of n=%lu, unit %lu, %d parts", (unsigned long)n, (unsigned long)unit, parts); return; }
            }
    CHECK(ok, "slices cover their range in order, at unit boundaries, each near its share");
}

/* gan_optim_step against its formulas written out one parameter at a time. */
static void check_optimizer(gan_rng *r, gan_optim_config cfg, const char *name, size_t n)
{
    gan_optim *o = gan_optim_new(&cfg, n, NULL);
    float *w = random_floats(r, n), *g = random_floats(r, n), *w2 = (float *)malloc(sizeof(float) * n);
    float *m = (float *)calloc(n, sizeof(float)), *v = (float *)calloc(n, sizeof(float));
    double worst = 0;
    size_t k;
    int t;
    if (!o) { CHECK(0, "%s: gan_optim_new failed", name); free(w); free(g); free(w2); free(m); free(v); return; }
    memcpy(w2, w, sizeof(float) * n);
    for (k = 0; k < n; k++) v[k] = cfg.kind == GAN_RMSPROP_TF ? 1.0f : 0.0f;
    for (t = 1; t <= 3; t++) {
        gan_optim_step(o, w, g);
        for (k = 0; k < n; k++) {
            const float gk = g[k];
            if (cfg.kind == GAN_ADAM) {
                const double step = cfg.lr / (1.0 - pow(cfg.beta1, t)), bc2 = sqrt(1.0 - pow(cfg.beta2, t));
                m[k] = cfg.beta1 * m[k] + (1 - cfg.beta1) * gk;
                v[k] = cfg.beta2 * v[k] + (1 - cfg.beta2) * gk * gk;
                w2[k] -= (float)(step * m[k] / (sqrt(v[k]) / bc2 + cfg.eps));
            } else if (cfg.kind == GAN_RMSPROP_TF) {
                v[k] = cfg.rho * v[k] + (1 - cfg.rho) * gk * gk;
                w2[k] -= (float)(cfg.lr * gk / sqrt(v[k] + cfg.eps));
            } else if (cfg.kind == GAN_RMSPROP_TORCH) {
                v[k] = cfg.rho * v[k] + (1 - cfg.rho) * gk * gk;
                w2[k] -= (float)(cfg.lr * gk / (sqrt(v[k]) + cfg.eps));
            } else {
                m[k] = cfg.momentum * m[k] + gk;
                w2[k] -= cfg.lr * m[k];
            }
        }
        for (k = 0; k < n; k++) g[k] = 2.0f * gan_rng_uniform(r) - 1.0f;
    }
    /* Each update is a few float operations on numbers of order 1; three updates of size lr
       agree to a few units of 1e-7 (the reference mixes in double). 1e-6 leaves room and
       still catches a wrong lane, a skipped tail or a wrong constant (errors of order lr). */
    for (k = 0; k < n; k++) {
        const double e = fabs((double)w[k] - (double)w2[k]);
        if (!(e <= worst)) worst = e;
    }
    CHECK(worst <= 1e-6, "%s, n=%lu: parameters differ from the formula by %.3g", name, (unsigned long)n, worst);
    gan_optim_free(o);
    free(w); free(g); free(w2); free(m); free(v);
}

/* The fast path's tanh (a vector kernel unless GAN_NO_SIMD) against tanh in double. The error
   is counted in ulps of the true value t: |y - t| / 2^(e - 24) for |t| in [2^(e-1), 2^e), at
   least 2^-149. Each of the kernel's two branches rounds a handful of times on values below
   1 and its polynomials are within about 1 ulp; over all 2^32 floats the worst is 1.33 ulp
   for the AVX-512, AVX2 and portable kernels alike (glibc's tanhf reaches 2.19), so 2 ulp is
   allowed. The inputs: [-10, 10] in steps of 1e-4, +-1.2345 * 2^-k down to the subnormals,
   values past the point (|x| = 9.02) where tanh rounds to +-1 in float, +-0, +-inf and NaN. */
static double ulps(float y, double t)
{
    int e;
    frexp(t, &e);
    return fabs((double)y - t) / ldexp(1, e - 24 > -149 ? e - 24 : -149);
}

static void check_tanh(void)
{
    static const float past_one[] = { 9.1f, 9.5f, 10, 20, 44, 88, 89, 1e10f, 3.4e38f, INFINITY };
    const size_t n_sweep = 200001, n_pow = 150, n_past = sizeof past_one / sizeof past_one[0];
    const size_t n = n_sweep + 2 * (n_pow + n_past) + 3;
    float *x = (float *)malloc(sizeof(float) * n), *neg_x = (float *)malloc(sizeof(float) * n);
    float *y = (float *)malloc(sizeof(float) * n), *neg_y = (float *)malloc(sizeof(float) * n);
    double worst = 0;
    float worst_x = 0;
    size_t k, m = 0, not_odd = 0, not_one = 0;
    for (k = 0; k < n_sweep; k++) x[m++] = (float)(-10 + 1e-4 * (double)k);
    for (k = 0; k < n_pow; k++) { x[m] = (float)ldexp(1.2345, -(int)k); x[m + 1] = -x[m]; m += 2; }
    for (k = 0; k < n_past; k++) { x[m] = past_one[k]; x[m + 1] = -x[m]; m += 2; }
    x[m++] = 0;
    x[m++] = -0.0f;
    x[m++] = NAN;
    for (k = 0; k < m; k++) neg_x[k] = -x[k];
    gan__activation_forward(y, x, m, GAN_TANH, 0);
    gan__activation_forward(neg_y, neg_x, m, GAN_TANH, 0);
    for (k = 0; k + 1 < m; k++) {
        const double e = ulps(y[k], tanh((double)x[k]));
        const float minus_y = -y[k];
        if (!(e <= worst)) { worst = e; worst_x = x[k]; }
        if (memcmp(&neg_y[k], &minus_y, sizeof minus_y) != 0) not_odd++;
        if (fabsf(x[k]) >= 9.1f && y[k] != (x[k] > 0 ? 1 : -1)) not_one++;
        if (!(fabsf(y[k]) <= 1)) not_one++;
    }
    CHECK(worst <= 2, "tanh: %.3g ulp from tanh at x = %.9g", worst, worst_x);
    CHECK(not_odd == 0, "tanh(-x) is not -tanh(x) for %lu inputs", (unsigned long)not_odd);
    CHECK(not_one == 0, "tanh: %lu results past 1, or not exactly +-1 where |x| >= 9.1", (unsigned long)not_one);
    CHECK(signbit(y[m - 2]) && y[m - 2] == 0 && y[m - 3] == 0 && !signbit(y[m - 3]), "tanh(+-0) = %g, %g", y[m - 3],
          y[m - 2]);
    CHECK(isnan(y[m - 1]) && isnan(neg_y[m - 1]), "tanh(NaN) = %g", y[m - 1]);
    free(x); free(neg_x); free(y); free(neg_y);
}

/* The BCE gradient of gan_loss_d / gan_loss_g (a vector exp on the fast path, unless
   GAN_NO_SIMD) against gan__bce, the readable scalar form, on logits from -100 to 100 and
   beyond. Bound: 4 units of 2^-24 of the magnitude of
   scale (sigmoid + t) / n, or 1e-37 in absolute terms (the fast exp stops at exp(-87), below which the reference's
   sigmoid is a denormal); non-finite logits make the returned check value NaN. */
static void check_bce_gradient(void)
{
    static const float extreme[] = { 87, 88, 89, 100, 1e10f, 3.4e38f };
    const int n_sweep = 20001, n_ext = (int)(sizeof extreme / sizeof extreme[0]), n = n_sweep + 2 * n_ext;
    float *l = (float *)malloc(sizeof(float) * n), *fast = (float *)malloc(sizeof(float) * n);
    float *ref = (float *)malloc(sizeof(float) * n), *full_grad = (float *)malloc(sizeof(float) * n);
    int i, kind, bad = 0, nonfinite_ok = 1, same_as_full = 1;
    double worst = 0;
    for (i = 0; i < n_sweep; i++) l[i] = (float)(-100 + 0.01 * i);
    for (i = 0; i < n_ext; i++) { l[n_sweep + 2 * i] = extreme[i]; l[n_sweep + 2 * i + 1] = -extreme[i]; }
    for (kind = 0; kind < 3; kind++) {   /* D on real (label 0.9), D on fake, G (non-saturating) */
        float v;
        const float t = kind == 0 ? 0.9f : kind == 2 ? 1.0f : 0.0f;
        for (i = 0; i < n; i++) { float dl; gan__bce(l[i], t, &dl, 1); ref[i] = 0.7f * dl / (float)n; }
        if (kind < 2) v = gan__loss_d(GAN_LOSS_NONSATURATING, l, n, kind == 0, 0.9f, 0.7f, fast, 0);
        else v = gan__loss_g(GAN_LOSS_NONSATURATING, l, n, 0.7f, fast, 0);
        if (v != 0) nonfinite_ok = 0;
        /* the public losses write the same gradient as the gradient-only ones */
        if (kind < 2) gan_loss_d(GAN_LOSS_NONSATURATING, l, n, kind == 0, 0.9f, 0.7f, full_grad);
        else gan_loss_g(GAN_LOSS_NONSATURATING, l, n, 0.7f, full_grad);
        if (memcmp(full_grad, fast, sizeof(float) * n)) same_as_full = 0;
        for (i = 0; i < n; i++) {
            /* the gradient is scale (sigmoid - t) / n: near sigmoid = t the subtraction cancels,
               so the bound is on the magnitude of its operands */
            const double unit = ldexp(fabs(ref[i]) + t * 0.7 / n, -24), err = fabs((double)fast[i] - ref[i]);
            if (err > 4 * unit && err > 1e-37) bad++;
            if (err > 1e-37 && err / unit > worst) worst = err / unit;
        }
    }
    for (i = 0; i < 3; i++) {
        const float keep = l[100];
        l[100] = i == 0 ? INFINITY : i == 1 ? -INFINITY : NAN;
        if (isfinite(gan__loss_d(GAN_LOSS_NONSATURATING, l, n, 1, 1, 1, fast, 0)) ||
            isfinite(gan__loss_g(GAN_LOSS_NONSATURATING, l, n, 1, fast, 0)))
            nonfinite_ok = 0;
        l[100] = keep;
    }
    CHECK(bad == 0, "BCE gradient: %d of %d values beyond the bound (worst %.2f units)", bad, 3 * n, worst);
    CHECK(nonfinite_ok, "BCE gradient: the check value is not 0 for finite logits and NaN for the others");
    CHECK(same_as_full, "BCE gradient: a reported update's gradient differs from an unreported one's");
    free(l); free(fast); free(ref); free(full_grad);
}

static int noise_data(void *user, float *out, int n, gan_rng *r)
{
    int k;
    (void)user;
    for (k = 0; k < n * 40; k++) out[k] = 2.0f * gan_rng_uniform(r) - 1.0f;
    return 0;
}

/* A small MNIST-shaped GAN (dense, BatchNorm, leaky ReLU, tanh; Adam; the PyTorch-GAN order;
   G averaged) on two threads: after gan_new, training steps allocate nothing. */
static void check_no_allocation_in_step(void)
{
    gan_layer gl[] = { gan_dense(32), gan_leaky_relu(0.2f), gan_dense(64), gan_batchnorm(0.8f, 0.1f),
                       gan_leaky_relu(0.2f), gan_dense(40), gan_activation(GAN_TANH) };
    gan_layer dl[] = { gan_dense(48), gan_leaky_relu(0.2f), gan_dense(1) };
    gan_model *G = gan_model_new(10, gl, 7, 32, NULL), *D = gan_model_new(40, dl, 3, 32, NULL);
    gan_train_config c = gan_train_defaults(10, 32);
    gan_optim_config o = gan_adam(2e-4f, 0.5f, 0.999f);
    gan *g;
    long before;
    int k, rc = 0;
    c.g_first = 1;
    c.d_loss_scale = 0.5f;
    c.g_average = 0.99f;
    gan_model_set_threads(G, 2);
    gan_model_set_threads(D, 2);
    g = gan_new(G, D, &o, &o, &c, 1, NULL);
    CHECK(g != NULL, "a small GAN");
    if (!g) return;
    before = n_allocations;
    for (k = 0; k < 3; k++) rc |= gan_train_step(g, noise_data, NULL, NULL, NULL);
    CHECK(rc == 0, "training steps succeed");
    CHECK(n_allocations == before, "three training steps made %ld allocations", n_allocations - before);
    {   /* the averaged generator uses as many threads as G may */
        gan_model *S;
        gan_model_set_threads(gan_generator(g), 1);
        S = gan_sampling_generator(g, NULL);
        CHECK(S && S->n_threads == 1, "the sampling generator of a one-thread G runs on %d threads",
              S ? S->n_threads : 0);
        gan_model_free(S);
    }
    gan_free(g);
}

static int wide_data(void *user, float *out, int n, gan_rng *r)
{
    int k;
    (void)user;
    for (k = 0; k < n * 1001; k++) out[k] = 2.0f * gan_rng_uniform(r) - 1.0f;
    return 0;
}

/* Training on one and on two threads: the same checkpoint bits. The layers are wide enough
   (batch 140 x 1024 and x 1001, over a million parameters) that the activations, BatchNorm,
   Adam and averaging passes, not only the dense products, are shared out, with slices that
   end in vector tails (140 x 1001 is not a multiple of 16). */
static void check_training_threads(void)
{
    gan_layer gl[] = { gan_dense(1024), gan_batchnorm(0.8f, 0.1f), gan_leaky_relu(0.2f), gan_dense(1001),
                       gan_activation(GAN_TANH) };
    gan_layer dl[] = { gan_dense(24), gan_leaky_relu(0.2f), gan_dense(1) };
    gan_train_config c = gan_train_defaults(16, 140);
    gan_optim_config o = gan_adam(2e-4f, 0.5f, 0.999f);
    unsigned char *saved[2] = { NULL, NULL };
    size_t size[2] = { 0, 0 };
    int t, k, rc = 0, used = 1;
    c.g_first = 1;
    c.d_loss_scale = 0.5f;
    c.noise = GAN_NOISE_NORMAL;
    c.g_average = 0.9f;
    for (t = 0; t < 2; t++) {
        gan_model *G = gan_model_new(16, gl, 5, 140, NULL), *D = gan_model_new(1001, dl, 3, 140, NULL);
        gan *g;
        if (!G || !D) { CHECK(0, "training threads: no models"); gan_model_free(G); gan_model_free(D); break; }
        gan_model_init(G, GAN_INIT_PYTORCH, 0, 5);
        gan_model_init(D, GAN_INIT_PYTORCH, 0, 6);
        used = gan_model_set_threads(G, t + 1);
        gan_model_set_threads(D, t + 1);
        g = gan_new(G, D, &o, &o, &c, 7, NULL);
        if (!g) { CHECK(0, "training threads: no trainer"); break; }
        for (k = 0; k < 3; k++) rc |= gan_train_step(g, wide_data, NULL, NULL, NULL);
        size[t] = gan_save_memory(g, NULL, 0, NULL);
        saved[t] = (unsigned char *)malloc(size[t]);
        if (saved[t]) gan_save_memory(g, saved[t], size[t], NULL);
        gan_free(g);
    }
    CHECK(rc == 0, "training threads: the steps succeed");
    if (used < 2) printf("note: training threads ran on one thread only\n");
    CHECK(saved[0] && saved[1] && size[0] == size[1] && !memcmp(saved[0], saved[1], size[0]),
          "three training steps on two threads differ from one thread");
    free(saved[0]); free(saved[1]);
}

/* The threads of this process, from /proc/self/status; -1 where there is no such file. */
static int process_threads(void)
{
    char line[256];
    int n = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8)) n = atoi(line + 8);
    fclose(f);
    return n;
}

typedef struct pool_user {
    gan_model *m;
    const float *x[2], *expected[2];    /* two inputs, so that a part left undone shows */
    size_t n;
    int batch, mismatches;
} pool_user;

/* 100 forward passes of u->m over its two inputs in turn, each output compared bit for bit
   with the expected one. */
static void *forward_repeatedly(void *arg)
{
    pool_user *u = (pool_user *)arg;
    int k;
    for (k = 0; k < 100; k++) {
        const float *y = gan_model_forward(u->m, u->x[k & 1], u->batch, GAN_EVAL, NULL, NULL);
        if (!y || memcmp(y, u->expected[k & 1], sizeof(float) * u->n)) u->mismatches++;
    }
    return NULL;
}

/* gan_new gives D G's pool: one pool's threads for the trainer instead of two. G and D then
   run from two threads at once: a job that finds the pool busy runs on its caller's thread
   alone, with the same bits. */
static void check_shared_pool(gan_rng *r)
{
    gan_layer gl[] = { gan_dense(512), gan_leaky_relu(0.2f), gan_dense(784), gan_activation(GAN_TANH) };
    gan_layer dl[] = { gan_dense(512), gan_leaky_relu(0.2f), gan_dense(1) };
    gan_model *G = gan_model_new(100, gl, 4, 64, NULL), *D = gan_model_new(784, dl, 3, 64, NULL);
    gan_train_config c = gan_train_defaults(100, 64);
    gan_optim_config o = gan_adam(2e-4f, 0.5f, 0.999f);
    float *z = (float *)malloc(sizeof(float) * 2 * 64 * 100), *x = (float *)malloc(sizeof(float) * 2 * 64 * 784);
    float *gy = (float *)malloc(sizeof(float) * 2 * 64 * 784), *dy = (float *)malloc(sizeof(float) * 2 * 64);
    pool_user u[2];
    pthread_t t[2];
    gan *g;
    int k, threads_before, threads_after = -1, workers, started = 0;
    CHECK(G && D && z && x && gy && dy, "shared pool: models and buffers");
    if (!G || !D || !z || !x || !gy || !dy) { gan_model_free(G); gan_model_free(D); goto done; }
    workers = D->pool->n_workers;
    gan_model_set_threads(G, 2);
    gan_model_set_threads(D, 2);
    threads_before = process_threads();
    g = gan_new(G, D, &o, &o, &c, 1, NULL);
    CHECK(g != NULL, "shared pool: a trainer");
    if (!g) { gan_model_free(G); gan_model_free(D); goto done; }
    /* The released pool's workers have been joined, but under qemu's user-mode emulation a
       joined thread can linger in /proc for a while: wait up to 2 s for the count to drop
       (where there is a count to read). */
    for (k = 0; threads_before >= 0 && k < 200 && (threads_after = process_threads()) != threads_before - workers;
         k++) {
        struct timespec ten_ms = { 0, 10000000 };
        nanosleep(&ten_ms, NULL);
    }
    CHECK(G->pool == D->pool && G->pool->users == 2, "the trainer's G and D share one pool");
    CHECK(D->n_threads == G->n_threads, "D keeps its thread count (%d, G %d)", D->n_threads, G->n_threads);
    if (threads_before >= 0)
        CHECK(threads_after == threads_before - workers, "gan_new left %d threads of %d, not %d", threads_after,
              threads_before, threads_before - workers);
    for (k = 0; k < 2 * 64 * 100; k++) z[k] = gan_rng_normal(r);
    for (k = 0; k < 2 * 64 * 784; k++) x[k] = 2.0f * gan_rng_uniform(r) - 1.0f;
    for (k = 0; k < 2; k++) {
        memcpy(gy + k * 64 * 784, gan_model_forward(G, z + k * 64 * 100, 64, GAN_EVAL, NULL, NULL),
               sizeof(float) * 64 * 784);
        memcpy(dy + k * 64, gan_model_forward(D, x + k * 64 * 784, 64, GAN_EVAL, NULL, NULL), sizeof(float) * 64);
        u[0].x[k] = z + k * 64 * 100; u[0].expected[k] = gy + k * 64 * 784;
        u[1].x[k] = x + k * 64 * 784; u[1].expected[k] = dy + k * 64;
    }
    u[0].m = G; u[0].n = 64 * 784;
    u[1].m = D; u[1].n = 64;
    for (k = 0; k < 2; k++) {
        u[k].batch = 64;
        u[k].mismatches = 0;
        if (pthread_create(&t[k], NULL, forward_repeatedly, &u[k]) == 0) started++;
    }
    CHECK(started == 2, "shared pool: pthread_create failed");
    for (k = 0; k < started; k++) pthread_join(t[k], NULL);
    CHECK(u[0].mismatches == 0 && u[1].mismatches == 0,
          "G and D run at once from two threads: %d and %d of 100 outputs differ", u[0].mismatches, u[1].mismatches);
    gan_free(g);
done:
    free(z); free(x); free(gy); free(dy);
}

int main(void)
{
    static const int odd[] = { 1, 3, 17, 63, 65, 257 };
    /* (B, I, O) of every dense layer in the MNIST model (G 100-128-256-512-1024-784, D 784-512-256-1)
       and the quadratic demo (G 2-16-16-2, D 2-16-16-2-1) */
    static const int model[][3] = { { 64, 100, 128 }, { 64, 128, 256 }, { 64, 256, 512 }, { 64, 512, 1024 },
                                    { 64, 1024, 784 }, { 64, 784, 512 }, { 64, 512, 256 }, { 64, 256, 1 },
                                    { 256, 2, 16 }, { 256, 16, 16 }, { 256, 16, 2 }, { 256, 2, 1 } };
    static const int batch[] = { 1, 15, 16, 17, 255, 256, 257 }, width[] = { 1, 2, 3, 16, 17, 40 };
    const int n_odd = (int)(sizeof odd / sizeof odd[0]), n_model = (int)(sizeof model / sizeof model[0]);
    const int n_batch = (int)(sizeof batch / sizeof batch[0]), n_width = (int)(sizeof width / sizeof width[0]);
    gan_layer layers[1];
    gan_model *m;
    gan_rng r;
    size_t k;
    int a, b, c;
    gan_rng_seed(&r, 2024, 1);

    for (a = 0; a < n_odd; a++)
        for (b = 0; b < n_odd; b++)
            for (c = 0; c < n_odd; c++) check_shape(&r, odd[a], odd[b], odd[c], "odd");
    for (a = 0; a < n_model; a++) check_shape(&r, model[a][0], model[a][1], model[a][2], "model");
    /* rows of W 8 KB apart (all in one L1 cache set), and a row tile of W left over */
    check_shape(&r, 17, 65, 2048, "aligned rows");
    CHECK(n_shapes == n_odd * n_odd * n_odd + n_model + 1, "ran %d shapes", n_shapes);
    check_slices();
    check_dx_prefetch(&r, 3, 17, 65, 0, 17);
    check_dx_prefetch(&r, 1, 20, 100, 0, 20);
    check_dx_prefetch(&r, 5, 257, 63, 8, 200);       /* a slice of the rows, as a thread's part */
    check_dx_prefetch(&r, 64, 1024, 784, 0, 1024);
    check_dx_prefetch(&r, 130, 65, 1024, 0, 65);     /* three blocks of rows of dy */
    check_dW_prefetch(&r, 64, 1024, 784, 0, 784);
    check_dW_prefetch(&r, 17, 65, 63, 0, 63);
    check_dW_prefetch(&r, 5, 257, 100, 32, 96);      /* a slice of the columns, as a thread's part */
    check_dW_prefetch(&r, 3, 9, 17, 0, 17);           /* one row tile and one row of the next */
    /* layers one, two or three wide on either side, with every kind of final block of rows */
    for (a = 0; a < n_batch; a++)
        for (b = 0; b < n_width; b++)
            for (c = 0; c < n_width; c++)
                if (width[b] <= 3 || width[c] <= 3) {
                    check_shape(&r, batch[a], width[b], width[c], "narrow");
                    check_column_slices(&r, batch[a], width[b], width[c]);
                }

    layers[0] = gan_dense(1024);   /* as wide and as long as any product below: dx packs dy into the model */
    m = gan_model_new(1, layers, 1, 300, NULL);
    CHECK(m != NULL, "a model to own the thread pool");
    if (m) {
        CHECK(gan_model_set_threads(m, 1) == 1, "one thread is always possible");
        if (gan_model_set_threads(m, 2) < 2) printf("note: no second thread in this build or on this machine\n");
        check_threads(m, &r, 64, 784, 512);
        check_threads(m, &r, 65, 257, 257);
        check_threads(m, &r, 63, 1024, 65);
        check_threads(m, &r, 63, 65, 1024);
        check_threads(m, &r, 257, 65, 63);
        check_threads(m, &r, 300, 65, 1000);    /* dy packed on two threads too */
        gan_model_free(m);
    }

    for (k = 1; k <= 257; k = k * 4 + 1) {   /* 1, 5, 21, 85: every tail length of the vectors */
        check_optimizer(&r, gan_adam(2e-4f, 0.5f, 0.999f), "Adam", k);
        check_optimizer(&r, gan_rmsprop_tf(1e-3f), "RMSProp (TF)", k);
        check_optimizer(&r, gan_rmsprop_torch(1e-3f), "RMSProp (PyTorch)", k);
        check_optimizer(&r, gan_sgd(1e-2f, 0.9f), "SGD", k);
    }
    check_optimizer(&r, gan_adam(2e-4f, 0.5f, 0.999f), "Adam", 1000003);
    for (k = 1; k < (size_t)n_batch; k++) check_overwrite(&r, batch[k]);   /* BatchNorm needs 2 rows */
    check_tanh();
    check_bce_gradient();
    check_no_allocation_in_step();
    check_training_threads();
    check_shared_pool(&r);
    return check_summary();
}
