"""Link budgets: from geometry (length, elevation) to Es/N0 and a data rate, vectorized.

Every function takes arrays (one value per link, or anything that broadcasts) and returns arrays.
Decibels are named ``*_db`` (ratios), ``*_dbw`` (power re 1 W), ``*_db_k`` (G/T re 1 K⁻¹),
``*_dbhz`` (C/N0 re 1 Hz).

Radio downlink/uplink (:func:`radio_budget`)::

    C/N0 = EIRP − FSPL − A_gas − A_rain − misc + G/T − 10·log10(k_B)
    Es/N0 = C/N0 − 10·log10(Rs),   Rs = bandwidth / (1 + roll-off)

then a rate either from the DVB-S2 MODCOD table (ETSI EN 302 307-1 V1.4.1, table 13: ideal
Es/N0 for quasi-error-free operation, normal 64,800-bit frames, AWGN; the implementation margin is
added to every threshold and the best MODCOD that closes is used; the rate is its spectral
efficiency × Rs) or from Shannon (``bandwidth·log2(1 + SNR)`` with the SNR reduced by the margin).

Propagation models, and exactly what is implemented:

- **Free-space path loss**: ``20·log10(4π·d·f/c)``.
- **Gaseous attenuation** (oxygen + water vapour): ITU-R P.676-10 (2013) Annex 2, the
  approximate specific attenuations γ_o, γ_w at the ground (pressure, temperature, water-vapour
  density) times the equivalent heights h_o, h_w, giving the zenith attenuation; a slant path at
  elevation θ divides it by ``sin θ`` (P.676's rule for 5° ≤ θ ≤ 90°; below 5° orbemu holds the
  5° value, so very low links are under-attenuated). Valid 1–350 GHz at ground level. Within 8 %
  of the P.676-12 approximation (itur 0.4.0) from 2 to 50 GHz for the standard atmosphere
  (1013.25 hPa, 15 °C, 7.5 g/m³).
- **Rain**: specific attenuation ``γ_R = k·R^α`` with the ITU-R P.838-3 coefficients (its
  eqs. (2)–(3) and tables 1–4, 1–1000 GHz) combined for path elevation and polarization tilt
  (45° = circular) by its eqs. (4)–(5); rain height from ITU-R P.839-2 (the latitude formula
  for the 0 °C isotherm, and ``3.2 − 0.075(φ − 35)`` km for North America and Europe west of
  60° E at 35°–70° N);
  effective path length by ITU-R P.618-13 §2.2.1.1 steps 2–9 (slant path below the rain height,
  horizontal reduction and vertical adjustment factors). The given rain rate is used as
  P.618's R₀.₀₁; passing a measured instantaneous rain rate instead is the usual engineering
  approximation of an instantaneous fade. Valid 1–55 GHz (P.618). No cloud, scintillation or
  depolarization.

The named profiles below have magnitudes typical of LEO broadband systems in public filings and
papers; they are illustrative, not any operator's numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from orbemu.constants import BOLTZMANN_J_K, C_M_S
from orbemu.errors import UsageError
from orbemu.links.visibility import GroundLinks
from orbemu.orbits.ground_nodes import GroundNodes

__all__ = [
    "DVBS2_MODCODS",
    "KA_GATEWAY",
    "KA_GATEWAY_DOWNLINK",
    "KA_GATEWAY_UPLINK",
    "KA_SATELLITE",
    "KU_SATELLITE",
    "KU_USER_DOWNLINK",
    "KU_USER_TERMINAL",
    "KU_USER_UPLINK",
    "OPTICAL_ISL",
    "BudgetResult",
    "Modcod",
    "OpticalTerminal",
    "RadioLink",
    "RadioTerminal",
    "dvbs2_rate",
    "fspl_db",
    "gaseous_attenuation_db",
    "gaseous_zenith_attenuation_db",
    "ground_link_capacity",
    "optical_capacity_bps",
    "radio_budget",
    "rain_attenuation_db",
    "rain_coefficients",
    "rain_height_m",
    "shannon_rate_bps",
]

FloatArray = npt.NDArray[np.float64]

#: 10·log10(Boltzmann constant), dBW/(K·Hz) (≈ −228.6).
BOLTZMANN_DBW_K_HZ = 10.0 * math.log10(BOLTZMANN_J_K)


# ---- profiles --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RadioTerminal:
    """One end of a radio link: what it radiates and how well it receives.

    ``eirp_dbw``: equivalent isotropic radiated power toward the other end, dBW (in its transmit
    band, over the link's bandwidth). ``g_over_t_db_k``: receive antenna gain over system noise
    temperature, dB/K (in its receive band).
    """

    name: str
    eirp_dbw: float
    g_over_t_db_k: float


@dataclass(frozen=True)
class RadioLink:
    """One direction of a radio link between two terminals on one carrier.

    ``frequency_hz``: carrier. ``bandwidth_hz``: occupied bandwidth. ``rolloff``: pulse-shaping
    roll-off (symbol rate = bandwidth / (1 + rolloff)). ``implementation_margin_db``: modem
    losses over the ideal thresholds. ``misc_losses_db``: pointing, polarization, radome.
    ``polarization_tilt_deg``: for rain (45° for circular polarization, 0° horizontal).
    """

    name: str
    frequency_hz: float
    bandwidth_hz: float
    transmitter: RadioTerminal
    receiver: RadioTerminal
    rolloff: float = 0.2
    implementation_margin_db: float = 1.0
    misc_losses_db: float = 0.5
    polarization_tilt_deg: float = 45.0

    def __post_init__(self) -> None:
        if self.frequency_hz <= 0 or self.bandwidth_hz <= 0:
            raise UsageError(f"radio link {self.name!r}: frequency_hz and bandwidth_hz must be "
                             f"positive, got {self.frequency_hz}, {self.bandwidth_hz}")

    @property
    def symbol_rate_baud(self) -> float:
        return self.bandwidth_hz / (1.0 + self.rolloff)


@dataclass(frozen=True)
class OpticalTerminal:
    """A laser ISL terminal: a fixed rate whenever the partner is within range (and in sight)."""

    name: str
    rate_bps: float
    max_range_m: float


#: Ku-band satellite user beam (illustrative).
KU_SATELLITE = RadioTerminal("ku-satellite", eirp_dbw=30.0, g_over_t_db_k=5.0)
#: Ku-band flat-panel user terminal (illustrative).
KU_USER_TERMINAL = RadioTerminal("ku-user-terminal", eirp_dbw=33.0, g_over_t_db_k=10.0)
#: Ka-band satellite gateway antenna (illustrative).
KA_SATELLITE = RadioTerminal("ka-satellite", eirp_dbw=30.0, g_over_t_db_k=13.0)
#: Ka-band gateway dish (illustrative).
KA_GATEWAY = RadioTerminal("ka-gateway", eirp_dbw=55.0, g_over_t_db_k=25.0)

KU_USER_DOWNLINK = RadioLink("ku-user-downlink", 11.7e9, 240e6, KU_SATELLITE, KU_USER_TERMINAL)
KU_USER_UPLINK = RadioLink("ku-user-uplink", 14.25e9, 60e6, KU_USER_TERMINAL, KU_SATELLITE)
KA_GATEWAY_DOWNLINK = RadioLink("ka-gateway-downlink", 18.95e9, 250e6, KA_SATELLITE, KA_GATEWAY)
KA_GATEWAY_UPLINK = RadioLink("ka-gateway-uplink", 28.75e9, 500e6, KA_GATEWAY, KA_SATELLITE)
#: Optical ISL terminal (illustrative: 100 Gbit/s up to 5,000 km).
OPTICAL_ISL = OpticalTerminal("optical-isl", rate_bps=100e9, max_range_m=5_000e3)


# ---- free space ------------------------------------------------------------------------------
def fspl_db(length_m: npt.ArrayLike, frequency_hz: npt.ArrayLike) -> FloatArray:
    """Free-space path loss ``20·log10(4π·d·f/c)``, dB."""
    d = np.asarray(length_m, np.float64)
    f = np.asarray(frequency_hz, np.float64)
    return 20.0 * np.log10(4.0 * math.pi * d * f / C_M_S)


# ---- gases: ITU-R P.676-10 Annex 2 ----------------------------------------------------------
def _phi(rp: FloatArray, rt: FloatArray, a: float, b: float, c: float, d: float) -> FloatArray:
    return rp ** a * rt ** b * np.exp(c * (1.0 - rp) + d * (1.0 - rt))


def _g(f: FloatArray, fi: float) -> FloatArray:
    return 1.0 + ((f - fi) / (f + fi)) ** 2


def _gamma_oxygen_db_km(f: FloatArray, rp: FloatArray, rt: FloatArray) -> FloatArray:
    """P.676-10 Annex 2 eq. (22a), f ≤ 54 GHz (dB/km); f in GHz."""
    x1 = _phi(rp, rt, 0.0717, -1.8132, 0.0156, -1.6515)
    x2 = _phi(rp, rt, 0.5146, -4.6368, -0.1921, -5.7416)
    x3 = _phi(rp, rt, 0.3414, -6.5851, 0.2130, -8.5854)
    return (7.2 * rt ** 2.8 / (f * f + 0.34 * rp * rp * rt ** 1.6)
            + 0.62 * x3 / ((54.0 - f) ** (1.16 * x1) + 0.83 * x2)) * f * f * rp * rp * 1e-3


def _gamma_water_db_km(f: FloatArray, rp: FloatArray, rt: FloatArray,
                       rho: FloatArray) -> FloatArray:
    """P.676-10 Annex 2 eq. (23a) (dB/km); f in GHz, rho in g/m³."""
    e1 = 0.955 * rp * rt ** 0.68 + 0.006 * rho
    e2 = 0.735 * rp * rt ** 0.5 + 0.0353 * rt ** 4 * rho
    s = (3.98 * e1 * np.exp(2.23 * (1 - rt)) / ((f - 22.235) ** 2 + 9.42 * e1 ** 2) * _g(f, 22.0)
         + 11.96 * e1 * np.exp(0.7 * (1 - rt)) / ((f - 183.31) ** 2 + 11.14 * e1 ** 2)
         + 0.081 * e1 * np.exp(6.44 * (1 - rt)) / ((f - 321.226) ** 2 + 6.29 * e1 ** 2)
         + 3.66 * e1 * np.exp(1.6 * (1 - rt)) / ((f - 325.153) ** 2 + 9.22 * e1 ** 2)
         + 25.37 * e1 * np.exp(1.09 * (1 - rt)) / (f - 380.0) ** 2
         + 17.4 * e1 * np.exp(1.46 * (1 - rt)) / (f - 448.0) ** 2
         + 844.6 * e1 * np.exp(0.17 * (1 - rt)) / (f - 557.0) ** 2 * _g(f, 557.0)
         + 290.0 * e1 * np.exp(0.41 * (1 - rt)) / (f - 752.0) ** 2 * _g(f, 752.0)
         + 8.3328e4 * e2 * np.exp(0.99 * (1 - rt)) / (f - 1780.0) ** 2 * _g(f, 1780.0))
    return s * f * f * rt ** 2.5 * rho * 1e-4


def _h_oxygen_km(f: FloatArray, rp: FloatArray) -> FloatArray:
    """P.676-10 Annex 2 eq. (25), oxygen equivalent height (km)."""
    t1 = 4.64 / (1 + 0.066 * rp ** -2.3) * np.exp(
        -(((f - 59.7) / (2.87 + 12.4 * np.exp(-7.9 * rp))) ** 2))
    t2 = 0.14 * np.exp(2.12 * rp) / ((f - 118.75) ** 2 + 0.031 * np.exp(2.2 * rp))
    t3 = (0.0114 / (1 + 0.14 * rp ** -2.6) * f * (-0.0247 + 0.0001 * f + 1.61e-6 * f * f)
          / (1 - 0.0169 * f + 4.1e-5 * f * f + 3.2e-7 * f ** 3))
    return 6.1 / (1 + 0.17 * rp ** -1.1) * (1 + t1 + t2 + t3)


def _h_water_km(f: FloatArray, rp: FloatArray) -> FloatArray:
    """P.676-10 Annex 2 eq. (26), water-vapour equivalent height (km)."""
    sw = 1.013 / (1 + np.exp(-8.6 * (rp - 0.57)))
    return 1.66 * (1 + 1.39 * sw / ((f - 22.235) ** 2 + 2.56 * sw)
                   + 3.37 * sw / ((f - 183.31) ** 2 + 4.69 * sw)
                   + 1.58 * sw / ((f - 325.1) ** 2 + 2.89 * sw))


def gaseous_zenith_attenuation_db(
    frequency_hz: npt.ArrayLike,
    *,
    pressure_hpa: npt.ArrayLike = 1013.25,
    temperature_c: npt.ArrayLike = 15.0,
    water_vapour_g_m3: npt.ArrayLike = 7.5,
) -> FloatArray:
    """Zenith oxygen + water-vapour attenuation from the ground, dB (P.676-10 Annex 2).

    Oxygen uses the f ≤ 54 GHz branch of the Recommendation; above 54 GHz this returns NaN.
    """
    f = np.asarray(frequency_hz, np.float64) / 1e9
    rp = np.asarray(pressure_hpa, np.float64) / 1013.25
    rt = 288.0 / (273.15 + np.asarray(temperature_c, np.float64))
    rho = np.asarray(water_vapour_g_m3, np.float64)
    with np.errstate(invalid="ignore"):
        a = (_gamma_oxygen_db_km(f, rp, rt) * _h_oxygen_km(f, rp)
             + _gamma_water_db_km(f, rp, rt, rho) * _h_water_km(f, rp))
    return np.where(f <= 54.0, a, np.nan)


def gaseous_attenuation_db(
    elevation_rad: npt.ArrayLike,
    frequency_hz: npt.ArrayLike,
    **atmosphere: npt.ArrayLike,
) -> FloatArray:
    """Slant-path gaseous attenuation, dB: zenith value / sin(max(elevation, 5°)).

    ``atmosphere``: ``pressure_hpa``, ``temperature_c``, ``water_vapour_g_m3`` at the ground
    (defaults: the standard atmosphere 1013.25 hPa, 15 °C, 7.5 g/m³).
    """
    el = np.maximum(np.asarray(elevation_rad, np.float64), math.radians(5.0))
    return gaseous_zenith_attenuation_db(frequency_hz, **atmosphere) / np.sin(el)


# ---- rain: ITU-R P.838-3, P.839-2, P.618-13 ---------------------------------------------------
#: ITU-R P.838-3 tables 1–4: (a_j, b_j, c_j, m, c) of eqs. (2)–(3) for k_H, k_V, α_H, α_V.
_P838_KH = ((-5.33980, -0.35351, -0.23789, -0.94158), (-0.10008, 1.26970, 0.86036, 0.64552),
            (1.13098, 0.45400, 0.15354, 0.16817), -0.18961, 0.71147)
_P838_KV = ((-3.80595, -3.44965, -0.39902, 0.50167), (0.56934, -0.22911, 0.73042, 1.07319),
            (0.81061, 0.51059, 0.11899, 0.27195), -0.16398, 0.63297)
_P838_AH = ((-0.14318, 0.29591, 0.32177, -5.37610, 16.1721),
            (1.82442, 0.77564, 0.63773, -0.96230, -3.29980),
            (-0.55187, 0.19822, 0.13164, 1.47828, 3.43990), 0.67849, -1.95537)
_P838_AV = ((-0.07771, 0.56727, -0.20238, -48.2991, 48.5833),
            (2.33840, 0.95545, 1.14520, 0.791669, 0.791459),
            (-0.76284, 0.54039, 0.26809, 0.116226, 0.116479), -0.053739, 0.83433)


def _p838_sum(coef: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...], float, float],
              log_f: FloatArray) -> FloatArray:
    a, b, c, m, cc = coef
    out = m * log_f + cc
    for aj, bj, cj in zip(a, b, c, strict=True):
        out = out + aj * np.exp(-(((log_f - bj) / cj) ** 2))
    return out


def rain_coefficients(
    frequency_hz: npt.ArrayLike,
    elevation_rad: npt.ArrayLike = 0.0,
    tilt_deg: npt.ArrayLike = 45.0,
) -> tuple[FloatArray, FloatArray]:
    """P.838-3 ``(k, α)`` for ``γ_R = k·R^α`` (dB/km, R in mm/h), 1–1000 GHz.

    ``tilt_deg``: polarization tilt from horizontal (0 = H, 90 = V, 45 = circular).
    """
    f = np.asarray(frequency_hz, np.float64) / 1e9
    if np.any((f < 1.0) | (f > 1000.0)):
        raise UsageError(f"P.838-3 rain coefficients hold for 1–1000 GHz, got "
                         f"{np.min(f):g}–{np.max(f):g} GHz")
    lf = np.log10(f)
    kh = 10.0 ** _p838_sum(_P838_KH, lf)
    kv = 10.0 ** _p838_sum(_P838_KV, lf)
    ah = _p838_sum(_P838_AH, lf)
    av = _p838_sum(_P838_AV, lf)
    c = np.cos(np.asarray(elevation_rad, np.float64)) ** 2 * np.cos(
        2.0 * np.radians(np.asarray(tilt_deg, np.float64)))
    k = (kh + kv + (kh - kv) * c) / 2.0
    alpha = (kh * ah + kv * av + (kh * ah - kv * av) * c) / (2.0 * k)
    return k, alpha


def rain_height_m(lat_rad: npt.ArrayLike, lon_rad: npt.ArrayLike) -> FloatArray:
    """Mean rain height above sea level, metres (ITU-R P.839-2, latitude formulas)."""
    lat = np.degrees(np.asarray(lat_rad, np.float64))
    lon = np.degrees(np.asarray(lon_rad, np.float64))
    lon = np.mod(lon + 180.0, 360.0) - 180.0
    h0 = np.select(
        [lat > 23.0, lat >= 0.0, lat >= -21.0, lat >= -71.0],
        [5.0 - 0.075 * (lat - 23.0), 5.0, 5.0, 5.0 + 0.1 * (lat + 21.0)], 0.0)
    regional = (lat >= 35.0) & (lat <= 70.0) & (lon < 60.0)
    h_km = np.where(regional, 3.2 - 0.075 * (lat - 35.0), h0)
    return np.maximum(h_km, 0.0) * 1e3


def rain_attenuation_db(
    frequency_hz: npt.ArrayLike,
    elevation_rad: npt.ArrayLike,
    rain_rate_mm_h: npt.ArrayLike,
    lat_rad: npt.ArrayLike,
    lon_rad: npt.ArrayLike = 0.0,
    *,
    station_alt_m: npt.ArrayLike = 0.0,
    tilt_deg: npt.ArrayLike = 45.0,
    rain_height_above_sea_m: npt.ArrayLike | None = None,
) -> FloatArray:
    """Rain attenuation on an Earth–space path, dB (ITU-R P.618-13 §2.2.1.1 steps 2–9).

    ``rain_rate_mm_h`` is used as R₀.₀₁ (see the module notes). The rain height comes from
    :func:`rain_height_m` unless given. Zero where the rain rate is 0 or the station is above the
    rain height. Frequencies 1–55 GHz.
    """
    f = np.asarray(frequency_hz, np.float64) / 1e9
    el = np.asarray(elevation_rad, np.float64)
    rate = np.asarray(rain_rate_mm_h, np.float64)
    lat = np.asarray(lat_rad, np.float64)
    hr = (rain_height_m(lat, lon_rad) if rain_height_above_sea_m is None
          else np.asarray(rain_height_above_sea_m, np.float64)) / 1e3
    hs = np.asarray(station_alt_m, np.float64) / 1e3
    dh = hr - hs
    el_deg = np.degrees(el)
    sin_el = np.sin(el)
    with np.errstate(invalid="ignore", divide="ignore"):
        # Step 2: slant path below the rain height (eq. 2 below 5°, with Re = 8,500 km).
        ls = np.where(el_deg >= 5.0, dh / sin_el,
                      2.0 * dh / (np.sqrt(sin_el ** 2 + 2.0 * dh / 8500.0) + sin_el))
        lg = np.abs(ls * np.cos(el))                      # step 3
        k, alpha = rain_coefficients(f * 1e9, el, tilt_deg)
        gamma = k * np.maximum(rate, 0.0) ** alpha        # step 5
        r001 = 1.0 / (1.0 + 0.78 * np.sqrt(lg * gamma / f) - 0.38 * (1.0 - np.exp(-2.0 * lg)))
        zeta = np.degrees(np.arctan2(dh, lg * r001))      # step 7
        lr = np.where(zeta > el_deg, lg * r001 / np.cos(el), dh / sin_el)
        chi = np.where(np.abs(np.degrees(lat)) < 36.0, 36.0 - np.abs(np.degrees(lat)), 0.0)
        v001 = 1.0 / (1.0 + np.sqrt(sin_el) * (31.0 * (1.0 - np.exp(-el_deg / (1.0 + chi)))
                                                * np.sqrt(lr * gamma) / f ** 2 - 0.45))
        a = gamma * lr * v001                             # steps 8–9
    return np.where((dh > 0.0) & (rate > 0.0), a, 0.0)


# ---- rates -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Modcod:
    """A DVB-S2 modulation and coding: ideal Es/N0 threshold (dB) and spectral efficiency
    (information bits per symbol)."""

    name: str
    esn0_db: float
    efficiency_bit_sym: float


#: ETSI EN 302 307-1 V1.4.1 table 13 (normal FECFRAME, no pilots, AWGN, quasi-error-free).
DVBS2_MODCODS: tuple[Modcod, ...] = tuple(Modcod(n, e, s) for n, e, s in [
    ("QPSK 1/4", -2.35, 0.490243), ("QPSK 1/3", -1.24, 0.656448),
    ("QPSK 2/5", -0.30, 0.789412), ("QPSK 1/2", 1.00, 0.988858),
    ("QPSK 3/5", 2.23, 1.188304), ("QPSK 2/3", 3.10, 1.322253),
    ("QPSK 3/4", 4.03, 1.487473), ("QPSK 4/5", 4.68, 1.587196),
    ("QPSK 5/6", 5.18, 1.654663), ("QPSK 8/9", 6.20, 1.766451),
    ("QPSK 9/10", 6.42, 1.788612), ("8PSK 3/5", 5.50, 1.779991),
    ("8PSK 2/3", 6.62, 1.980636), ("8PSK 3/4", 7.91, 2.228124),
    ("8PSK 5/6", 9.35, 2.478562), ("8PSK 8/9", 10.69, 2.646012),
    ("8PSK 9/10", 10.98, 2.679207), ("16APSK 2/3", 8.97, 2.637201),
    ("16APSK 3/4", 10.21, 2.966728), ("16APSK 4/5", 11.03, 3.165623),
    ("16APSK 5/6", 11.61, 3.300184), ("16APSK 8/9", 12.89, 3.523143),
    ("16APSK 9/10", 13.13, 3.567342), ("32APSK 3/4", 12.73, 3.703295),
    ("32APSK 4/5", 13.64, 3.951571), ("32APSK 5/6", 14.28, 4.119540),
    ("32APSK 8/9", 15.69, 4.397854), ("32APSK 9/10", 16.05, 4.453027),
])


def _frontier(table: tuple[Modcod, ...]) -> tuple[FloatArray, FloatArray]:
    """Thresholds and efficiencies of the MODCODs no other beats (lower Es/N0 and more bits)."""
    rows = sorted(table, key=lambda m: (m.esn0_db, -m.efficiency_bit_sym))
    th: list[float] = []
    eff: list[float] = []
    for m in rows:
        if not eff or m.efficiency_bit_sym > eff[-1]:
            th.append(m.esn0_db)
            eff.append(m.efficiency_bit_sym)
    return np.array(th), np.array(eff)


_DVBS2_THRESHOLDS_DB, _DVBS2_EFFICIENCY = _frontier(DVBS2_MODCODS)


def dvbs2_rate(esn0_db: npt.ArrayLike, symbol_rate_baud: npt.ArrayLike,
               implementation_margin_db: float = 0.0) -> tuple[FloatArray, FloatArray]:
    """Best DVB-S2 MODCOD that closes: ``(rate_bps, efficiency_bit_sym)``; 0 where none closes.

    A MODCOD closes when ``esn0_db >= threshold + implementation_margin_db``. Only MODCODs on
    the efficient frontier are used (e.g. QPSK 8/9 is never chosen: 8PSK 3/5 needs less Es/N0
    for more bits).
    """
    es = np.asarray(esn0_db, np.float64)
    idx = np.searchsorted(_DVBS2_THRESHOLDS_DB + implementation_margin_db, es, side="right") - 1
    eff = np.where(idx >= 0, _DVBS2_EFFICIENCY[np.clip(idx, 0, None)], 0.0)
    eff = np.where(np.isnan(es), np.nan, eff)
    return eff * np.asarray(symbol_rate_baud, np.float64), eff


def shannon_rate_bps(snr_db: npt.ArrayLike, bandwidth_hz: npt.ArrayLike,
                     implementation_margin_db: float = 0.0) -> FloatArray:
    """``bandwidth·log2(1 + SNR)`` with the SNR lowered by the margin."""
    snr = 10.0 ** ((np.asarray(snr_db, np.float64) - implementation_margin_db) / 10.0)
    return np.asarray(bandwidth_hz, np.float64) * np.log2(1.0 + snr)


@dataclass(frozen=True, eq=False)
class BudgetResult:
    """Per-link budget terms (arrays of one shape), dB unless named otherwise."""

    fspl_db: FloatArray
    gas_db: FloatArray
    rain_db: FloatArray
    cn0_dbhz: FloatArray
    esn0_db: FloatArray
    rate_bps: FloatArray


def radio_budget(
    link: RadioLink,
    length_m: npt.ArrayLike,
    elevation_rad: npt.ArrayLike,
    *,
    rain_rate_mm_h: npt.ArrayLike = 0.0,
    lat_rad: npt.ArrayLike = 0.0,
    lon_rad: npt.ArrayLike = 0.0,
    station_alt_m: npt.ArrayLike = 0.0,
    rate_model: Literal["dvbs2", "shannon"] = "dvbs2",
    pressure_hpa: npt.ArrayLike = 1013.25,
    temperature_c: npt.ArrayLike = 15.0,
    water_vapour_g_m3: npt.ArrayLike = 7.5,
) -> BudgetResult:
    """The budget of ``link`` over ground–satellite paths (arrays broadcast together).

    ``length_m``, ``elevation_rad``: slant range and elevation at the ground end.
    ``lat_rad``, ``lon_rad``, ``station_alt_m``: the ground end (rain height and climate).
    """
    length = np.asarray(length_m, np.float64)
    el = np.asarray(elevation_rad, np.float64)
    f = link.frequency_hz
    fspl = fspl_db(length, f)
    gas = gaseous_attenuation_db(el, f, pressure_hpa=pressure_hpa, temperature_c=temperature_c,
                                 water_vapour_g_m3=water_vapour_g_m3)
    rain = rain_attenuation_db(f, el, rain_rate_mm_h, lat_rad, lon_rad,
                               station_alt_m=station_alt_m, tilt_deg=link.polarization_tilt_deg)
    cn0 = (link.transmitter.eirp_dbw - fspl - gas - rain - link.misc_losses_db
           + link.receiver.g_over_t_db_k - BOLTZMANN_DBW_K_HZ)
    rs = link.symbol_rate_baud
    esn0 = cn0 - 10.0 * math.log10(rs)
    if rate_model == "dvbs2":
        rate, _ = dvbs2_rate(esn0, rs, link.implementation_margin_db)
    elif rate_model == "shannon":
        rate = shannon_rate_bps(cn0 - 10.0 * math.log10(link.bandwidth_hz), link.bandwidth_hz,
                                link.implementation_margin_db)
    else:
        raise UsageError(f"rate_model must be 'dvbs2' or 'shannon', got {rate_model!r}")
    return BudgetResult(fspl_db=fspl, gas_db=gas, rain_db=rain, cn0_dbhz=cn0, esn0_db=esn0,
                        rate_bps=rate)


def ground_link_capacity(
    links: GroundLinks,
    nodes: GroundNodes,
    link: RadioLink,
    *,
    rain_rate_mm_h: npt.ArrayLike = 0.0,
    rate_model: Literal["dvbs2", "shannon"] = "dvbs2",
) -> GroundLinks:
    """``links`` with ``capacity_bps`` from the budget of ``link`` at each link's geometry.

    ``rain_rate_mm_h``: scalar, or (n_nodes,) per ground node (e.g. from a weather feed).
    """
    rate = np.broadcast_to(np.asarray(rain_rate_mm_h, np.float64), (links.n_nodes,))
    lat = nodes.lat_deg[links.node] * (math.pi / 180.0)
    lon = nodes.lon_deg[links.node] * (math.pi / 180.0)
    res = radio_budget(link, links.length_m, links.elevation_rad, rain_rate_mm_h=rate[links.node],
                       lat_rad=lat, lon_rad=lon, station_alt_m=nodes.alt_m[links.node],
                       rate_model=rate_model)
    return links.with_capacity(res.rate_bps)


def optical_capacity_bps(terminal: OpticalTerminal, length_m: npt.ArrayLike) -> FloatArray:
    """The terminal's rate where ``length_m <= max_range_m``; 0 beyond or where NaN (down)."""
    d = np.asarray(length_m, np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(d <= terminal.max_range_m, terminal.rate_bps, 0.0)
