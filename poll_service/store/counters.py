"""Rate-limit counts in time slices that expire whole: in this process, or in Redis.

Each limit ("5 per minute") is counted in slices of a sixth of its window (ten
seconds for a minute). A vote is allowed when the current slice and the six
before it hold fewer than the amount: those seven slices cover the whole window
and a little more, so no span of the window's length ever lets more than the
amount through (an approximate sliding window that errs on the strict side, by
at most one slice). A slice is one compact table in memory (about 8 bytes a
network, ``_Slice``) or one Redis key per network, dropped whole once it is
older than the window. A network is counted under every live
hashing key (see ``keys.py``), so its counts survive the daily key rotation.

``check_and_spend`` tests every limit first and spends a unit of each only if
all of them allow the vote, atomically (under a lock in this process, in one Lua
script in Redis): a refused request spends nothing, so a flood refused by its
own per-network limit cannot use up anyone else's allowance.

Shedding: when the first limit (the global one) has counted ``busy_at`` or
more, the later limits are held to their ``busy_amount`` instead, so that as the
whole site nears its capacity the networks that voted most recently are turned
away first, and readers voting for the first time still get through.

Why not Flask-Limiter and its ``limits`` storages (used before, see
docs/reports/benchmarks.md):

- the ``memory://`` storage expires keys with a timer thread that walks every
  key, one per network per limit; under a surge of new voters that walk grew to
  dominate the profile and the vote rate fell by three quarters in minutes;
- it tests and spends one limit after another, so a request refused by the
  second limit has already spent the first (and the global allowance);
- a limit is one key, and it cannot sum a network's counts under two hashing keys.

``limits`` still parses the limits ("5 per minute"), so the settings keep its notation.
"""

from __future__ import annotations

import math
import threading
import time
from array import array
from dataclasses import dataclass

from limits import parse

# Slices per window: the count may err strict by at most one slice.
SLICES = 6


@dataclass(frozen=True)
class Refusal:
    """Which limit refused (its index), what it had counted, and whether the site was busy."""

    index: int
    count: float
    busy: bool


