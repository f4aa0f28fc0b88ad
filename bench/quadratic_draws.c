/* quadratic_draws.c - swaps the random numbers between the quadratic demo and its PyTorch port.

   A run of the demo is its arithmetic (gan.h's kernels, or PyTorch's) applied to its random
   draws (the initial weights, a real and a noise batch per iteration, the final noise). To
   tell which of the two makes the runs of gan.h and of the port end differently, each side
   writes its draws to a file and each side trains on either side's file:

     build/quadratic_draws write --seed N FILE   gan.h's draws for seed N (PCG), in run order
     build/quadratic_draws train FILE            gan.h trains on FILE's draws, prints the quality
     bench/quadratic_torch.py --write-draws FILE --seed N, --train-draws FILE: the same for PyTorch

   Training on its own draws, each side prints what its demo prints for that seed. The default
   settings only (10,001 iterations, batch 256, 10 D + 10 G updates, 10,000 final samples).

   File (little-endian): five int32, the parameter counts of G and D, iterations, batch,
   samples; then float32: G's parameters, D's (per dense layer W (in, out) row-major, then b),
   per iteration the real batch (batch, 2) and the noise batch (batch, 2), and the final noise
   (samples, 2). About 41 MB at the default settings.

   Build: cc -O2 -march=native -std=c99 bench/quadratic_draws.c -lm -o build/quadratic_draws */
#define GAN_IMPLEMENTATION
#include "../gan.h"
#include "../examples/quadratic.h"

static int usage(void)
{
    fprintf(stderr, "usage: quadratic_draws write --seed N FILE | quadratic_draws train FILE\n");
    return 2;
}

static int put(FILE *f, const float *v, size_t n) { return fwrite(v, sizeof(float), n, f) == n ? 0 : -1; }
static int get(FILE *f, float *v, size_t n) { return fread(v, sizeof(float), n, f) == n ? 0 : -1; }

/* A little-endian host is assumed (the file stays on the machine that wrote it). */
static int write_draws(const quad_config *c, const char *path)
{
    gan_error err;
    gan *g = quad_build(c, &err);
    float *real = (float *)malloc(sizeof(float) * 2 * (size_t)c->batch);
    float *z = (float *)malloc(sizeof(float) * 2 * (size_t)(c->samples > c->batch ? c->samples : c->batch));
    FILE *f = fopen(path, "wb");
    int32_t h[5];
    long it;
    int rc = -1;
    if (!g || !real || !z || !f) goto done;
    h[0] = (int32_t)gan_model_num_params(gan_generator(g));
    h[1] = (int32_t)gan_model_num_params(gan_discriminator(g));
    h[2] = (int32_t)c->iterations; h[3] = c->batch; h[4] = c->samples;
    if (fwrite(h, sizeof h, 1, f) != 1 || put(f, gan_model_params(gan_generator(g)), (size_t)h[0]) ||
        put(f, gan_model_params(gan_discriminator(g)), (size_t)h[1]))
        goto done;
    /* The order gan_train_step draws in: the real batch, then the noise batch. */
    for (it = 0; it < c->iterations; it++) {
        quad_data((void *)&c->scale, real, c->batch, gan_trainer_rng(g));
        gan_sample_noise(g, z, c->batch);
        if (put(f, real, 2 * (size_t)c->batch) || put(f, z, 2 * (size_t)c->batch)) goto done;
    }
    gan_sample_noise(g, z, c->samples);     /* as gan_generate draws the final points' noise */
    if (put(f, z, 2 * (size_t)c->samples)) goto done;
    rc = 0;
done:
    if (f && fclose(f) != 0) rc = -1;
    if (rc) fprintf(stderr, "quadratic_draws: cannot write %s\n", path);
    gan_free(g); free(real); free(z);
    return rc;
}

/* gan_d_step / gan_g_step on the file's batches: the updates gan_train_step makes (its
   same-batch path gives the same bits; bench/quadratic_dump.c's crosscheck uses these too). */
static int train_draws(quad_config *c, const char *path)
{
    gan_error err;
    gan_stats st;
    quad_quality q;
    gan *g = quad_build(c, &err);
    FILE *f = fopen(path, "rb");
    float *real = NULL, *z = NULL, *xy = NULL;
    double sum_d = 0, sum_g = 0;
    int32_t h[5];
    long it;
    int k, rc = -1;
    if (!g || !f || fread(h, sizeof h, 1, f) != 1) goto done;
    if ((size_t)h[0] != gan_model_num_params(gan_generator(g)) ||
        (size_t)h[1] != gan_model_num_params(gan_discriminator(g)) || h[2] < 1 || h[2] > 100000000 ||
        h[3] != c->batch || h[4] < 1 || h[4] > 10000000) {
        fprintf(stderr, "quadratic_draws: %s: header does not match the default networks and batch\n", path);
        rc = 1;
        goto done;
    }
    c->iterations = h[2];
    if (c->late > c->iterations) c->late = (int)c->iterations;
    real = (float *)malloc(sizeof(float) * 2 * (size_t)h[3]);
    z = (float *)malloc(sizeof(float) * 2 * (size_t)(h[4] > h[3] ? h[4] : h[3]));
    xy = (float *)malloc(sizeof(float) * 2 * (size_t)h[4]);
    if (!real || !z || !xy || get(f, gan_model_params(gan_generator(g)), (size_t)h[0]) ||
        get(f, gan_model_params(gan_discriminator(g)), (size_t)h[1]))
        goto done;
    for (it = 0; it < c->iterations; it++) {
        if (get(f, real, 2 * (size_t)h[3]) || get(f, z, 2 * (size_t)h[3])) goto done;
        for (k = 0; k < c->nd; k++) if (gan_d_step(g, real, z, &st, &err)) goto failed;
        for (k = 0; k < c->ng; k++) if (gan_g_step(g, z, &st, &err)) goto failed;
        if (it >= c->iterations - c->late) { sum_d += st.d_loss; sum_g += st.g_loss; }
    }
    if (get(f, z, 2 * (size_t)h[4])) goto done;
    for (k = 0; k < h[4]; k += c->batch)     /* G in eval mode over the final noise */
        if (quad_generate(g, z + 2 * (size_t)k, h[4] - k < c->batch ? h[4] - k : c->batch, xy + 2 * (size_t)k, &err))
            goto failed;
    if (quad_measure(xy, h[4], c->scale, &q)) goto done;
    printf("gan.h on %s: KS %.4f  err/range %.4f  bins %d/10  late D %.3f  late G %.3f\n", path, q.ks, q.err, q.bins,
           sum_d / c->late, sum_g / c->late);
    rc = 0;
    goto done;
failed:
    fprintf(stderr, "quadratic_draws: %s\n", err.message);
    rc = 1;
done:
    if (rc < 0) fprintf(stderr, "quadratic_draws: %s: cannot read (or out of memory)\n", path);
    if (f) fclose(f);
    gan_free(g); free(real); free(z); free(xy);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    quad_config c = quad_config_defaults();
    if (argc == 5 && !strcmp(argv[1], "write") && !strcmp(argv[2], "--seed")) {
        char *end;
        c.seed = strtoul(argv[3], &end, 10);
        if (*end || end == argv[3]) { fprintf(stderr, "quadratic_draws: --seed %s: not a number\n", argv[3]); return 2; }
        return write_draws(&c, argv[4]) ? 1 : 0;
    }
    if (argc == 3 && !strcmp(argv[1], "train")) return train_draws(&c, argv[2]);
    return usage();
}
