# An instance and a credential that may publish and subscribe under sensors/
# and produce to and consume Kafka's `mqtt` topic, where those messages land.
#
#   export OMNIBUS_ENDPOINT=http://localhost:8080 OMNIBUS_API_KEY=omk_...
#   terraform apply
#   mosquitto_pub -h "${host}" -p "${port}" -u "$(terraform output -raw username)" \
#     -P "$(terraform output -raw password)" -t sensors/t1 -m 21.5
terraform {
  required_providers {
    omnibus = { source = "omnibus/omnibus" }
  }
}

provider "omnibus" {}

data "omnibus_plans" "all" {}

resource "omnibus_instance" "sensors" {
  name = "sensors"
  plan = "developer"
}

resource "omnibus_credential" "gateway" {
  instance_id = omnibus_instance.sensors.id
  name        = "gateway"
  acl = [
    { topic = "sensors/#", actions = ["publish", "subscribe"] },
    { topic = "mqtt", actions = ["produce", "consume"] },
  ]
}

output "mqtt" {
  value = omnibus_instance.sensors.endpoints["mqtt"]
}

output "kafka" {
  value = omnibus_instance.sensors.endpoints["kafka"]
}

output "username" {
  value = omnibus_credential.gateway.username
}

output "password" {
  value     = omnibus_credential.gateway.password
  sensitive = true
}

output "plans" {
  value = data.omnibus_plans.all.names
}
