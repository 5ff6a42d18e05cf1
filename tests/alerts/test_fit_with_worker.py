"""A fit on a real Celery worker: the click queues it after commit, the page polls the progress fragment until
the worker has stored the result, and the fragment then shows the comparison and stops polling."""

import time

import pytest

from alerts.models import ScoringFit, ScoringSettings
from sales_history import store_history

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_fits_and_the_polled_fragment_ends_with_the_fitted_weights(client, world, celery_worker):
    store_history(world)
    client.force_login(world.manager)
    client.post("/settings/scoring/", {"rooftop": world.rooftop.id, "action": "fit"})
    fit = ScoringFit.objects.for_rooftops([world.rooftop.id]).get()
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        html = client.get(f"/settings/scoring/fit/{fit.id}/").content.decode()
        seen.append(html)
        if 'hx-trigger="every 2s"' not in html:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the fit did not finish on the worker within 60 s")
    assert all("<progress" in polled for polled in seen[:-1])
    assert "Fitted. Compare the two rows below" in html and "Use the fitted weights" in html
    fit.refresh_from_db()
    assert fit.status == "done" and fit.done == fit.total == 120
    assert ScoringSettings.unscoped.get(rooftop=world.rooftop).fit_result == fit.result
