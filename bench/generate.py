"""Write a Label Studio JSON file of text-classification tasks for the benchmark.

    python bench/generate.py OUT.json [--tasks N] [--seed S]

Each task has 3 annotations by different annotators out of 6 and one prediction. The file
is written one task at a time, so memory does not grow with N. The last line printed is a
JSON summary (tasks, annotations, skipped, predictions, bytes) for bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from reviewapp.demo.sample_data import text_classification_tasks

ANNOTATORS = [f"annotator{i}@bench.example.com" for i in range(1, 7)]


def write_tasks(path: str, tasks: int, seed: int = 0) -> dict[str, int]:
    """Stream `tasks` tasks into path as one JSON list; return what was written."""
    counts = {"tasks": 0, "annotations": 0, "skipped": 0, "predictions": 0}
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        for task in text_classification_tasks(
            tasks, ANNOTATORS, seed=seed, annotations_per_task=3, ground_truth_rate=0.05
        ):
            if counts["tasks"]:
                out.write(",\n")
            out.write(json.dumps(task, ensure_ascii=False))
            counts["tasks"] += 1
            counts["annotations"] += len(task["annotations"])
            counts["skipped"] += sum(a["was_cancelled"] for a in task["annotations"])
            counts["predictions"] += len(task["predictions"])
        out.write("]\n")
    counts["bytes"] = os.path.getsize(path)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the JSON file to write")
    parser.add_argument(
        "--tasks",
        type=int,
        default=int(os.environ.get("BENCH_TASKS", "10000")),
        help="number of tasks (default: $BENCH_TASKS or 10000)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.tasks < 1:
        parser.error("--tasks must be at least 1")
    counts = write_tasks(args.out, args.tasks, args.seed)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
