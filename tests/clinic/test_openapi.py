"""The OpenAPI document describes every API route the app serves."""
import re


def test_openapi_lists_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops if method != "parameters"}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{id}" if m.group(1).endswith("id") else "{%s}" % m.group(1),
                      rule.rule[len("/api/v1"):])
        served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served - documented == set()
