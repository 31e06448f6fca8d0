"""WTForms forms. Every state-changing form is a FlaskForm, so each carries a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (  # type: ignore[attr-defined]  # SelectChoice: stubs 3.2 predate WTForms 3.3
    BooleanField,
    DateField,
    EmailField,
    Field,
    FileField,
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

from courseware.domain.statuses import ASSIGNABLE_ROLES, PublicReason
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
        description=f"At least {PASSWORD_MIN} characters, not one exposed in a data breach and "
                    "not easy to guess. Three or four unrelated words work well.",
    )
    submit = SubmitField("Create account")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(),
                                                                     Length(max=PASSWORD_MAX)])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
                    message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.")],
        description=f"At least {PASSWORD_MIN} characters, not one exposed in a data breach and "
                    "not easy to guess. Three or four unrelated words work well.",
    )
    submit = SubmitField("Change password")


class SecondFactorLoginForm(FlaskForm):
    """The second step of a login: a code from the app, or a recovery code."""

    code = StringField("6-digit code from your authenticator app",
                       validators=[Optional(), Length(max=20)])
    recovery_code = StringField("Recovery code", validators=[Optional(), Length(max=64)],
                                description="One of the ten codes you saved; each works once.")


class TotpEnrolForm(FlaskForm):
    code = StringField("6-digit code the app shows now",
                       validators=[DataRequired("Type the code your app shows."),
                                   Length(max=20)])
    submit = SubmitField("Turn on")


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
    role = SelectField("Role", choices=choices([(role.value, role.value.title())
                                                  for role in ASSIGNABLE_ROLES]))
    submit = SubmitField("Change role")


class ActiveForm(FlaskForm):
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])
    submit = SubmitField("Save")


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired("Give a reason."),
                                                 Length(max=1000)])
    submit = SubmitField("Confirm")


class CertificateChangeForm(FlaskForm):
    """Suspend or revoke: a public reason from the list, optional public text, and the internal
    note. The view shows what will be published and asks to confirm before saving."""

    public_reason = SelectField(
        "Public reason", choices=choices(
            [("", "Choose the reason programs will see")]
            + [(r.value, r.label) for r in PublicReason]),
        validators=[DataRequired("Choose the public reason.")],
        description="Shown on the public verification page and in the API.")
    public_text = TextAreaField(
        "Public text (optional)", validators=[Optional(), Length(max=300)],
        description="Published word for word beside the reason. Never name a person, a "
                    "complaint or an address here; leave it empty if unsure.")
    note = TextAreaField(
        "Internal note (staff only)", validators=[DataRequired("Write the internal note."),
                                                  Length(max=1000)],
        description="What happened and why, for staff and the audit log. Never published.")
    confirm = HiddenField()
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


class CredentialForm(FlaskForm):
    """A credential to check: pasted, or its file uploaded. The view reads and checks it; the
    length limit is the view's too, so that an oversized paste gets its own clear answer."""

    credential = TextAreaField(
        "Paste a credential", validators=[Optional()],
        description="The text of a credential file (.jwt): three long parts separated by dots.")
    file = FileField("Or choose a credential file",
                     description="A .jwt file of at most 64 KiB.")
    submit = SubmitField("Check the credential")


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


# --- programs ----------------------------------------------------------------------------------

class ProgramRequestForm(FlaskForm):
    """The public form that asks for a program account (an admin decides)."""

    name = StringField("Program name", validators=[DataRequired("Enter the program's name."),
                                                   Length(max=120)],
                       description="The organisation or service, as mentors and mentees know it.")
    contact_email = EmailField(
        "Contact email", validators=[DataRequired("Enter a contact address."),
                                     Length(max=EMAIL_MAX)],
        description="Where we write about the account; its first login is made for it.")
    country = StringField("Country code", validators=[DataRequired("Enter the country code."),
                                                      Length(max=2)],
                          description="Two letters, for example GB, DE or KE.")
    requester_name = StringField("Your name", validators=[DataRequired("Enter your name."),
                                                          Length(max=NAME_MAX)])
    note = TextAreaField("What your program runs",
                         validators=[DataRequired("Say what your program runs."),
                                     Length(max=2000)],
                         description="Who you mentor, where, and how many mentors you have.")
    submit = SubmitField("Send the request")


class ProgramCreateForm(FlaskForm):
    name = StringField("Program name", validators=[DataRequired("Enter the program's name."),
                                                   Length(max=120)])
    contact_email = EmailField(
        "Contact email", validators=[DataRequired("Enter a contact address."),
                                     Length(max=EMAIL_MAX)],
        description="Its first staff login is made for this address, which is mailed a link "
                    "to choose a password.")
    country = StringField("Country code", validators=[DataRequired("Enter the country code."),
                                                      Length(max=2)],
                          description="Two letters, for example GB.")
    staff_name = StringField("Contact person's name", validators=[Optional(),
                                                                  Length(max=NAME_MAX)],
                             description="Optional: the login is named after the program "
                                         "otherwise.")
    submit = SubmitField("Create the program")


class StaffForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter the address."),
                                            Length(max=EMAIL_MAX)],
                       description="Mailed a link to choose a password.")
    name = StringField("Name", validators=[DataRequired("Enter the person's name."),
                                           Length(max=NAME_MAX)])
    submit = SubmitField("Add the staff login")


class ApiKeyForm(FlaskForm):
    """A new key: its name and expiry here; the scopes are checkboxes the view reads."""

    name = StringField("Key name", validators=[DataRequired("Name the key."), Length(max=80)],
                       description="What uses it, for example “CRM sync”.")
    expires_on = DateField("Expires on (optional)", validators=[Optional()],
                           description="Leave empty for a key that lasts until you revoke it.")
    submit = SubmitField("Create the key")


class WatchAddForm(FlaskForm):
    codes = TextAreaField("Certificate codes", validators=[Optional(), Length(max=60_000)],
                          description="One code per line (or separated by commas), at most "
                                      "1,000. Case, spaces and hyphens do not matter.")
    file = FileField("Or upload a CSV file",
                     description="A column headed “code” (or the first column), at most "
                                 "256 KiB and 1,000 rows.")
    submit = SubmitField("Add to the list")
