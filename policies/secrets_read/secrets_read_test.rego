package approvals.secrets_read_test

import data.approvals.secrets_read
import data.approvals.testing

_secret := "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:payments-db-AbCdEf"

_read(subject, context) := object.union(
	object.remove(testing.request("secrets.read", {}, "aws:secretsmanager:secret", _secret, "prod"), ["context", "subject"]),
	{"subject": {"id": subject, "type": "user"}, "context": context},
)

_justification := "INC-7731: payments database down, rotating credentials"

test_secret_read_needs_one_security_approval if {
	d := secrets_read.decision with input as _read("agent:demo-exporter", {})
	d.outcome == "require_approval"
	testing.codes(d) == {"secrets_read"}
	d.approval.groups == ["security"]
	d.grant.window_seconds == 120
}

test_break_glass_by_listed_principal_is_allowed_with_notify_and_post_review if {
	d := secrets_read.decision with input as _read("user:oscar@example.gov", {"break_glass": true, "justification": _justification})
	d.outcome == "allow"
	testing.codes(d) == {"break_glass"}
	d.notify == ["security"]
	d.post_review == true
	d.grant.resources == [_secret]
}

test_break_glass_by_unlisted_principal_is_denied if {
	d := secrets_read.decision with input as _read("user:mallory@example.gov", {"break_glass": true, "justification": _justification})
	d.outcome == "deny"
	testing.codes(d) == {"break_glass_not_permitted"}
}

test_break_glass_without_justification_is_denied if {
	d := secrets_read.decision with input as _read("user:oscar@example.gov", {"break_glass": true})
	testing.codes(d) == {"break_glass_justification_missing"}
}

test_break_glass_with_blank_padded_justification_is_denied if {
	d := secrets_read.decision with input as _read("user:oscar@example.gov", {"break_glass": true, "justification": "   urgent           "})
	testing.codes(d) == {"break_glass_justification_missing"}
}

test_break_glass_as_string_is_not_break_glass if {
	d := secrets_read.decision with input as _read("user:oscar@example.gov", {"break_glass": "true", "justification": _justification})
	testing.codes(d) == {"secrets_read"}
}
