"""Ground-node readers against the real lists (Hypatia, StarPerf, GeoNames, brahe) and bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import orbemu
from orbemu import DataError, InputError, UsageError
from orbemu.constants import DEG
from orbemu.io.ground import (
    load_ground_nodes,
    parse_ground_text,
    parse_station_spec,
    unique_names,
)
from orbemu.orbits.frames import geodetic_to_itrf

SHARED_GROUND = {
    "hypatia_cities_top100.basic.txt": 100,
    "hypatia_cities_top1000.basic.txt": 1000,
    "hypatia_legacy_first100_with_wgs72_ecef.txt": 100,
    "hypatia_pr26_starlink_gateways.basic.txt": 198,
    "starperf_starlink_gateways.csv": 261,
    "starperf_starlink_pops.csv": 23,
    "geonames_cities_top1000_by_population.csv": 1000,
    "brahe_groundstations/atlas.geojson": 11,
    "brahe_groundstations/aws.geojson": 12,
    "brahe_groundstations/dsn.geojson": 3,
    "brahe_groundstations/ksat.geojson": 36,
    "brahe_groundstations/leaf.geojson": 18,
    "brahe_groundstations/nen.geojson": 18,
    "brahe_groundstations/ssc.geojson": 10,
    "brahe_groundstations/viasat.geojson": 9,
}
BUNDLED_OF_SHARED = {
    "cities-top100": "hypatia_cities_top100.basic.txt",
    "cities-top1000": "hypatia_cities_top1000.basic.txt",
    "hypatia-gateways": "hypatia_pr26_starlink_gateways.basic.txt",
    "starlink-gateways": "starperf_starlink_gateways.csv",
    "starlink-pops": "starperf_starlink_pops.csv",
    "geonames-top1000": "geonames_cities_top1000_by_population.csv",
    "ksat": "brahe_groundstations/ksat.geojson",
}


@pytest.mark.parametrize(("file", "count"), sorted(SHARED_GROUND.items()))
def test_every_shared_list_loads(shared_data, file, count):
    nodes = load_ground_nodes(shared_data / "ground" / file)
    assert len(nodes) == count and nodes.rejections == ()
    assert len(set(nodes.names.tolist())) == count  # unique, duplicates numbered
    assert np.all(np.abs(nodes.lat_deg) <= 90) and np.all(np.abs(nodes.lon_deg) <= 180)


@pytest.mark.parametrize(("name", "file"), sorted(BUNDLED_OF_SHARED.items()))
def test_bundled_lists_equal_the_shared_files(shared_data, name, file):
    bundled = load_ground_nodes(name)
    shared = load_ground_nodes(shared_data / "ground" / file)
    assert bundled.names.tolist() == shared.names.tolist()
    assert np.array_equal(bundled.lat_deg, shared.lat_deg)
    assert np.array_equal(bundled.lon_deg, shared.lon_deg)


def test_known_values_of_real_lists(shared_data):
    cities = load_ground_nodes("cities-top100")
    tokyo = cities.index_of("Tokyo")
    assert (cities.lat_deg[tokyo], cities.lon_deg[tokyo]) == (35.6895, 139.69171)
    assert cities.roles[0] == "city" and cities.networks[0] == "cities-top100"
    big = load_ground_nodes("cities-top1000")
    both = [n for n in big.names if str(n).startswith("Hyderabad")]
    assert both == ["Hyderabad", "Hyderabad #2"]
    gws = load_ground_nodes("starlink-gateways")
    assert gws.names[0] == "Camaçari, BR" and gws.lat_deg[0] == -12.74832
    assert set(gws.roles) == {"gateway"}
    dsn = load_ground_nodes("dsn")
    assert dsn.names.tolist() == ["Goldstone", "Canberra", "Madrid"]
    assert dsn.lon_deg[0] == -116.89 and dsn.lat_deg[0] == 35.426667
    assert set(load_ground_nodes("starlink-pops").roles) == {"pop"}


def test_hypatia_legacy_ecef_agrees_with_our_geodetic_conversion(shared_data):
    """Hypatia's legacy list carries WGS72 ECEF metres; ours (WGS84) differ by < 10 m here."""
    path = shared_data / "ground" / "hypatia_legacy_first100_with_wgs72_ecef.txt"
    nodes = load_ground_nodes(path)
    ecef = np.array([[float(v) for v in line.split(",")[-3:]]
                     for line in path.read_text().splitlines()])
    ours = geodetic_to_itrf(nodes.lat_deg * DEG, nodes.lon_deg * DEG, nodes.alt_m)
    gap = np.linalg.norm(ours - ecef, axis=1)
    assert gap.max() < 10.0  # WGS72 vs WGS84 ellipsoids: a = 6378135 vs 6378137 m, f differs


