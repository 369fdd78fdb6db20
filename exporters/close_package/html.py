"""The close package as one self-contained HTML file: inline CSS and SVG, no script, no network."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from exporters.journal import atomic_write_bytes
from exporters.close_package import charts
from exporters.close_package.adjustments import none_adjusted
from exporters.close_package.close_data import CloseData, TrialBalanceLine
from exporters.close_package.presentation import STATUS_LABELS, display_amount, none_in_suspense

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(data: CloseData) -> str:
    def trial_balance_total(currency: str) -> TrialBalanceLine:
        lines = [line for line in data.trial_balance if line.currency == currency]
        return TrialBalanceLine(
            currency, "", "Total", "", *(sum(getattr(line, field) for line in lines) for field in ("opening_minor", "debits_minor", "credits_minor", "closing_minor"))
        )

    return _ENVIRONMENT.get_template("close_package.html.j2").render(
        data=data,
        amount=display_amount,
        status_label=STATUS_LABELS.__getitem__,
        trial_balance_total=trial_balance_total,
        none_in_suspense=none_in_suspense(data.period),
        none_adjusted=none_adjusted(data.period),
        # matplotlib's own SVG output, trusted markup
        daily_volume_svg=Markup(charts.daily_volume_svg(data)),
        unmatched_by_age_svg=Markup(charts.unmatched_by_age_svg(data)),
    )


def write_html(data: CloseData, path: Path) -> Path:
    atomic_write_bytes(path, render_html(data).encode())
    return path
