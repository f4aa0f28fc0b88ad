/* plot.h - SVG charts for the example programs: line charts, scatter plots, small multiples.

   Not part of gan.h: a small header of static inline functions that the examples include
   after gan.h (it saves files with gan_write_file_atomic). libc and libm only; the SVG it writes opens in any browser. C99, also compiles as C++.

   THE QUICK WAY: a whole line chart in one call

       plot_series s[2] = {
           { "D loss", iters, d_loss, n, NULL },      // x may be NULL: 0, 1, ..., n-1
           { "G loss", iters, g_loss, n, NULL }       // color NULL: the palette's next
       };
       plot_ref refs[1] = { { 0.693, "ln 2" } };      // dashed horizontal reference lines
       plot_chart c = plot_chart_defaults("Losses", "iteration", "loss");
       c.ymin = 0; c.ymax = 3;                        // leave both 0 to fit the data
       if (plot_line_chart("out/losses.svg", &c, s, 2, refs, 1))
           fprintf(stderr, "cannot write out/losses.svg: %s\n", strerror(errno));

   BUILDING A FIGURE BY HAND (what plot_line_chart does, and how small multiples are made)

       plot_svg svg;
       plot_begin(&svg, width, height);               // white page, default font
       plot_frame f = plot_frame_make(x0, y0, w, h, xmin, xmax, ymin, ymax);  // pixel box + data range
       plot_axes(&svg, &f, "title", "x label", "y label");  // frame, grid, ticks, labels, clip region
       plot_polyline(&svg, &f, x, y, n, 1, "#1f77b4", 1.5);  // stride: 2 for interleaved (x, y) pairs
       plot_points(&svg, &f, x, y, n, 1, "#ff7f0e", 2.0, 0.6);  // radius, opacity
       plot_marker(&svg, &f, x, y, PLOT_DIAMOND, "#d62728", 7); // a big marked point (a centroid)
       plot_hline(&svg, &f, y, "#555555", "2 ln 2");  // dashed line across the frame, labelled
       plot_legend(&svg, x, y, items, n_items);       // in page pixels; items are plot_legend_item
       plot_legend_row(&svg, x, y, items, n_items);   // the same in one row (above small multiples)
       plot_text(&svg, x, y, PLOT_MIDDLE, 14, "Samples at %d", it);  // printf-style, XML-escaped
       plot_end(&svg);
       plot_save(&svg, path);                         // path.tmp, then rename: 0 or -1 with errno
       plot_free(&svg);

   plot_buffer_begin(&t) starts an empty text buffer that plot_printf appends to (CSV files).
   Colors: plot_color(i) is the i-th of the ten tab10 colors (the series default).
   Data ranges: plot_data_range(v, n, stride, &lo, &hi) widens [lo, hi] to cover the finite
   values (start with lo = +HUGE_VAL, hi = -HUGE_VAL); plot_nice_range(&lo, &hi) rounds outwards
   to tick steps. Non-finite values are skipped everywhere (a polyline breaks there). Drawing
   is clipped to its frame. Every function returns nothing or 0/-1; after an allocation
   failure the figure stays marked failed and plot_save refuses it (errno ENOMEM).

   The API above is stable: other examples rely on it. */
#ifndef PLOT_H
#define PLOT_H

#include "../gan.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every function is static inline: private to the file that includes this, and no warning
   for the ones it does not use. */
#define PLOT_API static inline

/* The palette (matplotlib's tab10), used in order when a series has no color. */
PLOT_API const char *plot_color(int i)
{
    static const char *const palette[] = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf" };
    return palette[(i % 10 + 10) % 10];
}

enum { PLOT_START = 0, PLOT_MIDDLE, PLOT_END };                       /* text anchors */
enum { PLOT_LINE = 0, PLOT_DOT, PLOT_DIAMOND, PLOT_CROSS, PLOT_DASH }; /* legend / marker shapes */

