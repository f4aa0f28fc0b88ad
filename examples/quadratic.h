/* quadratic.h - the parts of the quadratic-curve demo that examples/quadratic.c and
   tests/test_quadratic.c share: the data, the two networks, the training loop that records
   what the plots need, the quality figures and the SVG/CSV writers.

   The demo is the classic 2-D GAN tutorial (aadilh/blogs, basic-gans/code/gan.py): learn
   points (x, 10 + x^2) with x uniform in [-50, 50), from 2-D noise z ~ U(-1, 1)^2.
     G: 2 -> 16 -> 16 -> 2, leaky ReLU 0.2 on the hidden layers, linear output.
     D: 2 -> 16 -> 16 -> 2 -> 1, leaky ReLU 0.2 on the 16-unit layers; the 2-unit layer is
        linear, so the feature map D learns can be drawn in the plane.
     Sigmoid cross-entropy from logits; D's loss is BCE(real, 1) + BCE(fake, 0), G's is
     -log D(G(z)). RMSProp (TensorFlow 1) lr 1e-3 for both, Glorot-uniform weights, zero biases.
     Batch 256; 10,001 iterations, each one real batch and one noise batch shared by 10 D
     updates and then 10 G updates.

   Include after gan.h (with its implementation somewhere in the program). */
#ifndef QUADRATIC_H
#define QUADRATIC_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

/* static inline: private to each program that includes this, and no warning for the parts a
   program does not use. */
#define QUAD_API static inline

/* Index of D's 2-unit feature layer in quad_d_layers: dense16, lrelu, dense16, lrelu, dense2, dense1. */
#define QUAD_FEATURE_LAYER 4

/* The tutorial's committed loss log: mean over iterations >= 9000. */
#define QUAD_TUTORIAL_D 1.294
#define QUAD_TUTORIAL_G 0.698

typedef struct quad_config {
    long iterations;    /* training iterations (10,001) */
    int batch;          /* samples per minibatch (256) */
    int nd, ng;         /* D updates, then G updates, per iteration (10, 10) */
    float lr;           /* learning rate of both optimizers (1e-3) */
    int optimizer;      /* GAN_RMSPROP_TF, GAN_RMSPROP_TORCH, GAN_ADAM or GAN_SGD */
    int loss;           /* GAN_LOSS_* (non-saturating) */
    int noise;          /* GAN_NOISE_UNIFORM or GAN_NOISE_NORMAL */
    int init;           /* GAN_INIT_GLOROT or GAN_INIT_PYTORCH */
    int hidden;         /* width of the hidden layers (16) */
    float slope;        /* leaky ReLU slope (0.2) */
    float scale;        /* x = scale * (U[0, 1) - 0.5) (100) */
    unsigned long seed; /* seeds the weights, the data and the noise (1) */
    int log_every;      /* iterations between logged losses (10) */
    int plot_every;     /* iterations between plotted checkpoints (1000) */
    int samples;        /* generated points for the quality figures and samples.csv (10,000) */
    int late;           /* last iterations whose losses are averaged (1000) */
} quad_config;

QUAD_API quad_config quad_config_defaults(void)
{
    quad_config c;
    memset(&c, 0, sizeof c);
    c.iterations = 10001;
    c.batch = 256;
    c.nd = 10;
    c.ng = 10;
    c.lr = 1e-3f;
    c.optimizer = GAN_RMSPROP_TF;
    c.loss = GAN_LOSS_NONSATURATING;
    c.noise = GAN_NOISE_UNIFORM;
    c.init = GAN_INIT_GLOROT;
    c.hidden = 16;
    c.slope = 0.2f;
    c.scale = 100;
    c.seed = 1;
    c.log_every = 10;
    c.plot_every = 1000;
    c.samples = 10000;
    c.late = 1000;
    return c;
}

/* How close the generated points are to the data, on n samples. */
typedef struct quad_quality {
    double ks;          /* Kolmogorov-Smirnov statistic of x against U[-scale/2, scale/2) */
    double err;         /* mean |y - (10 + x^2)| / (scale/2)^2, the curve's y range */
    int bins;           /* of the ten x-bins of width scale/10, how many hold >= 2% of the points */
    double late_d, late_g;  /* mean D and G loss over the last `late` iterations */
} quad_quality;

