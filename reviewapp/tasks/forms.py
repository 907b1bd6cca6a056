from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import AnyOf

from reviewapp.services.data_manager.bulk import ACTIONS


class BulkForm(FlaskForm):
    """The Data Manager's bulk fields. The same form carries the table state and the
    selection, which TableState and Selection read."""

    action = StringField(validators=[AnyOf(ACTIONS, message="Unknown bulk action.")])
    # Any reviewer id: apply_bulk_action checks that they are the project's reviewers.
    reviewers = SelectMultipleField(coerce=int, validate_choice=False)
    confirm = BooleanField()
