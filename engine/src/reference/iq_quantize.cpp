// Quantization to ggml's grid i-quants: ggml-quants.c's quantize_row_iq*_impl, reproduced
// operation for operation (the same float operations in the same order, the same ties), so
// the bytes agree with llama.cpp's quantizer bit for bit. Where ggml requires an importance
// matrix (iq2_xxs, iq2_xs, iq1_s) the importance is uniform (quant_blocks.h).
//
// The shape of every search: per group of 8 (or 4) elements the magnitudes are rounded to
// levels at a trial scale; the levels either name a grid point, or the code is off the grid
// and the nearest grid points (a neighbour list made once per grid, as ggml's
// iq2xs_init_impl / iq3xs_init_impl) are tried; the trial scale whose points fit best by
// least squares wins. Signs are stored beside the points, scales per 16 or 32 elements.
//
// ggml is not defined on NaN or inf (its searches then find no point and abort). Here a
// super-block holding any is quantized as if those values were 0, so the rest of the
// block survives, and every search falls back to a valid point when its comparisons fail
// (finite values so large that the sums overflow): no input indexes outside a table.
#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "reference/iq_grids.h"
#include "reference/ops.h"
#include "reference/quant_blocks.h"

namespace archscope::reference {
namespace {

// Below these a group counts as all zeros (ggml's GROUP_MAX_EPS*).
constexpr float kGroupMaxEps = 1e-15f;
constexpr float kGroupMaxEpsIq3Xxs = 1e-8f;
constexpr float kGroupMaxEpsIq2S = 1e-8f;
constexpr float kGroupMaxEpsIq1M = 1e-7f;
constexpr float kGroupMaxEpsIq1S = 1e-12f;

// Round to nearest, ties to even, by ggml's trick: adding 1.5 * 2^23 leaves the integer in
// the low mantissa bits. Exact for |x| < 2^22; for NaN, inf or larger values it returns
// some int (no undefined behaviour) that callers clamp, as ggml's does.
int nearest_int(float fval) {
  const float val = fval + 12582912.f;
  int i;
  std::memcpy(&i, &val, sizeof(int));
  return (i & 0x007fffff) - 0x00400000;
}

// ggml's MAX macro: a > b ? a : b (so a NaN b replaces a, a NaN a is replaced).
float fmax_ggml(float a, float b) { return a > b ? a : b; }
int clamp_level(int l, int max_level) { return std::max(0, std::min(max_level, l)); }

// ---- Grid search tables.

// One grid as the searches see it: each point's levels as odd coordinates 2 r + 1 (r the
// level's rank among the grid's distinct byte values, e.g. 8, 25, 43 -> 1, 3, 5), a map
// from a packed level code (`bits` per element, element 0 lowest) to the point's index,
// and for every code that is no point, its neighbours: the points at the `nwant` smallest
// distinct squared distances, by distance then index. The same tables as ggml builds from
// its kgrid_* lists, which are these ranks (checked when this was written).
struct GridSearch {
  int elements = 0;  // per point: 8 or 4
  int bits = 0;      // per element in a code: 2 or 3
  std::vector<std::array<int8_t, 8>> points;
  std::vector<int32_t> map;  // >= 0: a point; else -1 - (offset of its list in neighbours)
  std::vector<uint16_t> neighbours;  // per off-grid code: count, then that many indexes

