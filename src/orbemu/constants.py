"""Physical constants, one place, with sources. SI units throughout (m, s, rad, kg).

No other module may define an Earth radius, a gravitational parameter or the speed of light.

Sources
-------
- WGS84: NIMA TR8350.2, 3rd edition (2000), table 3.1 and 3.3.
- WGS72: the gravity model SGP4 is defined with (Hoots & Roehrich, Spacetrack Report #3, 1980;
  Vallado et al., "Revisiting Spacetrack Report #3", AIAA 2006-6753). python-sgp4's ``WGS72``
  constants are the same numbers.
- Speed of light: exact by definition of the metre (SI, 1983).
- Sun: IAU 2015 Resolution B3 nominal solar radius and nominal total solar irradiance; IAU 2012
  astronomical unit (exact).
- EGM96 J2 (unnormalized) for the secular J2 propagator: Lemoine et al. (1998), NASA/TP-1998-206861.
"""

from __future__ import annotations

import math

# --- time ----------------------------------------------------------------------------------------
NS_PER_S = 1_000_000_000
S_PER_DAY = 86_400
NS_PER_DAY = S_PER_DAY * NS_PER_S
#: Julian date of the POSIX epoch 1970-01-01T00:00:00 UTC.
JD_UNIX_EPOCH = 2_440_587.5
#: Julian date of J2000.0 (2000-01-01T12:00:00 TT).
JD_J2000 = 2_451_545.0
#: TT − TAI, exact (seconds).
TT_MINUS_TAI_S = 32.184

# --- electromagnetics ----------------------------------------------------------------------------
#: Speed of light in vacuum (m/s), exact.
C_M_S = 299_792_458.0
#: Boltzmann constant (J/K), exact since 2019.
BOLTZMANN_J_K = 1.380649e-23

# --- Earth: WGS84 (geodesy, ground nodes, geodetic conversion) -----------------------------------
WGS84_A_M = 6_378_137.0
WGS84_INV_F = 298.257223563
WGS84_F = 1.0 / WGS84_INV_F
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
#: Earth's gravitational parameter, WGS84 (m^3/s^2).
WGS84_MU_M3_S2 = 3.986004418e14
#: Nominal mean angular velocity of the Earth, WGS84 (rad/s).
EARTH_ROTATION_RAD_S = 7.292115e-5

# --- Earth: WGS72 (SGP4's own gravity model; used where elements are built for SGP4) -------------
WGS72_A_M = 6_378_135.0
WGS72_MU_M3_S2 = 3.986008e14
WGS72_J2 = 0.001082616
#: WGS72 inverse flattening (DMA TR 8350.2 (1987); the ellipsoid Hypatia places ground stations on).
WGS72_INV_F = 298.26
WGS72_F = 1.0 / WGS72_INV_F
WGS72_E2 = WGS72_F * (2.0 - WGS72_F)

# --- Earth: EGM96 J2 (for the secular J2 propagator of designed shells) --------------------------
EGM96_J2 = 1.08262668e-3

#: Mean Earth radius used only where a sphere is the documented model (eclipse shadow,
#: line-of-sight grazing tests): the WGS84 equatorial radius, so there is still one Earth radius.
EARTH_RADIUS_M = WGS84_A_M

# --- Sun -----------------------------------------------------------------------------------------
#: Astronomical unit (m), exact (IAU 2012 B2).
AU_M = 149_597_870_700.0
#: Nominal solar radius (m) (IAU 2015 B3).
SUN_RADIUS_M = 6.957e8
#: Nominal total solar irradiance at 1 au (W/m²) (IAU 2015 B3); scales as (1 au / r)².
SOLAR_IRRADIANCE_W_M2 = 1361.0

# --- angles --------------------------------------------------------------------------------------
TAU = 2.0 * math.pi
DEG = math.pi / 180.0
ARCSEC = DEG / 3600.0
