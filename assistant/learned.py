"""A small statistical reader of intent beside the rules: multinomial naive Bayes over words and letter groups.

Pure Python, deterministic, no dependency: it is trained from labelled lines (by default the dev set, once per
process on first use, in about 0.3 s) and scores a message in about 0.2 ms. The rules stay first and decisive
where they are precise (opt-out, injection, a person asked for, a complaint or a negotiation); this layer answers
only where the rules found no cue, or only a bare vehicle (`understanding.understand` says when), because
phrasings the rules never met ("can i tes drive the wrangler", "hasta que horas atienden") still share words and
word pieces with labelled lines.

Features, read on the rules' normal form (assistant.text: case, accents, slang, near-miss spellings):
- words and pairs of neighbouring words, with vehicle names, years and amounts folded to one token each
  ("<model>", "<year>", "<amount>"), so a line about a Telluride teaches about every model;
- letter groups of 3 to 5 inside each word, so "squealin", "financiar" and "tradein" meet their relatives.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from assistant import vehicles
from assistant.text import normalise

# Intents this layer may answer. Opt-out and the injection flag belong to the rules alone: a guess there costs a
# TCPA claim or a data leak. A person asked for is learned as its reason, so a guess carries one.
NOT_LEARNED = frozenset({"opt_out"})
ALPHA = 0.1  # additive smoothing; small because the vocabulary of letter groups is large beside the data
_WORD = re.compile(r"[a-z0-9$][a-z0-9'$]*")
_AMOUNT = re.compile(r"^\$?\d[\d,.]*k?$")
_YEAR = re.compile(r"^(?:19[89]\d|20[0-3]\d)$")


@functools.lru_cache(maxsize=1)
def _vehicle_words() -> frozenset[str]:
    words = {vehicles.compact(model) for _, model in vehicles.DEFAULT_MODELS}
    words |= {w for _, model in vehicles.DEFAULT_MODELS for w in re.findall(r"[a-z0-9]+", model.lower()) if len(w) > 2}
    words |= set(vehicles.MAKE_ALIASES) | set(vehicles.MODEL_ALIASES)
    return frozenset(w for w in words if not w.isdigit() and w not in {"one", "fit", "soul", "edge", "crown",
                                                                       "venue", "leaf", "golf", "atlas", "model"})


def features(text: str) -> Counter[str]:
    """The bag of features of one message."""
    names = _vehicle_words()
    words = []
    for word in _WORD.findall(normalise(text)):
        word = word.strip("'")
        if _YEAR.match(word):
            word = "<year>"
        elif _AMOUNT.match(word):
            word = "<amount>"
        elif word in names:
            word = "<model>"
        words.append(word)
    bag: Counter[str] = Counter()
    padded = ["<s>"] + words + ["</s>"]
    for word in words:
        bag["w:" + word] += 1
        if not word.startswith("<"):
            inside = f" {word} "
            for n in (3, 4, 5):
                for i in range(len(inside) - n + 1):
                    bag["c:" + inside[i:i + n]] += 1
    for first, second in zip(padded, padded[1:]):
        bag[f"b:{first} {second}"] += 1
    return bag


@dataclass(frozen=True)
class Guess:
    label: str  # an intent, or "human:<reason>"
    probability: float  # the posterior of the best label, softened (see `Model.guess`)

    @property
    def intent(self) -> str:
        return self.label.split(":", 1)[0]

    @property
    def reason(self) -> str | None:
        return self.label.split(":", 1)[1] if ":" in self.label else None


@dataclass(frozen=True)
class Model:
    labels: tuple[str, ...]
    prior: tuple[float, ...]  # log P(label)
    weights: dict[str, tuple[float, ...]]  # feature → log P(feature | label) per label

    def guess(self, text: str) -> Guess:
        """The most likely label. Naive Bayes is overconfident (letter groups of one word are not independent), so
        the log-likelihoods are averaged over the features before the softmax: the figure ranks guesses and is
        compared with a threshold, not read as a calibrated probability."""
        bag = features(text)
        size = max(1, sum(bag.values()))
        scores = [0.0] * len(self.labels)
        for feature, count in bag.items():
            row = self.weights.get(feature)
            if row is None:
                continue  # a feature no line had says nothing about any label
            for i, value in enumerate(row):
                scores[i] += count * value
        scores = [self.prior[i] / size + s / size for i, s in enumerate(scores)]
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        top = scores[best]
        total = sum(math.exp(8.0 * (s - top)) for s in scores)
        return Guess(self.labels[best], 1.0 / total)


def label_of(intent: str, slots: dict) -> str | None:
    """The label a labelled line teaches, or None when it is left to the rules alone."""
    if intent in NOT_LEARNED or slots.get("suspicious"):
        return None
    if intent == "human":
        return f"human:{slots.get('reason', 'asked_for_person')}"
    return intent


def train(examples: Iterable[tuple[str, str]]) -> Model:
    """A model from (text, label) pairs; the same pairs always give the same model."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    documents: Counter[str] = Counter()
    for text, label in examples:
        documents[label] += 1
        counts[label].update(features(text))
    labels = tuple(sorted(documents))
    vocabulary = sorted(set().union(*counts.values())) if counts else []
    totals = {label: sum(counts[label].values()) + ALPHA * len(vocabulary) for label in labels}
    weights = {feature: tuple(math.log((counts[label][feature] + ALPHA) / totals[label]) for label in labels)
               for feature in vocabulary}
    n = sum(documents.values())
    prior = tuple(math.log(documents[label] / n) for label in labels)
    return Model(labels, prior, weights)


@functools.lru_cache(maxsize=1)
def default_model() -> Model:
    """The model trained on the whole dev set (built once per process, on first use)."""
    from assistant.evaluation import load  # the labelled sets live beside the evaluation code

    return train((line.text, label) for line in load("dev")
                 if (label := label_of(line.intent, line.slots)) is not None)
