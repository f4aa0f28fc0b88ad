/* gan.h - v0.2 - train generative adversarial networks on the CPU in plain C99.

   One file, no dependencies beyond libc and libm.

   USAGE
     In exactly *one* C or C++ file, define GAN_IMPLEMENTATION before including it:

         #define GAN_IMPLEMENTATION
         #include "gan.h"

     Every other file includes "gan.h" alone and sees only the declarations.

   CONFIGURATION (define before the #include that has GAN_IMPLEMENTATION)
     GAN_STATIC              make every function static (private to that file)
     GAN_MALLOC(n), GAN_FREE(p)
                             replace malloc/free (define both or neither)
     GAN_ASSERT(x)           replace assert(); used only for internal invariants
     GAN_NO_STDIO            leave out every function that touches files
     GAN_NO_SIMD             run the plain reference loops for the dense layers and the
                             optimizers instead of the fast kernels (which use AVX-512,
                             AVX2+FMA or NEON when the compiler targets them, e.g. with
                             -march=native, else SSE2 on x86-64, else blocked portable C);
                             also one thread (GAN_THREADS is ignored), tanhf and the scalar
                             BCE gradient, and no joint pass of D (same results, slower)
     GAN_THREADS             share each large dense product, activation and BatchNorm
                             pass, and the trainer's optimizer steps, out among a pool of
                             POSIX threads per model, or per trainer: gan_new gives G and
                             D one pool (link with -lpthread); results are bit-identical
                             to one thread. See gan_model_set_threads.
     GAN_MAX_ALLOC           largest single allocation, in bytes, that a model, a
                             checkpoint or a data file may ask for (default 2 GiB)

   A COMPLETE EXAMPLE: learn a 1-D Gaussian N(4, 1.25) (examples/gaussian.c)

         gan_layer gl[] = { gan_dense(16), gan_leaky_relu(0.2f), gan_dense(1) };
         gan_layer dl[] = { gan_dense(16), gan_leaky_relu(0.2f), gan_dense(1) };
         gan_error err;
         gan_model *G = gan_model_new(1, gl, 3, 64, &err);      // z (1) -> x (1)
         gan_model *D = gan_model_new(1, dl, 3, 64, &err);      // x (1) -> logit (1)
         gan_model_init(G, GAN_INIT_GLOROT, 0, 1);
         gan_model_init(D, GAN_INIT_GLOROT, 0, 2);
         gan_train_config cfg = gan_train_defaults(1, 64);      // z_dim 1, batch 64
         gan_optim_config opt = gan_adam(1e-3f, 0.5f, 0.999f);
         gan *g = gan_new(G, D, &opt, &opt, &cfg, 42, &err);    // g owns G and D now
         for (int it = 0; it < 2000; it++) {
             gan_stats st;
             if (gan_train_step(g, my_data, NULL, &st, &err)) { fprintf(stderr, "%s\n", err.message); break; }
         }
         float x[1000];
         gan_generate(g, x, 1000, &err);
         gan_free(g);

     where my_data(void *user, float *out, int n, gan_rng *rng) fills out with n real samples.

   WHAT IS INSIDE, in reading order
     1. errors and the random number generator
     2. layers: dense, activations, batch normalisation, dropout; the sequential model
     3. losses, computed from logits in numerically stable form
     4. optimizers: SGD, RMSProp (TensorFlow and PyTorch flavours), Adam
     5. the GAN training step (Algorithm 1 of Goodfellow et al. 2014)
     6. checkpoints: save, load, resume, and a generator-only export for sampling
     7. model files: one model alone (a classifier, for instance)
     8. IDX data files, the format MNIST comes in
     9. images: grayscale PNG writer and image grids
    10. evaluation: mean and covariance, symmetric eigen-decomposition, Frechet distance,
        Inception score

   CONVENTIONS
     Functions that can fail return GAN_OK (0) or an error code, or NULL, and fill the
     caller's gan_error (which may be NULL) with a sentence saying what went wrong.
     The library never prints, never exits and keeps no mutable global state: two models
     in two threads do not interfere. Matrices are row-major; a batch of B vectors of
     size N is a (B, N) array.

   REVISION HISTORY
     0.1  first release: MLP layers, GAN losses, optimizers, trainer, checkpoints.
     0.2  Polyak averaging of G (cfg.g_average, gan_sampling_generator); checkpoint
          format version 2, which still reads version 1.

   LICENSE: MIT, at the end of this file.
*/
#ifndef GAN_H
#define GAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef GAN_STATIC
#define GANDEF static
#else
#define GANDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. errors and random numbers ------------------------------------------------ */

enum {
    GAN_OK = 0,
    GAN_ERR_ARGUMENT,   /* an argument is out of range; the message names it */
    GAN_ERR_MEMORY,     /* an allocation failed or would exceed GAN_MAX_ALLOC */
    GAN_ERR_IO,         /* a file could not be opened, read or written */
    GAN_ERR_FORMAT,     /* a file is truncated, corrupted or not what it claims */
    GAN_ERR_NONFINITE   /* a loss became NaN or infinite: training stopped before using it (the
                           update that met it changed no parameter and no running statistic) */
};

typedef struct gan_error {
    int code;           /* GAN_OK or one of GAN_ERR_* */
    char message[256];  /* what went wrong, as a sentence */
} gan_error;

/* PCG32 (O'Neill 2014): 64-bit state, 32-bit output. Owned by whoever uses it. */
typedef struct gan_rng {
    uint64_t state, inc;
    int has_spare;      /* Box-Muller makes normals in pairs; the second waits here */
    float spare;
} gan_rng;

GANDEF void     gan_rng_seed(gan_rng *r, uint64_t seed, uint64_t stream);
GANDEF uint32_t gan_rng_u32(gan_rng *r);
GANDEF float    gan_rng_uniform(gan_rng *r);               /* [0, 1) */
GANDEF float    gan_rng_normal(gan_rng *r);                /* N(0, 1) */
GANDEF uint32_t gan_rng_below(gan_rng *r, uint32_t n);     /* uniform integer in [0, n), n > 0 */

/* CRC-32 (the zlib/PNG polynomial); start with crc = 0. */
GANDEF uint32_t gan_crc32(uint32_t crc, const void *data, size_t n);

/* ---- 2. layers and models --------------------------------------------------------- */

enum { GAN_DENSE = 1, GAN_ACTIVATION, GAN_BATCHNORM, GAN_DROPOUT };
enum { GAN_IDENTITY = 0, GAN_RELU, GAN_LEAKY_RELU, GAN_TANH, GAN_SIGMOID };

/* What a layer is; build with the helpers below. */
typedef struct gan_layer {
    int kind;           /* GAN_DENSE, GAN_ACTIVATION, GAN_BATCHNORM or GAN_DROPOUT */
    int units;          /* dense: output size */
    int activation;     /* activation: GAN_IDENTITY ... GAN_SIGMOID */
    float slope;        /* leaky ReLU: slope for x < 0 */
    float eps;          /* batchnorm: added to the variance */
    float momentum;     /* batchnorm: running = (1 - momentum) * running + momentum * batch */
    float rate;         /* dropout: probability of zeroing a unit */
} gan_layer;

GANDEF gan_layer gan_dense(int units);
GANDEF gan_layer gan_activation(int activation);
GANDEF gan_layer gan_leaky_relu(float slope);
GANDEF gan_layer gan_batchnorm(float eps, float momentum);   /* PyTorch default: 1e-5, 0.1 */
GANDEF gan_layer gan_dropout(float rate);

typedef struct gan_model gan_model;

/* Forward modes. GAN_TRAIN uses batch statistics, updates BatchNorm's running statistics
   and applies dropout. GAN_TRAIN_FROZEN computes exactly what GAN_TRAIN computes but leaves
   the running statistics alone: the generator step looks through D this way. GAN_EVAL uses
   the running statistics and no dropout. */
enum { GAN_EVAL = 0, GAN_TRAIN, GAN_TRAIN_FROZEN };

/* Weight initialisers. PyTorch's nn.Linear default: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
   Glorot-uniform (TensorFlow's dense default): W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)), b = 0.
   Normal (DCGAN): W ~ N(0, std^2), b = 0. BatchNorm always starts at gamma = 1, beta = 0. */
enum { GAN_INIT_PYTORCH = 0, GAN_INIT_GLOROT, GAN_INIT_NORMAL };

/* Builds a model of n_layers layers on inputs of size input_dim, for batches of at most
   max_batch rows. Every buffer a training step needs is allocated here, once. */
GANDEF gan_model *gan_model_new(int input_dim, const gan_layer *layers, int n_layers, int max_batch,
                                gan_error *err);
GANDEF void gan_model_free(gan_model *m);
/* Draws the weights with the given scheme from a generator seeded with seed; that generator
   then drives the model's dropout. */
GANDEF void gan_model_init(gan_model *m, int scheme, float std, uint64_t seed);

/* Runs the model on x (batch, input_dim) and returns its output (batch, output_dim), owned by
   the model and valid until the next forward. x must stay unchanged until the backward pass.
   rng drives dropout; NULL means the model's own generator. Returns NULL on error. */
GANDEF const float *gan_model_forward(gan_model *m, const float *x, int batch, int mode, gan_rng *rng,
                                      gan_error *err);

/* Backpropagates dy = dLoss/d(output) (batch, output_dim) through the last forward pass.
   With GAN_GRAD_PARAMS the parameter gradients are *added* to the model's gradient buffer;
   with GAN_GRAD_PARAMS | GAN_GRAD_OVERWRITE they replace it: the same bits as
   gan_model_zero_grad and then GAN_GRAD_PARAMS, without the extra pass over the buffer.
   If dx is not NULL, dLoss/d(input) (batch, input_dim) is written there; it must not overlap
   dy or the input of the forward pass. */
enum { GAN_GRAD_PARAMS = 1, GAN_GRAD_OVERWRITE = 2 };
GANDEF int gan_model_backward(gan_model *m, const float *dy, float *dx, int flags, gan_error *err);

GANDEF void   gan_model_zero_grad(gan_model *m);
GANDEF int    gan_model_input_dim(const gan_model *m);
GANDEF int    gan_model_output_dim(const gan_model *m);
GANDEF int    gan_model_max_batch(const gan_model *m);
GANDEF size_t gan_model_num_params(const gan_model *m);
GANDEF float *gan_model_params(gan_model *m);   /* (num_params): every layer's W then b, in order */
GANDEF float *gan_model_grads(gan_model *m);    /* same layout as the parameters */
GANDEF void   gan_model_clip(gan_model *m, float c);  /* clamp every parameter to [-c, c] (WGAN) */
/* How many threads m's layers may share their work with, the caller's included (the
   default is every processor online); returns the number in effect, which is always 1
   unless gan.h was compiled with GAN_THREADS (and without GAN_NO_SIMD). Results do not
   depend on it. Each model starts a pool of threads; gan_new has D share G's, so that the
   trainer keeps one thread per processor (a job that finds the pool busy, G's and D's run
   from two threads at once, runs on its caller's thread alone). After each shared job the
   pool's threads poll for the next one for about 0.6 ms, yielding the processor to any
   other thread that can run, before they sleep. */
GANDEF int    gan_model_set_threads(gan_model *m, int n_threads);
/* Layer i's output from the last forward, (batch, *width); NULL if i is out of range.
   D's hidden features, for instance, for plotting what D has learned. */
GANDEF const float *gan_model_layer_output(const gan_model *m, int i, int *width);

/* ---- 3. losses -------------------------------------------------------------------- */

/* A GAN loss names the discriminator's objective and the generator's. All take D's raw
   output (the logit, or the critic's score) and return the batch mean.
     GAN_LOSS_NONSATURATING  D: BCE(real, 1) + BCE(fake, 0);  G: -log D(G(z))      (default)
     GAN_LOSS_MINIMAX        D: as above;                     G: log(1 - D(G(z)))  (the paper's)
     GAN_LOSS_WASSERSTEIN    D: -D(x) + D(G(z));              G: -D(G(z))
     GAN_LOSS_HINGE          D: relu(1 - D(x)) + relu(1 + D(G(z)));  G: -D(G(z))
     GAN_LOSS_LEAST_SQUARES  D: (D(x) - t)^2 + D(G(z))^2;     G: (D(G(z)) - 1)^2
     GAN_LOSS_BOUNDARY_SEEKING D: BCE as above;  G: 0.5 * l^2, l = D's logit on G(z)  (continuous BGAN)
   t is the real label (cfg.real_label, 1 unless smoothed): BCE and least squares use it,
   Wasserstein and hinge have no target. */
enum {
    GAN_LOSS_NONSATURATING = 0,
    GAN_LOSS_MINIMAX,
    GAN_LOSS_WASSERSTEIN,
    GAN_LOSS_HINGE,
    GAN_LOSS_LEAST_SQUARES,
    GAN_LOSS_BOUNDARY_SEEKING,
    GAN_LOSS_COUNT
};

/* The discriminator's loss on a batch of n outputs that are all real (real = 1, with target
   the label, 1 or less for one-sided smoothing) or all fake (real = 0, label 0). If grad is
   not NULL, grad[i] = scale * d(mean loss)/d(logit[i]). */
GANDEF float gan_loss_d(int loss, const float *logit, int n, int real, float target, float scale,
                        float *grad);
/* The generator's loss on D's outputs for a batch of n fakes; grad as above. */
GANDEF float gan_loss_g(int loss, const float *logit, int n, float scale, float *grad);

/* softplus(x) = log(1 + e^x) and the logistic sigmoid, both stable for any finite x. */
GANDEF float gan_softplus(float x);
GANDEF float gan_sigmoid(float x);

/* Softmax cross-entropy of n rows of `classes` logits against integer labels in [0, classes),
   the mean over rows of log(sum_k e^l_k) - l_label, with the log-sum-exp taken around the
   row's maximum so that any finite logits give a finite loss. If grad (n, classes) is not
   NULL it gets scale * (softmax(l) - onehot(label)) / n. Every label is checked first: if one
   is out of range (or n or classes < 1) the result is -1 (a cross-entropy is never negative)
   and grad is left untouched. */
GANDEF float gan_loss_softmax_ce(const float *logits, const int *labels, int n, int classes, float scale,
                                 float *grad);
/* probs (n, classes) = softmax of each row of logits (n, classes); probs may equal logits.
   Does nothing if classes < 1. */
GANDEF void  gan_softmax(const float *logits, int n, int classes, float *probs);

/* ---- 4. optimizers ---------------------------------------------------------------- */

enum { GAN_SGD = 1, GAN_RMSPROP_TF, GAN_RMSPROP_TORCH, GAN_ADAM };

typedef struct gan_optim_config {
    int kind;
    float lr;           /* learning rate */
    float momentum;     /* SGD: heavy-ball momentum (0 = plain SGD) */
    float rho;          /* RMSProp: decay of the squared-gradient average */
    float beta1, beta2; /* Adam: decay of the first and second moment */
    float eps;          /* RMSProp, Adam: keeps the division finite */
} gan_optim_config;

GANDEF gan_optim_config gan_sgd(float lr, float momentum);
GANDEF gan_optim_config gan_rmsprop_tf(float lr);     /* rho 0.9, eps 1e-10 */
GANDEF gan_optim_config gan_rmsprop_torch(float lr);  /* rho 0.99, eps 1e-8 */
GANDEF gan_optim_config gan_adam(float lr, float beta1, float beta2);  /* eps 1e-8 */

typedef struct gan_optim gan_optim;
GANDEF gan_optim *gan_optim_new(const gan_optim_config *cfg, size_t n_params, gan_error *err);
GANDEF void gan_optim_free(gan_optim *o);
/* One update of n_params parameters from their gradients. */
GANDEF void gan_optim_step(gan_optim *o, float *params, const float *grads);
GANDEF uint64_t gan_optim_steps(const gan_optim *o);

/* ---- 5. training a GAN ------------------------------------------------------------ */

enum { GAN_NOISE_UNIFORM = 0, GAN_NOISE_NORMAL };  /* z ~ U(-1, 1)^z_dim or N(0, I) */

typedef struct gan_train_config {
    int z_dim;          /* size of the noise vector, = G's input size */
    int noise;          /* GAN_NOISE_UNIFORM or GAN_NOISE_NORMAL */
    int batch;          /* samples per minibatch (m in Algorithm 1) */
    int loss;           /* GAN_LOSS_* */
    int d_steps;        /* D updates per iteration (k in Algorithm 1) */
    int g_steps;        /* G updates per iteration */
    int same_batch;     /* 1: one real and one noise batch per iteration, reused by every step */
    int g_first;        /* 1: PyTorch-GAN order: a G step, then a D step on the same fakes */
    float real_label;   /* target for real samples: 1, or less for one-sided label smoothing */
    float d_loss_scale; /* D loss = scale * (real term + fake term): 1 (paper) or 0.5 (PyTorch-GAN) */
    float clip;         /* > 0: clamp D's parameters to [-clip, clip] after each D update (WGAN) */
    float g_average;    /* > 0: keep an average of G's parameters, avg = a avg + (1 - a) G after
                           every G update with a = g_average < 1; samples and exports use it */
} gan_train_config;

/* Algorithm 1 with k = 1, non-saturating loss, uniform noise, labels 1/0, no clipping. */
GANDEF gan_train_config gan_train_defaults(int z_dim, int batch);

typedef struct gan_stats {
    float d_loss;       /* the last D step's loss, measured before its update */
    float g_loss;       /* the last G step's loss, measured before its update */
    float d_real;       /* mean D(x) on that D step's real batch (sigmoid of the logit; the raw */
    float d_fake;       /* score for Wasserstein, hinge and least squares) and mean D(G(z)) */
} gan_stats;

typedef struct gan gan;

/* Fills out (batch, data_dim) with real samples; rng is the trainer's generator, so a run
   that draws its data from it is reproducible and resumes bit-for-bit. Returns 0 on success. */
typedef int (*gan_data_fn)(void *user, float *out, int batch, gan_rng *rng);

/* Ties G and D together with an optimizer each. On success the trainer owns G and D and
   gan_free frees them; on failure the caller still owns them. */
GANDEF gan *gan_new(gan_model *G, gan_model *D, const gan_optim_config *g_opt,
                    const gan_optim_config *d_opt, const gan_train_config *cfg, uint64_t seed,
                    gan_error *err);
GANDEF void gan_free(gan *g);

/* One iteration: cfg.d_steps D updates, then cfg.g_steps G updates (or the PyTorch-GAN order).
   In the PyTorch-GAN order with a D that has no dropout or BatchNorm, D's passes run in the
   trainer's own buffers, and gan_model_layer_output(D, ...) then holds no pass of the step. */
GANDEF int gan_train_step(gan *g, gan_data_fn data, void *user, gan_stats *stats, gan_error *err);

/* The pieces gan_train_step is made of, for writing the loop by hand.
   gan_d_step: one D update on real (batch, data_dim) against G(z) for z (batch, z_dim).
   gan_g_step: one G update on noise z (batch, z_dim); D's parameters, gradients, running
   statistics and generator are left as they were. stats may be NULL; only the fields a
   step measures are written. */
GANDEF void gan_sample_noise(gan *g, float *z, int n);  /* n rows of noise into z (n, z_dim) */
GANDEF int  gan_d_step(gan *g, const float *real, const float *z, gan_stats *stats, gan_error *err);
GANDEF int  gan_g_step(gan *g, const float *z, gan_stats *stats, gan_error *err);

/* n samples from G (eval mode) for fresh noise from the trainer's generator; from the averaged
   generator below when cfg.g_average > 0, which each call builds anew (64 forward passes with
   BatchNorm): to sample often, build it once with gan_sampling_generator. */
GANDEF int gan_generate(gan *g, float *out, int n, gan_error *err);

/* The generator that samples and exports use, as a new model the caller frees: a copy of G, or
   with cfg.g_average > 0 G's layers with the averaged parameters. BatchNorm's running
   statistics belong to the parameters they were measured with, so the averaged generator's
   are measured again on 64 batches of noise from a fixed seed. */
GANDEF gan_model *gan_sampling_generator(const gan *g, gan_error *err);

GANDEF gan_model *gan_generator(gan *g);
GANDEF gan_model *gan_discriminator(gan *g);
GANDEF gan_rng *gan_trainer_rng(gan *g);
GANDEF const gan_train_config *gan_config(const gan *g);
GANDEF uint64_t gan_iterations(const gan *g);  /* completed gan_train_step calls */

/* ---- 6. checkpoints --------------------------------------------------------------- */

/* A full checkpoint holds both models, both optimizers, the configuration, the counters and
   every generator state: loading it and training on gives bit-for-bit what an uninterrupted
   run gives. A generator export holds only what sampling needs: G, or with cfg.g_average > 0
   the averaged generator (gan_sampling_generator). Both formats: 8-byte magic, u32 version,
   little-endian fixed-width fields, a CRC-32 of everything before it at the end.
   The memory functions return the number of bytes written (0 on error); with buf NULL they
   return the size needed. */
GANDEF size_t gan_save_memory(const gan *g, void *buf, size_t size, gan_error *err);
GANDEF gan   *gan_load_memory(const void *buf, size_t size, gan_error *err);
GANDEF size_t gan_save_generator_memory(const gan *g, void *buf, size_t size, gan_error *err);

typedef struct gan_sampler gan_sampler;
GANDEF gan_sampler *gan_sampler_load_memory(const void *buf, size_t size, uint64_t seed, gan_error *err);
GANDEF int  gan_sampler_sample(gan_sampler *s, float *out, int n, gan_error *err);
GANDEF int  gan_sampler_z_dim(const gan_sampler *s);
GANDEF int  gan_sampler_output_dim(const gan_sampler *s);
GANDEF void gan_sampler_free(gan_sampler *s);

#ifndef GAN_NO_STDIO
/* Saving writes path.tmp, then renames it over path: a crash never leaves half a file. */
GANDEF int          gan_save(const gan *g, const char *path, gan_error *err);
GANDEF gan         *gan_load(const char *path, gan_error *err);
GANDEF int          gan_save_generator(const gan *g, const char *path, gan_error *err);
GANDEF gan_sampler *gan_sampler_load(const char *path, uint64_t seed, gan_error *err);
/* Reads a whole file (at most max_bytes) into a new buffer; *size gets its length. A 0 byte
   follows the file's bytes, so that a text file can be read as a string. */
GANDEF void *gan_read_file(const char *path, size_t max_bytes, size_t *size, gan_error *err);
/* Writes n bytes to path through path.tmp, synced to the disk (POSIX), and a rename, so
   that path holds either its old bytes or all the new ones, even after a crash. */
GANDEF int   gan_write_file_atomic(const char *path, const void *data, size_t n, gan_error *err);
#endif

/* ---- 7. model files: one model alone ------------------------------------------------ */

/* A single model (a classifier, say) with its parameters, running statistics and generator
   state, in the checkpoint format with magic "GANHMDL1". Memory functions as in section 6. */
GANDEF size_t     gan_model_save_memory(const gan_model *m, void *buf, size_t size, gan_error *err);
GANDEF gan_model *gan_model_load_memory(const void *buf, size_t size, gan_error *err);
#ifndef GAN_NO_STDIO
GANDEF int        gan_model_save(const gan_model *m, const char *path, gan_error *err);
GANDEF gan_model *gan_model_load(const char *path, gan_error *err);
#endif

/* ---- 8. IDX data files (the MNIST format) ------------------------------------------- */

/* IDX (LeCun's MNIST files): bytes 00 00, an element type, the number of dimensions, then
   each dimension as a big-endian u32, then the elements in row-major order. Only unsigned
   bytes (type 0x08) are read; every dimension must be in [1, 2^24] and the file must hold
   exactly the bytes its header describes (the error says truncated or trailing bytes).
   gan.h has no zlib: a gzip-compressed file (.gz) is refused with a message to gunzip it.
   On failure *out is zeroed. The header is checked against the file's size before anything
   is allocated for the data, so no header can ask for more memory than the file holds. */
typedef struct gan_idx {
    int ndim;              /* 1 to 4 */
    int dims[4];           /* dims[0] = number of items */
    size_t item_size;      /* bytes per item: product of dims[1..ndim-1] (1 for labels) */
    unsigned char *data;   /* (dims[0], item_size) bytes; free with gan_idx_free */
} gan_idx;
GANDEF int  gan_idx_load_memory(const void *buf, size_t size, gan_idx *out, gan_error *err);
GANDEF void gan_idx_free(gan_idx *idx);   /* frees data and zeroes *idx; idx may be NULL */
#ifndef GAN_NO_STDIO
/* Reads the whole file (at most GAN_MAX_ALLOC bytes) into one allocation; errors name path. */
GANDEF int  gan_idx_load(const char *path, gan_idx *out, gan_error *err);
/* Writes data (dims[0] * ... * dims[ndim-1] bytes) as an unsigned-byte IDX file, atomically. */
GANDEF int  gan_idx_save(const char *path, const unsigned char *data, int ndim, const int *dims, gan_error *err);
#endif

/* ---- 9. images: grayscale PNG and image grids --------------------------------------- */

/* Encodes a (height, width) 8-bit grayscale image as a PNG whose zlib stream holds stored
   (uncompressed) deflate blocks: valid for every PNG reader, about 1 byte per pixel.
   Returns the bytes written, or with buf NULL the size needed; 0 on error (buf too small,
   a side outside [1, 2^24], more than 2^30 bytes of scanlines). */
GANDEF size_t gan_png_encode_gray(const unsigned char *pixels, int width, int height, void *buf, size_t size,
                                  gan_error *err);
#ifndef GAN_NO_STDIO
GANDEF int    gan_png_write_gray(const char *path, const unsigned char *pixels, int width, int height,
                                 gan_error *err);   /* atomic, like every file gan.h writes */
#endif
/* Tiles n images of (h, w) floats into a rows x cols grid, row by row, with `pad` pixels of
   background (0) around and between them, mapping [lo, hi] linearly to [0, 255] with
   rounding half up and clamping (tanh output: lo -1, hi 1; NaN becomes 0). dst is
   (rows*h + (rows+1)*pad, cols*w + (cols+1)*pad) bytes; images beyond n stay background,
   images beyond rows*cols are left out. Does nothing if a size is < 1 (pad < 0) or hi <= lo. */
GANDEF void   gan_image_grid(unsigned char *dst, const float *images, int n, int h, int w, int rows, int cols,
                             int pad, float lo, float hi);

/* ---- 10. evaluation: Frechet distance and Inception score --------------------------- */

/* For scoring a generator after (not during) training: these work in double precision and
   the eigen-decomposition and the Frechet distance allocate their own scratch. */

/* Mean (d) and unbiased covariance (d, d) (divided by n - 1) of n rows x (n, d), n >= 2. */
GANDEF int    gan_mean_cov(const float *x, int n, int d, double *mean, double *cov, gan_error *err);
/* Eigen-decomposition a = V diag(eigenvalues) V^T of a symmetric (n, n) matrix by cyclic
   Jacobi rotations; eigenvalues ascending, eigenvectors (n, n) as columns (may be NULL).
   The two triangles of a are averaged; n <= 4096. Each sweep costs O(n^3) and 7 to 10
   sweeps are typical (n = 256: about 0.6 s). Allocates 2 n^2 doubles of scratch. */
GANDEF int    gan_sym_eigen(const double *a, int n, double *eigenvalues, double *eigenvectors, gan_error *err);
/* Frechet distance between N(mu1, cov1) and N(mu2, cov2), each of dimension d:
     ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1^(1/2) S2 S1^(1/2))^(1/2))
   with the square roots from symmetric eigen-decompositions; eigenvalues that round-off
   makes negative count as 0, and a total that round-off makes negative is returned as 0.
   Costs about two eigen-decompositions of size d (d <= 4096); allocates 5 d^2 doubles of
   scratch. Returns -1 on error (bad sizes, non-finite input). */
GANDEF double gan_frechet_distance(const double *mu1, const double *cov1, const double *mu2, const double *cov2,
                                   int d, gan_error *err);
/* Inception score exp(E_x KL(p(y|x) || p(y))) of class probabilities probs (n, classes),
   computed on `splits` consecutive splits (split i holds rows [i n / splits, (i+1) n / splits)),
   with p(y) the split's mean prediction. Returns the mean over splits and, if std_out is
   not NULL, their standard deviation (divided by splits, as the reference code does);
   -1 on error (n < splits, a probability outside [0, 1], a row not summing to 1 +- 1e-3). */
GANDEF double gan_inception_score(const float *probs, int n, int classes, int splits, double *std_out,
                                  gan_error *err);

#ifdef __cplusplus
}
#endif
#endif /* GAN_H */

/* =================================================================================== */
/*                                   IMPLEMENTATION                                     */
/* =================================================================================== */
#ifdef GAN_IMPLEMENTATION
#ifndef GAN_IMPLEMENTATION_DONE
#define GAN_IMPLEMENTATION_DONE

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>   /* vsnprintf, and files unless GAN_NO_STDIO */
#include <string.h>

#if defined(GAN_MALLOC) && !defined(GAN_FREE) || !defined(GAN_MALLOC) && defined(GAN_FREE)
#error "gan.h: define both GAN_MALLOC and GAN_FREE, or neither"
#endif
#ifndef GAN_MALLOC
#include <stdlib.h>
#define GAN_MALLOC(n) malloc(n)
#define GAN_FREE(p) free(p)
#endif
#ifndef GAN_ASSERT
#include <assert.h>
#define GAN_ASSERT(x) assert(x)
#endif
#ifndef GAN_MAX_ALLOC
#define GAN_MAX_ALLOC ((size_t)1 << 31)
#endif
/* Threads run only with the fast kernels: GAN_NO_SIMD is the plain, one-thread reference. */
#if defined(GAN_THREADS) && !defined(GAN_NO_SIMD)
#define GAN__THREADED 1
#endif
#ifdef GAN__THREADED
#include <pthread.h>
#include <unistd.h>  /* sysconf: how many processors are online */
#include <sched.h>   /* sched_yield: polling threads give way to any other that can run */
#endif
/* The reference dense kernels are compiled in every build (the tests compare against them)
   but run only under GAN_NO_SIMD. */
#if defined(__GNUC__) && !defined(GAN_NO_SIMD)
#define GAN__MAYBE_UNUSED __attribute__((unused))
#else
#define GAN__MAYBE_UNUSED
#endif