typedef struct plot_svg {
    char *buf;          /* the document so far, NUL-terminated */
    size_t len, cap;
    int failed;         /* an allocation failed: the document is incomplete */
    int clips;          /* clip paths handed out so far */
} plot_svg;

/* A chart's box on the page (pixels, y down) and the data range it shows. */
typedef struct plot_frame {
    double x0, y0, w, h;
    double xmin, xmax, ymin, ymax;
    int clip;           /* its clip path id (set by plot_axes; 0 = none) */
} plot_frame;

typedef struct plot_series {
    const char *label;
    const float *x;     /* NULL: the index 0, 1, ..., n-1 */
    const float *y;
    int n;
    const char *color;  /* NULL: the palette, in order */
} plot_series;

typedef struct plot_ref {
    double y;           /* a horizontal reference line at this value */
    const char *label;
} plot_ref;

typedef struct plot_legend_item {
    const char *label;
    const char *color;
    int shape;          /* PLOT_LINE, PLOT_DOT, PLOT_DIAMOND, PLOT_CROSS or PLOT_DASH */
} plot_legend_item;

typedef struct plot_chart {
    const char *title, *xlabel, *ylabel;
    double xmin, xmax, ymin, ymax;  /* min == max: fit that axis to the data */
    int width, height;              /* pixels */
} plot_chart;

/* ---- the document ------------------------------------------------------------------ */

PLOT_API void plot_vprintf(plot_svg *s, const char *fmt, va_list ap)
{
    va_list again;
    int n;
    if (s->failed) return;
    va_copy(again, ap);
    n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
    if (n < 0) { s->failed = 1; va_end(again); return; }
    if ((size_t)n >= s->cap - s->len) {
        size_t cap = s->cap * 2 > s->len + (size_t)n + 1 ? s->cap * 2 : s->len + (size_t)n + 1024;
        char *p = (char *)realloc(s->buf, cap);
        if (!p) { s->failed = 1; va_end(again); return; }
        s->buf = p;
        s->cap = cap;
        vsnprintf(s->buf + s->len, s->cap - s->len, fmt, again);
    }
    va_end(again);
    s->len += (size_t)n;
}

PLOT_API void plot_printf(plot_svg *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    plot_vprintf(s, fmt, ap);
    va_end(ap);
}

/* An empty text buffer: plot_printf appends to it (handy for CSV files too). */
PLOT_API void plot_buffer_begin(plot_svg *s)
{
    s->cap = 1 << 16;
    s->len = 0;
    s->clips = 0;
    s->buf = (char *)malloc(s->cap);
    s->failed = s->buf == NULL;
    if (s->failed) s->cap = 0;
    else s->buf[0] = 0;
}

PLOT_API void plot_begin(plot_svg *s, int width, int height)
{
    plot_buffer_begin(s);
    plot_printf(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                   "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
                   "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n",
                width, height, width, height, width, height);
}

PLOT_API void plot_end(plot_svg *s) { plot_printf(s, "</svg>\n"); }

PLOT_API void plot_free(plot_svg *s)
{
    free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
}

/* Writes the document through gan.h's gan_write_file_atomic (path.tmp, then a rename over
   path: never half a file). Returns 0, or -1 with errno set. */
PLOT_API int plot_save(const plot_svg *s, const char *path)
{
    if (s->failed || !s->buf) { errno = ENOMEM; return -1; }
    if (gan_write_file_atomic(path, s->buf, s->len, NULL) != GAN_OK) { if (!errno) errno = EIO; return -1; }
    return 0;
}

/* Text with &, <, >, " escaped, so labels may hold anything. */
PLOT_API void plot_text(plot_svg *s, double x, double y, int anchor, double size, const char *fmt, ...)
{
    static const char *const anchors[] = { "start", "middle", "end" };
    char raw[512];
    const char *p;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    plot_printf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%g\">", x, y,
                anchors[anchor < 0 || anchor > 2 ? 0 : anchor], size);
    for (p = raw; *p; p++) {
        switch (*p) {
        case '&': plot_printf(s, "&amp;"); break;
        case '<': plot_printf(s, "&lt;"); break;
        case '>': plot_printf(s, "&gt;"); break;
        case '"': plot_printf(s, "&quot;"); break;
        default: plot_printf(s, "%c", *p); break;
        }
    }
    plot_printf(s, "</text>\n");
}

