"""Argument types shared by the tfjs-infer subcommands (cli.py, serve/cli.py):
argparse's own message for a bad value, naming what was received."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """argparse type: an int of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, received {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an int of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or a positive integer, received {text!r}")
    return value
