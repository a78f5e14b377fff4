"""nats-server configuration of federated sites (`safecity federation nats-config` prints these).

A city's server has two accounts: `CITY` (the city's own event stream, leases, everything its
workers and API use) and `FED` (only the federation streams). The leaf node to the parent binds the
`FED` account alone, so nothing in `CITY` (raw events with track ids, snapshots, biometrics traffic)
has a route to the parent: that is the subject-level allow-list, enforced by the server. Each server
has its own JetStream domain, so the parent addresses the city's JetStream as `$JS.<domain>.API`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Credentials:
    user: str
    password: str


def _q(value: str) -> str:
    return json.dumps(value)  # a quoted, escaped string in nats-server's config syntax


def city_conf(
    *,
    domain: str,
    host: str,
    port: int,
    store_dir: str,
    parent_leaf_url: str,
    city: Credentials,
    fed: Credentials,
) -> str:
    """A city server: accounts CITY and FED, JetStream domain `domain`, a leaf node (FED only) up."""
    return f"""server_name: {_q(domain)}
listen: {_q(f"{host}:{port}")}
jetstream {{ domain: {_q(domain)}, store_dir: {_q(store_dir)} }}
accounts {{
  CITY {{ jetstream: enabled, users: [ {{ user: {_q(city.user)}, password: {_q(city.password)} }} ] }}
  FED {{ jetstream: enabled, users: [ {{ user: {_q(fed.user)}, password: {_q(fed.password)} }} ] }}
}}
leafnodes {{ remotes: [ {{ url: {_q(parent_leaf_url)}, account: FED }} ] }}
"""


def national_conf(*, domain: str, host: str, port: int, leaf_port: int, store_dir: str) -> str:
    """A national (or regional) server: JetStream domain `domain`, accepting its cities' leaf nodes."""
    return f"""server_name: {_q(domain)}
listen: {_q(f"{host}:{port}")}
jetstream {{ domain: {_q(domain)}, store_dir: {_q(store_dir)} }}
leafnodes {{ listen: {_q(f"{host}:{leaf_port}")}, no_advertise: true }}
"""
