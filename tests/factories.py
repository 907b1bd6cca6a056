"""Build users, projects and tasks with sensible defaults, through the real services."""

from __future__ import annotations

import itertools

from reviewapp.extensions import db
from reviewapp.labeling.presets import IMAGE_BOXES, NAMED_ENTITIES, TEXT_CLASSIFICATION
from reviewapp.models import Annotation, Project, Review, User
from reviewapp.services.import_export.importer import import_tasks
from reviewapp.services.projects import create_project
from reviewapp.services.users import add_member, create_user, new_api_token

PASSWORD = "correct horse battery"
_counter = itertools.count(1)

CONFIGS = {"text": TEXT_CLASSIFICATION, "ner": NAMED_ENTITIES, "image": IMAGE_BOXES}


def user(role: str = "annotator", email: str | None = None, **kwargs) -> User:
    email = email or f"{role}{next(_counter)}@example.com"
    created = create_user(email, PASSWORD, role, **kwargs)
    db.session.commit()
    return created


def token(for_user: User) -> str:
    value = new_api_token(for_user)
    db.session.commit()
    return value


def project(
    kind: str = "text", members: tuple[User, ...] = (), title: str = "Reviews", **settings
) -> Project:
    created = create_project(title, CONFIGS[kind], None, **settings)
    for member in members:
        add_member(created.id, member)
    db.session.commit()
    return created


def choice(label: str, control: str = "sentiment") -> list[dict]:
    return [
        {"from_name": control, "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    ]


def annotation(by: User | str, label: str = "Positive", **fields) -> dict:
    email = by if isinstance(by, str) else by.email
    return {"completed_by": email, "result": choice(label), **fields}


def tasks(project: Project, items: list[dict]):
    """Import Label Studio task dicts into the project; returns the import summary."""
    summary = import_tasks(project, items)
    db.session.commit()
    return summary


def text_tasks(project: Project, *texts: str):
    return tasks(project, [{"data": {"text": t}} for t in texts])


def comparable(result: list[dict]) -> tuple:
    """A result reduced to what an annotator said (no region ids, no box jitter), sorted."""
    out = []
    for item in result:
        value = item["value"]
        if item["type"] == "choices":
            out.append(tuple(value["choices"]))
        elif item["type"] == "labels":
            out.append((value["start"], value["end"], *value["labels"]))
        else:
            out.append(tuple(value["rectanglelabels"]))
    return tuple(sorted(out))


def review(annotation: Annotation, reviewer: User, verdict: str = "accepted", **fields) -> Review:
    """A verdict row on annotation (its project filled in), added to the session; the
    annotation's status and the task counts are the caller's to set."""
    row = Review(
        annotation_id=annotation.id,
        project_id=annotation.project_id,
        reviewer_id=reviewer.id,
        verdict=verdict,
        **fields,
    )
    db.session.add(row)
    return row
