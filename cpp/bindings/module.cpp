// The pybind11 module tfjs_infer._core: builds graphs, compiles and runs
// models. Thin on purpose: shapes and dtypes are validated by the core, and
// every tfjs_infer::Error becomes the matching tfjs_infer.errors class.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "backends/backend.h"
#include "bindings/testing.h"
#include "core/cpu_features.h"
#include "core/model.h"
#include "core/threading.h"
#include "ops/registry.h"

namespace py = pybind11;
using namespace tfjs_infer;

namespace {

const char* error_class(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidModel:
      return "InvalidModelError";
    case ErrorKind::kUnsupported:
      return "UnsupportedLayerError";
    case ErrorKind::kInputShape:
      return "InputShapeError";
    case ErrorKind::kInputDtype:
      return "InputDtypeError";
    case ErrorKind::kInputValue:
      return "InputValueError";
    case ErrorKind::kDeviceUnavailable:
      return "DeviceUnavailableError";
  }
  return "TfjsInferError";
}

DType parse_dtype(const std::string& s) {
  if (s == "float32") return DType::kFloat32;
  if (s == "int32") return DType::kInt32;
  fail(ErrorKind::kInputDtype, "unsupported dtype '" + s + "': expected float32 or int32");
}

Shape shape_from_py(const py::handle& seq) {
  Shape s;
  for (py::handle d : seq) s.push_back(d.is_none() ? -1 : d.cast<int64_t>());
  return s;
}

py::tuple shape_to_py(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = s[i] < 0 ? py::object(py::none()) : py::int_(s[i]);
  return t;
}

AttrValue attr_from_py(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return static_cast<int64_t>(v.cast<bool>());
  if (py::isinstance<py::int_>(v)) return v.cast<int64_t>();
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    bool all_int = true;
    for (py::handle e : v)
      all_int = all_int && (py::isinstance<py::int_>(e) || py::isinstance<py::bool_>(e));
    if (all_int && py::len(v) > 0) return v.cast<std::vector<int64_t>>();
    return v.cast<std::vector<double>>();
  }
  fail(ErrorKind::kInvalidModel, "attribute '" + key + "' has an unsupported Python type");
}

WeightTensor weight_from_py(const std::string& key, const py::array& a) {
  WeightTensor w;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) w.shape.push_back(a.shape(i));
  checked_num_elements(w.shape);
  if (py::isinstance<py::array_t<int32_t>>(a)) {
    w.dtype = DType::kInt32;
    auto c = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(a);
    w.i32.assign(c.data(), c.data() + c.size());
  } else if (py::isinstance<py::array_t<float>>(a)) {
    auto c = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    w.f32.assign(c.data(), c.data() + c.size());
  } else {
    fail(ErrorKind::kInvalidModel, "weight '" + key + "' must be a float32 or int32 array");
  }
  return w;
}

TensorView view_of(const py::array& a, size_t index) {
  TensorView v;
  const auto flags = py::detail::array_proxy(a.ptr())->flags;
  if (!(flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_))
    fail(ErrorKind::kInputDtype,
         "input " + std::to_string(index) + " must be a C-contiguous array");
  if (py::isinstance<py::array_t<float>>(a))
    v.dtype = DType::kFloat32;
  else if (py::isinstance<py::array_t<int32_t>>(a))
    v.dtype = DType::kInt32;
  else
    fail(ErrorKind::kInputDtype, "input " + std::to_string(index) + ": expected float32 or " +
                                     "int32, received " + std::string(py::str(a.dtype())));
  v.data = const_cast<void*>(a.data());
  for (py::ssize_t i = 0; i < a.ndim(); ++i) v.shape.push_back(a.shape(i));
  return v;
}

py::list run_model(const CompiledModel& m, const py::list& arrays) {
  std::vector<py::array> keep;  // holds the inputs alive while the GIL is released
  std::vector<TensorView> inputs;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < arrays.size(); ++i) {
    keep.push_back(py::reinterpret_borrow<py::array>(arrays[i]));
    inputs.push_back(view_of(keep.back(), i));
    shapes.push_back(inputs.back().shape);
  }
  const std::vector<ValueType> out_types = m.output_types(shapes);
  py::list results;
  std::vector<TensorView> outputs;
  for (const ValueType& t : out_types) {
    py::array arr = t.dtype == DType::kInt32 ? py::array(py::array_t<int32_t>(t.shape))
                                             : py::array(py::array_t<float>(t.shape));
    outputs.push_back({arr.mutable_data(), t.shape, t.dtype});
    results.append(arr);
  }
  {
    py::gil_scoped_release nogil;
    m.run(inputs, outputs);
  }
  return results;
}

