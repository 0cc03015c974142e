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


def test_the_document_is_valid_openapi_3(client):
    from openapi_spec_validator import OpenAPIV30SpecValidator
    errors = [f"{list(e.path)}: {e.message}" for e in OpenAPIV30SpecValidator(client.get("/api/v1/openapi.json").json).iter_errors()]
    assert errors == []


def test_every_operation_lists_the_answers_common_to_all(client):
    """A bad token is 401 anywhere, an impossible id 404, an unreadable body or missing CSRF token 400, a body
    over the size limit 413."""
    for path, operations in client.get("/api/v1/openapi.json").json["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            expected = {"401"} | ({"404"} if "{" in path else set()) | ({"400", "413"} if method != "get" else set())
            assert expected <= set(operation["responses"]), (method, path)
