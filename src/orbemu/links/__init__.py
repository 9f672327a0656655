"""Links: which ground–satellite and satellite–satellite links exist at an instant, and what they
carry. A pure layer above ``orbits`` and below ``network``: numpy in, numpy out.

Per instant (positions from ``orbemu.propagate(..., frame="ITRF")``, one column ``[:, t, :]``):

- :func:`ground_links` → :class:`GroundLinks` (every visible node–satellite pair, sorted by
  node then satellite), reduced by :func:`select_links` under a policy and caps;
  :class:`HandoverTracker` turns successive selections into handover events.
- :func:`isl_links` on an :class:`IslPlan` (:func:`plus_grid`, :meth:`IslPlan.from_pairs`,
  :meth:`IslPlan.none`) → :class:`IslLinks` (every planned pair, NaN length where down).
- :mod:`orbemu.links.budget`: path loss, gases, rain, DVB-S2/Shannon rates, terminal profiles;
  :func:`ground_link_capacity` fills ``GroundLinks.capacity_bps``.

Both link outputs expose ``length_m``, ``delay_s``, ``capacity_bps`` and ``kind``
(:class:`LinkKind`).
"""

from orbemu.links.budget import (
    OPTICAL_ISL,
    OpticalTerminal,
    RadioLink,
    RadioTerminal,
    ground_link_capacity,
    radio_budget,
)
from orbemu.links.isl import IslLinks, IslPlan, isl_lengths, isl_links, plus_grid
from orbemu.links.kinds import LinkKind
from orbemu.links.planes import PlaneStructure, infer_planes
from orbemu.links.policies import (
    Handovers,
    HandoverTracker,
    handovers,
    remaining_visibility_s,
    select_links,
)
from orbemu.links.visibility import GroundLinks, ground_links

__all__ = [
    "OPTICAL_ISL",
    "GroundLinks",
    "HandoverTracker",
    "Handovers",
    "IslLinks",
    "IslPlan",
    "LinkKind",
    "OpticalTerminal",
    "PlaneStructure",
    "RadioLink",
    "RadioTerminal",
    "ground_link_capacity",
    "ground_links",
    "handovers",
    "infer_planes",
    "isl_lengths",
    "isl_links",
    "plus_grid",
    "radio_budget",
    "remaining_visibility_s",
    "select_links",
]
