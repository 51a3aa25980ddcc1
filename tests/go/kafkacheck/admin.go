package main

import (
	"context"
	"flag"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// adminResult is what kadm saw at each step of a topic's life.
type adminResult struct {
	Created         createdJSON                `json:"created"`
	CreatedAgain    *errorJSON                 `json:"created_again"`
	Listed          map[string]topicJSON       `json:"listed"`
	Configs         map[string]configJSON      `json:"configs"`
	ConfigsError    *errorJSON                 `json:"configs_error"`
	Altered         *errorJSON                 `json:"altered"`
	ConfigsAltered  map[string]configJSON      `json:"configs_altered"`
	AddedPartitions *errorJSON                 `json:"added_partitions"`
	ListedGrown     map[string]topicJSON       `json:"listed_grown"`
	EndOffsets      map[string]map[int32]int64 `json:"end_offsets"`
	Deleted         *errorJSON                 `json:"deleted"`
	ListedDeleted   map[string]topicJSON       `json:"listed_deleted"`
	DeletedAgain    *errorJSON                 `json:"deleted_again"`
}

type createdJSON struct {
	Topic             string                `json:"topic"`
	ID                string                `json:"id"`
	Partitions        int32                 `json:"partitions"`
	ReplicationFactor int16                 `json:"replication_factor"`
	Configs           map[string]configJSON `json:"configs"`
	Error             *errorJSON            `json:"error"`
}

type topicJSON struct {
	ID         string     `json:"id"`
	Partitions []int32    `json:"partitions"`
	Leaders    []int32    `json:"leaders"`
	Error      *errorJSON `json:"error"`
}

type configJSON struct {
	Value  *string `json:"value"`
	Source string  `json:"source"`
}

func runAdmin(ctx context.Context, l login, args []string) (any, error) {
	flags := flag.NewFlagSet("admin", flag.ExitOnError)
	topic := flags.String("topic", "", "the topic to create and delete")
	partitions := flags.Int("partitions", 3, "partitions to create it with")
	_ = flags.Parse(args)

	cl, err := l.client()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var out adminResult

	retention := "3600000"
	created, err := adm.CreateTopic(ctx, int32(*partitions), -1, map[string]*string{"retention.ms": &retention}, *topic)
	out.Created = createdJSON{
		Topic:             created.Topic,
		ID:                created.ID.String(),
		Partitions:        created.NumPartitions,
		ReplicationFactor: created.ReplicationFactor,
		Configs:           configMap(created.Configs),
		Error:             describeError(err),
	}
	_, err = adm.CreateTopic(ctx, int32(*partitions), -1, nil, *topic)
	out.CreatedAgain = describeError(err)

	if out.Listed, err = listTopics(ctx, cl); err != nil {
		return nil, err
	}

	out.Configs, out.ConfigsError = describeConfigs(ctx, adm, *topic)
	hour2 := "7200000"
	altered, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: &hour2}}, *topic)
	if err == nil {
		var r kadm.AlterConfigsResponse
		if r, err = altered.On(*topic, nil); err == nil {
			err = r.Err
		}
	}
	out.Altered = describeError(err)
	out.ConfigsAltered, _ = describeConfigs(ctx, adm, *topic)

	grown, err := adm.CreatePartitions(ctx, 2, *topic)
	if err == nil {
		var r kadm.CreatePartitionsResponse
		if r, err = grown.On(*topic, nil); err == nil {
			err = r.Err
		}
	}
	out.AddedPartitions = describeError(err)
	if out.ListedGrown, err = listTopics(ctx, cl); err != nil {
		return nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, *topic)
	if err != nil {
		return nil, err
	}
	out.EndOffsets = map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if out.EndOffsets[o.Topic] == nil {
			out.EndOffsets[o.Topic] = map[int32]int64{}
		}
		out.EndOffsets[o.Topic][o.Partition] = o.Offset
	})

	deleted, err := adm.DeleteTopic(ctx, *topic)
	if err == nil {
		err = deleted.Err
	}
	out.Deleted = describeError(err)
	if out.ListedDeleted, err = listTopics(ctx, cl); err != nil {
		return nil, err
	}
	deleted, err = adm.DeleteTopic(ctx, *topic)
	if err == nil {
		err = deleted.Err
	}
	out.DeletedAgain = describeError(err)
	return out, nil
}

// listTopics asks the broker for every topic with a Metadata request of its
// own: kadm's ListTopics answers from kgo's metadata cache for 5 s
// (MetadataMinAge), and kadm drops a topic it just changed from that cache,
// so right after CreatePartitions it lists no topic at all.
func listTopics(ctx context.Context, cl *kgo.Client) (map[string]topicJSON, error) {
	response, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[string]topicJSON{}
	for _, t := range response.Topics {
		if t.Topic == nil {
			continue
		}
		topic := topicJSON{ID: kadm.TopicID(t.TopicID).String(), Error: describeError(kerrOf(t.ErrorCode)), Partitions: []int32{}, Leaders: []int32{}}
		sort.Slice(t.Partitions, func(i, j int) bool { return t.Partitions[i].Partition < t.Partitions[j].Partition })
		for _, p := range t.Partitions {
			topic.Partitions = append(topic.Partitions, p.Partition)
			topic.Leaders = append(topic.Leaders, p.Leader)
		}
		out[*t.Topic] = topic
	}
	return out, nil
}

// describeConfigs is kadm's DescribeTopicConfigs of one topic.
func describeConfigs(ctx context.Context, adm *kadm.Client, topic string) (map[string]configJSON, *errorJSON) {
	configs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return nil, describeError(err)
	}
	resource, err := configs.On(topic, nil)
	if err != nil {
		return nil, describeError(err)
	}
	if resource.Err != nil {
		return nil, describeError(resource.Err)
	}
	out := map[string]configJSON{}
	for _, c := range resource.Configs {
		out[c.Key] = configJSON{Value: c.Value, Source: c.Source.String()}
	}
	return out, nil
}

func configMap(configs map[string]kadm.Config) map[string]configJSON {
	out := map[string]configJSON{}
	for k, c := range configs {
		out[k] = configJSON{Value: c.Value, Source: c.Source.String()}
	}
	return out
}
