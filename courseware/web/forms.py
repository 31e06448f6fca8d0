"""WTForms forms. Every state-changing form is a FlaskForm, so each carries a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice: stubs 3.2 predate WTForms 3.3
    BooleanField,
    DateField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from courseware.domain.statuses import Role
from courseware.services.accounts import EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN


def choices(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def add_error(field: Field, message: str) -> None:
    """Attach a problem found after validation (by a service, say) to the field it concerns."""
    field.errors = [*field.errors, message]


class ActionForm(FlaskForm):
    """A button-only POST: nothing to fill in but the CSRF token."""


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Length(max=EMAIL_MAX)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."),
                                                     Length(max=PASSWORD_MAX)])
    next = HiddenField()
    submit = SubmitField("Log in")


class RegisterForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter your name."),
                                                Length(max=NAME_MAX)],
                       description="As it should appear on your certificate.")
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Length(max=EMAIL_MAX)])
    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password."), Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                    message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.")],
        description=f"At least {PASSWORD_MIN} characters. A few unrelated words work well.",
    )
    submit = SubmitField("Create account")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(),
                                                                     Length(max=PASSWORD_MAX)])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                    message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.")],
        description=f"At least {PASSWORD_MIN} characters.",
    )
    submit = SubmitField("Change password")


class FeedbackForm(FlaskForm):
    rating = RadioField(
        "How useful was this module?",
        choices=choices([("1", "1 – not useful"), ("2", "2"), ("3", "3"), ("4", "4"),
                         ("5", "5 – very useful")]),
        validators=[InputRequired("Choose a rating from 1 to 5.")],
    )
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=2000)],
                            description="What helped, what was unclear, what is missing.")
    submit = SubmitField("Send feedback")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=choices([(role.value, role.value.title()) for role in Role]))
    submit = SubmitField("Change role")


class ActiveForm(FlaskForm):
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])
    submit = SubmitField("Save")


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired("Give a reason."),
                                                 Length(max=1000)])
    submit = SubmitField("Confirm")


class ManualIssueForm(FlaskForm):
    email = EmailField("Learner's email", validators=[DataRequired(), Length(max=EMAIL_MAX)])
    track = SelectField("Track", choices=[])
    reason = TextAreaField("Reason (recognition of prior learning)",
                           validators=[DataRequired("Give a reason."), Length(max=1000)])
    submit = SubmitField("Issue certificate")


class VerifyForm(FlaskForm):
    class Meta:
        csrf = False  # a public GET form: nothing changes

    code = StringField("Certificate code", validators=[DataRequired("Enter a code."),
                                                       Length(max=100)],
                       description="The code printed on the certificate, for example "
                       "ABCDE-FGHJK-MNPQR-STVW-XYZ0-1234. Case, spaces and hyphens do not matter.")


class LiveRoleplayForm(FlaskForm):
    learner_email = EmailField("Learner's email", validators=[DataRequired(),
                                                              Length(max=EMAIL_MAX)])
    roleplay = SelectField("Role-play", choices=[])
    held_on = DateField("Date held", validators=[DataRequired("Enter the date.")])
    live_format = SelectField("Format", choices=choices([("in_person", "In person"),
                                                         ("phone", "Phone"), ("video", "Video")]))
    duration_minutes = IntegerField("Duration (minutes)",
                                    validators=[InputRequired("Enter the duration."),
                                                NumberRange(1, 600)])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=5000)])
    submit = SubmitField("Record and grade")


class ConfirmBlankForm(FlaskForm):
    confirm_blank = BooleanField("Submit with unanswered questions")


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."),
                                            Length(max=EMAIL_MAX)],
                       description="The address you registered with.")
    submit = SubmitField("Send me a link")


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a password."), Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                    message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.")],
        description=f"At least {PASSWORD_MIN} characters. A few unrelated words work well.",
    )
    submit = SubmitField("Set the new password")


class ChangeEmailForm(FlaskForm):
    email = EmailField("New email address", validators=[
        DataRequired("Enter the new address."), Length(max=EMAIL_MAX)],
        description="We send a link to it: your address changes when you follow the link.")
    password = PasswordField("Current password", validators=[
        DataRequired("Enter your current password."), Length(max=PASSWORD_MAX)])
    submit = SubmitField("Send the confirmation link")


class PreferencesForm(FlaskForm):
    reminders = BooleanField("Reminders about my certificates: renewal open, 30 and 7 days "
                             "before expiry, expired")
    digests = BooleanField("A daily digest of role-plays waiting for grading")
    submit = SubmitField("Save email preferences")


class DeliveryFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter: nothing changes

    status = SelectField("Status", choices=[])
    kind = SelectField("Kind", choices=[])
    recipient = StringField("Recipient", validators=[Optional(), Length(max=100)])
