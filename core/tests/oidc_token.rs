//! The OpenID provider's token endpoint on in-memory adapters: client authentication (none,
//! secret, private_key_jwt), the code exchange (PKCE, single use, replay revoking the grant,
//! nothing half-written on failures), the tokens' claims, and refresh with rotation and reuse
//! detection.

mod oidc_support;

use oidc_support::*;
use onboarding_core::audit::AuditKind;
use onboarding_core::memory::oidc::{
    KEY_CLIENT, PUBLIC_CLIENT, PUBLIC_REDIRECT, SECRET, SECRET_CLIENT, SECRET_REDIRECT,
};
use onboarding_core::oidc::subject::{pairwise_key, pairwise_subject};
use onboarding_core::oidc::{ErrorCode, OAuthError};
use serde_json::json;

/// The public client's code for `openid profile`, and the body that exchanges it.
async fn public_code(world: &World) -> String {
    world.code(&public_request()).await
}

async fn exchange(
    world: &World,
    client_id: &str,
    code: &str,
    verifier: Option<&str>,
) -> Result<onboarding_core::oidc::token::TokenResponse, OAuthError> {
    let mut body = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_of(client_id)),
    ];
    if let Some(verifier) = verifier {
        body.push(("code_verifier", verifier));
    }
    world.token_request(client_id, &body).await
}

fn code_of(err: Result<impl std::fmt::Debug, OAuthError>) -> ErrorCode {
    err.expect_err("refused").code
}

/// user-1's pairwise subject for `sector`, as the test key ring makes it.
fn subject(sector: &str) -> String {
    pairwise_subject(&pairwise_key(b"test pseudonym key"), sector, "user-1")
}

#[tokio::test]
async fn a_public_client_exchanges_its_code_and_verifier_for_id_access_and_refresh_tokens() {
    // GIVEN the public client's code for `openid profile`
    let world = World::new();
    let code = public_code(&world).await;
    // WHEN it exchanges it with its PKCE verifier
    let tokens = exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER))
        .await
        .expect("issued");
    // THEN it gets five-minute bearer tokens for the requested scope
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.expires_in, 300);
    assert_eq!(tokens.scope, "openid profile");
    // AND an ID token about the person, for this client, from this scan
    let (header, id) = decode(tokens.id_token.as_deref().expect("openid scope"));
    assert_eq!(header, json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}));
    let grant = world.grants.all().pop().expect("one grant");
    let now = NOW + 5;
    assert_eq!(
        id,
        json!({
            "iss": "https://api.example.com",
            "sub": subject(PUBLIC_CLIENT),
            "aud": PUBLIC_CLIENT,
            "azp": PUBLIC_CLIENT,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
            "nonce": "nonce-1",
            "amr": ["face"],
            "acr": GP_ACR,
            "sid": grant.id,
            "name": "Alice",
        })
    );
    // AND an RFC 9068 access token for this API, naming the same grant
    let (header, access) = decode(&tokens.access_token);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(access["aud"], "https://api.example.com");
    assert_eq!(access["client_id"], PUBLIC_CLIENT);
    assert_eq!(access["scope"], "openid profile");
    assert_eq!(access["sid"], grant.id.as_str());
    assert_eq!(access["sub"], id["sub"]);
    assert_eq!(access["auth_time"], now);
    assert!(access["jti"].as_str().is_some_and(|j| j.len() == 32));
    // AND a refresh token of that grant, stored hashed; the grant lives 30 days
    let (refresh_id, _) = tokens.refresh_token.split_once('.').expect("credential");
    assert_eq!(
        world.refresh_tokens.token(refresh_id).unwrap().grant_id,
        grant.id
    );
    assert_eq!(grant.user_id, "user-1");
    assert_eq!(grant.expires_at, now + 30 * 86_400);
    // AND nothing in the answer's Debug shows a token
    assert!(!format!("{tokens:?}").contains(&tokens.access_token));
}

#[tokio::test]
async fn two_clients_see_two_different_subjects_for_the_same_person() {
    let world = World::new();
    let public = world.tokens(PUBLIC_CLIENT, "openid").await;
    let secret = world.tokens(SECRET_CLIENT, "openid").await;
    let a = decode(&public.id_token.unwrap()).1["sub"].clone();
    let b = decode(&secret.id_token.unwrap()).1["sub"].clone();
    assert_ne!(a, b);
    assert_ne!(a, "user-1");
}