/* ---- ranges and ticks ---------------------------------------------------------------- */

PLOT_API void plot_data_range(const float *v, int n, int stride, double *lo, double *hi)
{
    int i;
    for (i = 0; i < n; i++) {
        const double x = v[(size_t)i * stride];
        if (!isfinite(x)) continue;
        if (x < *lo) *lo = x;
        if (x > *hi) *hi = x;
    }
}

/* A tick step of 1, 2 or 5 times a power of ten that cuts [lo, hi] into about `target` parts. */
PLOT_API double plot_tick_step(double lo, double hi, int target)
{
    const double raw = (hi - lo) / (target > 0 ? target : 5);
    const double mag = pow(10.0, floor(log10(raw)));
    const double r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

/* Widens [lo, hi] outwards to whole tick steps; an empty or one-point range gets some width. */
PLOT_API void plot_nice_range(double *lo, double *hi)
{
    double step;
    if (!(*lo <= *hi)) { *lo = 0; *hi = 1; return; }
    if (*hi - *lo < 1e-12 * (fabs(*lo) + fabs(*hi)) || *hi == *lo) {
        const double pad = *lo != 0 ? fabs(*lo) * 0.1 : 1;
        *lo -= pad;
        *hi += pad;
    }
    step = plot_tick_step(*lo, *hi, 5);
    *lo = floor(*lo / step + 1e-9) * step;
    *hi = ceil(*hi / step - 1e-9) * step;
}

/* ---- frames, axes and marks -------------------------------------------------------------- */

PLOT_API plot_frame plot_frame_make(double x0, double y0, double w, double h, double xmin, double xmax, double ymin,
                                    double ymax)
{
    plot_frame f;
    f.x0 = x0; f.y0 = y0; f.w = w; f.h = h;
    f.xmin = xmin; f.xmax = xmax > xmin ? xmax : xmin + 1;
    f.ymin = ymin; f.ymax = ymax > ymin ? ymax : ymin + 1;
    f.clip = 0;
    return f;
}

PLOT_API double plot_px(const plot_frame *f, double x) { return f->x0 + (x - f->xmin) / (f->xmax - f->xmin) * f->w; }
PLOT_API double plot_py(const plot_frame *f, double y)
{
    return f->y0 + f->h - (y - f->ymin) / (f->ymax - f->ymin) * f->h;
}

/* A tick label: %g with few digits, and no "-0". */
PLOT_API void plot_tick_label(char *out, size_t size, double v, double step)
{
    if (fabs(v) < step * 1e-6) v = 0;
    if (fabs(v) < 1e7 && step >= 1 && v == floor(v)) snprintf(out, size, "%.0f", v);
    else snprintf(out, size, "%.4g", v);
}

/* Grid, frame, ticks with labels, the title above and the axis labels; then sets up the
   frame's clip path, so that later marks stay inside it. Any label may be NULL. */
PLOT_API void plot_axes(plot_svg *s, plot_frame *f, const char *title, const char *xlabel, const char *ylabel)
{
    const double xstep = plot_tick_step(f->xmin, f->xmax, f->w > 300 ? 6 : 4);
    const double ystep = plot_tick_step(f->ymin, f->ymax, f->h > 250 ? 6 : 4);
    char label[64];
    double v;
    f->clip = ++s->clips;
    plot_printf(s, "<clipPath id=\"clip%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n",
                f->clip, f->x0, f->y0, f->w, f->h);
    plot_printf(s, "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n");
    for (v = ceil(f->xmin / xstep - 1e-9) * xstep; v <= f->xmax + xstep * 1e-9; v += xstep)
        plot_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", plot_px(f, v), f->y0, plot_px(f, v),
                    f->y0 + f->h);
    for (v = ceil(f->ymin / ystep - 1e-9) * ystep; v <= f->ymax + ystep * 1e-9; v += ystep)
        plot_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->x0, plot_py(f, v), f->x0 + f->w,
                    plot_py(f, v));
    plot_printf(s, "</g>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n",
                f->x0, f->y0, f->w, f->h);
    plot_printf(s, "<g fill=\"#333\">\n");
    for (v = ceil(f->xmin / xstep - 1e-9) * xstep; v <= f->xmax + xstep * 1e-9; v += xstep) {
        plot_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", plot_px(f, v),
                    f->y0 + f->h, plot_px(f, v), f->y0 + f->h + 4);
        plot_tick_label(label, sizeof label, v, xstep);
        plot_text(s, plot_px(f, v), f->y0 + f->h + 16, PLOT_MIDDLE, 11, "%s", label);
    }
    for (v = ceil(f->ymin / ystep - 1e-9) * ystep; v <= f->ymax + ystep * 1e-9; v += ystep) {
        plot_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", f->x0 - 4,
                    plot_py(f, v), f->x0, plot_py(f, v));
        plot_tick_label(label, sizeof label, v, ystep);
        plot_text(s, f->x0 - 6, plot_py(f, v) + 4, PLOT_END, 11, "%s", label);
    }
    if (title) plot_text(s, f->x0 + f->w / 2, f->y0 - 8, PLOT_MIDDLE, 14, "%s", title);
    if (xlabel) plot_text(s, f->x0 + f->w / 2, f->y0 + f->h + 34, PLOT_MIDDLE, 12, "%s", xlabel);
    if (ylabel) {
        plot_printf(s, "<g transform=\"translate(%.1f %.1f) rotate(-90)\">\n", f->x0 - 48, f->y0 + f->h / 2);
        plot_text(s, 0, 0, PLOT_MIDDLE, 12, "%s", ylabel);
        plot_printf(s, "</g>\n");
    }
    plot_printf(s, "</g>\n");
}

