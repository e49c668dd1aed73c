// Gate math of one recurrent step (RnnGateArgs in kernel_args.h) over a
// traits class V: the vector activations of activation_simd.h, fused with the
// cell update so each gate value goes from register to state without a trip
// through memory. The common pair (tanh, sigmoid) is compiled with both
// activations inlined; any other pair dispatches per vector on the kind.
//
// Every row is processed by the same instruction sequence (full vectors, or
// groups of vectors for (tanh, sigmoid), then one masked tail), whatever m
// is: a row's result does not depend on the batch size or the row split.
//
// Include only from one ISA's translation units; all in an anonymous namespace.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernel_args.h"
#include "kernels/simd/activation_simd.h"
#include "kernels/simd/vec_pair.h"

namespace tfjs_infer::kernels {
namespace {

// The gates' tanh and sigmoid: tanh_v and sigmoid_v of vecmath.h, bit for bit,
// with a cheaper e^x where the argument allows. An LSTM vector takes three
// sigmoids and two tanh, and their e^x and divisions are most of a step's gate
// time. exp_v clamps its argument and applies 2^n in two steps so that
// results in the subnormal range scale correctly; for x in [-80, 18] both are
// no-ops (n in [-116, 26]: 2^n and every intermediate are normal, and scaling
// by a power of two in one step or two rounds alike), so exp_normal_v gives
// exp_v's bits there, and NaN passes through both the same way.
template <class V>
inline typename V::F exp_normal_v(typename V::F x) {
  using F = typename V::F;
  F n;
  const F q = expm1_reduced<V>(exp_reduce<V>(x, &n));
  const F p = V::pow2(n);
  return V::fmadd(q, p, p);
}

// tanh_v: its e^{2 min(|x|, 9)} argument lies in [0, 18] (or is NaN).
template <class V>
inline typename V::F gate_tanh(typename V::F x) {
  return tanh_with<V>(x, [](typename V::F a) { return exp_normal_v<V>(a); });
}

// sigmoid_v: e^{-|x|} through exp_normal_v when every lane has |x| <= 80
// (pre-activations nearly always), else sigmoid_v itself.
template <class V>
inline typename V::F gate_sigmoid(typename V::F x) {
  if (!V::all(V::le(V::abs(x), V::set1(80.0f)))) return sigmoid_v<V>(x);
  return sigmoid_with<V>(x, [](typename V::F a) { return exp_normal_v<V>(a); });
}

template <class V>
struct GateTanh {
  typename V::F operator()(typename V::F x) const { return gate_tanh<V>(x); }
};
template <class V>
struct GateSigmoid {
  typename V::F operator()(typename V::F x) const { return gate_sigmoid<V>(x); }
};

// An activation fixed at compile time.
template <class V, ActKind K>
struct FixedAct {
  const ActParams& p;
  typename V::F operator()(typename V::F x) const { return act_one<V, K>(p, x); }
};

// An activation chosen at run time (loop-invariant branch).
template <class V>
struct AnyAct {
  const ActParams& p;
  typename V::F operator()(typename V::F x) const {
    switch (p.kind) {
#define TFJS_INFER_RNN_ACT(kind, name) \
  case ActKind::kind:                  \
    return act_one<V, ActKind::kind>(p, x);
      TFJS_INFER_ACTIVATIONS(TFJS_INFER_RNN_ACT)
#undef TFJS_INFER_RNN_ACT
      case ActKind::kCount:
        break;
    }
    return x;
  }
};

// Calls body(j, n) for the vectors of a row of `units` floats: full vectors,
// then one tail of n < W lanes.
template <class V, class Body>
inline void for_vectors(int64_t units, Body&& body) {
  int64_t j = 0;
  for (; j + V::kW <= units; j += V::kW) body(j, static_cast<int64_t>(V::kW));
  if (j < units) body(j, units - j);
}

template <class V>
inline typename V::F load(const float* p, int64_t n) {
  return n == V::kW ? V::loadu(p) : V::load_n(p, n);
}
template <class V>
inline void store(float* p, typename V::F v, int64_t n) {
  if (n == V::kW)
    V::storeu(p, v);
  else
    V::store_n(p, v, n);
}

template <class V, class Act, class Ract>
void gates_rows(const RnnGateArgs& a, Act act, Ract ract) {
  using F = typename V::F;
  const int64_t u = a.units;
  const F one = V::set1(1.0f);
  for (int64_t r = 0; r < a.m; ++r) {
    float* pre = a.pre + r * a.ldp;
    float* h = a.h + r * a.ldh;
    switch (a.kind) {
      case RnnGateKind::kSimple:
        for_vectors<V>(u,
                       [&](int64_t j, int64_t n) { store<V>(h + j, act(load<V>(pre + j, n)), n); });
        break;
      case RnnGateKind::kLstm: {
        float* c = a.c + r * a.ldc;
        for_vectors<V>(u, [&](int64_t j, int64_t n) {
          const F i = ract(load<V>(pre + j, n));
          const F f = ract(load<V>(pre + u + j, n));
          const F g = act(load<V>(pre + 2 * u + j, n));
          const F o = ract(load<V>(pre + 3 * u + j, n));
          const F cn = V::add(V::mul(f, load<V>(c + j, n)), V::mul(i, g));
          store<V>(c + j, cn, n);
          store<V>(h + j, V::mul(o, act(cn)), n);
        });
        break;
      }
      case RnnGateKind::kGruResetAfter: {
        const float* x = a.x + r * a.ldx;
        for_vectors<V>(u, [&](int64_t j, int64_t n) {
          const F z = ract(V::add(load<V>(x + j, n), load<V>(pre + j, n)));
          const F rr = ract(V::add(load<V>(x + u + j, n), load<V>(pre + u + j, n)));
          const F hh =
              act(V::add(load<V>(x + 2 * u + j, n), V::mul(rr, load<V>(pre + 2 * u + j, n))));
          const F hv = load<V>(h + j, n);
          store<V>(h + j, V::add(V::mul(z, hv), V::mul(V::sub(one, z), hh)), n);
        });
        break;
      }
      case RnnGateKind::kGruZr: {
        float* rh = a.aux + r * a.lda;
        for_vectors<V>(u, [&](int64_t j, int64_t n) {
          store<V>(pre + j, ract(load<V>(pre + j, n)), n);
          store<V>(rh + j, V::mul(ract(load<V>(pre + u + j, n)), load<V>(h + j, n)), n);
        });
        break;
      }
      case RnnGateKind::kGruH: {
        const float* z = a.aux + r * a.lda;
        for_vectors<V>(u, [&](int64_t j, int64_t n) {
          const F hh = act(load<V>(pre + j, n));
          const F zv = load<V>(z + j, n);
          const F hv = load<V>(h + j, n);
          store<V>(h + j, V::add(V::mul(zv, hv), V::mul(V::sub(one, zv), hh)), n);
        });
        break;
      }
    }
  }
}

// The common pair (tanh, sigmoid) in groups of vectors (VecPair: the same
// operations on each lane, the same bits): each activation is a long chain of
// dependent instructions (e^x's polynomial, a division), and independent
// chains side by side keep the pipes busier. Flattened: a group of vectors is
// passed in memory to any call left out of line, which cost more than the
// group gains (left to the compiler, a pair's e^x and tanh stayed calls: no
// gain on AVX-512, 1.17x the time on AVX2). LSTM gates of 128 units, 32 rows,
// AMD EPYC Zen 4 (family 25 model 17), thread CPU time a step, interleaved
// (bench/rnn_gates_ab.py and scratch variants): one vector at a time AVX-512
// 8.56 us, AVX2 13.14; pairs 7.46 / 10.20; groups of four 6.93-7.07 /
// 8.32-8.37; of eight 7.56-7.69 / 7.91-7.93 (four kept on both: AVX2's eight
// beat four by 5 %, unmeasured elsewhere).
template <class G>
__attribute__((flatten)) void gates_tanh_sigmoid_groups(const RnnGateArgs& a) {
  gates_rows<G>(a, GateTanh<G>{}, GateSigmoid<G>{});
}

// Vectors of width w that a row of u units takes in groups of g vectors.
inline int64_t vectors_in_groups(int64_t u, int64_t w, int64_t g) {
  return (u + g * w - 1) / (g * w) * g;
}

template <class V>
void rnn_gates(const RnnGateArgs& a) {
  if (a.act.kind == ActKind::kTanh && a.ract.kind == ActKind::kSigmoid) {
    // The widest group that computes no more lanes than one vector at a time.
    const int64_t one = vectors_in_groups(a.units, V::kW, 1);
    if (vectors_in_groups(a.units, V::kW, 4) == one) {
      gates_tanh_sigmoid_groups<VecPair<VecPair<V>>>(a);
    } else if (vectors_in_groups(a.units, V::kW, 2) == one) {
      gates_tanh_sigmoid_groups<VecPair<V>>(a);
    } else {
      gates_rows<V>(a, GateTanh<V>{}, GateSigmoid<V>{});
    }
  } else if (a.act.kind == ActKind::kTanh && a.ract.kind == ActKind::kHardSigmoid) {
    gates_rows<V>(a, GateTanh<V>{}, FixedAct<V, ActKind::kHardSigmoid>{a.ract});
  } else {
    gates_rows<V>(a, AnyAct<V>{a.act}, AnyAct<V>{a.ract});
  }
}

// One-row recurrent product (RnnGemvArgs): column blocks of NB vectors, each
// block one sequential stream of k rows, NB accumulators per block.
template <class V, int NB>
size_t gemv_packed_size(int64_t k, int64_t n) {
  constexpr int64_t B = NB * V::kW;
  return static_cast<size_t>((n + B - 1) / B * k * B);
}

template <class V, int NB>
void gemv_pack(const float* b, int64_t k, int64_t n, float* packed) {
  constexpr int64_t B = NB * V::kW;
  for (int64_t c0 = 0; c0 < n; c0 += B)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < B; ++j) *packed++ = c0 + j < n ? b[kk * n + c0 + j] : 0.0f;
}

template <class V, int NB>
void gemv(const RnnGemvArgs& g) {
  using F = typename V::F;
  constexpr int64_t W = V::kW, B = NB * W;
  const float* blk = g.packed;
  for (int64_t c0 = 0; c0 < g.n; c0 += B, blk += g.k * B) {
    F acc[NB];
#pragma GCC unroll 16
    for (int v = 0; v < NB; ++v) {
      const int64_t off = c0 + v * W, left = g.n - off < W ? g.n - off : W;
      acc[v] = g.acc_in && left > 0 ? load<V>(g.acc_in + off, left) : V::zero();
    }
    const float* p = blk;
    for (int64_t kk = 0; kk < g.k; ++kk, p += B) {
      const F xv = V::set1(g.x[kk]);
#pragma GCC unroll 16
      for (int v = 0; v < NB; ++v) acc[v] = V::fmadd(xv, V::loadu(p + v * W), acc[v]);
    }
    // Epilogue as the GEMM's: (acc + bias) + residual.
#pragma GCC unroll 16
    for (int v = 0; v < NB; ++v) {
      const int64_t off = c0 + v * W;
      if (off >= g.n) break;
      const int64_t left = g.n - off < W ? g.n - off : W;
      F y = acc[v];
      if (g.bias) y = V::add(y, load<V>(g.bias + off, left));
      if (g.residual) y = V::add(y, load<V>(g.residual + off, left));
      store<V>(g.y + off, y, left);
    }
  }
}

}  // namespace
}  // namespace tfjs_infer::kernels