  // The neighbour list of a code that names no point.
  const uint16_t* neighbours_of(int code) const { return neighbours.data() + (-1 - map[code]); }
};

template <class Word, size_t N>
GridSearch make_grid_search(const std::array<Word, N>& grid, int elements, int bits, int map_size, int nwant) {
  GridSearch g;
  g.elements = elements;
  g.bits = bits;
  std::vector<int8_t> levels;
  for (Word p : grid)
    for (int j = 0; j < elements; ++j) levels.push_back(static_cast<int8_t>(grid_byte(p, j)));
  std::sort(levels.begin(), levels.end());
  levels.erase(std::unique(levels.begin(), levels.end()), levels.end());

  g.points.resize(N);
  g.map.assign(size_t(map_size), -1);
  for (size_t k = 0; k < N; ++k) {
    int code = 0;
    for (int j = 0; j < elements; ++j) {
      const auto rank = std::find(levels.begin(), levels.end(), static_cast<int8_t>(grid_byte(grid[k], j))) - levels.begin();
      g.points[k][j] = static_cast<int8_t>(2 * rank + 1);
      code |= int(rank) << (bits * j);
    }
    g.map[code] = int32_t(k);
  }

  // Squared distances of every point to a code's coordinates; the nwant smallest distinct
  // values, then the points at them in (distance, index) order, as ggml's qsort of
  // (distance, index) pairs and cut yield.
  std::vector<int> d2(N);
  std::vector<int> count;
  for (int code = 0; code < map_size; ++code) {
    if (g.map[code] >= 0) continue;
    int pos[8];
    for (int j = 0; j < elements; ++j) pos[j] = 2 * ((code >> (bits * j)) & ((1 << bits) - 1)) + 1;
    int largest = 0;
    for (size_t k = 0; k < N; ++k) {
      int d = 0;
      for (int j = 0; j < elements; ++j) d += (g.points[k][j] - pos[j]) * (g.points[k][j] - pos[j]);
      d2[k] = d;
      largest = std::max(largest, d);
    }
    count.assign(size_t(largest) + 1, 0);
    for (int d : d2) ++count[size_t(d)];
    int cut = 0;  // the largest distance kept
    for (int d = 0, have = 0; d <= largest && have < nwant; ++d) {
      if (count[size_t(d)]) {
        ++have;
        cut = d;
      }
    }
    g.map[code] = -1 - int32_t(g.neighbours.size());
    const size_t start = g.neighbours.size();
    g.neighbours.push_back(0);
    for (int d = 0; d <= cut; ++d) {
      if (!count[size_t(d)]) continue;
      for (size_t k = 0; k < N; ++k)
        if (d2[k] == d) g.neighbours.push_back(uint16_t(k));
    }
    g.neighbours[start] = uint16_t(g.neighbours.size() - start - 1);
  }
  return g;
}

// Made on first use, once (thread-safe), ggml's kmap sizes: 2-bit codes of levels 0..2
// reach 0xAAAA; 3-bit codes of 4 elements fill 12 bits. ggml's nwant per grid.
const GridSearch& iq2xxs_search() {
  static const GridSearch g = make_grid_search(kIq2xxsGrid, 8, 2, 43692, 2);
  return g;
}
const GridSearch& iq2xs_search() {
  static const GridSearch g = make_grid_search(kIq2xsGrid, 8, 2, 43692, 2);
  return g;
}
const GridSearch& iq2s_search() {
  static const GridSearch g = make_grid_search(kIq2sGrid, 8, 2, 43692, 1);
  return g;
}
const GridSearch& iq1s_search() {  // iq1_s and iq1_m
  static const GridSearch g = make_grid_search(kIq1sGrid, 8, 2, 43692, 3);
  return g;
}
const GridSearch& iq3xxs_search() {
  static const GridSearch g = make_grid_search(kIq3xxsGrid, 4, 3, 4096, 2);
  return g;
}
const GridSearch& iq3s_search() {
  static const GridSearch g = make_grid_search(kIq3sGrid, 4, 3, 4096, 3);
  return g;
}

// The code of levels L[0..elements). Every level the searches make is clamped to the
// grid's range (0..2 for the 2-bit codes, 0..7 for the 3-bit), so every code is inside the
// map: at most 0xAAAA < 43692, or 4095 < 4096.
int pack_code(const GridSearch& g, const int8_t* L) {
  int code = 0;
  for (int j = 0; j < g.elements; ++j) code |= L[j] << (g.bits * j);
  return code;
}

// L[j] = the level of point k, element j.
void levels_of_point(const GridSearch& g, int k, int8_t* L) {
  for (int j = 0; j < g.elements; ++j) L[j] = static_cast<int8_t>((g.points[k][j] - 1) / 2);
}

// The neighbour of least weighted squared error at `scale` (ggml's iq2/iq3_find_best_
// neighbour); writes its levels to L. The first neighbour when no error compares smaller
// than FLT_MAX (NaN or overflowing sums, where ggml aborts).
int best_neighbour(const GridSearch& g, int code, const float* xval, const float* weight, float scale, int8_t* L) {
  const uint16_t* list = g.neighbours_of(code);
  float best_d2 = FLT_MAX;
  int grid_index = list[1];
  for (int n = 1; n <= list[0]; ++n) {
    const int8_t* pg = g.points[list[n]].data();
    float d2 = 0;
    for (int i = 0; i < g.elements; ++i) {
      const float q = pg[i];
      const float diff = scale * q - xval[i];
      d2 += weight[i] * diff * diff;
    }
    if (d2 < best_d2) {
      best_d2 = d2;
      grid_index = list[n];
    }
  }
  levels_of_point(g, grid_index, L);
  return grid_index;
}

// Levels of the group at inverse scale id: round 0.5 (id x - 1), clamp to 0..max_level.
// Returns whether they name a point; if not, L becomes the best neighbour at `scale`.
bool round_group(const GridSearch& g, float id, float scale, int max_level, const float* xval, const float* waux,
                 int8_t* L) {
  for (int i = 0; i < g.elements; ++i) L[i] = static_cast<int8_t>(clamp_level(nearest_int(0.5f * (id * xval[i] - 1)), max_level));
  const int code = pack_code(g, L);
  if (g.map[code] >= 0) return true;
  best_neighbour(g, code, xval, waux, scale, L);
  return false;
}

// The grid index of levels that name a point (every L the searches keep does).
int point_index(const GridSearch& g, const int8_t* L) { return g.map[pack_code(g, L)]; }

// Least-squares fit of x by scale * (2 L + 1): sum w x q and sum w q^2.
void fit_sums(int n, const float* weight, const float* xval, const int8_t* L, float* sumqx, float* sumq2) {
  float qx = 0, q2 = 0;
  for (int i = 0; i < n; ++i) {
    const float w = weight[i];
    const float q = 2 * L[i] + 1;
    qx += w * xval[i] * q;
    q2 += w * q * q;
  }
  *sumqx = qx;
  *sumq2 = q2;
}

// ---- Signs.

// Magnitudes of 8 elements into xval; returns their sign bits, with the eighth sign
// forced so that the count of negatives is even (the 7-bit sign types): when odd, the
// element of least w x^2 takes the wrong sign (its xval becomes negative).
uint8_t even_signs(const float* xb, const float* weight, float* xval) {
  int nflip = 0;
  uint8_t s = 0;
  for (int i = 0; i < 8; ++i) {
    if (xb[i] >= 0) {
      xval[i] = xb[i];
    } else {
      xval[i] = -xb[i];
      ++nflip;
      s |= static_cast<uint8_t>(1 << i);
    }
  }
  if (nflip % 2) {
    int imin = 0;
    float min = weight[imin] * xb[imin] * xb[imin];
    for (int i = 1; i < 8; ++i) {
      const float ax = weight[i] * xb[i] * xb[i];
      if (ax < min) {
        min = ax;
        imin = i;
      }
    }
    xval[imin] = -xval[imin];
    s ^= static_cast<uint8_t>(1 << imin);
  }
  return s & 127;
}

// Magnitudes of 8 elements into xval; returns all 8 sign bits (iq2_s, iq3_s).
uint8_t plain_signs(const float* xb, float* xval) {
  uint8_t s = 0;
  for (int i = 0; i < 8; ++i) {
    if (xb[i] >= 0) {
      xval[i] = xb[i];
    } else {
      xval[i] = -xb[i];
      s |= static_cast<uint8_t>(1 << i);
    }
  }
  return s;
}

// ---- Shared pieces of the quantizers.

// A super-block's values with NaN and inf replaced by 0, or x itself when it has none.
const float* finite_superblock(const float* x, float* copy) {
  bool finite = true;
  for (int i = 0; i < kQK_K; ++i) finite = finite && std::isfinite(x[i]);
  if (finite) return x;
  for (int i = 0; i < kQK_K; ++i) copy[i] = std::isfinite(x[i]) ? x[i] : 0.0f;
  return copy;
}

float sum_of_squares(const float* x) {
  float sumx2 = 0;
  for (int i = 0; i < kQK_K; ++i) sumx2 += x[i] * x[i];
  return sumx2;
}

// The scale search of iq2_xs, iq2_s, iq3_xxs and iq3_s on one group of n elements (points
// of g.elements): trial inverse scales (2 max_q - 1 + step is) / max for is in
// -range..range; each rounds every point and keeps the least-squares scale of the best
// trial. Points that were off the grid in the winner are then re-rounded at its scale
// (all points when `reround_all`) and the scale refitted. Returns the scale (>= 0 for
// finite input; NaN only from overflowing sums) and the points' levels in L.
struct ScaleSearch {
  int max_q;           // levels per element (kMaxQ)
  int range;           // trial steps either side
  float step;          // trial step of the inverse scale numerator
  bool start_on_grid;  // ggml's initial is_on_grid[] (iq3_s starts from "off")
  bool reround_all;
};

float search_scale(const GridSearch& g, const ScaleSearch& s, int n, float max, const float* xval,
                   const float* weight, const float* waux, int8_t* L) {
  const int points = n / g.elements;
  int8_t Laux[32];
  bool on_grid[8], on_grid_aux[8];
  float best = 0;
  float scale = max / (2 * s.max_q - 1);
  for (int k = 0; k < points; ++k) on_grid[k] = s.start_on_grid;
  for (int is = -s.range; is <= s.range; ++is) {
    const float id = (2 * s.max_q - 1 + is * s.step) / max;
    const float this_scale = 1 / id;
    for (int k = 0; k < points; ++k) {
      const int e = g.elements * k;
      on_grid_aux[k] = round_group(g, id, this_scale, s.max_q - 1, xval + e, waux + e, Laux + e);
    }
    float sumqx, sumq2;
    fit_sums(n, weight, xval, Laux, &sumqx, &sumq2);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      scale = sumqx / sumq2;
      best = scale * sumqx;
      std::copy(Laux, Laux + n, L);
      std::copy(on_grid_aux, on_grid_aux + points, on_grid);
    }
  }
  const bool any_off_grid = std::find(on_grid, on_grid + points, false) != on_grid + points;
  if (any_off_grid && scale > 0) {
    const float id = 1 / scale;
    for (int k = 0; k < points; ++k) {
      if (on_grid[k] && !s.reround_all) continue;
      const int e = g.elements * k;
      round_group(g, id, scale, s.max_q - 1, xval + e, waux + e, L + e);
    }
    float sumqx, sumq2;
    fit_sums(n, weight, xval, L, &sumqx, &sumq2);
    if (sumq2 > 0) scale = sumqx / sumq2;
  }
  return scale;
}

// Where ggml asserts scale >= 0 (NaN from overflow): a zero scale on the all-zero-level point.
void contain_nan_scale(float* scale, int8_t* L, int n) {
  if (!std::isnan(*scale)) return;
  *scale = 0;
  std::fill(L, L + n, int8_t{0});
}

// 4-bit super-block scale code of a group scale: round 0.5 (scale / d - 1), 0..15.
int scale_code(float id, float scale, int max_code) { return clamp_level(nearest_int(0.5f * (id * scale - 1)), max_code); }

// ggml's make_qp_quants: levels 0..nmax (stored as uint8, so a negative rounding wraps,
// as there) for x ~ scale * L, best of 9 trial scales, then up to 5 passes moving single
// levels while the weighted fit improves. Returns the least-squares scale.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* quant_weights) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = fmax_ggml(max, x[i]);
  if (max < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = nmax / max;
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(nearest_int(iscale * x[i]));
  const float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * L[i];
    const float w = quant_weights[i];
    best_mse += w * diff * diff;
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float iscale_is = (0.1f * is + nmax) / max;
    const float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::min(nmax, nearest_int(iscale_is * x[i]));
      const float diff = x[i] - scale_is * l;
      const float w = quant_weights[i];
      mse += w * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest_int(iscale * x[i]));
    L[i] = static_cast<uint8_t>(l);
    const float w = quant_weights[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = quant_weights[i];
      float slx = sumlx - w * x[i] * L[i];
      float sl2 = suml2 - w * L[i] * L[i];
      if (slx > 0 && sl2 > 0) {
        const int new_l = std::min(nmax, nearest_int(x[i] * sl2 / slx));
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<uint8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (!n_changed) break;
  }
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// ---- iq1: levels -1, 0, 1 plus or minus a delta, searched exactly.

// The elements of a group in ascending order (ggml's qsort of (value, index) pairs on the
// value: glibc's qsort is a stable merge sort there, so ties keep index order).
void sort_by_value(int n, const float* xb, int* idx) {
  for (int j = 0; j < n; ++j) idx[j] = j;
  std::stable_sort(idx, idx + n, [xb](int a, int b) { return xb[a] < xb[b]; });
}

// The best point for off-grid levels, scored with the group's shifted levels xx (ggml's
// iq1_find_best_neighbour2); the first neighbour when no error compares below FLT_MAX.
int iq1_best_neighbour(const GridSearch& g, int code, const float* xval, const float* weight, float scale,
                       const float* xx, int8_t* L) {
  const uint16_t* list = g.neighbours_of(code);
  float best_score = FLT_MAX;
  int grid_index = list[1];
  for (int n = 1; n <= list[0]; ++n) {
    const int8_t* pg = g.points[list[n]].data();
    float d2 = 0;
    for (int i = 0; i < 8; ++i) {
      const float q = xx[(pg[i] - 1) / 2];
      const float w = weight[i];
      const float diff = scale * q - xval[i];
      d2 += w * diff * diff;
    }
    if (d2 < best_score) {
      best_score = d2;
      grid_index = list[n];
    }
  }
  levels_of_point(g, grid_index, L);
  return grid_index;
}

// The shifted levels of iq1: level - 1 + delta (shift +1) or level - 1 - delta (-1).
constexpr float kIq1Plus[3] = {-1 + kIq1Delta, kIq1Delta, 1 + kIq1Delta};
constexpr float kIq1Minus[3] = {-1 - kIq1Delta, -kIq1Delta, 1 - kIq1Delta};

}  // namespace

// ---- IQ2_XXS: 8 elements a point of 256, 7 sign bits, a 4-bit scale per 32.

void quantize_row_iq2_xxs(const float* src, uint8_t* dst, int64_t n) {
  const GridSearch& g = iq2xxs_search();
  constexpr int kMaxQ = 3;
  float copy[kQK_K];
  int8_t L[32] = {};  // (ggml keeps L between groups; every path below rewrites it)
  for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
    const float* xbl = finite_superblock(src + ibl * kQK_K, copy);
    BlockIQ2_XXS b{};
    uint32_t q2[2 * (kQK_K / 32)] = {};
    float scales[kQK_K / 32];
    float max_scale = 0;
    const float sigma2 = sum_of_squares(xbl) / kQK_K;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const float* xb = xbl + 32 * ib;
      float weight[32], waux[32], xval[32];
      uint8_t block_signs[4];
      for (int i = 0; i < 32; ++i) weight[i] = std::sqrt(sigma2 + xb[i] * xb[i]);  // importance 1
      for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
      for (int k = 0; k < 4; ++k) block_signs[k] = even_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k);
      float max = xval[0];
      for (int i = 1; i < 32; ++i) max = fmax_ggml(max, xval[i]);
      if (max < kGroupMaxEps) {
        scales[ib] = 0;
        std::fill(L, L + 32, int8_t{0});
        continue;
      }
      // Starting scale from make_qp_quants, then 13 trial scales around its largest level.
      float scale = make_qp_quants(32, kMaxQ + 1, xval, reinterpret_cast<uint8_t*>(L), weight);
      const float eff_max = scale * kMaxQ;
      if (eff_max <= 0) {
        scales[ib] = 0;
        std::fill(L, L + 32, int8_t{0});
        continue;
      }
      float best = 0;
      for (int is = -6; is <= 6; ++is) {
        const float id = (2 * kMaxQ - 1 + is * 0.1f) / eff_max;
        const float this_scale = 1 / id;
        int8_t Laux[32];
        for (int k = 0; k < 4; ++k) round_group(g, id, this_scale, kMaxQ - 1, xval + 8 * k, waux + 8 * k, Laux + 8 * k);
        float sumqx, sumq2;
        fit_sums(32, weight, xval, Laux, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
          scale = sumqx / sumq2;
          best = scale * sumqx;
          std::copy(Laux, Laux + 32, L);
        }
      }
      if (scale > 0) {  // every point re-rounded at the winning scale
        const float id = 1 / scale;
        for (int k = 0; k < 4; ++k) round_group(g, id, scale, kMaxQ - 1, xval + 8 * k, waux + 8 * k, L + 8 * k);
        float sumqx, sumq2;
        fit_sums(32, weight, xval, L, &sumqx, &sumq2);
        if (sumq2 > 0) scale = sumqx / sumq2;
      }
      if (scale < 0) {  // (ggml: "should never happen") flip the scale and the signs
        scale = -scale;
        for (int k = 0; k < 4; ++k) block_signs[k] = (~block_signs[k]) & 127;
      }
      contain_nan_scale(&scale, L, 32);
      for (int k = 0; k < 4; ++k) {
        q2[2 * ib + 0] |= uint32_t(point_index(g, L + 8 * k)) << (8 * k);
        q2[2 * ib + 1] |= uint32_t(block_signs[k]) << (7 * k);
      }
      scales[ib] = scale;
      max_scale = fmax_ggml(max_scale, scale);
    }
    if (max_scale) {
      const float d = max_scale / 31;
      b.d = f32_to_fp16(d);
      const float id = 1 / d;
      for (int ib = 0; ib < kQK_K / 32; ++ib) q2[2 * ib + 1] |= uint32_t(scale_code(id, scales[ib], 15)) << 28;
      std::memcpy(b.qs, q2, sizeof(b.qs));
    }
    store_block(b, dst, ibl);
  }
}

