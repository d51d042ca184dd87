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
                                                    clip_on=False, **style)))

    def text(self, x: float, y: float, s: str, size: float, **kw):
        """Text whose baseline starts (or, with ha, is aligned) at (x, y) points."""
        kw.setdefault("va", "baseline")
        return self.add(self.fig.text(x / self.w, 1 - y / self.h, s, fontsize=size, **kw))

    def lines(self, segments, transform=None, **style):
        """Line segments ((x0, y0), (x1, y1)) as one path (one SVG element, not one each);
        in data units, or in display points with ``transform="display"``."""
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path
        from matplotlib.transforms import IdentityTransform

        seg = np.asarray(segments, float).reshape(-1, 2, 2)
        if not len(seg):
            return None
        codes = np.tile([Path.MOVETO, Path.LINETO], len(seg))
        patch = PathPatch(Path(seg.reshape(-1, 2), codes), fill=False, clip_on=False, **style)
        if transform == "display":
            patch.set_transform(IdentityTransform())
        return self.add(self.ax.add_artist(patch))

    def _grid(self, segments) -> None:
        p = self.params
        self.lines(segments, color=p["grid.color"], linewidth=p["grid.linewidth"], zorder=0.5)

    def _label_color(self, axis: str) -> str:
        c = self.params[f"{axis}.labelcolor"]
        return self.params[f"{axis}.color"] if c == "inherit" else c

    def xticks(self, ticks, labels, grid: bool = False) -> None:
        """Tick marks below the axes, their labels under them, and vertical grid lines."""
        p, ax = self.params, self.ax
        y0, y1 = ax.get_ylim()
        if grid:
            self._grid([((t, y0), (t, y1)) for t in ticks])
        # marks in display points (1 pt = 1 px at 72 dpi), below the axes' bottom edge
        bottom = ax.get_position().y0 * self.h
        xs = ax.transData.transform([(t, y0) for t in ticks])[:, 0] if len(ticks) else []
        length = p["xtick.major.size"]
        self.lines([((x, bottom), (x, bottom - length)) for x in xs], transform="display",
                   color=p["xtick.color"], linewidth=p["xtick.major.width"])
        size = p["xtick.labelsize"]
        below = length + p["xtick.major.pad"] + 0.78 * size
        color = self._label_color("xtick")
        for x, s in zip(xs, labels):
            self.text(x, self.h - bottom + below, s, size, ha="center", color=color)

    def yticks(self, ticks, labels, grid: bool = False, marks: bool = True,
               size: float | None = None, gids=None) -> None:
        """Tick marks left of the axes, their labels right-aligned to them, and grid lines."""
        p, ax = self.params, self.ax
        x0, x1 = ax.get_xlim()
        if grid:
            self._grid([((x0, t), (x1, t)) for t in ticks])
        left = ax.get_position().x0 * self.w
        ys = ax.transData.transform([(x0, t) for t in ticks])[:, 1] if len(ticks) else []
        length = p["ytick.major.size"] if marks else 0.0
        if marks:
            self.lines([((left, y), (left - length, y)) for y in ys], transform="display",
                       color=p["ytick.color"], linewidth=p["ytick.major.width"])
        size = size or p["ytick.labelsize"]
        color = self._label_color("ytick")
        for i, (y, s) in enumerate(zip(ys, labels)):
            a = self.text(left - length - 3.0, self.h - y + 0.35 * size, s, size, ha="right",
                          color=color)
            if gids is not None:
                a.set_gid(gids[i])

    def legend(self, handles, names, cols: int):
        """A legend at the top left, read row by row (Matplotlib fills columns first)."""
        n = len(names)
        order = [k for j in range(cols) for k in range(j, n, cols)]
        return self.add(self.fig.legend([handles[k] for k in order], [names[k] for k in order],
                                        loc="upper left", bbox_to_anchor=(2.0 / self.w, 1 - 4.0 / self.h),
                                        ncols=cols, borderaxespad=0))
