from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import Optional


class CommentForm(FlaskForm):
    """A new comment or a reply; what the text, region and control may be is add_comment's."""

    text = TextAreaField()
    region_id = StringField()
    control = StringField()
    parent_id = IntegerField(validators=[Optional()])
    next = StringField()


class NextForm(FlaskForm):
    """Resolve, reopen, open a notification: only the CSRF token and where to go back."""

    next = StringField()
