from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from reviewapp.auth import bp
from reviewapp.auth.forms import ChangePasswordForm, LoginForm
from reviewapp.extensions import db, limiter, login_manager
from reviewapp.htmx import is_htmx, redirect_response
from reviewapp.models import User
from reviewapp.urls import safe_next


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


@login_manager.unauthorized_handler
def unauthorized():
    if request.blueprint == "api":
        return {"error": "Authentication required: send 'Authorization: Token <token>'."}, 401
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if is_htmx():
        # A 302 would swap the log-in form into whatever region asked.
        return redirect_response(url_for("auth.login"))
    return redirect(target)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("projects.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user and user.active and user.check_password(form.password.data):
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("projects.index"))
        # One message for every failure, so it does not tell which part was wrong.
        flash("Invalid email or password.", "error")
        return render_template("auth/login.html", form=form), 401
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Log out."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current_password.data):
            form.current_password.errors.append("This is not your current password.")
        else:
            current_user.set_password(form.new_password.data)
            db.session.commit()
            flash("Your password is changed.", "success")
            return redirect(url_for("projects.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form), status
