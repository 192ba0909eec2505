"""Images in a request (chat `image_url` parts, Responses `input_image` parts): checked before
anything is charged or sent, and counted for the up-front token charge.

- `data:` URLs pass through, within a size per image and a count per request.
- Remote `http(s)` URLs are refused unless their host is on the allowlist: vLLM fetches any
  URL it is given, from inside the hospital network (SSRF). Every other scheme is refused.
- Each image is charged `tokens_per_image` (MedGemma/Gemma 3: 256), not the size of its
  base64 text (a 1 MB photo would otherwise be charged as 250,000 prompt tokens).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from serving.errors import InvalidRequest
from serving.settings import ImagesConfig

_IMAGE_PARTS = ("image_url", "input_image")


@dataclass(frozen=True, slots=True)
class ImageCount:
    images: int = 0
    inline_bytes: int = 0  # the request bytes taken by data: URLs (not prompt text)


NO_IMAGES = ImageCount()


def _parts(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(param path, part) for each content part of the messages or Responses input items,
    including parts nested in a function call's output."""
    for field in ("messages", "input"):
        items = body.get(field)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            for inner in ("content", "output"):
                parts = item.get(inner)
                if isinstance(parts, list):
                    for position, part in enumerate(parts):
                        if isinstance(part, dict):
                            yield f"{field}[{index}].{inner}[{position}]", part


def _is_image(part: dict[str, Any]) -> bool:
    # vLLM takes a part with an image_url and no `type` as an image too.
    return part.get("type") in _IMAGE_PARTS or "image_url" in part


def _url_of(part: dict[str, Any]) -> str | None:
    url = part.get("image_url")
    if isinstance(url, dict):  # chat: {"image_url": {"url": ...}}; Responses: {"image_url": "..."}
        url = url.get("url")
    return url if isinstance(url, str) else None


# Characters on which URL parsers disagree about the host (urllib reads `http://a\@b/` as b,
# urllib3 and browsers as a): a URL holding any is refused, not guessed at.
_AMBIGUOUS = re.compile(r"[\\@\s\x00-\x1f\x7f]")


class ImageGuard:
    def __init__(self, config: ImagesConfig) -> None:
        self._config = config
        self._hosts = frozenset(h.lower() for h in config.allowed_url_hosts if not h.startswith("*."))
        self._suffixes = tuple(h.lower()[1:] for h in config.allowed_url_hosts if h.startswith("*."))

    def inspect(self, raw: bytes, body: dict[str, Any]) -> ImageCount:
        if b"image" not in raw and b"\\u" not in raw:  # the hot path: no image part can be there
            return NO_IMAGES
        images, inline = 0, 0
        for param, part in _parts(body):
            if not _is_image(part):
                continue
            images += 1
            if images > self._config.max_images_per_request:
                raise InvalidRequest(
                    f"At most {self._config.max_images_per_request} images are accepted per request.",
                    param=param,
                    code="too_many_images",
                )
            url = _url_of(part)
            if url is None:
                continue  # a file_id (Responses): the backend resolves it or says no
            inline += self._check(url, f"{param}.image_url")
            if inline * 3 // 4 > self._config.max_request_image_bytes:
                raise InvalidRequest(
                    f"The images of this request exceed {self._config.max_request_image_bytes} bytes in all.",
                    param=f"{param}.image_url",
                    code="images_too_large",
                )
        return ImageCount(images, inline)

    def _check(self, url: str, param: str) -> int:
        scheme = url[:8].split(":", 1)[0].lower()
        if scheme == "data":
            header, _, data = url.partition(",")
            if not header.lower().startswith("data:image/") or not header.lower().endswith(";base64"):
                raise InvalidRequest(
                    "An inline image must be a base64 data URL of an image (data:image/png;base64,...).",
                    param=param,
                    code="invalid_image_url",
                )
            size = len(data) * 3 // 4
            if size > self._config.max_image_bytes:
                raise InvalidRequest(
                    f"An image is {size} bytes; the limit is {self._config.max_image_bytes} per image.",
                    param=param,
                    code="image_too_large",
                )
            return len(url)
        if scheme in ("http", "https"):
            host = "" if _AMBIGUOUS.search(url) else (urlsplit(url).hostname or "").lower()
            if host in self._hosts or (host and host.endswith(self._suffixes)):
                return 0
            raise InvalidRequest(
                f"Image URLs on host `{host}` are not allowed: send the image inline as a data: URL "
                "(or ask the operator to add the host to images.allowed_url_hosts).",
                param=param,
                code="image_url_not_allowed",
            )
        raise InvalidRequest(
            "Images must be data: URLs or http(s) URLs on an allowed host.", param=param, code="invalid_image_url"
        )

    def prompt_tokens(self, count: ImageCount) -> int:
        return count.images * self._config.tokens_per_image
