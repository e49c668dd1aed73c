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

import contextlib
import http.client
import math
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .._arguments import check_positive_seconds
from ..errors import DownloadError, InvalidModelError
from .limits import DEFAULT_TIMEOUT, DEFAULT_TOTAL_TIMEOUT, is_url
from .memory import read_bytes, sniff
from .sidecar import MAX_SIDECAR_BYTES, attach_sidecars
from .spec import ModelSpec
from .tfjs import BoundedShards, parse_model_json, shard_relpath

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


class _Watchdog:
    """Shuts a download's sockets down when the total deadline passes.

    A socket timeout bounds each recv, not a server that trickles one byte
    every half second: the watchdog's timer makes the blocked recv return,
    whatever http.client is reading (status line, headers or body).
    """

    def __init__(self) -> None:
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shutdown(sock)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _watched(base: type, watchdog: _Watchdog) -> Any:
    """An http.client connection class that hands its socket to `watchdog`."""

    class Watched(base):
        def connect(self) -> None:
            super().connect()
            watchdog.watch(self.sock)

    return Watched


class _WatchedHTTP(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._connection = _watched(http.client.HTTPConnection, watchdog)

    def http_open(self, req: Any) -> Any:
        return self.do_open(self._connection, req)


class _WatchedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self._connection = _watched(http.client.HTTPSConnection, watchdog)

    def https_open(self, req: Any) -> Any:
        # HTTPSHandler keeps its SSL context in _context (CPython's urllib.request).
        context = getattr(self, "_context", None)
        return self.do_open(self._connection, req, context=context)


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    # Built by hand so that no file:, ftp: or data: handler exists at all.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _WatchedHTTP(watchdog),
        _WatchedHTTPS(watchdog),
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
        self.timeout = check_positive_seconds(timeout, "timeout")
        self.total_timeout = check_positive_seconds(total_timeout, "total_timeout", allow_inf=True)
        self.deadline = time.monotonic() + self.total_timeout
        self.left = int(max_bytes)
        self.max_bytes = int(max_bytes)
        self.headers = {"User-Agent": "tfjs-infer", **(headers or {})}
        self.watchdog = _Watchdog()
        self.opener = _opener(self.watchdog)

    def get(self, url: str, what: str, limit: int | None = None, limit_reason: str = "") -> bytes:
        """The body of `url`; DownloadError on any failure, when over budget or past
        the deadline. At most `limit` bytes are read (`limit_reason` says why)."""
        check_url(url)
        timer = None
        if math.isfinite(self.deadline):
            timer = threading.Timer(max(self.deadline - time.monotonic(), 0), self.watchdog.fire)
            timer.daemon = True
            timer.start()
        try:
            return self._get(url, what, limit, limit_reason)
        finally:
            if timer is not None:
                timer.cancel()

    def _get(self, url: str, what: str, limit: int | None, limit_reason: str) -> bytes:
        cap = self.left if limit is None else min(limit, self.left)
        reason = limit_reason if limit is not None and limit <= self.left else ""
        request = urllib.request.Request(url, headers=self.headers)
        try:
            with self.opener.open(request, timeout=self._remaining(url)) as resp:
                length = resp.headers.get("Content-Length")
                if length is not None and length.isdigit() and int(length) > cap:
                    raise self._too_large(url, what, int(length), cap, reason)
                chunks, size = [], 0
                while True:
                    self._remaining(url)  # a read is bounded by `timeout`, all by the deadline
                    chunk = resp.read(min(_CHUNK, cap + 1 - size))
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > cap:  # stop at the limit: never buffer an endless body
                        raise self._too_large(url, what, size, cap, reason)
                    chunks.append(chunk)
            self._remaining(url)  # a body cut short by the watchdog is no body
        except DownloadError:
            raise
        except urllib.error.HTTPError as exc:
            raise DownloadError(
                f"{url}: HTTP {exc.code} {exc.reason} while fetching {what}",
                url=url,
                status=exc.code,
            ) from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            raise DownloadError(
                f"{url}: cannot fetch {what}: {self._explain(exc)}", url=url
            ) from None
        self.left -= size
        return b"".join(chunks)

    def _explain(self, exc: BaseException) -> str:
        """Why a fetch failed, in words (the deadline, a timeout, a malformed response)."""
        if self.watchdog.fired or time.monotonic() >= self.deadline - 0.05:
            return f"the download took longer than the total limit of {self.total_timeout:g} s"
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (socket.timeout, TimeoutError)) or isinstance(exc, TimeoutError):
            return f"timed out (timeout {self.timeout:g} s)"
        if isinstance(exc, http.client.HTTPException):
            detail = str(exc).strip() or "no detail"
            return f"the server's response is not valid HTTP ({type(exc).__name__}: {detail[:200]})"
        return str(reason)

    def _remaining(self, url: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0 or self.watchdog.fired:
            raise DownloadError(
                f"{url}: the download took longer than the total limit of {self.total_timeout:g} s",
                url=url,
            )
        return min(self.timeout, left)

    def _too_large(self, url: str, what: str, size: int, cap: int, reason: str) -> DownloadError:
        limit = reason or f"the remaining download limit (max_bytes={self.max_bytes})"
        return DownloadError(
            f"{url}: {what} is {size} bytes or more, over the {cap} bytes allowed by {limit}",
            url=url,
        )


def check_url(url: str) -> None:
    """Refuse anything but an absolute http(s) URL with a host."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 (parsed lazily: a bad port raises here)
    except ValueError as exc:
        raise InvalidModelError(
            f"{url}: not a valid URL ({exc}); expected http(s)://host[:port]/path"
        ) from None
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

    def read_shard(rel: str, limit: int) -> bytes:
        reason = "the weights manifest (the bytes it declares for the shards still to come)"
        return fetch.get(weight_url(url, rel), f"weight shard '{rel}'", limit, reason)

    spec = parse_model_json(data, BoundedShards(read_shard), source=url)

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
