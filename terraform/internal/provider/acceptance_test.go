package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// Acceptance tests: terraform-plugin-testing drives the Terraform CLI named
// by TF_ACC_TERRAFORM_PATH (never a downloaded one) against `omnibus dev`
// (OMNIBUS_BIN), with this provider served in-process. They run when TF_ACC
// is set, as scripts/test does.

var factories = map[string]func() (tfprotov5.ProviderServer, error){
	"omnibus": providerserver.NewProtocol5WithError(New("test")()),
}

// omnibusDev starts `omnibus dev` on free ports, signs up and makes an admin
// API key; the provider finds both through its environment variables.
func omnibusDev(t *testing.T) {
	t.Helper()
	bin := os.Getenv("OMNIBUS_BIN")
	if os.Getenv("TF_ACC") == "" || bin == "" {
		t.Skip("acceptance tests run with TF_ACC and OMNIBUS_BIN set (scripts/test sets them)")
	}
	// Ports come from 15000-32767, below Linux's ephemeral range: a port
	// from Listen(":0") can become an outgoing connection's local port
	// before omnibus binds it ("address already in use").
	next := os.Getpid() * 7919
	port := func() string {
		for tries := 0; tries < 17768; tries++ {
			address := fmt.Sprintf("127.0.0.1:%d", 15000+next%17768)
			next++
			if listener, err := net.Listen("tcp", address); err == nil {
				listener.Close()
				return address
			}
		}
		t.Fatal("no free port in 15000-32767")
		return ""
	}
	http_ := port()
	dir := t.TempDir()
	cmd := exec.Command(bin, "dev", "--data-dir", filepath.Join(dir, "data"), "--http-listen", http_,
		"--mqtt-listen", port(), "--mqtt-ws-listen", port(), "--mqtt-tls-listen", port(),
		"--mqtt-wss-listen", port(), "--kafka-listen", port(), "--grpc-listen", port())
	log, err := os.Create(filepath.Join(dir, "omnibus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	endpoint := "http://" + http_
	deadline := time.Now().Add(30 * time.Second)
	for {
		if response, err := http.Get(endpoint + "/healthz"); err == nil {
			response.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("omnibus dev did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	post := func(path, token string, body any) map[string]any {
		encoded, _ := json.Marshal(body)
		request, _ := http.NewRequest(http.MethodPost, endpoint+path, bytes.NewReader(encoded))
		request.Header.Set("Content-Type", "application/json")
		if token != "" {
			request.Header.Set("Authorization", "Bearer "+token)
		}
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			t.Fatal(err)
		}
		defer response.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(response.Body).Decode(&out)
		if response.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %v", path, response.StatusCode, out)
		}
		return out
	}
	signup := post("/v1/auth/signup", "", map[string]string{
		"email": "acc@example.com", "password": "correct horse battery", "organization_name": "Acceptance",
	})
	key := post("/v1/api-keys", signup["access_token"].(string), map[string]string{"name": "acc", "role": "admin"})
	t.Setenv("OMNIBUS_ENDPOINT", endpoint)
	t.Setenv("OMNIBUS_API_KEY", key["key"].(string))
}

func instanceConfig(plan string, partitions int) string {
	return instanceConfigTiered(plan, partitions, "")
}

// instanceConfigTiered adds `settings` (HCL attributes) to the topic.
func instanceConfigTiered(plan string, partitions int, settings string) string {
	return fmt.Sprintf(`
resource "omnibus_instance" "acc" {
  name = "acc"
  plan = %q
}

resource "omnibus_credential" "acc" {
  instance_id = omnibus_instance.acc.id
  acl         = [{ topic = "acc/#", actions = ["publish", "subscribe"] }]
}

resource "omnibus_topic" "acc" {
  instance_id = omnibus_instance.acc.id
  name        = "acc-events"
  partitions  = %d
  %s
}

resource "omnibus_mapping" "acc" {
  instance_id = omnibus_instance.acc.id
  mqtt_filter = "acc/#"
  kafka_topic = omnibus_topic.acc.name
}
`, plan, partitions, settings)
}

// byAttributes is an import id made of two attributes of the resource, `A/B`.
func byAttributes(name, first, second string) resource.ImportStateIdFunc {
	return func(state *terraform.State) (string, error) {
		attributes := state.RootModule().Resources[name].Primary.Attributes
		return attributes[first] + "/" + attributes[second], nil
	}
}

func TestAccInstanceCredentialTopicAndMapping(t *testing.T) {
	omnibusDev(t)
	resource.Test(t, resource.TestCase{
		ProtoV5ProviderFactories: factories,
		Steps: []resource.TestStep{
			{
				Config: instanceConfig("developer", 2),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("omnibus_instance.acc", "status", "ready"),
					resource.TestCheckResourceAttr("omnibus_instance.acc", "region", "local"),
					resource.TestCheckResourceAttrSet("omnibus_instance.acc", "endpoints.mqtt"),
					resource.TestCheckResourceAttrSet("omnibus_credential.acc", "password"),
					resource.TestCheckResourceAttr("omnibus_credential.acc", "acl.0.topic", "acc/#"),
					resource.TestCheckResourceAttr("omnibus_topic.acc", "retention_ms", "604800000"),
					resource.TestCheckResourceAttr("omnibus_topic.acc", "remote_storage_enable", "false"),
					resource.TestCheckResourceAttr("omnibus_topic.acc", "local_retention_ms", "-2"),
					resource.TestCheckResourceAttr("omnibus_mapping.acc", "direction", "both"),
				),
			},
			{ResourceName: "omnibus_instance.acc", ImportState: true, ImportStateVerify: true},
			{
				ResourceName: "omnibus_credential.acc", ImportState: true, ImportStateVerify: true,
				ImportStateIdFunc:       byAttributes("omnibus_credential.acc", "instance_id", "id"),
				ImportStateVerifyIgnore: []string{"password"},
			},
			{
				ResourceName: "omnibus_topic.acc", ImportState: true, ImportStateVerify: true,
				ImportStateIdFunc: byAttributes("omnibus_topic.acc", "instance_id", "name"),
			},
			{
				ResourceName: "omnibus_mapping.acc", ImportState: true, ImportStateVerify: true,
				ImportStateIdFunc: byAttributes("omnibus_mapping.acc", "instance_id", "id"),
			},
			{
				Config: instanceConfig("standard", 4),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("omnibus_instance.acc", "plan", "standard"),
					resource.TestCheckResourceAttr("omnibus_instance.acc", "status", "ready"),
					resource.TestCheckResourceAttr("omnibus_topic.acc", "partitions", "4"),
				),
			},
			{
				// Tiered storage switched on in place, with a local retention.
				Config: instanceConfigTiered("standard", 4, "remote_storage_enable = true\n  local_retention_ms = 3600000"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("omnibus_topic.acc", "remote_storage_enable", "true"),
					resource.TestCheckResourceAttr("omnibus_topic.acc", "local_retention_ms", "3600000"),
					resource.TestCheckResourceAttr("omnibus_topic.acc", "local_retention_bytes", "-2"),
				),
			},
			{
				// Kafka's rule, in the API's words on the attribute: tiering never goes off again.
				Config:      instanceConfigTiered("standard", 4, "remote_storage_enable = false"),
				ExpectError: regexp.MustCompile(`(?s)remote.storage.enable cannot be turned off`),
			},
			{
				Config: instanceConfigTiered("standard", 4, "remote_storage_enable = true\n  local_retention_ms = 3600000"),
			},
		},
	})
}

