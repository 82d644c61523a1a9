"""The base of our ModelAdmin mixins: ModelAdmin itself for the type checker, nothing at run time."""

from typing import TYPE_CHECKING

from django.contrib.admin import ModelAdmin

# A mixin goes before ModelAdmin in an admin's bases and uses its attributes (opts, message_user…).
if TYPE_CHECKING:
    ModelAdminMixin = ModelAdmin
else:
    ModelAdminMixin = object
