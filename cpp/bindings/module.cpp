// The pybind11 module tfjs_infer._core: builds graphs, compiles and runs
// models. Thin on purpose: shapes and dtypes are validated by the core, and
// every tfjs_infer::Error becomes the matching tfjs_infer.errors class.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "bindings/cpu_info.h"
#include "compile/device.h"
#include "bindings/testing.h"
#ifdef TFJS_INFER_CUDA_KERNELS
#include "bindings/cuda_testing.h"
#endif
#include "core/cpu_features.h"
#include "compile/model.h"
#include "compile/shape_inference.h"
#include "core/threading.h"
#include "ops/precision.h"
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
    case ErrorKind::kDevice:
      return "DeviceError";
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
    const float* data = c.data();
    const size_t count = static_cast<size_t>(c.size());
    if (reinterpret_cast<uintptr_t>(data) % alignof(float) != 0) {
      w.f32.assign(data, data + count);
    } else {
      // Borrowed, not copied: the array stays referenced until the core is
      // done with it (after packing at compile time).
      PyObject* ref = c.release().ptr();
      std::shared_ptr<const void> lender(ref, [](const void* p) {
        py::gil_scoped_acquire gil;
        Py_DECREF(static_cast<PyObject*>(const_cast<void*>(p)));
      });
      w.f32.borrow(data, count, std::move(lender));
    }
  } else {
    fail(ErrorKind::kInvalidModel, "weight '" + key + "' must be a float32 or int32 array");
  }
  return w;
}

// The hot path reads numpy's array struct directly: no py::array temporaries,
// no shape vectors, and the data pointer handed to the core unchanged.
constexpr size_t kFastInputs = 8, kFastDims = 64, kFastOutputs = 8;

// Address of the last input 0 the core read, for the no-copy test.
std::atomic<const void*> g_last_input0{nullptr};

bool native_order(char byteorder) {
  const uint16_t probe = 1;
  const bool little = *reinterpret_cast<const uint8_t*>(&probe) == 1;
  return byteorder != (little ? '>' : '<');
}

// Validates one input array and fills its InputRef; dims go to `dims`.
void input_ref(PyObject* obj, size_t index, InputRef* ref, int64_t* dims) {
  auto& api = py::detail::npy_api::get();
  if (!api.PyArray_Check_(obj))
    fail(ErrorKind::kInputDtype, "input " + std::to_string(index) + " must be a numpy array");
  const auto* a = py::detail::array_proxy(obj);
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  using npy = py::detail::npy_api;
  const int needed = npy::NPY_ARRAY_C_CONTIGUOUS_ | npy::NPY_ARRAY_ALIGNED_;
  if ((a->flags & needed) != needed)
    fail(ErrorKind::kInputDtype,
         "input " + std::to_string(index) + " must be a C-contiguous, aligned array");
  const bool native = native_order(d->byteorder);
  if (d->type_num == npy::NPY_FLOAT_ && native) {
    ref->dtype = DType::kFloat32;
  } else if (d->type_num == npy::NPY_INT32_ && native) {
    ref->dtype = DType::kInt32;
  } else {
    fail(ErrorKind::kInputDtype, "input " + std::to_string(index) + ": expected float32 or " +
                                     "int32 in native byte order, received " +
                                     std::string(py::str(py::handle(a->descr))));
  }
  for (int k = 0; k < a->nd; ++k) dims[k] = static_cast<int64_t>(a->dimensions[k]);
  ref->data = a->data;
  ref->dims = dims;
  ref->rank = a->nd;
}

int api_ndim(PyObject* obj) {
  return py::detail::npy_api::get().PyArray_Check_(obj) ? py::detail::array_proxy(obj)->nd : 0;
}

