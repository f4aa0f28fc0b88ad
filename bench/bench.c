/* bench.c - how fast gan.h trains, against the machine's own peak and against PyTorch.

   Prints, for each case: steps/s, samples/s, achieved GFLOP/s (the FLOPs of the dense
   products the step really runs, counted from the layer shapes), the fraction of the fp32
   FMA peak measured at start, and the peak RSS beside the bytes the model needs.
     1. the PyTorch-GAN gan.py MNIST model, batch 64: one G step and one D step (g_first)
     2. the same at batch 256 (with GAN_THREADS: on 1 and on 2 threads)
     3. the quadratic demo: G 2-16-16-2, D 2-16-16-2-1, RMSProp (TF) 1e-3, batch 256,
        10 D + 10 G updates on one batch per iteration
     4. the dense layer alone, forward, dx and dW, at the shapes of cases 1-3 (fast and
        reference kernels), and the memory-bound passes (Adam, activations, BatchNorm)
        beside a copy-bandwidth probe.
   Cases 1-3 run in child processes of their own (so each has its own peak RSS), several
   rounds, interleaved with the PyTorch equivalents (bench/torch_bench.py, one thread)
   when --torch is given; every figure is the median over the rounds.

   Build and run: make bench (see the Makefile for the flags). */
#define _POSIX_C_SOURCE 200809L
#define GAN_IMPLEMENTATION
#include "../gan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

#define MAX_ROUNDS 15
#if defined(__GNUC__)       /* the probe's chains must stay in registers at -O2 */
#define BENCH_UNROLL _Pragma("GCC unroll 16")
#else
#define BENCH_UNROLL
#endif

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds used by this process: on a shared machine the fair clock for one thread. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- the machine's own limits --------------------------------------------------------- */

/* fp32 FMA throughput of one core: independent chains of FMAs (enough to cover the FMA
   latency on every pipe), in the widest vectors this build targets, for about `seconds`.
   The machine is shared, so the figure is the fastest of many short (~1 ms) chunks. */
static double fma_peak_gflops(double seconds, const char **isa)
{
    volatile float sink;
    const long per_chunk = 1 << 14;
    double t0 = now(), t, s, best = 1e30;
#if defined(__AVX512F__)
    enum { CHAINS = 16, LANES = 16 };
    __m512 acc[CHAINS];
    const __m512 mul = _mm512_set1_ps(0.9999999f), add = _mm512_set1_ps(1e-7f);
    int j;
    long i;
    *isa = "AVX-512";
    for (j = 0; j < CHAINS; j++) acc[j] = _mm512_set1_ps((float)j);
    do {
        s = now();
        for (i = 0; i < per_chunk; i++)
            BENCH_UNROLL
            for (j = 0; j < CHAINS; j++) acc[j] = _mm512_fmadd_ps(acc[j], mul, add);
        t = now();
        if (t - s < best) best = t - s;
    } while (t - t0 < seconds);
    for (j = 1; j < CHAINS; j++) acc[0] = _mm512_add_ps(acc[0], acc[j]);
    sink = _mm512_reduce_add_ps(acc[0]);
#elif defined(__AVX2__) && defined(__FMA__)
    enum { CHAINS = 12, LANES = 8 };
    __m256 acc[CHAINS];
    const __m256 mul = _mm256_set1_ps(0.9999999f), add = _mm256_set1_ps(1e-7f);
    float lanes[8];
    int j;
    long i;
    *isa = "AVX2+FMA";
    for (j = 0; j < CHAINS; j++) acc[j] = _mm256_set1_ps((float)j);
    do {
        s = now();
        for (i = 0; i < per_chunk; i++)
            BENCH_UNROLL
            for (j = 0; j < CHAINS; j++) acc[j] = _mm256_fmadd_ps(acc[j], mul, add);
        t = now();
        if (t - s < best) best = t - s;
    } while (t - t0 < seconds);
    for (j = 1; j < CHAINS; j++) acc[0] = _mm256_add_ps(acc[0], acc[j]);
    _mm256_storeu_ps(lanes, acc[0]);
    sink = lanes[0];
#else
    enum { CHAINS = 16, LANES = 1 };
    float acc[CHAINS];
    int j;
    long i;
    *isa = "scalar (no FMA/vector target: build with -march=native)";
    for (j = 0; j < CHAINS; j++) acc[j] = (float)j;
    do {
        s = now();
        for (i = 0; i < per_chunk; i++)
            BENCH_UNROLL
            for (j = 0; j < CHAINS; j++) acc[j] = acc[j] * 0.9999999f + 1e-7f;
        t = now();
        if (t - s < best) best = t - s;
    } while (t - t0 < seconds);
    sink = acc[0] + acc[CHAINS - 1];
#endif
    (void)sink;
    return 2.0 * LANES * CHAINS * (double)per_chunk / best / 1e9;
}