/* Limits on any model, whether built by a caller or read from a file. */
#define GAN__MAX_DIM (1 << 20)
#define GAN__MAX_LAYERS 256
#define GAN__MAX_BATCH (1 << 16)
#define GAN__DX_ROWS 64     /* the fast dx kernel packs dy in blocks of this many rows (gan__dx_tile) */
#define GAN__DX_PACK_ROWS(batch) (((batch) + GAN__DX_ROWS - 1) / GAN__DX_ROWS * GAN__DX_ROWS)  /* dx_pack's rows */

static int gan__fail(gan_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A lower-level check's reason, put in the context it failed in: "where: what: reason" (what
   may be NULL), with the given code. */
static int gan__refail(gan_error *err, int code, const char *where, const char *what)
{
    char reason[sizeof err->message];
    if (!err) return code;
    memcpy(reason, err->message, sizeof reason);
    return gan__fail(err, code, "%.60s: %.40s%s%.150s", where, what ? what : "", what ? ": " : "", reason);
}

static void gan__ok(gan_error *err)
{
    if (err) { err->code = GAN_OK; err->message[0] = 0; }
}

/* Allocates n bytes, refusing sizes beyond GAN_MAX_ALLOC (and zero). */
static void *gan__alloc(size_t n, gan_error *err, const char *what)
{
    void *p;
    if (n == 0 || n > GAN_MAX_ALLOC) {
        gan__fail(err, GAN_ERR_MEMORY, "%s: %lu bytes is beyond the allocation limit", what, (unsigned long)n);
        return NULL;
    }
    p = GAN_MALLOC(n);
    if (!p) gan__fail(err, GAN_ERR_MEMORY, "%s: out of memory (%lu bytes)", what, (unsigned long)n);
    return p;
}

/* ---- 1. random numbers ------------------------------------------------------------- */

void gan_rng_seed(gan_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1) | 1u;
    gan_rng_u32(r);
    r->state += seed;
    gan_rng_u32(r);
    r->has_spare = 0;
    r->spare = 0;
}

