"""Errors of the storage layer, in the API error shape."""

from config.errors import Conflict, Forbidden


class StorageKeyExists(Conflict):
    code = "storage_key_exists"
    default_message = "An object already exists under this key; objects are never overwritten."


class SignatureInvalid(Forbidden):
    default_message = "The signature of this URL is invalid or has expired."