// ---- IQ2_XS: 8 elements a point of 512 with 7 sign bits in one 16-bit word, a 4-bit
// scale per 16.

void quantize_row_iq2_xs(const float* src, uint8_t* dst, int64_t n) {
  const GridSearch& g = iq2xs_search();
  const ScaleSearch search{3, 9, 0.1f, true, false};
  float copy[kQK_K];
  for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
    const float* xbl = finite_superblock(src + ibl * kQK_K, copy);
    BlockIQ2_XS b{};
    uint16_t q2[kQK_K / 8] = {};
    float scales[kQK_K / 16];
    float max_scale = 0;
    const float sigma2 = sum_of_squares(xbl) / kQK_K;
    for (int ib = 0; ib < kQK_K / 16; ++ib) {
      const float* xb = xbl + 16 * ib;
      float weight[16], waux[16], xval[16];
      int8_t L[16] = {};
      uint8_t block_signs[2];
      for (int i = 0; i < 16; ++i) weight[i] = std::sqrt(sigma2 + xb[i] * xb[i]);  // importance 1
      for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
      for (int k = 0; k < 2; ++k) block_signs[k] = even_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k);
      float max = xval[0];
      for (int i = 1; i < 16; ++i) max = fmax_ggml(max, xval[i]);
      if (max < kGroupMaxEps) {
        scales[ib] = 0;
        continue;
      }
      float scale = search_scale(g, search, 16, max, xval, weight, waux, L);
      if (scale < 0) {
        scale = -scale;
        for (int k = 0; k < 2; ++k) block_signs[k] = (~block_signs[k]) & 127;
      }
      contain_nan_scale(&scale, L, 16);
      for (int k = 0; k < 2; ++k) {
        q2[2 * ib + k] = static_cast<uint16_t>(point_index(g, L + 8 * k) | (block_signs[k] << 9));
      }
      scales[ib] = scale;
      max_scale = fmax_ggml(max_scale, scale);
    }
    if (max_scale) {
      const float d = max_scale / 31;
      b.d = f32_to_fp16(d);
      const float id = 1 / d;
      for (int ib = 0; ib < kQK_K / 16; ++ib) {
        b.scales[ib / 2] |= static_cast<uint8_t>(scale_code(id, scales[ib], 15) << (4 * (ib % 2)));
      }
      std::memcpy(b.qs, q2, sizeof(b.qs));
    }
    store_block(b, dst, ibl);
  }
}