/* PCG-XSH-RR: a 64-bit LCG step, output a xorshifted, randomly rotated high half. */
uint32_t gan_rng_u32(gan_rng *r)
{
    uint64_t old = r->state;
    uint32_t xorshifted, rot;
    r->state = old * 6364136223846793005ULL + r->inc;
    xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

/* 24 random bits scaled by 2^-24: every float in [0, 1) that is a multiple of 2^-24. */
float gan_rng_uniform(gan_rng *r)
{
    return (float)(gan_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

/* Box-Muller: for u1 in (0, 1], u2 in [0, 1), sqrt(-2 ln u1) * (cos, sin)(2 pi u2) are two
   independent N(0, 1) draws. */
float gan_rng_normal(gan_rng *r)
{
    float u1, u2, radius, angle;
    if (r->has_spare) { r->has_spare = 0; return r->spare; }
    u1 = (float)((gan_rng_u32(r) >> 8) + 1) * (1.0f / 16777216.0f);
    u2 = gan_rng_uniform(r);
    radius = sqrtf(-2.0f * logf(u1));
    angle = 6.2831853071795865f * u2;
    r->spare = radius * sinf(angle);
    r->has_spare = 1;
    return radius * cosf(angle);
}

/* Modulo with rejection (as PCG's pcg32_boundedrand_r): draws below 2^32 mod n are thrown
   away, so that every residue is equally likely; unbiased for any n. */
uint32_t gan_rng_below(gan_rng *r, uint32_t n)
{
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = gan_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

/* A 32-bit word stored little-endian, as checkpoints store them and CRC-32 reads them. */
static uint32_t gan__le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static void gan__put_le32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v; b[1] = (unsigned char)(v >> 8); b[2] = (unsigned char)(v >> 16); b[3] = (unsigned char)(v >> 24);
}

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib and PNG compute it.
   table[0][b] is the CRC register after byte b; table[k][b] that of byte b followed by k zero
   bytes. Runs of 8 bytes are folded in with 8 lookups at once ("slicing by 8", Kounavis and
   Berry 2005): several times the speed of a byte at a time, which a checkpoint of tens of MB
   written after every epoch notices. The tables are built on the stack at each call, so
   short inputs take the byte loop and build only the first. */
uint32_t gan_crc32(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    uint32_t table[8][256];
    uint32_t i, k;
    const uint32_t slices = n >= 1024 ? 8 : 1;
    for (i = 0; i < 256; i++) {
        uint32_t c = i;
        for (k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[0][i] = c;
    }
    for (k = 1; k < slices; k++)
        for (i = 0; i < 256; i++) table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
    crc = ~crc;
    for (; slices == 8 && n >= 8; n -= 8, p += 8) {
        const uint32_t low = crc ^ gan__le32(p);
        crc = table[7][low & 0xff] ^ table[6][(low >> 8) & 0xff] ^ table[5][(low >> 16) & 0xff] ^ table[4][low >> 24] ^
              table[3][p[4]] ^ table[2][p[5]] ^ table[1][p[6]] ^ table[0][p[7]];
    }
    for (; n; n--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- 2. layers --------------------------------------------------------------------- */

gan_layer gan_dense(int units)
{
    gan_layer l;
    memset(&l, 0, sizeof l);
    l.kind = GAN_DENSE;
    l.units = units;
    return l;
}

gan_layer gan_activation(int activation)
{
    gan_layer l;
    memset(&l, 0, sizeof l);
    l.kind = GAN_ACTIVATION;
    l.activation = activation;
    return l;
}

gan_layer gan_leaky_relu(float slope)
{
    gan_layer l = gan_activation(GAN_LEAKY_RELU);
    l.slope = slope;
    return l;
}

gan_layer gan_batchnorm(float eps, float momentum)
{
    gan_layer l;
    memset(&l, 0, sizeof l);
    l.kind = GAN_BATCHNORM;
    l.eps = eps;
    l.momentum = momentum;
    return l;
}

gan_layer gan_dropout(float rate)
{
    gan_layer l;
    memset(&l, 0, sizeof l);
    l.kind = GAN_DROPOUT;
    l.rate = rate;
    return l;
}

/* A layer inside a model: its spec, its sizes, and views into the model's buffers. */
typedef struct gan__layer {
    gan_layer spec;
    int in, out;            /* feature sizes */
    float *W, *b;           /* dense: W (in, out), b (out); batchnorm: gamma (out), beta (out) */
    float *dW, *db;         /* their gradients, same shapes */
    float *run_mean, *run_var;  /* batchnorm: running statistics (out) each */
    float *y;               /* (max_batch, out): this layer's output */
    float *cache;           /* batchnorm: x_hat (max_batch, out); dropout: mask (max_batch, out) */
    float *inv_std;         /* batchnorm: 1 / sqrt(var + eps) used by the last forward (out) */
} gan__layer;

struct gan_model {
    int input_dim, output_dim, max_batch, n_layers;
    gan__layer *layers;     /* (n_layers) */
    size_t n_params, n_state;
    float *params;          /* (n_params): per layer W then b */
    float *grads;           /* (n_params) */
    float *state;           /* (n_state): per batchnorm layer, running mean then running var */
    float *work;            /* activations, caches and the two gradient scratch buffers */
    float *scratch[2];      /* (max_batch, widest layer) each: backward ping-pong */
    float *dx_pack;         /* (max_batch rounded up to GAN__DX_ROWS, widest layer): dy packed for dx */
    gan_rng rng;            /* drives dropout */
    const float *input;     /* what the last forward ran on (batch, input_dim) */
    int batch, mode;        /* its batch size and mode; batch 0 = no forward yet */
#ifdef GAN__THREADED
    struct gan__pool *pool; /* the threads the layers (and the trainer) share work out to */
    int n_threads;          /* how many of them a job may use, the caller included */
#endif
};

#ifdef GAN__THREADED
static struct gan__pool *gan__pool_new(gan_error *err);
static int gan__pool_threads(const struct gan__pool *pool);
static void gan__pool_release(struct gan__pool *pool);
#endif

/* Checks a layer spec; on success returns its output size for input size in. */
static int gan__layer_check(const gan_layer *l, int in, int index, int *out, gan_error *err)
{
    switch (l->kind) {
    case GAN_DENSE:
        if (l->units < 1 || l->units > GAN__MAX_DIM)
            return gan__fail(err, GAN_ERR_ARGUMENT, "layer %d: dense units %d out of range [1, %d]",
                             index, l->units, GAN__MAX_DIM);
        *out = l->units;
        return GAN_OK;
    case GAN_ACTIVATION:
        if (l->activation < GAN_IDENTITY || l->activation > GAN_SIGMOID)
            return gan__fail(err, GAN_ERR_ARGUMENT, "layer %d: unknown activation %d", index, l->activation);
        if (!(l->slope > -1e6f && l->slope < 1e6f))
            return gan__fail(err, GAN_ERR_ARGUMENT, "layer %d: leaky ReLU slope is not a sane number", index);
        break;
    case GAN_BATCHNORM:
        if (!(l->eps > 0 && l->eps < 1e6f))
            return gan__fail(err, GAN_ERR_ARGUMENT, "layer %d: batchnorm eps must be in (0, 1e6)", index);
        if (!(l->momentum >= 0 && l->momentum <= 1))
            return gan__fail(err, GAN_ERR_ARGUMENT, "layer %d: batchnorm momentum must be in [0, 1]", index);
        break;
    case GAN_DROPOUT:
        if (!(l->rate >= 0 && l->rate < 1))
            return gan__fail(err, GAN_ERR_ARGUMENT, "layer %d: dropout rate must be in [0, 1)", index);
        break;
    default:
        return gan__fail(err, GAN_ERR_ARGUMENT, "layer %d: unknown layer kind %d", index, l->kind);
    }
    *out = in;
    return GAN_OK;
}

/* Checks every layer and counts the model's buffers in floats: parameters (and as many
   gradients), running statistics, and the work area (activations, caches, two scratch
   buffers of the widest layer, and the fast dx kernel's packed dy). Each term is below
   2^20 * 2^20 or 2^17 * 2^20 and there are at most 256 layers, so the sums fit in 64 bits,
   even where size_t has 32; each must then fit in GAN_MAX_ALLOC bytes. The work area holds max_batch rows of the input, so every
   batch-sized buffer of a model or trainer fits in GAN_MAX_ALLOC too. */
static int gan__model_sizes(int input_dim, const gan_layer *layers, int n_layers, int max_batch, size_t *n_params,
                            size_t *n_state, size_t *n_work, int *max_width, gan_error *err)
{
    const uint64_t cap = GAN_MAX_ALLOC / sizeof(float), batch = (uint64_t)max_batch;
    uint64_t params = 0, state = 0, work = 0;
    int i, width = input_dim;
    *max_width = input_dim;
    for (i = 0; i < n_layers; i++) {
        int out = 0;
        if (gan__layer_check(&layers[i], width, i, &out, err)) return err ? err->code : GAN_ERR_ARGUMENT;
        if (layers[i].kind == GAN_DENSE) params += (uint64_t)width * out + out;
        if (layers[i].kind == GAN_BATCHNORM) { params += 2 * (uint64_t)out; state += 2 * (uint64_t)out; }
        work += batch * out;                                            /* y */
        if (layers[i].kind == GAN_BATCHNORM) work += batch * out + out; /* x_hat, inv_std */
        if (layers[i].kind == GAN_DROPOUT) work += batch * out;         /* mask */
        width = out;
        if (width > *max_width) *max_width = width;
    }
    work += 2 * batch * (uint64_t)*max_width;
#ifndef GAN_NO_SIMD
    work += GAN__DX_PACK_ROWS(batch) * *max_width;                  /* dx_pack */
#endif
    if (params > cap || state > cap || work > cap)
        return gan__fail(err, GAN_ERR_MEMORY, "model needs more than GAN_MAX_ALLOC bytes");
    *n_params = (size_t)params; *n_state = (size_t)state; *n_work = (size_t)work;
    return GAN_OK;
}

gan_model *gan_model_new(int input_dim, const gan_layer *layers, int n_layers, int max_batch, gan_error *err)
{
    gan_model *m;
    size_t n_params = 0, n_state = 0, n_work = 0, offset_p = 0, offset_s = 0, offset_w = 0;
    int i, width, max_width;

    if (input_dim < 1 || input_dim > GAN__MAX_DIM) {
        gan__fail(err, GAN_ERR_ARGUMENT, "input_dim %d out of range [1, %d]", input_dim, GAN__MAX_DIM);
        return NULL;
    }
    if (!layers || n_layers < 1 || n_layers > GAN__MAX_LAYERS) {
        gan__fail(err, GAN_ERR_ARGUMENT, "n_layers %d out of range [1, %d]", n_layers, GAN__MAX_LAYERS);
        return NULL;
    }
    if (max_batch < 1 || max_batch > GAN__MAX_BATCH) {
        gan__fail(err, GAN_ERR_ARGUMENT, "max_batch %d out of range [1, %d]", max_batch, GAN__MAX_BATCH);
        return NULL;
    }
    if (gan__model_sizes(input_dim, layers, n_layers, max_batch, &n_params, &n_state, &n_work, &max_width, err))
        return NULL;

    m = (gan_model *)gan__alloc(sizeof *m, err, "model");
    if (!m) return NULL;
    memset(m, 0, sizeof *m);
    m->layers = (gan__layer *)gan__alloc(sizeof(gan__layer) * (size_t)n_layers, err, "model layers");
    m->work = (float *)gan__alloc(sizeof(float) * n_work, err, "model activations");
    if (n_params) {
        m->params = (float *)gan__alloc(sizeof(float) * n_params, err, "model parameters");
        m->grads = (float *)gan__alloc(sizeof(float) * n_params, err, "model gradients");
    }
    if (n_state) m->state = (float *)gan__alloc(sizeof(float) * n_state, err, "model running statistics");
    if (!m->layers || !m->work || (n_params && (!m->params || !m->grads)) || (n_state && !m->state)) {
        gan_model_free(m);
        return NULL;
    }
    m->input_dim = input_dim;
    m->n_layers = n_layers;
    m->max_batch = max_batch;
    m->n_params = n_params;
    m->n_state = n_state;

    /* Hand out the views, layer by layer, in the order the checkpoint stores them. */
    width = input_dim;
    for (i = 0; i < n_layers; i++) {
        gan__layer *L = &m->layers[i];
        memset(L, 0, sizeof *L);
        L->spec = layers[i];
        L->in = width;
        gan__layer_check(&layers[i], width, i, &L->out, NULL);
        if (L->spec.kind == GAN_DENSE) {
            L->W = m->params + offset_p;  L->dW = m->grads + offset_p;  offset_p += (size_t)L->in * L->out;
            L->b = m->params + offset_p;  L->db = m->grads + offset_p;  offset_p += (size_t)L->out;
        }
        if (L->spec.kind == GAN_BATCHNORM) {
            L->W = m->params + offset_p;  L->dW = m->grads + offset_p;  offset_p += (size_t)L->out;
            L->b = m->params + offset_p;  L->db = m->grads + offset_p;  offset_p += (size_t)L->out;
            L->run_mean = m->state + offset_s;  offset_s += (size_t)L->out;
            L->run_var = m->state + offset_s;   offset_s += (size_t)L->out;
            L->cache = m->work + offset_w;      offset_w += (size_t)max_batch * L->out;
            L->inv_std = m->work + offset_w;    offset_w += (size_t)L->out;
        }
        if (L->spec.kind == GAN_DROPOUT) { L->cache = m->work + offset_w; offset_w += (size_t)max_batch * L->out; }
        L->y = m->work + offset_w;
        offset_w += (size_t)max_batch * L->out;
        width = L->out;
    }
    m->scratch[0] = m->work + offset_w;  offset_w += (size_t)max_batch * max_width;
    m->scratch[1] = m->work + offset_w;  offset_w += (size_t)max_batch * max_width;
#ifndef GAN_NO_SIMD
    m->dx_pack = m->work + offset_w;     offset_w += (size_t)GAN__DX_PACK_ROWS(max_batch) * max_width;
#endif
    GAN_ASSERT(offset_p == n_params && offset_s == n_state && offset_w == n_work);
    m->output_dim = width;
#ifdef GAN__THREADED
    m->pool = gan__pool_new(err);
    if (!m->pool) { gan_model_free(m); return NULL; }
    m->n_threads = gan__pool_threads(m->pool);
#endif
    memset(m->work, 0, sizeof(float) * n_work);
    gan_model_init(m, GAN_INIT_PYTORCH, 0, 0);
    gan__ok(err);
    return m;
}

void gan_model_free(gan_model *m)
{
    if (!m) return;
#ifdef GAN__THREADED
    gan__pool_release(m->pool);
#endif
    if (m->layers) GAN_FREE(m->layers);
    if (m->work) GAN_FREE(m->work);
    if (m->params) GAN_FREE(m->params);
    if (m->grads) GAN_FREE(m->grads);
    if (m->state) GAN_FREE(m->state);
    GAN_FREE(m);
}

void gan_model_init(gan_model *m, int scheme, float std, uint64_t seed)
{
    int i;
    size_t k;
    gan_rng_seed(&m->rng, seed, 0x6a616e);
    for (i = 0; i < m->n_layers; i++) {
        gan__layer *L = &m->layers[i];
        if (L->spec.kind == GAN_DENSE) {
            size_t n = (size_t)L->in * L->out;
            float a;
            if (scheme == GAN_INIT_GLOROT) {
                a = sqrtf(6.0f / (float)(L->in + L->out));
                for (k = 0; k < n; k++) L->W[k] = a * (2.0f * gan_rng_uniform(&m->rng) - 1.0f);
                for (k = 0; k < (size_t)L->out; k++) L->b[k] = 0;
            } else if (scheme == GAN_INIT_NORMAL) {
                for (k = 0; k < n; k++) L->W[k] = std * gan_rng_normal(&m->rng);
                for (k = 0; k < (size_t)L->out; k++) L->b[k] = 0;
            } else {
                a = 1.0f / sqrtf((float)L->in);
                for (k = 0; k < n; k++) L->W[k] = a * (2.0f * gan_rng_uniform(&m->rng) - 1.0f);
                for (k = 0; k < (size_t)L->out; k++) L->b[k] = a * (2.0f * gan_rng_uniform(&m->rng) - 1.0f);
            }
        }
        if (L->spec.kind == GAN_BATCHNORM) {
            for (k = 0; k < (size_t)L->out; k++) {
                L->W[k] = 1; L->b[k] = 0;
                L->run_mean[k] = 0; L->run_var[k] = 1;
            }
        }
    }
    if (m->grads) memset(m->grads, 0, sizeof(float) * m->n_params);
    m->batch = 0;
}

/* Dense: y = x W + b, with x (B, I), W (I, O), b (O), y (B, O).
   The three loops below are the reference: they say what the dense layer computes, and
   tests/test_kernels.c checks the fast kernels further down against them. They are what
   the model runs when GAN_NO_SIMD is defined. */
static GAN__MAYBE_UNUSED void gan__dense_forward_ref(float *y, const float *x, const float *W, const float *b,
                                                     int B, int I, int O)
{
    int n, i, o;
    for (n = 0; n < B; n++) {
        float *yn = y + (size_t)n * O;
        const float *xn = x + (size_t)n * I;
        for (o = 0; o < O; o++) yn[o] = b[o];
        for (i = 0; i < I; i++) {
            const float xi = xn[i];
            const float *Wi = W + (size_t)i * O;
            for (o = 0; o < O; o++) yn[o] += xi * Wi[o];
        }
    }
}

/* dL/dx = dy W^T: dx[n][i] = sum_o dy[n][o] W[i][o]. */
static GAN__MAYBE_UNUSED void gan__dense_backward_input_ref(float *dx, const float *dy, const float *W,
                                                            int B, int I, int O)
{
    int n, i, o;
    for (n = 0; n < B; n++) {
        const float *dyn = dy + (size_t)n * O;
        for (i = 0; i < I; i++) {
            const float *Wi = W + (size_t)i * O;
            float s = 0;
            for (o = 0; o < O; o++) s += dyn[o] * Wi[o];
            dx[(size_t)n * I + i] = s;
        }
    }
}

/* dL/dW += x^T dy, dL/db += sum over the batch of dy; without accumulate, from zero. */
static GAN__MAYBE_UNUSED void gan__dense_backward_params_ref(float *dW, float *db, const float *dy, const float *x,
                                                             int B, int I, int O, int accumulate)
{
    int n, i, o;
    if (!accumulate) {
        memset(dW, 0, sizeof(float) * (size_t)I * O);
        memset(db, 0, sizeof(float) * (size_t)O);
    }
    for (n = 0; n < B; n++) {
        const float *dyn = dy + (size_t)n * O;
        const float *xn = x + (size_t)n * I;
        for (i = 0; i < I; i++) {
            const float xi = xn[i];
            float *dWi = dW + (size_t)i * O;
            for (o = 0; o < O; o++) dWi[o] += xi * dyn[o];
        }
        for (o = 0; o < O; o++) db[o] += dyn[o];
    }
}

#ifndef GAN_NO_SIMD
/* The fast dense kernels compute the same three products, cache-blocked and register-tiled
   (Goto & van de Geijn 2008, "Anatomy of high-performance matrix multiplication"):
     forward and dW:  C (M, N) = init + A B, one register tile of MR rows x NV vectors of C at a
                      time; for each k a row of B is loaded once and each A[r][k] is broadcast.
     dx = dy W^T:     the gemm dx^T = W dy^T, a tile of XR rows of W by XV vectors of the
                      batch, with W[i][o] broadcast and dy packed transposed (gan__dx_tile).
   Layers one or two wide (the quadratic demo's 2-16-16-2-1) would leave most lanes of these
   tiles empty and take paths of their own: a gemm with K <= 2 runs row by row, outputs one or
   two wide are dot products summed across lanes VL at a time (gan__dot_narrow), and dW with
   I or O <= 2 is a sum over the batch with vectors along the wider side (gan__dW_narrow).
   Every output element is computed by the same operations in the same order wherever it sits
   in a tile, so results do not depend on how the work is split (GAN_THREADS) and are the same
   run to run. The vector type below is chosen at compile time: AVX-512, AVX2 with FMA, SSE2
   (any x86-64), NEON on AArch64, or plain C arrays of 4 floats that the compiler may vectorise
   on its own (GAN_PORTABLE_VECTORS picks these on x86 too, so that the tests reach them). */
/* The loops over a register tile must be unrolled for its accumulators to live in registers;
   GCC and Clang do it at -O2 when asked. */
#if defined(__GNUC__)
#define GAN__UNROLL _Pragma("GCC unroll 16")
#else
#define GAN__UNROLL
#endif
#if defined(__AVX512F__)
#include <immintrin.h>
#define GAN__VL 16          /* floats per vector */
#define GAN__MR 8           /* gemm tile: rows of C */
#define GAN__NV 2           /* gemm tile: vectors of C per row */
#define GAN__XR 5           /* dx tile: rows of W */
#define GAN__XV 4           /* dx tile: vectors of the batch */
typedef __m512 gan__vec;
static inline gan__vec gan__vzero(void) { return _mm512_setzero_ps(); }
static inline gan__vec gan__vset1(float x) { return _mm512_set1_ps(x); }
static inline gan__vec gan__vload(const float *p) { return _mm512_loadu_ps(p); }
static inline void gan__vstore(float *p, gan__vec v) { _mm512_storeu_ps(p, v); }
static inline gan__vec gan__vfma(gan__vec a, gan__vec b, gan__vec c) { return _mm512_fmadd_ps(a, b, c); }
static inline gan__vec gan__vadd(gan__vec a, gan__vec b) { return _mm512_add_ps(a, b); }
static inline gan__vec gan__vsub(gan__vec a, gan__vec b) { return _mm512_sub_ps(a, b); }
static inline gan__vec gan__vmul(gan__vec a, gan__vec b) { return _mm512_mul_ps(a, b); }
static inline gan__vec gan__vdiv(gan__vec a, gan__vec b) { return _mm512_div_ps(a, b); }
static inline gan__vec gan__vsqrt(gan__vec a) { return _mm512_sqrt_ps(a); }
/* For the vector tanh: |a|; |magnitude| with the sign of `sign`; a < b ? then : otherwise,
   lane by lane (otherwise where a or b is NaN); a rounded to the nearest integer; 2^n for
   whole numbers n in [-126, 127], built from its exponent bits. */
static inline gan__vec gan__vabs(gan__vec a) { return _mm512_abs_ps(a); }
static inline gan__vec gan__vcopysign(gan__vec magnitude, gan__vec sign)
{
    const __m512i sign_bit = _mm512_set1_epi32(INT32_MIN);
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(sign_bit, _mm512_castps_si512(magnitude)),
                                               _mm512_and_si512(sign_bit, _mm512_castps_si512(sign))));
}
static inline gan__vec gan__vselect_lt(gan__vec a, gan__vec b, gan__vec then, gan__vec otherwise)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), otherwise, then);
}
static inline gan__vec gan__vround(gan__vec a)
{
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
static inline gan__vec gan__vpow2(gan__vec n)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
}
/* The first n lanes (n may be <= 0 or >= GAN__VL); the rest read as 0 and are not written. */
static inline __mmask16 gan__vmask(int n) { return (__mmask16)(n <= 0 ? 0 : n >= 16 ? 0xffff : (1u << n) - 1); }
static inline gan__vec gan__vload_part(const float *p, int n) { return _mm512_maskz_loadu_ps(gan__vmask(n), p); }
static inline void gan__vstore_part(float *p, gan__vec v, int n) { _mm512_mask_storeu_ps(p, gan__vmask(n), v); }
/* dst[j][i] = src[i][j] for j < cols <= 16 and i < 16, rows of src i < rows (0 past them),
   rows of dst and src ldd and lds floats apart: 16 loads, four rounds of shuffles that
   exchange ever larger blocks (1, 2, 4, then 8 floats), and cols stores. */
#define GAN__HAVE_TRANSPOSE16
static inline void gan__transpose16(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols)
{
    const __mmask16 mask = gan__vmask(cols);
    __m512 r[16], t[16];
    int i, h;
    GAN__UNROLL
    for (i = 0; i < 16; i++) r[i] = i < rows ? _mm512_maskz_loadu_ps(mask, src + (size_t)i * lds) : _mm512_setzero_ps();
    GAN__UNROLL
    for (i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#define GAN__PD(v) _mm512_castps_pd(v)
    GAN__UNROLL
    for (i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(GAN__PD(t[i]), GAN__PD(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(GAN__PD(t[i]), GAN__PD(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(GAN__PD(t[i + 1]), GAN__PD(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(GAN__PD(t[i + 1]), GAN__PD(t[i + 3])));
    }
#undef GAN__PD
    GAN__UNROLL
    for (h = 0; h < 16; h += 8)
        GAN__UNROLL
        for (i = h; i < h + 4; i++) {
            t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
            t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        }
    GAN__UNROLL
    for (i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
    for (i = 0; i < cols; i++) gan__vstore(dst + (size_t)i * ldd, r[i]);
}
/* Lane j of the result = the sum of the lanes of v[j], by the same tree for every j: pairs of
   vectors add their halves, then their quarters, eighths and sixteenths. Taking the vectors
   in this order brings the sums out in lane order. */
static inline gan__vec gan__vsums(const gan__vec *v)
{
    static const int order[16] = { 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15 };
    __m512 h[8], q[4], e[2];
    int j;
    GAN__UNROLL
    for (j = 0; j < 8; j++) {
        const __m512 a = v[order[2 * j]], b = v[order[2 * j + 1]];
        h[j] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    }
    GAN__UNROLL
    for (j = 0; j < 4; j++)
        q[j] = _mm512_add_ps(_mm512_shuffle_f32x4(h[2 * j], h[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(h[2 * j], h[2 * j + 1], 0xDD));
    GAN__UNROLL
    for (j = 0; j < 2; j++)
        e[j] = _mm512_add_ps(_mm512_shuffle_ps(q[2 * j], q[2 * j + 1], 0x44), _mm512_shuffle_ps(q[2 * j], q[2 * j + 1], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_ps(e[0], e[1], 0x88), _mm512_shuffle_ps(e[0], e[1], 0xDD));
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define GAN__VL 8
#define GAN__MR 4
#define GAN__NV 3
#define GAN__XR 6
#define GAN__XV 2
typedef __m256 gan__vec;
static inline gan__vec gan__vzero(void) { return _mm256_setzero_ps(); }
static inline gan__vec gan__vset1(float x) { return _mm256_set1_ps(x); }
static inline gan__vec gan__vload(const float *p) { return _mm256_loadu_ps(p); }
static inline void gan__vstore(float *p, gan__vec v) { _mm256_storeu_ps(p, v); }
static inline gan__vec gan__vfma(gan__vec a, gan__vec b, gan__vec c) { return _mm256_fmadd_ps(a, b, c); }
static inline gan__vec gan__vadd(gan__vec a, gan__vec b) { return _mm256_add_ps(a, b); }
static inline gan__vec gan__vsub(gan__vec a, gan__vec b) { return _mm256_sub_ps(a, b); }
static inline gan__vec gan__vmul(gan__vec a, gan__vec b) { return _mm256_mul_ps(a, b); }
static inline gan__vec gan__vdiv(gan__vec a, gan__vec b) { return _mm256_div_ps(a, b); }
static inline gan__vec gan__vsqrt(gan__vec a) { return _mm256_sqrt_ps(a); }
static inline gan__vec gan__vabs(gan__vec a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
static inline gan__vec gan__vcopysign(gan__vec magnitude, gan__vec sign)
{
    const __m256 sign_bit = _mm256_set1_ps(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(sign_bit, magnitude), _mm256_and_ps(sign_bit, sign));
}
static inline gan__vec gan__vselect_lt(gan__vec a, gan__vec b, gan__vec then, gan__vec otherwise)
{
    return _mm256_blendv_ps(otherwise, then, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
}
static inline gan__vec gan__vround(gan__vec a)
{
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
static inline gan__vec gan__vpow2(gan__vec n)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}
static inline __m256i gan__vmask(int n)
{
    static const int32_t ones_then_zeros[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
    return _mm256_loadu_si256((const __m256i *)(ones_then_zeros + 8 - (n <= 0 ? 0 : n >= 8 ? 8 : n)));
}
static inline gan__vec gan__vload_part(const float *p, int n) { return _mm256_maskload_ps(p, gan__vmask(n)); }
static inline void gan__vstore_part(float *p, gan__vec v, int n) { _mm256_maskstore_ps(p, gan__vmask(n), v); }
static inline gan__vec gan__vsums(const gan__vec *v)
{
    static const int order[8] = { 0, 4, 1, 5, 2, 6, 3, 7 };
    __m256 h[4], q[2];
    int j;
    GAN__UNROLL
    for (j = 0; j < 4; j++) {
        const __m256 a = v[order[2 * j]], b = v[order[2 * j + 1]];
        h[j] = _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31));
    }
    GAN__UNROLL
    for (j = 0; j < 2; j++)
        q[j] = _mm256_add_ps(_mm256_shuffle_ps(h[2 * j], h[2 * j + 1], 0x44), _mm256_shuffle_ps(h[2 * j], h[2 * j + 1], 0xEE));
    return _mm256_add_ps(_mm256_shuffle_ps(q[0], q[1], 0x88), _mm256_shuffle_ps(q[0], q[1], 0xDD));
}
#elif defined(__SSE2__) && !defined(GAN_PORTABLE_VECTORS)
/* SSE2, which every x86-64 CPU has: what a plain `cc -O2` targets there. It has no FMA, so
   gan__vfma multiplies and then adds, rounding twice where the FMA paths round once (the
   tests' rounding bounds allow for it); no masked loads or stores, so the partial ones are
   built from loads of one and two floats; and no blend, so the select is and / andnot / or.
   The tiles fit the 16 xmm registers: without FMA each product needs a register of its own,
   so 4 x 3 accumulators would spill. */
#include <emmintrin.h>
#define GAN__VL 4
#define GAN__MR 4
#define GAN__NV 2
#define GAN__XR 4
#define GAN__XV 2
typedef __m128 gan__vec;
static inline gan__vec gan__vzero(void) { return _mm_setzero_ps(); }
static inline gan__vec gan__vset1(float x) { return _mm_set1_ps(x); }
static inline gan__vec gan__vload(const float *p) { return _mm_loadu_ps(p); }
static inline void gan__vstore(float *p, gan__vec v) { _mm_storeu_ps(p, v); }
static inline gan__vec gan__vfma(gan__vec a, gan__vec b, gan__vec c) { return _mm_add_ps(_mm_mul_ps(a, b), c); }
static inline gan__vec gan__vadd(gan__vec a, gan__vec b) { return _mm_add_ps(a, b); }
static inline gan__vec gan__vsub(gan__vec a, gan__vec b) { return _mm_sub_ps(a, b); }
static inline gan__vec gan__vmul(gan__vec a, gan__vec b) { return _mm_mul_ps(a, b); }
static inline gan__vec gan__vdiv(gan__vec a, gan__vec b) { return _mm_div_ps(a, b); }
static inline gan__vec gan__vsqrt(gan__vec a) { return _mm_sqrt_ps(a); }
static inline gan__vec gan__vabs(gan__vec a) { return _mm_andnot_ps(_mm_set1_ps(-0.0f), a); }
static inline gan__vec gan__vcopysign(gan__vec magnitude, gan__vec sign)
{
    const __m128 sign_bit = _mm_set1_ps(-0.0f);
    return _mm_or_ps(_mm_andnot_ps(sign_bit, magnitude), _mm_and_ps(sign_bit, sign));
}
static inline gan__vec gan__vselect_lt(gan__vec a, gan__vec b, gan__vec then, gan__vec otherwise)
{
    const __m128 lt = _mm_cmplt_ps(a, b);
    return _mm_or_ps(_mm_and_ps(lt, then), _mm_andnot_ps(lt, otherwise));
}
/* SSE2 has no rounding instruction: a round trip through int32 under the default rounding
   mode (to nearest, ties to even) is exact for |a| < 2^31, and gan__vexp rounds only
   |a| <= 88 / ln2. */
static inline gan__vec gan__vround(gan__vec a) { return _mm_cvtepi32_ps(_mm_cvtps_epi32(a)); }
static inline gan__vec gan__vpow2(gan__vec n)
{
    return _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(_mm_cvtps_epi32(n), _mm_set1_epi32(127)), 23));
}
/* Loads and stores of one, two (as 64 bits) or three floats. Going through a small array, as
   NEON does, costs a failed store-to-load forwarding per call, which made the narrow layers
   of the quadratic demo (widths 1 and 2) twice as slow. */
static inline gan__vec gan__vload_part(const float *p, int n)
{
    if (n >= 4) return _mm_loadu_ps(p);
    if (n == 3) return _mm_movelh_ps(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p)), _mm_load_ss(p + 2));
    if (n == 2) return _mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)p));
    return n == 1 ? _mm_load_ss(p) : _mm_setzero_ps();
}
static inline void gan__vstore_part(float *p, gan__vec v, int n)
{
    if (n >= 4) _mm_storeu_ps(p, v);
    else if (n == 1) _mm_store_ss(p, v);
    else if (n >= 2) {
        _mm_storel_epi64((__m128i *)p, _mm_castps_si128(v));
        if (n == 3) _mm_store_ss(p + 2, _mm_movehl_ps(v, v));
    }
}
/* No horizontal add either (that is SSE3): [a0 + a1, a2 + a3, b0 + b1, b2 + b3] from two
   shuffles, twice over, as NEON's pairwise adds do it. */
static inline __m128 gan__vpairs(__m128 a, __m128 b)
{
    return _mm_add_ps(_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}
static inline void gan__vsum4(float *s, gan__vec a, gan__vec b, gan__vec c, gan__vec d)
{
    _mm_storeu_ps(s, gan__vpairs(gan__vpairs(a, b), gan__vpairs(c, d)));
}
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define GAN__VL 4
#define GAN__MR 8
#define GAN__NV 2
#define GAN__XR 6
#define GAN__XV 4
typedef float32x4_t gan__vec;
static inline gan__vec gan__vzero(void) { return vdupq_n_f32(0.0f); }
static inline gan__vec gan__vset1(float x) { return vdupq_n_f32(x); }
static inline gan__vec gan__vload(const float *p) { return vld1q_f32(p); }
static inline void gan__vstore(float *p, gan__vec v) { vst1q_f32(p, v); }
static inline gan__vec gan__vfma(gan__vec a, gan__vec b, gan__vec c) { return vfmaq_f32(c, a, b); }
static inline gan__vec gan__vadd(gan__vec a, gan__vec b) { return vaddq_f32(a, b); }
static inline gan__vec gan__vsub(gan__vec a, gan__vec b) { return vsubq_f32(a, b); }
static inline gan__vec gan__vmul(gan__vec a, gan__vec b) { return vmulq_f32(a, b); }
static inline gan__vec gan__vdiv(gan__vec a, gan__vec b) { return vdivq_f32(a, b); }
static inline gan__vec gan__vsqrt(gan__vec a) { return vsqrtq_f32(a); }
static inline gan__vec gan__vabs(gan__vec a) { return vabsq_f32(a); }
static inline gan__vec gan__vcopysign(gan__vec magnitude, gan__vec sign)
{
    return vbslq_f32(vdupq_n_u32(0x80000000u), sign, magnitude);
}
static inline gan__vec gan__vselect_lt(gan__vec a, gan__vec b, gan__vec then, gan__vec otherwise)
{
    return vbslq_f32(vcltq_f32(a, b), then, otherwise);
}
static inline gan__vec gan__vround(gan__vec a) { return vrndnq_f32(a); }
static inline gan__vec gan__vpow2(gan__vec n)
{
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23));
}
static inline gan__vec gan__vload_part(const float *p, int n)
{
    float t[4] = { 0, 0, 0, 0 };
    int j;
    for (j = 0; j < n && j < 4; j++) t[j] = p[j];
    return vld1q_f32(t);
}
static inline void gan__vstore_part(float *p, gan__vec v, int n)
{
    float t[4];
    int j;
    vst1q_f32(t, v);
    for (j = 0; j < n && j < 4; j++) p[j] = t[j];
}
static inline void gan__vsum4(float *s, gan__vec a, gan__vec b, gan__vec c, gan__vec d)
{
    vst1q_f32(s, vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d)));
}
#else
#define GAN__VL 4
#define GAN__MR 4
#define GAN__NV 2
#define GAN__XR 4
#define GAN__XV 2
typedef struct gan__vec { float v[4]; } gan__vec;
static inline gan__vec gan__vzero(void) { gan__vec r; memset(&r, 0, sizeof r); return r; }
static inline gan__vec gan__vset1(float x) { gan__vec r; r.v[0] = r.v[1] = r.v[2] = r.v[3] = x; return r; }
static inline gan__vec gan__vload(const float *p) { gan__vec r; memcpy(r.v, p, sizeof r.v); return r; }
static inline void gan__vstore(float *p, gan__vec v) { memcpy(p, v.v, sizeof v.v); }
#define GAN__LANEWISE(expr) gan__vec r; int j; for (j = 0; j < 4; j++) r.v[j] = (expr); return r
static inline gan__vec gan__vfma(gan__vec a, gan__vec b, gan__vec c) { GAN__LANEWISE(a.v[j] * b.v[j] + c.v[j]); }
static inline gan__vec gan__vadd(gan__vec a, gan__vec b) { GAN__LANEWISE(a.v[j] + b.v[j]); }
static inline gan__vec gan__vsub(gan__vec a, gan__vec b) { GAN__LANEWISE(a.v[j] - b.v[j]); }
static inline gan__vec gan__vmul(gan__vec a, gan__vec b) { GAN__LANEWISE(a.v[j] * b.v[j]); }
static inline gan__vec gan__vdiv(gan__vec a, gan__vec b) { GAN__LANEWISE(a.v[j] / b.v[j]); }
static inline gan__vec gan__vsqrt(gan__vec a) { GAN__LANEWISE(sqrtf(a.v[j])); }
static inline gan__vec gan__vabs(gan__vec a) { GAN__LANEWISE(fabsf(a.v[j])); }
static inline gan__vec gan__vcopysign(gan__vec magnitude, gan__vec sign)
{
    GAN__LANEWISE(copysignf(magnitude.v[j], sign.v[j]));
}
static inline gan__vec gan__vselect_lt(gan__vec a, gan__vec b, gan__vec then, gan__vec otherwise)
{
    GAN__LANEWISE(a.v[j] < b.v[j] ? then.v[j] : otherwise.v[j]);
}
static inline gan__vec gan__vround(gan__vec a) { GAN__LANEWISE(rintf(a.v[j])); }
static inline gan__vec gan__vpow2(gan__vec n)
{
    gan__vec r;
    int j;
    for (j = 0; j < 4; j++) {
        const uint32_t bits = (uint32_t)((int32_t)n.v[j] + 127) << 23;
        memcpy(&r.v[j], &bits, sizeof bits);
    }
    return r;
}
#undef GAN__LANEWISE
static inline gan__vec gan__vload_part(const float *p, int n)
{
    gan__vec r = gan__vzero();
    int j;
    for (j = 0; j < n && j < 4; j++) r.v[j] = p[j];
    return r;
}
static inline void gan__vstore_part(float *p, gan__vec v, int n)
{
    int j;
    for (j = 0; j < n && j < 4; j++) p[j] = v.v[j];
}
static inline void gan__vsum4(float *s, gan__vec a, gan__vec b, gan__vec c, gan__vec d)
{
    s[0] = (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]);
    s[1] = (b.v[0] + b.v[1]) + (b.v[2] + b.v[3]);
    s[2] = (c.v[0] + c.v[1]) + (c.v[2] + c.v[3]);
    s[3] = (d.v[0] + d.v[1]) + (d.v[2] + d.v[3]);
}
#endif
#if GAN__VL == 4
static inline gan__vec gan__vsums(const gan__vec *v)
{
    float s[4];
    gan__vsum4(s, v[0], v[1], v[2], v[3]);
    return gan__vload(s);
}
#endif

#define GAN__NR (GAN__NV * GAN__VL)   /* gemm tile: columns of C */
#define GAN__XB (GAN__XV * GAN__VL)   /* dx tile: rows of the batch; it divides GAN__DX_ROWS */
#define GAN__LINE_FLOATS 16           /* floats per 64-byte cache line */
/* Data the hardware prefetcher does not foresee is asked for ahead of time: the gemm's coming
   column panel of B, whose rows lie N floats apart, often one per page, and dx's next block
   of W's rows (gan__dx_tile below); and, for writing, the gemm's next tile of C, which in
   dW is a gradient the optimizer last touched a step ago, long gone from the caches. */
#ifndef GAN__PREFETCH                 /* tests/test_kernels.c defines its own, to see where they go */
#if defined(__GNUC__)
#define GAN__PREFETCH(p) __builtin_prefetch(p)
#define GAN__PREFETCH_WRITE(p) __builtin_prefetch(p, 1)
#else
#define GAN__PREFETCH(p) ((void)(p))
#define GAN__PREFETCH_WRITE(p) ((void)(p))
#endif
#endif
#define GAN__KC 256                   /* gemm: k-block, so that a KC x NR panel of B stays in L1 */

/* One register tile: C[r][j] = init[r][j] + sum_k A[r][k] B[k][j] for r < rows <= MR and
   j < cols <= NR, with A[r][k] = a[r * a_rs + k * a_cs] and B[k][j] = b[k * ldb + j].
   init is C itself when load_c, else bias[j], else 0. Rows past `rows` repeat the last
   row (their results are dropped), so every row of a tile runs the same instructions. Where
   `ahead` > 0, the tile also prefetches, row by row, the panel of B `ahead` panels to the
   right (NR columns each). */
static void gan__gemm_tile(float *c, size_t ldc, const float *a, size_t a_rs, size_t a_cs, const float *b,
                           size_t ldb, const float *bias, int load_c, int rows, int cols, int K, int ahead)
{
    gan__vec acc[GAN__MR][GAN__NV], bk[GAN__NV];
    const float *ar[GAN__MR];
    int r, v, k;
    GAN__UNROLL
    for (r = 0; r < GAN__MR; r++) {
        ar[r] = a + (size_t)(r < rows ? r : rows - 1) * a_rs;
        GAN__UNROLL
        for (v = 0; v < GAN__NV; v++) {
            const int lanes = cols - v * GAN__VL;
            if (load_c) acc[r][v] = gan__vload_part(c + (size_t)(r < rows ? r : rows - 1) * ldc + v * GAN__VL, lanes);
            else if (bias) acc[r][v] = gan__vload_part(bias + v * GAN__VL, lanes);
            else acc[r][v] = gan__vzero();
        }
    }
    if (cols == GAN__NR) {
        for (k = 0; k < K; k++) {
            const float *bp = b + (size_t)k * ldb;
            const size_t ak = (size_t)k * a_cs;
            if (ahead) { GAN__PREFETCH(bp + ahead * GAN__NR); GAN__PREFETCH(bp + ahead * GAN__NR + 16); }
            GAN__UNROLL
            for (v = 0; v < GAN__NV; v++) bk[v] = gan__vload(bp + v * GAN__VL);
            GAN__UNROLL
            for (r = 0; r < GAN__MR; r++) {
                const gan__vec ark = gan__vset1(ar[r][ak]);
                GAN__UNROLL
                for (v = 0; v < GAN__NV; v++) acc[r][v] = gan__vfma(ark, bk[v], acc[r][v]);
            }
        }
    } else if (cols <= GAN__VL) {   /* narrow layers: one vector of columns, the others stay 0 */
        for (k = 0; k < K; k++) {
            const gan__vec b0 = gan__vload_part(b + (size_t)k * ldb, cols);
            const size_t ak = (size_t)k * a_cs;
            GAN__UNROLL
            for (r = 0; r < GAN__MR; r++) acc[r][0] = gan__vfma(gan__vset1(ar[r][ak]), b0, acc[r][0]);
        }
    } else {
        for (k = 0; k < K; k++) {
            const float *bp = b + (size_t)k * ldb;
            const size_t ak = (size_t)k * a_cs;
            GAN__UNROLL
            for (v = 0; v < GAN__NV; v++) bk[v] = gan__vload_part(bp + v * GAN__VL, cols - v * GAN__VL);
            GAN__UNROLL
            for (r = 0; r < GAN__MR; r++) {
                const gan__vec ark = gan__vset1(ar[r][ak]);
                GAN__UNROLL
                for (v = 0; v < GAN__NV; v++) acc[r][v] = gan__vfma(ark, bk[v], acc[r][v]);
            }
        }
    }
    GAN__UNROLL
    for (r = 0; r < GAN__MR; r++)
        GAN__UNROLL
        for (v = 0; v < GAN__NV; v++) {
            float *cp = c + (size_t)r * ldc + v * GAN__VL;
            if (r >= rows) break;
            if (cols == GAN__NR) gan__vstore(cp, acc[r][v]);
            else gan__vstore_part(cp, acc[r][v], cols - v * GAN__VL);
        }
}

/* C (M, N), columns [col0, col1) only: C = (accumulate ? C : bias or 0) + A B, A (M, K) as
   above, B (K, N). The k loop is cut into blocks of GAN__KC; each block after the first
   continues from what the previous one stored, which is the same arithmetic as one pass.
   When more than 32 row tiles (256 rows of C) will read a KC x NR panel of B, the panel is
   first copied into `panel` (at most 32 KB of stack) with its rows side by side. The copy
   holds the same numbers, so the results are the same either way. For fewer rows it costs
   more than it saves, even where B's rows are 4 KB apart and a panel cannot stay in L1: in a
   training step the MNIST forward products over 128 rows ran 8-9% faster uncopied, and alone
   64 x 512 x 1024 ran at 110 GFLOP/s uncopied against 99 copied; dW over 512 to 1024 rows
   of C at batch 256 ran 3-7% faster copied. cold_c: C is not in the caches (dW), so each row
   tile first asks for the next one's rows, for writing. */
static void gan__gemm(float *c, size_t ldc, const float *a, size_t a_rs, size_t a_cs, const float *b, size_t ldb,
                      const float *bias, int accumulate, int M, int K, int col0, int col1, int cold_c)
{
    float panel[GAN__KC * GAN__NR];
    int k0, i, j, k;
    if (K <= 2 && !accumulate) {    /* one or two FMAs a row would not pay for a tile's setup */
        for (j = col0; j < col1; j += GAN__VL) {
            const int cols = col1 - j;  /* gan__vload_part and gan__vstore_part use min(cols, VL) */
            const gan__vec b0 = gan__vload_part(b + j, cols), b1 = K > 1 ? gan__vload_part(b + ldb + j, cols) : b0;
            const gan__vec init = bias ? gan__vload_part(bias + j, cols) : gan__vzero();
            for (i = 0; i < M; i++) {
                const float *ai = a + (size_t)i * a_rs;
                gan__vec acc = gan__vfma(gan__vset1(ai[0]), b0, init);
                if (K > 1) acc = gan__vfma(gan__vset1(ai[a_cs]), b1, acc);
                if (cols >= GAN__VL) gan__vstore(c + (size_t)i * ldc + j, acc);
                else gan__vstore_part(c + (size_t)i * ldc + j, acc, cols);
            }
        }
        return;
    }
    for (k0 = 0; k0 < K; k0 += GAN__KC) {
        const int kc = K - k0 < GAN__KC ? K - k0 : GAN__KC;
        for (j = col0; j < col1; j += GAN__NR) {
            const int cols = col1 - j < GAN__NR ? col1 - j : GAN__NR;
            const float *bp = b + (size_t)k0 * ldb + j;
            size_t ldp = ldb;
            int packed = 0;
            if (M > 32 * GAN__MR) {
                for (k = 0; k < kc; k++) {
                    const float *row = bp + (size_t)k * ldb;
                    float *copy = panel + (size_t)k * GAN__NR;
                    int v;
                    if (j + GAN__NR < col1) GAN__PREFETCH(row + GAN__NR);  /* the next panel's row */
                    if (cols == GAN__NR)
                        GAN__UNROLL
                        for (v = 0; v < GAN__NV; v++) gan__vstore(copy + v * GAN__VL, gan__vload(row + v * GAN__VL));
                    else memcpy(copy, row, sizeof(float) * (size_t)cols);
                }
                bp = panel;
                ldp = GAN__NR;
                packed = 1;
            }
            for (i = 0; i < M; i += GAN__MR) {
                /* Unless the panel was copied (which prefetched the next one), the first row tile
                   asks for the panel two to the right and the second for the one three to the
                   right, so that each panel is asked for twice before its turn. (In a training
                   step the MNIST forward products ran 5-7% faster than when the first tile asked
                   for the next panel only; asking once, two ahead, gained about half of that.) */
                const int ahead = packed ? 0 : i == 0 ? 2 : i == GAN__MR ? 3 : 0;
                /* cold_c: the next tile's rows of C, a line (16 floats) at a time and the last float */
                int r;
                for (r = i + GAN__MR; cold_c && r < M && r < i + 2 * GAN__MR; r++) {
                    float *row = c + (size_t)r * ldc + j;
                    int l;
                    for (l = 0; l < cols; l += GAN__LINE_FLOATS) GAN__PREFETCH_WRITE(row + l);
                    GAN__PREFETCH_WRITE(row + cols - 1);
                }
                gan__gemm_tile(c + (size_t)i * ldc + j, ldc, a + (size_t)i * a_rs + (size_t)k0 * a_cs, a_rs, a_cs,
                               bp, ldp, bias ? bias + j : NULL, accumulate || k0 > 0,
                               M - i < GAN__MR ? M - i : GAN__MR, cols, kc,
                               ahead && j + ahead * GAN__NR < col1 ? ahead : 0);
            }
        }
    }
}

/* Narrow outputs, one or two columns: C[n][j] = init[j] (or 0) + sum_k A[n][k] Bt[j][k] for
   n < M and j0 <= j < j1 <= j0 + 2, with rows of A and Bt lda and ldbt floats apart. The gemm
   tile would fill one or two lanes of a vector; here each output is a dot product along a row
   of A, and VL of them (VL or VL/2 rows of C) are summed across lanes at once by gan__vsums. */
static void gan__dot_narrow(float *c, size_t ldc, const float *a, size_t lda, const float *bt, size_t ldbt,
                            const float *init, int M, int K, int j0, int j1)
{
    const int shift = j1 - j0 - 1;      /* output s of a group: row s >> shift, column j0 + (s & shift) */
    const int group = GAN__VL >> shift; /* rows of C per group */
    float start[GAN__VL], sums[GAN__VL];
    size_t row[GAN__VL];                /* output s of a group reads row n + row[s] of A, offset in floats */
    int n, s, k;
    for (s = 0; s < GAN__VL; s++) {
        start[s] = init ? init[j0 + (s & shift)] : 0.0f;
        row[s] = (size_t)(s >> shift) * lda;
    }
    for (n = 0; n < M; n += group) {
        const int rows = M - n < group ? M - n : group;
        const float *an = a + (size_t)n * lda;
        gan__vec acc[GAN__VL], total;
        if (rows < group)               /* the last group: rows past the last repeat it */
            for (s = 0; s < GAN__VL; s++) row[s] = (size_t)((s >> shift) < rows ? s >> shift : rows - 1) * lda;
        GAN__UNROLL
        for (s = 0; s < GAN__VL; s++) acc[s] = gan__vzero();
        for (k = 0; k < K; k += GAN__VL) {
            /* the two columns of Bt, or the one twice; gan__vload_part reads min(K - k, VL) */
            const gan__vec b0 = gan__vload_part(bt + (size_t)j0 * ldbt + k, K - k);
            const gan__vec b1 = gan__vload_part(bt + (size_t)(j1 - 1) * ldbt + k, K - k);
            GAN__UNROLL
            for (s = 0; s < GAN__VL; s++)
                acc[s] = gan__vfma(gan__vload_part(an + row[s] + k, K - k), s & 1 ? b1 : b0, acc[s]);
        }
        total = gan__vadd(gan__vload(start), gan__vsums(acc));
        if (ldc == (size_t)(j1 - j0)) {  /* the slice is all of C: its rows are contiguous */
            gan__vstore_part(c + (size_t)n * ldc, total, rows << shift);
            continue;
        }
        gan__vstore(sums, total);
        for (s = 0; s < rows << shift; s++) c[(size_t)(n + (s >> shift)) * ldc + j0 + (s & shift)] = sums[s];
    }
}

/* wt (O, I) = W^T for a W (I, O) small enough to be transposed onto the stack. */
static void gan__transpose(float *wt, const float *W, int I, int O)
{
    int i, o;
    for (i = 0; i < I; i++)
        for (o = 0; o < O; o++) wt[(size_t)o * I + i] = W[(size_t)i * O + o];
}

/* The three dense products on a slice of their outputs: columns [o0, o1) of y and dW,
   columns [i0, i1) of dx. */
static void gan__dense_forward_fast(float *y, const float *x, const float *W, const float *b, int B, int I, int O,
                                    int o0, int o1)
{
    if (O <= 2 && I > 2 && I <= GAN__KC * GAN__NR / 2) {
        float wt[GAN__KC * GAN__NR];    /* W^T (O, I) */
        gan__transpose(wt, W, I, O);
        gan__dot_narrow(y, (size_t)O, x, (size_t)I, wt, (size_t)I, b, B, I, o0, o1);
        return;
    }
    gan__gemm(y, (size_t)O, x, (size_t)I, 1, W, (size_t)O, b, 0, B, I, o0, o1, 0);
}

/* dx = dy W^T needs W along its rows, where the gemm above reads its B down the columns. It
   runs instead as the gemm dx^T = W dy^T, whose A is W itself: a tile holds XR rows of W
   against XV vectors of the batch, broadcasts W[i][o] and multiplies it into dy^T's row o,
   which lists the batch side by side. So each W[i][o] is loaded once for XV * VL rows of the
   batch, the XR rows of W are read side by side, each in order, with no sums across lanes at
   the end, and each dx[n][i] is the sum over o in order, as the reference forms it. dy^T comes
   from gan__pack_transposed, GAN__DX_ROWS rows of the batch at a time; the tile transposes
   its sums back into dx. In a training step W comes from memory: each tile asks for the next
   tile's rows of W a line at a time as it goes (timed alone with the caches swept between
   calls, dx at the MNIST shapes ran 5-10% faster than on the dot-product tiles it replaced;
   warm, 7-16%). */
#ifndef GAN__HAVE_TRANSPOSE16
/* dst[j][i] = src[i][j] for j < cols <= 16 and i < 16, rows of src i < rows (0 past them),
   rows of dst and src ldd and lds floats apart. */
static void gan__transpose16(float *dst, size_t ldd, const float *src, size_t lds, int rows, int cols)
{
    int i, j;
    for (i = 0; i < 16; i++)
        for (j = 0; j < cols; j++) dst[(size_t)j * ldd + i] = i < rows ? src[(size_t)i * lds + j] : 0.0f;
}
#endif

/* dy (B, O) packed for the dx tiles, GAN__DX_ROWS rows of the batch at a time: block b holds
   dyT[o][n] = dy[b GAN__DX_ROWS + n][o] for o < O and n < GAN__DX_ROWS, at dyT + b O
   GAN__DX_ROWS, with 0 past the last row up to a whole tile of the batch. Columns [o0, o1)
   only, o0 a multiple of 16. */
static void gan__pack_transposed(float *dyT, const float *dy, int B, int O, int o0, int o1)
{
    int n, o;
    for (n = 0; n < (B + GAN__XB - 1) / GAN__XB * GAN__XB; n += 16) {   /* 16-row blocks past B: zeros */
        float *block = dyT + (size_t)(n / GAN__DX_ROWS) * O * GAN__DX_ROWS + n % GAN__DX_ROWS;
        for (o = o0; o < o1; o += 16)
            gan__transpose16(block + (size_t)o * GAN__DX_ROWS, GAN__DX_ROWS, n < B ? dy + (size_t)n * O + o : dy,
                             (size_t)O, B - n, o1 - o < 16 ? o1 - o : 16);
    }
}

/* One dx tile: dx[n][w] = sum_o dyT[o][n] W[w][o] for n < rows <= XB and w < wrows <= XR,
   with rows of dx ldx and of W ldw floats apart. Rows of W past wrows repeat the last one, as
   in the gemm tile. Every LINE_FLOATS columns it prefetches that line of the first
   next_rows rows at `next`. */
static void gan__dx_tile(float *dx, size_t ldx, const float *W, size_t ldw, const float *dyT, int rows, int wrows,
                         int O, const float *next, int next_rows)
{
    gan__vec acc[GAN__XR][GAN__XV], dyo[GAN__XV];
    float sums[GAN__XR][GAN__XB];
    const float *wr[GAN__XR];
    int r, v, o, n;
    GAN__UNROLL
    for (r = 0; r < GAN__XR; r++) {
        wr[r] = W + (size_t)(r < wrows ? r : wrows - 1) * ldw;
        GAN__UNROLL
        for (v = 0; v < GAN__XV; v++) acc[r][v] = gan__vzero();
    }
    for (o = 0; o < O; o++) {
        const float *row = dyT + (size_t)o * GAN__DX_ROWS;
        if (o % GAN__LINE_FLOATS == 0)
            for (r = 0; r < next_rows; r++) GAN__PREFETCH(next + (size_t)r * ldw + o);
        GAN__UNROLL
        for (v = 0; v < GAN__XV; v++) dyo[v] = gan__vload(row + v * GAN__VL);
        GAN__UNROLL
        for (r = 0; r < GAN__XR; r++) {
            const gan__vec w = gan__vset1(wr[r][o]);
            GAN__UNROLL
            for (v = 0; v < GAN__XV; v++) acc[r][v] = gan__vfma(w, dyo[v], acc[r][v]);
        }
    }
    GAN__UNROLL
    for (r = 0; r < GAN__XR; r++)
        GAN__UNROLL
        for (v = 0; v < GAN__XV; v++) gan__vstore(sums[r] + v * GAN__VL, acc[r][v]);
    for (n = 0; n < rows; n++)
        for (r = 0; r < wrows; r++) dx[(size_t)n * ldx + r] = sums[r][n];
}

/* Whether dx at (I, O) runs on the dx tiles, with dy packed; the narrow and small layers below
   take dy as it is. */
static int gan__dx_packed(int I, int O)
{
    return !(I <= 2 && O > 2) && !(O < 4 * GAN__VL && (size_t)I * O <= GAN__KC * GAN__NR);
}

/* Columns [i0, i1) of dx. When gan__dx_packed(I, O), dyT holds dy packed by
   gan__pack_transposed. */
static void gan__dense_backward_input_fast(float *dx, const float *dy, const float *dyT, const float *W, int B, int I,
                                           int O, int i0, int i1)
{
    int b, i, n;
    if (I <= 2 && O > 2) {
        gan__dot_narrow(dx, (size_t)I, dy, (size_t)O, W, (size_t)O, NULL, B, O, i0, i1);
        return;
    }
    /* Dot products only a few vectors long spend more on summing lanes than on multiplying.
       For such small layers dx = dy W^T runs as a gemm against W^T, transposed onto the stack. */
    if (!gan__dx_packed(I, O)) {
        float wt[GAN__KC * GAN__NR];    /* W^T (O, I) */
        gan__transpose(wt, W, I, O);
        gan__gemm(dx, (size_t)I, dy, (size_t)O, 1, wt, (size_t)I, NULL, 0, B, O, i0, i1, 0);
        return;
    }
    for (b = 0; b < B; b += GAN__DX_ROWS) {    /* a block of packed rows at a time */
        const float *block = dyT + (size_t)(b / GAN__DX_ROWS) * O * GAN__DX_ROWS;
        const int rows = B - b < GAN__DX_ROWS ? B - b : GAN__DX_ROWS;
        for (i = i0; i < i1; i += GAN__XR) {
            const int wrows = i1 - i < GAN__XR ? i1 - i : GAN__XR;
            const int next_rows = i1 - i - wrows < GAN__XR ? i1 - i - wrows : GAN__XR;
            for (n = 0; n < rows; n += GAN__XB)     /* the first tile of a row block prefetches */
                gan__dx_tile(dx + (size_t)(b + n) * I + i, (size_t)I, W + (size_t)i * O, (size_t)O, block + n,
                             rows - n < GAN__XB ? rows - n : GAN__XB, wrows, O, W + (size_t)(i + wrows) * O,
                             n == 0 ? next_rows : 0);
        }
    }
}

/* dW += x^T dy when I or O is 1 or 2, as S[p][q] += sum_n U[n][p] V[n][q] for p in [p0, p1) and
   q in [q0, q1), q1 - q0 <= 2, with S[p][q] at s[p sp + q sq]: vectors along p, V[n][q]
   broadcast. Each (p, q) keeps four partial sums, over n = 0, 1, 2, 3 mod 4, so that four
   chains of FMAs run side by side instead of one chain B long. */
static void gan__dW_narrow(float *s, size_t sp, size_t sq, const float *u, size_t ldu, int p0, int p1,
                           const float *v, size_t ldv, int q0, int q1, int B, int accumulate)
{
    float part[GAN__VL];
    int p, n, m, q, l;
    for (p = p0; p < p1; p += GAN__VL) {
        gan__vec acc[2][4], sum[2];     /* [q - q0][n mod 4]; one column of V fills both rows alike */
        GAN__UNROLL
        for (m = 0; m < 4; m++) acc[0][m] = acc[1][m] = gan__vzero();
        for (n = 0; n < B; n += 4)
            GAN__UNROLL
            for (m = 0; m < 4; m++)
                if (m == 0 || n + m < B) {
                    const gan__vec un = gan__vload_part(u + (size_t)(n + m) * ldu + p, p1 - p);
                    const float *vn = v + (size_t)(n + m) * ldv;
                    acc[0][m] = gan__vfma(un, gan__vset1(vn[q0]), acc[0][m]);
                    acc[1][m] = gan__vfma(un, gan__vset1(vn[q1 - 1]), acc[1][m]);
                }
        GAN__UNROLL
        for (q = 0; q < 2; q++) sum[q] = gan__vadd(gan__vadd(acc[q][0], acc[q][1]), gan__vadd(acc[q][2], acc[q][3]));
        for (q = q0; q < q1; q++) {
            gan__vstore(part, q == q0 ? sum[0] : sum[1]);
            for (l = 0; l < GAN__VL && p + l < p1; l++) {
                float *out = s + (size_t)(p + l) * sp + (size_t)q * sq;
                *out = (accumulate ? *out : 0.0f) + part[l];
            }
        }
    }
}

/* The sums over the batch are formed over rows [0, split) first, then rows [split, B) are
   added, as two backward passes over those rows would form them (split = B: one pass). The
   gemm's sums run in row order either way, so one pass over all rows gives the same bits as
   two; the narrow kernels and db keep four partial sums, so they make two passes. */
static void gan__dense_backward_params_fast(float *dW, float *db, const float *dy, const float *x, int B, int split,
                                            int I, int O, int o0, int o1, int accumulate)
{
    int n, m, o, r0, r1;
    /* dW (I, O) += A dy with A[i][n] = x[n][i]: rows of A are columns of x. */
    if (O > 2 && I > 2) gan__gemm(dW, (size_t)O, x, 1, (size_t)I, dy, (size_t)O, NULL, accumulate, I, B, o0, o1, 1);
    for (r0 = 0; r0 < B; r0 = r1) {
        const int rows = (r1 = r0 < split ? split : B) - r0, add = accumulate || r0 > 0;
        const float *dyr = dy + (size_t)r0 * O, *xr = x + (size_t)r0 * I;
        if (O <= 2) gan__dW_narrow(dW, (size_t)O, 1, xr, (size_t)I, 0, I, dyr, (size_t)O, o0, o1, rows, add);
        else if (I <= 2) gan__dW_narrow(dW, 1, (size_t)O, dyr, (size_t)O, o0, o1, xr, (size_t)I, 0, I, rows, add);
        /* db[o] += sum_n dy[n][o], as four partial sums over n mod 4 (four chains of additions).
           Without accumulate, every output starts from 0, as if gan_model_zero_grad had run. */
        for (o = o0; o < o1; o += GAN__VL) {
            gan__vec s[4];
            GAN__UNROLL
            for (m = 0; m < 4; m++) s[m] = gan__vzero();
            for (n = 0; n < rows; n += 4)
                GAN__UNROLL
                for (m = 0; m < 4; m++)
                    if (n + m < rows) s[m] = gan__vadd(s[m], gan__vload_part(dyr + (size_t)(n + m) * O + o, o1 - o));
            gan__vstore_part(db + o, gan__vadd(add ? gan__vload_part(db + o, o1 - o) : gan__vzero(),
                                               gan__vadd(gan__vadd(s[0], s[1]), gan__vadd(s[2], s[3]))), o1 - o);
        }
    }
}

/* tanh on the fast path (the reference is tanhf). tanh is odd; with a = |x|, tanh(a) is
     below = a + a^3 P(a^2)          for a <= 0.625, P of degree 4
     above = 1 - 2 / (exp(2a) + 1)   for a > 0.625 (no cancellation: tanh(a) > 0.55 there)
   with exp(t) = 2^n exp(r), n = round(t / ln2), r = t - n ln2 in two steps (ln2 = C1 + C2, C1
   short enough that n C1 is exact), |r| <= ln2 / 2, exp(r) = 1 + r + r^2 Q(r), Q of degree 5.
   P and Q are Cephes's tanhf and expf (S. L. Moshier, "Methods and Programs for Mathematical
   Functions", 1989). tanh(a) rounds to 1 in float from a = 9.02 on, so exp sees at most
   2 * 9.5 and cannot overflow; that clamp turns a NaN into 9.5, but the last select then
   takes the polynomial, which keeps the NaN. Over all floats the worst error is 1.33 ulp
   (tests/test_kernels.c). gan__vexp is that exp, for -87 <= t <= 88 (callers clamp t) so
   that 2^n stays a normal float; the logistic sigmoid of the BCE gradient below uses it too. */
static inline gan__vec gan__vexp(gan__vec t)
{
    const gan__vec n = gan__vround(gan__vmul(t, gan__vset1(1.44269504088896341f)));       /* t / ln2 */
    const gan__vec r = gan__vfma(n, gan__vset1(2.12194440e-4f),                            /* - n C2 */
                                 gan__vfma(n, gan__vset1(-0.693359375f), t));              /* t - n C1 */
    gan__vec q = gan__vset1(1.9875691500e-4f);
    q = gan__vfma(q, r, gan__vset1(1.3981999507e-3f));
    q = gan__vfma(q, r, gan__vset1(8.3334519073e-3f));
    q = gan__vfma(q, r, gan__vset1(4.1665795894e-2f));
    q = gan__vfma(q, r, gan__vset1(1.6666665459e-1f));
    q = gan__vfma(q, r, gan__vset1(5.0000001201e-1f));
    return gan__vmul(gan__vadd(gan__vfma(q, gan__vmul(r, r), r), gan__vset1(1.0f)), gan__vpow2(n));
}

static inline gan__vec gan__vtanh(gan__vec x)
{
    const gan__vec one = gan__vset1(1.0f), a = gan__vabs(x), a2 = gan__vmul(a, a), a_max = gan__vset1(9.5f);
    const gan__vec t = gan__vmul(gan__vset1(2.0f), gan__vselect_lt(a, a_max, a, a_max));   /* 2 min(a, 9.5) */
    gan__vec p = gan__vset1(-5.70498872745e-3f), below, above;
    p = gan__vfma(p, a2, gan__vset1(2.06390887954e-2f));
    p = gan__vfma(p, a2, gan__vset1(-5.37397155531e-2f));
    p = gan__vfma(p, a2, gan__vset1(1.33314422036e-1f));
    p = gan__vfma(p, a2, gan__vset1(-3.33332819422e-1f));
    below = gan__vfma(gan__vmul(p, a2), a, a);
    above = gan__vsub(one, gan__vdiv(gan__vset1(2.0f), gan__vadd(gan__vexp(t), one)));
    return gan__vcopysign(gan__vselect_lt(gan__vset1(0.625f), a, above, below), x);
}

static void gan__tanh_fast(float *y, const float *x, size_t n)
{
    size_t k;
    for (k = 0; k + GAN__VL <= n; k += GAN__VL) gan__vstore(y + k, gan__vtanh(gan__vload(x + k)));
    if (k < n) gan__vstore_part(y + k, gan__vtanh(gan__vload_part(x + k, (int)(n - k))), (int)(n - k));
}

/* The BCE gradient alone, as gan__bce computes it (the reference): with e = exp(-|l|),
     grad = scale * (sigmoid(l) - t) / n,   sigmoid(l) = 1 / (1 + e) for l >= 0, e / (1 + e) else,
   with -|l| clamped at -87 (e >= 1.6e-38 instead of a denormal: sigmoid differs from the
   reference by less than 1e-37 there). Returns the sum of 0 * l, which is 0 for finite logits
   and NaN otherwise, as gan__bce does without want_value. */
static float gan__vbce_grad(const float *logit, int n, float t, float scale, float *grad)
{
    const gan__vec one = gan__vset1(1.0f), lowest = gan__vset1(-87.0f), zero = gan__vzero();
    gan__vec finite = zero;
    float sums[GAN__VL];
    int i, k;
    for (i = 0; i < n; i += GAN__VL) {
        const int lanes = n - i;        /* gan__vload_part and gan__vstore_part use min(lanes, VL) */
        const gan__vec l = gan__vload_part(logit + i, lanes), minus_a = gan__vsub(zero, gan__vabs(l));
        const gan__vec e = gan__vexp(gan__vselect_lt(minus_a, lowest, lowest, minus_a));
        const gan__vec p = gan__vselect_lt(l, zero, gan__vdiv(e, gan__vadd(one, e)), gan__vdiv(one, gan__vadd(one, e)));
        const gan__vec dl = gan__vsub(p, gan__vset1(t));
        gan__vstore_part(grad + i, gan__vdiv(gan__vmul(gan__vset1(scale), dl), gan__vset1((float)n)), lanes);
        finite = gan__vadd(finite, gan__vmul(zero, l));
    }
    gan__vstore(sums, finite);
    for (k = 1; k < GAN__VL; k++) sums[0] += sums[k];
    return sums[0];
}
#endif /* GAN_NO_SIMD */

/* Work shared among threads. A job is cut into `parts` slices of its outputs; run(job, part,
   parts) computes one slice. Under GAN_THREADS the model's threads take the parts (see the
   pool below); otherwise the caller runs the whole job as one part. Each output is computed
   whole by one part, in the same order as without the cut, so any cut gives the same bits. */
typedef void (*gan__part_fn)(const void *job, int part, int parts);

/* [lo, hi): slice `part` of `parts` of n items, cut at multiples of `unit`. The slices
   shrink: with P parts, part p holds a share P - p of P (P + 1) / 2, so the first part is P
   times the last. Parts are taken in order, so the large ones go first and the threads end
   on small ones, and finish close together whoever started late. Slice p starts after
   p P - p (p - 1) / 2 = p (2P + 1 - p) / 2 shares. */
static size_t gan__slice_start(size_t n, size_t unit, int part, int parts)
{
    const uint64_t p = (uint64_t)part, P = (uint64_t)parts, units = ((uint64_t)n + unit - 1) / unit;
    const uint64_t start = units * (p * (2 * P + 1 - p) / 2) / (P * (P + 1) / 2) * unit;
    return start < n ? (size_t)start : n;
}

static void gan__slice(size_t n, size_t unit, int part, int parts, size_t *lo, size_t *hi)
{
    *lo = gan__slice_start(n, unit, part, parts);
    *hi = gan__slice_start(n, unit, part + 1, parts);
}

/* The dense layer as the model runs it: the reference loops under GAN_NO_SIMD, else the fast
   kernels, under GAN_THREADS split by output columns across the model's threads. */
enum { GAN__FORWARD, GAN__INPUT_GRAD, GAN__PARAM_GRAD };

typedef struct gan__dense_job {
    int product;                /* GAN__FORWARD, GAN__INPUT_GRAD or GAN__PARAM_GRAD */
    int B, I, O;
    int accumulate;             /* GAN__PARAM_GRAD: add to dW and db (else overwrite them) */
    int split;                  /* GAN__PARAM_GRAD: sum rows [0, split) first (see the fast kernel) */
    float *y, *dx, *dW, *db;    /* outputs: y (B, O); dx (B, I); dW (I, O), db (O) */
    const float *x, *dy, *W, *b;
    const float *dyT;           /* GAN__INPUT_GRAD: dy packed by gan__pack_transposed, if gan__dx_packed */
} gan__dense_job;

/* Part `part` of `parts` of a job: a slice of the output columns, cut at tile boundaries. */
static void gan__dense_part(const void *job, int part, int parts)
{
    const gan__dense_job *j = (const gan__dense_job *)job;
#ifdef GAN_NO_SIMD
    (void)part; (void)parts;
    if (j->product == GAN__FORWARD) gan__dense_forward_ref(j->y, j->x, j->W, j->b, j->B, j->I, j->O);
    if (j->product == GAN__INPUT_GRAD) gan__dense_backward_input_ref(j->dx, j->dy, j->W, j->B, j->I, j->O);
    if (j->product == GAN__PARAM_GRAD)
        gan__dense_backward_params_ref(j->dW, j->db, j->dy, j->x, j->B, j->I, j->O, j->accumulate);
#else
    const int input_grad = j->product == GAN__INPUT_GRAD;
    size_t lo, hi;
    gan__slice((size_t)(input_grad ? j->I : j->O), input_grad ? GAN__XR : GAN__NR, part, parts, &lo, &hi);
    if (lo >= hi) return;
    if (j->product == GAN__FORWARD)
        gan__dense_forward_fast(j->y, j->x, j->W, j->b, j->B, j->I, j->O, (int)lo, (int)hi);
    if (input_grad) gan__dense_backward_input_fast(j->dx, j->dy, j->dyT, j->W, j->B, j->I, j->O, (int)lo, (int)hi);
    if (j->product == GAN__PARAM_GRAD)
        gan__dense_backward_params_fast(j->dW, j->db, j->dy, j->x, j->B, j->split, j->I, j->O, (int)lo, (int)hi,
                                        j->accumulate);
#endif
}

#ifdef GAN__THREADED
/* A pool of worker threads, owned by one model or shared by a trainer's two. A job is cut into
   parts (a few per thread, largest first: gan__slice); the caller and the workers take parts
   in turn until none is left, and the caller waits only for parts already taken. A worker the
   system has not scheduled yet therefore never holds the caller up: on a busy machine the
   caller simply does more of the parts itself. Workers sleep on a condition variable between
   jobs, but first poll for a new one for a while (GAN__POLLS), as the caller does before it
   sleeps waiting for the last parts: a training step hands out a job every 0.1-1 ms, and a
   sleeping thread took 30-40 us to wake on the machine of the README, where a job at batch 256
   takes 0.7 ms. Polling for 0.6 ms instead of 0.13 ms was faster there, as some jobs come more
   than 0.13 ms apart; 2 ms was no faster than 0.6. */
#define GAN__MAX_THREADS 64
#define GAN__MIN_THREAD_FLOPS (1 << 21)    /* smaller products are not worth waking a thread */
#define GAN__MIN_THREAD_FLOATS (1 << 18)   /* nor passes that move fewer floats (1 MB) */
#define GAN__PARTS_PER_THREAD 4
#define GAN__POLLS 1000                    /* polls before sleeping: about 0.6 ms */

typedef struct gan__worker {
    struct gan__pool *pool;
    pthread_t thread;
} gan__worker;

typedef struct gan__pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    gan__worker workers[GAN__MAX_THREADS - 1];
    int n_workers;              /* threads started besides the caller */
    int users;                  /* models that share the pool; the last one frees it */
    int busy;                   /* a caller is running a job */
    unsigned long job;          /* counts jobs handed out */
    gan__part_fn run;           /* the current job: run(job, part, parts) for each part */
    const void *current;
    int parts, next_part;       /* the current job's parts, and the next one nobody has taken */
    int running;                /* parts taken and not finished */
    int quit;
} gan__pool;

/* Takes and runs parts of the current job until none is left; called with the lock held. */
static void gan__pool_work(gan__pool *pool)
{
    while (pool->next_part < pool->parts) {
        const gan__part_fn run = pool->run;
        const void *j = pool->current;
        const int part = pool->next_part++, parts = pool->parts;
        pool->running++;
        pthread_mutex_unlock(&pool->lock);
        run(j, part, parts);
        pthread_mutex_lock(&pool->lock);
        if (--pool->running == 0 && pool->next_part == pool->parts) pthread_cond_signal(&pool->done);
    }
}

static int gan__new_job(const gan__pool *pool, unsigned long seen) { return pool->quit || pool->job != seen; }
static int gan__parts_done(const gan__pool *pool, unsigned long unused) { (void)unused; return pool->running == 0; }

/* Called with the lock held: polls ready(pool, seen) up to GAN__POLLS times, letting the
   lock go between polls and yielding the processor, so that a polling thread holds up no
   other that could run there (another pool's workers, say). */
static void gan__poll(gan__pool *pool, int (*ready)(const gan__pool *, unsigned long), unsigned long seen)
{
    int poll;
    for (poll = 0; poll < GAN__POLLS && !ready(pool, seen); poll++) {
        pthread_mutex_unlock(&pool->lock);
        sched_yield();
        pthread_mutex_lock(&pool->lock);
    }
}

static void *gan__worker_main(void *arg)
{
    gan__worker *w = (gan__worker *)arg;
    gan__pool *pool = w->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        gan__poll(pool, gan__new_job, seen);
        while (!gan__new_job(pool, seen)) pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->quit) break;
        seen = pool->job;
        gan__pool_work(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

/* Starts one thread per online processor, besides the caller, at most GAN__MAX_THREADS in all.
   If the system refuses a thread the pool keeps the ones it has. */
static gan__pool *gan__pool_new(gan_error *err)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int i;
    gan__pool *pool = (gan__pool *)gan__alloc(sizeof *pool, err, "thread pool");
    if (!pool) return NULL;
    memset(pool, 0, sizeof *pool);
    if (cpus < 1) cpus = 1;
    if (cpus > GAN__MAX_THREADS) cpus = GAN__MAX_THREADS;
    if (pthread_mutex_init(&pool->lock, NULL)) { GAN_FREE(pool); gan__fail(err, GAN_ERR_MEMORY, "thread pool: no mutex"); return NULL; }
    if (pthread_cond_init(&pool->wake, NULL) || pthread_cond_init(&pool->done, NULL)) {
        pthread_mutex_destroy(&pool->lock);
        GAN_FREE(pool);
        gan__fail(err, GAN_ERR_MEMORY, "thread pool: no condition variable");
        return NULL;
    }
    for (i = 0; i < cpus - 1; i++) {
        gan__worker *w = &pool->workers[i];
        w->pool = pool;
        if (pthread_create(&w->thread, NULL, gan__worker_main, w)) break;
        pool->n_workers++;
    }
    pool->users = 1;
    return pool;
}

static int gan__pool_threads(const gan__pool *pool) { return pool->n_workers + 1; }

/* A model lets go of its pool; the last model to do so stops the threads and frees it. */
static void gan__pool_release(gan__pool *pool)
{
    int i;
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    if (--pool->users > 0) { pthread_mutex_unlock(&pool->lock); return; }
    pool->quit = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (i = 0; i < pool->n_workers; i++) pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    GAN_FREE(pool);
}

/* Model m gives up its own pool and shares `with`'s (a trainer's G and D: two pools would
   keep twice as many threads as processors, and the idle pool's pollers take turns on the
   processors with the busy pool's threads). */
static void gan__pool_share(gan_model *m, gan_model *with)
{
    if (m->pool == with->pool) return;
    gan__pool_release(m->pool);
    pthread_mutex_lock(&with->pool->lock);
    with->pool->users++;
    pthread_mutex_unlock(&with->pool->lock);
    m->pool = with->pool;
    if (m->n_threads > gan__pool_threads(m->pool)) m->n_threads = gan__pool_threads(m->pool);
}

/* Runs the job's parts on the pool's threads and the caller's, or on the caller's alone if
   another caller has the pool (models that share it, used from two threads at once). */
static void gan__pool_run(gan__pool *pool, gan__part_fn run, const void *j, int parts)
{
    int part;
    pthread_mutex_lock(&pool->lock);
    if (pool->busy) {
        pthread_mutex_unlock(&pool->lock);
        for (part = 0; part < parts; part++) run(j, part, parts);
        return;
    }
    pool->busy = 1;
    pool->run = run;
    pool->current = j;
    pool->parts = parts;
    pool->next_part = 0;
    pool->job++;
    pthread_cond_broadcast(&pool->wake);
    gan__pool_work(pool);
    gan__poll(pool, gan__parts_done, 0);
    while (!gan__parts_done(pool, 0)) pthread_cond_wait(&pool->done, &pool->lock);
    pool->busy = 0;
    pthread_mutex_unlock(&pool->lock);
}
#endif

/* Runs a job in `parts` parts on the model's threads under GAN_THREADS, else here as one part. */
static void gan__share(gan_model *m, gan__part_fn run, const void *job, int parts)
{
#ifdef GAN__THREADED
    if (parts > 1 && m->n_threads > 1) { gan__pool_run(m->pool, run, job, parts); return; }
#else
    (void)m; (void)parts;
#endif
    run(job, 0, 1);
}

/* Parts for a memory-bound pass that moves `floats` floats: a few per thread when it is big
   enough to be worth it. */
static int gan__stream_parts(const gan_model *m, double floats)
{
#ifdef GAN__THREADED
    return floats >= GAN__MIN_THREAD_FLOATS ? GAN__PARTS_PER_THREAD * m->n_threads : 1;
#else
    (void)m; (void)floats;
    return 1;
#endif
}

static void gan__dense(gan_model *m, const gan__dense_job *j)
{
    int parts = 1;
#ifdef GAN__THREADED
    const int tile = j->product == GAN__INPUT_GRAD ? GAN__XR : GAN__NR;
    const int tiles = ((j->product == GAN__INPUT_GRAD ? j->I : j->O) + tile - 1) / tile;
    const int most = GAN__PARTS_PER_THREAD * m->n_threads;
    if (2.0 * j->B * j->I * j->O >= GAN__MIN_THREAD_FLOPS) parts = tiles < most ? tiles : most;
#endif
    gan__share(m, gan__dense_part, j, parts);
}

int gan_model_set_threads(gan_model *m, int n_threads)
{
#ifdef GAN__THREADED
    const int most = gan__pool_threads(m->pool);
    m->n_threads = n_threads < 1 ? 1 : n_threads > most ? most : n_threads;
    return m->n_threads;
#else
    (void)m; (void)n_threads;
    return 1;
#endif
}

static void gan__dense_forward(gan_model *m, float *y, const float *x, const float *W, const float *b,
                               int B, int I, int O)
{
    gan__dense_job j;
    memset(&j, 0, sizeof j);
    j.product = GAN__FORWARD; j.B = B; j.I = I; j.O = O;
    j.y = y; j.x = x; j.W = W; j.b = b;
    gan__dense(m, &j);
}

#ifndef GAN_NO_SIMD
/* Packing dy for the dx tiles, shared out by columns of dy. */
typedef struct gan__pack_job {
    float *dyT;
    const float *dy;
    int B, O;
} gan__pack_job;

static void gan__pack_part(const void *job, int part, int parts)
{
    const gan__pack_job *j = (const gan__pack_job *)job;
    size_t lo, hi;
    gan__slice((size_t)j->O, 16, part, parts, &lo, &hi);
    if (lo < hi) gan__pack_transposed(j->dyT, j->dy, j->B, j->O, (int)lo, (int)hi);
}
#endif

/* The fast dx tiles take dy packed into the model's dx_pack, max_batch rows at a time (the
   trainer's joint pass through D brings three batches): the threads share out the packing,
   then the tiles. */
static void gan__dense_backward_input(gan_model *m, float *dx, const float *dy, const float *W, int B, int I, int O)
{
    gan__dense_job j;
    int n = 0;
    memset(&j, 0, sizeof j);
    j.product = GAN__INPUT_GRAD; j.B = B; j.I = I; j.O = O;
    j.dx = dx; j.dy = dy; j.W = W;
#ifndef GAN_NO_SIMD
    if (gan__dx_packed(I, O))
        for (; n < B; n += m->max_batch) {
            gan__pack_job p;
            j.B = B - n < m->max_batch ? B - n : m->max_batch;
            j.dx = dx + (size_t)n * I; j.dy = dy + (size_t)n * O; j.dyT = m->dx_pack;
            p.dyT = m->dx_pack; p.dy = j.dy; p.B = j.B; p.O = O;
            gan__share(m, gan__pack_part, &p, gan__stream_parts(m, 2.0 * j.B * O));
            gan__dense(m, &j);
        }
#endif
    if (n == 0) gan__dense(m, &j);
}

static void gan__dense_backward_params(gan_model *m, float *dW, float *db, const float *dy, const float *x,
                                       int B, int split, int I, int O, int accumulate)
{
    gan__dense_job j;
    memset(&j, 0, sizeof j);
    j.product = GAN__PARAM_GRAD; j.B = B; j.split = split; j.I = I; j.O = O; j.accumulate = accumulate;
    j.dW = dW; j.db = db; j.dy = dy; j.x = x;
    gan__dense(m, &j);
}

/* Activations, elementwise: y = f(x); backward dx = dy * f'(x), with f' written through
   x or y, whichever is cheaper: tanh' = 1 - y^2, sigmoid' = y (1 - y). */
/* Elementwise loops run in blocks of 16 over restrict pointers: GCC vectorises such a block
   even at -O2, where it vectorises no loop that needs a scalar remainder or alias checks. */
#if defined(__cplusplus)
#define GAN__RESTRICT __restrict
#else
#define GAN__RESTRICT restrict
#endif
#define GAN__ELEMENTWISE(n, statement)                                                      \
    do {                                                                                    \
        size_t k0_ = 0, k;                                                                  \
        for (; k0_ + 16 <= (n); k0_ += 16) for (k = k0_; k < k0_ + 16; k++) { statement; }  \
        for (k = k0_; k < (n); k++) { statement; }                                          \
    } while (0)

static void gan__activation_forward(float *GAN__RESTRICT y, const float *GAN__RESTRICT x, size_t n, int act,
                                    float slope)
{
    switch (act) {
    case GAN_RELU:       GAN__ELEMENTWISE(n, y[k] = x[k] > 0 ? x[k] : 0); break;
    case GAN_LEAKY_RELU: GAN__ELEMENTWISE(n, y[k] = x[k] > 0 ? x[k] : slope * x[k]); break;
#ifdef GAN_NO_SIMD
    case GAN_TANH:       GAN__ELEMENTWISE(n, y[k] = tanhf(x[k])); break;
#else
    case GAN_TANH:       gan__tanh_fast(y, x, n); break;
#endif
    case GAN_SIGMOID:    GAN__ELEMENTWISE(n, y[k] = gan_sigmoid(x[k])); break;
    default:             memcpy(y, x, n * sizeof *y); break;
    }
}

/* dx must not overlap dy, x or y. */
static void gan__activation_backward(float *GAN__RESTRICT dx, const float *GAN__RESTRICT dy,
                                     const float *GAN__RESTRICT x, const float *GAN__RESTRICT y, size_t n,
                                     int act, float slope)
{
    switch (act) {
    case GAN_RELU:       GAN__ELEMENTWISE(n, dx[k] = x[k] > 0 ? dy[k] : 0); break;
    case GAN_LEAKY_RELU: GAN__ELEMENTWISE(n, dx[k] = x[k] > 0 ? dy[k] : slope * dy[k]); break;
    case GAN_TANH:       GAN__ELEMENTWISE(n, dx[k] = dy[k] * (1 - y[k] * y[k])); break;
    case GAN_SIGMOID:    GAN__ELEMENTWISE(n, dx[k] = dy[k] * y[k] * (1 - y[k])); break;
    default:             memcpy(dx, dy, n * sizeof *dx); break;
    }
}

/* An activation pass on the model's threads: each part takes a slice of the elements, cut at
   multiples of 16 so that every element meets the same vector or scalar code as in one pass.
   backward: dx = out, dy = in; forward: y = out, x = in. */
typedef struct gan__activation_job {
    int backward, act;
    float slope;
    float *out;
    const float *in, *x, *y;
    size_t n;
} gan__activation_job;

static void gan__activation_part(const void *job, int part, int parts)
{
    const gan__activation_job *j = (const gan__activation_job *)job;
    size_t lo, hi;
    gan__slice(j->n, 16, part, parts, &lo, &hi);
    if (lo >= hi) return;
    if (j->backward)
        gan__activation_backward(j->out + lo, j->in + lo, j->x + lo, j->y + lo, hi - lo, j->act, j->slope);
    else gan__activation_forward(j->out + lo, j->in + lo, hi - lo, j->act, j->slope);
}

static void gan__activation(gan_model *m, const gan__layer *L, int backward, float *out, const float *in,
                            const float *x, const float *y, size_t n)
{
    gan__activation_job j;
    j.backward = backward; j.act = L->spec.activation; j.slope = L->spec.slope;
    j.out = out; j.in = in; j.x = x; j.y = y; j.n = n;
    gan__share(m, gan__activation_part, &j, gan__stream_parts(m, (backward ? 3.0 : 2.0) * (double)n));
}

/* BatchNorm1d (Ioffe & Szegedy 2015), per feature j over the batch:
     training:  mu = mean(x), var = mean((x - mu)^2), x_hat = (x - mu) / sqrt(var + eps)
     inference: x_hat = (x - running_mean) / sqrt(running_var + eps)
   y = gamma * x_hat + beta
   In GAN_TRAIN mode the running statistics move toward the batch's, using the unbiased
   variance, as PyTorch does: running = (1 - momentum) running + momentum * batch.
   Both passes walk the batch row by row over a block of GAN__BN_BLOCK features at a time,
   so that memory is read in order; each feature sums its column in double, in batch order.
   The work on one row of a block is a GAN__ELEMENTWISE loop in a function of its own, whose
   restrict pointers let the compiler run it on vectors (8 doubles to an AVX-512 register):
   lanes are features, so vectors change no sum's order and every build gives the same bits. */
#define GAN__BN_BLOCK 256

/* s += x; ss += (x - mean)^2; over the n features of one row */
static void gan__bn_sum_row(double *GAN__RESTRICT s, const float *GAN__RESTRICT x, size_t n)
{
    GAN__ELEMENTWISE(n, s[k] += x[k]);
}

static void gan__bn_sum_sq_dev_row(double *GAN__RESTRICT ss, const float *GAN__RESTRICT x,
                                   const float *GAN__RESTRICT mean, size_t n)
{
    GAN__ELEMENTWISE(n, { const double d = x[k] - mean[k]; ss[k] += d * d; });
}

/* x_hat = (x - mean) * inv_std, y = gamma * x_hat + beta */
static void gan__bn_normalize_row(float *GAN__RESTRICT x_hat, float *GAN__RESTRICT y, const float *GAN__RESTRICT x,
                                  const float *GAN__RESTRICT mean, const float *GAN__RESTRICT inv_std,
                                  const float *GAN__RESTRICT gamma, const float *GAN__RESTRICT beta, size_t n)
{
    GAN__ELEMENTWISE(n, { x_hat[k] = (x[k] - mean[k]) * inv_std[k]; y[k] = gamma[k] * x_hat[k] + beta[k]; });
}

/* The forward pass of features [f0, f1). */
static void gan__batchnorm_forward(gan__layer *L, const float *x, int B, int mode, int f0, int f1)
{
    const int N = L->out;
    double s[GAN__BN_BLOCK], ss[GAN__BN_BLOCK];
    float mean[GAN__BN_BLOCK];
    int n, j, j0;
    for (j0 = f0; j0 < f1; j0 += GAN__BN_BLOCK) {
        const int nj = f1 - j0 < GAN__BN_BLOCK ? f1 - j0 : GAN__BN_BLOCK;
        if (mode == GAN_EVAL) {
            for (j = 0; j < nj; j++) {
                mean[j] = L->run_mean[j0 + j];
                L->inv_std[j0 + j] = 1.0f / sqrtf(L->run_var[j0 + j] + L->spec.eps);
            }
        } else {
            for (j = 0; j < nj; j++) s[j] = ss[j] = 0;
            for (n = 0; n < B; n++) gan__bn_sum_row(s, x + (size_t)n * N + j0, (size_t)nj);
            for (j = 0; j < nj; j++) mean[j] = (float)(s[j] / B);
            for (n = 0; n < B; n++) gan__bn_sum_sq_dev_row(ss, x + (size_t)n * N + j0, mean, (size_t)nj);
            for (j = 0; j < nj; j++) {
                const float var = (float)(ss[j] / B);
                if (mode == GAN_TRAIN) {
                    const float mom = L->spec.momentum;
                    L->run_mean[j0 + j] = (1 - mom) * L->run_mean[j0 + j] + mom * mean[j];
                    L->run_var[j0 + j] = (1 - mom) * L->run_var[j0 + j] + mom * (float)(ss[j] / (B - 1));
                }
                L->inv_std[j0 + j] = 1.0f / sqrtf(var + L->spec.eps);
            }
        }
        for (n = 0; n < B; n++) {
            const size_t row = (size_t)n * N + j0;
            gan__bn_normalize_row(L->cache + row, L->y + row, x + row, mean, L->inv_std + j0, L->W + j0, L->b + j0,
                                  (size_t)nj);
        }
    }
}

/* Backward of BatchNorm with g = dy * gamma:
     training:  dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat))   (mu and var depend on x)
     inference: dx = inv_std * g                  (the same with both means taken as 0)
   and dgamma += sum(dy * x_hat), dbeta += sum(dy). */
static void gan__bn_grad_sums_row(double *GAN__RESTRICT sum_dy, double *GAN__RESTRICT sum_dy_xh,
                                  const float *GAN__RESTRICT dy, const float *GAN__RESTRICT x_hat, size_t n)
{
    GAN__ELEMENTWISE(n, { sum_dy[k] += dy[k]; sum_dy_xh[k] += (double)dy[k] * x_hat[k]; });
}

static void gan__bn_input_grad_row(float *GAN__RESTRICT dx, const float *GAN__RESTRICT dy,
                                   const float *GAN__RESTRICT x_hat, const float *GAN__RESTRICT gamma,
                                   const float *GAN__RESTRICT inv_std, const float *GAN__RESTRICT mean_g,
                                   const float *GAN__RESTRICT mean_g_xh, size_t n)
{
    GAN__ELEMENTWISE(n, dx[k] = inv_std[k] * (gamma[k] * dy[k] - mean_g[k] - x_hat[k] * mean_g_xh[k]));
}

/* The backward pass of features [f0, f1). */
static void gan__batchnorm_backward(gan__layer *L, float *dx, const float *dy, int B, int mode, int param_grads,
                                    int f0, int f1)
{
    const int N = L->out;
    double sum_dy[GAN__BN_BLOCK], sum_dy_xh[GAN__BN_BLOCK];
    float mean_g[GAN__BN_BLOCK], mean_g_xh[GAN__BN_BLOCK];
    int n, j, j0;
    for (j0 = f0; j0 < f1; j0 += GAN__BN_BLOCK) {
        const int nj = f1 - j0 < GAN__BN_BLOCK ? f1 - j0 : GAN__BN_BLOCK;
        for (j = 0; j < nj; j++) sum_dy[j] = sum_dy_xh[j] = 0;
        for (n = 0; n < B; n++) {
            const size_t row = (size_t)n * N + j0;
            gan__bn_grad_sums_row(sum_dy, sum_dy_xh, dy + row, L->cache + row, (size_t)nj);
        }
        if (param_grads)
            for (j = 0; j < nj; j++) { L->dW[j0 + j] += (float)sum_dy_xh[j]; L->db[j0 + j] += (float)sum_dy[j]; }
        if (!dx) continue;
        for (j = 0; j < nj; j++) {
            const float gamma = L->W[j0 + j];
            mean_g[j] = mode == GAN_EVAL ? 0 : (float)(gamma * sum_dy[j] / B);
            mean_g_xh[j] = mode == GAN_EVAL ? 0 : (float)(gamma * sum_dy_xh[j] / B);
        }
        for (n = 0; n < B; n++) {
            const size_t row = (size_t)n * N + j0;
            gan__bn_input_grad_row(dx + row, dy + row, L->cache + row, L->W + j0, L->inv_std + j0, mean_g, mean_g_xh,
                                   (size_t)nj);
        }
    }
}

/* BatchNorm on the model's threads: each part takes a slice of the features, all of its
   statistics included. */
typedef struct gan__batchnorm_job {
    gan__layer *L;
    int backward, B, mode, param_grads;
    float *dx;
    const float *x, *dy;
} gan__batchnorm_job;

static void gan__batchnorm_part(const void *job, int part, int parts)
{
    const gan__batchnorm_job *j = (const gan__batchnorm_job *)job;
    size_t lo, hi;
    gan__slice((size_t)j->L->out, 16, part, parts, &lo, &hi);
    if (lo >= hi) return;
    if (j->backward) gan__batchnorm_backward(j->L, j->dx, j->dy, j->B, j->mode, j->param_grads, (int)lo, (int)hi);
    else gan__batchnorm_forward(j->L, j->x, j->B, j->mode, (int)lo, (int)hi);
}

static void gan__batchnorm(gan_model *m, gan__layer *L, int backward, const float *x, float *dx, const float *dy,
                           int B, int mode, int param_grads)
{
    gan__batchnorm_job j;
    j.L = L; j.backward = backward; j.B = B; j.mode = mode; j.param_grads = param_grads;
    j.dx = dx; j.x = x; j.dy = dy;
    gan__share(m, gan__batchnorm_part, &j, gan__stream_parts(m, 4.0 * B * L->out));
}

/* Inverted dropout: keep each unit with probability 1 - rate and scale it by 1 / (1 - rate),
   so that inference needs no rescaling. The mask holds 0 or 1 / (1 - rate). */
static void gan__dropout_forward(gan__layer *L, const float *x, size_t n, int mode, gan_rng *rng)
{
    size_t k;
    const float rate = L->spec.rate, keep_scale = 1.0f / (1.0f - rate);
    if (mode == GAN_EVAL || rate == 0) {
        for (k = 0; k < n; k++) L->cache[k] = 1;
        memcpy(L->y, x, n * sizeof *x);
        return;
    }
    for (k = 0; k < n; k++) {
        L->cache[k] = gan_rng_uniform(rng) >= rate ? keep_scale : 0;
        L->y[k] = x[k] * L->cache[k];
    }
}

const float *gan_model_forward(gan_model *m, const float *x, int batch, int mode, gan_rng *rng, gan_error *err)
{
    int i;
    const float *in = x;
    if (!x) { gan__fail(err, GAN_ERR_ARGUMENT, "forward: x is NULL"); return NULL; }
    if (batch < 1 || batch > m->max_batch) {
        gan__fail(err, GAN_ERR_ARGUMENT, "forward: batch %d out of range [1, %d]", batch, m->max_batch);
        return NULL;
    }
    if (mode != GAN_EVAL && mode != GAN_TRAIN && mode != GAN_TRAIN_FROZEN) {
        gan__fail(err, GAN_ERR_ARGUMENT, "forward: unknown mode %d", mode);
        return NULL;
    }
    if (!rng) rng = &m->rng;
    for (i = 0; i < m->n_layers; i++) {
        gan__layer *L = &m->layers[i];
        const size_t n = (size_t)batch * L->out;
        switch (L->spec.kind) {
        case GAN_DENSE:
            gan__dense_forward(m, L->y, in, L->W, L->b, batch, L->in, L->out);
            break;
        case GAN_ACTIVATION:
            gan__activation(m, L, 0, L->y, in, in, L->y, n);
            break;
        case GAN_BATCHNORM:
            if (mode != GAN_EVAL && batch < 2) {
                m->batch = 0;
                gan__fail(err, GAN_ERR_ARGUMENT, "forward: batchnorm (layer %d) needs a batch of at least 2 "
                          "in training mode", i);
                return NULL;
            }
            gan__batchnorm(m, L, 0, in, NULL, NULL, batch, mode, 0);
            break;
        case GAN_DROPOUT:
            gan__dropout_forward(L, in, n, mode, rng);
            break;
        }
        in = L->y;
    }
    m->input = x;
    m->batch = batch;
    m->mode = mode;
    return in;
}

int gan_model_backward(gan_model *m, const float *dy, float *dx, int flags, gan_error *err)
{
    int i;
    const int B = m->batch, param_grads = flags & GAN_GRAD_PARAMS;
    const int accumulate = !(flags & GAN_GRAD_OVERWRITE);
    const float *grad_out = dy;
    if (B == 0) return gan__fail(err, GAN_ERR_ARGUMENT, "backward: no forward pass to go back through");
    if (!dy) return gan__fail(err, GAN_ERR_ARGUMENT, "backward: dy is NULL");
    for (i = m->n_layers - 1; i >= 0; i--) {
        gan__layer *L = &m->layers[i];
        const float *x = i > 0 ? m->layers[i - 1].y : m->input;
        /* The input gradient goes to the caller at layer 0, else to the free scratch buffer.
           Layer 0 skips it when nobody asked: D's first layer in the D step. */
        float *grad_in = i > 0 ? m->scratch[i & 1] : dx;
        const size_t n = (size_t)B * L->out;
        switch (L->spec.kind) {
        case GAN_DENSE:
            if (param_grads) gan__dense_backward_params(m, L->dW, L->db, grad_out, x, B, B, L->in, L->out, accumulate);
            if (grad_in) gan__dense_backward_input(m, grad_in, grad_out, L->W, B, L->in, L->out);
            break;
        case GAN_ACTIVATION:
            if (grad_in) gan__activation(m, L, 1, grad_in, grad_out, x, L->y, n);
            break;
        case GAN_BATCHNORM:
            if (param_grads && !accumulate) {   /* 2 floats per feature: zeroing them costs nothing */
                memset(L->dW, 0, sizeof(float) * (size_t)L->out);
                memset(L->db, 0, sizeof(float) * (size_t)L->out);
            }
            gan__batchnorm(m, L, 1, NULL, grad_in, grad_out, B, m->mode, param_grads);
            break;
        case GAN_DROPOUT:
            if (grad_in) { size_t k; for (k = 0; k < n; k++) grad_in[k] = grad_out[k] * L->cache[k]; }
            break;
        }
        grad_out = grad_in;
    }
    gan__ok(err);
    return GAN_OK;
}

void gan_model_zero_grad(gan_model *m)
{
    if (m->n_params) memset(m->grads, 0, sizeof(float) * m->n_params);
}

int    gan_model_input_dim(const gan_model *m)  { return m->input_dim; }
int    gan_model_output_dim(const gan_model *m) { return m->output_dim; }
int    gan_model_max_batch(const gan_model *m)  { return m->max_batch; }
size_t gan_model_num_params(const gan_model *m) { return m->n_params; }
float *gan_model_params(gan_model *m)           { return m->params; }
float *gan_model_grads(gan_model *m)            { return m->grads; }

const float *gan_model_layer_output(const gan_model *m, int i, int *width)
{
    if (i < 0 || i >= m->n_layers) return NULL;
    if (width) *width = m->layers[i].out;
    return m->layers[i].y;
}

void gan_model_clip(gan_model *m, float c)
{
    size_t k;
    for (k = 0; k < m->n_params; k++) {
        if (m->params[k] > c) m->params[k] = c;
        else if (m->params[k] < -c) m->params[k] = -c;
    }
}

/* ---- 3. losses --------------------------------------------------------------------- */

/* softplus(x) = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow for large |x|. */
float gan_softplus(float x)
{
    return (x > 0 ? x : 0) + log1pf(expf(-fabsf(x)));
}

/* sigmoid(x) = 1 / (1 + e^-x), computed through e^-|x| so that it never overflows. */
float gan_sigmoid(float x)
{
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    else { const float e = expf(x); return e / (1.0f + e); }
}

/* Binary cross-entropy of label t against p = sigmoid(l), from the logit:
     -t log p - (1 - t) log(1 - p) = softplus(l) - t l,   d/dl = sigmoid(l) - t.
   The gradient needs no logarithm. When the caller wants only the gradient (want_value 0) the
   returned "value" is 0 * l: 0 for a finite logit and NaN otherwise, so that a sum of them
   still tells a finite batch from one that is not. */
static float gan__bce(float l, float t, float *dl, int want_value)
{
    const float e = expf(-fabsf(l));    /* shared by sigmoid and softplus, as they compute it */
    *dl = (l >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e)) - t;
    return want_value ? (l > 0 ? l : 0) + log1pf(e) - t * l : 0 * l;
}

