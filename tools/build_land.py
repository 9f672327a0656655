"""Build ``src/orbemu/data/maps/land-110m.npz``: the land outlines drawn under report maps.

orbemu's maps (``orbemu site`` and run reports) draw the coastlines of Natural Earth's 1:110m
land polygons (public domain, naturalearthdata.com), as redistributed in TopoJSON by the npm
package ``world-atlas`` 2.0.2 (ISC licence, Copyright 2013-2019 Michael Bostock; Natural Earth
vector data version 4.1.0), file ``land-110m.json``. This script decodes its quantized,
delta-encoded arcs (TopoJSON specification §2.1.4–2.1.5) into one ring of longitude/latitude
per polygon ring and writes them as three arrays:

- ``lon_deg``, ``lat_deg`` (float32): the ring vertices, one ring after another; a ring that
  crosses the antimeridian (Chukotka, Fiji) is unwrapped to continuous longitudes beyond ±180°
  (the map draws it again shifted by 360°); a ring around a pole (Antarctica) is kept as is;
- ``ring_ptr`` (int64): ring ``i`` is ``[ring_ptr[i], ring_ptr[i+1])``.

Run it when updating the source, then commit the result::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python tools/build_land.py package/land-110m.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "src" / "orbemu" / "data" / "maps" / "land-110m.npz"


def decode_arcs(topology: dict) -> list[np.ndarray]:
    """Absolute (lon, lat) coordinates of every arc (delta decoding + the transform)."""
    scale = np.asarray(topology["transform"]["scale"], np.float64)
    translate = np.asarray(topology["transform"]["translate"], np.float64)
    return [np.cumsum(np.asarray(arc, np.float64), axis=0) * scale + translate
            for arc in topology["arcs"]]


def ring_points(ring: list[int], arcs: list[np.ndarray]) -> np.ndarray:
    """The vertices of a ring given as arc indices (negative: reversed arc ``~i``); the shared
    end point of consecutive arcs is kept once."""
    parts = []
    for k, index in enumerate(ring):
        pts = arcs[index] if index >= 0 else arcs[~index][::-1]
        parts.append(pts if k == 0 else pts[1:])
    return np.concatenate(parts)


def unwrap(points: np.ndarray) -> np.ndarray:
    """Continuous longitudes along a ring that crosses the antimeridian; a ring around a pole
    (its unwrapped longitudes do not close) is returned unchanged."""
    lon = np.degrees(np.unwrap(np.radians(points[:, 0])))
    if abs(lon[-1] - lon[0]) > 1.0:  # winds around a pole
        return points
    return np.column_stack([lon, points[:, 1]])


def main(path: str) -> None:
    topology = json.loads(Path(path).read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    rings: list[np.ndarray] = []
    for geometry in topology["objects"]["land"]["geometries"]:
        polygons = (geometry["arcs"] if geometry["type"] == "MultiPolygon"
                    else [geometry["arcs"]])
        for polygon in polygons:
            rings.extend(unwrap(ring_points(ring, arcs)) for ring in polygon)
    ptr = np.concatenate(([0], np.cumsum([len(r) for r in rings]))).astype(np.int64)
    xy = np.concatenate(rings)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, lon_deg=xy[:, 0].astype(np.float32),
                        lat_deg=xy[:, 1].astype(np.float32), ring_ptr=ptr)
    print(f"wrote {OUT}: {len(rings)} rings, {len(xy)} vertices")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "package/land-110m.json")
