package approvals.hygiene_test

import data.approvals.hygiene
import data.approvals.testing

test_valid_request_has_no_violations if {
	count(hygiene.violations) == 0 with input as testing.base
}

test_missing_subject_is_invalid_subject if {
	hygiene.violations.invalid_subject with input as object.remove(testing.base, ["subject"])
}

test_untyped_subject_is_invalid_subject if {
	hygiene.violations.invalid_subject with input as testing.replace("subject", {"id": "demo-exporter", "type": "agent"})
}

test_missing_action_is_invalid_action_name if {
	hygiene.violations.invalid_action_name with input as object.remove(testing.base, ["action"])
}

test_rtl_override_in_action_name_is_invalid_action_name if {
	hygiene.violations.invalid_action_name with input as testing.replace("action", {"name": "data.\u202etropxe", "args": {}})
}

test_numeric_action_name_is_invalid_action_name if {
	hygiene.violations.invalid_action_name with input as testing.replace("action", {"name": 42, "args": {}})
}

test_homoglyph_on_behalf_of_is_invalid if {
	ctx := {"on_behalf_of": "user:b\u043eb@example.gov"}
	hygiene.violations.invalid_on_behalf_of with input as testing.replace("context", ctx)
}

test_non_string_on_behalf_of_is_invalid if {
	hygiene.violations.invalid_on_behalf_of with input as testing.replace("context", {"on_behalf_of": false})
}

test_absent_on_behalf_of_is_fine if {
	not hygiene.violations.invalid_on_behalf_of with input as testing.replace("context", {})
}

test_missing_resource_is_invalid_resource if {
	hygiene.violations.invalid_resource with input as object.remove(testing.base, ["resource"])
}

test_nul_in_resource_id_is_invalid_resource if {
	resource := {"type": "aws:s3:bucket", "id": "arn:aws-us-gov:s3:::fin\u0000ledger", "properties": {}}
	hygiene.violations.invalid_resource with input as testing.replace("resource", resource)
}

test_zero_width_space_in_resource_type_is_invalid_resource if {
	resource := {"type": "aws:s3:\u200bbucket", "id": "arn:aws-us-gov:s3:::fin-ledger-prod", "properties": {}}
	hygiene.violations.invalid_resource with input as testing.replace("resource", resource)
}

test_overlong_resource_id_is_invalid_resource if {
	id := concat("", ["arn:aws-us-gov:s3:::", concat("", ["a" | some _ in numbers.range(1, 2100)])])
	hygiene.violations.invalid_resource with input as testing.replace("resource", {"type": "aws:s3:bucket", "id": id})
}

test_wildcard_resource_for_a_granted_action_is_invalid_grant_resource if {
	resource := {"type": "aws:s3:bucket", "id": "arn:aws-us-gov:s3:::fin-*", "properties": {}}
	hygiene.violations.invalid_grant_resource with input as testing.replace("resource", resource)
}

test_non_arn_resource_for_an_ungranted_action_is_fine if {
	req := testing.request("logs.tail", {}, "k8s:deployment", "payments/api", "dev")
	count(hygiene.violations) == 0 with input as req
}

test_clean_is_false_whenever_a_violation_exists if {
	hygiene.clean with input as testing.base
	not hygiene.clean with input as testing.replace("context", {"on_behalf_of": "bob"})
	not hygiene.clean with input as object.remove(testing.base, ["subject"])
}