// ---- IQ2_S: 8 elements a point of 1024 (10 index bits), 8 sign bits, a 4-bit scale per 16.

void quantize_row_iq2_s(const float* src, uint8_t* dst, int64_t n) {
  const GridSearch& g = iq2s_search();
  const ScaleSearch search{3, 9, 0.1f, true, false};
  float copy[kQK_K];
  for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
    const float* xbl = finite_superblock(src + ibl * kQK_K, copy);
    BlockIQ2_S b{};
    float scales[kQK_K / 16];
    float max_scale = 0;
    const float sigma2 = 2 * sum_of_squares(xbl) / kQK_K;
    for (int ib = 0; ib < kQK_K / 16; ++ib) {
      const float* xb = xbl + 16 * ib;
      float weight[16], waux[16], xval[16];
      int8_t L[16] = {};
      uint8_t block_signs[2];
      for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];  // (no importance matrix)
      for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
      for (int k = 0; k < 2; ++k) block_signs[k] = plain_signs(xb + 8 * k, xval + 8 * k);
      float max = xval[0];
      for (int i = 1; i < 16; ++i) max = fmax_ggml(max, xval[i]);
      if (max < kGroupMaxEpsIq2S) {
        scales[ib] = 0;
        continue;
      }
      float scale = search_scale(g, search, 16, max, xval, weight, waux, L);
      if (scale < 0) {
        scale = -scale;
        for (int k = 0; k < 2; ++k) block_signs[k] = static_cast<uint8_t>(~block_signs[k]);
      }
      contain_nan_scale(&scale, L, 16);
      for (int k = 0; k < 2; ++k) {
        const int index = point_index(g, L + 8 * k), i8 = 2 * ib + k;
        b.qs[i8] = static_cast<uint8_t>(index & 255);
        b.qh[i8 / 4] |= static_cast<uint8_t>((index >> 8) << (2 * (i8 % 4)));
        b.qs[kQK_K / 8 + i8] = block_signs[k];
      }
      scales[ib] = scale;
      max_scale = fmax_ggml(max_scale, scale);
    }
    if (max_scale) {
      const float d = max_scale / 31;
      b.d = f32_to_fp16(d * 0.9875f);
      const float id = 1 / d;
      for (int ib = 0; ib < kQK_K / 16; ++ib) {
        b.scales[ib / 2] |= static_cast<uint8_t>(scale_code(id, scales[ib], 15) << (4 * (ib % 2)));
      }
    }
    store_block(b, dst, ibl);
  }
}

