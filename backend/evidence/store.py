"""Object stores for evidence bytes: S3-compatible (boto3) or a local directory.

Objects are addressed by SHA-256 under a per-tenant prefix, so the same document uploaded twice
is stored once, and one tenant cannot learn whether another holds a document.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from backend.db import utcnow
from backend.offload import off_loop


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    version_id: str | None
    retain_until: datetime | None
    created: bool


class ObjectStore(Protocol):
    name: str

    async def put(self, key: str, data: bytes, *, content_type: str, sha256: str) -> StoredObject: ...
    async def get(self, key: str) -> bytes: ...
    async def keys(self, prefix: str) -> list[str]: ...
    async def delete_unlocked(self, key: str) -> None: ...
    async def download_url(self, key: str, *, filename: str, content_type: str, ttl_s: int) -> str: ...
    async def check(self) -> None: ...


def object_key(tenant_key: str, sha256: str) -> str:
    return f"{tenant_key}/sha256/{sha256}"


class S3Store:
    name = "s3"

    def __init__(
        self,
        *,
        endpoint_url: str,
        bucket: str,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        object_lock_days: int,
    ) -> None:
        import boto3
        from botocore.config import Config

        self._bucket = bucket
        self._region = region
        self._lock_days = object_lock_days
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}),
        )
        self._lock_enabled: bool | None = None

    async def _call(self, name: str, **kwargs: Any) -> Any:
        return await off_loop(lambda: getattr(self._client, name)(**kwargs))

    async def ensure_bucket(self) -> None:
        from botocore.exceptions import ClientError

        try:
            await self._call("head_bucket", Bucket=self._bucket)
        except ClientError:
            extra: dict[str, Any] = {"ObjectLockEnabledForBucket": True} if self._lock_days > 0 else {}
            if self._region != "us-east-1":
                extra["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
            await self._call("create_bucket", Bucket=self._bucket, **extra)
        await self._detect_lock()

    async def _detect_lock(self) -> bool:
        from botocore.exceptions import ClientError

        if self._lock_enabled is None:
            try:
                config = await self._call("get_object_lock_configuration", Bucket=self._bucket)
                enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
            except ClientError:
                enabled = False
            self._lock_enabled = enabled
        return self._lock_enabled

    async def put(self, key: str, data: bytes, *, content_type: str, sha256: str) -> StoredObject:
        from botocore.exceptions import ClientError

        try:
            head = await self._call("head_object", Bucket=self._bucket, Key=key)
            return StoredObject(key, head.get("VersionId"), head.get("ObjectLockRetainUntilDate"), created=False)
        except ClientError:
            pass
        extra: dict[str, Any] = {}
        retain_until = None
        if self._lock_days > 0 and await self._detect_lock():
            retain_until = utcnow() + timedelta(days=self._lock_days)
            extra = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": retain_until}
        result = await self._call(
            "put_object",
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode(),
            Metadata={"sha256": sha256},
            **extra,
        )
        return StoredObject(key, result.get("VersionId"), retain_until, created=True)

    async def get(self, key: str) -> bytes:
        result = await self._call("get_object", Bucket=self._bucket, Key=key)
        return await off_loop(result["Body"].read)  # type: ignore[no-any-return]

    async def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, in key order."""
        found: list[str] = []
        token: str | None = None
        while True:
            extra: dict[str, Any] = {"ContinuationToken": token} if token else {}
            page = await self._call("list_objects_v2", Bucket=self._bucket, Prefix=prefix, **extra)
            found += [item["Key"] for item in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                return found

    async def delete_unlocked(self, key: str) -> None:
        if not await self._detect_lock():
            await self._call("delete_object", Bucket=self._bucket, Key=key)

    async def download_url(self, key: str, *, filename: str, content_type: str, ttl_s: int) -> str:
        params = {
            "Bucket": self._bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
            "ResponseContentType": content_type,
        }
        return await off_loop(lambda: self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_s))

    async def check(self) -> None:
        await self._call("head_bucket", Bucket=self._bucket)


class LocalStore:
    """A directory on disk: the embedded default when no S3 endpoint is configured."""

    name = "local"

    def __init__(self, root: Path, *, secret: str, public_url: str) -> None:
        self._root = root
        self._secret = secret.encode()
        self._public_url = public_url.rstrip("/")

    def _path(self, key: str) -> Path:
        return self._root / key

    async def put(self, key: str, data: bytes, *, content_type: str, sha256: str) -> StoredObject:
        path = self._path(key)
        if path.exists():
            return StoredObject(key, None, None, created=False)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a reader never sees half a document

        await off_loop(write)
        return StoredObject(key, None, None, created=True)

    async def get(self, key: str) -> bytes:
        return await off_loop(self._path(key).read_bytes)

    async def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, in key order."""

        def walk() -> list[str]:
            base = self._root / prefix.rpartition("/")[0]
            if not base.is_dir():
                return []
            paths = (p for p in base.rglob("*") if p.is_file() and p.suffix != ".tmp")
            return sorted(k for k in (p.relative_to(self._root).as_posix() for p in paths) if k.startswith(prefix))

        return await off_loop(walk)

    async def delete_unlocked(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def sign(self, key: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{key}|{expires}".encode(), hashlib.sha256).hexdigest()
        return mac

    def verify(self, key: str, expires: int, signature: str) -> bool:
        return expires >= int(time.time()) and hmac.compare_digest(self.sign(key, expires), signature)

    async def download_url(self, key: str, *, filename: str, content_type: str, ttl_s: int) -> str:
        expires = int(time.time()) + ttl_s
        return f"{self._public_url}/evidence/blob/{key}?expires={expires}&signature={self.sign(key, expires)}"

    async def check(self) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        probe = self._root / ".ready"
        probe.write_text("ok")
