# gunicorn settings for deploy/systemd/jirasync-web.service (its command line names this file).
#
# The access log writes the path without its query string (%(U)s, not the request line %(r)s): the
# Data Center webhook's URL carries its secret as ?token=…, and nothing else jirasync serves needs
# its query string in a log. No referer either: it can hold a full URL with its query.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)s'
