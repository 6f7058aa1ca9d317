# METADATA
# title: Read-only actions
# description: |
#   Actions whose name ends with one of data.read_only.suffixes (`.read`, `.list`, `.describe`) or
#   that are listed in data.read_only.actions. Allowed outside production; in production a platform
#   engineer confirms, since production reads can still expose customer data.
package approvals.read_only

import data.approvals.lib

# METADATA
# title: Action is read-only
# scope: document
# description: The name has a read-only suffix or is listed as read-only in data.
applies if {
	some suffix in data.read_only.suffixes
	endswith(input.action.name, suffix)
}

applies if input.action.name in data.read_only.actions

# METADATA
# title: Read-only decision
# description: Allow outside production, one platform approval in production.
decision := lib.allow(
	"nonprod_read_only",
	"Read-only action outside production.",
) if {
	not lib.production
} else := lib.require_approval(
	"prod_read_only",
	"Read-only action in production needs one platform approval.",
	"read_only_prod",
	set(),
)