/* memcpy bandwidth (bytes read + bytes written per second) over two buffers of n bytes. */
static double copy_gbs(size_t n, double seconds)
{
    char *a = (char *)malloc(n), *b = (char *)malloc(n);
    double t0, t, best = 0;
    memset(a, 1, n);
    memset(b, 2, n);
    t0 = now();
    do {
        const double s = now();
        double gbs;
        memcpy(b, a, n);
        memcpy(a, b, n);
        t = now();
        gbs = 4.0 * (double)n / (t - s) / 1e9;
        if (gbs > best) best = gbs;
    } while (t - t0 < seconds);
    free(a);
    free(b);
    return best;
}

/* ---- the models of the cases ------------------------------------------------------------ */

typedef struct bench_case {
    int id;
    const char *name;
    int batch;
    gan_layer g[16], d[16];
    int ng, nd, z_dim, data_dim;
    gan_train_config cfg;
    gan_optim_config opt;
    int init;
} bench_case;

static bench_case make_case(int id)
{
    bench_case c;
    memset(&c, 0, sizeof c);
    c.id = id;
    if (id == 1 || id == 2) {
        const float eps = 0.8f, mom = 0.1f, slope = 0.2f;
        c.name = id == 1 ? "MNIST gan.py, batch 64" : "MNIST gan.py, batch 256";
        c.batch = id == 1 ? 64 : 256;
        c.z_dim = 100;
        c.data_dim = 784;
        c.g[c.ng++] = gan_dense(128);  c.g[c.ng++] = gan_leaky_relu(slope);
        c.g[c.ng++] = gan_dense(256);  c.g[c.ng++] = gan_batchnorm(eps, mom); c.g[c.ng++] = gan_leaky_relu(slope);
        c.g[c.ng++] = gan_dense(512);  c.g[c.ng++] = gan_batchnorm(eps, mom); c.g[c.ng++] = gan_leaky_relu(slope);
        c.g[c.ng++] = gan_dense(1024); c.g[c.ng++] = gan_batchnorm(eps, mom); c.g[c.ng++] = gan_leaky_relu(slope);
        c.g[c.ng++] = gan_dense(784);  c.g[c.ng++] = gan_activation(GAN_TANH);
        c.d[c.nd++] = gan_dense(512);  c.d[c.nd++] = gan_leaky_relu(slope);
        c.d[c.nd++] = gan_dense(256);  c.d[c.nd++] = gan_leaky_relu(slope);
        c.d[c.nd++] = gan_dense(1);
        c.cfg = gan_train_defaults(c.z_dim, c.batch);
        c.cfg.noise = GAN_NOISE_NORMAL;
        c.cfg.g_first = 1;
        c.cfg.d_loss_scale = 0.5f;
        c.opt = gan_adam(2e-4f, 0.5f, 0.999f);
        c.init = GAN_INIT_PYTORCH;
    } else {
        c.name = "quadratic demo, batch 256, 10+10";
        c.batch = 256;
        c.z_dim = 2;
        c.data_dim = 2;
        c.g[c.ng++] = gan_dense(16); c.g[c.ng++] = gan_leaky_relu(0.2f);
        c.g[c.ng++] = gan_dense(16); c.g[c.ng++] = gan_leaky_relu(0.2f);
        c.g[c.ng++] = gan_dense(2);
        c.d[c.nd++] = gan_dense(16); c.d[c.nd++] = gan_leaky_relu(0.2f);
        c.d[c.nd++] = gan_dense(16); c.d[c.nd++] = gan_leaky_relu(0.2f);
        c.d[c.nd++] = gan_dense(2);  c.d[c.nd++] = gan_dense(1);
        c.cfg = gan_train_defaults(c.z_dim, c.batch);
        c.cfg.d_steps = c.cfg.g_steps = 10;
        c.cfg.same_batch = 1;
        c.opt = gan_rmsprop_tf(1e-3f);
        c.init = GAN_INIT_GLOROT;
    }
    return c;
}

