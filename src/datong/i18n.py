"""Translations: Chinese by default, English on request.

Message ids are English; ``locale/zh_CN/LC_MESSAGES/messages.po`` holds the Chinese. The .po file
is compiled in memory when first needed (Babel's own compiler), so the package ships no binary
.mo files and there is no build step.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SUPPORTED = ("zh-CN", "en")
DEFAULT = "zh-CN"
_ALIASES = {"zh": "zh-CN", "zh-cn": "zh-CN", "zh-hans": "zh-CN", "en": "en", "en-us": "en", "en-gb": "en"}


class Term(str):
    """A word inside a message (such as "department") that is translated along with it."""

    def localise(self, locale: str) -> str:
        return translate(locale, str(self))


class Message:
    """A message and its parameters, put into a language when it is shown."""

    def __init__(self, text: str, **params: object) -> None:
        self.text, self.params = text, params

    def localise(self, locale: str) -> str:
        return translate(locale, self.text, **self.params)

    def __str__(self) -> str:
        return self.localise("en")


def N_(message: str) -> str:  # noqa: N802 - the conventional name for "mark for extraction"
    """Mark a string for extraction without translating it here."""
    return message


def normalise(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.strip().replace("_", "-").lower()
    if tag in _ALIASES:
        return _ALIASES[tag]
    return _ALIASES.get(tag.split("-")[0])


def negotiate(accept_language: str | None, default: str = DEFAULT) -> str:
    """Pick a supported locale from an Accept-Language header, by quality."""
    if not accept_language:
        return normalise(default) or DEFAULT
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        locale = normalise(tag)
        if locale and quality > 0:
            choices.append((-quality, index, locale))
    return min(choices)[2] if choices else (normalise(default) or DEFAULT)


@cache
def translations(locale: str) -> gettext.NullTranslations:
    if locale == "en":
        return gettext.NullTranslations()
    folder = locale.replace("-", "_")
    source = resources.files("datong") / "locale" / folder / "LC_MESSAGES" / "messages.po"
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=folder)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(locale: str):
    return translations(normalise(locale) or DEFAULT).gettext


def translate(locale: str, message: str, **params: object) -> str:
    """Translate ``message`` and fill in ``params``; a parameter with a ``localise(locale)``
    method (a :class:`Term`, a code verdict) is put in the same language."""
    text = gettext_for(locale)(message)
    if not params:
        return text
    values = {k: v.localise(locale) if hasattr(v, "localise") else v for k, v in params.items()}
    return text.format(**values)
