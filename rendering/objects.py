"""Reading the stored objects a render is made from."""

from rendering import compositor
from uploads.storage import storage_exists, storage_open


def object_read(key: str, *, what: str) -> bytes:
    """The object's bytes; ImageInputError when it is missing."""
    try:
        with storage_open(key) as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise compositor.ImageInputError(f"The {what} is missing from storage.") from exc
    except Exception as exc:
        # django-storages signals a missing GCS object with its own exception types.
        if not storage_exists(key):
            raise compositor.ImageInputError(f"The {what} is missing from storage.") from exc
        raise
