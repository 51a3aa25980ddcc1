# An instance with a Kafka topic, an MQTT↔Kafka mapping into it, a credential
# and an API key for CI, next to the data sources.
terraform {
  required_providers {
    omnibus = { source = "omnibus/omnibus" }
  }
}

provider "omnibus" {}

variable "partitions" {
  type    = number
  default = 3
}

# Change it to rotate the machines' credential: the new one is made before the
# old one is deleted.
variable "credential_generation" {
  type    = string
  default = "1"
}

data "omnibus_regions" "all" {}

resource "omnibus_instance" "factory" {
  name   = "factory"
  plan   = "standard"
  region = data.omnibus_regions.all.default
}

resource "omnibus_topic" "telemetry" {
  instance_id  = omnibus_instance.factory.id
  name         = "telemetry"
  partitions   = var.partitions
  retention_ms = 86400000
}

resource "omnibus_mapping" "machines" {
  instance_id       = omnibus_instance.factory.id
  mqtt_filter       = "machines/#"
  kafka_topic       = omnibus_topic.telemetry.name
  direction         = "mqtt_to_kafka"
  mqtt_topic_prefix = "machines/"
}

resource "omnibus_credential" "machines" {
  instance_id = omnibus_instance.factory.id
  name        = "machines"
  acl         = [{ topic = "machines/#", actions = ["publish"] }]
  keepers     = { generation = var.credential_generation }
  lifecycle {
    create_before_destroy = true
  }
}

resource "omnibus_member_invitation" "operator" {
  email = "operator@example.com"
  role  = "developer"
}

resource "omnibus_api_key" "ci" {
  name = "ci"
  role = "viewer"
  lifecycle {
    create_before_destroy = true
  }
}

data "omnibus_instances" "all" {
  depends_on = [omnibus_instance.factory]
}

output "instance_id" {
  value = omnibus_instance.factory.id
}

output "machines_username" {
  value = omnibus_credential.machines.username
}

output "ci_key" {
  value     = omnibus_api_key.ci.key
  sensitive = true
}

output "instance_names" {
  value = [for i in data.omnibus_instances.all.instances : i.name]
}
