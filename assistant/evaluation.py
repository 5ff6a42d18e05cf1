"""The labelled sets and how an understanding is scored against a line of them. Pure; used by the benchmark and tests.

A line is {"text", "intent", "slots", "now", "time_zone"} and optionally "also" (the further intents, in order).
Only the slots a line names are checked, each exactly against `Slots.flat()`.

`cross_validate` estimates accuracy on text the learned layer has not seen: the lines are split into k folds (or,
by `batches`, one fold per batch of dev written in its own voice, which predicts a new voice better than folds that
mix every voice), and each fold is read by the engine whose learned layer was trained on the other folds. The rules themselves were
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
# dev.jsonl's batches in the order they were written, each in new voices (labelled/README.md), with their sizes: a
# batch added to dev is added here too (a test checks that the sizes add up to the set).
DEV_BATCHES = (("first", 184), ("2", 61), ("3", 41), ("4", 40), ("5", 34), ("6", 34), ("7", 36), ("8", 32),
               ("A", 40), ("B", 40), ("C", 40), ("D", 50), ("E", 50), ("F", 50), ("G", 50), ("H", 40))


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


def train_on(lines: list[Line], *, vectors: bool = True) -> learned.Model:
    """The learned layer trained on these lines (opt-outs and flagged injections are left to the rules);
    `vectors=False`: naive Bayes alone, for comparison."""
    return learned.train(((line.text, label) for line in lines
                          if (label := learned.label_of(line.intent, line.slots)) is not None), vectors=vectors)


def folds(lines: list[Line], k: int) -> list[tuple[list[Line], list[Line]]]:
    """k (training, testing) splits; line i is tested in fold i mod k, so the split is the same on every run and
    each fold mixes early and late batches."""
    return [([line for i, line in enumerate(lines) if i % k != fold], lines[fold::k]) for fold in range(k)]


def batches(lines: list[Line], sizes: tuple[tuple[str, int], ...] = DEV_BATCHES) -> list[tuple[str, list[Line],
                                                                                               list[Line]]]:
    """(name, training, testing) per batch: each batch read by a learned layer trained on every other batch."""
    if sum(size for _, size in sizes) != len(lines):
        raise ValueError(f"batch sizes add up to {sum(size for _, size in sizes)}, the set has {len(lines)} lines")
    splits, start = [], 0
    for name, size in sizes:
        splits.append((name, lines[:start] + lines[start + size:], lines[start:start + size]))
        start += size
    return splits


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


def cross_validate(lines: list[Line], k: int = 5, *,
                   splits: list[tuple[list[Line], list[Line]]] | None = None, vectors: bool = True) -> CrossValidation:
    """Intent accuracy of rules, learned layer and both together on lines the learned layer was not trained on:
    over k folds of the lines, or over the (training, testing) `splits` given (a batch's, see `batches`)."""
    splits = folds(lines, k) if splits is None else splits
    rules = learned_right = learnable = combined = fixed = broken = 0
    for training, testing in splits:
        model = train_on(training, vectors=vectors)
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
    return CrossValidation(len(splits), sum(len(testing) for _, testing in splits), rules, learned_right, learnable,
                           combined, fixed, broken)


def slot_misses(line: Line, result: Understanding) -> dict[str, tuple[Any, Any]]:
    """{slot: (expected, got)} for each expected slot that was not understood exactly."""
    got = result.slots.flat()
    return {key: (want, got.get(key)) for key, want in line.slots.items() if got.get(key) != want}
