"""MES webhook: POST every stored result as JSON to a configured URL, from the store's unsynced rows.

The sink reads rows with ``synced = 0`` from the results store, so a result reaches the
MES even when the station restarted before sending it. A row is marked synced only
after the MES replied with a 2xx status. Failed posts are retried with a back-off that doubles up
to ``max_backoff_s``.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request

from app.station.store import ResultStore

logger = logging.getLogger(__name__)

BATCH_ROWS = 50
INITIAL_BACKOFF_S = 0.5


class WebhookSink:
    """Deliver results to ``url`` in the background.

    Args:
        store: the results store to read unsynced rows from.
        url: the MES endpoint; each row is one POST with a JSON object body.
        station: station name sent in every body.
        timeout_s: HTTP timeout per request.
        max_backoff_s: maximum wait between retries, in seconds.
    """

    def __init__(self, store: ResultStore, url: str, station: str, timeout_s: float = 5.0,
                 max_backoff_s: float = 30.0) -> None:
        self.store = store
        self.url = url
        self.station = station
        self.timeout_s = timeout_s
        self.max_backoff_s = max_backoff_s
        self.delivered = 0
        self.failures = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start delivering, beginning with rows left unsynced by an earlier run."""
        self.store.add_listener(self._wake.set)
        self._thread = threading.Thread(target=self._run, name="mes-webhook", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the request in flight."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        backoff_s = INITIAL_BACKOFF_S
        while not self._stopping.is_set():
            rows = self.store.unsynced(BATCH_ROWS)
            if not rows:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            for row in rows:
                if self._stopping.is_set():
                    return
                if not self._post(row):
                    self._stopping.wait(backoff_s)
                    backoff_s = min(backoff_s * 2, self.max_backoff_s)
                    break
                backoff_s = INITIAL_BACKOFF_S
                self.store.mark_synced([row["id"]])
                self.delivered += 1

    def _post(self, row: dict[str, object]) -> bool:
        body = json.dumps({"station": self.station, **row}, default=str).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                ok = 200 <= response.status < 300
        except (urllib.error.URLError, OSError) as error:
            ok = False
            reason = str(error)
        else:
            reason = f"HTTP {response.status}"
        if not ok:
            self.failures += 1
            if self.failures == 1 or self.failures % 100 == 0:
                logger.warning("MES webhook %s failed for result %s: %s (failure %d); will retry",
                               self.url, row.get("job_id"), reason, self.failures)
        return ok
