import math
import time

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import AnyOf


class LabelForm(FlaskForm):
    """The label stream's own fields; the result's fields are read by result_from_form."""

    action = StringField(
        default="submit",
        validators=[AnyOf(("submit", "skip"), message="Unknown action; use submit or skip.")],
    )
    ground_truth = BooleanField()
    lead_time = StringField()  # seconds on screen, as the page's script measured them
    shown_at = StringField()  # when the page was rendered, for a browser without the script

    def seconds_on_screen(self) -> float | None:
        """Seconds the task was on screen: as the script measured it, else since render."""
        seconds = _seconds(self.lead_time.data)
        if seconds is None:
            shown_at = _seconds(self.shown_at.data)
            seconds = _seconds(time.time() - shown_at) if shown_at is not None else None
        return round(seconds, 3) if seconds is not None else None


def _seconds(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None
