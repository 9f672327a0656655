"""Ground operations (models layer): stations, contact windows, contact scheduling.

- :mod:`.stations`: :class:`GroundStations` — antennas, setup/slew, link profile, outages.
- :mod:`.contacts`: :func:`contact_windows` → :class:`ContactWindows` (pass finding + the link
  budget along each pass: rate samples and achievable volume).
- :mod:`.scheduling`: :func:`schedule_greedy`, :func:`schedule_optimal` → :class:`ContactPlan`.

Commands and telemetry carried during the planned contacts live one layer up, in
:mod:`orbemu.comms`.
"""

from orbemu.ground.contacts import (
    Contact,
    ContactWindows,
    contact_windows,
    contact_windows_from_passes,
)
from orbemu.ground.stations import X_BAND_EO, GroundStations, LinkProfile

__all__ = [
    "X_BAND_EO",
    "Contact",
    "ContactPlan",
    "ContactWindows",
    "GroundStations",
    "LinkProfile",
    "contact_windows",
    "contact_windows_from_passes",
    "plan_violations",
    "schedule_greedy",
    "schedule_optimal",
    "window_values",
]
