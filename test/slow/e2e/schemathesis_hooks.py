"""schemathesis hooks for the OpenAPI conformance test: more than one principal.

Each call goes out as the principal that may make it, so the stateful phase can follow the
document's links past submission: the agent submits, cancels, redeems and reports outcomes; data
owners (two of them, so a quorum of two can be reached) vote and read their pending listing; the
agent or an approver reads a request. Tokens come from the environment the test sets.
"""

import os
import random

import schemathesis

TOKENS = {
    "agent": os.environ["ALA_ST_TOKEN_AGENT"],
    "bob": os.environ["ALA_ST_TOKEN_BOB"],
    "carol": os.environ["ALA_ST_TOKEN_CAROL"],
}


def principal_for(method: str, path: str) -> str:
    if method == "POST" and path.endswith("/decisions"):
        return random.choice(["bob", "carol"])
    if method == "GET" and path in ("/v1/action-requests", "/v1/action-requests/{id}"):
        return random.choice(["agent", "bob"])
    return "agent"


@schemathesis.auth(refresh_interval=None)
class PrincipalAuth:
    def get(self, case, ctx):
        return TOKENS

    def set(self, case, data, ctx):
        who = principal_for(case.operation.method.upper(), case.operation.path)
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data[who]}"}
