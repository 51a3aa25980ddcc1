package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// isolationResult is what a credential sees of a topic and a group that exist
// only in another instance, and what touching them answers.
type isolationResult struct {
	Topics        []string                   `json:"topics"`
	Metadata      *errorJSON                 `json:"metadata"`
	Groups        []string                   `json:"groups"`
	Described     describedGroupJSON         `json:"described"`
	Fetched       map[string]map[int32]int64 `json:"fetched"`
	FetchedError  *errorJSON                 `json:"fetched_error"`
	Produced      *errorJSON                 `json:"produced"`
	EndOffsets    *errorJSON                 `json:"end_offsets"`
	RawFetch      *errorJSON                 `json:"raw_fetch"`
	RawOffsets    *errorJSON                 `json:"raw_list_offsets"`
	Committed     *errorJSON                 `json:"committed"`
	Configs       *errorJSON                 `json:"configs"`
	AddPartitions *errorJSON                 `json:"add_partitions"`
	Deleted       *errorJSON                 `json:"deleted"`
}

func runIsolation(ctx context.Context, l login, args []string) (any, error) {
	flags := flag.NewFlagSet("isolation", flag.ExitOnError)
	topic := flags.String("topic", "", "another instance's topic")
	group := flags.String("group", "", "another instance's group")
	_ = flags.Parse(args)

	cl, err := l.client(kgo.UnknownTopicRetries(2), kgo.RecordRetries(3))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	out := isolationResult{}

	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	out.Topics = topics.Names()
	named, err := adm.ListTopics(ctx, *topic)
	if err != nil {
		return nil, fmt.Errorf("list topic %s: %w", *topic, err)
	}
	out.Metadata = describeError(named[*topic].Err)
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out.Groups = groups.Groups()
	out.Described = describeGroup(ctx, adm, *group)
	out.Fetched, out.FetchedError = fetchOffsets(ctx, adm, *group)

	produced := cl.ProduceSync(ctx, &kgo.Record{Topic: *topic, Value: []byte("trespass")})
	out.Produced = describeError(produced.FirstErr())

	ends, err := adm.ListEndOffsets(ctx, *topic)
	if err == nil {
		err = ends.Error()
	}
	out.EndOffsets = describeError(err)

	// A Fetch and a ListOffsets of partition 0 sent straight to the
	// broker, past the client's metadata: what a client that guessed the
	// name would do.
	metadata, err := adm.BrokerMetadata(ctx)
	if err != nil || len(metadata.Brokers) == 0 {
		return nil, fmt.Errorf("broker metadata: %v", err)
	}
	broker := cl.Broker(int(metadata.Brokers[0].NodeID))
	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxWaitMillis = 100
	fetch.MaxBytes = 1 << 20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = *topic
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	fetched, err := fetch.RequestWith(ctx, broker)
	if err != nil {
		return nil, fmt.Errorf("raw fetch: %w", err)
	}
	out.RawFetch = firstError(fetched.ErrorCode)
	for _, t := range fetched.Topics {
		for _, p := range t.Partitions {
			out.RawFetch = orError(out.RawFetch, p.ErrorCode)
		}
	}
	list := kmsg.NewPtrListOffsetsRequest()
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = *topic
	lp := kmsg.NewListOffsetsRequestTopicPartition()
	lp.Timestamp = -1
	lt.Partitions = append(lt.Partitions, lp)
	list.Topics = append(list.Topics, lt)
	listed, err := list.RequestWith(ctx, broker)
	if err != nil {
		return nil, fmt.Errorf("raw list offsets: %w", err)
	}
	for _, t := range listed.Topics {
		for _, p := range t.Partitions {
			out.RawOffsets = orError(out.RawOffsets, p.ErrorCode)
		}
	}

	// A commit to the group's name for the topic: another instance's
	// group of that name is not this one, and the topic does not exist.
	var offsets kadm.Offsets
	offsets.Add(kadm.Offset{Topic: *topic, Partition: 0, At: 1, LeaderEpoch: -1})
	committed, err := adm.CommitOffsets(ctx, *group, offsets)
	if err == nil {
		err = committed.Error()
	}
	out.Committed = describeError(err)

	_, configsErr := describeConfigs(ctx, adm, *topic)
	out.Configs = configsErr
	grown, err := adm.CreatePartitions(ctx, 1, *topic)
	if err == nil {
		err = grown.Error()
	}
	out.AddPartitions = describeError(err)
	deleted, err := adm.DeleteTopic(ctx, *topic)
	if err == nil {
		err = deleted.Err
	}
	out.Deleted = describeError(err)
	return out, nil
}

// firstError is code's error, or nil for 0.
func firstError(code int16) *errorJSON { return describeError(kerrOf(code)) }

// orError keeps the first error: e, else code's.
func orError(e *errorJSON, code int16) *errorJSON {
	if e != nil {
		return e
	}
	return firstError(code)
}
