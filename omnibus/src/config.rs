//! Configuration of each process, layered: built-in defaults, then the TOML
//! file, then environment variables and flags. The typed structs and their
//! documented defaults live with their crates (`ControlPlaneConfig`,
//! `BrokerConfig`); `DevConfig` composes both for the one-process mode.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use omnibus_control_plane::ControlPlaneConfig;
use omnibus_control_plane::config::RegionConfig;
use omnibus_data_plane::BrokerConfig;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cli::{BrokerArgs, ControlPlaneArgs, DevArgs, PrintConfigArgs, PrintConfigOf};

/// The access-token key; from the environment only, never a flag (flags show
/// up in `ps`).
const JWT_SECRET_ENV: &str = "OMNIBUS_JWT_SECRET";
const SMTP_URL_ENV: &str = "OMNIBUS_SMTP_URL";

/// `omnibus dev`: one control plane and one broker in one process, listening
/// on 127.0.0.1 only, with all state under `data_dir`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevConfig {
    /// Directory for all state. Default `./omnibus-data`. The control plane
    /// keeps its files in `control-plane/` below it, the broker in `broker/`.
    pub data_dir: PathBuf,
    /// See `ControlPlaneConfig`; in dev, `listen` defaults to 127.0.0.1:8080,
    /// and `regions` is always the embedded broker.
    pub control_plane: ControlPlaneConfig,
    /// See `BrokerConfig`; in dev, listeners default to 127.0.0.1.
    pub broker: BrokerConfig,
}

impl Default for DevConfig {
    fn default() -> Self {
        let loopback = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        DevConfig {
            data_dir: PathBuf::from("./omnibus-data"),
            control_plane: ControlPlaneConfig { listen: loopback(8080), ..ControlPlaneConfig::default() },
            broker: BrokerConfig {
                mqtt_listen: loopback(1883),
                mqtt_ws_listen: loopback(8083),
                mqtt_tls_listen: loopback(8883),
                mqtt_wss_listen: loopback(8084),
                kafka_listen: loopback(9092),
                grpc_listen: loopback(9190),
                ..BrokerConfig::default()
            },
        }
    }
}

pub fn dev(args: &DevArgs) -> anyhow::Result<DevConfig> {
    let mut config: DevConfig = layered(DevConfig::default(), args.config.as_deref())?;
    let DevArgs {
        config: _,
        data_dir,
        http_listen,
        mqtt_listen,
        mqtt_ws_listen,
        mqtt_tls_listen,
        mqtt_wss_listen,
        tls_cert_path,
        tls_key_path,
        kafka_listen,
        grpc_listen,
        database_url,
        advertised_host,
        advertised_kafka_port,
        object_store,
    } = args;
    set(&mut config.data_dir, data_dir);
    set_some(&mut config.broker.object_store, object_store);
    set(&mut config.control_plane.listen, http_listen);
    set(&mut config.broker.mqtt_listen, mqtt_listen);
    set(&mut config.broker.mqtt_ws_listen, mqtt_ws_listen);
    set(&mut config.broker.mqtt_tls_listen, mqtt_tls_listen);
    set(&mut config.broker.mqtt_wss_listen, mqtt_wss_listen);
    set_some(&mut config.broker.tls_cert_path, tls_cert_path);
    set_some(&mut config.broker.tls_key_path, tls_key_path);
    set(&mut config.broker.kafka_listen, kafka_listen);
    set(&mut config.broker.grpc_listen, grpc_listen);
    set(&mut config.broker.advertised_host, advertised_host);
    if advertised_kafka_port.is_some() {
        config.broker.advertised_kafka_port = *advertised_kafka_port;
    }
    if database_url.is_some() {
        config.control_plane.database_url.clone_from(database_url);
    }
    config.control_plane.data_dir = config.data_dir.join("control-plane");
    config.broker.data_dir = config.data_dir.join("broker");
    config.control_plane.regions =
        vec![RegionConfig::new("local", format!("http://{}", reachable(config.broker.grpc_listen)))];
    config.control_plane.default_region = None;
    if config.control_plane.public_url == ControlPlaneConfig::default().public_url {
        // Links in mails lead to this process's console, on whatever port it serves.
        config.control_plane.public_url = format!("http://localhost:{}", config.control_plane.listen.port());
    }
    secrets_from_env(&mut config.control_plane);
    Ok(config)
}

pub fn control_plane(args: &ControlPlaneArgs) -> anyhow::Result<ControlPlaneConfig> {
    let mut config: ControlPlaneConfig = layered(ControlPlaneConfig::default(), args.config.as_deref())?;
    let ControlPlaneArgs { config: _, data_dir, http_listen, database_url, fleet_endpoint } = args;
    set(&mut config.data_dir, data_dir);
    set(&mut config.listen, http_listen);
    if database_url.is_some() {
        config.database_url.clone_from(database_url);
    }
    if let Some(endpoint) = fleet_endpoint {
        let default = config.default_region().unwrap_or("local").to_string();
        match config.regions.iter_mut().find(|r| r.name == default) {
            Some(region) => region.fleet_endpoint.clone_from(endpoint),
            None => config.regions.push(RegionConfig::new(default, endpoint.clone())),
        }
    }
    secrets_from_env(&mut config);
    Ok(config)
}

