from django import template

register = template.Library()


@register.filter
def duration_text(seconds: float | None) -> str:
    """Return seconds as the two largest units people read: "3 d 4 h", "2 h 5 min", "40 s"."""
    if seconds is None:
        return "–"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
