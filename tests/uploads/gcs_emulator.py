"""A real gcp-storage-emulator process and Django settings pointing the GCS backend at it."""

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs

from tests.e2e.harness import free_port

EMULATOR = Path(sys.executable).parent / "gcp-storage-emulator"
START_TIMEOUT_S = 20
PROJECT_ID = "atelier-test"
SERVICE_ACCOUNT_EMAIL = f"uploads@{PROJECT_ID}.iam.gserviceaccount.com"


class Emulator:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(EMULATOR),
                "start",
                *("--host", "127.0.0.1", "--port", str(self.port)),
                *("--in-memory", "--quiet"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("gcp-storage-emulator exited on start")
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("gcp-storage-emulator did not answer in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self) -> gcs.Client:
        return gcs.Client(
            project=PROJECT_ID,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.url},
        )

    def create_bucket(self) -> str:
        name = f"atelier-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(name)
        return name


def service_account_json() -> str:
    """Service-account credentials with a fresh RSA key: enough to sign V4 URLs offline."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": uuid.uuid4().hex,
            "private_key": pem,
            "client_email": SERVICE_ACCOUNT_EMAIL,
            "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


def gcs_settings(emulator: Emulator, bucket: str, credentials_json: str) -> dict:
    """Environment for a process (or Django settings) using the emulator bucket."""
    return {
        "STORAGE_BACKEND": "gcs",
        "GCS_BUCKET": bucket,
        "GCS_ENDPOINT": emulator.url,
        "STORAGE_EMULATOR_HOST": emulator.url,
        "GOOGLE_CREDENTIALS_JSON": credentials_json,
    }
