"""The demo's scenarios: how each one is started from a request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from demo import data, tasks


@dataclass(frozen=True)
class Scenario:
    name: str
    title: Any  # a lazy translation
    icon: str
    description: Any
    start: Callable[[HttpRequest], Any]  # returns the AsyncResult
    cancellable: bool = False

    @property
    def task_type(self) -> str:
        return TASK_TYPES[self.name]


def _start_newsletter(request: HttpRequest) -> Any:
    # The user is taken from the request by ProgressOwnerMiddleware; the
    # metadata and the total are known before the job starts.
    return tasks.send_newsletter.apply_async(
        (123, 60), {"language": request.LANGUAGE_CODE},
        progress_metadata={"campaign_id": 123},
        progress_total=60,
    )  # fmt: skip


def _start_edi_import(request: HttpRequest) -> Any:
    path = Path(settings.MEDIA_ROOT) / "edi" / f"{uuid.uuid4()}.edi"
    data.write_edi_orders(path, lines=80)
    return tasks.import_edi_orders.apply_async(
        (str(path),), {"language": request.LANGUAGE_CODE},
        progress_metadata={"file_format": "ORDERS", "supplier_id": 456},
    )  # fmt: skip


def _start_report(request: HttpRequest) -> Any:
    return tasks.generate_sales_report.apply_async(
        (2025, 120), {"language": request.LANGUAGE_CODE},
        progress_metadata={"report_type": "monthly", "format": "CSV"},
    )  # fmt: skip


def _start_export(request: HttpRequest) -> Any:
    return tasks.export_accounting.apply_async(
        ("2025-01", 70), {"language": request.LANGUAGE_CODE},
        progress_metadata={"destination": "X3", "period": "2025-01"},
    )  # fmt: skip


def _start_failing(request: HttpRequest) -> Any:
    return tasks.reconcile_bank_statement.apply_async((50,), {"language": request.LANGUAGE_CODE})


def _start_long(request: HttpRequest) -> Any:
    return tasks.rebuild_archive.apply_async((1200,), {"language": request.LANGUAGE_CODE})


#: Each scenario's ``task_type`` (set on its task with ``progress_task_type``).
TASK_TYPES = {
    "email": tasks.send_newsletter.progress_task_type,
    "edi": tasks.import_edi_orders.progress_task_type,
    "report": tasks.generate_sales_report.progress_task_type,
    "export": tasks.export_accounting.progress_task_type,
    "failing": tasks.reconcile_bank_statement.progress_task_type,
    "long": tasks.rebuild_archive.progress_task_type,
}

SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "email",
            _("Bulk e-mail"),
            "📧",
            _("Sends a newsletter to 60 subscribers; invalid addresses count as failed."),
            _start_newsletter,
        ),
        Scenario(
            "edi",
            _("EDI import"),
            "📦",
            _("Parses a generated ORDERS file; malformed lines count as failed."),
            _start_edi_import,
        ),
        Scenario(
            "report",
            _("Report generation"),
            "📊",
            _("Aggregates a year of sales into a CSV report you can download."),
            _start_report,
        ),
        Scenario(
            "export",
            _("Accounting export"),
            "🧾",
            _("Checks and exports the journal entries of January 2025."),
            _start_export,
        ),
        Scenario(
            "failing",
            _("Bank reconciliation (fails)"),
            "💥",
            _("Stops with an error part-way: the bar turns red."),
            _start_failing,
        ),
        Scenario(
            "long",
            _("Archive rebuild (cancellable)"),
            "🗄️",
            _("A long job: press Cancel to stop it."),
            _start_long,
            cancellable=True,
        ),
    )
}
