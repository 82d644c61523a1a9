"""Actions pressed on an object's own page run as they do from the list: outside any transaction."""

from django.contrib.admin import ActionLocation
from django.contrib.admin.options import csrf_protect_m
from django.http import HttpRequest, HttpResponse

from lib.admin_mixin import ModelAdminMixin

SAVE_BUTTONS = ("_save", "_continue", "_addanother", "_saveasnew")


class FormActionsOutsideTransactionMixin(ModelAdminMixin):
    """Django runs the change form's actions inside the transaction it opens for a save. On SQLite, in
    IMMEDIATE mode, that transaction takes the database's write lock at once and keeps it for the
    whole action — a Jira request included — so every worker's write fails with "database is locked".
    An action post skips that transaction here; each service it calls opens its own short ones.
    """

    def is_form_action(self, request: HttpRequest) -> bool:
        """A post of the page's action form (not a save) by a user who is offered an action there."""
        location = ActionLocation.CHANGE_FORM
        field = self.action_form(prefix=location.value)["action"].html_name
        return (
            request.method == "POST"
            and field in request.POST
            and not any(button in request.POST for button in SAVE_BUTTONS)
            and bool(self.get_actions(request, action_location=location))
        )

    @csrf_protect_m
    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None) -> HttpResponse:
        if object_id is not None and self.is_form_action(request):
            # Django's own handling of the post (permissions, the selected object, the action), minus the atomic.
            return self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]
        return super().changeform_view(request, object_id, form_url, extra_context)
