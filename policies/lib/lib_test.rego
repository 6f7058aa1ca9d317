package approvals.lib_test

import data.approvals.lib

_vouched(environment) := {"resource": {"known": true, "attributes": {"environment": environment}}}

test_environment_missing_is_production if {
	lib.production with input as {"resource": {"properties": {}}, "vouched": {"resource": {"known": true, "attributes": {}}}}
}

test_environment_not_a_string_is_production if {
	lib.production with input as {"resource": {"properties": {}}, "vouched": _vouched(7)}
}

test_environment_unknown_name_is_production if {
	lib.production with input as {"resource": {"properties": {}}, "vouched": _vouched("qa-prod-mirror")}
}

test_environment_listed_non_production_is_not_production_case_insensitively if {
	not lib.production with input as {"resource": {"properties": {}}, "vouched": _vouched("Staging")}
}

test_claimed_non_production_alone_is_production if {
	lib.production with input as {"resource": {"properties": {"environment": "sandbox"}}}
	lib.production with input as {"resource": {"properties": {"environment": "sandbox"}}, "vouched": _vouched("prod")}
}

test_claim_can_only_tighten if {
	lib.production with input as {"resource": {"properties": {"environment": "prod"}}, "vouched": _vouched("dev")}
	lib.production with input as {"resource": {"properties": {"environment": false}}, "vouched": _vouched("dev")}
	not lib.production with input as {"resource": {"properties": {"environment": "sandbox"}}, "vouched": _vouched("dev")}
	not lib.production with input as {"resource": {"properties": {"environment": null}}, "vouched": _vouched("dev")}
}

test_principal_accepts_user_agent_and_role_arn if {
	lib.principal("user:alice@example.gov")
	lib.principal("agent:demo-exporter")
	lib.principal("role:arn:aws-us-gov:iam::123456789012:role/agent-runner")
}

test_principal_rejects_missing_type_or_name if {
	not lib.principal("alice@example.gov")
	not lib.principal(":alice")
	not lib.principal("user:")
	not lib.principal("User:alice@example.gov")
	not lib.principal(42)
}

test_principal_rejects_homoglyph_rtl_nul_and_space if {
	not lib.principal("user:b\u043eb@example.gov") # Cyrillic o
	not lib.principal("user:bob@example.gov\u202e")
	not lib.principal("user:bob\u0000@example.gov")
	not lib.principal("user:bob @example.gov")
}

test_principal_rejects_overlong_id if {
	not lib.principal(concat("", ["user:", _repeat("a", 300)]))
}

test_action_name_accepts_dotted_lowercase if {
	lib.action_name("data.export")
	lib.action_name("iam.roles.list")
	lib.action_name("sts.assume_role")
}

test_action_name_rejects_malformed_names if {
	not lib.action_name("export")
	not lib.action_name(".data.export")
	not lib.action_name("data.export.")
	not lib.action_name("data..export")
	not lib.action_name("Data.Export")
	not lib.action_name("data.ex\u0440ort") # Cyrillic r
	not lib.action_name("data.export\u202e")
	not lib.action_name("data.export\u0000")
	not lib.action_name(concat("", ["data.", _repeat("x", 130)]))
	not lib.action_name(["data.export"])
}

test_concrete_arn_rejects_wildcards_and_non_arns if {
	lib.concrete_arn("arn:aws-us-gov:s3:::fin-ledger-prod")
	not lib.concrete_arn("arn:aws-us-gov:s3:::fin-*")
	not lib.concrete_arn("arn:aws-us-gov:s3:::fin-ledger-pro?")
	not lib.concrete_arn("s3://fin-ledger-prod")
	not lib.concrete_arn("arn:aws-us-gov:s3:::fin ledger")
	not lib.concrete_arn(7)
}

test_principal_shape_accepts_iam_role_ids_and_rejects_untyped_ids if {
	lib.principal_shape("iam:arn:aws-us-gov:iam::123456789012:role/agent-runner")
	not lib.principal_shape("ARN:x")
	not lib.principal_shape("no-type")
	not lib.principal_shape(concat("", ["user:", _repeat("a", 1100)]))
}

test_only_chars_is_true_exactly_when_every_character_is_listed if {
	lib.only_chars("abc", "cba")
	lib.only_chars("", "a")
	not lib.only_chars("abd", "cba")
	not lib.only_chars("ab\u0000", "ab")
}

test_printable_ascii_has_the_95_printable_characters_once if {
	count(lib.printable_ascii) == 95
	count({c | some c in split(lib.printable_ascii, "")}) == 95
}

test_path_segment_rejects_traversal_wildcards_and_absolute_paths if {
	lib.path_segment("ledger_2026q2")
	lib.path_segment("fin/ledger-2026=q2")
	not lib.path_segment("")
	not lib.path_segment("../other")
	not lib.path_segment("/ledger")
	not lib.path_segment("ledger*")
	not lib.path_segment(7)
	not lib.path_segment(_repeat("a", 257))
}

test_requester_is_empty_when_subject_id_is_not_a_string if {
	lib.requester == "" with input as {"subject": {"id": 5}}
}

test_deny_sorts_reasons_by_code if {
	lib.deny({"b_code": "second", "a_code": "first"}) == {
		"outcome": "deny",
		"reasons": [{"code": "a_code", "message": "first"}, {"code": "b_code", "message": "second"}],
	}
}

test_grant_is_none_for_actions_without_aws_access if {
	lib.grant == {"type": "none"} with input as {"action": {"name": "logs.tail"}}
}

test_grant_scopes_export_to_the_dataset_prefix if {
	g := lib.grant with input as data.approvals.testing.base
	g.resources == ["arn:aws-us-gov:s3:::fin-ledger-prod/ledger_2026q2/*"]
	g.wildcards == g.resources
}

test_grant_scopes_other_actions_to_the_resource if {
	g := lib.grant with input as {
		"action": {"name": "secrets.read", "args": {}},
		"resource": {"id": "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db-AbCdEf"},
	}
	g == {
		"type": "aws_sts",
		"role": "approved-secret-read",
		"actions": ["secretsmanager:GetSecretValue"],
		"resources": ["arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db-AbCdEf"],
		"window_seconds": 120,
	}
}

test_exclude_holds_requester_and_on_behalf_of_sorted if {
	d := lib.require_approval("c", "m", "secrets_read", {"user:zed@example.gov"}) with input as data.approvals.testing.base
	d.approval.exclude == ["agent:demo-exporter", "user:alice@example.gov", "user:zed@example.gov"]
}

_repeat(s, n) := concat("", [s | some _ in numbers.range(1, n)])
