// The emulator's self-test hooks (emulation builds only), added to
// tfjs_infer._core._cuda_testing: planted-bug kernels (cuda/emu/selftest.h),
// launch statistics and the emulated runtime's memory poisoning.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "bindings/cuda_testing.h"
#include "cuda/emu/scheduler.h"
#include "cuda/emu/selftest.h"

namespace py = pybind11;

namespace tfjs_infer {
namespace {

namespace st = emu::selftest;
template <typename T>
using Arr = py::array_t<T, py::array::c_style | py::array::forcecast>;

// A device buffer of n T's, freed on scope exit.
template <typename T>
class Buf {
 public:
  explicit Buf(size_t n) : n_(n) {
    if (cudaMalloc(reinterpret_cast<void**>(&p_), (n ? n : 1) * sizeof(T)) != cudaSuccess)
      throw std::bad_alloc();
  }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
  explicit Buf(const Arr<T>& a) : Buf(static_cast<size_t>(a.size())) {
    cudaMemcpy(p_, a.data(), n_ * sizeof(T), cudaMemcpyHostToDevice);
  }
  ~Buf() { cudaFree(p_); }
  T* get() const { return p_; }
  Arr<T> download() const {
    Arr<T> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(n_)});
    cudaMemcpy(out.mutable_data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost);
    return out;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

void ok(cudaError_t e) {
  if (e != cudaSuccess) throw std::runtime_error(cudaGetErrorName(e));
}

}  // namespace

void register_emu_selftests(py::module_& t) {
  t.def("emu_reverse", [](const Arr<float>& x, bool barrier) {
    Buf<float> dx(x), dy(static_cast<size_t>(x.size()));
    ok(st::reverse(dx.get(), dy.get(), static_cast<int>(x.size()), barrier));
    return dy.download();
  });
  t.def("emu_barrier_in_flat_launch", [](const Arr<float>& x) {
    Buf<float> dx(x), dy(static_cast<size_t>(x.size()));
    ok(st::barrier_in_flat_launch(dx.get(), dy.get(), static_cast<int>(x.size())));
  });
  t.def("emu_early_return", [](int n) {
    Buf<float> dy(static_cast<size_t>(n));
    ok(st::early_return(dy.get(), n));
  });
  t.def("emu_warp_deadlock", [] {
    Buf<float> dy(32);
    ok(st::warp_deadlock(dy.get()));
  });
  t.def("emu_read_unwritten_shared", [] {
    Buf<float> dy(2);
    ok(st::read_unwritten_shared(dy.get()));
    return dy.download();
  });
  t.def("emu_shuffles", [](const Arr<float>& x, int src, int xor_mask, int delta) {
    if (x.size() != 32) throw py::value_error("x must hold 32 lanes");
    Buf<float> dx(x), dy(160);
    ok(st::shuffles(dx.get(), dy.get(), src, xor_mask, delta));
    return dy.download();
  });
  t.def("emu_shuffle_exited_lane", [] {
    Buf<float> dy(32);
    ok(st::shuffle_exited_lane(dy.get()));
  });
  t.def("emu_run_order", [](int n) {
    Buf<int32_t> order(static_cast<size_t>(n));
    ok(st::run_order(order.get(), n));
    return order.download();
  });
  t.def("emu_histogram", [](const Arr<int32_t>& x, int bins) {
    Buf<int32_t> dx(x), counts(static_cast<size_t>(bins));
    cudaMemset(counts.get(), 0, static_cast<size_t>(bins) * sizeof(int32_t));
    ok(st::histogram(dx.get(), static_cast<int>(x.size()), counts.get(), bins));
    return counts.download();
  });
  t.def("emu_oversized_block_error", [] {
    Buf<float> dy(1);
    return std::string(cudaGetErrorName(st::oversized_block(dy.get())));
  });
  t.def("emu_fresh_device_bytes", [](int n) {
    Buf<unsigned char> d(static_cast<size_t>(n));
    return d.download();
  });
  t.def("emu_launch_stats", [] {
    const emu::LaunchStats s = emu::launch_stats();
    py::dict d;
    d["launches"] = s.launches;
    d["blocks"] = s.blocks;
    d["threads"] = s.threads;
    return d;
  });
}

}  // namespace tfjs_infer
