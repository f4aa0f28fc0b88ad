/* gaussian.c - the smallest complete gan.h program: learn the 1-D Gaussian N(4, 1.25^2).

   G: z (1, normal) -> 16 -> 16 -> 1, tanh; D: x -> 16 -> 16 -> 1 logit, leaky ReLU 0.2.
   Non-saturating loss, Adam 1e-3 (0.5, 0.999), batch 64, 2000 iterations. The samples come
   from a running average of G's weights (cfg.g_average = 0.99), which smooths out the last
   iterations' oscillation around the equilibrium (Yazici et al. 2019, "The unusual
   effectiveness of averaging in GAN training"). Prints the mean and standard deviation of
   10,000 samples beside the target's. tests/test_core.c runs gaussian_fit() as its
   end-to-end test.

   Usage: gaussian [--seed N]      (default seed 1)
   Build: cc -O2 -std=c99 -I.. gaussian.c -lm   (or `make` from the top) */
#define GAN_IMPLEMENTATION
#include "../gan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_MEAN 4.0f
#define TARGET_STD 1.25f

/* The data: n draws of N(4, 1.25^2), from the trainer's own generator. */
static int gaussian_data(void *user, float *out, int n, gan_rng *rng)
{
    int i;
    (void)user;
    for (i = 0; i < n; i++) out[i] = TARGET_MEAN + TARGET_STD * gan_rng_normal(rng);
    return 0;
}

/* Trains a GAN from seed and measures 10,000 of its samples. Returns 0 on success. */
static int gaussian_fit(unsigned long seed, double *mean, double *std, int verbose)
{
    enum { BATCH = 64, ITERATIONS = 2000, SAMPLES = 10000 };
    gan_layer g_layers[] = { gan_dense(16), gan_activation(GAN_TANH), gan_dense(16), gan_activation(GAN_TANH), gan_dense(1) };
    gan_layer d_layers[] = { gan_dense(16), gan_leaky_relu(0.2f), gan_dense(16), gan_leaky_relu(0.2f), gan_dense(1) };
    gan_error err;
    gan_model *G, *D;
    gan_train_config cfg;
    gan_optim_config opt;
    gan *g;
    static float samples[SAMPLES];
    double sum = 0, sum_sq = 0;
    int it, i;

    G = gan_model_new(1, g_layers, 5, BATCH, &err);
    D = G ? gan_model_new(1, d_layers, 5, BATCH, &err) : NULL;
    if (!D) { fprintf(stderr, "gaussian: %s\n", err.message); gan_model_free(G); return 1; }
    gan_model_init(G, GAN_INIT_GLOROT, 0, seed * 2 + 1);
    gan_model_init(D, GAN_INIT_GLOROT, 0, seed * 2 + 2);

    cfg = gan_train_defaults(1, BATCH);
    cfg.noise = GAN_NOISE_NORMAL;
    cfg.g_average = 0.99f;       /* sample from G's weights averaged over about the last 100 steps */
    opt = gan_adam(1e-3f, 0.5f, 0.999f);
    g = gan_new(G, D, &opt, &opt, &cfg, seed, &err);
    if (!g) { fprintf(stderr, "gaussian: %s\n", err.message); gan_model_free(G); gan_model_free(D); return 1; }

    for (it = 0; it < ITERATIONS; it++) {
        gan_stats st;
        if (gan_train_step(g, gaussian_data, NULL, &st, &err)) {
            fprintf(stderr, "gaussian: %s\n", err.message);
            gan_free(g);
            return 1;
        }
        if (verbose && (it % 500 == 0 || it == ITERATIONS - 1))
            printf("iteration %4d  D loss %.3f  G loss %.3f  D(x) %.2f  D(G(z)) %.2f\n",
                   it, st.d_loss, st.g_loss, st.d_real, st.d_fake);
    }

    if (gan_generate(g, samples, SAMPLES, &err)) { fprintf(stderr, "gaussian: %s\n", err.message); gan_free(g); return 1; }
    for (i = 0; i < SAMPLES; i++) { sum += samples[i]; sum_sq += (double)samples[i] * samples[i]; }
    *mean = sum / SAMPLES;
    *std = sqrt(sum_sq / SAMPLES - *mean * *mean);
    gan_free(g);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long seed = 1;
    double mean, std;
    int i;
    for (i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: gaussian [--seed N]\n  --seed N   seed for the weights, the noise and the data (default 1)\n");
            return 0;
        }
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            errno = 0;
            seed = strtoul(argv[++i], &end, 10);
            if (*end || !*argv[i] || errno || argv[i][0] == '-' || seed > 4294967295UL) {
                fprintf(stderr, "gaussian: --seed wants a whole number in [0, 4294967295], not '%s'\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "gaussian: unknown or incomplete flag '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (gaussian_fit(seed, &mean, &std, 1)) return 1;
    printf("samples: mean %.3f  std %.3f   (target: mean %.3f  std %.3f)\n", mean, std, TARGET_MEAN, TARGET_STD);
    return 0;
}