/* What one run leaves behind. Checkpoint k (iteration ckpt_iter[k]) stores, each (batch, 2):
   the real batch, G's points after that iteration's G updates, and D's features of the
   real and the generated points before the G updates and after them. */
typedef struct quad_run {
    gan *g;
    int n_logs;
    long *log_iter;     /* (n_logs) */
    float *log_d, *log_g;
    int n_ckpt;
    long *ckpt_iter;    /* (n_ckpt) */
    float *ckpt_real, *ckpt_fake;   /* (n_ckpt, batch, 2) */
    float *feat;        /* (n_ckpt, 4, batch, 2): real before, fake before, real after, fake after */
    float *samples;     /* (samples, 2): the final generator's points */
    quad_quality q;
} quad_run;

enum { QUAD_REAL_BEFORE = 0, QUAD_FAKE_BEFORE, QUAD_REAL_AFTER, QUAD_FAKE_AFTER };

/* Called after every iteration; returns nonzero to stop training. */
typedef int (*quad_progress_fn)(void *user, long iteration, const gan_stats *st);

/* Fills err with "what: why" and returns code. */
QUAD_API int quad_fail(gan_error *err, int code, const char *what, const char *why)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, "%.180s: %.70s", what, why);
    }
    return code;
}

/* ---- the data ------------------------------------------------------------------------ */

/* x = scale * (U[0, 1) - 0.5), y = 10 + x^2, from the trainer's generator. */
QUAD_API int quad_data(void *user, float *out, int n, gan_rng *rng)
{
    const float scale = *(const float *)user;
    int i;
    for (i = 0; i < n; i++) {
        const float x = scale * (gan_rng_uniform(rng) - 0.5f);
        out[2 * i] = x;
        out[2 * i + 1] = 10 + x * x;
    }
    return 0;
}

/* ---- the quality figures ---------------------------------------------------------------- */

QUAD_API int quad_cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* KS, curve error and bin coverage of n points (x, y); NaN points count as misses. */
QUAD_API int quad_measure(const float *xy, int n, float scale, quad_quality *q)
{
    const double half = scale / 2, range = half * half;
    float *x = (float *)malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    int counts[10] = { 0 };
    double err = 0, ks = 0;
    int i, b;
    if (!x) return -1;
    for (i = 0; i < n; i++) {
        const double xi = xy[2 * i], yi = xy[2 * i + 1];
        x[i] = isfinite(xi) ? xy[2 * i] : (float)HUGE_VAL;
        err += isfinite(xi) && isfinite(yi) ? fabs(yi - (10 + xi * xi)) : range;
        b = (int)floor((xi + half) / (scale / 10));
        if (xi >= -half && xi < half && b >= 0 && b < 10) counts[b]++;
    }
    /* Empirical CDF against F(x) = (x + half) / scale, clamped to [0, 1]: the largest gap
       just before and just after each sorted point. */
    qsort(x, (size_t)n, sizeof *x, quad_cmp_float);
    for (i = 0; i < n; i++) {
        double F = (x[i] + half) / scale;
        F = F < 0 ? 0 : F > 1 ? 1 : F;
        if (F - (double)i / n > ks) ks = F - (double)i / n;
        if ((double)(i + 1) / n - F > ks) ks = (double)(i + 1) / n - F;
    }
    free(x);
    q->ks = ks;
    q->err = n > 0 ? err / n / range : 0;
    q->bins = 0;
    for (b = 0; b < 10; b++) if (counts[b] >= 0.02 * n) q->bins++;
    return 0;
}

/* ---- building and training -------------------------------------------------------------- */

QUAD_API void quad_run_free(quad_run *r)
{
    gan_free(r->g);
    free(r->log_iter); free(r->log_d); free(r->log_g);
    free(r->ckpt_iter); free(r->ckpt_real); free(r->ckpt_fake); free(r->feat);
    free(r->samples);
    memset(r, 0, sizeof *r);
}

