//! MQTT↔Kafka mappings and an instance's Kafka topics, on the fleet.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::Env;

pub async fn mappings_start_with_the_default_and_reach_the_fleet(env: Env) {
    let (token, _, _) = env.signup("bridge@example.com").await;
    let instance = env.create_instance(&token, "bridge").await;
    let id = instance["id"].as_str().unwrap();
    let path = format!("/v1/instances/{id}/mappings");

    // A new instance has the default mapping, and the broker has it already.
    let listed = env.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed:?}");
    let default = &items[0];
    assert_eq!(default["instance_id"], id);
    assert_eq!(
        (&default["mqtt_filter"], &default["kafka_topic"], &default["direction"], &default["mqtt_topic_prefix"]),
        (&json!("#"), &json!("mqtt"), &json!("both"), &json!(""))
    );
    assert!(default["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{default}");
    assert!(listed.body["next_page_token"].is_null());
    let default_id = default["id"].as_str().unwrap().to_string();
    assert_eq!(
        env.broker_mappings(id),
        json!([{"id": default_id, "mqtt_filter": "#", "kafka_topic": "mqtt", "direction": "both"}])
    );

    // Create: 201 with the mapping and where it lives; the broker has the new set.
    let created = env
        .call(
            Method::POST,
            &path,
            Some(&token),
            Some(json!({"mqtt_filter": "sensors/+/temp", "kafka_topic": "temperatures", "direction": "mqtt_to_kafka"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["direction"], "mqtt_to_kafka");
    assert_eq!(created.body["mqtt_filter"], "sensors/+/temp");
    assert_eq!(created.body["kafka_topic"], "temperatures");
    let mid = created.body["id"].as_str().unwrap().to_string();
    let got = env.call(Method::GET, &format!("{path}/{mid}"), Some(&token), None).await;
    assert_eq!(got.status, StatusCode::OK, "{got:?}");
    assert_eq!(got.body, created.body);
    let broker = env.broker_mappings(id);
    assert_eq!(broker.as_array().unwrap().len(), 2, "{broker}");
    assert_eq!(
        broker[1],
        json!({"id": mid, "mqtt_filter": "sensors/+/temp", "kafka_topic": "temperatures", "direction": "mqtt_to_kafka"})
    );

    // The direction defaults to both.
    let commands = env
        .call(Method::POST, &path, Some(&token), Some(json!({"mqtt_filter": "cmd/#", "kafka_topic": "commands"})))
        .await;
    assert_eq!(commands.status, StatusCode::CREATED, "{commands:?}");
    assert_eq!(commands.body["direction"], "both");
    let commands_id = commands.body["id"].as_str().unwrap().to_string();
    // A topic prefix the Kafka side does not see reaches the broker, and "" removes it.
    let prefixed = env
        .call(Method::PATCH, &format!("{path}/{commands_id}"), Some(&token), Some(json!({"mqtt_topic_prefix": "cmd/"})))
        .await;
    assert_eq!(prefixed.body["mqtt_topic_prefix"], "cmd/", "{prefixed:?}");
    assert_eq!(env.broker_mappings(id)[2]["mqtt_topic_prefix"], "cmd/");
    let plain = env
        .call(Method::PATCH, &format!("{path}/{commands_id}"), Some(&token), Some(json!({"mqtt_topic_prefix": ""})))
        .await;
    assert_eq!(plain.body["mqtt_topic_prefix"], "", "{plain:?}");
    assert_eq!(env.broker_mappings(id)[2].get("mqtt_topic_prefix"), None);

    // Change: PATCH changes only what it names, and the broker follows.
    let changed = env
        .call(Method::PATCH, &format!("{path}/{mid}"), Some(&token), Some(json!({"direction": "kafka_to_mqtt"})))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.body["direction"], "kafka_to_mqtt");
    assert_eq!(changed.body["mqtt_filter"], "sensors/+/temp");
    assert_eq!(changed.body["created_at"], created.body["created_at"]);
    assert_eq!(env.broker_mappings(id)[1]["direction"], "kafka_to_mqtt");
    let moved =
        env.call(Method::PATCH, &format!("{path}/{mid}"), Some(&token), Some(json!({"kafka_topic": "temps.v2"}))).await;
    assert_eq!(moved.body["kafka_topic"], "temps.v2", "{moved:?}");
    assert_eq!(moved.body["direction"], "kafka_to_mqtt");
    // Onto another mapping's pair: 409; an unchanged PATCH is fine.
    let clash = json!({"mqtt_filter": "cmd/#", "kafka_topic": "commands"});
    let detail = env.call(Method::PATCH, &format!("{path}/{mid}"), Some(&token), Some(clash)).await.problem(409);
    assert!(detail.contains("already maps"), "{detail}");
    let same = env.call(Method::PATCH, &format!("{path}/{mid}"), Some(&token), Some(json!({}))).await;
    assert_eq!(same.body, moved.body);
    env.call(Method::PATCH, &format!("{path}/no-such-mapping"), Some(&token), Some(json!({}))).await.problem(404);

    // Pages, oldest first.
    let first = env.call(Method::GET, &format!("{path}?page_size=2"), Some(&token), None).await;
    let ids: Vec<_> = first.body["items"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(ids, [json!(default_id), json!(mid)]);
    let next = first.body["next_page_token"].as_str().unwrap();
    let second = env.call(Method::GET, &format!("{path}?page_size=2&page_token={next}"), Some(&token), None).await;
    assert_eq!(second.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(second.body["items"][0]["id"], json!(commands_id));

    // Delete, the default included: the broker is left with the rest, then none.
    let deleted = env.call(Method::DELETE, &format!("{path}/{default_id}"), Some(&token), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    env.call(Method::GET, &format!("{path}/{default_id}"), Some(&token), None).await.problem(404);
    env.call(Method::DELETE, &format!("{path}/{default_id}"), Some(&token), None).await.problem(404);
    let left: Vec<_> = env.broker_mappings(id).as_array().unwrap().iter().map(|m| m["id"].clone()).collect();
    assert_eq!(left, [json!(mid), json!(commands_id)]);
    for gone in [&mid, &commands_id] {
        let deleted = env.call(Method::DELETE, &format!("{path}/{gone}"), Some(&token), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    }
    assert_eq!(env.call(Method::GET, &path, Some(&token), None).await.body["items"], json!([]));
    assert_eq!(env.broker_mappings(id), json!([]));
    // A user may put the default back.
    let back =
        env.call(Method::POST, &path, Some(&token), Some(json!({"mqtt_filter": "#", "kafka_topic": "mqtt"}))).await;
    assert_eq!(back.status, StatusCode::CREATED, "{back:?}");
    assert_eq!(env.broker_mappings(id).as_array().unwrap().len(), 1);
}

pub async fn mapping_input_is_validated(env: Env) {
    let (token, _, _) = env.signup("mapcheck@example.com").await;
    let instance = env.create_instance(&token, "mapcheck").await;
    let path = format!("/v1/instances/{}/mappings", instance["id"].as_str().unwrap());
    let create = |body: Value| env.call(Method::POST, &path, Some(&token), Some(body));
    let long_topic = "t".repeat(250);
    for (body, field) in [
        (json!({"mqtt_filter": "a/#/b", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "a+", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "$share/g/a", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "$delayed/10/a", "kafka_topic": "t"}), "mqtt_filter"),
        (json!({"mqtt_filter": "a", "kafka_topic": ""}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": "."}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": ".."}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": "a/b"}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": "a b"}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": long_topic}), "kafka_topic"),
        (json!({"mqtt_filter": "a", "kafka_topic": "t", "direction": "sideways"}), "body"),
        (json!({"mqtt_filter": "a/#", "kafka_topic": "t", "mqtt_topic_prefix": "a/+/"}), "mqtt_topic_prefix"),
        (json!({"mqtt_filter": "sensors/#", "kafka_topic": "t", "mqtt_topic_prefix": "devices/"}), "mqtt_topic_prefix"),
        (json!({"kafka_topic": "t"}), "body"),
    ] {
        let a = create(body.clone()).await;
        a.problem(422);
        assert_eq!(a.body["field"], field, "{body}: {a:?}");
    }
    let a = create(json!({"mqtt_filter": "a", "kafka_topic": "t".repeat(249)})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{a:?}");

    // The same filter and topic twice: 409, whatever the direction.
    let first = create(json!({"mqtt_filter": "s/#", "kafka_topic": "s", "direction": "mqtt_to_kafka"})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let detail =
        create(json!({"mqtt_filter": "s/#", "kafka_topic": "s", "direction": "kafka_to_mqtt"})).await.problem(409);
    assert!(detail.contains("already maps"), "{detail}");
    // A PATCH is checked like a create.
    let mapping = format!("{path}/{}", first.body["id"].as_str().unwrap());
    for (body, field) in [
        (json!({"mqtt_filter": "$share/g/s"}), "mqtt_filter"),
        (json!({"kafka_topic": ".."}), "kafka_topic"),
        (json!({"direction": "up"}), "body"),
        (json!({"mqtt_topic_prefix": "other/", "direction": "both"}), "mqtt_topic_prefix"),
    ] {
        let a = env.call(Method::PATCH, &mapping, Some(&token), Some(body.clone())).await;
        a.problem(422);
        assert_eq!(a.body["field"], field, "{body}: {a:?}");
    }
    assert_eq!(env.call(Method::GET, &mapping, Some(&token), None).await.body, first.body);
    // Nothing goes to MQTT, so the prefix only shortens keys: any prefix fits.
    let shortened = env.call(Method::PATCH, &mapping, Some(&token), Some(json!({"mqtt_topic_prefix": "other/"}))).await;
    assert_eq!(shortened.status, StatusCode::OK, "{shortened:?}");
    // Now records would reach MQTT under a prefix the filter does not match.
    let a = env.call(Method::PATCH, &mapping, Some(&token), Some(json!({"direction": "both"}))).await;
    a.problem(422);
    assert_eq!(a.body["field"], "mqtt_topic_prefix", "{a:?}");

    // At most 100 per instance: the default and the two above, then 97 more.
    for i in 0..97 {
        let a = create(json!({"mqtt_filter": format!("n/{i}"), "kafka_topic": "n"})).await;
        assert_eq!(a.status, StatusCode::CREATED, "{i}: {a:?}");
    }
    let detail = create(json!({"mqtt_filter": "n/last", "kafka_topic": "n"})).await.problem(409);
    assert!(detail.contains("at most 100"), "{detail}");
    let all = env.call(Method::GET, &format!("{path}?page_size=200"), Some(&token), None).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 100);
}

pub async fn topics_are_managed_on_the_fleet_through_the_api(env: Env) {
    let (token, _, _) = env.signup("kafka@example.com").await;
    let instance = env.create_instance(&token, "stream").await;
    let id = instance["id"].as_str().unwrap().to_string();
    let topics = format!("/v1/instances/{id}/topics");

    let made = env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "telemetry", "partitions": 3}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(
        made.body,
        json!({"name": "telemetry", "partitions": 3, "retention_ms": 604_800_000, "retention_bytes": -1,
            "remote_storage_enable": false, "local_retention_ms": -2, "local_retention_bytes": -2})
    );
    // The broker's catalog has it.
    let catalog = std::fs::read_to_string(env.broker_dir.join("catalog.json")).expect("the broker's catalog");
    let catalog: Value = serde_json::from_str(&catalog).unwrap();
    assert_eq!(catalog["namespaces"][&id]["telemetry"]["partitions"], 3, "{catalog}");

    let listed = env.call(Method::GET, &topics, Some(&token), None).await;
    assert!(listed.body["items"].as_array().unwrap().iter().any(|t| t["name"] == "telemetry"), "{listed:?}");
    env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "telemetry"}))).await.problem(409);
    env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "no spaces"}))).await.problem(422);
    env.call(Method::POST, &topics, Some(&token), Some(json!({"name": "zero", "partitions": 0}))).await.problem(422);

    let topic = format!("{topics}/telemetry");
    let grown =
        env.call(Method::PATCH, &topic, Some(&token), Some(json!({"partitions": 6, "retention_ms": 3_600_000}))).await;
    assert_eq!(grown.status, StatusCode::OK, "{grown:?}");
    assert_eq!((grown.body["partitions"].as_i64(), grown.body["retention_ms"].as_i64()), (Some(6), Some(3_600_000)));
    assert!(
        env.call(Method::PATCH, &topic, Some(&token), Some(json!({"partitions": 2})))
            .await
            .problem(422)
            .contains("partitions")
    );
    assert_eq!(env.call(Method::GET, &topic, Some(&token), None).await.body["partitions"], 6);

    // Tiered storage, by Kafka's rules: on with a local retention, never off again.
    let tiered = json!({"remote_storage_enable": true, "local_retention_ms": 60_000});
    let tiered = env.call(Method::PATCH, &topic, Some(&token), Some(tiered)).await;
    assert_eq!(tiered.status, StatusCode::OK, "{tiered:?}");
    assert_eq!(
        (tiered.body["remote_storage_enable"].as_bool(), tiered.body["local_retention_ms"].as_i64()),
        (Some(true), Some(60_000))
    );
    let catalog: Value =
        serde_json::from_str(&std::fs::read_to_string(env.broker_dir.join("catalog.json")).unwrap()).unwrap();
    assert_eq!(catalog["namespaces"][&id]["telemetry"]["config"]["remote_storage_enable"], true, "{catalog}");
    let off = env.call(Method::PATCH, &topic, Some(&token), Some(json!({"remote_storage_enable": false}))).await;
    assert!(off.problem(422).contains("remote.storage.enable"));
    let longer = json!({"local_retention_ms": 7_200_000});
    assert!(
        env.call(Method::PATCH, &topic, Some(&token), Some(longer)).await.problem(422).contains("local.retention.ms")
    );

    // Another organization neither sees nor touches it.
    let (other, _, _) = env.signup("eve@example.com").await;
    env.call(Method::GET, &topics, Some(&other), None).await.problem(404);
    env.call(Method::DELETE, &topic, Some(&other), None).await.problem(404);

    assert_eq!(env.call(Method::DELETE, &topic, Some(&token), None).await.status, StatusCode::NO_CONTENT);
    env.call(Method::GET, &topic, Some(&token), None).await.problem(404);
    env.call(Method::DELETE, &topic, Some(&token), None).await.problem(404);
    env.call(Method::PATCH, &topic, Some(&token), Some(json!({"partitions": 9}))).await.problem(404);
}

