/*
 * Sparse int8 weights x activations for the encoder's Linear layers, WebAssembly SIMD128.
 *
 * Weights stationary, tokens as SIMD lanes (the scheme of XNNPACK's sparse 1x1 convolutions and
 * DeepSparse): activations are stored transposed, X[in][ld] (one row per input feature, the tokens
 * contiguous, ld = tokens rounded up to 8), and for each non-zero w[o, i] of output row o
 *     Y[o, :] += w[o, i] * X[i, :]
 * so every load of X is a contiguous run of tokens: no gather, no transposes in the inner loop.
 *
 * Weight layout (built once at load by spmm.ts from the exporter's mask/gaps storage), by output row:
 *   row_start[o] .. row_start[o + 1]   the row's entries, an even count (a row with an odd number of
 *                                      non-zeros gets one padding entry: column 0, value 0)
 *   cols[k]   uint16 input index       vals[k]   int8 value        scale[o]  float, per output row
 * 3 bytes a non-zero + 8 bytes a row.
 *
 * Two kernels over that layout, both computing output rows [o0, o1) for all ld tokens:
 *   spmm_f32  float activations: per non-zero, splat the weight and multiply-add 4 tokens a vector.
 *   spmm_i8   int8 activations held in int16 lanes: per *pair* of non-zeros, interleave the two
 *             input rows and let i32x4.dot_i16x8_s do 2 multiply-adds a lane (exact integers;
 *             |x|, |w| <= 127, so 3072 inputs sum to < 2^26, no overflow).
 * Y[o, t] = scale[o] * (x_scale for spmm_i8) * sum_k vals[k] * X[cols[k], t].
 *
 * Loop order: tiles of TILE tokens outermost, then output rows, then blocks of 32 tokens (8
 * accumulators in registers; blocks of 8 for the rest). A row's entries are read once per tile,
 * back to back (so once per Linear at 128 tokens, not once per 32-token block), while the tile of
 * X (in x TILE) stays in cache.
 * No memory is written but Y; no stack, no globals: one instance per thread over shared memory.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define INLINE static inline __attribute__((always_inline))
#define TILE 128 /* tokens a tile: X's tile is in x 128 x 2 or 4 bytes (196 KB or 393 KB at in = 768) */

/* One block of NV float vectors (4 * NV tokens starting at token t) of output row o. */
INLINE void f32_block(const uint16_t *cols, const int8_t *vals, uint32_t k0, uint32_t k1, float s,
                      const float *X, float *yrow, int ld, int t, const int NV) {
  v128_t acc[8];
  for (int j = 0; j < NV; j++) acc[j] = wasm_f32x4_splat(0.0f);
  for (uint32_t k = k0; k < k1; k++) {
    const v128_t w = wasm_f32x4_splat((float)vals[k]);
    const float *x = X + (uint32_t)cols[k] * (uint32_t)ld + t;
    for (int j = 0; j < NV; j++) acc[j] = wasm_f32x4_add(acc[j], wasm_f32x4_mul(w, wasm_v128_load(x + 4 * j)));
  }
  const v128_t sv = wasm_f32x4_splat(s);
  for (int j = 0; j < NV; j++) wasm_v128_store(yrow + t + 4 * j, wasm_f32x4_mul(acc[j], sv));
}

EXPORT("spmm_f32")
void spmm_f32(const uint32_t *row_start, const uint16_t *cols, const int8_t *vals, const float *scale,
              const float *X, float *Y, int o0, int o1, int ld) {
  for (int t0 = 0; t0 < ld; t0 += TILE) {
    const int t1 = t0 + TILE < ld ? t0 + TILE : ld;
    for (int o = o0; o < o1; o++) {
      const uint32_t k0 = row_start[o], k1 = row_start[o + 1];
      int t = t0;
      for (; t + 32 <= t1; t += 32) f32_block(cols, vals, k0, k1, scale[o], X, Y + o * ld, ld, t, 8);
      for (; t < t1; t += 8) f32_block(cols, vals, k0, k1, scale[o], X, Y + o * ld, ld, t, 2);
    }
  }
}

