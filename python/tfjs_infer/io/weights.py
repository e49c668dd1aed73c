"""How a layer finds its variables in a model file: one lookup interface
(:class:`WeightLookup`) over the two ways the readers hand weights over.

- TF.js model.json (io/tfjs.py): every weight by name (``ModelSpec.weights``),
  matched to the variables a layer asks for by TF.js's rules
  (TFJS-FORMAT.md 3.3): the exact name, then TF.js's fallback (drop the
  second-to-last component), then a unique suffix.
- Keras .keras and .h5 (io/keras.py): per layer, its variables in canonical
  order (``ModelSpec.keras_weights``); .h5 files name them
  (``dense/kernel:0``), .keras files address sub-objects by path
  (``forward_layer/cell``) and name each variable ``vars/<index>``.

The frontend's ``LayerCall`` holds one lookup per layer call and asks it,
whatever the format; :func:`weight_source` builds the model's from a
ModelSpec. Weights no layer took are an error under strict loading
(:meth:`WeightSource.check_all_used`), as in TF.js.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Protocol

import numpy as np

from ..errors import WeightsError
from .spec import ModelSpec

# ModelSpec.keras_weights: layer key -> (weight names or None, arrays in order).
KerasWeightTree = dict[tuple[str, ...], tuple[Optional[list[str]], list[np.ndarray]]]


class WeightLookup(Protocol):
    """The variables of one layer (or of a sub-object of it) in the file."""

    @property
    def in_order(self) -> bool:
        """True for Keras files (variables in canonical order, so `index`
        finds them); False for TF.js files (matched by name only)."""
        ...

    def count(self) -> int:
        """How many variables this view holds in order (0 when matched by name)."""
        ...

    def find(
        self, path: Sequence[str], name: str, index: int | None
    ) -> tuple[str, np.ndarray] | None:
        """Variable `name` of the layer at `path` (its scope and name), or the
        one at canonical position `index`, with its name in the file; marks
        it used. None when the file has no such variable."""
        ...

    def has(self, path: Sequence[str], name: str, index: int | None) -> bool:
        """Whether :meth:`find` would find it (marks nothing)."""
        ...

    def sub(self, keras_paths: Sequence[str], scope_name: str | None, layer: str) -> WeightLookup:
        """The view of a sub-object of layer `layer`: at one of `keras_paths`
        inside it (.keras files), or whose weight names carry `scope_name`
        after the layer's own name (.h5 files); TF.js files match by name,
        so the view is the same."""
        ...

    def part(self, first: int, count: int) -> WeightLookup:
        """The view of variables [first, first + count) of this one (a cell of
        a stack, one direction of a Bidirectional...) in Keras files."""
        ...

    def names(self) -> list[str]:
        """Every weight name of a file matched by name (empty otherwise)."""
        ...


class WeightSource(Protocol):
    """A model's weights for one lowering: a lookup per layer, and which
    weights were left over."""

    def layer(self, key: tuple[str, ...]) -> WeightLookup:
        """The lookup of the layer at `key` (nested model names, layer name)."""
        ...

    def check_all_used(self) -> None:
        """Raise WeightsError naming the file's weights that no layer took."""
        ...


def weight_source(spec: ModelSpec) -> WeightSource:
    """The weights of `spec` as its reader handed them over."""
    if spec.keras_weights is None:
        return NamedWeights(spec.weights, spec.source)
    return OrderedWeights(spec.keras_weights, spec.source)


# -- TF.js: by name -------------------------------------------------------------------


class NamedWeights:
    """TF.js files: matches the file's weight names to the variables each
    layer asks for (exact, TF.js's fallback, unique suffix)."""

    in_order = False

    def __init__(self, weights: dict[str, np.ndarray], source: str) -> None:
        self.weights = weights
        self.source = source
        self.used: set[str] = set()
        self._short: dict[str, list[str]] = {}
        for name in weights:
            parts = name.split("/")
            if len(parts) >= 3:
                self._short.setdefault("/".join([*parts[:-2], parts[-1]]), []).append(name)

    # -- WeightSource
    def layer(self, key: tuple[str, ...]) -> NamedWeights:
        return self  # names carry the layer's path: one matcher serves every layer

    def check_all_used(self) -> None:
        unused = [n for n in self.weights if n not in self.used]
        if unused:
            raise WeightsError(
                f"{self.source}: {len(unused)} weight(s) in the file match no layer variable: "
                f"{_shown(unused)}"
            )

    # -- WeightLookup
    def count(self) -> int:
        return 0

    def find(
        self, path: Sequence[str], name: str, index: int | None
    ) -> tuple[str, np.ndarray] | None:
        found = self._match(_candidates(path, name))
        if found is None:
            return None
        self.used.add(found)
        return found, self.weights[found]

    def has(self, path: Sequence[str], name: str, index: int | None) -> bool:
        return self._match(_candidates(path, name)) is not None

    def sub(self, keras_paths: Sequence[str], scope_name: str | None, layer: str) -> NamedWeights:
        return self

    def part(self, first: int, count: int) -> NamedWeights:
        return self

    def names(self) -> list[str]:
        return list(self.weights)

    def _match(self, candidates: Sequence[str]) -> str | None:
        for want in candidates:
            if want in self.weights:
                return want
        for want in candidates:
            hits = self._short.get(want, [])
            if len(hits) == 1:
                return hits[0]
        for want in candidates:
            hits = [n for n in self.weights if n.endswith("/" + want)]
            if len(hits) == 1:
                return hits[0]
        return None


