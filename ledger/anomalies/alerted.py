"""Which flags of a day were already sent to the webhook, so a re-run of the day sends only new ones."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl

KEY = ["entity_id", "currency", "metric", "dimension"]


def _file(folder: Path, day: date) -> Path:
    return folder / "alerted" / f"{day.isoformat()}.json"


def new_flags(folder: Path, day: date, flags: pl.DataFrame) -> pl.DataFrame:
    path = _file(folder, day)
    if not path.exists() or flags.is_empty():
        return flags
    sent = pl.DataFrame(json.loads(path.read_text()), schema={key: pl.String for key in KEY}, orient="row")
    return flags.join(sent, on=KEY, how="anti")


def record_alerted(folder: Path, day: date, flags: pl.DataFrame) -> None:
    path = _file(folder, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(path.read_text()) if path.exists() else []
    known += [list(row) for row in flags.select(KEY).iter_rows()]
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(known))
    partial.replace(path)
