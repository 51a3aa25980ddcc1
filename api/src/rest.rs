//! Resources of the management REST API (`/v1`). Field names here are the
//! public contract: the web console, the Terraform provider and users' scripts
//! depend on them, so rename nothing without a new API version.

mod billing;
mod topics;
mod usage;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use billing::{
    Invoice, InvoiceLine, InvoicePage, NewPriceBook, NewSpendAlert, PlanPrices, PriceBook, PriceBookPage, SpendAlert,
    SpendAlertEvent, SpendAlertPage, UnitPrice,
};
pub use topics::{CreateTopicRequest, Topic, TopicMessage, TopicMessagePage, TopicPage, UpdateTopicRequest};
pub use usage::{UsagePoint, UsageReport, UsageSeries};

/// An RFC 9457 problem document: the body of every 4xx and 5xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "https://omnibus.dev/problems/validation",
    "title": "Invalid request",
    "status": 422,
    "detail": "name: must be 1-63 lowercase letters, digits or '-'"
}))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, human summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A human explanation of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request field the problem is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

// ---- identity -------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "a long passphrase", "organization_name": "Analytical Engines"}))]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    pub email: String,
    /// At least 10 characters.
    pub password: String,
    pub organization_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "ada@example.com", "password": "a long passphrase"}))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// The organization the access token acts in; the user's first one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
    /// Switch: the new pair acts in this organization (one the user belongs
    /// to) instead of the refresh token's.
    #[serde(default)]
    pub organization_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: String,
    pub email: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A fresh pair of tokens. The access token is a short-lived JWT sent as
/// `Authorization: Bearer <access_token>`; the refresh token is opaque, single
/// use, and exchanged at `/v1/auth/refresh` for a new pair.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignupResponse {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub user: User,
    pub organization: Organization,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the reset email.
    pub token: String,
    /// 10-1024 characters.
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailTokenRequest {
    /// The token from the email.
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The refresh token of the login to end; its whole rotation chain is revoked.
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"current_password": "a long passphrase", "new_password": "an even longer passphrase"}))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 10-1024 characters.
    pub new_password: String,
}

/// An organization the user belongs to, with the user's role in it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    pub organization: Organization,
    /// `owner`, `admin`, `developer`, `viewer` or `billing`.
    pub role: String,
}

/// Who the access token is for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user: User,
    /// Whether the user has followed the link mailed to their address.
    pub email_verified: bool,
    /// The organization this token acts in.
    pub organization_id: String,
    /// Every organization the user belongs to; log in with `organization_id`
    /// to act in another.
    pub memberships: Vec<Membership>,
}

