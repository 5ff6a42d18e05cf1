"""The labelled sets and how an understanding is scored against a line of them. Pure; used by the benchmark and tests.

A line is {"text", "intent", "slots", "now", "time_zone"} and optionally "also" (the further intents, in order).
Only the slots a line names are checked, each exactly against `Slots.flat()`.

`cross_validate` estimates accuracy on text the learned layer has not seen: the lines are split into k folds, and
each fold is read by the engine whose learned layer was trained on the other folds. The rules themselves were
written while reading every dev line, so on dev they are right by construction; cross-validation therefore
measures what the learned layer adds or breaks, and the first-sight figures of new batches (labelled/README.md)
remain the honest estimate for the engine as a whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assistant import learned
from assistant.understanding import SERVED, Understanding, understand

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


def run(line: Line, model: learned.Model | str | None = SERVED) -> Understanding:
    return understand(line.text, now=line.now, time_zone=line.time_zone, model=model)


def train_on(lines: list[Line]) -> learned.Model:
    """The learned layer trained on these lines (opt-outs and flagged injections are left to the rules)."""
    return learned.train((line.text, label) for line in lines
                         if (label := learned.label_of(line.intent, line.slots)) is not None)


def folds(lines: list[Line], k: int) -> list[tuple[list[Line], list[Line]]]:
    """k (training, testing) splits; line i is tested in fold i mod k, so the split is the same on every run and
    each fold mixes early and late batches."""
    return [([line for i, line in enumerate(lines) if i % k != fold], lines[fold::k]) for fold in range(k)]


@dataclass(frozen=True)
class CrossValidation:
    k: int
    messages: int
    rules: int  # intents right with the rules alone
    learned: int  # intents right with the learned layer alone (its best guess, on lines it may answer)
    learnable: int  # lines the learned layer may answer (not opt-out, not a flagged injection)
    combined: int  # intents right with the engine as it runs: rules, then the learned layer where they find no cue
    fixed: int  # lines the learned layer turned right
    broken: int  # lines the learned layer turned wrong


def cross_validate(lines: list[Line], k: int = 5) -> CrossValidation:
    """Intent accuracy of rules, learned layer and both together on lines the learned layer was not trained on."""
    rules = learned_right = learnable = combined = fixed = broken = 0
    for training, testing in folds(lines, k):
        model = train_on(training)
        for line in testing:
            alone = run(line, model=None).intent == line.intent
            both = run(line, model=model).intent == line.intent
            rules += alone
            combined += both
            fixed += both and not alone
            broken += alone and not both
            if learned.label_of(line.intent, line.slots) is not None:
                learnable += 1
                learned_right += model.guess(line.text).intent == line.intent
    return CrossValidation(k, len(lines), rules, learned_right, learnable, combined, fixed, broken)


def slot_misses(line: Line, result: Understanding) -> dict[str, tuple[Any, Any]]:
    """{slot: (expected, got)} for each expected slot that was not understood exactly."""
    got = result.slots.flat()
    return {key: (want, got.get(key)) for key, want in line.slots.items() if got.get(key) != want}
