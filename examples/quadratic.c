/* quadratic.c - the classic 2-D GAN tutorial: learn the curve y = 10 + x^2, x in [-50, 50).

   Every default is the tutorial's (aadilh/blogs, basic-gans/code/gan.py; see quadratic.h):
   G 2-16-16-2 and D 2-16-16-2-1 with leaky ReLU 0.2, TensorFlow RMSProp lr 1e-3, batch 256,
   10,001 iterations of 10 D updates then 10 G updates on one real and one noise batch.

   Writes into --out (default out/quadratic/):
     losses.svg, losses.csv    D and G loss every 10 iterations
     samples.svg               real vs generated points at iterations 0, 1000, ..., 10000
     features.svg              D's 2-unit feature layer before and after G's updates, same checkpoints
     samples.csv               10,000 points from the final generator
     generator.gan             the final generator (load it with gan_sampler_load)
   and prints quality figures at the end. --quality N trains N seeds and prints only those.

   Build: make build/quadratic (or cc -O2 -std=c99 quadratic.c -lm); run: ./build/quadratic --help */
#define _POSIX_C_SOURCE 200809L
#define GAN_IMPLEMENTATION
#include "../gan.h"
#include "quadratic.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct options {
    quad_config c;
    const char *out;
    int progress_every;     /* lines every N iterations when stdout is not a terminal */
    int quality;            /* > 0: train this many seeds, print quality figures, write nothing */
} options;

static void usage(FILE *f)
{
    const quad_config d = quad_config_defaults();
    fprintf(f,
            "usage: quadratic [flags]   (train the tutorial's GAN on y = 10 + x^2 and plot it)\n"
            "  --iterations N     training iterations                         (default %ld)\n"
            "  --batch N          samples per minibatch                       (default %d)\n"
            "  --nd N             D updates per iteration                     (default %d)\n"
            "  --ng N             G updates per iteration, after D's          (default %d)\n"
            "  --lr X             learning rate of both optimizers            (default %g)\n"
            "  --optimizer NAME   rmsprop-tf, rmsprop-torch, adam or sgd      (default rmsprop-tf)\n"
            "  --loss NAME        nonsaturating, minimax, least-squares, hinge, wasserstein\n"
            "                     or boundary-seeking                         (default nonsaturating)\n"
            "  --noise NAME       uniform (U(-1,1)^2) or normal               (default uniform)\n"
            "  --init NAME        glorot (TensorFlow) or pytorch              (default glorot)\n"
            "  --hidden N         width of the hidden layers of G and D       (default %d)\n"
            "  --slope X          leaky ReLU slope                            (default %g)\n"
            "  --scale X          x = scale * (U[0,1) - 0.5)                  (default %g)\n"
            "  --seed N           seeds weights, data and noise               (default %lu)\n"
            "  --out DIR          output directory                            (default out/quadratic)\n"
            "  --log-every N      iterations between logged losses            (default %d)\n"
            "  --plot-every N     iterations between plotted checkpoints      (default %d)\n"
            "  --samples N        generated points measured and saved         (default %d)\n"
            "  --late N           last iterations whose losses are averaged   (default %d)\n"
            "  --progress N       progress line every N iterations when stdout\n"
            "                     is not a terminal (on a terminal: in place) (default 1000)\n"
            "  --quality N        train N seeds (--seed, --seed+1, ...), print the quality\n"
            "                     figures of each, write no files; 0 = off     (default 0)\n"
            "  --help             this text\n",
            d.iterations, d.batch, d.nd, d.ng, (double)d.lr, d.hidden, (double)d.slope, (double)d.scale, d.seed,
            d.log_every, d.plot_every, d.samples, d.late);
}

static int bad(const char *flag, const char *value, const char *why)
{
    fprintf(stderr, "quadratic: %s%s%s: %s (see --help)\n", flag, value ? " " : "", value ? value : "", why);
    return -1;
}

static int parse_long(const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    if (!s) return bad(flag, s, "needs a value");
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno) return bad(flag, s, "not an integer");
    if (v < lo || v > hi) {
        char why[96];
        snprintf(why, sizeof why, "must be in [%ld, %ld]", lo, hi);
        return bad(flag, s, why);
    }
    *out = v;
    return 0;
}

static int parse_int(const char *flag, const char *s, long lo, long hi, int *out)
{
    long v;
    if (parse_long(flag, s, lo, hi, &v)) return -1;
    *out = (int)v;
    return 0;
}