def _candidates(path: Sequence[str], name: str) -> list[str]:
    """The names TF.js gives variable `name` of the layer at `path`: under
    its whole scope, then under the layer's own name only."""
    return ["/".join([*path, name]), f"{path[-1]}/{name}"]


# -- Keras: in canonical order -------------------------------------------------------


class OrderedWeights:
    """Keras files: each layer's variables in canonical order, looked up by
    their short name (.h5 names them) or their position. Taken arrays are
    tracked by identity, which survives any slicing into cells or
    directions."""

    in_order = True

    def __init__(
        self,
        tree: KerasWeightTree,
        source: str,
        *,
        key: tuple[str, ...] = (),
        used: set[int] | None = None,
        root: tuple[tuple[str, ...], Sequence[np.ndarray]] | None = None,
    ) -> None:
        self.tree = tree
        self.source = source
        self.key = key
        self.used: set[int] = set() if used is None else used
        names, arrays = tree.get(key, (None, []))
        self.weight_names = None if names is None else list(names)
        self.arrays = list(arrays)
        # The layer this view belongs to: its key and variables name the
        # arrays (see _file_name).
        self.root = root if root is not None else (key, self.arrays)

    # -- WeightSource
    def layer(self, key: tuple[str, ...]) -> OrderedWeights:
        return OrderedWeights(self.tree, self.source, key=key, used=self.used)

    def check_all_used(self) -> None:
        unused = [
            (names[i] if names else "/".join(key) + f"/vars/{i}")
            for key, (names, arrays) in self.tree.items()
            for i in range(len(arrays))
            if id(arrays[i]) not in self.used
        ]
        if unused:
            raise WeightsError(
                f"{self.source}: {len(unused)} weight(s) in the file were not used by any layer "
                f"(a layer's variables do not match its config): {_shown(unused)}"
            )

    # -- WeightLookup
    def count(self) -> int:
        return len(self.arrays)

    def find(
        self, path: Sequence[str], name: str, index: int | None
    ) -> tuple[str, np.ndarray] | None:
        if self.weight_names is not None:
            for wname, arr in zip(self.weight_names, self.arrays):
                if _short_name(wname) == name:
                    self.used.add(id(arr))
                    return wname, arr
        if index is not None and index < len(self.arrays):
            arr = self.arrays[index]
            self.used.add(id(arr))
            return self._file_name(arr), arr
        return None

    def has(self, path: Sequence[str], name: str, index: int | None) -> bool:
        if self.weight_names is not None and any(_short_name(w) == name for w in self.weight_names):
            return True
        return index is not None and index < len(self.arrays)

    def sub(self, keras_paths: Sequence[str], scope_name: str | None, layer: str) -> OrderedWeights:
        if self.weight_names is None:  # .keras: addressed by path
            key = (*self.key, *keras_paths[0].split("/"))
            for p in keras_paths:
                candidate = (*self.key, *p.split("/"))
                if candidate in self.tree:
                    key = candidate
                    break
            return OrderedWeights(self.tree, self.source, key=key, used=self.used, root=self.root)
        # .h5: the layer's weights whose names carry scope_name after the
        # layer's own name component.
        names: list[str] = []
        arrays: list[np.ndarray] = []
        for wname, arr in zip(self.weight_names, self.arrays):
            comps = wname.split("/")[:-1]
            start = comps.index(layer) + 1 if layer in comps else 0
            if scope_name is None or scope_name in comps[start:]:
                names.append(wname)
                arrays.append(arr)
        return self._view(names, arrays)

    def part(self, first: int, count: int) -> OrderedWeights:
        names = self.weight_names
        return self._view(
            None if names is None else names[first : first + count],
            self.arrays[first : first + count],
        )

    def names(self) -> list[str]:
        return []

    def _view(self, names: list[str] | None, arrays: list[np.ndarray]) -> OrderedWeights:
        """A view holding `arrays` (and their `names`) under this view's key."""
        view = OrderedWeights(self.tree, self.source, key=self.key, used=self.used, root=self.root)
        view.weight_names, view.arrays = names, arrays
        return view

    def _file_name(self, arr: np.ndarray) -> str:
        """A .keras weight's name as the file stores it: the sub-object path
        inside the layer (if any), then ``vars/<index>``."""
        root_key, root_arrays = self.root
        for i, a in enumerate(root_arrays):
            if a is arr:
                return f"vars/{i}"
        inner = self.key[len(root_key) :]
        i = next(i for i, a in enumerate(self.arrays) if a is arr)
        return "/".join((*inner, "vars", str(i)))


def _short_name(weight_name: str) -> str:
    """'dense/kernel:0' -> 'kernel'."""
    return weight_name.split("/")[-1].split(":")[0]


def _shown(names: list[str]) -> str:
    return ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")


__all__ = [
    "KerasWeightTree",
    "NamedWeights",
    "OrderedWeights",
    "WeightLookup",
    "WeightSource",
    "weight_source",
]
