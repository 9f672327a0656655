"""Ephemeris: positions and velocities of N satellites at T instants in one named frame."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sgp4.api import SGP4_ERRORS

from orbemu.errors import UsageError
from orbemu.orbits.frames import itrf_to_geodetic, teme_to_itrf
from orbemu.time import Time

__all__ = ["STATUS_MESSAGES", "Ephemeris", "Frame"]

Frame = Literal["TEME", "ITRF"]

#: Status codes of an ephemeris sample: 0 is good; 1–6 are SGP4's own error codes (see
#: python-sgp4 ``SGP4_ERRORS``); 20 marks a sample outside an interpolation table's span.
STATUS_MESSAGES: dict[int, str] = {0: "ok", **{int(k): str(v) for k, v in SGP4_ERRORS.items()
                                               if k}, 20: "outside the interpolation span"}


@dataclass(frozen=True, eq=False)
class Ephemeris:
    """States of ``n_sats`` satellites at ``n_times`` instants.

    Attributes
    ----------
    times: ``(n_times,)`` UTC instants.
    position_m: ``(n_sats, n_times, 3)`` positions in ``frame``, metres; NaN where status != 0.
    velocity_m_s: ``(n_sats, n_times, 3)`` velocities in ``frame``, m/s (Earth-fixed velocity
        for ITRF, i.e. relative to the rotating Earth).
    frame: ``"TEME"`` (SGP4's inertial frame) or ``"ITRF"`` (Earth-fixed).
    status: ``(n_sats, n_times)`` int8 status codes (:data:`STATUS_MESSAGES`).
    norad_ids, names: ``(n_sats,)`` identity of each row, from the element set.
    """

    times: Time
    position_m: npt.NDArray[np.float64]
    velocity_m_s: npt.NDArray[np.float64]
    frame: Frame
    status: npt.NDArray[np.int8]
    norad_ids: npt.NDArray[np.int64]
    names: npt.NDArray[np.object_]

    def __post_init__(self) -> None:
        n, t = self.status.shape
        if self.position_m.shape != (n, t, 3) or self.velocity_m_s.shape != (n, t, 3):
            raise UsageError(
                f"Ephemeris arrays disagree: status {self.status.shape}, position "
                f"{self.position_m.shape}, velocity {self.velocity_m_s.shape}"
            )
        if self.times.shape != (t,):
            raise UsageError(f"Ephemeris has {t} samples but {self.times.shape} times")

    @property
    def n_sats(self) -> int:
        return int(self.status.shape[0])

    @property
    def n_times(self) -> int:
        return int(self.status.shape[1])

    def __repr__(self) -> str:
        return (f"Ephemeris(<{self.n_sats} satellites × {self.n_times} instants, {self.frame}, "
                f"{self.failed_samples()} failed samples>)")

    def to_itrf(self, *, polar_motion: bool = True) -> Ephemeris:
        """This ephemeris in ITRF (returns ``self`` if already there)."""
        if self.frame == "ITRF":
            return self
        r, v = teme_to_itrf(self.position_m, self.velocity_m_s, self.times,
                            polar_motion=polar_motion)
        return replace(self, position_m=r, velocity_m_s=v, frame="ITRF")

    def geodetic(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64],
                                npt.NDArray[np.float64]]:
        """WGS84 ``(lat_rad, lon_rad, alt_m)``, each ``(n_sats, n_times)``."""
        return itrf_to_geodetic(self.to_itrf().position_m)

    def select(self, sats: Any = slice(None), times: Any = slice(None)) -> Ephemeris:
        """Rows (satellites) and columns (instants) by index, mask or slice."""
        si = np.atleast_1d(np.arange(self.n_sats)[sats])
        ti = np.atleast_1d(np.arange(self.n_times)[times])
        return Ephemeris(
            times=self.times[ti],
            position_m=self.position_m[si][:, ti],
            velocity_m_s=self.velocity_m_s[si][:, ti],
            frame=self.frame,
            status=self.status[si][:, ti],
            norad_ids=self.norad_ids[si],
            names=self.names[si],
        )

    def failed_samples(self) -> int:
        """How many (satellite, instant) samples have a non-zero status."""
        return int(np.count_nonzero(self.status))

    def status_summary(self) -> dict[str, int]:
        """Counts of failed samples and satellites by reason, for summaries (empty when all ok).

        Keys are ``"<message>"``; values count *satellites* with at least one such sample.
        """
        out: dict[str, int] = {}
        for code in np.unique(self.status):
            if code == 0:
                continue
            sats = int(np.count_nonzero(np.any(self.status == code, axis=1)))
            out[STATUS_MESSAGES.get(int(code), f"status {code}")] = sats
        return out
