"""The only code that speaks HTTP to Jira: one session per instance, retries, budget, both API flavours."""
