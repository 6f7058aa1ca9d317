package approvals.privilege_escalation_test

import data.approvals.privilege_escalation
import data.approvals.testing

_role := "arn:aws-us-gov:iam::123456789012:role/payments-deployer"

test_iam_family_and_listed_actions_are_privilege_escalation if {
	privilege_escalation.applies with input as {"action": {"name": "iam.attach_role_policy"}}
	privilege_escalation.applies with input as {"action": {"name": "sts.assume_role"}}
	not privilege_escalation.applies with input as {"action": {"name": "sts.get_caller_identity"}}
}

test_needs_security_and_excludes_requester_team_lead if {
	d := privilege_escalation.decision with input as testing.request("iam.attach_role_policy", {}, "aws:iam:role", _role, "prod")
	d.outcome == "require_approval"
	testing.codes(d) == {"privilege_escalation"}
	d.approval.groups == ["security"]
	d.approval.escalation_groups == ["security-leads"]
	d.approval.exclude == ["agent:demo-exporter", "user:alice@example.gov", "user:dave@example.gov"]
}

test_excludes_lead_of_the_team_of_the_human_acted_for if {
	req := object.union(
		testing.request("sts.assume_role", {}, "aws:iam:role", _role, "dev"),
		{"subject": {"id": "agent:unaffiliated", "type": "agent"}, "context": {"on_behalf_of": "user:erin@example.gov"}},
	)
	d := privilege_escalation.decision with input as req
	d.approval.exclude == ["agent:unaffiliated", "user:erin@example.gov", "user:judy@example.gov"]
}

test_unaffiliated_requester_excludes_no_lead if {
	req := object.union(
		testing.replace("context", {}),
		{
			"subject": {"id": "agent:unaffiliated", "type": "agent"},
			"action": {"name": "sts.assume_role", "args": {}},
			"resource": {"type": "aws:iam:role", "id": _role},
		},
	)
	d := privilege_escalation.decision with input as req
	d.approval.exclude == ["agent:unaffiliated"]
}
