from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from reviewapp.labeling import PRESETS, LabelConfigError, parse_label_config
from reviewapp.services.import_export.exporter import ONLY


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
    reject_mode = SelectField(
        "When an annotation is rejected",
        choices=[
            ("remove", "Remove it from every queue (delete it to relabel the task)"),
            ("requeue", "Send the task back to its annotator with the comment"),
        ],
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
    reject_reasons = TextAreaField("Reasons offered when rejecting (one per line)")


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
                ["All annotations", "Accepted (and fixed) only", "Ground truth only"],
                strict=True,
            )
        ),
        default="all",
    )


class MemberForm(FlaskForm):
    email = StringField("Email of the user to add", validators=[DataRequired(), Email()])