/* Builds G, D and the trainer exactly as the tutorial does, with c's settings. */
QUAD_API gan *quad_build(const quad_config *c, gan_error *err)
{
    const gan_layer g_layers[] = { gan_dense(c->hidden), gan_leaky_relu(c->slope), gan_dense(c->hidden),
                                   gan_leaky_relu(c->slope), gan_dense(2) };
    const gan_layer d_layers[] = { gan_dense(c->hidden), gan_leaky_relu(c->slope), gan_dense(c->hidden),
                                   gan_leaky_relu(c->slope), gan_dense(2), gan_dense(1) };
    gan_model *G = gan_model_new(2, g_layers, 5, c->batch, err);
    gan_model *D = G ? gan_model_new(2, d_layers, 6, c->batch, err) : NULL;
    gan_train_config tc = gan_train_defaults(2, c->batch);
    gan_optim_config opt;
    gan *g;
    if (!D) { gan_model_free(G); return NULL; }
    gan_model_init(G, c->init, 0, 2 * (uint64_t)c->seed + 1);
    gan_model_init(D, c->init, 0, 2 * (uint64_t)c->seed + 2);
    tc.noise = c->noise;
    tc.loss = c->loss;
    tc.d_steps = c->nd;
    tc.g_steps = c->ng;
    tc.same_batch = 1;
    tc.d_loss_scale = 1;
    switch (c->optimizer) {
    case GAN_RMSPROP_TORCH: opt = gan_rmsprop_torch(c->lr); break;
    case GAN_ADAM:          opt = gan_adam(c->lr, 0.9f, 0.999f); break;   /* TensorFlow's defaults */
    case GAN_SGD:           opt = gan_sgd(c->lr, 0); break;
    default:                opt = gan_rmsprop_tf(c->lr); break;
    }
    g = gan_new(G, D, &opt, &opt, &tc, (uint64_t)c->seed, err);
    if (!g) { gan_model_free(G); gan_model_free(D); }
    return g;
}

/* Runs D on x (batch, 2) and copies its feature layer, (batch, 2), into out. */
QUAD_API int quad_features(gan *g, const float *x, int batch, float *out, gan_error *err)
{
    int width = 0;
    const float *f;
    if (!gan_model_forward(gan_discriminator(g), x, batch, GAN_EVAL, NULL, err)) return -1;
    f = gan_model_layer_output(gan_discriminator(g), QUAD_FEATURE_LAYER, &width);
    if (!f || width != 2) return quad_fail(err, GAN_ERR_ARGUMENT, "quadratic", "D has no 2-unit feature layer");
    memcpy(out, f, sizeof(float) * 2 * (size_t)batch);
    return 0;
}

/* Runs G on z and copies its points, (batch, 2), into out. */
QUAD_API int quad_generate(gan *g, const float *z, int batch, float *out, gan_error *err)
{
    const float *y = gan_model_forward(gan_generator(g), z, batch, GAN_EVAL, NULL, err);
    if (!y) return -1;
    memcpy(out, y, sizeof(float) * 2 * (size_t)batch);
    return 0;
}

/* One iteration written out by hand, for the checkpoints: the same updates gan_train_step
   makes, with D's features of the real and the generated points read after the D updates
   (before the G updates) and again after the G updates. Leaves G's final points in fake. */
QUAD_API int quad_checkpoint_step(gan *g, const quad_config *c, float *real, float *z, float *fake, float *feat,
                                  gan_stats *st, gan_error *err)
{
    const int B = c->batch;
    const size_t group = (size_t)B * 2;
    int k;
    quad_data((void *)&c->scale, real, B, gan_trainer_rng(g));
    gan_sample_noise(g, z, B);
    for (k = 0; k < c->nd; k++) if (gan_d_step(g, real, z, st, err)) return -1;
    if (quad_features(g, real, B, feat + QUAD_REAL_BEFORE * group, err) || quad_generate(g, z, B, fake, err) ||
        quad_features(g, fake, B, feat + QUAD_FAKE_BEFORE * group, err))
        return -1;
    for (k = 0; k < c->ng; k++) if (gan_g_step(g, z, st, err)) return -1;
    if (quad_features(g, real, B, feat + QUAD_REAL_AFTER * group, err) || quad_generate(g, z, B, fake, err) ||
        quad_features(g, fake, B, feat + QUAD_FAKE_AFTER * group, err))
        return -1;
    return 0;
}

