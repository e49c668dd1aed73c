// Raw-kernel hooks for the test suite (tfjs_infer._core._testing).
#pragma once

#include <pybind11/pybind11.h>

void register_testing(pybind11::module_& m);