/* FLOPs of the dense products of one pass: forward 2*B*I*O per dense layer; backward
   2*B*I*O for dW (if params) and 2*B*I*O for dx, except at layer 0 unless input_grad. */
static double pass_flops(const gan_layer *l, int n, int in, int B, int forward, int params, int input_grad)
{
    double f = 0;
    int i, width = in;
    for (i = 0; i < n; i++) {
        if (l[i].kind == GAN_DENSE) {
            const double p = 2.0 * B * width * l[i].units;
            if (forward) f += p;
            else f += (params ? p : 0) + (i > 0 || input_grad ? p : 0);
            width = l[i].units;
        }
    }
    return f;
}

/* The dense FLOPs of one gan_train_step, as gan.h runs it: the G step runs G forward, D
   forward, D backward to its input (no dW), G backward (no dx at G's first layer); a D step
   runs D forward and backward (dW, no dx at D's first layer) on real and on fake, except that
   in the PyTorch-GAN order it reuses the G step's forward pass over the fakes (D has neither
   dropout nor BatchNorm in these cases). */
static double step_flops(const bench_case *c)
{
    const int B = c->batch;
    const double g_fwd = pass_flops(c->g, c->ng, c->z_dim, B, 1, 0, 0);
    const double d_fwd = pass_flops(c->d, c->nd, c->data_dim, B, 1, 0, 0);
    const double g_update = g_fwd + d_fwd + pass_flops(c->d, c->nd, c->data_dim, B, 0, 0, 1) +
                            pass_flops(c->g, c->ng, c->z_dim, B, 0, 1, 0);
    const double d_update = 2 * (d_fwd + pass_flops(c->d, c->nd, c->data_dim, B, 0, 1, 0));
    if (c->cfg.g_first) return g_update + d_update - d_fwd;
    return g_fwd * (c->cfg.same_batch ? 1 : c->cfg.d_steps) + c->cfg.d_steps * d_update + c->cfg.g_steps * g_update;
}

/* Bytes the model needs: parameters, gradients and the two optimizer moments of G and D,
   each model's activations, caches, scratch and packed dy, and the trainer's batch buffers. */
static double model_bytes(const bench_case *c)
{
    const gan_layer *ls[2];
    int ns[2], ins[2], k, i;
    double floats = 0;
    ls[0] = c->g; ns[0] = c->ng; ins[0] = c->z_dim;
    ls[1] = c->d; ns[1] = c->nd; ins[1] = c->data_dim;
    for (k = 0; k < 2; k++) {
        int width = ins[k], widest = ins[k];
        for (i = 0; i < ns[k]; i++) {
            const gan_layer *l = &ls[k][i];
            const int out = l->kind == GAN_DENSE ? l->units : width;
            if (l->kind == GAN_DENSE) floats += 4.0 * ((double)width * out + out);     /* W b, grads, m, v */
            if (l->kind == GAN_BATCHNORM) floats += 4.0 * 2 * out + 2 * out + (double)c->batch * out + out;
            floats += (double)c->batch * out;
            width = out;
            if (width > widest) widest = width;
        }
        floats += 2.0 * c->batch * widest;
#ifndef GAN_NO_SIMD
        floats += (double)GAN__DX_PACK_ROWS(c->batch) * widest;    /* dy packed for dx */
#endif
    }
    floats += (double)c->batch * (c->z_dim + 2 * c->data_dim + 1);
    if (c->cfg.g_first) {   /* D's joint pass (its D has no dropout or BatchNorm): the fakes beside the
                               reals, D's outputs over both, three batches of gradients twice */
        int width = c->data_dim, widest = c->data_dim;
        floats += (double)c->batch * c->data_dim;
        for (i = 0; i < c->nd; i++) {
            width = c->d[i].kind == GAN_DENSE ? c->d[i].units : width;
            floats += 2.0 * c->batch * width;
            if (width > widest) widest = width;
        }
        floats += 2.0 * 3 * c->batch * widest;
    }
    return 4.0 * floats;
}

static float *g_real_pool;   /* (4 batches, data_dim): what the data callback serves, in turn */
static int g_pool_rows, g_pool_next;

