// Two vectors of a traits class V taken as one of twice the width, for the
// element-wise code written over V (vecmath.h, rnn_simd.h): every operation
// applies V's to both halves, lane for lane, so every lane gets V's bits, and
// the halves' two independent chains of dependent instructions sit side by
// side for the core to overlap (the gates' e^x polynomials and divisions).
// Only the operations that code uses.
//
// Include only from one ISA's translation units; all in an anonymous namespace.
#pragma once

#include <cstdint>

namespace tfjs_infer::kernels {
namespace {

template <class V>
struct VecPair {
  struct F {
    typename V::F lo, hi;
  };
  struct M {
    typename V::M lo, hi;
  };
  static constexpr int kW = 2 * V::kW;

  static F zero() { return {V::zero(), V::zero()}; }
  static F set1(float x) { return {V::set1(x), V::set1(x)}; }
  static F loadu(const float* p) { return {V::loadu(p), V::loadu(p + V::kW)}; }
  static void storeu(float* p, F v) {
    V::storeu(p, v.lo);
    V::storeu(p + V::kW, v.hi);
  }
  // Lanes [0, n), n in [0, kW]; the others zero.
  static F load_n(const float* p, int64_t n) {
    if (n <= V::kW) return {n == V::kW ? V::loadu(p) : V::load_n(p, n), V::zero()};
    return {V::loadu(p), V::load_n(p + V::kW, n - V::kW)};
  }
  static void store_n(float* p, F v, int64_t n) {
    if (n <= V::kW) {
      if (n == V::kW) {
        V::storeu(p, v.lo);
      } else {
        V::store_n(p, v.lo, n);
      }
      return;
    }
    V::storeu(p, v.lo);
    V::store_n(p + V::kW, v.hi, n - V::kW);
  }

#define TFJS_INFER_PAIR_1(name) \
  static F name(F a) { return {V::name(a.lo), V::name(a.hi)}; }
#define TFJS_INFER_PAIR_2(name) \
  static F name(F a, F b) { return {V::name(a.lo, b.lo), V::name(a.hi, b.hi)}; }
#define TFJS_INFER_PAIR_3(name) \
  static F name(F a, F b, F c) { return {V::name(a.lo, b.lo, c.lo), V::name(a.hi, b.hi, c.hi)}; }
#define TFJS_INFER_PAIR_CMP(name) \
  static M name(F a, F b) { return {V::name(a.lo, b.lo), V::name(a.hi, b.hi)}; }
  TFJS_INFER_PAIR_1(abs)
  TFJS_INFER_PAIR_1(sign_bits)
  TFJS_INFER_PAIR_1(round_nearest)
  TFJS_INFER_PAIR_1(pow2)
  TFJS_INFER_PAIR_2(add)
  TFJS_INFER_PAIR_2(sub)
  TFJS_INFER_PAIR_2(mul)
  TFJS_INFER_PAIR_2(div)
  TFJS_INFER_PAIR_2(min)
  TFJS_INFER_PAIR_2(max)
  TFJS_INFER_PAIR_2(xor_bits)
  TFJS_INFER_PAIR_3(fmadd)
  TFJS_INFER_PAIR_3(fnmadd)
  TFJS_INFER_PAIR_CMP(lt)
  TFJS_INFER_PAIR_CMP(le)
  TFJS_INFER_PAIR_CMP(ge)
#undef TFJS_INFER_PAIR_1
#undef TFJS_INFER_PAIR_2
#undef TFJS_INFER_PAIR_3
#undef TFJS_INFER_PAIR_CMP

  static bool all(M m) { return V::all(m.lo) && V::all(m.hi); }
  static F select(M m, F t, F f) {
    return {V::select(m.lo, t.lo, f.lo), V::select(m.hi, t.hi, f.hi)};
  }
};

}  // namespace
}  // namespace tfjs_infer::kernels
