"""The read side: the operator dashboard's figures and the Prometheus metrics."""