// ---- IQ3_XXS and IQ3_S: 4 elements a point, a 4-bit scale per 32.

namespace {

// Weights of the iq3 searches without an importance matrix: x^2.
void iq3_weights(const float* xb, float* weight, float* waux) {
  for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
  for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
}

}  // namespace

// 256 points; 7 sign bits per 8 elements and the scale share a word per 32.
void quantize_row_iq3_xxs(const float* src, uint8_t* dst, int64_t n) {
  const GridSearch& g = iq3xxs_search();
  const ScaleSearch search{8, 15, 0.2f, true, false};
  float copy[kQK_K];
  for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
    const float* xbl = finite_superblock(src + ibl * kQK_K, copy);
    BlockIQ3_XXS b{};
    uint32_t scales_and_signs[kQK_K / 32] = {};
    float scales[kQK_K / 32];
    float max_scale = 0;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const float* xb = xbl + 32 * ib;
      float weight[32], waux[32], xval[32];
      int8_t L[32] = {};
      uint8_t block_signs[4];
      iq3_weights(xb, weight, waux);
      for (int k = 0; k < 4; ++k) block_signs[k] = even_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k);
      float max = xval[0];
      for (int i = 1; i < 32; ++i) max = fmax_ggml(max, xval[i]);
      if (max < kGroupMaxEpsIq3Xxs) {
        scales[ib] = 0;
        continue;
      }
      float scale = search_scale(g, search, 32, max, xval, weight, waux, L);
      if (scale < 0) {
        scale = -scale;
        for (int k = 0; k < 4; ++k) block_signs[k] = (~block_signs[k]) & 127;
      }
      contain_nan_scale(&scale, L, 32);
      for (int k = 0; k < 8; ++k) b.qs[8 * ib + k] = static_cast<uint8_t>(point_index(g, L + 4 * k));
      scales_and_signs[ib] = block_signs[0] | (block_signs[1] << 7) | (block_signs[2] << 14) | (block_signs[3] << 21);
      scales[ib] = scale;
      max_scale = fmax_ggml(max_scale, scale);
    }
    if (!max_scale) {
      store_block(BlockIQ3_XXS{}, dst, ibl);
      continue;
    }
    const float d = max_scale / 31;
    b.d = f32_to_fp16(d * 1.0125f);
    const float id = 1 / d;
    for (int ib = 0; ib < kQK_K / 32; ++ib) scales_and_signs[ib] |= uint32_t(scale_code(id, scales[ib], 15)) << 28;
    std::memcpy(b.qs + kQK_K / 4, scales_and_signs, sizeof(scales_and_signs));
    store_block(b, dst, ibl);
  }
}

