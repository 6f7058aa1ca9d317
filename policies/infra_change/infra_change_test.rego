package approvals.infra_change_test

import data.approvals.infra_change
import data.approvals.testing

_stack := "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/payments/1"

test_infra_family_applies if {
	infra_change.applies with input as {"action": {"name": "infra.stack.update"}}
	not infra_change.applies with input as {"action": {"name": "infrastructure.update"}}
}

test_prod_change_needs_platform_with_escalation_to_leads if {
	d := infra_change.decision with input as testing.request("infra.stack.update", {}, "aws:cloudformation:stack", _stack, "prod")
	d.outcome == "require_approval"
	testing.codes(d) == {"prod_infra_change"}
	d.approval.groups == ["platform"]
	d.approval.escalation_groups == ["platform-leads"]
	d.approval.escalate_after_seconds == 1800
	d.grant.role == "approved-infra-change"
}

test_change_without_environment_is_treated_as_production if {
	req := testing.replace("resource", {"type": "aws:cloudformation:stack", "id": _stack})
	d := infra_change.decision with input as object.union(req, {"action": {"name": "infra.stack.update", "args": {}}})
	testing.codes(d) == {"prod_infra_change"}
}

test_nonprod_change_is_allowed_with_grant if {
	d := infra_change.decision with input as testing.request("infra.stack.update", {}, "aws:cloudformation:stack", _stack, "staging")
	d.outcome == "allow"
	testing.codes(d) == {"nonprod_infra_change"}
	d.grant.resources == [_stack]
}