/* Trains one GAN with c's settings. With record set, keeps the losses every log_every
   iterations and the checkpoints every plot_every; always measures the quality of
   c->samples final points (kept in r->samples) and the late losses. r->g stays alive for
   the caller (to save it); quad_run_free releases everything. Returns 0, or -1 with err. */
QUAD_API int quad_train(const quad_config *c, quad_run *r, int record, quad_progress_fn progress, void *user,
                        gan_error *err)
{
    const int B = c->batch;
    const long late_from = c->iterations - (c->late < c->iterations ? c->late : c->iterations);
    const int max_logs = record ? (int)((c->iterations - 1) / c->log_every + 1) : 0;
    const int max_ckpt = record ? (int)((c->iterations - 1) / c->plot_every + 1) : 0;
    float *real = NULL, *z = NULL;
    double sum_d = 0, sum_g = 0;
    long it;
    int rc = -1;

    memset(r, 0, sizeof *r);
    if (!(r->g = quad_build(c, err))) return -1;
    real = (float *)malloc(sizeof(float) * 2 * (size_t)B);
    z = (float *)malloc(sizeof(float) * 2 * (size_t)B);
    r->samples = (float *)malloc(sizeof(float) * 2 * (size_t)(c->samples > 0 ? c->samples : 1));
    if (record) {
        r->log_iter = (long *)malloc(sizeof(long) * (size_t)max_logs);
        r->log_d = (float *)malloc(sizeof(float) * (size_t)max_logs);
        r->log_g = (float *)malloc(sizeof(float) * (size_t)max_logs);
        r->ckpt_iter = (long *)malloc(sizeof(long) * (size_t)max_ckpt);
        r->ckpt_real = (float *)malloc(sizeof(float) * 2 * (size_t)B * max_ckpt);
        r->ckpt_fake = (float *)malloc(sizeof(float) * 2 * (size_t)B * max_ckpt);
        r->feat = (float *)malloc(sizeof(float) * 8 * (size_t)B * max_ckpt);
    }
    if (!real || !z || !r->samples ||
        (record && (!r->log_iter || !r->log_d || !r->log_g || !r->ckpt_iter || !r->ckpt_real || !r->ckpt_fake ||
                    !r->feat))) {
        quad_fail(err, GAN_ERR_MEMORY, "quadratic", "out of memory");
        goto done;
    }

    for (it = 0; it < c->iterations; it++) {
        gan_stats st;
        memset(&st, 0, sizeof st);
        if (record && it % c->plot_every == 0) {
            const int k = r->n_ckpt++;
            r->ckpt_iter[k] = it;
            if (quad_checkpoint_step(r->g, c, r->ckpt_real + (size_t)k * 2 * B, z,
                                     r->ckpt_fake + (size_t)k * 2 * B, r->feat + (size_t)k * 8 * B, &st, err))
                goto done;
        } else if (gan_train_step(r->g, quad_data, (void *)&c->scale, &st, err)) {
            goto done;
        }
        if (record && it % c->log_every == 0) {
            r->log_iter[r->n_logs] = it;
            r->log_d[r->n_logs] = st.d_loss;
            r->log_g[r->n_logs] = st.g_loss;
            r->n_logs++;
        }
        if (it >= late_from) { sum_d += st.d_loss; sum_g += st.g_loss; }
        if (progress && progress(user, it, &st)) break;
    }
    if (c->samples > 0 && gan_generate(r->g, r->samples, c->samples, err)) goto done;
    if (quad_measure(r->samples, c->samples, c->scale, &r->q)) {
        quad_fail(err, GAN_ERR_MEMORY, "quadratic", "out of memory");
        goto done;
    }
    r->q.late_d = it > late_from ? sum_d / (double)(it - late_from) : 0;
    r->q.late_g = it > late_from ? sum_g / (double)(it - late_from) : 0;
    rc = 0;
done:
    free(real);
    free(z);
    return rc;
}

/* ---- files ------------------------------------------------------------------------------ */