// 512 points (9 index bits); 8 sign bits per 8 elements; scales two per byte.
void quantize_row_iq3_s(const float* src, uint8_t* dst, int64_t n) {
  const GridSearch& g = iq3s_search();
  const ScaleSearch search{8, 9, 0.2f, false, true};
  float copy[kQK_K];
  for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
    const float* xbl = finite_superblock(src + ibl * kQK_K, copy);
    BlockIQ3_S b{};
    float scales[kQK_K / 32];
    float max_scale = 0;
    // ggml advances its qs and signs cursors only past groups it stores: after an all-zero
    // group the next group's points and signs land in the skipped group's place (and the
    // block's last slots stay zero). Kept, for ggml's bytes.
    int stored = 0;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const float* xb = xbl + 32 * ib;
      float weight[32], waux[32], xval[32];
      int8_t L[32] = {};
      uint8_t block_signs[4];
      iq3_weights(xb, weight, waux);
      for (int k = 0; k < 4; ++k) block_signs[k] = plain_signs(xb + 8 * k, xval + 8 * k);
      float max = xval[0];
      for (int i = 1; i < 32; ++i) max = fmax_ggml(max, xval[i]);
      if (!max) {
        scales[ib] = 0;
        continue;
      }
      float scale = search_scale(g, search, 32, max, xval, weight, waux, L);
      if (scale < 0) {
        scale = -scale;
        for (int k = 0; k < 4; ++k) block_signs[k] = static_cast<uint8_t>(~block_signs[k]);
      }
      contain_nan_scale(&scale, L, 32);
      for (int k = 0; k < 8; ++k) {
        const int index = point_index(g, L + 4 * k);
        b.qs[8 * stored + k] = static_cast<uint8_t>(index & 255);
        b.qh[ib] |= static_cast<uint8_t>((index >> 8) << k);
      }
      std::copy(block_signs, block_signs + 4, b.signs + 4 * stored);
      ++stored;
      scales[ib] = scale;
      max_scale = fmax_ggml(max_scale, scale);
    }
    if (max_scale) {
      const float d = max_scale / 31;
      b.d = f32_to_fp16(d * 1.033f);
      const float id = 1 / d;
      for (int ib = 0; ib < kQK_K / 32; ib += 2) {
        b.scales[ib / 2] = static_cast<uint8_t>(scale_code(id, scales[ib], 15) | (scale_code(id, scales[ib + 1], 15) << 4));
      }
    }
    store_block(b, dst, ibl);
  }
}

// ---- IQ1_S: 8 elements a point of 2048 (11 index bits), levels -1, 0, 1 shifted by a
// delta of one sign per 32, a 3-bit scale per 32. The split of a group's sorted values
// into the three levels is searched exhaustively.

