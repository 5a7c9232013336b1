"""Writes the price data shipped in PyPI's genai-prices package (pydantic/genai-prices,
MIT) as JSON on stdout, in the shape of that project's prices/data.json: a list of
providers, each with its models, their match clauses and prices. unitcost's
`prices diff` reads it. No network: the data is the package's bundled snapshot."""
import dataclasses
import datetime
import decimal
import json
import sys

from genai_prices import data, types


def conv(v):
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, types.ModelPrice):
        return {k: conv(x) for k, x in v.__dict__.items() if x is not None and not k.startswith("_")}
    if dataclasses.is_dataclass(v):
        out = {}
        for f in dataclasses.fields(v):
            if f.name.startswith("_") or f.name in ("extractors",):
                continue
            x = getattr(v, f.name)
            if x is None:
                continue
            out[f.name.rstrip("_")] = conv(x)
        return out
    if isinstance(v, (list, tuple)):
        return [conv(x) for x in v]
    if isinstance(v, dict):
        return {k: conv(x) for k, x in v.items()}
    return v


json.dump(conv(data.providers), sys.stdout, indent=1, sort_keys=True)
sys.stdout.write("\n")