// ---- instances ------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "sensors", "plan": "developer"}))]
#[serde(deny_unknown_fields)]
pub struct CreateInstanceRequest {
    /// 1-63 lowercase letters, digits and '-', starting and ending with a letter
    /// or digit; unique within the organization.
    pub name: String,
    /// One of the plans; see the plan catalogue.
    pub plan: String,
    /// Where the instance runs; the default region when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"plan": "standard"}))]
#[serde(deny_unknown_fields)]
pub struct UpdateInstanceRequest {
    /// A new name; the same rules as at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Another plan: its durability and limits are applied to the fleet
    /// (status `updating` until they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    /// Accepted; the namespace is not yet applied on the fleet.
    Provisioning,
    /// Applied on the fleet; clients can connect.
    Ready,
    /// A change (another plan) is being applied to the fleet; clients stay connected.
    Updating,
    /// Being removed from the fleet; gone once that is done.
    Deleting,
    /// The fleet refused it; `status_reason` says why. Retried.
    Failed,
}

/// Where clients connect, as `host:port`; absent for protocols the fleet does
/// not serve (TLS ones, when the fleet has no certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Endpoints {
    /// MQTT on TCP.
    #[serde(default)]
    pub mqtt: Option<String>,
    /// MQTT over WebSocket: `ws://{mqtt_ws}/mqtt`, subprotocol `mqtt`.
    #[serde(default)]
    pub mqtt_ws: Option<String>,
    /// MQTT over TLS.
    #[serde(default)]
    pub mqtt_tls: Option<String>,
    /// MQTT over WebSocket over TLS: `wss://{mqtt_wss}/mqtt`.
    #[serde(default)]
    pub mqtt_wss: Option<String>,
    /// The Kafka protocol, SASL over TCP.
    #[serde(default)]
    pub kafka: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a3c6-6c1e-7d3a-9a51-1f0c2b6f4e21",
    "name": "sensors",
    "status": "ready",
    "plan": "developer",
    "region": "local",
    "endpoints": {
        "mqtt": "localhost:1883",
        "mqtt_ws": "localhost:8083",
        "mqtt_tls": null,
        "mqtt_wss": null,
        "kafka": "localhost:9092"
    },
    "created_at": "2026-11-24T08:00:00Z"
}))]
pub struct Instance {
    pub id: String,
    pub name: String,
    pub status: InstanceStatus,
    /// Why the instance is `failed` or still `provisioning`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub plan: String,
    pub region: String,
    pub endpoints: Endpoints,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InstancePage {
    pub items: Vec<Instance>,
    /// Pass as `page_token` to get the next page; absent on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

// ---- credentials ----------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AclAction {
    /// MQTT PUBLISH.
    Publish,
    /// MQTT SUBSCRIBE.
    Subscribe,
    /// Kafka Produce.
    Produce,
    /// Kafka Fetch.
    Consume,
    /// Kafka consumer-group membership.
    Group,
}

/// Allows `actions` on every topic matched by `topic`, an MQTT-style filter
/// (`+` one level, `#` the rest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"topic": "sensors/#", "actions": ["publish", "subscribe"]}))]
#[serde(deny_unknown_fields)]
pub struct AclRule {
    pub topic: String,
    pub actions: Vec<AclAction>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "gateway", "acl": [{"topic": "#", "actions": ["publish", "subscribe"]}]}))]
#[serde(deny_unknown_fields)]
pub struct CreateCredentialRequest {
    #[serde(default)]
    pub name: Option<String>,
    /// Defaults to everything on every topic of the instance.
    #[serde(default)]
    pub acl: Option<Vec<AclRule>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"acl": [{"topic": "sensors/#", "actions": ["publish"]}]}))]
#[serde(deny_unknown_fields)]
pub struct UpdateCredentialRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Replaces the whole ACL. Connections that use the credential are closed
    /// (5.0 clients are told why) and reconnect under the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Vec<AclRule>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Credential {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub username: String,
    pub acl: Vec<AclRule>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A new credential: the only time its password is shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedCredential {
    pub id: String,
    pub instance_id: String,
    pub name: String,
    pub username: String,
    /// Shown once; Omnibus keeps only a salted form.
    pub password: String,
    pub acl: Vec<AclRule>,
    pub endpoints: Endpoints,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CredentialPage {
    pub items: Vec<Credential>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

// ---- mappings -------------------------------------------------------------

/// Which way a mapping carries messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MappingDirection {
    /// MQTT messages on matching topics are written to the Kafka topic.
    MqttToKafka,
    /// Records produced to the Kafka topic are delivered to MQTT subscribers.
    KafkaToMqtt,
    /// Both of the above.
    #[default]
    Both,
}

/// Joins the MQTT topics matching `mqtt_filter` and the Kafka topic
/// `kafka_topic` of an instance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"mqtt_filter": "sensors/#", "kafka_topic": "sensor-readings", "direction": "mqtt_to_kafka"}))]
#[serde(deny_unknown_fields)]
pub struct CreateMappingRequest {
    /// An MQTT topic filter (`+` one level, `#` the rest); not a shared
    /// (`$share/`) or delayed (`$delayed/`) one.
    pub mqtt_filter: String,
    /// A Kafka topic name: 1-249 ASCII letters, digits, `.`, `_` or `-`; not
    /// `.` or `..`.
    pub kafka_topic: String,
    /// `both` when absent.
    #[serde(default)]
    pub direction: MappingDirection,
    /// The part of the MQTT topics the Kafka side does not see, e.g.
    /// `devices/`: MQTT topic `devices/42/temp` is keyed `42/temp` in Kafka,
    /// and a record keyed `42/cmd` goes to MQTT topic `devices/42/cmd` (a
    /// record without a key: to `devices`). Topics that do not start with it
    /// keep their whole name as key. No wildcards; `mqtt_filter` must match
    /// topics under it when records go to MQTT. Empty (the default): keys are
    /// whole MQTT topics.
    #[serde(default)]
    pub mqtt_topic_prefix: String,
}

/// The fields to change; absent ones keep their value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"direction": "mqtt_to_kafka"}))]
#[serde(deny_unknown_fields)]
pub struct UpdateMappingRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<MappingDirection>,
    /// `""` removes the prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_topic_prefix: Option<String>,
}

