from typing import Any

from django.conf import settings
from django.http import HttpRequest


def fomantic(request: HttpRequest) -> dict[str, Any]:
    """Whether Fomantic-UI's CSS is installed (the pages fall back to ``demo.css``)."""
    return {"fomantic_installed": bool(settings.STATICFILES_DIRS)}
