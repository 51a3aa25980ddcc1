// Command kafkacheck drives a Kafka broker with franz-go (kgo, kadm), the
// Go client that negotiates the newest API versions a broker advertises. The
// Omnibus end-to-end tests (tests/it/kafka_franz.rs) run its subcommands
// against `omnibus dev` and check the JSON each prints on stdout:
//
//	kafkacheck admin     -topic T   create, list, describe and alter configs, add partitions, delete
//	kafkacheck codecs    -topic T   produce and read back keyed records with headers, per codec
//	kafkacheck group     -topic T -group G -tag X -produce N -consume M
//	                                a group member consumes M records, commits, leaves
//	kafkacheck auth                 PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; wrong passwords
//	kafkacheck isolation -topic T -group G
//	                                what a credential sees of another instance's topic and group
//
// Every subcommand takes -bootstrap, -user, -password and -mechanism. An
// outcome the test judges (a refusal included) is data in the JSON and the
// exit code is 0; anything else unexpected prints {"error": ...} and exits 1.
// Every request has a client-side timeout and the whole run a deadline, so
// nothing hangs. KAFKACHECK_LOG=debug (or info, warn, error) sends kgo's log
// to stderr; the default is info.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// runDeadline bounds one subcommand; the Rust harness waits a little longer.
const runDeadline = 90 * time.Second

// login is who connects, and how.
type login struct {
	bootstrap, user, password, mechanism string
}

func (l login) sasl() (sasl.Mechanism, error) {
	switch l.mechanism {
	case "PLAIN":
		return plain.Auth{User: l.user, Pass: l.password}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: l.user, Pass: l.password}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: l.user, Pass: l.password}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q", l.mechanism)
}

// client is a kgo client of l with bounded dials, requests and retries, plus
// opts.
func (l login) client(opts ...kgo.Opt) (*kgo.Client, error) {
	mechanism, err := l.sasl()
	if err != nil {
		return nil, err
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(l.bootstrap),
		kgo.SASL(mechanism),
		kgo.ClientID("kafkacheck"),
		kgo.DialTimeout(5 * time.Second),
		kgo.RequestTimeoutOverhead(10 * time.Second),
		kgo.RetryTimeout(20 * time.Second),
		kgo.RequestRetries(5),
		kgo.WithLogger(kgo.BasicLogger(os.Stderr, logLevel(), func() string {
			return time.Now().Format("15:04:05.000 ")
		})),
	}
	return kgo.NewClient(append(base, opts...)...)
}

func logLevel() kgo.LogLevel {
	switch os.Getenv("KAFKACHECK_LOG") {
	case "debug":
		return kgo.LogLevelDebug
	case "warn":
		return kgo.LogLevelWarn
	case "error":
		return kgo.LogLevelError
	case "none":
		return kgo.LogLevelNone
	}
	return kgo.LogLevelInfo
}

// errorJSON is an error as the tests see it: Kafka's error name when the
// broker sent one (TOPIC_ALREADY_EXISTS), and the whole message.
type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func describeError(err error) *errorJSON {
	if err == nil {
		return nil
	}
	out := &errorJSON{Message: err.Error()}
	var kafka *kerr.Error
	if errors.As(err, &kafka) {
		out.Code = kafka.Message
	}
	return out
}

type subcommand struct {
	usage string
	run   func(ctx context.Context, l login, args []string) (any, error)
}

var subcommands = map[string]subcommand{
	"admin":     {"-topic T [-partitions 3]", runAdmin},
	"codecs":    {"-topic T [-records 40]", runCodecs},
	"group":     {"-topic T -group G -tag X -produce N -consume M", runGroup},
	"auth":      {"", runAuth},
	"isolation": {"-topic T -group G", runIsolation},
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	sub, ok := subcommands[os.Args[1]]
	if !ok {
		usage()
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	var l login
	flags.StringVar(&l.bootstrap, "bootstrap", "127.0.0.1:9092", "broker host:port")
	flags.StringVar(&l.user, "user", "", "SASL username")
	flags.StringVar(&l.password, "password", "", "SASL password")
	flags.StringVar(&l.mechanism, "mechanism", "SCRAM-SHA-512", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	rest := splitCommon(flags, os.Args[2:])

	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	// A call that does not honour its context must not hang the test.
	watchdog := time.AfterFunc(runDeadline+5*time.Second, func() {
		fail(fmt.Errorf("%s did not finish within %s", os.Args[1], runDeadline))
	})
	defer watchdog.Stop()

	result, err := sub.run(ctx, l, rest)
	if err != nil {
		fail(err)
	}
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	if err := out.Encode(result); err != nil {
		fail(err)
	}
}

// splitCommon parses the login flags out of args and returns the others, for
// the subcommand's own flag set.
func splitCommon(flags *flag.FlagSet, args []string) []string {
	var common, rest []string
	for i := 0; i < len(args); i++ {
		name := args[i]
		if flags.Lookup(trimDashes(name)) != nil && i+1 < len(args) {
			common = append(common, name, args[i+1])
			i++
		} else {
			rest = append(rest, name)
		}
	}
	_ = flags.Parse(common)
	return rest
}

func trimDashes(s string) string {
	for len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	return s
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kafkacheck SUBCOMMAND -bootstrap HOST:PORT -user U -password P [-mechanism M] ...")
	for name, sub := range subcommands {
		fmt.Fprintf(os.Stderr, "  %s %s\n", name, sub.usage)
	}
	os.Exit(2)
}

func fail(err error) {
	line, _ := json.Marshal(map[string]any{"error": describeError(err)})
	fmt.Println(string(line))
	os.Exit(1)
}

// kerrOf is the Kafka error of code, or nil for 0.
func kerrOf(code int16) error { return kerr.ErrorForCode(code) }
