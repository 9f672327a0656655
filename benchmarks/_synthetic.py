"""A realistic synthetic network instant for the routing benchmark (no data files needed).

Six Walker-like shells (10,412 satellites) with +Grid ISLs (20,824 links) and 1,000 ground
nodes each linked to its 10 nearest satellites. Shells are not linked to each other (a tree
spans the shells its source sees, ~76% of the satellites), unless ``bridges=True``: every 10th
satellite is then linked to the nearest satellite of the next shell (1,041 more links, and
every tree spans every satellite: the worst case for routing). Geometry is a frozen inertial
snapshot: good enough for link lengths of the right size; not an orbit model.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from orbemu.constants import EARTH_RADIUS_M

#: planes, satellites per plane, inclination deg, altitude km, phasing factor
SHELLS = [
    (72, 22, 53.0, 550.0, 17),
    (72, 22, 53.2, 540.0, 17),
    (36, 20, 70.0, 570.0, 11),
    (6, 58, 97.6, 560.0, 1),
    (48, 110, 43.0, 525.0, 5),
    (28, 32, 33.0, 535.0, 3),
]


def shell_positions(planes: int, per_plane: int, inc_deg: float, alt_km: float,
                    phasing: int) -> np.ndarray:
    """(planes*per_plane, 3) positions, metres; satellite index = plane*per_plane + slot."""
    p, s = np.meshgrid(np.arange(planes), np.arange(per_plane), indexing="ij")
    raan = 2 * np.pi * p / planes
    u = 2 * np.pi * s / per_plane + 2 * np.pi * phasing * p / (planes * per_plane)
    inc = np.radians(inc_deg)
    r = EARTH_RADIUS_M + alt_km * 1e3
    x = np.cos(raan) * np.cos(u) - np.sin(raan) * np.sin(u) * np.cos(inc)
    y = np.sin(raan) * np.cos(u) + np.cos(raan) * np.sin(u) * np.cos(inc)
    z = np.sin(u) * np.sin(inc)
    return (r * np.stack([x, y, z], axis=-1)).reshape(-1, 3)


def plus_grid(planes: int, per_plane: int, offset: int = 0) -> np.ndarray:
    """(2*planes*per_plane, 2) +Grid ISLs: next in plane and same slot in the next plane."""
    p, s = np.meshgrid(np.arange(planes), np.arange(per_plane), indexing="ij")
    me = p * per_plane + s
    intra = p * per_plane + (s + 1) % per_plane
    inter = ((p + 1) % planes) * per_plane + s
    return offset + np.concatenate(
        [np.stack([me.ravel(), intra.ravel()], 1), np.stack([me.ravel(), inter.ravel()], 1)])


def starlink_like(n_ground: int = 1000, links_per_ground: int = 10, seed: int = 1,
                  bridges: bool = False):
    """(sat_pos (n,3), isl_pairs (k,2), isl_length_m (k,), gsl_node, gsl_sat, gsl_length_m)."""
    pos, pairs, off = [], [], 0
    for planes, per_plane, inc, alt, f in SHELLS:
        pos.append(shell_positions(planes, per_plane, inc, alt, f))
        pairs.append(plus_grid(planes, per_plane, off))
        off += planes * per_plane
    bounds = np.cumsum([0] + [p * s for p, s, *_ in SHELLS])
    for k in range(len(SHELLS) - 1 if bridges else 0):  # links between consecutive shells
        mine = np.arange(bounds[k], bounds[k + 1], 10)
        nxt = pos[k + 1]
        _, j = cKDTree(nxt).query(pos[k][mine - bounds[k]])
        pairs.append(np.stack([mine, bounds[k + 1] + j], 1))
    sat = np.concatenate(pos)
    isl = np.concatenate(pairs)
    isl_len = np.linalg.norm(sat[isl[:, 0]] - sat[isl[:, 1]], axis=1)
    rng = np.random.default_rng(seed)
    lat = np.arcsin(rng.uniform(-np.sin(np.radians(60)), np.sin(np.radians(60)), n_ground))
    lon = rng.uniform(-np.pi, np.pi, n_ground)
    gnd = EARTH_RADIUS_M * np.stack(
        [np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
    dist, idx = cKDTree(sat).query(gnd, k=links_per_ground)
    gsl_node = np.repeat(np.arange(n_ground), links_per_ground)
    return sat, isl, isl_len, gsl_node, idx.ravel(), dist.ravel()
