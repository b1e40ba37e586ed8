"""Factories of uploads: real objects in the configured storage plus their rows."""

import hashlib
import io

from uploads.models import UploadedFile
from uploads.services import upload_create

from .images import jpeg_bytes


def make_upload(*, owner, data: bytes | None = None, filename: str = "photo.jpg") -> UploadedFile:
    """An upload made through the service, so the object exists in storage."""
    data = data if data is not None else jpeg_bytes()
    upload = upload_create(owner=owner, fileobj=io.BytesIO(data), filename=filename)
    assert upload.sha256 == hashlib.sha256(data).hexdigest()
    return upload
