"""Permission-scoped reads of uploaded files."""

import uuid
from collections.abc import Mapping

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from accounts.models import SYSTEM_USER_EMAIL, User
from config.errors import NotFound
from config.filters import filterset_apply
from uploads.filters import UploadFilter
from uploads.models import UploadedFile


def upload_get_for_user(
    *, user: User | AnonymousUser | None, upload_id: uuid.UUID | str
) -> UploadedFile:
    """The file if `user` may see it: its owner, staff, or anyone for files of the system
    (anonymous-uploads) user. Anything else is NotFound, as if it did not exist."""
    visible = Q(owner__email=SYSTEM_USER_EMAIL)
    if user is not None and user.is_authenticated:
        if user.is_staff:
            visible = Q()
        else:
            visible |= Q(owner=user)
    upload = UploadedFile.objects.filter(visible, id=upload_id).select_related("owner").first()
    if upload is None:
        raise NotFound("No such file.")
    return upload


def upload_get_own(*, user: User, upload_id: uuid.UUID | str) -> UploadedFile:
    """The caller's own upload; anyone else's (even one staff could read) is NotFound."""
    upload = upload_get_for_user(user=user, upload_id=upload_id)
    if upload.owner_id != user.pk:
        raise NotFound("No such file.")
    return upload


def upload_list_own(*, user: User, filters: Mapping[str, str]) -> QuerySet[UploadedFile]:
    """The user's own uploads (not those staff may read, nor the system user's anonymous
    ones), narrowed by UploadFilter; a bad filter is ValidationFailed."""
    uploads = UploadedFile.objects.filter(owner=user)
    return filterset_apply(UploadFilter, filters=filters, queryset=uploads)
