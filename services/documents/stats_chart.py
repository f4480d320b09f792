"""The statistics' main breakdowns as one picture (PNG): sex, age band, rank and professional level, because
people read a chart faster than a table. Drawn with matplotlib, off screen; labels in the reader's language."""

from __future__ import annotations

import io
from collections.abc import Callable

from services.core.i18n import N_
from services.oversight.statistics import StatTable

Translate = Callable[[str], str]
COLOURS = ("#2f6db5", "#e07b39", "#3c9a5f", "#b5462f", "#7b5ea7", "#8c8c8c", "#c9a227")
PANELS = (("sex", N_("Sex")), ("age", N_("Age")), ("rank", N_("Rank")), ("level", N_("Professional level")))


def _breakdown(table: StatTable, key: str, translate: Translate) -> list[tuple[str, int]]:
    if key == "sex":
        women = table.value(table.total, "women")
        return [(translate(N_("Men")), table.total.people - women), (translate(N_("Women")), women)]
    return [(column.title(translate), count) for column, count in table.group(key)]


def render_chart(table: StatTable, translate: Translate, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")  # no screen: draw into memory
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 8), dpi=100, layout="constrained")
    figure.suptitle(title, fontsize=14, fontweight="bold")
    for index, (key, heading) in enumerate(PANELS):
        axes = figure.add_subplot(2, 2, index + 1)
        parts = _breakdown(table, key, translate)
        labels, counts = [label for label, _count in parts], [count for _label, count in parts]
        total = sum(counts)
        bars = axes.barh(labels[::-1], counts[::-1], color=COLOURS[index % len(COLOURS)])
        axes.set_title(translate(heading), fontsize=12)
        axes.bar_label(bars, labels=[f"{c:,}".replace(",", " ") + (f" ({100 * c / total:.0f}%)" if total else "")
                                     for c in counts[::-1]], padding=3, fontsize=9)
        axes.margins(x=0.3)
        axes.xaxis.set_visible(False)  # the bars carry their numbers
        axes.spines[["top", "right", "bottom"]].set_visible(False)
        axes.tick_params(axis="y", labelsize=9)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
