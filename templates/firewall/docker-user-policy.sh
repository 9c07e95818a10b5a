#!/bin/sh
# Installed by Provisioner as /usr/local/lib/provisioner/docker-user-policy. Do not edit.
#
# Puts the published-port policy into Docker's DOCKER-USER chain (Docker's iptables firewall
# backend). Run by provisioner-firewall.service at boot (before Docker: the chain is created here
# and Docker keeps an existing one) and by provisioner-docker-user.service after every Docker
# (re)start (PartOf=docker.service), since some Docker versions recreate the chain when they start.
# Idempotent; touches DOCKER-USER only to insert one jump, and never flushes Docker's chains.
#
# With Docker's nftables firewall backend there is no DOCKER-USER chain: the same policy is then
# enforced by table inet provisioner alone (its forward chain runs before Docker's), and this
# script only says so.
#
# Usage: docker-user-policy [RULES]   (default /etc/provisioner/firewall/docker-user.rules)
set -eu

rules=${1:-/etc/provisioner/firewall/docker-user.rules}
chain=PROVISIONER-PUBLISHED

if nft list table ip docker-bridges >/dev/null 2>&1; then
    echo "docker-user-policy: Docker uses its nftables firewall backend; table inet provisioner enforces the published-port policy" >&2
    exit 0
fi

if ! iptables -w -n -L DOCKER-USER >/dev/null 2>&1; then
    iptables -w -N DOCKER-USER
fi
iptables-restore -w --noflush <"$rules"
if ! iptables -w -C DOCKER-USER -j "$chain" >/dev/null 2>&1; then
    iptables -w -I DOCKER-USER 1 -j "$chain"
fi
