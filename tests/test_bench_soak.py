"""bench.soak's verdict: a service that slows down as it stores more is caught,
and a machine that slows down is not blamed on the service (each minute is
judged beside a fresh service measured straight after it)."""

import pytest

from bench.common import MachineSpeed
from bench.soak import judge


def minutes(rates, fresh, probes=None, rss=(100.0,)):
    probes = probes or [4.5] * len(rates)
    rss = list(rss) * len(rates) if len(rss) == 1 else list(rss)
    return [
        {"per_second": rate, "fresh_per_second": peer, "probe_ms": probe, "rss_mb": mb}
        for rate, peer, probe, mb in zip(rates, fresh, probes, rss, strict=True)
    ]


def test_a_service_that_slows_while_a_fresh_one_does_not_misses_the_target():
    figures = judge(minutes([700, 690, 640, 600], fresh=[720, 720, 720, 720]))
    assert figures["rate_kept"] == pytest.approx(600 / 700, abs=0.001)
    assert figures["met"]["rate_kept"] is False
    assert figures["trend_kept"] < 0.9


def test_a_machine_that_slows_both_alike_is_not_blamed_on_the_service():
    # Minute 2 ran on a slower machine: the soaked service and its fresh
    # peer lost the same share.
    figures = judge(minutes([700, 560, 700], fresh=[720, 576, 720]))
    assert figures["rate_kept"] == pytest.approx(1.0)
    assert figures["met"]["rate_kept"] is True
    assert figures["raw_rate_kept"] == pytest.approx(0.8)


def test_a_machine_that_speeds_up_does_not_hide_a_slower_service():
    # Raw rates look flat, but a fresh service was faster by then: the soaked
    # one fell behind it.
    figures = judge(minutes([700, 700, 700], fresh=[700, 700, 875]))
    assert figures["rate_kept"] == pytest.approx(0.8)
    assert figures["met"]["rate_kept"] is False


def test_the_machine_probe_adjusts_the_rates_it_timed_and_leaves_the_others():
    rows = minutes([700, 630, 600], fresh=[700] * 3, probes=[4.5, 5.0, 0.0])
    figures = judge(rows)
    assert [row["adjusted_per_second"] for row in rows] == [700, 700, 600]
    assert figures["probe_rate_kept"] == pytest.approx(600 / 700, abs=0.001)


def test_memory_is_judged_by_the_largest_minute():
    figures = judge(minutes([700] * 3, fresh=[700] * 3, rss=[90, 105, 98]))
    assert figures["rss_growth"] == pytest.approx(105 / 90, abs=0.001)
    assert figures["met"]["rss_growth"] is False


def test_the_probe_reports_the_mean_loop_time_since_it_was_last_read():
    probe = MachineSpeed()
    probe.times = [4.0, 6.0]
    assert probe.take() == 5.0
    assert probe.take() == 0.0  # nothing timed since
