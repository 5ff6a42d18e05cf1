"""The labelled sets and how an understanding is scored against a line of them. Pure; used by the benchmark and tests.

A line is {"text", "intent", "slots", "now", "time_zone"} and optionally "also" (the further intents, in order).
Only the slots a line names are checked, each exactly against `Slots.flat()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant.understanding import Understanding, understand

LABELLED = Path(__file__).resolve().parent / "labelled"


@dataclass(frozen=True)
class Line:
    text: str
    intent: str
    slots: dict[str, Any]
    now: datetime
    time_zone: str
    also: tuple[str, ...] | None = None


def load(name: str) -> list[Line]:
    """Lines of assistant/labelled/<name>.jsonl."""
    lines = []
    for raw in (LABELLED / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        if raw.strip():
            data = json.loads(raw)
            lines.append(Line(data["text"], data["intent"], data.get("slots", {}),
                              datetime.fromisoformat(data["now"]), data["time_zone"],
                              tuple(data["also"]) if "also" in data else None))
    return lines


def run(line: Line) -> Understanding:
    return understand(line.text, now=line.now, time_zone=line.time_zone)


def slot_misses(line: Line, result: Understanding) -> dict[str, tuple[Any, Any]]:
    """{slot: (expected, got)} for each expected slot that was not understood exactly."""
    got = result.slots.flat()
    return {key: (want, got.get(key)) for key, want in line.slots.items() if got.get(key) != want}
