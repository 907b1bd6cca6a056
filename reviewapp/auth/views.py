from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from reviewapp.auth import bp
from reviewapp.auth.forms import ChangePasswordForm, LoginForm
from reviewapp.extensions import db, login_manager
from reviewapp.htmx import current_page, is_htmx, redirect_response
from reviewapp.models import User
from reviewapp.services import login_guard
from reviewapp.services.users import UserError, authenticate, set_password
from reviewapp.urls import safe_next


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session or remember-me cookie, if its session version is still current."""
    user_id, _, version = session_id.partition(".")
    if not (user_id.isdigit() and version.isdigit()):
        return None  # a cookie from before session versions, or forged
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


def keep_current_session(user: User) -> None:
    """After a change that ended the user's sessions, keep the one making the change."""
    if current_user.is_authenticated and current_user.id == user.id:
        remembered = (
            current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
        )
        login_user(user, remember=remembered)


@login_manager.unauthorized_handler
def unauthorized():
    if request.blueprint == "api":
        return {"error": "Authentication required: send 'Authorization: Token <token>'."}, 401
    if is_htmx():
        # A 302 would swap the log-in form into whatever region asked. The page the user was
        # on (checked to be on this site) is where logging in brings them back.
        flash("Your session ended; log in to continue.", "info")
        return redirect_response(url_for("auth.login", next=current_page()))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("projects.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address = request.remote_addr or "unknown"
        refusal = login_guard.refusal(email, address)
        if refusal:
            flash(refusal, "error")
            return render_template("auth/login.html", form=form), 429
        user = authenticate(email, form.password.data)
        if user:
            login_guard.clear_failures(email, address)
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("projects.index"))
        login_guard.record_failure(email, address)
        db.session.commit()
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
            user = current_user._get_current_object()
            try:
                set_password(user, form.new_password.data)
            except UserError as error:
                form.new_password.errors.append(str(error))
            else:
                db.session.commit()
                keep_current_session(user)
                flash("Your password is changed; your other sessions are logged out.", "success")
                return redirect(url_for("projects.index"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form), status