/* The trainer runs many updates for each loss it reports (the quadratic demo: 20 per
   iteration), and log1p is most of a small model's loss work: gan__loss_d and gan__loss_g
   skip the BCE logarithms unless want_value; the mean they return then serves only the
   finiteness check (0 after finite logits, NaN after any other). */
static float gan__loss_d(int loss, const float *logit, int n, int real, float target, float scale, float *grad,
                         int want_value)
{
    double sum = 0;
    int i;
#ifndef GAN_NO_SIMD
    /* The fast path writes the BCE gradient with gan__vbce_grad, whether or not the value is
       wanted, so that an update computes the same gradient whether its loss is reported or
       not; the loop below then computes the values alone. */
    if (grad && (loss == GAN_LOSS_NONSATURATING || loss == GAN_LOSS_MINIMAX || loss == GAN_LOSS_BOUNDARY_SEEKING)) {
        const float check = gan__vbce_grad(logit, n, real ? target : 0, scale, grad) / (float)n;
        if (!want_value) return check;
        grad = NULL;
    }
#endif
    for (i = 0; i < n; i++) {
        const float l = logit[i];
        float value, dl;
        switch (loss) {
        case GAN_LOSS_WASSERSTEIN:      /* the critic maximises D(x) - D(G(z)) */
            value = real ? -l : l;
            dl = real ? -1.0f : 1.0f;
            break;
        case GAN_LOSS_HINGE:            /* relu(1 - D(x)) and relu(1 + D(G(z))) */
            if (real) { value = l < 1 ? 1 - l : 0; dl = l < 1 ? -1.0f : 0; }
            else      { value = l > -1 ? 1 + l : 0; dl = l > -1 ? 1.0f : 0; }
            break;
        case GAN_LOSS_LEAST_SQUARES: {  /* (D(x) - target)^2 and D(G(z))^2 */
            const float d = l - (real ? target : 0);
            value = d * d;
            dl = 2 * d;
            break;
        }
        default:                        /* the BCE-based losses */
            value = gan__bce(l, real ? target : 0, &dl, want_value);
            break;
        }
        sum += value;
        if (grad) grad[i] = scale * dl / (float)n;
    }
    return (float)(sum / n);
}

