"""The stack's own error for input it refuses: a file, folder or field it cannot trust.

The message is one line that names the file (or field) and says what is wrong and what to do; the `vla`
command prints it as `vla <command>: error: <message>` with no traceback, and a Python caller gets it as
a ValueError (or FileNotFoundError when a file is missing), so `except ValueError` keeps working.
Torch-free, like the rest of `vla.runtime`.
"""

from __future__ import annotations


class BadInputError(ValueError):
    """Input refused: a corrupt or foreign file, a format version this code does not read, a bad value."""


class MissingInputError(BadInputError, FileNotFoundError):
    """A file or folder the input needs does not exist."""
