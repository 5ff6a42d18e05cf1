"""Keeping the dashboards current: today and yesterday every few minutes, the recent past hourly (cohorts
still move: a lead received three weeks ago can get its appointment today), and a nightly rebuild of the
last N days (appointments marked shown late, alerts attributed within their window, late corrections)."""

from celery.schedules import crontab

from kpis import conf

BEAT_SCHEDULE = {
    "kpis-refresh-today-and-yesterday": {
        "task": "kpis.tasks.rollups_refresh_all",
        "schedule": float(conf.RECENT_REFRESH_SECONDS),
        "kwargs": {"days": conf.RECENT_REFRESH_DAYS},
        "options": {"expires": conf.RECENT_REFRESH_SECONDS},
    },
    "kpis-refresh-recent-past": {
        "task": "kpis.tasks.rollups_refresh_all",
        "schedule": crontab(minute=17),
        "kwargs": {"days": conf.HOURLY_REFRESH_DAYS},
    },
    "kpis-rebuild-nightly": {
        "task": "kpis.tasks.rollups_rebuild_nightly",
        "schedule": crontab(hour=3, minute=40),
        "kwargs": {"days": conf.NIGHTLY_REBUILD_DAYS},
    },
}
