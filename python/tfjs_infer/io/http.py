"""Loading models from http(s) URLs, as ``tf.loadLayersModel(url)`` does.

A URL naming ``model.json`` (or a folder URL ending in ``/``, taken as
``<url>model.json``) is fetched, then every weight shard of its manifest from
the same folder: the URL up to its last ``/``, plus the shard path, plus the
model URL's query string (TF.js ``io/http.ts``, ``getWeightUrls``), so signed
or versioned URLs keep working. ``metadata.json`` beside it is fetched too
when present (Teachable Machine's hosted models). A URL whose content is not
JSON (a zip, .keras or .h5) is read as bytes.

Safety: only http and https (redirects to any other scheme are refused), a
timeout on every connection and read plus a total deadline, and a limit on
the total bytes downloaded. Shard paths cannot leave the model's folder.
Standard library only (urllib).
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..errors import DownloadError, InvalidModelError
from .limits import DEFAULT_TIMEOUT, DEFAULT_TOTAL_TIMEOUT, is_url
from .memory import read_bytes, sniff
from .sidecar import MAX_SIDECAR_BYTES, attach_sidecars
from .spec import ModelSpec
from .tfjs import parse_model_json, shard_relpath

_CHUNK = 1 << 20
_SCHEMES = ("http", "https")


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http/https URLs."""

    def http_error_302(self, req: Any, fp: Any, code: int, msg: str, headers: Any) -> Any:
        location = headers.get("location") or headers.get("uri")
        if location:
            newurl = urllib.parse.urljoin(req.full_url, location)
            if urllib.parse.urlsplit(newurl).scheme.lower() not in _SCHEMES:
                raise DownloadError(
                    f"{req.full_url}: redirect to '{newurl}' refused: only http and https "
                    "are allowed",
                    url=req.full_url,
                    status=code,
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _opener() -> urllib.request.OpenerDirector:
    # Built by hand so that no file:, ftp: or data: handler exists at all.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _SafeRedirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


class Fetcher:
    """Downloads under one byte budget and one deadline."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_bytes: int,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not timeout > 0 or not total_timeout > 0:
            raise ValueError("timeouts must be positive numbers of seconds")
        self.timeout = float(timeout)
        self.deadline = time.monotonic() + float(total_timeout)
        self.total_timeout = float(total_timeout)
        self.left = int(max_bytes)
        self.max_bytes = int(max_bytes)
        self.headers = {"User-Agent": "tfjs-infer", **(headers or {})}
        self.opener = _opener()

    def get(self, url: str, what: str, limit: int | None = None) -> bytes:
        """The body of `url`; DownloadError on any failure or when over budget."""
        check_url(url)
        cap = self.left if limit is None else min(limit, self.left)
        request = urllib.request.Request(url, headers=self.headers)
        try:
            with self.opener.open(request, timeout=self._remaining(url)) as resp:
                length = resp.headers.get("Content-Length")
                if length is not None and length.isdigit() and int(length) > cap:
                    raise self._too_large(url, what, int(length), cap)
                chunks, size = [], 0
                while True:
                    self._remaining(
                        url
                    )  # each read is bounded by `timeout`, the whole by the deadline
                    chunk = resp.read(min(_CHUNK, cap + 1 - size))
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > cap:
                        raise self._too_large(url, what, size, cap)
                    chunks.append(chunk)
        except DownloadError:
            raise
        except urllib.error.HTTPError as exc:
            raise DownloadError(
                f"{url}: HTTP {exc.code} {exc.reason} while fetching {what}",
                url=url,
                status=exc.code,
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (socket.timeout, TimeoutError)) or isinstance(exc, TimeoutError):
                if time.monotonic() >= self.deadline - 0.05:  # the deadline cut the wait
                    reason = (
                        f"the download took longer than the total limit of {self.total_timeout:g} s"
                    )
                else:
                    reason = f"timed out (timeout {self.timeout:g} s)"
            raise DownloadError(f"{url}: cannot fetch {what}: {reason}", url=url) from None
        self.left -= size
        return b"".join(chunks)

    def _remaining(self, url: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DownloadError(
                f"{url}: the download took longer than the total limit of {self.total_timeout:g} s",
                url=url,
            )
        return min(self.timeout, left)

    def _too_large(self, url: str, what: str, size: int, cap: int) -> DownloadError:
        return DownloadError(
            f"{url}: {what} is {size} bytes or more, over the remaining download limit of {cap} "
            f"bytes (max_bytes={self.max_bytes})",
            url=url,
        )


def check_url(url: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES:
        raise InvalidModelError(
            f"{url}: unsupported URL scheme '{parts.scheme}'; only http and https URLs are loaded"
        )
    if not parts.netloc:
        raise InvalidModelError(f"{url}: the URL has no host")


def weight_url(model_url: str, rel: str) -> str:
    """The URL of a shard: model.json's URL up to its last '/', the path, its query string."""
    base, query = _split_query(model_url)
    prefix = base[: base.rfind("/") + 1]
    path = urllib.parse.quote(shard_relpath(rel, model_url), safe="/%:@!$&'()*+,;=~")
    return prefix + path + query


def _split_query(url: str) -> tuple[str, str]:
    url, _ = urllib.parse.urldefrag(url)
    q = url.find("?")
    return (url, "") if q < 0 else (url[:q], url[q:])


def read_url(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
    max_bytes: int,
    headers: dict[str, str] | None = None,
) -> ModelSpec:
    """A ModelSpec from an http(s) URL (see the module docstring)."""
    check_url(url)
    base, query = _split_query(url)
    if base.endswith("/"):
        url = base + "model.json" + query
    fetch = Fetcher(
        timeout=timeout, total_timeout=total_timeout, max_bytes=max_bytes, headers=headers
    )
    data = fetch.get(url, "the model")
    if sniff(data) != "json":
        return read_bytes(data, source=url, max_bytes=fetch.left)

    def read_shard(rel: str) -> bytes:
        return fetch.get(weight_url(url, rel), f"weight shard '{rel}'")

    spec = parse_model_json(data, read_shard, source=url)

    def read_sidecar(name: str) -> bytes | None:
        try:
            return fetch.get(weight_url(url, name), name, limit=MAX_SIDECAR_BYTES)
        except DownloadError:
            return None  # optional file: absent on most servers

    return attach_sidecars(spec, read_sidecar)


__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOTAL_TIMEOUT",
    "check_url",
    "is_url",
    "read_url",
    "weight_url",
]
