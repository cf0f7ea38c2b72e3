"""Encryption at rest with Fernet keys: the first key encrypts, every key decrypts (rotation)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from domain.errors import InvalidInput

KEY_FILE_NAME = "secret.key"
UNREADABLE = "A stored secret cannot be decrypted with the configured keys (CODELOFT_SECRET_KEYS)."


class FernetSecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise InvalidInput("CODELOFT_SECRET_KEYS is empty: give at least one Fernet key.")
        try:
            self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        except (ValueError, UnicodeEncodeError):
            raise InvalidInput(
                "CODELOFT_SECRET_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded "
                "bytes); make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
        self.primary_key = keys[0].encode("ascii")

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise InvalidInput(UNREADABLE) from None

    def rotate(self, ciphertext: str) -> str:
        """The secret re-encrypted under the first key (MultiFernet.rotate), so that the other keys
        can be dropped from CODELOFT_SECRET_KEYS."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise InvalidInput(UNREADABLE) from None


def load_or_create_key_file(data_dir: Path) -> list[str]:
    """Keys from `DATA_DIR/secret.key`, writing a new one (mode 0600) on first use."""
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(Fernet.generate_key().decode("ascii") + "\n")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]
