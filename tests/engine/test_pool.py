"""The pool's pure bookkeeping: limits, LIFO reuse, expiry, waiters, multiplexing, invariants."""

from __future__ import annotations

import pytest

from rapidhttp._engine.pool import ConnectionPool, PoolClosed, Slot


class Conn:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def take(pool: ConnectionPool, key: str, now: float = 0.0, conn: str | None = None) -> Slot:
    """Acquire a slot and, if it is a new-connection permit, 'connect' it."""
    slot, to_close = pool.acquire(key, now)
    assert slot is not None
    assert to_close == ()
    if slot.conn is None:
        slot.conn = Conn(conn or key)
    return slot


def check(pool: ConnectionPool) -> None:
    """Invariants from the module docstring that are visible from outside."""
    assert pool.total >= 0
    if pool.max_connections is not None:
        assert pool.total <= pool.max_connections
    if pool.max_keepalive_connections is not None:
        assert pool.idle_count <= pool.max_keepalive_connections
    assert pool.idle_count <= pool.total
    if pool.waiting:
        assert pool.idle_count == 0


def test_new_connection_then_reuse() -> None:
    pool = ConnectionPool()
    slot = take(pool, "a")
    assert pool.total == 1 and pool.idle_count == 0
    assert pool.release(slot, 1.0) == ()
    assert pool.idle_count == 1
    again, _ = pool.acquire("a", 2.0)
    assert again is slot and again.conn is not None and again.active == 1
    check(pool)


def test_reuse_is_lifo_and_per_origin() -> None:
    pool = ConnectionPool()
    first, second, other = take(pool, "a", conn="a1"), take(pool, "a", conn="a2"), take(pool, "b")
    pool.release(first, 1.0)
    pool.release(second, 2.0)
    pool.release(other, 3.0)
    slot, _ = pool.acquire("a", 4.0)
    assert slot is second  # most recently used first
    slot, _ = pool.acquire("b", 4.0)
    assert slot is other
    check(pool)


def test_unusable_release_frees_the_slot_and_returns_the_connection() -> None:
    pool = ConnectionPool()
    slot = take(pool, "a")
    assert pool.release(slot, 1.0, reusable=False) == (slot.conn,)
    assert pool.total == 0 and pool.idle_count == 0


def test_failed_connect_releases_the_permit() -> None:
    pool = ConnectionPool(max_connections=1)
    slot, _ = pool.acquire("a", 0.0)
    assert slot is not None and slot.conn is None
    assert pool.release(slot, 0.0) == ()  # no connection: counts as unusable
    assert pool.total == 0
    assert pool.acquire("a", 0.0)[0] is not None


def test_max_connections_makes_requests_wait_and_hands_over() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    assert pool.acquire("a", 0.0) == (None, ())
    woken: list[Slot | None] = []
    waiter = pool.enqueue("a", woken.append)
    check(pool)
    assert pool.release(slot, 1.0) == ()
    # The connection went straight to the waiter, never idle.
    assert woken == [slot] and waiter.slot is slot
    assert pool.idle_count == 0 and pool.total == 1 and pool.waiting == 0
    check(pool)


def test_waiter_for_another_origin_gets_a_permit_in_place_of_the_connection() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    woken: list[Slot | None] = []
    pool.enqueue("b", woken.append)
    assert pool.release(slot, 1.0) == (slot.conn,)  # closed to make room
    assert len(woken) == 1 and woken[0] is not None
    assert woken[0].key == "b" and woken[0].conn is None
    assert pool.total == 1
    check(pool)


def test_waiters_are_served_in_order() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    order: list[str] = []
    pool.enqueue("a", lambda s: order.append("first"))
    pool.enqueue("a", lambda s: order.append("second"))
    pool.release(slot, 1.0)
    assert order == ["first"]
    pool.release(slot, 2.0)
    assert order == ["first", "second"]


def test_unusable_release_grants_a_permit_to_a_waiter() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    woken: list[Slot | None] = []
    pool.enqueue("a", woken.append)
    assert pool.release(slot, 1.0, reusable=False) == (slot.conn,)
    assert woken[0] is not None and woken[0].conn is None
    assert pool.total == 1


def test_cancelled_waiter_is_removed() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    waiter = pool.enqueue("a", lambda s: pytest.fail("a cancelled waiter was woken"))
    assert pool.cancel(waiter, 1.0) == ()
    assert pool.waiting == 0
    pool.release(slot, 1.0)
    assert pool.idle_count == 1
    check(pool)


def test_cancelling_a_granted_waiter_returns_the_grant() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    waiter = pool.enqueue("a", lambda s: None)
    pool.release(slot, 1.0)
    assert waiter.slot is slot
    # The waiter timed out just as it was granted: the connection goes back, idle.
    assert pool.cancel(waiter, 2.0) == ()
    assert pool.idle_count == 1 and pool.total == 1
    check(pool)


