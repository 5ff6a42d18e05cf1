"""Each app may declare its periodic sweeps in `<app>/beat.py` as BEAT_SCHEDULE; they are merged here."""

import importlib
import importlib.util


def collect_beat_schedule(installed_apps: list[str]) -> dict:
    schedule: dict = {}
    for app in installed_apps:
        module_name = f"{app}.beat"
        if "." in app or importlib.util.find_spec(app) is None:
            continue
        if importlib.util.find_spec(module_name) is None:
            continue
        schedule.update(importlib.import_module(module_name).BEAT_SCHEDULE)
    return schedule
