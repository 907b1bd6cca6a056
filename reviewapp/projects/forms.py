from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from reviewapp.labeling import PRESETS, LabelConfigError, parse_label_config
from reviewapp.services.import_export.exporter import ONLY

REJECT_ACTION_CHOICES = [
    ("remove", "Remove: rejected, out of every queue"),
    ("return", "Return: back to its annotator, with the comment"),
    ("reassign", "Reassign: the task goes to another annotator"),
]


def valid_label_config(form, field) -> None:
    try:
        parse_label_config(field.data or "")
    except LabelConfigError as error:
        raise ValidationError(str(error)) from None


class SettingsForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=5000)])
    label_config = TextAreaField("Label config (Label Studio XML)", validators=[valid_label_config])
    instructions = TextAreaField("Instructions for annotators", validators=[Length(max=20000)])
    overlap = IntegerField(
        "Annotations wanted per task", default=1, validators=[NumberRange(1, 50)]
    )
    allow_empty_annotations = BooleanField("Allow empty annotations (submit with no label)")
    reject_actions = SelectMultipleField(
        "Reject actions offered to reviewers",
        choices=REJECT_ACTION_CHOICES,
        default=["remove"],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired("Offer at least one reject action.")],
    )
    default_reject_action = SelectField(
        "Default reject action", choices=REJECT_ACTION_CHOICES, default="remove"
    )
    review_criteria = SelectField(
        "A task is done when",
        choices=[
            ("all", "all its annotations are reviewed"),
            ("one", "one annotation is accepted or fixed"),
        ],
        default="all",
    )
    review_only_finished = BooleanField(
        "Review only tasks with all their annotations (the overlap reached)"
    )
    review_order = SelectField(
        "Review order",
        choices=[
            ("table", "The Data Manager's order"),
            ("random", "Random (the same for each reviewer on every reload)"),
            ("by_annotator", "One annotator's work at a time"),
            ("low_agreement_first", "Lowest agreement first"),
        ],
        default="table",
    )
    review_sample_percent = IntegerField(
        "Review this share of each annotator's annotations (%)",
        default=100,
        validators=[NumberRange(1, 100)],
    )
    require_comment_on_reject = BooleanField("Require a comment when rejecting", default=True)
    review_only_assigned = BooleanField("Reviewers review only tasks assigned to them")
    allow_self_review = BooleanField("Reviewers may review their own annotations")
    reviewers_see_dashboard = BooleanField("Reviewers may see the dashboard")
    low_agreement_threshold = FloatField(
        "Low-agreement threshold (0 to 1)", default=0.5, validators=[NumberRange(0, 1)]
    )
    iou_threshold = FloatField(
        "IoU threshold for matching regions (0 to 1)", default=0.5, validators=[NumberRange(0, 1)]
    )
    keypoint_radius_percent = FloatField(
        "Key point radius for matching points (% of the image diagonal, 0.1 to 100)",
        default=2.0,
        validators=[NumberRange(0.1, 100)],
    )
    reject_reasons = TextAreaField("Reasons offered when rejecting (one per line)")
    auto_accept = BooleanField(
        "Auto-accept tasks whose annotators all agree, after a spot-check bounds the error"
    )
    auto_accept_min_agreement = FloatField(
        "Auto-accept: least task agreement (0 to 1)", default=1.0, validators=[NumberRange(0, 1)]
    )
    auto_accept_min_annotations = IntegerField(
        "Auto-accept: least annotations per task", default=2, validators=[NumberRange(2, 50)]
    )
    auto_accept_error_target = FloatField(
        "Auto-accept: largest share of wrong accepts (0.001 to 0.5)",
        default=0.05,
        validators=[NumberRange(0.001, 0.5)],
    )

    def validate_default_reject_action(self, field) -> None:
        if field.data not in (self.reject_actions.data or []):
            raise ValidationError("The default must be one of the offered actions.")


class CreateProjectForm(SettingsForm):
    preset = SelectField(
        "Start from a preset",
        choices=[(key, title) for key, (title, _) in PRESETS.items()],
        default="text_classification",
    )
    label_config = TextAreaField(
        "Label config (Label Studio XML; leave empty to use the preset)",
        validators=[Optional(), valid_label_config],
    )


class ImportForm(FlaskForm):
    file = FileField(
        "Label Studio JSON or CSV file",
        validators=[
            FileRequired("Choose a file to import."),
            FileAllowed(["json", "csv", "tsv"], "Upload a .json, .csv or .tsv file."),
        ],
    )


class ExportForm(FlaskForm):
    class Meta:
        csrf = False  # a GET download with no side effect

    format = RadioField(
        "Format",
        choices=[("json", "Label Studio JSON"), ("csv", "CSV, one row per task")],
        default="json",
    )
    only = RadioField(
        "Annotations",
        choices=list(
            zip(
                ONLY,
                [
                    "All annotations",
                    "Accepted (and fixed) only",
                    "Ground truth only",
                    "One final label per task, with its source",
                ],
                strict=True,
            )
        ),
        default="all",
    )
    include = BooleanField("With a final label: also every annotation, with its review status")

    @property
    def include_value(self) -> str:
        return "all" if self.only.data == "final" and self.include.data else ""


class MemberForm(FlaskForm):
    email = StringField("Email of the user to add", validators=[DataRequired(), Email()])
