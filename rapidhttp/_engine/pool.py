"""
Connection-pool bookkeeping shared by every driver (blocking sockets, asyncio, trio).

This module does no I/O and never awaits: each public method is one synchronous state change, so
a request that is cancelled or times out at any await point in a driver can never leave the pool
half-updated (httpx's worst bug class: encode/httpx#1171, #2139). The sync driver calls these
methods under one lock; the async drivers call them between awaits.

Vocabulary
----------
- **origin key**: any hashable the driver chooses, e.g. ``(scheme, host, port)``.
- **Slot**: the pool's record of one connection, counted against ``max_connections`` from the
  moment it is granted. ``slot.conn`` is ``None`` while the driver is still connecting (a
  "permit"), then the driver stores the connection in it. The pool never looks inside the
  connection; it only hands connections back to the driver to be closed.
- **capacity**: how many requests a connection carries at once: 1 for HTTP/1.1, the peer's
  concurrent-stream limit for a multiplexed (HTTP/2, HTTP/3) connection (``set_capacity``).
- **Waiter**: a request waiting for room (``PoolTimeout`` territory). The driver supplies a
  ``wake(slot)`` callback (it sets a threading event, resolves a future, sets a trio event); the
  pool *grants* a slot to the waiter before calling it, so the waiter owns the slot even if it
  never runs again: a waiter that gives up calls ``cancel(waiter)``, which returns any grant.

Invariants (hold after every public call)
-----------------------------------------
1. ``total`` == number of live slots (checked out, idle, or permits) <= ``max_connections``.
2. A slot is *idle* iff ``slot.active == 0`` and it holds a connection; every idle slot is in
   ``_idle_by_key[slot.key]`` and ``_idle`` (both insertion-ordered by idle time, oldest first),
   and ``len(_idle) <= max_keepalive_connections``.
3. A slot is in ``_shared[slot.key]`` iff its capacity > 1, it holds a connection, it is
   reusable and ``active < capacity``.
4. Waiters exist only while no idle connection could serve them: every release serves the
   oldest waiter first, and ``acquire`` evicts an idle connection of another origin when the
   pool is full rather than making a request wait.
5. Every connection the pool drops (expired, over the keep-alive limit, evicted, released as
   unusable) is returned to the caller to be closed; nothing is lost, nothing closed twice.

All operations are O(1) except ``cancel`` (O(waiters), only on timeouts/cancellation) and
``set_capacity`` (scans waiters once per new multiplexed connection).
"""

from __future__ import annotations

import collections
import typing

__all__ = ["ConnectionPool", "PoolClosed", "Slot", "Waiter"]

_NOTHING: tuple[typing.Any, ...] = ()  # the common "nothing to close" result, never allocated
_NEVER = float("inf")


class PoolClosed(Exception):
    """Raised by `acquire` / passed to waiters once the pool has been closed."""


class Slot:
    """One connection (or the permit to open it) counted against the pool's limits."""

    __slots__ = ("key", "conn", "capacity", "active", "reusable", "idle_since")

    def __init__(self, key: typing.Hashable) -> None:
        self.key = key
        self.conn: typing.Any = None  # set by the driver once connected
        self.capacity = 1
        self.active = 1  # requests currently using this slot (the acquirer counts)
        self.reusable = True
        self.idle_since = 0.0

    def __repr__(self) -> str:
        state = "connecting" if self.conn is None else f"{self.active}/{self.capacity} active"
        return f"<Slot {self.key!r} {state}>"


class Waiter:
    """A request queued for room in the pool; `slot` is set when the pool grants it one."""

    __slots__ = ("key", "wake", "slot")

    def __init__(self, key: typing.Hashable, wake: typing.Callable[[Slot | None], None]) -> None:
        self.key = key
        self.wake = wake  # called with the granted slot, or None when the pool closes
        self.slot: Slot | None = None


