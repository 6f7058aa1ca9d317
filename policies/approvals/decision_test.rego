package approvals_test

import data.approvals
import data.approvals.testing

test_design_example_prod_cui_export_needs_two_data_owners if {
	d := approvals.decision with input as testing.base
	d == {
		"outcome": "require_approval",
		"reasons": [{"code": "prod_cui_export", "message": "Production CUI export needs two data-owner approvals."}],
		"approval": {
			"groups": ["data-owners"],
			"min_approvals": 2,
			"timeout_seconds": 3600,
			"escalate_after_seconds": 1200,
			"escalation_groups": ["data-owner-leads"],
			"exclude": ["agent:demo-exporter", "user:alice@example.gov"],
			"channels": ["slack", "teams", "api"],
		},
		"grant": {
			"type": "aws_sts",
			"role": "approved-data-export",
			"actions": ["s3:GetObject"],
			"resources": ["arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*"],
			"window_seconds": 300,
			"wildcards": ["arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*"],
		},
	}
}

test_empty_input_is_denied_with_every_hygiene_code if {
	d := approvals.decision with input as {}
	d.outcome == "deny"
	testing.codes(d) == {"invalid_subject", "invalid_action_name", "invalid_resource"}
}

test_hygiene_denial_wins_over_area_rules if {
	d := approvals.decision with input as testing.replace("context", {"on_behalf_of": "user:b\u043eb@example.gov"})
	testing.codes(d) == {"invalid_on_behalf_of"}
}

test_unknown_action_is_denied if {
	d := approvals.decision with input as testing.request("s3.bucket.delete", {}, "aws:s3:bucket", "arn:aws-us-gov:s3:::x", "dev")
	d.outcome == "deny"
	testing.codes(d) == {"unknown_action"}
	not d.grant
	not d.approval
}

test_secrets_read_is_not_taken_for_a_generic_read if {
	d := approvals.decision with input as testing.request("secrets.read", {}, "aws:secretsmanager:secret", "arn:aws-us-gov:secretsmanager:us-gov-west-1:1:secret:x", "dev")
	testing.codes(d) == {"secrets_read"}
}

test_iam_read_is_a_read_not_an_escalation if {
	d := approvals.decision with input as testing.request("iam.roles.list", {}, "aws:iam:account", "arn:aws-us-gov:iam::123456789012:root", "dev")
	testing.codes(d) == {"nonprod_read_only"}
}

test_each_area_is_reached if {
	testing.codes(approvals.decision) == {"privilege_escalation"} with input as testing.request("iam.attach_role_policy", {}, "aws:iam:role", "arn:aws-us-gov:iam::1:role/r", "prod")
	testing.codes(approvals.decision) == {"prod_infra_change"} with input as testing.request("infra.stack.update", {}, "aws:cloudformation:stack", "arn:aws-us-gov:cloudformation:us-gov-west-1:1:stack/s/1", "prod")
	testing.codes(approvals.decision) == {"nonprod_data_export"} with input as object.union(testing.base, {"resource": {"properties": {"environment": "dev"}}, "vouched": {"resource": testing.vouched_resource({"environment": "dev"})}})
}

test_profiles_are_well_formed if {
	every name, profile in data.approval_profiles {
		profile.min_approvals >= 1
		profile.timeout_seconds > 0
		object.get(profile, "escalate_after_seconds", 0) < profile.timeout_seconds
		every g in array.concat(profile.groups, object.get(profile, "escalation_groups", [])) {
			count(data.groups[g]) > 0
		}
		count({m | some g in profile.groups; some m in data.groups[g]}) >= profile.min_approvals
		name != ""
	}
}

test_grants_have_a_known_scope_and_a_short_window if {
	every _, g in data.grants {
		g.resource_scope in {"resource", "export_dataset"}
		g.window_seconds > 0
		g.window_seconds <= 900
		count(g.actions) > 0
	}
}

test_break_glass_notifies_existing_groups if {
	every g in data.break_glass.notify {
		data.groups[g]
	}
}
