"""Admin pagination that never counts a whole table."""

from functools import cached_property

from django.core.paginator import Paginator

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP rows (a LIMITed subquery), so a changelist page costs the same at a
    million rows as at a thousand; past the cap the last page links stop at the cap."""

    @cached_property
    def count(self) -> int:
        if not hasattr(self.object_list, "order_by"):
            return len(self.object_list)
        return self.object_list.order_by()[: COUNT_CAP + 1].count()