// A new C-contiguous numpy array of this type (steals nothing on failure).
py::object new_array(const ValueType& t) {
  auto& api = py::detail::npy_api::get();
  using npy = py::detail::npy_api;
  Py_intptr_t dims[32];
  std::vector<Py_intptr_t> big;
  Py_intptr_t* p = dims;
  if (t.shape.size() > 32) {
    big.resize(t.shape.size());
    p = big.data();
  }
  for (size_t k = 0; k < t.shape.size(); ++k) p[k] = static_cast<Py_intptr_t>(t.shape[k]);
  PyObject* descr =
      api.PyArray_DescrFromType_(t.dtype == DType::kInt32 ? npy::NPY_INT32_ : npy::NPY_FLOAT_);
  PyObject* arr = api.PyArray_NewFromDescr_(
      api.PyArray_Type_, descr, static_cast<int>(t.shape.size()), p, nullptr, nullptr, 0, nullptr);
  if (!arr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(arr);
}

// A call's inputs as InputRefs over the arrays' own memory (validated, never
// copied): inline storage for the usual few small arrays, vectors beyond.
class CallInputs {
 public:
  CallInputs(PyObject* const* arrays, size_t n) : n_(n) {
    size_t total_dims = 0;
    for (size_t i = 0; i < n; ++i) total_dims += api_ndim(arrays[i]);
    if (n > kFastInputs) {
      big_refs_.resize(n);
      refs_ = big_refs_.data();
    }
    int64_t* dims = small_dims_;
    if (total_dims > kFastDims) {
      big_dims_.resize(total_dims);
      dims = big_dims_.data();
    }
    for (size_t i = 0, used = 0; i < n; ++i) {
      input_ref(arrays[i], i, &refs_[i], dims + used);
      used += static_cast<size_t>(refs_[i].rank);
    }
  }
  CallInputs(const CallInputs&) = delete;
  CallInputs& operator=(const CallInputs&) = delete;
  const InputRef* refs() const { return refs_; }
  size_t size() const { return n_; }

 private:
  size_t n_;
  InputRef small_refs_[kFastInputs];
  int64_t small_dims_[kFastDims];
  std::vector<InputRef> big_refs_;
  std::vector<int64_t> big_dims_;
  InputRef* refs_ = small_refs_;
};

// New numpy arrays for a call's outputs (shapes from the plan) and their
// data pointers, as run() takes them.
class CallOutputs {
 public:
  CallOutputs(const CompiledModel& m, const CompiledModel::Plan& plan) : n_(m.num_outputs()) {
    if (n_ > kFastOutputs) {
      big_objs_.resize(n_);
      big_ptrs_.resize(n_);
      objs_ = big_objs_.data();
      ptrs_ = big_ptrs_.data();
    }
    for (size_t j = 0; j < n_; ++j) {
      objs_[j] = new_array(m.output_type(plan, j));
      ptrs_[j] = py::detail::array_proxy(objs_[j].ptr())->data;
    }
  }
  CallOutputs(const CallOutputs&) = delete;
  CallOutputs& operator=(const CallOutputs&) = delete;
  void* const* ptrs() const { return ptrs_; }
  // The outputs as a list, or the single output bare when `unwrap`.
  py::object take(bool unwrap) {
    if (unwrap && n_ == 1) return std::move(objs_[0]);
    py::list results(n_);
    for (size_t j = 0; j < n_; ++j) PyList_SET_ITEM(results.ptr(), j, objs_[j].release().ptr());
    return std::move(results);
  }

 private:
  size_t n_;
  py::object small_objs_[kFastOutputs];
  void* small_ptrs_[kFastOutputs];
  std::vector<py::object> big_objs_;
  std::vector<void*> big_ptrs_;
  py::object* objs_ = small_objs_;
  void** ptrs_ = small_ptrs_;
};

// Runs the model on `n` arrays; returns the list of outputs, or the array
// itself for a single-output model when `unwrap` is set.
py::object run_arrays(const CompiledModel& m, PyObject* const* arrays, size_t n, bool unwrap) {
  const CallInputs inputs(arrays, n);
  const CompiledModel::PlanPtr plan = m.plan_for(inputs.refs(), n);
  g_last_input0.store(n ? inputs.refs()[0].data : nullptr, std::memory_order_relaxed);
  CallOutputs outputs(m, *plan);
  {
    // The inputs stay alive: the caller's list or argument holds them, and
    // run_list keeps its own references.
    py::gil_scoped_release nogil;
    m.run(*plan, inputs.refs(), outputs.ptrs());
  }
  return outputs.take(unwrap);
}

// CompiledModel.run(list of arrays) -> list of arrays.
py::object run_list(const CompiledModel& m, const py::list& arrays) {
  const size_t n = arrays.size();
  // Own references: another thread may change the list while the GIL is out.
  PyObject* small[kFastInputs];
  std::vector<PyObject*> big;
  PyObject** items = small;
  if (n > kFastInputs) {
    big.resize(n);
    items = big.data();
  }
  for (size_t i = 0; i < n; ++i) items[i] = PyList_GET_ITEM(arrays.ptr(), i);
  for (size_t i = 0; i < n; ++i) Py_INCREF(items[i]);
  struct Release {
    PyObject** items;
    size_t n;
    ~Release() {
      for (size_t i = 0; i < n; ++i) Py_DECREF(items[i]);
    }
  } release{items, n};
  return run_arrays(m, items, n, false);
}

// Data pointer of output j's array for run_into: the caller's array, checked
// to be exactly what the plan writes (shape, dtype, dense, writable).
void* output_ptr(const CompiledModel& m, const CompiledModel::Plan& plan, size_t j, PyObject* obj) {
  using npy = py::detail::npy_api;
  const ValueType& t = m.output_type(plan, j);
  const std::string what = "output array " + std::to_string(j);
  if (!npy::get().PyArray_Check_(obj)) fail(ErrorKind::kInputDtype, what + " must be an array");
  const auto* a = py::detail::array_proxy(obj);
  const auto* d = py::detail::array_descriptor_proxy(a->descr);
  const int needed =
      npy::NPY_ARRAY_C_CONTIGUOUS_ | npy::NPY_ARRAY_ALIGNED_ | npy::NPY_ARRAY_WRITEABLE_;
  const int type = t.dtype == DType::kInt32 ? npy::NPY_INT32_ : npy::NPY_FLOAT_;
  if ((a->flags & needed) != needed || d->type_num != type || !native_order(d->byteorder))
    fail(ErrorKind::kInputDtype,
         what + " must be a writable C-contiguous " + dtype_name(t.dtype) + " array");
  bool same = a->nd == static_cast<int>(t.shape.size());
  for (int k = 0; same && k < a->nd; ++k) same = a->dimensions[k] == t.shape[k];
  if (!same) fail(ErrorKind::kInputShape, what + " must have shape " + shape_str(t.shape));
  return a->data;
}

// CompiledModel.run_into(inputs, outputs): like run, but writes each output
// into the caller's array (e.g. a slice of a larger result) instead of new
// ones. The output arrays must not overlap the inputs.
void run_into(const CompiledModel& m, const py::list& arrays, const py::list& outs) {
  // Own references: another thread may change the lists while the GIL is out.
  std::vector<py::object> held;
  std::vector<PyObject*> items;
  for (py::handle a : arrays) {
    held.push_back(py::reinterpret_borrow<py::object>(a));
    items.push_back(a.ptr());
  }
  for (py::handle o : outs) held.push_back(py::reinterpret_borrow<py::object>(o));
  const CallInputs inputs(items.data(), items.size());
  const CompiledModel::PlanPtr plan = m.plan_for(inputs.refs(), inputs.size());
  if (outs.size() != m.num_outputs())
    fail(ErrorKind::kInputValue, "the model has " + std::to_string(m.num_outputs()) +
                                     " outputs, received " + std::to_string(outs.size()) +
                                     " output arrays");
  std::vector<void*> ptrs(outs.size());
  for (size_t j = 0; j < ptrs.size(); ++j) ptrs[j] = output_ptr(m, *plan, j, outs[j].ptr());
  py::gil_scoped_release nogil;
  m.run(*plan, inputs.refs(), ptrs.data());
}

// CompiledModel.profile(list of arrays, rounds) -> per op (ops() order), the
// median wall time in microseconds over `rounds` runs.
std::vector<double> profile_list(const CompiledModel& m, const py::list& arrays, int rounds) {
  rounds = std::max(rounds, 1);  // Model.profile validates it
  // Own references: another thread may change the list while the GIL is out.
  std::vector<py::object> held;
  std::vector<PyObject*> items;
  for (py::handle a : arrays) {
    held.push_back(py::reinterpret_borrow<py::object>(a));
    items.push_back(a.ptr());
  }
  const CallInputs inputs(items.data(), items.size());
  const CompiledModel::PlanPtr plan = m.plan_for(inputs.refs(), inputs.size());
  CallOutputs outputs(m, *plan);
  const size_t n_ops = m.ops().size();
  std::vector<std::vector<int64_t>> samples(n_ops, std::vector<int64_t>(rounds));
  std::vector<int64_t> one(n_ops);
  {
    py::gil_scoped_release nogil;
    for (int r = 0; r < rounds; ++r) {
      m.run(*plan, inputs.refs(), outputs.ptrs(), one.data());
      for (size_t i = 0; i < n_ops; ++i) samples[i][r] = one[i];
    }
  }
  std::vector<double> medians(n_ops);
  for (size_t i = 0; i < n_ops; ++i) {
    std::vector<int64_t>& v = samples[i];
    std::nth_element(v.begin(), v.begin() + rounds / 2, v.end());
    medians[i] = static_cast<double>(v[rounds / 2]) / 1000.0;
  }
  return medians;
}

// Exercises the pool directly (tests): every task must run exactly once,
// worker indices stay below `threads`, nested loops run inline.
py::dict pool_run(int64_t tasks, int threads, double task_us, int nested, bool keep_asleep,
                  bool owned) {
  std::vector<int> runs(tasks, 0), worker(tasks, -1);
  std::vector<size_t> thread(tasks, 0);
  std::vector<std::atomic<int>> nested_runs(tasks);
  {
    py::gil_scoped_release nogil;
    reserve_threads(threads);
    KeepSleepersAsleep keep(keep_asleep);
    auto body = [&](int64_t t, int w) {
      runs[t] += 1;
      worker[t] = w;
      thread[t] = std::hash<std::thread::id>()(std::this_thread::get_id());
      const auto until =
          std::chrono::steady_clock::now() + std::chrono::duration<double, std::micro>(task_us);
      while (std::chrono::steady_clock::now() < until) {
      }
      parallel_for(nested, threads, [&](int64_t) { nested_runs[t].fetch_add(1); });
    };
    if (owned) {
      parallel_for_owned_indexed(tasks, threads, body);
    } else {
      parallel_for_indexed(tasks, threads, body);
    }
  }
  std::vector<int> nested_out(tasks);
  for (int64_t t = 0; t < tasks; ++t) nested_out[t] = nested_runs[t].load();
  py::dict d;
  d["runs"] = runs;
  d["worker"] = worker;
  d["thread"] = thread;
  d["nested"] = nested_out;
  return d;
}

py::dict build_info() {
  py::dict d;
  py::list isas;
  for (Isa isa : available_isas()) isas.append(isa_name(isa));
  d["isas_available"] = isas;
  d["isa_selected"] = isa_name(best_kernels().isa);
  // Per ISA, the GEMM precisions it runs on this CPU (load_model's precision=).
  py::dict precisions;
  for (Isa isa : available_isas()) {
    py::list names;
    for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8})
      if (precision_supported(*kernels_for(isa), p)) names.append(precision_name(p));
    precisions[isa_name(isa)] = names;
  }
  d["precisions"] = precisions;
  d["openmp"] = openmp_enabled();
  d["thread_pool"] = "tfjs_infer (spin " + std::to_string(pool_spin_us()) + " us, then sleep)";
  d["default_num_threads"] = default_num_threads();
  d["cuda_compiled"] = cuda_backend() != nullptr;
  d["cuda_devices"] = cuda_backend() ? cuda_backend()->devices() : std::vector<std::string>{};
  d["cuda_emulated"] = cuda_backend() != nullptr && cuda_backend()->emulated();
  d["avx512_vnni"] = cpu_features().avx512_vnni;
  d["avx512_bf16"] = cpu_features().avx512_bf16;
  d["amx_bf16"] = cpu_features().amx_bf16;
  d["amx_int8"] = cpu_features().amx_int8;
  d["amx_status"] = cpu_features().amx_status;
  d["cpu"] = cpu_info();  // model, caches, topology and the kernel parameters chosen
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
             const std::string& dtype) {
            return g.add_input(name, shape_from_py(shape), parse_dtype(dtype));
          },
          py::arg("name"), py::arg("shape"), py::arg("dtype") = "float32")
      .def(
          "add_op",
          [](Graph& g, const std::string& type, const std::string& name,
             const std::vector<int>& inputs, const py::dict& attrs, const py::dict& weights) {
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
            return add_inferred_op(g, std::move(node));
          },
          py::arg("type"), py::arg("name"), py::arg("inputs"), py::arg("attrs") = py::dict(),
          py::arg("weights") = py::dict(),
          "Adds an op; its output types come from the op's own shape rule (infer). Returns "
          "the output value ids.")
      .def(
          "value_types",
          [](const Graph& g, const std::vector<int>& ids) {
            py::list out;
            for (int id : ids) {
              g.check_value(id, "value_types");
              const ValueInfo& v = g.values[id];
              out.append(py::make_tuple(shape_to_py(v.shape), dtype_name(v.dtype)));
            }
            return out;
          },
          py::arg("ids"), "(shape with None where unknown, dtype) of each value id.")
      .def("set_outputs", &Graph::set_outputs)
      .def("set_inputs", &Graph::set_inputs)
      .def(
          "cut_at",
          [](Graph& g, int id, const std::string& name, const py::sequence& shape,
             const std::string& dtype) {
            return g.cut_at(id, name, shape_from_py(shape), parse_dtype(dtype));
          },
          py::arg("id"), py::arg("name"), py::arg("shape"), py::arg("dtype") = "float32")
      .def_property_readonly("num_values", [](const Graph& g) { return g.values.size(); })
      .def_property_readonly("num_ops", [](const Graph& g) { return g.nodes.size(); });

  py::class_<CompiledModel>(m, "CompiledModel")
      .def(py::init([](Graph& g, const std::string& isa, int num_threads, bool optimize,
                       bool consume, const std::string& precision, const std::string& device,
                       int device_index, bool allow_tf32, bool cublas) {
             CompileOptions o;
             o.isa = isa;
             o.precision = precision;
             o.num_threads = num_threads;
             o.optimize = optimize;
             o.device.kind = device;
             o.device.index = device_index;
             o.device.allow_tf32 = allow_tf32;
             o.device.cublas = cublas;
             // consume: the caller is done with `g`; its weights move instead
             // of being copied (the graph is left empty).
             return consume ? std::make_unique<CompiledModel>(std::move(g), o)
                            : std::make_unique<CompiledModel>(Graph(g), o);
           }),
           py::arg("graph"), py::arg("isa") = "", py::arg("num_threads") = 0,
           py::arg("optimize") = true, py::arg("consume") = false, py::arg("precision") = "fp32",
           py::arg("device") = "cpu", py::arg("device_index") = 0, py::arg("allow_tf32") = false,
           py::arg("cublas") = false)
      .def("run", &run_list, py::arg("inputs"),
           "Runs the model on a list of C-contiguous float32/int32 arrays (read in place); "
           "returns the list of outputs.")
      .def("run_into", &run_into, py::arg("inputs"), py::arg("outputs"),
           "Runs the model on a list of arrays, writing each output into the matching "
           "array of `outputs` (writable, C-contiguous, of the output's shape and dtype).")
      .def("profile", &profile_list, py::arg("inputs"), py::arg("rounds"),
           "Runs the model `rounds` times; per op (ops() order) the median wall time in us.")
      .def(
          "run1",
          [](const CompiledModel& m, py::handle x) {
            PyObject* arrays[1] = {x.ptr()};
            return run_arrays(m, arrays, 1, true);
          },
          py::arg("x"), "run([x]) for a single-input model; a single output is returned bare.")
      .def("output_types",
           [](const CompiledModel& m, const std::vector<std::vector<int64_t>>& shapes) {
             py::list out;
             for (const ValueType& t : m.output_types(shapes))
               out.append(py::make_tuple(shape_to_py(t.shape), dtype_name(t.dtype)));
             return out;
           })
      .def("value_types",
           [](const CompiledModel& m, const std::vector<std::vector<int64_t>>& shapes) {
             py::list out;
             for (const ValueType& t : m.value_types(shapes))
               out.append(py::make_tuple(shape_to_py(t.shape), dtype_name(t.dtype)));
             return out;
           })
      .def("workspace_bytes", &CompiledModel::workspace_bytes, py::arg("input_shapes"),
           "Bytes of one call's workspace (activations, scratch) for these input shapes.")
      .def("ops",
           [](const CompiledModel& m) {
             py::list out;
             for (const OpSummary& s : m.ops())
               out.append(py::make_tuple(s.name, s.type, s.inputs, s.outputs));
             return out;
           })
      .def_property("num_threads", &CompiledModel::num_threads, &CompiledModel::set_num_threads)
      .def_property_readonly("isa", &CompiledModel::isa)
      .def("op_precisions", &CompiledModel::op_precisions)
      .def_property_readonly("precision", &CompiledModel::precision)
      .def_property_readonly("num_plans", &CompiledModel::num_plans)
      .def_property_readonly(
          "device",
          [](const CompiledModel& m) { return m.device() ? m.device()->device_name() : "cpu"; })
      .def_property_readonly("placement",
                             [](const CompiledModel& m) {
                               return m.device()
                                          ? m.device()->placement()
                                          : std::vector<std::string>(m.graph().nodes.size(), "cpu");
                             })
      .def_property_readonly(
          "gemm_engine",
          [](const CompiledModel& m) { return m.device() ? m.device()->gemm_engine() : "cpu"; })
      .def_property_readonly("device_workspaces", [](const CompiledModel& m) {
        return m.device() ? m.device()->workspaces_made() : size_t{0};
      });

  m.def("build_info", &build_info);
  m.def("available_isas", [] {
    std::vector<std::string> out;
    for (Isa isa : available_isas()) out.push_back(isa_name(isa));
    return out;
  });
  m.def("device_unusable_reason", &device_unusable_reason, py::arg("kind"), py::arg("index") = 0,
        "Why device kind:index cannot run models, or '' when it can.");
  m.def("cublas_probe", &cublas_probe, py::arg("names"),
        "Tries to dlopen cuBLAS under these names: which loaded, or why none did.");
  m.def(
      "first_nonfinite",
      [](const py::array_t<float, py::array::c_style>& a) {
        return first_nonfinite(a.data(), static_cast<int64_t>(a.size()));
      },
      "Flat index of the first NaN or +-inf of a C-contiguous float32 array, or -1.");
  register_testing(m);
