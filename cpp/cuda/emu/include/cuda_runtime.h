// Emulation build: the runtime API subset plus the device-side shim, so the
// same .cu sources compile as host C++ (see cuda/emu/device_shim.h).
#pragma once

#include "cuda_runtime_api.h"
#include "cuda/emu/device_shim.h"
