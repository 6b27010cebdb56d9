//! What outlives an invocation: config, clients, cached keys.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shared::api_key::Principal;
use shared::aws::dynamo::Db;
use shared::aws::fanout::{FastPathBudget, Subscribers};
use shared::aws::secrets::Keyring;
use shared::aws::sqs::Queue;
use shared::aws::Clients;
use shared::aws::StoreError;
use shared::config::Config;
use shared::endpoint::EndpointRecord;
use shared::ids::TenantId;
use shared::redact::Redactor;

/// How long a verified API key is trusted without asking DynamoDB again;
/// also the longest a revoked key keeps working on a warm instance.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(30);
const AUTH_CACHE_MAX: usize = 1024;
/// How long a publish call reuses a tenant's endpoints as read for an
/// earlier one (the fast path); the worker trusts its copy of an endpoint
/// as long. An endpoint created or changed since is sent by the stream.
pub const SUBSCRIBERS_CACHE_TTL: Duration = Duration::from_secs(5);
const SUBSCRIBERS_CACHE_MAX: usize = 1024;
/// Catalog names remembered per warm instance (cleared when full).
const KNOWN_TYPES_MAX: usize = 4096;

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
    /// Tenants' event types found in the catalog. The API never removes a
    /// type, so one found once is known for the instance's life, and a
    /// publish of a known type reads nothing to check it.
    known_types: Mutex<HashSet<(TenantId, String)>>,
    /// Tenants' endpoints as last read for the fast path (`None`: more than
    /// its budget), when read (epoch ms), and when cached.
    subscribers: Mutex<HashMap<TenantId, CachedSubscribers>>,
}

type CachedSubscribers = (Option<Arc<Vec<EndpointRecord>>>, i64, Instant);

impl AppState {
    pub fn new(config: Config, clients: &Clients) -> Self {
        let db = Db::new(clients.dynamodb.clone(), config.tables.clone());
        let keyring = Keyring::for_config(&config, clients);
        let queue = Queue::new(clients.sqs.clone(), config.delivery_queue_url.clone());
        let inbound_queue = Queue::new(clients.sqs.clone(), config.inbound_queue_url.clone());
        let redactor = Redactor::new(&config.redact_fields);
        let fast_path = FastPathBudget(shared::config::DEFAULT_FAST_PATH_MAX_DELIVERIES as usize);
        Self {
            config,
            db,
            keyring,
            queue,
            inbound_queue,
            redactor,
            fast_path,
            auth_cache: Mutex::new(HashMap::new()),
            known_types: Mutex::new(HashSet::new()),
            subscribers: Mutex::new(HashMap::new()),
        }
    }

    /// The fast path's budget per publish call (0 turns it off).
    pub fn with_fast_path(mut self, max_deliveries: usize) -> Self {
        self.fast_path = FastPathBudget(max_deliveries);
        self
    }

    /// Whether `name` is in the tenant's catalog (built in, or created).
    pub(crate) async fn event_type_known(&self, tenant: &TenantId, name: &str) -> Result<bool, StoreError> {
        if shared::event_type::is_builtin(name) {
            return Ok(true);
        }
        let key = (tenant.clone(), name.to_owned());
        if self.known_types.lock().expect("known types lock").contains(&key) {
            return Ok(true);
        }
        let found = self.db.event_type_exists(tenant, name).await?;
        if found {
            let mut known = self.known_types.lock().expect("known types lock");
            if known.len() >= KNOWN_TYPES_MAX {
                known.clear();
            }
            known.insert(key);
        }
        Ok(found)
    }

    /// The tenant's endpoints for the fast path: `None` when it has more
    /// than `most`. Reused for [`SUBSCRIBERS_CACHE_TTL`].
    pub(crate) async fn subscribers(&self, tenant: &TenantId, most: usize) -> Result<Option<Subscribers>, StoreError> {
        let cached = self.subscribers.lock().expect("subscribers lock").get(tenant).cloned();
        if let Some((endpoints, read_at, _)) = cached.filter(|(_, _, at)| at.elapsed() < SUBSCRIBERS_CACHE_TTL) {
            return Ok(endpoints.map(|e| Subscribers::known(tenant.clone(), e, read_at)));
        }
        // Strongly consistent: what was written before `read_at` is in it.
        let read_at = chrono::Utc::now().timestamp_millis();
        let all = self.db.list_endpoints_consistent(tenant, most.saturating_add(1)).await?;
        // More than the budget: the stream fans out, and no more was read.
        let endpoints = (all.len() <= most).then(|| Arc::new(all));
        {
            let mut cache = self.subscribers.lock().expect("subscribers lock");
            if cache.len() >= SUBSCRIBERS_CACHE_MAX {
                cache.retain(|_, (_, _, at)| at.elapsed() < SUBSCRIBERS_CACHE_TTL);
                if cache.len() >= SUBSCRIBERS_CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(tenant.clone(), (endpoints.clone(), read_at, Instant::now()));
        }
        Ok(endpoints.map(|e| Subscribers::known(tenant.clone(), e, read_at)))
    }

    /// Drops the tenant's cached endpoints (this instance changed one).
    pub(crate) fn forget_subscribers(&self, tenant: &TenantId) {
        self.subscribers.lock().expect("subscribers lock").remove(tenant);
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
