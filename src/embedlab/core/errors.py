"""The one exception the project raises for what a user can fix, and the one place that prints it."""

from __future__ import annotations

import sys


class EmbedlabError(Exception):
    """A problem the user can fix (bad input, missing file, ...): reported as one line, never a traceback."""


def print_error(message: object) -> None:
    """`embedlab: error: <message>` on stderr, the one line every failure ends in (tests look for it)."""
    print(f"embedlab: error: {message}", file=sys.stderr, flush=True)
