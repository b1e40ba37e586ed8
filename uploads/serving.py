"""How stored bytes leave the API: a signed redirect (cloud storage) or a stream (local),
with the headers that keep user content inert in a browser."""

import mimetypes

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header, parse_etags
from rest_framework import status

from config.errors import NotFound
from uploads.models import UploadedFile
from uploads.storage import is_cloud_storage, signed_read_url, storage_open

# The bytes served from this API are user content: never let a browser run them.
USER_CONTENT_CSP = "default-src 'none'; sandbox"


def _stream(key: str, *, content_type: str, missing: str) -> FileResponse:
    """The object under `key` as a sandboxed stream; NotFound(`missing`) if its bytes are gone."""
    try:
        fileobj = storage_open(key)
    except FileNotFoundError:
        raise NotFound(missing) from None
    response = FileResponse(fileobj, content_type=content_type)
    response["Content-Security-Policy"] = USER_CONTENT_CSP
    return response


def upload_serve(*, upload: UploadedFile, request: HttpRequest) -> HttpResponseBase:
    """GET of an upload: on cloud storage a 302 to a signed URL (never cached); locally the
    bytes, or 304 when If-None-Match names the ETag (the sha256 of the bytes) or is `*`."""
    if is_cloud_storage():
        redirect = HttpResponseRedirect(signed_read_url(upload.key, request=request))
        redirect["Cache-Control"] = "private, no-store"
        return redirect
    etag = f'"{upload.sha256}"'
    if_none_match = request.headers.get("If-None-Match")
    response: HttpResponse | FileResponse
    if if_none_match and (etag in parse_etags(if_none_match) or if_none_match.strip() == "*"):
        response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
    else:
        response = _stream(
            upload.key, content_type=upload.content_type, missing="The file's bytes are gone."
        )
        response["Content-Length"] = str(upload.size_bytes)
        # None only for an empty filename, which sanitize_filename never stores.
        disposition = content_disposition_header(as_attachment=False, filename=upload.filename)
        if disposition:
            response["Content-Disposition"] = disposition
    response["ETag"] = etag
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response


def signed_object_serve(*, key: str) -> FileResponse:
    """GET of the local signed-URL target: the object, typed by its key's extension."""
    content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    response = _stream(key, content_type=content_type, missing="No such object.")
    response["Cache-Control"] = "private, max-age=0"
    return response