py::dict build_info() {
  py::dict d;
  py::list isas;
  for (Isa isa : available_isas()) isas.append(isa_name(isa));
  d["isas_available"] = isas;
  d["isa_selected"] = isa_name(best_kernels().isa);
  d["openmp"] = openmp_enabled();
  d["default_num_threads"] = default_num_threads();
  d["cuda_compiled"] = cuda_backend() != nullptr;
  d["cuda_devices"] = cuda_backend() ? cuda_backend()->devices() : std::vector<std::string>{};
  d["avx512_vnni"] = cpu_features().avx512_vnni;
  d["avx512_bf16"] = cpu_features().avx512_bf16;
#if defined(__clang__)
  d["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  d["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  return d;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "tfjs-infer compute core (private; use the tfjs_infer package)";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object cls = py::module_::import("tfjs_infer.errors").attr(error_class(e.kind()));
      py::set_error(cls, e.what());
    }
  });

  py::class_<Graph>(m, "Graph")
      .def(py::init<>())
      .def(
          "add_input",
          [](Graph& g, const std::string& name, const py::sequence& shape,
             const std::string& dtype) { return g.add_input(name, shape_from_py(shape), parse_dtype(dtype)); },
          py::arg("name"), py::arg("shape"), py::arg("dtype") = "float32")
      .def(
          "add_op",
          [](Graph& g, const std::string& type, const std::string& name,
             const std::vector<int>& inputs, const py::dict& attrs, const py::dict& weights,
             int num_outputs) {
            OpNode node;
            node.type = type;
            node.name = name;
            node.inputs = inputs;
            for (auto kv : attrs) {
              const std::string key = py::str(kv.first);
              if (!kv.second.is_none()) node.attrs[key] = attr_from_py(key, kv.second);
            }
            for (auto kv : weights) {
              const std::string key = py::str(kv.first);
              if (!kv.second.is_none())
                node.weights[key] = weight_from_py(key, py::array::ensure(kv.second));
            }
            return g.add_op(std::move(node), num_outputs);
          },
          py::arg("type"), py::arg("name"), py::arg("inputs"), py::arg("attrs") = py::dict(),
          py::arg("weights") = py::dict(), py::arg("num_outputs") = 1)
      .def("set_outputs", &Graph::set_outputs)
      .def_property_readonly("num_values", [](const Graph& g) { return g.values.size(); })
      .def_property_readonly("num_ops", [](const Graph& g) { return g.nodes.size(); });

  py::class_<CompiledModel>(m, "CompiledModel")
      .def(py::init([](const Graph& g, const std::string& isa, int num_threads, bool optimize) {
             CompileOptions o;
             o.isa = isa;
             o.num_threads = num_threads;
             o.optimize = optimize;
             return std::make_unique<CompiledModel>(g, o);
           }),
           py::arg("graph"), py::arg("isa") = "", py::arg("num_threads") = 0,
           py::arg("optimize") = true)
      .def("run", &run_model, py::arg("inputs"))
      .def(
          "output_types",
          [](const CompiledModel& m, const std::vector<std::vector<int64_t>>& shapes) {
            py::list out;
            for (const ValueType& t : m.output_types(shapes))
              out.append(py::make_tuple(shape_to_py(t.shape), dtype_name(t.dtype)));
            return out;
          })
      .def(
          "value_types",
          [](const CompiledModel& m, const std::vector<std::vector<int64_t>>& shapes) {
            py::list out;
            for (const ValueType& t : m.value_types(shapes))
              out.append(py::make_tuple(shape_to_py(t.shape), dtype_name(t.dtype)));
            return out;
          })
      .def("ops",
           [](const CompiledModel& m) {
             py::list out;
             for (const OpSummary& s : m.ops())
               out.append(py::make_tuple(s.name, s.type, s.inputs, s.outputs));
             return out;
           })
      .def_property("num_threads", &CompiledModel::num_threads, &CompiledModel::set_num_threads)
      .def_property_readonly("isa", &CompiledModel::isa)
      .def_property_readonly("num_plans", &CompiledModel::num_plans);

  m.def("build_info", &build_info);
  m.def("available_isas", [] {
    std::vector<std::string> out;
    for (Isa isa : available_isas()) out.push_back(isa_name(isa));
    return out;
  });
  m.def("registered_ops", &registered_op_types);
  register_testing(m);
}
