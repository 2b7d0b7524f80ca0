"""The service's background jobs, started and stopped together: the results
publisher and the hashing-key rotator.

One place runs them: `flask poll publish --watch` (in production the
poll-publisher systemd unit, on the machine whose nginx serves the site) or the
development server (`make run`). The service's workers only answer requests.

- **Publisher** (publish/publisher.py): writes results.json and the other
  published files whenever a ballot arrives or a poll opens, closes or reveals
  its results. A lease in the database lets only one publisher write at a time.
- **Key maintenance** (store/keys.py): every KEY_MAINTENANCE_INTERVAL seconds
  makes the day's hashing key in the marks store, destroys keys and duplicate
  marks past 48 hours (so keys die on time even when nobody votes) and empties
  the SQLite votes database's write-ahead log. `flask poll rotate-keys` does one
  pass by hand.
"""

from __future__ import annotations

from flask import Flask

from .publish.publisher import Publisher
from .store.engine import get_engine_for
from .store.keys import Maintenance

# How long stop() waits for a job to finish its current pass.
STOP_TIMEOUT_SECONDS = 30.0


class BackgroundJobs:
    """The publisher and the key rotator for one app, as one thing to start and stop.

    with BackgroundJobs(app):
        ...  # serve, or wait for Ctrl-C
    """

    def __init__(self, app: Flask):
        self.publisher = Publisher(app)
        self.rotator = Maintenance(
            app.extensions["marks"],
            get_engine_for(app),
            float(app.config["KEY_MAINTENANCE_INTERVAL"]),
        )

    @property
    def threads(self):
        return (self.publisher, self.rotator)

    def start(self) -> BackgroundJobs:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Ask both to stop, then wait for each to finish the pass it is in."""
        for thread in self.threads:
            thread.stop()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(STOP_TIMEOUT_SECONDS)

    def running(self) -> bool:
        """True while both jobs run (each keeps going after a failed pass)."""
        return all(thread.is_alive() for thread in self.threads)

    def __enter__(self) -> BackgroundJobs:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
