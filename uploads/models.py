"""Uploaded files: the row holds the storage key and what the bytes were found to be."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class UploadedFile(models.Model):
    """One object in storage. `key` is server-generated; URLs are minted on demand."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploaded_files"
    )
    key = models.CharField(max_length=512, unique=True)
    filename = models.CharField(max_length=255, help_text="Sanitized original name.")
    content_type = models.CharField(max_length=100, help_text="Sniffed from the bytes.")
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Serves a user's list and the anonymous cleanup (system owner, old rows).
            models.Index(fields=["owner", "created_at"], name="upload_owner_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(size_bytes__gt=0), name="upload_size_gt_0"),
        ]

    def __str__(self):
        return f"{self.filename} ({self.key})"
