"""What a Jira site has, asked through the client: clients built for an instance and discovery, the connection test,
the field catalogue, each project's versions and components, the JQL check, and the guard that keeps requests out
of transactions.
"""
