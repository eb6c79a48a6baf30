"""What a chart carries, read from its Vega-Lite spec: shared by the chart tests (``tests`` is on the pytest pythonpath)."""

from __future__ import annotations


def datasets(chart) -> tuple[dict, list[list[dict]]]:
    """The chart's spec and the rows of each named dataset, in order of first use."""
    spec = chart.to_dict()
    names = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("data"), dict) and "name" in node["data"]:
                if node["data"]["name"] not in names:
                    names.append(node["data"]["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return spec, [spec["datasets"][name] for name in names]


def all_rows(chart) -> list[dict]:
    """Every data row of the chart, whichever dataset holds it."""
    return [row for rows in chart.to_dict().get("datasets", {}).values() for row in rows]
