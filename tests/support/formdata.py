"""What a browser would submit for a rendered HTML form: the same values, read back from the page; and the
instance form's fields as posted for an instance."""

from html.parser import HTMLParser

from projects.models import JiraInstance

# The export form's "format" choice for each file kind (django-import-export numbers the formats it offers).
EXPORT_FORMATS = {"csv": "0", "xlsx": "1"}


class _FormReader(HTMLParser):
    """Collects the successful controls of one form (HTML's form submission algorithm, minus files)."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = self.done = False
        self.pairs: list[tuple[str, str]] = []
        self._textarea: tuple[str, list[str]] | None = None
        self._select: dict | None = None
        self._option: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v if v is not None else "" for k, v in attrs}
        if (
            tag == "form"
            and not self.done
            and (
                a.get("id") == self.form_id
                or (
                    self.form_id is None
                    and a.get("method", "").lower() == "post"
                    and not a.get("action", "").endswith("/logout/")  # the admin header's logout button
                )
            )
        ):
            self.inside = True
        if not self.inside or "disabled" in a:
            return
        if tag == "input":
            self._input(a)
        elif tag == "textarea" and a.get("name"):
            self._textarea = (a["name"], [])
        elif tag == "select" and a.get("name"):
            self._select = {"name": a["name"], "multiple": "multiple" in a, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": []}

    def _input(self, a: dict) -> None:
        kind = a.get("type", "text").lower()
        name = a.get("name")
        if not name or kind in {"submit", "button", "image", "reset", "file"}:
            return
        if kind in {"checkbox", "radio"}:
            if "checked" in a:
                self.pairs.append((name, a.get("value", "on")))
            return
        self.pairs.append((name, a.get("value", "")))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea[1].append(data)
        if self._option is not None:
            self._option["text"].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside, self.done = False, True
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            text = "".join(parts)
            # HTML drops one newline right after <textarea> (Django's widget writes one there), and a
            # browser sends a textarea's line breaks as CRLF.
            text = text[1:] if text.startswith("\n") else text
            self.pairs.append((name, text.replace("\r\n", "\n").replace("\n", "\r\n")))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            option = self._option
            value = option["value"] if option["value"] is not None else "".join(option["text"]).strip()
            self._select["options"].append((value, option["selected"]))
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [value for value, selected in options if selected]
            if not chosen and options and not self._select["multiple"]:
                chosen = [options[0][0]]
            self.pairs += [(self._select["name"], value) for value in chosen]
            self._select = None


def form_fields(html: str, form_id: str | None) -> dict[str, list[str]]:
    """Every value the form with this id (None: the page's first POST form but logout) would submit, by name (a
    list, as names may repeat)."""
    reader = _FormReader(form_id)
    reader.feed(html)
    if not reader.pairs:
        raise AssertionError(f"no form #{form_id} with fields on the page")
    fields: dict[str, list[str]] = {}
    for name, value in reader.pairs:
        fields.setdefault(name, []).append(value)
    return fields


def form_saved(html: str, form_id: str | None, **changes: str) -> dict[str, list[str]]:
    """What a browser posts when the user changes these fields of the form and presses admin's Save."""
    fields = form_fields(html, form_id)
    fields["_save"] = ["Save"]
    fields.update({name: [value] for name, value in changes.items()})
    return fields


def instance_form(instance: JiraInstance, **changes) -> dict:
    """The admin instance form's fields for this instance (no token, no project rows), with these changes."""
    form = {
        "name": instance.name,
        "slug": instance.slug,
        "base_url": instance.base_url,
        "flavour": instance.flavour,
        "auth_kind": instance.auth_kind,
        "username": instance.username,
        "token": "",
        "enabled": "on",
        "request_budget": str(instance.request_budget),
        "max_parallel_projects": str(instance.max_parallel_projects),
        "jql_filter": instance.jql_filter,
        "incremental_every_minutes": str(instance.incremental_every_minutes),
        "full_every_minutes": str(instance.full_every_minutes),
        "full_cron": instance.full_cron,
        "census_every_minutes": str(instance.census_every_minutes),
        "projects-TOTAL_FORMS": "0",
        "projects-INITIAL_FORMS": "0",
    }
    return form | changes
