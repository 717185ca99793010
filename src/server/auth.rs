//! Sign-in, bearer tokens and role checks.
//!
//! Tokens are 256 random bits; only their SHA-256 is stored, so a copy of the
//! database does not let anyone sign in. Passwords are hashed with argon2.

use std::marker::PhantomData;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash};
use argon2::{Argon2, Params};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use sha2::{Digest as _, Sha256};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiResult, ErrorBody};
use crate::api::{LoginRequest, LoginResponse, NewUserRequest};
use crate::model::{Agency, Role, User};

/// Argon2 cost settings: the defaults in production, cheap ones in tests.
#[derive(Debug, Clone, Copy)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
        }
    }
}

impl HashCost {
    /// For tests only: fast, and still a real argon2 hash.
    pub const CHEAP: HashCost = HashCost {
        memory_kib: 64,
        iterations: 1,
    };

    fn argon2(self) -> Argon2<'static> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None).unwrap_or_default();
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot hash password: {0}")]
pub struct HashError(String);

/// Hashes a password to a PHC string.
pub fn hash_password(password: &str, cost: HashCost) -> Result<String, HashError> {
    cost.argon2()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Minimum password length for new accounts.
pub const MIN_PASSWORD_CHARS: usize = 8;

pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "password",
            "password is too long (at most 1000 characters)",
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "password",
            format!("password needs at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Checks a new account's name, role and agency together.
pub fn check_new_account(name: &str, role: Role, agency: Option<Agency>) -> Result<(), ApiError> {
    let n = name.trim().chars().count();
    if n == 0 || n > 64 || name.trim() != name {
        return Err(ApiError::invalid(
            "name",
            "user name must be 1–64 characters without leading or trailing spaces",
        ));
    }
    match (role, agency) {
        (Role::Agency, None | Some(Agency::None)) => Err(ApiError::invalid(
            "agency",
            "an agency account needs the agency it works for",
        )),
        (Role::Agency, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(ApiError::invalid("agency", "only agency accounts belong to an agency")),
    }
}

/// Failed sign-ins allowed per user name within [`THROTTLE_WINDOW`].
pub const MAX_FAILED_LOGINS: usize = 5;
pub const THROTTLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// Slows password guessing: after [`MAX_FAILED_LOGINS`] failures within a
/// minute a name is refused (429) until the oldest failure ages out. Kept in
/// memory per instance; a restart forgets it, which only ever helps the user.
#[derive(Default)]
pub struct LoginThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<std::time::Instant>>>,
}

impl LoginThrottle {
    /// Seconds to wait before trying again, if the name is locked now.
    fn locked_for(&self, name: &str) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let q = map.get_mut(name)?;
        let now = std::time::Instant::now();
        while q.front().is_some_and(|t| now.duration_since(*t) > THROTTLE_WINDOW) {
            q.pop_front();
        }
        (q.len() >= MAX_FAILED_LOGINS).then(|| {
            let oldest = q.front().copied().unwrap_or(now);
            THROTTLE_WINDOW
                .saturating_sub(now.duration_since(oldest))
                .as_secs()
                .max(1)
        })
    }

    fn failed(&self, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bound the memory an attacker spraying names can take.
        if map.len() > 100_000 {
            map.clear();
        }
        map.entry(name.to_owned())
            .or_default()
            .push_back(std::time::Instant::now());
    }

    fn succeeded(&self, name: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(name);
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who may use a route. The [`Auth`] extractor checks it when the request's
/// head is read, before any body or query is, so a token of another role gets
/// 403 and never learns from validation what the route would accept.
pub trait Roles: Send + Sync + 'static {
    const ROLES: &'static [Role];
}

macro_rules! roles {
    ($($(#[$doc:meta])* $name:ident = $roles:expr;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl Roles for $name {
            const ROLES: &'static [Role] = $roles;
        }
    )+};
}

roles! {
    /// Any signed-in account.
    Anyone = Role::ALL;
    /// Call takers, shift leads and administrators.
    Staff = Role::STAFF;
    /// Shift leads and administrators.
    Leads = Role::LEADS;
    Admins = &[Role::Admin];
    /// Linked agencies, acting on their own work orders.
    Agencies = &[Role::Agency];
    /// Whoever takes in calls: the channel gateways and the staff.
    Intakers = &[Role::Gateway, Role::CallTaker, Role::ShiftLead, Role::Admin];
    /// Whoever follows referrals: the staff and the agencies.
    ReferralReaders = &[Role::CallTaker, Role::ShiftLead, Role::Admin, Role::Agency];
    /// Whoever records follow-ups: the staff by phone, the gateways by SMS.
    FollowupWorkers = &[Role::Gateway, Role::CallTaker, Role::ShiftLead, Role::Admin];
    /// Whoever sees rectifications: the leads, and each agency its own.
    RectificationReaders = &[Role::ShiftLead, Role::Admin, Role::Agency];
}

/// The signed-in user of a request, whose role is one of `R`'s. Extracting it
/// answers 401 without a valid token and 403 for any other role.
#[derive(Debug, Clone)]
pub struct Auth<R: Roles = Anyone> {
    pub user: User,
    token_hash: String,
    roles: PhantomData<R>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

impl<R: Roles> FromRequestParts<AppState> for Auth<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("sign in first: send Authorization: Bearer <token>"))?;
        let hash = token_hash(token);
        let user = state
            .store
            .session_user(&hash, Utc::now())
            .await?
            .ok_or_else(|| ApiError::unauthorized("your session has expired or is unknown: sign in again"))?;
        if !R::ROLES.contains(&user.role) {
            let allowed: Vec<&str> = R::ROLES.iter().map(|r| r.as_str()).collect();
            return Err(ApiError::forbidden(format!(
                "your role ({}) may not do this; it needs one of: {}",
                user.role,
                allowed.join(", ")
            )));
        }
        Ok(Auth {
            user,
            token_hash: hash,
            roles: PhantomData,
        })
    }
}

/// Sign in with name and password; returns a bearer token.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    if let Some(secs) = state.throttle.locked_for(&req.name) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many failed sign-ins for this user: try again in {secs} s"),
        ));
    }
    let creds = state.store.credentials(&req.name).await?;
    let password = req.password;
    // Verify on a blocking thread: argon2 is deliberately slow. An unknown
    // name is checked against a dummy hash so timing does not reveal it.
    let (user, hash) = match creds {
        Some((u, h)) => (Some(u), h),
        None => (None, state.dummy_hash.to_string()),
    };
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::internal("password check task failed", e))?;
    let user = match (user, ok) {
        (Some(u), true) => u,
        _ => {
            state.throttle.failed(&req.name);
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong_password",
                "wrong user name or password",
            ));
        }
    };
    state.throttle.succeeded(&req.name);
    let token = hex::encode(rand::random::<[u8; 32]>());
    let now = Utc::now();
    let expires_at = now + state.config.token_ttl;
    state
        .store
        .create_session(&token_hash(&token), user.id, now, expires_at)
        .await?;
    tracing::info!(user = %user.name, role = %user.role, "signed in");
    Ok(Json(LoginResponse {
        token,
        expires_at,
        user,
    }))
}

