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


def request_view(request_id: str) -> dict:
    """The request as its requester sees it, or {} when it cannot be read."""
    try:
        answer = requests.get(
            f"{BASE}/v1/action-requests/{request_id}",
            headers={"Authorization": f"Bearer {TOKENS[AGENT]}"},
            timeout=10,
        )
        return answer.json() if answer.status_code == 200 else {}
    except (requests.RequestException, ValueError):
        return {}


def approvers_of(request_id: str) -> list:
    """The members of the groups that may vote on the request now who have not voted yet (the agent's
    view of it): none once it is decided, and the escalation groups only once it is escalated."""
    view = request_view(request_id)
    if view.get("status") != "pending":
        return []
    approval = view.get("approval") or {}
    voted = {vote.get("approver") for vote in approval.get("votes", [])}
    groups = list(approval.get("groups", []))
    if approval.get("escalated"):
        groups += list(approval.get("escalation_groups", []))
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


def link_vote(case) -> None:
    """A vote the stateful phase builds from a request's link carries the request's real action hash,
    and schemathesis merges generated fields into it. Two of those make a schema-valid vote that the
    gateway must refuse with 400 (rules JSON Schema cannot state): a generated `narrow_to` names terms
    the request never asked for, and a rejection needs a visible comment. So such a vote goes out
    without `narrow_to` (approvals as asked; narrowing has its own tests), and a rejection gets a
    comment. Every other vote is sent as generated (its stale hash answers 409, or the schema 400)."""
    request_id = (case.path_parameters or {}).get("id")
    body = case.body
    if not (case.operation.method.upper() == "POST" and case.operation.path.endswith("/decisions")):
        return
    if not (request_id and isinstance(body, dict)):
        return
    if body.get("action_hash") != request_view(request_id).get("action_hash"):
        return
    body.pop("narrow_to", None)
    if body.get("decision") == "reject" and not str(body.get("comment") or "").strip():
        body["comment"] = "Rejected in the stateful phase."


@schemathesis.auth(refresh_interval=None)
class PrincipalAuth:
    def get(self, case, ctx):
        return TOKENS

    def set(self, case, data, ctx):
        link_vote(case)
        who = principal_for(case)
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data[who]}"}
