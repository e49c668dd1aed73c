"""Structural mutators of model files for the loader fuzzer.

A case is a small model folder held in memory: ``Case(files, entry, mode)``
where ``files`` maps a relative name to bytes (or to ``Symlink(target)``),
``entry`` is the file (or ``"."``, the folder) given to ``load_model``, and
``mode`` is ``"path"`` (load from disk) or ``"bytes"`` (the entry's bytes
handed to ``load_model``).

``mutant(seed_case, rng)`` applies one to three mutations chosen by what the
case holds:

- model.json / config.json / an .h5's ``model_config``: parsed, then a random
  node of the JSON tree is replaced by a value of another type or an absurd
  number, deleted, duplicated or deeply nested;
- weight shards and raw files: truncated, extended, bytes flipped or zeroed
  (256 zero bytes, as over an HDF5 global heap);
- .keras / .zip archives: a member mutated and the archive rebuilt, or the
  compression method or the encryption flag of a member's header changed;
- .h5: ``model_config`` rewritten through the JSON mutator, weight names made
  non-UTF-8, or raw bytes changed;
- shards replaced by a symlink loop.

Every mutation is drawn from the `rng` given, so a (seed, index) pair
reproduces its mutant exactly.
"""

from __future__ import annotations

import copy
import io
import json
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass(frozen=True)
class Symlink:
    """A file that is a symbolic link to `target` (relative to its folder)."""

    target: str


FileData = Union[bytes, Symlink]


@dataclass
class Case:
    """A model folder in memory and how to load it (see the module docstring)."""

    files: dict[str, FileData]
    entry: str
    mode: str = "path"
    notes: list[str] = field(default_factory=list)


# -- seeds --------------------------------------------------------------------------

_SEED_FOLDERS = {
    "tfjs_tm": ("tfjs/topo_tm_style", "model.json"),
    "tfjs_quant": ("converter/quant_uint8", "model.json"),
    "tfjs_sharded": ("converter/sharded", "model.json"),
    "tfjs_2in2out": ("converter/functional_2in_2out", "model.json"),
    "tfjs_conv": ("tfjs_conv/conv1d_valid", "model.json"),
    "keras3_embedding": ("keras3/embedding", "model.keras"),
    "keras3_nested": ("keras3/sequential_in_sequential", "model.keras"),
    "keras3_h5": ("keras3/embedding_h5", "model.h5"),
    "keras2_h5": ("keras2/sequential_in_sequential", "model.h5"),
    "keras2_conv_h5": ("keras_conv/separable_conv1d_s2", "model.h5"),
}


def seed_cases() -> dict[str, Case]:
    """The unmutated models the fuzzer starts from (small fixtures of every format)."""
    seeds: dict[str, Case] = {}
    for name, (folder, entry) in _SEED_FOLDERS.items():
        root = FIXTURES / folder
        files: dict[str, FileData] = {
            p.name: p.read_bytes() for p in root.iterdir() if p.is_file() and p.name != "io.json"
        }
        seeds[name] = Case(files, entry)
    tm = seeds["tfjs_tm"]
    seeds["tfjs_zip"] = Case({"model.zip": _zip(tm.files)}, "model.zip")
    seeds["tfjs_bytes_zip"] = Case({"model.zip": _zip(tm.files)}, "model.zip", mode="bytes")
    seeds["keras3_bytes"] = Case(dict(seeds["keras3_embedding"].files), "model.keras", "bytes")
    return seeds


