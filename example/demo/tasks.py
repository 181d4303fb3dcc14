"""The demo's jobs: each one does real work and reports progress with ``self.progress()``."""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from celery_progress_tracker import JobError, ProgressTask
from demo import data


def pause() -> None:
    # The work below takes microseconds per item: slow it down so the bars move.
    if settings.DEMO_ITEM_DELAY:
        time.sleep(settings.DEMO_ITEM_DELAY)


def output_path(kind: str, job_id: str, suffix: str) -> Path:
    """Where a job writes its file (``MEDIA_ROOT/<kind>/<job_id><suffix>``)."""
    path = Path(settings.MEDIA_ROOT) / kind / f"{job_id}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@shared_task(
    base=ProgressTask,
    bind=True,
    progress_task_type="email_sending",
    # The bars' default title ({% progress_polling_js %} hands it to the script).
    progress_title=_lazy("Bulk e-mail"),
)
def send_newsletter(
    self: ProgressTask, campaign_id: int, count: int, language: str = "en"
) -> dict[str, Any]:
    """Send one e-mail per subscriber through Django's mail API; bad addresses count as failed."""
    with translation.override(language):
        addresses = data.recipients(count)
        self.set_total(len(addresses))
        sent = 0
        with get_connection() as connection:
            for address in addresses:
                try:
                    validate_email(address)
                except ValidationError:
                    self.progress(
                        0, _("Invalid address: %(address)s") % {"address": address}, failed=1
                    )
                    continue
                message = EmailMessage(
                    subject=_("Our news of the month"),
                    body=_("Hello,\n\nhere is campaign %(id)s.\n") % {"id": campaign_id},
                    to=[address],
                    connection=connection,
                )
                sent += message.send()
                pause()
                self.progress(1, _("Sent to %(address)s") % {"address": address})
        self.set_metadata(sent=sent)
        self.set_message(_("%(sent)d e-mails sent") % {"sent": sent})
        return {"sent": sent}


@shared_task(
    base=ProgressTask,
    bind=True,
    progress_task_type="edi_import",
    progress_title=_lazy("EDI import"),
)
def import_edi_orders(self: ProgressTask, path: str, language: str = "en") -> dict[str, Any]:
    """Parse an ORDERS file line by line; malformed lines count as failed items."""
    with translation.override(language):
        lines = [
            line
            for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.startswith("LIN")
        ]
        self.set_total(len(lines))
        amount = Decimal(0)
        rejected: list[str] = []
        for text in lines:
            pause()
            try:
                line = data.parse_order_line(text)
            except ValueError as exc:
                rejected.append(f"{text[:40]}: {exc}")
                self.progress(0, _("Rejected: %(error)s") % {"error": exc}, failed=1)
                continue
            amount += line.quantity * line.unit_price
            self.progress(1, _("Line %(number)d imported") % {"number": line.number})
        # The first rejects only: metadata is meant to stay small.
        self.set_metadata(total_amount=str(amount), rejected=rejected[:5])
        imported = len(lines) - len(rejected)
        self.set_message(
            _("%(imported)d lines imported, %(rejected)d rejected")
            % {"imported": imported, "rejected": len(rejected)}
        )
        return {"imported": imported, "rejected": len(rejected)}


@shared_task(
    base=ProgressTask,
    bind=True,
    progress_task_type="report_generation",
    progress_title=_lazy("Report generation"),
)
def generate_sales_report(self: ProgressTask, year: int, count: int, language: str = "en") -> str:
    """Aggregate a year of sales per month and region into a CSV the user downloads."""
    with translation.override(language):
        rows = data.sales(count, year)
        self.set_total(len(rows))
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for sale in rows:
            totals[sale.month, sale.region] += sale.amount
            pause()
            self.progress(1, _("Sales of %(month)s") % {"month": sale.month})
        path = output_path("reports", self.request.id, ".csv")
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow([_("month"), _("region"), _("amount")])
            for (month, region), amount in sorted(totals.items()):
                writer.writerow([month, region, f"{amount:.2f}"])
        self.set_metadata(file=path.name, rows=len(totals))
        self.set_message(_("Report ready"))
        return path.name


@shared_task(
    base=ProgressTask,
    bind=True,
    progress_task_type="accounting_export",
    progress_title=_lazy("Accounting export"),
)
def export_accounting(self: ProgressTask, period: str, count: int, language: str = "en") -> str:
    """Check that each journal entry balances and write them in the ledger's import format."""
    with translation.override(language):
        entries = data.journal_entries(period, count)
        self.set_total(len(entries))
        path = output_path("exports", self.request.id, ".csv")
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, delimiter=";")
            writer.writerow(["reference", "date", "account", "debit", "credit"])
            for entry in entries:
                debit = sum(line[1] for line in entry.lines)
                credit = sum(line[2] for line in entry.lines)
                if debit != credit:
                    self.progress(0, _("Unbalanced: %(ref)s") % {"ref": entry.reference}, failed=1)
                    continue
                for account, line_debit, line_credit in entry.lines:
                    writer.writerow([entry.reference, entry.date, account, line_debit, line_credit])
                pause()
                self.progress(1, _("Entry %(ref)s exported") % {"ref": entry.reference})
        self.set_metadata(file=path.name)
        self.set_message(_("Export ready for %(period)s") % {"period": period})
        return path.name


@shared_task(
    base=ProgressTask,
    bind=True,
    progress_task_type="bank_reconciliation",
    progress_title=_lazy("Bank reconciliation (fails)"),
)
def reconcile_bank_statement(self: ProgressTask, count: int, language: str = "en") -> None:
    """A job that fails part-way: the bar turns red and shows the error.

    A ``JobError``'s message is written for the job's user: the bar shows it
    as it is (any other exception shows as a generic sentence).
    """
    with translation.override(language):
        self.set_total(count)
        for idx in range(1, count + 1):
            pause()
            if idx > count * 2 // 5:
                raise JobError(_("Statement line %(line)d matches no open invoice") % {"line": idx})
            self.progress(1, _("Statement line %(line)d matched") % {"line": idx})


@shared_task(
    base=ProgressTask,
    bind=True,
    progress_task_type="archive_rebuild",
    progress_title=_lazy("Archive rebuild (cancellable)"),
)
def rebuild_archive(self: ProgressTask, count: int, language: str = "en") -> int:
    """A long job to cancel: ``self.progress()`` raises ``TaskCancelled`` once a user asks."""
    with translation.override(language):
        self.set_total(count)
        for idx in range(1, count + 1):
            # Slow even in fast runs, so that there is time to press "Cancel".
            time.sleep(max(settings.DEMO_ITEM_DELAY, 0.05))
            self.progress(
                1, _("Archive %(idx)d of %(count)d rebuilt") % {"idx": idx, "count": count}
            )
        return count
