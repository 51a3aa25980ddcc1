use bytes::Bytes;

use super::*;

fn dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("omnibus-dp-hub-{}", uuid::Uuid::new_v4()))
}

fn key(namespace: &str, client_id: &str) -> SessionKey {
    SessionKey { namespace: Arc::from(namespace), client_id: Arc::from(client_id) }
}

fn message(topic: &str, payload: &'static str, qos: QoS, retain: bool) -> Message {
    Message::new(Arc::from(topic), Bytes::from_static(payload.as_bytes()), qos, retain)
}

/// Every message the session would send now, with a wide window.
fn drain(session: &Session) -> Vec<(Bytes, QoS, bool)> {
    let mut inner = session.lock();
    std::iter::from_fn(|| inner.state.next_outgoing(100, 0))
        .map(|out| (out.publish.payload, out.publish.qos.qos(), out.publish.retain))
        .collect()
}

#[tokio::test]
async fn persistent_sessions_queue_offline_and_survive_a_reopen() {
    let dir = dir();
    let ns: Arc<str> = Arc::from("ns");
    let hub = Hub::open(&dir, 100, None).unwrap();
    let (sub, present) = hub.connect(key("ns", "sub"), false, None, None).await.unwrap();
    assert!(!present);
    sub.attach(1, 0);
    hub.subscribe(&sub, &[("a/#".into(), QoS::ExactlyOnce.into())]).await.unwrap();
    hub.disconnect(&sub, 1, None, false).await;
    // Offline: QoS 1 and 2 are queued, QoS 0 is not.
    for (payload, qos) in [("zero", QoS::AtMostOnce), ("one", QoS::AtLeastOnce), ("two", QoS::ExactlyOnce)] {
        hub.publish(&ns, message("a/b", payload, qos, false)).await.unwrap();
    }
    assert_eq!(sub.lock().state.queued(), 2);
    drop((sub, hub));

    let hub = Hub::open(&dir, 100, None).unwrap();
    let (sub, present) = hub.connect(key("ns", "sub"), false, None, None).await.unwrap();
    assert!(present, "the session was stored");
    sub.attach(2, 0);
    assert_eq!(
        drain(&sub),
        [(Bytes::from("one"), QoS::AtLeastOnce, false), (Bytes::from("two"), QoS::ExactlyOnce, false)]
    );
    // Still subscribed after the reopen.
    hub.publish(&ns, message("a/c", "three", QoS::AtLeastOnce, false)).await.unwrap();
    assert_eq!(drain(&sub).len(), 1);
    // A clean connect discards it, on disk too.
    let (clean, present) = hub.connect(key("ns", "sub"), true, Some(0), None).await.unwrap();
    assert!(!present && !clean.persistent);
    drop((sub, clean, hub));
    let hub = Hub::open(&dir, 100, None).unwrap();
    let (_, present) = hub.connect(key("ns", "sub"), false, None, None).await.unwrap();
    assert!(!present);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn durable_deliveries_wait_for_the_store_and_clean_ones_do_not() {
    let dir = dir();
    let hub = Hub::open(&dir, 100, None).unwrap();
    let ns: Arc<str> = Arc::from("ns");
    let (durable, _) = hub.connect(key("ns", "durable"), false, None, None).await.unwrap();
    let (clean, _) = hub.connect(key("ns", "clean"), true, Some(0), None).await.unwrap();
    for (session, connection) in [(&durable, 1), (&clean, 2)] {
        session.attach(connection, 0);
        hub.subscribe(session, &[("t".into(), QoS::AtLeastOnce.into())]).await.unwrap();
    }
    let routed = hub.route(&ns, message("t", "m", QoS::AtLeastOnce, false)).await;
    assert!(drain(&durable).is_empty(), "not sent before the store has it");
    assert_eq!(drain(&clean).len(), 1);
    assert_eq!(hub.complete(routed).await.unwrap(), 2);
    assert_eq!(drain(&durable).len(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn retained_messages_are_set_cleared_and_delivered_on_subscribe() {
    let dir = dir();
    let ns: Arc<str> = Arc::from("ns");
    let hub = Hub::open(&dir, 100, None).unwrap();
    hub.publish(&ns, message("r/1", "first", QoS::AtLeastOnce, true)).await.unwrap();
    hub.publish(&ns, message("r/1", "second", QoS::AtLeastOnce, true)).await.unwrap();
    hub.publish(&ns, message("r/2", "gone", QoS::AtMostOnce, true)).await.unwrap();
    hub.publish(&ns, message("r/2", "", QoS::AtMostOnce, true)).await.unwrap();
    hub.publish(&Arc::from("other"), message("r/3", "theirs", QoS::AtMostOnce, true)).await.unwrap();
    drop(hub);
    let hub = Hub::open(&dir, 100, None).unwrap();
    assert_eq!(hub.retained_count("ns"), 1);
    let (session, _) = hub.connect(key("ns", "c"), true, Some(0), None).await.unwrap();
    session.attach(1, 0);
    let filters = [("r/#".to_string(), QoS::AtMostOnce.into())];
    hub.subscribe(&session, &filters).await.unwrap();
    hub.deliver_retained(&session, &filters).await.unwrap();
    assert_eq!(drain(&session), [(Bytes::from("second"), QoS::AtMostOnce, true)]);
    // A live delivery of a retained publish to an existing subscription has no retain flag.
    hub.publish(&ns, message("r/1", "third", QoS::AtLeastOnce, true)).await.unwrap();
    assert_eq!(drain(&session), [(Bytes::from("third"), QoS::AtMostOnce, false)]);
    hub.delete_namespace("ns").await.unwrap();
    assert_eq!(hub.retained_count("ns"), 0);
    assert_eq!(hub.retained_count("other"), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_full_attached_queue_holds_the_publisher_back() {
    let dir = dir();
    let hub = Arc::new(Hub::open(&dir, 10_000, None).unwrap());
    let ns: Arc<str> = Arc::from("ns");
    let (slow, _) = hub.connect(key("ns", "slow"), true, Some(0), None).await.unwrap();
    slow.attach(1, 0);
    hub.subscribe(&slow, &[("t".into(), QoS::AtMostOnce.into())]).await.unwrap();
    for _ in 0..crate::mqtt::live_session::QUEUE_WATERMARK {
        hub.publish(&ns, message("t", "m", QoS::AtMostOnce, false)).await.unwrap();
    }
    let publisher = {
        let (hub, ns) = (hub.clone(), ns.clone());
        tokio::spawn(async move { hub.publish(&ns, message("t", "last", QoS::AtMostOnce, false)).await })
    };
    tokio::task::yield_now().await;
    assert!(!publisher.is_finished());
    slow.lock().state.next_outgoing(1, 0).unwrap();
    slow.made_room();
    assert_eq!(publisher.await.unwrap().unwrap(), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn namespaces_do_not_see_each_other() {
    let dir = dir();
    let hub = Hub::open(&dir, 100, None).unwrap();
    let (a, _) = hub.connect(key("tenant-a", "same-id"), true, Some(0), None).await.unwrap();
    let (b, _) = hub.connect(key("tenant-b", "same-id"), true, Some(0), None).await.unwrap();
    a.attach(1, 0);
    b.attach(2, 0);
    hub.subscribe(&a, &[("#".into(), QoS::AtMostOnce.into())]).await.unwrap();
    hub.subscribe(&b, &[("#".into(), QoS::AtMostOnce.into())]).await.unwrap();
    assert_eq!(hub.publish(&Arc::from("tenant-a"), message("t", "x", QoS::AtMostOnce, false)).await.unwrap(), 1);
    assert_eq!(drain(&a).len(), 1);
    assert!(drain(&b).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_shared_subscription_delivers_each_message_to_one_member_and_a_leaver_hands_over() {
    let dir = dir();
    let hub = Hub::open(&dir, 100, None).unwrap();
    let ns: Arc<str> = Arc::from("ns");
    let filter = [("$share/workers/jobs/+".to_string(), QoS::AtLeastOnce.into())];
    let (one, _) = hub.connect(key("ns", "one"), true, Some(0), None).await.unwrap();
    let (two, _) = hub.connect(key("ns", "two"), true, Some(0), None).await.unwrap();
    let (offline, _) = hub.connect(key("ns", "offline"), false, None, None).await.unwrap();
    for (session, connection) in [(&one, 1), (&two, 2), (&offline, 3)] {
        session.attach(connection, 0);
        hub.subscribe(session, &filter).await.unwrap();
    }
    hub.disconnect(&offline, 3, None, false).await;
    for n in 0..6 {
        let payload: &'static str = ["0", "1", "2", "3", "4", "5"][n];
        assert_eq!(hub.publish(&ns, message("jobs/a", payload, QoS::AtLeastOnce, false)).await.unwrap(), 1);
    }
    // Attached members take turns; the offline one gets nothing while they are there.
    let (got_one, got_two) = (one.lock().state.queued(), two.lock().state.queued());
    assert_eq!((got_one, got_two, offline.lock().state.queued()), (3, 3, 0));
    // One takes a message in flight, then leaves: its three go to the other attached member.
    one.lock().state.next_outgoing(10, 0).unwrap();
    hub.disconnect(&one, 1, None, false).await;
    assert_eq!(two.lock().state.queued(), 6);
    // The last attached member leaves: the persistent offline member keeps the work.
    hub.disconnect(&two, 2, None, false).await;
    assert_eq!(offline.lock().state.queued(), 6);
    let mut seen: Vec<Bytes> = drain_after_attach(&offline, 4);
    seen.sort();
    assert_eq!(seen, ["0", "1", "2", "3", "4", "5"].map(Bytes::from));
    std::fs::remove_dir_all(dir).unwrap();
}

fn drain_after_attach(session: &Session, connection: u64) -> Vec<Bytes> {
    session.attach(connection, 0);
    drain(session).into_iter().map(|(payload, _, _)| payload).collect()
}

#[tokio::test]
async fn delayed_publishes_wait_their_time_and_survive_a_reopen() {
    let dir = dir();
    let ns: Arc<str> = Arc::from("ns");
    let hub = Arc::new(Hub::open(&dir, 100, None).unwrap());
    hub.publish_later(&ns, message("d/soon", "soon", QoS::AtLeastOnce, false), Duration::from_millis(200), None)
        .await
        .unwrap();
    hub.publish_later(&ns, message("d/later", "later", QoS::AtLeastOnce, false), Duration::from_secs(3600), None)
        .await
        .unwrap();
    assert_eq!(hub.delayed_count("ns"), 2);
    drop(hub);

    let hub = Arc::new(Hub::open(&dir, 100, None).unwrap());
    assert_eq!(hub.delayed_count("ns"), 2, "both are on disk");
    let (session, _) = hub.connect(key("ns", "c"), true, Some(0), None).await.unwrap();
    session.attach(1, 0);
    hub.subscribe(&session, &[("d/#".into(), QoS::AtLeastOnce.into())]).await.unwrap();
    Hub::spawn_timers(&hub);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while session.lock().state.queued() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the due publish was not delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(drain(&session), [(Bytes::from("soon"), QoS::AtLeastOnce, false)]);
    assert_eq!(hub.delayed_count("ns"), 1, "the later one still waits");
    hub.delete_namespace("ns").await.unwrap();
    assert_eq!(hub.delayed_count("ns"), 0);
    drop(hub);
    let hub = Hub::open(&dir, 100, None).unwrap();
    assert_eq!(hub.delayed_count("ns"), 0, "gone from disk too");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn each_namespace_reads_its_own_sys_statistics_which_are_not_stored() {
    use std::sync::atomic::Ordering;
    let dir = dir();
    let hub = Hub::open(&dir, 100, None).unwrap();
    let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
    hub.meters(&a).stats.messages_received.fetch_add(7, Ordering::Relaxed);
    hub.meters(&b).stats.messages_received.fetch_add(1, Ordering::Relaxed);
    hub.publish(&a, message("kept", "x", QoS::AtMostOnce, true)).await.unwrap();
    let (watcher, _) = hub.connect(key("a", "w"), true, Some(0), None).await.unwrap();
    watcher.attach(1, 0);
    hub.subscribe(&watcher, &[("$SYS/#".into(), QoS::AtMostOnce.into())]).await.unwrap();
    hub.publish_stats(now_ms()).await;
    let seen: Vec<(String, Bytes)> = {
        let mut inner = watcher.lock();
        std::iter::from_fn(|| inner.state.next_outgoing(100, 0))
            .map(|out| (out.publish.topic.to_string(), out.publish.payload))
            .collect()
    };
    assert!(seen.contains(&("$SYS/broker/messages/received".into(), Bytes::from("7"))), "{seen:?}");
    assert!(seen.contains(&("$SYS/broker/retained messages/count".into(), Bytes::from("1"))), "{seen:?}");
    assert_eq!(seen.len(), 6);
    assert_eq!(hub.retained_count("a"), 1, "$SYS topics are not the clients' retained messages");
    drop(watcher);
    drop(hub);
    let hub = Hub::open(&dir, 100, None).unwrap();
    let (late, _) = hub.connect(key("a", "late"), true, Some(0), None).await.unwrap();
    late.attach(1, 0);
    let filters = [("$SYS/#".to_string(), QoS::AtMostOnce.into())];
    hub.subscribe(&late, &filters).await.unwrap();
    hub.deliver_retained(&late, &filters).await.unwrap();
    assert_eq!(late.lock().state.queued(), 0, "statistics are made again after a restart, not stored");
    std::fs::remove_dir_all(dir).unwrap();
}
