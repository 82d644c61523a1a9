"""jirasim: a Jira REST simulator (Cloud and Data Center) for demos, tests and benchmarks.

It stands alone: nothing here imports jirasync. Start it with `python -m jirasim`,
or in-process with `jirasim.server.SimServer`.
"""
