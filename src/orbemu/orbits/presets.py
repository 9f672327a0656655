"""Named constellation designs: the shells operators filed, and the ones peers simulate.

``walker_preset("starlink-gen1")`` builds every shell of a design with
:func:`~orbemu.orbits.walker.walker_delta` / :func:`~orbemu.orbits.walker.walker_star` and joins
them with :meth:`ElementSet.concat`. In a multi-shell set:

- satellites are ordered shell by shell, each shell plane-major (index within the shell =
  plane · S + slot);
- ``plane`` numbers are unique across the set: shell ``k``'s planes follow shell ``k−1``'s (the
  540 km shell of Starlink Gen1 has planes 72 … 143), ``slot`` counts within the plane;
- ``shell`` holds the shell index (0, 1, …), so a +Grid ring wraps around inside one shell;
- catalog numbers run on from shell to shell, starting at ``first_catalog_number``.

Altitudes are the filed nominal altitudes, turned into Kozai mean motions as described in
:mod:`orbemu.orbits.walker`. Filings give planes, satellites per plane, altitude and inclination
but rarely the phasing factor F; where a filing is silent the preset uses F = 1 and says so.

Sources (each shell's comment repeats the one it came from)
- Starlink Gen1: FCC grant of SpaceX's modification, FCC 21-48 (April 2021), IBFS
  SAT-MOD-20200417-00037, table of the 4,408-satellite system.
- Kuiper: FCC authorization FCC 20-102 (July 2020), IBFS SAT-LOA-20190704-00057, technical
  attachment table A-1 (3,236 satellites).
- OneWeb: current Phase 1 as flown, 12 planes × 49 at 1,200 km, 87.9° (ISRO/NSIL mission notes for
  the OneWeb launches, 2022–2023; the CelesTrak snapshot of 2026-05-30 shows 651 satellites in 12
  RAAN clusters 15° apart, i.e. a star pattern over 180°). The 2016 filing (FCC IBFS
  SAT-LOI-20160428-00041, granted FCC 17-77) had 720 satellites in 18 planes × 40.
- Iridium: 66 satellites, 6 planes × 11 at 780 km, 86.4°; co-rotating planes 31.6° apart and a 22°
  seam (Iridium system description; Wikipedia "Iridium satellite constellation"), adjacent planes
  offset by half a slot (F = 3: 3 · 360°/66 = 16.4°).
- Telesat Lightspeed: FCC IBFS SAT-MPL-20200526-00053 (2020 modification): 27 polar planes × 13 at
  1,015 km, 98.98°, and 40 inclined planes × 33 at 1,325 km, 50.88° (1,671 satellites).
- Hypatia (Kassing et al., "Exploring the 'Internet from space' with Hypatia", IMC 2020;
  github.com/snkas/hypatia, paper/satellite_networks_state/main_*.py): its three shells exactly as
  its TLE generator builds them: mean motion given in rev/day, e = 1e-7, ω = 0, epoch
  2000-01-01T00:00:00 UTC, RAAN spread 360°, no Walker phasing but odd planes shifted by half a
  slot, catalog numbers from 1, elements at TLE precision.
"""

from __future__ import annotations

from dataclasses import dataclass

from orbemu.errors import DataError
from orbemu.orbits.elements import ElementSet
from orbemu.orbits.walker import DEFAULT_EPOCH, walker_delta, walker_star
from orbemu.time import Time

__all__ = ["PresetShell", "list_presets", "preset_shells", "walker_preset"]


@dataclass(frozen=True)
class PresetShell:
    """One shell of a named design (the arguments of ``walker_delta``/``walker_star``)."""

    name: str
    pattern: str  # "delta" or "star"
    planes: int
    sats_per_plane: int
    phasing: int
    inclination_deg: float
    altitude_m: float | None = None
    mean_motion_rev_day: float | None = None
    raan_spread_deg: float | None = None  # None: the pattern's default (360° delta, 180° star)
    eccentricity: float = 0.0
    odd_plane_shift_slots: float = 0.0
    source: str = ""

    @property
    def n_sats(self) -> int:
        return self.planes * self.sats_per_plane