float gan_loss_d(int loss, const float *logit, int n, int real, float target, float scale, float *grad)
{
    return gan__loss_d(loss, logit, n, real, target, scale, grad, 1);
}

static float gan__loss_g(int loss, const float *logit, int n, float scale, float *grad, int want_value)
{
    double sum = 0;
    int i;
#ifndef GAN_NO_SIMD
    if (grad && loss == GAN_LOSS_NONSATURATING) {   /* as in gan__loss_d */
        const float check = gan__vbce_grad(logit, n, 1, scale, grad) / (float)n;
        if (!want_value) return check;
        grad = NULL;
    }
#endif
    for (i = 0; i < n; i++) {
        const float l = logit[i];
        float value, dl;
        switch (loss) {
        case GAN_LOSS_MINIMAX:          /* log(1 - D) = -softplus(l);  d/dl = -sigmoid(l) */
            value = want_value ? -gan_softplus(l) : 0 * l;
            dl = -gan_sigmoid(l);
            break;
        case GAN_LOSS_WASSERSTEIN:
        case GAN_LOSS_HINGE:            /* -D(G(z)) */
            value = -l;
            dl = -1.0f;
            break;
        case GAN_LOSS_LEAST_SQUARES:    /* (D(G(z)) - 1)^2 */
            value = (l - 1) * (l - 1);
            dl = 2 * (l - 1);
            break;
        case GAN_LOSS_BOUNDARY_SEEKING: /* 0.5 (log D - log(1 - D))^2 = 0.5 l^2 */
            value = 0.5f * l * l;
            dl = l;
            break;
        default:                        /* -log D = softplus(-l) = BCE(l, 1) */
            value = gan__bce(l, 1, &dl, want_value);
            break;
        }
        sum += value;
        if (grad) grad[i] = scale * dl / (float)n;
    }
    return (float)(sum / n);
}

float gan_loss_g(int loss, const float *logit, int n, float scale, float *grad)
{
    return gan__loss_g(loss, logit, n, scale, grad, 1);
}

/* Mean of D's outputs as a probability for the BCE losses, as a raw score for the others. */
static float gan__mean_output(int loss, const float *logit, int n)
{
    double s = 0;
    int i;
    const int probability = loss == GAN_LOSS_NONSATURATING || loss == GAN_LOSS_MINIMAX ||
                            loss == GAN_LOSS_BOUNDARY_SEEKING;
    for (i = 0; i < n; i++) s += probability ? gan_sigmoid(logit[i]) : logit[i];
    return (float)(s / n);
}

/* Softmax cross-entropy, one row at a time, with m = max_k l_k:
     log sum_k e^l_k = m + log sum_k e^(l_k - m)   (every exponent <= 0: no overflow)
     loss = logsumexp(l) - l_label,   d loss / d l_k = softmax(l)_k - [k == label]. */
float gan_loss_softmax_ce(const float *logits, const int *labels, int n, int classes, float scale, float *grad)
{
    double sum = 0;
    int i, k;
    if (!logits || !labels || n < 1 || classes < 1) return -1.0f;
    for (i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes) return -1.0f;
    for (i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * classes;
        float m = l[0];
        double z = 0, lse;
        for (k = 1; k < classes; k++) if (l[k] > m) m = l[k];
        for (k = 0; k < classes; k++) z += exp((double)l[k] - m);
        lse = m + log(z);
        sum += lse - l[labels[i]];
        if (grad) {
            float *g = grad + (size_t)i * classes;
            for (k = 0; k < classes; k++)
                g[k] = scale * (float)(exp((double)l[k] - lse) - (k == labels[i])) / (float)n;
        }
    }
    return (float)(sum / n);
}

/* softmax(l)_k = e^(l_k - m) / sum_j e^(l_j - m), m = max_j l_j. */
void gan_softmax(const float *logits, int n, int classes, float *probs)
{
    int i, k;
    if (!logits || !probs || classes < 1) return;
    for (i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * classes;
        float *p = probs + (size_t)i * classes;
        float m = l[0];
        double z = 0;
        for (k = 1; k < classes; k++) if (l[k] > m) m = l[k];
        for (k = 0; k < classes; k++) { p[k] = (float)exp((double)l[k] - m); z += p[k]; }
        for (k = 0; k < classes; k++) p[k] = (float)(p[k] / z);
    }
}

/* ---- 4. optimizers ----------------------------------------------------------------- */

struct gan_optim {
    gan_optim_config cfg;
    size_t n;
    uint64_t t;     /* updates done */
    float *m;       /* (n): SGD velocity, Adam first moment */
    float *v;       /* (n): RMSProp mean square, Adam second moment */
};

/* A configuration of this kind and learning rate, every other field 0; the constructors
   below fill in their own. */
static gan_optim_config gan__optim_config_base(int kind, float lr)
{
    gan_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.lr = lr;
    return c;
}

gan_optim_config gan_sgd(float lr, float momentum)
{
    gan_optim_config c = gan__optim_config_base(GAN_SGD, lr);
    c.momentum = momentum;
    return c;
}

gan_optim_config gan_rmsprop_tf(float lr)
{
    gan_optim_config c = gan__optim_config_base(GAN_RMSPROP_TF, lr);
    c.rho = 0.9f;
    c.eps = 1e-10f;
    return c;
}

gan_optim_config gan_rmsprop_torch(float lr)
{
    gan_optim_config c = gan__optim_config_base(GAN_RMSPROP_TORCH, lr);
    c.rho = 0.99f;
    c.eps = 1e-8f;
    return c;
}

gan_optim_config gan_adam(float lr, float beta1, float beta2)
{
    gan_optim_config c = gan__optim_config_base(GAN_ADAM, lr);
    c.beta1 = beta1;
    c.beta2 = beta2;
    c.eps = 1e-8f;
    return c;
}

static int gan__optim_check(const gan_optim_config *c, gan_error *err)
{
    if (c->kind < GAN_SGD || c->kind > GAN_ADAM)
        return gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: unknown kind %d", c->kind);
    if (!(c->lr >= 0 && c->lr < 1e6f))
        return gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: lr %g out of range [0, 1e6)", (double)c->lr);
    if (!(c->momentum >= 0 && c->momentum < 1))
        return gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: momentum %g out of range [0, 1)", (double)c->momentum);
    if (!(c->rho >= 0 && c->rho < 1))
        return gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: rho %g out of range [0, 1)", (double)c->rho);
    if (!(c->beta1 >= 0 && c->beta1 < 1) || !(c->beta2 >= 0 && c->beta2 < 1))
        return gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: beta1 and beta2 must be in [0, 1)");
    if (!(c->eps >= 0 && c->eps < 1e6f))
        return gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: eps %g out of range [0, 1e6)", (double)c->eps);
    if (c->kind != GAN_SGD && !(c->eps > 0))
        return gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: eps must be positive");
    return GAN_OK;
}

/* Sets the moments to where each optimizer starts them. TensorFlow 1's RMSPropOptimizer
   starts its mean square at 1, not 0, so its first steps are small. */
static void gan__optim_reset(gan_optim *o)
{
    size_t k;
    const float v0 = o->cfg.kind == GAN_RMSPROP_TF ? 1.0f : 0.0f;
    o->t = 0;
    memset(o->m, 0, sizeof(float) * o->n);
    for (k = 0; k < o->n; k++) o->v[k] = v0;
}

