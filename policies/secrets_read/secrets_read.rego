# METADATA
# title: Secret read
# description: |
#   `secrets.read` needs one security approval. Break-glass (`context.break_glass: true`) lets a
#   principal listed in data.break_glass.principals read at once with a written justification; the
#   security team is notified and a review after the fact is owed.
package approvals.secrets_read

import data.approvals.lib

# METADATA
# title: Action reads a secret
applies if input.action.name == "secrets.read"

# METADATA
# title: Break-glass is reserved
# description: Only principals listed in data.break_glass.principals may invoke it.
violations["break_glass_not_permitted"] := "Break-glass is reserved for the principals listed in the policy data." if {
	_break_glass
	not lib.requester in data.break_glass.principals
}

# METADATA
# title: Break-glass needs a justification
# description: context.justification of at least data.break_glass.min_justification_length characters.
violations["break_glass_justification_missing"] := "Break-glass needs a written context.justification; it is missing or too short." if {
	_break_glass
	not _justified
}

# METADATA
# title: Secret read decision
# description: Misused break-glass denies; break-glass allows with notification; else security approves.
decision := lib.deny(violations) if {
	_break_glass
	not _break_glass_allowed
} else := object.union(
	lib.allow("break_glass", "Break-glass secret read: security is notified and a post-incident review is owed."),
	{"notify": data.break_glass.notify, "post_review": true},
) if {
	_break_glass
} else := lib.require_approval(
	"secrets_read",
	"Reading a secret needs one security approval.",
	"secrets_read",
	set(),
)

_break_glass if input.context.break_glass == true

_break_glass_allowed if {
	lib.requester in data.break_glass.principals
	_justified
}

_justified if {
	justification := input.context.justification
	is_string(justification)
	count(trim_space(justification)) >= data.break_glass.min_justification_length
}
