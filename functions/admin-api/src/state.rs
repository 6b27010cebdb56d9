//! What outlives an invocation: config, clients, cached keys.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use shared::api_key::Principal;
use shared::aws::dynamo::Db;
use shared::aws::fanout::FastPathBudget;
use shared::aws::secrets::Keyring;
use shared::aws::sqs::Queue;
use shared::aws::Clients;
use shared::config::Config;
use shared::redact::Redactor;

/// How long a verified API key is trusted without asking DynamoDB again;
/// also the longest a revoked key keeps working on a warm instance.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(30);
const AUTH_CACHE_MAX: usize = 1024;

/// Built once per cold start and shared by every request.
pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub keyring: Keyring,
    /// The delivery queue, for retries and resumed deliveries.
    pub queue: Queue,
    /// The inbound queue, for replays.
    pub inbound_queue: Queue,
    pub redactor: Redactor,
    /// Deliveries a publish call may send itself (the fast path).
    pub fast_path: FastPathBudget,
    auth_cache: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl AppState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        let keyring = Keyring::for_config(&config, clients);
        let queue = Queue::new(clients.sqs.clone(), config.delivery_queue_url.clone());
        let inbound_queue = Queue::new(clients.sqs.clone(), config.inbound_queue_url.clone());
        let redactor = Redactor::new(&config.redact_fields);
        let fast_path = FastPathBudget(shared::config::DEFAULT_FAST_PATH_MAX_DELIVERIES as usize);
        Self { config, db, keyring, queue, inbound_queue, redactor, fast_path, auth_cache: Mutex::new(HashMap::new()) }
    }

    /// The fast path's budget per publish call (0 turns it off).
    pub fn with_fast_path(mut self, max_deliveries: usize) -> Self {
        self.fast_path = FastPathBudget(max_deliveries);
        self
    }

    pub(crate) fn cached_principal(&self, key_hash: &str) -> Option<Principal> {
        let cache = self.auth_cache.lock().expect("auth cache lock");
        cache.get(key_hash).filter(|(_, at)| at.elapsed() < AUTH_CACHE_TTL).map(|(p, _)| p.clone())
    }

    pub(crate) fn remember_principal(&self, key_hash: String, principal: Principal) {
        let mut cache = self.auth_cache.lock().expect("auth cache lock");
        if cache.len() >= AUTH_CACHE_MAX {
            cache.retain(|_, (_, at)| at.elapsed() < AUTH_CACHE_TTL);
            if cache.len() >= AUTH_CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(key_hash, (principal, Instant::now()));
    }

    pub(crate) fn forget_principals(&self) {
        self.auth_cache.lock().expect("auth cache lock").clear();
    }
}