gan_optim *gan_optim_new(const gan_optim_config *cfg, size_t n_params, gan_error *err)
{
    gan_optim *o;
    if (!cfg) { gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: cfg is NULL"); return NULL; }
    if (gan__optim_check(cfg, err)) return NULL;
    if (n_params == 0 || n_params > GAN_MAX_ALLOC / sizeof(float)) {
        gan__fail(err, GAN_ERR_ARGUMENT, "optimizer: n_params %lu out of range", (unsigned long)n_params);
        return NULL;
    }
    o = (gan_optim *)gan__alloc(sizeof *o, err, "optimizer");
    if (!o) return NULL;
    o->cfg = *cfg;
    o->n = n_params;
    o->m = (float *)gan__alloc(sizeof(float) * n_params, err, "optimizer first moment");
    o->v = o->m ? (float *)gan__alloc(sizeof(float) * n_params, err, "optimizer second moment") : NULL;
    if (!o->v) { gan_optim_free(o); return NULL; }
    gan__optim_reset(o);
    gan__ok(err);
    return o;
}

void gan_optim_free(gan_optim *o)
{
    if (!o) return;
    if (o->m) GAN_FREE(o->m);
    if (o->v) GAN_FREE(o->v);
    GAN_FREE(o);
}

uint64_t gan_optim_steps(const gan_optim *o) { return o->t; }

/* Each update rule is written one parameter at a time. Unless GAN_NO_SIMD, a vector loop
   first runs the same operations in the same order on GAN__VL parameters at once; IEEE
   arithmetic and sqrt round every lane as the scalar code does, unless the compiler fuses a
   multiply and an add of the scalar code into one FMA (clang does by default, gcc at
   -std=c99 does not), which can change the last bit of the last n mod GAN__VL parameters.
   gan__optim_update applies step o->t to parameters [k, n) only: the trainer shares the
   parameters out among the model's threads in parts of a multiple of 16, so the same
   parameters take the scalar path on any number of threads. */
static void gan__optim_update(const gan_optim *o, float *w, const float *g, size_t k, size_t n)
{
    const gan_optim_config c = o->cfg;
    float *m = o->m, *v = o->v;
    switch (c.kind) {
    case GAN_SGD:
        /* PyTorch SGD: m = momentum m + g;  w -= lr m */
#ifndef GAN_NO_SIMD
        for (; k + GAN__VL <= n; k += GAN__VL) {
            const gan__vec mk = gan__vadd(gan__vmul(gan__vset1(c.momentum), gan__vload(m + k)), gan__vload(g + k));
            gan__vstore(m + k, mk);
            gan__vstore(w + k, gan__vsub(gan__vload(w + k), gan__vmul(gan__vset1(c.lr), mk)));
        }
#endif
        for (; k < n; k++) {
            m[k] = c.momentum * m[k] + g[k];
            w[k] -= c.lr * m[k];
        }
        break;
    case GAN_RMSPROP_TF:
    case GAN_RMSPROP_TORCH: {
        /* TensorFlow 1: v = rho v + (1 - rho) g^2;  w -= lr g / sqrt(v + eps)
           PyTorch:      v = rho v + (1 - rho) g^2;  w -= lr g / (sqrt(v) + eps) */
        const float one_minus_rho = 1 - c.rho;
        const int tf = c.kind == GAN_RMSPROP_TF;
#ifndef GAN_NO_SIMD
        for (; k + GAN__VL <= n; k += GAN__VL) {
            const gan__vec gk = gan__vload(g + k), eps = gan__vset1(c.eps);
            const gan__vec vk = gan__vadd(gan__vmul(gan__vset1(c.rho), gan__vload(v + k)),
                                          gan__vmul(gan__vmul(gan__vset1(one_minus_rho), gk), gk));
            const gan__vec denom = tf ? gan__vsqrt(gan__vadd(vk, eps)) : gan__vadd(gan__vsqrt(vk), eps);
            gan__vstore(v + k, vk);
            gan__vstore(w + k, gan__vsub(gan__vload(w + k), gan__vdiv(gan__vmul(gan__vset1(c.lr), gk), denom)));
        }
#endif
        for (; k < n; k++) {
            v[k] = c.rho * v[k] + one_minus_rho * g[k] * g[k];
            w[k] -= c.lr * g[k] / (tf ? sqrtf(v[k] + c.eps) : sqrtf(v[k]) + c.eps);
        }
        break;
    }
    case GAN_ADAM: {
        /* Kingma & Ba, with bias correction in PyTorch's arrangement:
           m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
           w -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps) */
        const float step = c.lr / (float)(1.0 - pow(c.beta1, (double)o->t));
        const float bc2_sqrt = (float)sqrt(1.0 - pow(c.beta2, (double)o->t));
        const float one_minus_b1 = 1 - c.beta1, one_minus_b2 = 1 - c.beta2;
#ifndef GAN_NO_SIMD
        for (; k + GAN__VL <= n; k += GAN__VL) {
            const gan__vec gk = gan__vload(g + k);
            const gan__vec mk = gan__vadd(gan__vmul(gan__vset1(c.beta1), gan__vload(m + k)),
                                          gan__vmul(gan__vset1(one_minus_b1), gk));
            const gan__vec vk = gan__vadd(gan__vmul(gan__vset1(c.beta2), gan__vload(v + k)),
                                          gan__vmul(gan__vmul(gan__vset1(one_minus_b2), gk), gk));
            const gan__vec denom = gan__vadd(gan__vdiv(gan__vsqrt(vk), gan__vset1(bc2_sqrt)), gan__vset1(c.eps));
            gan__vstore(m + k, mk);
            gan__vstore(v + k, vk);
            gan__vstore(w + k, gan__vsub(gan__vload(w + k), gan__vdiv(gan__vmul(gan__vset1(step), mk), denom)));
        }
#endif
        for (; k < n; k++) {
            m[k] = c.beta1 * m[k] + one_minus_b1 * g[k];
            v[k] = c.beta2 * v[k] + one_minus_b2 * g[k] * g[k];
            w[k] -= step * m[k] / (sqrtf(v[k]) / bc2_sqrt + c.eps);
        }
        break;
    }
    }
}

void gan_optim_step(gan_optim *o, float *w, const float *g)
{
    o->t++;
    gan__optim_update(o, w, g, 0, o->n);
}

/* One optimizer step on model m's parameters, on m's threads: each part updates a slice of
   the parameters, cut at multiples of 16 (the vector loop meets the same parameters). */
typedef struct gan__optim_job {
    const gan_optim *o;
    float *w;
    const float *g;
} gan__optim_job;

static void gan__optim_part(const void *job, int part, int parts)
{
    const gan__optim_job *j = (const gan__optim_job *)job;
    size_t lo, hi;
    gan__slice(j->o->n, 16, part, parts, &lo, &hi);
    if (lo < hi) gan__optim_update(j->o, j->w, j->g, lo, hi);
}

static void gan__optim_step_model(gan_optim *o, gan_model *m)
{
    gan__optim_job j;
    o->t++;
    j.o = o; j.w = m->params; j.g = m->grads;
    gan__share(m, gan__optim_part, &j, gan__stream_parts(m, 7.0 * (double)o->n));
}

/* ---- 5. training ------------------------------------------------------------------- */

struct gan {
    gan_model *G, *D;
    gan_optim *g_opt, *d_opt;
    gan_train_config cfg;
    gan_rng rng;            /* noise, data sampling, and D's dropout during G steps */
    uint64_t iterations;    /* completed gan_train_step calls */
    float *z;               /* (batch, z_dim) */
    float *real;            /* (batch, data_dim) */
    float *d_logit_grad;    /* (batch) */
    float *fake_grad;       /* (batch, data_dim): dLoss/dG(z) in the G step */
    float *g_avg;           /* (G's n_params) when cfg.g_average > 0: G's averaged parameters */
    float *state_kept;      /* (G's n_state + D's n_state): the running statistics an update found */
    /* The PyTorch-GAN order with a pure D runs D over fakes and reals at once (gan__joint_step): */
    float *pair;            /* (2 batch, data_dim): D's input, the fakes then the reals (= real) */
    float **pair_y;         /* (D's n_layers): each layer's output over both, (2 batch, out) */
    float *pair_grad[2];    /* (3 batch, D's widest layer) each: the backward's ping-pong */
    float *pair_work;       /* the buffer behind pair_y and pair_grad */
};

gan_train_config gan_train_defaults(int z_dim, int batch)
{
    gan_train_config c;
    memset(&c, 0, sizeof c);
    c.z_dim = z_dim;
    c.noise = GAN_NOISE_UNIFORM;
    c.batch = batch;
    c.loss = GAN_LOSS_NONSATURATING;
    c.d_steps = 1;
    c.g_steps = 1;
    c.real_label = 1;
    c.d_loss_scale = 1;
    return c;
}

static int gan__config_check(const gan_train_config *c, const gan_model *G, const gan_model *D, gan_error *err)
{
    if (c->z_dim != G->input_dim)
        return gan__fail(err, GAN_ERR_ARGUMENT, "z_dim %d differs from G's input size %d", c->z_dim, G->input_dim);
    if (G->output_dim != D->input_dim)
        return gan__fail(err, GAN_ERR_ARGUMENT, "G's output size %d differs from D's input size %d",
                         G->output_dim, D->input_dim);
    if (D->output_dim != 1)
        return gan__fail(err, GAN_ERR_ARGUMENT, "D must output one logit per sample, not %d", D->output_dim);
    if (c->batch < 1 || c->batch > G->max_batch || c->batch > D->max_batch)
        return gan__fail(err, GAN_ERR_ARGUMENT, "batch %d out of range [1, max_batch of G and D]", c->batch);
    if (c->noise != GAN_NOISE_UNIFORM && c->noise != GAN_NOISE_NORMAL)
        return gan__fail(err, GAN_ERR_ARGUMENT, "noise: unknown kind %d", c->noise);
    if (c->loss < 0 || c->loss >= GAN_LOSS_COUNT)
        return gan__fail(err, GAN_ERR_ARGUMENT, "loss: unknown kind %d", c->loss);
    if (c->d_steps < 0 || c->d_steps > 1000 || c->g_steps < 0 || c->g_steps > 1000)
        return gan__fail(err, GAN_ERR_ARGUMENT, "d_steps and g_steps must be in [0, 1000]");
    if (c->g_first && (c->d_steps != 1 || c->g_steps != 1))
        return gan__fail(err, GAN_ERR_ARGUMENT, "g_first needs d_steps = g_steps = 1");
    if (!(c->real_label > 0 && c->real_label <= 1))
        return gan__fail(err, GAN_ERR_ARGUMENT, "real_label %g out of range (0, 1]", (double)c->real_label);
    if (!(c->d_loss_scale > 0 && c->d_loss_scale <= 1e3f))
        return gan__fail(err, GAN_ERR_ARGUMENT, "d_loss_scale %g out of range (0, 1000]", (double)c->d_loss_scale);
    if (!(c->clip >= 0 && c->clip < 1e6f))
        return gan__fail(err, GAN_ERR_ARGUMENT, "clip %g out of range [0, 1e6)", (double)c->clip);
    if (!(c->g_average >= 0 && c->g_average < 1))
        return gan__fail(err, GAN_ERR_ARGUMENT, "g_average %g out of range [0, 1)", (double)c->g_average);
    return GAN_OK;
}

/* A model whose training-mode forward pass is a function of its input and parameters alone:
   no dropout, no BatchNorm (whose GAN_TRAIN pass also moves the running statistics). */
static int gan__forward_is_pure(const gan_model *m)
{
    int i;
    for (i = 0; i < m->n_layers; i++) {
        const gan_layer *l = &m->layers[i].spec;
        if (l->kind == GAN_BATCHNORM || (l->kind == GAN_DROPOUT && l->rate > 0)) return 0;
    }
    return 1;
}

/* The PyTorch-GAN order runs a G step and then a D step on the same fakes with D unchanged
   in between. When D's forward pass is pure, its pass over the fakes serves both steps, and
   gan__joint_step runs D once over fakes and reals together, and back once through all
   three gradients: twice and three times the rows per product, so each of D's weights is
   read once per pass instead of two or three times. It gives the bits of the two steps as
   written (tests/test_core.c), which the readable build, GAN_NO_SIMD, runs instead. */
static int gan__joint(const gan *g)
{
#ifdef GAN_NO_SIMD
    (void)g;
    return 0;
#else
    return g->cfg.g_first && gan__forward_is_pure(g->D);
#endif
}

static int gan__joint_alloc(gan *g, gan_error *err)
{
    const gan_model *D = g->D;
    const size_t B = (size_t)g->cfg.batch;
    size_t outputs = 0, widest = (size_t)D->input_dim;
    int i;
    for (i = 0; i < D->n_layers; i++) {
        const size_t out = (size_t)D->layers[i].out;
        outputs += out;
        if (out > widest) widest = out;
    }
    /* Up to three times D's own work buffers: counted in double, so that no size wraps. */
    if ((2.0 * B * (double)outputs + 6.0 * B * (double)widest) * sizeof(float) > (double)GAN_MAX_ALLOC ||
        2.0 * B * (double)D->input_dim * sizeof(float) > (double)GAN_MAX_ALLOC)
        return gan__fail(err, GAN_ERR_MEMORY, "D's joint buffers need more than GAN_MAX_ALLOC bytes");
    g->pair = (float *)gan__alloc(sizeof(float) * 2 * B * (size_t)D->input_dim, err, "D's joint input");
    g->pair_y = (float **)gan__alloc(sizeof(float *) * (size_t)D->n_layers, err, "D's joint outputs");
    g->pair_work = (float *)gan__alloc(sizeof(float) * (2 * B * outputs + 2 * 3 * B * widest), err,
                                       "D's joint buffers");
    if (!g->pair || !g->pair_y || !g->pair_work) return err ? err->code : GAN_ERR_MEMORY;
    g->real = g->pair + B * (size_t)D->input_dim;
    g->pair_y[0] = g->pair_work;
    for (i = 1; i < D->n_layers; i++) g->pair_y[i] = g->pair_y[i - 1] + 2 * B * (size_t)D->layers[i - 1].out;
    g->pair_grad[0] = g->pair_y[D->n_layers - 1] + 2 * B * (size_t)D->layers[D->n_layers - 1].out;
    g->pair_grad[1] = g->pair_grad[0] + 3 * B * widest;
    return GAN_OK;
}

/* Allocates the trainer around G, D and two optimizers; frees nothing of the caller's. The
   average of G's parameters starts at G's. */
static gan *gan__new(gan_model *G, gan_model *D, gan_optim *g_opt, gan_optim *d_opt,
                     const gan_train_config *cfg, gan_error *err)
{
    const int B = cfg->batch;
    int joint;
    gan *g = (gan *)gan__alloc(sizeof *g, err, "trainer");
    if (!g) return NULL;
    memset(g, 0, sizeof *g);
    g->G = G; g->D = D; g->g_opt = g_opt; g->d_opt = d_opt;
    g->cfg = *cfg;
    joint = gan__joint(g);
    g->z = (float *)gan__alloc(sizeof(float) * B * (size_t)cfg->z_dim, err, "noise batch");
    if (!joint) g->real = (float *)gan__alloc(sizeof(float) * B * (size_t)D->input_dim, err, "real batch");
    g->d_logit_grad = (float *)gan__alloc(sizeof(float) * B, err, "logit gradient");
    g->fake_grad = (float *)gan__alloc(sizeof(float) * B * (size_t)D->input_dim, err, "fake gradient");
    if (cfg->g_average > 0) {
        g->g_avg = (float *)gan__alloc(sizeof(float) * G->n_params, err, "averaged generator");
        if (g->g_avg) memcpy(g->g_avg, G->params, sizeof(float) * G->n_params);
    }
    if (G->n_state + D->n_state)
        g->state_kept = (float *)gan__alloc(sizeof(float) * (G->n_state + D->n_state), err, "running statistics");
    /* the joint buffers hold the real batch too (g->real points into them) */
    if ((joint && gan__joint_alloc(g, err)) || !g->z || !g->real || !g->d_logit_grad || !g->fake_grad ||
        (cfg->g_average > 0 && !g->g_avg) || (G->n_state + D->n_state && !g->state_kept)) {
        g->G = g->D = NULL; g->g_opt = g->d_opt = NULL;
        gan_free(g);
        return NULL;
    }
#ifdef GAN__THREADED
    gan__pool_share(D, G);  /* one thread per processor for the trainer, not two */
#endif
    return g;
}

gan *gan_new(gan_model *G, gan_model *D, const gan_optim_config *g_opt, const gan_optim_config *d_opt,
             const gan_train_config *cfg, uint64_t seed, gan_error *err)
{
    gan_optim *og, *od;
    gan *g;
    if (!G || !D || !g_opt || !d_opt || !cfg) {
        gan__fail(err, GAN_ERR_ARGUMENT, "gan_new: G, D, g_opt, d_opt and cfg must not be NULL");
        return NULL;
    }
    if (G->n_params == 0 || D->n_params == 0) {
        gan__fail(err, GAN_ERR_ARGUMENT, "gan_new: G and D need at least one dense layer");
        return NULL;
    }
    if (gan__config_check(cfg, G, D, err)) return NULL;
    og = gan_optim_new(g_opt, G->n_params, err);
    od = og ? gan_optim_new(d_opt, D->n_params, err) : NULL;
    g = od ? gan__new(G, D, og, od, cfg, err) : NULL;
    if (!g) { gan_optim_free(og); gan_optim_free(od); return NULL; }
    gan_rng_seed(&g->rng, seed, 0x67616e);
    gan__ok(err);
    return g;
}

void gan_free(gan *g)
{
    if (!g) return;
    gan_model_free(g->G);
    gan_model_free(g->D);
    gan_optim_free(g->g_opt);
    gan_optim_free(g->d_opt);
    if (g->z) GAN_FREE(g->z);
    if (g->pair) GAN_FREE(g->pair);
    else if (g->real) GAN_FREE(g->real);
    if (g->pair_y) GAN_FREE(g->pair_y);
    if (g->pair_work) GAN_FREE(g->pair_work);
    if (g->d_logit_grad) GAN_FREE(g->d_logit_grad);
    if (g->fake_grad) GAN_FREE(g->fake_grad);
    if (g->g_avg) GAN_FREE(g->g_avg);
    if (g->state_kept) GAN_FREE(g->state_kept);
    GAN_FREE(g);
}

gan_model *gan_generator(gan *g)              { return g->G; }
gan_model *gan_discriminator(gan *g)          { return g->D; }
gan_rng *gan_trainer_rng(gan *g)              { return &g->rng; }
const gan_train_config *gan_config(const gan *g) { return &g->cfg; }
uint64_t gan_iterations(const gan *g)         { return g->iterations; }

/* count noise values of the given kind from rng: N(0, 1) or U(-1, 1). */
static void gan__noise(float *z, size_t count, int noise, gan_rng *rng)
{
    size_t k;
    if (noise == GAN_NOISE_NORMAL) for (k = 0; k < count; k++) z[k] = gan_rng_normal(rng);
    else for (k = 0; k < count; k++) z[k] = 2.0f * gan_rng_uniform(rng) - 1.0f;
}

void gan_sample_noise(gan *g, float *z, int n)
{
    if (n > 0) gan__noise(z, (size_t)n * g->cfg.z_dim, g->cfg.noise, &g->rng);
}

/* BatchNorm's running statistics move in every training-mode forward pass. An update keeps
   both models' statistics as it found them (G's, then D's, in g->state_kept), and a
   non-finite loss puts them back, so that the update that meets it changes nothing. */
static void gan__state_copy(gan *g, int put_back)
{
    gan_model *models[2];
    float *kept = g->state_kept;
    int i;
    models[0] = g->G; models[1] = g->D;
    for (i = 0; i < 2; i++) {
        const size_t n = models[i]->n_state;
        if (!n) continue;
        if (put_back) memcpy(models[i]->state, kept, sizeof(float) * n);
        else memcpy(kept, models[i]->state, sizeof(float) * n);
        kept += n;
    }
}

static void gan__keep_state(gan *g) { gan__state_copy(g, 0); }

static int gan__nonfinite(gan *g, const char *which, float value, gan_error *err)
{
    gan__state_copy(g, 1);
    return gan__fail(err, GAN_ERR_NONFINITE, "%s loss is %s at iteration %lu; stopped before using it "
                     "(try a lower learning rate)", which, value != value ? "NaN" : "infinite",
                     (unsigned long)g->iterations);
}

/* Half of a D update: the loss on D's outputs `logit` for a batch that is all real or all
   fake, and its gradient in D's gradient buffer (written by the first half, added by the
   second). With report, also the mean output (D(x) or D(G(z))). */
static float gan__d_half(gan *g, const float *logit, int is_real, int report, int first, float *mean_output)
{
    const gan_train_config *c = &g->cfg;
    const float loss = gan__loss_d(c->loss, logit, c->batch, is_real, is_real ? c->real_label : 0, c->d_loss_scale,
                                   g->d_logit_grad, report);
    if (report) *mean_output = gan__mean_output(c->loss, logit, c->batch);
    gan_model_backward(g->D, g->d_logit_grad, NULL, GAN_GRAD_PARAMS | (first ? GAN_GRAD_OVERWRITE : 0), NULL);
    return loss;
}

/* D's step down the gradient in its buffers, and the clipping of a Wasserstein critic. */
static void gan__d_descend(gan *g)
{
    gan__optim_step_model(g->d_opt, g->D);
    if (g->cfg.clip > 0) gan_model_clip(g->D, g->cfg.clip);
}

/* One D update: descend L_D = scale * (L(D(x), real) + L(D(G(z)), fake)) on D's parameters,
   with G(z) already computed. Each half is a forward and a backward of its own, so that
   batch statistics are never mixed between real and fake, as in PyTorch-GAN.
   report: compute the loss and the mean outputs for st (else the gradients only; see
   gan__loss_d). fake_done: D's buffers still hold its forward pass over `fake`, run by a G
   step that left D unchanged, so the update goes back through that pass first instead of
   running it again (the gradient is the same sum, added in the other order). */
static int gan__d_update(gan *g, const float *real, const float *fake, int fake_done, int report, gan_stats *st,
                         gan_error *err)
{
    const gan_train_config *c = &g->cfg;
    const int B = c->batch;
    const float *logit;
    float loss_real, loss_fake = 0, d_loss, d_real = 0, d_fake = 0;

    if (fake_done) loss_fake = gan__d_half(g, g->D->layers[g->D->n_layers - 1].y, 0, report, 1, &d_fake);
    logit = gan_model_forward(g->D, real, B, GAN_TRAIN, NULL, err);
    if (!logit) return err ? err->code : GAN_ERR_ARGUMENT;
    loss_real = gan__d_half(g, logit, 1, report, !fake_done, &d_real);
    if (!fake_done) {
        logit = gan_model_forward(g->D, fake, B, GAN_TRAIN, NULL, err);
        if (!logit) return err ? err->code : GAN_ERR_ARGUMENT;
        loss_fake = gan__d_half(g, logit, 0, report, 0, &d_fake);
    }
    d_loss = c->d_loss_scale * (loss_real + loss_fake);
    if (!isfinite(d_loss)) return gan__nonfinite(g, "discriminator", d_loss, err);
    if (report && st) { st->d_loss = d_loss; st->d_real = d_real; st->d_fake = d_fake; }
    gan__d_descend(g);
    return GAN_OK;
}

/* Polyak averaging of G (Yazici et al., "The Unusual Effectiveness of Averaging in GAN
   Training", 2019): avg = a avg + (1 - a) w after every G update. G trains as before; the
   average, which smooths out G's oscillation around the equilibrium, is what samples. A
   memory-bound pass, shared among the model's threads like the optimizer's. */
static void gan__average(float *GAN__RESTRICT avg, const float *GAN__RESTRICT w, float a, size_t n)
{
    const float b = 1.0f - a;
    GAN__ELEMENTWISE(n, avg[k] = a * avg[k] + b * w[k]);
}

typedef struct gan__average_job { float *avg; const float *w; float a; size_t n; } gan__average_job;

static void gan__average_part(const void *job, int part, int parts)
{
    const gan__average_job *j = (const gan__average_job *)job;
    size_t lo, hi;
    gan__slice(j->n, 16, part, parts, &lo, &hi);
    if (lo < hi) gan__average(j->avg + lo, j->w + lo, j->a, hi - lo);
}

static void gan__average_model(float *avg, gan_model *m, float a)
{
    gan__average_job j;
    j.avg = avg; j.w = m->params; j.a = a; j.n = m->n_params;
    gan__share(m, gan__average_part, &j, gan__stream_parts(m, 3.0 * (double)m->n_params));
}

/* G's step down dLoss/dG(z) in g->fake_grad: back through G, G's optimizer step, and the
   average's move toward the new G. */
static void gan__g_descend(gan *g)
{
    gan_model_backward(g->G, g->fake_grad, NULL, GAN_GRAD_PARAMS | GAN_GRAD_OVERWRITE, NULL);
    gan__optim_step_model(g->g_opt, g->G);
    if (g->g_avg) gan__average_model(g->g_avg, g->G, g->cfg.g_average);
}

/* One G update: descend L_G(D(G(z))). The gradient flows back through D to its input
   (D in GAN_TRAIN_FROZEN mode, dropout from the trainer's generator, no parameter
   gradients), then through G. D is left as the D step will find it. G's output for z
   stays in G's buffer: the PyTorch-GAN order hands it to the D step. report as above.
   With cfg.g_average the average then moves toward the new G. */
static int gan__g_update(gan *g, const float *z, int report, gan_stats *st, gan_error *err)
{
    const gan_train_config *c = &g->cfg;
    const int B = c->batch;
    const float *fake, *logit;
    float g_loss;

    gan__keep_state(g);
    fake = gan_model_forward(g->G, z, B, GAN_TRAIN, NULL, err);
    if (!fake) return err ? err->code : GAN_ERR_ARGUMENT;
    logit = gan_model_forward(g->D, fake, B, GAN_TRAIN_FROZEN, &g->rng, err);
    if (!logit) return err ? err->code : GAN_ERR_ARGUMENT;
    g_loss = gan__loss_g(c->loss, logit, B, 1.0f, g->d_logit_grad, report);
    if (!isfinite(g_loss)) return gan__nonfinite(g, "generator", g_loss, err);
    if (report && st) st->g_loss = g_loss;
    gan_model_backward(g->D, g->d_logit_grad, g->fake_grad, 0, NULL);
    gan__g_descend(g);
    return GAN_OK;
}

/* D over the 2 batch rows of g->pair, fakes then reals, into g->pair_y. Returns the logits. */
static const float *gan__joint_forward(gan *g)
{
    gan_model *D = g->D;
    const int rows = 2 * g->cfg.batch;
    const float *in = g->pair;
    int i;
    for (i = 0; i < D->n_layers; i++) {
        const gan__layer *L = &D->layers[i];
        float *y = g->pair_y[i];
        const size_t n = (size_t)rows * L->out;
        if (L->spec.kind == GAN_DENSE) gan__dense_forward(D, y, in, L->W, L->b, rows, L->in, L->out);
        else if (L->spec.kind == GAN_ACTIVATION) gan__activation(D, L, 0, y, in, in, y, n);
        else memcpy(y, in, sizeof(float) * n);    /* dropout at rate 0 (a pure D has nothing else) */
        in = y;
    }
    return in;
}

/* Back through D from the 3 batch rows of logit gradients in g->pair_grad[0]: rows [0, B)
   are the G step's, to D's input (into g->fake_grad); rows [B, 3B) are the D step's over the
   fakes and the reals, to D's parameter gradients, fakes first as in gan__d_update. */
static void gan__joint_backward(gan *g)
{
    gan_model *D = g->D;
    const int B = g->cfg.batch;
    const float *dy = g->pair_grad[0];
    int i;
    for (i = D->n_layers - 1; i >= 0; i--) {
        const gan__layer *L = &D->layers[i];
        const float *x = i > 0 ? g->pair_y[i - 1] : g->pair;
        /* Below layer 0 only the G step's rows go on, to G. */
        float *dx = i > 0 ? g->pair_grad[(D->n_layers - i) & 1] : g->fake_grad;
        const int rows = i > 0 ? 3 * B : B;
        const size_t o = (size_t)B * L->out;   /* one batch of this layer's outputs */
        if (L->spec.kind == GAN_DENSE) {
            gan__dense_backward_params(D, L->dW, L->db, dy + o, x, 2 * B, B, L->in, L->out, 0);
            gan__dense_backward_input(D, dx, dy, L->W, rows, L->in, L->out);
        } else if (L->spec.kind == GAN_ACTIVATION) {
            gan__activation(D, L, 1, dx, dy, x, g->pair_y[i], o);
            if (i > 0) gan__activation(D, L, 1, dx + o, dy + o, x, g->pair_y[i], 2 * o);
        } else memcpy(dx, dy, sizeof(float) * (size_t)rows * L->out);
        dy = dx;
    }
}

/* A G step and then a D step on its fakes, as gan__g_update and then gan__d_update with
   fake_done compute them, with D's passes joint (see gan__joint). G's loss is checked before
   anything moves; when only D's is not finite, G's update goes through, as it would have in
   the two steps written out, and D's is refused. */
static int gan__joint_step(gan *g, gan_stats *st, gan_error *err)
{
    const gan_train_config *c = &g->cfg;
    const int B = c->batch, dim = g->D->input_dim;
    float *grad = g->pair_grad[0];
    const float *fake, *logit;
    float g_loss, loss_fake, loss_real, d_loss, d_fake, d_real;

    gan__keep_state(g);
    fake = gan_model_forward(g->G, g->z, B, GAN_TRAIN, NULL, err);
    if (!fake) return err ? err->code : GAN_ERR_ARGUMENT;
    memcpy(g->pair, fake, sizeof(float) * (size_t)B * dim);
    logit = gan__joint_forward(g);
    g->D->batch = 0;    /* D's own buffers hold no forward pass of this step */
    g_loss = gan__loss_g(c->loss, logit, B, 1.0f, grad, 1);
    if (!isfinite(g_loss)) return gan__nonfinite(g, "generator", g_loss, err);
    if (st) st->g_loss = g_loss;
    loss_fake = gan__loss_d(c->loss, logit, B, 0, 0, c->d_loss_scale, grad + B, 1);
    d_fake = gan__mean_output(c->loss, logit, B);
    loss_real = gan__loss_d(c->loss, logit + B, B, 1, c->real_label, c->d_loss_scale, grad + 2 * B, 1);
    d_real = gan__mean_output(c->loss, logit + B, B);
    d_loss = c->d_loss_scale * (loss_real + loss_fake);

    /* Each row of the backward pass depends on its own row alone, so the G step's rows are
       right even when the D step's hold NaNs. */
    gan__joint_backward(g);
    if (!isfinite(d_loss)) {
        gan__g_descend(g);
        gan__keep_state(g);     /* G's update, running statistics included, stands */
        return gan__nonfinite(g, "discriminator", d_loss, err);
    }
    if (st) { st->d_loss = d_loss; st->d_real = d_real; st->d_fake = d_fake; }
    gan__d_descend(g);
    gan__g_descend(g);
    return GAN_OK;
}

int gan_d_step(gan *g, const float *real, const float *z, gan_stats *st, gan_error *err)
{
    const float *fake;
    gan__keep_state(g);     /* G's forward pass below belongs to the D update */
    fake = gan_model_forward(g->G, z, g->cfg.batch, GAN_TRAIN, NULL, err);
    if (!fake) return err ? err->code : GAN_ERR_ARGUMENT;
    return gan__d_update(g, real, fake, 0, 1, st, err);
}

int gan_g_step(gan *g, const float *z, gan_stats *st, gan_error *err)
{
    return gan__g_update(g, z, 1, st, err);
}

/* Algorithm 1 of Goodfellow et al. (2014), one iteration:
     for k steps: sample m real x and m noise z; ascend V on D
     sample m noise z; descend the G loss on G
   same_batch (the quadratic tutorial): one real batch and one noise batch serve every step
   of the iteration, and G(z) is computed once for the D steps, as G does not change there.
   g_first (PyTorch-GAN): sample z and x, a G step, then a D step on G's fakes from that step
   (joint, as gan__joint_step, when D's forward pass is pure).
   Only the last D and the last G update of an iteration compute the loss values that st
   reports; the others compute gradients only, and every one is checked for finiteness. */
int gan_train_step(gan *g, gan_data_fn data, void *user, gan_stats *st, gan_error *err)
{
    const gan_train_config *c = &g->cfg;
    const int B = c->batch;
    gan_stats local;
    int k, rc;
    if (!data) return gan__fail(err, GAN_ERR_ARGUMENT, "train_step: data callback is NULL");
    if (!st) st = &local;
    memset(st, 0, sizeof *st);

    if (c->g_first) {
        gan_sample_noise(g, g->z, B);
        if (data(user, g->real, B, &g->rng)) return gan__fail(err, GAN_ERR_ARGUMENT, "data callback failed");
        if (gan__joint(g)) {
            if ((rc = gan__joint_step(g, st, err))) return rc;
        } else {
            if ((rc = gan__g_update(g, g->z, 1, st, err))) return rc;
            gan__keep_state(g);
            if ((rc = gan__d_update(g, g->real, g->G->layers[g->G->n_layers - 1].y, gan__forward_is_pure(g->D), 1,
                                    st, err)))
                return rc;
        }
    } else {
        const float *fake = NULL;
        for (k = 0; k < c->d_steps; k++) {
            gan__keep_state(g);     /* before G's forward pass, which belongs to the D update */
            if (k == 0 || !c->same_batch) {
                if (data(user, g->real, B, &g->rng)) return gan__fail(err, GAN_ERR_ARGUMENT, "data callback failed");
                gan_sample_noise(g, g->z, B);
                fake = gan_model_forward(g->G, g->z, B, GAN_TRAIN, NULL, err);
                if (!fake) return err ? err->code : GAN_ERR_ARGUMENT;
            }
            if ((rc = gan__d_update(g, g->real, fake, 0, k == c->d_steps - 1, st, err))) return rc;
        }
        for (k = 0; k < c->g_steps; k++) {
            if (!c->same_batch || (k == 0 && c->d_steps == 0)) gan_sample_noise(g, g->z, B);
            if ((rc = gan__g_update(g, g->z, k == c->g_steps - 1, st, err))) return rc;
        }
    }
    g->iterations++;
    gan__ok(err);
    return GAN_OK;
}

/* Runs G in eval mode over n fresh noise vectors, max_batch at a time. */
static int gan__generate(gan_model *G, int z_dim, int noise, gan_rng *rng, float *out, int n, gan_error *err)
{
    int done = 0;
    const int out_dim = G->output_dim;
    if (!out || n < 0) return gan__fail(err, GAN_ERR_ARGUMENT, "generate: out is NULL or n < 0");
    while (done < n) {
        const int b = n - done < G->max_batch ? n - done : G->max_batch;
        /* The noise goes into G's second scratch buffer, which a forward pass never touches. */
        float *z = G->scratch[1];
        const float *y;
        gan__noise(z, (size_t)b * z_dim, noise, rng);
        y = gan_model_forward(G, z, b, GAN_EVAL, NULL, err);
        if (!y) return err ? err->code : GAN_ERR_ARGUMENT;
        memcpy(out + (size_t)done * out_dim, y, sizeof(float) * (size_t)b * out_dim);
        done += b;
    }
    gan__ok(err);
    return GAN_OK;
}

#define GAN__AVERAGE_BN_BATCHES 64

gan_model *gan_sampling_generator(const gan *g, gan_error *err)
{
    const gan_model *G = g->G;
    gan_layer specs[GAN__MAX_LAYERS];
    gan_model *m;
    gan_rng rng;
    int i, t;
    for (i = 0; i < G->n_layers; i++) specs[i] = G->layers[i].spec;
    m = gan_model_new(G->input_dim, specs, G->n_layers, G->max_batch, err);
    if (!m) return NULL;
#ifdef GAN__THREADED
    gan_model_set_threads(m, G->n_threads);   /* as many threads as G may use */
#endif
    memcpy(m->params, g->g_avg ? g->g_avg : G->params, sizeof(float) * G->n_params);
    if (G->n_state) memcpy(m->state, G->state, sizeof(float) * G->n_state);   /* NULL when 0 */
    m->rng = G->rng;
    if (!g->g_avg || G->n_state == 0) { gan__ok(err); return m; }
    /* running = (1 - 1/(t+1)) running + 1/(t+1) batch_t is the plain mean of batches 0..t. */
    gan_rng_seed(&rng, 0x617667, 0x626e);   /* "avg", "bn" */
    for (t = 0; t < GAN__AVERAGE_BN_BATCHES; t++) {
        float *z = m->scratch[1];           /* untouched by the forward pass, as in gan__generate */
        for (i = 0; i < m->n_layers; i++) m->layers[i].spec.momentum = 1.0f / (float)(t + 1);
        gan__noise(z, (size_t)g->cfg.batch * g->cfg.z_dim, g->cfg.noise, &rng);
        if (!gan_model_forward(m, z, g->cfg.batch, GAN_TRAIN, NULL, err)) { gan_model_free(m); return NULL; }
    }
    for (i = 0; i < m->n_layers; i++) m->layers[i].spec.momentum = specs[i].momentum;
    gan__ok(err);
    return m;
}

int gan_generate(gan *g, float *out, int n, gan_error *err)
{
    gan_model *avg;
    int rc;
    if (!g->g_avg) return gan__generate(g->G, g->cfg.z_dim, g->cfg.noise, &g->rng, out, n, err);
    if (!(avg = gan_sampling_generator(g, err))) return err ? err->code : GAN_ERR_MEMORY;
    rc = gan__generate(avg, g->cfg.z_dim, g->cfg.noise, &g->rng, out, n, err);
    gan_model_free(avg);
    return rc;
}

/* ---- 6. checkpoints ---------------------------------------------------------------- */

/* A writer that only counts when buf is NULL, and a reader that stops at the first short
   read: every field passes through these, little-endian whatever the host. */
typedef struct { unsigned char *buf; size_t size, pos; } gan__writer;
typedef struct { const unsigned char *buf; size_t size, pos; int short_read; } gan__reader;

static void gan__put(gan__writer *w, const void *p, size_t n)
{
    if (w->buf && w->pos + n <= w->size) memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}
static void gan__put_u32(gan__writer *w, uint32_t v)
{
    unsigned char b[4];
    gan__put_le32(b, v);
    gan__put(w, b, 4);
}
static void gan__put_u64(gan__writer *w, uint64_t v) { gan__put_u32(w, (uint32_t)v); gan__put_u32(w, (uint32_t)(v >> 32)); }
static void gan__put_f32(gan__writer *w, float f) { uint32_t u; memcpy(&u, &f, 4); gan__put_u32(w, u); }
/* An array of floats in one loop rather than through gan__put for each: compilers turn the
   byte stores of a little-endian word into one store, so this runs at about memcpy's speed
   (gan__get_floats likewise). */
static void gan__put_floats(gan__writer *w, const float *f, size_t n)
{
    size_t k;
    if (w->buf && w->pos <= w->size && n <= (w->size - w->pos) / 4) {
        unsigned char *b = w->buf + w->pos;
        for (k = 0; k < n; k++, b += 4) {
            uint32_t u;
            memcpy(&u, f + k, 4);
            gan__put_le32(b, u);
        }
    }
    w->pos += 4 * n;
}

static const unsigned char *gan__take(gan__reader *r, size_t n)
{
    const unsigned char *p;
    if (r->short_read || n > r->size - r->pos) { r->short_read = 1; return NULL; }
    p = r->buf + r->pos;
    r->pos += n;
    return p;
}
static uint32_t gan__get_u32(gan__reader *r)
{
    const unsigned char *b = gan__take(r, 4);
    return b ? gan__le32(b) : 0;
}
static uint64_t gan__get_u64(gan__reader *r) { uint64_t lo = gan__get_u32(r); return lo | (uint64_t)gan__get_u32(r) << 32; }
static float gan__get_f32(gan__reader *r) { uint32_t u = gan__get_u32(r); float f; memcpy(&f, &u, 4); return f; }
static int gan__get_floats(gan__reader *r, float *f, size_t n)
{
    const unsigned char *b;
    size_t k;
    if (n > (r->size - r->pos) / 4) { r->short_read = 1; return 0; }
    if (!(b = gan__take(r, 4 * n))) return 0;
    for (k = 0; k < n; k++, b += 4) {
        const uint32_t u = gan__le32(b);
        memcpy(f + k, &u, 4);
    }
    return 1;
}

/* Each format has its own version. Checkpoint version 2 added cfg.g_average to the
   configuration and, when it is > 0, G's averaged parameters after the optimizers; version 1
   checkpoints still load, without an average. Generator exports and model files are at 1. */
#define GAN__CHECKPOINT_VERSION 2
#define GAN__EXPORT_VERSION 1
static const char gan__magic_full[8] = {'G', 'A', 'N', 'H', 'C', 'K', 'P', 'T'};
static const char gan__magic_gen[8]  = {'G', 'A', 'N', 'H', 'G', 'E', 'N', '1'};

static void gan__put_rng(gan__writer *w, const gan_rng *r)
{
    gan__put_u64(w, r->state); gan__put_u64(w, r->inc);
    gan__put_u32(w, (uint32_t)r->has_spare); gan__put_f32(w, r->spare);
}
static void gan__get_rng(gan__reader *r, gan_rng *g)
{
    g->state = gan__get_u64(r); g->inc = gan__get_u64(r);
    g->has_spare = gan__get_u32(r) != 0; g->spare = gan__get_f32(r);
}

/* What a loaded state must satisfy beyond its layout, so that a file gan.h did not write
   cannot turn into NaNs a step later: every float finite, variances not negative, PCG's
   increment odd (gan_rng_seed makes it so; an even one shortens the period), and an
   optimizer's step count far from wrapping around to 0 (which would divide by 1 - b1^0). */
static int gan__finite(const float *x, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++) if (!isfinite(x[k])) return 0;
    return 1;
}

