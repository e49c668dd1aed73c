// The one exception type the core throws. The bindings translate each kind to
// a class of python/tfjs_infer/errors.py; no Python here.
#pragma once

#include <stdexcept>
#include <string>

namespace tfjs_infer {

enum class ErrorKind {
  kInvalidModel,       // malformed graph, attribute or weight
  kUnsupported,        // op or option not implemented
  kInputShape,         // input array shape does not fit the model
  kInputDtype,         // input array dtype does not fit the model
  kInputValue,         // input values out of range (e.g. embedding ids)
  kDeviceUnavailable,  // ISA or device asked for but not present
  kDevice,             // device="cuda" asked for but unusable (DeviceError says why)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail(ErrorKind kind, const std::string& message) {
  throw Error(kind, message);
}

}  // namespace tfjs_infer
