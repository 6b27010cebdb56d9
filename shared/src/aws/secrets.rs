//! Secrets Manager: the data key and the bootstrap admin key, each read once
//! per cold start and cached for the life of the process.

use tokio::sync::OnceCell;

use super::StoreError;
use crate::crypto::{hash_api_key, SecretBox};

/// Reads secret strings.
#[derive(Clone, Debug)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }

    /// The current value of a secret, by name or ARN.
    pub async fn get_string(&self, id: &str) -> Result<String, StoreError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| StoreError::aws("secretsmanager GetSecretValue", e))?;
        out.secret_string.ok_or_else(|| StoreError::Aws(format!("secret {id} holds no string")))
    }
}

/// The process-wide keys: fetched lazily on first use, so a cold start that
/// never touches a secret never pays for the call.
#[derive(Debug)]
pub struct Keyring {
    secrets: Secrets,
    data_key_secret: String,
    admin_key_secret: String,
    data_key: OnceCell<SecretBoxCell>,
    admin_hash: OnceCell<String>,
}

// SecretBox holds key material; keep it out of Debug output.
struct SecretBoxCell(SecretBox);

impl std::fmt::Debug for SecretBoxCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl Keyring {
    /// The keyring of a deployment: its two secrets, read through `clients`.
    pub fn for_config(config: &crate::config::Config, clients: &super::Clients) -> Self {
        Self::new(
            Secrets::new(clients.secrets.clone()),
            config.data_key_secret.clone(),
            config.admin_key_secret.clone(),
        )
    }

    pub fn new(secrets: Secrets, data_key_secret: String, admin_key_secret: String) -> Self {
        Self { secrets, data_key_secret, admin_key_secret, data_key: OnceCell::new(), admin_hash: OnceCell::new() }
    }

    /// The AEAD box under the deployment's data key.
    pub async fn secret_box(&self) -> Result<&SecretBox, StoreError> {
        let cell = self
            .data_key
            .get_or_try_init(|| async {
                let material = self.secrets.get_string(&self.data_key_secret).await?;
                Ok::<_, StoreError>(SecretBoxCell(SecretBox::from_data_key(&material)))
            })
            .await?;
        Ok(&cell.0)
    }

    /// SHA-256 of the bootstrap admin key.
    pub async fn admin_key_hash(&self) -> Result<&str, StoreError> {
        let hash = self
            .admin_hash
            .get_or_try_init(|| async {
                Ok::<_, StoreError>(hash_api_key(self.secrets.get_string(&self.admin_key_secret).await?.trim()))
            })
            .await?;
        Ok(hash)
    }
}