#[tokio::test]
async fn a_sector_shared_by_two_clients_gives_them_one_subject() {
    let world = World::new();
    for id in [PUBLIC_CLIENT, SECRET_CLIENT] {
        let mut client = world.clients.client(id).unwrap();
        client.sector = Some("https://family.example".into());
        world.clients.register(client);
    }
    let a = world
        .tokens(PUBLIC_CLIENT, "openid")
        .await
        .id_token
        .unwrap();
    let b = world
        .tokens(SECRET_CLIENT, "openid")
        .await
        .id_token
        .unwrap();
    assert_eq!(decode(&a).1["sub"], decode(&b).1["sub"]);
    assert_eq!(decode(&a).1["sub"], subject("https://family.example"));
}

#[tokio::test]
async fn the_name_claim_needs_the_profile_scope() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    let (_, id) = decode(&tokens.id_token.unwrap());
    assert!(id.get("name").is_none());
    assert!(id.get("nonce").is_some());
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_is_invalid_grant_and_leaves_the_code_usable() {
    // GIVEN the public client's code
    let world = World::new();
    let code = public_code(&world).await;
    // WHEN it is presented with a wrong verifier, without one, or with the challenge itself
    for verifier in [Some(&*"x".repeat(43)), None, Some(CHALLENGE)] {
        assert_eq!(
            code_of(exchange(&world, PUBLIC_CLIENT, &code, verifier).await),
            ErrorCode::InvalidGrant
        );
    }
    // THEN nothing was issued, and the right verifier still works
    assert_eq!(world.grants.all().len(), 0);
    assert!(
        exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_confidential_client_without_pkce_may_not_add_a_verifier_at_the_token_endpoint() {
    // GIVEN a code the secret client asked for without a challenge
    let world = World::new();
    let request = request_of(SECRET_CLIENT, "openid");
    let pairs: Vec<(&str, &str)> = request.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let code = world.code(&pairs).await;
    // WHEN it is exchanged with a verifier (a downgrade attempt), then without
    let with_verifier = exchange(&world, SECRET_CLIENT, &code, Some(VERIFIER)).await;
    let without = exchange(&world, SECRET_CLIENT, &code, None).await;
    // THEN only the exchange that matches the request works
    assert_eq!(code_of(with_verifier), ErrorCode::InvalidGrant);
    assert!(without.is_ok());
}

#[tokio::test]
async fn a_confidential_client_authenticates_with_basic_or_post_and_a_wrong_secret_is_invalid_client()
 {
    let world = World::new();
    let request = request_of(SECRET_CLIENT, "openid");
    let pairs: Vec<(&str, &str)> = request.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let code = world.code(&pairs).await;
    let body = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", SECRET_REDIRECT),
    ];
    let endpoint = world.token_endpoint();
    // A wrong secret (Basic), a secret-less request by the confidential client, an unknown id
    let wrong = endpoint
        .handle(Some(&basic(SECRET_CLIENT, "wrong")), &params(&body))
        .await;
    let err = wrong.expect_err("wrong secret");
    assert_eq!(err.code, ErrorCode::InvalidClient);
    assert_eq!(err.code.http_status(), 401);
    assert!(err.www_authenticate().is_some());
    let no_secret = endpoint
        .handle(None, &params(&with(&body, "client_id", SECRET_CLIENT)))
        .await;
    assert_eq!(code_of(no_secret), ErrorCode::InvalidClient);
    let unknown = endpoint
        .handle(Some(&basic("nobody", SECRET)), &params(&body))
        .await;
    assert_eq!(unknown.expect_err("unknown").description, err.description);
    // The secret in the body works
    let mut post = body.to_vec();
    post.extend([("client_id", SECRET_CLIENT), ("client_secret", SECRET)]);
    assert!(endpoint.handle(None, &params(&post)).await.is_ok());
}

#[tokio::test]
async fn a_public_client_presenting_a_secret_is_refused() {
    let world = World::new();
    let code = public_code(&world).await;
    let body = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", PUBLIC_REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let result = world
        .token_endpoint()
        .handle(Some(&basic(PUBLIC_CLIENT, "anything")), &params(&body))
        .await;
    assert_eq!(code_of(result), ErrorCode::InvalidClient);
}

#[tokio::test]
async fn a_code_works_only_for_its_client_and_its_redirect_uri() {
    let world = World::new();
    let code = public_code(&world).await;
    // Another client presenting it
    let other = world
        .token_request(
            SECRET_CLIENT,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", PUBLIC_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(code_of(other), ErrorCode::InvalidGrant);
    // Another (even registered) redirect URI, or none
    for redirect in [Some("https://app.example/cb"), None] {
        let mut body = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", VERIFIER),
        ];
        if let Some(redirect) = redirect {
            body.push(("redirect_uri", redirect));
        }
        assert_eq!(
            code_of(world.token_request(PUBLIC_CLIENT, &body).await),
            ErrorCode::InvalidGrant
        );
    }
    // A made-up secret for the real id
    let (id, _) = code.split_once('.').unwrap();
    let forged = format!("{id}.{}", "A".repeat(43));
    assert_eq!(
        code_of(exchange(&world, PUBLIC_CLIENT, &forged, Some(VERIFIER)).await),
        ErrorCode::InvalidGrant
    );
    assert!(
        exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_code_expires_after_sixty_seconds() {
    let world = World::new();
    let code = public_code(&world).await;
    world.clock.advance(60);
    let result = exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER)).await;
    assert_eq!(code_of(result), ErrorCode::InvalidGrant);
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_the_grant_it_issued() {
    // GIVEN a code exchanged once, whose access token works
    let world = World::new();
    let code = public_code(&world).await;
    let tokens = exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER))
        .await
        .expect("first exchange");
    assert!(
        world
            .access_check()
            .check(&tokens.access_token)
            .await
            .is_ok()
    );
    // WHEN the code is presented again
    let replay = exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER)).await;
    // THEN it is refused, and every token of the first exchange is dead
    assert_eq!(code_of(replay), ErrorCode::InvalidGrant);
    assert_eq!(world.grants.live(), 0);
    let check = world.access_check().check(&tokens.access_token).await;
    assert_eq!(code_of(check), ErrorCode::InvalidToken);
    assert_eq!(
        code_of(world.refresh(PUBLIC_CLIENT, &tokens.refresh_token).await),
        ErrorCode::InvalidGrant
    );
    // AND the trail holds the grant's issue, then its revocation for a replayed code
    let audited: Vec<_> = world
        .audit
        .published()
        .into_iter()
        .map(|e| (e.kind, e.reason, e.user_id))
        .collect();
    assert_eq!(
        audited,
        [
            (AuditKind::OidcGrantIssued, None, Some("user-1".to_owned())),
            (
                AuditKind::OidcGrantRevoked,
                Some("code_replayed".to_owned()),
                Some("user-1".to_owned())
            ),
        ]
    );
}

