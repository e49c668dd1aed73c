"""The core's window shape rules as the frontend asks them (_core bindings).

Their values are checked against TF/TF.js by every conv, pooling and
transposed-conv fixture (tests/layers); here: bad arguments are the core's
InvalidModelError naming what was expected and received, never a crash.
"""

from __future__ import annotations

import pytest

from tfjs_infer import _core
from tfjs_infer.errors import InvalidModelError


@pytest.mark.parametrize(
    "args",
    [(5, 0, 1, 1), (5, 3, 0, 1), (5, 3, 1, 0), (-1, 3, 1, 1), (5, 1 << 21, 1, 1)],
)
def test_window_arguments_out_of_range(args: tuple[int, int, int, int]) -> None:
    with pytest.raises(InvalidModelError, match=r"expected a length >= 0 .* received"):
        _core.conv_output_length(*args, "valid")
    with pytest.raises(InvalidModelError, match=r"expected a length >= 0 .* received"):
        _core.conv_transpose_output_length(*args, "valid", None)


def test_unknown_padding() -> None:
    with pytest.raises(InvalidModelError, match="padding must be 'valid', 'same' or 'causal'"):
        _core.conv_output_length(5, 3, 1, 1, "reflect")


def test_negative_output_padding() -> None:
    with pytest.raises(InvalidModelError, match="output_padding must be non-negative"):
        _core.conv_transpose_output_length(5, 3, 2, 1, "same", -1)


def test_window_that_does_not_fit_is_zero_not_an_error() -> None:
    assert _core.conv_output_length(2, 3, 1, 1, "valid") == 0
