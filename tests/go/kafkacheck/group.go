package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupResult is one run of a group member: what it read and committed, and
// what kadm showed of the group while it was a member and after it left.
type groupResult struct {
	Produced int          `json:"produced"`
	Consumed []recordJSON `json:"consumed"`
	// Committed is the member's own view of its committed offsets.
	Committed map[string]map[int32]int64 `json:"committed"`
	// Listed is ListGroups: each group's protocol type and state.
	Listed map[string]listedGroupJSON `json:"listed"`
	// Described and Fetched are DescribeGroups and OffsetFetch while
	// the member was in the group; DescribedAfterLeave once it had left.
	Described           describedGroupJSON         `json:"described"`
	Fetched             map[string]map[int32]int64 `json:"fetched"`
	FetchedError        *errorJSON                 `json:"fetched_error"`
	Lag                 map[string]map[int32]int64 `json:"lag"`
	DescribedAfterLeave describedGroupJSON         `json:"described_after_leave"`
}

type recordJSON struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key"`
	Value     string `json:"value"`
}

type listedGroupJSON struct {
	ProtocolType string `json:"protocol_type"`
	State        string `json:"state"`
}

type describedGroupJSON struct {
	State        string       `json:"state"`
	ProtocolType string       `json:"protocol_type"`
	Protocol     string       `json:"protocol"`
	Members      []memberJSON `json:"members"`
	Error        *errorJSON   `json:"error"`
}

type memberJSON struct {
	ClientID   string             `json:"client_id"`
	ClientHost string             `json:"client_host"`
	Assigned   map[string][]int32 `json:"assigned"`
}

func runGroup(ctx context.Context, l login, args []string) (any, error) {
	flags := flag.NewFlagSet("group", flag.ExitOnError)
	topic := flags.String("topic", "", "the topic, created with -partitions if missing")
	partitions := flags.Int("partitions", 3, "partitions of a new topic")
	group := flags.String("group", "", "the consumer group")
	tag := flags.String("tag", "run", "prefix of the produced values")
	produce := flags.Int("produce", 0, "records to produce first")
	consume := flags.Int("consume", 0, "records to consume and commit")
	_ = flags.Parse(args)

	admin, err := l.client()
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	if _, err := adm.CreateTopic(ctx, int32(*partitions), -1, nil, *topic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return nil, fmt.Errorf("create %s: %w", *topic, err)
	}
	out := groupResult{Consumed: []recordJSON{}}
	var records []*kgo.Record
	for i := range *produce {
		records = append(records, &kgo.Record{Topic: *topic, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%s-%d", *tag, i)})
	}
	if err := admin.ProduceSync(ctx, records...).FirstErr(); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	out.Produced = len(records)

	member, err := l.client(
		kgo.ConsumerGroup(*group),
		kgo.ConsumeTopics(*topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(10*time.Second),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	defer member.Close()
	var consumed []*kgo.Record
	for len(consumed) < *consume {
		fetches := member.PollRecords(ctx, *consume-len(consumed))
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("consumed %d of %d: %w", len(consumed), *consume, err)
		}
		var fetchErr error
		fetches.EachError(func(t string, p int32, err error) { fetchErr = fmt.Errorf("fetch %s/%d: %w", t, p, err) })
		if fetchErr != nil {
			return nil, fetchErr
		}
		consumed = append(consumed, fetches.Records()...)
	}
	for _, r := range consumed {
		out.Consumed = append(out.Consumed, recordJSON{r.Partition, r.Offset, string(r.Key), string(r.Value)})
	}
	if len(consumed) > 0 {
		if err := member.CommitRecords(ctx, consumed...); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
	}
	out.Committed = map[string]map[int32]int64{}
	for t, ps := range member.CommittedOffsets() {
		out.Committed[t] = map[int32]int64{}
		for p, o := range ps {
			out.Committed[t][p] = o.Offset
		}
	}

	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out.Listed = listedGroups(listed)
	out.Described = describeGroup(ctx, adm, *group)
	out.Fetched, out.FetchedError = fetchOffsets(ctx, adm, *group)
	lags, err := adm.Lag(ctx, *group)
	if err != nil {
		return nil, fmt.Errorf("lag: %w", err)
	}
	out.Lag = map[string]map[int32]int64{}
	for _, lag := range lags {
		for t, ps := range lag.Lag {
			out.Lag[t] = map[int32]int64{}
			for p, l := range ps {
				out.Lag[t][p] = l.Lag
			}
		}
	}

	member.LeaveGroup()
	out.DescribedAfterLeave = describeGroup(ctx, adm, *group)
	return out, nil
}

func listedGroups(listed kadm.ListedGroups) map[string]listedGroupJSON {
	out := map[string]listedGroupJSON{}
	for name, g := range listed {
		out[name] = listedGroupJSON{ProtocolType: g.ProtocolType, State: g.State}
	}
	return out
}

// describeGroup is kadm's DescribeGroups of one group.
func describeGroup(ctx context.Context, adm *kadm.Client, group string) describedGroupJSON {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return describedGroupJSON{Error: describeError(err)}
	}
	g, err := described.On(group, nil)
	if err == nil {
		err = g.Err
	}
	out := describedGroupJSON{
		State:        g.State,
		ProtocolType: g.ProtocolType,
		Protocol:     g.Protocol,
		Members:      []memberJSON{},
		Error:        describeError(err),
	}
	for _, m := range g.Members {
		member := memberJSON{ClientID: m.ClientID, ClientHost: m.ClientHost, Assigned: map[string][]int32{}}
		if assigned, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range assigned.Topics {
				ps := append([]int32{}, t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				member.Assigned[t.Topic] = ps
			}
		}
		out.Members = append(out.Members, member)
	}
	return out
}

// fetchOffsets is kadm's FetchOffsets (OffsetFetch) of one group.
func fetchOffsets(ctx context.Context, adm *kadm.Client, group string) (map[string]map[int32]int64, *errorJSON) {
	fetched, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = fetched.Error()
	}
	out := map[string]map[int32]int64{}
	fetched.Each(func(o kadm.OffsetResponse) {
		if out[o.Topic] == nil {
			out[o.Topic] = map[int32]int64{}
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out, describeError(err)
}
