// Raw-kernel hooks for tests: filled in by the kernel work.
#include "bindings/testing.h"

void register_testing(pybind11::module_& m) { m.def_submodule("_testing", "raw kernels for tests"); }
