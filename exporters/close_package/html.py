"""The close package as one self-contained HTML file: inline CSS and SVG, no script, no network."""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from exporters.journal import atomic_write_bytes
from exporters.close_package import charts
from exporters.close_package.adjustments import none_adjusted
from exporters.close_package.close_data import CloseData, TrialBalanceLine
from exporters.close_package.presentation import (
    SIGN_OFF_ROLES, TIE_OUT_LABELS, bank_file_warnings_none, category_label, display_amount, lock_text, no_chart_data, none_in_suspense,
    proven_text, status_text, tie_outs_text,
)

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
        status_text=status_text,
        tie_out_label=TIE_OUT_LABELS.__getitem__,
        category_label=category_label,
        proven_text=proven_text,
        lock_text=lock_text,
        tie_outs_text=tie_outs_text,
        breakable=breakable,
        bank_file_warnings_none=bank_file_warnings_none,
        no_chart_data=no_chart_data,
        sign_off_roles=SIGN_OFF_ROLES,
        trial_balance_total=trial_balance_total,
        none_in_suspense=none_in_suspense(data.period),
        none_adjusted=none_adjusted(data.period),
        # matplotlib's own SVG output, trusted markup; none when there is nothing to draw
        daily_volume_svg=Markup(charts.daily_volume_svg(data)) if data.daily_volume else None,
        unmatched_by_age_svg=Markup(charts.unmatched_by_age_svg(data)) if data.unmatched_payouts else None,
    )


def breakable(name: str) -> Markup:
    """A long code name (a check's) that may wrap after its underscores and colon instead of mid-word."""
    return Markup(str(escape(name)).replace("_", "_<wbr>").replace(":", ":<wbr>"))


def write_html(data: CloseData, path: Path) -> Path:
    atomic_write_bytes(path, render_html(data).encode())
    return path
