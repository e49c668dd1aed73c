// The device seam. The CPU backend runs CompiledModel's ops; a CUDA backend
// (TFJS_INFER_CUDA=ON) implements the same interface and reports, per op
// type, whether it can run it.
#pragma once

#include <string>
#include <vector>

namespace tfjs_infer {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual bool available() const = 0;  // compiled in and a device present
  virtual bool supports(const std::string& op_type) const = 0;
  virtual std::vector<std::string> devices() const = 0;
};

const Backend& cpu_backend();
// nullptr when the build has no CUDA support.
const Backend* cuda_backend();

}  // namespace tfjs_infer