def _zip(files: dict[str, FileData], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in files.items():
            if isinstance(data, bytes):
                zf.writestr(name, data)
    return buf.getvalue()


# -- JSON -----------------------------------------------------------------------------

_ABSURD = [
    None,
    True,
    -1,
    0,
    2**31 - 1,
    2**63,
    10**6,
    1e30,
    -1e30,
    0.5,
    "",
    "x" * 50,
    "\udcff",
    [],
    [None],
    [2**31 - 1, 2**31 - 1],
    [10**6, 10**6],
    {},
    {"class_name": 1},
]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) to a node of a JSON tree, the root included."""
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _get(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def _absurd_value(rng: random.Random, old: Any) -> Any:
    choice = rng.random()
    if choice < 0.6:
        return copy.deepcopy(rng.choice(_ABSURD))
    if choice < 0.7 and isinstance(old, (int, float)) and not isinstance(old, bool):
        return rng.choice([old * 10**6, -old, old + 1, float(old) + 0.5, str(old)])
    if choice < 0.8:
        depth = rng.choice([50, 2000, 100_000])
        return json.loads("[" * min(depth, 900) + "]" * min(depth, 900))
    if choice < 0.9 and isinstance(old, list) and old:
        return old + [copy.deepcopy(rng.choice(old))] * rng.randint(1, 3)
    if isinstance(old, dict):
        return list(old.values())
    return {"value": old}


def mutate_json_tree(doc: Any, rng: random.Random) -> Any:
    """One structural change to a parsed JSON document (returned, possibly new)."""
    paths = _paths(doc)
    path = rng.choice(paths)
    if not path:
        return _absurd_value(rng, doc)
    parent = _get(doc, path[:-1])
    key = path[-1]
    action = rng.random()
    if (action < 0.2 and isinstance(parent, dict)) or (action < 0.3 and isinstance(parent, list)):
        del parent[key]
    elif action < 0.35 and isinstance(parent, dict):
        parent[f"{key}_extra"] = copy.deepcopy(parent[key])
    else:
        parent[key] = _absurd_value(rng, parent[key])
    return doc


def _dumps(doc: Any, rng: random.Random) -> bytes:
    text = json.dumps(doc, allow_nan=True)
    if rng.random() < 0.05:  # nesting past what json.loads can take
        text = '{"modelTopology": ' + "[" * 100_000 + "]" * 100_000 + "}"
    return text.encode("utf-8", "surrogatepass")


def mutate_json_bytes(data: bytes, rng: random.Random) -> bytes:
    """Parse, mutate 1-3 nodes, serialize; raw byte mutation when not JSON."""
    try:
        doc = json.loads(data)
        for _ in range(rng.randint(1, 3)):
            doc = mutate_json_tree(doc, rng)
        return _dumps(doc, rng)
    except (ValueError, RecursionError):  # not JSON, or nested past the recursion limit
        return mutate_raw(data, rng)


# -- raw bytes ------------------------------------------------------------------------


def mutate_raw(data: bytes, rng: random.Random) -> bytes:
    """Truncate, extend, flip, zero 256 bytes, or overwrite an 8-byte field."""
    buf = bytearray(data)
    action = rng.randrange(6)
    at = rng.randrange(max(len(buf), 1))
    if action == 0:
        del buf[at:]
    elif action == 1:
        buf += bytes(rng.randrange(256) for _ in range(rng.choice([1, 7, 4096])))
    elif action == 2:
        for _ in range(rng.randint(1, 16)):
            if buf:
                buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif action == 3:
        heap = buf.find(b"GCOL")
        start = heap + rng.choice([8, 16, 24, 40]) if heap >= 0 and rng.random() < 0.5 else at
        buf[start : start + 256] = bytes(len(buf[start : start + 256]))
    elif action == 4:
        value = rng.choice([0, 1, 2**31 - 1, 2**32, 2**63 - 1, 2**64 - 1])
        buf[at : at + 8] = value.to_bytes(8, "little")[: len(buf[at : at + 8])]
    else:
        buf = buf[: len(buf) // 2] + buf[: len(buf) // 2]
    return bytes(buf)


# -- archives ---------------------------------------------------------------------------


def _unzip(data: bytes) -> dict[str, FileData] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    except Exception:
        return None


def mutate_zip(data: bytes, rng: random.Random, pristine: bool = True) -> bytes:
    """Mutate one member and rebuild, or damage a local header's method or flags."""
    members = _unzip(data)
    action = rng.random()
    if members is None or action < 0.15:
        return mutate_raw(data, rng)
    if action < 0.3:
        buf = bytearray(data)
        header = buf.find(b"PK\x03\x04")
        central = buf.find(b"PK\x01\x02")
        if rng.random() < 0.5:  # an unknown compression method in both headers
            method = rng.choice([1, 6, 14, 97, 99, 0xFFFF]).to_bytes(2, "little")
            buf[header + 8 : header + 10] = method
            if central >= 0:
                buf[central + 10 : central + 12] = method
        else:  # the "encrypted" flag
            buf[header + 6] |= 1
            if central >= 0:
                buf[central + 8] |= 1
        return bytes(buf)
    name = rng.choice(sorted(members))
    members[name] = mutate_file(name, members[name], rng, pristine)  # type: ignore[arg-type]
    if rng.random() < 0.1:
        members[f"../{name}"] = members[name]
    return _zip(members, rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))


