// The graph the Python frontend builds: typed values, op nodes with
// attributes and weights. Keras-agnostic: op types are lower-case core names.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace tfjs_infer {

using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

// Float weight values: owned, or borrowed from memory whose lender keeps it
// alive (the Python binding lends numpy arrays, so a model's weights are not
// copied on their way to packing: on a VM, page faults of fresh memory are
// much of a large model's load time). Read-only access; mutable_data() turns
// a borrowed array into an owned copy first. Copies of a borrowed array
// share the lender.
class WeightData {
 public:
  WeightData() = default;
  WeightData(const WeightData& o) { *this = o; }
  WeightData(WeightData&& o) noexcept { *this = std::move(o); }
  WeightData& operator=(const WeightData& o);
  WeightData& operator=(WeightData&& o) noexcept;

  const float* data() const { return ptr_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  const float* begin() const { return ptr_; }
  const float* end() const { return ptr_ + n_; }
  const float& operator[](size_t i) const { return ptr_[i]; }

  void assign(const float* first, const float* last);
  void assign(size_t n, float value);
  // Points at n floats at p, kept alive by `lender` until this is dropped.
  void borrow(const float* p, size_t n, std::shared_ptr<const void> lender);
  float* mutable_data();

 private:
  void point_at_own();
  std::vector<float> own_;
  const float* ptr_ = nullptr;
  size_t n_ = 0;
  std::shared_ptr<const void> lender_;
};

// A weight handed over at graph-build time, in the layout the op documents.
struct WeightTensor {
  DType dtype = DType::kFloat32;
  Shape shape;
  WeightData f32;            // when dtype == kFloat32
  std::vector<int32_t> i32;  // when dtype == kInt32
  // A folded BatchNorm's per-channel (last axis) scale, not yet applied: the
  // values are float(f32[i] * scale[i % channels]). Kept pending so that
  // borrowed kernels are never copied just to be scaled: ops apply it as they
  // copy (copy_values) or pack (ops/weights.h) the kernel.
  std::vector<double> scale;

  int64_t size() const { return num_elements(shape); }
  // Writes the float values, with any pending scale applied, to dst.
  void copy_values(float* dst) const;
  // Applies a pending scale to the values (owned from then on).
  void apply_scale();
};

struct OpNode {
  std::string type;
  std::string name;  // the Keras layer name, for error messages
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::map<std::string, AttrValue> attrs;
  std::map<std::string, WeightTensor> weights;

  // "layer 'dense_1' (dense)": prefix of every error about this node.
  std::string where() const;

  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  int64_t attr_int(const std::string& key) const;
  int64_t attr_int(const std::string& key, int64_t fallback) const;
  double attr_float(const std::string& key) const;
  double attr_float(const std::string& key, double fallback) const;
  std::string attr_str(const std::string& key) const;
  std::string attr_str(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& key) const;
  std::vector<int64_t> attr_ints(const std::string& key, const std::vector<int64_t>& fb) const;
  std::vector<double> attr_floats(const std::string& key) const;

  const WeightTensor* weight(const std::string& key) const;  // nullptr when absent
  // The weight `key`, checked to be float32 with the given shape (-1: any).
  const WeightTensor& require_weight(const std::string& key, const Shape& shape) const;
  void require_inputs(size_t min_count, size_t max_count) const;
};

struct ValueInfo {
  std::string name;
  Shape shape;  // -1 where unknown (the batch axis)
  DType dtype = DType::kFloat32;
};

struct Graph {
  std::vector<ValueInfo> values;
  std::vector<int> inputs;
  std::vector<int> outputs;
  std::vector<OpNode> nodes;

  int add_input(const std::string& name, const Shape& shape, DType dtype);
  std::vector<int> add_op(OpNode node, int num_outputs);
  void set_outputs(const std::vector<int>& ids);
  // Submodels that start inside the graph: a new input value (shape, dtype)
  // takes value `id`'s place for every op that reads it and in the outputs;
  // the op that produced `id` then runs only if something else needs it.
  int cut_at(int id, const std::string& name, const Shape& shape, DType dtype);
  // The graph inputs, in order (each an existing input value).
  void set_inputs(const std::vector<int>& ids);
  void check_value(int id, const std::string& where) const;
};

}  // namespace tfjs_infer
