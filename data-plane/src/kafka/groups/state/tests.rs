use super::*;

const SESSION: Duration = Duration::from_secs(10);
const REBALANCE: Duration = Duration::from_secs(30);

fn request(member_id: &str, fresh_id: &str, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        member_id: member_id.into(),
        fresh_id: fresh_id.into(),
        instance_id: None,
        require_known_id: true,
        session_timeout: SESSION,
        rebalance_timeout: REBALANCE,
        protocol_type: "consumer".into(),
        protocols: protocols.iter().map(|p| (p.to_string(), Bytes::from(format!("{p}-{fresh_id}")))).collect(),
        client_id: format!("client-{member_id}"),
        client_host: "/127.0.0.1".into(),
    }
}

/// Joins a new member the v4+ way (MEMBER_ID_REQUIRED, then rejoin).
fn join_new(group: &mut Group, now: Instant, id: &str, protocols: &[&str]) -> Joined {
    let first = group.join(now, request("", id, protocols)).unwrap();
    assert_eq!(first, Joined::MemberIdRequired(id.into()));
    group.join(now, request(id, "unused", protocols)).unwrap()
}

fn joins(completions: &[Completion]) -> BTreeMap<String, JoinResult> {
    completions
        .iter()
        .filter_map(|c| match c {
            Completion::Join { member_id, result: Ok(r) } => Some((member_id.clone(), r.clone())),
            _ => None,
        })
        .collect()
}

fn syncs(completions: &[Completion]) -> BTreeMap<String, Result<Bytes, GroupError>> {
    completions
        .iter()
        .filter_map(|c| match c {
            Completion::Sync { member_id, result } => Some((member_id.clone(), result.clone())),
            _ => None,
        })
        .collect()
}

/// Two members `a` (leader) and `b` in a Stable generation 2.
fn stable_pair(now: Instant) -> Group {
    let mut group = Group::new();
    assert_eq!(join_new(&mut group, now, "a", &["range"]), Joined::Pending("a".into()));
    assert_eq!(joins(&group.take_completions())["a"].generation, 1);
    join_new(&mut group, now, "b", &["range"]);
    assert_eq!(group.phase(), Phase::PreparingRebalance);
    assert_eq!(group.heartbeat(now, "a", None, 1), Err(GroupError::RebalanceInProgress));
    assert_eq!(group.join(now, request("a", "unused", &["range"])).unwrap(), Joined::Pending("a".into()));
    let joined = joins(&group.take_completions());
    assert_eq!(joined.len(), 2);
    assert_eq!(joined["a"].members.len(), 2, "the leader gets every member's metadata");
    assert!(joined["b"].members.is_empty());
    assert_eq!(joined["b"].leader, "a");
    assert_eq!(group.sync(now, "b", None, 2, None, None, vec![]).unwrap(), Synced::Pending);
    assert_eq!(group.heartbeat(now, "b", None, 2), Ok(()));
    let assignments = vec![("a".into(), Bytes::from("pa")), ("b".into(), Bytes::from("pb"))];
    assert_eq!(group.sync(now, "a", None, 2, Some("consumer"), Some("range"), assignments).unwrap(), Synced::Pending);
    let synced = syncs(&group.take_completions());
    assert_eq!(synced["a"], Ok(Bytes::from("pa")));
    assert_eq!(synced["b"], Ok(Bytes::from("pb")));
    assert_eq!(group.phase(), Phase::Stable);
    group
}

#[test]
fn members_join_sync_and_get_the_leaders_assignments() {
    let now = Instant::now();
    let mut group = stable_pair(now);
    assert_eq!(group.sync(now, "b", None, 2, None, None, vec![]), Ok(Synced::Now(Bytes::from("pb"))));
    assert_eq!(group.summaries()[1].assignment, Bytes::from("pb"));
    // A follower rejoining unchanged gets the current generation back.
    match group.join(now, request("b", "unused", &["range"])).unwrap() {
        Joined::Now(result) => assert_eq!((result.generation, result.leader.as_str()), (2, "a")),
        other => panic!("{other:?}"),
    }
    assert_eq!(group.phase(), Phase::Stable);
}

#[test]
fn members_are_described_with_the_client_id_and_host_they_joined_with() {
    let now = Instant::now();
    let mut group = stable_pair(now);
    let described: Vec<_> = group.summaries().into_iter().map(|m| (m.member_id, m.client_id, m.client_host)).collect();
    let expected = |id: &str| (id.to_string(), format!("client-{id}"), "/127.0.0.1".to_string());
    assert_eq!(described, [expected("a"), expected("b")]);
    // A rejoin from elsewhere does not rename the member.
    let moved =
        JoinRequest { client_id: "renamed".into(), client_host: "/10.0.0.9".into(), ..request("b", "u", &["range"]) };
    group.join(now, moved).unwrap();
    assert_eq!(group.summaries()[1].client_id, "client-b");
    assert_eq!(group.summaries()[1].client_host, "/127.0.0.1");
}

