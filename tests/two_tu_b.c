/* two_tu_b.c - a second translation unit that sees only the declarations. */
#include "../gan.h"

int two_tu_b_run(void);
int two_tu_b_run(void)
{
    gan_layer layers[2];
    gan_error err;
    gan_model *m;
    const float x[2] = { 1, 2 };
    const float *y;
    int ok;
    layers[0] = gan_dense(3);
    layers[1] = gan_activation(GAN_TANH);
    m = gan_model_new(2, layers, 2, 1, &err);
    if (!m) return 0;
    y = gan_model_forward(m, x, 1, GAN_EVAL, NULL, &err);
    ok = y != 0 && gan_model_output_dim(m) == 3 && y[0] > -1 && y[0] < 1;
    gan_model_free(m);
    return ok;
}
