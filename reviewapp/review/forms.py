from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf

from reviewapp.models import VERDICTS


class VerdictForm(FlaskForm):
    """A verdict from the stream or the task page. The fixed result's fields are read by
    result_from_form; the comment and reason rules are record_verdict's."""

    verdict = StringField(
        validators=[AnyOf(VERDICTS, message="Unknown verdict; use one of %(values)s.")]
    )
    comment = TextAreaField()
    reason = StringField()
    # One of the project's reject actions; empty for its default (record_verdict checks it).
    reject_action = StringField()
