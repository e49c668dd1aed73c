// Dim arithmetic for the ops' shape rules (infer). The frontend asks each op
// for its output shapes while it builds the graph, when some dims are not
// known yet (-1: the batch, a free time axis; None in Python): a rule must
// carry them through instead of failing on them. At predict time every dim
// is known and these reduce to the plain comparisons.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace tfjs_infer {

constexpr int64_t kUnknownDim = -1;

inline bool known(int64_t dim) { return dim >= 0; }

// Two dims that can be equal: equal, or one not known yet.
inline bool dims_fit(int64_t a, int64_t b) { return !known(a) || !known(b) || a == b; }

// Same rank and every dim fits.
inline bool shapes_fit(const Shape& a, const Shape& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!dims_fit(a[i], b[i])) return false;
  return true;
}

// a * b and a + b of sizes (>= 0), unknown when either is.
inline int64_t dim_mul(int64_t a, int64_t b) { return known(a) && known(b) ? a * b : kUnknownDim; }
inline int64_t dim_add(int64_t a, int64_t b) { return known(a) && known(b) ? a + b : kUnknownDim; }

// `axis` counted from the front: a negative axis counts from the back.
inline int64_t positive_axis(int64_t axis, size_t rank) {
  return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
}

// The elements between two neighbours along axis `d` of a row-major shape.
inline int64_t stride_after(const Shape& s, int64_t d) {
  int64_t st = 1;
  for (size_t i = static_cast<size_t>(d) + 1; i < s.size(); ++i) st *= s[i];
  return st;
}

// The first and last of `axes` (negative ones counted from the back) in a
// shape of rank `rank`: the span [*lo, *hi] the axes cover.
inline void axes_span(const std::vector<int64_t>& axes, size_t rank, int64_t* lo, int64_t* hi) {
  *lo = static_cast<int64_t>(rank), *hi = -1;
  for (int64_t axis : axes) {
    const int64_t d = positive_axis(axis, rank);
    *lo = d < *lo ? d : *lo, *hi = d > *hi ? d : *hi;
  }
}

// A shape seen as [outer, len, inner] around the span of `axes` (contiguous
// axes, as the normalization ops' infer checks): `len` elements normalized
// together, `inner` apart from each other, `outer` such groups in a row.
struct AxesSpan {
  int64_t outer = 1, len = 1, inner = 1;
};
inline AxesSpan axes_span_sizes(const std::vector<int64_t>& axes, const Shape& s) {
  int64_t lo = 0, hi = 0;
  axes_span(axes, s.size(), &lo, &hi);
  AxesSpan span;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    const int64_t n = s[static_cast<size_t>(d)];
    if (d < lo)
      span.outer *= n;
    else if (d <= hi)
      span.len *= n;
    else
      span.inner *= n;
  }
  return span;
}

// The product of dims [lo, hi), unknown when any is.
inline int64_t dims_product(const Shape& s, size_t lo, size_t hi) {
  int64_t n = 1;
  for (size_t i = lo; i < hi; ++i) n = dim_mul(n, s[i]);
  return n;
}

}  // namespace tfjs_infer
