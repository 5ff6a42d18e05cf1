from datetime import timedelta

# Several times a day: one missed run (worker down over a month end) never leaves a month without its partition,
# and the default partition catches rows meanwhile.
BEAT_SCHEDULE = {
    "tracking-partitions-maintain": {
        "task": "tracking.tasks.partitions_maintain",
        "schedule": timedelta(hours=6),
    },
}
