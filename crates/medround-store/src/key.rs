//! The database key. It is kept in its own file beside (never inside) the database, readable only
//! by the app's user; on a managed tablet the key file sits in the platform's protected app data.

use crate::StoreError;
use std::fmt;
use std::path::Path;

#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; 32]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

impl Key {
    /// 256 random bits from the operating system (through UUIDv4's getrandom).
    pub fn generate() -> Key {
        let mut k = [0u8; 32];
        k[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        k[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Key(k)
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Result<Key, StoreError> {
        let s = s.trim();
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::BadKeyFile);
        }
        let mut k = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let h = std::str::from_utf8(chunk).map_err(|_| StoreError::BadKeyFile)?;
            k[i] = u8::from_str_radix(h, 16).map_err(|_| StoreError::BadKeyFile)?;
        }
        Ok(Key(k))
    }

    /// Reads the key file, or creates it (mode 0600) when there is none yet.
    pub fn load_or_create(path: &Path) -> Result<Key, StoreError> {
        match std::fs::read_to_string(path) {
            Ok(s) => Key::from_hex(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let k = Key::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, k.to_hex())?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
                }
                std::fs::rename(&tmp, path)?;
                Ok(k)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn pragma(&self) -> String {
        format!("x'{}'", self.to_hex())
    }
}
