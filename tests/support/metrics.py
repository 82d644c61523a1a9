"""The /metrics page, read as Prometheus would scrape it."""

from prometheus_client.parser import text_string_to_metric_families


def scrape(client, **headers) -> dict[str, dict[tuple, float]]:
    """Every sample of GET /metrics: {sample name: {sorted (label, value) pairs: value}}; fails unless 200."""
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples
