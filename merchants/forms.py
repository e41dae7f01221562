import unicodedata

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordResetForm as DjangoPasswordResetForm

from . import timezones
from .identity import canonical_email
from .models import Membership, User
from .services import public_link_context


class CanonicalEmailField(forms.EmailField):
    """An e-mail address in its one spelling (`canonical_email`), before it is validated,
    so ` ＡＬＩＣＥ@acme.test ` is accepted as alice@acme.test."""

    def to_python(self, value):
        return canonical_email(super().to_python(value))


class LoginForm(AuthenticationForm):
    """Django's, with words that are true here: the email's case does not matter."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email and password do not match an account. Capitals in the email "
        "do not matter; in the password they do.",
    }


class SignUpForm(forms.Form):
    merchant_name = forms.CharField(
        label="Business name", max_length=200, help_text="The name your team knows your business by."
    )
    email = CanonicalEmailField(label="Work email")
    password = forms.CharField(
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    # Filled by static/js/time-zone.js from the browser's own zone; only a guess,
    # so anything but a zone we know becomes UTC rather than an error.
    time_zone = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-guess-time-zone": ""}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].validators = []  # not even a NUL byte fails a sign-up: it becomes UTC

    def clean_time_zone(self) -> str:
        return timezones.zone_or_default(self.cleaned_data.get("time_zone"))

    def clean_merchant_name(self) -> str:
        name = self.cleaned_data["merchant_name"].strip()
        if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
            raise forms.ValidationError(
                "The name contains invisible or control characters. Type it again as plain text."
            )
        return name

    def clean_email(self) -> str:
        # No "already has an account" here: sign-up answers the same either way.
        return canonical_email(self.cleaned_data["email"])

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            candidate = User(email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class AcceptInvitationForm(forms.Form):
    """A newcomer's password, set when accepting an invitation."""

    password = forms.CharField(
        label="Choose a password",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(password, User(email=self.email))
        return password


class InvitationForm(forms.Form):
    email = CanonicalEmailField(label="Email address")
    role = forms.ChoiceField(label="Role", choices=Membership.Role.choices, initial="member")


class PasswordResetForm(DjangoPasswordResetForm):
    """Finds the account by its canonical address, like login does (any case,
    spaces, Unicode compatibility forms). Says nothing about whether one exists."""

    email = CanonicalEmailField(label="Email", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        # Django builds the link from the request's Host header: never here.
        super().send_mail(subject_template_name, email_template_name, public_link_context(context), *args, **kwargs)


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        help_text="Times on your pages and in your e-mails are written in this zone.",
        error_messages={
            "invalid_choice": "Choose a time zone from the list, such as Europe/Paris.",
            "required": "Choose a time zone from the list, such as Europe/Paris.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = timezones.time_zone_choices()
