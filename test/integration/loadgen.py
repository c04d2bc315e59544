"""loadgen — concurrent load for the integration tests (python3 standard library only).

Two shapes of load, each written once:

  Parallel(fn, items)  fn(item) for every item, each in its own thread, all started at
                       once (together=True: released by one barrier, so they overlap);
                       join() gives the results in order and re-raises an exception
                       from fn; .hung lists the items still running at the deadline.
                       parallel(fn, items) is start + join.
  LoadThread           a background client: step() again and again (paced, or as fast
                       as it goes) until stop(), with pause()/resume() (returns once the
                       loop is parked between two steps) and an errors list.
"""

import threading
import time


class Parallel:
    def __init__(self, fn, items, together=False, name="parallel", barrier_timeout=30):
        self.fn = fn
        self.items = list(items)
        self.name = name
        self.out = [None] * len(self.items)
        self.hung = []
        self._barrier = (threading.Barrier(len(self.items), timeout=barrier_timeout)
                         if together and self.items else None)
        self._threads = [threading.Thread(target=self._run, args=(i, x), daemon=True,
                                          name="%s-%d" % (name, i))
                         for i, x in enumerate(self.items)]

    def _run(self, i, item):
        try:
            if self._barrier is not None:
                self._barrier.wait()
            self.out[i] = (True, self.fn(item))
        except BaseException as e:  # re-raised in the caller's thread
            self.out[i] = (False, e)

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def running(self):
        """True while some item's fn has not returned."""
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout=None):
        """Wait (at most `timeout` seconds in all); the results in order (None for an item
        still running). An exception raised by fn is raised here."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self.hung = [x for x, t in zip(self.items, self._threads) if t.is_alive()]
        for r in self.out:
            if r is not None and not r[0]:
                raise r[1]
        return [r[1] if r is not None else None for r in self.out]


def parallel(fn, items, timeout=None, together=False):
    """fn(item) for every item, each in its own thread; the results in order (an
    exception in fn is re-raised here)."""
    return Parallel(fn, items, together=together).start().join(timeout)


class LoadThread(threading.Thread):
    """Calls step() in a loop until stop(). Subclasses implement step() (and may
    override finished(), called once in the thread when the loop ends). pace: seconds
    between two steps (0: none); a stop() cuts the pause short.

    An exception from step() is recorded through on_exception() (default: fail()) and
    the loop goes on: a load generator never dies silently."""

    def __init__(self, name="load", pace=0.0):
        super().__init__(daemon=True, name=name)
        self.cv = threading.Condition()
        self.pace = pace
        self.want_run = True
        self.stopping = False
        self.paused = False
        self.errors = []
        self.steps = 0

    # -- to implement --
    def step(self):
        raise NotImplementedError

    def finished(self):
        pass

    def fail(self, msg):
        with self.cv:
            self.errors.append(msg)

    def on_exception(self, e):
        self.fail("%s: exception %r" % (self.name, e))

    # -- control (another thread) --
    def pause(self, timeout=30):
        """Park the loop between two steps; raise AssertionError if it does not park in
        time."""
        with self.cv:
            self.want_run = False
            self.cv.notify_all()
            ok = self.cv.wait_for(lambda: self.paused or not self.is_alive(), timeout)
        if not ok:
            raise AssertionError("%s did not pause within %ds" % (self.name, timeout))

    def resume(self):
        with self.cv:
            self.want_run = True
            self.cv.notify_all()

    def stop(self, timeout=30):
        with self.cv:
            self.stopping = True
            self.cv.notify_all()
        self.join(timeout)

    # -- the loop --
    def run(self):
        try:
            while True:
                with self.cv:
                    while not self.want_run and not self.stopping:
                        self.paused = True
                        self.cv.notify_all()
                        self.cv.wait()
                    if self.stopping:
                        self.paused = True
                        self.cv.notify_all()
                        return
                    self.paused = False
                try:
                    self.step()
                except Exception as e:  # never die silently
                    self.on_exception(e)
                self.steps += 1
                if self.pace:
                    with self.cv:
                        # the load's pace, not a wait for a condition
                        self.cv.wait_for(lambda: self.stopping, self.pace)
        finally:
            self.finished()