_HYPATIA_EPOCH = "2000-01-01T00:00:00Z"

_SL = "FCC 21-48, SAT-MOD-20200417-00037"
_KU = "FCC 20-102, SAT-LOA-20190704-00057"
_TS = "FCC SAT-MPL-20200526-00053"
_HY = "Hypatia (Kassing et al., IMC 2020), snkas/hypatia paper/satellite_networks_state"

#: name → (description, shells, fixed epoch or None). Keep names lower-case with hyphens.
_PRESETS: dict[str, tuple[str, tuple[PresetShell, ...], str | None]] = {
    "starlink-gen1": ("SpaceX Starlink Gen1 as authorized in 2021: 4,408 satellites in 5 shells", (
        # F is not in the filing; F = 1 is the usual choice in the literature.
        PresetShell("STARLINK-550", "delta", 72, 22, 1, 53.0, altitude_m=550e3, source=_SL),
        PresetShell("STARLINK-540", "delta", 72, 22, 1, 53.2, altitude_m=540e3, source=_SL),
        PresetShell("STARLINK-570", "delta", 36, 20, 1, 70.0, altitude_m=570e3, source=_SL),
        # The two 97.6° (sun-synchronous) shells: 6 planes × 58 and 4 planes × 43.
        PresetShell("STARLINK-560A", "delta", 6, 58, 1, 97.6, altitude_m=560e3, source=_SL),
        PresetShell("STARLINK-560B", "delta", 4, 43, 1, 97.6, altitude_m=560e3, source=_SL),
    ), None),
    "starlink-550": ("Starlink Gen1 first shell: 72 × 22 at 550 km, 53°", (
        PresetShell("STARLINK-550", "delta", 72, 22, 1, 53.0, altitude_m=550e3, source=_SL),
    ), None),
    "kuiper": ("Amazon Kuiper as authorized in 2020: 3,236 satellites in 3 shells", (
        # F is not in the filing; F = 1.
        PresetShell("KUIPER-630", "delta", 34, 34, 1, 51.9, altitude_m=630e3, source=_KU),
        PresetShell("KUIPER-610", "delta", 36, 36, 1, 42.0, altitude_m=610e3, source=_KU),
        PresetShell("KUIPER-590", "delta", 28, 28, 1, 33.0, altitude_m=590e3, source=_KU),
    ), None),
    "oneweb": ("OneWeb Phase 1 as flown: 588 satellites, 12 polar planes × 49 at 1,200 km", (
        # Star pattern over 180°, as the 2026-05-30 CelesTrak snapshot shows (planes 15° apart).
        PresetShell("ONEWEB", "star", 12, 49, 0, 87.9, altitude_m=1200e3,
                    source="ISRO/NSIL OneWeb mission notes; CelesTrak snapshot 2026-05-30"),
    ), None),
    "oneweb-2016": ("OneWeb Phase 1 as filed in 2016: 720 satellites, 18 planes × 40", (
        PresetShell("ONEWEB", "star", 18, 40, 0, 87.9, altitude_m=1200e3,
                    source="FCC 17-77, SAT-LOI-20160428-00041"),
    ), None),
    "iridium": ("Iridium (and Iridium NEXT): 66 satellites, 6 polar planes × 11 at 780 km", (
        # Planes 31.6° apart (6 × 31.6° = 189.6° spread) leave a 22° counter-rotating seam.
        PresetShell("IRIDIUM", "star", 6, 11, 3, 86.4, altitude_m=780e3, raan_spread_deg=189.6,
                    source="Iridium system description; 31.6° plane spacing, 22° seam"),
    ), None),
    "telesat": ("Telesat Lightspeed (2020 filing): 1,671 satellites, polar + inclined shells", (
        # The filing does not give the polar planes' RAAN spread; like Hypatia, spread them over
        # 360° (a delta pattern). F is not in the filing; F = 1.
        PresetShell("TELESAT-1015", "delta", 27, 13, 1, 98.98, altitude_m=1015e3, source=_TS),
        PresetShell("TELESAT-1325", "delta", 40, 33, 1, 50.88, altitude_m=1325e3, source=_TS),
    ), None),
    "hypatia-starlink-550": ("Hypatia's Starlink shell: 72 × 22, 53°, 15.19 rev/day (≈ 509 km)", (
        PresetShell("Starlink-550", "delta", 72, 22, 0, 53.0, mean_motion_rev_day=15.19,
                    eccentricity=1e-7, odd_plane_shift_slots=0.5, source=_HY),
    ), _HYPATIA_EPOCH),
    "hypatia-kuiper-630": ("Hypatia's Kuiper shell: 34 × 34, 51.9°, 14.80 rev/day", (
        PresetShell("Kuiper-630", "delta", 34, 34, 0, 51.9, mean_motion_rev_day=14.80,
                    eccentricity=1e-7, odd_plane_shift_slots=0.5, source=_HY),
    ), _HYPATIA_EPOCH),
    "hypatia-telesat-1015": ("Hypatia's Telesat shell: 27 × 13, 98.98°, 13.66 rev/day", (
        PresetShell("Telesat-1015", "delta", 27, 13, 0, 98.98, mean_motion_rev_day=13.66,
                    eccentricity=1e-7, odd_plane_shift_slots=0.5, source=_HY),
    ), _HYPATIA_EPOCH),
}