static int pool_data(void *user, float *out, int n, gan_rng *rng)
{
    const int dim = *(const int *)user;
    (void)rng;
    if (g_pool_next + n > g_pool_rows) g_pool_next = 0;
    memcpy(out, g_real_pool + (size_t)g_pool_next * dim, sizeof(float) * (size_t)n * dim);
    g_pool_next += n;
    return 0;
}

/* The child: trains case c for `seconds` after a warm-up, prints one line:
     case <id> threads <n> steps_per_s <x> wall_steps_per_s <y> rss_kb <peak RSS> base_kb <RSS before the model> */
static int run_case_child(int id, int threads, double seconds)
{
    bench_case c = make_case(id);
    gan_error err;
    gan_model *G, *D;
    gan *g;
    gan_rng r;
    struct rusage ru;
    long base_kb;
    int k, steps = 0, used = 1;
    double t0, t, cpu0, cpu;
    getrusage(RUSAGE_SELF, &ru);
    base_kb = ru.ru_maxrss;
    g_pool_rows = 4 * c.batch;
    g_real_pool = (float *)malloc(sizeof(float) * (size_t)g_pool_rows * c.data_dim);
    if (!g_real_pool) { fprintf(stderr, "bench: out of memory\n"); return 1; }
    gan_rng_seed(&r, 7, 7);
    for (k = 0; k < g_pool_rows * c.data_dim; k++) {
        const float u = gan_rng_uniform(&r);
        g_real_pool[k] = id == 3 ? (k % 2 ? 10 + g_real_pool[k - 1] * g_real_pool[k - 1] : 100 * (u - 0.5f))
                                 : 2 * u - 1;
    }
    G = gan_model_new(c.z_dim, c.g, c.ng, c.batch, &err);
    D = G ? gan_model_new(c.data_dim, c.d, c.nd, c.batch, &err) : NULL;
    if (!D) { fprintf(stderr, "bench: %s\n", err.message); return 1; }
    gan_model_init(G, c.init, 0, 1);
    gan_model_init(D, c.init, 0, 2);
    used = gan_model_set_threads(G, threads);
    gan_model_set_threads(D, threads);
    g = gan_new(G, D, &c.opt, &c.opt, &c.cfg, 42, &err);
    if (!g) { fprintf(stderr, "bench: %s\n", err.message); return 1; }
    for (k = 0; k < 5; k++)
        if (gan_train_step(g, pool_data, &c.data_dim, NULL, &err)) { fprintf(stderr, "bench: %s\n", err.message); return 1; }
    t0 = now();
    cpu0 = cpu_now();
    do {
        if (gan_train_step(g, pool_data, &c.data_dim, NULL, &err)) { fprintf(stderr, "bench: %s\n", err.message); return 1; }
        steps++;
        t = now();
        cpu = cpu_now();
    } while ((used > 1 ? t - t0 : cpu - cpu0) < seconds || steps < 3);
    getrusage(RUSAGE_SELF, &ru);
    /* one thread: steps per CPU second; several: per wall second (CPU time adds up the threads) */
    printf("case %d threads %d steps_per_s %.6g wall_steps_per_s %.6g rss_kb %ld base_kb %ld\n", id, used,
           used > 1 ? steps / (t - t0) : steps / (cpu - cpu0), steps / (t - t0), ru.ru_maxrss, base_kb);
    gan_free(g);
    free(g_real_pool);
    return 0;
}

/* ---- case 4: the kernels alone --------------------------------------------------------- */

static double time_it(void (*fn)(void *), void *arg, double seconds)
{
    double best = 1e30, t0 = now();
    int runs = 0;
    do {
        const double s = now();
        fn(arg);
        {
            const double e = now() - s;
            if (e < best) best = e;
        }
        runs++;
    } while (now() - t0 < seconds || runs < 3);
    return best;
}

typedef struct kernel_arg {
    int which, fast, B, I, O;
    gan_model *m;   /* one thread: the fast products as the model runs them (dx packs dy first) */
    float *x, *W, *b, *y, *dy, *dx, *dW, *db;
} kernel_arg;