void quantize_row_iq1_s(const float* src, uint8_t* dst, int64_t n) {
  const GridSearch& g = iq1s_search();
  constexpr int kBlock = 32;
  float copy[kQK_K];
  for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
    const float* xbl = finite_superblock(src + ibl * kQK_K, copy);
    BlockIQ1_S b{};
    float scales[kQK_K / kBlock];
    int8_t shifts[kQK_K / kBlock];
    float max_scale = 0;
    const float sigma2 = 2 * sum_of_squares(xbl) / kQK_K;
    for (int ib = 0; ib < kQK_K / kBlock; ++ib) {
      const float* xb = xbl + kBlock * ib;
      float weight[kBlock];
      for (int i = 0; i < kBlock; ++i) weight[i] = std::sqrt(sigma2 + xb[i] * xb[i]);  // importance 1
      float max = std::fabs(xb[0]);
      for (int i = 1; i < kBlock; ++i) max = fmax_ggml(max, std::fabs(xb[i]));
      if (max < kGroupMaxEpsIq1S) {
        scales[ib] = 0;
        shifts[ib] = 1;
        continue;
      }
      // With sorted values, levels -1 / 0 / 1 are two cut points i1 <= i2; prefix sums of
      // w x and w give each split's least-squares fit for either delta sign.
      int idx[kBlock];
      sort_by_value(kBlock, xb, idx);
      float sumx[kBlock + 1], sumw[kBlock + 1];
      sumx[0] = sumw[0] = 0;
      for (int j = 0; j < kBlock; ++j) {
        const int i = idx[j];
        sumx[j + 1] = sumx[j] + weight[i] * xb[i];
        sumw[j + 1] = sumw[j] + weight[i];
      }
      float best_score = -FLT_MAX, scale = max;
      int besti1 = -1, besti2 = -1, best_shift = 0;
      for (int i1 = 0; i1 <= kBlock; ++i1) {
        for (int i2 = i1; i2 <= kBlock; ++i2) {
          for (int shift : {1, -1}) {
            const float* xs = shift == 1 ? kIq1Plus : kIq1Minus;
            const float sumqx =
                (sumx[i1] - sumx[0]) * xs[0] + (sumx[i2] - sumx[i1]) * xs[1] + (sumx[kBlock] - sumx[i2]) * xs[2];
            const float sumq2 = (sumw[i1] - sumw[0]) * xs[0] * xs[0] + (sumw[i2] - sumw[i1]) * xs[1] * xs[1] +
                                (sumw[kBlock] - sumw[i2]) * xs[2] * xs[2];
            if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
              scale = sumqx / sumq2;
              best_score = scale * sumqx;
              besti1 = i1;
              besti2 = i2;
              best_shift = shift;
            }
          }
        }
      }
      if (besti1 < 0 || besti2 < 0 || best_shift == 0) {
        scales[ib] = 0;
        shifts[ib] = 1;
        continue;
      }
      int8_t L[kBlock];
      for (int j = 0; j < kBlock; ++j) L[idx[j]] = static_cast<int8_t>(j < besti1 ? 0 : j < besti2 ? 1 : 2);
      if (scale < 0) {
        for (int j = 0; j < kBlock; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
        scale = -scale;
        best_shift = -best_shift;
      }
      bool all_on_grid = true;
      const float* xx = best_shift == 1 ? kIq1Plus : kIq1Minus;
      uint16_t index[kBlock / 8];
      for (int k = 0; k < kBlock / 8; ++k) {
        const int code = pack_code(g, L + 8 * k);
        int grid_index = g.map[code];
        if (grid_index < 0) {
          all_on_grid = false;
          grid_index = iq1_best_neighbour(g, code, xb + 8 * k, weight + 8 * k, scale, xx, L + 8 * k);
        }
        index[k] = static_cast<uint16_t>(grid_index);
      }
      if (!all_on_grid) {
        float sumqx = 0, sumq2 = 0;
        for (int k = 0; k < kBlock / 8; ++k) {
          const int8_t* pg = g.points[index[k]].data();
          for (int j = 0; j < 8; ++j) {
            const float w = weight[8 * k + j];
            const float q = xx[(pg[j] - 1) / 2];
            sumqx += w * q * xb[8 * k + j];
            sumq2 += w * q * q;
          }
        }
        if (sumqx > 0 && sumq2 > 0) scale = sumqx / sumq2;
      }
      uint16_t h = 0;
      for (int k = 0; k < kBlock / 8; ++k) {
        b.qs[(kBlock / 8) * ib + k] = static_cast<uint8_t>(index[k] & 255);
        h = static_cast<uint16_t>(h | ((index[k] >> 8) << (3 * k)));
      }
      b.qh[ib] = h;
      if (std::isnan(scale)) scale = 0;  // (ggml asserts scale >= 0)
      scales[ib] = scale;
      shifts[ib] = static_cast<int8_t>(best_shift);
      max_scale = fmax_ggml(max_scale, scale);
    }
    if (max_scale) {
      const float d = max_scale / 15;
      b.d = f32_to_fp16(d * 1.125f);
      const float id = 1 / d;
      for (int ib = 0; ib < kQK_K / kBlock; ++ib) {
        int l = scale_code(id, scales[ib], 7);
        if (shifts[ib] == -1) l |= 8;
        b.qh[ib] = static_cast<uint16_t>(b.qh[ib] | (l << 12));
      }
    }
    store_block(b, dst, ibl);
  }
}

// ---- IQ1_M: as IQ1_S per 16 elements, with a delta sign per 8 and a 3-bit scale per 16;
// the fp16 super-block scale (refitted over the whole block) lives in the scales' top nibbles.

