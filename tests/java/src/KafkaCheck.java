// Apache Kafka's Java client (kafka-clients, nothing else) against Omnibus, for
// the end-to-end tests in tests/it/kafka_java_client.rs. tests/src/java.rs
// compiles this file with javac and runs one subcommand per process; results
// are JSON objects, one per line on stdout, and the Rust side asserts on them.
// This program checks nothing itself: it reports what the client saw.
//
// usage: KafkaCheck BOOTSTRAP MECHANISM USERNAME PASSWORD COMMAND ARGS...
//   MECHANISM is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (over SASL_PLAINTEXT).
//
//   create-topic TOPIC PARTITIONS
//       {"created":TOPIC} or {"error":CLASS,"message":...}
//   produce TOPIC
//       stdin, one record per line: CODEC \t PARTITION \t KEY \t VALUE [\t NAME=VALUE]...
//       Consecutive lines with the same CODEC go through one producer with that
//       compression.type (idempotent, acks=all: the Java defaults), closed
//       before the next codec's, so each partition is written in input order.
//       {"acked":KEY,"codec":..,"partition":P,"offset":O} or {"failed":KEY,"codec":..,"error":CLASS,...}
//   read TOPIC
//       assign + seekToBeginning on every partition, reads up to the end offsets:
//       {"partition":P,"offset":O,"key":..,"value":..,"headers":[[NAME,VALUE],...]}
//       per record, then {"end_offsets":{"P":O,...}}
//   group-member TOPIC GROUP NAME
//       a subscribed consumer (classic protocol, manual commits): prints
//       {"member":NAME,"assigned"|"revoked"|"lost":[P,...]}, each record
//       {"member":NAME,"partition":P,"offset":O,"value":..}, and after each poll a
//       synchronous commit {"member":NAME,"committed":[[P,O],...]} or
//       {"member":NAME,"commit_failed":[[P,O],...],"error":CLASS}. On the stdin
//       line "leave" (or end of stdin) commits, closes (LeaveGroup), prints
//       {"member":NAME,"closed":true} and exits.
//   idempotent-producer TOPIC SECONDS
//       creates TOPIC (one partition) if missing, then sends numbered records
//       to partition 0 for SECONDS with enable.idempotence and unbounded
//       retries; speaks the line protocol of tests/src/crash.rs, not JSON:
//       "acked N" per acknowledged record, "done SENT failed F unflushed U" at the end.
//   describe [GROUP]...
//       {"topics":[..],"groups":[..],"offsets":{GROUP:{"TOPIC-P":O}}} as the
//       Admin client lists them, or {"error":CLASS,"message":..}
//   tamper TOPIC GROUP
//       tries to delete TOPIC, its records and GROUP, to reset GROUP's offset
//       and to produce to TOPIC: {"op":..,"outcome":"ok"|CLASS,"message":..} each.

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DeleteRecordsOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class KafkaCheck {
    private static final PrintStream OUT =
        new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: KafkaCheck BOOTSTRAP MECHANISM USERNAME PASSWORD COMMAND ARGS...");
            System.exit(2);
        }
        Properties common = connection(args[0], args[1], args[2], args[3]);
        String[] rest = Arrays.copyOfRange(args, 5, args.length);
        switch (args[4]) {
            case "create-topic" -> createTopic(common, rest[0], Integer.parseInt(rest[1]));
            case "produce" -> produce(common, rest[0]);
            case "read" -> read(common, rest[0]);
            case "group-member" -> groupMember(common, rest[0], rest[1], rest[2]);
            case "idempotent-producer" -> idempotentProducer(common, rest[0], Double.parseDouble(rest[1]));
            case "describe" -> describe(common, rest);
            case "tamper" -> tamper(common, rest[0], rest[1]);
            default -> {
                System.err.println("unknown command " + args[4]);
                System.exit(2);
            }
        }
    }

    static Properties connection(String bootstrap, String mechanism, String username, String password) {
        String module = mechanism.equals("PLAIN")
            ? "org.apache.kafka.common.security.plain.PlainLoginModule"
            : "org.apache.kafka.common.security.scram.ScramLoginModule";
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put("security.protocol", "SASL_PLAINTEXT");
        props.put("sasl.mechanism", mechanism);
        props.put("sasl.jaas.config",
            module + " required username=\"" + username + "\" password=\"" + password + "\";");
        props.put("reconnect.backoff.ms", "50");
        props.put("reconnect.backoff.max.ms", "500");
        return props;
    }

    static Properties with(Properties base, Object... keyValues) {
        Properties props = new Properties();
        props.putAll(base);
        for (int i = 0; i < keyValues.length; i += 2) {
            props.put(keyValues[i], String.valueOf(keyValues[i + 1]));
        }
        return props;
    }

    // --- create-topic -------------------------------------------------------

    static void createTopic(Properties common, String topic, int partitions) {
        try (Admin admin = Admin.create(common)) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
            emit("created", topic);
        } catch (ExecutionException | InterruptedException | TimeoutException e) {
            emit("error", errorName(e), "message", rootCause(e).getMessage());
        }
    }

    // --- produce --------------------------------------------------------------

    static void produce(Properties common, String topic) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String codec = null;
        KafkaProducer<String, String> producer = null;
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isEmpty()) {
                continue;
            }
            String[] fields = line.split("\t", -1);
            if (!fields[0].equals(codec)) {
                if (producer != null) {
                    producer.close();
                }
                codec = fields[0];
                producer = new KafkaProducer<>(with(common,
                    ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                    ProducerConfig.ACKS_CONFIG, "all",
                    ProducerConfig.LINGER_MS_CONFIG, 5,
                    ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15000,
                    ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30000,
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()));
            }
            List<Header> headers = new ArrayList<>();
            for (int i = 4; i < fields.length; i++) {
                String[] header = fields[i].split("=", 2);
                headers.add(new RecordHeader(header[0], header[1].getBytes(StandardCharsets.UTF_8)));
            }
            String key = fields[2];
            String sentCodec = codec;
            ProducerRecord<String, String> record =
                new ProducerRecord<>(topic, Integer.parseInt(fields[1]), key, fields[3], headers);
            producer.send(record, (metadata, error) -> {
                if (error == null) {
                    emit("acked", key, "codec", sentCodec, "partition", metadata.partition(), "offset", metadata.offset());
                } else {
                    emit("failed", key, "codec", sentCodec, "error", errorName(error), "message", error.getMessage());
                }
            });
        }
        if (producer != null) {
            producer.close();
        }
    }

    // --- read -----------------------------------------------------------------

    static void read(Properties common, String topic) {
        Properties props = with(common,
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(15)).stream()
                .map(p -> new TopicPartition(topic, p.partition()))
                .sorted((a, b) -> Integer.compare(a.partition(), b.partition()))
                .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(15));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
                && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    List<List<String>> headers = new ArrayList<>();
                    for (Header h : r.headers()) {
                        headers.add(Arrays.asList(h.key(),
                            h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8)));
                    }
                    emit("partition", r.partition(), "offset", r.offset(), "key", r.key(), "value", r.value(),
                        "headers", headers);
                }
            }
            Map<String, Long> ends = new TreeMap<>();
            end.forEach((tp, offset) -> ends.put(Integer.toString(tp.partition()), offset));
            emit("end_offsets", ends);
        }
    }

    // --- group-member ---------------------------------------------------------

    static void groupMember(Properties common, String topic, String group, String name) {
        Properties props = with(common,
            ConsumerConfig.GROUP_ID_CONFIG, group,
            ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic",
            ConsumerConfig.CLIENT_ID_CONFIG, name,
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10000,
            ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500,
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        AtomicBoolean leaving = new AtomicBoolean();
        Thread stdin = new Thread(() -> {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            try {
                for (String line; (line = in.readLine()) != null && !line.trim().equals("leave"); ) {
                    // Only "leave" means anything.
                }
            } catch (IOException e) {
                // As good as "leave".
            }
            leaving.set(true);
        });
        stdin.setDaemon(true);
        stdin.start();

        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
            // Offsets of records handed out but not committed yet.
            Map<TopicPartition, OffsetAndMetadata> uncommitted = new HashMap<>();
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    emit("member", name, "revoked", numbers(partitions));
                    // Only non-empty if the commit after the last poll failed.
                    commit(consumer, uncommitted, name);
                    uncommitted.clear();
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    emit("member", name, "assigned", numbers(partitions));
                }

                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {
                    emit("member", name, "lost", numbers(partitions));
                    uncommitted.clear();
                }
            });
            while (!leaving.get()) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(100))) {
                    emit("member", name, "partition", r.partition(), "offset", r.offset(), "value", r.value());
                    uncommitted.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                commit(consumer, uncommitted, name);
            }
            commit(consumer, uncommitted, name);
        }
        emit("member", name, "closed", true);
    }

    // Commits `offsets` synchronously; forgets them once committed.
    static void commit(KafkaConsumer<?, ?> consumer, Map<TopicPartition, OffsetAndMetadata> offsets, String name) {
        if (offsets.isEmpty()) {
            return;
        }
        TreeMap<Integer, Long> byPartition = new TreeMap<>();
        offsets.forEach((tp, o) -> byPartition.put(tp.partition(), o.offset()));
        List<List<Long>> shown = new ArrayList<>();
        byPartition.forEach((p, o) -> shown.add(List.of((long) p, o)));
        try {
            consumer.commitSync(offsets);
            emit("member", name, "committed", shown);
            offsets.clear();
        } catch (KafkaException e) {
            emit("member", name, "commit_failed", shown, "error", errorName(e));
        }
    }

    static List<Integer> numbers(Collection<TopicPartition> partitions) {
        return partitions.stream().map(TopicPartition::partition).sorted().toList();
    }

    // --- idempotent-producer ---------------------------------------------------

    static void idempotentProducer(Properties common, String topic, double seconds) throws InterruptedException {
        try (Admin admin = Admin.create(common)) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create " + topic, e);
            }
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot create " + topic, e);
        }
        OUT.println("ready");
        Properties props = with(common,
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
            ProducerConfig.ACKS_CONFIG, "all",
            ProducerConfig.RETRIES_CONFIG, Integer.MAX_VALUE,
            ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60000,
            ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000,
            ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5,
            ProducerConfig.LINGER_MS_CONFIG, 2,
            ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 50,
            ProducerConfig.RETRY_BACKOFF_MAX_MS_CONFIG, 500,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        long sent = 0;
        KafkaProducer<String, String> producer = new KafkaProducer<>(props);
        long deadline = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < deadline) {
            String value = Long.toString(sent);
            producer.send(new ProducerRecord<>(topic, 0, null, value), (metadata, error) -> {
                if (error == null) {
                    acked.incrementAndGet();
                    OUT.println("acked " + value);
                } else {
                    failed.incrementAndGet();
                    System.err.println("failed " + value + ": " + error);
                }
            });
            sent++;
            if (sent % 20 == 0) {
                Thread.sleep(1);
            }
        }
        producer.close(Duration.ofSeconds(25));
        long unflushed = sent - acked.get() - failed.get();
        OUT.println("done " + sent + " failed " + failed.get() + " unflushed " + unflushed);
    }

    // --- describe and tamper ----------------------------------------------------

    static void describe(Properties common, String[] groups) throws InterruptedException {
        Properties props = with(common,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20000,
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10000);
        try (Admin admin = Admin.create(props)) {
            TreeSet<String> topics = new TreeSet<>(admin.listTopics().names().get());
            TreeSet<String> listed = new TreeSet<>();
            for (GroupListing g : admin.listGroups().all().get()) {
                listed.add(g.groupId());
            }
            Map<String, Map<String, Long>> offsets = new TreeMap<>();
            for (String group : groups) {
                Map<String, Long> committed = new TreeMap<>();
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get()
                    .forEach((tp, o) -> committed.put(tp.toString(), o == null ? null : o.offset()));
                offsets.put(group, committed);
            }
            emit("topics", new ArrayList<>(topics), "groups", new ArrayList<>(listed), "offsets", offsets);
        } catch (ExecutionException e) {
            emit("error", errorName(e), "message", rootCause(e).getMessage());
        }
    }

    static void tamper(Properties common, String topic, String group) throws InterruptedException {
        TopicPartition first = new TopicPartition(topic, 0);
        Properties adminProps = with(common,
            AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000,
            AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        try (Admin admin = Admin.create(adminProps)) {
            outcome("delete-topic", admin.deleteTopics(List.of(topic)).all());
            // The Admin client looks a partition it does not find up again,
            // without backoff, until the call times out: keep that short.
            DeleteRecordsOptions briefly = new DeleteRecordsOptions().timeoutMs(3000);
            outcome("delete-records",
                admin.deleteRecords(Map.of(first, RecordsToDelete.beforeOffset(1)), briefly).all());
            outcome("delete-group", admin.deleteConsumerGroups(List.of(group)).all());
            outcome("reset-offsets",
                admin.alterConsumerGroupOffsets(group, Map.of(first, new OffsetAndMetadata(0))).all());
        }
        Properties producerProps = with(common,
            ProducerConfig.MAX_BLOCK_MS_CONFIG, 3000,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
            ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(producerProps)) {
            outcome("produce", producer.send(new ProducerRecord<>(topic, 0, "intruder", "intruder")));
        }
    }

    static void outcome(String op, Future<?> future) throws InterruptedException {
        try {
            future.get(30, TimeUnit.SECONDS);
            emit("op", op, "outcome", "ok");
        } catch (ExecutionException | TimeoutException e) {
            emit("op", op, "outcome", errorName(e), "message", rootCause(e).getMessage());
        }
    }

    // --- output ---------------------------------------------------------------

    // The exception a caller of the client sees, without the future's wrapper.
    static Throwable rootCause(Throwable error) {
        while (error instanceof ExecutionException && error.getCause() != null) {
            error = error.getCause();
        }
        return error;
    }

    static String errorName(Throwable error) {
        return rootCause(error).getClass().getSimpleName();
    }

    // Prints the key/value pairs as one JSON object on one line.
    static void emit(Object... keyValues) {
        Map<String, Object> object = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            object.put((String) keyValues[i], keyValues[i + 1]);
        }
        OUT.println(json(object)); // one line at a time: println holds the stream's lock
    }

    static String json(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof String s) {
            return quote(s);
        }
        if (value instanceof Number || value instanceof Boolean) {
            return value.toString();
        }
        StringBuilder out = new StringBuilder();
        if (value instanceof Map<?, ?> map) {
            out.append('{');
            for (Map.Entry<?, ?> e : map.entrySet()) {
                if (out.length() > 1) {
                    out.append(',');
                }
                out.append(quote(String.valueOf(e.getKey()))).append(':').append(json(e.getValue()));
            }
            return out.append('}').toString();
        }
        if (value instanceof Collection<?> items) {
            out.append('[');
            for (Object item : items) {
                if (out.length() > 1) {
                    out.append(',');
                }
                out.append(json(item));
            }
            return out.append(']').toString();
        }
        throw new IllegalArgumentException("no JSON for " + value.getClass());
    }

    // A JSON string in ASCII: everything else as \\u escapes (UTF-16, as JSON wants).
    static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }
}
