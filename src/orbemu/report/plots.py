"""Figures for reports and the demo (matplotlib, ``plot`` extra; Agg, no display needed).

Only matplotlib's object API is used (``Figure`` + the Agg canvas), so importing this module never
changes the global backend of a user's session.
"""

from __future__ import annotations

import functools
import importlib.resources
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from orbemu.constants import DEG
from orbemu.errors import UnavailableError, UsageError
from orbemu.orbits.ephemeris import Ephemeris
from orbemu.orbits.ground_nodes import GroundNodes

__all__ = ["draw_land", "new_figure", "plot_ground_track", "world_axes"]

_TRACK_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def _matplotlib() -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise UnavailableError(
            "plots need matplotlib; install it with: pip install 'orbemu[plot]'"
        ) from None
    return Figure, FigureCanvasAgg


def new_figure(width_in: float, height_in: float, dpi: int = 110) -> Any:
    """A matplotlib ``Figure`` on an Agg canvas (no global backend change)."""
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


@functools.cache
def _land() -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """Natural Earth 1:110m land rings (``orbemu/data/maps/land-110m.npz``, public domain)."""
    resource = importlib.resources.files("orbemu.data").joinpath("maps", "land-110m.npz")
    with resource.open("rb") as fh, np.load(fh) as data:
        return data["lon_deg"].copy(), data["lat_deg"].copy(), data["ring_ptr"].copy()


def draw_land(ax: Any, *, face: str = "#e6e9e1", edge: str = "#9aa39a") -> None:
    """Fill the land (Natural Earth 1:110m) on a longitude/latitude axes, under everything."""
    lon, lat, ptr = _land()
    for a, b in itertools.pairwise(ptr):
        x = lon[a:b]
        # rings across the antimeridian are stored unwrapped: draw them on both sides
        for shift in (0.0, 360.0 if x.min() < -180.0 else -360.0 if x.max() > 180.0 else None):
            if shift is not None:
                ax.fill(x + shift, lat[a:b], facecolor=face, edgecolor=edge, linewidth=0.5,
                        zorder=1)


def world_axes(fig: Any, *, extent: tuple[float, float, float, float] | None = None) -> Any:
    """An equirectangular map axes (longitude, latitude in degrees) with land and a graticule.

    ``extent``: ``(lon_min, lon_max, lat_min, lat_max)``; default the whole world.
    """
    ax = fig.add_subplot(1, 1, 1)
    lon0, lon1, lat0, lat1 = extent if extent is not None else (-180.0, 180.0, -90.0, 90.0)
    ax.set_facecolor("#f4f7fb")
    draw_land(ax)
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect("equal")
    step = 30 if lon1 - lon0 > 120 else 10 if lon1 - lon0 > 40 else 5
    ax.set_xticks(np.arange(np.ceil(lon0 / step) * step, lon1 + 1e-9, step))
    ax.set_yticks(np.arange(np.ceil(lat0 / step) * step, lat1 + 1e-9, step))
    ax.grid(True, color="#c8c8c8", linewidth=0.5, zorder=0.5)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    return ax


def _break_at_antimeridian(lon_deg: npt.NDArray[np.float64], lat_deg: npt.NDArray[np.float64]
                           ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Insert NaN between samples whose longitude jumps by more than 180° (a wrap), so the line
    does not cross the whole map."""
    jumps = np.flatnonzero(np.abs(np.diff(lon_deg)) > 180.0) + 1
    return np.insert(lon_deg, jumps, np.nan), np.insert(lat_deg, jumps, np.nan)


def plot_ground_track(
    ephemeris: Ephemeris,
    dest: str | Path,
    *,
    ground: GroundNodes | None = None,
    tracks: Any = None,
    max_tracks: int = 10,
    title: str | None = None,
    dpi: int = 120,
) -> Path:
    """Draw sub-satellite tracks on a longitude/latitude frame and save a PNG.

    The map is an equirectangular frame (longitude −180..180°, latitude −90..90°) with a 30°
    graticule and no basemap (nothing is downloaded). ``tracks``: indices (or a mask) of the
    satellites whose tracks are drawn; default: up to ``max_tracks`` spread evenly over the set.
    Every satellite's position at the first instant is drawn as a small dot, so a large
    constellation shows its shape. ``ground`` stations are marked with triangles and names.
    Returns the path written.
    """
    Figure, FigureCanvasAgg = _matplotlib()
    if ephemeris.n_sats == 0 or ephemeris.n_times == 0:
        raise UsageError("plot_ground_track needs at least one satellite and one instant")
    if tracks is None:
        count = min(max_tracks, ephemeris.n_sats)
        idx = np.unique(np.linspace(0, ephemeris.n_sats - 1, count).round().astype(int))
    else:
        idx = np.atleast_1d(np.arange(ephemeris.n_sats)[tracks])
    lat_rad, lon_rad, _ = ephemeris.geodetic()
    lat, lon = lat_rad / DEG, lon_rad / DEG

    fig = Figure(figsize=(12.5, 5.8), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xticks(np.arange(-180, 181, 30))
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.grid(True, color="#c8c8c8", linewidth=0.6)
    ax.set_facecolor("#f4f7fb")
    draw_land(ax)
    ax.set_xlabel("longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.axhline(0, color="#9a9a9a", linewidth=0.9)

    if ephemeris.n_sats > len(idx):
        dot = 1.5 if ephemeris.n_sats > 1000 else 8.0
        ax.scatter(lon[:, 0], lat[:, 0], s=dot, color="#5a6b7d", alpha=0.5, linewidths=0,
                   label=f"all {ephemeris.n_sats} satellites at start", zorder=2)
    for k, i in enumerate(idx):
        x, y = _break_at_antimeridian(lon[i], lat[i])
        colour = _TRACK_COLOURS[k % len(_TRACK_COLOURS)]
        ax.plot(x, y, color=colour, linewidth=1.2, zorder=3,
                label=str(ephemeris.names[i]) if len(idx) <= 10 else None)
        ax.plot(lon[i, 0], lat[i, 0], "o", color=colour, markersize=4, zorder=4)
    if ground is not None and len(ground):
        ax.scatter(ground.lon_deg, ground.lat_deg, marker="^", s=60, color="#c0392b",
                   edgecolors="black", linewidths=0.6, zorder=5, label="ground stations")
        for j in range(len(ground)):
            ax.annotate(str(ground.names[j]), (ground.lon_deg[j], ground.lat_deg[j]),
                        textcoords="offset points", xytext=(5, 4), fontsize=8, zorder=6)
    span = f"{ephemeris.times[0].iso('s')} .. {ephemeris.times[-1].iso('s')}"
    ax.set_title(title or f"Ground tracks, {span}", fontsize=11)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, framealpha=0.9,
                  borderaxespad=0.0)
    fig.tight_layout()
    path = Path(dest)
    fig.savefig(path, format="png")
    return path
