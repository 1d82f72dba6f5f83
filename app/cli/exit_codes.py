"""Exit statuses of the ``inspect`` command, documented in the README."""

OK = 0
NG_FOUND = 1
USAGE = 2
PARTIAL = 3
GUARD_REJECTED = 4