// A refused value is an error on its attribute, with the API's words.
func TestAccAProblemNamesTheAttribute(t *testing.T) {
	omnibusDev(t)
	resource.Test(t, resource.TestCase{
		ProtoV5ProviderFactories: factories,
		Steps: []resource.TestStep{{
			Config: `
resource "omnibus_instance" "bad" {
  name = "bad"
  plan = "gold"
}`,
			ExpectError: regexp.MustCompile(`(?s)Cannot create omnibus_instance bad.*plan must be one of.*field "plan"`),
		}},
	})
}

func apiKeyConfig(generation string) string {
	return fmt.Sprintf(`
resource "omnibus_api_key" "acc" {
  name    = "acc-ci"
  role    = "viewer"
  keepers = { generation = %q }
  lifecycle {
    create_before_destroy = true
  }
}`, generation)
}

func TestAccAPIKeyRotatesAndDataSources(t *testing.T) {
	omnibusDev(t)
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV5ProviderFactories: factories,
		Steps: []resource.TestStep{{
			Config: apiKeyConfig("1"),
			Check: resource.TestCheckResourceAttrWith("omnibus_api_key.acc", "id", func(id string) error {
				first = id
				return nil
			}),
		}, {
			Config: apiKeyConfig("2"),
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttrWith("omnibus_api_key.acc", "id", func(id string) error {
					if id == first {
						return fmt.Errorf("a new keeper did not issue a new key")
					}
					return nil
				}),
				resource.TestCheckResourceAttrSet("omnibus_api_key.acc", "key"),
			),
		}, {
			Config: apiKeyConfig("2") + `

data "omnibus_plans" "all" {}
data "omnibus_regions" "all" {}
data "omnibus_instances" "all" {}
`,
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttrSet("omnibus_api_key.acc", "key"),
				resource.TestCheckResourceAttr("omnibus_api_key.acc", "role", "viewer"),
				resource.TestCheckResourceAttr("data.omnibus_plans.all", "names.0", "developer"),
				resource.TestCheckResourceAttr("data.omnibus_plans.all", "monthly_price_cents.standard", "4900"),
				resource.TestCheckResourceAttr("data.omnibus_regions.all", "default", "local"),
				resource.TestCheckResourceAttr("data.omnibus_instances.all", "instances.#", "0"),
			),
		}},
	})
}
