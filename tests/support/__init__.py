"""What test modules share, and nothing else: each module here has one job, and no test module imports another.

Fixtures (the simulated sites, quick retries, a registered instance) are in tests/conftest.py; what is here is
plain code a test calls: simulators' data and counts (sites), condition waits (waiting), real processes and their
environments (processes), forms as a browser posts them (formdata), what the database must hold (truth), and the
fakes a hostile network is made of (echo_server, stalling_jira).
"""