/// A developer instance may have 10 topics and 30 partitions: beyond them a
/// topic is refused with the quota named, a mapping whose topic has no room
/// fails the instance with the quota as its reason, and an operator's
/// override makes room at once.
pub async fn topics_are_held_to_the_instances_quotas(env: Env) {
    let (token, _, _) = env.signup("quota@example.com").await;
    let instance = env.create_instance(&token, "small").await;
    let id = instance["id"].as_str().unwrap().to_string();
    let topics = format!("/v1/instances/{id}/topics");
    let create = |name: String, partitions: u32| {
        env.call(Method::POST, &topics, Some(&token), Some(json!({"name": name, "partitions": partitions})))
    };
    let plans = env.call(Method::GET, "/v1/plans", None, None).await;
    assert_eq!(
        plans.body["items"][0]["kafka"],
        json!({"max_topics": 10, "max_partitions": 30, "max_consumer_groups": 20, "max_storage_bytes": 1_073_741_824u64}),
        "{plans:?}"
    );

    // The default mapping's topic `mqtt` (3 partitions) is one of the ten.
    let detail = create("wide".into(), 28).await.problem(403);
    assert!(detail.contains("max_partitions (30)"), "{detail}");
    for i in 0..9 {
        assert_eq!(create(format!("t{i}"), 1).await.status, StatusCode::CREATED, "topic {i}");
    }
    let refused = create("t9".into(), 1).await;
    assert_eq!(refused.body["type"], "https://omnibus.dev/problems/quota-exceeded", "{refused:?}");
    assert!(refused.problem(403).contains("max_topics (10)"), "{refused:?}");
    let listed = env.call(Method::GET, &topics, Some(&token), None).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 10, "nothing was made past the quota");
    // Growing a topic counts against the partitions.
    let grow = env.call(Method::PATCH, &format!("{topics}/t0"), Some(&token), Some(json!({"partitions": 20}))).await;
    assert!(grow.problem(403).contains("max_partitions"), "{grow:?}");

    // A mapping to an eleventh topic: the instance fails with the quota as its reason.
    let mapping = env
        .call(
            Method::POST,
            &format!("/v1/instances/{id}/mappings"),
            Some(&token),
            Some(json!({"mqtt_filter": "extra/#", "kafka_topic": "extra"})),
        )
        .await;
    assert_eq!(mapping.status, StatusCode::CREATED, "{mapping:?}");
    let got = env.call(Method::GET, &format!("/v1/instances/{id}"), Some(&token), None).await;
    assert_eq!(got.body["status"], "failed", "{got:?}");
    assert!(got.body["status_reason"].as_str().unwrap_or_default().contains("max_topics"), "{got:?}");

    // An operator raises the instance's quota: the mapping's topic is made and the instance is ready again.
    let (operator, _, _) = env.signup("quota-operator@example.com").await;
    env.grant_operator("quota-operator@example.com", true).await;
    let raised = env
        .call(
            Method::PUT,
            &format!("/v1/operator/instances/{id}/quotas"),
            Some(&operator),
            Some(json!({"max_topics": 12})),
        )
        .await;
    assert_eq!(
        raised.body["effective_kafka"],
        json!({"max_topics": 12, "max_partitions": 30, "max_consumer_groups": 20, "max_storage_bytes": 1_073_741_824u64}),
        "{raised:?}"
    );
    let got = env.call(Method::GET, &format!("/v1/instances/{id}"), Some(&token), None).await;
    assert_eq!(got.body["status"], "ready", "{got:?}");
    let listed = env.call(Method::GET, &topics, Some(&token), None).await;
    assert!(listed.body["items"].as_array().unwrap().iter().any(|t| t["name"] == "extra"), "{listed:?}");
    assert_eq!(create("t9".into(), 1).await.status, StatusCode::CREATED);
    create("t10".into(), 1).await.problem(403);
}
