"""``python -m tfjs_infer ...`` is the ``tfjs-infer`` command."""

from __future__ import annotations

import sys

from .cli import main

sys.exit(main())
