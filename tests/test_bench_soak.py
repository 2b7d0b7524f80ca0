"""bench.soak's verdict: a service that slows down is caught, a machine that
slows down is not blamed on the service (the machine-speed probe)."""

import pytest

from bench.common import MachineSpeed
from bench.soak import judge


def minutes(rates, probes, rss=(100.0,)):
    rss = list(rss) * len(rates) if len(rss) == 1 else list(rss)
    return [
        {"per_second": rate, "probe_ms": probe, "rss_mb": mb}
        for rate, probe, mb in zip(rates, probes, rss, strict=True)
    ]


def test_a_service_that_slows_down_on_a_steady_machine_misses_the_target():
    figures = judge(minutes([700, 690, 640, 600], [4.5, 4.5, 4.5, 4.5]))
    assert figures["rate_kept"] == pytest.approx(600 / 700, abs=0.001)
    assert figures["met"]["rate_kept"] is False
    assert figures["trend_kept"] < 0.9


def test_a_steady_service_on_a_machine_that_slows_down_meets_it_and_the_raw_rate_is_kept():
    # The minutes' rates fall exactly as the probe's loop slows: the service
    # did the same work per unit of machine speed every minute.
    figures = judge(minutes([700, 630, 700], [4.5, 5.0, 4.5]))
    assert figures["rate_kept"] == pytest.approx(1.0)
    assert figures["met"]["rate_kept"] is True
    assert figures["raw_rate_kept"] == pytest.approx(0.9)


def test_a_machine_that_speeds_up_does_not_hide_a_slower_service():
    # Raw rates look flat, but the machine ran faster in minute 3: the
    # service needed more CPU per vote.
    figures = judge(minutes([700, 700, 700], [5.0, 5.0, 4.0]))
    assert figures["rate_kept"] == pytest.approx(0.8)
    assert figures["met"]["rate_kept"] is False


def test_a_minute_the_probe_did_not_time_is_judged_as_it_came():
    figures = judge(minutes([700, 600], [0.0, 5.0]))
    assert figures["rate_kept"] == pytest.approx(600 / 700, abs=0.001)


def test_memory_is_judged_by_the_largest_minute():
    figures = judge(minutes([700, 700, 700], [4.5, 4.5, 4.5], rss=[90, 105, 98]))
    assert figures["rss_growth"] == pytest.approx(105 / 90, abs=0.001)
    assert figures["met"]["rss_growth"] is False


def test_the_probe_reports_the_mean_loop_time_since_it_was_last_read():
    probe = MachineSpeed()
    probe.times = [4.0, 6.0]
    assert probe.take() == 5.0
    assert probe.take() == 0.0  # nothing timed since
