"""Store parsed tasks with bulk inserts: tasks, annotations, predictions, the label index
and the stored scores, each task scored once before insert."""

from __future__ import annotations

from sqlalchemy import update

from reviewapp.db.bulk_insert import insert_plain_rows, insert_returning_ids
from reviewapp.extensions import db
from reviewapp.labeling import LabelConfig
from reviewapp.models import Annotation, Prediction, Project, Task, TaskLabel
from reviewapp.services import auto_accept
from reviewapp.services.derived.scores import insert_scores, score_task
from reviewapp.services.derived.task_columns import (
    AnnotationRow,
    ReviewPolicy,
    data_text,
    label_rows,
    record_state_changes,
    refresh_tasks,
    shift_project_totals,
    summarise,
)
from reviewapp.services.import_export.summary import ImportSummary

IMPORT_CACHE_KB = 131072


class TaskStore:
    """Stores the chunks of one import; remembers the first and last task id stored."""

    def __init__(
        self,
        project: Project,
        config: LabelConfig,
        summary: ImportSummary,
        user_emails: dict[int, str],
    ):
        self.project = project
        self.config = config
        self.summary = summary
        self.user_emails = user_emails
        self.task_ids: tuple[int | None, int | None] = (None, None)

    def imported_event(self) -> dict:
        """What the tasks.imported webhook event says: the summary and the new task ids."""
        first, last = self.task_ids
        return {
            "project_id": self.project.id,
            "first_task_id": first,
            "last_task_id": last,
            **self.summary.as_dict(),
        }

    def store(self, tasks: list[dict]) -> None:
        """Insert a chunk of parsed tasks with their annotations, predictions, label index
        and stored scores; each task is scored once, before insert, for its agreement
        column and its AgreementPair/GtScore/ChoiceCount rows."""
        project_id = self.project.id
        policy = ReviewPolicy.of(self.project)
        rows, summaries, scored = [], [], []
        for t in tasks:
            summary = [
                AnnotationRow(
                    self.user_emails[a["completed_by_id"]],
                    a["result"],
                    a["was_cancelled"],
                    a["ground_truth"],
                )
                for a in t["annotations"]
            ]
            scores = score_task(
                self.config,
                self.project.iou_threshold,
                summary,
                [p["result"] for p in t["predictions"]],
                self.project.keypoint_radius_percent,
            )
            summaries.append(summary)
            scored.append(scores)
            rows.append(
                {
                    "project_id": project_id,
                    "data": t["data"],
                    "data_text": data_text(t["data"]),
                    "created_at": t["created_at"],
                    "source_id": t["source_id"],
                    "meta": t["meta"],
                    **summarise(
                        summary, [p["score"] for p in t["predictions"]], scores.agreement, policy
                    ),
                }
            )
        ids = insert_returning_ids(Task, rows)
        self.task_ids = (self.task_ids[0] or ids[0], ids[-1])
        record_state_changes(
            project_id,
            [(task_id, None, row["state"]) for task_id, row in zip(ids, rows, strict=True)],
            None,
            "imported",
        )
        shift_project_totals(
            project_id,
            sum(r["annotation_count"] for r in rows),
            sum(r["pending_count"] for r in rows),
        )
        annotations, predictions, labels = [], [], []
        for task_id, t, summary in zip(ids, tasks, summaries, strict=True):
            labels += label_rows(
                self.config,
                project_id,
                task_id,
                summary,
                [p["result"] for p in t["predictions"]],
            )
            for a in t["annotations"]:
                annotations.append(
                    {**a, "task_id": task_id, "project_id": project_id, "review_status": "pending"}
                )
            for p in t["predictions"]:
                predictions.append({**p, "task_id": task_id, "project_id": project_id})
        annotation_ids = insert_returning_ids(Annotation, annotations)
        prediction_ids = insert_returning_ids(Prediction, predictions)
        insert_plain_rows(TaskLabel.__table__, labels)
        pair_rows: list[dict] = []
        gt_rows: list[dict] = []
        choice_rows: list[dict] = []
        a_next = p_next = 0
        for task_id, t, scores in zip(ids, tasks, scored, strict=True):
            a_end, p_end = a_next + len(t["annotations"]), p_next + len(t["predictions"])
            if scores.pairs or scores.prediction_gt or scores.annotation_gt:
                pairs, gt = scores.rows(
                    project_id,
                    task_id,
                    [
                        (annotation_id, a["completed_by_id"])
                        for annotation_id, a in zip(
                            annotation_ids[a_next:a_end], t["annotations"], strict=True
                        )
                    ],
                    [
                        (prediction_id, p["model_version"])
                        for prediction_id, p in zip(
                            prediction_ids[p_next:p_end], t["predictions"], strict=True
                        )
                    ],
                )
                pair_rows += pairs
                gt_rows += gt
            choice_rows += scores.choice_rows(project_id, task_id)
            a_next, p_next = a_end, p_end
        insert_scores(pair_rows, gt_rows, choice_rows)
        if policy.sample_percent < 100 and annotation_ids:
            # The review sample is drawn by annotation id, known only now.
            refresh_tasks(self.project, ids, results_changed=False, reason="review sample")
        if self.project.auto_accept and annotation_ids:
            auto_accept.consider(self.project, ids)
        self.summary.task_count += len(tasks)
        self.summary.annotation_count += len(annotations)
        self.summary.skipped_annotation_count += sum(a["was_cancelled"] for a in annotations)
        self.summary.prediction_count += len(predictions)


def lock_for_import(project: Project) -> None:
    """Take SQLite's write lock now, so no other writer can take ids while we insert."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(update(Project).where(Project.id == project.id).values(id=project.id))
        # A page cache of 128 MB for the import's connection (2 MB by default): with the
        # default, index pages spill to the log and are written again (3 s of 30 at 100k).
        db.session.connection().exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KB}")


def end_import() -> None:
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection().exec_driver_sql("PRAGMA cache_size = -2000")
