"""`stripe-close-dbt`: dbt, started as a child that dies with the process that started it.

dagster-dbt starts dbt with a plain `Popen`, and a run killed with SIGKILL cannot stop its children:
an orphaned `dbt build` would go on writing the warehouse while the next run starts. Linux's
PR_SET_PDEATHSIG asks the kernel to kill this process when its parent dies, and the request
survives the `exec` of dbt below. Elsewhere (no prctl) dbt simply runs.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def main() -> None:
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except AttributeError:
        pass
    if os.getppid() != parent:
        sys.exit(f"stripe-close-dbt: the process that started dbt (pid {parent}) is gone; not starting dbt")
    dbt = str(Path(sys.executable).with_name("dbt"))
    os.execv(dbt, [dbt, *sys.argv[1:]])