def test_cancelling_a_granted_permit_frees_the_room() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    waiter = pool.enqueue("a", lambda s: None)
    pool.release(slot, 1.0, reusable=False)
    assert waiter.slot is not None and waiter.slot.conn is None
    pool.cancel(waiter, 2.0)
    assert pool.total == 0


def test_full_pool_evicts_an_idle_connection_of_another_origin() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    pool.release(slot, 1.0)
    new, to_close = pool.acquire("b", 2.0)
    assert new is not None and new.key == "b" and new.conn is None
    assert to_close == (slot.conn,)
    assert pool.total == 1 and pool.idle_count == 0


def test_max_keepalive_closes_the_oldest_idle() -> None:
    pool = ConnectionPool(max_keepalive_connections=1)
    first, second = take(pool, "a", conn="a1"), take(pool, "a", conn="a2")
    assert pool.release(first, 1.0) == ()
    assert pool.release(second, 2.0) == (first.conn,)
    assert pool.idle_count == 1 and pool.total == 1


def test_max_keepalive_zero_keeps_nothing() -> None:
    pool = ConnectionPool(max_keepalive_connections=0)
    slot = take(pool, "a")
    assert pool.release(slot, 1.0) == (slot.conn,)
    assert pool.total == 0


def test_keepalive_is_capped_by_max_connections() -> None:
    pool = ConnectionPool(max_connections=2, max_keepalive_connections=10)
    assert pool.max_keepalive_connections == 2


def test_keepalive_expiry() -> None:
    pool = ConnectionPool(keepalive_expiry=5.0)
    old, recent = take(pool, "a", conn="old"), take(pool, "b", conn="recent")
    pool.release(old, 0.0)
    pool.release(recent, 4.0)
    slot, to_close = pool.acquire("b", 6.0)
    assert to_close == (old.conn,)
    assert slot is recent
    assert pool.total == 1


def test_close_returns_idle_and_wakes_waiters() -> None:
    pool = ConnectionPool(max_connections=2)
    busy, idle = take(pool, "a", conn="busy"), take(pool, "a", conn="idle")
    pool.release(idle, 1.0)
    slot, _ = pool.acquire("a", 1.0)
    assert slot is idle
    assert pool.acquire("a", 1.0)[0] is None
    woken: list[Slot | None] = []
    pool.enqueue("a", woken.append)
    assert pool.close() == ()
    assert woken == [None]
    # Connections in use are dropped when released.
    assert pool.release(busy, 2.0) == (busy.conn,)
    assert pool.release(idle, 2.0) == (idle.conn,)
    assert pool.total == 0
    with pytest.raises(PoolClosed):
        pool.acquire("a", 3.0)


def test_multiplexed_connection_is_shared_up_to_its_capacity() -> None:
    pool = ConnectionPool(max_connections=1)
    slot = take(pool, "a")
    woken: list[Slot | None] = []
    pool.acquire("a", 0.0)  # full
    pool.enqueue("a", woken.append)
    pool.set_capacity(slot, 3)  # e.g. ALPN chose h2: the waiter joins at once
    assert woken == [slot] and slot.active == 2
    third, _ = pool.acquire("a", 0.0)
    assert third is slot and slot.active == 3
    assert pool.acquire("a", 0.0) == (None, ())  # at capacity, and the pool is full
    pool.release(slot, 1.0)
    assert slot.active == 2
    fourth, _ = pool.acquire("a", 1.0)
    assert fourth is slot
    for _ in range(3):
        pool.release(slot, 2.0)
    assert slot.active == 0 and pool.idle_count == 1
    again, _ = pool.acquire("a", 3.0)
    assert again is slot and pool.idle_count == 0
    check(pool)


def test_multiplexed_connection_released_unusable_stays_until_last_stream() -> None:
    pool = ConnectionPool()
    slot = take(pool, "a")
    pool.set_capacity(slot, 10)
    pool.acquire("a", 0.0)
    assert slot.active == 2
    assert pool.release(slot, 1.0, reusable=False) == ()  # e.g. GOAWAY: no new streams
    new, _ = pool.acquire("a", 1.0)
    assert new is not slot  # not shared any more
    assert pool.release(slot, 2.0) == (slot.conn,)  # the last stream closes it
    assert pool.total == 1


def test_many_cycles_stay_consistent() -> None:
    pool = ConnectionPool(max_connections=3, max_keepalive_connections=2, keepalive_expiry=1.0)
    held: list[Slot] = []
    now = 0.0
    for i in range(300):
        now += 0.1
        key = "abc"[i % 3]
        slot, to_close = pool.acquire(key, now)
        if slot is None:
            pool.release(held.pop(0), now, reusable=i % 5 != 0)
        else:
            if slot.conn is None:
                slot.conn = Conn(key)
            held.append(slot)
        check(pool)
    for slot in held:
        pool.release(slot, now)
    check(pool)
    assert pool.total == pool.idle_count
