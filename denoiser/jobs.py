"""Server-wide training slots: at most `capacity` trainings run at once in this process, the rest
wait in line (first come, first served), and each training stops at a time cap.

The dashboard serves every visitor from one process on a few cores; ten trainings at once would
each crawl and together exhaust memory. So a visitor's training takes a slot, waits for one while
being told its place in line, and gives it back however the run ends (done, stopped, error, or the
visitor gone: Streamlit then raises in the waiting or training thread, and `slot` still cleans up).

Settings, from the environment when the server starts:
- `LAB_MAX_TRAININGS`: trainings at once (default: one per two cores, at least 1);
- `LAB_TRAINING_TIME_CAP`: seconds one training may run before it stops and keeps its best model
  (default 180);
- `LAB_MAX_WAITING`: visitors allowed in line before "busy, try again" (default 50).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from .errors import DenoiserError

DEFAULT_TIME_CAP = 180.0
DEFAULT_MAX_WAITING = 50


def default_capacity() -> int:
    """One training per two usable cores, at least one: a core stays free for the server and pages."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


@dataclass(eq=False)
class Ticket:
    """One visitor's training: its number in the order of arrival, and its clock once it runs."""

    number: int
    time_cap: float
    joined: float = field(default_factory=time.monotonic)
    started: float | None = None
    first_position: int = 0
    """Its place in line when it arrived (0: a slot was free at once)."""

    @property
    def waited(self) -> float:
        """Seconds spent in line."""
        return (self.started or time.monotonic()) - self.joined

    @property
    def elapsed(self) -> float:
        """Seconds since the training got its slot (0 while waiting)."""
        return 0.0 if self.started is None else time.monotonic() - self.started

    def expired(self) -> bool:
        """True once the training has run for its time cap: pass this as `should_stop`."""
        return self.started is not None and self.elapsed >= self.time_cap


class TrainingSlots:
    """A first-come, first-served queue in front of `capacity` slots, shared by all threads."""

    def __init__(self, capacity: int = 1, time_cap: float = DEFAULT_TIME_CAP,
                 max_waiting: int = DEFAULT_MAX_WAITING):
        if capacity < 1 or time_cap <= 0 or max_waiting < 0:
            raise DenoiserError("Training slots need a capacity of at least 1, a positive time cap "
                                "and a non-negative queue length.")
        self.capacity, self.time_cap, self.max_waiting = capacity, float(time_cap), max_waiting
        self._condition = threading.Condition()
        self._running: list[Ticket] = []
        self._waiting: list[Ticket] = []
        self._numbers = itertools.count(1)

    @classmethod
    def from_env(cls) -> TrainingSlots:
        def number(name: str, default, kind):
            text = os.environ.get(name, "").strip()
            try:
                return kind(text) if text else default
            except ValueError:
                raise DenoiserError(f"{name} must be a number, not '{text}'.") from None
        return cls(number("LAB_MAX_TRAININGS", default_capacity(), int),
                   number("LAB_TRAINING_TIME_CAP", DEFAULT_TIME_CAP, float),
                   number("LAB_MAX_WAITING", DEFAULT_MAX_WAITING, int))

    @property
    def running(self) -> int:
        with self._condition:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._condition:
            return len(self._waiting)

    def position(self, ticket: Ticket) -> int:
        """0 while the ticket holds a slot, else its place in line (1: next to start)."""
        with self._condition:
            if ticket in self._waiting:
                return self._waiting.index(ticket) + 1
            if ticket in self._running:
                return 0
        raise ValueError(f"ticket {ticket.number} is neither running nor waiting")

    @contextmanager
    def slot(self, on_wait: Callable[[int], None] | None = None, poll: float = 0.5) -> Iterator[Ticket]:
        """Hold a slot for the `with` block, waiting in line for it first.

        While waiting, `on_wait(position)` is called every `poll` seconds: a page shows the place in
        line there, and Streamlit stops an abandoned run inside that call. The ticket leaves the
        line or frees its slot however the block ends."""
        ticket = self._join()
        try:
            while not self._start(ticket, poll):
                if on_wait:
                    on_wait(self.position(ticket))
            yield ticket
        finally:
            self._leave(ticket)

    def _join(self) -> Ticket:
        with self._condition:
            if len(self._running) >= self.capacity and len(self._waiting) >= self.max_waiting:
                raise DenoiserError(f"The server is busy: {len(self._waiting)} trainings are waiting. "
                                    "Try again in a minute, or use the bundled weights.")
            ticket = Ticket(next(self._numbers), self.time_cap)
            self._waiting.append(ticket)
            ticket.first_position = 0 if self._may_start(ticket) else self._waiting.index(ticket) + 1
            return ticket

    def _may_start(self, ticket: Ticket) -> bool:
        return self._waiting[0] is ticket and len(self._running) < self.capacity

    def _start(self, ticket: Ticket, timeout: float) -> bool:
        with self._condition:
            if not self._condition.wait_for(lambda: self._may_start(ticket), timeout):
                return False
            self._waiting.remove(ticket)
            self._running.append(ticket)
            ticket.started = time.monotonic()
            self._condition.notify_all()  # the next in line may start too when slots remain
            return True

    def _leave(self, ticket: Ticket) -> None:
        with self._condition:
            for line in (self._waiting, self._running):
                if ticket in line:
                    line.remove(ticket)
            self._condition.notify_all()


_slots: TrainingSlots | None = None
_slots_lock = threading.Lock()


def training_slots() -> TrainingSlots:
    """The process-wide slots, made from the environment on first use."""
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = TrainingSlots.from_env()
        return _slots