#[tokio::test]
async fn two_exchanges_of_one_code_at_once_leave_no_live_grant() {
    // GIVEN one code
    let world = World::new();
    let code = public_code(&world).await;
    // WHEN two exchanges race
    let (a, b) = futures::join!(
        exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER)),
        exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER)),
    );
    // THEN at least one is refused as a replay, and whatever was issued is revoked
    let refusals: Vec<ErrorCode> = [&a, &b]
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.code))
        .collect();
    assert!(!refusals.is_empty());
    assert!(
        refusals.iter().all(|c| *c == ErrorCode::InvalidGrant),
        "{refusals:?}"
    );
    assert_eq!(world.grants.live(), 0);
    assert_eq!(
        world.grants.all().len(),
        2,
        "both exchanges got as far as their grant"
    );
    for tokens in [a, b].into_iter().flatten() {
        let check = world.access_check().check(&tokens.access_token).await;
        assert_eq!(code_of(check), ErrorCode::InvalidToken);
    }
}

#[tokio::test]
async fn a_signer_outage_spends_nothing_and_the_same_code_works_afterwards() {
    // GIVEN a code, and the key service down
    let world = World::new();
    let code = public_code(&world).await;
    world.keys.set_down(true);
    // WHEN the client exchanges it
    let down = exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER)).await;
    // THEN it is told to retry, and nothing was written
    assert_eq!(code_of(down), ErrorCode::TemporarilyUnavailable);
    assert_eq!(world.grants.all().len(), 0);
    assert_eq!(world.refresh_tokens.count(), 0);
    // AND once the key service is back the same code works
    world.keys.set_down(false);
    assert!(
        exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_store_failure_before_the_redemption_leaves_no_live_grant_and_the_code_usable() {
    // GIVEN a code, and the refresh-token store, then the code store's redeem, failing once
    for failing in ["put_refresh", "redeem"] {
        let world = World::new();
        let code = public_code(&world).await;
        if failing == "put_refresh" {
            world.refresh_tokens.outages.fail_next(failing, 1);
        } else {
            world.codes.outages.fail_next(failing, 1);
        }
        // WHEN the client exchanges it
        let failed = exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER)).await;
        // THEN it is told to retry, the grant created meanwhile is revoked…
        assert_eq!(
            code_of(failed),
            ErrorCode::TemporarilyUnavailable,
            "{failing}"
        );
        assert_eq!(world.grants.live(), 0, "{failing}");
        // …and the retry gets tokens
        let tokens = exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER))
            .await
            .expect("retry");
        assert!(
            world
                .access_check()
                .check(&tokens.access_token)
                .await
                .is_ok()
        );
        assert_eq!(world.grants.live(), 1);
    }
}

