//! The companies the environment registers at every start (v1 compatible):
//! - with `EMPLOYES_API_URL`: each id of `EMPLOYES_COMPANY_ID` (`from_env`; its key is
//!   `EMPLOYES_API_KEY`, read now and never stored), and no simulated company;
//! - without it (the embedded default): the built-in simulator's companies (`simulated`).

use uuid::Uuid;

use super::secrets::jwt_expiry;
use crate::{config::EmployesConfig, db::Db, db::companies};

/// A company the built-in simulator serves.
#[derive(Debug, Clone)]
pub struct SimulatedCompany {
    pub id: Uuid,
    pub name: String,
}

/// Register the environment's companies. `simulated` are the built-in simulator's companies
/// (empty with `EMPLOYES_API_URL` set).
pub async fn bootstrap(db: &Db, cfg: &EmployesConfig, simulated: &[SimulatedCompany]) -> anyhow::Result<()> {
    if cfg.api_url.is_some() {
        // Contract: with a real Employes no simulated company exists. One whose id the environment
        // now names becomes that company (its data kept).
        let removed = companies::delete_simulated_except(db, &cfg.company_ids).await?;
        if removed > 0 {
            tracing::warn!(
                removed,
                "EMPLOYES_API_URL is set: deleted the built-in simulator's companies and their data"
            );
        }
        let expires = cfg.api_key.as_ref().and_then(jwt_expiry);
        for (i, id) in cfg.company_ids.iter().enumerate() {
            companies::upsert_from_env(db, *id, cfg.company_names.get(i).map(String::as_str), expires).await?;
        }
    } else {
        for c in simulated {
            companies::upsert_simulated(db, c.id, &c.name).await?;
        }
        let keep: Vec<Uuid> = simulated.iter().map(|c| c.id).collect();
        companies::delete_simulated_except(db, &keep).await?;
    }
    Ok(())
}