/* Writes a finished text or SVG buffer through gan_write_file_atomic. */
QUAD_API int quad_write_buffer(const plot_svg *t, const char *path, gan_error *err)
{
    if (t->failed || !t->buf) {
        return quad_fail(err, GAN_ERR_MEMORY, path, "out of memory");
    }
    return gan_write_file_atomic(path, t->buf, t->len, err);
}

/* losses.csv: iteration, D loss, G loss; one row per logged iteration. */
QUAD_API int quad_write_losses_csv(const quad_run *r, const char *path, gan_error *err)
{
    plot_svg t;
    int i, rc;
    plot_buffer_begin(&t);
    plot_printf(&t, "iteration,d_loss,g_loss\n");
    for (i = 0; i < r->n_logs; i++) plot_printf(&t, "%ld,%.6g,%.6g\n", r->log_iter[i], r->log_d[i], r->log_g[i]);
    rc = quad_write_buffer(&t, path, err);
    plot_free(&t);
    return rc;
}

/* samples.csv: x, y; one row per generated point. */
QUAD_API int quad_write_samples_csv(const quad_run *r, int n, const char *path, gan_error *err)
{
    plot_svg t;
    int i, rc;
    plot_buffer_begin(&t);
    plot_printf(&t, "x,y\n");
    for (i = 0; i < n; i++) plot_printf(&t, "%.7g,%.7g\n", r->samples[2 * i], r->samples[2 * i + 1]);
    rc = quad_write_buffer(&t, path, err);
    plot_free(&t);
    return rc;
}

/* losses.svg: D and G loss at every logged iteration, with the equilibrium values 2 ln 2 and
   ln 2 marked, in two panels: every loss on one scale (the early phase, where D and G take
   turns winning outright, reaches losses of 20 and more), then the same curves on [0, 2.5],
   where the approach to the equilibrium is visible. */
QUAD_API int quad_write_losses_svg(const quad_run *r, const char *path, gan_error *err)
{
    const double ln2 = 0.6931471805599453;
    const char *const d_color = plot_color(0), *const g_color = plot_color(1), *const ref_color = "#555555";
    float *x = (float *)malloc(sizeof(float) * (size_t)(r->n_logs > 0 ? r->n_logs : 1));
    double xmax, lo = 0, hi = 2.5;
    plot_legend_item items[3];
    plot_frame all, zoom;
    plot_svg s;
    int i, rc;
    if (!x) return quad_fail(err, GAN_ERR_MEMORY, path, "out of memory");
    for (i = 0; i < r->n_logs; i++) x[i] = (float)r->log_iter[i];
    xmax = r->n_logs > 1 ? x[r->n_logs - 1] : 1;
    plot_data_range(r->log_d, r->n_logs, 1, &lo, &hi);
    plot_data_range(r->log_g, r->n_logs, 1, &lo, &hi);
    plot_nice_range(&lo, &hi);
    items[0].label = "D loss: BCE(real, 1) + BCE(fake, 0)"; items[0].color = d_color; items[0].shape = PLOT_LINE;
    items[1].label = "G loss: -log D(G(z))"; items[1].color = g_color; items[1].shape = PLOT_LINE;
    items[2].label = "equilibrium: D 2 ln 2 = 1.386, G ln 2 = 0.693";
    items[2].color = ref_color; items[2].shape = PLOT_DASH;

    plot_begin(&s, 820, 720);
    plot_text(&s, 20, 26, PLOT_START, 16, "GAN losses on the quadratic curve (logged every %ld iterations)",
              r->n_logs > 1 ? r->log_iter[1] - r->log_iter[0] : 1L);
    plot_legend_row(&s, 14, 40, items, 3);
    all = plot_frame_make(80, 100, 710, 210, 0, xmax, lo, hi);
    plot_axes(&s, &all, "all iterations, full scale", NULL, "loss");
    plot_hline(&s, &all, 2 * ln2, ref_color, NULL);
    plot_hline(&s, &all, ln2, ref_color, NULL);
    plot_polyline(&s, &all, x, r->log_d, r->n_logs, 1, d_color, 1.2);
    plot_polyline(&s, &all, x, r->log_g, r->n_logs, 1, g_color, 1.2);
    zoom = plot_frame_make(80, 370, 710, 290, 0, xmax, 0, 2.5);
    plot_axes(&s, &zoom, "the same, on [0, 2.5]: losses above 2.5 run off the top", "iteration", "loss");
    plot_polyline(&s, &zoom, x, r->log_d, r->n_logs, 1, d_color, 1.2);
    plot_polyline(&s, &zoom, x, r->log_g, r->n_logs, 1, g_color, 1.2);
    plot_hline(&s, &zoom, 2 * ln2, ref_color, "2 ln 2 = 1.386 (D)");
    plot_hline(&s, &zoom, ln2, ref_color, "ln 2 = 0.693 (G)");
    plot_end(&s);
    free(x);
    rc = quad_write_buffer(&s, path, err);
    plot_free(&s);
    return rc;
}

