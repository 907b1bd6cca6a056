from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from reviewapp.admin import bp
from reviewapp.admin.forms import CreateUserForm, ResetPasswordForm, RoleForm
from reviewapp.auth.views import keep_current_session
from reviewapp.extensions import db
from reviewapp.models import User
from reviewapp.permissions import role_required
from reviewapp.services.users import UserError, create_user, set_active, set_password, set_role


def _users_page(form: CreateUserForm, status: int = 200):
    users = db.session.scalars(select(User).order_by(User.active.desc(), User.email)).all()
    return (
        render_template(
            "admin/users.html",
            users=users,
            form=form,
            role_form=RoleForm(),
            password_form=ResetPasswordForm(),
        ),
        status,
    )


@bp.get("/users")
@role_required("admin")
def users():
    """All users, with forms to create one and to change each."""
    return _users_page(CreateUserForm())


@bp.post("/users")
@role_required("admin")
def create():
    """Create a user with a role."""
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data, form.role.data, form.name.data)
        except UserError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Created {user.role} {user.email}.", "success")
            return redirect(url_for("admin.users"))
    return _users_page(form, 422)


@bp.post("/users/<int:user_id>/role")
@role_required("admin")
def change_role(user_id: int):
    """Change a user's role."""
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose one of the roles.", "error")
        return redirect(url_for("admin.users"))
    message = f"{user.email} is now {form.role.data}."
    return _apply(lambda: set_role(user, form.role.data, current_user), message, user)


@bp.post("/users/<int:user_id>/<any(activate, deactivate):action>")
@role_required("admin")
def change_active(user_id: int, action: str):
    """Deactivate a user (who can no longer log in) or activate them again."""
    user = db.get_or_404(User, user_id)
    active = action == "activate"
    verb = "can log in again" if active else "is deactivated and can no longer log in"
    return _apply(lambda: set_active(user, active, current_user), f"{user.email} {verb}.", user)


@bp.post("/users/<int:user_id>/password")
@role_required("admin")
def reset_password(user_id: int):
    """Set a new password for a user."""
    user = db.get_or_404(User, user_id)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        flash("; ".join(form.password.errors) or "Enter a new password.", "error")
        return redirect(url_for("admin.users"))
    message = f"New password set for {user.email}."
    return _apply(lambda: set_password(user, form.password.data), message, user)


def _apply(change, message: str, user: User):
    try:
        change()
    except UserError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        keep_current_session(user)
        flash(message, "success")
    return redirect(url_for("admin.users"))
