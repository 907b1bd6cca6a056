from flask import request
from flask_login import current_user, login_required

from reviewapp import htmx
from reviewapp.permissions import REVIEWERS, get_project_for
from reviewapp.review import bp
from reviewapp.services.review import queue_size
from reviewapp.services.task_query import Selection, TableState


@bp.get("/review")
@login_required
def stream(project_id: int):
    """The review stream over the chosen tasks (for now: the size of its queue)."""
    project = get_project_for(current_user, project_id, REVIEWERS)
    state = TableState.from_args(request.args)
    selection = Selection.from_form(request.args)
    task_ids = None if selection.empty else selection.task_ids(project.id, state)
    size = queue_size(project, current_user, state, task_ids)
    return htmx.render("review/stream.html", project=project, state=state, size=size)