static void kernel_run(void *p)
{
    kernel_arg *a = (kernel_arg *)p;
#ifndef GAN_NO_SIMD
    if (a->fast) {
        if (a->which == 0) gan__dense_forward(a->m, a->y, a->x, a->W, a->b, a->B, a->I, a->O);
        if (a->which == 1) gan__dense_backward_input(a->m, a->dx, a->dy, a->W, a->B, a->I, a->O);
        if (a->which == 2) gan__dense_backward_params(a->m, a->dW, a->db, a->dy, a->x, a->B, a->B, a->I, a->O, 1);
        return;
    }
#endif
    if (a->which == 0) gan__dense_forward_ref(a->y, a->x, a->W, a->b, a->B, a->I, a->O);
    if (a->which == 1) gan__dense_backward_input_ref(a->dx, a->dy, a->W, a->B, a->I, a->O);
    if (a->which == 2) gan__dense_backward_params_ref(a->dW, a->db, a->dy, a->x, a->B, a->I, a->O, 1);
}

static float *filled(size_t n, gan_rng *r)
{
    float *p = (float *)malloc(sizeof(float) * n);
    size_t k;
    if (!p) { fprintf(stderr, "bench: out of memory\n"); exit(1); }
    for (k = 0; k < n; k++) p[k] = 2 * gan_rng_uniform(r) - 1;
    return p;
}

/* GFLOP/s of product `which` (0 forward, 1 dx, 2 dW) at (B, I, O), fast or reference. */
static double kernel_gflops(int which, int fast, int B, int I, int O, double seconds)
{
    kernel_arg a;
    gan_layer layer;
    gan_rng r;
    double t;
    gan_rng_seed(&r, 1, 1);
    memset(&a, 0, sizeof a);
    a.which = which; a.fast = fast; a.B = B; a.I = I; a.O = O;
    a.x = filled((size_t)B * I, &r); a.W = filled((size_t)I * O, &r); a.b = filled((size_t)O, &r);
    a.y = filled((size_t)B * O, &r); a.dy = filled((size_t)B * O, &r); a.dx = filled((size_t)B * I, &r);
    a.dW = filled((size_t)I * O, &r); a.db = filled((size_t)O, &r);
    layer = gan_dense(O);
    a.m = gan_model_new(I, &layer, 1, B, NULL);
    if (!a.m) { fprintf(stderr, "bench: out of memory\n"); exit(1); }
    gan_model_set_threads(a.m, 1);
    t = time_it(kernel_run, &a, seconds);
    gan_model_free(a.m);
    free(a.x); free(a.W); free(a.b); free(a.y); free(a.dy); free(a.dx); free(a.dW); free(a.db);
    return 2.0 * B * I * O / t / 1e9;
}

typedef struct stream_arg {
    int which;
    size_t n;
    gan_optim *opt;
    float *w, *g, *y;
    gan__layer *bn;
} stream_arg;

static void stream_run(void *p)
{
    stream_arg *a = (stream_arg *)p;
    if (a->which == 0) gan_optim_step(a->opt, a->w, a->g);
    if (a->which == 1) gan__activation_forward(a->y, a->w, a->n, GAN_LEAKY_RELU, 0.2f);
    if (a->which == 2) gan__activation_backward(a->y, a->g, a->w, a->w, a->n, GAN_LEAKY_RELU, 0.2f);
    if (a->which == 3) gan__batchnorm_forward(a->bn, a->w, 64, GAN_TRAIN, 0, a->bn->out);
    if (a->which == 4) gan__batchnorm_backward(a->bn, a->y, a->g, 64, GAN_TRAIN, 1, 0, a->bn->out);
}

/* The memory-bound passes of the MNIST step at batch 64, in GB/s of the bytes they must
   move: Adam over G's parameters (read w, g, m, v; write w, m, v: 28 bytes a parameter),
   leaky ReLU forward (8 bytes an element) and backward (12), BatchNorm forward on the
   1024-unit layer (read x, write x_hat and y: 12) and backward (read dy, x_hat, write dx: 12). */