@dataclass(frozen=True)
class Window:
    """One limit: at most ``amount`` in any ``seconds``, counted in slices."""

    name: str
    amount: int
    seconds: int

    @classmethod
    def parse(cls, name: str, text: str) -> Window:
        item = parse(text)
        return cls(name, int(item.amount), int(item.get_expiry()))

    @property
    def slice_seconds(self) -> float:
        return self.seconds / SLICES

    def current_slice(self, now: float) -> int:
        """The number of the slice a vote at ``now`` is counted in."""
        return int(now // self.slice_seconds)

    def slices(self, now: float) -> range:
        """The numbers of the slices a vote at ``now`` is counted against, newest last."""
        current = self.current_slice(now)
        return range(current - SLICES, current + 1)

    def retry_after(self, now: float) -> int:
        """Whole seconds, at least 1, within which the oldest counted slice has left."""
        return max(1, math.ceil(self.seconds - now % self.slice_seconds))


@dataclass(frozen=True)
class Check:
    """One limit to test for one request: its window, the keys it counts under
    (the current hashing key's first), the amount to hold it to, and the lower
    amount while the site is busy."""

    window: Window
    keys: list[bytes | str]
    amount: int
    busy_amount: int | None = None

    def limit(self, busy: bool) -> int:
        return self.busy_amount if busy and self.busy_amount is not None else self.amount


# A slice's table: a network's fingerprint is SHARD_BITS that pick a shard,
# then TAG_BITS kept in a 4-byte slot beside its count.
SHARD_BITS = 8
SHARDS = 1 << SHARD_BITS
FIRST_SHARD_SLOTS = 8
COUNT_BITS = 4
COUNT_MASK = (1 << COUNT_BITS) - 1
TAG_BITS = 32 - COUNT_BITS
TAG_MASK = (1 << TAG_BITS) - 1
FINGERPRINT_MASK = (1 << (SHARD_BITS + TAG_BITS)) - 1


class _Slice:
    """One time slice's counts, about 8 bytes per network.

    A network's key (a 16-byte HMAC, web/rate_limits.py) is reduced to a
    36-bit fingerprint. Its top 8 bits pick one of 256 shards, and the other 28
    are packed with the network's count (4 bits) into one 4-byte slot of that
    shard: an open-addressing table (linear probing) that doubles when two
    thirds full. A dict of the keys cost about 100 bytes per network, held for
    an hour by the sustained limit (docs/reports/benchmarks.md); one table of
    8-byte slots cost about 20, and doubling it copied every network at once:
    with 700,000 held, one vote waited 0.2 s for the copy, and under load every
    vote queued behind it (a soak's p99 went to 0.5 s). A shard holds a 256th
    of the networks, so its copy is that much shorter.

    Two networks whose fingerprints collide (for a new network among a million
    held, about one chance in 70,000) share a count: an error on the strict
    side, as the slices' own, which matters only to a network near its limit.
    Text keys (the global limit's) and counts past 15 are kept in a plain dict."""

    __slots__ = ("shards", "filled", "held", "other")

    def __init__(self):
        self.shards = [array("I", bytes(4 * FIRST_SHARD_SLOTS)) for _ in range(SHARDS)]
        self.filled = [0] * SHARDS
        # The sum of ``filled``, kept so that a vote skips an empty slice at
        # once: most of an hour's slices are empty in a service's first hour,
        # and without this check a vote's limits took about 20 % longer (timed
        # with a scratch script).
        self.held = 0
        self.other: dict[bytes | str, int] = {}

    def get(self, key: bytes | str, fingerprint: int | None) -> int:
        """The count of ``key``, whose fingerprint (None for a text key) is given."""
        if fingerprint is None:
            return self.other.get(key, 0)
        if not self.held:
            return 0
        shard, tag = self.shards[fingerprint >> TAG_BITS], fingerprint & TAG_MASK
        count = shard[_find(shard, tag)] & COUNT_MASK
        return count + self.other.get(key, 0) if count == COUNT_MASK else count

    def add_one(self, key: bytes | str, fingerprint: int | None) -> None:
        if fingerprint is None:
            self.other[key] = self.other.get(key, 0) + 1
            return
        number, tag = fingerprint >> TAG_BITS, fingerprint & TAG_MASK
        shard = self.shards[number]
        index = _find(shard, tag)
        slot = shard[index]
        if slot == 0:
            shard[index] = tag << COUNT_BITS | 1
            self.held += 1
            self.filled[number] += 1
            if 3 * self.filled[number] > 2 * len(shard):
                self.shards[number] = _grown(shard)
        elif slot & COUNT_MASK < COUNT_MASK:
            shard[index] = slot + 1
        else:
            self.other[key] = self.other.get(key, 0) + 1

    def names(self) -> list[str]:
        held = [
            f"{number:02x}{slot >> COUNT_BITS:07x}"
            for number, shard in enumerate(self.shards)
            for slot in shard
            if slot
        ]
        return held + [_text(key) for key in self.other]


def _find(shard: array, tag: int) -> int:
    """The slot holding ``tag``, or the empty slot where it would go."""
    mask = len(shard) - 1
    index = tag & mask
    while (slot := shard[index]) and slot >> COUNT_BITS != tag:
        index = (index + 1) & mask
    return index


def _grown(shard: array) -> array:
    """The shard's slots in a table twice its size."""
    bigger = array("I", bytes(8 * len(shard)))
    for slot in shard:
        if slot:
            bigger[_find(bigger, slot >> COUNT_BITS)] = slot
    return bigger


def _fingerprint(key: bytes | str) -> int | None:
    """36 bits of a network's key (an HMAC: uniformly spread); None for a text key."""
    if isinstance(key, str):
        return None
    return int.from_bytes(key[:5], "little") & FINGERPRINT_MASK


class MemoryCounters:
    """Counts in this process: for one worker (the embedded default)."""

    def __init__(self):
        self._lock = threading.Lock()
        # (limit name, window length) -> slice number -> its counts, held for
        # a window (an hour for the sustained limit).
        self._slices: dict[tuple[str, int], dict[int, _Slice]] = {}

    def check_and_spend(
        self, checks: list[Check], busy_at: float = math.inf, now: float | None = None
    ) -> Refusal | None:
        now = time.time() if now is None else now
        with self._lock:
            spend = []
            busy = False
            for index, check in enumerate(checks):
                slices = self._live_slices(check.window, now)
                keys = [(key, _fingerprint(key)) for key in check.keys]
                count = sum(held.get(*key) for held in slices for key in keys)
                if index == 0:
                    busy = count >= busy_at
                if count + 1 > check.limit(busy):
                    return Refusal(index, count, busy)
                spend.append((slices[-1], keys[0]))
            for current, key in spend:
                current.add_one(*key)
        return None

    def _live_slices(self, window: Window, now: float) -> list[_Slice]:
        numbers = window.slices(now)
        by_number = self._slices.setdefault((window.name, window.seconds), {})
        if numbers[-1] not in by_number:
            # A new slice: every slice older than the window is dropped at once.
            for old in [n for n in by_number if n < numbers[0]]:
                del by_number[old]
            by_number[numbers[-1]] = _Slice()
        return [by_number.get(n, _EMPTY) for n in numbers[:-1]] + [by_number[numbers[-1]]]

    def keys(self) -> list[str]:
        """Every key held, as text (for tests: none may contain an address)."""
        with self._lock:
            slices = [held for by_number in self._slices.values() for held in by_number.values()]
            return [name for held in slices for name in held.names()]


_EMPTY = _Slice()  # read only: a slice no vote was counted in


# No KEYS: the script names each slice's key itself, from the limit's name,
# the current slice number and the network's keys, so a vote sends a dozen
# short arguments rather than forty-odd key names (building and packing them
# was a third of the limits' cost scaled out, docs/reports/benchmarks.md). A script that
# names its own keys is fine on one Redis server; a Redis Cluster would need
# every key in KEYS, and this store is not meant for one.
# ARGV: the number of checks, busy_at, the slices counted before the current
# one, then per check: its name, the current slice's number, amount, busy
# amount, TTL, the number of network keys, and those keys (the current
# hashing key's first). Returns nil, or {index, count, busy} of a refusal.
CHECK_AND_SPEND_LUA = """
local checks = tonumber(ARGV[1])
local busy_at = tonumber(ARGV[2])
local older = tonumber(ARGV[3])
local busy = 0
local spend = {}
local arg = 4
for i = 1, checks do
  local name, current = ARGV[arg], tonumber(ARGV[arg + 1])
  local n = tonumber(ARGV[arg + 5])
  local keys = {}
  for k = 1, n do
    for s = 0, older do
      keys[#keys + 1] = string.format('%s:%d:%s', name, current - s, ARGV[arg + 5 + k])
    end
  end
  local count = 0
  for _, value in ipairs(redis.call('MGET', unpack(keys))) do
    count = count + (tonumber(value) or 0)
  end
  if i == 1 and count >= busy_at then
    busy = 1
  end
  if count + 1 > tonumber(ARGV[arg + 2 + busy]) then
    return {i, count, busy}
  end
  spend[i] = {keys[1], ARGV[arg + 4]}
  arg = arg + 6 + n
end
for i = 1, checks do
  redis.call('INCR', spend[i][1])
  redis.call('EXPIRE', spend[i][1], spend[i][2])
end
return false
"""


class RedisCounters:
    """Counts in Redis, shared by every worker and machine; one round trip per vote.

    A slice's key is ``prefix:limit:seconds:slice:network-key``; they expire by TTL."""

    def __init__(self, url: str, prefix: str = "poll-limits"):
        import redis  # only when Redis is configured

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self._script = self.client.register_script(CHECK_AND_SPEND_LUA)

    def check_and_spend(
        self, checks: list[Check], busy_at: float = math.inf, now: float | None = None
    ) -> Refusal | None:
        now = time.time() if now is None else now
        args: list = [len(checks), repr(min(busy_at, 1e300)), SLICES]
        for check in checks:
            window = check.window
            current = window.current_slice(now)
            # A slice is read until it is older than the window: keep it that long.
            ttl = math.ceil(window.seconds + 2 * window.slice_seconds)
            args += [f"{self.prefix}:{window.name}:{window.seconds}", current, check.amount]
            args += [check.limit(busy=True), ttl, len(check.keys), *map(_text, check.keys)]
        refused = self._script(keys=[], args=args)
        if not refused:
            return None
        return Refusal(int(refused[0]) - 1, float(refused[1]), bool(int(refused[2])))


def _text(key: bytes | str) -> str:
    return key.hex() if isinstance(key, bytes) else key


def counters_for(storage_uri: str) -> MemoryCounters | RedisCounters:
    scheme = storage_uri.split(":", 1)[0].lower()
    if scheme == "memory":
        return MemoryCounters()
    if scheme in ("redis", "rediss", "redis+unix", "unix"):
        return RedisCounters(storage_uri.replace("redis+unix://", "unix://", 1))
    raise ValueError(
        f"rate-limit storage '{storage_uri}' is not supported: use memory:// or redis://"
    )
