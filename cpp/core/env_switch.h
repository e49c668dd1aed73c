// Experiment switches read from the environment (TFJS_INFER_*), for A/B
// measurements: each is read once, where the thing it switches is built.
#pragma once

#include <cstdlib>
#include <cstring>

namespace tfjs_infer {

// Whether environment variable `name` is set to exactly `value`.
inline bool env_is(const char* name, const char* value) {
  const char* s = std::getenv(name);
  return s && std::strcmp(s, value) == 0;
}

}  // namespace tfjs_infer
