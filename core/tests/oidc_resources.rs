//! What the OpenID provider's tokens are used for, on in-memory adapters: the access-token
//! check (forged, mistyped, expired and revoked tokens), userinfo, revocation, introspection
//! and RP-initiated logout.

mod oidc_support;

use oidc_support::*;
use onboarding_core::memory::oidc::{
    PUBLIC_CLIENT, SECRET, SECRET_CLIENT, SECRET_LOGOUT_REDIRECT, TestKeys,
};
use onboarding_core::oidc::logout::LogoutOutcome;
use onboarding_core::oidc::ports::{Grants, UserProfiles};
use onboarding_core::oidc::profile::SealedProfiles;
use onboarding_core::oidc::{ErrorCode, OAuthError};
use serde_json::{Value, json};

fn code_of(err: Result<impl std::fmt::Debug, OAuthError>) -> ErrorCode {
    err.expect_err("refused").code
}

/// The claims of a valid access token at `now`, for tampering with.
fn access_claims(now: i64) -> Value {
    json!({
        "iss": "https://api.example.com",
        "sub": "s",
        "aud": "https://api.example.com",
        "client_id": PUBLIC_CLIENT,
        "scope": "openid",
        "jti": "j",
        "iat": now,
        "exp": now + 300,
        "auth_time": now,
        "sid": "grant-x",
    })
}

/// `claims` with `overrides` applied.
fn patched(mut claims: Value, overrides: Value) -> Value {
    if let (Some(c), Some(o)) = (claims.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            c.insert(k.clone(), v.clone());
        }
    }
    claims
}