#[tokio::test]
async fn a_person_erased_since_the_scan_gets_no_tokens() {
    let world = World::new();
    let code = public_code(&world).await;
    world.profiles.erase("user-1");
    let result = exchange(&world, PUBLIC_CLIENT, &code, Some(VERIFIER)).await;
    assert_eq!(code_of(result), ErrorCode::InvalidGrant);
    assert_eq!(world.grants.all().len(), 0);
}

#[tokio::test]
async fn the_grant_type_must_be_one_we_support_and_the_client_authenticates_first() {
    let world = World::new();
    let unsupported = world
        .token_request(PUBLIC_CLIENT, &[("grant_type", "password")])
        .await;
    assert_eq!(code_of(unsupported), ErrorCode::UnsupportedGrantType);
    let missing = world.token_request(PUBLIC_CLIENT, &[]).await;
    assert_eq!(code_of(missing), ErrorCode::InvalidRequest);
    let unknown_client = world
        .token_request("nobody", &[("grant_type", "password")])
        .await;
    assert_eq!(code_of(unknown_client), ErrorCode::InvalidClient);
}

#[tokio::test]
async fn a_private_key_jwt_client_authenticates_with_a_fresh_assertion_once() {
    // GIVEN the keyed client's code
    let world = World::new();
    let request = request_of(KEY_CLIENT, "openid");
    let pairs: Vec<(&str, &str)> = request.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let code = world.code(&pairs).await;
    let assertion = world.assertion(&json!({}));
    let body = |assertion: &str| {
        params(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_of(KEY_CLIENT)),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
    };
    // WHEN it exchanges the code with a signed assertion
    let tokens = world.token_endpoint().handle(None, &body(&assertion)).await;
    // THEN it is authenticated
    assert!(tokens.is_ok(), "{tokens:?}");
    // AND the same assertion (its jti) is refused the second time
    let replay = world.token_endpoint().handle(None, &body(&assertion)).await;
    assert_eq!(code_of(replay), ErrorCode::InvalidClient);
}

