//! The OpenID Connect records in their DynamoDB table (`OIDC_TABLE`), one item per record,
//! `pk` prefixed by kind so an id of one kind never reads as another:
//!
//! | pk | record | written by |
//! |---|---|---|
//! | `client#<client_id>` | a client registration | `make oidc-client` (infra/ops/oidc_client.py) |
//! | `request#<id>` | a pending authorization request | authorize |
//! | `code#<id>` | an authorization code (secret hashed) | the sign-in page's completion |
//! | `grant#<id>` | a grant (`user_id` for the `by_user` index) | the token endpoint |
//! | `refresh#<id>` | a refresh token (secret hashed) | the token endpoint |
//! | `assertion#<client_id>#<jti>` | a client assertion already used | the token endpoint |
//!
//! Every single-use step is one conditional write (the port's contract); `ttl` is set to the
//! record's own end so DynamoDB cleans up, while the core checks expiry itself.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use onboarding_core::oidc::client::{ClientKind, OidcClient, default_scopes};
use onboarding_core::oidc::ports::{
    AssertionIds, AuthorizationCode, AuthorizationCodes, AuthorizationRequests, ClientRegistry,
    Grant, Grants, PendingAuthorization, Redemption, RefreshToken, RefreshTokens, UserGrants,
};
use onboarding_core::ports::StoreError;

use super::dynamo::{Item, get_n, get_s, map_err, n, opt_n, opt_s, s};

/// How long a used code or refresh token is kept after its own end, so a late replay is still
/// recognised (and revokes its grant) rather than answered as unknown.
const REPLAY_MEMORY_SECONDS: i64 = 24 * 3600;

pub struct DynamoOidc {
    client: Client,
    table: String,
}

impl DynamoOidc {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    async fn get(&self, pk: &str) -> Result<Option<Item>, StoreError> {
        super::dynamo::get_by_pk(&self.client, &self.table, pk).await
    }

    async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        super::dynamo::put_new(&self.client, &self.table, item).await
    }

    /// Sets `field = now` on `pk` only if the item exists and `field` was never set: the
    /// single-use step of codes and refresh tokens.
    async fn set_once(
        &self,
        pk: &str,
        field: &str,
        now: i64,
        extra: Option<(&str, &str)>,
    ) -> Result<(), StoreError> {
        let mut update = "SET #f = :now".to_owned();
        let mut call = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(#f)")
            .expression_attribute_names("#f", field)
            .expression_attribute_values(":now", n(now));
        if let Some((name, value)) = extra {
            update.push_str(", #x = :x");
            call = call
                .expression_attribute_names("#x", name)
                .expression_attribute_values(":x", s(value));
        }
        call.update_expression(update)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()))
    }
}

fn list(item: &Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .filter_map(|v| v.as_s().ok().cloned())
            .collect(),
        Some(AttributeValue::Ss(values)) => values.clone(),
        _ => Vec::new(),
    }
}

fn opt_put(item: &mut Item, name: &str, value: Option<&String>) {
    if let Some(v) = value {
        item.insert(name.into(), s(v));
    }
}

fn client_from(item: &Item) -> Result<OidcClient, StoreError> {
    let kind = match get_s(item, "auth_method")?.as_str() {
        "none" => ClientKind::Public,
        "client_secret_basic" | "client_secret_post" => ClientKind::ConfidentialSecret {
            secret_hash: get_s(item, "secret_sha256")?,
        },
        "private_key_jwt" => ClientKind::ConfidentialPrivateKeyJwt {
            jwks: serde_json::from_str(&get_s(item, "jwks")?)
                .map_err(|_| StoreError::Corrupt("jwks"))?,
        },
        _ => return Err(StoreError::Corrupt("auth_method")),
    };
    let scopes = list(item, "scopes");
    Ok(OidcClient {
        client_id: get_s(item, "client_id")?,
        client_name: get_s(item, "client_name")?,
        kind,
        redirect_uris: list(item, "redirect_uris"),
        post_logout_redirect_uris: list(item, "post_logout_redirect_uris"),
        sector: opt_s(item, "sector"),
        allowed_scopes: if scopes.is_empty() {
            default_scopes()
        } else {
            scopes
        },
    })
}