def test_commercial_is_every_brahe_network():
    commercial = orbemu.load_ground_nodes("commercial")
    assert len(commercial) == 117
    counts = {net: int((commercial.networks == net).sum()) for net in set(commercial.networks)}
    assert counts == {"atlas": 11, "aws": 12, "dsn": 3, "ksat": 36, "leaf": 18, "nen": 18,
                      "ssc": 10, "viasat": 9}
    assert len(set(commercial.names.tolist())) == 117


def test_role_and_min_elevation_arguments():
    nodes = load_ground_nodes("ksat", role="gateway", min_elevation_deg=10.0)
    assert set(nodes.roles) == {"gateway"} and np.all(nodes.min_elevation_deg == 10.0)
    assert np.all(load_ground_nodes("ksat").min_elevation_deg == 0.0)
    with pytest.raises(InputError, match="min_elevation_deg"):
        load_ground_nodes("ksat", min_elevation_deg=95.0)
    with pytest.raises(UsageError):
        load_ground_nodes("ksat", errors="maybe")  # type: ignore[arg-type]


def test_unknown_name_suggests():
    with pytest.raises(DataError, match="Did you mean 'ksat'") as info:
        load_ground_nodes("kast")
    assert "commercial" in str(info.value)


# ---- the orbemu CSV ------------------------------------------------------------------------------
def test_plain_csv_with_and_without_header(tmp_path: Path):
    plain = "Madrid,40.43,-4.25,700\n# a comment\nSvalbard, 78.23, 15.39\n"
    a = parse_ground_text(plain)
    b = parse_ground_text("name,lat_deg,lon_deg,alt_m\n" + plain)
    c = parse_ground_text("Station,Latitude,Longitude,Height_m\n" + plain)
    for nodes in (a, b, c):
        assert nodes.names.tolist() == ["Madrid", "Svalbard"]
        assert nodes.lat_deg.tolist() == [40.43, 78.23]
        assert nodes.alt_m.tolist() == [700.0, 0.0]
        assert set(nodes.roles) == {"station"}
    extra = parse_ground_text("name,lat,lon,min_elevation_deg,role,network\n"
                              "A,1,2,25,gateway,acme\nB,3,4,,,\n")
    assert extra.min_elevation_deg.tolist() == [25.0, 0.0]
    assert extra.roles.tolist() == ["gateway", "station"]
    assert extra.networks.tolist() == ["acme", ""]
    path = tmp_path / "st.csv"
    path.write_text(plain)
    assert len(load_ground_nodes(path)) == 2
    assert load_ground_nodes(str(path)).source == "st.csv"


@pytest.mark.parametrize(("row", "field", "needle"), [
    ("Bad,95.0,10", "lat_deg", "out of range (-90 <= lat_deg <= 90)"),
    ("Bad,45.0,-777.4", "lon_deg", "subtract 360"),
    ("Bad,north,10", "lat_deg", "'north' is not a number"),
    ("Bad,45,10,12000", "alt_m", "metres above the WGS84 ellipsoid"),
    ("Bad,45,10,nan", "alt_m", "not a number"),
    ("Bad,45", "columns", "expected 3 or 4"),
    (",45,10", "name", "empty"),
])
def test_bad_rows_name_line_and_field(row, field, needle):
    text = "Madrid,40.43,-4.25\nSvalbard,78.23,15.39\n" + row + "\nTroll,-72.01,2.53\n"
    with pytest.raises(InputError) as info:
        parse_ground_text(text, source="stations.csv")
    err = info.value
    assert (err.source, err.line, err.field) == ("stations.csv", 3, field)
    assert needle in str(err)
    assert "other 3 rows and list the rejected one" in str(err)
    lenient = parse_ground_text(text, source="stations.csv", errors="skip")
    assert lenient.names.tolist() == ["Madrid", "Svalbard", "Troll"]
    assert [(r.line, r.field) for r in lenient.rejections] == [(3, field)]


