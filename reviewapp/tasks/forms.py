from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import AnyOf

from reviewapp.services.data_manager.bulk import ACTIONS
from reviewapp.services.data_manager.bulk_verdicts import VerdictOptions


class BulkForm(FlaskForm):
    """The Data Manager's bulk fields. The same form carries the table state and the
    selection, which TableState and Selection read."""

    action = StringField(validators=[AnyOf(ACTIONS, message="Unknown bulk action.")])
    # Any reviewer id: apply_bulk_action checks that they are the project's reviewers.
    reviewers = SelectMultipleField(coerce=int, validate_choice=False)
    confirm = BooleanField()
    # Accept and Reject: whose annotations (none picked: everyone's); for Reject the action
    # (empty: the project's default), reason and comment, checked as a single verdict's.
    annotators = SelectMultipleField(coerce=int, validate_choice=False)
    reject_action = StringField()
    reason = StringField()
    comment = TextAreaField()

    def verdict_options(self) -> VerdictOptions:
        return VerdictOptions(
            tuple(self.annotators.data or ()),
            self.reject_action.data or None,
            self.reason.data or "",
            self.comment.data or "",
        )
