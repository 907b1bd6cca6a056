"""Write a Label Studio JSON file of image tasks with boxes or polygons for the benchmark.

    python bench/shapes.py OUT.json --shape box|polygon [--tasks N] [--points P] [--seed S]

The two shapes get the same tasks: 3 annotations (by 3 of 6 annotators) and a prediction
per task, each with 1-3 regions near the same places, so that the box and polygon imports
time the same work but for the geometry. A polygon is a jittered ring of P points (20 by
default). The last line printed is a JSON summary (tasks, annotations, regions, bytes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys

ANNOTATORS = [f"annotator{i}@bench.example.com" for i in range(1, 7)]
LABELS = ("Circle", "Square", "Triangle")
BOXES = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Circle"/><Label value="Square"/>
<Label value="Triangle"/></RectangleLabels></View>"""
POLYGONS = BOXES.replace("RectangleLabels", "PolygonLabels")


def _region(rng: random.Random, shape: str, cx: float, cy: float, r: float, points: int) -> dict:
    label = LABELS[int(cx) % len(LABELS)]
    cx, cy = cx + rng.uniform(-1, 1), cy + rng.uniform(-1, 1)
    if shape == "box":
        value = {"x": cx - r, "y": cy - r, "width": 2 * r, "height": 2 * r, "rotation": 0}
        kind, key = "rectanglelabels", "rectanglelabels"
    else:
        ring = [
            [
                round(cx + r * rng.uniform(0.8, 1) * math.cos(2 * math.pi * k / points), 2),
                round(cy + r * rng.uniform(0.8, 1) * math.sin(2 * math.pi * k / points), 2),
            ]
            for k in range(points)
        ]
        value = {"points": ring, "closed": True}
        kind, key = "polygonlabels", "polygonlabels"
    return {
        "id": f"r{rng.getrandbits(40):x}",
        "from_name": "label",
        "to_name": "image",
        "type": kind,
        "original_width": 640,
        "original_height": 480,
        "value": {**value, key: [label]},
    }


def _result(rng: random.Random, shape: str, places: list, points: int) -> list[dict]:
    return [_region(rng, shape, cx, cy, r, points) for cx, cy, r in places]


def write_tasks(path: str, tasks: int, shape: str, points: int, seed: int = 0) -> dict:
    # One generator for the places, another for the jitter: both shapes get the same places.
    places_rng, rng = random.Random(seed), random.Random(seed + 1)
    counts = {"tasks": 0, "annotations": 0, "regions": 0}
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        for i in range(tasks):
            places = [
                (places_rng.uniform(15, 85), places_rng.uniform(15, 85), places_rng.uniform(4, 12))
                for _ in range(places_rng.randint(1, 3))
            ]
            annotations = [
                {"completed_by": email, "result": _result(rng, shape, places, points)}
                for email in rng.sample(ANNOTATORS, 3)
            ]
            prediction = _result(rng, shape, places, points)
            task = {
                "data": {"image": f"https://example.com/images/{i}.png"},
                "annotations": annotations,
                "predictions": [{"model_version": "bench", "score": 0.9, "result": prediction}],
            }
            out.write((",\n" if i else "") + json.dumps(task))
            counts["tasks"] += 1
            counts["annotations"] += len(annotations)
            counts["regions"] += 4 * len(places)
        out.write("]\n")
    counts["bytes"] = os.path.getsize(path)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the JSON file to write")
    parser.add_argument("--shape", choices=("box", "polygon"), required=True)
    parser.add_argument("--tasks", type=int, default=int(os.environ.get("BENCH_TASKS", "10000")))
    parser.add_argument("--points", type=int, default=20, help="points per polygon")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.points < 3:
        parser.error("--tasks must be at least 1 and --points at least 3")
    print(json.dumps(write_tasks(args.out, args.tasks, args.shape, args.points, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
