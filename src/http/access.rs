//! Who a request acts for, under the configured `auth_mode`, as the API sees it.

use fastly::Request;

use super::error::ApiError;
use crate::auth::{self, Principal, Refused};
use crate::config::{AuthMode, Config};
use crate::timing::KvMeter;

/// The one who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Open mode: anyone, posting under the nickname they give.
    Anyone,
    /// A signed-in person or one of their API keys.
    User(Principal),
}

impl Caller {
    /// The signed-in person's account id; `None` in open mode.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Caller::Anyone => None,
            Caller::User(user) => Some(&user.user_id),
        }
    }
}

/// The caller, or 401 when passkey mode requires someone and nobody (valid) is asking.
pub fn require_caller(req: &Request, config: &Config, meter: &KvMeter) -> Result<Caller, ApiError> {
    match config.auth_mode() {
        AuthMode::Open => Ok(Caller::Anyone),
        AuthMode::Passkey => Ok(Caller::User(require_user(req, config, meter)?)),
    }
}

/// A signed-in person or API key, whatever the mode: 401 otherwise.
pub fn require_user(
    req: &Request,
    config: &Config,
    meter: &KvMeter,
) -> Result<Principal, ApiError> {
    match auth::identify(req, config, meter) {
        Ok(Some(principal)) => Ok(principal),
        Ok(None) => Err(ApiError::unauthorized(
            "Sign in with a passkey, or send an API key.",
        )),
        Err(refusal) => Err(refused(refusal)),
    }
}

/// The 401 (or store error) for credentials that are not accepted.
pub fn refused(refusal: Refused) -> ApiError {
    match refusal {
        Refused::BadKey => {
            ApiError::unauthorized("This API key is not valid: it is unknown or was revoked.")
        }
        Refused::SessionEnded => {
            let mut ended = ApiError::unauthorized(
                "Your session has ended (signed out, or a passkey was removed): sign in again.",
            );
            ended.code = "session_ended";
            ended
        }
        Refused::Store(e) => e.into(),
    }
}
