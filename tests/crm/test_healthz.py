import pytest
from celery import Celery
from django.conf import settings
from django.test import override_settings

from crm import health
from crm.env import redis_db_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_is_200_when_database_redis_and_a_worker_answer(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "celery_worker": "ok"}}


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_is_503_naming_redis_when_redis_is_down(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["celery_worker", "redis"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("ConnectionError")


def test_healthz_is_503_naming_the_worker_when_no_worker_listens(client, monkeypatch):
    # A broker database no worker consumes: the real Redis answers, no worker does.
    # set_as_current=False: a new Celery app otherwise becomes the current app, and every later .delay() in
    # this test session would go to this lonely broker.
    lonely = Celery("lonely", broker=redis_db_url(settings.REDIS_URL, settings.REDIS_DB_OFFSET + 7),
                    set_as_current=False)
    monkeypatch.setattr(health, "celery_app", lonely)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["celery_worker"]
    assert response.json()["checks"]["celery_worker"] == "no Celery worker answered within 1 s"
