"""Whether a process of this host still runs: how a resumed job tells a dead claim from a live one."""

from __future__ import annotations

import os


def pid_running(pid: int) -> bool:
    """True when a process with this id exists here (signal 0 checks without sending anything); a process
    we may not signal (another user's) exists too."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
