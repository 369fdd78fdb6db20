"""The package's charts as inline SVG, drawn with matplotlib (no pyplot: no global state, no display).

Every bar carries an SVG id naming its chart, currency and position (`daily-volume-usd-7`), so a
reader (or a test) can find each series in the markup. Bar heights are major units converted to
float for drawing only: geometry, not figures; every amount the package prints comes from the
integer minor units. The SVG is reproducible: fixed hash salt, no date, text kept as text.
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from ledger.money import to_major
from exporters.close_package.close_data import AGE_BUCKETS, CloseData, period_days

SVG_SETTINGS = {"svg.hashsalt": "stripe-close", "svg.fonttype": "none", "font.size": 9}


def daily_volume_svg(data: CloseData) -> str:
    """One bar chart per currency (their scales differ by orders of magnitude): charge volume per day."""
    days = period_days(data.period)
    currencies = data.currencies
    with matplotlib.rc_context(SVG_SETTINGS):
        figure = Figure(figsize=(8, 1.2 + 1.8 * len(currencies)), layout="constrained")
        axes = figure.subplots(len(currencies), 1, sharex=True, squeeze=False)[:, 0]
        for axis, currency in zip(axes, currencies):
            volume = {row.day: row.volume_minor for row in data.daily_volume if row.currency == currency}
            bars = axis.bar([day.day for day in days], [float(to_major(volume.get(day, 0), currency)) for day in days], color="#635bff")
            for day, bar in zip(days, bars):
                bar.set_gid(f"daily-volume-{currency}-{day.day}")
            axis.set_ylabel(currency.upper())
            axis.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
            axis.spines[["top", "right"]].set_visible(False)
        axes[-1].set_xlabel(f"Day of {data.period} (accounting date)")
        figure.suptitle("Daily charge volume per currency (major units)")
        return _svg(figure)


def unmatched_by_age_svg(data: CloseData) -> str:
    """Unmatched payouts per age bucket (business days), one bar series per currency."""
    counts = data.unmatched_by_age()
    labels = [label for label, _, _ in AGE_BUCKETS]
    width = 0.8 / max(len(counts), 1)
    with matplotlib.rc_context(SVG_SETTINGS):
        figure = Figure(figsize=(8, 3), layout="constrained")
        axis = figure.subplots()
        for series, (currency, values) in enumerate(counts.items()):
            positions = [index + (series - (len(counts) - 1) / 2) * width for index in range(len(labels))]
            bars = axis.bar(positions, values, width=width, label=currency.upper())
            for label, bar in zip(labels, bars):
                bar.set_gid(f"unmatched-age-{currency}-{label.replace(' ', '-')}")
        axis.set_xticks(range(len(labels)), labels)
        axis.set_xlabel("Age in business days")
        axis.set_ylabel("Payouts")
        axis.yaxis.get_major_locator().set_params(integer=True)
        axis.legend(frameon=False)
        axis.spines[["top", "right"]].set_visible(False)
        figure.suptitle("Unmatched payouts by age")
        return _svg(figure)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline in HTML: without the XML prolog and doctype