static int parse_float(const char *flag, const char *s, double lo, double hi, int open_lo, float *out)
{
    char *end;
    double v;
    if (!s) return bad(flag, s, "needs a value");
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return bad(flag, s, "not a finite number");
    if (v > hi || v < lo || (open_lo && v == lo)) {
        char why[96];
        snprintf(why, sizeof why, "must be in %c%g, %g]", open_lo ? '(' : '[', lo, hi);
        return bad(flag, s, why);
    }
    *out = (float)v;
    return 0;
}

static int parse_name(const char *flag, const char *s, const char *const *names, const int *values, int n, int *out)
{
    int i;
    if (!s) return bad(flag, s, "needs a value");
    for (i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) { *out = values[i]; return 0; }
    return bad(flag, s, "unknown name");
}

/* Returns 0 to run, 1 after --help, -1 on a bad flag. Accepts "--flag value" and "--flag=value". */
static int parse_args(int argc, char **argv, options *o)
{
    static const char *const optimizers[] = { "rmsprop-tf", "rmsprop-torch", "adam", "sgd" };
    static const int optimizer_ids[] = { GAN_RMSPROP_TF, GAN_RMSPROP_TORCH, GAN_ADAM, GAN_SGD };
    static const char *const losses[] = { "nonsaturating", "minimax", "least-squares", "hinge", "wasserstein",
                                          "boundary-seeking" };
    static const int loss_ids[] = { GAN_LOSS_NONSATURATING, GAN_LOSS_MINIMAX, GAN_LOSS_LEAST_SQUARES, GAN_LOSS_HINGE,
                                    GAN_LOSS_WASSERSTEIN, GAN_LOSS_BOUNDARY_SEEKING };
    static const char *const noises[] = { "uniform", "normal" };
    static const int noise_ids[] = { GAN_NOISE_UNIFORM, GAN_NOISE_NORMAL };
    static const char *const inits[] = { "glorot", "pytorch" };
    static const int init_ids[] = { GAN_INIT_GLOROT, GAN_INIT_PYTORCH };
    quad_config *c = &o->c;
    int i;
    o->c = quad_config_defaults();
    o->out = "out/quadratic";
    o->progress_every = 1000;
    o->quality = 0;
    for (i = 1; i < argc; i++) {
        char flag[64];
        const char *arg = argv[i], *eq = strchr(arg, '='), *val;
        int rc;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) { usage(stdout); return 1; }
        if (strncmp(arg, "--", 2) != 0) return bad(arg, NULL, "not a flag; flags start with --");
        if (eq) {
            snprintf(flag, sizeof flag, "%.*s", (int)(eq - arg) < 63 ? (int)(eq - arg) : 63, arg);
            val = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", arg);
            val = i + 1 < argc ? argv[++i] : NULL;
        }
        if (!strcmp(flag, "--iterations")) rc = parse_long(flag, val, 1, 100000000L, &c->iterations);
        else if (!strcmp(flag, "--batch")) rc = parse_int(flag, val, 1, 65536, &c->batch);
        else if (!strcmp(flag, "--nd")) rc = parse_int(flag, val, 0, 1000, &c->nd);
        else if (!strcmp(flag, "--ng")) rc = parse_int(flag, val, 0, 1000, &c->ng);
        else if (!strcmp(flag, "--lr")) rc = parse_float(flag, val, 0, 10, 1, &c->lr);
        else if (!strcmp(flag, "--optimizer")) rc = parse_name(flag, val, optimizers, optimizer_ids, 4, &c->optimizer);
        else if (!strcmp(flag, "--loss")) rc = parse_name(flag, val, losses, loss_ids, 6, &c->loss);
        else if (!strcmp(flag, "--noise")) rc = parse_name(flag, val, noises, noise_ids, 2, &c->noise);
        else if (!strcmp(flag, "--init")) rc = parse_name(flag, val, inits, init_ids, 2, &c->init);
        else if (!strcmp(flag, "--hidden")) rc = parse_int(flag, val, 1, 4096, &c->hidden);
        else if (!strcmp(flag, "--slope")) rc = parse_float(flag, val, 0, 1, 0, &c->slope);
        else if (!strcmp(flag, "--scale")) rc = parse_float(flag, val, 0, 10000, 1, &c->scale);
        else if (!strcmp(flag, "--seed")) {
            long v;
            rc = parse_long(flag, val, 0, LONG_MAX, &v);
            c->seed = (unsigned long)v;
        }
        else if (!strcmp(flag, "--out")) {
            rc = val && *val ? 0 : bad(flag, val, "needs a directory");
            o->out = val;
        }
        else if (!strcmp(flag, "--log-every")) rc = parse_int(flag, val, 1, 100000000L, &c->log_every);
        else if (!strcmp(flag, "--plot-every")) rc = parse_int(flag, val, 1, 100000000L, &c->plot_every);
        else if (!strcmp(flag, "--samples")) rc = parse_int(flag, val, 1, 10000000L, &c->samples);
        else if (!strcmp(flag, "--late")) rc = parse_int(flag, val, 1, 100000000L, &c->late);
        else if (!strcmp(flag, "--progress")) rc = parse_int(flag, val, 1, 100000000L, &o->progress_every);
        else if (!strcmp(flag, "--quality")) rc = parse_int(flag, val, 0, 1000, &o->quality);
        else return bad(flag, NULL, "unknown flag");
        if (rc) return -1;
    }
    if ((c->iterations - 1) / c->plot_every + 1 > 200)
        return bad("--plot-every", NULL, "would plot more than 200 checkpoints; raise it");
    return 0;
}