#[test]
fn old_versions_join_without_member_id_required() {
    let now = Instant::now();
    let mut group = Group::new();
    let old = JoinRequest { require_known_id: false, ..request("", "x", &["range"]) };
    assert_eq!(group.join(now, old).unwrap(), Joined::Pending("x".into()));
    assert_eq!(joins(&group.take_completions())["x"].generation, 1);
}

#[test]
fn fencing_and_rebalance_errors() {
    let now = Instant::now();
    let mut group = stable_pair(now);
    assert_eq!(group.heartbeat(now, "zzz", None, 2), Err(GroupError::UnknownMemberId));
    assert_eq!(group.heartbeat(now, "a", None, 1), Err(GroupError::IllegalGeneration));
    assert_eq!(group.sync(now, "a", None, 3, None, None, vec![]), Err(GroupError::IllegalGeneration));
    assert_eq!(group.join(now, request("zzz", "u", &["range"])), Err(GroupError::UnknownMemberId));
    assert_eq!(group.check_commit(now, "a", None, 1), Err(GroupError::IllegalGeneration));
    assert_eq!(group.check_commit(now, "", None, -1), Err(GroupError::UnknownMemberId));
    assert_eq!(group.check_commit(now, "b", None, 2), Ok(()));
    // A third member starts a rebalance; the others are told on heartbeat and sync.
    join_new(&mut group, now, "c", &["range"]);
    assert_eq!(group.heartbeat(now, "a", None, 2), Err(GroupError::RebalanceInProgress));
    assert_eq!(group.sync(now, "b", None, 2, None, None, vec![]), Err(GroupError::RebalanceInProgress));
    assert_eq!(group.check_commit(now, "b", None, 2), Ok(()), "commits are allowed while preparing");
    let short = JoinRequest { session_timeout: Duration::from_secs(1), ..request("", "d", &["range"]) };
    assert_eq!(group.join(now, short), Err(GroupError::InvalidSessionTimeout));
    let other_type = JoinRequest { protocol_type: "connect".into(), ..request("", "d", &["range"]) };
    assert_eq!(group.join(now, other_type), Err(GroupError::InconsistentGroupProtocol));
    assert_eq!(group.join(now, request("", "d", &["sticky"])), Err(GroupError::InconsistentGroupProtocol));
}

#[test]
fn protocol_is_the_leaders_first_choice_all_support() {
    let now = Instant::now();
    let mut group = Group::new();
    join_new(&mut group, now, "a", &["sticky", "roundrobin", "range"]);
    group.take_completions();
    join_new(&mut group, now, "b", &["range", "roundrobin"]);
    group.join(now, request("a", "u", &["sticky", "roundrobin", "range"])).unwrap();
    let joined = joins(&group.take_completions());
    assert_eq!(joined["b"].protocol_name, "roundrobin");
    assert_eq!(joined["a"].members[0].2, Bytes::from("roundrobin-u"), "metadata of the chosen protocol");
}

#[test]
fn leaving_rebalances_and_the_last_one_out_empties_the_group() {
    let now = Instant::now();
    let mut group = stable_pair(now);
    group.leave(now, "a", None).unwrap();
    assert_eq!(group.phase(), Phase::PreparingRebalance);
    assert_eq!(group.leave(now, "a", None), Err(GroupError::UnknownMemberId));
    group.join(now, request("b", "u", &["range"])).unwrap();
    let joined = joins(&group.take_completions());
    assert_eq!((joined["b"].generation, joined["b"].leader.as_str()), (3, "b"), "b leads now");
    group.leave(now, "b", None).unwrap();
    assert_eq!(group.phase(), Phase::Empty);
    assert!(group.is_idle());
    assert_eq!(group.check_commit(now, "", None, -1), Ok(()), "a simple commit into an empty group");
    assert_eq!(group.protocol_type(), Some("consumer"), "an empty group still says what it was, as Kafka's does");
    join_new(&mut group, now, "c", &["range"]);
    assert_eq!(joins(&group.take_completions())["c"].generation, 5, "generations go on after Empty");
}

#[test]
fn an_empty_group_takes_a_member_of_another_protocol_type() {
    let now = Instant::now();
    let mut group = stable_pair(now);
    group.leave(now, "a", None).unwrap();
    group.leave(now, "b", None).unwrap();
    assert_eq!(group.phase(), Phase::Empty);
    let connect =
        |member_id: &str| JoinRequest { protocol_type: "connect".into(), ..request(member_id, "d", &["range"]) };
    assert_eq!(group.join(now, connect("")), Ok(Joined::MemberIdRequired("d".into())));
    group.join(now, connect("d")).unwrap();
    assert_eq!(joins(&group.take_completions())["d"].protocol_type, "connect");
    assert_eq!(group.protocol_type(), Some("connect"));
}

