"""CZML for CesiumJS: satellites moving over the Earth, ground stations fixed on it.

The document (built with ``czml3``, ``formats`` extra) holds:

- a preamble packet with a clock spanning the ephemeris (``LOOP_STOP``, 60× real time);
- one packet per satellite, ``id = "sat/<norad_id>"`` (``"sat/<norad_id>/<k>"`` for repeats):
  a point, an optional label (the name) and an optional path (one orbit trailing), and a sampled
  ``position`` in ``FIXED`` (Earth-fixed ITRF) cartesian metres, given as an ``epoch`` plus
  seconds, interpolated by Cesium with Lagrange polynomials of degree 5;
- one packet per ground station, ``id = "station/<name>"``, a point and a label at its WGS84
  position (``cartographicDegrees``: longitude, latitude, height).

Cesium's ``INERTIAL`` frame is ICRF, not SGP4's TEME, so TEME ephemerides are rotated to ITRF
before writing. Samples SGP4 could not compute are left out (the satellite's ``availability``
covers its valid samples); a satellite with none gets no packet and is named in the preamble's
description.

Large sets are decimated so the file stays loadable in a browser: at most ``max_samples``
(satellite × instant) positions are written by keeping every k-th instant (and always the last);
labels are shown for up to ``labels_up_to`` satellites and paths for up to ``paths_up_to``.
Positions are rounded to 0.1 m (the file is text; finer digits only add size).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import numpy as np

from orbemu.constants import NS_PER_S, WGS84_MU_M3_S2
from orbemu.errors import UnavailableError
from orbemu.io.tables import _as_blocks
from orbemu.orbits.ephemeris import Ephemeris
from orbemu.orbits.ground_nodes import GroundNodes
from orbemu.time import Time

__all__ = ["write_czml"]

_SAT_RGBA = [255, 214, 10, 255]
_STATION_RGBA = [0, 200, 255, 255]


def _czml3() -> Any:
    try:
        import czml3
        import czml3.enums
        import czml3.properties
        import czml3.types
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise UnavailableError(
            "writing CZML needs czml3; install it with: pip install 'orbemu[formats]'"
        ) from None
    return czml3


def _time_stride(n_sats: int, n_times: int, max_samples: int) -> int:
    if n_sats * n_times <= max_samples:
        return 1
    return max(1, math.ceil(n_sats * n_times / max(max_samples, 1)))


def write_czml(
    ephemeris: Ephemeris | Iterable[Ephemeris],
    dest: str | Path | IO[str],
    *,
    ground: GroundNodes | None = None,
    name: str = "orbemu",
    n_sats: int | None = None,
    max_samples: int = 500_000,
    labels_up_to: int = 50,
    paths_up_to: int = 20,
    multiplier: float = 60.0,
) -> dict[str, int]:
    """Write a CZML document; returns counts ``{"satellites", "stations", "samples", "stride"}``.

    ``ephemeris``: one ephemeris or blocks of satellites over the same instants (TEME or ITRF).
    ``n_sats``: the total number of satellites when ``ephemeris`` is an iterator of blocks (for
    the decimation and label/path thresholds; default: counted from a single ephemeris, else
    taken as the first block's size). ``ground``: stations to mark.
    """
    cz = _czml3()
    props, enums, types = cz.properties, cz.enums, cz.types
    blocks = _as_blocks(ephemeris)
    first = next(blocks, None)
    counts = {"satellites": 0, "stations": 0, "samples": 0, "stride": 1}
    own = isinstance(dest, (str, Path))
    fh: IO[str] = (open(dest, "w", encoding="utf-8") if isinstance(dest, (str, Path))
                   else dest)
    try:
        if first is None:
            fh.write("[" + _preamble(cz, name, None, []).model_dump_json(exclude_none=True))
            fh.write("]\n")
            return counts
        total = n_sats if n_sats is not None else first.n_sats
        stride = _time_stride(total, first.n_times, max_samples)
        keep = np.arange(0, first.n_times, stride)
        if keep[-1] != first.n_times - 1:
            keep = np.append(keep, first.n_times - 1)
        times = first.times[keep]
        epoch_ns = int(times.ns[0])
        epoch_iso = Time(epoch_ns).iso("ms")
        seconds = (times.ns - epoch_ns) / NS_PER_S
        show_labels = total <= labels_up_to
        show_paths = total <= paths_up_to
        skipped: list[str] = []
        seen: dict[int, int] = {}
        packets: list[str] = []
        for block in itertools.chain([first], blocks):
            eph = block.select(times=keep).to_itrf()
            ok = eph.status == 0
            pos = np.round(eph.position_m, 1)
            for i in range(eph.n_sats):
                norad = int(eph.norad_ids[i])
                label = str(eph.names[i])
                good = np.flatnonzero(ok[i])
                if good.size == 0:
                    skipped.append(f"{label} ({norad})")
                    continue
                k = seen.get(norad, 0)
                seen[norad] = k + 1
                pid = f"sat/{norad}" if k == 0 else f"sat/{norad}/{k}"
                samples = np.column_stack([seconds[good], pos[i, good]]).reshape(-1)
                period_s = _orbit_period_s(eph.position_m[i, good])
                packet = cz.Packet(
                    id=pid,
                    name=label,
                    availability=types.TimeInterval(start=str(times[int(good[0])].iso("ms")),
                                                    end=str(times[int(good[-1])].iso("ms"))),
                    position=props.Position(
                        epoch=epoch_iso,
                        referenceFrame="FIXED",
                        cartesian=samples.tolist(),
                        interpolationAlgorithm=enums.InterpolationAlgorithms.LAGRANGE,
                        interpolationDegree=5,
                    ),
                    point=props.Point(pixelSize=5, color=props.Color(rgba=_SAT_RGBA),
                                      outlineWidth=0),
                    label=(props.Label(text=label, font="11pt sans-serif",
                                       fillColor=props.Color(rgba=_SAT_RGBA),
                                       horizontalOrigin=enums.HorizontalOrigins.LEFT,
                                       pixelOffset=types.Cartesian2Value(values=[8, 0]))
                           if show_labels else None),
                    path=(props.Path(leadTime=0, trailTime=period_s, width=1.5,
                                     resolution=120,
                                     material=props.PolylineMaterial(
                                         solidColor=props.SolidColorMaterial(
                                             color=props.Color(rgba=_SAT_RGBA))))
                          if show_paths else None),
                )
                packets.append(packet.model_dump_json(exclude_none=True))
                counts["satellites"] += 1
                counts["samples"] += int(good.size)
        if ground is not None:
            for j in range(len(ground)):
                station = str(ground.names[j])
                packet = cz.Packet(
                    id=f"station/{station}",
                    name=station,
                    position=props.Position(cartographicDegrees=[
                        float(ground.lon_deg[j]), float(ground.lat_deg[j]),
                        float(ground.alt_m[j])]),
                    point=props.Point(pixelSize=8, color=props.Color(rgba=_STATION_RGBA),
                                      outlineColor=props.Color(rgba=[0, 0, 0, 255]),
                                      outlineWidth=1),
                    label=props.Label(text=station, font="11pt sans-serif",
                                      fillColor=props.Color(rgba=_STATION_RGBA),
                                      horizontalOrigin=enums.HorizontalOrigins.LEFT,
                                      pixelOffset=types.Cartesian2Value(values=[10, 0])),
                )
                packets.append(packet.model_dump_json(exclude_none=True))
                counts["stations"] += 1
        counts["stride"] = stride
        pre = _preamble(cz, name, (times, multiplier), skipped)
        fh.write("[" + pre.model_dump_json(exclude_none=True))
        for text in packets:
            fh.write(",\n")
            fh.write(text)
        fh.write("]\n")
    finally:
        if own:
            fh.close()
    return counts


def _preamble(cz: Any, name: str, clock: tuple[Time, float] | None, skipped: list[str]) -> Any:
    props, enums, types = cz.properties, cz.enums, cz.types
    description = None
    if skipped:
        description = ("No valid sample (SGP4 failed) for: " + ", ".join(skipped))
    if clock is None:
        return cz.Packet(id="document", name=name, version=cz.CZML_VERSION,
                         description=description)
    times, multiplier = clock
    start, end = str(times[0].iso("ms")), str(times[-1].iso("ms"))
    return cz.Packet(
        id="document", name=name, version=cz.CZML_VERSION, description=description,
        clock=props.Clock(interval=types.TimeInterval(start=start, end=end), currentTime=start,
                          multiplier=multiplier, range=enums.ClockRanges.LOOP_STOP,
                          step=enums.ClockSteps.SYSTEM_CLOCK_MULTIPLIER),
    )


def _orbit_period_s(r: np.ndarray) -> float:
    """The period of a circular orbit at the mean radius of ``r`` (for the path's trail length).

    Exact enough for a trail (LEO and MEO are nearly circular); 95 minutes if ``r`` is empty.
    """
    radius = float(np.mean(np.linalg.norm(r, axis=-1))) if r.size else math.nan
    if not math.isfinite(radius) or radius <= 0:
        return 95 * 60.0
    return 2 * math.pi * math.sqrt(radius**3 / WGS84_MU_M3_S2)
