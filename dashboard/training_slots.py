"""Server-wide training slots: at most `capacity` trainings run at once in this process, the rest
wait in line (first come, first served), and while anyone waits the running trainings are cut to a
fair share so that every visitor in line sees a result soon. A web-server concern, so it lives
beside the app, not in the core.

The dashboard serves every visitor from one process on a few cores. Each training runs one torch
thread, so one slot per core uses the whole machine and no more. A visitor's training takes a slot,
waits for one while being told its place in line and about when its result comes, and gives it
back however the run ends (done, stopped, error, or the visitor gone: Streamlit then raises in the
waiting or training thread, and `slot` still cleans up).

The fair share: a visitor who joins the line should see a result `serve_within` seconds later. The
share plans for `margin` seconds less, kept in hand for turns slower than the policy assumed (a
loaded machine, browsers drawing results on the same cores). The visitors ahead take turns,
`capacity` at a time, and each turn costs its training plus an overhead (the last check in the
slot, then the result's scores and drawing), so a training may run for
`(serve_within - margin) / turns - overhead` seconds (`fair_share`), counted from when it started.
The overhead is learned from the turns that ran, so the share fits the machine and its load. A
share under `MIN_SHARE` is not worth its overhead: a run that may keep its starting weights
(fine-tuning the bundled ones) then gets none, any other gets `MIN_SHARE`. A running training
checks its share through `Ticket.expired` after every step, so it is cut short as soon as a
visitor joins behind it; with nobody waiting only the time cap holds.

Settings, from the environment when the server starts:
- `LAB_MAX_TRAININGS`: trainings at once (default: one per usable core);
- `LAB_SERVE_WITHIN`: seconds from joining the line to a result that the fair share aims for
  (default 60; 0 turns the fair share off, leaving only the time cap);
- `LAB_SERVE_MARGIN`: seconds of that the share keeps in hand (default 15);
- `LAB_TRAINING_TIME_CAP`: seconds one training may run at most, keeping its best model (default 180);
- `LAB_MAX_WAITING`: visitors allowed in line before "busy, try again" (default 50).
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import math
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from denoiser.errors import DenoiserError

DEFAULT_TIME_CAP = 180.0
DEFAULT_MAX_WAITING = 50
DEFAULT_SERVE_WITHIN = 60.0
DEFAULT_MARGIN = 15.0
"""Planned for the whole 60 s, the last of ten visitors in Chromium on two loaded cores was served
late or just in time; 15 s in hand absorbs turns slower than the learned overhead
(docs/RELIABILITY.md, "Load", has the runs)."""
FIRST_OVERHEAD = 6.0
"""Seconds a turn is assumed to cost beyond its training until turns have run: the last check in
the slot, then the result's scores and drawing."""
RESULT_DRAWING = 3.0
"""Seconds a result takes after its slot (scores, figures, the browser drawing them): added to the
overhead measured in the slot."""
OVERHEAD_SMOOTHING = 0.5
"""How far each finished turn moves the overhead towards what it measured (exponential smoothing)."""
MIN_SHARE = 4.0
"""The shortest training worth its overhead: a few steps and one validation."""


def default_capacity() -> int:
    """One training per usable core: each runs one torch thread, so together they use the machine."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def fair_share(time_left: float, visitors: int, capacity: int, overhead: float, floor: float = MIN_SHARE) -> float:
    """Seconds of training each of `visitors` gets when they take turns `capacity` at a time and the
    last of them should see a result within `time_left`; a turn costs its training plus `overhead`.
    Under `MIN_SHARE`, `floor` instead: 0 for a run that may keep its starting weights."""
    turns = max(1, math.ceil(visitors / capacity))
    share = time_left / turns - overhead
    return share if share >= MIN_SHARE else floor


def give_back_freed_memory() -> None:
    """Hand the memory a finished training freed back to the operating system. glibc keeps freed
    blocks in per-thread arenas and every Streamlit run is a new thread, so without this the
    server's peak grows with the trainings it has run (docs/RELIABILITY.md, "Load")."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


@dataclass(eq=False)
class Ticket:
    """One visitor's training: its number in the order of arrival, and its clock once it runs."""

    number: int
    slots: TrainingSlots = field(repr=False)
    joined: float
    started: float | None = None
    min_share: float = MIN_SHARE
    """Its share when the fair one is under `MIN_SHARE`: 0 for a run that may keep its starting weights."""
    first_position: int = 0
    """Its place in line when it arrived (0: a slot was free at once)."""
    cut_to: float | None = None
    """The seconds it was allowed when `expired` said so: the time cap, or a fair share."""
    last_check: float | None = None
    """When `expired` was last asked (after the training's last step): the turn's overhead runs from here."""

    @property
    def waited(self) -> float:
        """Seconds spent in line."""
        return (self.slots.clock() if self.started is None else self.started) - self.joined

    @property
    def elapsed(self) -> float:
        """Seconds since the training got its slot (0 while waiting)."""
        return 0.0 if self.started is None else self.slots.clock() - self.started

    def allowed(self) -> float:
        """Seconds this training may run now: the time cap, or its fair share while others wait."""
        return self.slots.allowed(self)

    def expired(self) -> bool:
        """True once the training has run for its allowed time: pass this as `should_stop`."""
        if self.started is None:
            return False
        self.last_check = self.slots.clock()
        allowed = self.allowed()
        if self.elapsed < allowed:
            return False
        self.cut_to = allowed
        return True

    def skip_training(self) -> None:
        """Record a run left no time to train (cut to 0 s); the turn's overhead runs from now."""
        self.last_check, self.cut_to = self.slots.clock(), 0.0