def list_presets() -> dict[str, str]:
    """Preset names and one-line descriptions."""
    return {name: desc for name, (desc, _, _) in _PRESETS.items()}


def preset_shells(name: str) -> tuple[PresetShell, ...]:
    """The shells of a preset (raises :class:`DataError` for an unknown name)."""
    return _lookup(name)[1]


def _lookup(name: str) -> tuple[str, tuple[PresetShell, ...], str | None]:
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key not in _PRESETS:
        raise DataError(f"no constellation preset {name!r}; known presets: "
                        f"{', '.join(sorted(_PRESETS))}")
    return _PRESETS[key]


def walker_preset(
    name: str,
    *,
    epoch: Time | str | None = None,
    first_catalog_number: int = 1,
    tle_precision: bool = True,
) -> ElementSet:
    """The element set of a named design (see :func:`list_presets`).

    ``epoch`` defaults to the preset's own epoch (Hypatia's presets: 2000-01-01T00:00:00Z) or
    else :data:`~orbemu.orbits.walker.DEFAULT_EPOCH`. Shells are concatenated as the module notes
    describe (unique plane numbers, a ``shell`` index, catalog numbers running on).
    """
    _, shells, fixed_epoch = _lookup(name)
    use_epoch: Time | str = (epoch if epoch is not None
                             else fixed_epoch if fixed_epoch is not None else DEFAULT_EPOCH)
    sets = []
    number = first_catalog_number
    for shell in shells:
        star = shell.pattern == "star"
        make = walker_star if star else walker_delta
        spread = (shell.raan_spread_deg if shell.raan_spread_deg is not None
                  else 180.0 if star else 360.0)
        sets.append(make(
            shell.planes, shell.sats_per_plane, shell.phasing,
            inclination_deg=shell.inclination_deg,
            altitude_m=shell.altitude_m,
            mean_motion_rev_day=shell.mean_motion_rev_day,
            eccentricity=shell.eccentricity,
            odd_plane_shift_slots=shell.odd_plane_shift_slots,
            epoch=use_epoch,
            name_prefix=shell.name,
            first_catalog_number=number,
            tle_precision=tle_precision,
            raan_spread_deg=spread,
        ))
        number += shell.n_sats
    return ElementSet.concat(sets, source=f"preset {name}")
