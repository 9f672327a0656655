"""Named constellation presets: sizes and shells as filed, multi-shell indexing, and the real
CelesTrak snapshots (OneWeb, Iridium NEXT) as an outside check of the plane layout."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from sgp4.api import Satrec

from orbemu.errors import DataError
from orbemu.orbits.presets import list_presets, preset_shells, walker_preset
from orbemu.time import Time

#: Satellite counts of the filings cited in orbemu.orbits.presets.
FILED_SIZES = {
    "starlink-gen1": 4408,
    "starlink-550": 1584,
    "kuiper": 3236,
    "oneweb": 588,
    "oneweb-2016": 720,
    "iridium": 66,
    "telesat": 1671,
    "hypatia-starlink-550": 1584,
    "hypatia-kuiper-630": 1156,
    "hypatia-telesat-1015": 351,
}


def test_every_preset_is_listed_and_has_its_filed_size() -> None:
    assert set(list_presets()) == set(FILED_SIZES)
    for name, size in FILED_SIZES.items():
        assert sum(s.n_sats for s in preset_shells(name)) == size
    assert len(walker_preset("iridium")) == 66


def test_multi_shell_indexing() -> None:
    es = walker_preset("starlink-gen1", first_catalog_number=100)
    shells = preset_shells("starlink-gen1")
    assert len(es) == 4408 and es.has_structure
    assert es.norad_ids.tolist() == list(range(100, 100 + 4408))
    start = plane0 = 0
    for k, shell in enumerate(shells):
        part = slice(start, start + shell.n_sats)
        assert np.all(es.shell[part] == k)
        # Planes of a shell are contiguous and follow the previous shell's.
        assert es.plane[part].min() == plane0
        assert es.plane[part].max() == plane0 + shell.planes - 1
        assert es.slot[part].max() == shell.sats_per_plane - 1
        assert np.allclose(np.degrees(es.inclination_rad[part]), shell.inclination_deg)
        assert np.allclose(es.mean_altitude_m[part], shell.altitude_m, atol=0.05)
        start += shell.n_sats
        plane0 += shell.planes
    # (plane, slot) is unique across the whole set.
    assert len(set(zip(es.plane.tolist(), es.slot.tolist(), strict=True))) == len(es)


def test_hypatia_presets_use_hypatias_epoch_and_elements() -> None:
    es = walker_preset("hypatia-starlink-550")
    assert np.all(es.epochs.ns == Time.parse("2000-01-01T00:00:00Z").ns)
    assert np.allclose(es.eccentricity, 1e-7)
    assert np.allclose(es.satrecs[0].no_kozai * 1440 / (2 * np.pi), 15.19, atol=1e-12)
    # Odd planes shifted by half a slot (360°/44), even planes not.
    anomaly = np.degrees(es.mean_anomaly_rad).reshape(72, 22)
    assert anomaly[0, 0] == 0.0 and anomaly[1, 0] == pytest.approx(8.1818, abs=1e-9)
    assert anomaly[2, 0] == 0.0
    # A caller can still choose another epoch.
    other = walker_preset("hypatia-starlink-550", epoch="2026-01-01T00:00:00Z")
    assert other.epochs[0] == Time.parse("2026-01-01T00:00:00Z")


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(DataError, match="starlink-gen1"):
        walker_preset("starlink-gen9")
    assert len(walker_preset("Starlink_550")) == 1584  # case and separators are forgiven


def _plane_nodes_deg(path: Path) -> np.ndarray:
    """RAANs of the RAAN clusters (planes) of a TLE file, sorted (degrees)."""
    lines = path.read_text().splitlines()
    raan = np.sort([np.degrees(Satrec.twoline2rv(a, b).nodeo)
                    for a, b in itertools.pairwise(lines) if a.startswith("1 ")
                    and b.startswith("2 ")])
    gaps = np.diff(np.r_[raan, raan[0] + 360.0])
    # Planes are ≥ 15° apart and a plane's RAANs spread < 2°: cut at gaps > 5°, starting the
    # circle at the beginning of a plane so no plane wraps around 360°.
    start = raan[(np.argmax(gaps > 5.0) + 1) % len(raan)]
    rel = np.sort((raan - start) % 360.0)
    groups = np.split(rel, np.flatnonzero(np.diff(rel) > 5.0) + 1)
    return np.sort([(g.mean() + start) % 360.0 for g in groups if len(g) >= 5])


def test_oneweb_and_iridium_plane_layout_matches_the_real_constellations(shared_data) -> None:
    """The presets' RAAN spacing against the CelesTrak snapshots: OneWeb's 12 planes 15° apart
    (a star pattern over 180°), Iridium's 6 planes 31.6° apart with a 22° seam."""
    for preset, tle, spacing in (("oneweb", "celestrak_oneweb_2026-05-30.tle", 15.0),
                                 ("iridium", "celestrak_iridium-NEXT_2026-09-07.tle", 31.6)):
        nodes = _plane_nodes_deg(shared_data / "tle" / tle)
        shells = preset_shells(preset)
        assert len(nodes) == shells[0].planes
        gaps = np.sort(np.diff(np.r_[nodes, nodes[0] + 360.0]))
        # All gaps but the seam's equal the spacing (within 1°: planes drift apart slowly).
        assert np.all(np.abs(gaps[:-1] - spacing) < 1.0)
        designed = np.degrees(walker_preset(preset).raan_rad)
        designed_gaps = np.sort(np.diff(np.unique(np.round(designed, 4))))
        assert np.allclose(designed_gaps, spacing)
        assert gaps[-1] == pytest.approx(360.0 - (len(nodes) - 1) * spacing, abs=len(nodes))