#[tokio::test]
async fn a_client_assertion_with_wrong_claims_or_signature_is_invalid_client() {
    let world = World::new();
    let auth = world.client_auth();
    let now = world.now();
    let forged = onboarding_core::memory::oidc::TestAssertionVerifier::assertion(
        b"another key",
        "ES256",
        "c1",
        &json!({"iss": KEY_CLIENT, "sub": KEY_CLIENT, "aud": "https://api.example.com",
                "exp": now + 60, "jti": "forged"}),
    );
    let unsigned = format!(
        "{}.{}.",
        onboarding_core::oidc::encoding::b64url(br#"{"alg":"none"}"#),
        onboarding_core::oidc::encoding::b64url(
            json!({"iss": KEY_CLIENT, "sub": KEY_CLIENT, "aud": "https://api.example.com",
                   "exp": now + 60, "jti": "none"})
            .to_string()
            .as_bytes()
        )
    );
    let cases = [
        ("another subject", world.assertion(&json!({"sub": "other"}))),
        (
            "another audience",
            world.assertion(&json!({"aud": "https://rp.example"})),
        ),
        ("expired", world.assertion(&json!({"exp": now - 10}))),
        (
            "too long-lived",
            world.assertion(&json!({"exp": now + 2 * 3600})),
        ),
        ("no jti", world.assertion(&json!({"jti": ""}))),
        ("not yet valid", world.assertion(&json!({"nbf": now + 60}))),
        ("signed with another key", forged),
        ("alg none", unsigned),
    ];
    for (why, assertion) in cases {
        let credentials = onboarding_core::oidc::client_auth::ClientCredentials::Assertion {
            client_id: None,
            assertion,
        };
        let result = auth.authenticate(&credentials).await;
        assert_eq!(code_of(result), ErrorCode::InvalidClient, "{why}");
    }
    // The issuer itself is an accepted audience, as a list member too.
    let credentials = onboarding_core::oidc::client_auth::ClientCredentials::Assertion {
        client_id: Some(KEY_CLIENT.into()),
        assertion: world.assertion(&json!({"aud": ["x", "https://api.example.com"]})),
    };
    assert!(auth.authenticate(&credentials).await.is_ok());
}

#[tokio::test]
async fn a_refresh_rotates_the_token_and_keeps_the_original_auth_time() {
    // GIVEN tokens issued at NOW + 5
    let world = World::new();
    let first = world
        .tokens(PUBLIC_CLIENT, "openid profile offline_access")
        .await;
    // WHEN the client refreshes an hour later
    world.clock.advance(3600);
    let second = world
        .refresh(PUBLIC_CLIENT, &first.refresh_token)
        .await
        .expect("refreshed");
    // THEN it gets new tokens of the same grant, from the same scan, without a nonce
    assert_ne!(second.refresh_token, first.refresh_token);
    let (_, old) = decode(first.id_token.as_deref().unwrap());
    let (_, new) = decode(second.id_token.as_deref().unwrap());
    assert_eq!(new["auth_time"], NOW + 5);
    assert_eq!(new["iat"], NOW + 5 + 3600);
    assert_eq!(new["sid"], old["sid"]);
    assert_eq!(new["sub"], old["sub"]);
    assert_eq!(new["name"], "Alice");
    assert!(new.get("nonce").is_none());
    // AND the old refresh token is spent, the new one works
    let (old_id, _) = first.refresh_token.split_once('.').unwrap();
    assert_eq!(
        world.refresh_tokens.token(old_id).unwrap().used_at,
        Some(NOW + 5 + 3600)
    );
    assert!(
        world
            .refresh(PUBLIC_CLIENT, &second.refresh_token)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_the_whole_grant() {
    // GIVEN a refresh token already rotated once
    let world = World::new();
    let first = world.tokens(SECRET_CLIENT, "openid").await;
    let second = world
        .refresh(SECRET_CLIENT, &first.refresh_token)
        .await
        .expect("refreshed");
    // WHEN the spent token is presented again
    let reuse = world.refresh(SECRET_CLIENT, &first.refresh_token).await;
    // THEN it is refused, and the grant is revoked: the newer refresh token and the access
    // token issued with it are dead too
    assert_eq!(code_of(reuse), ErrorCode::InvalidGrant);
    assert_eq!(world.grants.live(), 0);
    assert_eq!(
        code_of(world.refresh(SECRET_CLIENT, &second.refresh_token).await),
        ErrorCode::InvalidGrant
    );
    let check = world.access_check().check(&second.access_token).await;
    assert_eq!(code_of(check), ErrorCode::InvalidToken);
    // AND the trail says issued, refreshed, revoked for a reused refresh token
    let audited: Vec<_> = world
        .audit
        .published()
        .into_iter()
        .map(|e| (e.kind, e.reason))
        .collect();
    assert_eq!(
        audited,
        [
            (AuditKind::OidcGrantIssued, None),
            (AuditKind::OidcTokensRefreshed, None),
            (
                AuditKind::OidcGrantRevoked,
                Some("refresh_reused".to_owned())
            ),
        ]
    );
}

#[tokio::test]
async fn two_refreshes_with_one_token_at_once_revoke_the_grant() {
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    let (a, b) = futures::join!(
        world.refresh(PUBLIC_CLIENT, &tokens.refresh_token),
        world.refresh(PUBLIC_CLIENT, &tokens.refresh_token),
    );
    let refusals: Vec<ErrorCode> = [&a, &b]
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.code))
        .collect();
    assert!(!refusals.is_empty());
    assert!(
        refusals.iter().all(|c| *c == ErrorCode::InvalidGrant),
        "{refusals:?}"
    );
    assert_eq!(world.grants.live(), 0);
    assert_eq!(
        world.refresh_tokens.count(),
        3,
        "both refreshes stored a successor"
    );
}

#[tokio::test]
async fn a_revoked_or_expired_grant_cannot_be_refreshed() {
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    world.clock.advance(30 * 86_400);
    assert_eq!(
        code_of(world.refresh(PUBLIC_CLIENT, &tokens.refresh_token).await),
        ErrorCode::InvalidGrant
    );
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    let grant = world.grants.all().pop().unwrap();
    use onboarding_core::oidc::ports::Grants;
    world.grants.revoke(&grant.id, NOW).await.unwrap();
    assert_eq!(
        code_of(world.refresh(PUBLIC_CLIENT, &tokens.refresh_token).await),
        ErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid profile").await;
    let refresh = |token: String, scope: &'static str| {
        let world = &world;
        async move {
            world
                .token_request(
                    SECRET_CLIENT,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &token),
                        ("scope", scope),
                    ],
                )
                .await
        }
    };
    // Widening is refused and spends nothing
    let wider = refresh(
        tokens.refresh_token.clone(),
        "openid profile offline_access",
    )
    .await;
    assert_eq!(code_of(wider), ErrorCode::InvalidScope);
    // Narrowing to openid drops the name; narrowing to profile alone drops the ID token
    let narrow = refresh(tokens.refresh_token.clone(), "openid")
        .await
        .expect("narrowed");
    assert_eq!(narrow.scope, "openid");
    assert!(
        decode(narrow.id_token.as_deref().unwrap())
            .1
            .get("name")
            .is_none()
    );
    let no_openid = refresh(narrow.refresh_token, "profile")
        .await
        .expect("narrowed");
    assert_eq!(no_openid.id_token, None);
    assert_eq!(decode(&no_openid.access_token).1["scope"], "profile");
}