static void stream_table(double seconds, double copy)
{
    static const char *names[] = { "Adam step, G's 1.49 M parameters", "leaky ReLU forward, 64 x 1024",
                                   "leaky ReLU backward, 64 x 1024", "BatchNorm forward, 64 x 1024",
                                   "BatchNorm backward, 64 x 1024" };
    const double bytes_per[] = { 28, 8, 12, 12, 12 };
    gan_optim_config oc = gan_adam(2e-4f, 0.5f, 0.999f);
    bench_case c = make_case(1);
    gan_layer bn[2];
    gan_model *G = gan_model_new(100, c.g, c.ng, 64, NULL), *BN;
    gan_rng r;
    stream_arg a;
    int w;
    gan_rng_seed(&r, 3, 3);
    bn[0] = gan_dense(1024); bn[1] = gan_batchnorm(0.8f, 0.1f);
    BN = gan_model_new(1, bn, 2, 64, NULL);
    memset(&a, 0, sizeof a);
    printf("\nMemory-bound passes (GB/s of the bytes each must move; copy probe %.1f GB/s on a buffer of the same size)\n",
           copy);
    for (w = 0; w < 5; w++) {
        double t;
        a.which = w;
        a.n = w == 0 ? gan_model_num_params(G) : 64 * 1024;
        a.w = filled(a.n, &r); a.g = filled(a.n, &r); a.y = filled(a.n, &r);
        a.opt = w == 0 ? gan_optim_new(&oc, a.n, NULL) : NULL;
        a.bn = &BN->layers[1];
        t = time_it(stream_run, &a, seconds);
        printf("  %-36s %8.1f us  %6.1f GB/s  (%3.0f%% of copy)\n", names[w], t * 1e6, bytes_per[w] * a.n / t / 1e9,
               100 * bytes_per[w] * a.n / t / 1e9 / copy);
        gan_optim_free(a.opt);
        free(a.w); free(a.g); free(a.y);
    }
    gan_model_free(G);
    gan_model_free(BN);
}

/* Every (B, I, O) of cases 1-3, with how often each product runs in a step. */
static void kernel_table(double peak, double seconds)
{
    static const int shapes[][3] = { { 64, 100, 128 }, { 64, 128, 256 }, { 64, 256, 512 }, { 64, 512, 1024 },
                                     { 64, 1024, 784 }, { 64, 784, 512 }, { 64, 512, 256 }, { 64, 256, 1 },
                                     { 256, 512, 1024 }, { 256, 1024, 784 }, { 256, 784, 512 },
                                     { 256, 2, 16 }, { 256, 16, 16 }, { 256, 16, 2 }, { 256, 2, 1 } };
    static const char *prod[] = { "y = xW+b", "dx = dyW^T", "dW += x^T dy" };
    const int n = (int)(sizeof shapes / sizeof shapes[0]);
    double flops64 = 0, time64 = 0;
    int s, w;
    printf("\nCase 4: the dense layer alone (best of repeated runs; %% of the measured FMA peak)\n");
    printf("  %-16s %-13s %10s %7s %12s %8s\n", "B x I x O", "product", "fast GF/s", "% peak", "ref GF/s", "speedup");
    for (s = 0; s < n; s++)
        for (w = 0; w < 3; w++) {
            const int B = shapes[s][0], I = shapes[s][1], O = shapes[s][2];
            const double fast = kernel_gflops(w, 1, B, I, O, seconds), ref = kernel_gflops(w, 0, B, I, O, seconds / 3);
            char shape[32];
            sprintf(shape, "%dx%dx%d", B, I, O);
            printf("  %-16s %-13s %10.1f %6.1f%% %12.1f %7.1fx\n", shape, prod[w], fast, 100 * fast / peak, ref,
                   fast / ref);
            if (B == 64 && I >= 100 && O > 1) { flops64 += 2.0 * B * I * O; time64 += 2.0 * B * I * O / fast; }
        }
    printf("  all MNIST shapes at batch 64, weighted by FLOPs: %.1f GFLOP/s = %.1f%% of peak\n", flops64 / time64,
           100 * flops64 / time64 / peak);
}

/* ---- the parent: rounds of children and PyTorch, medians, the table ---------------------- */

static int read_child(const char *self, int id, int threads, double seconds, double *sps, double *wall,
                      double *rss_kb, double *base_kb)
{
    char cmd[1024], line[512];
    FILE *p;
    int ok = 0;
    snprintf(cmd, sizeof cmd, "'%s' --child %d --threads %d --seconds %g", self, id, threads, seconds);
    p = popen(cmd, "r");
    if (!p) return 0;
    while (fgets(line, sizeof line, p)) {
        int cid, th;
        long rss, base;
        if (sscanf(line, "case %d threads %d steps_per_s %lf wall_steps_per_s %lf rss_kb %ld base_kb %ld", &cid, &th,
                   sps, wall, &rss, &base) == 6) {
            *rss_kb = (double)rss;
            *base_kb = (double)base;
            ok = 1;
        }
    }
    return pclose(p) == 0 && ok;
}

