"""Celery queues per kind of work (crm/queues.py): every task has a route to a declared queue, every queue has a
worker in docker-compose and in the all-queues worker of `make run` and the test suite, and, with real workers
split as docker-compose splits them, a DMS import that is still running does not hold up scoring a shopper."""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import threading

import pytest
import requests
import yaml
from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from alerts.models import Alert
from crm import queues
from customers.matching import ArrivingContact, Keys, keys_lock
from dms import services as dms_services
from dms.models import DmsImport
from factories import InventoryVehicleFactory, add_contact, make_customer
from support import (ROOT, celery_client, four_looks, kill_group, subprocess_env, uvicorn_start, wait_until,
                     worker_start)
from tracking.models import Visitor

sys.path.append(str(ROOT / "tests" / "dms"))  # the DMS tests' export files (appended, as tests/dms/conftest.py does)
from dms_exports import SALE_1, SALE_2, SALE_3, SALES_HEADER, export  # noqa: E402


def _tasks() -> list[str]:
    from crm.celery import app

    app.loader.import_default_modules()  # every app's tasks.py, as a worker loads them at start
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def _routed_queue(name: str) -> str:
    from crm.celery import app

    return app.amqp.router.route({}, name)["queue"].name


# --------------------------------------------------------------------------- the table


def test_every_task_is_routed_by_the_table_to_a_declared_queue_of_its_kind():
    tasks = _tasks()
    assert len(tasks) >= 25  # every app's tasks were found, not just the ones imported so far
    unrouted = [name for name in tasks if name not in queues.TASK_ROUTES]
    assert unrouted == [], f"add these tasks to crm/queues.py TASKS: {unrouted}"
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert declared == set(queues.QUEUES)
    for name in tasks:
        assert _routed_queue(name) == queues.TASK_ROUTES[name]["queue"] in declared
    # What the issue asks of the split, in the router's own answer.
    assert _routed_queue("alerts.tasks.score_visitor_events") == queues.SCORING
    assert _routed_queue("customers.tasks.send_outbound_message") == queues.MESSAGES
    assert _routed_queue("assistant.tasks.answer_text") == queues.MESSAGES
    assert _routed_queue("rooftops.tasks.deliver_webhook") == queues.WEBHOOKS
    for bulk in ("dms.tasks.dms_import_run", "leads.tasks.inventory_feed_run", "marketing.tasks.campaign_send",
                 "alerts.tasks.scoring_fit"):
        assert _routed_queue(bulk) == queues.IMPORTS
    # A task nobody routed is not lost: it goes to the default queue, which a worker consumes.
    assert _routed_queue("crm.tasks.not_in_the_table") == settings.CELERY_TASK_DEFAULT_QUEUE == queues.DEFAULT


def test_the_table_names_only_real_tasks_each_once_and_no_task_names_its_own_queue():
    from crm.celery import app

    listed = [name for names in queues.TASKS.values() for name in names]
    assert len(listed) == len(set(listed)), "a task listed under two queues"
    assert sorted(listed) == _tasks()
    assert set(queues.TASKS) <= set(queues.QUEUES)
    # A queue= on @shared_task would route around the table (and the table's test).
    assert [name for name in _tasks() if getattr(app.tasks[name], "queue", None)] == []


def test_every_beat_sweep_is_a_routed_task_and_leaves_the_queue_to_the_table():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule
    for entry_name, entry in schedule.items():
        assert entry["task"] in queues.TASK_ROUTES, entry_name
        assert "queue" not in entry.get("options", {}), entry_name
    # The response-clock sweep is never behind a bulk job, nor the alerts sweep behind anything but scoring.
    assert _routed_queue("leads.tasks.sweep_lead_clocks") == queues.SWEEPS
    assert _routed_queue("alerts.tasks.sweep") == queues.SCORING


# --------------------------------------------------------------------------- the workers