class ConnectionPool:
    """Pure bookkeeping for the connections of one transport; see the module docstring."""

    def __init__(
        self,
        max_connections: int | None = None,
        max_keepalive_connections: int | None = None,
        keepalive_expiry: float | None = None,
    ) -> None:
        if max_keepalive_connections is None:
            max_keepalive_connections = max_connections
        elif max_connections is not None:
            max_keepalive_connections = min(max_keepalive_connections, max_connections)
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry
        self.total = 0
        self.closed = False
        # Ordered "sets" (dicts with None values): O(1) add/remove, LIFO reuse via popitem(),
        # oldest-first iteration for expiry and eviction.
        self._idle: dict[Slot, None] = {}
        self._idle_by_key: dict[typing.Hashable, dict[Slot, None]] = {}
        self._shared: dict[typing.Hashable, dict[Slot, None]] = {}
        self._waiters: collections.deque[Waiter] = collections.deque()
        # A lower bound on when the oldest idle connection expires: one float comparison per
        # acquire instead of looking at the oldest idle connection each time.
        self._next_expiry = _NEVER

    # ------------------------------------------------------------------ introspection

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    # ------------------------------------------------------------------ getting a slot

    def acquire(
        self, key: typing.Hashable, now: float
    ) -> tuple[Slot | None, tuple[typing.Any, ...]]:
        """Return ``(slot, to_close)``.

        ``slot.conn`` is a connection to reuse (check it is still alive; if not, close it, set
        ``slot.conn = None`` and connect afresh into the same slot), or ``None``: the caller must
        connect and store the connection in ``slot.conn``. ``slot`` is ``None`` when the pool is
        full: the caller must `enqueue` a waiter *in the same critical section*.
        ``to_close``: connections the pool dropped (expired or evicted), for the caller to close.
        """
        if self.closed:
            raise PoolClosed()
        to_close = _NOTHING
        if now >= self._next_expiry:
            to_close = self._expire(now)
        if self._shared:
            shared = self._shared.get(key)
            if shared:
                slot = next(iter(shared))
                if slot.active == 0:
                    self._remove_idle(slot)
                slot.active += 1
                if slot.active >= slot.capacity:
                    del shared[slot]
                return slot, to_close
        idle = self._idle_by_key.get(key)
        if idle:
            # Most recently used first: the likeliest to be alive. The emptied per-origin dict
            # stays for the next release (see `_new_idle_key`).
            slot = idle.popitem()[0]
            del self._idle[slot]
            slot.active = 1
            return slot, to_close
        if self.max_connections is None or self.total < self.max_connections:
            self.total += 1
            return Slot(key), to_close
        if self._idle:
            # Full, but some other origin's connection is idle: trade it for a new one.
            oldest = next(iter(self._idle))
            self._remove_idle(oldest)
            self._unshare(oldest)
            return Slot(key), to_close + (oldest.conn,)
        return None, to_close

    def enqueue(self, key: typing.Hashable, wake: typing.Callable[[Slot | None], None]) -> Waiter:
        """Queue a waiter after `acquire` returned no slot (in the same critical section)."""
        waiter = Waiter(key, wake)
        self._waiters.append(waiter)
        return waiter

    def cancel(self, waiter: Waiter, now: float) -> tuple[typing.Any, ...]:
        """The waiter gave up (timeout, cancellation): drop it, returning any slot it was granted.

        Returns connections to close, like `release`.
        """
        slot = waiter.slot
        if slot is None:
            try:
                self._waiters.remove(waiter)
            except ValueError:  # already removed by close()
                pass
            return _NOTHING
        waiter.slot = None
        return self.release(slot, now)

    # ------------------------------------------------------------------ giving a slot back

    def release(self, slot: Slot, now: float, reusable: bool = True) -> tuple[typing.Any, ...]:
        """One request is done with ``slot``. Returns connections for the caller to close.

        Pass ``reusable=False`` when the connection must not carry another request (error,
        ``Connection: close``, response not fully read) or when connecting failed
        (``slot.conn is None``). An unusable slot stops counting once its last request ends.
        """
        if not reusable or slot.conn is None:
            slot.reusable = False
        slot.active -= 1
        if not slot.reusable or self.closed:
            self._unshare(slot)
            if slot.active > 0:  # a multiplexed connection still carrying other streams
                return _NOTHING
            self.total -= 1
            dropped = _NOTHING if slot.conn is None else (slot.conn,)
            if self._waiters:
                self._grant_new()
            return dropped
        if self._waiters:
            return self._hand_over(slot, now)
        if slot.capacity > 1:
            self._share(slot)
            if slot.active > 0:
                return _NOTHING
        slot.idle_since = now
        idle = self._idle
        if not idle and self.keepalive_expiry is not None:
            self._next_expiry = now + self.keepalive_expiry
        idle[slot] = None
        by_key = self._idle_by_key.get(slot.key)
        if by_key is None:
            by_key = self._new_idle_key(slot.key)
        by_key[slot] = None
        if (
            self.max_keepalive_connections is not None
            and len(self._idle) > self.max_keepalive_connections
        ):
            oldest = next(iter(self._idle))
            self._remove_idle(oldest)
            self._unshare(oldest)
            self.total -= 1
            return (oldest.conn,)
        return _NOTHING

    def set_capacity(self, slot: Slot, capacity: int) -> None:
        """A connection turned out to be multiplexed (e.g. ALPN chose h2): share it.

        Waiters for the same origin are granted streams on it at once.
        """
        slot.capacity = capacity
        if capacity <= 1 or not slot.reusable:
            return
        for waiter in list(self._waiters):
            if slot.active >= capacity:
                break
            if waiter.key == slot.key:
                self._waiters.remove(waiter)
                slot.active += 1
                self._grant(waiter, slot)
        if slot.active < capacity:
            self._share(slot)

    def close(self) -> tuple[typing.Any, ...]:
        """Close the pool: returns the idle connections to close and wakes waiters with None.

        Connections still in use are closed when their requests release them.
        """
        self.closed = True
        dropped = tuple(slot.conn for slot in self._idle)
        self.total -= len(self._idle)
        self._idle.clear()
        self._idle_by_key.clear()
        self._shared.clear()
        waiters = list(self._waiters)
        self._waiters.clear()
        for waiter in waiters:
            waiter.wake(None)
        return dropped

    # ------------------------------------------------------------------ internals

    def _hand_over(self, slot: Slot, now: float) -> tuple[typing.Any, ...]:
        """A reusable connection came free while requests wait: serve the oldest waiter."""
        waiter = self._waiters.popleft()
        if waiter.key == slot.key:
            slot.active += 1
            self._grant(waiter, slot)
            return _NOTHING
        if slot.active > 0:  # multiplexed, busy with other streams: keep it, no room freed
            self._waiters.appendleft(waiter)
            self._share(slot)
            return _NOTHING
        # Wrong origin: close this connection and let the waiter open its own in its place.
        self._unshare(slot)
        self._grant(waiter, Slot(waiter.key))
        return (slot.conn,)

    def _grant_new(self) -> None:
        """Room was freed (``total`` went down): give a new-connection permit to a waiter."""
        self.total += 1
        waiter = self._waiters.popleft()
        self._grant(waiter, Slot(waiter.key))

    @staticmethod
    def _grant(waiter: Waiter, slot: Slot) -> None:
        waiter.slot = slot
        waiter.wake(slot)

    def _expire(self, now: float) -> tuple[typing.Any, ...]:
        expiry = typing.cast(float, self.keepalive_expiry)
        dropped: tuple[typing.Any, ...] = _NOTHING
        self._next_expiry = _NEVER
        while self._idle:
            oldest = next(iter(self._idle))
            if oldest.idle_since + expiry > now:
                self._next_expiry = oldest.idle_since + expiry
                break
            self._remove_idle(oldest)
            self._unshare(oldest)
            self.total -= 1
            dropped += (oldest.conn,)
        return dropped

    def _new_idle_key(self, key: typing.Hashable) -> dict[Slot, None]:
        if len(self._idle_by_key) > 2 * len(self._idle) + 16:
            # Emptied per-origin dicts are kept for reuse (the common keep-alive cycle empties
            # and refills one); drop them once they outnumber the idle connections.
            self._idle_by_key = {k: v for k, v in self._idle_by_key.items() if v}
        by_key: dict[Slot, None] = {}
        self._idle_by_key[key] = by_key
        return by_key

    def _remove_idle(self, slot: Slot) -> None:
        del self._idle[slot]
        by_key = self._idle_by_key[slot.key]
        del by_key[slot]
        if not by_key:
            del self._idle_by_key[slot.key]

    def _share(self, slot: Slot) -> None:
        shared = self._shared.get(slot.key)
        if shared is None:
            shared = self._shared[slot.key] = {}
        shared[slot] = None

    def _unshare(self, slot: Slot) -> None:
        shared = self._shared.get(slot.key)
        if shared is not None and slot in shared:
            del shared[slot]
            if not shared:
                del self._shared[slot.key]
