# METADATA
# title: Shared helpers of the default approvals pack
# description: |
#   Environment classification, principal and identifier checks, and the builders every area uses
#   to produce a decision object of the shape in docs/design.md#42-policy-contract. Builders read approval profiles,
#   channels and grants from `data`, so numbers and role names are reviewed as data, not code.
package approvals.lib

# METADATA
# title: Production unless proven otherwise
# description: |
#   Decided on the environment the gateway vouches for (input.vouched, from the resource
#   inventory), never on the agent's claim alone: only a vouched environment listed in
#   data.environments.non_production counts as non-production. An unknown resource, or a missing,
#   misspelt or non-string environment, is production. A claim can only tighten: an agent that
#   claims any environment other than a non-production one (`prod`, a typo) gets production rules.
production if not _non_production

_non_production if {
	lower(input.vouched.resource.attributes.environment) in data.environments.non_production
	not _claims_stricter_environment
}

_claims_stricter_environment if {
	input.resource.properties.environment != null
	not _claimed_non_production
}

_claimed_non_production if lower(input.resource.properties.environment) in data.environments.non_production

# METADATA
# title: Resource known to the gateway
# description: The gateway found the resource in a trusted source (input.vouched.resource.known).
known_resource if input.vouched.resource.known == true

# METADATA
# title: Vouched attribute
# description: An attribute the gateway vouches for, as a string; undefined when it has none.
vouched(name) := value if {
	value := input.vouched.resource.attributes[name]
	is_string(value)
}

# METADATA
# title: Well-formed principal id
# description: |
#   `<type>:<name>` in printable ASCII without spaces, at most 256 characters. Rejects homoglyphs,
#   bidi overrides, NUL and other control characters, so an id that only looks like another one
#   can never reach an exclude list or a group check. Used for ids an agent supplies.
principal(id) if {
	principal_shape(id)
	count(id) <= 256
	only_chars(id, _principal_chars)
}

# METADATA
# title: Principal id shape
# description: |
#   A string of at most 1024 characters with a lowercase `<type>:` prefix and a non-empty name. The
#   full character check is left out for the authenticated subject: the gateway builds that id
#   itself (IAM ARNs can be long), and every evaluation pays for each scanned character.
principal_shape(id) if {
	is_string(id)
	count(id) <= 1024
	i := indexof(id, ":")
	i > 0
	count(id) > i + 1
	only_chars(substring(id, 0, i), _lower)
}

# METADATA
# title: Well-formed action name
# description: Dot-separated lowercase ASCII segments (`data.export`, `iam.roles.list`), at most 128 characters.
action_name(name) if {
	is_string(name)
	count(name) <= 128
	not startswith(name, ".")
	not endswith(name, ".")
	contains(name, ".")
	not contains(name, "..")
	only_chars(name, _action_chars)
}

# METADATA
# title: Concrete ARN
# description: |
#   A resource id that can be put in a session policy as-is: starts with `arn:`, no space and no
#   IAM wildcard. A grant must never widen to resources the approver did not see. The printable
#   ASCII check is input hygiene's (resource.id), not repeated here.
concrete_arn(id) if {
	is_string(id)
	startswith(id, "arn:")
	not contains(id, "*")
	not contains(id, "?")
	not contains(id, " ")
}

# METADATA
# title: Safe path segment
# description: Characters allowed in a dataset name or S3 key prefix that ends up inside a grant.
path_segment(value) if {
	is_string(value)
	count(value) > 0
	count(value) <= 256
	not contains(value, "..")
	not startswith(value, "/")
	only_chars(value, _path_chars)
}

# METADATA
# title: String made only of the given characters
# description: |
#   trim_left strips every leading character found in `chars`; nothing is left exactly when every
#   character is allowed. One native pass: regex.match recompiles its pattern on each wasm
#   evaluation (the builtin cache is reset with the heap, ~25 µs), and split + set lookups allocate
#   a string per character. The scan tries the listed characters in order for each character of
#   `s`, so the lists below start with the characters ids and names use most.
only_chars(s, chars) if trim_left(s, chars) == ""

