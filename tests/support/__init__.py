"""What test modules share, and nothing else: each module here has one job, and no test module imports another.

Fixtures (the simulated sites, quick retries, instances) are in tests/conftest.py; what is here is plain code a test
calls:
- sites: an instance registered on a simulator, data added to it, the requests it served;
- truth: what the database must hold, read from the simulator;
- waiting: condition waits with generous deadlines, and a function run in the background;
- processes: qcluster workers and the environments processes start with;
- database: a second connection to the test database, and the bytes it stores;
- statements: the SQL statements a piece of code sends, each in short;
- formdata, browser: forms and admin actions as a browser posts and presses them;
- mappings, permissions, metrics: the reference mapping file, Django's permissions, /metrics scraped;
- reference, shapes: the recorded real Jira answers, and JSON shapes compared with them and the OpenAPI schemas;
- bulk_issues, echo_server, stalling_jira: many issues made fast, and the fakes a hostile network is made of.
"""
