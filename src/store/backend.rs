//! The engine the store runs on: sled (embedded, the default) or PostgreSQL (several
//! servers on one database), one branch per call, as [`super::engine`] foresaw: still no
//! vtable, and nothing allocated on the engine's behalf.

use std::ops::{Bound, Deref};
use std::path::Path;

use super::engine::{Engine, FirstReads, KeyRange};
use super::postgres_engine::{self, PostgresEngine};
use super::sled_engine::{self, SledEngine};
use super::{StorageFault, StoreError, StoreOptions};

/// Where a registry keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An embedded sled database in this directory.
    Directory(std::path::PathBuf),
    /// A PostgreSQL database: a `postgres://` URL (or a key=value connection string).
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL names PostgreSQL; anything else a directory.
    pub fn parse(text: &str) -> Location {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.to_string())
        } else {
            Location::Directory(text.into())
        }
    }
}

impl std::fmt::Display for Location {
    /// A directory's path, or a URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Directory(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&without_password(url)),
        }
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(a PostgreSQL connection string)".into();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{scheme}://{name}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

pub(crate) enum Backend {
    Sled(SledEngine),
    Postgres(PostgresEngine),
}

impl Backend {
    pub(crate) fn open(path: &Path, options: &StoreOptions) -> Result<Backend, StoreError> {
        Ok(Backend::Sled(SledEngine::open(path, options)?))
    }

    pub(crate) fn open_at(
        location: &Location,
        options: &StoreOptions,
    ) -> Result<Backend, StoreError> {
        match location {
            Location::Directory(path) => Backend::open(path, options),
            Location::Postgres(url) => Ok(Backend::Postgres(PostgresEngine::open(url)?)),
        }
    }

    /// The engine the writer writes through, and the standby that serves reads if
    /// `options` names one (PostgreSQL only).
    pub(crate) fn open_with_reads(
        location: &Location,
        options: &StoreOptions,
    ) -> Result<(Backend, Option<Backend>), StoreError> {
        match (location, &options.standby_reads) {
            (_, None) => Ok((Backend::open_at(location, options)?, None)),
            (Location::Postgres(url), Some(standby)) => {
                let (primary, standby) = PostgresEngine::open_with_standby(url, standby)?;
                Ok((Backend::Postgres(primary), Some(Backend::Postgres(standby))))
            }
            (Location::Directory(_), Some(_)) => Err(StoreError::Storage {
                fault: StorageFault::Failed,
                detail: "reads from a standby need a PostgreSQL registry (--postgres)".into(),
            }),
        }
    }
}

/// Bytes read back from either engine.
pub(crate) enum Bytes {
    Sled(sled::IVec),
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Sled(bytes) => bytes,
            Bytes::Owned(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// A scan of either engine.
pub(crate) enum Scan {
    Sled(sled_engine::Scan),
    Postgres(postgres_engine::Scan),
}

impl Iterator for Scan {
    type Item = Result<(Bytes, Bytes), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(match self {
            Scan::Sled(scan) => scan.next()?.map(|(k, v)| (Bytes::Sled(k), Bytes::Sled(v))),
            Scan::Postgres(scan) => scan
                .next()?
                .map(|(k, v)| (Bytes::Owned(k), Bytes::Owned(v))),
        })
    }
}

impl Engine for Backend {
    type Bytes = Bytes;
    type Scan = Scan;

    fn get(&self, key: &[u8]) -> Result<Option<Bytes>, StoreError> {
        Ok(match self {
            Backend::Sled(engine) => engine.get(key)?.map(Bytes::Sled),
            Backend::Postgres(engine) => engine.get(key)?.map(Bytes::Owned),
        })
    }

