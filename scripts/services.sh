#!/usr/bin/env bash
# Starts the services the test suite needs, when they are not already up, and FAILS if one does not come
# up: PostgreSQL on 127.0.0.1:5432 (database `test`, user `postgres`, trust auth on loopback), NATS with
# JetStream on 127.0.0.1:4222 and Mosquitto on 127.0.0.1:1883 (all Debian packages from
# scripts/apt-packages.txt). Run as root on a fresh machine (CI) or with those services already running.
set -euo pipefail

port_open() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {  # $1 port, $2 name: up to 20 s
  for _ in $(seq 100); do port_open "$1" && return 0; sleep 0.2; done
  echo "services: FAILED: $2 does not listen on 127.0.0.1:$1" >&2
  exit 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$version" ] || { echo "services: FAILED: no PostgreSQL cluster (apt-get install postgresql)" >&2; exit 1; }
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
fi
for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "services: FAILED: PostgreSQL is not ready on 5432" >&2; exit 1; }
# The tests connect as `postgres` to database `test` without a password (loopback only).
if ! psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; then
  hba=$(su postgres -c "psql -tAc 'show hba_file'")
  grep -qE '^host\s+all\s+postgres\s+127\.0\.0\.1/32\s+trust' "$hba" ||
    sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  su postgres -c "psql -tAc 'select pg_reload_conf()'" >/dev/null
  su postgres -c "psql -tAc \"select 1 from pg_database where datname='test'\"" | grep -q 1 ||
    su postgres -c "createdb test"
fi
psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null ||
  { echo "services: FAILED: cannot connect to postgresql://postgres@127.0.0.1:5432/test" >&2; exit 1; }

if ! port_open 4222; then
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
wait_port 4222 "nats-server (JetStream)"

if ! port_open 1883; then
  install -d -o mosquitto -g mosquitto /run/mosquitto /var/log/mosquitto
  mosquitto -d -c /etc/mosquitto/mosquitto.conf
fi
wait_port 1883 "mosquitto"
echo "services: PostgreSQL 5432, NATS 4222, Mosquitto 1883 are up"