/// A grant `grant-x` of the public client, live, for forged tokens to name.
async fn live_grant(world: &World) {
    world
        .grants
        .create(&onboarding_core::oidc::ports::Grant {
            id: "grant-x".into(),
            client_id: PUBLIC_CLIENT.into(),
            user_id: "user-1".into(),
            scope: "openid".into(),
            auth_time: NOW,
            acr: None,
            created_at: NOW,
            expires_at: NOW + 86_400,
            revoked_at: None,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_valid_access_token_passes_the_check_and_names_its_grants_user() {
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    let access = world
        .access_check()
        .check(&tokens.access_token)
        .await
        .expect("valid");
    assert_eq!(access.grant.user_id, "user-1");
    assert_eq!(access.claims.client_id, PUBLIC_CLIENT);
}

#[tokio::test]
async fn a_token_signed_by_us_with_a_forged_header_is_refused() {
    // GIVEN a live grant, and tokens naming it with every header an attacker might try
    let world = World::new();
    live_grant(&world).await;
    let claims = access_claims(NOW);
    let good_header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"});
    assert!(
        world
            .access_check()
            .check(&TestKeys::sign_raw("k1", &good_header, &claims))
            .await
            .is_ok(),
        "the control token must pass"
    );
    let headers = [
        json!({"alg": "none", "typ": "at+jwt", "kid": "k1"}),
        json!({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}),
        json!({"alg": "es256", "typ": "at+jwt", "kid": "k1"}),
        json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
        json!({"alg": "ES256", "kid": "k1"}),
        json!({"alg": "ES256", "typ": "at+jwt"}),
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "k9"}),
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1", "crit": ["exp"]}),
    ];
    for header in headers {
        // WHEN one is checked
        let token = TestKeys::sign_raw(header["kid"].as_str().unwrap_or("k1"), &header, &claims);
        let result = world.access_check().check(&token).await;
        // THEN it is refused as invalid_token
        assert_eq!(code_of(result), ErrorCode::InvalidToken, "{header}");
    }
}

#[tokio::test]
async fn a_token_with_wrong_claims_a_bad_signature_or_no_structure_is_refused() {
    let world = World::new();
    live_grant(&world).await;
    let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": "k1"});
    let claims = access_claims(NOW);
    let mut tampered = TestKeys::sign_raw("k1", &header, &claims);
    let body = onboarding_core::oidc::encoding::b64url(
        patched(claims.clone(), json!({"client_id": SECRET_CLIENT}))
            .to_string()
            .as_bytes(),
    );
    let parts: Vec<&str> = tampered.split('.').collect();
    tampered = format!("{}.{}.{}", parts[0], body, parts[2]);
    let cases = [
        (
            "another issuer",
            TestKeys::sign_raw(
                "k1",
                &header,
                &patched(claims.clone(), json!({"iss": "https://evil.example"})),
            ),
        ),
        (
            "another audience",
            TestKeys::sign_raw(
                "k1",
                &header,
                &patched(claims.clone(), json!({"aud": "web-app"})),
            ),
        ),
        (
            "an audience list",
            TestKeys::sign_raw(
                "k1",
                &header,
                &patched(claims.clone(), json!({"aud": ["https://api.example.com"]})),
            ),
        ),
        (
            "expired beyond the leeway",
            TestKeys::sign_raw(
                "k1",
                &header,
                &patched(claims.clone(), json!({"exp": NOW - 5})),
            ),
        ),
        (
            "issued in the future",
            TestKeys::sign_raw(
                "k1",
                &header,
                &patched(claims.clone(), json!({"iat": NOW + 60})),
            ),
        ),
        (
            "no sid",
            TestKeys::sign_raw(
                "k1",
                &header,
                &patched(claims.clone(), json!({"sid": null})),
            ),
        ),
        (
            "a grant of another client",
            TestKeys::sign_raw(
                "k1",
                &header,
                &patched(claims.clone(), json!({"client_id": SECRET_CLIENT})),
            ),
        ),
        ("claims changed after signing", tampered),
        ("garbage", "not-a-token".to_owned()),
        ("empty", String::new()),
    ];
    for (why, token) in cases {
        let result = world.access_check().check(&token).await;
        assert_eq!(code_of(result), ErrorCode::InvalidToken, "{why}");
    }
    // Within the few seconds of leeway an expiring token still passes.
    let just_expired = TestKeys::sign_raw("k1", &header, &patched(claims, json!({"exp": NOW - 4})));
    assert!(world.access_check().check(&just_expired).await.is_ok());
}

#[tokio::test]
async fn a_key_no_longer_published_signs_nothing_valid() {
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    world.keys.rotate_to("k2");
    assert!(
        world
            .access_check()
            .check(&tokens.access_token)
            .await
            .is_ok()
    );
    world.keys.retire("k1");
    let result = world.access_check().check(&tokens.access_token).await;
    assert_eq!(code_of(result), ErrorCode::InvalidToken);
    let fresh = world.tokens(PUBLIC_CLIENT, "openid").await;
    assert_eq!(decode(&fresh.access_token).0["kid"], "k2");
    assert!(
        world
            .access_check()
            .check(&fresh.access_token)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn revoking_a_grant_ends_its_access_tokens_at_once() {
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    let sid = decode(&tokens.access_token).1["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    world.grants.revoke(&sid, NOW).await.unwrap();
    let result = world.access_check().check(&tokens.access_token).await;
    assert_eq!(code_of(result), ErrorCode::InvalidToken);
    // An outage reading the grant is not a refusal: the client should retry.
    let other = world.tokens(SECRET_CLIENT, "openid").await;
    world.grants.outages.fail_next("get_grant", 1);
    let down = world.access_check().check(&other.access_token).await;
    assert_eq!(code_of(down), ErrorCode::TemporarilyUnavailable);
}

#[tokio::test]
async fn userinfo_answers_the_pairwise_sub_and_the_name_only_with_the_profile_scope() {
    let world = World::new();
    let with_profile = world.tokens(PUBLIC_CLIENT, "openid profile").await;
    let info = world
        .userinfo()
        .run(&with_profile.access_token)
        .await
        .expect("valid");
    let id = decode(with_profile.id_token.as_deref().unwrap()).1;
    assert_eq!(info.sub, id["sub"].as_str().unwrap());
    assert_eq!(info.name.as_deref(), Some("Alice"));
    assert!(!format!("{info:?}").contains("Alice"));
    let without = world.tokens(PUBLIC_CLIENT, "openid").await;
    let info = world.userinfo().run(&without.access_token).await.unwrap();
    assert_eq!(info.name, None);
    assert_eq!(
        serde_json::to_value(&info).unwrap(),
        json!({"sub": info.sub.clone()})
    );
}

#[tokio::test]
async fn userinfo_refuses_invalid_tokens_tokens_without_openid_and_erased_people() {
    let world = World::new();
    let err = world.userinfo().run("nope").await.expect_err("invalid");
    assert_eq!(err.code, ErrorCode::InvalidToken);
    assert!(
        err.www_authenticate()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let tokens = world.tokens(SECRET_CLIENT, "openid profile").await;
    let narrowed = world
        .token_request(
            SECRET_CLIENT,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &tokens.refresh_token),
                ("scope", "profile"),
            ],
        )
        .await
        .unwrap();
    let result = world.userinfo().run(&narrowed.access_token).await;
    assert_eq!(code_of(result), ErrorCode::InvalidToken);
    let other = world.tokens(PUBLIC_CLIENT, "openid").await;
    world.profiles.erase("user-1");
    assert_eq!(
        code_of(world.userinfo().run(&other.access_token).await),
        ErrorCode::InvalidToken
    );
}

async fn revoke(world: &World, client_id: &str, token: &str) -> Result<(), OAuthError> {
    let (authorization, body) = world.authenticated(client_id, &[("token", token)]);
    world
        .revocation()
        .run(authorization.as_deref(), &params_owned(body))
        .await
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_grant() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    revoke(&world, SECRET_CLIENT, &tokens.refresh_token)
        .await
        .expect("revoked");
    assert_eq!(world.grants.live(), 0);
    assert_eq!(
        code_of(world.access_check().check(&tokens.access_token).await),
        ErrorCode::InvalidToken
    );
    // Revoking it again still answers success.
    assert!(
        revoke(&world, SECRET_CLIENT, &tokens.refresh_token)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_public_client_revokes_its_grant_with_an_access_token_even_an_expired_one() {
    let world = World::new();
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    world.clock.advance(3600);
    revoke(&world, PUBLIC_CLIENT, &tokens.access_token)
        .await
        .expect("revoked");
    assert_eq!(world.grants.live(), 0);
    assert_eq!(
        code_of(world.refresh(PUBLIC_CLIENT, &tokens.refresh_token).await),
        ErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn revoking_an_unknown_or_foreign_token_answers_success_and_changes_nothing() {
    let world = World::new();
    let theirs = world.tokens(PUBLIC_CLIENT, "openid").await;
    for token in [
        theirs.refresh_token.as_str(),
        theirs.access_token.as_str(),
        "unknown",
        "a.b.c",
    ] {
        assert!(
            revoke(&world, SECRET_CLIENT, token).await.is_ok(),
            "{token}"
        );
    }
    assert_eq!(world.grants.live(), 1);
    // A client that fails to authenticate is told so.
    let body = params(&[("token", &theirs.refresh_token)]);
    let wrong = world
        .revocation()
        .run(Some(&basic(SECRET_CLIENT, "wrong")), &body)
        .await;
    assert_eq!(code_of(wrong), ErrorCode::InvalidClient);
    let missing = world
        .revocation()
        .run(Some(&basic(SECRET_CLIENT, SECRET)), &params(&[]))
        .await;
    assert_eq!(code_of(missing), ErrorCode::InvalidRequest);
}

async fn introspect(world: &World, client_id: &str, token: &str) -> Result<Value, OAuthError> {
    let (authorization, body) = world.authenticated(client_id, &[("token", token)]);
    world
        .introspection()
        .run(authorization.as_deref(), &params_owned(body))
        .await
}

#[tokio::test]
async fn introspection_describes_a_live_access_token_to_its_client() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid profile").await;
    let answer = introspect(&world, SECRET_CLIENT, &tokens.access_token)
        .await
        .unwrap();
    let claims = decode(&tokens.access_token).1;
    assert_eq!(
        answer,
        json!({
            "active": true,
            "token_type": "Bearer",
            "client_id": SECRET_CLIENT,
            "sub": claims["sub"],
            "scope": "openid profile",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "iss": "https://api.example.com",
            "aud": "https://api.example.com",
            "acr": GP_ACR,
            "auth_time": NOW + 5,
        })
    );
}

#[tokio::test]
async fn introspection_describes_a_live_refresh_token_and_not_a_spent_one() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    let answer = introspect(&world, SECRET_CLIENT, &tokens.refresh_token)
        .await
        .unwrap();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["token_type"], "refresh_token");
    assert_eq!(answer["exp"], NOW + 5 + 30 * 86_400);
    assert_eq!(answer["sub"], decode(&tokens.access_token).1["sub"]);
    world
        .refresh(SECRET_CLIENT, &tokens.refresh_token)
        .await
        .unwrap();
    let spent = introspect(&world, SECRET_CLIENT, &tokens.refresh_token)
        .await
        .unwrap();
    assert_eq!(spent, json!({"active": false}));
}

#[tokio::test]
async fn introspection_is_for_confidential_clients_and_tells_nothing_about_others_tokens() {
    let world = World::new();
    let public = world.tokens(PUBLIC_CLIENT, "openid").await;
    // A public client may not introspect.
    let refused = introspect(&world, PUBLIC_CLIENT, &public.access_token).await;
    assert_eq!(code_of(refused), ErrorCode::InvalidClient);
    // Another client's live tokens, garbage and revoked tokens are all just inactive.
    for token in [&public.access_token, &public.refresh_token, "garbage"] {
        let answer = introspect(&world, SECRET_CLIENT, token).await.unwrap();
        assert_eq!(answer, json!({"active": false}), "{token}");
    }
    let own = world.tokens(SECRET_CLIENT, "openid").await;
    revoke(&world, SECRET_CLIENT, &own.access_token)
        .await
        .unwrap();
    let answer = introspect(&world, SECRET_CLIENT, &own.access_token)
        .await
        .unwrap();
    assert_eq!(answer, json!({"active": false}));
}

async fn logout(world: &World, pairs: &[(&str, &str)]) -> Result<LogoutOutcome, OAuthError> {
    world.end_session().run(&params(pairs)).await
}

#[tokio::test]
async fn logout_with_an_id_token_hint_revokes_its_grant_and_returns_to_the_registered_uri() {
    // GIVEN the web client's tokens, long after the ID token expired
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    world.clock.advance(7 * 86_400);
    // WHEN it sends the browser to log out
    let outcome = logout(
        &world,
        &[
            ("id_token_hint", tokens.id_token.as_deref().unwrap()),
            ("post_logout_redirect_uri", SECRET_LOGOUT_REDIRECT),
            ("state", "bye 1"),
        ],
    )
    .await
    .expect("logged out");
    // THEN the grant is revoked and the browser goes back with the state
    assert_eq!(
        outcome,
        LogoutOutcome::Redirect(format!("{SECRET_LOGOUT_REDIRECT}?state=bye%201"))
    );
    assert_eq!(world.grants.live(), 0);
    assert_eq!(
        code_of(world.refresh(SECRET_CLIENT, &tokens.refresh_token).await),
        ErrorCode::InvalidGrant
    );
}

#[tokio::test]
async fn logout_without_a_redirect_uri_stays_with_us() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    let outcome = logout(
        &world,
        &[("id_token_hint", tokens.id_token.as_deref().unwrap())],
    )
    .await;
    assert_eq!(outcome, Ok(LogoutOutcome::LoggedOut));
    assert_eq!(world.grants.live(), 0);
    assert_eq!(logout(&world, &[]).await, Ok(LogoutOutcome::LoggedOut));
}

#[tokio::test]
async fn logout_never_redirects_to_an_unregistered_uri_and_then_revokes_nothing() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    let hint = tokens.id_token.as_deref().unwrap();
    for uri in [
        "https://evil.example/",
        "https://web.example/callback",
        "https://web.example/logged-out/",
    ] {
        let result = logout(
            &world,
            &[("id_token_hint", hint), ("post_logout_redirect_uri", uri)],
        )
        .await;
        assert_eq!(code_of(result), ErrorCode::InvalidRequest, "{uri}");
    }
    // Without a hint or client_id there is no client to check the URI against.
    let result = logout(
        &world,
        &[("post_logout_redirect_uri", SECRET_LOGOUT_REDIRECT)],
    )
    .await;
    assert_eq!(code_of(result), ErrorCode::InvalidRequest);
    // With client_id alone the registered URI is allowed (nothing to revoke).
    let result = logout(
        &world,
        &[
            ("client_id", SECRET_CLIENT),
            ("post_logout_redirect_uri", SECRET_LOGOUT_REDIRECT),
        ],
    )
    .await;
    assert_eq!(
        result,
        Ok(LogoutOutcome::Redirect(SECRET_LOGOUT_REDIRECT.into()))
    );
    assert_eq!(world.grants.live(), 1);
}

#[tokio::test]
async fn a_logout_hint_must_be_our_id_token_and_not_older_than_a_grant() {
    let world = World::new();
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    let hint = tokens.id_token.as_deref().unwrap();
    // An access token is not an ID token; a mismatching client_id; a forged signature.
    let parts: Vec<&str> = hint.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], parts[1], "A".repeat(86));
    for pairs in [
        vec![("id_token_hint", tokens.access_token.as_str())],
        vec![("id_token_hint", hint), ("client_id", PUBLIC_CLIENT)],
        vec![("id_token_hint", forged.as_str())],
    ] {
        let result = logout(&world, &pairs).await;
        assert_eq!(code_of(result), ErrorCode::InvalidRequest, "{pairs:?}");
    }
    assert_eq!(world.grants.live(), 1);
    // Older than a grant can live: refused.
    world.clock.advance(30 * 86_400 + 60);
    let result = logout(&world, &[("id_token_hint", hint)]).await;
    assert_eq!(code_of(result), ErrorCode::InvalidRequest);
}

#[tokio::test]
async fn sealed_profiles_open_the_display_name_only_when_asked() {
    // GIVEN a registered user in the account world's stores
    let backends = onboarding_core::memory::Backends::at(NOW);
    backends.registered_user("u1", "alice", "Alice A.").await;
    let profiles = SealedProfiles {
        users: &backends.users,
        sealer: &backends.sealer,
    };
    // THEN the name is opened for the profile scope only, and a missing user is none
    let with_name = profiles.find("u1", true).await.unwrap().unwrap();
    assert_eq!(with_name.name.as_deref(), Some("Alice A."));
    assert!(!format!("{with_name:?}").contains("Alice"));
    let without = profiles.find("u1", false).await.unwrap().unwrap();
    assert_eq!(without.name, None);
    assert!(profiles.find("nobody", true).await.unwrap().is_none());
    // AND a sealer outage is a store outage, not a missing user
    backends.sealer.set_down(true);
    assert!(profiles.find("u1", true).await.is_err());
}
