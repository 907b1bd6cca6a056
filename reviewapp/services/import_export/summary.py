"""What an import reports: the summary of what was stored, and the one error it raises."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

UNKNOWN_ANNOTATOR_NAME = "unknown annotator (import)"
MAX_PROBLEMS = 20  # a refused import lists this many problems at most


class ImportFailed(ValueError):
    """The file cannot be imported; nothing was stored. The message names task and problem."""


@dataclass
class ImportSummary:
    task_count: int = 0
    annotation_count: int = 0
    skipped_annotation_count: int = 0
    prediction_count: int = 0
    new_annotators: list[str] = field(default_factory=list)
    ignored_fields: Counter = field(default_factory=Counter)
    predictions_without_result: int = 0
    extra_ground_truth_tasks: int = 0
    unknown_annotator_annotations: int = 0
    legacy_completions: int = 0
    cloud_images: int = 0
    # Id-only placeholder accounts whose work moved to the account an email named.
    merged_accounts: list[str] = field(default_factory=list)
    # What validation accepted but counted (labeling.results.validate_result's notes).
    notes: Counter = field(default_factory=Counter)

    def lines(self) -> list[str]:
        """What happened, one sentence a line, for the page, the CLI and the API."""
        out = [
            f"Imported {self.task_count} tasks, {self.annotation_count} annotations "
            f"({self.skipped_annotation_count} of them skipped) and "
            f"{self.prediction_count} predictions."
        ]
        if self.new_annotators:
            out.append(
                f"Created {len(self.new_annotators)} inactive annotator accounts for unknown "
                f"annotators: {_first_ten(self.new_annotators)}"
            )
        if self.predictions_without_result:
            out.append(
                f"Skipped {self.predictions_without_result} predictions given without a result "
                "(bare ids)."
            )
        if self.extra_ground_truth_tasks:
            out.append(
                f"{self.extra_ground_truth_tasks} tasks had several ground-truth annotations; "
                "the earliest was kept as ground truth."
            )
        if self.legacy_completions:
            out.append(
                f"Read {self.legacy_completions} legacy `completions` (Label Studio before 1.0) "
                "as annotations."
            )
        if self.unknown_annotator_annotations:
            out.append(
                f"{self.unknown_annotator_annotations} annotations had no completed_by; they "
                f"are attributed to the project's account {UNKNOWN_ANNOTATOR_NAME!r}."
            )
        if self.notes["boxes_past_edge"]:
            out.append(
                f"{self.notes['boxes_past_edge']} boxes, polygons or key points reach past "
                "the image's edge (by at most 5 %); they are kept as given, and scored by "
                "their part on the image."
            )
        if self.notes["spans_text_differs"]:
            out.append(
                f"{self.notes['spans_text_differs']} spans whose text differs from the task at "
                "their offsets; the offsets are kept, and the file's text with them."
            )
        if self.merged_accounts:
            out.append(
                f"Moved the annotations of {len(self.merged_accounts)} accounts known only by "
                f"a Label Studio user id to the account their email names: "
                f"{_first_ten(self.merged_accounts)}"
            )
        if self.cloud_images:
            out.append(
                f"{self.cloud_images} images are in cloud storage (s3://, gs://, azure-blob://); "
                "they are kept, but not displayable here until a storage is configured."
            )
        for name, count in sorted(self.ignored_fields.items()):
            out.append(f"Ignored the field {name} ({count} times).")
        return out

    def as_dict(self) -> dict:
        return {
            "task_count": self.task_count,
            "annotation_count": self.annotation_count,
            "skipped_annotation_count": self.skipped_annotation_count,
            "prediction_count": self.prediction_count,
            "new_annotators": self.new_annotators,
            "predictions_without_result": self.predictions_without_result,
            "extra_ground_truth_tasks": self.extra_ground_truth_tasks,
            "unknown_annotator_annotations": self.unknown_annotator_annotations,
            "legacy_completions": self.legacy_completions,
            "cloud_images": self.cloud_images,
            "merged_accounts": self.merged_accounts,
            "boxes_past_edge": self.notes["boxes_past_edge"],
            "spans_text_differs": self.notes["spans_text_differs"],
            "ignored_fields": dict(self.ignored_fields),
            "messages": self.lines(),
        }


def _first_ten(names: list[str]) -> str:
    return ", ".join(names[:10]) + (" …" if len(names) > 10 else "")