PLOT_API void plot_clip_open(plot_svg *s, const plot_frame *f)
{
    if (f->clip) plot_printf(s, "<g clip-path=\"url(#clip%d)\">\n", f->clip);
    else plot_printf(s, "<g>\n");
}

/* A line through (x[i*stride], y[i*stride]); x NULL means x = i. Breaks at non-finite values. */
PLOT_API void plot_polyline(plot_svg *s, const plot_frame *f, const float *x, const float *y, int n, int stride,
                            const char *color, double width)
{
    int i, open = 0;
    plot_clip_open(s, f);
    for (i = 0; i < n; i++) {
        const double xv = x ? x[(size_t)i * stride] : i, yv = y[(size_t)i * stride];
        if (!isfinite(xv) || !isfinite(yv)) {
            if (open) plot_printf(s, "\"/>\n");
            open = 0;
            continue;
        }
        if (!open)
            plot_printf(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%g\" stroke-linejoin=\"round\" "
                           "points=\"", color, width);
        plot_printf(s, "%s%.1f,%.1f", open ? " " : "", plot_px(f, xv), plot_py(f, yv));
        open = 1;
    }
    if (open) plot_printf(s, "\"/>\n");
    plot_printf(s, "</g>\n");
}

/* Dots of the given radius and opacity at (x[i*stride], y[i*stride]). */
PLOT_API void plot_points(plot_svg *s, const plot_frame *f, const float *x, const float *y, int n, int stride,
                          const char *color, double radius, double opacity)
{
    int i;
    plot_clip_open(s, f);
    plot_printf(s, "<g fill=\"%s\" fill-opacity=\"%g\">\n", color, opacity);
    for (i = 0; i < n; i++) {
        const double xv = x[(size_t)i * stride], yv = y[(size_t)i * stride];
        if (!isfinite(xv) || !isfinite(yv)) continue;
        plot_printf(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%g\"/>\n", plot_px(f, xv), plot_py(f, yv), radius);
    }
    plot_printf(s, "</g>\n</g>\n");
}

