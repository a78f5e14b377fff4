"""Field, map and site settings: bad values are refused with the key named; straight-line distance."""

from __future__ import annotations

import pytest

from safecity.config import ConfigError, parse_settings
from safecity.operations.field_units import distance_m


def test_distance_is_great_circle_metres() -> None:
    assert distance_m(41.9, 12.5, 41.9, 12.5) == 0
    assert distance_m(0, 0, 1, 0) == pytest.approx(111_195, rel=1e-4)  # one degree of latitude
    # Rome Termini -> Piazza Navona, about 2.2 km
    assert distance_m(41.9010, 12.5018, 41.8992, 12.4731) == pytest.approx(2_390, rel=0.05)


def test_map_and_site_settings_name_the_bad_key() -> None:
    ok = parse_settings('map: {tile_url: "https://tile.openstreetmap.org/{z}/{x}/{y}.png", attribution: OSM}')
    assert ok.map.tile_url and ok.map.attribution == "OSM"
    with pytest.raises(ConfigError, match=r"map\.tile_url"):
        parse_settings('map: {tile_url: "https://tiles.example/{z}/{x}.png"}')
    with pytest.raises(ConfigError, match=r"map\.tile_url"):
        parse_settings('map: {tile_url: "ftp://x/{z}/{x}/{y}.png"}')
    with pytest.raises(ConfigError, match=r"site\.timezone"):
        parse_settings("site: {timezone: Mars/Olympus}")
    with pytest.raises(ConfigError, match=r"field\.dispatch_ack_s"):
        parse_settings("field: {dispatch_ack_s: 0}")
    both = parse_settings("site: {timezone: Europe/Rome}")
    assert both.analytics.timezone == "Europe/Rome"  # one site zone unless analytics says otherwise
