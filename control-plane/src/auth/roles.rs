//! Roles and what each may do: the one table every endpoint is checked
//! against (`docs/roles.md` shows it; a test walks it over HTTP).

use std::fmt;
use std::str::FromStr;

use crate::error::InternalError;

/// A member's (or an API key's) role in an organization, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Owner,
    Admin,
    Developer,
    Viewer,
    Billing,
}

/// Something an endpoint does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    InstancesRead,
    InstancesWrite,
    CredentialsRead,
    CredentialsWrite,
    MappingsRead,
    MappingsWrite,
    TopicsRead,
    TopicsWrite,
    MessagesRead,
    ApiKeysRead,
    ApiKeysWrite,
    AuditRead,
    MembersRead,
    MembersWrite,
    OrganizationWrite,
    UsageRead,
    BillingRead,
    BillingWrite,
}

impl Permission {
    #[cfg(test)]
    pub const ALL: [Permission; 18] = [
        Permission::InstancesRead,
        Permission::InstancesWrite,
        Permission::CredentialsRead,
        Permission::CredentialsWrite,
        Permission::MappingsRead,
        Permission::MappingsWrite,
        Permission::TopicsRead,
        Permission::TopicsWrite,
        Permission::MessagesRead,
        Permission::ApiKeysRead,
        Permission::ApiKeysWrite,
        Permission::AuditRead,
        Permission::MembersRead,
        Permission::MembersWrite,
        Permission::OrganizationWrite,
        Permission::UsageRead,
        Permission::BillingRead,
        Permission::BillingWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::InstancesRead => "instances:read",
            Permission::InstancesWrite => "instances:write",
            Permission::CredentialsRead => "credentials:read",
            Permission::CredentialsWrite => "credentials:write",
            Permission::MappingsRead => "mappings:read",
            Permission::MappingsWrite => "mappings:write",
            Permission::TopicsRead => "topics:read",
            Permission::TopicsWrite => "topics:write",
            Permission::MessagesRead => "messages:read",
            Permission::ApiKeysRead => "api_keys:read",
            Permission::ApiKeysWrite => "api_keys:write",
            Permission::AuditRead => "audit:read",
            Permission::MembersRead => "members:read",
            Permission::MembersWrite => "members:write",
            Permission::OrganizationWrite => "organization:write",
            Permission::UsageRead => "usage:read",
            Permission::BillingRead => "billing:read",
            Permission::BillingWrite => "billing:write",
        }
    }

    /// What the permission covers, for `docs/roles.md`.
    #[cfg(test)]
    fn covers(self) -> &'static str {
        match self {
            Permission::InstancesRead => "list and get instances",
            Permission::InstancesWrite => "create and delete instances",
            Permission::CredentialsRead => "list an instance's credentials (never their passwords)",
            Permission::CredentialsWrite => "create (seeing the password once) and revoke credentials",
            Permission::MappingsRead => "list and get MQTT↔Kafka mappings",
            Permission::MappingsWrite => "create, change and delete mappings",
            Permission::TopicsRead => "list and get an instance's Kafka topics",
            Permission::TopicsWrite => "create, grow, configure and delete topics (deleting drops their data)",
            Permission::MessagesRead => "read the latest records of a topic (their keys and values)",
            Permission::ApiKeysRead => "list and get API keys (never the keys)",
            Permission::ApiKeysWrite => "create and revoke API keys, of the caller's role or below",
            Permission::AuditRead => "read the organization's audit log",
            Permission::MembersRead => "list members and open invitations",
            Permission::MembersWrite => "invite, change roles (up to the caller's), remove members",
            Permission::OrganizationWrite => "rename the organization",
            Permission::UsageRead => "read the metered usage of instances and of the organization",
            Permission::BillingRead => "read invoices (drafts and finalized) and spend alerts",
            Permission::BillingWrite => "set and delete spend alerts",
        }
    }
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Developer, Role::Viewer, Role::Billing];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
            Role::Billing => "billing",
        }
    }

    /// The table: owners and admins do everything here; developers build
    /// (instances, credentials, mappings, topics) but hold no API keys, read no
    /// audit log or invoices and manage no members; viewers read
    /// what developers build, but not the messages in it; billing sees which instances there are and what
    /// they used (what is billed), the invoices and the spend alerts,
    /// nothing inside the instances. Everyone reads usage.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner | Role::Admin => true,
            Role::Developer => !matches!(
                permission,
                ApiKeysRead | ApiKeysWrite | AuditRead | MembersWrite | OrganizationWrite | BillingRead | BillingWrite
            ),
            Role::Viewer => {
                matches!(
                    permission,
                    InstancesRead | CredentialsRead | MappingsRead | TopicsRead | MembersRead | UsageRead
                )
            }
            Role::Billing => matches!(permission, InstancesRead | MembersRead | UsageRead | BillingRead | BillingWrite),
        }
    }

    /// Whether a caller of this role may hand `other` to an API key or a
    /// member: never more than its own, and only owners make owners.
    pub fn can_grant(self, other: Role) -> bool {
        self.allows(Permission::ApiKeysWrite) && (self == Role::Owner || other != Role::Owner)
    }
}

impl Role {
    /// A role as the database holds it; anything else there is corrupt data.
    pub fn stored(text: &str) -> Result<Role, InternalError> {
        text.parse().map_err(|()| InternalError::Corrupt(format!("unknown role {text:?}")))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Role, ()> {
        Role::ALL.into_iter().find(|role| role.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/roles.md");
    const BEGIN: &str = "<!-- the table: generated from control-plane/src/auth/roles.rs -->";
    const END: &str = "<!-- end of the table -->";

    fn table() -> String {
        let mut out = String::from("| permission | what it covers |");
        for role in Role::ALL {
            out.push_str(&format!(" {role} |"));
        }
        out.push_str("\n| --- | --- |");
        out.push_str(&" --- |".repeat(Role::ALL.len()));
        out.push('\n');
        for permission in Permission::ALL {
            out.push_str(&format!("| `{}` | {} |", permission.as_str(), permission.covers()));
            for role in Role::ALL {
                out.push_str(if role.allows(permission) { " yes |" } else { " no |" });
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn docs_roles_md_shows_this_table() {
        let doc = std::fs::read_to_string(DOC).unwrap_or_default();
        let (before, rest) = doc.split_once(BEGIN).unwrap_or((&doc, ""));
        let after = rest.split_once(END).map_or("", |(_, after)| after);
        let expected = format!("{before}{BEGIN}\n{}{END}{after}", table());
        if std::env::var_os("OMNIBUS_UPDATE_DOCS").is_some() {
            std::fs::write(DOC, &expected).unwrap();
        }
        assert!(
            doc == expected,
            "docs/roles.md is stale: run `OMNIBUS_UPDATE_DOCS=1 cargo test -p omnibus-control-plane roles` and commit it"
        );
    }

    #[test]
    fn roles_parse_and_nest() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
        for permission in Permission::ALL {
            assert!(Role::Owner.allows(permission));
            // A viewer can do nothing a developer cannot.
            assert!(!Role::Viewer.allows(permission) || Role::Developer.allows(permission), "{permission:?}");
        }
        assert!(Role::Owner.can_grant(Role::Owner));
        assert!(Role::Admin.can_grant(Role::Admin) && !Role::Admin.can_grant(Role::Owner));
        assert!(!Role::Developer.can_grant(Role::Viewer));
    }
}
