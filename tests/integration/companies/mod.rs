//! Many companies in one deployment: a first-version database upgraded in place, secrets at
//! rest, companies synced side by side and isolated from each other's failures, per-key rate
//! limits, per-company schedules, tasks given up as dead letters, and webhooks routed per company.

mod api;
mod poison;
mod rate_limits;
mod scheduling;
mod secrets;
mod side_by_side;
pub(crate) mod upgrade;
mod webhooks;

use std::time::Duration;

use crate::helpers::*;
