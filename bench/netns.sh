#!/bin/sh
# Runs a command in a private network namespace holding only loopback and "benchlo", an unattached veth with
# 127.0.0.2/32, so nothing the benchmark sends can leave the machine. Janus needs it: it never gathers a
# loopback interface's address (IFF_LOOPBACK is skipped, then libnice falls back to every other interface) and
# pins its sockets to the candidate's interface, so it gets 127.0.0.2 on benchlo and the bench's peers bind
# 127.0.0.2 too. Parley runs in the same namespace on 127.0.0.1.
#   usage: bench/netns.sh COMMAND [ARG...]
set -e
setup='ip link set lo up && ip link add benchlo type veth peer name benchlo1 && ip addr add 127.0.0.2/32 dev benchlo && ip link set benchlo up && ip link set benchlo1 up && exec "$@"'
if [ "$(id -u)" = 0 ]; then
  exec unshare -n sh -c "$setup" netns "$@"
else
  exec unshare -r -n sh -c "$setup" netns "$@"
fi