/* ---- progress ----------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct progress {
    long total;
    int every, tty;
    double start, last_time;
    long last_it;
    const char *prefix;
    int transient;          /* on a terminal, leave the last line open for the caller to clear */
} progress;

/* On a terminal: one line rewritten in place about 10 times a second. Otherwise: a line
   every `every` iterations and at the last one. Iterations/s are since the previous line. */
static int show_progress(void *user, long it, const gan_stats *st)
{
    progress *p = (progress *)user;
    const int last = it == p->total - 1;
    double t, rate;
    if (!p->tty && it % p->every != 0 && !last) return 0;
    t = now();
    if (p->tty && t - p->last_time < 0.1 && !last) return 0;
    rate = t > p->last_time ? (double)(it + 1 - p->last_it) / (t - p->last_time) : 0;
    printf("%s%siteration %6ld/%ld  D loss %6.3f  G loss %6.3f  %7.0f it/s%s", p->tty ? "\r" : "", p->prefix, it,
           p->total, st->d_loss, st->g_loss, rate, p->tty && (!last || p->transient) ? "" : "\n");
    fflush(stdout);
    p->last_time = t;
    p->last_it = it + 1;
    return 0;
}

static void progress_start(progress *p, const options *o, const char *prefix)
{
    p->total = o->c.iterations;
    p->every = o->progress_every;
    p->tty = isatty(fileno(stdout));
    p->start = p->last_time = now();
    p->last_it = 0;
    p->prefix = prefix;
    p->transient = 0;
}

/* ---- output ----------------------------------------------------------------------------------- */