def _compose_workers() -> dict[str, list[str]]:
    """docker-compose service -> the queues its worker consumes (asked of crm.queues, as the container does)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    workers = {}
    for service, spec in compose["services"].items():
        command = spec.get("command") or []
        line = " ".join(command) if isinstance(command, list) else command
        if " worker " not in f" {line} ":
            continue
        words = shlex.split(line)
        assert "-Q" in words, f"{service} names no queues: it would consume only the default queue"
        queue_list = words[words.index("-Q") + 1]
        assert "python -m crm.queues" in queue_list, f"{service} lists its queues by hand: {queue_list}"
        group = queue_list.split("python -m crm.queues", 1)[1].strip(" )$\"'")
        workers[service] = queues.consumed(group).split(",")
    return workers


def test_every_queue_has_exactly_one_worker_group_in_docker_compose_and_one_beat_runs():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    workers = _compose_workers()
    assert set(workers) == {f"worker-{group}" for group in queues.WORKERS}
    consumed = [queue for queue_list in workers.values() for queue in queue_list]
    assert sorted(consumed) == sorted(queues.QUEUES), "a queue nobody consumes, or consumed by two groups"
    # Scoring shares its processes with nothing long.
    assert set(workers["worker-realtime"]).isdisjoint({queues.IMPORTS, queues.SWEEPS, queues.MESSAGES})
    beats = [name for name, spec in compose["services"].items() if " beat " in f" {' '.join(spec.get('command') or [])} "]
    assert beats == ["beat"]


def test_make_run_starts_one_worker_on_every_queue():
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "scripts" / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    command = dev.worker_all_queues()
    assert set(command[command.index("-Q") + 1].split(",")) == set(queues.QUEUES)


def test_a_container_asks_for_its_queue_list_before_anything_is_configured():
    # As docker-compose's command line does: no Django settings, no database, no Redis in the environment.
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
    for group in ("all", *queues.WORKERS):
        printed = subprocess.run([sys.executable, "-m", "crm.queues", group], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=60)
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout.strip() == queues.consumed(group)
    assert queues.consumed("realtime") == "scoring,webhooks"
    refused = subprocess.run([sys.executable, "-m", "crm.queues", "everything"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "usage" in refused.stderr


def test_the_suites_worker_consumes_every_declared_queue(celery_worker):
    from crm.celery import app

    replies = {}
    for _ in range(20):
        replies = app.control.inspect(timeout=1).active_queues() or {}
        if replies:
            break
    ours = [names for worker, names in replies.items() if worker.startswith("test-")]
    assert ours, replies
    assert {queue["name"] for queue in ours[0]} == set(queues.QUEUES)


# --------------------------------------------------------------------------- a long import beside scoring


def _import_waiting_on_a_lock() -> bool:
    """Some backend of this database is waiting for an advisory lock: the import's chunk, at keys_lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                       "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.datname = current_database()")
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_dms_import_still_running_on_the_bulk_worker_does_not_hold_up_a_shoppers_alert(
        world, redis_server, tmp_path):
    # A shopper whose four looks at one car raise an alert (as in the fault tests).
    world.rooftop.tracking_write_key = "wk_queues_split"
    world.rooftop.save(update_fields=["tracking_write_key"])
    shopper = make_customer(world.rooftop, first_name="Quinn")
    add_contact(shopper, email="quinn@example.com")
    vehicle = InventoryVehicleFactory(rooftop=world.rooftop)
    Visitor.unscoped.create(rooftop=world.rooftop, anonymous_id="queues-shopper", customer=shopper,
                            identified_at=timezone.now())
    # The store's sales export, Maria's deals among them, mapped and queued for the worker.
    path = export(tmp_path, SALES_HEADER, SALE_1, SALE_2, SALE_3)
    with path.open("rb") as handle:
        draft = dms_services.dms_upload(rooftop=world.rooftop, kind="sales", upload=File(handle, name=path.name),
                                        file_name=path.name, user=None)
    assert dms_services.dms_import_start(dms_import=draft, columns=draft.columns, queue=False).started

    # What keeps the import running: another arrival of Maria (a web form, say) is being matched in a transaction
    # that has not committed. The import's chunk takes the same contact lock (customers.matching.keys_lock) and
    # waits for it, as it would in production; the test decides when that arrival commits.
    holding, release = threading.Event(), threading.Event()

    def maria_arriving() -> None:
        try:
            with transaction.atomic():
                keys_lock(world.rooftop.dealer_group_id, Keys.of(ArrivingContact(emails=("maria@example.com",))))
                holding.set()
                release.wait(120)
        finally:
            connection.close()

    arrival = threading.Thread(target=maria_arriving, daemon=True)
    arrival.start()
    assert holding.wait(10)
    connection.close()

    # Workers as docker-compose runs them, on this test's own Redis (the session's worker takes every queue of
    # the suite's Redis and must not run these tasks): bulk with one process, so the import fills it.
    env = {**subprocess_env(), "REDIS_URL": redis_server.url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    log = tmp_path / "processes.log"
    bulk = worker_start(env, log, queues=queues.consumed("bulk"), concurrency=1, name="bulk")
    realtime = worker_start(env, log, queues=queues.consumed("realtime"), concurrency=1, name="realtime")
    web = None
    try:
        web, base_url = uvicorn_start(env, log)
        # Queued as the page's start button queues it: by task name, routed by the table.
        celery_client(redis_server.url).send_task("dms.tasks.dms_import_run", args=[draft.pk])
        wait_until(lambda: DmsImport.unscoped.get(pk=draft.pk).status == DmsImport.Status.RUNNING
                   and _import_waiting_on_a_lock(), timeout=60, what="the import to run and wait on Maria's lock")

        # The shopper looks at the car four times; the collector stores the events and queues their scoring.
        response = requests.post(f"{base_url}/v1/batch", json={"batch": four_looks("queues-shopper", vehicle, 0)},
                                 auth=(world.rooftop.tracking_write_key, ""), timeout=10)
        assert response.status_code == 200, response.text
        alert = wait_until(lambda: Alert.unscoped.filter(rooftop=world.rooftop, visitor__anonymous_id="queues-shopper").first(),
                           timeout=60, what=f"the shopper's alert (log: {log})")

        # The alert was raised while the import was still running, waiting in the middle of its file.
        running = DmsImport.unscoped.get(pk=draft.pk)
        assert running.status == DmsImport.Status.RUNNING and running.finished_at is None
        assert _import_waiting_on_a_lock()
        assert running.started_at < alert.created_at

        # Maria's arrival commits; the import goes on and ends after the alert.
        release.set()
        arrival.join(10)
        done = wait_until(lambda: (row := DmsImport.unscoped.get(pk=draft.pk)).status == DmsImport.Status.DONE
                          and row, timeout=60, what="the import to finish")
        assert done.rows_done == 3 and done.failed == 0
        assert alert.created_at < done.finished_at
    finally:
        release.set()
        arrival.join(10)
        kill_group(bulk)
        kill_group(realtime)
        if web is not None:
            kill_group(web)
        connection.close()