#[async_trait]
impl ClientRegistry for DynamoOidc {
    async fn get(&self, client_id: &str) -> Result<Option<OidcClient>, StoreError> {
        self.get(&format!("client#{client_id}"))
            .await?
            .map(|item| client_from(&item))
            .transpose()
    }
}

#[async_trait]
impl AuthorizationRequests for DynamoOidc {
    async fn put(&self, request: &PendingAuthorization) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(format!("request#{}", request.id)));
        item.insert("client_id".into(), s(&request.client_id));
        item.insert("redirect_uri".into(), s(&request.redirect_uri));
        item.insert("scope".into(), s(&request.scope));
        opt_put(&mut item, "state", request.state.as_ref());
        opt_put(&mut item, "nonce", request.nonce.as_ref());
        opt_put(&mut item, "code_challenge", request.code_challenge.as_ref());
        if let Some(max_age) = request.max_age {
            item.insert("max_age".into(), n(max_age));
        }
        item.insert("created_at".into(), n(request.created_at));
        item.insert("expires_at".into(), n(request.expires_at));
        item.insert("ttl".into(), n(request.expires_at));
        self.put_new(item).await
    }

    async fn get(&self, id: &str) -> Result<Option<PendingAuthorization>, StoreError> {
        let Some(item) = self.get(&format!("request#{id}")).await? else {
            return Ok(None);
        };
        Ok(Some(PendingAuthorization {
            id: id.to_owned(),
            client_id: get_s(&item, "client_id")?,
            redirect_uri: get_s(&item, "redirect_uri")?,
            scope: get_s(&item, "scope")?,
            state: opt_s(&item, "state"),
            nonce: opt_s(&item, "nonce"),
            code_challenge: opt_s(&item, "code_challenge"),
            max_age: opt_n(&item, "max_age"),
            created_at: get_n(&item, "created_at")?,
            expires_at: get_n(&item, "expires_at")?,
        }))
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("request#{id}")))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(e, |e| e.is_conditional_check_failed_exception()))
    }
}

#[async_trait]
impl AuthorizationCodes for DynamoOidc {
    async fn put(&self, code: &AuthorizationCode) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(format!("code#{}", code.id)));
        item.insert("secret_hash".into(), s(&code.secret_hash));
        item.insert("client_id".into(), s(&code.client_id));
        item.insert("redirect_uri".into(), s(&code.redirect_uri));
        opt_put(&mut item, "code_challenge", code.code_challenge.as_ref());
        opt_put(&mut item, "nonce", code.nonce.as_ref());
        item.insert("scope".into(), s(&code.scope));
        // Not `user_id`: that name feeds the by_user index, which holds grants only.
        item.insert("subject_user".into(), s(&code.user_id));
        item.insert("auth_time".into(), n(code.auth_time));
        opt_put(&mut item, "acr", code.acr.as_ref());
        item.insert("requested_at".into(), n(code.requested_at));
        item.insert("created_at".into(), n(code.created_at));
        item.insert("expires_at".into(), n(code.expires_at));
        item.insert("ttl".into(), n(code.expires_at + REPLAY_MEMORY_SECONDS));
        self.put_new(item).await
    }

    async fn get(&self, id: &str) -> Result<Option<AuthorizationCode>, StoreError> {
        let Some(item) = self.get(&format!("code#{id}")).await? else {
            return Ok(None);
        };
        let redeemed = match (opt_n(&item, "redeemed_at"), opt_s(&item, "grant_id")) {
            (Some(at), Some(grant_id)) => Some(Redemption { at, grant_id }),
            _ => None,
        };
        Ok(Some(AuthorizationCode {
            id: id.to_owned(),
            secret_hash: get_s(&item, "secret_hash")?,
            client_id: get_s(&item, "client_id")?,
            redirect_uri: get_s(&item, "redirect_uri")?,
            code_challenge: opt_s(&item, "code_challenge"),
            nonce: opt_s(&item, "nonce"),
            scope: get_s(&item, "scope")?,
            user_id: get_s(&item, "subject_user")?,
            auth_time: get_n(&item, "auth_time")?,
            acr: opt_s(&item, "acr"),
            requested_at: get_n(&item, "requested_at")?,
            created_at: get_n(&item, "created_at")?,
            expires_at: get_n(&item, "expires_at")?,
            redeemed,
        }))
    }

    async fn redeem(&self, id: &str, grant_id: &str, now: i64) -> Result<(), StoreError> {
        self.set_once(
            &format!("code#{id}"),
            "redeemed_at",
            now,
            Some(("grant_id", grant_id)),
        )
        .await
    }
}

