"""Webhooks: the receiving view, what an event asks for, and the issue refresh it queues."""