/// An MQTT↔Kafka mapping of an instance. Every instance starts with one:
/// MQTT topic `#` ↔ Kafka topic `mqtt`, both ways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a3c7-1b2d-7e4f-8a90-2c3d4e5f6a7b",
    "instance_id": "0193a3c6-6c1e-7d3a-9a51-1f0c2b6f4e21",
    "mqtt_filter": "#",
    "kafka_topic": "mqtt",
    "direction": "both",
    "mqtt_topic_prefix": "",
    "created_at": "2026-11-24T08:00:00Z"
}))]
pub struct Mapping {
    pub id: String,
    pub instance_id: String,
    pub mqtt_filter: String,
    pub kafka_topic: String,
    pub direction: MappingDirection,
    /// The part of the MQTT topics the Kafka side does not see, as created; empty when none.
    pub mqtt_topic_prefix: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MappingPage {
    pub items: Vec<Mapping>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

// ---- organizations ----------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Analytical Engines"}))]
#[serde(deny_unknown_fields)]
pub struct OrganizationRequest {
    /// 1-100 characters.
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrganizationPage {
    /// The caller's organizations with the caller's role, oldest membership first.
    pub items: Vec<Membership>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub user_id: String,
    pub email: String,
    pub role: RoleName,
    #[schema(format = DateTime)]
    pub joined_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberPage {
    pub items: Vec<Member>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub role: RoleName,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"email": "grace@example.com", "role": "developer"}))]
#[serde(deny_unknown_fields)]
pub struct CreateInvitationRequest {
    pub email: String,
    /// At most the inviter's own role; only owners invite owners.
    pub role: RoleName,
}

/// An invitation; its token is only in the email sent to `email`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    pub role: RoleName,
    pub invited_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InvitationPage {
    pub items: Vec<Invitation>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    /// The token from the invitation email.
    pub token: String,
}

// ---- API keys ---------------------------------------------------------------

/// A role in an organization; `docs/roles.md` says what each may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleName {
    Owner,
    Admin,
    Developer,
    Viewer,
    Billing,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "terraform-ci", "role": "developer", "expires_at": "2027-06-01T00:00:00Z"}))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// 1-100 characters, to tell keys apart.
    pub name: String,
    /// What the key may do; at most the creator's own role, and only owners make owner keys.
    pub role: RoleName,
    /// When the key stops working; never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: RoleName,
    /// The key's first characters, to recognise it; the rest is never shown again.
    pub prefix: String,
    /// `user:<id>` or `api_key:<id>`.
    pub created_by: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[serde(default)]
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
    /// Within a minute.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
}

