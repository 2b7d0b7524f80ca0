"""The one kind of error a maintainer fixes in content/, not in code.

Each message names the file and the field and says what is wrong, so the build
can print it as a single line (scripts/pelican_build.py) instead of a traceback.
"""

from __future__ import annotations


class ContentError(ValueError):
    """A mistake in content/: the message is one line naming the file and the field."""
