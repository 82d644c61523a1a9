"""Helpers shared by the apps: admin pieces, pagination, exports, charts, database statistics, redaction.

The ground floor: it imports no app and no wiring (`jirasync_site`), so any app may build on it. A plain
package, not a Django app: it has no models, templates or static files of its own.
"""
