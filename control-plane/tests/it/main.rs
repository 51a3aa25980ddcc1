//! The control plane's integration tests: the real REST API, served in-process
//! on a free port, driving a real in-process broker over gRPC, each scenario
//! run once against SQLite and once against PostgreSQL
//! (`OMNIBUS_TEST_POSTGRES_URL`, started by `scripts/test`).

mod harness;
mod scenarios;

use harness::Db;

/// Declares each scenario twice, once per database.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { crate::harness::run(crate::Db::Sqlite, crate::scenarios::$name).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { crate::harness::run(crate::Db::Postgres, crate::scenarios::$name).await }
            )*
        }
    };
}

on_both_databases!(
    signup_login_and_refresh,
    refresh_token_reuse_revokes_the_family,
    malformed_requests_get_problem_documents,
    bad_tokens_are_refused,
    instances_become_ready_and_page,
    instances_are_invisible_to_other_organizations,
    deleting_an_instance_removes_it_from_the_fleet,
    credentials_show_their_password_once,
    credential_acl_is_validated,
    mappings_start_with_the_default_and_reach_the_fleet,
    mapping_input_is_validated,
    plans_are_public_priced_and_paged,
    requests_carry_an_id,
    posts_are_idempotent_with_a_key,
    api_docs_are_served_offline,
    conditional_requests_use_etags,
    logins_are_rate_limited,
    me_logout_and_change_password,
    api_keys_are_shown_once_and_work_until_revoked,
    every_endpoint_checks_the_roles_table,
    the_audit_log_records_calls_and_sign_ins,
    instances_are_renamed_and_change_plan_live,
    credentials_rotate_and_change_their_acl_on_the_fleet,
    organizations_members_and_invitations,
    topics_are_managed_on_the_fleet_through_the_api,
    passwords_reset_and_addresses_verify_by_email,
    reconcile_passes_wait_for_another_control_planes_lease,
    operators_register_fleets_place_by_load_and_drain,
    operators_override_an_instances_quotas_live,
    every_write_honours_if_match,
    mail_requests_are_rate_limited,
    topics_are_held_to_the_instances_quotas,
    invoices_and_spend_alerts_read_the_organizations_own,
    operators_publish_price_book_versions_for_later_months,
);

/// With `smtp_url` set, mail goes to a real SMTP server instead of the outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_out_over_smtp() {
    let smtp = harness::SmtpServer::start().await;
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    harness::run_configured(
        Db::Sqlite,
        |config| config.secrets.smtp_url = Some(url),
        |env| scenarios::mail_goes_out_over_smtp(env, smtp),
    )
    .await;
}

/// Behind a trusted proxy, the client's address is the one the proxy saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_forwarded_by_trusted_proxies() {
    harness::run_configured(
        Db::Sqlite,
        |config| config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()],
        scenarios::addresses_forwarded_by_trusted_proxies,
    )
    .await;
}

#[test]
fn openapi_document_is_checked_in() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../api/openapi.json");
    let generated = omnibus_control_plane::openapi_json();
    if std::env::var_os("OMNIBUS_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let mut ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids must be unique (generated clients key on them)");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "api/openapi.json is stale: run `OMNIBUS_UPDATE_OPENAPI=1 cargo test -p omnibus-control-plane openapi` and commit it"
    );
}
