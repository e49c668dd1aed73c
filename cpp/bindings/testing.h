// Raw-kernel hooks for the test suite (tfjs_infer._core._testing).
#pragma once

#include <pybind11/pybind11.h>

void register_testing(pybind11::module_& m);
// The reduced-precision hooks (testing_lowp.cpp), into the _testing submodule.
void register_testing_lowp(pybind11::module_& t);
