package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const codecPartitions = 2

// codecResult is one codec's round trip through topic {prefix}-{codec}.
type codecResult struct {
	Topic    string `json:"topic"`
	Produced int    `json:"produced"`
	Consumed int    `json:"consumed"`
	// Mismatches lists every consumed record that differs from the one
	// produced at its place (key, value, null-ness, headers, offset).
	Mismatches []string `json:"mismatches"`
	// Compression is every batch codec the consumer saw, as the batch
	// attributes tell: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
	Compression []int `json:"compression"`
	// EndOffsets is each partition's high watermark after producing.
	EndOffsets map[int32]int64 `json:"end_offsets"`
}

var codecs = []struct {
	name  string
	codec kgo.CompressionCodec
}{
	{"none", kgo.NoCompression()},
	{"gzip", kgo.GzipCompression()},
	{"snappy", kgo.SnappyCompression()},
	{"lz4", kgo.Lz4Compression()},
	{"zstd", kgo.ZstdCompression()},
}

func runCodecs(ctx context.Context, l login, args []string) (any, error) {
	flags := flag.NewFlagSet("codecs", flag.ExitOnError)
	prefix := flags.String("topic", "codec", "topic name prefix; one topic per codec")
	records := flags.Int("records", 40, "keyed records per codec, plus one tombstone")
	_ = flags.Parse(args)

	out := map[string]codecResult{}
	for _, c := range codecs {
		result, err := roundTrip(ctx, l, fmt.Sprintf("%s-%s", *prefix, c.name), c.codec, *records)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		out[c.name] = result
	}
	return out, nil
}

// roundTrip creates topic, produces n keyed records with headers and a
// tombstone with the (idempotent, acks=all) producer compressing with codec,
// then reads both partitions from the start and compares.
func roundTrip(ctx context.Context, l login, topic string, codec kgo.CompressionCodec, n int) (codecResult, error) {
	result := codecResult{Topic: topic, Mismatches: []string{}, Compression: []int{}}
	producer, err := l.client(
		kgo.ProducerBatchCompression(codec),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.UnknownTopicRetries(3),
	)
	if err != nil {
		return result, err
	}
	defer producer.Close()
	adm := kadm.NewClient(producer)
	if _, err := adm.CreateTopic(ctx, codecPartitions, -1, nil, topic); err != nil {
		return result, fmt.Errorf("create %s: %w", topic, err)
	}

	var sent []*kgo.Record
	for i := range n {
		sent = append(sent, &kgo.Record{
			Topic:     topic,
			Partition: int32(i % codecPartitions),
			Key:       fmt.Appendf(nil, "key-%d", i),
			// Repetitive, so that every codec shrinks the batch.
			Value: []byte(strings.Repeat(fmt.Sprintf("%s record %d; ", topic, i), 8)),
			Headers: []kgo.RecordHeader{
				{Key: "index", Value: fmt.Appendf(nil, "%d", i)},
				{Key: "bytes", Value: []byte{0, 1, 2, 0xff}},
				{Key: "empty", Value: []byte{}},
			},
		})
	}
	sent = append(sent, &kgo.Record{Topic: topic, Partition: 0, Key: []byte("tombstone")})
	if err := producer.ProduceSync(ctx, sent...).FirstErr(); err != nil {
		return result, fmt.Errorf("produce: %w", err)
	}
	result.Produced = len(sent)

	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return result, fmt.Errorf("list end offsets: %w", err)
	}
	result.EndOffsets = map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { result.EndOffsets[o.Partition] = o.Offset })

	// What each partition should hold, in order.
	want := map[int32][]*kgo.Record{}
	for _, r := range sent {
		want[r.Partition] = append(want[r.Partition], r)
	}
	start := map[int32]kgo.Offset{}
	for p := range int32(codecPartitions) {
		start[p] = kgo.NewOffset().AtStart()
	}
	consumer, err := l.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}))
	if err != nil {
		return result, err
	}
	defer consumer.Close()
	seen := map[uint8]bool{}
	got := map[int32]int{}
	for result.Consumed < len(sent) {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return result, fmt.Errorf("consumed %d of %d: %w", result.Consumed, len(sent), err)
		}
		var fetchErr error
		fetches.EachError(func(t string, p int32, err error) {
			fetchErr = fmt.Errorf("fetch %s/%d: %w", t, p, err)
		})
		if fetchErr != nil {
			return result, fetchErr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			result.Consumed++
			seen[r.Attrs.CompressionType()] = true
			i := got[r.Partition]
			got[r.Partition]++
			if i >= len(want[r.Partition]) {
				result.Mismatches = append(result.Mismatches, fmt.Sprintf("%d/%d: unexpected extra record", r.Partition, r.Offset))
				return
			}
			if diff := compare(want[r.Partition][i], r, int64(i)); diff != "" {
				result.Mismatches = append(result.Mismatches, fmt.Sprintf("%d/%d: %s", r.Partition, r.Offset, diff))
			}
		})
	}
	for c := range seen {
		result.Compression = append(result.Compression, int(c))
	}
	sort.Ints(result.Compression)
	return result, nil
}

// compare tells how got differs from want, the record produced at offset.
func compare(want, got *kgo.Record, offset int64) string {
	var diffs []string
	if got.Offset != offset {
		diffs = append(diffs, fmt.Sprintf("offset %d, want %d", got.Offset, offset))
	}
	if !bytes.Equal(got.Key, want.Key) || (got.Key == nil) != (want.Key == nil) {
		diffs = append(diffs, fmt.Sprintf("key %q, want %q", got.Key, want.Key))
	}
	if !bytes.Equal(got.Value, want.Value) || (got.Value == nil) != (want.Value == nil) {
		diffs = append(diffs, fmt.Sprintf("value %q (nil %v), want %q (nil %v)", got.Value, got.Value == nil, want.Value, want.Value == nil))
	}
	if len(got.Headers) != len(want.Headers) {
		diffs = append(diffs, fmt.Sprintf("%d headers, want %d", len(got.Headers), len(want.Headers)))
	} else {
		for i, h := range want.Headers {
			if got.Headers[i].Key != h.Key || !bytes.Equal(got.Headers[i].Value, h.Value) {
				diffs = append(diffs, fmt.Sprintf("header %d %q=%q, want %q=%q", i, got.Headers[i].Key, got.Headers[i].Value, h.Key, h.Value))
			}
		}
	}
	return strings.Join(diffs, "; ")
}
