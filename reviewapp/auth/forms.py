from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from reviewapp.services.users import password_problem


def _password_rule(_form, field) -> None:
    problem = password_problem(field.data)
    if problem:
        raise ValidationError(problem)


PASSWORD_RULES = [DataRequired(), _password_rule]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me logged in")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Repeat new password", validators=[EqualTo("new_password", "The passwords differ.")]
    )
