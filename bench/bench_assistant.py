"""After-hours assistant understanding: accuracy on the labelled sets and time per message, with a raw baseline.

Run with `.venv/bin/python bench/bench_assistant.py` (or `make bench ARGS=assistant`); it needs no database.
For each set (dev: the engine was developed against it; held_out: written before the engine and never tuned
against; held_out_late: written after the tuning on dev, never tuned against) it prints intent accuracy overall and per intent, slot accuracy per slot and per intent, the confusion
pairs (expected → got), and `understand()` time per message p50/p99 in microseconds beside a baseline measured in
the same run over the same messages: `str.lower` and one regex scan for a handful of keywords, the least any
rule-based reader must do. Writes bench/results/assistant.json.
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

from assistant.evaluation import load, run, slot_misses  # noqa: E402
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
    args = parser.parse_args()
    results = {}
    for name in ("dev", "held_out", "held_out_late"):
        acc = accuracy(name)
        times = timing(name, args.rounds)
        report(name, acc, times, show_wrong=args.wrong)
        results[name] = {"accuracy": acc, "timing": times}
    out = ROOT / "bench" / "results" / "assistant.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