static int gan__nonnegative(const float *x, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++) if (!(x[k] >= 0)) return 0;
    return 1;
}

static int gan__rng_valid(const gan_rng *g) { return (g->inc & 1) && isfinite(g->spare); }

/* Model: architecture, parameters, running statistics, generator state. */
static void gan__put_model(gan__writer *w, const gan_model *m)
{
    int i;
    gan__put_u32(w, (uint32_t)m->input_dim);
    gan__put_u32(w, (uint32_t)m->max_batch);
    gan__put_u32(w, (uint32_t)m->n_layers);
    for (i = 0; i < m->n_layers; i++) {
        const gan_layer *l = &m->layers[i].spec;
        gan__put_u32(w, (uint32_t)l->kind); gan__put_u32(w, (uint32_t)l->units);
        gan__put_u32(w, (uint32_t)l->activation); gan__put_f32(w, l->slope);
        gan__put_f32(w, l->eps); gan__put_f32(w, l->momentum); gan__put_f32(w, l->rate);
    }
    gan__put_u64(w, m->n_params);
    gan__put_u64(w, m->n_state);
    gan__put_floats(w, m->params, m->n_params);
    gan__put_floats(w, m->state, m->n_state);
    gan__put_rng(w, &m->rng);
}

static gan_model *gan__get_model(gan__reader *r, const char *which, gan_error *err)
{
    gan_layer layers[GAN__MAX_LAYERS];
    uint32_t input_dim, max_batch, n_layers, i;
    uint64_t n_params, n_state;
    gan_model *m;
    input_dim = gan__get_u32(r);
    max_batch = gan__get_u32(r);
    n_layers = gan__get_u32(r);
    if (r->short_read) { gan__fail(err, GAN_ERR_FORMAT, "%s: file ends inside the model header", which); return NULL; }
    if (n_layers < 1 || n_layers > GAN__MAX_LAYERS) {
        gan__fail(err, GAN_ERR_FORMAT, "%s: layer count %lu out of range [1, %d]", which, (unsigned long)n_layers,
                  GAN__MAX_LAYERS);
        return NULL;
    }
    if (input_dim < 1 || input_dim > GAN__MAX_DIM || max_batch < 1 || max_batch > GAN__MAX_BATCH) {
        gan__fail(err, GAN_ERR_FORMAT, "%s: input size %lu or max batch %lu out of range", which,
                  (unsigned long)input_dim, (unsigned long)max_batch);
        return NULL;
    }
    for (i = 0; i < n_layers; i++) {
        gan_layer *l = &layers[i];
        l->kind = (int)gan__get_u32(r); l->units = (int)gan__get_u32(r);
        l->activation = (int)gan__get_u32(r); l->slope = gan__get_f32(r);
        l->eps = gan__get_f32(r); l->momentum = gan__get_f32(r); l->rate = gan__get_f32(r);
    }
    n_params = gan__get_u64(r);
    n_state = gan__get_u64(r);
    if (r->short_read) { gan__fail(err, GAN_ERR_FORMAT, "%s: file ends inside the layer list", which); return NULL; }
    /* The stored counts must fit in what is left of the file before anything is built. */
    if (n_params > (r->size - r->pos) / 4 || n_state > (r->size - r->pos) / 4 - n_params) {
        gan__fail(err, GAN_ERR_FORMAT, "%s: parameter count %llu is more than the file holds", which,
                  (unsigned long long)n_params);
        return NULL;
    }
    /* ...and must be what the layers imply, so that no layer is wider than its weights in
       the file allow: otherwise a few edited bytes could make gan_model_new allocate gigabytes. */
    {
        size_t want_params, want_state, work;
        int max_width;
        if (gan__model_sizes((int)input_dim, layers, (int)n_layers, (int)max_batch, &want_params, &want_state, &work,
                             &max_width, NULL) == GAN_OK &&
            (want_params != n_params || want_state != n_state)) {
            gan__fail(err, GAN_ERR_FORMAT, "%s: parameter count %llu does not match the layers (%llu)", which,
                      (unsigned long long)n_params, (unsigned long long)want_params);
            return NULL;
        }
    }
    m = gan_model_new((int)input_dim, layers, (int)n_layers, (int)max_batch, err);
    if (!m) {
        if (err && err->code != GAN_ERR_MEMORY)    /* out of memory stays out of memory */
            gan__refail(err, GAN_ERR_FORMAT, which, "invalid model");
        return NULL;
    }
    GAN_ASSERT(m->n_params == n_params && m->n_state == n_state);
    gan__get_floats(r, m->params, m->n_params);
    gan__get_floats(r, m->state, m->n_state);
    gan__get_rng(r, &m->rng);
    if (r->short_read) {
        gan__fail(err, GAN_ERR_FORMAT, "%s: file ends inside the parameters", which);
        gan_model_free(m);
        return NULL;
    }
    {
        const char *bad = NULL;
        int l;
        if (!gan__finite(m->params, m->n_params)) bad = "a parameter is NaN or infinite";
        else if (!gan__finite(m->state, m->n_state)) bad = "a running statistic is NaN or infinite";
        else if (!gan__rng_valid(&m->rng)) bad = "invalid generator state";
        for (l = 0; !bad && l < m->n_layers; l++)
            if (m->layers[l].spec.kind == GAN_BATCHNORM && !gan__nonnegative(m->layers[l].run_var, (size_t)m->layers[l].out))
                bad = "a running variance is negative";
        if (bad) {
            gan__fail(err, GAN_ERR_FORMAT, "%s: %s", which, bad);
            gan_model_free(m);
            return NULL;
        }
    }
    return m;
}

static void gan__put_optim(gan__writer *w, const gan_optim *o)
{
    const gan_optim_config *c = &o->cfg;
    gan__put_u32(w, (uint32_t)c->kind);
    gan__put_f32(w, c->lr); gan__put_f32(w, c->momentum); gan__put_f32(w, c->rho);
    gan__put_f32(w, c->beta1); gan__put_f32(w, c->beta2); gan__put_f32(w, c->eps);
    gan__put_u64(w, o->t);
    gan__put_u64(w, o->n);
    gan__put_floats(w, o->m, o->n);
    gan__put_floats(w, o->v, o->n);
}

static gan_optim *gan__get_optim(gan__reader *r, size_t n_expected, const char *which, gan_error *err)
{
    gan_optim_config c;
    gan_optim *o;
    uint64_t t, n;
    c.kind = (int)gan__get_u32(r);
    c.lr = gan__get_f32(r); c.momentum = gan__get_f32(r); c.rho = gan__get_f32(r);
    c.beta1 = gan__get_f32(r); c.beta2 = gan__get_f32(r); c.eps = gan__get_f32(r);
    t = gan__get_u64(r);
    n = gan__get_u64(r);
    if (r->short_read) { gan__fail(err, GAN_ERR_FORMAT, "%s: file ends inside the optimizer header", which); return NULL; }
    if (gan__optim_check(&c, err)) {
        gan__refail(err, GAN_ERR_FORMAT, which, "invalid optimizer");
        return NULL;
    }
    if (n != n_expected) {
        gan__fail(err, GAN_ERR_FORMAT, "%s: optimizer holds %llu values for %llu parameters", which,
                  (unsigned long long)n, (unsigned long long)n_expected);
        return NULL;
    }
    if (n > (r->size - r->pos) / 8) { gan__fail(err, GAN_ERR_FORMAT, "%s: file ends inside the optimizer", which); return NULL; }
    if (t > (uint64_t)1 << 62) {
        gan__fail(err, GAN_ERR_FORMAT, "%s: optimizer step count %llu out of range", which, (unsigned long long)t);
        return NULL;
    }
    o = gan_optim_new(&c, (size_t)n, err);
    if (!o) return NULL;
    o->t = t;
    gan__get_floats(r, o->m, o->n);
    gan__get_floats(r, o->v, o->n);
    if (!gan__finite(o->m, o->n) || !gan__finite(o->v, o->n) || !gan__nonnegative(o->v, o->n)) {
        gan__fail(err, GAN_ERR_FORMAT, "%s: an optimizer moment is NaN, infinite or (a mean square) negative", which);
        gan_optim_free(o);
        return NULL;
    }
    return o;
}

static void gan__put_config(gan__writer *w, const gan_train_config *c)
{
    gan__put_u32(w, (uint32_t)c->z_dim); gan__put_u32(w, (uint32_t)c->noise);
    gan__put_u32(w, (uint32_t)c->batch); gan__put_u32(w, (uint32_t)c->loss);
    gan__put_u32(w, (uint32_t)c->d_steps); gan__put_u32(w, (uint32_t)c->g_steps);
    gan__put_u32(w, (uint32_t)c->same_batch); gan__put_u32(w, (uint32_t)c->g_first);
    gan__put_f32(w, c->real_label); gan__put_f32(w, c->d_loss_scale); gan__put_f32(w, c->clip);
    gan__put_f32(w, c->g_average);
}

static void gan__get_config(gan__reader *r, gan_train_config *c, uint32_t version)
{
    c->z_dim = (int)gan__get_u32(r); c->noise = (int)gan__get_u32(r);
    c->batch = (int)gan__get_u32(r); c->loss = (int)gan__get_u32(r);
    c->d_steps = (int)gan__get_u32(r); c->g_steps = (int)gan__get_u32(r);
    c->same_batch = (int)gan__get_u32(r); c->g_first = (int)gan__get_u32(r);
    c->real_label = gan__get_f32(r); c->d_loss_scale = gan__get_f32(r); c->clip = gan__get_f32(r);
    c->g_average = version >= 2 ? gan__get_f32(r) : 0.0f;
}

static void gan__put_header(gan__writer *w, const char magic[8], uint32_t version)
{
    gan__put(w, magic, 8);
    gan__put_u32(w, version);
}

/* Adds the trailing CRC and reports the size; 0 with an error if buf was too small. */
static size_t gan__finish(gan__writer *w, gan_error *err)
{
    const size_t body = w->pos;
    uint32_t crc = 0;
    if (w->buf && body + 4 <= w->size) crc = gan_crc32(0, w->buf, body);
    gan__put_u32(w, crc);
    if (w->buf && w->pos > w->size) {
        gan__fail(err, GAN_ERR_ARGUMENT, "save: buffer of %lu bytes is smaller than the %lu needed",
                  (unsigned long)w->size, (unsigned long)w->pos);
        return 0;
    }
    gan__ok(err);
    return w->pos;
}

/* Checks magic, version (1 to newest) and CRC; leaves the reader just past the version, which
   goes to *version if that is not NULL. */
static int gan__open(gan__reader *r, const void *buf, size_t size, const char magic[8], const char *what,
                     uint32_t newest, uint32_t *version_out, gan_error *err)
{
    uint32_t version, stored, actual;
    r->buf = (const unsigned char *)buf;
    r->size = size;
    r->pos = 0;
    r->short_read = 0;
    if (!buf) return gan__fail(err, GAN_ERR_ARGUMENT, "%s: buffer is NULL", what);
    if (size < 16) return gan__fail(err, GAN_ERR_FORMAT, "%s: %lu bytes is too short to be a gan.h file", what,
                                    (unsigned long)size);
    if (memcmp(buf, magic, 8) != 0) {
        if (memcmp(buf, "GANH", 4) == 0)
            return gan__fail(err, GAN_ERR_FORMAT, "%s: a gan.h file of another kind (magic %.8s)", what,
                             (const char *)buf);
        return gan__fail(err, GAN_ERR_FORMAT, "%s: not a gan.h file (bad magic)", what);
    }
    r->pos = 8;
    version = gan__get_u32(r);
    if (version < 1 || version > newest)
        return gan__fail(err, GAN_ERR_FORMAT, "%s: format version %lu, this gan.h reads versions 1 to %lu", what,
                         (unsigned long)version, (unsigned long)newest);
    if (version_out) *version_out = version;
    stored = gan__le32(r->buf + size - 4);
    actual = gan_crc32(0, buf, size - 4);
    if (stored != actual)
        return gan__fail(err, GAN_ERR_FORMAT, "%s: checksum mismatch (file truncated or corrupted)", what);
    r->size = size - 4;  /* the fields end where the CRC starts */
    return GAN_OK;
}

size_t gan_save_memory(const gan *g, void *buf, size_t size, gan_error *err)
{
    gan__writer w;
    w.buf = (unsigned char *)buf; w.size = size; w.pos = 0;
    gan__put_header(&w, gan__magic_full, GAN__CHECKPOINT_VERSION);
    gan__put_config(&w, &g->cfg);
    gan__put_u64(&w, g->iterations);
    gan__put_rng(&w, &g->rng);
    gan__put_model(&w, g->G);
    gan__put_model(&w, g->D);
    gan__put_optim(&w, g->g_opt);
    gan__put_optim(&w, g->d_opt);
    if (g->g_avg) gan__put_floats(&w, g->g_avg, g->G->n_params);
    return gan__finish(&w, err);
}

gan *gan_load_memory(const void *buf, size_t size, gan_error *err)
{
    gan__reader r;
    gan_train_config cfg;
    gan_rng rng;
    uint64_t iterations;
    gan_model *G = NULL, *D = NULL;
    gan_optim *og = NULL, *od = NULL;
    gan *g = NULL;
    uint32_t version;
    if (gan__open(&r, buf, size, gan__magic_full, "checkpoint", GAN__CHECKPOINT_VERSION, &version, err)) return NULL;
    gan__get_config(&r, &cfg, version);
    iterations = gan__get_u64(&r);
    gan__get_rng(&r, &rng);
    if (r.short_read) { gan__fail(err, GAN_ERR_FORMAT, "checkpoint: file ends inside the configuration"); return NULL; }
    if (!gan__rng_valid(&rng)) { gan__fail(err, GAN_ERR_FORMAT, "checkpoint: invalid generator state"); return NULL; }
    if (!(G = gan__get_model(&r, "checkpoint generator", err))) goto fail;
    if (!(D = gan__get_model(&r, "checkpoint discriminator", err))) goto fail;
    if (gan__config_check(&cfg, G, D, err)) {
        gan__refail(err, GAN_ERR_FORMAT, "checkpoint", "invalid configuration");
        goto fail;
    }
    if (!(og = gan__get_optim(&r, G->n_params, "checkpoint generator", err))) goto fail;
    if (!(od = gan__get_optim(&r, D->n_params, "checkpoint discriminator", err))) goto fail;
    if (cfg.g_average > 0 && G->n_params > (r.size - r.pos) / 4) {
        gan__fail(err, GAN_ERR_FORMAT, "checkpoint: file ends inside the averaged generator");
        goto fail;
    }
    if (!(g = gan__new(G, D, og, od, &cfg, err))) goto fail;
    if (g->g_avg) gan__get_floats(&r, g->g_avg, G->n_params);
    if (r.short_read || r.pos != r.size || (g->g_avg && !gan__finite(g->g_avg, G->n_params))) {
        gan__fail(err, GAN_ERR_FORMAT, "checkpoint: %s",
                  r.short_read ? "file ends early" : r.pos != r.size ? "unexpected bytes at the end"
                  : "an averaged parameter is NaN or infinite");
        gan_free(g);
        return NULL;
    }
    g->rng = rng;
    g->iterations = iterations;
    gan__ok(err);
    return g;
fail:
    gan_model_free(G); gan_model_free(D);
    gan_optim_free(og); gan_optim_free(od);
    return NULL;
}

/* The generator export: z_dim, noise kind, then G, or the averaged G (gan_sampling_generator;
   only when writing, as it has G's size). */
size_t gan_save_generator_memory(const gan *g, void *buf, size_t size, gan_error *err)
{
    gan__writer w;
    gan_model *avg = NULL;
    size_t n;
    if (buf && g->g_avg && !(avg = gan_sampling_generator(g, err))) return 0;
    w.buf = (unsigned char *)buf; w.size = size; w.pos = 0;
    gan__put_header(&w, gan__magic_gen, GAN__EXPORT_VERSION);
    gan__put_u32(&w, (uint32_t)g->cfg.z_dim);
    gan__put_u32(&w, (uint32_t)g->cfg.noise);
    gan__put_model(&w, avg ? avg : g->G);
    n = gan__finish(&w, err);
    gan_model_free(avg);
    return n;
}

struct gan_sampler {
    gan_model *G;
    int z_dim, noise;
    gan_rng rng;
};

gan_sampler *gan_sampler_load_memory(const void *buf, size_t size, uint64_t seed, gan_error *err)
{
    gan__reader r;
    gan_sampler *s;
    uint32_t z_dim, noise;
    gan_model *G;
    if (gan__open(&r, buf, size, gan__magic_gen, "generator file", GAN__EXPORT_VERSION, NULL, err)) return NULL;
    z_dim = gan__get_u32(&r);
    noise = gan__get_u32(&r);
    if (r.short_read) { gan__fail(err, GAN_ERR_FORMAT, "generator file: ends inside its header"); return NULL; }
    if (noise != GAN_NOISE_UNIFORM && noise != GAN_NOISE_NORMAL) {
        gan__fail(err, GAN_ERR_FORMAT, "generator file: unknown noise kind %lu", (unsigned long)noise);
        return NULL;
    }
    if (!(G = gan__get_model(&r, "generator file", err))) return NULL;
    if ((uint32_t)G->input_dim != z_dim || r.pos != r.size) {
        gan__fail(err, GAN_ERR_FORMAT, "generator file: %s", r.pos != r.size ? "unexpected bytes at the end"
                                                                            : "z_dim differs from G's input size");
        gan_model_free(G);
        return NULL;
    }
    s = (gan_sampler *)gan__alloc(sizeof *s, err, "sampler");
    if (!s) { gan_model_free(G); return NULL; }
    s->G = G;
    s->z_dim = (int)z_dim;
    s->noise = (int)noise;
    gan_rng_seed(&s->rng, seed, 0x73616d);
    gan__ok(err);
    return s;
}

int gan_sampler_sample(gan_sampler *s, float *out, int n, gan_error *err)
{
    return gan__generate(s->G, s->z_dim, s->noise, &s->rng, out, n, err);
}
int  gan_sampler_z_dim(const gan_sampler *s)      { return s->z_dim; }
int  gan_sampler_output_dim(const gan_sampler *s) { return s->G->output_dim; }
void gan_sampler_free(gan_sampler *s)
{
    if (!s) return;
    gan_model_free(s->G);
    GAN_FREE(s);
}

#ifndef GAN_NO_STDIO
#include <errno.h>

/* A file written for a rename must be on the disk before the rename: otherwise a crash soon
   after can leave an empty or partial file under the good file's name (the rename may reach
   the disk before the data). On POSIX systems fsync makes sure; elsewhere there is only the
   rename. A strict C99 compilation hides fileno and fsync in the system headers, so they are
   declared here as POSIX defines them (C++ compilers on those systems show them anyway). */
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#if !defined(__cplusplus) && !defined(_POSIX_C_SOURCE)
int fileno(FILE *stream);
int fsync(int fd);
#endif
#define GAN__SYNC(f) (fsync(fileno(f)) == 0)
#else
#define GAN__SYNC(f) ((void)(f), 1)
#endif

