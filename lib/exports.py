"""CSV and Excel export of a filtered admin list, streamed so a million rows never sit in memory.

django-import-export supplies the admin part (the Export button, the format and column form, the
filtered changelist's queryset, the permission) and the resources (which columns, how each renders).
Its own export builds a whole tablib Dataset in memory, so the file is written here instead: rows go
from a chunked queryset iterator straight to the csv module (a streaming response) or to openpyxl's
write-only workbook (rows spill to a temporary file as they are appended).
"""

import csv
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from itertools import islice

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX
from import_export.resources import ModelResource
from import_export.signals import post_export
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from lib.admin_permissions import permission_required_view

CHUNK_ROWS = 2000  # rows fetched per query (and per prefetch of related rows)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class StreamingResource(ModelResource):
    """A resource read in chunks of rows, each chunk's related rows loaded in one query per table.

    Not prefetch_related: a prefetched row points back at its issue, and such cycles wait for Python's
    cyclic collector, so memory grew with the rows exported (about 11 KB a row) until it ran.
    """

    def iter_queryset(self, queryset) -> Iterator:
        # Whole rows (a list may defer long columns it only shows the start of), without the list's prefetches.
        rows = queryset.defer(None).prefetch_related(None).iterator(chunk_size=CHUNK_ROWS)
        while chunk := list(islice(rows, CHUNK_ROWS)):
            self.chunk_load(chunk)
            yield from chunk

    def chunk_load(self, chunk: list) -> None:
        """Attach to the chunk's objects what their columns read from other tables."""

    def rows(self, queryset, selected_fields=None, *, native: bool) -> tuple[list[str], Iterator[list]]:
        fields = self.get_export_fields(selected_fields)
        headers = [str(field.column_name) for field in fields]
        exporters = [self._exporter(field, native) for field in fields]
        rows = ([export(obj) for export in exporters] for obj in self.iter_queryset(queryset))
        return headers, rows

    def _exporter(self, field, native: bool):
        """What export_field() would do for this field, decided once rather than per row and column."""
        method = field.get_dehydrate_method(self.get_field_name(field))
        method = method if callable(method) else getattr(self, method, None)
        if method is not None:
            return method
        return partial(field.export, **({"force_native_type": True} if native else {}))


class StreamingExportMixin(ExportMixin):
    """The admin's Export (CSV or Excel) of the rows the changelist's filters and search select."""

    formats = [CSV, XLSX]
    export_formats = [CSV, XLSX]

    def get_urls(self):
        """The export page, declaring the permission it checks (the model's view permission)."""
        urls = super().get_urls()
        name = "{}_{}_export".format(*self.get_model_info())
        view = permission_required_view(f"{self.opts.app_label}.view_{self.opts.model_name}")(self.export_action)
        return [path("export/", self.admin_site.admin_view(view), name=name)] + [u for u in urls if u.name != name]

    def _do_file_export(
        self, file_format, request: HttpRequest, queryset, export_form=None
    ) -> HttpResponse | StreamingHttpResponse:
        if not self.has_export_permission(request):
            raise PermissionDenied
        resource = self.choose_export_resource_class(export_form, request)(
            **self.get_export_resource_kwargs(request, export_form=export_form)
        )
        selected = self.get_export_resource_fields_from_form(export_form)
        native = isinstance(file_format, XLSX)
        headers, rows = resource.rows(resource.filter_export(queryset), selected, native=native)
        filename = self.get_export_filename(request, queryset, file_format)
        response = xlsx_response(headers, rows, filename) if native else csv_response(headers, rows, filename)
        post_export.send(sender=None, model=self.model)
        return response


class _Line:
    """A file-like object whose write() returns what was written, so csv.writer yields lines."""

    def write(self, text: str) -> str:
        return text


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    # A cell beginning like a formula is run by spreadsheets that open the file: keep it text.
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_response(headers: list[str], rows: Iterable[list], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Line())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(headers)  # the BOM makes Excel read UTF-8
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_value(value):
    if value is None or isinstance(value, bool | int | float | Decimal | date):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)  # Excel has no time zones: UTC, as stored
        return value
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:32767]  # Excel's limit per cell


def _xlsx_cell(sheet, value):
    """The value itself (fast), or, for text openpyxl would take for a formula, a cell typed as text."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def xlsx_response(headers: list[str], rows: Iterable[list], filename: str) -> FileResponse:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append(headers)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, xlsx_value(value)) for value in row])
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type=XLSX.CONTENT_TYPE)
