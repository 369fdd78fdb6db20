"""Where the tests' temporary folders live: tmpfs when the machine has room for them.

Dagster's SQLite storage commits every event on its own, and on a disk each commit waits for fsync:
1000 commits took 18.75 s in /tmp and 0.25 s in /dev/shm on the project's 2-core machine, and one
close through `stripe-close` (an instance in DAGSTER_HOME) records thousands of events. The files
and their formats are the same on tmpfs; only the wait for the disk goes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# pytest's documented variable for the root of tmp_path folders (tmp_path_factory reads it).
TEMP_ROOT_VARIABLE = "PYTEST_DEBUG_TEMPROOT"
TMPFS = Path("/dev/shm")
# A whole run holds a few hundred MiB there at once (passed tests' folders are removed at once:
# tmp_path_retention_policy); a CI runner's /dev/shm is often half its memory.
MIN_FREE_BYTES = 2 * 2**30


def choose_temp_root(config: pytest.Config) -> Path | None:
    """Point tmp_path at tmpfs unless the user chose a folder (--basetemp, PYTEST_DEBUG_TEMPROOT) or
    tmpfs is missing, read-only or small (a container's default /dev/shm is 64 MB); the root, or None."""
    if config.option.basetemp:
        return None
    if TEMP_ROOT_VARIABLE in os.environ:
        return Path(os.environ[TEMP_ROOT_VARIABLE])
    if not (TMPFS.is_dir() and os.access(TMPFS, os.W_OK)) or shutil.disk_usage(TMPFS).free < MIN_FREE_BYTES:
        return None
    # Before xdist starts the workers: their basetemp is made under the controller's.
    os.environ[TEMP_ROOT_VARIABLE] = str(TMPFS)
    return TMPFS