    fn get_many(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Bytes>>, StoreError> {
        Ok(match self {
            Backend::Sled(engine) => engine
                .get_many(keys)?
                .into_iter()
                .map(|value| value.map(Bytes::Sled))
                .collect(),
            Backend::Postgres(engine) => engine
                .get_many(keys)?
                .into_iter()
                .map(|value| value.map(Bytes::Owned))
                .collect(),
        })
    }

    fn keys_in_ranges(&self, ranges: &[KeyRange]) -> Result<Vec<Vec<Vec<u8>>>, StoreError> {
        match self {
            Backend::Sled(engine) => engine.keys_in_ranges(ranges),
            Backend::Postgres(engine) => engine.keys_in_ranges(ranges),
        }
    }

    fn read_many(
        &self,
        keys: &[Vec<u8>],
        ranges: &[KeyRange],
    ) -> Result<FirstReads<Bytes>, StoreError> {
        Ok(match self {
            Backend::Sled(engine) => engine.read_many(keys, ranges)?.map(Bytes::Sled),
            Backend::Postgres(engine) => engine.read_many(keys, ranges)?.map(Bytes::Owned),
        })
    }

    fn range(&self, from: Bound<&[u8]>, to: Bound<&[u8]>) -> Result<Scan, StoreError> {
        Ok(match self {
            Backend::Sled(engine) => Scan::Sled(engine.range(from, to)?),
            Backend::Postgres(engine) => Scan::Postgres(engine.range(from, to)?),
        })
    }

    fn apply<K, V>(&self, writes: &[(K, Option<V>)]) -> Result<(), StoreError>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        match self {
            Backend::Sled(engine) => engine.apply(writes),
            Backend::Postgres(engine) => engine.apply(writes),
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        match self {
            Backend::Sled(engine) => engine.flush(),
            Backend::Postgres(engine) => engine.flush(),
        }
    }

    fn opened_in_fault(&self) -> Option<StoreError> {
        match self {
            Backend::Sled(engine) => engine.opened_in_fault(),
            Backend::Postgres(engine) => engine.opened_in_fault(),
        }
    }

    fn recover(&self, error: &StoreError) -> Result<(), StoreError> {
        match self {
            Backend::Sled(engine) => engine.recover(error),
            Backend::Postgres(engine) => engine.recover(error),
        }
    }

    fn probe(&self) -> Result<(), StoreError> {
        match self {
            Backend::Sled(engine) => engine.probe(),
            Backend::Postgres(engine) => engine.probe(),
        }
    }

    fn is_shared(&self) -> bool {
        match self {
            Backend::Sled(engine) => engine.is_shared(),
            Backend::Postgres(engine) => engine.is_shared(),
        }
    }

    fn flush_can_retry(&self) -> bool {
        match self {
            Backend::Sled(engine) => engine.flush_can_retry(),
            Backend::Postgres(engine) => engine.flush_can_retry(),
        }
    }

    fn begin_group(&self) -> Result<(), StoreError> {
        match self {
            Backend::Sled(engine) => engine.begin_group(),
            Backend::Postgres(engine) => engine.begin_group(),
        }
    }

    fn begin_group_reading(
        &self,
        keys: &[Vec<u8>],
        ranges: &[KeyRange],
    ) -> Result<FirstReads<Bytes>, StoreError> {
        Ok(match self {
            Backend::Sled(engine) => engine.begin_group_reading(keys, ranges)?.map(Bytes::Sled),
            Backend::Postgres(engine) => {
                engine.begin_group_reading(keys, ranges)?.map(Bytes::Owned)
            }
        })
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        match self {
            Backend::Sled(engine) => engine.checkpoint(),
            Backend::Postgres(engine) => engine.checkpoint(),
        }
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        match self {
            Backend::Sled(engine) => engine.size_on_disk(),
            Backend::Postgres(engine) => engine.size_on_disk(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_a_url_or_a_directory_and_never_shows_a_password() {
        let url = "postgres://registry:s3cret@db.example:5432/registry";
        assert_eq!(Location::parse(url), Location::Postgres(url.into()));
        assert_eq!(
            Location::parse("./registry-data"),
            Location::Directory("./registry-data".into())
        );
        let shown = Location::parse(url).to_string();
        assert_eq!(shown, "postgres://registry:***@db.example:5432/registry");
        let plain = "postgresql://postgres@127.0.0.1:5433/r";
        assert_eq!(Location::parse(plain).to_string(), plain);
    }
}