/* One shape of half-size r centred at page pixel (cx, cy), outlined in black. */
PLOT_API void plot_shape(plot_svg *s, double cx, double cy, int shape, const char *color, double r)
{
    switch (shape) {
    case PLOT_DIAMOND:
        plot_printf(s, "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%s\" stroke=\"black\" "
                       "stroke-width=\"1.2\"/>\n", cx, cy - r, cx + r, cy, cx, cy + r, cx - r, cy, color);
        break;
    case PLOT_CROSS:
        plot_printf(s, "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
                    cx - r, cy - r, cx + r, cy + r, cx - r, cy + r, cx + r, cy - r, color);
        break;
    case PLOT_DOT:
        plot_printf(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%g\" fill=\"%s\"/>\n", cx, cy, r, color);
        break;
    case PLOT_DASH:
        plot_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
                       "stroke-dasharray=\"6 4\"/>\n", cx - 2 * r, cy, cx + 2 * r, cy, color);
        break;
    default:
        plot_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                    cx - 2 * r, cy, cx + 2 * r, cy, color);
        break;
    }
}

/* A big marked point in data coordinates (a centroid, say); not clipped, so it stays visible. */
PLOT_API void plot_marker(plot_svg *s, const plot_frame *f, double x, double y, int shape, const char *color, double r)
{
    double px, py;
    if (!isfinite(x) || !isfinite(y)) return;
    px = plot_px(f, x); py = plot_py(f, y);
    px = px < f->x0 ? f->x0 : px > f->x0 + f->w ? f->x0 + f->w : px;
    py = py < f->y0 ? f->y0 : py > f->y0 + f->h ? f->y0 + f->h : py;
    plot_shape(s, px, py, shape, color, r);
}

/* A dashed horizontal line at data value y across the frame, labelled above its left end. */
PLOT_API void plot_hline(plot_svg *s, const plot_frame *f, double y, const char *color, const char *label)
{
    double py;
    if (!(y >= f->ymin && y <= f->ymax)) return;
    py = plot_py(f, y);
    plot_printf(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
                   "stroke-dasharray=\"6 4\"/>\n", f->x0, py, f->x0 + f->w, py, color);
    if (label) {  /* a white halo keeps the label readable over the data */
        plot_printf(s, "<g fill=\"%s\" stroke=\"white\" stroke-width=\"3\" paint-order=\"stroke\">\n", color);
        plot_text(s, f->x0 + 6, py - 5, PLOT_START, 11, "%s", label);
        plot_printf(s, "</g>\n");
    }
}

/* A legend box with its top-left corner at page pixel (x, y), one item per row. */
PLOT_API void plot_legend(plot_svg *s, double x, double y, const plot_legend_item *items, int n)
{
    int i;
    size_t longest = 0;
    for (i = 0; i < n; i++) if (items[i].label && strlen(items[i].label) > longest) longest = strlen(items[i].label);
    plot_printf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"white\" fill-opacity=\"0.9\" "
                   "stroke=\"#999\"/>\n", x, y, 40 + 6.8 * (double)longest, 8 + 18 * n);
    for (i = 0; i < n; i++) {
        const double cy = y + 13 + 18 * i;
        plot_shape(s, x + 16, cy, items[i].shape, items[i].color, items[i].shape == PLOT_DOT ? 4 : 5);
        plot_printf(s, "<g fill=\"#222\">\n");
        plot_text(s, x + 32, cy + 4, PLOT_START, 12, "%s", items[i].label ? items[i].label : "");
        plot_printf(s, "</g>\n");
    }
}