# -- HDF5 -------------------------------------------------------------------------------


def mutate_h5(data: bytes, rng: random.Random, pristine: bool = True) -> bytes:
    """Rewrite model_config structurally or weight names as non-UTF-8 (h5py), or raw bytes.

    h5py opens only `pristine` files (not mutated yet): a damaged one may hang libhdf5.
    """
    action = rng.random()
    if action < 0.45 or not pristine:
        return mutate_raw(data, rng)
    try:
        import h5py
    except ImportError:
        return mutate_raw(data, rng)
    buf = io.BytesIO(data)
    try:
        with h5py.File(buf, "r+") as f:
            if action < 0.85 and "model_config" in f.attrs:
                raw = f.attrs["model_config"]
                text = raw.decode() if isinstance(raw, bytes) else str(raw)
                f.attrs["model_config"] = mutate_json_bytes(text.encode(), rng).decode(
                    "utf-8", "surrogateescape"
                )
            else:
                _mutate_h5_names(h5py, f, rng)
    except Exception:
        return mutate_raw(data, rng)
    return buf.getvalue()


def _mutate_h5_names(h5py: Any, f: Any, rng: random.Random) -> None:
    groups: list[Any] = []
    f.visititems(lambda _, obj: groups.append(obj) if isinstance(obj, h5py.Group) else None)
    named = [g for g in groups if "weight_names" in g.attrs and len(g.attrs["weight_names"])]
    if not named:
        f.attrs["keras_version"] = b"\xff\xfe"
        return
    group = rng.choice(named)
    names = list(group.attrs["weight_names"])
    i = rng.randrange(len(names))
    names[i] = rng.choice([b"\xff\xfe/kernel:0", b"", b"/" * 10, names[i] + b"\x80"])
    group.attrs["weight_names"] = names


# -- dispatch ---------------------------------------------------------------------------


def mutate_file(name: str, data: bytes, rng: random.Random, pristine: bool = True) -> bytes:
    """The mutator that fits a file's kind (by name, then content); `pristine`:
    the file is not mutated yet."""
    lower = name.lower()
    if lower.endswith(".json"):
        return mutate_json_bytes(data, rng)
    if lower.endswith((".keras", ".zip")) or data.startswith(b"PK"):
        return mutate_zip(data, rng, pristine)
    if lower.endswith((".h5", ".hdf5")) or data.startswith(b"\x89HDF"):
        return mutate_h5(data, rng, pristine)
    return mutate_raw(data, rng)


def mutant(seed: Case, rng: random.Random) -> Case:
    """A mutated copy of `seed`: 1-3 mutations of its files (see the module docstring)."""
    case = Case(dict(seed.files), seed.entry, seed.mode)
    for _ in range(rng.randint(1, 3)):
        names = sorted(n for n, v in case.files.items() if isinstance(v, bytes))
        if not names:
            break
        if rng.random() < 0.03 and len(names) > 1:
            victim = rng.choice([n for n in names if n != case.entry] or names)
            case.files[victim] = Symlink(victim)  # a link to itself: a loop
            case.notes.append(f"symlink loop {victim}")
            continue
        name = case.entry if rng.random() < 0.6 and case.entry in names else rng.choice(names)
        pristine = case.files[name] is seed.files.get(name)
        case.files[name] = mutate_file(name, case.files[name], rng, pristine)  # type: ignore[arg-type]
        case.notes.append(f"mutated {name}")
    return case


__all__ = ["Case", "Symlink", "mutant", "mutate_file", "mutate_json_tree", "seed_cases"]
