# METADATA
# title: Input hygiene
# description: |
#   Checks that apply to every request before any area rule looks at it. An input that fails one
#   of them is denied with the codes below, whatever the action: the rules further on match names
#   and ids exactly, so a malformed value must never be left to fall through to a weaker rule.
package approvals.hygiene

import data.approvals.lib

# METADATA
# title: Input passes every hygiene check
# description: |
#   The common case, decided from the memoized checks without building the violations object
#   (its messages cost allocations on every wasm evaluation).
clean if {
	_subject_ok
	_action_name_ok
	not _bad_on_behalf_of
	_resource_ok
	not _bad_grant_resource
}

# METADATA
# title: Subject must be a principal id
# description: The authenticated subject id has a lowercase `<type>:` prefix and a name.
violations["invalid_subject"] := "The requester id is missing or malformed; the gateway must set subject.id." if {
	not _subject_ok
}

# METADATA
# title: Action name must be well-formed
# description: Lowercase ASCII dot-separated segments; rejects homoglyphs, bidi overrides and NUL.
violations["invalid_action_name"] := "The action name is missing or malformed; use lowercase dot-separated ASCII such as data.export." if {
	not _action_name_ok
}

# METADATA
# title: on_behalf_of must be a well-formed principal when present
# description: |
#   The human an agent acts for is excluded from review. An id that only resembles a real one
#   would exclude nobody, so anything but a well-formed principal is refused.
violations["invalid_on_behalf_of"] := "context.on_behalf_of must be a principal id such as user:alice@example.gov." if {
	_bad_on_behalf_of
}

# METADATA
# title: Resource must be identified
# description: |
#   resource.type and resource.id are printable ASCII: no control, zero-width or bidi character,
#   and no homoglyph of a real resource name shown to an approver.
violations["invalid_resource"] := "The resource type or id is missing, too long, or not printable ASCII." if {
	not _resource_ok
}

# METADATA
# title: Granted resources must be concrete ARNs
# description: |
#   When the action comes with AWS credentials, the resource id goes into the session policy, so
#   it must be an ARN without wildcards.
violations["invalid_grant_resource"] := "This action is granted AWS credentials on the resource, so resource.id must be an ARN without wildcards." if {
	_bad_grant_resource
}

# Each check sits in its own rule: `not f(input.x)` is undefined, not true, when input.x is missing.
_subject_ok if lib.principal_shape(input.subject.id)

_action_name_ok if lib.action_name(input.action.name)

_bad_on_behalf_of if {
	input.context.on_behalf_of != null
	not _on_behalf_of_ok
}

_on_behalf_of_ok if lib.principal(input.context.on_behalf_of)

_bad_grant_resource if {
	data.grants[input.action.name]
	not _grant_resource_ok
}

_grant_resource_ok if lib.concrete_arn(input.resource.id)

_resource_ok if {
	is_string(input.resource.type)
	count(input.resource.type) > 0
	count(input.resource.type) <= 256
	is_string(input.resource.id)
	count(input.resource.id) > 0
	count(input.resource.id) <= 2048
	lib.only_chars(input.resource.type, lib.printable_ascii)
	lib.only_chars(input.resource.id, lib.printable_ascii)
}
