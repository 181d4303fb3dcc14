from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

#: The bar's themes, in the switcher's order, with their names.
THEMES = {
    "default": _("Default (no framework)"),
    "bootstrap5": "Bootstrap 5",
    "semantic": "Fomantic-UI",
}


def installed_themes() -> list[str]:
    """The themes whose CSS is here: the default one always, the others after ``npm install``."""
    prefixes = {prefix for prefix, _folder in settings.STATICFILES_DIRS}
    return [
        name for name in THEMES if name == "default" or settings.FRAMEWORK_CSS[name][0] in prefixes
    ]


def current_theme(request: HttpRequest) -> str:
    theme = request.session.get("demo_theme", "default") if hasattr(request, "session") else ""
    return theme if theme in installed_themes() else "default"


def themes(request: HttpRequest) -> dict[str, Any]:
    """The theme switcher: the themes, the one chosen, and its framework's stylesheet."""
    theme = current_theme(request)
    framework_css = None
    if theme != "default":
        prefix, _folder, name = settings.FRAMEWORK_CSS[theme]
        framework_css = static(f"{prefix}/{name}")
    return {
        "demo_theme": theme,
        "demo_themes": [(name, THEMES[name], name in installed_themes()) for name in THEMES],
        "framework_css": framework_css,
    }
