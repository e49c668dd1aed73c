#include "core/graph.h"

#include <algorithm>

namespace tfjs_infer {

std::string OpNode::where() const { return "layer '" + name + "' (" + type + ")"; }

namespace {
template <typename T>
const T* get_attr(const OpNode& n, const std::string& key) {
  auto it = n.attrs.find(key);
  if (it == n.attrs.end()) return nullptr;
  return std::get_if<T>(&it->second);
}
[[noreturn]] void missing(const OpNode& n, const std::string& key, const char* kind) {
  const bool present = n.attrs.count(key) != 0;
  fail(ErrorKind::kInvalidModel, n.where() + ": attribute '" + key + "' " +
                                     (present ? std::string("has the wrong type, expected ") + kind
                                              : std::string("is missing (") + kind + ")"));
}
}  // namespace

int64_t OpNode::attr_int(const std::string& key) const {
  if (const auto* v = get_attr<int64_t>(*this, key)) return *v;
  missing(*this, key, "an integer");
}
int64_t OpNode::attr_int(const std::string& key, int64_t fallback) const {
  return has_attr(key) ? attr_int(key) : fallback;
}
double OpNode::attr_float(const std::string& key) const {
  if (const auto* v = get_attr<double>(*this, key)) return *v;
  if (const auto* v = get_attr<int64_t>(*this, key)) return static_cast<double>(*v);
  missing(*this, key, "a number");
}
double OpNode::attr_float(const std::string& key, double fallback) const {
  return has_attr(key) ? attr_float(key) : fallback;
}
std::string OpNode::attr_str(const std::string& key) const {
  if (const auto* v = get_attr<std::string>(*this, key)) return *v;
  missing(*this, key, "a string");
}
std::string OpNode::attr_str(const std::string& key, const std::string& fallback) const {
  return has_attr(key) ? attr_str(key) : fallback;
}
std::vector<int64_t> OpNode::attr_ints(const std::string& key) const {
  if (const auto* v = get_attr<std::vector<int64_t>>(*this, key)) return *v;
  if (const auto* v = get_attr<int64_t>(*this, key)) return {*v};
  // An empty Python list arrives as an empty float list.
  if (const auto* v = get_attr<std::vector<double>>(*this, key); v && v->empty()) return {};
  missing(*this, key, "a list of integers");
}
std::vector<int64_t> OpNode::attr_ints(const std::string& key,
                                       const std::vector<int64_t>& fb) const {
  return has_attr(key) ? attr_ints(key) : fb;
}
std::vector<double> OpNode::attr_floats(const std::string& key) const {
  if (const auto* v = get_attr<std::vector<double>>(*this, key)) return *v;
  if (const auto* v = get_attr<std::vector<int64_t>>(*this, key))
    return std::vector<double>(v->begin(), v->end());
  if (const auto* v = get_attr<double>(*this, key)) return {*v};
  missing(*this, key, "a list of numbers");
}

WeightData& WeightData::operator=(const WeightData& o) {
  if (this == &o) return *this;
  if (o.lender_) {
    own_.clear();
    ptr_ = o.ptr_;
    n_ = o.n_;
    lender_ = o.lender_;
  } else {
    own_ = o.own_;
    point_at_own();
  }
  return *this;
}

WeightData& WeightData::operator=(WeightData&& o) noexcept {
  if (this == &o) return *this;
  own_ = std::move(o.own_);
  lender_ = std::move(o.lender_);
  if (lender_) {
    ptr_ = o.ptr_;
    n_ = o.n_;
  } else {
    point_at_own();
  }
  o.own_.clear();
  o.ptr_ = nullptr;
  o.n_ = 0;
  return *this;
}

void WeightData::assign(const float* first, const float* last) {
  own_.assign(first, last);
  point_at_own();
}

void WeightData::assign(size_t n, float value) {
  own_.assign(n, value);
  point_at_own();
}

void WeightData::borrow(const float* p, size_t n, std::shared_ptr<const void> lender) {
  own_.clear();
  own_.shrink_to_fit();
  ptr_ = p;
  n_ = n;
  lender_ = std::move(lender);
}

float* WeightData::mutable_data() {
  if (lender_) {
    own_.assign(ptr_, ptr_ + n_);
    point_at_own();
  }
  return own_.data();
}

void WeightData::point_at_own() {
  lender_.reset();
  ptr_ = own_.data();
  n_ = own_.size();
}

void WeightTensor::copy_values(float* dst) const {
  if (scale.empty()) {
    std::copy(f32.begin(), f32.end(), dst);
    return;
  }
  // Row by row (the tensor viewed as (-1, channels)): the arithmetic of the
  // fold, float(w * s), element for element.
  const size_t channels = scale.size();
  for (size_t r = 0; r < f32.size(); r += channels)
    for (size_t c = 0; c < channels; ++c) dst[r + c] = static_cast<float>(f32[r + c] * scale[c]);
}

void WeightTensor::apply_scale() {
  if (scale.empty()) return;
  std::vector<float> scaled(f32.size());
  copy_values(scaled.data());
  f32.assign(scaled.data(), scaled.data() + scaled.size());
  scale.clear();
}

const WeightTensor* OpNode::weight(const std::string& key) const {
  auto it = weights.find(key);
  return it == weights.end() ? nullptr : &it->second;
}

const WeightTensor& OpNode::require_weight(const std::string& key, const Shape& shape) const {
  const WeightTensor* w = weight(key);
  if (!w) fail(ErrorKind::kInvalidModel, where() + ": weight '" + key + "' is missing");
  if (w->dtype != DType::kFloat32)
    fail(ErrorKind::kInvalidModel, where() + ": weight '" + key + "' must be float32");
  bool ok = w->shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == w->shape[i];
  if (!ok)
    fail(ErrorKind::kInvalidModel, where() + ": weight '" + key + "' has shape " +
                                       shape_str(w->shape) + ", expected " + shape_str(shape));
  return *w;
}

void OpNode::require_inputs(size_t min_count, size_t max_count) const {
  if (inputs.size() < min_count || inputs.size() > max_count)
    fail(ErrorKind::kInvalidModel, where() + ": expected " + std::to_string(min_count) +
                                       (max_count != min_count ? " or more" : "") +
                                       " inputs, received " + std::to_string(inputs.size()));
}

int Graph::add_input(const std::string& name, const Shape& shape, DType dtype) {
  const int id = static_cast<int>(values.size());
  values.push_back({name, shape, dtype});
  inputs.push_back(id);
  return id;
}

void Graph::check_value(int id, const std::string& where) const {
  if (id < 0 || id >= static_cast<int>(values.size()))
    fail(ErrorKind::kInvalidModel, where + ": refers to unknown value " + std::to_string(id));
}

std::vector<int> Graph::add_op(OpNode node, int num_outputs) {
  for (int id : node.inputs) check_value(id, node.where());
  if (num_outputs < 1 || num_outputs > 64)
    fail(ErrorKind::kInvalidModel, node.where() + ": bad output count");
  node.outputs.clear();
  for (int i = 0; i < num_outputs; ++i) {
    node.outputs.push_back(static_cast<int>(values.size()));
    values.push_back({node.name + (i ? ":" + std::to_string(i) : ""), {}, DType::kFloat32});
  }
  nodes.push_back(std::move(node));
  return nodes.back().outputs;
}

void Graph::set_outputs(const std::vector<int>& ids) {
  for (int id : ids) check_value(id, "model outputs");
  outputs = ids;
}

int Graph::cut_at(int id, const std::string& name, const Shape& shape, DType dtype) {
  check_value(id, "submodel input '" + name + "'");
  const int fresh = add_input(name, shape, dtype);
  for (OpNode& node : nodes)
    for (int& in : node.inputs)
      if (in == id) in = fresh;
  for (int& out : outputs)
    if (out == id) out = fresh;
  return fresh;
}

void Graph::set_inputs(const std::vector<int>& ids) {
  for (int id : ids) {
    check_value(id, "model inputs");
    if (std::find(inputs.begin(), inputs.end(), id) == inputs.end())
      fail(ErrorKind::kInvalidModel,
           "model inputs: value " + std::to_string(id) + " is not an input value");
  }
  inputs = ids;
}

}  // namespace tfjs_infer