/* The same legend laid out in one row, starting at page pixel (x, y) (the row's top). */
PLOT_API void plot_legend_row(plot_svg *s, double x, double y, const plot_legend_item *items, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        const char *label = items[i].label ? items[i].label : "";
        plot_shape(s, x + 12, y + 9, items[i].shape, items[i].color, items[i].shape == PLOT_DOT ? 4 : 5);
        plot_printf(s, "<g fill=\"#222\">\n");
        plot_text(s, x + 26, y + 13, PLOT_START, 12, "%s", label);
        plot_printf(s, "</g>\n");
        x += 46 + 6.8 * (double)strlen(label);
    }
}

/* ---- a whole line chart ---------------------------------------------------------------- */

PLOT_API plot_chart plot_chart_defaults(const char *title, const char *xlabel, const char *ylabel)
{
    plot_chart c;
    memset(&c, 0, sizeof c);
    c.title = title; c.xlabel = xlabel; c.ylabel = ylabel;
    c.width = 760; c.height = 440;
    return c;
}

/* Series as lines, references as dashed lines, a legend at the top right; written to path.
   Returns 0, or -1 with errno set. */
PLOT_API int plot_line_chart(const char *path, const plot_chart *c, const plot_series *series, int n_series,
                             const plot_ref *refs, int n_refs)
{
    static const char *const ref_colors[] = { "#555555", "#999999", "#bb4444", "#44aa44" };
    plot_legend_item items[32];
    const int n_items = n_series + n_refs < 32 ? n_series + n_refs : 32;
    double xmin = c->xmin, xmax = c->xmax, ymin = c->ymin, ymax = c->ymax;
    const int width = c->width > 0 ? c->width : 760, height = c->height > 0 ? c->height : 440;
    plot_svg s;
    plot_frame f;
    int i, rc;
    if (xmin == xmax) {
        xmin = HUGE_VAL; xmax = -HUGE_VAL;
        for (i = 0; i < n_series; i++) {
            if (series[i].x) plot_data_range(series[i].x, series[i].n, 1, &xmin, &xmax);
            else if (series[i].n > 0) {
                if (0 < xmin) xmin = 0;
                if (series[i].n - 1 > xmax) xmax = series[i].n - 1;
            }
        }
        plot_nice_range(&xmin, &xmax);
    }
    if (ymin == ymax) {
        ymin = HUGE_VAL; ymax = -HUGE_VAL;
        for (i = 0; i < n_series; i++) plot_data_range(series[i].y, series[i].n, 1, &ymin, &ymax);
        for (i = 0; i < n_refs; i++) {
            if (refs[i].y < ymin) ymin = refs[i].y;
            if (refs[i].y > ymax) ymax = refs[i].y;
        }
        plot_nice_range(&ymin, &ymax);
    }
    plot_begin(&s, width, height);
    f = plot_frame_make(70, 36, width - 90, height - 90, xmin, xmax, ymin, ymax);
    plot_axes(&s, &f, c->title, c->xlabel, c->ylabel);
    for (i = 0; i < n_series; i++) {
        const char *color = series[i].color ? series[i].color : plot_color(i);
        plot_polyline(&s, &f, series[i].x, series[i].y, series[i].n, 1, color, 1.4);
        if (i < n_items) { items[i].label = series[i].label; items[i].color = color; items[i].shape = PLOT_LINE; }
    }
    for (i = 0; i < n_refs; i++) plot_hline(&s, &f, refs[i].y, ref_colors[i % 4], refs[i].label);
    for (i = n_series; i < n_items; i++) {
        items[i].label = refs[i - n_series].label;
        items[i].color = ref_colors[(i - n_series) % 4];
        items[i].shape = PLOT_DASH;
    }
    {
        size_t longest = 0;
        for (i = 0; i < n_items; i++)
            if (items[i].label && strlen(items[i].label) > longest) longest = strlen(items[i].label);
        plot_legend(&s, f.x0 + f.w - 50 - 6.8 * (double)longest, f.y0 + 10, items, n_items);
    }
    plot_end(&s);
    rc = plot_save(&s, path);
    plot_free(&s);
    return rc;
}

#endif /* PLOT_H */
