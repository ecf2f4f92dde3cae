"""Moved to :mod:`autograder.sandboxed.protocol` (it runs inside the sandbox too); this name
stays for old imports and is the very same module object."""

import sys

from autograder.sandboxed import protocol as _protocol

sys.modules[__name__] = _protocol
