"""Google Cloud Storage backend: private objects, never overwritten, V4 signed URLs."""

import json
from datetime import timedelta

from django.conf import settings
from django.utils.deconstruct import deconstructible
from google.api_core.exceptions import PreconditionFailed
from google.auth.credentials import AnonymousCredentials
from google.cloud.storage import Client
from google.cloud.storage.retry import DEFAULT_RETRY
from google.oauth2 import service_account
from storages.backends.gcloud import GoogleCloudStorage

from uploads.errors import StorageKeyExists
from uploads.storage import signed_ttl


@deconstructible
class PrivateGoogleCloudStorage(GoogleCloudStorage):
    """Objects inherit the bucket's (private) access; reads go through signed URLs only.

    Credentials come from GOOGLE_CREDENTIALS_JSON (a service-account key, which can sign
    URLs itself) or Application Default Credentials (signing then goes through the IAM
    signBlob API). GCS_ENDPOINT points the client at an emulator.
    """

    _client: Client | None  # set by GoogleCloudStorage.__init__, built on first use

    def get_default_settings(self):
        defaults = super().get_default_settings()
        credentials, project_id = _credentials_from_settings()
        defaults.update(
            {
                "credentials": credentials,
                "project_id": project_id,
                "default_acl": None,
                "file_overwrite": False,
                "querystring_auth": True,
                "expiration": signed_ttl(),
                # Downloads above this spill to a temporary file instead of memory.
                "max_memory_size": settings.FILE_UPLOAD_MAX_MEMORY_SIZE,
                "iam_sign_blob": credentials is None and not settings.GCS_ENDPOINT,
            }
        )
        return defaults

    @property
    def client(self):
        if self._client is None:
            if settings.GCS_ENDPOINT:
                # An emulator takes no OAuth tokens; URLs are still signed with the key
                # from GOOGLE_CREDENTIALS_JSON (see signed_url).
                self._client = Client(
                    project=self.project_id or "atelier",
                    credentials=AnonymousCredentials(),
                    client_options={"api_endpoint": settings.GCS_ENDPOINT},
                )
            else:
                return super().client
        return self._client

    def save_new(self, name: str, content, *, content_type: str) -> str:
        """Upload `content` as `name`, failing if the object exists (generation 0 guard)."""
        name = self._normalize_name(name)
        # The precondition is what makes this atomic on GCS; the existence check covers
        # emulators that ignore preconditions.
        if self.bucket.get_blob(name) is not None:
            raise StorageKeyExists()
        blob = self.bucket.blob(name, chunk_size=self.blob_chunk_size)
        content.seek(0)
        try:
            blob.upload_from_file(
                content,
                content_type=content_type,
                size=getattr(content, "size", None),
                if_generation_match=0,
                retry=DEFAULT_RETRY,
            )
        except PreconditionFailed as exc:
            raise StorageKeyExists() from exc
        return name

    def signed_url(
        self,
        name: str,
        *,
        method: str,
        ttl: timedelta,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        """A V4 signed URL for one method on one object, valid for signed_ttl(ttl)."""
        name = self._normalize_name(name)
        blob = self.bucket.blob(name)
        params = {
            "version": "v4",
            "expiration": signed_ttl(ttl),
            "method": method,
        }
        if content_type:
            params["content_type"] = content_type
        if headers:
            # The signing helper adds Host to the dict it is given.
            params["headers"] = dict(headers)
        if settings.GCS_ENDPOINT:
            params["api_access_endpoint"] = settings.GCS_ENDPOINT
        if self.credentials is not None:
            params["credentials"] = self.credentials
        elif self.iam_sign_blob:
            email, token = self._get_iam_sign_blob_params()
            params["service_account_email"] = email
            params["access_token"] = token
        return blob.generate_signed_url(**params)


def _credentials_from_settings():
    """(credentials, project) from GOOGLE_CREDENTIALS_JSON, or (None, None) for ADC."""
    raw = settings.GOOGLE_CREDENTIALS_JSON
    if not raw:
        return None, None
    info = json.loads(raw)
    credentials = service_account.Credentials.from_service_account_info(info)
    return credentials, info.get("project_id")