#[async_trait]
impl Grants for DynamoOidc {
    async fn create(&self, grant: &Grant) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(format!("grant#{}", grant.id)));
        item.insert("client_id".into(), s(&grant.client_id));
        item.insert("user_id".into(), s(&grant.user_id));
        item.insert("scope".into(), s(&grant.scope));
        item.insert("auth_time".into(), n(grant.auth_time));
        opt_put(&mut item, "acr", grant.acr.as_ref());
        item.insert("created_at".into(), n(grant.created_at));
        item.insert("expires_at".into(), n(grant.expires_at));
        if let Some(at) = grant.revoked_at {
            item.insert("revoked_at".into(), n(at));
        }
        item.insert("ttl".into(), n(grant.expires_at));
        self.put_new(item).await
    }

    async fn get(&self, id: &str) -> Result<Option<Grant>, StoreError> {
        let Some(item) = self.get(&format!("grant#{id}")).await? else {
            return Ok(None);
        };
        Ok(Some(Grant {
            id: id.to_owned(),
            client_id: get_s(&item, "client_id")?,
            user_id: get_s(&item, "user_id")?,
            scope: get_s(&item, "scope")?,
            auth_time: get_n(&item, "auth_time")?,
            acr: opt_s(&item, "acr"),
            created_at: get_n(&item, "created_at")?,
            expires_at: get_n(&item, "expires_at")?,
            revoked_at: opt_n(&item, "revoked_at"),
        }))
    }

    async fn revoke(&self, id: &str, now: i64) -> Result<(), StoreError> {
        match self
            .set_once(&format!("grant#{id}"), "revoked_at", now, None)
            .await
        {
            // Missing or already revoked: nothing to do (the port's idempotence).
            Err(StoreError::Conflict) => Ok(()),
            other => other,
        }
    }
}

#[async_trait]
impl RefreshTokens for DynamoOidc {
    async fn put(&self, token: &RefreshToken) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(format!("refresh#{}", token.id)));
        item.insert("secret_hash".into(), s(&token.secret_hash));
        item.insert("grant_id".into(), s(&token.grant_id));
        item.insert("client_id".into(), s(&token.client_id));
        item.insert("created_at".into(), n(token.created_at));
        item.insert("expires_at".into(), n(token.expires_at));
        if let Some(at) = token.used_at {
            item.insert("used_at".into(), n(at));
        }
        item.insert("ttl".into(), n(token.expires_at + REPLAY_MEMORY_SECONDS));
        self.put_new(item).await
    }

    async fn get(&self, id: &str) -> Result<Option<RefreshToken>, StoreError> {
        let Some(item) = self.get(&format!("refresh#{id}")).await? else {
            return Ok(None);
        };
        Ok(Some(RefreshToken {
            id: id.to_owned(),
            secret_hash: get_s(&item, "secret_hash")?,
            grant_id: get_s(&item, "grant_id")?,
            client_id: get_s(&item, "client_id")?,
            created_at: get_n(&item, "created_at")?,
            expires_at: get_n(&item, "expires_at")?,
            used_at: opt_n(&item, "used_at"),
        }))
    }

    async fn mark_used(&self, id: &str, now: i64) -> Result<(), StoreError> {
        self.set_once(&format!("refresh#{id}"), "used_at", now, None)
            .await
    }
}

#[async_trait]
impl AssertionIds for DynamoOidc {
    async fn remember(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(format!("assertion#{client_id}#{jti}")));
        item.insert("expires_at".into(), n(expires_at));
        item.insert("ttl".into(), n(expires_at + 60));
        self.put_new(item).await
    }
}

#[async_trait]
impl UserGrants for DynamoOidc {
    /// Deleted, not marked: erasure leaves nothing of the person, and a missing grant is a
    /// revoked one to every check.
    async fn revoke_all(&self, user_id: &str) -> Result<usize, StoreError> {
        super::dynamo::delete_all_of_user(&self.client, &self.table, user_id).await
    }
}