/* PyTorch on one thread, with OpenBLAS from `blas_dir` if given (Debian's python3-torch
   takes whatever libblas.so.3 the system's alternatives name, possibly the slow reference). */
static int read_torch(const char *script, const char *blas_dir, const char *coretype, int id, double seconds,
                      double *sps, double *wall)
{
    char cmd[2048], line[512];
    FILE *p;
    int ok = 0;
    snprintf(cmd, sizeof cmd, "%s%s%s OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 %s%s /usr/bin/python3 '%s' --case %d "
             "--seconds %g", blas_dir ? "LD_LIBRARY_PATH='" : "", blas_dir ? blas_dir : "", blas_dir ? "'" : "",
             coretype ? "OPENBLAS_CORETYPE=" : "", coretype ? coretype : "", script, id, seconds);
    p = popen(cmd, "r");
    if (!p) return 0;
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, "steps_per_s %lf", sps) == 1) ok = 1;
        sscanf(line, "wall_steps_per_s %lf", wall);
    }
    return pclose(p) == 0 && ok;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench [options]\n"
               "  --rounds N       rounds of cases 1-3 (and PyTorch), medians reported (default 5)\n"
               "  --seconds S      timed seconds per case per round (default 1)\n"
               "  --torch FILE     also run the PyTorch equivalents with this script (default: off)\n"
               "  --blas DIR       directory with the libblas.so.3 PyTorch should load (default: the system's)\n"
               "  --kernels 0|1    run case 4, the kernels alone and the memory-bound passes (default 1)\n"
               "  --threads N      with GAN_THREADS: also run case 2 on N threads (default 2)\n"
               "  --child N        (used by the bench itself) run case N alone and print one line (default: off)\n"
               "  --help           this text\n");
}

static int parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s ? s : "", &end);
    if (!s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "bench: %s needs a number in [%g, %g], got '%s'\n", flag, lo, hi, s ? s : "");
        return 0;
    }
    *out = v;
    return 1;
}