/// End this session; the token stops working at once.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    state.store.delete_session(&auth.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(auth: Auth) -> Json<User> {
    Json(auth.user)
}

/// Create an account (admin only).
#[utoipa::path(post, path = "/users", tag = "users", security(("bearer" = [])), request_body = NewUserRequest,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth<Admins>,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let actor = &auth.user;
    check_new_account(&req.name, req.role, req.agency)?;
    check_new_password(&req.password)?;
    let cost = state.config.hash_cost;
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password, cost))
        .await
        .map_err(|e| ApiError::internal("password hashing task failed", e))?
        .map_err(|e| ApiError::internal("cannot hash a new password", e))?;
    let user = state
        .store
        .create_user(Some(actor), &req.name, req.role, req.agency, &hash, Utc::now())
        .await?;
    state.hub.wake();
    Ok((StatusCode::CREATED, Json(user)))
}

/// All accounts (leads and admins).
#[utoipa::path(get, path = "/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(state): State<AppState>, _auth: Auth<Leads>) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(state.store.users().await?))
}

/// The ids of the accounts signed in now (a session not expired and not
/// signed out): who is on shift, and whom a call can be reassigned to.
#[utoipa::path(get, path = "/users/signed-in", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<i64>), (status = 403, body = ErrorBody)))]
pub async fn signed_in_users(
    State(state): State<AppState>,
    _auth: Auth<Leads>,
) -> ApiResult<Json<Vec<crate::model::UserId>>> {
    Ok(Json(state.store.signed_in(Utc::now()).await?))
}
