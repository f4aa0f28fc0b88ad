/* test_limits.c - allocation caps that only a small GAN_MAX_ALLOC reaches.

   D's joint pass (PyTorch-GAN order, D without dropout or BatchNorm) makes the trainer hold
   up to three times D's work buffers on top of the models'. Here GAN_MAX_ALLOC is 2 MB: the
   models fit, the joint buffers of a batch of 64 (2.6 MB) do not, and gan_new must refuse
   with GAN_ERR_MEMORY and say why, leaving G and D to the caller. */
#define GAN_MAX_ALLOC ((size_t)2 << 20)
#define GAN_IMPLEMENTATION
#include "../gan.h"
#include "check.h"

/* A trainer for G (4 -> 8) and D (8 -> 1000 -> 1) at `batch`, in the PyTorch-GAN order or
   not. Returns gan_new's result code; err holds its message. */
static int try_trainer(int batch, int g_first, gan_error *err)
{
    gan_layer gl[] = { gan_dense(8) };
    gan_layer dl[] = { gan_dense(1000), gan_leaky_relu(0.2f), gan_dense(1) };
    gan_optim_config o = gan_adam(2e-4f, 0.5f, 0.999f);
    gan_train_config c = gan_train_defaults(4, batch);
    gan_model *G = gan_model_new(4, gl, 1, batch, err), *D = G ? gan_model_new(8, dl, 3, batch, err) : NULL;
    gan *g;
    if (!D) { gan_model_free(G); return err->code ? err->code : -1; }
    c.g_first = g_first;
    g = gan_new(G, D, &o, &o, &c, 1, err);
    if (!g) {                       /* the caller still owns G and D */
        gan_model_free(G);
        gan_model_free(D);
        return err->code;
    }
    gan_free(g);
    return GAN_OK;
}

int main(void)
{
    gan_error err;
    int rc;

    rc = try_trainer(64, 0, &err);
    CHECK(rc == GAN_OK, "batch 64, D steps first (no joint pass): the models fit in 2 MB (%d: %s)", rc, err.message);
    rc = try_trainer(16, 1, &err);
    CHECK(rc == GAN_OK, "batch 16, PyTorch-GAN order: the joint buffers fit in 2 MB (%d: %s)", rc, err.message);
    rc = try_trainer(64, 1, &err);
#ifndef GAN_NO_SIMD
    CHECK(rc == GAN_ERR_MEMORY, "batch 64, PyTorch-GAN order: the joint buffers are refused (%d: %s)", rc,
          err.message);
    CHECK(strstr(err.message, "joint") && strstr(err.message, "GAN_MAX_ALLOC"),
          "the message names the joint buffers and the limit: \"%s\"", err.message);
#else
    /* the readable build runs the two steps as written, without joint buffers */
    CHECK(rc == GAN_OK, "batch 64, PyTorch-GAN order, GAN_NO_SIMD: no joint buffers (%d: %s)", rc, err.message);
#endif
    return check_summary();
}
