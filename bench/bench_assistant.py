"""After-hours assistant understanding: accuracy on the labelled sets and time per message, with a raw baseline.

Run with `.venv/bin/python bench/bench_assistant.py` (or `make bench ARGS=assistant`); it needs no database.
For each set (dev: the engine was developed against it; held_out: written before the engine and never tuned
against; held_out_late: written after the tuning on dev, never tuned against; held_out_dec: written by someone who never
read the engine, blind at its first run, its misses since seen; held_out_dec2: written the same way, never tuned against; held_out_dec5: a third blind set, its misses read once for the opt-out and injection classes) it prints intent accuracy overall and per intent, slot accuracy per slot and per intent, the confusion
pairs (expected → got), and `understand()` time per message p50/p99 in microseconds beside a baseline measured in
the same run over the same messages: `str.lower` and one regex scan for a handful of keywords, the least any
rule-based reader must do. Writes bench/results/assistant.json.

It also prints, for dev, a k-fold cross-validation (`--folds`, 5 by default; assistant.evaluation.cross_validate):
each fold read by an engine whose learned layer was trained on the other folds, beside the rules alone and the
learned layer alone, with the lines the learned layer turned right or wrong; then the same by batch (each batch of
dev, written in its own voices, read by a learned layer trained on the others), per batch, for the learned layer as
served (naive Bayes with sentence vectors) beside naive Bayes alone; for the held-out sets, the intent
accuracy with the rules alone beside the engine as it runs; and the learned layer's own cost: training once,
and `Model.guess` per message.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import learned  # noqa: E402
from assistant.evaluation import batches, cross_validate, load, run, slot_misses, train_on  # noqa: E402
from assistant.understanding import INTENTS, understand  # noqa: E402

BASELINE = re.compile(r"\b(?:hours?|open|close|where|address|have|stock|price|how much|trade|financ\w*|credit|"
                      r"test drive|oil change|service|person|human|stop|manager)\b")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _share(good: int, total: int) -> str:
    return f"{good}/{total} = {100.0 * good / total:5.1f}%" if total else "-"


def accuracy(name: str) -> dict:
    lines = load(name)
    per_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_slot: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    slots_by_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusion: Counter[tuple[str, str]] = Counter()
    also = [0, 0]
    wrong = []
    for line in lines:
        result = run(line)
        per_intent[line.intent][1] += 1
        if result.intent == line.intent:
            per_intent[line.intent][0] += 1
        else:
            confusion[(line.intent, result.intent)] += 1
        misses = slot_misses(line, result)
        for key in line.slots:
            per_slot[key][1] += 1
            slots_by_intent[line.intent][1] += 1
            if key not in misses:
                per_slot[key][0] += 1
                slots_by_intent[line.intent][0] += 1
        if line.also is not None:
            also[1] += 1
            also[0] += tuple(line.also) == result.also
        if result.intent != line.intent or misses or (line.also is not None and tuple(line.also) != result.also):
            wrong.append({"text": line.text, "want": line.intent, "got": result.intent, "also": list(result.also),
                          "slot_misses": {k: list(v) for k, v in misses.items()}})
    good = sum(v[0] for v in per_intent.values())
    slot_good, slot_total = sum(v[0] for v in per_slot.values()), sum(v[1] for v in per_slot.values())
    return {
        "messages": len(lines), "intent_correct": good, "intent_accuracy": good / len(lines),
        "per_intent": {k: per_intent[k] for k in INTENTS if k in per_intent},
        "slot_correct": slot_good, "slots": slot_total, "slot_accuracy": slot_good / slot_total if slot_total else None,
        "per_slot": dict(sorted(per_slot.items())),
        "slots_per_intent": {k: slots_by_intent[k] for k in INTENTS if k in slots_by_intent},
        "also_correct": also, "confusion": [[a, b, n] for (a, b), n in confusion.most_common()], "wrong": wrong,
    }


def timing(name: str, rounds: int) -> dict:
    lines = load(name)
    for line in lines:  # warm: compiled patterns, the catalogue and word caches are built once per process
        understand(line.text, now=line.now, time_zone=line.time_zone)
    engine: list[float] = []
    baseline: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for line in lines:
            learned.forget_vectors()  # each message timed as a new one: its sentence vector is computed again
            started = clock()
            understand(line.text, now=line.now, time_zone=line.time_zone)
            engine.append((clock() - started) / 1000)
            started = clock()
            BASELINE.findall(line.text.lower())
            baseline.append((clock() - started) / 1000)
    result = {"calls": len(engine)}
    for label, values in (("engine", engine), ("baseline", baseline)):
        result[label] = {"p50_us": round(_pct(values, 0.5), 1), "p99_us": round(_pct(values, 0.99), 1)}
    result["ratio_p50"] = round(result["engine"]["p50_us"] / max(result["baseline"]["p50_us"], 0.1), 1)
    result["ratio_p99"] = round(result["engine"]["p99_us"] / max(result["baseline"]["p99_us"], 0.1), 1)
    return result


def cross_validation(k: int) -> dict:
    cv = cross_validate(load("dev"), k)
    print(f"\n--- dev, {cv.k}-fold cross-validation ({cv.messages} messages; the rules were written on all of them)")
    print(f"rules alone           {_share(cv.rules, cv.messages)}")
    print(f"learned layer alone   {_share(cv.learned, cv.learnable)} (lines it may answer: not opt-out or flagged)")
    print(f"rules + learned       {_share(cv.combined, cv.messages)} (turned right {cv.fixed}, turned wrong {cv.broken})")
    return vars(cv)


def cross_validation_by_batch() -> dict:
    lines = load("dev")
    print("\n--- dev by batch: each batch read by a learned layer trained on the others (the rules know every line)")
    print("batch  lines  rules  rules+learned (NB alone)  learned alone (NB alone)")
    result = {}
    totals = {"vectors": [0, 0, 0, 0, 0], "bayes": [0, 0, 0, 0, 0]}
    for name, training, testing in batches(lines):
        row = {}
        for kind in ("vectors", "bayes"):
            cv = cross_validate(lines, splits=[(training, testing)], vectors=kind == "vectors")
            row[kind] = vars(cv)
            for i, value in enumerate((cv.messages, cv.rules, cv.combined, cv.learned, cv.learnable)):
                totals[kind][i] += value
        v, b = row["vectors"], row["bayes"]
        print(f"{name:6} {v['messages']:5}  {v['rules']:5}  {v['combined']:5} ({b['combined']:3})"
              f"              {v['learned']:3}/{v['learnable']:<3} ({b['learned']:3}/{b['learnable']})")
        result[name] = row
    v, b = totals["vectors"], totals["bayes"]
    print(f"total  {v[0]:5}  {v[1]:5}  {v[2]:5} ({b[2]:3})              {v[3]:3}/{v[4]:<3} ({b[3]:3}/{b[4]})")
    result["total"] = totals
    return result


def rules_beside_engine(name: str) -> dict:
    lines = load(name)
    rules = sum(run(line, model=None).intent == line.intent for line in lines)
    engine = sum(run(line).intent == line.intent for line in lines)
    print(f"{name}: intent with the rules alone {_share(rules, len(lines))}, as served (with the learned layer)"
          f" {_share(engine, len(lines))}")
    return {"rules": rules, "engine": engine, "messages": len(lines)}


def learned_cost(rounds: int) -> dict:
    lines = load("dev")
    learned.forget_vectors()  # every line encoded anew, as on the first message of a process
    started = time.perf_counter()
    model = train_on(lines)
    train_ms = (time.perf_counter() - started) * 1000
    guesses = []
    for _ in range(rounds):
        for line in lines:
            learned.forget_vectors()
            began = time.perf_counter_ns()
            model.guess(line.text)
            guesses.append((time.perf_counter_ns() - began) / 1000)
    result = {"train_ms": round(train_ms, 1), "features": len(model.weights),
              "guess_p50_us": round(_pct(guesses, 0.5), 1), "guess_p99_us": round(_pct(guesses, 0.99), 1)}
    print(f"learned layer: trained on {len(lines)} lines in {result['train_ms']} ms ({result['features']} features);"
          f" guess p50 {result['guess_p50_us']} us, p99 {result['guess_p99_us']} us (a guess is made only where"
          f" the rules find no cue)")
    return result


def report(name: str, acc: dict, times: dict, *, show_wrong: bool) -> None:
    print(f"\n--- {name}: {acc['messages']} messages")
    print(f"intent accuracy  {_share(acc['intent_correct'], acc['messages'])}")
    print(f"slot accuracy    {_share(acc['slot_correct'], acc['slots'])}")
    print(f"also (further intents) exact  {_share(*acc['also_correct'])}")
    print("per intent             intent             slots")
    for intent, (good, total) in acc["per_intent"].items():
        slot_good, slot_total = acc["slots_per_intent"].get(intent, [0, 0])
        print(f"  {intent:20} {_share(good, total):18} {_share(slot_good, slot_total)}")
    print("per slot")
    for slot, (good, total) in acc["per_slot"].items():
        print(f"  {slot:20} {_share(good, total)}")
    print("confusion (expected -> got)")
    for want, got, count in acc["confusion"] or [["-", "-", 0]]:
        print(f"  {want} -> {got}: {count}" if count else "  none")
    engine, baseline = times["engine"], times["baseline"]
    print(f"time per message ({times['calls']} calls): understand p50 {engine['p50_us']} us, p99 {engine['p99_us']} us;"
          f" baseline (lower + regex scan) p50 {baseline['p50_us']} us, p99 {baseline['p99_us']} us;"
          f" ratio p50 {times['ratio_p50']}x, p99 {times['ratio_p99']}x")
    if show_wrong:
        for item in acc["wrong"]:
            print(f"  wrong: {item['text']!r}: want {item['want']} got {item['got']} also {item['also']}"
                  f" slots {item['slot_misses']}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20, help="timed passes over each set")
    parser.add_argument("--wrong", action="store_true", help="list every message with a wrong intent or slot")
    parser.add_argument("--folds", type=int, default=5, help="folds of the cross-validation over dev")
    args = parser.parse_args()
    learned.default_model()  # trained once per process, before the timed calls
    results = {}
    for name in ("dev", "held_out", "held_out_late", "held_out_dec", "held_out_dec2", "held_out_dec5"):
        acc = accuracy(name)
        times = timing(name, args.rounds)
        report(name, acc, times, show_wrong=args.wrong)
        results[name] = {"accuracy": acc, "timing": times}
    results["cross_validation"] = cross_validation(args.folds)
    results["cross_validation_by_batch"] = cross_validation_by_batch()
    print()
    results["rules_beside_engine"] = {name: rules_beside_engine(name) for name in ("held_out", "held_out_late", "held_out_dec", "held_out_dec2", "held_out_dec5")}
    results["learned_cost"] = learned_cost(max(1, args.rounds // 4))
    out = ROOT / "bench" / "results" / "assistant.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