/* mkdir -p: creates each missing directory along path. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t i, n = strlen(path);
    if (n == 0 || n >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            const char saved = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            buf[i] = saved;
        }
    }
    return 0;
}

static void print_quality(const quad_quality *q, const quad_config *c)
{
    printf("quality of %d generated samples:\n", c->samples);
    printf("  KS statistic of x against U[%g, %g)          %.4f   (target <= 0.05)\n", -(double)c->scale / 2,
           (double)c->scale / 2, q->ks);
    printf("  mean |y - (10 + x^2)| / %g                  %.4f   (target <= 0.045)\n",
           (double)c->scale * c->scale / 4, q->err);
    printf("  x-bins of width %g holding >= 2%% of samples  %d/10   (target 10/10)\n", (double)c->scale / 10, q->bins);
    printf("  mean losses over the last %ld iterations:  D %.3f  G %.3f\n",
           (long)(c->late < c->iterations ? c->late : c->iterations), q->late_d, q->late_g);
    printf("     the tutorial's logged values:             D %.3f  G %.3f   (target: within 0.1)\n", QUAD_TUTORIAL_D,
           QUAD_TUTORIAL_G);
    printf("     equilibrium (2 ln 2, ln 2):               D %.3f  G %.3f\n", 2 * log(2.0), log(2.0));
}

static int run_quality(const options *o)
{
    double sum_ks = 0, sum_err = 0, sum_bins = 0, sum_d = 0, sum_g = 0;
    int k, pass_all = 1;
    printf("quality over %d seeds, %ld iterations each, %d samples; targets: KS <= 0.05, err/range <= 0.045, "
           "bins 10/10, |D - %.3f| and |G - %.3f| <= 0.1\n", o->quality, o->c.iterations, o->c.samples,
           QUAD_TUTORIAL_D, QUAD_TUTORIAL_G);
    printf("%6s %8s %10s %6s %8s %8s %8s %5s\n", "seed", "KS", "err/range", "bins", "late D", "late G", "seconds",
           "pass");
    for (k = 0; k < o->quality; k++) {
        options one = *o;
        quad_run r;
        progress p;
        gan_error err;
        double t0;
        int pass;
        char prefix[32];
        one.c.seed = o->c.seed + (unsigned long)k;
        snprintf(prefix, sizeof prefix, "seed %lu: ", one.c.seed);
        progress_start(&p, &one, prefix);
        p.transient = 1;                          /* the seed's row replaces its progress line */
        t0 = now();
        if (quad_train(&one.c, &r, 0, p.tty ? show_progress : NULL, &p, &err)) {
            fprintf(stderr, "quadratic: seed %lu: %s\n", one.c.seed, err.message);
            quad_run_free(&r);
            return 1;
        }
        if (p.tty) printf("\r%79s\r", "");
        pass = r.q.ks <= 0.05 && r.q.err <= 0.045 && r.q.bins == 10 && fabs(r.q.late_d - QUAD_TUTORIAL_D) <= 0.1 &&
               fabs(r.q.late_g - QUAD_TUTORIAL_G) <= 0.1;
        pass_all &= pass;
        printf("%6lu %8.4f %10.4f %4d/10 %8.3f %8.3f %8.1f %5s\n", one.c.seed, r.q.ks, r.q.err, r.q.bins, r.q.late_d,
               r.q.late_g, now() - t0, pass ? "yes" : "NO");
        fflush(stdout);
        sum_ks += r.q.ks; sum_err += r.q.err; sum_bins += r.q.bins; sum_d += r.q.late_d; sum_g += r.q.late_g;
        quad_run_free(&r);
    }
    printf("%6s %8.4f %10.4f %6.1f %8.3f %8.3f\n", "mean", sum_ks / o->quality, sum_err / o->quality,
           sum_bins / o->quality, sum_d / o->quality, sum_g / o->quality);
    printf("all seeds meet the targets: %s\n", pass_all ? "yes" : "NO");
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    quad_run r;
    progress p;
    gan_error err;
    gan_sampler *check;
    char path[4200];
    double seconds;
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc > 0 ? 0 : 2;
    if (o.quality > 0) return run_quality(&o);

    if (make_dirs(o.out)) { fprintf(stderr, "quadratic: cannot create %s: %s\n", o.out, strerror(errno)); return 1; }
    {
        struct stat st;
        if (stat(o.out, &st) != 0 || !S_ISDIR(st.st_mode)) { fprintf(stderr, "quadratic: --out %s is not a directory\n", o.out); return 1; }
    }
    printf("training the quadratic-curve GAN: %ld iterations of %d D + %d G updates, batch %d, lr %g, seed %lu\n",
           o.c.iterations, o.c.nd, o.c.ng, o.c.batch, (double)o.c.lr, o.c.seed);
    progress_start(&p, &o, "");
    if (quad_train(&o.c, &r, 1, show_progress, &p, &err)) {
        fprintf(stderr, "quadratic: %s\n", err.message);
        quad_run_free(&r);
        return 1;
    }
    seconds = now() - p.start;
    printf("trained in %.2f s (%.0f iterations/s)\n", seconds, (double)o.c.iterations / seconds);

#define WRITE(name, call)                                                                  \
    do {                                                                                   \
        snprintf(path, sizeof path, "%s/%s", o.out, name);                                 \
        if (call) { fprintf(stderr, "quadratic: %s\n", err.message); quad_run_free(&r); return 1; } \
        printf("wrote %s\n", path);                                                        \
    } while (0)
    WRITE("losses.svg", quad_write_losses_svg(&r, path, &err));
    WRITE("losses.csv", quad_write_losses_csv(&r, path, &err));
    WRITE("samples.svg", quad_write_samples_svg(&r, &o.c, path, &err));
    WRITE("features.svg", quad_write_features_svg(&r, &o.c, path, &err));
    WRITE("samples.csv", quad_write_samples_csv(&r, o.c.samples, path, &err));
    WRITE("generator.gan", gan_save_generator(r.g, path, &err));
#undef WRITE
    /* The checkpoint must load with the sampling API; say so only after trying. */
    check = gan_sampler_load(path, 1, &err);
    if (!check) {
        fprintf(stderr, "quadratic: %s does not load back: %s\n", path, err.message);
        quad_run_free(&r);
        return 1;
    }
    printf("  (loads with gan_sampler_load: z_dim %d -> %d outputs)\n", gan_sampler_z_dim(check),
           gan_sampler_output_dim(check));
    gan_sampler_free(check);

    print_quality(&r.q, &o.c);
    quad_run_free(&r);
    return 0;
}