void *gan_read_file(const char *path, size_t max_bytes, size_t *size, gan_error *err)
{
    FILE *f;
    long length;
    unsigned char *buf;
    if (!path || !size) { gan__fail(err, GAN_ERR_ARGUMENT, "read_file: path or size is NULL"); return NULL; }
    f = fopen(path, "rb");
    if (!f) { gan__fail(err, GAN_ERR_IO, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    /* A directory opens on Linux, and then claims LONG_MAX bytes. */
    if (fseek(f, 0, SEEK_END) != 0 || (length = ftell(f)) < 0 || length == LONG_MAX || fseek(f, 0, SEEK_SET) != 0) {
        gan__fail(err, GAN_ERR_IO, "%s: cannot find its size (not a regular file?)", path);
        fclose(f);
        return NULL;
    }
    if ((unsigned long)length > max_bytes) {
        gan__fail(err, GAN_ERR_FORMAT, "%s: %ld bytes is larger than the %lu allowed", path, length,
                  (unsigned long)max_bytes);
        fclose(f);
        return NULL;
    }
    buf = (unsigned char *)gan__alloc((size_t)length + 1, err, path);   /* and a 0 after the bytes */
    if (!buf) { fclose(f); return NULL; }
    buf[length] = 0;
    if (length && fread(buf, 1, (size_t)length, f) != (size_t)length) {
        gan__fail(err, GAN_ERR_IO, "%s: read failed", path);
        GAN_FREE(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *size = (size_t)length;
    gan__ok(err);
    return buf;
}

int gan_write_file_atomic(const char *path, const void *data, size_t n, gan_error *err)
{
    char tmp[4096];
    FILE *f;
    const char *failed = NULL;  /* the step that failed, and its errno */
    int e = 0;
    if (!path || strlen(path) + 5 > sizeof tmp) return gan__fail(err, GAN_ERR_ARGUMENT, "write: path too long or NULL");
    sprintf(tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f) return gan__fail(err, GAN_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    if (fwrite(data, 1, n, f) != n || fflush(f) != 0) { failed = "write failed"; e = errno; }
    else if (!GAN__SYNC(f)) { failed = "could not put it on the disk (fsync)"; e = errno; }
    if (fclose(f) != 0 && !failed) { failed = "close failed"; e = errno; }
    if (failed) {
        remove(tmp);
        return gan__fail(err, GAN_ERR_IO, "%s: %s: %s", tmp, failed, e ? strerror(e) : "no reason given");
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return gan__fail(err, GAN_ERR_IO, "%s: cannot rename into place: %s", path, strerror(e));
    }
    gan__ok(err);
    return GAN_OK;
}

/* Every file save: encode into one buffer (a first call with no buffer gives the size), then
   write it atomically. An encoder returns 0 when it fails (the generator export, for one,
   builds the averaged generator, which may find no memory); nothing is written then. */
typedef size_t (*gan__encoder)(const void *object, void *buf, size_t size, gan_error *err);

static int gan__save_encoded(const char *path, gan__encoder encode, const void *object, gan_error *err)
{
    gan_error local;
    size_t n;
    void *buf;
    int rc;
    if (!err) err = &local;
    if ((n = encode(object, NULL, 0, err)) == 0) return err->code;
    if (!(buf = gan__alloc(n, err, "save buffer"))) return err->code;
    rc = encode(object, buf, n, err) == n ? gan_write_file_atomic(path, buf, n, err) : err->code;
    GAN_FREE(buf);
    return rc;
}

static size_t gan__encode_full(const void *g, void *buf, size_t size, gan_error *err)
{
    return gan_save_memory((const gan *)g, buf, size, err);
}

static size_t gan__encode_generator(const void *g, void *buf, size_t size, gan_error *err)
{
    return gan_save_generator_memory((const gan *)g, buf, size, err);
}

int gan_save(const gan *g, const char *path, gan_error *err)
{
    return gan__save_encoded(path, gan__encode_full, g, err);
}

int gan_save_generator(const gan *g, const char *path, gan_error *err)
{
    return gan__save_encoded(path, gan__encode_generator, g, err);
}

gan *gan_load(const char *path, gan_error *err)
{
    size_t size;
    void *buf = gan_read_file(path, GAN_MAX_ALLOC, &size, err);
    gan *g;
    if (!buf) return NULL;
    g = gan_load_memory(buf, size, err);
    GAN_FREE(buf);
    return g;
}

gan_sampler *gan_sampler_load(const char *path, uint64_t seed, gan_error *err)
{
    size_t size;
    void *buf = gan_read_file(path, GAN_MAX_ALLOC, &size, err);
    gan_sampler *s;
    if (!buf) return NULL;
    s = gan_sampler_load_memory(buf, size, seed, err);
    GAN_FREE(buf);
    return s;
}
#endif /* GAN_NO_STDIO */

/* ---- 7. model files ---------------------------------------------------------------- */

static const char gan__magic_model[8] = {'G', 'A', 'N', 'H', 'M', 'D', 'L', '1'};

/* Header, the model exactly as a checkpoint stores it, CRC. */
size_t gan_model_save_memory(const gan_model *m, void *buf, size_t size, gan_error *err)
{
    gan__writer w;
    if (!m) { gan__fail(err, GAN_ERR_ARGUMENT, "model save: model is NULL"); return 0; }
    w.buf = (unsigned char *)buf; w.size = size; w.pos = 0;
    gan__put_header(&w, gan__magic_model, GAN__EXPORT_VERSION);
    gan__put_model(&w, m);
    return gan__finish(&w, err);
}

gan_model *gan_model_load_memory(const void *buf, size_t size, gan_error *err)
{
    gan__reader r;
    gan_model *m;
    if (gan__open(&r, buf, size, gan__magic_model, "model file", GAN__EXPORT_VERSION, NULL, err)) return NULL;
    if (!(m = gan__get_model(&r, "model file", err))) return NULL;
    if (r.pos != r.size) {
        gan__fail(err, GAN_ERR_FORMAT, "model file: unexpected bytes at the end");
        gan_model_free(m);
        return NULL;
    }
    gan__ok(err);
    return m;
}

#ifndef GAN_NO_STDIO
static size_t gan__encode_model(const void *m, void *buf, size_t size, gan_error *err)
{
    return gan_model_save_memory((const gan_model *)m, buf, size, err);
}

int gan_model_save(const gan_model *m, const char *path, gan_error *err)
{
    return gan__save_encoded(path, gan__encode_model, m, err);
}

gan_model *gan_model_load(const char *path, gan_error *err)
{
    size_t size;
    void *buf = gan_read_file(path, GAN_MAX_ALLOC, &size, err);
    gan_model *m;
    if (!buf) return NULL;
    m = gan_model_load_memory(buf, size, err);
    GAN_FREE(buf);
    return m;
}
#endif /* GAN_NO_STDIO */

/* ---- 8. IDX data files ------------------------------------------------------------- */

/* No IDX dimension is larger than this; MNIST's largest is 60,000. */
#define GAN__IDX_MAX_DIM (1 << 24)

static uint32_t gan__be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Checks an IDX header against the size of the whole file and fills out's shape (not its
   data). Returns GAN_OK and the header's length in *header_bytes. The element count is
   compared with the bytes that follow the header one factor at a time, so no product can
   overflow and nothing is allocated for a file that does not hold its data. */
static int gan__idx_parse(const unsigned char *b, size_t size, gan_idx *out, size_t *header_bytes, gan_error *err)
{
    size_t header, available, count = 1;
    int i, ndim;
    if (size >= 2 && b[0] == 0x1f && b[1] == 0x8b)
        return gan__fail(err, GAN_ERR_FORMAT, "IDX: the data is gzip-compressed (starts with 1f 8b): gunzip it "
                         "first, gan.h reads only uncompressed IDX files");
    if (size < 4)
        return gan__fail(err, GAN_ERR_FORMAT, "IDX: truncated: %lu bytes, shorter than the 4-byte magic",
                         (unsigned long)size);
    if (b[0] != 0 || b[1] != 0)
        return gan__fail(err, GAN_ERR_FORMAT, "IDX: bad magic %02x %02x %02x %02x (an IDX file starts with 00 00)",
                         b[0], b[1], b[2], b[3]);
    if (b[2] != 0x08)
        return gan__fail(err, GAN_ERR_FORMAT, "IDX: element type 0x%02x is not supported, only unsigned bytes (0x08)",
                         b[2]);
    ndim = b[3];
    if (ndim < 1 || ndim > 4)
        return gan__fail(err, GAN_ERR_FORMAT, "IDX: %d dimensions, gan.h reads 1 to 4", ndim);
    header = 4 + 4 * (size_t)ndim;
    if (size < header)
        return gan__fail(err, GAN_ERR_FORMAT, "IDX: truncated: %lu bytes, the header alone needs %lu",
                         (unsigned long)size, (unsigned long)header);
    available = size - header;
    for (i = 0; i < ndim; i++) {
        const uint32_t dim = gan__be32(b + 4 + 4 * i);
        if (dim < 1 || dim > GAN__IDX_MAX_DIM)
            return gan__fail(err, GAN_ERR_FORMAT, "IDX: dimension %d is %lu, outside [1, %d]", i, (unsigned long)dim,
                             GAN__IDX_MAX_DIM);
        if (count > available / dim)
            return gan__fail(err, GAN_ERR_FORMAT, "IDX: truncated: the dimensions describe more than the %lu data "
                             "bytes the file holds", (unsigned long)available);
        count *= dim;
        out->dims[i] = (int)dim;
    }
    if (count != available)
        return gan__fail(err, GAN_ERR_FORMAT, "IDX: %lu trailing bytes after the %lu data bytes the header describes",
                         (unsigned long)(available - count), (unsigned long)count);
    for (; i < 4; i++) out->dims[i] = 0;
    out->ndim = ndim;
    out->item_size = count / (size_t)out->dims[0];
    out->data = NULL;
    *header_bytes = header;
    return GAN_OK;
}

int gan_idx_load_memory(const void *buf, size_t size, gan_idx *out, gan_error *err)
{
    gan_idx idx;
    size_t header = 0;  /* set by gan__idx_parse, which gcc -O2 cannot see under GAN_NO_STDIO */
    if (!buf || !out) return gan__fail(err, GAN_ERR_ARGUMENT, "IDX: buffer or out is NULL");
    memset(out, 0, sizeof *out);
    if (gan__idx_parse((const unsigned char *)buf, size, &idx, &header, err)) return err ? err->code : GAN_ERR_FORMAT;
    idx.data = (unsigned char *)gan__alloc(size - header, err, "IDX data");
    if (!idx.data) return GAN_ERR_MEMORY;
    memcpy(idx.data, (const unsigned char *)buf + header, size - header);
    *out = idx;
    gan__ok(err);
    return GAN_OK;
}

void gan_idx_free(gan_idx *idx)
{
    if (!idx) return;
    if (idx->data) GAN_FREE(idx->data);
    memset(idx, 0, sizeof *idx);
}

#ifndef GAN_NO_STDIO
/* Reads the file whole, then moves the data down over the header: one allocation. */
int gan_idx_load(const char *path, gan_idx *out, gan_error *err)
{
    size_t size, header;
    unsigned char *buf;
    gan_idx idx;
    if (!out) return gan__fail(err, GAN_ERR_ARGUMENT, "IDX: out is NULL");
    memset(out, 0, sizeof *out);
    buf = (unsigned char *)gan_read_file(path, GAN_MAX_ALLOC, &size, err);
    if (!buf) return err ? err->code : GAN_ERR_IO;
    if (gan__idx_parse(buf, size, &idx, &header, err)) {
        GAN_FREE(buf);
        return gan__refail(err, err ? err->code : GAN_ERR_FORMAT, path, NULL);
    }
    memmove(buf, buf + header, size - header);
    idx.data = buf;
    *out = idx;
    gan__ok(err);
    return GAN_OK;
}

int gan_idx_save(const char *path, const unsigned char *data, int ndim, const int *dims, gan_error *err)
{
    size_t count = 1, header, k;
    unsigned char *buf;
    int i, rc;
    if (!path || !data || !dims) return gan__fail(err, GAN_ERR_ARGUMENT, "IDX save: path, data or dims is NULL");
    if (ndim < 1 || ndim > 4) return gan__fail(err, GAN_ERR_ARGUMENT, "IDX save: ndim %d out of range [1, 4]", ndim);
    for (i = 0; i < ndim; i++) {
        if (dims[i] < 1 || dims[i] > GAN__IDX_MAX_DIM)
            return gan__fail(err, GAN_ERR_ARGUMENT, "IDX save: dims[%d] = %d out of range [1, %d]", i, dims[i],
                             GAN__IDX_MAX_DIM);
        if (count > GAN_MAX_ALLOC / (size_t)dims[i])
            return gan__fail(err, GAN_ERR_MEMORY, "IDX save: more than GAN_MAX_ALLOC bytes");
        count *= (size_t)dims[i];
    }
    header = 4 + 4 * (size_t)ndim;
    if (count > GAN_MAX_ALLOC - header) return gan__fail(err, GAN_ERR_MEMORY, "IDX save: more than GAN_MAX_ALLOC bytes");
    if (!(buf = (unsigned char *)gan__alloc(header + count, err, "IDX save buffer"))) return GAN_ERR_MEMORY;
    buf[0] = 0; buf[1] = 0; buf[2] = 0x08; buf[3] = (unsigned char)ndim;
    for (i = 0; i < ndim; i++)
        for (k = 0; k < 4; k++) buf[4 + 4 * i + k] = (unsigned char)((uint32_t)dims[i] >> (24 - 8 * k));
    memcpy(buf + header, data, count);
    rc = gan_write_file_atomic(path, buf, header + count, err);
    GAN_FREE(buf);
    return rc;
}
#endif /* GAN_NO_STDIO */

/* ---- 9. images --------------------------------------------------------------------- */

/* PNG (RFC 2083): the 8-byte signature, then chunks, each length (big-endian u32), a 4-letter
   type, the data and a CRC-32 of type and data. IHDR gives the size and pixel format, IDAT
   the image as a zlib stream (RFC 1950: 2 header bytes, deflate data, Adler-32 of the raw
   bytes), IEND ends the file. The raw bytes are the scanlines, each a filter byte (0: none)
   and the row's pixels; deflate (RFC 1951) may store them verbatim in blocks of at most
   65535 bytes, each a header byte (1 on the last block), then LEN and ~LEN (little-endian). */
#define GAN__PNG_MAX_SIDE (1 << 24)
#define GAN__PNG_MAX_RAW ((uint64_t)1 << 30)
#define GAN__DEFLATE_STORED_MAX 65535u

static void gan__put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

/* Adler-32: a = 1 + sum of the bytes, b = sum of the successive a, both mod 65521. */
static uint32_t gan__adler32(uint32_t adler, const unsigned char *p, size_t n)
{
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (n > 0) {
        size_t k, run = n < 5552 ? n : 5552;  /* 5552 bytes cannot overflow b before the mod */
        for (k = 0; k < run; k++) { a += p[k]; b += a; }
        a %= 65521; b %= 65521;
        p += run; n -= run;
    }
    return b << 16 | a;
}

/* Writes a chunk's length, type and data at p (data already in place when data is NULL)
   and its CRC; returns the bytes taken. */
static size_t gan__png_chunk(unsigned char *p, const char type[4], const unsigned char *data, size_t n)
{
    gan__put_be32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    if (data) memcpy(p + 8, data, n);
    gan__put_be32(p + 8 + n, gan_crc32(0, p + 4, n + 4));
    return n + 12;
}

size_t gan_png_encode_gray(const unsigned char *pixels, int width, int height, void *buf, size_t size,
                           gan_error *err)
{
    static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13], *out = (unsigned char *)buf, *p;
    size_t raw, blocks, idat, total, done, block, pos;
    uint32_t adler = 1;
    if (width < 1 || width > GAN__PNG_MAX_SIDE || height < 1 || height > GAN__PNG_MAX_SIDE) {
        gan__fail(err, GAN_ERR_ARGUMENT, "PNG: size %d x %d out of range [1, %d]", width, height, GAN__PNG_MAX_SIDE);
        return 0;
    }
    if (!pixels) { gan__fail(err, GAN_ERR_ARGUMENT, "PNG: pixels is NULL"); return 0; }
    /* Scanline bytes, below 2^49 in 64 bits, then capped so that every size fits a size_t. */
    if ((uint64_t)height * ((uint64_t)width + 1) > GAN__PNG_MAX_RAW) {
        gan__fail(err, GAN_ERR_ARGUMENT, "PNG: %d x %d is more than 2^30 bytes of scanlines", width, height);
        return 0;
    }
    raw = (size_t)height * ((size_t)width + 1);
    blocks = (raw + GAN__DEFLATE_STORED_MAX - 1) / GAN__DEFLATE_STORED_MAX;
    idat = 2 + 5 * blocks + raw + 4;
    total = 8 + (12 + 13) + (12 + idat) + 12;
    if (!buf) { gan__ok(err); return total; }
    if (size < total) {
        gan__fail(err, GAN_ERR_ARGUMENT, "PNG: buffer of %lu bytes is smaller than the %lu needed",
                  (unsigned long)size, (unsigned long)total);
        return 0;
    }
    memcpy(out, signature, 8);
    pos = 8;
    gan__put_be32(ihdr, (uint32_t)width);
    gan__put_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;    /* bits per sample */
    ihdr[9] = 0;    /* colour type: grayscale */
    ihdr[10] = 0;   /* compression: deflate */
    ihdr[11] = 0;   /* filter method: adaptive (every row uses filter 0) */
    ihdr[12] = 0;   /* no interlace */
    pos += gan__png_chunk(out + pos, "IHDR", ihdr, 13);

    /* IDAT's data, written in place: zlib header 78 01 (deflate, 32K window, no dictionary;
       0x7801 is a multiple of 31), the stored blocks, then Adler-32. Raw byte r is column
       r % (width + 1) of scanline r / (width + 1), column 0 being the filter byte. */
    p = out + pos + 8;
    *p++ = 0x78; *p++ = 0x01;
    for (done = 0; done < raw; done += block) {
        const size_t stride = (size_t)width + 1;
        size_t r;
        block = raw - done < GAN__DEFLATE_STORED_MAX ? raw - done : GAN__DEFLATE_STORED_MAX;
        *p++ = (unsigned char)(done + block == raw);    /* BFINAL on the last block, BTYPE 00 */
        *p++ = (unsigned char)block; *p++ = (unsigned char)(block >> 8);
        *p++ = (unsigned char)~block; *p++ = (unsigned char)(~block >> 8);
        for (r = done; r < done + block; r++) {
            const size_t column = r % stride;
            *p++ = column == 0 ? 0 : pixels[r / stride * (size_t)width + column - 1];
        }
        adler = gan__adler32(adler, p - block, block);
    }
    gan__put_be32(p, adler);
    p += 4;
    GAN_ASSERT((size_t)(p - (out + pos + 8)) == idat && done == raw);
    pos += gan__png_chunk(out + pos, "IDAT", NULL, idat);
    pos += gan__png_chunk(out + pos, "IEND", NULL, 0);
    GAN_ASSERT(pos == total);
    gan__ok(err);
    return total;
}

#ifndef GAN_NO_STDIO
typedef struct gan__gray_image { const unsigned char *pixels; int width, height; } gan__gray_image;

static size_t gan__encode_png(const void *image, void *buf, size_t size, gan_error *err)
{
    const gan__gray_image *im = (const gan__gray_image *)image;
    return gan_png_encode_gray(im->pixels, im->width, im->height, buf, size, err);
}

int gan_png_write_gray(const char *path, const unsigned char *pixels, int width, int height, gan_error *err)
{
    gan__gray_image im;
    im.pixels = pixels; im.width = width; im.height = height;
    return gan__save_encoded(path, gan__encode_png, &im, err);
}
#endif /* GAN_NO_STDIO */

/* Pixel = round_half_up(255 (v - lo) / (hi - lo)), clamped to [0, 255]. */
void gan_image_grid(unsigned char *dst, const float *images, int n, int h, int w, int rows, int cols, int pad,
                    float lo, float hi)
{
    const double scale = 255.0 / ((double)hi - lo);
    size_t H, W;
    int i, y, x;
    if (!dst || h < 1 || w < 1 || rows < 1 || cols < 1 || pad < 0 || !(hi > lo)) return;
    H = (size_t)rows * h + ((size_t)rows + 1) * pad;
    W = (size_t)cols * w + ((size_t)cols + 1) * pad;
    memset(dst, 0, H * W);
    if (!images) return;
    for (i = 0; i < n && (size_t)i < (size_t)rows * cols; i++) {
        const float *img = images + (size_t)i * h * w;
        unsigned char *tile = dst + ((size_t)(i / cols) * ((size_t)h + pad) + pad) * W + (size_t)(i % cols) * ((size_t)w + pad) + pad;
        for (y = 0; y < h; y++)
            for (x = 0; x < w; x++) {
                const double v = floor(((double)img[(size_t)y * w + x] - lo) * scale + 0.5);
                tile[(size_t)y * W + x] = (unsigned char)(v >= 255 ? 255 : v > 0 ? v : 0);  /* NaN -> 0 */
            }
    }
}

/* ---- 10. evaluation ---------------------------------------------------------------- */

/* mean_j = sum_i x_ij / n; cov_jk = sum_i (x_ij - mean_j)(x_ik - mean_k) / (n - 1), in double,
   upper triangle accumulated and mirrored. */
int gan_mean_cov(const float *x, int n, int d, double *mean, double *cov, gan_error *err)
{
    int i, j, k;
    if (!x || !mean || !cov) return gan__fail(err, GAN_ERR_ARGUMENT, "mean_cov: x, mean or cov is NULL");
    if (n < 2 || d < 1 || d > GAN__MAX_DIM)
        return gan__fail(err, GAN_ERR_ARGUMENT, "mean_cov: needs n >= 2 rows (got %d) and d in [1, %d] (got %d)",
                         n, GAN__MAX_DIM, d);
    for (j = 0; j < d; j++) mean[j] = 0;
    for (i = 0; i < n; i++)
        for (j = 0; j < d; j++) mean[j] += x[(size_t)i * d + j];
    for (j = 0; j < d; j++) mean[j] /= n;
    for (j = 0; j < d; j++) for (k = 0; k < d; k++) cov[(size_t)j * d + k] = 0;
    for (i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        for (j = 0; j < d; j++) {
            const double a = xi[j] - mean[j];
            double *cj = cov + (size_t)j * d;
            for (k = j; k < d; k++) cj[k] += a * (xi[k] - mean[k]);
        }
    }
    for (j = 0; j < d; j++)
        for (k = j; k < d; k++) {
            cov[(size_t)j * d + k] /= n - 1;
            cov[(size_t)k * d + j] = cov[(size_t)j * d + k];
        }
    for (j = 0; j < d; j++)
        if (!isfinite(mean[j])) return gan__fail(err, GAN_ERR_NONFINITE, "mean_cov: column %d is not finite", j);
    gan__ok(err);
    return GAN_OK;
}

/* Cyclic Jacobi (Golub & Van Loan, Matrix Computations, 8.5): sweep over every pair p < q
   and zero a_pq with the rotation J that has c on the diagonal at p, q, J_pq = s, J_qp = -s:
     tau = (a_qq - a_pp) / (2 a_pq),  t = sign(tau) / (|tau| + sqrt(1 + tau^2)),
     c = 1 / sqrt(1 + t^2),  s = t c,  A <- J^T A J,  V <- V J.
   J^T A J changes only rows and columns p and q: for k not p or q,
     a_pk <- c a_pk - s a_qk,  a_qk <- s a_pk + c a_qk   (and the same in the columns),
     a_pp <- a_pp - t a_pq,    a_qq <- a_qq + t a_pq,    a_pq <- 0.
   Rows are updated and mirrored into the columns; V is kept transposed (one eigenvector per
   row) so that its update runs along rows too. The off-diagonal mass falls quadratically
   once small; stop when it is below 1e-30 of the total (|a_pq| about 1e-15 of the matrix). */
int gan_sym_eigen(const double *a, int n, double *eigenvalues, double *eigenvectors, gan_error *err)
{
    double *A, *VT = NULL, total = 0;
    int *order;
    int i, j, k, p, q, sweep;
    if (!a || !eigenvalues) return gan__fail(err, GAN_ERR_ARGUMENT, "sym_eigen: a or eigenvalues is NULL");
    if (n < 1 || n > 4096) return gan__fail(err, GAN_ERR_ARGUMENT, "sym_eigen: n %d out of range [1, 4096]", n);
    for (k = 0; k < n * n; k++)
        if (!isfinite(a[k])) return gan__fail(err, GAN_ERR_NONFINITE, "sym_eigen: the matrix has a non-finite entry");
    /* Scratch: A (n, n), V^T (n, n) if eigenvectors are wanted, the sort order (n ints). */
    A = (double *)gan__alloc(sizeof(double) * (size_t)n * n * (eigenvectors ? 2 : 1) + sizeof(int) * (size_t)n, err,
                             "sym_eigen scratch");
    if (!A) return GAN_ERR_MEMORY;
    if (eigenvectors) VT = A + (size_t)n * n;
    order = (int *)(A + (size_t)n * n * (eigenvectors ? 2 : 1));
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++) {
            A[(size_t)i * n + j] = 0.5 * (a[(size_t)i * n + j] + a[(size_t)j * n + i]);
            total += A[(size_t)i * n + j] * A[(size_t)i * n + j];
            if (VT) VT[(size_t)i * n + j] = i == j;
        }
    for (sweep = 0; sweep < 100; sweep++) {
        double off = 0;
        for (p = 0; p < n; p++) for (q = p + 1; q < n; q++) off += 2 * A[(size_t)p * n + q] * A[(size_t)p * n + q];
        if (off <= 1e-30 * total) break;
        for (p = 0; p < n - 1; p++)
            for (q = p + 1; q < n; q++) {
                double *Ap = A + (size_t)p * n, *Aq = A + (size_t)q * n;
                const double apq = Ap[q], app = Ap[p], aqq = Aq[q];
                double tau, t, c, s;
                if (apq == 0) continue;
                tau = (aqq - app) / (2 * apq);
                t = fabs(tau) > 1e150 ? 0.5 / tau : (tau >= 0 ? 1 : -1) / (fabs(tau) + sqrt(1 + tau * tau));
                c = 1 / sqrt(1 + t * t);
                s = t * c;
                for (k = 0; k < n; k++) {
                    const double apk = Ap[k], aqk = Aq[k];
                    Ap[k] = c * apk - s * aqk;
                    Aq[k] = s * apk + c * aqk;
                }
                Ap[p] = app - t * apq;
                Aq[q] = aqq + t * apq;
                Ap[q] = Aq[p] = 0;
                for (k = 0; k < n; k++) {
                    if (k == p || k == q) continue;
                    A[(size_t)k * n + p] = Ap[k];
                    A[(size_t)k * n + q] = Aq[k];
                }
                if (VT) {
                    double *Vp = VT + (size_t)p * n, *Vq = VT + (size_t)q * n;
                    for (k = 0; k < n; k++) {
                        const double vp = Vp[k], vq = Vq[k];
                        Vp[k] = c * vp - s * vq;
                        Vq[k] = s * vp + c * vq;
                    }
                }
            }
    }
    if (sweep == 100) {
        GAN_FREE(A);
        return gan__fail(err, GAN_ERR_NONFINITE, "sym_eigen: Jacobi did not converge in 100 sweeps");
    }
    /* Ascending order (insertion sort of the indices; stable), then the outputs. */
    for (i = 0; i < n; i++) {
        const double v = A[(size_t)i * n + i];
        for (j = i; j > 0 && A[(size_t)order[j - 1] * n + order[j - 1]] > v; j--) order[j] = order[j - 1];
        order[j] = i;
    }
    for (i = 0; i < n; i++) {
        eigenvalues[i] = A[(size_t)order[i] * n + order[i]];
        if (VT) for (k = 0; k < n; k++) eigenvectors[(size_t)k * n + i] = VT[(size_t)order[i] * n + k];
    }
    GAN_FREE(A);
    gan__ok(err);
    return GAN_OK;
}

/* C = A B for (n, n) matrices, row by row: C_i = sum_k A_ik B_k (rows read in order). */
static void gan__matmul_d(double *C, const double *A, const double *B, int n)
{
    int i, j, k;
    for (i = 0; i < n; i++) {
        double *Ci = C + (size_t)i * n;
        for (j = 0; j < n; j++) Ci[j] = 0;
        for (k = 0; k < n; k++) {
            const double aik = A[(size_t)i * n + k];
            const double *Bk = B + (size_t)k * n;
            for (j = 0; j < n; j++) Ci[j] += aik * Bk[j];
        }
    }
}

/* With S1 = V diag(l) V^T, R = S1^(1/2) = V diag(sqrt(l)) V^T; M = R S2 R is symmetric
   positive semi-definite and tr(M^(1/2)) = sum_i sqrt(eig_i(M)). */
double gan_frechet_distance(const double *mu1, const double *cov1, const double *mu2, const double *cov2, int d,
                            gan_error *err)
{
    double *V, *R, *T, *lambda, dist = 0, tr_sqrt = 0;
    size_t dd;
    int i, j, k;
    if (!mu1 || !cov1 || !mu2 || !cov2) { gan__fail(err, GAN_ERR_ARGUMENT, "frechet: an argument is NULL"); return -1; }
    if (d < 1 || d > 4096) { gan__fail(err, GAN_ERR_ARGUMENT, "frechet: d %d out of range [1, 4096]", d); return -1; }
    for (i = 0; i < d; i++)
        if (!isfinite(mu1[i]) || !isfinite(mu2[i])) {
            gan__fail(err, GAN_ERR_NONFINITE, "frechet: a mean is not finite");
            return -1;
        }
    dd = (size_t)d * d;
    V = (double *)gan__alloc(sizeof(double) * (3 * dd + d), err, "frechet scratch");
    if (!V) return -1;
    R = V + dd; T = R + dd; lambda = T + dd;
    if (gan_sym_eigen(cov1, d, lambda, V, err)) { GAN_FREE(V); return -1; }
    /* R = V diag(sqrt(max(l, 0))) V^T: T = V diag(sqrt l) first. */
    for (i = 0; i < d; i++)
        for (j = 0; j < d; j++) T[(size_t)i * d + j] = V[(size_t)i * d + j] * sqrt(lambda[j] > 0 ? lambda[j] : 0);
    for (i = 0; i < d; i++)
        for (j = 0; j < d; j++) {
            double s = 0;
            for (k = 0; k < d; k++) s += T[(size_t)i * d + k] * V[(size_t)j * d + k];
            R[(size_t)i * d + j] = s;
        }
    /* T = S2 R, then V = R T = R S2 R (V is free again). */
    gan__matmul_d(T, cov2, R, d);
    gan__matmul_d(V, R, T, d);
    if (gan_sym_eigen(V, d, lambda, NULL, err)) { GAN_FREE(V); return -1; }
    for (i = 0; i < d; i++) tr_sqrt += sqrt(lambda[i] > 0 ? lambda[i] : 0);
    for (i = 0; i < d; i++) {
        const double diff = mu1[i] - mu2[i];
        dist += diff * diff + cov1[(size_t)i * d + i] + cov2[(size_t)i * d + i];
    }
    GAN_FREE(V);
    dist -= 2 * tr_sqrt;
    gan__ok(err);
    return dist > 0 ? dist : 0;
}

/* IS = exp(mean_x KL(p(y|x) || p(y))), KL = sum_y p(y|x) (log p(y|x) - log p(y)), 0 log 0 = 0. */
double gan_inception_score(const float *probs, int n, int classes, int splits, double *std_out, gan_error *err)
{
    double *marginal, sum = 0, sum_sq = 0, mean;
    int s, i, k;
    if (!probs) { gan__fail(err, GAN_ERR_ARGUMENT, "inception score: probs is NULL"); return -1; }
    if (classes < 1 || classes > GAN__MAX_DIM || splits < 1 || n < splits) {
        gan__fail(err, GAN_ERR_ARGUMENT, "inception score: needs classes >= 1, splits >= 1 and n >= splits "
                  "(n %d, classes %d, splits %d)", n, classes, splits);
        return -1;
    }
    for (i = 0; i < n; i++) {
        double row = 0;
        for (k = 0; k < classes; k++) {
            const float p = probs[(size_t)i * classes + k];
            if (!(p >= 0 && p <= 1)) {
                gan__fail(err, GAN_ERR_ARGUMENT, "inception score: probs[%d][%d] = %g is not a probability", i, k,
                          (double)p);
                return -1;
            }
            row += p;
        }
        if (fabs(row - 1) > 1e-3) {
            gan__fail(err, GAN_ERR_ARGUMENT, "inception score: row %d sums to %g, not 1", i, row);
            return -1;
        }
    }
    marginal = (double *)gan__alloc(sizeof(double) * (size_t)classes, err, "inception score scratch");
    if (!marginal) return -1;
    for (s = 0; s < splits; s++) {
        const int begin = (int)((long long)s * n / splits), end = (int)((long long)(s + 1) * n / splits);
        double kl = 0, score;
        for (k = 0; k < classes; k++) marginal[k] = 0;
        for (i = begin; i < end; i++)
            for (k = 0; k < classes; k++) marginal[k] += probs[(size_t)i * classes + k];
        for (k = 0; k < classes; k++) marginal[k] /= end - begin;
        for (i = begin; i < end; i++)
            for (k = 0; k < classes; k++) {
                const double p = probs[(size_t)i * classes + k];
                if (p > 0) kl += p * (log(p) - log(marginal[k]));
            }
        score = exp(kl / (end - begin));
        sum += score;
        sum_sq += score * score;
    }
    GAN_FREE(marginal);
    mean = sum / splits;
    if (std_out) { const double var = sum_sq / splits - mean * mean; *std_out = var > 0 ? sqrt(var) : 0; }
    gan__ok(err);
    return mean;
}

#endif /* GAN_IMPLEMENTATION_DONE */
#endif /* GAN_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the gan.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
