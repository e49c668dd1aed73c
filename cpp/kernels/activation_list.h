// The one list of element-wise activations. Each entry is
//   X(enum name, core name)
// and expands into the ActKind enum (kernel_args.h), the core's name map
// (ops/activation.cpp) and every kernel's dispatch (the scalar, SIMD and RNN
// gate kernels). Each entry's math is the Act<kind> specialization in
// kernels/activation_math.h (a scalar and a vector formula side by side).
// Adding an activation: its entry here, its Act<> there, its name in the
// frontend's lowering, and a test. A macro only: kernel_args.h includes it.
//
// Parameters (ActParams alpha, beta, gamma) per kind:
//   relu_general      alpha = max_value (inf: none), beta = threshold,
//                     gamma = negative_slope (the Keras ReLU layer)
//   leaky_relu, elu   alpha = the slope / scale of the negative side
//   hard_sigmoid      clip(alpha x + beta, 0, 1): TF.js/Keras 2 alpha 0.2,
//                     Keras 3 1/6
//   thresholded_relu  alpha = theta
#pragma once

#define TFJS_INFER_ACTIVATIONS(X)         \
  X(kLinear, "linear")                    \
  X(kRelu, "relu")                        \
  X(kRelu6, "relu6")                      \
  X(kReluGeneral, "relu_general")         \
  X(kLeakyRelu, "leaky_relu")             \
  X(kElu, "elu")                          \
  X(kSelu, "selu")                        \
  X(kSigmoid, "sigmoid")                  \
  X(kHardSigmoid, "hard_sigmoid")         \
  X(kSoftplus, "softplus")                \
  X(kSoftsign, "softsign")                \
  X(kTanh, "tanh")                        \
  X(kSwish, "swish")                      \
  X(kMish, "mish")                        \
  X(kGelu, "gelu")                        \
  X(kGeluTfjs, "gelu_tfjs")               \
  X(kGeluTanh, "gelu_tanh")               \
  X(kThresholdedRelu, "thresholded_relu") \
  X(kExp, "exp")