void quantize_row_iq1_m(const float* src, uint8_t* dst, int64_t n) {
  const GridSearch& g = iq1s_search();
  constexpr int kBlock = 16;
  // Per 16 elements a delta sign per half: 0: +,+  1: +,-  2: -,+  3: -,-; the qh bits.
  constexpr uint8_t kMasks[4] = {0x00, 0x80, 0x08, 0x88};
  auto shifted_levels = [](int shifts, int half) {
    return (half == 0 ? shifts < 2 : shifts % 2 == 0) ? kIq1Plus : kIq1Minus;
  };
  float copy[kQK_K];
  for (int64_t ibl = 0; ibl < n / kQK_K; ++ibl) {
    const float* xbl = finite_superblock(src + ibl * kQK_K, copy);
    BlockIQ1_M b{};
    float scales[kQK_K / kBlock];
    int8_t shifts[kQK_K / kBlock];
    float max_scale = 0;
    for (int ib = 0; ib < kQK_K / kBlock; ++ib) {
      const float* xb = xbl + kBlock * ib;
      float weight[kBlock];
      for (int i = 0; i < kBlock; ++i) weight[i] = xb[i] * xb[i];  // (no importance matrix)
      float max = std::fabs(xb[0]);
      for (int i = 1; i < kBlock; ++i) max = fmax_ggml(max, std::fabs(xb[i]));
      if (max < kGroupMaxEpsIq1M) {
        scales[ib] = 0;
        shifts[ib] = 0;
        continue;
      }
      int idx[kBlock];
      sort_by_value(kBlock, xb, idx);
      float best_score = -FLT_MAX, scale = max;
      int besti1 = -1, besti2 = -1, best_k = -1;
      for (int i1 = 0; i1 <= kBlock; ++i1) {
        for (int i2 = i1; i2 <= kBlock; ++i2) {
          // The fit of every delta-sign choice k, summed in ggml's order (sorted position).
          float sumqx[4] = {}, sumq2[4] = {};
          for (int j = 0; j < kBlock; ++j) {
            const int i = idx[j], level = j < i1 ? 0 : j < i2 ? 1 : 2;
            for (int k = 0; k < 4; ++k) {
              const float* xs = shifted_levels(k, i < kBlock / 2 ? 0 : 1);
              sumqx[k] += weight[i] * xs[level] * xb[i];
              sumq2[k] += weight[i] * xs[level] * xs[level];
            }
          }
          for (int k = 0; k < 4; ++k) {
            if (sumq2[k] > 0 && sumqx[k] * sumqx[k] > best_score * sumq2[k]) {
              scale = sumqx[k] / sumq2[k];
              best_score = scale * sumqx[k];
              besti1 = i1;
              besti2 = i2;
              best_k = k;
            }
          }
        }
      }
      if (besti1 < 0 || besti2 < 0 || best_k < 0) {
        scales[ib] = 0;
        shifts[ib] = 0;
        continue;
      }
      int8_t L[kBlock];
      for (int j = 0; j < kBlock; ++j) L[idx[j]] = static_cast<int8_t>(j < besti1 ? 0 : j < besti2 ? 1 : 2);
      if (scale < 0) {
        for (int j = 0; j < kBlock; ++j) L[j] = static_cast<int8_t>(2 - L[j]);
        scale = -scale;
        best_k = 3 - best_k;  // both halves' delta signs flip
      }
      bool all_on_grid = true;
      uint16_t index[kBlock / 8];
      for (int k = 0; k < kBlock / 8; ++k) {
        const float* xx = shifted_levels(best_k, k);
        const int code = pack_code(g, L + 8 * k);
        int grid_index = g.map[code];
        if (grid_index < 0) {
          all_on_grid = false;
          grid_index = iq1_best_neighbour(g, code, xb + 8 * k, weight + 8 * k, scale, xx, L + 8 * k);
        }
        index[k] = static_cast<uint16_t>(grid_index);
      }
      if (!all_on_grid) {
        float sumqx_f = 0, sumq2_f = 0;
        for (int k = 0; k < kBlock / 8; ++k) {
          const float* xx = shifted_levels(best_k, k);
          const int8_t* pg = g.points[index[k]].data();
          for (int j = 0; j < 8; ++j) {
            const float w = weight[8 * k + j];
            const float q = xx[(pg[j] - 1) / 2];
            sumqx_f += w * q * xb[8 * k + j];
            sumq2_f += w * q * q;
          }
        }
        if (sumqx_f > 0 && sumq2_f > 0) scale = sumqx_f / sumq2_f;
      }
      b.qs[2 * ib + 0] = static_cast<uint8_t>(index[0] & 255);
      b.qs[2 * ib + 1] = static_cast<uint8_t>(index[1] & 255);
      b.qh[ib] = static_cast<uint8_t>((index[0] >> 8) | ((index[1] >> 8) << 4));
      if (std::isnan(scale)) scale = 0;  // (ggml asserts scale >= 0)
      scales[ib] = scale;
      shifts[ib] = static_cast<int8_t>(best_k);
      max_scale = fmax_ggml(max_scale, scale);
    }
    if (!max_scale) {
      store_block(b, dst, ibl);
      continue;
    }
    // 3-bit scale codes, then the super-block scale refitted to the coded scales.
    uint16_t sc[4] = {};
    float d = max_scale / 15;
    const float id = 1 / d;
    float sumqx_f = 0, sumq2_f = 0;
    for (int ib = 0; ib < kQK_K / kBlock; ++ib) {
      const int l = scale_code(id, scales[ib], 7);
      sc[ib / 4] = static_cast<uint16_t>(sc[ib / 4] | (l << (3 * (ib % 4))));
      b.qh[ib] |= kMasks[shifts[ib]];
      const float* xb = xbl + kBlock * ib;
      float weight[kBlock];
      for (int i = 0; i < kBlock; ++i) weight[i] = xb[i] * xb[i];
      for (int k = 0; k < kBlock / 8; ++k) {
        const float* xx = shifted_levels(shifts[ib], k);
        const int8_t* pg = g.points[b.qs[2 * ib + k] + ((b.qh[ib] << (8 - 4 * k)) & 0x700)].data();
        for (int j = 0; j < 8; ++j) {
          const float w = weight[8 * k + j];
          const float q = xx[(pg[j] - 1) / 2] * (2 * l + 1);
          sumqx_f += w * q * xb[8 * k + j];
          sumq2_f += w * q * q;
        }
      }
    }
    if (sumq2_f > 0) d = sumqx_f / sumq2_f;
    const uint16_t d16 = f32_to_fp16(d * 1.1125f);
    sc[0] = static_cast<uint16_t>(sc[0] | ((d16 & 0x000f) << 12));
    sc[1] = static_cast<uint16_t>(sc[1] | ((d16 & 0x00f0) << 8));
    sc[2] = static_cast<uint16_t>(sc[2] | ((d16 & 0x0f00) << 4));
    sc[3] = static_cast<uint16_t>(sc[3] | (d16 & 0xf000));
    std::memcpy(b.scales, sc, sizeof(sc));
    store_block(b, dst, ibl);
  }
}

}  // namespace archscope::reference
