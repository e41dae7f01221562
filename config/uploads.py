"""A cap on uploads before any view runs.

`DATA_UPLOAD_MAX_MEMORY_SIZE` bounds form fields but not files: Django
streams an uploaded file of any size to a temporary file before the view can
look at it. This handler (first in `FILE_UPLOAD_HANDLERS`) refuses a
multipart request larger than `UPLOAD_MAX_REQUEST_BYTES` — by its declared
length at once, and by the bytes actually received otherwise — with Django's
400 for oversized requests (`RequestDataTooBig`). The wizard's `.txt` (a few
hundred bytes) is checked against its own, smaller limit in the form.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class CappedUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > settings.UPLOAD_MAX_REQUEST_BYTES:
            raise RequestDataTooBig("The upload is larger than UPLOAD_MAX_REQUEST_BYTES.")
        return None  # let the next handlers do the work

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_REQUEST_BYTES:
            raise RequestDataTooBig("The upload is larger than UPLOAD_MAX_REQUEST_BYTES.")
        return raw_data  # passed on to the next handler

    def file_complete(self, file_size):
        return None
