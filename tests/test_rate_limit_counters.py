"""The rate-limit counters (poll_service/store/counters.py), in memory and in Redis:
the same answers from both, refusals spend nothing, a network is counted under
every live hashing key, and old buckets are dropped whole."""

from __future__ import annotations

import hashlib
import secrets
import tracemalloc

import pytest

from poll_service.store import counters as counters_module
from poll_service.store.counters import Check, MemoryCounters, RedisCounters, Window
from tests.support.processes import Unavailable, skip_or_fail
from tests.support.services import RedisServer

MINUTE = Window("burst", 3, 60)
SITE = Window("site", 10, 60)
T0 = 1_800_000_000.0  # the start of a minute


@pytest.fixture(scope="module")
def redis_url():
    server = RedisServer()
    try:
        server.start()
    except Unavailable as error:
        server.stop()
        skip_or_fail(str(error))
    yield server.url
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def counters(request):
    if request.param == "memory":
        return MemoryCounters()
    store = RedisCounters(request.getfixturevalue("redis_url"), prefix=f"t{id(request)}")
    store.client.flushdb()
    return store


def network_keys(count: int) -> list[bytes]:
    """Keys like the service's (16 bytes of an HMAC), made from a fixed seed: of
    50,000 random ones, two share the memory store's 36-bit fingerprint (and so
    a count) in about one run in 55; these share none."""
    return [hashlib.sha256(b"network %d" % number).digest()[:16] for number in range(count)]


def checks(keys, burst=MINUTE, site=SITE, busy_amount=None):
    return [Check(site, ["all"], site.amount), Check(burst, keys, burst.amount, busy_amount)]


def test_a_network_gets_its_amount_then_a_refusal(counters):
    answers = [counters.check_and_spend(checks(["a"]), now=T0 + i) for i in range(4)]
    assert answers[:3] == [None, None, None]
    assert (answers[3].index, answers[3].count, answers[3].busy) == (1, 3, False)


def test_refusals_spend_nothing_of_any_limit(counters):
    for i in range(3):
        assert counters.check_and_spend(checks(["a"]), now=T0 + i) is None
    for i in range(50):  # refused by its own limit, again and again
        assert counters.check_and_spend(checks(["a"]), now=T0 + 3 + i / 100).index == 1
    # The site's allowance (10) still has its 7 units for others.
    others = [counters.check_and_spend(checks([f"n{i}"]), now=T0 + 4) for i in range(8)]
    assert others[:7] == [None] * 7
    assert others[7].index == 0


def test_a_network_is_counted_under_every_live_key(counters):
    for i in range(3):
        assert counters.check_and_spend(checks(["yesterday"]), now=T0 + i) is None
    # After the rotation the network's keys are [today's, yesterday's].
    refusal = counters.check_and_spend(checks(["today", "yesterday"]), now=T0 + 5)
    assert refusal is not None and refusal.index == 1


def test_a_vote_stops_counting_only_after_a_whole_window(counters):
    for i in range(3):
        assert counters.check_and_spend(checks(["a"]), now=T0 + 50 + i) is None
    # No span of 60 s may hold four: still refused 58 s after the last vote...
    for second in (60, 75, 90, 105, 110):
        assert counters.check_and_spend(checks(["a"]), now=T0 + second) is not None
    # ...and free again once the votes' ten-second slice is a whole window old.
    assert counters.check_and_spend(checks(["a"]), now=T0 + 120) is None


def test_while_the_site_is_busy_networks_that_voted_wait(counters):
    assert counters.check_and_spend(checks(["heavy"], busy_amount=1), 5, now=T0) is None
    for i in range(4):
        assert counters.check_and_spend(checks([f"n{i}"], busy_amount=1), 5, now=T0 + 1) is None
    refusal = counters.check_and_spend(checks(["heavy"], busy_amount=1), 5, now=T0 + 2)
    assert (refusal.index, refusal.busy) == (1, True)
    assert counters.check_and_spend(checks(["fresh"], busy_amount=1), 5, now=T0 + 2) is None


