"""Dashboard settings read from the environment (documented in the README's KPI section)."""

from crm.env import env_int

# An alert "led to" an appointment, lead or sale of the same customer at the same rooftop within this many days.
ALERT_ATTRIBUTION_DAYS = env_int("KPI_ALERT_ATTRIBUTION_DAYS", 14)
# Celery beat: every few minutes today and yesterday; hourly the recent past, where cohorts still move
# (a lead received 3 weeks ago can get its appointment today); nightly a full year.
RECENT_REFRESH_DAYS = env_int("KPI_RECENT_REFRESH_DAYS", 2)
RECENT_REFRESH_SECONDS = env_int("KPI_RECENT_REFRESH_SECONDS", 300)
HOURLY_REFRESH_DAYS = env_int("KPI_HOURLY_REFRESH_DAYS", 45)
NIGHTLY_REBUILD_DAYS = env_int("KPI_NIGHTLY_REBUILD_DAYS", 400)
# Longest date range a manager may ask for; longer ranges are refused with a reason, not slowed down.
MAX_RANGE_DAYS = env_int("KPI_MAX_RANGE_DAYS", 731)
DRILLDOWN_PAGE_SIZE = env_int("KPI_DRILLDOWN_PAGE_SIZE", 50)
