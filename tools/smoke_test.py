#!/usr/bin/env python3
"""Smoke test of an installed tfjs-infer (a release wheel in a fresh venv):
import it, report its build, run the bundled digits model and compare its
accuracy with the one Keras measured when the example was made, on every ISA
this CPU has, then check a damaged file gives a named error.

Run it outside the source tree, so that the installed package is imported.
Exit status 0 when every check passes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main() -> int:
    """Run the checks; print what was found."""
    import tfjs_infer as ti

    where = Path(ti.__file__).resolve().parent
    print(f"tfjs_infer {ti.__version__} from {where}")
    info = ti.build_info()
    print(f"build: {info}")
    x, y = ti.examples.digits_samples()
    expected = ti.examples.digits_info()["keras_accuracy"]
    reference = None
    for isa in ti.available_isas():
        model = ti.load_model(ti.examples.digits_path(), isa=isa)
        probs = model.predict(x)
        accuracy = float(np.mean(probs.argmax(axis=1) == y))
        print(f"{isa}: accuracy {accuracy:.4f} (Keras: {expected:.4f})")
        if abs(accuracy - expected) > 1e-9:
            print("FAILED: the accuracy differs from Keras's", file=sys.stderr)
            return 1
        reference = probs if reference is None else reference
        if not np.allclose(probs, reference, rtol=1e-4, atol=1e-6):
            print(f"FAILED: {isa} disagrees with the first ISA", file=sys.stderr)
            return 1
    try:
        ti.load_model(b'{"modelTopology": 3}')
    except ti.InvalidModelError as exc:
        print(f"damaged file refused: {exc}")
    else:
        print("FAILED: a damaged model.json loaded", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