#[tokio::test]
async fn a_refresh_token_works_only_for_its_own_client() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    let stolen = world.refresh(PUBLIC_CLIENT, &tokens.refresh_token).await;
    assert_eq!(code_of(stolen), ErrorCode::InvalidGrant);
    // The owner still can: a foreign presentation is not a reuse.
    assert!(
        world
            .refresh(SECRET_CLIENT, &tokens.refresh_token)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_refresh_that_fails_before_its_commit_leaves_the_presented_token_valid() {
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    world.keys.set_down(true);
    let down = world.refresh(PUBLIC_CLIENT, &tokens.refresh_token).await;
    assert_eq!(code_of(down), ErrorCode::TemporarilyUnavailable);
    world.keys.set_down(false);
    world.refresh_tokens.outages.fail_next("put_refresh", 1);
    let store_down = world.refresh(PUBLIC_CLIENT, &tokens.refresh_token).await;
    assert_eq!(code_of(store_down), ErrorCode::TemporarilyUnavailable);
    assert!(
        world
            .refresh(PUBLIC_CLIENT, &tokens.refresh_token)
            .await
            .is_ok()
    );
    assert_eq!(world.grants.live(), 1);
}

#[tokio::test]
async fn an_erased_person_cannot_be_refreshed() {
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    world.profiles.erase("user-1");
    assert_eq!(
        code_of(world.refresh(PUBLIC_CLIENT, &tokens.refresh_token).await),
        ErrorCode::InvalidGrant
    );
}