# METADATA
# title: Printable ASCII
# description: Space through tilde; excludes every control, zero-width, bidi and non-ASCII character.
printable_ascii := ":-/aesrnoitl0123456789dgpucmvwbfhykjqxz._EAORSNITDLGPUVCMWBFHYKJQXZ @+=,#$%&!~'()[]{}<>;|^`\"\\?*"

_lower := "eaursgntoicdlmhpbfywkvxjqz"

_action_chars := "ae.tsoirnlcdpuxmghbfywkvjqz_0123456789"

_principal_chars := "e.a@r:sonitlcdmuhpgbfywkvxjqz-_0123456789EAORSNITLCDMUHPGBFYWKVXJQZ+/=,"

_path_chars := "e_a20rsnoitldgcpuhmbfywkvxjqz13456789-./EAORSNITLDGCPUHMBFYWKVXJQZ="

# METADATA
# title: Requester
# description: The authenticated subject's id, or an empty string when it is missing.
# scope: document
default requester := ""

requester := id if {
	id := input.subject.id
	is_string(id)
}

# METADATA
# title: Principal the agent acts for
# description: context.on_behalf_of when it is a string; undefined otherwise.
on_behalf_of := input.context.on_behalf_of if is_string(input.context.on_behalf_of)

# METADATA
# title: Deny decision
# description: |
#   Builds a deny from an object of reason code to message. Codes are sorted so the reasons array
#   is identical in the Go and wasm engines.
deny(violations) := {
	"outcome": "deny",
	"reasons": [{"code": code, "message": violations[code]} | some code in sort(object.keys(violations))],
}

# METADATA
# title: Allow decision
# description: An allow with one reason and the grant data names for the action.
allow(code, message) := {
	"outcome": "allow",
	"reasons": [{"code": code, "message": message}],
	"grant": grant,
}

# METADATA
# title: Approval decision
# description: |
#   A require_approval built from the approval profile `profile` in data. `extra_exclude` names
#   principals this rule removes from the reviewers on top of the requester and on_behalf_of.
require_approval(code, message, profile, extra_exclude) := {
	"outcome": "require_approval",
	"reasons": [{"code": code, "message": message}],
	"approval": object.union(data.approval_profiles[profile], {
		"exclude": sort(_base_exclude | extra_exclude),
		"channels": data.approval_channels,
	}),
	"grant": grant,
}

# The requester is excluded by the core as well; naming it here keeps the decision self-describing.
_base_exclude contains requester if requester != ""

_base_exclude contains on_behalf_of

# METADATA
# title: Grant for the requested action
# description: |
#   From data.grants[action]: role, IAM actions and a resource scope. `resource` grants the
#   resource id itself; `export_dataset` grants the objects under `<bucket arn>/<dataset>/`.
#   Actions without an entry need no AWS access and get `{"type": "none"}`.
# scope: document
default grant := {"type": "none"}

grant := object.union(
	{
		"type": "aws_sts",
		"role": entry.role,
		"actions": entry.actions,
		"resources": _grant_resources(entry.resource_scope),
		"window_seconds": entry.window_seconds,
	},
	_stated_wildcards(entry.resource_scope),
) if {
	entry := data.grants[input.action.name]
}

# The gateway refuses any wildcard a grant does not state. The trailing `/*` of an export is the
# policy's own; the dataset before it is checked to be a plain path segment (data_export).
_stated_wildcards("export_dataset") := {"wildcards": _grant_resources("export_dataset")}

_stated_wildcards("resource") := {}

_grant_resources("resource") := [input.resource.id]

_grant_resources("export_dataset") := [concat("", [input.resource.id, "/", input.action.args.dataset, "/*"])]
