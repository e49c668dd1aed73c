#include "cuda/runtime/cublas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <mutex>

#include "core/errors.h"

namespace tfjs_infer {

namespace {
constexpr int kCublasOpN = 0;
constexpr int kDefaultMath = 0;  // fp32 in, fp32 arithmetic: no TF32
constexpr int kTf32Math = 3;     // CUBLAS_TF32_TENSOR_OP_MATH

template <typename Fn>
bool bind(void* lib, const char* symbol, Fn* fn) {
  *fn = reinterpret_cast<Fn>(dlsym(lib, symbol));
  return *fn != nullptr;
}
}  // namespace

const CublasApi* load_cublas(const std::vector<std::string>& names, std::string* status) {
  std::string tried;
  for (const std::string& name : names) {
    void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* err = dlerror();
      tried += (tried.empty() ? "" : "; ") + name + ": " + (err ? err : "not found");
      continue;
    }
    auto api = std::make_unique<CublasApi>();
    const bool ok = bind(lib, "cublasCreate_v2", &api->create) &&
                    bind(lib, "cublasDestroy_v2", &api->destroy) &&
                    bind(lib, "cublasSetStream_v2", &api->set_stream) &&
                    bind(lib, "cublasSetMathMode", &api->set_math_mode) &&
                    bind(lib, "cublasSgemm_v2", &api->sgemm);
    if (!ok) {
      tried += (tried.empty() ? "" : "; ") + name + ": lacks the cuBLAS v2 entry points";
      dlclose(lib);
      continue;
    }
    api->library = name;  // kept loaded for the process's life
    if (status) *status = "cuBLAS (" + name + ")";
    return api.release();
  }
  if (status) *status = "own kernels (cuBLAS not found: " + tried + ")";
  return nullptr;
}

const CublasApi* process_cublas(std::string* status) {
  static std::once_flag once;
  static const CublasApi* api = nullptr;
  static std::string why;
  std::call_once(once, [] {
    const char* env = std::getenv("TFJS_INFER_CUBLAS");
    if (env && std::string(env) == "off") {
      why = "own kernels (TFJS_INFER_CUBLAS=off)";
      return;
    }
    std::vector<std::string> names;
    if (env && *env)
      names.push_back(env);
    else
      names = {"libcublas.so.13", "libcublas.so.12"};
    api = load_cublas(names, &why);
  });
  if (status) *status = why;
  return api;
}

CublasHandle::CublasHandle(const CublasApi& api, cudaStream_t stream, bool allow_tf32) : api_(api) {
  if (api_.create(&handle_) != 0)
    fail(ErrorKind::kDevice, "cublasCreate failed (" + api_.library + ")");
  if (api_.set_stream(handle_, stream) != 0 ||
      api_.set_math_mode(handle_, allow_tf32 ? kTf32Math : kDefaultMath) != 0) {
    api_.destroy(handle_);
    fail(ErrorKind::kDevice, "cublasSetStream/SetMathMode failed (" + api_.library + ")");
  }
}

CublasHandle::~CublasHandle() {
  if (handle_) api_.destroy(handle_);
}

void CublasHandle::gemm_row_major(int m, int n, int k, const float* a, const float* b, float* c,
                                  float beta) const {
  // cuBLAS is column-major: row-major C = A B is column-major C^T = B^T A^T,
  // i.e. an (n x m) result from B (n x k, ld n) times A (k x m, ld k).
  const float alpha = 1.0f;
  if (api_.sgemm(handle_, kCublasOpN, kCublasOpN, n, m, k, &alpha, b, n, a, k, &beta, c, n) != 0)
    fail(ErrorKind::kDevice, "cublasSgemm failed");
}

}  // namespace tfjs_infer
