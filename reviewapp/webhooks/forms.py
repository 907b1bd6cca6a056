from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from reviewapp.services.webhooks import EVENTS


class WebhookForm(FlaskForm):
    """A webhook's URL, events, secret and active flag; the service checks the URL's host."""

    url = StringField("URL", validators=[DataRequired("Give the URL to call."), Length(max=2000)])
    events = SelectMultipleField(
        "Events",
        choices=[(name, name) for name in EVENTS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired("Choose at least one event.")],
    )
    secret = PasswordField(
        "Secret", validators=[DataRequired("Give a secret: it signs every call."), Length(max=200)]
    )
    active = BooleanField("Active", default=True)


class EditWebhookForm(WebhookForm):
    secret = PasswordField(
        "New secret (blank keeps the current one)", validators=[Optional(), Length(max=200)]
    )
