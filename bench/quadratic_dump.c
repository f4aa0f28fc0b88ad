/* quadratic_dump.c - writes what the PyTorch port needs to replay the C demo's first iterations
   exactly: G's and D's initial parameters, then for each iteration the real batch, the noise
   batch and the loss of each of its 10 D and 10 G updates (measured before the update).
   bench/quadratic_torch.py --crosscheck FILE loads the same weights, replays the same batches
   and compares the losses: it shows that the port computes what gan.h computes.

   Text format, one record a line: "G n v1 ... vn", "D n ...", then per iteration "X 512 ...",
   "Z 512 ...", 10 lines "d loss" and 10 lines "g loss". Parameters in gan.h's layout: per dense
   layer W (in, out) row-major, then b (out).

   Build: cc -O2 -std=c99 bench/quadratic_dump.c -lm -o build/quadratic_dump */
#define GAN_IMPLEMENTATION
#include "../gan.h"
#include "../examples/quadratic.h"

static void put(FILE *f, const char *name, const float *v, size_t n)
{
    size_t i;
    fprintf(f, "%s %lu", name, (unsigned long)n);
    for (i = 0; i < n; i++) fprintf(f, " %.9g", v[i]);
    fprintf(f, "\n");
}

int main(int argc, char **argv)
{
    const char *path = "out/quadratic_dump.txt";
    long iterations = 30;
    quad_config c = quad_config_defaults();
    gan_error err;
    gan_stats st;
    float *real, *z;
    gan *g;
    FILE *f;
    long it;
    int i, k;
    for (i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--help")) {
            printf("usage: quadratic_dump [--iterations N (default 30)] [--out FILE (default out/quadratic_dump.txt)]\n"
                   "  the demo's default settings, seed 1\n");
            return 0;
        } else if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
            iterations = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || iterations < 1 || iterations > 100000) {
                fprintf(stderr, "quadratic_dump: --iterations %s: must be an integer in [1, 100000]\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            path = argv[++i];
        } else {
            fprintf(stderr, "quadratic_dump: %s: unknown flag or missing value (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!(g = quad_build(&c, &err))) { fprintf(stderr, "quadratic_dump: %s\n", err.message); return 1; }
    real = (float *)malloc(sizeof(float) * 2 * (size_t)c.batch);
    z = (float *)malloc(sizeof(float) * 2 * (size_t)c.batch);
    if (!real || !z || !(f = fopen(path, "w"))) {
        fprintf(stderr, "quadratic_dump: cannot write %s\n", path);
        free(real); free(z); gan_free(g);
        return 1;
    }
    put(f, "G", gan_model_params(gan_generator(g)), gan_model_num_params(gan_generator(g)));
    put(f, "D", gan_model_params(gan_discriminator(g)), gan_model_num_params(gan_discriminator(g)));
    for (it = 0; it < iterations; it++) {
        quad_data(&c.scale, real, c.batch, gan_trainer_rng(g));
        gan_sample_noise(g, z, c.batch);
        put(f, "X", real, 2 * (size_t)c.batch);
        put(f, "Z", z, 2 * (size_t)c.batch);
        for (k = 0; k < c.nd; k++) {
            if (gan_d_step(g, real, z, &st, &err)) break;
            fprintf(f, "d %.9g\n", st.d_loss);
        }
        for (k = 0; k < c.ng; k++) {
            if (gan_g_step(g, z, &st, &err)) break;
            fprintf(f, "g %.9g\n", st.g_loss);
        }
        if (err.code) break;
    }
    free(real);
    free(z);
    gan_free(g);
    if (fclose(f) != 0 || err.code) {
        fprintf(stderr, "quadratic_dump: %s\n", err.code ? err.message : "write failed");
        return 1;
    }
    printf("wrote %s: %ld iterations\n", path, it);
    return 0;
}
