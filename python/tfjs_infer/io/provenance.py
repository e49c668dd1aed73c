"""Who wrote a model file, and so whose numbers its weights were trained for.

A model.json written by TF.js itself (``model.save()``, Teachable Machine,
ml5) has ``keras_version`` "tfjs-layers x.y" and ``generatedBy``
"TensorFlow.js tfjs-layers vx.y": its weights were trained with TF.js's
numerics. The converter's output from a Keras file records the Keras that
wrote it (``convertedBy``, ``generatedBy`` "keras vX", ``keras_version``
"X" in the topology): it gets that Keras's numbers. ``.keras``/``.h5`` files
name their Keras version (io/keras.py).
"""

from __future__ import annotations

from typing import Any


def keras_flavor(version: str | None) -> str:
    """ "keras2" or "keras3" for a Keras version string ("2.21.0", "3.15.1").

    Anything else (missing, "tfjs-layers 4.22.0") is Keras 2: TF.js writes the
    Keras 2 config dialect, and its converter round-trips through tf.keras.
    """
    text = (version or "").strip().lower()
    if text.startswith("keras v"):
        text = text[len("keras v") :]
    return "keras3" if text[:2] == "3." or text == "3" else "keras2"


def model_json_provenance(doc: dict[str, Any], keras3_dialect: bool) -> tuple[str, str]:
    """(semantics, reason) for a parsed model.json document (TFJS-FORMAT.md appendix A)."""
    found = doc.get("modelTopology")
    topo: dict[str, Any] = found if isinstance(found, dict) else {}
    version = topo.get("keras_version")
    version = str(version) if version is not None else None
    generated = str(doc.get("generatedBy") or "")
    converted = str(doc.get("convertedBy") or "")
    by_keras = generated.lower().startswith("keras")
    if version is not None and not version.lower().startswith("tfjs"):
        by_keras = True
    if converted and not generated.lower().startswith("tensorflow.js"):
        by_keras = True
    if keras3_dialect:
        return "keras3", f"a model.json in the Keras 3 config dialect ({_written_by(doc, version)})"
    if by_keras:
        flavor = keras_flavor(version or generated)
        return flavor, f"a model.json converted from Keras ({_written_by(doc, version)})"
    return "tfjs", f"a model.json written by TF.js ({_written_by(doc, version)})"


def _written_by(doc: dict[str, Any], version: str | None) -> str:
    parts = []
    for key in ("generatedBy", "convertedBy"):
        if doc.get(key):
            parts.append(f"{key} {str(doc[key])!r}")
    if version:
        parts.append(f"keras_version {version!r}")
    return ", ".join(parts) or "no generatedBy, convertedBy or keras_version"