#ifdef TFJS_INFER_CUDA_KERNELS
  register_cuda_testing(m);
#endif
  py::module_ testing = m.attr("_testing");
  register_cpu_testing(testing);
  testing.def(
      "last_input_address",
      [] { return reinterpret_cast<uintptr_t>(g_last_input0.load(std::memory_order_relaxed)); },
      "Address of the buffer the core read as input 0 in the latest run (no-copy tests).");
  testing.def("pool_workers", &pool_workers, "Worker threads the pool holds.");
  testing.def(
      "pool_trace", [](bool on) { pool_trace(on); }, py::arg("on"),
      "Starts or stops recording each pool job's per-thread busy time (pool_trace_take).");
  testing.def(
      "pool_trace_take",
      [] {
        py::list jobs;
        for (const PoolJobTrace& j : pool_trace_take()) {
          py::dict d;
          const int n = std::min(j.parts, 4);
          d["tasks"] = j.tasks;
          d["parts"] = j.parts;
          d["wall_ns"] = j.wall_ns;
          d["caller_wait_ns"] = j.caller_wait_ns;
          d["busy_cpu_ns"] = std::vector<int64_t>(j.busy_cpu_ns, j.busy_cpu_ns + n);
          d["busy_wall_ns"] = std::vector<int64_t>(j.busy_wall_ns, j.busy_wall_ns + n);
          d["ran"] = std::vector<int64_t>(j.ran, j.ran + n);
          jobs.append(d);
        }
        return jobs;
      },
      "The pool jobs recorded since the last call: tasks, participants, the caller's wall and "
      "wait time, and per participant (caller first, at most 4) the thread CPU and wall time "
      "in tasks and the tasks run.");
  testing.def("workspaces_made", &workspaces_made,
              "Workspaces (arena + views) built so far by all models.");
  testing.def("pool_run", &pool_run, py::arg("tasks"), py::arg("threads"), py::arg("task_us") = 0.0,
              py::arg("nested") = 0, py::arg("keep_asleep") = false, py::arg("owned") = false,
              "Runs parallel_for_indexed (owned: parallel_for_owned_indexed) with "
              "the GIL released; returns per task (runs, worker, thread, nested runs).");
}