/* Small multiples: panel k's frame in a grid of `cols` columns below a header band. */
#define QUAD_PANEL_W 250
#define QUAD_PANEL_H 190
#define QUAD_CELL_W (QUAD_PANEL_W + 85)
#define QUAD_CELL_H (QUAD_PANEL_H + 75)
#define QUAD_HEADER 78

QUAD_API plot_frame quad_panel(int k, int cols, double xmin, double xmax, double ymin, double ymax)
{
    return plot_frame_make(70 + (k % cols) * QUAD_CELL_W, QUAD_HEADER + 26 + (k / cols) * QUAD_CELL_H, QUAD_PANEL_W,
                           QUAD_PANEL_H, xmin, xmax, ymin, ymax);
}

QUAD_API void quad_grid_begin(plot_svg *s, int n, int *cols, const char *title, const plot_legend_item *items,
                              int n_items)
{
    const int c = n < 4 ? (n > 0 ? n : 1) : 4, rows = (n + c - 1) / c;
    const int width = 40 + c * QUAD_CELL_W > 820 ? 40 + c * QUAD_CELL_W : 820;
    *cols = c;
    plot_begin(s, width, QUAD_HEADER + 20 + (rows > 0 ? rows : 1) * QUAD_CELL_H);
    plot_text(s, 20, 26, PLOT_START, 16, "%s", title);
    plot_legend_row(s, 14, 40, items, n_items);
}

/* samples.svg: the real batch and G's points at every checkpoint, on shared axes. The axes
   cover the real curve and the generated points, but at most half the curve's width (and
   height) beyond it on each side; points outside are counted in the panel's title. */
QUAD_API int quad_write_samples_svg(const quad_run *r, const quad_config *c, const char *path, gan_error *err)
{
    const int B = c->batch;
    const double half = c->scale / 2, top = 10 + half * half;
    plot_legend_item items[2];
    double xmin = -half, xmax = half, ymin = 0, ymax = top;
    plot_svg s;
    int k, cols, rc;
    items[0].label = "real data (this iteration's batch)"; items[0].color = plot_color(0); items[0].shape = PLOT_DOT;
    items[1].label = "generated: G(z) after the iteration's G updates";
    items[1].color = plot_color(1); items[1].shape = PLOT_DOT;
    plot_data_range(r->ckpt_fake, r->n_ckpt * B, 2, &xmin, &xmax);
    plot_data_range(r->ckpt_fake + 1, r->n_ckpt * B, 2, &ymin, &ymax);
    if (xmin < -2 * half) xmin = -2 * half;
    if (xmax > 2 * half) xmax = 2 * half;
    if (ymin < -top / 2) ymin = -top / 2;
    if (ymax > 1.5 * top) ymax = 1.5 * top;
    plot_nice_range(&xmin, &xmax);
    plot_nice_range(&ymin, &ymax);
    {
        char title[128];
        snprintf(title, sizeof title, "Real and generated points: (x, 10 + x^2), x uniform in [%g, %g)", -half, half);
        quad_grid_begin(&s, r->n_ckpt, &cols, title, items, 2);
    }
    for (k = 0; k < r->n_ckpt; k++) {
        plot_frame f = quad_panel(k, cols, xmin, xmax, ymin, ymax);
        const float *fake = r->ckpt_fake + (size_t)k * 2 * B;
        char title[96];
        int i, outside = 0;
        for (i = 0; i < B; i++)
            if (!(fake[2 * i] >= xmin && fake[2 * i] <= xmax && fake[2 * i + 1] >= ymin && fake[2 * i + 1] <= ymax))
                outside++;
        if (outside) snprintf(title, sizeof title, "iteration %ld (%d outside)", r->ckpt_iter[k], outside);
        else snprintf(title, sizeof title, "iteration %ld", r->ckpt_iter[k]);
        plot_axes(&s, &f, title, k / cols == (r->n_ckpt - 1) / cols ? "x" : NULL, k % cols == 0 ? "y" : NULL);
        plot_points(&s, &f, r->ckpt_real + (size_t)k * 2 * B, r->ckpt_real + (size_t)k * 2 * B + 1, B, 2,
                    plot_color(0), 1.8, 0.55);
        plot_points(&s, &f, fake, fake + 1, B, 2, plot_color(1), 1.8, 0.55);
    }
    plot_end(&s);
    rc = quad_write_buffer(&s, path, err);
    plot_free(&s);
    return rc;
}

