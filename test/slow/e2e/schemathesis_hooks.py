"""schemathesis hooks for the OpenAPI conformance test: more than one principal.

Each call goes out as a principal that may make it, so the stateful phase follows the document's
links past submission: the agent submits, cancels, redeems and reports outcomes; a vote goes out as
a member of the groups the request asks (read from the request itself), and another member votes
next, so a quorum can be reached and the grant redeemed. Tokens and group members come from the
environment the test sets (ALA_ST_TOKENS, ALA_ST_GROUPS: JSON).
"""

import json
import os
import random

import requests
import schemathesis

TOKENS = json.loads(os.environ["ALA_ST_TOKENS"])
GROUPS = json.loads(os.environ["ALA_ST_GROUPS"])
AGENT = os.environ["ALA_ST_AGENT"]
BASE = os.environ["ALA_ST_BASE"]
rng = random.Random(20261122)


def approvers_of(request_id: str) -> list:
    """The members of the groups the request asks who have not voted yet (the agent's view of it)."""
    try:
        answer = requests.get(
            f"{BASE}/v1/action-requests/{request_id}",
            headers={"Authorization": f"Bearer {TOKENS[AGENT]}"},
            timeout=10,
        )
        view = answer.json() if answer.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        view = {}
    approval = view.get("approval") or {}
    voted = {vote.get("approver") for vote in approval.get("votes", [])}
    groups = list(approval.get("groups", [])) + list(approval.get("escalation_groups", []))
    members = [m for g in groups for m in GROUPS.get(g, []) if m in TOKENS and m not in voted]
    return members


def principal_for(case) -> str:
    method = case.operation.method.upper()
    path = case.operation.path
    request_id = (case.path_parameters or {}).get("id")
    if method == "POST" and path.endswith("/decisions") and request_id:
        members = approvers_of(request_id)
        # Nobody left to ask (decided, denied, or no such request): the requester, who may see it.
        return rng.choice(members) if members else AGENT
    if method == "GET" and path == "/v1/action-requests":
        return rng.choice([AGENT, "user:bob@example.gov"])
    return AGENT


@schemathesis.auth(refresh_interval=None)
class PrincipalAuth:
    def get(self, case, ctx):
        return TOKENS

    def set(self, case, data, ctx):
        who = principal_for(case)
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data[who]}"}