def test_starperf_style_typo_is_caught(shared_data):
    lines = (shared_data / "ground" / "starperf_starlink_gateways.csv").read_text().splitlines()
    lines[10] = lines[10].replace(lines[10].split(",")[-5], "-777.4")  # longitude column
    with pytest.raises(InputError, match=r"-777\.4") as info:
        parse_ground_text("\n".join(lines), source="gw.csv")
    assert (info.value.line, info.value.field) == (11, "lon_deg")


def test_header_width_mismatch_and_hypatia_width():
    with pytest.raises(InputError, match="where the header has 3") as info:
        parse_ground_text("name,lat,lon\nA,1,2\nB,1,2,3\n")
    assert info.value.line == 3
    with pytest.raises(InputError, match="id,name,lat,lon,elev"):
        parse_ground_text("0,Tokyo,35.6,139.7,0\n1,Delhi,28.6,77.2\n")


def test_duplicate_names_get_suffixes():
    nodes = parse_ground_text("A,1,2\nA,3,4\nA #2,5,6\nA,7,8\n")
    assert nodes.names.tolist() == ["A", "A #3", "A #2", "A #4"]
    assert nodes.lat_deg.tolist() == [1, 3, 5, 7]
    assert unique_names(["x", "y", "x"]) == ["x", "y", "x #2"]


def test_nothing_loadable():
    with pytest.raises(InputError, match="no row of this input could be loaded"):
        parse_ground_text("A,100,0\n", errors="skip")
    with pytest.raises(InputError, match="no ground nodes found"):
        parse_ground_text("name,lat,lon\n")


# ---- GeoJSON -------------------------------------------------------------------------------------
def feature(lon, lat, name="S", **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"name": name, **props}}


def test_geojson_forms_and_errors():
    fc = {"type": "FeatureCollection", "features": [feature(10, 20, "A", provider="Acme"),
                                                    feature(11, 21, "B")]}
    nodes = parse_ground_text(json.dumps(fc))
    assert nodes.names.tolist() == ["A", "B"] and nodes.networks.tolist() == ["Acme", ""]
    assert parse_ground_text(json.dumps(feature(1, 2))).lat_deg.tolist() == [2.0]
    with_alt = feature(1, 2)
    with_alt["geometry"]["coordinates"] = [1, 2, 350.0]
    assert parse_ground_text(json.dumps([with_alt])).alt_m.tolist() == [350.0]
    poly = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}}
    bad = {"type": "FeatureCollection", "features": [feature(10, 20), poly, feature(200, 0),
                                                     "x"]}
    with pytest.raises(InputError, match="not a Point") as info:
        parse_ground_text(json.dumps(bad), source="net.geojson")
    assert str(info.value).startswith("net.geojson record 2, geometry:")
    lenient = parse_ground_text(json.dumps(bad), errors="skip")
    assert len(lenient) == 1
    assert [(r.record, r.field) for r in lenient.rejections] == [
        (2, "geometry"), (3, "lon_deg"), (4, None)]
    with pytest.raises(InputError, match="not valid JSON"):
        parse_ground_text('{"type": ')
    with pytest.raises(InputError, match="not a GeoJSON FeatureCollection"):
        parse_ground_text('{"type": "Other"}')


# ---- --station -----------------------------------------------------------------------------------
def test_station_spec():
    node = parse_station_spec("Madrid:40.43,-4.25,700")
    assert (node.names[0], node.lat_deg[0], node.lon_deg[0], node.alt_m[0]) == \
        ("Madrid", 40.43, -4.25, 700.0)
    assert parse_station_spec("City: Tokyo:35.69,139.69").names[0] == "City: Tokyo"
    assert parse_station_spec("X:0,0").alt_m[0] == 0.0


@pytest.mark.parametrize(("spec", "needle"), [
    ("Madrid", "no NAME: part"),
    (":40,3", "no NAME: part"),
    ("Madrid:40", "expected LAT,LON"),
    ("Madrid:40,3,2,1", "expected LAT,LON"),
    ("Madrid:91,3", "out of range"),
    ("Madrid:40,abc", "not a number"),
])
def test_station_spec_errors(spec, needle):
    with pytest.raises(InputError, match=needle) as info:
        parse_station_spec(spec)
    assert str(info.value).startswith("--station") and "e.g. --station Madrid" in str(info.value)