/* One block of NV int16x8 vectors (8 * NV tokens from t) of output row o; entries taken in pairs. */
INLINE void i8_block(const uint16_t *cols, const int8_t *vals, uint32_t k0, uint32_t k1, float s,
                     const int16_t *X, float *yrow, int ld, int t, const int NV) {
  v128_t acc[8]; /* NV vectors of 8 tokens = 2 * NV int32x4 accumulators, low and high halves */
  v128_t acch[8];
  for (int j = 0; j < NV; j++) acc[j] = acch[j] = wasm_i32x4_splat(0);
  for (uint32_t k = k0; k < k1; k += 2) {
    /* (w_a, w_b) as an int16 pair in every 32-bit lane, to meet the interleaved (x_a, x_b) pairs. */
    const v128_t w = wasm_i32x4_splat((int32_t)(uint16_t)(int16_t)vals[k] | ((int32_t)vals[k + 1] << 16));
    const int16_t *xa = X + (uint32_t)cols[k] * (uint32_t)ld + t;
    const int16_t *xb = X + (uint32_t)cols[k + 1] * (uint32_t)ld + t;
    for (int j = 0; j < NV; j++) {
      const v128_t a = wasm_v128_load(xa + 8 * j), b = wasm_v128_load(xb + 8 * j);
      const v128_t lo = wasm_i16x8_shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11); /* tokens 0..3 */
      const v128_t hi = wasm_i16x8_shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15); /* tokens 4..7 */
      acc[j] = wasm_i32x4_add(acc[j], wasm_i32x4_dot_i16x8(lo, w));
      acch[j] = wasm_i32x4_add(acch[j], wasm_i32x4_dot_i16x8(hi, w));
    }
  }
  const v128_t sv = wasm_f32x4_splat(s);
  for (int j = 0; j < NV; j++) {
    wasm_v128_store(yrow + t + 8 * j, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[j]), sv));
    wasm_v128_store(yrow + t + 8 * j + 4, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acch[j]), sv));
  }
}

EXPORT("spmm_i8")
void spmm_i8(const uint32_t *row_start, const uint16_t *cols, const int8_t *vals, const float *scale,
             float x_scale, const int16_t *X, float *Y, int o0, int o1, int ld) {
  for (int t0 = 0; t0 < ld; t0 += TILE) {
    const int t1 = t0 + TILE < ld ? t0 + TILE : ld;
    for (int o = o0; o < o1; o++) {
      const uint32_t k0 = row_start[o], k1 = row_start[o + 1];
      int t = t0;
      for (; t + 32 <= t1; t += 32) i8_block(cols, vals, k0, k1, scale[o] * x_scale, X, Y + o * ld, ld, t, 4);
      for (; t < t1; t += 8) i8_block(cols, vals, k0, k1, scale[o] * x_scale, X, Y + o * ld, ld, t, 1);
    }
  }
}

/* Largest |x| over n floats (n a multiple of 4): the per-tensor scale of dynamic int8 quantization. */
EXPORT("abs_max")
float abs_max(const float *x, int n) {
  v128_t m = wasm_f32x4_splat(0.0f);
  for (int i = 0; i < n; i += 4) m = wasm_f32x4_max(m, wasm_f32x4_abs(wasm_v128_load(x + i)));
  float a = wasm_f32x4_extract_lane(m, 0), b = wasm_f32x4_extract_lane(m, 1);
  float c = wasm_f32x4_extract_lane(m, 2), d = wasm_f32x4_extract_lane(m, 3);
  a = a > b ? a : b;
  c = c > d ? c : d;
  return a > c ? a : c;
}

/* q[i] = round-to-nearest-even(x[i] * inv_scale), clamped to [-127, 127], as int16 (n a multiple of 8). */
EXPORT("quantize_i8")
void quantize_i8(const float *x, int16_t *q, int n, float inv_scale) {
  const v128_t s = wasm_f32x4_splat(inv_scale), lo = wasm_f32x4_splat(-127.0f), hi = wasm_f32x4_splat(127.0f);
  for (int i = 0; i < n; i += 8) {
    v128_t a = wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + i), s));
    v128_t b = wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + i + 4), s));
    a = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_pmin(wasm_f32x4_pmax(a, lo), hi));
    b = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_pmin(wasm_f32x4_pmax(b, lo), hi));
    wasm_v128_store(q + i, wasm_i16x8_narrow_i32x4(a, b));
  }
}