/// A new API key, with the key itself: the only time it is shown.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5b0-0000-7000-8000-000000000001", "name": "terraform-ci", "role": "developer",
    "prefix": "omk_Xa3f", "created_by": "user:0193a5b0-0000-7000-8000-0000000000aa",
    "created_at": "2026-12-01T12:00:00Z", "expires_at": null, "last_used_at": null,
    "key": "omk_Xa3f..."
}))]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// Use as `Authorization: Bearer <key>`. Shown only in this answer.
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyPage {
    pub items: Vec<ApiKey>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

// ---- audit ------------------------------------------------------------------

/// One thing done through the API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5b0-0000-7000-8000-000000000009", "actor": "api_key:0193a5b0-0000-7000-8000-000000000001",
    "action": "POST /v1/instances", "target": "/v1/instances/0193a5b0-0000-7000-8000-000000000002",
    "source_address": "203.0.113.7", "request_id": "b9c1f2e0-5a3d-4a9e-9d61-6f1c2a7e8b40",
    "outcome": "success", "status": 201, "created_at": "2026-12-01T12:00:00Z"
}))]
pub struct AuditEvent {
    pub id: String,
    /// `user:<id>`, `api_key:<id>` or `anonymous`.
    pub actor: String,
    /// `METHOD /route`.
    pub action: String,
    /// The resource: the created one's location, or the path called.
    pub target: String,
    pub source_address: String,
    /// The call's `X-Request-Id`.
    pub request_id: String,
    /// `success`, `failure` (a 4xx or 5xx answer) or `replayed` (an `Idempotency-Key` retry).
    pub outcome: String,
    /// The HTTP status answered.
    pub status: u16,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEventPage {
    /// Newest first.
    pub items: Vec<AuditEvent>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

// ---- regions --------------------------------------------------------------

/// Where instances can run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "local", "default": true}))]
pub struct Region {
    /// What `region` takes when creating an instance.
    pub name: String,
    /// Instances created without a region go here.
    pub default: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegionPage {
    pub items: Vec<Region>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

// ---- plans ---------------------------------------------------------------

/// How the broker acknowledges a write to an instance's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DurabilityMode {
    /// After a group-commit fdatasync covers it: survives a power loss.
    Fsync,
    /// Once in the broker's page cache, fdatasynced within
    /// `flush_interval_ms`: survives a broker crash, not a machine crash.
    Interval,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanDurability {
    pub mode: DurabilityMode,
    /// For `interval`: the longest an acknowledged write waits for its fdatasync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_interval_ms: Option<u32>,
}

/// What an instance's MQTT clients may use; each limit is refused the way
/// MQTT says (CONNACK 0x97, SUBACK failure, DISCONNECT with a reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanMqttLimits {
    pub max_connections: u32,
    pub max_subscriptions_per_session: u32,
    /// Messages queued for one offline session.
    pub max_queued_messages: u32,
    pub max_retained_messages: u32,
    /// Bytes.
    pub max_packet_size: u32,
    /// QoS 1 and 2 messages in flight per connection, each way.
    pub max_inflight: u32,
    /// Persistent sessions stored; a CONNECT that would store one more is
    /// refused (5.0: 0x97 Quota exceeded; 3.1.1: 3).
    pub max_sessions: u32,
}

/// What an instance's Kafka topics and groups may add up to; a topic,
/// partitions or a consumer group beyond them are refused (Kafka
/// `POLICY_VIOLATION`, REST 403 `quota-exceeded`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanKafkaLimits {
    /// Topics, those of the instance's MQTT mappings included.
    pub max_topics: u32,
    /// Partitions across all of its topics.
    pub max_partitions: u32,
    /// Consumer groups with members or committed offsets.
    pub max_consumer_groups: u32,
    /// Bytes the instance's logs may hold, measured every second; past it
    /// Produce is refused (`POLICY_VIOLATION`) and so is an MQTT publish
    /// that would be written to Kafka (5.0: 0x97 Quota exceeded).
    pub max_storage_bytes: u64,
}

/// What an instance may use per second, over all of its connections and
/// protocols. Past a rate clients wait, the way their protocol says (Kafka
/// `throttle_time_ms` and a muted connection; MQTT back pressure: the next
/// packet is read later); nothing accepted is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlanRateLimits {
    /// Bytes of MQTT payloads and Kafka record batches received.
    pub bytes_in_per_second: u32,
    /// Bytes of Kafka record batches fetched and MQTT payloads delivered.
    pub bytes_out_per_second: u32,
    /// MQTT messages and Kafka records received.
    pub messages_in_per_second: u32,
    /// New connections: past it an MQTT CONNECT is refused (5.0: 0x9F
    /// Connection rate exceeded; 3.1.1: 3) and a Kafka login answered later.
    pub connections_per_second: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "standard",
    "price": {"amount_cents": 4900, "currency": "USD", "period": "month"},
    "durability": {"mode": "fsync"},
    "mqtt": {
        "max_connections": 10000, "max_subscriptions_per_session": 1000, "max_queued_messages": 10000,
        "max_retained_messages": 100000, "max_packet_size": 1048576, "max_inflight": 128,
        "max_sessions": 10000
    },
    "kafka": {"max_topics": 200, "max_partitions": 2000, "max_consumer_groups": 1000, "max_storage_bytes": 1099511627776u64},
    "rates": {"bytes_in_per_second": 104857600, "bytes_out_per_second": 314572800, "messages_in_per_second": 200000, "connections_per_second": 1000}
}))]
pub struct Plan {
    /// What `plan` takes when creating an instance.
    pub name: String,
    pub price: Price,
    pub durability: PlanDurability,
    pub mqtt: PlanMqttLimits,
    pub kafka: PlanKafkaLimits,
    pub rates: PlanRateLimits,
}

