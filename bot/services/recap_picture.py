"""The weekly recap as a PNG, drawn with matplotlib's Agg backend (no display needed).

One opaque dark card with light text and large type, one column, so it reads on a phone in
dark and in light mode. Names and answers are people's text: drawn with `parse_math=False`,
so a `$` is a dollar sign and never mathtext. A panel without data says so instead of drawing
empty axes."""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING, Any

from bot.services.recap_data import RecapData
from bot.user_text import clip

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BACKGROUND = "#1b2230"
PANEL = "#242d3d"
TEXT = "#f4f6fa"
MUTED = "#b8c2d3"
BAR = "#5fb3f5"
SQUAD_BAR = "#f2b35e"
DAY_BAR = "#7bd88f"
WIDTH, HEIGHT, DPI = 6.0, 9.6, 150  # 900 × 1440 px: large type once a phone shrinks it


def render_png(data: RecapData, lines: list[str]) -> bytes:
    """The recap picture: the week's top 10 and squads, answers per day, the team's topic
    heat-map, and `lines` (the recap's three sentences, names as shown) beneath."""
    from matplotlib.figure import Figure  # loaded when a recap is drawn: it is heavy

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, facecolor=BACKGROUND)
    grid = figure.add_gridspec(
        4, 1, height_ratios=[3.2, 1.5, 1.4, 2.4], hspace=0.62,
        left=0.3, right=0.95, top=0.885, bottom=0.255,
    )  # fmt: skip
    figure.text(
        0.5, 0.97, f"Weekly recap · #{data.channel_name}", ha="center", va="center",
        color=TEXT, fontsize=17, fontweight="bold", parse_math=False,
    )  # fmt: skip
    figure.text(
        0.5, 0.943, f"{data.first:%a %d %b} – {data.last:%a %d %b %Y} · {data.answers} answers",
        ha="center", va="center", color=MUTED, fontsize=12,
    )  # fmt: skip
    _top(figure.add_subplot(grid[0]), data)
    _squads(figure.add_subplot(grid[1]), data)
    _days(figure.add_subplot(grid[2]), data)
    _heat(figure, figure.add_subplot(grid[3]), data)
    _lines(figure, lines)
    out = io.BytesIO()
    figure.savefig(out, format="png", facecolor=BACKGROUND, dpi=DPI)
    return out.getvalue()


def _panel(ax: Axes, title: str) -> None:
    ax.set_facecolor(PANEL)
    ax.set_title(title, color=TEXT, fontsize=13, loc="left", pad=8, fontweight="bold")
    ax.tick_params(colors=TEXT, labelsize=11)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _empty(ax: Axes, title: str, message: str) -> None:
    _panel(ax, title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
            color=MUTED, fontsize=12)  # fmt: skip


def _bars(ax: Axes, labels: list[str], values: list[float], notes: list[str], colour: str) -> None:
    """Horizontal bars, best on top, each with its value written beside it."""
    ys = list(range(len(values)))[::-1]
    ax.barh(ys, values, color=colour, height=0.7)
    ax.set_yticks(ys, labels)
    for label in ax.get_yticklabels():
        label.set_parse_math(False)
    ax.set_xticks([])
    top = max(values, default=0.0) or 1.0
    ax.set_xlim(0, top * 1.3)
    for y, value, note in zip(ys, values, notes, strict=True):
        ax.text(value + top * 0.02, y, note, va="center", color=TEXT, fontsize=11,
                parse_math=False)  # fmt: skip


def _top(ax: Axes, data: RecapData) -> None:
    title = "Top 10 of the week (points)"
    if not data.top:
        return _empty(ax, title, "No answers yet")
    _panel(ax, title)
    labels = [f"{s.rank}. " + ("someone" if s.hidden else clip(s.name, 12)) for s in data.top]
    notes = [f"{s.points:g}" for s in data.top]
    _bars(ax, labels, [s.points for s in data.top], notes, BAR)
    return None


def _squads(ax: Axes, data: RecapData) -> None:
    title = "Squads (avg points per active member)"
    if not data.squads:
        return _empty(ax, title, "No squad answered yet")
    _panel(ax, title)
    shown = data.squads[:5]
    labels = [f"{s.rank}. {clip(s.name, 12)}" for s in shown]
    notes = [f"{s.average:g} · {s.active}/{s.size} active" for s in shown]
    _bars(ax, labels, [s.average for s in shown], notes, SQUAD_BAR)
    return None


def _days(ax: Axes, data: RecapData) -> None:
    title = "Answers per day"
    if not data.answers:
        return _empty(ax, title, "No answers yet")
    _panel(ax, title)
    xs = list(range(len(data.per_day)))
    counts = [n for _, n in data.per_day]
    ax.bar(xs, counts, color=DAY_BAR, width=0.65)
    ax.set_xticks(xs, [f"{d:%a}" for d, _ in data.per_day])
    ax.set_yticks([])
    ax.set_ylim(0, max(counts) * 1.35)
    for x, n in zip(xs, counts, strict=True):
        if n:
            ax.text(x, n + max(counts) * 0.05, str(n), ha="center", color=TEXT, fontsize=11)
    return None


def _heat(figure: Any, ax: Axes, data: RecapData) -> None:
    title = "Team average per topic (/10)"
    if not data.heat:
        return _empty(ax, title, "No graded answers yet")
    _panel(ax, title)
    rows = list(data.heat)
    values = [[float("nan") if v is None else v for v in data.heat[c]] for c in rows]
    image = ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=10, aspect="auto")
    ax.set_yticks(range(len(rows)), [clip(c.label.split(" & ")[0], 16) for c in rows])
    ax.set_xticks(range(len(data.heat_weeks)), [f"{d.day} {d:%b}" for d in data.heat_weeks])
    for y, row in enumerate(values):
        for x, value in enumerate(row):
            text = "–" if value != value else f"{value:g}"  # NaN: no answers that week
            ax.text(x, y, text, ha="center", va="center", fontsize=12, fontweight="bold",
                    color="#101010" if value == value else MUTED)  # fmt: skip
    scale = figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    scale.set_ticks([0, 5, 10], labels=["0", "5", "10"])
    scale.ax.tick_params(colors=TEXT, labelsize=10)
    return None


def _lines(figure: Any, lines: list[str]) -> None:
    """The three sentences under the panels, wrapped (the quote to two rows)."""
    y = 0.205
    for i, line in enumerate(lines):
        rows = textwrap.wrap(
            line, 62, max_lines=2 if i == 0 else 3, placeholder="…", break_on_hyphens=False
        )
        figure.text(0.04, y, "\n".join(rows), va="top", color=TEXT, fontsize=11,
                    parse_math=False, linespacing=1.3)  # fmt: skip
        y -= 0.0235 * len(rows) + 0.014
