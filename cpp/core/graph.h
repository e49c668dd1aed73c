// The graph the Python frontend builds: typed values, op nodes with
// attributes and weights. Keras-agnostic: op types are lower-case core names.
#pragma once

#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace tfjs_infer {

using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

// A weight handed over at graph-build time, in the layout the op documents.
struct WeightTensor {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::vector<float> f32;    // when dtype == kFloat32
  std::vector<int32_t> i32;  // when dtype == kInt32

  int64_t size() const { return num_elements(shape); }
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
  void check_value(int id, const std::string& where) const;
};

}  // namespace tfjs_infer
