// The core's shape rules exposed to the frontend (shapes.cpp).
#pragma once

#include <pybind11/pybind11.h>

void register_shapes(pybind11::module_& m);
