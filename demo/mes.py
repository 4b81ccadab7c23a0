"""The demo's live MES: posts each batch of the production schedule to ``POST /production/v1/batches``
the moment it closes, as a plant's MES would (OAuth2 client credentials, bound to the installation).

Run by ``cbamx demo`` as a child process (``python -m demo.mes``); the client's secret comes in the
environment. The batches up to the demo's start were recorded at start-up (``demo.production``); a
batch posted twice is answered 200 and stored once, so a restart never duplicates one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from datetime import UTC, datetime, timedelta

import httpx

from connectors.simulator.schedule import LINES, ProductionSchedule, ScheduledBatch
from demo.production import batch_row

POLL_S = 2.0


def body_of(batch: ScheduledBatch, seed: int) -> dict[str, object]:
    """The JSON the endpoint takes, from the same row the start-up seeding records."""
    row = batch_row(batch, seed)
    return {
        "batch_number": row.batch_number,
        "product": row.product,
        "line": row.line,
        "alloy": row.alloy,
        "started_at": row.started_at.isoformat(),
        "ended_at": row.ended_at.isoformat(),
        "net_mass_t": row.net_mass_t,
        "scrap_t": row.scrap_t,
        "order_ref": row.order_ref,
        "precursors": [
            {
                "mass_t": p.mass_t,
                "cn_code": p.cn_code,
                "description": p.description,
                "supplier_installation": p.supplier_installation,
                "supplier_installation_id": p.supplier_installation_id,
                "embedded_tco2e_per_t": p.embedded_tco2e_per_t,
                "emissions_source": p.emissions_source,
            }
            for p in row.precursors
        ],
    }


def closed_between(schedule: ProductionSchedule, after: datetime, until: datetime) -> list[ScheduledBatch]:
    """Batches ending in (after, until], by end."""
    found = [
        b
        for line in LINES
        for b in schedule.batches_between(line, after - timedelta(days=2), until)
        if after < b.end <= until
    ]
    return sorted(found, key=lambda b: b.end)


class Mes:
    def __init__(self, server: str, client_id: str, secret: str, seed: int) -> None:
        self.http = httpx.Client(base_url=server, timeout=30)
        self.client_id, self.secret = client_id, secret
        self.schedule = ProductionSchedule(seed)
        self.seed = seed
        self._token: str | None = None
        self._expires = 0.0

    def token(self) -> str:
        if self._token is None or time.monotonic() > self._expires:
            response = self.http.post(
                "/auth/token", data={"grant_type": "client_credentials"}, auth=(self.client_id, self.secret)
            )
            response.raise_for_status()
            answer = response.json()
            self._token = str(answer["access_token"])
            self._expires = time.monotonic() + float(answer.get("expires_in") or 600) - 60
        return self._token

    def post(self, batch: ScheduledBatch) -> None:
        response = self.http.post(
            "/production/v1/batches",
            json=body_of(batch, self.seed),
            headers={"Authorization": f"Bearer {self.token()}"},
        )
        if response.status_code == 401:
            self._token = None
        response.raise_for_status()
        print(
            f"{datetime.now(UTC).isoformat(timespec='seconds')} posted batch {batch.number} "
            f"(ended {batch.end.isoformat()}): {response.status_code}",
            flush=True,
        )

    def run(self, since: datetime) -> None:
        last = since
        while True:
            now = datetime.now(UTC)
            for batch in closed_between(self.schedule, last, now):
                try:
                    self.post(batch)
                except httpx.HTTPError as exc:
                    print(f"posting batch {batch.number} failed, trying again: {exc}", flush=True)
                    break
                last = batch.end
            else:
                last = now
            time.sleep(POLL_S)


def main() -> None:
    parser = argparse.ArgumentParser(description="The demo's live MES: posts batches as they close.")
    parser.add_argument("--server", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--since", required=True, help="post batches ending after this time (ISO 8601)")
    args = parser.parse_args()
    mes = Mes(args.server, args.client_id, os.environ["CBAMX_MES_CLIENT_SECRET"], args.seed)
    with contextlib.suppress(KeyboardInterrupt):
        mes.run(datetime.fromisoformat(args.since))


if __name__ == "__main__":
    main()