@dataclass(frozen=True)
class Place:
    """What a waiting visitor is told: their number in line, the trainings running, about when
    their result comes and about how long their training will be."""

    position: int
    running: int
    capacity: int
    result_in: float
    training_seconds: float
    """The training it is expected to get when its turn comes: its fair share, or the time cap."""


class TrainingSlots:
    """A first-come, first-served queue in front of `capacity` slots, shared by all threads."""

    def __init__(self, capacity: int = 1, time_cap: float = DEFAULT_TIME_CAP,
                 max_waiting: int = DEFAULT_MAX_WAITING, serve_within: float = DEFAULT_SERVE_WITHIN,
                 overhead: float = FIRST_OVERHEAD, drawing: float = RESULT_DRAWING, margin: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        if capacity < 1 or time_cap <= 0 or max_waiting < 0 or serve_within < 0 or margin < 0:
            raise DenoiserError("Training slots need a capacity of at least 1, a positive time cap, "
                                "a non-negative queue length and non-negative serve-within and margin times.")
        self.capacity, self.time_cap, self.max_waiting = capacity, float(time_cap), max_waiting
        self.serve_within, self.overhead, self.drawing = float(serve_within), overhead, drawing
        self.margin = float(margin)
        self.clock = clock  # seconds on a monotonic clock; a test passes a fake one
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
                   number("LAB_MAX_WAITING", DEFAULT_MAX_WAITING, int),
                   number("LAB_SERVE_WITHIN", DEFAULT_SERVE_WITHIN, float),
                   margin=number("LAB_SERVE_MARGIN", DEFAULT_MARGIN, float))

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

    def allowed(self, ticket: Ticket) -> float:
        """Seconds `ticket`'s training may run, counted from its start (or from now, before it starts)."""
        with self._condition:
            if ticket in self._running:
                return self._share(ticket, ticket.started, len(self._running), self._waiting)
            behind = self._waiting[self._waiting.index(ticket) + 1:] if ticket in self._waiting else self._waiting
            return self._share(ticket, self.clock(), len(self._running) + 1, behind)

    def place(self, ticket: Ticket) -> Place:
        """Where a waiting ticket stands. Its result time is a forecast: the running trainings end
        at their share, then the visitors ahead take their turns, each at its share then."""
        with self._condition:
            now, index = self.clock(), self._waiting.index(ticket)
            free_at = [max(0.0, self._share(t, t.started, len(self._running), self._waiting) - t.elapsed)
                       + self.overhead for t in self._running]
            free_at += [0.0] * max(0, self.capacity - len(free_at))
            heapq.heapify(free_at)
            for ahead, visitor in enumerate(self._waiting[:index + 1]):
                start = heapq.heappop(free_at)
                busy = 1 + sum(free > start for free in free_at)  # this visitor and the slots still taken
                share = self._share(visitor, now + start, busy, self._waiting[ahead + 1:])
                heapq.heappush(free_at, start + share + self.overhead)
            return Place(index + 1, len(self._running), self.capacity, start + share + self.overhead, share)

    def _share(self, ticket: Ticket, start: float, running: int, behind: list[Ticket]) -> float:
        """The time cap, cut so that each visitor in `behind` (in line order, after `running` trainings
        that hold slots), and the ticket itself if it waited, sees a result `serve_within - margin`
        seconds after joining."""
        limits, target = [self.time_cap], self.serve_within - self.margin
        if self.serve_within:
            if ticket.first_position:
                limits.append(fair_share(ticket.joined + target - start, 1, 1, self.overhead, ticket.min_share))
            limits += [fair_share(visitor.joined + target - start, running + count, self.capacity,
                                  self.overhead, ticket.min_share) for count, visitor in enumerate(behind, 1)]
        return min(limits)

    @contextmanager
    def slot(self, on_wait: Callable[[Place], None] | None = None, poll: float = 0.5,
             min_share: float = MIN_SHARE) -> Iterator[Ticket]:
        """Hold a slot for the `with` block, waiting in line for it first.

        While waiting, `on_wait(place)` is called every `poll` seconds: a page shows the place in
        line there, and Streamlit stops an abandoned run inside that call. The ticket leaves the
        line or frees its slot however the block ends. `min_share` 0: the run may keep its starting
        weights, so a crowd may leave it no training at all."""
        ticket = self._join(min_share)
        try:
            while not self._start(ticket, poll):
                if on_wait:
                    on_wait(self.place(ticket))
            yield ticket
        finally:
            self._leave(ticket)
            give_back_freed_memory()

    def _join(self, min_share: float = MIN_SHARE) -> Ticket:
        with self._condition:
            if len(self._running) >= self.capacity and len(self._waiting) >= self.max_waiting:
                raise DenoiserError(f"The server is busy: {len(self._waiting)} trainings are waiting. "
                                    "Try again in a minute, or use the bundled weights.")
            ticket = Ticket(next(self._numbers), self, self.clock(), min_share=min_share)
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
            ticket.started = self.clock()
            self._condition.notify_all()  # the next in line may start too when slots remain
            return True

    def _leave(self, ticket: Ticket) -> None:
        with self._condition:
            if ticket in self._running and ticket.last_check is not None:  # a training's turn: learn its overhead
                measured = self.clock() - ticket.last_check + self.drawing
                self.overhead += OVERHEAD_SMOOTHING * (measured - self.overhead)
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
