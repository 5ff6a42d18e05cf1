from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "rooftops.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A personal API token: `Authorization: Token <key>` (make one on your profile page).",
        }


# Answers every operation can give, whatever its view documents: invalid input (400), no or a bad token (401/403), an object that is
# missing or another store's (404: the same answer by design), and PostgreSQL unreachable (503, Retry-After).
COMMON_ERRORS = {
    "400": "The request's parameters or body are invalid; the body says which.",
    "401": "Not signed in: no session and no valid `Authorization: Token <key>`.",
    "403": "Signed in, but this staff member may not do this.",
    "404": "Not found, or not visible to this staff member (another store's record gets the same answer).",
    "503": "The database is briefly unavailable; retry after the `Retry-After` seconds.",
}


def add_common_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the error answers shared by every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", {
        "type": "object", "properties": {"detail": {"type": "string"}}, "additionalProperties": True,
    })
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, description in COMMON_ERRORS.items():
                operation["responses"].setdefault(status, {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}},
                })
    return result


def add_idempotency_key(result, generator, request, public):
    """drf-spectacular postprocessing hook: every POST takes an `Idempotency-Key` (crm.idempotency)."""
    from crm.idempotency import HEADER, REPLAYED_HEADER

    for path, path_item in result.get("paths", {}).items():
        if path.startswith("/api/assistant/"):
            continue  # the assistant's public doors answer by conversation id, not by Idempotency-Key
        operation = path_item.get("post")
        if not isinstance(operation, dict):
            continue
        operation.setdefault("parameters", []).append({
            "in": "header", "name": HEADER, "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]{1,255}$"},
            "description": "Any unique string (a UUID): a retry with the same key and body within 24 hours gets the "
                           f"first answer again, with `{REPLAYED_HEADER}: true`, and writes nothing twice.",
        })
        responses = operation.setdefault("responses", {})
        responses.setdefault("422", {
            "description": "Refused: the same Idempotency-Key was used with a different body (or the action "
                           "cannot be done as asked); `detail` says why.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}},
        })
    return result
