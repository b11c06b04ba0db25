//! The `<security><authorization>` section: IIS URL Authorization's rules.

use roxmltree::Node;

use super::error::{WebConfigError, HRESULT_DUPLICATE};
use super::parse::{Collection, Parser};
use crate::authorization::{AccessType, AuthorizationRule, AuthorizationRules};

/// The collection key: IIS's combined key of `users`, `roles` and `verbs`.
fn key(users: &str, roles: &str, verbs: &str) -> String {
    format!("{users}\u{1}{roles}\u{1}{verbs}")
}

impl<'input> Parser<'_, 'input> {
    /// Applies `<authorization>` onto `rules`: `<add>`, `<remove>` and `<clear/>`
    /// change the inherited collection (IIS's default `Allow users="*"`, or a
    /// parent folder's rules), as IIS merges configuration levels.
    pub(super) fn authorization(
        &mut self,
        node: Node<'_, 'input>,
        rules: &mut AuthorizationRules,
    ) -> Result<(), WebConfigError> {
        self.attributes(node, &[], &["bypassLoginPages"])?;
        let mut coll: Collection<AuthorizationRule> = Collection::new(true);
        for r in rules.rules() {
            coll.push(
                &key(r.users_attr(), r.roles_attr(), r.verbs_attr()),
                r.clone(),
            );
        }
        for child in Self::elements(node) {
            let name = child.tag_name().name();
            let (users, roles, verbs) = (
                child.attribute("users").unwrap_or(""),
                child.attribute("roles").unwrap_or(""),
                child.attribute("verbs").unwrap_or(""),
            );
            match name {
                "add" => {
                    self.attributes(child, &["accessType", "users", "roles", "verbs"], &[])?;
                    let access = self
                        .enum_attr(
                            child,
                            "accessType",
                            &[("Allow", AccessType::Allow), ("Deny", AccessType::Deny)],
                        )?
                        .ok_or_else(|| {
                            self.error(
                                child,
                                None,
                                "Missing required attribute 'accessType'".to_owned(),
                            )
                        })?;
                    let k = key(users, roles, verbs);
                    if coll.contains(&k) {
                        return Err(self.error_at(
                            child.range().start,
                            "add",
                            None,
                            format!(
                                "Cannot add duplicate collection entry of type 'add' with combined key attributes 'users, roles, verbs' respectively set to '{users}, {roles}, {verbs}'"
                            ),
                            HRESULT_DUPLICATE,
                        ));
                    }
                    let rule = AuthorizationRule::new(access)
                        .users(users)
                        .roles(roles)
                        .verbs(verbs);
                    coll.push(&k, rule);
                }
                "remove" => {
                    self.attributes(child, &["users", "roles", "verbs"], &[])?;
                    coll.remove(&key(users, roles, verbs));
                }
                "clear" => {
                    self.attributes(child, &[], &[])?;
                    coll.clear();
                }
                _ => return Err(self.unrecognized(child)),
            }
        }
        *rules = coll
            .into_values()
            .into_iter()
            .fold(AuthorizationRules::new(), AuthorizationRules::with);
        Ok(())
    }
}
