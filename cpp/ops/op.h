// The op interface. An op is built once at model compile (validates its
// attributes and weights, prepacks them), infers output types for concrete
// input shapes, and runs without allocating or throwing on valid input.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/graph.h"
#include "core/tensor.h"
#include "kernels/kernels.h"

namespace tfjs_infer {

struct RunContext {
  const KernelTable* kernels = nullptr;
  int num_threads = 1;
  void* scratch = nullptr;  // scratch_bytes() bytes, 64-byte aligned
};

class Op {
 public:
  explicit Op(const OpNode& node) : name_(node.name), type_(node.type), where_(node.where()) {}
  virtual ~Op() = default;
  Op(const Op&) = delete;
  Op& operator=(const Op&) = delete;

  // Output types for these input types; throws Error(kInputShape) naming the
  // layer when the inputs do not fit.
  virtual std::vector<ValueType> infer(const std::vector<ValueType>& in) const = 0;
  // Per-call scratch memory for these input types.
  virtual size_t scratch_bytes(const std::vector<ValueType>& /*in*/) const { return 0; }
  // The input whose buffer output 0 may take over when this op is its last
  // reader and the sizes match (-1: none). The op must read each element of
  // that input only just before writing the same element of output 0.
  virtual int output_may_alias_input() const { return -1; }
  virtual void run(const RunContext& ctx, const std::vector<TensorView>& in,
                   const std::vector<TensorView>& out) const = 0;

  const std::string& name() const { return name_; }
  const std::string& type() const { return type_; }
  const std::string& where() const { return where_; }

 protected:
  [[noreturn]] void shape_error(const std::string& what) const {
    fail(ErrorKind::kInputShape, where_ + ": " + what);
  }

 private:
  std::string name_, type_, where_;
};

using OpPtr = std::unique_ptr<Op>;

}  // namespace tfjs_infer
