"""Job functions run by the arq worker; each takes ids only and opens its own unit of work."""

from __future__ import annotations

from typing import Any

from arq import cron, func

from workers.jobs.calculations import run_calculation, sweep_stale_runs
from workers.jobs.certificates import expire_due_certificates
from workers.jobs.feeds import deliver_webhook, fan_out_event, sweep_deliveries
from workers.jobs.generation import import_generation
from workers.jobs.imports import import_file, sweep_stale_imports
from workers.jobs.intervals import derive_intervals, derive_pending
from workers.jobs.maintenance import anchor_audit_chains, platform_housekeeping
from workers.jobs.outbox import relay_outbox
from workers.jobs.pact import deliver_pact_answer, sweep_pact_answers
from workers.jobs.production import import_batches, sweep_stale_batch_imports
from workers.jobs.provisional import compute_provisional
from workers.jobs.requests import remind_due_requests

FUNCTIONS: list[Any] = [
    func(platform_housekeeping, name="platform.housekeeping"),
    func(derive_intervals, name="intervals.derive", timeout=1800),
    func(import_file, name="ingest.import_file", timeout=1800),
    func(anchor_audit_chains, name="audit.anchor", timeout=1800),
    func(relay_outbox, name="outbox.relay", timeout=300),
    func(import_generation, name="developers.import_generation", timeout=1800),
    func(expire_due_certificates, name="certificates.expire", timeout=1800),
    func(import_batches, name="production.import_batches", timeout=1800),
    func(run_calculation, name="calculations.run", timeout=1800, max_tries=1),
    func(compute_provisional, name="calculations.provisional", timeout=600),
    func(fan_out_event, name="feeds.fan_out", timeout=300),
    func(remind_due_requests, name="requests.remind", timeout=600),
    # each failed attempt re-queues the job (arq Retry) for the next one of the retry schedule: about
    # 30 tries over 26 hours with the default schedule, so the tries arq counts are not the limit
    func(deliver_webhook, name="feeds.deliver", timeout=120, max_tries=1000),
    # the same for answers to PACT requests: exponential back-off for up to three days
    func(deliver_pact_answer, name="pact.answer", timeout=120, max_tries=1000),
]
CRON_JOBS: list[Any] = [
    cron(relay_outbox, name="outbox.relay.cron", second={0}, run_at_startup=True, unique=True),
    cron(derive_pending, name="intervals.derive_pending", minute=set(range(0, 60, 5))),
    cron(platform_housekeeping, name="platform.housekeeping.cron", minute={0, 30}, run_at_startup=True),
    # anchors bound how far back an owner-level rewrite can hide: at most this window
    cron(anchor_audit_chains, name="audit.anchor.cron", minute={10, 40}, timeout=1800),
    cron(sweep_stale_imports, name="ingest.sweep_stale_imports", minute=set(range(2, 60, 10))),
    # expiry is by day (UTC): shortly after midnight, and again at noon in case a run failed
    cron(expire_due_certificates, name="certificates.expire.cron", hour={0, 12}, minute={5}, timeout=1800),
    cron(sweep_stale_batch_imports, name="production.sweep_stale_imports", minute=set(range(4, 60, 10))),
    cron(sweep_stale_runs, name="calculations.sweep_stale_runs", minute=set(range(6, 60, 10))),
    cron(sweep_deliveries, name="feeds.sweep_deliveries", minute=set(range(8, 60, 10)), timeout=600),
    cron(sweep_pact_answers, name="pact.sweep_answers", minute=set(range(9, 60, 10)), timeout=600),
    # by day (UTC); twice, in case a run failed: a reminder of each kind is sent once whatever runs
    cron(remind_due_requests, name="requests.remind.cron", hour={6, 12}, minute={15}, timeout=600),
]