def test_memory_drops_old_buckets_whole():
    counters = MemoryCounters()
    for minute in range(100):
        for voter in range(50):
            counters.check_and_spend(checks([f"{minute}-{voter}"]), now=T0 + 60 * minute)
    # Only this minute's and the last minute's keys are held, not 5,000.
    assert len(counters.keys()) <= 2 * (50 + 1) * 2


def test_networks_keys_are_counted_exactly_as_their_table_grows(counters):
    """Networks' keys are bytes (HMACs): the memory store packs them in a table
    that grows as networks arrive; every network keeps its own count throughout."""
    hour = Window("sustained", 3, 3600)
    networks = network_keys(2000)
    for round_ in range(3):  # each network spends its three, in turn, as the table grows
        for network in networks:
            assert counters.check_and_spend([Check(hour, [network], 3)], now=T0 + round_) is None
    for network in networks:
        refused = counters.check_and_spend([Check(hour, [network], 3)], now=T0 + 5)
        assert refused is not None and refused.count == 3
    # Counted under two live hashing keys, a network's counts add up.
    both = Check(hour, [secrets.token_bytes(16), networks[0], networks[1]], 6)
    assert counters.check_and_spend([both], now=T0 + 5).count == 6
    assert counters.check_and_spend([Check(hour, [secrets.token_bytes(16)], 3)], now=T0 + 5) is None


def test_a_network_held_for_the_hour_costs_a_few_bytes():
    """The sustained limit holds every network that voted in the last hour: in a
    surge, millions. Held as 16-byte keys in a dict, each cost about 100 bytes;
    in one table of 8-byte slots, about 20."""
    hour = Window("sustained", 20, 3600)
    counters = MemoryCounters()
    networks = 50_000
    keys = network_keys(networks)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(networks):
            check = [Check(hour, [keys[i]], hour.amount)]
            assert counters.check_and_spend(check, now=T0 + i * 0.01) is None
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held / networks < 14
    assert len(counters.keys()) == networks


def test_a_growing_table_never_copies_more_than_a_small_part_of_it(monkeypatch):
    """Every vote waits while the table it is counted in grows: growing one
    table of every network held stalled voting for 0.2 s at 700,000 networks
    (benchmarks.md). Only a shard of a few hundred networks is ever copied."""
    copied = []
    grown = counters_module._grown
    monkeypatch.setattr(
        counters_module,
        "_grown",
        lambda shard: copied.append(sum(map(bool, shard))) or grown(shard),
    )
    hour = Window("sustained", 20, 3600)
    counters = MemoryCounters()
    networks = 100_000
    for i, key in enumerate(network_keys(networks)):
        check = [Check(hour, [key], hour.amount)]
        assert counters.check_and_spend(check, now=T0 + i * 0.01) is None
    assert copied and max(copied) < networks / 100


def test_a_network_that_votes_often_is_counted_past_what_a_slot_holds(counters):
    """A busy network (a campus behind one address) may vote often in one slice:
    its count goes on past the 15 that a slot of the memory store holds."""
    day = Window("sustained", 40, 86_400)
    network = secrets.token_bytes(16)
    for _ in range(40):
        assert counters.check_and_spend([Check(day, [network], 40)], now=T0) is None
    refused = counters.check_and_spend([Check(day, [network], 40)], now=T0)
    assert refused is not None and refused.count == 40


def test_redis_keeps_one_key_per_slice_that_expires_after_the_window(redis_url):
    """The Lua script names the slices' keys itself. A name built wrongly (a
    slice number printed as a float, say) would still count consistently, so
    only the names and their TTLs show it."""
    store = RedisCounters(redis_url, prefix="ttl")
    store.client.flushdb()
    network = secrets.token_bytes(16)
    for second in (0, 25):  # the burst limit's ten-second slices: 180,000,000 and ...002
        assert store.check_and_spend(checks([network]), now=T0 + second) is None
    names = sorted(key.decode() for key in store.client.keys("ttl:*"))
    assert names == [f"ttl:burst:60:{n}:{network.hex()}" for n in (180_000_000, 180_000_002)] + [
        f"ttl:site:60:{n}:all" for n in (180_000_000, 180_000_002)
    ]
    # Read until the window has passed it, then gone: 60 s and two slices.
    assert all(0 < store.client.ttl(name) <= 80 for name in names)
    assert store.client.get(names[0]) == b"1"