pub fn broker(args: &BrokerArgs) -> anyhow::Result<BrokerConfig> {
    let mut config: BrokerConfig = layered(BrokerConfig::default(), args.config.as_deref())?;
    let BrokerArgs {
        config: _,
        data_dir,
        broker_id,
        mqtt_listen,
        mqtt_ws_listen,
        mqtt_tls_listen,
        mqtt_wss_listen,
        tls_cert_path,
        tls_key_path,
        kafka_listen,
        grpc_listen,
        advertised_host,
        advertised_kafka_port,
        object_store,
    } = args;
    set(&mut config.data_dir, data_dir);
    set_some(&mut config.object_store, object_store);
    set(&mut config.broker_id, broker_id);
    set(&mut config.mqtt_listen, mqtt_listen);
    set(&mut config.mqtt_ws_listen, mqtt_ws_listen);
    set(&mut config.mqtt_tls_listen, mqtt_tls_listen);
    set(&mut config.mqtt_wss_listen, mqtt_wss_listen);
    set_some(&mut config.tls_cert_path, tls_cert_path);
    set_some(&mut config.tls_key_path, tls_key_path);
    set(&mut config.kafka_listen, kafka_listen);
    set(&mut config.grpc_listen, grpc_listen);
    set(&mut config.advertised_host, advertised_host);
    if advertised_kafka_port.is_some() {
        config.advertised_kafka_port = *advertised_kafka_port;
    }
    Ok(config)
}

/// `omnibus print-config <command>`: the configuration in effect, secrets left out.
pub fn print(args: &PrintConfigArgs) -> anyhow::Result<()> {
    let text = match &args.of {
        PrintConfigOf::Dev(a) => toml::to_string_pretty(&dev(a)?),
        PrintConfigOf::ControlPlane(a) => toml::to_string_pretty(&control_plane(a)?),
        PrintConfigOf::Broker(a) => toml::to_string_pretty(&broker(a)?),
    }
    .context("render the configuration")?;
    print!("{text}");
    Ok(())
}

fn set<T: Clone>(field: &mut T, value: &Option<T>) {
    if let Some(value) = value {
        field.clone_from(value);
    }
}

/// Like [`set`], for a setting that is itself optional.
fn set_some<T: Clone>(field: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        field.clone_from(value);
    }
}

/// The secrets the environment gives: never flags, which `ps` would show.
fn secrets_from_env(config: &mut ControlPlaneConfig) {
    if let Some(secret) = std::env::var(JWT_SECRET_ENV).ok().filter(|s| !s.is_empty()) {
        config.secrets.jwt_secret = Some(secret);
    }
    if let Some(url) = std::env::var(SMTP_URL_ENV).ok().filter(|s| !s.is_empty()) {
        config.secrets.smtp_url = Some(url);
    }
}

/// An address a local client can dial for a listen address (0.0.0.0 → 127.0.0.1).
fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() { SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port()) } else { addr }
}

/// Defaults with the file laid over them key by key, so a file that sets one
/// key of a table keeps the defaults of the others.
fn layered<T: Serialize + DeserializeOwned>(defaults: T, file: Option<&Path>) -> anyhow::Result<T> {
    let Some(path) = file else { return Ok(defaults) };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("read the configuration file {}", path.display()))?;
    let overlay: toml::Table =
        toml::from_str(&text).with_context(|| format!("parse the configuration file {}", path.display()))?;
    let mut base = toml::Table::try_from(&defaults).context("render the default configuration")?;
    merge(&mut base, overlay);
    base.try_into().with_context(|| format!("invalid configuration in {}", path.display()))
}

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(overlay)) => merge(inner, overlay),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_only_the_keys_it_sets() {
        let dir = std::env::temp_dir().join(format!("omnibus-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dev.toml");
        std::fs::write(&path, "data_dir = \"/srv/omnibus\"\n[broker]\nmqtt_listen = \"127.0.0.1:11883\"\n").unwrap();
        let config: DevConfig = layered(DevConfig::default(), Some(&path)).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/srv/omnibus"));
        assert_eq!(config.broker.mqtt_listen.port(), 11883);
        assert_eq!(config.broker.grpc_listen, "127.0.0.1:9190".parse().unwrap());
        assert_eq!(config.broker.mqtt_ws_listen, "127.0.0.1:8083".parse().unwrap());
        assert_eq!(config.broker.tls_cert_path, None);
        assert_eq!(config.control_plane.listen, "127.0.0.1:8080".parse().unwrap());

        std::fs::write(&path, "[broker]\nno_such_key = 1\n").unwrap();
        let err = layered(DevConfig::default(), Some(&path)).unwrap_err();
        assert!(format!("{err:#}").contains("no_such_key"), "{err:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
