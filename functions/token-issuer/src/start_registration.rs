//! `POST /v1/users/registration`: validate the person's input, refuse a taken username, get an
//! enrol token for a pseudonymous iProov user id, and save the registration with the token kept
//! server-side. With the credential of a failed or expired registration it starts a new attempt
//! on the same registration instead.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::api::rfc3339;
use shared::api::{ApiError, CredentialKind, FieldReader, JsonObject, RequestMeta};
use shared::crypto::{Credential, keyed_hash};
use shared::domain::{DisplayName, Registration, RegistrationStatus, Username};
use shared::iproov::IProovUserId;
use shared::ports::StoreError;
use shared::rate_limit;
use shared::registration_access::{self, Access};

use crate::Deps;

/// The validated body.
struct Input {
    username: Username,
    display_name: DisplayName,
}

fn read_input(body: JsonObject) -> Result<Input, ApiError> {
    let mut reader = FieldReader::new(body.0, &["username", "display_name"]);
    let username = reader.string("username");
    let display_name = reader.string("display_name");
    let username = username.and_then(|u| match Username::parse(&u) {
        Ok(u) => Some(u),
        Err(problem) => {
            reader.error("username", problem);
            None
        }
    });
    let display_name = display_name.and_then(|d| match DisplayName::parse(&d) {
        Ok(d) => Some(d),
        Err(problem) => {
            reader.error("display_name", problem);
            None
        }
    });
    reader.finish()?;
    match (username, display_name) {
        (Some(username), Some(display_name)) => Ok(Input {
            username,
            display_name,
        }),
        _ => Err(ApiError::bad_request("Some fields are missing or invalid.")),
    }
}

pub async fn handle(
    State(deps): State<Arc<Deps>>,
    meta: RequestMeta,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let input = read_input(body)?;
    let now = deps.clock.now();
    let keys = deps.keys.get().await?;
    let key = keys.pseudonym_key();
    let input_name_index = keyed_hash(key, "username", input.username.as_str());
    let access = match registration_access::resolve(
        &headers,
        deps.settings.cookies(),
        deps.registrations.as_ref(),
        now,
    )
    .await?
    {
        // A credential continues its registration only for the same username and while the
        // registration can still go somewhere; otherwise (a finished registration, a different
        // name) the person is starting something new.
        Access::Found(_, registration)
            if registration.status == RegistrationStatus::Completed
                || registration.name_index != input_name_index =>
        {
            Access::Unknown
        }
        other => other,
    };
    let name_index = match &access {
        Access::Found(_, registration) => registration.name_index.clone(),
        Access::Missing | Access::Unknown => input_name_index.clone(),
    };
    let (ip_key, network_key, name_key) =
        deps.username_keys(key, &meta, "registration", &name_index);
    let hits = rate_limit::TokenRouteHits {
        route: "registration",
        ip: (&ip_key, deps.limits.registration_per_ip),
        username_from_network: (&network_key, deps.limits.registration_per_username),
        username_overall: (&name_key, deps.limits.username_alarm),
    };
    match access {
        Access::Found(credential, registration) => {
            rate_limit::enforce_token_route(deps.limiter.as_ref(), &hits, now).await?;
            retry(&deps, credential, *registration, now, meta.browser).await
        }
        // A stale or foreign credential does not block a fresh start. The username claim is
        // read while the counters are hit (it needs neither); the limits still answer first
        // (429), then "taken", as if the read had come after them.
        Access::Missing | Access::Unknown => {
            let claim = rate_limit::enforce_token_route_alongside(
                deps.limiter.as_ref(),
                &hits,
                now,
                deps.users.find_by_name(&name_index),
            )
            .await?;
            if claim?.is_some() {
                return Err(taken());
            }
            start(&deps, key, name_index, input, now, meta.browser).await
        }
    }
}

