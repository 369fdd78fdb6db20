"""The configuration's fingerprint (ledger.dbt_seeds) of a project whose files a process has parsed before.

Every Dagster run that loads the accounting configuration first asks whether the warehouse already
holds it, and the question needs the fingerprint, which needs the parsed project. A new process (a
scheduled run, `stripe-close run`) paid a whole dbt parse for it when its warehouse was new (7.3 s
of CPU; 2.2 s with a saved parse beside the warehouse, most of it importing dbt), although the run's
dbt build parses in its own child anyway. The fingerprint follows from the project's files, the
settings the project reads as dbt parses it, and the versions of dbt, its adapter and the recipe
(ledger.dbt_seeds): named by the content of those, it is kept in the project's target folder, and
any change to one of them is a new name, parsed afresh.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from ledger import dbt_seeds
from ledger.dbt_runner import project_files
from ledger.dbt_window_selection import PLACE_SETTINGS

FOLDER = Path("target") / "configuration_fingerprints"
READ_SETTING = re.compile(rb"""env_var\(\s*['"](\w+)['"]""")


def remembered_fingerprint(project_dir: Path, settings: Mapping[str, str], fingerprint: Callable[[], str]) -> str:
    """The fingerprint a former `fingerprint()` of the same project and settings gave, else its answer now (kept)."""
    kept = Path(project_dir) / FOLDER / _name(Path(project_dir), {**os.environ, **settings})
    if kept.exists():
        return kept.read_text()
    answer = fingerprint()
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f"{kept.name}.{os.getpid()}.partial")
        partial.write_text(answer)
        partial.replace(kept)  # a reader never sees half a fingerprint
    except OSError:
        pass  # a read-only project: every new process parses, as before
    return answer


def _name(project_dir: Path, seen: Mapping[str, str]) -> str:
    digest, read = hashlib.sha256(), set()
    for path in project_files(project_dir):
        content = path.read_bytes()
        read.update(name.decode() for name in READ_SETTING.findall(content))
        digest.update(f"{path.relative_to(project_dir)}\0{len(content)}\0".encode() + content)
    # The settings the project reads but where the warehouse is, and dbt's own (DBT_ flags change how it parses).
    for name in sorted(name for name in seen if (name in read or name.startswith("DBT_")) and name not in PLACE_SETTINGS):
        digest.update(f"{name}={seen[name]}\0".encode())
    adapter = "dbt-duckdb"  # the only engine whose warehouse records a loaded configuration
    digest.update(f"dbt-core {importlib.metadata.version('dbt-core')}\0{adapter} {importlib.metadata.version(adapter)}\0".encode())
    digest.update(Path(dbt_seeds.__file__).read_bytes())
    return digest.hexdigest()
