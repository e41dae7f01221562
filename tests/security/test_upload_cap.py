"""Uploads are capped before any view runs: Django would otherwise stream a file
of any size to a temporary file first (DATA_UPLOAD_MAX_MEMORY_SIZE does not
count files)."""

from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.urls import reverse

from tests.conftest import client_for


def test_an_upload_larger_than_the_cap_is_refused_before_the_view(alice, settings):
    settings.UPLOAD_MAX_REQUEST_BYTES = 64 * 1024
    upload = SimpleUploadedFile("credentials.txt", b"A" * (3 * 1024 * 1024), content_type="text/plain")
    spill = mock.patch.object(
        TemporaryFileUploadHandler,
        "receive_data_chunk",
        autospec=True,
        side_effect=lambda self, raw, start: self.file.write(raw),
    )
    with spill as written_to_disk:
        response = client_for(alice).post(
            reverse("connect:wizard_credentials", args=["acme"]), {"credentials_file": upload}
        )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert not written_to_disk.called  # stopped before a byte went to a temporary file


def test_the_cap_counts_received_bytes_too(alice, settings):
    """A request that hides its size (no Content-Length) is stopped by what arrives."""
    from config.uploads import CappedUploadHandler

    settings.UPLOAD_MAX_REQUEST_BYTES = 1000
    handler = CappedUploadHandler()
    handler.handle_raw_input(None, {}, 0, b"x")
    handler.receive_data_chunk(b"a" * 900, 0)
    try:
        handler.receive_data_chunk(b"a" * 200, 900)
    except Exception as error:  # RequestDataTooBig
        assert type(error).__name__ == "RequestDataTooBig"
    else:
        raise AssertionError("the cap did not stop the upload")