/// A fresh registration for a username nobody holds.
async fn start(
    deps: &Deps,
    key: &[u8],
    name_index: String,
    input: Input,
    now: i64,
    browser: bool,
) -> Result<Response, ApiError> {
    let user_id = uuid::Uuid::new_v4().simple().to_string();
    let iproov_user_id = IProovUserId::derive(key, &user_id);
    let username = deps
        .cipher
        .seal("username", &user_id, input.username.as_str())
        .await
        .map_err(sealing_failed)?;
    let display_name = deps
        .cipher
        .seal("display_name", &user_id, input.display_name.as_str())
        .await
        .map_err(sealing_failed)?;
    let claim = deps.iproov.enrol_token(&iproov_user_id).await?;
    let registration_id = uuid::Uuid::new_v4().simple().to_string();
    let credential =
        Credential::issue(registration_id.clone()).map_err(|_| ApiError::internal())?;
    let token_expires_at = now + deps.settings.token_ttl_seconds;
    let registration = Registration {
        id: registration_id,
        secret_hash: credential.secret_hash(),
        user_id,
        iproov_user_id: iproov_user_id.as_str().to_owned(),
        name_index,
        username,
        display_name,
        status: RegistrationStatus::AwaitingScan,
        attempt: 1,
        iproov_token: claim.token.expose().to_owned(),
        token_expires_at,
        reason: None,
        outcome: None,
        image_key: None,
        validating_since: None,
        login_issued: false,
        created_at: now,
        expires_at: now + deps.settings.registration_ttl_seconds,
    };
    deps.registrations.create(&registration).await?;
    tracing::info!(registration_id = %registration.id, attempt = 1, "registration started");
    started(&registration);
    Ok(created(
        deps,
        &credential,
        &registration,
        claim.token.expose(),
        now,
        browser,
    ))
}

async fn retry(
    deps: &Deps,
    credential: Credential,
    mut registration: Registration,
    now: i64,
    browser: bool,
) -> Result<Response, ApiError> {
    match registration.status_at(now) {
        RegistrationStatus::AwaitingScan => {
            // A repeated request (double click, lost answer): the current attempt stands.
            let token = registration.iproov_token.clone();
            return Ok(created(
                deps,
                &credential,
                &registration,
                &token,
                now,
                browser,
            ));
        }
        RegistrationStatus::Failed | RegistrationStatus::Expired => {}
        other => {
            return Err(ApiError::conflict(
                "registration_in_progress",
                format!(
                    "This registration is {}; it cannot be restarted now.",
                    other.as_str()
                ),
            ));
        }
    }
    if !registration.can_retry(now, deps.settings.registration_max_attempts) {
        return Err(ApiError::conflict(
            "attempts_exhausted",
            "This registration has used all its attempts.",
        )
        .with_hint("Start a new registration."));
    }
    let user_id = IProovUserId::from_stored(registration.iproov_user_id.clone())
        .map_err(|_| ApiError::internal())?;
    let claim = deps.iproov.enrol_token(&user_id).await?;
    let token_expires_at = now + deps.settings.token_ttl_seconds;
    match deps
        .registrations
        .restart(
            &registration.id,
            registration.attempt,
            claim.token.expose(),
            token_expires_at,
            now,
        )
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::conflict(
                "registration_in_progress",
                "This registration changed meanwhile; check its status.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    registration.attempt += 1;
    registration.status = RegistrationStatus::AwaitingScan;
    registration.token_expires_at = token_expires_at;
    tracing::info!(registration_id = %registration.id, attempt = registration.attempt, "registration retried");
    started(&registration);
    Ok(created(
        deps,
        &credential,
        &registration,
        claim.token.expose(),
        now,
        browser,
    ))
}

/// Metric and analytics event for a started attempt (ids only).
fn started(registration: &Registration) {
    shared::metrics::emit(shared::metrics::Metric::RegistrationStarted);
    let attempt = registration.attempt;
    shared::events::registration(&registration.id, |registration_id| {
        shared::events::JourneyEvent::RegistrationStarted {
            registration_id,
            attempt,
        }
    });
}

fn sealing_failed(err: shared::envelope::EnvelopeError) -> ApiError {
    tracing::error!(error = %err, "could not encrypt personal fields");
    ApiError::unavailable("service_unavailable")
}

fn taken() -> ApiError {
    ApiError::conflict("username_taken", "This username is already registered.")
        .with_hint("Choose another username, or log in if this is you.")
}

fn created(
    deps: &Deps,
    credential: &Credential,
    registration: &Registration,
    token: &str,
    now: i64,
    browser: bool,
) -> Response {
    let exposed = credential.expose();
    let mut body = json!({
        "registration_id": registration.id,
        "status": RegistrationStatus::AwaitingScan.as_str(),
        "attempt": registration.attempt,
        "expires_at": rfc3339(registration.token_expires_at),
        "iproov": {"token": token, "base_url": deps.iproov.sdk_base_url()},
    });
    let cookie = deps.settings.cookies().hand_out(
        CredentialKind::Registration,
        &exposed,
        registration.expires_at - now,
        browser,
        &mut body,
        "session_token",
    );
    (
        StatusCode::CREATED,
        [(header::SET_COOKIE, cookie)],
        Json(body),
    )
        .into_response()
}
