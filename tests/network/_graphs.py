"""Synthetic graphs for the network tests: a small +Grid torus with ground nodes at known
places, and random graphs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orbemu.constants import EARTH_RADIUS_M
from orbemu.network.topology import Topology, TopologyBuilder


@dataclass
class Instant:
    """The arrays a links stage hands to the network stage."""

    n_sats: int
    n_ground: int
    isl_pairs: np.ndarray
    isl_length_m: np.ndarray
    gsl_node: np.ndarray
    gsl_sat: np.ndarray
    gsl_length_m: np.ndarray
    sat_pos_m: np.ndarray | None = None

    def builder(self, **kw) -> TopologyBuilder:
        return TopologyBuilder(self.n_sats, self.n_ground, self.isl_pairs, **kw)

    def topology(self, **kw) -> Topology:
        return self.builder().build(self.isl_length_m, self.gsl_node, self.gsl_sat,
                                    self.gsl_length_m, **kw)


def unit(lat_deg, lon_deg):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)


def torus(planes=8, per_plane=10, inc_deg=53.0, alt_m=550e3, phasing=1,
          ground_latlon=((0.0, 0.0), (40.0, 60.0), (-30.0, -100.0), (10.0, 170.0)),
          links_per_ground=3) -> Instant:
    """A +Grid Walker shell (satellite = plane * per_plane + slot) with ground nodes linked to
    their nearest satellites."""
    p, s = np.meshgrid(np.arange(planes), np.arange(per_plane), indexing="ij")
    raan = 2 * np.pi * p / planes
    u = 2 * np.pi * s / per_plane + 2 * np.pi * phasing * p / (planes * per_plane)
    inc = np.radians(inc_deg)
    r = EARTH_RADIUS_M + alt_m
    pos = r * np.stack([np.cos(raan) * np.cos(u) - np.sin(raan) * np.sin(u) * np.cos(inc),
                        np.sin(raan) * np.cos(u) + np.cos(raan) * np.sin(u) * np.cos(inc),
                        np.sin(u) * np.sin(inc)], -1).reshape(-1, 3)
    me = (p * per_plane + s).ravel()
    intra = (p * per_plane + (s + 1) % per_plane).ravel()
    inter = (((p + 1) % planes) * per_plane + s).ravel()
    pairs = np.concatenate([np.stack([me, intra], 1), np.stack([me, inter], 1)])
    isl_len = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
    g = EARTH_RADIUS_M * unit(*np.array(ground_latlon).T)
    d = np.linalg.norm(g[:, None, :] - pos[None, :, :], axis=2)
    nearest = np.argsort(d, axis=1)[:, :links_per_ground]
    gsl_node = np.repeat(np.arange(len(g)), links_per_ground)
    gsl_sat = nearest.ravel()
    gsl_len = d[gsl_node, gsl_sat]
    return Instant(len(pos), len(g), pairs, isl_len, gsl_node, gsl_sat, gsl_len, pos)


def random_instant(seed: int, n_sats: int, n_ground: int, p_edge: float, gsl_per_ground: int,
                   p_down: float = 0.0) -> Instant:
    """Random ISLs (each pair with probability p_edge), random ground links; lengths uniform
    in 100..5000 km; a fraction p_down of the links down (NaN length)."""
    rng = np.random.default_rng(seed)
    a, b = np.triu_indices(n_sats, 1)
    keep = rng.random(a.size) < p_edge
    pairs = np.stack([a[keep], b[keep]], 1)
    flip = rng.random(len(pairs)) < 0.5  # either orientation is allowed
    pairs[flip] = pairs[flip][:, ::-1]
    isl_len = rng.uniform(1e5, 5e6, len(pairs))
    isl_len[rng.random(len(pairs)) < p_down] = np.nan
    nodes, sats = [], []
    for g in range(n_ground):
        k = min(gsl_per_ground, n_sats)
        nodes += [g] * k
        sats += list(rng.choice(n_sats, k, replace=False))
    gsl_len = rng.uniform(5e5, 2e6, len(nodes))
    gsl_len[rng.random(len(nodes)) < p_down] = np.nan
    return Instant(n_sats, n_ground, pairs, isl_len, np.array(nodes, dtype=np.int64),
                   np.array(sats, dtype=np.int64), gsl_len)
