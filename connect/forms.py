"""The credentials form. Its secret fields never render a value back: after a
failed attempt the page shows "ending in …x1y2" for what was kept server-side."""

from django import forms

from stores.bigcommerce.doctor import MAX_FIELD_LENGTH, MAX_FILE_SIZE


class SecretInput(forms.TextInput):
    """A text box that never puts its value in the page."""

    def format_value(self, value):
        return None


def _secret_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,  # the doctor trims and reports; nothing is silently changed here
        max_length=MAX_FIELD_LENGTH,
        help_text=help_text,
        widget=SecretInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}),
    )


class CredentialsForm(forms.Form):
    api_path = forms.CharField(
        label="API path",
        required=False,
        strip=False,
        max_length=MAX_FIELD_LENGTH,
        help_text="Looks like https://api.bigcommerce.com/stores/abc123/v3/",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}),
    )
    client_id = _secret_field("Client ID", "A string of letters and digits.")
    client_secret = _secret_field("Client secret", "A long string of letters and digits.")
    access_token = _secret_field("Access token", "A string of letters and digits.")
    credentials_file = forms.FileField(
        label="Upload the .txt file BigCommerce downloaded",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".txt,text/plain"}),
    )
    credentials_text = forms.CharField(
        label="Paste the whole .txt file here",
        required=False,
        strip=False,
        max_length=MAX_FILE_SIZE,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
    )

    SECRET_FIELDS = ("client_id", "client_secret", "access_token")
    TYPED_FIELDS = ("api_path", "client_id", "client_secret", "access_token")

    def clean_credentials_file(self):
        upload = self.cleaned_data.get("credentials_file")
        if not upload:
            return None
        if upload.size > MAX_FILE_SIZE:
            raise forms.ValidationError(
                "That file is too big to be the credentials BigCommerce downloads (they are under 1 KB). "
                "Choose the .txt file from your API account, or paste its values below."
            )
        return upload.read(MAX_FILE_SIZE + 1)

    def typed(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in self.TYPED_FIELDS}

    def file_text(self) -> str | bytes | None:
        return self.cleaned_data.get("credentials_file") or self.cleaned_data.get("credentials_text") or None