int main(int argc, char **argv)
{
    double rounds = 5, seconds = 1, kernels = 1, threads = 2, child = 0, peak, copy;
    const char *torch = NULL, *blas = NULL, *isa = "";
    enum { N_RUNS = 7 };
    /* the runs of a round: case, threads, 0 = gan.h else 1 = PyTorch (env), 2 = PyTorch SkylakeX */
    int runs[N_RUNS + 1][3] = { { 1, 1, 0 }, { 1, 1, 1 }, { 1, 1, 2 }, { 2, 1, 0 }, { 2, 1, 1 }, { 3, 1, 0 }, { 3, 1, 1 } };
    double sps[N_RUNS + 1][MAX_ROUNDS], wall[N_RUNS + 1][MAX_ROUNDS], rss[N_RUNS + 1][MAX_ROUNDS];
    double base[N_RUNS + 1][MAX_ROUNDS];
    int i, r, n_runs = N_RUNS, have_threads;
    for (i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        else if (!strcmp(argv[i], "--rounds")) { if (!parse_double("--rounds", v, 1, MAX_ROUNDS, &rounds)) return 2; i++; }
        else if (!strcmp(argv[i], "--seconds")) { if (!parse_double("--seconds", v, 0.01, 600, &seconds)) return 2; i++; }
        else if (!strcmp(argv[i], "--kernels")) { if (!parse_double("--kernels", v, 0, 1, &kernels)) return 2; i++; }
        else if (!strcmp(argv[i], "--threads")) { if (!parse_double("--threads", v, 1, 64, &threads)) return 2; i++; }
        else if (!strcmp(argv[i], "--child")) { if (!parse_double("--child", v, 1, 3, &child)) return 2; i++; }
        else if (!strcmp(argv[i], "--blas")) {
            if (!v) { fprintf(stderr, "bench: --blas needs a directory\n"); return 2; }
            blas = v; i++;
        } else if (!strcmp(argv[i], "--torch")) {
            if (!v) { fprintf(stderr, "bench: --torch needs a file\n"); return 2; }
            torch = v; i++;
        } else { fprintf(stderr, "bench: unknown flag '%s'\n", argv[i]); usage(stderr); return 2; }
    }
    if (child) return run_case_child((int)child, (int)threads, seconds);

    {   /* does this build have threads? ask a throwaway model */
        gan_layer one = gan_dense(1);
        gan_model *m = gan_model_new(1, &one, 1, 1, NULL);
        have_threads = m && gan_model_set_threads(m, 2) > 1;
        gan_model_free(m);
    }
    if (have_threads) { runs[n_runs][0] = 2; runs[n_runs][1] = (int)threads; runs[n_runs][2] = 0; n_runs++; }

    peak = fma_peak_gflops(0.2, &isa);
    for (i = 0; i < 2; i++) { const double p = fma_peak_gflops(0.2, &isa); if (p > peak) peak = p; }
    copy = copy_gbs(sizeof(float) * (size_t)1490000 * 2, 0.3);   /* 24 MB in all, as Adam over G touches */
    printf("gan.h bench: fp32 FMA peak of one core %.1f GFLOP/s (%s probe, best of 3 x 0.2 s)\n", peak, isa);

    for (r = 0; r < (int)rounds; r++)
        for (i = 0; i < n_runs; i++) {
            int ok;
            sps[i][r] = wall[i][r] = rss[i][r] = base[i][r] = 0;
            if (runs[i][2] && !torch) continue;
            if (runs[i][2])
                ok = read_torch(torch, blas, runs[i][2] == 2 ? "SkylakeX" : NULL, runs[i][0], seconds, &sps[i][r],
                                &wall[i][r]);
            else ok = read_child(argv[0], runs[i][0], runs[i][1], seconds, &sps[i][r], &wall[i][r], &rss[i][r], &base[i][r]);
            if (!ok) { fprintf(stderr, "bench: run %d of round %d failed\n", i, r); sps[i][r] = 0; }
        }

    printf("\nCases 1-3: medians of %d interleaved rounds of %g CPU-seconds each (steps per CPU second: the machine "
           "is shared)%s\n", (int)rounds, seconds,
           torch ? "; PyTorch one thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1))" : "");
    printf("  %-34s %3s %9s %10s %8s %7s %9s %9s %8s\n", "case", "thr", "steps/s", "samples/s", "GFLOP/s", "% peak",
           "RSS MB", "model MB", "RSS-base");
    for (i = 0; i < n_runs; i++) {
        const bench_case c = make_case(runs[i][0]);
        const double s = median(sps[i], (int)rounds);
        if (runs[i][2]) continue;
        printf("  %-34s %3d %9.1f %10.0f %8.1f %6.1f%% %9.1f %9.1f %8.1f\n", c.name, runs[i][1], s, s * c.batch,
               s * step_flops(&c) / 1e9, 100 * s * step_flops(&c) / 1e9 / peak, median(rss[i], (int)rounds) / 1024,
               model_bytes(&c) / 1048576, (median(rss[i], (int)rounds) - median(base[i], (int)rounds)) / 1024);
    }
    if (torch) {
        printf("\n  %-34s %10s %12s %12s %10s %10s\n", "vs PyTorch (steps/s)", "gan.h", "PyTorch", "PT SkylakeX",
               "ratio", "ratio SKX");
        for (i = 0; i < n_runs; i++) {
            const bench_case c = make_case(runs[i][0]);
            double mine, pt, skx = 0;
            int j;
            if (runs[i][2] || runs[i][1] != 1) continue;
            mine = median(sps[i], (int)rounds);
            pt = median(sps[i + 1], (int)rounds);
            for (j = 0; j < n_runs; j++)
                if (runs[j][0] == runs[i][0] && runs[j][2] == 2) skx = median(sps[j], (int)rounds);
            if (skx > 0) printf("  %-34s %10.1f %12.1f %12.1f %9.2fx %9.2fx\n", c.name, mine, pt, skx, mine / pt, mine / skx);
            else printf("  %-34s %10.1f %12.1f %12s %9.2fx %10s\n", c.name, mine, pt, "-", mine / pt, "-");
        }
    }
    for (i = 0; i < n_runs; i++)
        if (runs[i][0] == 2 && runs[i][1] > 1) {
            const double mt = median(wall[i], (int)rounds), st = median(wall[3], (int)rounds);
            printf("\n  GAN_THREADS: case 2 on %d threads %.1f steps per wall second = %.2fx one thread's %.1f "
                   "(medians, same rounds)\n", runs[i][1], mt, mt / st, st);
        }
    if (kernels) {
        kernel_table(peak, 0.15);
        stream_table(0.2, copy);
    }
    return 0;
}
