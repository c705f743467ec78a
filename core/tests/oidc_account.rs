//! `GET /v1/users` and `POST /v1/logout` with an OpenID Connect access token: what the token's
//! client may know, and logout ending the token's grant.

mod oidc_support;

use oidc_support::World;
use onboarding_core::domain::Sealed;
use onboarding_core::memory::oidc::{PUBLIC_CLIENT, SECRET_CLIENT};
use onboarding_core::memory::{MemorySealer, MemoryUsers};
use onboarding_core::ports::{User, UserStore};
use onboarding_core::use_cases::account::Authenticated;
use onboarding_core::use_cases::account::access_token::{TokenAccount, is_access_token};

/// The user the OIDC world issues tokens about, in a user store with sealed fields.
async fn users() -> MemoryUsers {
    let users = MemoryUsers::default();
    let sealed =
        |field: &str, value: &str| Sealed::from_stored(format!("sealed|{field}|user-1|{value}"));
    users
        .create(&User {
            user_id: "user-1".into(),
            username: sealed("username", "alice"),
            display_name: sealed("display_name", "Alice"),
            iproov_user_id: "iproov-1".into(),
            name_index: "n1".into(),
            image_key: None,
            registration_id: None,
            consent: None,
            created_at: 42,
            lock: onboarding_core::domain::AccountLock::Open,
        })
        .await
        .unwrap();
    users
}

fn account<'a>(
    world: &'a World,
    users: &'a MemoryUsers,
    sealer: &'a MemorySealer,
) -> TokenAccount<'a> {
    TokenAccount {
        check: world.access_check(),
        users,
        sealer,
    }
}

#[tokio::test]
async fn a_token_with_the_profile_scope_reads_the_account_under_its_pairwise_subject() {
    // GIVEN an access token issued for openid and profile
    let world = World::new();
    let (users, sealer) = (users().await, MemorySealer::default());
    let tokens = world.tokens(PUBLIC_CLIENT, "openid profile").await;
    // WHEN it reads the account
    let Authenticated::Live(view) = account(&world, &users, &sealer)
        .read(&tokens.access_token)
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    // THEN the user is named by the token's own subject, never the internal id
    let (_, claims) = oidc_support::decode(&tokens.access_token);
    assert_eq!(view.subject, claims["sub"].as_str().unwrap());
    assert_ne!(view.subject, "user-1");
    assert_eq!(view.profile, Some(("alice".into(), "Alice".into())));
    assert_eq!(view.created_at, 42);
}

#[tokio::test]
async fn without_the_profile_scope_no_name_is_shown() {
    let world = World::new();
    let (users, sealer) = (users().await, MemorySealer::default());
    let tokens = world.tokens(SECRET_CLIENT, "openid").await;
    let Authenticated::Live(view) = account(&world, &users, &sealer)
        .read(&tokens.access_token)
        .await
        .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(view.profile, None);
}

#[tokio::test]
async fn a_forged_token_opens_nothing() {
    let world = World::new();
    let (users, sealer) = (users().await, MemorySealer::default());
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    let mut forged = tokens.access_token.clone();
    forged.push('A');
    assert!(matches!(
        account(&world, &users, &sealer)
            .read(&forged)
            .await
            .unwrap(),
        Authenticated::Refused(_)
    ));
}

#[tokio::test]
async fn logging_out_with_a_token_ends_its_grant_and_so_the_token() {
    // GIVEN a live access token
    let world = World::new();
    let (users, sealer) = (users().await, MemorySealer::default());
    let tokens = world.tokens(PUBLIC_CLIENT, "openid").await;
    let account = account(&world, &users, &sealer);
    // WHEN its holder logs out
    assert!(matches!(
        account.logout(&tokens.access_token).await.unwrap(),
        Authenticated::Live(())
    ));
    // THEN the token opens nothing any more, and its refresh token is worthless
    assert!(matches!(
        account.read(&tokens.access_token).await.unwrap(),
        Authenticated::Refused(_)
    ));
    assert!(
        world
            .refresh(PUBLIC_CLIENT, &tokens.refresh_token)
            .await
            .is_err()
    );
}

#[test]
fn access_tokens_and_credentials_cannot_be_mistaken() {
    assert!(is_access_token("aaa.bbb.ccc"));
    assert!(!is_access_token("id.secret"));
}