/* features.svg: D's 2-unit feature layer at every checkpoint: the generated points mapped
   through D after the iteration's D updates (before the G updates) and again after the G
   updates, the real points, and the centroid of each group. G's updates leave D alone, so the
   real points map to the same features before and after: they are drawn once. D's feature
   scale changes as it trains, so each panel has its own axes. */
QUAD_API int quad_write_features_svg(const quad_run *r, const quad_config *c, const char *path, gan_error *err)
{
    static const int groups[3] = { QUAD_REAL_AFTER, QUAD_FAKE_BEFORE, QUAD_FAKE_AFTER };
    static const char *const colors[3] = { "#1f77b4", "#fdae6b", "#d62728" };
    static const char *const names[3] = { "real data (same before and after)", "generated, before G's updates",
                                          "generated, after G's updates" };
    const int B = c->batch;
    plot_legend_item items[4];
    plot_svg s;
    int k, j, cols, rc;
    for (j = 0; j < 3; j++) { items[j].label = names[j]; items[j].color = colors[j]; items[j].shape = PLOT_DOT; }
    items[3].label = "centroid of each group"; items[3].color = "#bbbbbb"; items[3].shape = PLOT_DIAMOND;
    quad_grid_begin(&s, r->n_ckpt, &cols, "D's 2-unit feature layer: points mapped through D, before and after "
                    "an iteration's G updates", items, 4);
    for (k = 0; k < r->n_ckpt; k++) {
        const float *feat = r->feat + (size_t)k * 8 * B;
        double xmin = HUGE_VAL, xmax = -HUGE_VAL, ymin = HUGE_VAL, ymax = -HUGE_VAL;
        plot_frame f;
        char title[64];
        plot_data_range(feat, 4 * B, 2, &xmin, &xmax);
        plot_data_range(feat + 1, 4 * B, 2, &ymin, &ymax);
        plot_nice_range(&xmin, &xmax);
        plot_nice_range(&ymin, &ymax);
        f = quad_panel(k, cols, xmin, xmax, ymin, ymax);
        snprintf(title, sizeof title, "iteration %ld", r->ckpt_iter[k]);
        plot_axes(&s, &f, title, k / cols == (r->n_ckpt - 1) / cols ? "feature 1" : NULL,
                  k % cols == 0 ? "feature 2" : NULL);
        for (j = 0; j < 3; j++) {
            const float *g = feat + (size_t)groups[j] * 2 * B;
            plot_points(&s, &f, g, g + 1, B, 2, colors[j], 1.7, 0.5);
        }
        for (j = 0; j < 3; j++) {
            const float *g = feat + (size_t)groups[j] * 2 * B;
            double cx = 0, cy = 0;
            int i;
            for (i = 0; i < B; i++) { cx += g[2 * i]; cy += g[2 * i + 1]; }
            plot_marker(&s, &f, cx / B, cy / B, PLOT_DIAMOND, colors[j], 7);
        }
    }
    plot_end(&s);
    rc = quad_write_buffer(&s, path, err);
    plot_free(&s);
    return rc;
}

#endif /* QUADRATIC_H */
