"""Renderer.timestamp against the standard library, in zones whose offsets are part hours or change off the hour."""

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from jirasim.dataset import Dataset, SimConfig
from jirasim.render import Renderer

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe"]


@pytest.mark.parametrize("zone", ZONES)
def test_timestamp_matches_the_zone(zone: str) -> None:
    renderer = Renderer(Dataset(SimConfig(issues=1, site_tz=zone)), "http://127.0.0.1:1")
    rng = random.Random(zone)
    moments = [rng.randrange(1_600_000_000_000, 1_900_000_000_000) for _ in range(20_000)]
    moments.append(1_825_562_608_026)  # St John's leaves daylight time at 04:30 UTC, not on the hour
    for ms in moments:
        local = datetime.fromtimestamp(ms // 1000, UTC).astimezone(ZoneInfo(zone))
        expected = f"{local:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{local:%z}"
        assert renderer.timestamp(ms) == expected


@pytest.mark.parametrize("zone", ZONES)
def test_every_hour_of_three_years_matches_the_zone(zone: str) -> None:
    """Hours are found a UTC day at a time: every hour of 2025–2027 (each DST change among them), at a
    minute and second that differ by hour, must still read as the standard library reads it."""
    renderer = Renderer(Dataset(SimConfig(issues=1, site_tz=zone)), "http://127.0.0.1:1")
    first = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) // 3600
    last = int(datetime(2028, 1, 1, tzinfo=UTC).timestamp()) // 3600
    for hour in range(first, last):
        ms = hour * 3_600_000 + (hour * 7919) % 3_600_000
        local = datetime.fromtimestamp(ms // 1000, UTC).astimezone(ZoneInfo(zone))
        assert renderer.timestamp(ms) == f"{local:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}{local:%z}", ms
