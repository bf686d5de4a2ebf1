//! The companies a simulator serves at run time: each with its data set, its own faults and
//! counters, and an optional key; looked up by id.

use std::collections::HashMap;
use std::sync::Mutex;

use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

use super::config::SimCompany;
use super::data::World;
use super::dataset;
use super::faults::CompanyFaults;
use super::lock;
use super::stats::Stats;

/// One company at run time.
pub(crate) struct Company {
    pub id: Uuid,
    pub name: String,
    /// The only bearer token this company accepts, when set.
    key: Option<String>,
    pub webhook_secret: Option<SecretString>,
    pub world: Mutex<World>,
    pub faults: Mutex<CompanyFaults>,
    pub stats: Mutex<Stats>,
}

impl Company {
    /// Whether `token` may read this company.
    pub fn accepts(&self, token: &str) -> bool {
        self.key.as_deref().is_none_or(|key| key == token)
    }

    /// Whether only one key is accepted.
    pub fn restricted(&self) -> bool {
        self.key.is_some()
    }

    /// `{"id","name","employees","with_history","key_required"}` for `GET /_sim/companies`.
    pub fn summary_json(&self) -> Value {
        let world = lock(&self.world);
        let with_history = world.employees.iter().filter(|e| e.history == super::data::History::Visible).count();
        json!({
            "id": self.id,
            "name": self.name,
            "employees": world.employees.len(),
            "with_history": with_history,
            "key_required": self.restricted(),
        })
    }
}

/// Every company served, in configuration order, with an index by id.
pub(crate) struct Companies {
    list: Vec<Company>,
    index: HashMap<Uuid, usize>,
}

impl Companies {
    /// Generates each company's data set (the `k`-th from the `k`-th company seed).
    pub fn generate(seed: u64, companies: &[SimCompany]) -> Companies {
        let list: Vec<Company> = companies
            .iter()
            .enumerate()
            .map(|(k, c)| Company {
                id: c.id,
                name: c.name.clone(),
                key: c.key.clone(),
                webhook_secret: c.webhook_secret.clone(),
                world: Mutex::new(dataset::generate(dataset::company_seed(seed, k), c.id, c.employees, c.with_history)),
                faults: Mutex::new(CompanyFaults::default()),
                stats: Mutex::new(Stats::default()),
            })
            .collect();
        let index = list.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        Companies { list, index }
    }

    pub fn get(&self, id: Uuid) -> Option<&Company> {
        self.index.get(&id).and_then(|&i| self.list.get(i))
    }

    /// The first company (the default of the control routes). The list is never empty.
    pub fn first(&self) -> &Company {
        &self.list[0]
    }

    pub fn iter(&self) -> impl Iterator<Item = &Company> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The company holding employee `id`, if any (for a helpful error message).
    pub fn holding(&self, employee: Uuid) -> Option<&Company> {
        self.list.iter().find(|c| lock(&c.world).find(employee).is_some())
    }
}