/// A price per period, in the currency's smallest unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Price {
    pub amount_cents: u64,
    /// ISO 4217.
    pub currency: String,
    /// `month`.
    pub period: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanPage {
    /// In catalogue order, cheapest first.
    pub items: Vec<Plan>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers.
    pub status: String,
}

// ---- operator: fleets and quota overrides ---------------------------------

/// Whether a fleet takes new instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FleetState {
    /// New instances of its region may be placed on it.
    Active,
    /// It keeps the instances it has and takes no new ones.
    Draining,
}

/// A fleet of brokers serving one region, as platform operators see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1b2-0000-7000-8000-00000000f1ee", "name": "eu-west-1a", "region": "eu-west-1",
    "endpoint": "http://fleet-a.eu-west-1.internal:9190", "capacity": 500, "state": "active",
    "instances": 42, "created_at": "2026-12-01T12:00:00Z", "updated_at": "2026-12-01T12:00:00Z"
}))]
pub struct Fleet {
    pub id: String,
    /// Unique; fleets of the configuration are named after their region.
    pub name: String,
    pub region: String,
    /// gRPC address (`http://host:port`) of any broker of the fleet.
    pub endpoint: String,
    /// How many instances it may hold.
    pub capacity: u32,
    pub state: FleetState,
    /// Instances placed on it, those being deleted included.
    pub instances: u64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "name": "eu-west-1b", "region": "eu-west-1", "endpoint": "http://fleet-b.eu-west-1.internal:9190", "capacity": 500
}))]
#[serde(deny_unknown_fields)]
pub struct RegisterFleetRequest {
    /// 1-63 lowercase letters, digits and '-'; unique.
    pub name: String,
    /// A new name makes a new region, listed in `/v1/regions` from now on.
    pub region: String,
    pub endpoint: String,
    /// At least 1.
    pub capacity: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"capacity": 800}))]
#[serde(deny_unknown_fields)]
pub struct UpdateFleetRequest {
    /// Where its instances are applied from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Lower than the instances it holds is allowed: it then takes no more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FleetPage {
    /// In registration order.
    pub items: Vec<Fleet>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// Quotas a platform operator gives one instance over its plan's; an absent
/// field keeps the plan's value. A rate of 0 is no limit; the counts are at
/// least 1.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"max_connections": 50000, "max_packet_size": 4194304}))]
#[serde(deny_unknown_fields)]
pub struct QuotaOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_subscriptions_per_session: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queued_messages: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retained_messages: Option<u32>,
    /// Bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_packet_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inflight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_sessions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_topics: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_partitions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_consumer_groups: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_storage_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_in_per_second: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_out_per_second: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages_in_per_second: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections_per_second: Option<u32>,
}

/// An instance's quotas: its plan's, the overrides, and what the fleet enforces.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InstanceQuotas {
    pub instance_id: String,
    pub plan: String,
    /// Absent for a plan no longer in the catalogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_mqtt: Option<PlanMqttLimits>,
    pub overrides: QuotaOverrides,
    /// The plan's quotas with the overrides applied; absent (and the
    /// overrides unused) for a plan no longer in the catalogue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_mqtt: Option<PlanMqttLimits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_kafka: Option<PlanKafkaLimits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_kafka: Option<PlanKafkaLimits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_rates: Option<PlanRateLimits>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_rates: Option<PlanRateLimits>,
}