#[test]
fn expired_sessions_are_removed_and_rebalance() {
    let now = Instant::now();
    let mut group = stable_pair(now);
    let later = now + Duration::from_secs(8);
    group.heartbeat(later, "a", None, 2).unwrap();
    group.tick(later);
    assert_eq!(group.phase(), Phase::Stable);
    // b has not been heard from for a session timeout.
    let expired = now + SESSION + Duration::from_millis(1);
    group.tick(expired);
    assert_eq!(group.phase(), Phase::PreparingRebalance);
    group.join(expired, request("a", "u", &["range"])).unwrap();
    let joined = joins(&group.take_completions());
    assert_eq!(joined.keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(joined["a"].members.len(), 1);
}

#[test]
fn members_that_do_not_rejoin_are_dropped_at_the_rebalance_timeout() {
    let now = Instant::now();
    let mut group = stable_pair(now);
    join_new(&mut group, now, "c", &["range"]);
    // a keeps heartbeating but never rejoins; b rejoins.
    group.join(now, request("b", "u", &["range"])).unwrap();
    assert!(group.take_completions().is_empty());
    let mut t = now;
    while t < now + REBALANCE {
        t += Duration::from_secs(5);
        let _ = group.heartbeat(t, "a", None, 2);
        group.tick(t);
    }
    let joined = joins(&group.take_completions());
    assert_eq!(joined.keys().collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(joined["b"].leader, "b");
    assert_eq!(group.heartbeat(t, "a", None, 3), Err(GroupError::UnknownMemberId));
}

#[test]
fn a_leader_that_never_syncs_is_dropped_and_followers_are_told() {
    let now = Instant::now();
    let mut group = Group::new();
    join_new(&mut group, now, "a", &["range"]);
    group.take_completions();
    join_new(&mut group, now, "b", &["range"]);
    group.join(now, request("a", "u", &["range"])).unwrap();
    group.take_completions();
    assert_eq!(group.sync(now, "b", None, 2, None, None, vec![]), Ok(Synced::Pending));
    group.tick(now + REBALANCE);
    let synced = syncs(&group.take_completions());
    assert_eq!(synced["b"], Err(GroupError::RebalanceInProgress));
    assert_eq!(group.phase(), Phase::PreparingRebalance);
    assert_eq!(group.heartbeat(now + REBALANCE, "a", None, 2), Err(GroupError::UnknownMemberId));
}

#[test]
fn unclaimed_member_ids_expire() {
    let now = Instant::now();
    let mut group = stable_pair(now);
    assert_eq!(group.join(now, request("", "c", &["range"])), Ok(Joined::MemberIdRequired("c".into())));
    group.tick(now + SESSION + Duration::from_millis(1));
    assert_eq!(group.join(now, request("c", "u", &["range"])), Err(GroupError::UnknownMemberId));
}

fn static_request(member_id: &str, fresh_id: &str, instance_id: &str, protocols: &[&str]) -> JoinRequest {
    JoinRequest { instance_id: Some(instance_id.into()), ..request(member_id, fresh_id, protocols) }
}

/// Static members `a` (instance `ia`, leader) and `b` (`ib`), Stable at
/// generation 2 with assignments `pa` and `pb`.
fn stable_static_pair(now: Instant) -> Group {
    let mut group = Group::new();
    let joined = group.join(now, static_request("", "a", "ia", &["range"])).unwrap();
    assert_eq!(joined, Joined::Pending("a".into()), "a static member needs no MEMBER_ID_REQUIRED round");
    group.take_completions();
    assert_eq!(group.join(now, static_request("", "b", "ib", &["range"])).unwrap(), Joined::Pending("b".into()));
    group.join(now, static_request("a", "unused", "ia", &["range"])).unwrap();
    let joined = joins(&group.take_completions());
    assert_eq!(joined["a"].members.iter().map(|m| m.1.as_deref()).collect::<Vec<_>>(), [Some("ia"), Some("ib")]);
    group.sync(now, "b", Some("ib"), 2, None, None, vec![]).unwrap();
    let assignments = vec![("a".into(), Bytes::from("pa")), ("b".into(), Bytes::from("pb"))];
    group.sync(now, "a", Some("ia"), 2, None, None, assignments).unwrap();
    assert_eq!(syncs(&group.take_completions()).len(), 2);
    assert_eq!(group.phase(), Phase::Stable);
    group
}

#[test]
fn a_static_member_that_restarts_keeps_its_assignment_without_a_rebalance() {
    let now = Instant::now();
    let mut group = stable_static_pair(now);
    // b restarts: a new process, no member id, the same instance id.
    match group.join(now, static_request("", "b2", "ib", &["range"])).unwrap() {
        Joined::Now(result) => {
            assert_eq!((result.generation, result.member_id.as_str(), result.leader.as_str()), (2, "b2", "a"));
            assert!(result.members.is_empty() && !result.skip_assignment);
        }
        other => panic!("expected the current generation, got {other:?}"),
    }
    assert_eq!(group.phase(), Phase::Stable);
    assert_eq!(group.sync(now, "b2", Some("ib"), 2, None, None, vec![]), Ok(Synced::Now(Bytes::from("pb"))));
    // The old incarnation is fenced wherever it shows up.
    assert_eq!(group.heartbeat(now, "b", Some("ib"), 2), Err(GroupError::FencedInstanceId));
    assert_eq!(group.check_commit(now, "b", Some("ib"), 2), Err(GroupError::FencedInstanceId));
    assert_eq!(group.leave(now, "b", Some("ib")), Err(GroupError::FencedInstanceId));
    assert_eq!(group.heartbeat(now, "b2", Some("ib"), 2), Ok(()));
    assert_eq!(group.heartbeat(now, "a", None, 2), Ok(()), "a is untouched");
    let members: Vec<_> = group.summaries().into_iter().map(|m| (m.member_id, m.instance_id)).collect();
    assert_eq!(members, [("a".into(), Some("ia".into())), ("b2".into(), Some("ib".into()))]);
}

#[test]
fn a_restarted_static_leader_skips_assignment_and_a_changed_protocol_rebalances() {
    let now = Instant::now();
    let mut group = stable_static_pair(now);
    match group.join(now, static_request("", "a2", "ia", &["range"])).unwrap() {
        Joined::Now(result) => {
            assert_eq!((result.leader.as_str(), result.members.len()), ("a2", 2));
            assert!(result.skip_assignment, "KIP-814: the assignments stand");
        }
        other => panic!("expected the current generation, got {other:?}"),
    }
    assert_eq!(group.sync(now, "a2", Some("ia"), 2, None, None, vec![]), Ok(Synced::Now(Bytes::from("pa"))));
    // a restarts again preferring sticky, which b lacks: still range, no rebalance.
    let prefers_sticky = static_request("", "a3", "ia", &["sticky", "range"]);
    assert!(matches!(group.join(now, prefers_sticky).unwrap(), Joined::Now(_)));
    // b comes back with sticky too: the group's choice changes, so it rebalances.
    let changed = static_request("", "b2", "ib", &["sticky", "range"]);
    assert_eq!(group.join(now, changed).unwrap(), Joined::Pending("b2".into()));
    assert_eq!(group.phase(), Phase::PreparingRebalance);
    group.join(now, static_request("a3", "unused", "ia", &["sticky", "range"])).unwrap();
    let joined = joins(&group.take_completions());
    assert_eq!((joined["b2"].generation, joined["b2"].protocol_name.as_str()), (3, "sticky"));
}

#[test]
fn a_static_member_replaced_while_joining_is_fenced_and_its_successor_joins() {
    let now = Instant::now();
    let mut group = stable_static_pair(now);
    join_new(&mut group, now, "c", &["range"]);
    assert_eq!(group.join(now, static_request("b", "unused", "ib", &["range"])).unwrap(), Joined::Pending("b".into()));
    // b's process dies while its JoinGroup waits; its successor joins.
    assert_eq!(group.join(now, static_request("", "b2", "ib", &["range"])).unwrap(), Joined::Pending("b2".into()));
    let completions = group.take_completions();
    assert!(
        completions.contains(&Completion::Join { member_id: "b".into(), result: Err(GroupError::FencedInstanceId) })
    );
    group.join(now, static_request("a", "unused", "ia", &["range"])).unwrap();
    let joined = joins(&group.take_completions());
    assert_eq!(joined.keys().collect::<Vec<_>>(), ["a", "b2", "c"]);
    assert_eq!(joined["b2"].generation, 3);
}

#[test]
fn an_admin_removes_a_static_member_by_its_instance_id() {
    let now = Instant::now();
    let mut group = stable_static_pair(now);
    assert_eq!(group.leave(now, "", Some("nobody")), Err(GroupError::UnknownMemberId));
    group.leave(now, "", Some("ib")).unwrap();
    assert_eq!(group.phase(), Phase::PreparingRebalance);
    group.join(now, static_request("a", "unused", "ia", &["range"])).unwrap();
    assert_eq!(joins(&group.take_completions()).keys().collect::<Vec<_>>(), ["a"]);
    // The removed instance comes back as a new member.
    assert_eq!(group.join(now, static_request("", "b3", "ib", &["range"])).unwrap(), Joined::Pending("b3".into()));
    assert_eq!(group.phase(), Phase::PreparingRebalance);
}
