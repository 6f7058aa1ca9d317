# METADATA
# title: Privilege escalation
# description: |
#   IAM changes and role assumption. The security team approves; the requester's own team lead and
#   the human the agent acts for are excluded, so nobody close to the request can wave it through.
package approvals.privilege_escalation

import data.approvals.lib

# METADATA
# title: Action changes or assumes privileges
# scope: document
# description: Names under data.privilege_escalation.prefixes (`iam.`) or listed in its actions.
applies if {
	some prefix in data.privilege_escalation.prefixes
	startswith(input.action.name, prefix)
}

applies if input.action.name in data.privilege_escalation.actions

# METADATA
# title: Privilege escalation decision
# description: One security approval, escalating to security leads; team leads of the requester excluded.
decision := lib.require_approval(
	"privilege_escalation",
	"Privilege escalation needs one security approval; the requester's team lead may not approve.",
	"privilege_escalation",
	_requester_team_leads,
)

# Leads of every team the requester or the human it acts for belongs to.
_requester_team_leads contains team.lead if {
	some id in _requesters
	some team in data.teams
	id in team.members
}

_requesters contains lib.requester

_requesters contains lib.on_behalf_of
