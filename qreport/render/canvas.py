"""One Matplotlib figure and axes, reused from chart to chart in a process.

Creating an ``Axes`` and its ``Tick`` objects is two thirds of a small
chart's time in Matplotlib (17 of 27 ms).  qreport's charts have fixed,
computed ticks, so the canvas keeps one figure and one axes per style,
turns the axis machinery off (``NullLocator``) and draws tick marks as one
marker line and tick labels as texts; each chart adds its artists, is
saved, and takes them away again (:meth:`Canvas.clear`), so a chart's SVG
depends on its :class:`~.mpl.Spec` only, never on the charts drawn before
it (a test draws them in both orders).

Places are in points from the figure's top-left corner, as a page is read.
"""

from __future__ import annotations

import numpy as np


class Canvas:
    """A reusable figure with one axes; every artist a chart adds is removed after it."""

    def __init__(self, params: dict):
        from matplotlib.figure import Figure
        from matplotlib.ticker import NullLocator

        self.params = params
        self.fig = Figure(figsize=(1, 1))
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        for axis in (self.ax.xaxis, self.ax.yaxis):
            axis.set_major_locator(NullLocator())
            axis.set_minor_locator(NullLocator())
        self.ax.set_autoscale_on(False)
        self.added: list = []
        self.w = self.h = 1.0

    # ------------------------------------------------------------ frame
    def begin(self, w: float, h: float, left: float, top: float, right: float, bottom: float):
        """A w × h point figure whose axes box is inset by the given margins."""
        self.w, self.h = w, h
        self.fig.set_size_inches(w / 72.0, h / 72.0)
        self.ax.set_position((left / w, bottom / h, (w - left - right) / w, (h - top - bottom) / h))
        self.ax.set_facecolor(self.params["axes.facecolor"])
        return self.ax

    def add(self, artist):
        self.added.append(artist)
        return artist

    def clear(self) -> None:
        for a in reversed(self.added):
            a.remove()
        self.added.clear()

    # ------------------------------------------------------------ artists
    def bars(self, rects, **style):
        """Rectangles (x, y, width, height) in data units as one path: one SVG element."""
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path

        r = np.asarray(rects, float).reshape(-1, 4)
        x, y, dx, dy = r.T
        polys = np.stack([np.c_[x, y], np.c_[x + dx, y], np.c_[x + dx, y + dy], np.c_[x, y + dy]], 1)
        # add_artist, not add_patch: no data limits to update (a Bezier walk over every vertex)
        return self.add(self.ax.add_artist(PathPatch(Path.make_compound_path_from_polys(polys),
                                                    **style)))

    def text(self, x: float, y: float, s: str, size: float, **kw):
        """Text whose baseline starts (or, with ha, is aligned) at (x, y) points."""
        kw.setdefault("va", "baseline")
        return self.add(self.fig.text(x / self.w, 1 - y / self.h, s, fontsize=size, **kw))

    def xticks(self, ticks, labels, grid: bool = False) -> None:
        """Tick marks below the axes, their labels under them, and vertical grid lines."""
        p, ax = self.params, self.ax
        tr = ax.get_xaxis_transform()
        if grid:
            self.add(ax.vlines(ticks, 0, 1, transform=tr, color=p["grid.color"],
                               linewidth=p["grid.linewidth"], zorder=0.5))
        self.add(ax.plot(ticks, [0] * len(ticks), transform=tr, linestyle="none", marker=3,
                         markersize=p["xtick.major.size"], markeredgewidth=p["xtick.major.width"],
                         color=p["xtick.color"], clip_on=False)[0])
        size = p["xtick.labelsize"]
        below = p["xtick.major.size"] + p["xtick.major.pad"] + 0.78 * size
        for t, s in zip(ticks, labels):
            self.add(ax.annotate(s, (t, 0), xycoords=tr, xytext=(0, -below), textcoords="offset points",
                                 ha="center", va="baseline", fontsize=size,
                                 color=p["xtick.labelcolor"] if p["xtick.labelcolor"] != "inherit"
                                 else p["xtick.color"]))

    def yticks(self, ticks, labels, grid: bool = False, marks: bool = True,
               size: float | None = None, gids=None) -> None:
        """Tick marks left of the axes, their labels right-aligned to them, and grid lines."""
        p, ax = self.params, self.ax
        tr = ax.get_yaxis_transform()
        if grid:
            self.add(ax.hlines(ticks, 0, 1, transform=tr, color=p["grid.color"],
                               linewidth=p["grid.linewidth"], zorder=0.5))
        length = p["ytick.major.size"] if marks else 0.0
        if marks:
            self.add(ax.plot([0] * len(ticks), ticks, transform=tr, linestyle="none", marker=0,
                             markersize=length, markeredgewidth=p["ytick.major.width"],
                             color=p["ytick.color"], clip_on=False)[0])
        size = size or p["ytick.labelsize"]
        color = p["ytick.labelcolor"] if p["ytick.labelcolor"] != "inherit" else p["ytick.color"]
        for i, (t, s) in enumerate(zip(ticks, labels)):
            a = self.add(ax.annotate(s, (0, t), xycoords=tr, xytext=(-(length + 3.0), -0.35 * size),
                                     textcoords="offset points", ha="right", va="baseline",
                                     fontsize=size, color=color))
            if gids is not None:
                a.set_gid(gids[i])

    def legend(self, handles, names, cols: int):
        """A legend at the top left, read row by row (Matplotlib fills columns first)."""
        n = len(names)
        order = [k for j in range(cols) for k in range(j, n, cols)]
        return self.add(self.fig.legend([handles[k] for k in order], [names[k] for k in order],
                                        loc="upper left", bbox_to_anchor=(2.0 / self.w, 1 - 4.0 / self.h),
                                        ncols=cols, borderaxespad=0))
